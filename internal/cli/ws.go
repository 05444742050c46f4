package cli

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"tether/internal/certs"
	"tether/internal/wsclient"
)

func init() { subcommands = append(subcommands, newWSCmd) }

type wsFlags struct {
	headers         []string
	token           string
	ca, cert, key   string
	insecure        bool
	verbose         bool
	ping, wait, dto time.Duration
	maxMessage      int64
}

func newWSCmd(stdio Stdio) *cobra.Command {
	var f wsFlags
	cmd := &cobra.Command{
		Use:   "ws URL",
		Short: "Talk to a WebSocket server: send lines, print messages",
		Long: `tether ws connects to a WebSocket server (ws:// or wss://), sends each line
it reads as a text message and prints every message as it arrives.

On a terminal it shows a prompt; Ctrl-D or Ctrl-C closes with 1000.
When standard input is not a terminal it scripts: it sends every line, waits
until no message has arrived for --wait, closes with 1000 and exits.

Exit status: 0 after a normal closure (1000, from either side); 2 when the
server closes with any other code (printed with its reason); 1 when there
was no close handshake (refused, TLS or handshake failure, connection lost,
no pong within --ping).

--token (or the TETHER_TOKEN environment variable, which other users of
the machine cannot read with ps) sends "Authorization: Bearer <token>": a
hub's page token, or a device's password for its own command API.

-v prints the handshake and every frame (pings and pongs with their
payloads) on standard error, '>' for what is sent, '<' for what arrives.`,
		Example: `  tether ws ws://127.0.0.1:7771/Device_1
  echo '["GET", "wifi", []]' | TETHER_TOKEN=$DEVICE_PASSWORD tether ws ws://192.168.4.1:8080/ --wait 2s
  tether ws -v --header "Authorization: Bearer $TOKEN" wss://hub.example:7771/Device_1 --ca certs/ca.crt
  tether ws --ca certs/ca.crt --cert certs/Device_1.crt --key certs/Device_1.key wss://hub.example:7770/Device_1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWS(cmd, stdio, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.headers, "header", "H", nil, `extra handshake header "Key: Value" (repeatable)`)
	fl.StringVar(&f.token, "token", "", `send "Authorization: Bearer TOKEN" (a hub page token, a device password); default $TETHER_TOKEN`)
	fl.StringVar(&f.ca, "ca", "", "trust the CA certificates in this PEM file for wss:// (default: the system's)")
	fl.StringVar(&f.cert, "cert", "", "client certificate to present for wss:// (with --key)")
	fl.StringVar(&f.key, "key", "", "private key of --cert")
	fl.BoolVar(&f.insecure, "insecure", false, "do not check the server's certificate (wss://)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "print the handshake and every frame, pings and pongs included")
	fl.DurationVar(&f.ping, "ping", 5*time.Second, "keepalive ping interval, also the time a pong may take (0: no pings)")
	fl.DurationVar(&f.wait, "wait", wsclient.DefaultWait, "scripted: after the last line, close once no message has arrived for this long")
	fl.DurationVar(&f.dto, "timeout", wsclient.DefaultDialTimeout, "time allowed to connect and finish the handshake")
	fl.Int64Var(&f.maxMessage, "max-message", wsclient.DefaultMaxMessage, "largest message accepted, in bytes (larger: close with 1009)")
	return cmd
}

func runWS(cmd *cobra.Command, stdio Stdio, rawURL string, f wsFlags) error {
	usage := func(err error) error { return &UsageError{Err: err, Hint: "tether ws --help"} }
	u, err := checkWSURL(rawURL)
	if err != nil {
		return usage(err)
	}
	header, err := parseHeaders(f.headers)
	if err != nil {
		return usage(err)
	}
	if err := addToken(header, f.token); err != nil {
		return usage(err)
	}
	if f.ping < 0 || f.maxMessage <= 0 {
		return usage(fmt.Errorf("--ping %v, --max-message %d: want ping >= 0 and a positive size", f.ping, f.maxMessage))
	}
	opts := wsclient.Options{
		Header: header, Ping: f.ping, MaxMessage: f.maxMessage, DialTimeout: f.dto,
		Verbose: f.verbose, Interactive: isTerminal(stdio.In), Wait: f.wait,
	}
	if f.wait <= 0 {
		opts.Wait = -1
	}
	if opts.TLS, err = wsTLS(f); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := wsclient.Run(ctx, u, opts, stdio.In, stdio.Out, stdio.Err)
	if err != nil {
		return err
	}
	if code := wsclient.ExitCode(res, nil); code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// checkWSURL accepts ws://, wss://, http:// and https:// URLs.
func checkWSURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("URL %q: %w", s, err)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return "", fmt.Errorf("URL %q: want ws:// or wss://, got scheme %q", s, u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("URL %q: no host", s)
	}
	return s, nil
}

// parseHeaders turns "Key: Value" (or "Key:Value") flags into a header.
func parseHeaders(list []string) (http.Header, error) {
	h := http.Header{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("--header %q: want \"Key: Value\"", kv)
		}
		h.Add(k, strings.TrimSpace(v))
	}
	return h, nil
}

// addToken adds "Authorization: Bearer <token>" for token, else for
// $TETHER_TOKEN; an Authorization header given with --header as well is
// an error.
func addToken(h http.Header, token string) error {
	flag := "--token"
	if token == "" {
		token, flag = os.Getenv("TETHER_TOKEN"), "TETHER_TOKEN"
	}
	if token == "" {
		return nil
	}
	if h.Get("Authorization") != "" {
		return fmt.Errorf("%s and --header \"Authorization: ...\": give one of them", flag)
	}
	h.Set("Authorization", "Bearer "+token)
	return nil
}

// wsTLS builds the client TLS configuration from --ca, --cert, --key and
// --insecure; nil when none is given.
func wsTLS(f wsFlags) (*tls.Config, error) {
	if f.ca == "" && f.cert == "" && f.key == "" && !f.insecure {
		return nil, nil
	}
	cfg, err := certs.ClientTLS(f.ca, f.cert, f.key)
	if err != nil {
		return nil, err
	}
	cfg.InsecureSkipVerify = f.insecure
	return cfg, nil
}

func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
