// Package backends picks a network backend by name, for the device and the
// command line (--net host|sim|nm, or "net" in network.json). It sits apart
// from netif because the backends import netif.
package backends

import (
	"fmt"
	"strings"

	"tether/internal/netif"
	"tether/internal/netif/host"
	"tether/internal/netif/nm"
	"tether/internal/netif/sim"
)

// Options carries each backend's own options; only the chosen one's are
// used. The zero value works for all of them.
type Options struct {
	Host host.Options
	Sim  sim.Options
	NM   nm.Options
}

// Names lists the backends Open knows, sorted.
func Names() []string { return []string{"host", "nm", "sim"} }

// Open returns the backend called name: "host" (the host's network, already
// up; also what "" means), "sim" (a simulated radio) or "nm"
// (NetworkManager through nmcli). Any other name is an error listing the
// valid ones.
func Open(name string, opts Options) (netif.Backend, error) {
	switch name {
	case "", "host":
		return host.New(opts.Host), nil
	case "sim":
		return sim.New(opts.Sim), nil
	case "nm":
		return nm.New(opts.NM), nil
	}
	return nil, fmt.Errorf("open network backend: got %q, want one of %s", name, strings.Join(Names(), ", "))
}
