//go:build !tether_device

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"tether/internal/callhome"
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
	kept       *config.Config // --root's own config when it has one
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
and removed on exit. A --root that already holds app.json keeps its own
settings: the device listens where its app's "http" says and calls home
where its "home" says (the hub listens there when it is a port of this
machine), so --device-port, --hub-device-port and --id are refused with
it. Ctrl-C stops everything cleanly.

The config the demo writes has "auth": "off": its device, like its hub,
asks for no password (both listen on 127.0.0.1 only), and says so when it
starts. A kept --root keeps its own setting.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.checkRoot(cmd); err != nil {
				return err
			}
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

// checkRoot loads --root's config when it already has one, and refuses
// the flags that would not apply to it.
func (o *demoOptions) checkRoot(cmd *cobra.Command) error {
	if o.root == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(o.root, config.AppFile)); err != nil {
		return nil // a new root: the flags write it
	}
	for _, name := range []string{"device-port", "hub-device-port", "id"} {
		if cmd.Flags().Changed(name) {
			return &UsageError{
				Err:  fmt.Errorf("--%s: %s already holds app.json, whose settings apply (the app's http and home, and network.json's device.iam); edit them there, or give an empty --root", name, o.root),
				Hint: "tether demo --help",
			}
		}
	}
	// A config with errors still gives what could be read: the device
	// falls into recovery, which the demo shows as well.
	o.kept, _, _ = config.Load(o.root)
	return nil
}

// listenPreferred listens on 127.0.0.1:port, or on a free port if it is taken.
func listenPreferred(port int) (net.Listener, error) {
	if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		return ln, nil
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// demoHome is where the demo's device calls home: the hub's device
// listener, and the line to print when the device calls somewhere else.
type demoHome struct {
	ln    net.Listener
	other string // the device calls this URL instead of the demo's hub
}

// listenHome opens the hub's device listener: on --hub-device-port (a free
// port if taken) for a new root, on the port a kept root's demo.home names
// when that is this machine's plain ws://, and on a free port otherwise.
func (o *demoOptions) listenHome() (demoHome, error) {
	if o.kept == nil {
		ln, err := listenPreferred(o.hubDevice)
		return demoHome{ln: ln}, err
	}
	home, call, err := callhome.FromConfig(o.kept)
	if err != nil || !call {
		ln, lerr := net.Listen("tcp", "127.0.0.1:0")
		return demoHome{ln: ln, other: "nowhere (demo.home has no address, or is disabled)"}, lerr
	}
	u, _ := url.Parse(home.URL)
	if u.Scheme != "ws" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
		ln, lerr := net.Listen("tcp", "127.0.0.1:0")
		return demoHome{ln: ln, other: home.URL}, lerr
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+u.Port())
	if err != nil {
		return demoHome{}, fmt.Errorf("demo: the device calls home to %s (the app's home in %s), but the hub cannot listen there: %w", home.URL, o.root, err)
	}
	return demoHome{ln: ln}, nil
}

func runDemo(ctx context.Context, stdio Stdio, o *demoOptions) error {
	log, err := stdio.Logger()
	if err != nil {
		return err
	}
	home, err := o.listenHome()
	if err != nil {
		return fmt.Errorf("demo: listen for the hub's devices: %w", err)
	}
	hubDevLn := home.ln
	hubPageLn, err := listenPreferred(o.hubPage)
	if err != nil {
		hubDevLn.Close()
		return fmt.Errorf("demo: listen for the hub's pages: %w", err)
	}
	root, id, cleanup, err := o.deviceRoot(hubDevLn.Addr().(*net.TCPAddr).Port)
	if err != nil {
		hubDevLn.Close()
		hubPageLn.Close()
		return err
	}
	defer cleanup()

	h := hub.New(hub.Options{Logger: log, Name: "demo-hub"})
	var printOnce sync.Once
	urls := demoURLs{dashboard: "http://" + hubPageLn.Addr().String() + "/", id: id, root: root, temporary: o.root == "", callsElsewhere: home.other}
	d := device.New(device.Options{
		Root:    root,
		Net:     "sim",
		Version: Version,
		Logger:  log,
		Console: stdio.Console(), // a kept root's new device password
		Ready: func(app string, addrs map[string]string) {
			printOnce.Do(func() { urls.print(stdio.Out, addrs) })
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

// deviceRoot returns the device root and id for the demo: a kept --root as
// it is, else --root or a new temporary folder filled with the demo's
// config (the device on --device-port, a free one if taken, calling home
// to homePort).
func (o *demoOptions) deviceRoot(homePort int) (root, id string, cleanup func(), err error) {
	if o.kept != nil {
		return o.root, o.kept.Network.Device.IAm, func() {}, nil
	}
	devLn, err := listenPreferred(o.devicePort)
	if err != nil {
		return "", "", nil, fmt.Errorf("demo: find a port for the device: %w", err)
	}
	devicePort := devLn.Addr().(*net.TCPAddr).Port
	devLn.Close() // the device listens itself
	root, cleanup, err = demoRoot(o.root, o.id, devicePort, homePort)
	return root, o.id, cleanup, err
}

// demoRoot returns a device root for the demo: dir (without a config yet)
// when given, else a new temporary folder, with the demo's config written.
func demoRoot(dir, id string, devicePort, homePort int) (string, func(), error) {
	cleanup := func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tether-demo-")
		if err != nil {
			return "", nil, fmt.Errorf("demo: make a temporary device root: %w", err)
		}
		dir, cleanup = tmp, func() { os.RemoveAll(tmp) }
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
	// A playground on 127.0.0.1, like the demo's open hub: no device
	// password to find before the page opens. Warned about at start.
	cfg.App.Auth = config.AuthOff
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

// demoURLs are what tether demo prints once the device serves.
type demoURLs struct {
	dashboard, id, root string
	temporary           bool
	callsElsewhere      string // where the device calls home, when not this hub
}

// print writes the URLs to open, as the device's Ready addresses say it
// serves (https:// when its TLS is on).
func (u demoURLs) print(w io.Writer, addrs map[string]string) {
	kept := "kept"
	if u.temporary {
		kept = "temporary, removed on exit"
	}
	page := "http://" + addrs["http"] + "/"
	if a, ok := addrs["https"]; ok {
		page = "https://" + a + "/"
	}
	through := fmt.Sprintf("%sd/%s/", u.dashboard, u.id)
	if u.callsElsewhere != "" {
		through = "none: the device calls home to " + u.callsElsewhere + ", not this hub"
	}
	fmt.Fprintf(w, `
tether demo is running. Open:

  the device's own page:    %s
  the hub's dashboard:      %s
  the device through hub:   %s

Device root (%s): %s
Press Ctrl-C to stop.

`, page, u.dashboard, through, kept, u.root)
}
