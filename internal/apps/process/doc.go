// Package process runs a process app: a program named by "exec" in its
// app.json entry, speaking JSON lines with tether on its standard input and
// output (docs/APPS.md).
package process
