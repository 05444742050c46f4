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

// peer is one device or page connection: a bounded send queue drained by
// a writer goroutine that runs only while there is something to write (an
// idle connection has no writer), and the state its reader updates.
//
// Every write, the close frame included, goes through the writer, so a
// connection has one writer at a time; closing a peer drops its queue, bounds
// the write in progress and has the writer send the close frame.
type peer struct {
	h      *Hub
	role   role
	id     string // device id
	connID uint64
	remote string
	since  time.Time
	conn   hubws.Conn

	lastSeen atomic.Int64 // unix nanoseconds of the last frame read

	// A device's fan-out batch: while its reader delivers what one read
	// brought (inMsg), the writers of the pages it queues for are woken
	// once, at the end (OnReadWait), so that each writes the batch at once.
	fanMu   sync.Mutex
	inMsg   bool
	pending []*peer

	mu          sync.Mutex
	q           []item
	qBytes      int
	writing     bool
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

// send queues it; it reports false when the queue is full (the caller
// decides what a full queue means). A closing peer accepts and drops.
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
		p.q = make([]item, 0, 16)
	}
	p.q = append(p.q, it)
	p.qBytes += len(it.data)
	idle = !p.writing && !p.wakeDue
	p.wakeDue = p.wakeDue || idle
	return true, idle
}

// wake starts the writer if there is something to write and it is not running.
func (p *peer) wake() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wakeDue = false
	if len(p.q) > 0 && !p.closing && !p.dead {
		p.startWriter()
	}
}

// startWriter starts the writer unless it runs; called with p.mu held.
func (p *peer) startWriter() {
	if p.writing {
		return
	}
	p.writing = true
	p.h.wg.Add(1)
	go p.writeLoop()
}

// kill asks for the connection to be closed with code and reason; the first
// call wins. The write in progress gets at most a second more.
func (p *peer) kill(code int, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing || p.dead {
		return
	}
	p.closing, p.closeCode, p.closeReason = true, code, reason
	p.q, p.qBytes = nil, 0
	if p.writing {
		p.conn.SetWriteDeadline(time.Now().Add(time.Second))
	}
	p.startWriter()
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
	p.mu.Unlock()
}

func (p *peer) writeLoop() {
	defer p.h.wg.Done()
	defer p.recoverWrite()
	var batch []item
	for {
		p.mu.Lock()
		if p.closing || p.dead || len(p.q) == 0 {
			p.writing = false
			closing, dead := p.closing, p.dead
			code, reason := p.closeCode, p.closeReason
			p.q = nil
			p.mu.Unlock()
			if closing && !dead {
				p.conn.SetWriteDeadline(time.Now().Add(time.Second))
				p.conn.Close(code, reason)
			}
			return
		}
		batch, p.q = p.q, batch[:0]
		p.qBytes = 0
		p.mu.Unlock()
		if err := p.writeBatch(batch); err != nil {
			p.h.writeFailed(p, err)
		}
		clear(batch)
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
