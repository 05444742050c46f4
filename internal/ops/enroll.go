package ops

import (
	"context"
	"fmt"
	"time"

	"tether/internal/cmdapi"
	"tether/internal/config"
	"tether/internal/enroll"
	"tether/internal/wire"
)

// enrollTimeout bounds CMD enroll's exchange with the hub, which holds the
// requesting client's other requests meanwhile.
const enrollTimeout = 20 * time.Second

// enrollItem describes CMD enroll for GET help.
var enrollItem = cmdapi.Item{Kind: wire.Cmd, Name: "enroll",
	Doc: "enrolls the device with a hub by a one-time code, as tether device enroll does, and applies the home that calls it with the certificate (a config change: confirm_config keeps it)",
	Args: []cmdapi.Arg{{Name: "code", Type: "string", Doc: "the code, or the whole enrollment URI tether://enroll?..."},
		{Name: "hub", Type: "string", Optional: true, Doc: "the hub's device endpoint wss://HOST:PORT (in the URI already)"},
		{Name: "ca_pin", Type: "string", Optional: true, Doc: "sha256:<hex> of the hub's CA (in the URI already)"}}}

// cmdEnroll is CMD enroll [code, (hub), (ca_pin)].
func (ss *Session) cmdEnroll(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	t, err := decodeEnroll(req)
	if err != nil {
		return err
	}
	info, err := ss.s.enroll(ctx, t)
	if err != nil {
		return err
	}
	reply(wire.Info(info))
	if ss.restart != nil {
		cmdapi.AfterReply(ctx, ss.restart)
	}
	return nil
}

// decodeEnroll reads CMD enroll's arguments.
func decodeEnroll(req wire.Request) (enroll.Ticket, error) {
	if n := len(req.Args); n < 1 || n > 3 {
		return enroll.Ticket{}, fmt.Errorf("CMD enroll: want arguments [code] (the enrollment URI) or [code, hub, (ca_pin)], got %d", n)
	}
	var s [3]string
	for i, name := range []string{"code", "hub", "ca_pin"}[:len(req.Args)] {
		v, err := req.StringArg(i, name)
		if err != nil {
			return enroll.Ticket{}, err
		}
		s[i] = v
	}
	t, err := enroll.NewTicket(s[1], s[0], s[2])
	if err != nil {
		return enroll.Ticket{}, fmt.Errorf("CMD enroll: %w", err)
	}
	return t, nil
}

// enroll enrolls the device with t's hub and applies the home that calls
// it with the certificate as a change of app.json, in its confirm window:
// the caller restarts the device. The code is sent only once the root is
// known to be fit to take the result, so it is not spent for nothing.
func (s *Service) enroll(ctx context.Context, t enroll.Ticket) (string, error) {
	if s.opts.Root == "" {
		return "", fmt.Errorf("enroll: %w", errNoRoot)
	}
	if err := s.noPending(); err != nil {
		return "", fmt.Errorf("enroll: %w", err)
	}
	cfg, _, err := config.Load(s.opts.Root)
	if err != nil {
		return "", fmt.Errorf("enroll: the device's config: %w", err)
	}
	id := cfg.Network.Device.IAm
	ctx, cancel := context.WithTimeout(ctx, enrollTimeout)
	defer cancel()
	res, err := enroll.Enroll(ctx, enroll.Options{Ticket: t, ID: id, Timeout: enrollTimeout})
	if err != nil {
		return "", err // "enroll: ..."
	}
	section, text, err := enroll.AppJSON(s.opts.Root, res)
	if err == nil {
		err = enroll.WriteCerts(s.opts.Root, res)
	}
	var info string
	if err == nil {
		info, err = s.apply(&change{texts: map[string]string{config.AppFile: string(text)}, order: []string{config.AppFile}, window: s.opts.Window})
	}
	if err != nil {
		return "", fmt.Errorf("enroll: the hub signed a certificate for %s, but the device could not take it: %w", id, err)
	}
	until := res.Pair.Cert.NotAfter.UTC().Format(time.DateOnly)
	s.log.Warn("enrolled with a hub: calling home with the certificate it signed", "device", id, "hub", t.Hub, "until", until)
	return fmt.Sprintf("enrolled %s with %s: its certificate lasts until %s; %s.home now calls wss://%s:%d/%s with it; %s",
		id, t.Hub, until, section, res.Host, res.Port, id, info), nil
}

// noPending is pendingErrLocked for a caller without s.mu.
func (s *Service) noPending() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingErrLocked()
}
