// Package integration holds tether's cross-cutting tests of bad input,
// faults and load against the real binaries (tether device with the demo
// app, tether hub) and the device's call-home client in-process: malformed
// and oversized messages, raw malformed frames, traversal, huge headers,
// slow and numerous clients, hostile device ids, hub restarts with many
// devices, peers that vanish or stop reading, station link loss, idle
// connections at scale, and cross-site requests.
//
// The package has no code of its own beyond this comment; its figures are
// recorded in docs/RELIABILITY.md.
package integration
