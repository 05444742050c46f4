package hub

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"tether/internal/hub/hubws"
)

// role says which endpoint a peer came in on.
type role uint8

const (
	roleDevice role = iota
	rolePage
)

func (r role) String() string {
	if r == rolePage {
		return "page"
	}
	return "device"
}

// itemKind is what a queued item writes.
type itemKind uint8

const (
	itemText itemKind = iota
	itemBinary
	itemPing
	itemPong
)

// item is one queued write; data is shared and never modified. prep, when
// set, is data framed once for all the pages it goes to.
type item struct {
	kind itemKind
	data []byte
	prep *hubws.Prepared
}

// peer is one device or page connection: a bounded send queue and the
// state its reader updates. The queue is written by whoever wakes it (the
// goroutine that queued, a device's reader at the end of its read batch, the
// connection's OnDrain), inline: connection writes never block. While the
// socket is full (hubws Conn.Pending) the peer stops writing and its queue
// fills; a page that lets it fill is closed as a slow consumer.
//
// Every write, the close frame included, goes through writeLoop, run by one
// goroutine at a time (writing); closing a peer drops its queue and has the
// writer send the close frame.
type peer struct {
	h      *Hub
	role   role
	id     string // device id
	connID uint64
	remote string
	since  time.Time
	conn   hubws.Conn

	lastSeen atomic.Int64 // unix nanoseconds of the last frame read

	// A page's principal and what it may do on its device (an
	// access.Verb), both replaced when the auth file changes.
	who  atomic.Pointer[principal]
	verb atomic.Uint32

	// The per-address bound this connection counts in, given back when
	// it ends (under mu).
	limit     *connLimit
	limitAddr string

	// How a device proved who it is, checked again when the auth file
	// or the enrolled devices change.
	devCred devCred

	// Page identity (package pagetag): a device's tagged is true when its
	// connection takes it; a page's pageID names it to the device, and
	// spoke is set once it sent the device something (so the device is
	// told when it goes).
	tagged bool
	pageID string
	spoke  atomic.Bool

	// A device's fan-out batch: while its reader delivers what one read
	// brought (inMsg), the writers of the pages it queues for are woken
	// once, at the end (OnReadWait), so that each writes the batch at once.
	fanMu   sync.Mutex
	inMsg   bool
	pending []*peer

	mu          sync.Mutex
	q           []item
	qBytes      int
	writing     bool // a goroutine is in writeLoop
	blocked     bool // the socket is full: OnDrain resumes the writing
	wakeDue     bool // enqueue asked for a wake that has not happened yet
	closing     bool // a close was asked for: closeCode, closeReason
	closeCode   int
	closeReason string
	dead        bool // the connection has ended (OnClose)
}

func (h *Hub) newPeer(r role, id, remote string) *peer {
	p := &peer{h: h, role: r, id: id, remote: remote, since: time.Now(), connID: h.nextConn.Add(1)}
	p.lastSeen.Store(p.since.UnixNano())
	return p
}

// send queues it and writes the queue at once from the calling goroutine
// unless another is writing it; it reports false when the queue is full
// (the caller decides what a full queue means). A closing peer accepts and
// drops.
func (p *peer) send(it item) bool {
	ok, idle := p.enqueue(it)
	if idle {
		p.wake()
	}
	return ok
}

// sendMade queues the item make returns, calling make with the queue
// locked: whatever else is queued comes before or after it, never between
// what make looked at and its place in the queue.
func (p *peer) sendMade(make func() item) bool {
	p.mu.Lock()
	ok, idle := p.enqueueLocked(make())
	p.mu.Unlock()
	if idle {
		p.wake()
	}
	return ok
}

// enqueue queues it without starting the writer: ok is false when the
// queue is full; idle is true when the writer must be woken (wake) for it.
func (p *peer) enqueue(it item) (ok, idle bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.enqueueLocked(it)
}

func (p *peer) enqueueLocked(it item) (ok, idle bool) {
	if p.closing || p.dead {
		return true, false
	}
	if len(p.q) >= p.h.opts.Queue || (p.qBytes+len(it.data) > p.h.opts.QueueBytes && len(p.q) > 0) {
		return false, false
	}
	if p.q == nil {
		p.q = takeItems()
	}
	p.q = append(p.q, it)
	p.qBytes += len(it.data)
	idle = !p.writing && !p.wakeDue && !p.blocked
	p.wakeDue = p.wakeDue || idle
	return true, idle
}

// itemSlices holds queue slices between batches, so that an idle peer holds
// none and a busy one does not allocate one a batch.
var itemSlices = sync.Pool{New: func() any { s := make([]item, 0, 16); return &s }}

func takeItems() []item { return (*itemSlices.Get().(*[]item))[:0] }

func putItems(s []item) {
	if cap(s) <= 256 {
		clear(s)
		s = s[:0]
		itemSlices.Put(&s)
	}
}

// wake writes the queue unless another goroutine is writing it.
func (p *peer) wake() {
	p.mu.Lock()
	p.wakeDue = false
	run := len(p.q) > 0 && !p.closing && !p.dead && !p.blocked && p.takeWriter()
	p.mu.Unlock()
	if run {
		p.writeLoop()
	}
}

// drained resumes writing once the socket took everything (OnDrain).
func (p *peer) drained() {
	p.mu.Lock()
	p.blocked = false
	p.mu.Unlock()
	p.wake()
}

// takeWriter makes the caller the writer unless one runs; p.mu held.
func (p *peer) takeWriter() bool {
	if p.writing {
		return false
	}
	p.writing = true
	return true
}

// kill asks for the connection to be closed with code and reason; the first
// call wins. Data the socket has not taken yet gets at most a second more.
func (p *peer) kill(code int, reason string) {
	p.mu.Lock()
	if p.closing || p.dead {
		p.mu.Unlock()
		return
	}
	p.closing, p.closeCode, p.closeReason = true, code, reason
	p.q, p.qBytes = nil, 0
	run := p.takeWriter()
	p.mu.Unlock()
	if run {
		p.writeLoop()
	}
}

// closedBy returns the reason the hub gave when it closed the peer, if it did.
func (p *peer) closedBy() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closeReason, p.closing
}

// ended marks the connection over (from the reader's OnClose).
func (p *peer) ended() {
	p.mu.Lock()
	p.dead = true
	p.q, p.qBytes = nil, 0
	lim := p.limit
	p.limit = nil
	p.mu.Unlock()
	if lim != nil {
		lim.release(p.limitAddr)
	}
}

// writeLoop writes the queue in batches until it is empty, the socket is
// full or the peer closes; the caller took the writer's place (takeWriter).
func (p *peer) writeLoop() {
	defer p.recoverWrite()
	for {
		p.mu.Lock()
		if p.closing || p.dead {
			p.writing = false
			closing, dead := p.closing, p.dead
			code, reason := p.closeCode, p.closeReason
			p.q = nil
			p.mu.Unlock()
			if closing && !dead {
				p.conn.Close(code, reason)
			}
			return
		}
		if len(p.q) == 0 || p.conn.Pending() {
			p.blocked = len(p.q) > 0
			p.writing = false
			p.mu.Unlock()
			return
		}
		batch := p.q
		p.q, p.qBytes = nil, 0
		p.mu.Unlock()
		err := p.writeBatch(batch)
		putItems(batch)
		if err != nil {
			p.h.writeFailed(p, err)
		}
	}
}

func (p *peer) writeBatch(batch []item) error {
	p.conn.SetWriteDeadline(time.Now().Add(p.h.opts.WriteTimeout))
	if len(batch) > 1 {
		p.conn.Hold()
	}
	for _, it := range batch {
		var err error
		switch {
		case it.prep != nil:
			err = p.conn.WritePrepared(it.prep)
		case it.kind == itemText:
			err = p.conn.Write(hubws.Text, it.data)
		case it.kind == itemBinary:
			err = p.conn.Write(hubws.Binary, it.data)
		case it.kind == itemPing:
			err = p.conn.Ping(it.data)
		case it.kind == itemPong:
			err = p.conn.Pong(it.data)
		}
		if err != nil {
			p.conn.Flush()
			return fmt.Errorf("write %s %s: %w", p.role, p.id, err)
		}
	}
	if len(batch) > 1 {
		if err := p.conn.Flush(); err != nil {
			return fmt.Errorf("write %s %s: %w", p.role, p.id, err)
		}
	}
	return nil
}

// beginFan and endFan bracket a device's delivery of one message.
func (p *peer) beginFan() { p.fanMu.Lock(); p.inMsg = true; p.fanMu.Unlock() }
func (p *peer) endFan()   { p.fanMu.Lock(); p.inMsg = false; p.fanMu.Unlock() }

// flushFan wakes the writers of the pages queued for since the last flush.
func (p *peer) flushFan() {
	p.fanMu.Lock()
	pending := p.pending
	p.pending = nil
	p.fanMu.Unlock()
	for _, pg := range pending {
		pg.wake()
	}
}

// touch records that the peer was heard from.
func (p *peer) touch() { p.lastSeen.Store(time.Now().UnixNano()) }
