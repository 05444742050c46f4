//go:build !tether_device

package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"

	"tether/internal/certs"
	"tether/internal/hub"
)

// hubEnrollFlags are tether hub enroll's flags.
type hubEnrollFlags struct {
	hub, token, device, ttl, ca string
}

func newHubEnrollCmd(stdio Stdio) *cobra.Command {
	var f hubEnrollFlags
	cmd := &cobra.Command{
		Use:   "enroll",
		Short: "Make a one-time code a device enrolls with (asks a running hub)",
		Long: `tether hub enroll asks a running hub (started with --enroll-ca) for a
one-time enrollment code, as the dashboard's Enroll page does, and prints it
with the hub's device endpoint, the pin of its CA, the command that enrolls a
device with it, and a QR code of the enrollment URI.

It talks to the hub's page port (--hub) with a page token (--token, or the
environment variable TETHER_HUB_TOKEN) whose grants give admin on every
device. A code lasts --ttl (at most 168h) and enrolls one device: the one
named by --device, or any id not already enrolled or in the auth file.`,
		Example: `  TETHER_HUB_TOKEN=... tether hub enroll --hub https://hub.example.com:7771 --ca /etc/tether-hub/ca/ca.crt --device Device_7
  tether hub enroll --token "$TOKEN" --ttl 1h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runHubEnroll(stdio, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.hub, "hub", "http://127.0.0.1:7771", "the hub's page port (http:// or https://)")
	fl.StringVar(&f.token, "token", "", "page token with admin on every device (default $TETHER_HUB_TOKEN)")
	fl.StringVar(&f.device, "device", "", "the only device id the code enrolls (default: any id not in use)")
	fl.StringVar(&f.ttl, "ttl", "15m", "how long the code lasts (at most 168h)")
	fl.StringVar(&f.ca, "ca", "", "CA (PEM) to trust for an https:// hub (default: the system's)")
	return cmd
}

func runHubEnroll(stdio Stdio, f hubEnrollFlags) error {
	if f.token == "" {
		f.token = os.Getenv("TETHER_HUB_TOKEN")
	}
	if f.token == "" {
		return &UsageError{Err: fmt.Errorf("no token: give --token or TETHER_HUB_TOKEN"), Hint: "tether hub enroll --help"}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if f.ca != "" {
		cfg, err := certs.ClientTLS(f.ca, "", "")
		if err != nil {
			return err
		}
		client.Transport = &http.Transport{TLSClientConfig: cfg}
	}
	body, _ := json.Marshal(hub.CodeRequest{Device: f.device, TTL: f.ttl})
	req, err := http.NewRequest("POST", strings.TrimRight(f.hub, "/")+"/api/enroll", bytes.NewReader(body))
	if err != nil {
		return &UsageError{Err: fmt.Errorf("--hub: %w", err), Hint: "tether hub enroll --help"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("ask the hub for a code: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ask the hub for a code: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var info hub.CodeInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return fmt.Errorf("read the hub's answer: %w", err)
	}
	printCode(stdio.Out, info)
	return nil
}

// printCode shows a code, how to use it and its QR code.
func printCode(w io.Writer, info hub.CodeInfo) {
	who := "any device id not in use"
	if info.Device != "" {
		who = info.Device
	}
	fmt.Fprintf(w, "Code:     %s\nFor:      %s\nExpires:  %s\nHub:      %s\nHub CA:   %s\n\nOn the device:\n  %s\n\n",
		info.Code, who, info.Expires.Local().Format(time.RFC1123), info.Hub, info.CA, info.Command)
	if q, err := qrcode.New(info.URI, qrcode.Low); err == nil {
		fmt.Fprint(w, q.ToSmallString(false))
	}
}
