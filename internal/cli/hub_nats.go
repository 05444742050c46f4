//go:build !tether_device

package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/spf13/pflag"

	"tether/internal/hub/broker"
	"tether/internal/hub/broker/natsbroker"
)

// natsFlags are tether hub's flags for clustering over NATS.
type natsFlags struct {
	url, creds, tlsCA string
}

func addNATSFlags(fl *pflag.FlagSet, f *natsFlags) {
	fl.StringVar(&f.url, "nats", "", "share routing and presence with other hubs over NATS at this URL (nats://host:4222, several comma-separated); hubs of a cluster need distinct --name values (the default host-pid is)")
	fl.StringVar(&f.creds, "nats-creds", "", "NATS credentials file (JWT and NKey seed) for --nats")
	fl.StringVar(&f.tlsCA, "nats-tls-ca", "", "CA (PEM) to verify the NATS server of --nats with (tls:// URLs)")
}

// natsBroker returns the broker for --nats and the hub's name (host-pid
// when --name is empty, so that it is known before the hub starts), or
// nil and name when --nats is not set.
func natsBroker(f natsFlags, name string, logger *slog.Logger) (broker.Broker, string, error) {
	if f.url == "" {
		if f.creds != "" || f.tlsCA != "" {
			return nil, "", &UsageError{Err: errNATSOnly, Hint: "tether hub --help"}
		}
		return nil, name, nil
	}
	for flag, path := range map[string]string{"--nats-creds": f.creds, "--nats-tls-ca": f.tlsCA} {
		if path == "" {
			continue
		}
		if _, err := os.ReadFile(path); err != nil {
			return nil, "", fmt.Errorf("read %s: %w", flag, err)
		}
	}
	if name == "" {
		host, _ := os.Hostname()
		name = host + "-" + strconv.Itoa(os.Getpid())
	}
	b := natsbroker.New(natsbroker.Options{URL: f.url, Hub: name, Creds: f.creds, TLSCA: f.tlsCA, Logger: logger})
	return b, name, nil
}

var errNATSOnly = errors.New("--nats-creds and --nats-tls-ca need --nats")
