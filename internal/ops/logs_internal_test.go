package ops

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"tether/internal/devlog"
	"tether/internal/tethertest"
	"tether/internal/wire"
)

// A panic in a live log subscription's goroutine (one client's) ends that
// subscription, logged with its stack; the device goes on, and the client
// can subscribe again. (Unrecovered, it ended the whole process.)
func TestLogSubscriptionPanicEndsOnlyIt(t *testing.T) {
	var logged tethertest.SyncBuffer
	l := devlog.New(devlog.Options{})
	ss := newSubscriptions(l, slog.New(slog.NewTextHandler(&logged, nil)), func(int) {})
	defer ss.wait()
	ctx := context.Background()
	if _, err := ss.subscribe(ctx, slog.LevelInfo, func(wire.Message) { panic("reply bomb") }); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("time=x level=INFO msg=one\n"))
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logged.String(), "reply bomb"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the panic was not logged")
		}
	}
	got := make(chan wire.Message, 10)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		fresh, err := ss.subscribe(ctx, slog.LevelInfo, func(m wire.Message) { got <- m })
		if err != nil {
			t.Fatal(err)
		}
		if fresh {
			break // the panicked one is gone
		}
		if time.Now().After(deadline) {
			t.Fatal("the panicked subscription was never removed")
		}
	}
	l.Write([]byte("time=x level=INFO msg=two\n"))
	select {
	case m := <-got:
		if !strings.Contains(strings.Join(m["log/lines"].([]string), "\n"), "msg=two") {
			t.Errorf("got %v, want the line after the panic", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a new subscription got no line")
	}
}
