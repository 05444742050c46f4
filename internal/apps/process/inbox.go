package process

import (
	"context"
	"io"
	"sync"
	"time"

	"tether/internal/fifo"
)

// inbox is the queue of lines for a program's standard input, written by
// one goroutine (run). It is bounded in lines and bytes: a program that
// stops reading fills its pipe, then the queue, and further lines are
// refused (push returns false), so tether never blocks on it nor grows.
type inbox struct {
	maxLines, maxBytes int

	mu      sync.Mutex
	queue   [][]byte
	bytes   int
	writing time.Time // when the write in progress began; zero when none
	wake    chan struct{}
}

func newInbox(maxLines, maxBytes int) *inbox {
	return &inbox{maxLines: maxLines, maxBytes: maxBytes, wake: make(chan struct{}, 1)}
}

// push queues line, or reports false when the queue is full.
func (q *inbox) push(line []byte) bool {
	q.mu.Lock()
	if len(q.queue) >= q.maxLines || q.bytes+len(line) > q.maxBytes {
		q.mu.Unlock()
		return false
	}
	q.queue = append(q.queue, line)
	q.bytes += len(line)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// take removes the oldest line and marks a write as begun.
func (q *inbox) take() ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	b, ok := fifo.Pop(&q.queue)
	if !ok {
		return nil, false
	}
	q.bytes -= len(b)
	q.writing = time.Now()
	return b, true
}

func (q *inbox) wrote() {
	q.mu.Lock()
	q.writing = time.Time{}
	q.mu.Unlock()
}

// blocked returns how long the write in progress has waited for the
// program to read (zero when none is), and how many lines wait behind it.
func (q *inbox) blocked() (time.Duration, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.writing.IsZero() {
		return 0, len(q.queue)
	}
	return time.Since(q.writing), len(q.queue)
}

// run writes queued lines to w until ctx ends or a write fails (the
// program closed its input, or ended).
func (q *inbox) run(ctx context.Context, w io.Writer) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-q.wake:
		}
		for {
			b, ok := q.take()
			if !ok {
				break
			}
			_, err := w.Write(b)
			q.wrote()
			if err != nil {
				return err
			}
		}
	}
}
