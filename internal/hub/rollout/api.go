package rollout

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"tether/internal/artifact"
	"tether/internal/httpjson"
)

// Access is how the hub decides who may use the API, and records what
// they did. Every field may be nil: then anyone the route wrapper lets
// through may do anything, as "anyone", unrecorded.
type Access struct {
	// Check returns nil when r may administer every device of ids (nil
	// ids: upload an artifact), else why not (answered with 403).
	Check func(r *http.Request, ids []string) error
	// Who names r's credential, for a rollout's "by" and the audit log.
	Who func(r *http.Request) string
	// Sees reports whether r may view the device id: a rollout is shown
	// with the devices r may view only, and not at all without one.
	Sees func(r *http.Request, id string) bool
	// Audit records an action on the API ("rollout start") on devices
	// (nil: none in particular), allowed or refused, with what it was.
	Audit func(r *http.Request, devices []string, action, detail string, allowed bool)
}

// View is a rollout as the API shows it: the rollout, its devices counted
// by state, its waves and the wave open now.
type View struct {
	*Rollout
	Counts Counts `json:"counts"`
	Waves  int    `json:"waves"`
}

func view(r *Rollout) View { return View{Rollout: r, Counts: r.counts(), Waves: r.Waves()} }

// Routes adds the API to mux, each handler wrapped by wrap (the hub's
// page credential check):
//
//	POST /api/artifacts                  upload an artifact (the body)
//	GET  /api/artifacts                  the stored artifacts
//	POST /api/rollouts                   start a rollout (a Spec)
//	GET  /api/rollouts                   every rollout, newest first
//	GET  /api/rollouts/{id}              one rollout
//	POST /api/rollouts/{id}/{action}     pause, resume, abort
func (m *Manager) Routes(mux *http.ServeMux, wrap func(http.HandlerFunc) http.HandlerFunc, acc Access) {
	a := api{m: m, acc: acc}
	mux.HandleFunc("POST /api/artifacts", wrap(a.upload))
	mux.HandleFunc("GET /api/artifacts", wrap(a.artifacts))
	mux.HandleFunc("POST /api/rollouts", wrap(a.start))
	mux.HandleFunc("GET /api/rollouts", wrap(a.list))
	mux.HandleFunc("GET /api/rollouts/{id}", wrap(a.get))
	mux.HandleFunc("POST /api/rollouts/{id}/{action}", wrap(a.act))
}

// uploadTime bounds an upload.
const uploadTime = 30 * time.Minute

// UploadPath is the upload's path, which the hub lets past its small
// bound on request bodies.
const UploadPath = "/api/artifacts"

type api struct {
	m   *Manager
	acc Access
}

func (a api) who(r *http.Request) string {
	if a.acc.Who == nil {
		return "anyone"
	}
	return a.acc.Who(r)
}

func (a api) audit(r *http.Request, devices []string, action, detail string, allowed bool) {
	if a.acc.Audit != nil {
		a.acc.Audit(r, devices, action, detail, allowed)
	}
}

// check answers 403 (audited as refused) when r may not do action to ids.
func (a api) check(w http.ResponseWriter, r *http.Request, ids []string, action string) bool {
	if a.acc.Check == nil {
		return true
	}
	if err := a.acc.Check(r, ids); err != nil {
		a.audit(r, ids, action, err.Error(), false)
		httpjson.Error(w, http.StatusForbidden, err.Error())
		return false
	}
	return true
}

func (a api) upload(w http.ResponseWriter, r *http.Request) {
	if !a.check(w, r, nil, "artifact upload") {
		return
	}
	// An artifact may take longer than the hub's read timeout to come.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadTime))
	r.Body = http.MaxBytesReader(w, r.Body, a.m.opts.MaxArtifact+1)
	art, err := a.m.store.Put(r.Body, a.m.opts.MaxArtifact)
	if err != nil {
		code := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || strings.Contains(err.Error(), "--max-artifact") {
			code = http.StatusRequestEntityTooLarge
		} else if !errors.Is(err, artifact.ErrCorrupt) {
			code = http.StatusInternalServerError
		}
		httpjson.Error(w, code, "upload artifact: "+err.Error())
		return
	}
	a.audit(r, nil, "artifact upload", fmt.Sprintf("%s sha256 %s (%d bytes)", art.Manifest, art.SHA256, art.Size), true)
	a.m.log.Info("artifact stored", "artifact", art.Manifest.String(), "sha256", art.SHA256, "size", art.Size, "by", a.who(r))
	httpjson.Write(w, http.StatusCreated, art)
}

func (a api) artifacts(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, a.m.store.List())
}

func (a api) start(w http.ResponseWriter, r *http.Request) {
	var spec Spec
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		httpjson.Error(w, http.StatusBadRequest, `start rollout: want {"artifact": "<sha256>", "devices": [...] or "select": [labels], "canary": n, "wave": n, "max_failures": n}: `+err.Error())
		return
	}
	if spec.Canary < 0 || spec.Wave < 0 || spec.MaxFailures < 0 {
		httpjson.Error(w, http.StatusBadRequest, "start rollout: canary, wave and max_failures: want 0 (the default) or more")
		return
	}
	ids, _, err := a.m.choose(spec)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !a.check(w, r, ids, "rollout start") {
		return
	}
	spec.By = a.who(r)
	ro, err := a.m.Start(spec)
	if err != nil {
		writeErr(w, err)
		return
	}
	a.audit(r, ro.Devices, "rollout start", fmt.Sprintf("%s: %s sha256 %s (%s)", ro.ID, ro.Artifact.Manifest, ro.Artifact.SHA256, ro.Selected), true)
	httpjson.Write(w, http.StatusCreated, view(ro))
}

func (a api) list(w http.ResponseWriter, r *http.Request) {
	out := []View{}
	for _, ro := range a.m.List() {
		if ro = a.visible(r, ro); ro != nil {
			out = append(out, view(ro))
		}
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (a api) get(w http.ResponseWriter, r *http.Request) {
	ro, err := a.m.Get(r.PathValue("id"))
	if err == nil {
		if ro = a.visible(r, ro); ro == nil {
			err = fmt.Errorf("%w: rollout %q", ErrNotFound, r.PathValue("id"))
		}
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, view(ro))
}

// visible is ro (a copy) with only the devices r may view, nil when it
// may view none: a credential learns nothing of other devices, not even
// their ids.
func (a api) visible(r *http.Request, ro *Rollout) *Rollout {
	if a.acc.Sees == nil {
		return ro
	}
	ids := ro.Devices[:0:0]
	for _, id := range ro.Devices {
		if a.acc.Sees(r, id) {
			ids = append(ids, id)
		} else {
			delete(ro.Results, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if len(ids) < len(ro.Devices) { // the details of a pause name devices
		ro.Reason, _, _ = strings.Cut(ro.Reason, ": ")
	}
	ro.Devices = ids
	return ro
}

func (a api) act(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	ro, err := a.m.Get(id)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !a.check(w, r, ro.Devices, "rollout "+action) {
		return
	}
	ro, err = a.m.Act(id, action, a.who(r))
	if err != nil {
		writeErr(w, err)
		return
	}
	a.audit(r, ro.Devices, "rollout "+action, ro.ID, true) // each device's line, as its start has
	httpjson.Write(w, http.StatusOK, view(ro))
}

func writeErr(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, ErrConflict):
		code = http.StatusConflict
	case errors.Is(err, ErrBad):
		code = http.StatusBadRequest
	}
	httpjson.Error(w, code, err.Error())
}
