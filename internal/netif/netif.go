// Package netif is the device's WiFi: the station (joining a network) and the
// access point (hosting one), the state machine that moves between them, and
// safe credential changes that roll back when new credentials fail.
//
// A Manager runs the state machine (see Manager.Run): station first; after
// a grace period from power-on with no station, the access point, while the
// station is retried with backoff; the access point goes by itself once the
// station is back. Its State (mode, since, last error, attempts) is there for
// apps to show, and Subscribe tells them of changes. TestStation and
// StoreStation change WiFi credentials; a CredStore (netif-state.json in the
// device root) keeps pending and last-good credentials across reboots so a
// typo never locks the device out. EnsureAP holds the access point up for
// recovery mode.
//
// Backends live in subpackages named for what they wrap: netif/host (the
// host's network, already up), netif/sim (a simulated radio for tests and the
// demo) and netif/nm (NetworkManager through nmcli); netif/backends opens
// one by name.
package netif

import (
	"context"
	"errors"
)

// ErrNotSupported is returned by a backend for an operation it cannot do,
// such as changing WiFi on the host backend. Test for it with errors.Is;
// backends return a *NotSupportedError that names themselves.
var ErrNotSupported = errors.New("not supported by this network backend")

// NotSupportedError is an operation a backend cannot do. It matches
// ErrNotSupported under errors.Is.
type NotSupportedError struct {
	Op      string // "join", "scan", "access point up"
	Backend string // "host"
}

// Error reads "join: not supported by the host backend".
func (e *NotSupportedError) Error() string {
	return e.Op + ": not supported by the " + e.Backend + " backend"
}

// Unwrap returns ErrNotSupported.
func (e *NotSupportedError) Unwrap() error { return ErrNotSupported }

// Passive is implemented by backends whose network someone else runs, such
// as the host's. A Manager on a passive backend only reports: it never
// joins, leaves, or brings up an access point, and its mode is "station".
type Passive interface {
	Passive() bool
}

// Backend is a network backend: one station and one access point.
type Backend interface {
	// Name is the backend's name ("host", "sim", "nm").
	Name() string
	// Scan lists the networks in range.
	Scan(ctx context.Context) ([]Network, error)
	// Join joins the network ssid as a station, returning once the link is
	// up (or failed) or ctx ends.
	Join(ctx context.Context, ssid, pass string) error
	// Leave leaves the current station network.
	Leave(ctx context.Context) error
	// StationStatus reports the station interface.
	StationStatus(ctx context.Context) (StationStatus, error)
	// APUp brings the access point up with cfg.
	APUp(ctx context.Context, cfg APConfig) error
	// APDown takes the access point down.
	APDown(ctx context.Context) error
	// APStatus reports the access point.
	APStatus(ctx context.Context) (APStatus, error)
}

// SingleRadio is implemented by backends whose station and access point
// share one radio, so that joining a network takes the access point down
// and bringing the access point up leaves the network (nm: NetworkManager
// runs one connection per device). While EnsureAP holds the access point,
// a Manager on such a backend does not retry the station, so a person on
// the access point is not cut off.
type SingleRadio interface {
	SingleRadio() bool
}

// Network is one network seen in a scan.
type Network struct {
	SSID   string `json:"ssid"`
	Signal int    `json:"signal"` // 0-100
	Secure bool   `json:"secure"`
}

// StationStatus is the station interface's state, with the keys the seed's
// page shows (wifi/net/...).
type StationStatus struct {
	Active    bool     `json:"active"`
	Connected bool     `json:"connected"`
	SSID      string   `json:"ssid"`
	MAC       string   `json:"mac"`
	IP        string   `json:"ip"`
	Gateway   string   `json:"gw"`
	DNS       []string `json:"dns"`
	// Signal is the joined network's strength, 0-100; 0 when not joined
	// or the backend cannot tell (host).
	Signal int `json:"signal,omitempty"`
	// Interface is the OS interface name ("wlan0"), when known.
	Interface string `json:"iface,omitempty"`
}

// APConfig is what the access point is brought up with.
type APConfig struct {
	SSID     string
	Password string
	Hidden   bool
}

// APStatus is the access point's state (wifi/ap/...).
type APStatus struct {
	Active bool   `json:"active"`
	SSID   string `json:"ssid"`
	MAC    string `json:"mac"`
	IP     string `json:"ip"`
}
