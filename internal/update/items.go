package update

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"tether/internal/artifact"
	"tether/internal/cmdapi"
	"tether/internal/wire"
)

// errNoRoot is the items' answer on a device without a root.
var errNoRoot = errors.New("no device root (the device was started without --root): it has nowhere to keep updates")

// maxArtifact bounds the size CMD update may announce: the largest
// payload and room for the manifest and the tar's headers.
const maxArtifact = artifact.MaxPayload + 1<<20

// Register adds the update items to api (ops.Extension).
func (s *Service) Register(api *cmdapi.Server) {
	api.Handle(wire.Cmd, "update", s.cmdUpdate)
	api.Describe(cmdapi.Item{Kind: wire.Cmd, Name: "update", Doc: "download, verify, stage and try an update from the hub; committed only if the device works with it (docs/UPDATES.md)",
		Args: []cmdapi.Arg{{Name: "sha256", Type: "string", Doc: "the artifact's SHA-256: its name on the hub"},
			{Name: "size", Type: "integer", Doc: "the artifact's size in bytes"},
			{Name: "rollout", Type: "string", Optional: true, Doc: "the hub's rollout it belongs to"}}})
	api.Handle(wire.Cmd, "update_rollback", s.cmdRollback)
	api.Describe(cmdapi.Item{Kind: wire.Cmd, Name: "update_rollback", Args: []cmdapi.Arg{}, Doc: "end the update on trial now: the previous version back"})
	api.Handle(wire.Get, "update", s.getUpdate)
	api.Describe(cmdapi.Item{Kind: wire.Get, Name: "update", Args: []cmdapi.Arg{}, Doc: "the update/ keys: the update in progress or the last one"})
}

// cmdUpdate is CMD update [sha256, size, (rollout)].
func (s *Service) cmdUpdate(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if s.opts.Root == "" {
		return fmt.Errorf("CMD update: %w", errNoRoot)
	}
	j, err := decodeUpdate(req)
	if err != nil {
		return err
	}
	info, err := s.start(j)
	if err != nil {
		return fmt.Errorf("CMD update: %w", err)
	}
	reply(wire.Info(info))
	return nil
}

// decodeUpdate reads CMD update's arguments.
func decodeUpdate(req wire.Request) (*job, error) {
	if n := len(req.Args); n < 2 || n > 3 {
		return nil, fmt.Errorf("CMD update: want arguments [sha256, size] or [sha256, size, rollout], got %d", n)
	}
	sha, err := req.StringArg(0, "sha256")
	if err != nil {
		return nil, err
	}
	if b, err := hex.DecodeString(sha); err != nil || len(b) != 32 || hex.EncodeToString(b) != sha {
		return nil, fmt.Errorf("CMD update: argument 1 (sha256): want 64 lowercase hex digits, got %q", clip(sha))
	}
	var size float64
	if err := jsonArg(req, 1, &size); err != nil || size < 1 || size > maxArtifact || size != math.Trunc(size) {
		return nil, fmt.Errorf("CMD update: argument 2 (size): want the artifact's size, 1 to %d bytes, got %s", int64(maxArtifact), req.Args[1])
	}
	j := &job{Phase: Downloading, SHA256: sha, Size: int64(size)}
	if len(req.Args) == 3 {
		if j.Rollout, err = req.StringArg(2, "rollout"); err != nil {
			return nil, err
		}
		if len(j.Rollout) > 64 {
			return nil, fmt.Errorf("CMD update: argument 3 (rollout): want at most 64 bytes, got %d", len(j.Rollout))
		}
	}
	return j, nil
}

// start records j as the job in progress, unless one is, and returns what
// to tell the client. Sent again (the hub repeats itself after a
// reconnection), an update in progress or committed is not started again,
// nor one rolled back in the same rollout.
func (s *Service) start(j *job) (string, error) {
	onHub := s.home().Up // then it must be back on it after the switch
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.rec.Job; cur != nil {
		if cur.SHA256 == j.SHA256 {
			return fmt.Sprintf("update %s: already %s", cur.name(), phaseName(cur.Phase)), nil
		}
		return "", fmt.Errorf("an update is in progress (%s, %s): wait for it to end", cur.name(), phaseName(cur.Phase))
	}
	if l := s.rec.Last; l != nil && l.SHA256 == j.SHA256 {
		switch {
		case l.State == Committed:
			return fmt.Sprintf("update %s %s: already committed", l.Name, l.Version), nil
		case l.State == RolledBack && l.Rollout == j.Rollout:
			return "", fmt.Errorf("update %s %s was rolled back at %s (%s): not tried again in the same rollout",
				l.Name, l.Version, l.At.Format(time.DateTime), l.Reason)
		}
	}
	j.HomeBefore = onHub
	s.rec.Job = j
	if err := s.saveLocked(); err != nil {
		s.rec.Job = nil
		return "", err
	}
	s.log.Info("update asked: downloading", "sha256", j.SHA256, "size", j.Size, "rollout", j.Rollout)
	s.poke()
	return fmt.Sprintf("update %s: downloading %d bytes from the hub", short(j.SHA256), j.Size), nil
}

// cmdRollback is CMD update_rollback: end the trial now.
func (s *Service) cmdRollback(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs(); err != nil {
		return err
	}
	j := s.current()
	if j == nil || j.Phase != Trial {
		return errors.New("update_rollback: no update is on trial")
	}
	s.rollback(j, "asked by the operator")
	reply(wire.Info("update " + j.name() + ": rolling back"))
	return nil
}

// getUpdate is GET update: the update/ keys.
func (s *Service) getUpdate(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs(); err != nil {
		return err
	}
	m := wire.Message{}
	s.AddState(m)
	reply(m)
	return nil
}

// AddState adds the update/ keys to an app's state object
// (ops.Extension): the update in progress, else the last one.
func (s *Service) AddState(m wire.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range []string{"state", "name", "kind", "version", "reason", "rollout", "sha256"} {
		m["update/"+k] = ""
	}
	m["update/left"] = 0
	if j := s.rec.Job; j != nil {
		m["update/state"], m["update/sha256"], m["update/rollout"] = phaseName(j.Phase), j.SHA256, j.Rollout
		if mf := j.Manifest; mf != nil {
			m["update/name"], m["update/kind"], m["update/version"] = mf.Name, mf.Kind, mf.Version
		}
		switch {
		case j.Phase == Trial && j.Deadline.IsZero(): // the window starts when the new version is up
			m["update/left"] = int(math.Ceil(j.Window))
		case j.Phase == Trial:
			m["update/left"] = int(math.Ceil(max(time.Until(j.Deadline).Seconds(), 0)))
		}
		return
	}
	if l := s.rec.Last; l != nil {
		m["update/state"], m["update/name"], m["update/kind"], m["update/version"] = l.State, l.Name, l.Kind, l.Version
		m["update/reason"], m["update/rollout"], m["update/sha256"] = l.Reason, l.Rollout, l.SHA256
	}
}

// phaseName is a job's phase as update/state says it.
func phaseName(phase string) string {
	if phase == rollingBack {
		return Trial
	}
	return phase
}

// announce tells every client of the update's news, with the state.
func (s *Service) announce(info string) {
	if s.opts.Ops != nil {
		s.opts.Ops.Announce(wire.Info(info))
	}
}

// clip cuts text from outside to 64 bytes for an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// jsonArg decodes argument i of req into v.
func jsonArg(req wire.Request, i int, v any) error { return json.Unmarshal(req.Args[i], v) }
