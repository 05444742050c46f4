package bench

import (
	"context"
	"errors"
	"net"
	"sync"
)

// ServeTCPEcho echoes every byte each connection accepted on ln sends,
// until ctx ends: the raw TCP baseline that WebSocket echo is measured
// against. It closes ln and every connection before it returns.
func ServeTCPEcho(ctx context.Context, ln net.Listener) error {
	return serveConns(ctx, ln, echoTCP)
}

// serveConns runs serve on every connection accepted on ln until ctx ends,
// then closes ln and every connection and waits for serve to return.
func serveConns(ctx context.Context, ln net.Listener, serve func(net.Conn)) error {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		closed bool
		conns  = map[net.Conn]struct{}{}
	)
	closeAll := func() {
		ln.Close()
		mu.Lock()
		closed = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}
	stop := context.AfterFunc(ctx, closeAll)
	defer func() { stop(); closeAll(); wg.Wait() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		mu.Lock()
		if closed {
			mu.Unlock()
			c.Close()
			continue
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			defer c.Close()
			serve(c)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		})
	}
}

// echoTCP writes back what it reads until either side fails.
func echoTCP(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
