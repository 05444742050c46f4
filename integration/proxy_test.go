package integration

import (
	"io"
	"net"
	"sync"
	"testing"
)

// proxy forwards TCP connections to a target. cut makes every current
// connection go silent both ways without closing it, as a network that
// drops packets does; new connections are forwarded normally.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []*pipe
	wg     sync.WaitGroup
}

type pipe struct {
	a, b net.Conn
	mu   sync.Mutex
	cut  bool
}

func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		a, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			a.Close()
			continue
		}
		pp := &pipe{a: a, b: b}
		p.mu.Lock()
		p.conns = append(p.conns, pp)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); pp.copy(b, a) }()
		go func() { defer p.wg.Done(); pp.copy(a, b) }()
	}
}

// copy forwards src to dst until either ends; once cut, data read is dropped.
func (pp *pipe) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		pp.mu.Lock()
		cut := pp.cut
		pp.mu.Unlock()
		if n > 0 && !cut {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	if err := dst.Close(); err != nil && err != io.EOF {
		return
	}
}

// cut silences every connection open now.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pp := range p.conns {
		pp.mu.Lock()
		pp.cut = true
		pp.mu.Unlock()
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, pp := range p.conns {
		pp.a.Close()
		pp.b.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
