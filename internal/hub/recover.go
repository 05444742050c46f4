package hub

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"tether/internal/hub/hubws"
)

// A panic in the code serving one connection (its reader, its writer, the
// handling of what it sent) must not take the hub down: it is recovered,
// counted in tether_hub_panics_total by where it happened, logged with its
// stack (rate-limited), and only that connection is closed, with 1011.

// reasonInternal is the close reason after a recovered panic.
const reasonInternal = "internal error"

// recovered counts and logs a recovered panic v in the code serving p.
func (h *Hub) recovered(p *peer, where string, v any) {
	h.metrics.panics.WithLabelValues(where).Inc()
	h.panics.Add(1)
	h.panicLog.Error("recovered a panic serving one connection; closing it", "where", where,
		"role", p.role.String(), "device", p.id, "remote", p.remote, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
}

// abort closes p's connection with code and reason at once, from the
// calling goroutine: after a panic the writer or the reader that would
// normally do it may be gone. Later kills and queued writes are dropped.
func (p *peer) abort(code int, reason string) {
	p.mu.Lock()
	if !p.closing {
		p.closing, p.closeCode, p.closeReason = true, code, reason
	}
	p.q, p.qBytes = nil, 0
	p.mu.Unlock()
	p.conn.SetWriteDeadline(time.Now().Add(time.Second))
	p.conn.Close(code, reason)
}

// isDead reports whether the connection's end was handled (OnClose ran).
func (p *peer) isDead() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dead
}

// recoverWrite ends a writer that panicked: the connection is closed (its
// reader then ends it with OnClose).
func (p *peer) recoverWrite() {
	v := recover()
	if v == nil {
		return
	}
	p.h.recovered(p, "write", v)
	p.mu.Lock()
	p.writing = false
	p.mu.Unlock()
	p.abort(hubws.CodeInternalError, reasonInternal)
}

// guarded is a connection's Handler with every event protected: a panic
// while handling one closes that connection (the WebSocket layer then ends
// it with OnClose) and nothing else.
type guarded struct {
	p  *peer
	ev hubws.Handler
}

func (g guarded) recover(where string) {
	if v := recover(); v != nil {
		g.p.h.recovered(g.p, where, v)
		g.p.abort(hubws.CodeInternalError, reasonInternal)
	}
}

func (g guarded) OnMessage(kind hubws.Kind, data []byte) {
	defer g.recover("message")
	g.ev.OnMessage(kind, data)
}

func (g guarded) OnPing(data []byte) {
	defer g.recover("message")
	g.ev.OnPing(data)
}

func (g guarded) OnPong(data []byte) {
	defer g.recover("message")
	g.ev.OnPong(data)
}

func (g guarded) OnReadWait() {
	defer g.recover("message")
	g.ev.OnReadWait()
}

func (g guarded) OnDrain() {
	defer g.recover("write")
	g.ev.OnDrain()
}

// OnClose also counts a panic the WebSocket layer recovered in its own
// reading code (it closed the connection with 1011).
func (g guarded) OnClose(code int, reason string, err error) {
	defer g.recover("close")
	if pe, ok := errors.AsType[*hubws.PanicError](err); ok {
		g.p.h.recovered(g.p, "read", pe.Value)
		g.p.abort(hubws.CodeInternalError, reasonInternal)
	}
	g.ev.OnClose(code, reason, err)
}
