package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"tether/internal/cmdapi"
	"tether/internal/config"
	"tether/internal/netif"
	"tether/internal/wire"
)

// Session is one app run's share of the operator items. A nil *Session
// (an app run outside a device) does nothing.
type Session struct {
	s       *Service
	restart func()
	net     *netif.Manager
	subs    *subscriptions
	kick    chan struct{} // 1-buffered: the call-home link came up
}

// Revision counts the writes of the config files by the operator items.
// A device reads it before it loads the config for a run, and hands it to
// Session.
func (s *Service) Revision() int64 { return s.rev.Load() }

// Session returns the operator items for one app run: restart is the
// run's apps.Env.Restart (nil: nothing to restart), net its network, rev
// the Revision read before the run's config was loaded. When the files
// were written since (a revert racing with the boot), the run is
// restarted at once, so it never runs on files that are gone.
func (s *Service) Session(restart func(), net *netif.Manager, rev int64) *Session {
	s.mu.Lock()
	s.restart = restart
	s.mu.Unlock()
	if rev != s.rev.Load() && restart != nil {
		s.log.Info("the config files changed while the device booted: booting again")
		restart()
	}
	return &Session{s: s, restart: restart, net: net, kick: make(chan struct{}, 1),
		subs: newSubscriptions(s.opts.Log, s.log, func(n int) { s.dropped.Add(int64(n)) })}
}

// Register adds the operator items to api, each described for GET help.
// Call it before api serves.
func (ss *Session) Register(api *cmdapi.Server) {
	if ss == nil {
		return
	}
	for _, it := range []struct {
		h cmdapi.Handler
		cmdapi.Item
	}{
		{ss.cmdRestart, cmdapi.Item{Kind: wire.Cmd, Name: "restart", Doc: "boots the device again: reads both config files and starts the app they name"}},
		{ss.getSys, cmdapi.Item{Kind: wire.Get, Name: "sys", Doc: "system information: uptime, load, memory, disk, temperature, app restarts (sys/...)"}},
		{ss.getConfig, cmdapi.Item{Kind: wire.Get, Name: "config", Doc: "both config files as text, secrets masked (config/file/network.json, config/file/app.json)"}},
		{ss.cmdApply, cmdapi.Item{Kind: wire.Cmd, Name: "apply_config",
			Doc: "checks, saves and applies config files, reverted by itself unless confirm_config keeps it within the window",
			Args: []cmdapi.Arg{{Name: "file", Type: "string", Doc: "network.json or app.json"}, {Name: "text", Type: "string", Doc: "the file's new text"},
				{Name: "more", Type: "json", Optional: true, Doc: "the other file and its text, then the confirm window in seconds (5-3600)"}}}},
		{ss.cmdConfirm, cmdapi.Item{Kind: wire.Cmd, Name: "confirm_config", Doc: "keeps an applied config change for good"}},
		{ss.cmdRevert, cmdapi.Item{Kind: wire.Cmd, Name: "revert_config", Doc: "rolls an applied config change back now"}},
		{ss.getLog, cmdapi.Item{Kind: wire.Get, Name: "log", Doc: "the last lines of the device's log (log/recent), from before the last restart too",
			Args: []cmdapi.Arg{{Name: "n", Type: "integer", Optional: true, Doc: "how many lines, 1-300 (300 when left out)"}}}},
		{ss.cmdSubscribe, cmdapi.Item{Kind: wire.Cmd, Name: "log_subscribe", Doc: "follows the device's log live (log/lines)",
			Args: []cmdapi.Arg{{Name: "level", Type: "string", Optional: true, Doc: "info (when left out), warn or error and above"}}}},
		{ss.cmdUnsubscribe, cmdapi.Item{Kind: wire.Cmd, Name: "log_unsubscribe", Doc: "stops following the log"}},
		{ss.getScan, cmdapi.Item{Kind: wire.Get, Name: "wifi_scan", Doc: "the WiFi networks in range with their signal, strongest first (wifi/scan)"}},
		{ss.cmdEnroll, enrollItem},
	} {
		api.Handle(it.Kind, it.Name, it.h)
		api.Describe(it.Item)
	}
	for _, e := range ss.s.extensions() {
		e.Register(api)
	}
}

// Run sends system information to api's clients at once, every
// SysInterval and soon after the call-home link comes up (so the hub has
// it), until ctx ends. While it runs, the outcome of a config change
// reaches api's clients too. It ends the run's log subscriptions before it
// returns.
func (ss *Session) Run(ctx context.Context, api *cmdapi.Server) {
	if ss == nil {
		return
	}
	s := ss.s
	s.mu.Lock()
	s.apis[api] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.apis, api)
		s.mu.Unlock()
		ss.subs.wait()
	}()
	t := time.NewTicker(s.opts.SysInterval)
	defer t.Stop()
	for {
		api.Broadcast(ss.sys(ctx))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-ss.kick:
			// The link's first messages are the state the server sends on
			// connect; the hub's client joins api just after the report.
			wait := time.NewTimer(homeSettle)
			select {
			case <-ctx.Done():
			case <-wait.C:
			}
			wait.Stop()
		}
	}
}

// AddState adds the pending change's keys to an app's state object.
func (ss *Session) AddState(m wire.Message) {
	if ss == nil {
		return
	}
	ss.s.addState(m)
	for _, e := range ss.s.extensions() {
		e.AddState(m)
	}
}

// HomeReport is callhome.Options.Report for the run's call-home link.
func (ss *Session) HomeReport(err error) {
	if ss == nil {
		return
	}
	ss.s.reportHome(err)
	if err == nil {
		select {
		case ss.kick <- struct{}{}:
		default:
		}
	}
}

// homeSettle is how long after the call-home link comes up system
// information is sent on it.
const homeSettle = 300 * time.Millisecond

// cmdRestart is CMD restart: the device boots again.
func (ss *Session) cmdRestart(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs(); err != nil {
		return err
	}
	if ss.restart == nil {
		return errors.New("CMD restart: this app runs outside a device, nothing to restart")
	}
	ss.s.log.Info("restart asked: booting again")
	reply(wire.Info("restarting: the device boots again"))
	cmdapi.AfterReply(ctx, ss.restart)
	return nil
}

// getConfig is GET config: both files, secrets masked.
func (ss *Session) getConfig(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs(); err != nil {
		return err
	}
	if ss.s.opts.Root == "" {
		return fmt.Errorf("GET config: %w", errNoRoot)
	}
	texts, err := ss.s.configTexts()
	if err != nil {
		return fmt.Errorf("GET config: %w", err)
	}
	m := wire.Message{}
	for _, name := range files {
		m["config/file/"+name] = string(config.MaskSecrets([]byte(texts[name])))
	}
	reply(m)
	return nil
}

// cmdApply is CMD apply_config [file, text, (file, text,) (seconds)].
func (ss *Session) cmdApply(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	c, err := ss.decodeChange(req)
	if err != nil {
		return err
	}
	info, err := ss.s.apply(c)
	if err != nil {
		return fmt.Errorf("apply_config: %w", err)
	}
	reply(wire.Info(info))
	if ss.restart != nil {
		cmdapi.AfterReply(ctx, ss.restart) // the pending state reaches the pages first
	}
	return nil
}

// decodeChange reads apply_config's arguments: one or two pairs of file
// name and text, then optionally the window in seconds.
func (ss *Session) decodeChange(req wire.Request) (*change, error) {
	args := req.Args
	c := &change{texts: map[string]string{}, window: ss.s.opts.Window}
	if n := len(args); n%2 == 1 && n > 1 {
		var secs float64
		if err := json.Unmarshal(args[n-1], &secs); err != nil || secs < minWindow.Seconds() || secs > maxWindow.Seconds() {
			return nil, fmt.Errorf("CMD apply_config: argument %d (seconds): want a confirm window of %v to %v in seconds, got %s",
				n, minWindow.Seconds(), maxWindow.Seconds(), args[n-1])
		}
		c.window, args = time.Duration(secs*float64(time.Second)), args[:n-1]
	}
	if len(args) != 2 && len(args) != 4 {
		return nil, fmt.Errorf("CMD apply_config: want arguments [file, text] or [file, text, file, text], each optionally followed by the seconds to confirm in, got %d", len(req.Args))
	}
	for i := 0; i < len(args); i += 2 {
		name, err := req.StringArg(i, "file")
		if err != nil {
			return nil, err
		}
		text, err := req.StringArg(i+1, "text")
		if err != nil {
			return nil, err
		}
		if name != config.NetworkFile && name != config.AppFile {
			return nil, fmt.Errorf("CMD apply_config: argument %d (file): want %s or %s, got %q", i+1, config.NetworkFile, config.AppFile, name)
		}
		if _, dup := c.texts[name]; dup {
			return nil, fmt.Errorf("CMD apply_config: %s given twice", name)
		}
		c.texts[name], c.order = text, append(c.order, name)
	}
	return c, nil
}

// cmdConfirm is CMD confirm_config: keep the pending change.
func (ss *Session) cmdConfirm(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs(); err != nil {
		return err
	}
	ss.s.mu.Lock()
	p := ss.s.rec.Pending
	ss.s.mu.Unlock()
	if p == nil {
		return errors.New("confirm_config: no config change is in its confirm window")
	}
	ss.s.finish("confirmed", fmt.Sprintf("confirmed %s at %s", joinAnd(p.Files), time.Now().Format(time.TimeOnly)))
	return nil
}

// cmdRevert is CMD revert_config: put the previous files back now.
func (ss *Session) cmdRevert(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs(); err != nil {
		return err
	}
	if err := ss.s.revert("asked by the operator"); err != nil {
		return fmt.Errorf("revert_config: %w", err)
	}
	return nil
}
