// Package assets holds the device page's static files, embedded: index.html,
// app.js (the page's core), ops.js (its maintenance cards), appitems.js
// (the app's own card), style.css, appitems.css and favicon.ico. Package
// web serves them by an explicit route table.
package assets

import "embed"

// FS holds the embedded files at its top level.
//
//go:embed index.html app.js ops.js appitems.js style.css appitems.css favicon.ico
var FS embed.FS
