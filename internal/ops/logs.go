package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"tether/internal/cmdapi"
	"tether/internal/devlog"
	"tether/internal/wire"
)

// Bounds of the live log, per subscription.
const (
	maxSubscriptions = 16              // per app run
	lease            = 5 * time.Minute // a subscription not renewed lapses
	batchEvery       = 200 * time.Millisecond
	lineRate         = 100      // lines a second
	byteRate         = 32 << 10 // bytes a second
	maxBatchBytes    = 16 << 10 // one message's lines
	maxLineBytes     = 4 << 10  // longer lines are cut
	maxRecent        = 300      // GET log's most
	subscribeRecent  = 100      // lines a new subscription starts with
	followQueue      = 500      // lines waiting for a subscription
)

// subscriptions are an app run's live log subscriptions, one per client.
type subscriptions struct {
	log     *devlog.Log
	logger  *slog.Logger // where a panicking subscription is told
	mu      sync.Mutex
	subs    map[any]*subscription // by cmdapi.ClientID
	stop    chan struct{}         // closed when the run ends
	wg      sync.WaitGroup
	dropped func(int)
}

// subscription streams a follower's lines to one client.
type subscription struct {
	f     *devlog.Follower
	reply cmdapi.Reply
	renew chan struct{} // 1-buffered: the lease was renewed
	quit  chan struct{} // closed by unsubscribe
	once  sync.Once
}

func newSubscriptions(log *devlog.Log, logger *slog.Logger, dropped func(int)) *subscriptions {
	return &subscriptions{log: log, logger: logger, subs: map[any]*subscription{}, stop: make(chan struct{}), dropped: dropped}
}

// wait ends every subscription and waits for their goroutines.
func (ss *subscriptions) wait() {
	ss.mu.Lock()
	select {
	case <-ss.stop:
	default:
		close(ss.stop)
	}
	ss.mu.Unlock()
	ss.wg.Wait()
}

// subscribe starts (or renews, at a new level) the client's subscription;
// it reports whether it is new.
func (ss *subscriptions) subscribe(ctx context.Context, level slog.Level, reply cmdapi.Reply) (bool, error) {
	id := cmdapi.ClientID(ctx)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	select {
	case <-ss.stop:
		return false, fmt.Errorf("log_subscribe: the app is stopping")
	default:
	}
	if sub, ok := ss.subs[id]; ok {
		sub.f.SetLevel(level)
		select {
		case sub.renew <- struct{}{}:
		default:
		}
		return false, nil
	}
	if len(ss.subs) >= maxSubscriptions {
		return false, fmt.Errorf("log_subscribe: %d connections follow the log already, the most there may be", maxSubscriptions)
	}
	sub := &subscription{f: ss.log.Follow(level, followQueue), reply: reply, renew: make(chan struct{}, 1), quit: make(chan struct{})}
	ss.subs[id] = sub
	ss.wg.Go(func() {
		defer func() {
			ss.mu.Lock()
			delete(ss.subs, id)
			ss.mu.Unlock()
			sub.f.Close()
		}()
		defer ss.recoverPump() // one client's goroutine: a panic ends its subscription only
		sub.pump(ctx, ss.stop, ss.dropped)
	})
	return true, nil
}

// recoverPump turns a panic in a subscription's goroutine into the end of
// that subscription, logged with its stack, rather than of the device.
func (ss *subscriptions) recoverPump() {
	if v := recover(); v != nil {
		ss.logger.Error("log subscription panicked; ending it", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	}
}

// unsubscribe ends the client's subscription, reporting whether it had one.
func (ss *subscriptions) unsubscribe(ctx context.Context) bool {
	ss.mu.Lock()
	sub, ok := ss.subs[cmdapi.ClientID(ctx)]
	ss.mu.Unlock()
	if ok {
		sub.once.Do(func() { close(sub.quit) })
	}
	return ok
}

// pump sends the follower's lines in batches, at most one batch every
// batchEvery and within lineRate and byteRate, until the client goes, the
// run ends, the client unsubscribes or the lease lapses.
func (sub *subscription) pump(ctx context.Context, stop <-chan struct{}, dropped func(int)) {
	expire := time.NewTimer(lease)
	defer expire.Stop()
	b := bucket{lines: lineRate, bytes: byteRate, at: time.Now()}
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-sub.quit:
			return
		case <-expire.C:
			sub.reply(wire.Message{"log/subscribed": "", "info": "log subscription lapsed: CMD log_subscribe again to go on"})
			return
		case <-sub.renew:
			expire.Reset(lease)
			continue
		case <-sub.f.Wake():
		}
		if wait := batchEvery - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-stop:
			case <-sub.quit:
			case <-t.C:
			}
			t.Stop()
		}
		last = time.Now()
		lines, lost := sub.f.Take()
		batch, over := b.admit(lines, last)
		if over > 0 {
			dropped(over)
		}
		if lost+over == 0 && len(batch) == 0 {
			continue
		}
		m := wire.Message{"log/lines": batch}
		if lost+over > 0 {
			m["log/dropped"] = lost + over
		}
		sub.reply(m)
	}
}

// bucket is a token bucket of lines and bytes, refilled each second up to
// one second's worth.
type bucket struct {
	lines, bytes float64
	at           time.Time
}

// admit returns the lines the bucket allows now (cut to maxLineBytes, and
// no more than maxBatchBytes) and how many it drops.
func (b *bucket) admit(lines []string, now time.Time) ([]string, int) {
	dt := now.Sub(b.at).Seconds()
	b.at = now
	b.lines = min(b.lines+dt*lineRate, lineRate)
	b.bytes = min(b.bytes+dt*byteRate, byteRate)
	out := []string{}
	size := 0
	for i, l := range lines {
		if len(l) > maxLineBytes {
			l = l[:maxLineBytes] + "…"
		}
		if b.lines < 1 || b.bytes < float64(len(l)) || size+len(l) > maxBatchBytes {
			return out, len(lines) - i
		}
		b.lines--
		b.bytes -= float64(len(l))
		size += len(l)
		out = append(out, l)
	}
	return out, 0
}

// getLog is GET log [n]: the last n lines (default and most maxRecent).
func (ss *Session) getLog(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	n := maxRecent
	if len(req.Args) > 1 {
		return fmt.Errorf("GET log: want at most 1 argument [n], got %d", len(req.Args))
	}
	if len(req.Args) == 1 {
		var v int
		if err := json.Unmarshal(req.Args[0], &v); err != nil || v < 1 {
			return fmt.Errorf("GET log: argument 1 (n): want a number of lines 1-%d, got %s", maxRecent, req.Args[0])
		}
		n = min(v, maxRecent)
	}
	reply(wire.Message{"log/recent": recent(ss.s.opts.Log, slog.LevelInfo, n)})
	return nil
}

// recent returns the last n lines of level at least min.
func recent(l *devlog.Log, min slog.Level, n int) []string {
	var out []string
	for _, line := range l.Ring().Lines() {
		if devlog.LevelOf(line) >= min {
			out = append(out, line)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// cmdSubscribe is CMD log_subscribe [level].
func (ss *Session) cmdSubscribe(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if len(req.Args) > 1 {
		return fmt.Errorf("CMD log_subscribe: want at most 1 argument [level], got %d", len(req.Args))
	}
	word := ""
	if len(req.Args) == 1 {
		w, err := req.StringArg(0, "level")
		if err != nil {
			return err
		}
		word = w
	}
	level, ok := devlog.ParseLevel(word)
	if !ok || level < slog.LevelInfo {
		return fmt.Errorf("CMD log_subscribe: argument 1 (level): want info, warn or error, got %q", word)
	}
	fresh, err := ss.subs.subscribe(ctx, level, reply)
	if err != nil {
		return err
	}
	m := wire.Message{"log/subscribed": levelName(level), "log/lease": int(lease.Seconds())}
	if fresh {
		m["log/recent"] = recent(ss.s.opts.Log, level, subscribeRecent)
	}
	reply(m)
	return nil
}

// cmdUnsubscribe is CMD log_unsubscribe.
func (ss *Session) cmdUnsubscribe(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs(); err != nil {
		return err
	}
	if ss.subs.unsubscribe(ctx) {
		reply(wire.Message{"log/subscribed": ""})
	}
	return nil
}

// levelName is how a level filter is written in replies.
func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warn"
	}
	return "info"
}
