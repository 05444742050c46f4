package cmdapi

import (
	"context"

	"tether/internal/pagetag"
)

// DefaultMaxPages is Options.MaxPages when it is zero.
const DefaultMaxPages = 1024

// ServeLink is Serve for a call-home connection whose hub granted page
// identity (package pagetag): the link itself is one client, as with
// Serve (it gets the state first, every broadcast, and the state after
// every request, once for all the hub's pages), and each hub page that
// sends a request becomes a client of its own, with its own ClientID and
// context: its replies, kept ones included (a live log), go over the link
// tagged for that page alone, and never a broadcast or the state. A page's
// client ends when the hub says the page went, when the link ends, or when
// more than Options.MaxPages pages have clients (the one idle longest
// ends); a message from it afterwards starts a new one.
//
// Requests are handled one at a time, in the order the link brings them,
// whichever page sent them (as Serve does for one client); everything sent
// over the link goes through its one queue, in order, so a page's reply
// comes before the state that follows its request.
func (s *Server) ServeLink(ctx context.Context, conn Conn) error {
	max := s.opts.MaxPages
	if max <= 0 {
		max = DefaultMaxPages
	}
	c := &client{conn: conn}
	c.pages = &pages{s: s, link: c, max: max, byID: map[string]*pageClient{}}
	return s.serve(ctx, c)
}

// pages are the clients of a link's hub pages. Only the link's reader
// (readLoop) touches them.
type pages struct {
	s    *Server
	link *client
	max  int
	byID map[string]*pageClient
	tick uint64 // counts messages, for the page idle longest
}

type pageClient struct {
	c      *client
	ctx    context.Context
	cancel context.CancelFunc
	used   uint64
}

// route says which client a message from the link is from, with its
// context and the message without its tag; ok is false for a message
// that is not a request (the hub's notice that a page went, a malformed
// tag).
func (ps *pages) route(ctx context.Context, data []byte) (from *client, fctx context.Context, msg []byte, ok bool) {
	id, msg, tagged, ok := pagetag.Split(data)
	switch {
	case !tagged:
		if gone, isGone := pagetag.ParseGone(data); isGone {
			ps.end(gone)
			return nil, nil, nil, false
		}
		return ps.link, ctx, data, true // not a page's: handled as the link's
	case !ok:
		ps.s.log.Debug("hub message with a malformed page tag dropped", "len", len(data))
		return nil, nil, nil, false
	case id == "":
		return ps.link, ctx, msg, true // a page the hub could not name
	}
	pc := ps.get(ctx, id)
	return pc.c, pc.ctx, msg, true
}

// get returns the client of page id, making it if need be.
func (ps *pages) get(ctx context.Context, id string) *pageClient {
	ps.tick++
	if pc, ok := ps.byID[id]; ok {
		pc.used = ps.tick
		return pc
	}
	if len(ps.byID) >= ps.max {
		ps.evict()
	}
	c := &client{link: ps.link, page: id}
	pctx, cancel := context.WithCancel(context.WithValue(ctx, clientKey{}, c))
	c.life = pctx
	pc := &pageClient{c: c, ctx: pctx, cancel: cancel, used: ps.tick}
	ps.byID[id] = pc
	return pc
}

// end ends page id's client, if it has one.
func (ps *pages) end(id string) {
	if pc, ok := ps.byID[id]; ok {
		pc.cancel()
		delete(ps.byID, id)
	}
}

// evict ends the client of the page idle longest.
func (ps *pages) evict() {
	var old *pageClient
	for _, pc := range ps.byID {
		if old == nil || pc.used < old.used {
			old = pc
		}
	}
	ps.s.log.Debug("hub page forgotten: too many pages have clients", "page", old.c.page, "max", ps.max)
	ps.end(old.c.page)
}
