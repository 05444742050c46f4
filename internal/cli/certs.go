package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"time"

	"github.com/spf13/cobra"

	"tether/internal/certs"
)

func init() { subcommands = append(subcommands, newCertsCmd) }

func newCertsCmd(stdio Stdio) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Make a CA, server certificates and device client certificates",
		Long: `tether certs makes the certificates for TLS between devices, hubs and pages:
a CA (init), server certificates for hubs and devices (server), and client
certificates whose common name is the device id (device), which a hub started
with --client-ca accepts as that device.

Keys are ECDSA P-256, written 0600; no file is ever replaced without --force.`,
		Example: `  tether certs init --dir certs
  tether certs server --dir certs --name hub.example --ip 127.0.0.1
  tether certs device --dir certs Device_1
  openssl verify -CAfile certs/ca.crt certs/server.crt certs/Device_1.crt`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCertsInitCmd(stdio), newCertsServerCmd(stdio), newCertsDeviceCmd(stdio))
	return cmd
}

type certsFlags struct {
	dir   string
	days  int
	force bool
}

func (f *certsFlags) add(cmd *cobra.Command, defaultDays int) {
	cmd.Flags().StringVar(&f.dir, "dir", "", "folder of the CA and the certificates (required)")
	cmd.Flags().IntVar(&f.days, "days", defaultDays, "validity in days")
	cmd.Flags().BoolVar(&f.force, "force", false, "replace existing files")
	_ = cmd.MarkFlagRequired("dir")
}

func (f *certsFlags) check(cmd *cobra.Command) error {
	if f.days <= 0 {
		return &UsageError{Err: fmt.Errorf("--days: got %d, want a positive number", f.days), Hint: cmd.CommandPath() + " --help"}
	}
	return nil
}

func newCertsInitCmd(stdio Stdio) *cobra.Command {
	var f certsFlags
	var name string
	cmd := &cobra.Command{
		Use:     "init --dir D",
		Short:   "Make a CA: D/ca.crt and D/ca.key",
		Example: `  tether certs init --dir certs --name "ACME devices CA" --days 3650`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			ca, err := certs.NewCA(certs.CAOptions{Name: name, Days: f.days})
			if err != nil {
				return err
			}
			return writePair(stdio.Out, ca, f, "ca", "CA")
		},
	}
	f.add(cmd, certs.DefaultCADays)
	cmd.Flags().StringVar(&name, "name", certs.DefaultCAName, "the CA's common name")
	return cmd
}

func newCertsServerCmd(stdio Stdio) *cobra.Command {
	var f certsFlags
	var names []string
	var ips []net.IP
	var out string
	cmd := &cobra.Command{
		Use:   "server --dir D --name HOST [--ip IP]",
		Short: "Make a server certificate signed by the CA in D",
		Example: `  tether certs server --dir certs --name hub.example --name localhost --ip 127.0.0.1
  tether certs server --dir certs --ip 192.168.1.7 --out device-web`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			if len(names) == 0 && len(ips) == 0 {
				return &UsageError{Err: fmt.Errorf("no --name or --ip, want at least one"), Hint: cmd.CommandPath() + " --help"}
			}
			ca, err := loadCA(f.dir)
			if err != nil {
				return err
			}
			names, ips = splitIPNames(names, ips)
			p, err := certs.Server(ca, certs.ServerOptions{Names: names, IPs: ips, Days: f.days})
			if err != nil {
				return err
			}
			return writePair(stdio.Out, p, f, out, "server")
		},
	}
	f.add(cmd, certs.DefaultLeafDays)
	cmd.Flags().StringArrayVar(&names, "name", nil, "DNS name the server answers to (repeatable; an IP address given here counts as --ip)")
	cmd.Flags().IPSliceVar(&ips, "ip", nil, "IP address the server answers on (repeatable)")
	cmd.Flags().StringVar(&out, "out", "server", "file name: writes OUT.crt and OUT.key")
	return cmd
}

func newCertsDeviceCmd(stdio Stdio) *cobra.Command {
	var f certsFlags
	cmd := &cobra.Command{
		Use:     "device --dir D DEVICE_ID",
		Short:   "Make a client certificate whose common name is the device id",
		Example: `  tether certs device --dir certs Device_1`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			if err := certs.ValidDeviceID(args[0]); err != nil {
				return &UsageError{Err: err, Hint: cmd.CommandPath() + " --help"}
			}
			ca, err := loadCA(f.dir)
			if err != nil {
				return err
			}
			p, err := certs.Device(ca, certs.DeviceOptions{ID: args[0], Days: f.days})
			if err != nil {
				return err
			}
			return writePair(stdio.Out, p, f, args[0], "device")
		},
	}
	f.add(cmd, certs.DefaultLeafDays)
	return cmd
}

// loadCA loads the CA in dir, saying how to make one when there is none.
func loadCA(dir string) (*certs.Pair, error) {
	ca, err := certs.LoadCA(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &UsageError{Err: fmt.Errorf("no CA in %s, make one first: %w", dir, err), Hint: "tether certs init --dir " + dir}
	}
	return ca, err
}

// writePair writes p and prints what was written, with the certificate's
// SHA-256 fingerprint.
func writePair(w io.Writer, p *certs.Pair, f certsFlags, name, kind string) error {
	certFile, keyFile, err := p.Write(f.dir, name, f.force)
	if err != nil {
		return err
	}
	c := p.Cert
	fmt.Fprintf(w, "wrote %s  %s certificate, CN=%q", certFile, kind, c.Subject.CommonName)
	for _, n := range c.DNSNames {
		fmt.Fprintf(w, " DNS:%s", n)
	}
	for _, ip := range c.IPAddresses {
		fmt.Fprintf(w, " IP:%s", ip)
	}
	fmt.Fprintf(w, ", valid until %s\n", c.NotAfter.UTC().Format(time.DateOnly))
	fmt.Fprintf(w, "      SHA-256 %s\n", p.Fingerprint())
	fmt.Fprintf(w, "wrote %s  private key (mode 0600)\n", keyFile)
	return nil
}

// splitIPNames moves the IP addresses among names (--name 127.0.0.1) to
// ips: a certificate names an address as an IP address, never as a DNS
// name, or clients refuse it.
func splitIPNames(names []string, ips []net.IP) ([]string, []net.IP) {
	var dns []string
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, n)
		}
	}
	return dns, ips
}
