package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"tether/internal/config"
	"tether/internal/enroll"
)

// deviceEnrollFlags are tether device enroll's flags.
type deviceEnrollFlags struct {
	root, hub, code, pin, ca string
}

func newDeviceEnrollCmd(stdio Stdio) *cobra.Command {
	var f deviceEnrollFlags
	cmd := &cobra.Command{
		Use:   "enroll",
		Short: "Enroll this device with a hub by a one-time code: it gets a client certificate and calls home with it",
		Long: `tether device enroll makes a key pair in the device root (the key never
leaves it), sends a certificate request for the device's id (network.json
device.iam) with a one-time code to the hub, and stores what the hub signs:

  certs/hub-client.key   the key, mode 0600
  certs/hub-client.crt   the device's client certificate
  certs/hub-ca.crt       the hub's CA

and sets the home of the app's section in app.json (demo.home, or the
process app's) to the hub's host and port over TLS, trusting that CA alone
and presenting that certificate; the previous app.json is kept as
app.json.bak. The device calls home with it from its next start (or after
CMD restart).

The operator makes the code on the hub's dashboard (Enroll a device) or with
tether hub enroll. --code takes the code itself, with --hub and --ca-pin, or
the whole enrollment URI (tether://enroll?hub=...&code=...&ca=sha256:...),
which holds all three. With the CA's pin the device checks it talks to that
hub before it sends anything; without it the hub's certificate must be
trusted by --ca or the system. A used, expired or unknown code is refused.`,
		Example: `  tether device enroll --root /etc/tether --code 'tether://enroll?hub=wss%3A%2F%2Fhub.example.com%3A7770&code=K7QX-M2PA-9DTR-WJ4H&ca=sha256%3A...'
  tether device enroll --root /etc/tether --hub wss://hub.example.com:7770 --code K7QX-M2PA-9DTR-WJ4H --ca-pin sha256:...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDeviceEnroll(cmd.Context(), stdio, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.root, "root", "", "device root folder (network.json names the device id); required")
	fl.StringVar(&f.hub, "hub", "", "the hub's device endpoint, wss://HOST:PORT (not needed with an enrollment URI)")
	fl.StringVar(&f.code, "code", "", "the one-time code, or the whole enrollment URI tether://enroll?...")
	fl.StringVar(&f.pin, "ca-pin", "", "sha256:<hex> of the hub's CA certificate, checked before anything is sent")
	fl.StringVar(&f.ca, "ca", "", "CA (PEM) to trust for the hub during enrollment, without a pin (default: the system's)")
	return cmd
}

func runDeviceEnroll(ctx context.Context, stdio Stdio, f deviceEnrollFlags) error {
	usage := func(format string, args ...any) error {
		return &UsageError{Err: fmt.Errorf(format, args...), Hint: "tether device enroll --help"}
	}
	if f.root == "" || f.code == "" {
		return usage("--root and --code are required")
	}
	t, err := enroll.NewTicket(f.hub, f.code, f.pin)
	if err != nil {
		return usage("--code, --hub, --ca-pin: %v", err)
	}
	cfg, _, err := config.Load(f.root)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	id := cfg.Network.Device.IAm
	res, err := enroll.Enroll(ctx, enroll.Options{Ticket: t, ID: id, CAFile: f.ca})
	if err != nil {
		return err
	}
	section, err := enroll.Install(f.root, res)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "enrolled %s with %s: certificate %s (until %s), hub CA %s\n%s.home now calls wss://%s:%d/%s with it; restart the device to use it\n",
		id, t.Hub, filepath.Join(f.root, "certs", enroll.CertName+".crt"), res.Pair.Cert.NotAfter.UTC().Format("2006-01-02"),
		filepath.Join(f.root, enroll.CAFile), section, res.Host, res.Port, id)
	return nil
}
