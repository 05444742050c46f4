// Package page is the recovery page, embedded: its HTML template, script
// and stylesheet. The recovery app renders it on the device's own port
// with everything filled in; a hub renders the same template at /d/<id>/
// for a device in recovery with what it knows (the id, the reason), and
// the script asks the device for the rest over the page's WebSocket. So
// the page, its checks and its repair flow are the same locally and from
// anywhere. Asset paths in the page are relative (static/...), so it works
// at / and under /d/<id>/.
package page

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed index.html recovery.js style.css
var files embed.FS

// Static holds recovery.js and style.css, served under static/.
var Static fs.FS = files

var tmpl = template.Must(template.ParseFS(files, "index.html"))

// Data is what the page is rendered from. The zero value renders a page
// that asks the device for everything.
type Data struct {
	// Device is the device id; "" when the config does not name one.
	Device string
	// Reason says why the device is in recovery.
	Reason string
	// Root is the device root, "" when unknown or the device has none.
	Root string
	// Files are the config files, in page order; with Hub set their text
	// is asked of the device.
	Files []File
	// Log is the device's recent log, oldest first.
	Log []string
	// Network is the device's network as the page shows it.
	Network Network
	// TLS is the device page's TLS; ignored with Hub set.
	TLS TLS
	// Hub is set when a hub serves the page: files, log and root come
	// over the WebSocket from the device.
	Hub bool
}

// File is one config file as the page shows it.
type File struct {
	Name string `json:"name"`
	Text string `json:"text"`
	// Note says why Text is empty (no root, unreadable); "" otherwise.
	Note string `json:"note,omitempty"`
}

// Network is the device's network mode, whether its access point is up
// (and its name) and the last network failure.
type Network struct {
	Mode      string
	AP        bool
	APSSID    string
	LastError string
}

// TLS is whether the page is served over https and, if not, why.
type TLS struct {
	// On: the page is served over https:// (wss:// for its WebSocket).
	On bool `json:"on"`
	// Fingerprint is the certificate's SHA-256 fingerprint; "" when off.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Cert is the certificate file served; "" when off.
	Cert string `json:"cert,omitempty"`
	// Problem says why TLS could not be served; "" otherwise.
	Problem string `json:"problem,omitempty"`
	// Why says why TLS is on or off.
	Why string `json:"why,omitempty"`
}

// Names are the config files the page shows, in page order.
var Names = []string{"network.json", "app.json"}

// Render renders the page for d.
func Render(d Data) ([]byte, error) {
	var b bytes.Buffer
	if err := tmpl.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SetHeaders sets the page's headers: HTML, never cached, scripts and
// connections only to its own origin, never framed.
func SetHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
}
