//go:build !linux

package hubws

import "net"

// engine is the event loops, on Linux only; elsewhere every connection is
// driven by goroutines (stream.go).
type engine struct{}

func newEngine() *engine { return &engine{} }

func (e *engine) adopt(net.Conn, *conn, []byte) (driver, bool, error) { return nil, false, nil }
