package hub

import (
	"errors"
	"fmt"
	"net/http"

	"tether/internal/httpjson"
	"tether/internal/hub/access"
)

// Errors of Forget.
var (
	errNotKnown     = errors.New("not known to this hub")
	errDeviceOnline = errors.New("online: only an offline device can be forgotten")
)

// Forget drops what the hub remembers of an offline device (its record:
// counts, reason, shadow), so that it leaves the dashboard and /d/<id>/ is
// a 404 until it connects again. It refuses a device online here or on
// another hub.
func (h *Hub) Forget(id string) error {
	if p, online := h.broker.Lookup(id); online {
		return fmt.Errorf("forget device %s: %w (on hub %s)", id, errDeviceOnline, p.Hub)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.devices[id] != nil:
		return fmt.Errorf("forget device %s: %w", id, errDeviceOnline)
	case h.records[id] == nil:
		return fmt.Errorf("forget device %s: %w", id, errNotKnown)
	}
	h.dropRecord(id)
	h.log.Info("device forgotten", "device", id)
	return nil
}

// apiForget is DELETE /api/devices/<id>: 200 when forgotten, 404 for a
// device the hub does not know (or the request may not see), 403 without
// admin on it, 409 for an online one. Browsers may only
// ask from the page port's own origin (or --origin).
func (h *Hub) apiForget(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := ValidID(id); err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := h.checkOrigin(r); err != nil {
		httpjson.Error(w, http.StatusForbidden, err.Error())
		return
	}
	who := requestPrincipal(r)
	switch verb := h.verbOn(who, id); {
	case verb < access.View:
		httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("forget device %s: %v", id, errNotKnown))
		return
	case verb < access.Admin:
		h.metrics.authFailures.WithLabelValues("http", "no_grant").Inc()
		h.auditHTTP(r, id, "forget", false, "needs admin, may only "+verb.String())
		httpjson.Error(w, http.StatusForbidden, fmt.Sprintf("forbidden: forgetting device %s needs admin; %s may only %s it", id, who.name, verb))
		return
	}
	err := h.Forget(id)
	reason := ""
	if err != nil {
		reason = err.Error()
	}
	h.auditHTTP(r, id, "forget", true, reason)
	switch {
	case errors.Is(err, errNotKnown):
		httpjson.Error(w, http.StatusNotFound, err.Error())
	case errors.Is(err, errDeviceOnline):
		httpjson.Error(w, http.StatusConflict, err.Error())
	default:
		httpjson.Write(w, http.StatusOK, map[string]string{"info": "device " + id + " forgotten"})
	}
}
