package echoserver_test

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"tether/internal/apps/echoserver"
)

// The echoserver's target: at least 80% of a raw TCP echo's round trips
// with 50 clients sending 64 bytes. Compare:
//
//	go test -run X -bench Echo50 ./internal/apps/echoserver

const benchClients = 50

func BenchmarkEcho50x64WebSocket(b *testing.B) {
	url, _ := start(b, echoserver.Options{})
	conns := make([]*websocket.Conn, benchClients)
	for i := range conns {
		conns[i] = dial(b, url)
	}
	msg := make([]byte, 64)
	ctx := context.Background()
	b.ResetTimer()
	spread(b, func(i, n int) {
		c := conns[i]
		for range n {
			if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
				b.Error(err)
				return
			}
			if _, _, err := c.Read(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkEcho50x64RawTCP(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	conns := make([]net.Conn, benchClients)
	for i := range conns {
		if conns[i], err = net.Dial("tcp", ln.Addr().String()); err != nil {
			b.Fatal(err)
		}
		defer conns[i].Close()
	}
	msg, buf := make([]byte, 64), make([][]byte, benchClients)
	b.ResetTimer()
	spread(b, func(i, n int) {
		buf[i] = make([]byte, 64)
		for range n {
			if _, err := conns[i].Write(msg); err != nil {
				b.Error(err)
				return
			}
			if _, err := io.ReadFull(conns[i], buf[i]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// spread runs b.N round trips across the clients at once.
func spread(b *testing.B, f func(i, n int)) {
	var wg sync.WaitGroup
	for i := range benchClients {
		n := b.N / benchClients
		if i < b.N%benchClients {
			n++
		}
		wg.Add(1)
		go func() { defer wg.Done(); f(i, n) }()
	}
	wg.Wait()
}
