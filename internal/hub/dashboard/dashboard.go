// Package dashboard holds the hub's web pages, embedded: the device list
// (index.html), the login form, and the relay page a device's id opens at
// /d/<id>/ (device.html), which speaks the device command protocol through
// the hub's page endpoint. Nothing else.
package dashboard

import "embed"

// FS holds index.html, login.html, device.html and static/.
//
//go:embed index.html login.html device.html static
var FS embed.FS
