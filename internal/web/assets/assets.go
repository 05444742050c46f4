// Package assets holds the device page's static files, embedded: index.html,
// app.js (the page's core), ops.js (its maintenance cards), style.css and
// favicon.ico. Package web serves them by an explicit
// route table.
package assets

import "embed"

// FS holds the embedded files at its top level.
//
//go:embed index.html app.js ops.js style.css favicon.ico
var FS embed.FS
