package natsbroker_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tether/internal/hub/broker/natsbroker/natstest"
)

// BenchmarkRelay measures device → page messages through one hub (both on
// it, no NATS) and across two hubs over NATS (device on A, page on B), in
// the same run, all in this process: 64 B messages, at most 256 in flight.
//
//	go test -run '^$' -bench Relay -benchtime 3s ./internal/hub/broker/natsbroker/
func BenchmarkRelay(b *testing.B) {
	ns := natstest.Start(b)
	one := serveHub(b, "solo", "")
	a, bb := serveHub(b, "A", ns.URL()), serveHub(b, "B", ns.URL())
	for _, c := range []struct {
		name      string
		dev, page *hubProc
	}{
		{"one-hub", one, one},
		{"across-nats", a, bb},
	} {
		b.Run(c.name, func(b *testing.B) {
			dev := c.dev.device(b, "bench")
			c.page.waitListed(b, "bench", c.dev.name)
			page := c.page.pageOf(b, "bench")
			page.expectConnected(true)
			waitSent(b, dev, page, "warm-up")
			relay(b, dev, page)
			dev.ws.Close(websocket.StatusNormalClosure, "")
			page.ws.Close(websocket.StatusNormalClosure, "")
		})
	}
}

// relay sends b.N messages from dev to page with at most 256 in flight.
func relay(b *testing.B, dev, page *wsClient) {
	msg := make([]byte, 64)
	credits := make(chan struct{}, 256)
	for range cap(credits) {
		credits <- struct{}{}
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ResetTimer()
	go func() {
		for n := 0; n < b.N; {
			_, data, err := page.ws.Read(ctx)
			if err != nil {
				done <- err
				return
			}
			if len(data) == len(msg) {
				n++
				credits <- struct{}{}
			}
		}
		done <- nil
	}()
	for range b.N {
		<-credits
		if err := dev.ws.Write(ctx, websocket.MessageBinary, msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
