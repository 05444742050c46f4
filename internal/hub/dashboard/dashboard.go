// Package dashboard holds the hub's own web pages, embedded: the device
// list (index.html), the rollouts (rollouts.html), the login form and the enrollment page. (A device's page at /d/<id>/ is the
// device's own, from package web/assets.) Nothing else.
package dashboard

import "embed"

// FS holds index.html, login.html, enroll.html, rollouts.html and static/.
//
//go:embed index.html login.html enroll.html rollouts.html static
var FS embed.FS
