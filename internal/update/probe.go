package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"tether/internal/cmdapi"
	"tether/internal/config"
	"tether/internal/wire"
)

// DefaultProbe is the item a trial asks the app when app.json names none.
const DefaultProbe = "health"

// probeItem is the GET item a trial asks the app, and whether the app
// must answer it: the app's section's "probe" key names it (required);
// without one, GET health is asked when the app answers it.
func (s *Service) probeItem() (string, bool) {
	cfg, _, err := config.Load(s.opts.Root)
	if err != nil {
		return DefaultProbe, false
	}
	p := cfg.App.Process()
	if p == nil {
		return DefaultProbe, false
	}
	var sec struct {
		Probe string `json:"probe"`
	}
	if json.Unmarshal(p.Raw, &sec) != nil || sec.Probe == "" {
		return DefaultProbe, false
	}
	return sec.Probe, true
}

// probeDue reports whether the trial's next probe is due.
func (s *Service) probeDue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.probe.asked == 0 || time.Since(s.probe.at) >= s.opts.ProbeEvery
}

// runProbe asks the app its probe once and notes the answer.
func (s *Service) runProbe(ctx context.Context, j *job) {
	item, required := s.probeItem()
	var api *cmdapi.Server
	if s.opts.Ops != nil {
		for _, a := range s.opts.Ops.APIs() {
			if slices.Contains(a.Items(), wire.Get+" "+item) {
				api = a
				break
			}
		}
	}
	var err error
	switch {
	case api != nil:
		err = ask(ctx, api, item, s.opts.ProbeTimeout)
	case required:
		err = fmt.Errorf("the app does not answer GET %s (app.json's \"probe\")", item)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.probe
	p.asked++
	p.at = time.Now()
	if api == nil && !required && !p.has {
		return // an app without a probe: nothing to hold it to
	}
	p.has, p.ok = true, err == nil
	if err != nil {
		p.err = fmt.Sprintf("GET %s: %v", item, err)
		s.log.Info("update trial: health probe failed", "update", j.name(), "err", p.err)
		return
	}
	p.passed++
}

// ask sends ["GET", item, []] to api as a client of its own and waits for
// the answer: a message holding the key item whose value is "ok" or true.
// Any other value, or an error, is the reason it fails.
func ask(ctx context.Context, api *cmdapi.Server, item string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, _ := json.Marshal([]any{wire.Get, item, []any{}})
	c := &localConn{req: req, key: item, got: make(chan error, 1), closed: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() { api.Serve(ctx, c) })
	defer wg.Wait()
	defer cancel() // before the wait: Serve ends with ctx
	select {
	case err := <-c.got:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer within %s", timeout)
	}
}

// localConn is a command API client inside the device: it sends one
// request and hands back the first answer to it.
type localConn struct {
	req    []byte
	key    string
	got    chan error    // 1-buffered: the answer
	closed chan struct{} // closed by Close: reads end (the server reads without a deadline)
	once   sync.Once
	mu     sync.Mutex
	sent   bool
}

func (c *localConn) Read(ctx context.Context) (bool, []byte, error) {
	c.mu.Lock()
	first := !c.sent
	c.sent = true
	c.mu.Unlock()
	if first {
		return true, c.req, nil
	}
	select {
	case <-ctx.Done():
		return false, nil, ctx.Err()
	case <-c.closed:
		return false, nil, errors.New("closed")
	}
}

func (c *localConn) Write(ctx context.Context, data []byte) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	var err error
	if v, ok := m[c.key]; ok {
		err = healthy(v)
	} else if e, ok := m["error"]; ok {
		var text string
		if json.Unmarshal(e, &text) != nil {
			text = string(e)
		}
		err = errors.New(clipReason(text))
	} else {
		return nil
	}
	select {
	case c.got <- err:
	default:
	}
	return nil
}

func (c *localConn) Close(code int, reason string) error { return c.CloseNow() }

func (c *localConn) CloseNow() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// healthy judges a probe's value: "ok" or true is healthy; anything else
// is the reason it is not.
func healthy(v json.RawMessage) error {
	var b bool
	if json.Unmarshal(v, &b) == nil && b {
		return nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		if s == "ok" {
			return nil
		}
		return fmt.Errorf("unhealthy: %s", clipReason(s))
	}
	return fmt.Errorf("unhealthy: %s", clipReason(string(v)))
}
