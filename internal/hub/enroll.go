package hub

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/skip2/go-qrcode"

	"tether/internal/enroll"
	"tether/internal/httpjson"
	"tether/internal/hub/audit"
	"tether/internal/login"
)

// Bounds of enrollment codes' lifetimes.
const (
	DefaultCodeTTL = 15 * time.Minute
	MaxCodeTTL     = 7 * 24 * time.Hour
)

// CodeRequest is the body of POST /api/enroll.
type CodeRequest struct {
	// Device, when set, is the only device id the code enrolls.
	Device string `json:"device,omitempty"`
	// TTL is how long the code lasts ("15m", "2h"); empty means
	// DefaultCodeTTL.
	TTL string `json:"ttl,omitempty"`
}

// CodeInfo is the answer of POST /api/enroll: the code, what it is for,
// and how a device uses it.
type CodeInfo struct {
	Code    string    `json:"code"`
	Device  string    `json:"device,omitempty"`
	Expires time.Time `json:"expires"`
	// Hub is the device endpoint a device enrolls at and calls home to.
	Hub string `json:"hub"`
	// CA is the pin of the hub's CA ("sha256:<hex>").
	CA string `json:"ca"`
	// URI holds all of them (what the QR code holds); Command is the
	// command that enrolls a device with it.
	URI     string `json:"uri"`
	Command string `json:"command"`
	// QR is the URI as a QR code, a PNG as a data: URL.
	QR string `json:"qr"`
}

// apiEnroll is POST /api/enroll: an operator makes a one-time code.
func (h *Hub) apiEnroll(w http.ResponseWriter, r *http.Request) {
	if h.opts.EnrollCA == nil {
		httpjson.Error(w, http.StatusNotFound, "enrollment is off: start the hub with --enroll-ca")
		return
	}
	if err := h.checkOrigin(r); err != nil {
		httpjson.Error(w, http.StatusForbidden, err.Error())
		return
	}
	var req CodeRequest
	if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&req) != nil {
		httpjson.Error(w, http.StatusBadRequest, `want a JSON body {"device": "<id, optional>", "ttl": "15m"} with Content-Type: application/json`)
		return
	}
	ttl, err := codeTTL(req.TTL)
	if err == nil && req.Device != "" {
		err = ValidID(req.Device)
	}
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	who := requestPrincipal(r)
	now := time.Now()
	code, err := h.codes.Make(enroll.Code{Device: req.Device, By: who.name, Expires: now.Add(ttl)}, now)
	if err != nil {
		httpjson.Error(w, http.StatusTooManyRequests, err.Error())
		return
	}
	h.auditHTTP(r, req.Device, "enroll code", true, "expires "+now.Add(ttl).UTC().Format(time.RFC3339))
	h.log.Info("enrollment code made", "by", who.name, "device", req.Device, "expires", now.Add(ttl).Round(time.Second))
	info := CodeInfo{Code: code, Device: req.Device, Expires: now.Add(ttl).UTC(), Hub: h.enrollHub(r),
		CA: enroll.CAPin(h.opts.EnrollCA.Cert)}
	info.URI = enroll.URI(info.Hub, code, info.CA)
	info.Command = "tether device enroll --root ROOT --code '" + info.URI + "'"
	if png, err := qrcode.Encode(info.URI, qrcode.Medium, -6); err == nil {
		info.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	}
	httpjson.Write(w, http.StatusOK, info)
}

// codeTTL reads a code's lifetime.
func codeTTL(s string) (time.Duration, error) {
	if s == "" {
		return DefaultCodeTTL, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > MaxCodeTTL {
		return 0, fmt.Errorf("ttl: want a duration up to %v (\"15m\", \"2h\"), got %q", MaxCodeTTL, s)
	}
	return d, nil
}

// enrollHub is the device endpoint devices enroll at: Options.EnrollURL,
// else wss:// on the page request's host name and the device port.
func (h *Hub) enrollHub(r *http.Request) string {
	if h.opts.EnrollURL != "" {
		return h.opts.EnrollURL
	}
	host := r.Host
	if hn, _, err := net.SplitHostPort(r.Host); err == nil {
		host = hn
	}
	return "wss://" + net.JoinHostPort(host, strconv.Itoa(int(h.devPort.Load())))
}

// enrollHandler serves enrollment on the device port: GET /enroll/ca and
// POST /enroll. It reports false for other requests.
func (h *Hub) enrollHandler(w http.ResponseWriter, r *http.Request) bool {
	if h.opts.EnrollCA == nil {
		return false
	}
	switch {
	case r.URL.Path == enroll.PathCA && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(h.opts.EnrollCA.CertPEM)
	case r.URL.Path == enroll.PathEnroll && r.Method == http.MethodPost:
		h.enrollDevice(w, r)
	default:
		return false
	}
	return true
}

// enrollDevice is POST /enroll: a device's certificate request with its
// code, answered with its certificate and the hub's CA.
func (h *Hub) enrollDevice(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	addr := login.ClientAddr(r.RemoteAddr)
	now := time.Now()
	if !h.throttle.Allow(addr, now) {
		h.enrollRefused(w, r, "", http.StatusTooManyRequests, "throttled", errThrottled)
		return
	}
	var req enroll.Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		h.enrollRefused(w, r, "", http.StatusBadRequest, "bad_request", fmt.Errorf("%w: want JSON {\"code\": ..., \"csr\": ...}", enroll.ErrBadRequest))
		return
	}
	csr, err := enroll.ParseCSR(req.CSR)
	if err != nil {
		h.enrollRefused(w, r, "", http.StatusBadRequest, "bad_request", err)
		return
	}
	id := csr.Subject.CommonName
	code, err := h.codes.Use(req.Code, id, now)
	if err == nil && code.Device == "" && h.idTaken(id) {
		err = fmt.Errorf("%w: %s is already enrolled or in the auth file: make a code for that device", enroll.ErrRefused, id)
	}
	if err != nil {
		h.throttle.Fail(addr, now)
		h.enrollRefused(w, r, id, http.StatusForbidden, codeReason(err), err)
		return
	}
	cert, certPEM, err := enroll.Issue(h.opts.EnrollCA, csr, now)
	if err == nil {
		err = h.enrolled.add(id, cert, code.By)
	}
	if err != nil {
		h.log.Error("enrollment failed", "device", id, "err", err)
		httpjson.Error(w, http.StatusInternalServerError, "enrollment failed on the hub: see its log")
		return
	}
	h.metrics.enrollments.WithLabelValues("ok").Inc()
	h.opts.Audit.Record(audit.Entry{Who: "device " + id, Remote: r.RemoteAddr, Device: id, Action: "enroll", Allowed: true,
		Reason: "code made by " + code.By})
	h.log.Info("device enrolled", "device", id, "remote", r.RemoteAddr, "code_by", code.By, "expires", cert.NotAfter.UTC())
	httpjson.Write(w, http.StatusOK, enroll.Response{Device: id, Cert: string(certPEM), CA: string(h.opts.EnrollCA.CertPEM)})
}

// idTaken reports whether a device id is already enrolled or in the auth
// file: a code made for any device may not take it.
func (h *Hub) idTaken(id string) bool {
	if h.enrolled.known(id) {
		return true
	}
	if c := h.auth(); c != nil {
		_, ok := c.file.Devices[id]
		return ok
	}
	return false
}

// enrollRefused answers, counts, logs and audits a refused enrollment.
func (h *Hub) enrollRefused(w http.ResponseWriter, r *http.Request, id string, code int, reason string, err error) {
	h.metrics.enrollments.WithLabelValues(reason).Inc()
	h.warnings.Warn("enrollment refused", "device", id, "remote", r.RemoteAddr, "err", err)
	h.opts.Audit.Record(audit.Entry{Who: "device " + id, Remote: r.RemoteAddr, Device: id, Action: "enroll", Reason: err.Error()})
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(throttleEvery.Seconds())))
	}
	httpjson.Error(w, code, err.Error())
}

// codeReason is a refused code's label in tether_hub_enrollments_total.
func codeReason(err error) string {
	switch {
	case errors.Is(err, enroll.ErrUnknownCode):
		return "unknown_code"
	case errors.Is(err, enroll.ErrUsedCode):
		return "used_code"
	case errors.Is(err, enroll.ErrExpiredCode):
		return "expired_code"
	}
	return "refused"
}
