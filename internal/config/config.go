// Package config reads, validates and atomically saves a device's two
// configuration files, network.json and app.json, in the seed's format.
//
// Files written for the seed load unchanged; new keys are optional. A file
// that is missing takes the embedded defaults; a file that is broken is an
// error, never guessed around. Decoding is strict and located: every problem
// is reported with its file, line, column and key path
// ("app.json:7:14: demo.http.port: want a port number 1-65535, got \"eighty\""),
// syntax errors included. Unknown keys are warnings (errors under
// CheckStrict). Values in angle brackets ("<AP ssid>") are unfilled
// placeholders: they load as unset and are reported. With no device root,
// Default gives the embedded defaults.
//
// Save validates before it writes, writes through package atomicfile, and
// keeps the last good version as name+".bak". docs/CONFIG.md describes
// every key.
package config

import "encoding/json"

// File names inside a device root.
const (
	NetworkFile = "network.json"
	AppFile     = "app.json"
)

// Config is a device's whole configuration: both files, decoded.
type Config struct {
	// Root is the device root folder the files came from; "" for the
	// embedded defaults.
	Root    string
	Network Network
	App     App
	// Missing lists the files (NetworkFile, AppFile) the root lacks,
	// which took the embedded defaults.
	Missing []string
	// Salvaged is set by Salvage, for a root that does not load: for each
	// section recovery needs ("demo.home", or "weather.home" for the process
	// app app.json names), the file its values came from
	// ("app.json", the last good "app.json.bak") or "defaults".
	Salvaged map[string]string
}

// Network is network.json: who the device is and how it joins a network.
type Network struct {
	Device   Device   `json:"device"`
	AP       AP       `json:"ap"`
	STA      STA      `json:"sta"`
	WSServer WSServer `json:"wsserver"`
	// Net names the network backend: "host", "sim" or "nm". "" means the
	// command line's choice, and "host" when that is unset too. (new key)
	Net string `json:"net,omitempty"`
}

// Device identifies the device.
type Device struct {
	// IAm is the device id, used in the call-home URL (/<iam>) and shown
	// on its pages.
	IAm string `json:"iam"`
	// Dev is a free-form device kind ("ESP32", "rpi4").
	Dev string `json:"dev"`
	// Labels group the device for a hub's grants (label:NAME); it sends
	// them in its state object ("labels"). (new key)
	Labels []string `json:"labels,omitempty"`
}

// AP is the access point the device hosts when it has no other network.
// An empty ESSID or Password leaves the choice to the network layer, which
// names the access point after the device and makes its own password.
type AP struct {
	ESSID    string `json:"essid"`
	AuthMode int    `json:"authmode"`
	Password string `json:"password"`
	Hidden   bool   `json:"hidden"`
}

// STA is the network the device joins as a station.
type STA struct {
	SSID string `json:"ssid"`
	Pass string `json:"pass"`
}

// WSServer is the seed's websocket server section. tether keeps it so seed
// files load; its meaning is documented in the README.
type WSServer struct {
	IP   string `json:"ip"`
	Host string `json:"host"`
	Port int    `json:"port"`
	Path string `json:"path"`
}

// App is app.json: which application to run and each application's settings.
type App struct {
	// Name is the application to run; it must name a key of this file
	// holding that app's settings, or a registered app with no settings.
	Name string `json:"app"`
	// Auth is whether the device's page, command API and recovery ask for
	// the device password: AuthOn (of everyone but the device's own
	// user's and root's processes on loopback), AuthStrict (of everyone),
	// or AuthOff ("auth": "off" or false: of no one). "" (no key, as in
	// the seed's files) means on. (new key)
	Auth       string     `json:"auth,omitempty"`
	EchoServer EchoServer `json:"echoserver"`
	Demo       Demo       `json:"demo"`
	// Processes are the process apps: every section holding an "exec"
	// key, by the section's key. A process app is run whatever its name.
	Processes map[string]*Process `json:"-"`
	// Sections holds every top-level object of the file by key, including
	// echoserver and demo, so apps added by users can decode their own.
	Sections map[string]json.RawMessage `json:"-"`
}

// The values of App.Auth.
const (
	AuthOn     = "on"
	AuthOff    = "off"
	AuthStrict = "strict"
)

// AuthOff reports whether app.json turns the device password off.
func (a App) AuthOff() bool { return a.Auth == AuthOff }

// EchoServer is the echoserver app's settings.
type EchoServer struct {
	ListenAddr string `json:"listen_addr"`
	ListenPort int    `json:"listen_port"`
	// MaxMessage is the largest message echoed, in bytes; larger closes
	// with 1009. Zero means 1 MiB. (new key)
	MaxMessage int64 `json:"max_message,omitempty"`
	// TLS settings for the listener. (new key)
	TLS *TLS `json:"tls,omitempty"`
}

// Demo is the demo app's settings: those of an app tether serves.
type Demo = Served

// Served is the settings of an app tether serves, with its page, its
// command API and calling home: the demo app's section, and every process
// app's entry (with the same keys, meanings and defaults).
type Served struct {
	HTTP      Addr `json:"http"`
	WebSocket Addr `json:"websocket"`
	Home      Home `json:"home"`
	// Routes maps URL paths to files under the device root, replacing the
	// embedded page (the seed's route() calls). Empty means the embedded
	// assets. (new key)
	Routes map[string]string `json:"routes,omitempty"`
	// Origins lists extra browser origins allowed on the command API, as
	// host patterns ("example.com", "*.example.com"). (new key)
	Origins []string `json:"origins,omitempty"`
	// MaxMessage is the command API's message size limit in bytes; zero
	// means 64 KiB. (new key)
	MaxMessage int64 `json:"max_message,omitempty"`
	// TLS settings for the page and command API. (new key)
	TLS *TLS `json:"tls,omitempty"`
	// Drivers are the hardware interfaces the app drives, beside the
	// seed's fake_interface (package drivers). (new key)
	Drivers Drivers `json:"drivers,omitempty"`
}

// Addr is a listening address. IP "" means every interface; Port 0 picks a
// free port.
type Addr struct {
	IP   string `json:"ip"`
	Port int    `json:"port"`
}

// Home is the hub the device calls home to.
type Home struct {
	IP   string `json:"ip"`
	Port int    `json:"port"`
	// Host overrides IP as the hub's host name when set. (new key)
	Host string `json:"host,omitempty"`
	// TLS switches call-home to wss://. (new key)
	TLS bool `json:"tls,omitempty"`
	// CA is a PEM file (relative to the device root) of CAs trusted for
	// the hub; empty means the system pool. (new key)
	CA string `json:"ca,omitempty"`
	// Cert and Key are a client certificate and key (relative to the
	// device root) presented to the hub. (new key)
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`
	// Token is sent as "Authorization: Bearer <token>". (new key)
	Token string `json:"token,omitempty"`
	// Disabled turns calling home off. (new key)
	Disabled bool `json:"disabled,omitempty"`
}

// TLS asks a listener to serve TLS. Cert and Key are files relative to the
// device root; empty means certs/server.crt and certs/server.key.
type TLS struct {
	Enabled bool   `json:"enabled"`
	Cert    string `json:"cert,omitempty"`
	Key     string `json:"key,omitempty"`
}
