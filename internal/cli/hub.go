//go:build !tether_device

package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"tether/internal/certs"
	"tether/internal/hub"
	"tether/internal/hub/audit"
	"tether/internal/relaylog"
)

func init() { subcommands = append(subcommands, newHubCmd) }

// hubFlags are tether hub's flags.
type hubFlags struct {
	deviceAddr, pageAddr string
	logFile              string
	logRetention         time.Duration
	logMaxSize           int64
	logMaxTotal          int64
	maxMessage           int
	auth                 string
	auditFile            string
	tlsCert, tlsKey      string
	clientCA             string
	enrollCA, enrollURL  string
	origins              []string
	ping                 time.Duration
	queue                int
	devConns, pageConns  int
	queueBytes           int
	readBuffer           int
	shadowKeys           int
	shadowBytes          int
	offlineDevices       int
	offlineBytes         int
	name                 string
	updateDir            string
	artifactDir          string
	maxArtifact          int64
	nats                 natsFlags
}

func newHubCmd(stdio Stdio) *cobra.Command {
	var f hubFlags
	cmd := &cobra.Command{
		Use:   "hub",
		Short: "Run the hub devices call home to, relaying between devices and their pages",
		Long: `tether hub is the server devices call home to. A device connects to
ws://HUB:7770/<device-id>; a page (browser or program) connects to
ws://HUB:7771/<device-id>. What a page sends goes to its device; what the
device sends goes to every page of that id. Pages hear
{"hub/device/connected": true|false, "hub/device/reason": "..."} as their
device comes and goes, get the device's latest state (its shadow) when they
connect, and get {"error": "device <id> is not connected"} when they send to
a device that is offline.

The page port also serves the dashboard (/), each device's page through the
hub (/d/<id>/), /api/devices, /api/devices/<id>, /metrics (Prometheus) and
/healthz. With --update-dir it keeps updates: tether push uploads signed
artifacts there and rolls them out (/api/rollouts, the dashboard's
/rollouts), and devices download them from the device port with their own
credentials (docs/UPDATES.md).

Without --auth the hub is OPEN: anyone who can reach it can connect as any
device. The auth file is
  {"devices": {"<id>": {"token": "...", "labels": ["kitchen"]}},
   "pages": [{"token": "...", "name": "grafana",
              "grants": [{"devices": ["kitchen-*", "label:floor2"], "verbs": ["view"]}]}],
   "users": {"alice": {"password": "$2a$10$...",
                       "grants": [{"devices": ["*"], "verbs": ["admin"]}]}}}
and a token written "sha256:<hex>" is compared as a hash. Devices send
"Authorization: Bearer <token>"; pages send a page token the same way, or a
user or page token logs in on the dashboard. Grants give devices (ids,
patterns, label:NAME, *) a verb: view (receive), drive (also send
commands) or admin (also operator items: restart, config, logs, recovery,
updates); a page token without grants may do everything (warned). tether
hub passwd makes a user's password hash. A device that cannot send a token
may instead have "alias" (an unguessable path it connects to) and/or "cidr"
(address ranges) in its entry: weaker, and logged at start and on every
connection.

The auth file is read again when it changes (or on SIGHUP), without
dropping connections: a removed token's or user's connections are closed
within a second (close code 4001, "credentials revoked"), narrowed grants
hold from the next message, and a file that does not load is logged and
the one in force kept.

SIGTERM or Ctrl-C closes every connection with 1001 and exits within 5 s,
with status 0 after SIGTERM and 130 after Ctrl-C; a second signal exits at
once.`,
		Example: `  tether hub
  tether hub --page-addr :7771 --auth auth.json --tls-cert hub.crt --tls-key hub.key
  tether hub --log-file /var/log/tether/messages.log --log-retention 720h
  tether hub --auth auth.json --audit-file /var/log/tether/audit.log
  tether hub --client-ca certs/ca.crt --tls-cert certs/server.crt --tls-key certs/server.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runHub(cmd, stdio, f) },
	}
	cmd.AddCommand(newHubPasswdCmd(stdio), newHubEnrollCmd(stdio))
	fl := cmd.Flags()
	fl.StringVar(&f.deviceAddr, "device-addr", ":7770", "address of the device endpoint (devices connect to /<device-id>)")
	fl.StringVar(&f.pageAddr, "page-addr", "127.0.0.1:7771", "address of the page endpoint, dashboard, API and metrics")
	fl.StringVar(&f.logFile, "log-file", "", "log every relayed message to this file, one JSON line each (secrets masked), rotated daily and at --log-max-size (off when empty)")
	fl.DurationVar(&f.logRetention, "log-retention", 0, "remove rotated message logs older than this (e.g. 720h); 0 keeps them all")
	fl.Int64Var(&f.logMaxSize, "log-max-size", 64<<20, "rotate the message log when it reaches this many bytes")
	fl.Int64Var(&f.logMaxTotal, "log-max-total", 1<<30, "bytes the message log and its rotated files may take together; the oldest rotated files go first")
	fl.IntVar(&f.maxMessage, "max-message", 64<<10, "largest message accepted, in bytes; bigger ones close the connection with 1009")
	fl.StringVar(&f.auth, "auth", "", "JSON file of device tokens, page tokens and users with their grants, read again when it changes or on SIGHUP; without it the hub is open to anyone")
	fl.StringVar(&f.auditFile, "audit-file", "", "record every administrative action (admin items, refused messages, forgetting devices, enrollment) to this file, one JSON line each (secrets masked), apart from --log-file; rotated daily and at 64 MiB, 1 GiB in all (off when empty)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "certificate (PEM) to serve wss:// and https:// on both ports")
	fl.StringVar(&f.tlsKey, "tls-key", "", "private key (PEM) of --tls-cert")
	fl.StringVar(&f.clientCA, "client-ca", "", "CA (PEM) whose client certificates devices must present, with the device id as common name (needs --tls-cert)")
	fl.StringVar(&f.enrollCA, "enroll-ca", "", "folder of a CA (ca.crt, ca.key from tether certs init) that signs the certificates of devices enrolling with a one-time code, and that signed --tls-cert; enrolled devices are recorded in its enrolled.json (needs --auth and --tls-cert)")
	fl.StringVar(&f.enrollURL, "enroll-url", "", "the device endpoint enrollment codes name, e.g. wss://hub.example.com:7770 (default: wss:// on the host the code was asked on, and the device port)")
	fl.StringArrayVar(&f.origins, "origin", nil, "extra browser origin host allowed on the page port, e.g. dash.example.com or *.example.com (repeatable)")
	fl.DurationVar(&f.ping, "ping", 20*time.Second, "keepalive ping interval; a connection silent for 3 intervals is closed")
	fl.IntVar(&f.devConns, "device-conns-per-addr", 4096, "WebSocket connections one client address may hold on the device port (past it: 429); 0 for no bound, e.g. behind a proxy that makes every device one address")
	fl.IntVar(&f.pageConns, "page-conns-per-addr", 1024, "WebSocket connections one client address may hold on the page port (past it: 429); 0 for no bound")
	fl.IntVar(&f.queue, "queue", 4096, "messages that may wait for one connection; a page that lets it fill is closed as too slow")
	fl.IntVar(&f.queueBytes, "queue-bytes", 16<<20, "bytes that may wait for one connection (messages shared by several pages count for each)")
	fl.IntVar(&f.readBuffer, "read-buffer", 4<<10, "read buffer per TLS connection, in bytes (plain connections share their event loop's): more reads small messages faster, costs memory on every TLS connection")
	fl.IntVar(&f.shadowKeys, "shadow-keys", 1024, "state keys the hub keeps of one device (its shadow, sent to pages that connect)")
	fl.IntVar(&f.shadowBytes, "shadow-bytes", 64<<10, "bytes of one device's shadow; never more than --max-message, as a page gets it in one message")
	fl.IntVar(&f.offlineDevices, "offline-devices", 10000, "offline devices the hub remembers; past it, those gone longest are forgotten")
	fl.IntVar(&f.offlineBytes, "offline-bytes", 64<<20, "bytes of shadows the hub keeps of offline devices in all; past it, those gone longest are forgotten")
	fl.StringVar(&f.name, "name", "", "this hub's name in /api/devices (default host-pid)")
	fl.StringVar(&f.updateDir, "update-dir", "", "keep updates in this folder (artifacts by SHA-256, rollouts.json) and serve the rollout API; off when empty")
	fl.StringVar(&f.artifactDir, "artifact-dir", "", "keep artifacts in this folder instead of --update-dir's artifacts/: hubs of a NATS cluster may share it, each with its own --update-dir")
	fl.Int64Var(&f.maxArtifact, "max-artifact", 512<<20, "largest artifact accepted, in bytes")
	addNATSFlags(fl, &f.nats)
	return cmd
}

func runHub(cmd *cobra.Command, stdio Stdio, f hubFlags) error {
	usage := func(format string, args ...any) error {
		return &UsageError{Err: fmt.Errorf(format, args...), Hint: "tether hub --help"}
	}
	logger, err := stdio.Logger()
	if err != nil {
		return err
	}
	opts := hub.Options{Name: f.name, MaxMessage: f.maxMessage, Ping: f.ping, Queue: f.queue, QueueBytes: f.queueBytes, ReadBuffer: f.readBuffer,
		ShadowKeys: f.shadowKeys, ShadowBytes: f.shadowBytes, OfflineDevices: f.offlineDevices, OfflineBytes: f.offlineBytes,
		OriginPatterns: f.origins, Logger: logger, DeviceConnsPerAddr: f.devConns, PageConnsPerAddr: f.pageConns,
		UpdateDir: f.updateDir, ArtifactDir: f.artifactDir, MaxArtifact: f.maxArtifact}
	if f.maxMessage < 125 {
		return usage("--max-message: got %d, want at least 125 bytes", f.maxMessage)
	}
	if f.shadowKeys <= 0 || f.shadowBytes <= 0 || f.offlineDevices <= 0 || f.offlineBytes <= 0 {
		return usage("--shadow-keys, --shadow-bytes, --offline-devices and --offline-bytes: want positive values")
	}
	if f.artifactDir != "" && f.updateDir == "" {
		return usage("--artifact-dir: needs --update-dir")
	}
	if f.maxArtifact <= 0 {
		return usage("--max-artifact: got %d, want a positive number of bytes", f.maxArtifact)
	}
	if f.devConns < 0 || f.pageConns < 0 {
		return usage("--device-conns-per-addr and --page-conns-per-addr: want 0 (no bound) or more, got %d and %d", f.devConns, f.pageConns)
	}
	if f.ping <= 0 || f.queue <= 0 || f.queueBytes <= 0 {
		return usage("--ping, --queue and --queue-bytes: want positive values, got %v, %d and %d", f.ping, f.queue, f.queueBytes)
	}
	if opts.Broker, opts.Name, err = natsBroker(f.nats, opts.Name, logger); err != nil {
		return err
	}
	if f.auth != "" {
		if opts.Auth, err = hub.LoadAuth(f.auth); err != nil {
			return err
		}
		opts.AuthFile = f.auth
		logger.Info("auth on: devices need their token, pages a page token or a login on the dashboard",
			"auth", f.auth, "devices", len(opts.Auth.Devices), "page_tokens", len(opts.Auth.Pages), "users", len(opts.Auth.Users))
	}
	if opts.TLS, opts.ClientCAs, err = hubTLS(f); err != nil {
		return err
	}
	if f.enrollCA != "" {
		if opts.EnrollCA, err = enrollCA(f); err != nil {
			return err
		}
		opts.EnrollFile, opts.EnrollURL = filepath.Join(f.enrollCA, "enrolled.json"), f.enrollURL
		logger.Info("enrollment on: operators make one-time codes at /enroll or with tether hub enroll", "ca", f.enrollCA, "enrolled", opts.EnrollFile)
	}
	if f.logFile != "" {
		if f.logMaxSize <= 0 || f.logMaxTotal < f.logMaxSize {
			return usage("--log-max-size and --log-max-total: want a positive size and a total at least as big, got %d and %d", f.logMaxSize, f.logMaxTotal)
		}
		rl, err := relaylog.Open(relaylog.Options{Path: f.logFile, Retention: f.logRetention,
			MaxSize: f.logMaxSize, MaxTotal: f.logMaxTotal, Logger: logger.With("component", "relaylog")})
		if err != nil {
			return err
		}
		defer rl.Close()
		opts.RelayLog = rl
	}
	if f.auditFile != "" {
		al, err := audit.Open(relaylog.Options{Path: f.auditFile, Logger: logger.With("component", "audit")})
		if err != nil {
			return err
		}
		defer al.Close()
		opts.Audit = al
	}
	devLn, err := net.Listen("tcp", f.deviceAddr)
	if err != nil {
		return fmt.Errorf("listen on --device-addr: %w", err)
	}
	pageLn, err := net.Listen("tcp", f.pageAddr)
	if err != nil {
		devLn.Close()
		return fmt.Errorf("listen on --page-addr: %w", err)
	}
	h := hub.New(opts)
	return runUntilSignal(cmd.Context(), logger, nil, func(ctx context.Context) error {
		if opts.AuthFile != "" {
			stop := onSIGHUP(func() { h.ReloadAuth() })
			defer stop()
		}
		return h.Serve(ctx, devLn, pageLn)
	})
}

// enrollCA loads --enroll-ca's CA and checks that it signed --tls-cert:
// enrolled devices trust that CA alone for the hub.
func enrollCA(f hubFlags) (*certs.Pair, error) {
	usage := func(format string, args ...any) error {
		return &UsageError{Err: fmt.Errorf(format, args...), Hint: "tether hub --help"}
	}
	if f.auth == "" || f.tlsCert == "" {
		return nil, usage("--enroll-ca needs --auth (who may make codes) and --tls-cert (enrolled devices call home over TLS)")
	}
	ca, err := certs.LoadCA(f.enrollCA)
	if err != nil {
		return nil, fmt.Errorf("--enroll-ca: %w", err)
	}
	pool, err := certs.LoadPool(f.tlsCert)
	if err != nil {
		return nil, err
	}
	leaf, err := firstCert(f.tlsCert)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool}); err != nil {
		return nil, usage("--enroll-ca: --tls-cert %s is not signed by %s/ca.crt (%v): enrolled devices trust that CA alone for the hub; make it with tether certs server --dir %s NAME", f.tlsCert, f.enrollCA, err, f.enrollCA)
	}
	return ca, nil
}

// firstCert reads the first certificate of a PEM file.
func firstCert(file string) (*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM certificate", file)
	}
	return x509.ParseCertificate(block.Bytes)
}

// hubTLS loads --tls-cert/--tls-key and --client-ca (certs.ServerTLS). The
// client CAs are the hub's to ask for on the device port only.
func hubTLS(f hubFlags) (*tls.Config, *x509.CertPool, error) {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, nil, &UsageError{Err: fmt.Errorf("--tls-cert and --tls-key go together"), Hint: "tether hub --help"}
	}
	if f.tlsCert == "" {
		if f.clientCA != "" {
			return nil, nil, &UsageError{Err: fmt.Errorf("--client-ca needs --tls-cert and --tls-key"), Hint: "tether hub --help"}
		}
		return nil, nil, nil
	}
	cfg, err := certs.ServerTLS(f.tlsCert, f.tlsKey, f.clientCA)
	if err != nil {
		return nil, nil, err
	}
	pool := cfg.ClientCAs
	cfg.ClientCAs, cfg.ClientAuth = nil, tls.NoClientCert
	return cfg, pool, nil
}
