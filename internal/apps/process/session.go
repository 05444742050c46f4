package process

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"tether/internal/apps"
	"tether/internal/apps/appserver"
	"tether/internal/cmdapi"
	"tether/internal/config"
	"tether/internal/web"
	"tether/internal/wire"
)

// Bounds of what a program sends.
const (
	maxLine     = 1 << 20 // bytes of one line from the program; longer lines are dropped
	outRate     = 200     // replies and broadcasts a second, with bursts of outBurst
	outBurst    = 100
	maxStateKey = 500 // keys of the app's state
	inLines     = 256 // lines queued for the program's input
	inBytes     = 1 << 20
	stateEvery  = 50 * time.Millisecond // the state object is sent at most this often
)

// run is one run of a process app: the program, its items and state, and
// the clients its requests came from.
type run struct {
	app   *App
	env   *apps.Env
	cfg   *config.Config
	p     *config.Process
	log   *slog.Logger
	srv   *appserver.Server
	api   *cmdapi.Server
	own   map[string]bool // tether's item names, which the program cannot take
	in    *inbox
	errs  *stderrLog
	out   *rate.Limiter // replies and broadcasts to clients
	warn  *rate.Limiter // log lines about what the program sent wrong
	dirty chan struct{} // 1-buffered: the app's state changed

	announced chan struct{} // closed at the first announcement
	once      sync.Once

	mu         sync.Mutex
	items      map[string]cmdapi.Item // kind + " " + name
	keys       []cmdapi.Key
	hears      []string // the drivers whose messages the program hears
	state      map[string]json.RawMessage
	stateBytes int
	clients    map[any]*client
	byID       map[string]*client
	nextID     int
	pid        int
	drops      drops
}

// client is a connection requests came from, as the program knows it.
type client struct {
	id    string // "c1"
	reply cmdapi.Reply
}

// drops counts what was refused, for the state's app/dropped.
type drops struct {
	LongLines    int64 `json:"long_lines"`    // lines over maxLine
	BadLines     int64 `json:"bad_lines"`     // not JSON, or not a message
	OverRate     int64 `json:"over_rate"`     // replies and broadcasts over outRate
	TooBig       int64 `json:"too_big"`       // messages over the command API's limit
	ToGone       int64 `json:"to_gone"`       // replies to clients that had gone
	StateRefused int64 `json:"state_refused"` // state keys refused
	Requests     int64 `json:"requests"`      // requests refused: the program's input was full
}

func newRun(a *App, env *apps.Env, cfg *config.Config, p *config.Process) (*run, error) {
	log := cmp.Or(env.Logger, slog.New(slog.DiscardHandler))
	r := &run{app: a, env: env, cfg: cfg, p: p, log: log,
		in: newInbox(inLines, inBytes), errs: newStderrLog(log.With("component", "stderr")),
		out: rate.NewLimiter(outRate, outBurst), warn: rate.NewLimiter(1, 10), dirty: make(chan struct{}, 1),
		announced: make(chan struct{}), items: map[string]cmdapi.Item{}, state: map[string]json.RawMessage{},
		clients: map[any]*client{}, byID: map[string]*client{}}
	srv, err := appserver.New(env, appserver.Options{
		Name: p.Name, Section: p.Name, Settings: p.Served, DriverItems: len(p.Drivers) > 0,
		State: r.addState, StateKeys: r.stateKeys, Page: p.Page, DriverTap: r.heard,
	})
	if err != nil {
		return nil, err
	}
	r.srv, r.api = srv, srv.API()
	r.own = map[string]bool{}
	for _, it := range r.api.Described() {
		r.own[it.Name] = true
	}
	return r, nil
}

// environ is the program's environment: tether's, the entry's env, and
// the TETHER_ variables.
func (r *run) environ() []string {
	env := os.Environ()
	for k, v := range r.p.Env {
		env = append(env, k+"="+v)
	}
	env = append(env, "TETHER_APP="+r.p.Name, "TETHER_DEVICE="+r.cfg.Network.Device.IAm,
		"TETHER_ROOT="+r.root(), "TETHER_VERSION="+apps.VersionText(r.env.Version))
	if len(r.p.Raw) < 64<<10 { // one variable's limit is 128 KiB; the hello line has it anyway
		if b, err := compact(r.p.Raw); err == nil {
			env = append(env, "TETHER_CONFIG="+string(b))
		}
	}
	return env
}

func compact(raw json.RawMessage) ([]byte, error) {
	var b bytes.Buffer
	err := json.Compact(&b, raw)
	return b.Bytes(), err
}

// hello is the first line the program reads.
func (r *run) hello() hello {
	conf, err := compact(r.p.Raw)
	if err != nil || len(conf) == 0 {
		conf = []byte("{}")
	}
	return hello{Type: "hello", App: r.p.Name, Device: r.cfg.Network.Device.IAm, Root: r.root(),
		Tether: apps.VersionText(r.env.Version), Config: conf}
}

func (r *run) setPID(pid int) {
	r.mu.Lock()
	r.pid = pid
	r.mu.Unlock()
}

// readStdout handles the program's lines until its output ends.
func (r *run) readStdout(out io.Reader) {
	lr := newLineReader(out, maxLine, false)
	for {
		line, skipped, err := lr.next()
		if err != nil {
			return
		}
		switch {
		case skipped > 0:
			r.refused(&r.drops.LongLines, "a line over the limit was dropped", "bytes", skipped, "limit", maxLine)
		case len(strings.TrimSpace(string(line))) > 0:
			r.handle(line)
		}
	}
}

// refused counts a refusal and logs it, at most once a second or so.
func (r *run) refused(n *int64, msg string, args ...any) {
	r.mu.Lock()
	*n++
	r.mu.Unlock()
	r.markDirty()
	if r.warn.Allow() {
		r.log.Warn("program: "+msg, args...)
	}
}

// handle acts on one line from the program.
func (r *run) handle(line []byte) {
	m, err := decode(line)
	if err != nil {
		r.refused(&r.drops.BadLines, "line refused", "err", err.Error(), "line", clip(string(line)))
		return
	}
	switch m.Type {
	case "announce":
		r.announce(m)
	case "state":
		r.setState(m.State)
	case "reply", "broadcast":
		r.send(m)
	case "driver":
		r.driver(m)
	}
}

// driverWait bounds a driver line the program writes (a send to a port
// that stopped reading gives up after 2 s).
const driverWait = 5 * time.Second

// driver does the program's driver line (start, stop or send to one of
// the entry's drivers) and tells the program how it went.
func (r *run) driver(m message) {
	if !r.out.Allow() { // what a driver answers reaches every client, as a broadcast does
		r.refused(&r.drops.OverRate, "messages over the rate dropped", "rate", outRate)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), driverWait)
	defer cancel()
	text := ""
	if m.Text != nil {
		text = *m.Text
	}
	info, err := r.srv.Driver(ctx, m.Op, m.Driver, text)
	switch {
	case err != nil:
		r.tellDriver(wire.Error(err.Error()))
	case info != "":
		r.tellDriver(wire.Info(info))
	}
}

// heard passes what a driver produced to the program when its
// announcement asks for that driver's messages (keys "<name>/...").
func (r *run) heard(m wire.Message) {
	r.mu.Lock()
	hears := r.hears
	r.mu.Unlock()
	for k := range m {
		if slices.ContainsFunc(hears, func(name string) bool { return strings.HasPrefix(k, name+"/") }) {
			r.tellDriver(m)
			return
		}
	}
}

// tellDriver writes m to the program as a driver line; when its input is
// full, the line is dropped and counted as a refused request.
func (r *run) tellDriver(m wire.Message) {
	if !r.in.push(encodeLine(driverMsg{Type: "driver", Msg: m})) {
		r.refused(&r.drops.Requests, "driver message dropped: the program is not reading its input")
	}
}

// send passes a reply to its client, or a broadcast to every client.
func (r *run) send(m message) {
	if !r.out.Allow() {
		r.refused(&r.drops.OverRate, "messages over the rate dropped", "rate", outRate)
		return
	}
	msg := make(wire.Message, len(m.Msg))
	for k, v := range m.Msg {
		msg[k] = v
	}
	if n := len(wire.Encode(msg)); int64(n) > r.maxMessage() {
		r.refused(&r.drops.TooBig, "a message over the command API's limit was dropped", "bytes", n, "limit", r.maxMessage())
		return
	}
	if m.Type == "broadcast" {
		r.api.Broadcast(msg)
		return
	}
	r.mu.Lock()
	c, ok := r.byID[m.To]
	if !ok {
		r.drops.ToGone++
	}
	r.mu.Unlock()
	if ok {
		c.reply(msg)
	}
}

func (r *run) maxMessage() int64 {
	if r.p.MaxMessage > 0 {
		return r.p.MaxMessage
	}
	return web.DefaultMaxMessage
}

// announce takes the program's items and state keys, replacing any it
// announced before.
func (r *run) announce(m message) {
	r.mu.Lock()
	old := r.items
	r.items = map[string]cmdapi.Item{}
	r.keys = m.Keys
	r.hears = m.Drivers
	r.mu.Unlock()
	for _, it := range old {
		r.api.Remove(it.Kind, it.Name)
	}
	var names []string
	for _, it := range m.Items {
		if r.own[it.Name] {
			r.log.Warn("program: item refused: the name is tether's own", "item", it.Kind+" "+it.Name)
			continue
		}
		r.mu.Lock()
		r.items[it.Kind+" "+it.Name] = it
		r.mu.Unlock()
		r.api.Handle(it.Kind, it.Name, r.handler(it))
		r.api.Describe(it)
		names = append(names, it.Kind+" "+it.Name)
	}
	r.log.Info("program announced itself", "items", strings.Join(names, ", "), "state_keys", len(m.Keys))
	r.once.Do(func() { close(r.announced) })
	r.api.Broadcast(wire.Message{"help": r.api.Help(r.p.Name, r.stateKeys)})
	r.markDirty()
}

// stateKeys are the state keys the program announced, for GET help.
func (r *run) stateKeys() []cmdapi.Key {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.keys)
}

// handler passes a request for one of the program's items to it, with
// the client it came from.
func (r *run) handler(it cmdapi.Item) cmdapi.Handler {
	return func(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
		if err := checkArgs(it, req); err != nil {
			return err
		}
		args := req.Args
		if args == nil {
			args = []json.RawMessage{}
		}
		line := encodeLine(request{Type: "request", From: r.client(ctx, reply), Kind: req.Kind, Item: req.Item, Args: args})
		if !r.in.push(line) {
			_, waiting := r.in.blocked()
			r.refused(&r.drops.Requests, "request refused: the program is not reading its input", "waiting", waiting)
			return fmt.Errorf("%s %s: the app is not reading its requests (%d waiting): refused", req.Kind, req.Item, waiting)
		}
		return nil
	}
}

// client returns the id of the client a request came from, naming it
// at its first request; when it goes, the program is told.
func (r *run) client(ctx context.Context, reply cmdapi.Reply) string {
	key := cmdapi.ClientID(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[key]; ok {
		return c.id
	}
	r.nextID++
	c := &client{id: fmt.Sprintf("c%d", r.nextID), reply: reply}
	r.clients[key], r.byID[c.id] = c, c
	context.AfterFunc(ctx, func() {
		r.mu.Lock()
		delete(r.clients, key)
		delete(r.byID, c.id)
		r.mu.Unlock()
		r.in.push(encodeLine(gone{Type: "gone", Client: c.id}))
	})
	return c.id
}
