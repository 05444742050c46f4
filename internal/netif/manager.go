package netif

// TEMPORARY: placeholder, replaced by the real state machine.

// Manager runs the device's network state machine.
type Manager struct{ b Backend }
