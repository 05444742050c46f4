package cmdapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"tether/internal/cmdapi"
	"tether/internal/pagetag"
	"tether/internal/tethertest"
	"tether/internal/wire"
)

// newLink serves srv's command API with ServeLink on a real listener:
// the test's peer plays the hub.
func newLink(t *testing.T, srv *cmdapi.Server) *tethertest.WS {
	t.Helper()
	return dial(t, listen(t, srv, srv.ServeLink))
}

// clients records the clients (ClientID) requests come from and when
// each ends, and keeps a reply per client to send later.
type clients struct {
	mu      sync.Mutex
	ids     map[any]string // ClientID → the name given in its first request
	replies map[string]cmdapi.Reply
	ended   chan string
}

func newClients(srv *cmdapi.Server) *clients {
	cs := &clients{ids: map[any]string{}, replies: map[string]cmdapi.Reply{}, ended: make(chan string, 16)}
	srv.Handle(wire.Cmd, "hello", func(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
		name, _ := req.StringArg(0, "name")
		cs.mu.Lock()
		defer cs.mu.Unlock()
		if old, ok := cs.ids[cmdapi.ClientID(ctx)]; ok {
			reply(wire.Message{"hello/again": old})
			return nil
		}
		cs.ids[cmdapi.ClientID(ctx)] = name
		cs.replies[name] = reply
		context.AfterFunc(ctx, func() { cs.ended <- name })
		reply(wire.Message{"hello/new": name})
		return nil
	})
	return cs
}

// Through a link, each page is a client of its own: replies go to it
// alone, tagged; the state and broadcasts go once, untagged; a kept reply
// works until the hub says the page went, which ends its context.
func TestLinkClientPerPage(t *testing.T) {
	srv, _ := newEcho()
	cs := newClients(srv)
	hub := newLink(t, srv)
	if got := hub.ExpectKey("iam", nil); got["iam"] != "Device_1" {
		t.Fatalf("first message = %v, want the state, untagged", got)
	}
	hub.Send(string(pagetag.Tag("hub/a/1", []byte(`["CMD","echo",["hi"]]`))))
	hub.Expect("a's reply tagged for a", func(m string) bool { return m == "@hub/a/1\n"+`{"info":"echo start"}` })
	hub.Expect("a's second reply", func(m string) bool { return m == "@hub/a/1\n"+`{"echo/text":"hi"}` })
	hub.Expect("the state after it, untagged", func(m string) bool { return strings.HasPrefix(m, `{"iam"`) })

	hub.Send(string(pagetag.Tag("hub/a/1", []byte(`["CMD","hello",["a"]]`))))
	hub.Expect("a is new", func(m string) bool { return m == "@hub/a/1\n"+`{"hello/new":"a"}` })
	hub.Send(string(pagetag.Tag("hub/b/2", []byte(`["CMD","hello",["b"]]`))))
	hub.Expect("b is another client", func(m string) bool { return m == "@hub/b/2\n"+`{"hello/new":"b"}` })
	hub.Send(string(pagetag.Tag("hub/a/1", []byte(`["CMD","hello",["a2"]]`))))
	hub.Expect("a is the same client", func(m string) bool { return m == "@hub/a/1\n"+`{"hello/again":"a"}` })

	srv.Broadcast(wire.Message{"note": "to all"})
	hub.Expect("a broadcast once, untagged", func(m string) bool { return m == `{"note":"to all"}` })
	cs.mu.Lock()
	ra := cs.replies["a"]
	cs.mu.Unlock()
	ra(wire.Message{"later": 1})
	hub.Expect("a kept reply, tagged", func(m string) bool { return m == "@hub/a/1\n"+`{"later":1}` })

	hub.Send(string(pagetag.Gone("hub/a/1")))
	select {
	case name := <-cs.ended:
		if name != "a" {
			t.Fatalf("client %q ended, want a", name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a's context did not end when the hub said it went")
	}
	ra(wire.Message{"later": 2}) // does nothing now
	hub.Send(string(pagetag.Tag("hub/a/1", []byte(`["CMD","hello",["a3"]]`))))
	hub.Expect("a page that went and came back is a new client", func(m string) bool {
		if strings.Contains(m, `"later":2`) {
			t.Fatalf("a reply kept past the page's end was sent: %s", m)
		}
		return m == "@hub/a/1\n"+`{"hello/new":"a3"}`
	})
	select {
	case name := <-cs.ended:
		t.Fatalf("client %q ended; only a went", name)
	default:
	}
}

// What is not a page's message is the link's own, as with Serve: an
// untagged request (a hub that could not name the page) and an empty tag
// get untagged replies; a malformed tag is dropped; a bad request from a
// page gets its error, tagged.
func TestLinkUntaggedAndMalformed(t *testing.T) {
	srv, _ := newEcho()
	hub := newLink(t, srv)
	hub.ExpectKey("iam", nil)
	hub.Send(`["CMD","echo",["plain"]]`)
	hub.Expect("an untagged reply", func(m string) bool { return m == `{"echo/text":"plain"}` })
	hub.Send("@\n" + `["CMD","echo",["no page"]]`)
	hub.Expect("an untagged reply", func(m string) bool { return m == `{"echo/text":"no page"}` })
	hub.Send("@two words\n" + `["CMD","echo",["dropped"]]`)
	hub.Send(string(pagetag.Tag("p", []byte(`not json`))))
	got := hub.Expect("p's error", func(m string) bool { return strings.HasPrefix(m, "@p\n") })
	if !strings.Contains(got, "bad request") {
		t.Fatalf("p got %q, want a bad request error", got)
	}
	hub.SendBinary(pagetag.Tag("p", []byte{1, 2}))
	got = hub.Expect("p's error for binary", func(m string) bool { return strings.HasPrefix(m, "@p\n") })
	if !strings.Contains(got, "binary") {
		t.Fatalf("p got %q", got)
	}
	hub.Send(`["CMD","echo",["after"]]`)
	hub.Expect("the next reply", func(m string) bool {
		if strings.Contains(m, "dropped") {
			t.Fatalf("a message with a malformed tag was handled: %s", m)
		}
		return m == `{"echo/text":"after"}`
	})
}

// Past Options.MaxPages pages, the client of the page idle longest ends.
func TestLinkMaxPages(t *testing.T) {
	srv := cmdapi.New(cmdapi.Options{MaxPages: 2})
	cs := newClients(srv)
	hub := newLink(t, srv)
	hub.Expect("the state", func(m string) bool { return m == "{}" })
	for _, p := range []string{"p1", "p2", "p1", "p3"} {
		hub.Send(string(pagetag.Tag(p, []byte(fmt.Sprintf(`["CMD","hello",[%q]]`, p)))))
		hub.Expect(p+"'s reply", func(m string) bool { return strings.HasPrefix(m, "@"+p+"\n") })
	}
	select {
	case name := <-cs.ended:
		if name != "p2" {
			t.Fatalf("%s ended, want p2 (idle longest)", name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no page client ended past MaxPages")
	}
}
