// Package nm is the network backend for NetworkManager, driven through its
// command line tool nmcli: station join (nmcli device wifi connect), a
// hotspot access point (nmcli device wifi hotspot, taken down with nmcli
// connection down), scan and status, all in terse mode (-t) with nmcli's
// escaping of ':' and '\' undone.
//
// A device selects it with "net": "nm" in network.json or --net nm. It
// needs a WiFi device NetworkManager manages and the rights to change it
// (root, or a polkit rule). nmcli runs with LC_ALL=C so its output parses
// the same everywhere. A hidden access point is not supported: the hotspot
// is always visible. An NM is safe for concurrent use.
package nm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"tether/internal/netif"
)

// Options configures an NM. The zero value finds everything itself.
type Options struct {
	// Path is the nmcli program; "" means "nmcli" looked up in PATH.
	Path string
	// Interface is the WiFi device ("wlan0"); "" means the first device of
	// type wifi that `nmcli device status` lists.
	Interface string
	// Hotspot is the name of the access point's connection profile; ""
	// means "tether-hotspot".
	Hotspot string
	// Timeout bounds one nmcli run when ctx has no sooner deadline; zero
	// means 45 s (a join can take a while).
	Timeout time.Duration
}

// NM drives NetworkManager through nmcli.
type NM struct {
	path    string
	hotspot string
	timeout time.Duration

	mu     sync.Mutex
	ifname string // resolved WiFi device
	hwaddr string // its MAC, cached: it does not change
}

var (
	_ netif.Backend     = (*NM)(nil)
	_ netif.SingleRadio = (*NM)(nil)
)

// New returns an NM with opts applied. It runs nothing until first used.
func New(opts Options) *NM {
	n := &NM{path: opts.Path, hotspot: opts.Hotspot, timeout: opts.Timeout, ifname: opts.Interface}
	if n.path == "" {
		n.path = "nmcli"
	}
	if n.hotspot == "" {
		n.hotspot = "tether-hotspot"
	}
	if n.timeout <= 0 {
		n.timeout = 45 * time.Second
	}
	return n
}

// Name returns "nm".
func (n *NM) Name() string { return "nm" }

// SingleRadio returns true: NetworkManager runs one connection per device,
// so the hotspot and the station take turns.
func (n *NM) SingleRadio() bool { return true }

// run runs nmcli with args and returns its standard output. Its error
// names the command (passwords replaced by "***") and nmcli's message.
func (n *NM) run(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.path, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return stdout.Bytes(), fmt.Errorf("nmcli %s: %w", strings.Join(redact(args), " "), err)
	}
	return stdout.Bytes(), nil
}

// redact hides the value after "password".
func redact(args []string) []string {
	out := slices.Clone(args)
	for i := 0; i+1 < len(out); i++ {
		if out[i] == "password" {
			out[i+1] = "***"
		}
	}
	return out
}

// device returns the WiFi device, finding it on first use.
func (n *NM) device(ctx context.Context) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ifname != "" {
		return n.ifname, nil
	}
	out, err := n.run(ctx, "-t", "-f", "DEVICE,TYPE", "device", "status")
	if err != nil {
		return "", fmt.Errorf("find wifi device: %w", err)
	}
	for _, f := range terseRows(out) {
		if len(f) >= 2 && f[1] == "wifi" {
			n.ifname = f[0]
			return n.ifname, nil
		}
	}
	return "", errors.New("find wifi device: nmcli device status lists none of type wifi")
}

// Scan rescans and lists the networks in range, one entry per SSID (the
// strongest), hidden networks left out.
func (n *NM) Scan(ctx context.Context) ([]netif.Network, error) {
	dev, err := n.device(ctx)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	out, err := n.run(ctx, "-t", "-f", "SSID,SIGNAL,SECURITY", "device", "wifi", "list", "--rescan", "yes", "ifname", dev)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	return parseScan(out), nil
}

// Join connects the WiFi device to ssid; an empty pass joins an open
// network.
func (n *NM) Join(ctx context.Context, ssid, pass string) error {
	dev, err := n.device(ctx)
	if err != nil {
		return fmt.Errorf("join %q: %w", ssid, err)
	}
	args := []string{"device", "wifi", "connect", ssid}
	if pass != "" {
		args = append(args, "password", pass)
	}
	if _, err := n.run(ctx, append(args, "ifname", dev)...); err != nil {
		return fmt.Errorf("join %q: %w", ssid, err)
	}
	return nil
}

// Leave disconnects the WiFi device.
func (n *NM) Leave(ctx context.Context) error {
	dev, err := n.device(ctx)
	if err == nil {
		_, err = n.run(ctx, "device", "disconnect", dev)
	}
	if err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	return nil
}

// APUp starts the hotspot connection on the WiFi device; NetworkManager
// shares its connection and runs DHCP for the clients. cfg.Hidden is not
// supported and ignored.
func (n *NM) APUp(ctx context.Context, cfg netif.APConfig) error {
	dev, err := n.device(ctx)
	if err == nil {
		_, err = n.run(ctx, "device", "wifi", "hotspot", "ifname", dev,
			"con-name", n.hotspot, "ssid", cfg.SSID, "password", cfg.Password)
	}
	if err != nil {
		return fmt.Errorf("access point up %q: %w", cfg.SSID, err)
	}
	return nil
}

// APDown takes the hotspot connection down; it is not an error if it was
// not up.
func (n *NM) APDown(ctx context.Context) error {
	active, err := n.hotspotActive(ctx)
	if err == nil && active {
		_, err = n.run(ctx, "connection", "down", n.hotspot)
	}
	if err != nil {
		return fmt.Errorf("access point down: %w", err)
	}
	return nil
}
