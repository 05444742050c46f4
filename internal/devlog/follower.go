package devlog

import (
	"log/slog"
	"sync"
)

// Follower receives the lines of at least its level as they are written,
// in a bounded queue: when it is full, new lines are lost and counted.
type Follower struct {
	log  *Log
	max  int
	wake chan struct{} // 1-buffered: lines arrived

	mu      sync.Mutex
	level   slog.Level
	lines   []string
	dropped int
	closed  bool
}

// Follow returns a follower of lines of level min and above holding up to
// queue lines (queue < 1 means 500). Close it when done.
func (l *Log) Follow(min slog.Level, queue int) *Follower {
	if queue < 1 {
		queue = 500
	}
	f := &Follower{log: l, max: queue, level: min, wake: make(chan struct{}, 1)}
	l.mu.Lock()
	l.followers[f] = struct{}{}
	l.mu.Unlock()
	return f
}

// Level is the least severe level followed.
func (f *Follower) Level() slog.Level {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.level
}

// SetLevel changes the least severe level followed.
func (f *Follower) SetLevel(min slog.Level) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.level = min
}

// Wake is signalled when lines arrive (and when the Log closes).
func (f *Follower) Wake() <-chan struct{} { return f.wake }

// Take returns the queued lines, oldest first, and how many were lost
// since the last Take.
func (f *Follower) Take() (lines []string, dropped int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lines, dropped = f.lines, f.dropped
	f.lines, f.dropped = nil, 0
	return lines, dropped
}

// Close ends the follower: no more lines are queued for it.
func (f *Follower) Close() {
	f.log.mu.Lock()
	delete(f.log.followers, f)
	f.log.mu.Unlock()
	f.close()
}

func (f *Follower) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.signal()
}

// add queues line, reporting false when the queue was full.
func (f *Follower) add(line string) bool {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return true
	}
	if len(f.lines) >= f.max {
		f.dropped++
		f.mu.Unlock()
		return false
	}
	f.lines = append(f.lines, line)
	f.mu.Unlock()
	f.signal()
	return true
}

func (f *Follower) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}
