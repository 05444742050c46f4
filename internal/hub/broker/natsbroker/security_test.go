package natsbroker

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"tether/internal/hub/broker/natsbroker/natstest"
	"tether/internal/tethertest"
)

// TestSecureNATS connects over TLS with Options.TLSCA, and with a user and
// password in the URL, as --nats-tls-ca and --nats nats://user:pass@host do.
func TestSecureNATS(t *testing.T) {
	ca, pair := tethertest.LocalCA(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	withTLS := func(o *server.Options) {
		o.TLS = true
		o.TLSTimeout = 5
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	withUser := func(o *server.Options) { o.Username, o.Password = "hubs", "s3cret" }

	tests := []struct {
		name  string
		tweak func(*server.Options)
		url   func(string) string
		ca    string
	}{
		{"tls with CA", withTLS, func(u string) string { return u }, caFile},
		{"user and password", withUser, func(u string) string { return strings.Replace(u, "nats://", "nats://hubs:s3cret@", 1) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := natstest.StartWith(t, tt.tweak)
			url := tt.url(ns.URL())
			a, _ := startBroker(t, url, "a", func(o *Options) { o.TLSCA = tt.ca })
			b, _ := startBroker(t, url, "b", func(o *Options) { o.TLSCA = tt.ca })
			a.Hold(presence("d", "a", 1, time.Now()))
			waitFor(t, "b sees d over "+tt.name, heldBy(b, "d", "a"))
		})
	}
	t.Run("tls without the CA", func(t *testing.T) {
		ns := natstest.StartWith(t, withTLS)
		a, _ := startBroker(t, ns.URL(), "a")
		time.Sleep(300 * time.Millisecond)
		if a.connected() {
			t.Fatal("connected to a server whose certificate no known CA signed")
		}
	})
}
