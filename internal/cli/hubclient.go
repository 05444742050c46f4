package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"tether/internal/certs"
)

// hubClientFlags are the flags of the commands that use a hub's API.
type hubClientFlags struct {
	hub, token, ca string
}

func (f *hubClientFlags) add(fl *pflag.FlagSet) {
	fl.StringVar(&f.hub, "hub", "", "the hub's page port, http://host:7771 or https://... (required)")
	fl.StringVar(&f.token, "token", "", "a page token with admin on the devices (default $TETHER_TOKEN; none for an open hub)")
	fl.StringVar(&f.ca, "ca", "", "CA (PEM) the hub's certificate is signed by, for https:// with your own CA")
}

// hubClient calls a hub's JSON API.
type hubClient struct {
	base  string
	token string
	http  *http.Client
}

func (f *hubClientFlags) client(cmd string) (*hubClient, error) {
	u, err := url.Parse(f.hub)
	if f.hub == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &UsageError{Err: fmt.Errorf("--hub: want the hub's page port as http://host:7771 or https://host:7771, got %q", f.hub), Hint: cmd + " --help"}
	}
	c := &hubClient{base: strings.TrimSuffix(u.String(), "/"), token: f.token, http: &http.Client{}}
	if c.token == "" {
		c.token = os.Getenv("TETHER_TOKEN")
	}
	if f.ca != "" {
		tlsCfg, err := certs.ClientTLS(f.ca, "", "")
		if err != nil {
			return nil, err
		}
		c.http.Transport = &http.Transport{TLSClientConfig: tlsCfg}
	}
	return c, nil
}

// do sends a request and decodes a JSON answer into out; an answer that
// is not 2xx is an error carrying the hub's message.
func (c *hubClient) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		hint := ""
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			hint = " (give --token or $TETHER_TOKEN: a page token with admin on the devices)"
		case http.StatusNotFound:
			if strings.Contains(e.Error, "404 page not found") {
				hint = " (is the hub started with --update-dir?)"
			}
		}
		return fmt.Errorf("%s %s: %s: %s%s", method, path, resp.Status, e.Error, hint)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// rolloutView is what the hub says of a rollout.
type rolloutView struct {
	ID       string `json:"id"`
	Artifact struct {
		SHA256   string `json:"sha256"`
		Manifest struct {
			Kind, Name, Version string
		} `json:"manifest"`
	} `json:"artifact"`
	Devices     []string `json:"devices"`
	Canary      int      `json:"canary"`
	Wave        int      `json:"wave"`
	Waves       int      `json:"waves"`
	MaxFailures int      `json:"max_failures"`
	Selected    string   `json:"selected"`
	By          string   `json:"by"`
	State       string   `json:"state"`
	Reason      string   `json:"reason"`
	Created     time.Time
	Counts      map[string]int `json:"counts"`
	Results     map[string]struct {
		Wave   int    `json:"wave"`
		State  string `json:"state"`
		Reason string `json:"reason"`
	} `json:"results"`
}

// what names the rollout's artifact: "app weather 2.0.1".
func (r *rolloutView) what() string {
	m := r.Artifact.Manifest
	return m.Kind + " " + m.Name + " " + m.Version
}

// line sums the rollout up in one line.
func (r *rolloutView) line() string {
	counts := make([]string, 0, len(r.Counts))
	for _, st := range []string{"pending", "sent", "downloading", "staged", "trial", "committed", "rolled_back", "refused"} {
		if n := r.Counts[st]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, st))
		}
	}
	s := fmt.Sprintf("%s  %-7s  %s to %s: %s", r.ID, r.State, r.what(), devices(len(r.Devices)), strings.Join(counts, ", "))
	if r.Reason != "" {
		s += "\n    " + r.Reason
	}
	return s
}

// devices is "1 device" or "n devices".
func devices(n int) string {
	if n == 1 {
		return "1 device"
	}
	return fmt.Sprintf("%d devices", n)
}
