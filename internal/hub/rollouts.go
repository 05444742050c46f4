package hub

import (
	"fmt"
	"net/http"
	"strings"

	"tether/internal/deviceid"
	"tether/internal/httpjson"
	"tether/internal/hub/access"
	"tether/internal/hub/broker"
	"tether/internal/hub/rollout"
	"tether/internal/relaylog"
)

// hubDevices is the Hub as the rollouts see it: commands go through the
// broker (to whichever hub of a cluster holds the device), state comes
// from the device's shadow.
type hubDevices struct{ h *Hub }

var _ rollout.Devices = hubDevices{}

func (d hubDevices) Send(id string, msg []byte) error {
	m := broker.Message{Device: id, Data: msg}
	if err := d.h.broker.ToDevice(m); err != nil {
		return err
	}
	d.h.relayed(relaylog.PageToDevice, m)
	return nil
}

func (d hubDevices) Online(id string) bool {
	_, ok := d.h.broker.Lookup(id)
	return ok
}

func (d hubDevices) Shadow(id string) []byte { return d.h.broker.Shadow(id) }

// Known lists every device the hub knows, with its labels: the auth
// file's and those it reports (network.json's device.labels).
func (d hubDevices) Known() []rollout.Device {
	ds := d.h.Devices()
	out := make([]rollout.Device, len(ds))
	for i, di := range ds {
		out[i] = rollout.Device{ID: di.ID, Labels: d.h.labelsOf(di.ID)}
	}
	return out
}

// openRollouts makes the rollout manager when the hub keeps updates
// (Options.UpdateDir).
func (h *Hub) openRollouts() error {
	if h.opts.UpdateDir == "" {
		return nil
	}
	m, err := rollout.New(rollout.Options{Dir: h.opts.UpdateDir, ArtifactDir: h.opts.ArtifactDir, Devices: hubDevices{h}, MaxArtifact: h.opts.MaxArtifact,
		Interval: h.opts.RolloutInterval, Logger: h.opts.Logger})
	if err != nil {
		return err
	}
	h.rollouts = m
	return nil
}

// rolloutRoutes adds the rollout API to the page port's mux.
func (h *Hub) rolloutRoutes(mux *http.ServeMux) {
	if h.rollouts == nil {
		return
	}
	h.rollouts.Routes(mux, h.authed, rollout.Access{Check: h.mayUpdate, Who: h.who, Audit: h.auditUpdate,
		Sees: func(r *http.Request, id string) bool { return h.verbOn(requestPrincipal(r), id) >= access.View }})
	mux.HandleFunc("GET /rollouts", h.authed(h.serveAsset("rollouts.html")))
}

// mayUpdate says whether r may update the devices ids: it needs admin on
// each (access.Admin, as CMD update itself does). Uploading an artifact
// (nil ids) needs admin on some device.
func (h *Hub) mayUpdate(r *http.Request, ids []string) error {
	p := requestPrincipal(r)
	if ids == nil {
		if p == anyone || p.grants.Most() == access.Admin {
			return nil
		}
		return fmt.Errorf("refused: uploading an update needs admin on some device; %s has none", p.name)
	}
	var denied []string
	hidden := 0 // devices it may not even view: not named
	for _, id := range ids {
		switch v := h.verbOn(p, id); {
		case v < access.View:
			hidden++
		case v < access.Admin:
			denied = append(denied, id)
		}
	}
	if hidden > 0 {
		denied = append(denied, fmt.Sprintf("%d devices it may not view", hidden))
	}
	if len(denied) > 0 {
		return fmt.Errorf("refused: updating needs admin on every device; %s lacks it on %s", p.name, strings.Join(denied, ", "))
	}
	return nil
}

// who names r's credential for a rollout and the log.
func (h *Hub) who(r *http.Request) string { return requestPrincipal(r).name }

// auditUpdate records an action of the update API in the hub's log and
// its audit log (--audit-file): one entry per device of a rollout
// started, paused, resumed or aborted, one for an upload.
func (h *Hub) auditUpdate(r *http.Request, devices []string, action, detail string, allowed bool) {
	if allowed {
		h.log.Warn("admin: "+action, "detail", detail, "by", h.who(r), "remote", r.RemoteAddr, "devices", len(devices))
	}
	if len(devices) == 0 {
		h.auditHTTP(r, "", action, allowed, detail)
	}
	for _, id := range devices {
		h.auditHTTP(r, id, action, allowed, detail)
	}
}

// artifactPath reports whether path is a device's artifact download,
// /<id>/artifacts/<sha256>, and splits it.
func artifactPath(path string) (id, sha string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) != 3 || parts[1] != "artifacts" || !deviceid.Valid(parts[0]) {
		return "", "", false
	}
	return parts[0], parts[2], true
}

// serveArtifact answers a device's download of an artifact, with its own
// credentials (token or client certificate) as it calls home with.
func (h *Hub) serveArtifact(w http.ResponseWriter, r *http.Request, id, sha string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpjson.Error(w, http.StatusMethodNotAllowed, "want GET")
		return
	}
	id, viaAlias := h.aliasOf(id)
	if _, err := h.authDevice(r, id, viaAlias); err != nil {
		h.metrics.authFailures.WithLabelValues("device", failureReason(err)).Inc()
		h.warnings.Warn("artifact download refused", "device", id, "remote", r.RemoteAddr, "err", err)
		w.Header().Set("WWW-Authenticate", `Bearer realm="tether hub"`)
		code, msg := refusal(err)
		httpjson.Error(w, code, msg)
		return
	}
	if h.rollouts == nil {
		httpjson.Error(w, http.StatusNotFound, "this hub keeps no updates (start it with --update-dir)")
		return
	}
	if err := h.rollouts.Store().Serve(w, r, sha); err != nil {
		httpjson.Error(w, http.StatusNotFound, "artifact "+sha+": "+err.Error())
		return
	}
	h.log.Debug("artifact served", "device", id, "sha256", sha, "range", r.Header.Get("Range"))
}
