package hub

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"tether/internal/pagetag"
)

// The relay benchmarks drive a hub over real loopback sockets with minimal
// hand-written WebSocket clients (so the numbers are the hub's, not a client
// library's), beside the same traffic through a raw TCP relay (io.Copy
// between two sockets): the ceiling for a relay in one process.
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/hub/

// window bounds the messages in flight in the throughput benchmarks, so a
// writer cannot outrun a reader into the hub's slow-consumer limit.
const window = 512

// wire is one client end: WebSocket frames (ws) or length-prefixed
// messages (raw TCP).
type wire struct {
	c   net.Conn
	br  *bufio.Reader
	bw  *bufio.Writer
	ws  bool
	buf []byte
	// Page identity (package pagetag): tag starts every message stream
	// sends (a device's answer to one page), tagIn is the length of the
	// tag on every message it reads (a page's message to such a device).
	tag   []byte
	tagIn int
}

func newWire(c net.Conn, ws bool) *wire {
	return &wire{c: c, br: bufio.NewReaderSize(c, 64<<10), bw: bufio.NewWriterSize(c, 64<<10), ws: ws}
}

// dialWS opens a WebSocket by hand and returns it; hdr are more header
// lines for the handshake ("Name: value").
func dialWS(tb testing.TB, addr, path string, hdr ...string) *wire {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", path, addr)
	for _, h := range hdr {
		fmt.Fprintf(c, "%s\r\n", h)
	}
	fmt.Fprintf(c, "\r\n")
	w := newWire(c, true)
	for {
		line, err := w.br.ReadString('\n')
		if err != nil {
			tb.Fatalf("handshake: %v", err)
		}
		if strings.HasPrefix(line, "HTTP/") && !strings.Contains(line, " 101 ") {
			tb.Fatalf("handshake: %s", line)
		}
		if line == "\r\n" {
			return w
		}
	}
}

// write queues one text message (a masked frame with a zero key for
// WebSocket, a 4-byte length and the payload for raw TCP).
func (w *wire) write(p []byte) error {
	if !w.ws {
		var h [4]byte
		binary.BigEndian.PutUint32(h[:], uint32(len(p)))
		w.bw.Write(h[:])
		_, err := w.bw.Write(p)
		return err
	}
	h := []byte{0x81, 0x80}
	switch {
	case len(p) < 126:
		h[1] |= byte(len(p))
	case len(p) < 1<<16:
		h[1] |= 126
		h = binary.BigEndian.AppendUint16(h, uint16(len(p)))
	default:
		h[1] |= 127
		h = binary.BigEndian.AppendUint64(h, uint64(len(p)))
	}
	h = append(h, 0, 0, 0, 0) // mask key: zero, so the payload goes as is
	w.bw.Write(h)
	_, err := w.bw.Write(p)
	return err
}

func (w *wire) flush() error { return w.bw.Flush() }

// read returns the next data message (skipping control frames).
func (w *wire) read() ([]byte, error) {
	for {
		var h [4]byte
		if !w.ws {
			if _, err := io.ReadFull(w.br, h[:]); err != nil {
				return nil, err
			}
		} else if _, err := io.ReadFull(w.br, h[:2]); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint32(h[:]))
		if w.ws {
			n = int(h[1] & 0x7f)
			switch n {
			case 126:
				var l [2]byte
				io.ReadFull(w.br, l[:])
				n = int(binary.BigEndian.Uint16(l[:]))
			case 127:
				var l [8]byte
				io.ReadFull(w.br, l[:])
				n = int(binary.BigEndian.Uint64(l[:]))
			}
		}
		if cap(w.buf) < n {
			w.buf = make([]byte, n)
		}
		p := w.buf[:n]
		if _, err := io.ReadFull(w.br, p); err != nil {
			return nil, err
		}
		if w.ws && h[0]&0x0f >= 8 {
			continue // ping, pong or close: not data
		}
		return p, nil
	}
}

// readUntil reads until a message contains s.
func (w *wire) readUntil(tb testing.TB, s string) {
	tb.Helper()
	for {
		p, err := w.read()
		if err != nil {
			tb.Fatalf("waiting for %q: %v", s, err)
		}
		if strings.Contains(string(p), s) {
			return
		}
	}
}

// rawRelay is the baseline: it accepts a "device" and a "page" and copies
// bytes between them both ways.
func rawRelay(tb testing.TB) (dev, page *wire) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	dc, _ := net.Dial("tcp", ln.Addr().String())
	ds, _ := ln.Accept()
	pc, _ := net.Dial("tcp", ln.Addr().String())
	ps, _ := ln.Accept()
	tb.Cleanup(func() { dc.Close(); ds.Close(); pc.Close(); ps.Close() })
	wg.Add(2)
	go func() { defer wg.Done(); io.Copy(ps, ds) }()
	go func() { defer wg.Done(); io.Copy(ds, ps) }()
	return newWire(dc, false), newWire(pc, false)
}

// hubPair connects a device and a page of one id to a fresh hub.
func hubPair(tb testing.TB) (dev, page *wire) {
	tb.Helper()
	h := startHub(tb, Options{})
	dev = dialWS(tb, hostOf(h.devURL), "/bench")
	waitFor(tb, "device online", func() bool { _, ok := h.broker.Lookup("bench"); return ok })
	page = dialWS(tb, hostOf(h.pageURL), "/bench") // its one status message: online
	page.readUntil(tb, `"hub/device/connected": true`)
	return dev, page
}

// hubPairTagged is hubPair with a device that takes page identity; the
// device's messages are tagged for the page, and it reads the page's
// messages tagged.
func hubPairTagged(tb testing.TB) (dev, page *wire) {
	tb.Helper()
	h := startHub(tb, Options{})
	dev = dialWS(tb, hostOf(h.devURL), "/bench", "Sec-WebSocket-Protocol: "+pagetag.Subprotocol)
	waitFor(tb, "device online", func() bool { d, ok := h.broker.Lookup("bench"); return ok && d.Pages })
	page = dialWS(tb, hostOf(h.pageURL), "/bench")
	page.readUntil(tb, `"hub/device/connected": true`)
	id := h.pagesOf("bench")[0].pageID
	dev.tag, dev.tagIn = pagetag.Tag(id, nil), len(pagetag.Tag(id, nil))
	return dev, page
}

// stream sends b.N messages of size bytes from src to dst, at most window
// in flight, and reports messages per second.
func stream(b *testing.B, src, dst *wire, size int) {
	msg := append(bytes.Clone(src.tag), `"`+strings.Repeat("x", size-2)+`"`...)
	credits := make(chan struct{}, window)
	for range window {
		credits <- struct{}{}
	}
	errc := make(chan error, 1)
	b.SetBytes(int64(size))
	b.ResetTimer()
	go func() {
		for i := 0; i < b.N; i++ {
			select {
			case <-credits:
			default: // out of credit: send what is buffered, then wait
				if err := src.flush(); err != nil {
					errc <- err
					return
				}
				<-credits
			}
			if err := src.write(msg); err != nil {
				errc <- err
				return
			}
		}
		errc <- src.flush()
	}()
	for i := 0; i < b.N; i++ {
		p, err := dst.read()
		if err != nil {
			b.Fatalf("read %d: %v", i, err)
		}
		if len(p) != size+dst.tagIn {
			b.Fatalf("read %d: %d bytes, want %d: %.80q", i, len(p), size+dst.tagIn, p)
		}
		credits <- struct{}{}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// roundTrip measures one message page → device → page (the device echoes).
func roundTrip(b *testing.B, page, dev *wire, size int) {
	msg := []byte(`"` + strings.Repeat("x", size-2) + `"`)
	done := make(chan error, 1)
	go func() {
		for {
			p, err := dev.read()
			if err != nil {
				done <- nil
				return
			}
			dev.write(p)
			if err := dev.flush(); err != nil {
				done <- err
				return
			}
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page.write(msg)
		page.flush()
		if _, err := page.read(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	dev.c.Close()
	<-done
}

func BenchmarkRelay(b *testing.B) {
	for _, size := range []int{64, 1024, 16 << 10} {
		b.Run(fmt.Sprintf("hub/device-to-page/%dB", size), func(b *testing.B) {
			dev, page := hubPair(b)
			stream(b, dev, page, size)
		})
		b.Run(fmt.Sprintf("rawtcp/device-to-page/%dB", size), func(b *testing.B) {
			dev, page := rawRelay(b)
			stream(b, dev, page, size)
		})
		b.Run(fmt.Sprintf("hub/page-to-device/%dB", size), func(b *testing.B) {
			dev, page := hubPair(b)
			stream(b, page, dev, size)
		})
		b.Run(fmt.Sprintf("rawtcp/page-to-device/%dB", size), func(b *testing.B) {
			dev, page := rawRelay(b)
			stream(b, page, dev, size)
		})
	}
	for _, size := range []int{64, 1024} {
		// A device with page identity: what it sends is tagged for the
		// page, what it reads comes tagged.
		b.Run(fmt.Sprintf("hub-tagged/device-to-page/%dB", size), func(b *testing.B) {
			dev, page := hubPairTagged(b)
			stream(b, dev, page, size)
		})
		b.Run(fmt.Sprintf("hub-tagged/page-to-device/%dB", size), func(b *testing.B) {
			dev, page := hubPairTagged(b)
			stream(b, page, dev, size)
		})
	}
	b.Run("hub/round-trip/64B", func(b *testing.B) {
		dev, page := hubPair(b)
		roundTrip(b, page, dev, 64)
	})
	b.Run("rawtcp/round-trip/64B", func(b *testing.B) {
		dev, page := rawRelay(b)
		roundTrip(b, page, dev, 64)
	})
}

// BenchmarkFanOut: one device's messages to many pages of it; each op is
// one device message, delivered to every page.
func BenchmarkFanOut(b *testing.B) {
	for _, pages := range []int{10, 1000} {
		b.Run(fmt.Sprintf("hub/pages=%d/64B", pages), func(b *testing.B) { fanOut(b, pages, 64) })
	}
}

func fanOut(b *testing.B, pages, size int) {
	h := startHub(b, Options{})
	dev := dialWS(b, hostOf(h.devURL), "/fan")
	waitFor(b, "device online", func() bool { _, ok := h.broker.Lookup("fan"); return ok })
	pgs := make([]*wire, pages)
	for i := range pgs {
		pgs[i] = dialWS(b, hostOf(h.pageURL), "/fan")
		pgs[i].readUntil(b, `"hub/device/connected": true`)
	}
	msg := []byte(`"` + strings.Repeat("x", size-2) + `"`)
	const chunk = 64
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	progress := make([]int, pages)
	slowest := func() int {
		m := progress[0]
		for _, n := range progress[1:] {
			m = min(m, n)
		}
		return m
	}
	var wg sync.WaitGroup
	errc := make(chan error, pages+1)
	b.ResetTimer()
	for i, p := range pgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 1; n <= b.N; n++ {
				if _, err := p.read(); err != nil {
					errc <- fmt.Errorf("page %d, message %d: %w", i, n, err)
					mu.Lock()
					cond.Broadcast() // the writer checks errc
					mu.Unlock()
					return
				}
				if n%chunk == 0 || n == b.N {
					mu.Lock()
					progress[i] = n
					cond.Broadcast()
					mu.Unlock()
				}
			}
		}()
	}
	for n := 0; n < b.N; n++ {
		if n%chunk == 0 && n >= window {
			dev.flush()
			mu.Lock()
			for slowest() < n-window && len(errc) == 0 {
				cond.Wait()
			}
			mu.Unlock()
		}
		dev.write(msg)
	}
	dev.flush()
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*pages)/b.Elapsed().Seconds(), "deliveries/s")
}
