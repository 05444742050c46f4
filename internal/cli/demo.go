//go:build !tether_device

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"tether/internal/config"
	"tether/internal/device"
	"tether/internal/hub"
)

func init() { subcommands = append(subcommands, newDemoCmd) }

// demoOptions are tether demo's flags.
type demoOptions struct {
	devicePort int // the device's page and command API
	hubDevice  int // the hub's device endpoint
	hubPage    int // the hub's page endpoint and dashboard
	root       string
	id         string
}

func newDemoCmd(stdio Stdio) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a hub and a device in one process and print the URLs to open",
		Long: `Run a hub and a device (demo app, simulated WiFi) in one process, on
127.0.0.1 only, and print the URLs to open: the device's own page, and the
hub's dashboard with the device online, whose link drives the same device
through the hub.

The ports are fixed (8080, 7770, 7771) when they are free, and free ones
otherwise. The device's config lives in --root when given (created with
defaults when empty), else in a temporary folder that is named in the log
and removed on exit. Ctrl-C stops everything cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), stdio, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.devicePort, "device-port", 8080, "port of the device's page and command API (a free one if taken)")
	f.IntVar(&o.hubDevice, "hub-device-port", 7770, "port of the hub's device endpoint (a free one if taken)")
	f.IntVar(&o.hubPage, "hub-page-port", 7771, "port of the hub's dashboard and page endpoint (a free one if taken)")
	f.StringVar(&o.root, "root", "", "device root to use and keep (default: a temporary folder, removed on exit)")
	f.StringVar(&o.id, "id", "Device_1", "the demo device's id")
	return cmd
}

// listenPreferred listens on 127.0.0.1:port, or on a free port if it is taken.
func listenPreferred(port int) (net.Listener, error) {
	if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		return ln, nil
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

func runDemo(ctx context.Context, stdio Stdio, o *demoOptions) error {
	log, err := stdio.Logger()
	if err != nil {
		return err
	}
	hubDevLn, err := listenPreferred(o.hubDevice)
	if err != nil {
		return fmt.Errorf("demo: listen for the hub's devices: %w", err)
	}
	hubPageLn, err := listenPreferred(o.hubPage)
	if err != nil {
		hubDevLn.Close()
		return fmt.Errorf("demo: listen for the hub's pages: %w", err)
	}
	// The device listens itself; find a free port for it now.
	devLn, err := listenPreferred(o.devicePort)
	if err != nil {
		return fmt.Errorf("demo: find a port for the device: %w", err)
	}
	devAddr := devLn.Addr().(*net.TCPAddr)
	devLn.Close()

	root, cleanup, err := demoRoot(o.root, o.id, devAddr.Port, hubDevLn.Addr().(*net.TCPAddr).Port)
	if err != nil {
		return err
	}
	defer cleanup()

	h := hub.New(hub.Options{Logger: log, Name: "demo-hub"})
	var printOnce sync.Once
	dashboard := "http://" + hubPageLn.Addr().String() + "/"
	d := device.New(device.Options{
		Root:    root,
		Net:     "sim",
		Version: Version,
		Logger:  log,
		Ready: func(app string, addrs map[string]string) {
			printOnce.Do(func() {
				printDemoURLs(stdio, addrs["http"], dashboard, o.id, root, o.root == "")
			})
		},
	})
	return runUntilSignal(ctx, log, nil, func(ctx context.Context) error {
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return h.Serve(gctx, hubDevLn, hubPageLn) })
		g.Go(func() error { return d.Run(gctx) })
		if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	})
}

// demoRoot returns the device root for the demo: dir when given (filled
// with defaults if it has no config), else a new temporary folder.
func demoRoot(dir, id string, devicePort, homePort int) (string, func(), error) {
	cleanup := func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tether-demo-")
		if err != nil {
			return "", nil, fmt.Errorf("demo: make a temporary device root: %w", err)
		}
		dir, cleanup = tmp, func() { os.RemoveAll(tmp) }
	}
	if _, err := os.Stat(filepath.Join(dir, config.AppFile)); err == nil {
		return dir, cleanup, nil
	}
	cfg := config.Default()
	cfg.Network.Device.IAm = id
	cfg.Network.Net = "sim"
	// The simulated radio offers "tether-lab": join it, so the page's
	// station panel shows a connected network.
	cfg.Network.STA = config.STA{SSID: "tether-lab", Pass: "tether123"}
	cfg.App.Name = "demo"
	cfg.App.Demo.HTTP = config.Addr{IP: "127.0.0.1", Port: devicePort}
	cfg.App.Demo.WebSocket = cfg.App.Demo.HTTP
	cfg.App.Demo.Home = config.Home{IP: "127.0.0.1", Port: homePort}
	if err := config.SaveNetwork(dir, cfg.Network); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("demo: write network.json: %w", err)
	}
	app, err := json.MarshalIndent(cfg.App, "", "    ")
	if err == nil {
		err = config.Save(dir, config.AppFile, append(app, '\n'))
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("demo: write app.json: %w", err)
	}
	return dir, cleanup, nil
}

func printDemoURLs(stdio Stdio, deviceAddr, dashboard, id, root string, temporary bool) {
	kept := "kept"
	if temporary {
		kept = "temporary, removed on exit"
	}
	fmt.Fprintf(stdio.Out, `
tether demo is running. Open:

  the device's own page:    http://%s/
  the hub's dashboard:      %s
  the device through hub:   %sd/%s/

Device root (%s): %s
Press Ctrl-C to stop.

`, deviceAddr, dashboard, dashboard, id, kept, root)
}
