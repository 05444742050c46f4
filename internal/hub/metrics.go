package hub

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tether/internal/hub/audit"
	"tether/internal/relaylog"
)

// metrics are the hub's Prometheus series, in a registry of its own.
type metrics struct {
	reg             *prometheus.Registry
	connections     *prometheus.GaugeVec
	messages        *prometheus.CounterVec
	bytes           *prometheus.CounterVec
	drops           *prometheus.CounterVec
	slowCloses      *prometheus.CounterVec
	authFailures    *prometheus.CounterVec
	refused         *prometheus.CounterVec
	revoked         *prometheus.CounterVec
	authReloads     *prometheus.CounterVec
	enrollments     *prometheus.CounterVec
	addrLimited     *prometheus.CounterVec
	badRequests     *prometheus.CounterVec
	keepaliveCloses prometheus.Counter
	panics          *prometheus.CounterVec
	shadowDropped   prometheus.Counter

	// resolved series of the hot path
	msgsToPages, msgsToDevice   prometheus.Counter
	bytesToPages, bytesToDevice prometheus.Counter
}

// newMetrics makes the hub's series; rl and al, when not nil, are the
// message log and the audit log whose lost lines are counted.
func newMetrics(rl *relaylog.Log, al *audit.Log) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tether_hub_connections", Help: "Open WebSocket connections, by role (device, page).",
		}, []string{"role"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_hub_messages_relayed_total", Help: "Messages relayed, by direction (device>pages counts each device message once).",
		}, []string{"direction"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_hub_bytes_relayed_total", Help: "Payload bytes relayed, by direction.",
		}, []string{"direction"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_hub_dropped_messages_total", Help: "Messages not delivered, by reason.",
		}, []string{"reason"}),
		slowCloses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_hub_slow_consumer_closes_total", Help: "Connections closed for not keeping up (queue full or write timeout), by role.",
		}, []string{"role"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_hub_auth_failures_total", Help: "Refused connections and logins, by endpoint and reason.",
		}, []string{"endpoint", "reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_hub_refused_messages_total", Help: "Page messages not relayed because the page's grants do not allow them, by the verb they need (drive, admin).",
		}, []string{"needs"}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_hub_revoked_connections_total", Help: "Connections closed (4001) because the auth file no longer holds their credential or lets them see their device, by role.",
		}, []string{"role"}),
		authReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_hub_auth_reloads_total", Help: "Reloads of the auth file, by result (ok, error: the file in force was kept).",
		}, []string{"result"}),
		enrollments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_hub_enrollments_total", Help: "Enrollment requests, by result (ok, unknown_code, used_code, expired_code, refused, bad_request, throttled).",
		}, []string{"result"}),
		addrLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_hub_address_limit_refusals_total", Help: "Upgrades refused (429) because their address held the most connections it may on that port, by endpoint (device, page).",
		}, []string{"endpoint"}),
		badRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_hub_bad_requests_total", Help: "Requests refused with 400 (bad device id, not a WebSocket upgrade), by endpoint.",
		}, []string{"endpoint"}),
		keepaliveCloses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tether_hub_keepalive_timeouts_total", Help: "Connections closed because nothing was heard from them for three ping intervals.",
		}),
		shadowDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tether_hub_shadow_keys_dropped_total", Help: "State keys a device sent that its shadow could not keep (past --shadow-keys or --shadow-bytes).",
		}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tether_hub_panics_total", Help: "Panics recovered in the code serving one connection (that connection was closed with 1011), by where: read, write, message, close.",
		}, []string{"where"}),
	}
	lost := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "tether_hub_message_log_lost_lines_total", Help: "Relayed messages the message log could not write (a full disk); it writes again once the disk takes writes.",
	}, func() float64 {
		if rl == nil {
			return 0
		}
		return float64(rl.Lost())
	})
	auditLost := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "tether_hub_audit_log_lost_lines_total", Help: "Audit entries --audit-file could not write (a full disk); it writes again once the disk takes writes.",
	}, func() float64 { return float64(al.Lost()) })
	m.reg.MustRegister(lost, auditLost, m.connections, m.messages, m.bytes, m.drops, m.slowCloses, m.authFailures, m.refused, m.revoked, m.authReloads, m.enrollments, m.addrLimited,
		m.badRequests, m.keepaliveCloses, m.panics, m.shadowDropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, w := range []string{"read", "write", "message", "close"} {
		m.panics.WithLabelValues(w)
	}
	for _, v := range []string{"drive", "admin"} {
		m.refused.WithLabelValues(v)
	}
	for _, r := range []string{"ok", "error"} {
		m.authReloads.WithLabelValues(r)
	}
	for _, r := range []string{"device", "page"} {
		m.revoked.WithLabelValues(r)
		m.addrLimited.WithLabelValues(r)
		m.connections.WithLabelValues(r)
		m.slowCloses.WithLabelValues(r)
	}
	m.msgsToPages = m.messages.WithLabelValues(string(relaylog.DeviceToPages))
	m.msgsToDevice = m.messages.WithLabelValues(string(relaylog.PageToDevice))
	m.bytesToPages = m.bytes.WithLabelValues(string(relaylog.DeviceToPages))
	m.bytesToDevice = m.bytes.WithLabelValues(string(relaylog.PageToDevice))
	return m
}

func (m *metrics) relayed(dir relaylog.Direction, n int) {
	if dir == relaylog.DeviceToPages {
		m.msgsToPages.Inc()
		m.bytesToPages.Add(float64(n))
		return
	}
	m.msgsToDevice.Inc()
	m.bytesToDevice.Add(float64(n))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
