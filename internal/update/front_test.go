package update_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tether/internal/artifact"
	"tether/internal/tethertest"
)

// cutter stands between a device and its hub's device port: it relays
// everything (the call-home WebSocket too) and records the Range header
// of each artifact download. With cut > 0 it cuts the first download
// after cut bytes of its body (the connection closed, as a link that
// drops); with ignoreRange it answers as a server without ranges (the
// whole file); with replace it sends those bytes instead of the
// artifact, as something posing as the hub would.
type cutter struct {
	cut         int64
	ignoreRange bool
	replace     []byte
	proxy       *httputil.ReverseProxy

	mu     sync.Mutex
	ranges []string
}

// front returns c's stand-in for startRig.
func (c *cutter) front(t *testing.T) func(string) string {
	return func(hub string) string {
		target, _ := url.Parse("http://" + hub)
		c.proxy = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Host = pr.In.Host
				if c.ignoreRange {
					pr.Out.Header.Del("Range")
				}
			},
			FlushInterval:  -1, // every byte relayed is sent: the cut is exact
			ModifyResponse: c.modify,
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: c}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().String()
	}
}

func (c *cutter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/artifacts/") {
		c.mu.Lock()
		c.ranges = append(c.ranges, r.Header.Get("Range"))
		c.mu.Unlock()
	}
	c.proxy.ServeHTTP(w, r)
}

// modify cuts the body of the first download, or replaces every one.
func (c *cutter) modify(resp *http.Response) error {
	if !strings.Contains(resp.Request.URL.Path, "/artifacts/") {
		return nil
	}
	c.mu.Lock()
	first, replace := len(c.ranges) == 1, c.replace
	c.mu.Unlock()
	switch {
	case replace != nil:
		resp.Body.Close()
		resp.StatusCode, resp.Status = http.StatusOK, "200 OK"
		resp.Header.Del("Content-Range")
		resp.Header.Set("Content-Length", strconv.Itoa(len(replace)))
		resp.ContentLength = int64(len(replace))
		resp.Body = io.NopCloser(bytes.NewReader(replace))
	case first && c.cut > 0:
		resp.Body = &cutBody{r: io.LimitReader(resp.Body, c.cut), c: resp.Body}
	}
	return nil
}

func (c *cutter) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ranges...)
}

// cutBody ends in an error once its limit is read: the proxy then drops
// the connection.
type cutBody struct {
	r io.Reader
	c io.Closer
}

func (b *cutBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = errors.New("cut")
	}
	return n, err
}

func (b *cutBody) Close() error { return b.c.Close() }

// packBig packs an app of mode ok with 64 KiB of noise beside it, so a
// download can be cut in its middle.
func (r *rig) packBig(version string) []byte {
	dir := r.t.TempDir()
	tethertest.WriteFile(r.t, filepath.Join(dir, "mode"), "ok")
	noise := make([]byte, 64<<10)
	rand.Read(noise)
	if err := os.WriteFile(filepath.Join(dir, "noise"), noise, 0o644); err != nil {
		r.t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := artifact.PackApp(&b, dir, artifact.PackOptions{Name: testApp, Version: version, Key: r.key}); err != nil {
		r.t.Fatal(err)
	}
	return b.Bytes()
}

// TestDownloadResumesWhereItWasCut: the link drops in the middle of an
// update's download; the device asks for the rest from the byte it had
// (Range: bytes=N-, N the bytes it got), not from zero, and commits the
// update. From a server that ignores ranges it takes the whole file again
// and commits too.
func TestDownloadResumesWhereItWasCut(t *testing.T) {
	const cut = 20000
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignoreRange=%v", ignore), func(t *testing.T) {
			c := &cutter{cut: cut, ignoreRange: ignore}
			r := startRig(t, 2*time.Second, false, "ok", c.front(t))
			art := r.packBig("2")
			id := r.push(art)
			if state, reason := r.result(id); state != "committed" {
				t.Fatalf("after a cut download: %s (%s), want committed", state, reason)
			}
			got := c.seen()
			want := fmt.Sprintf("bytes=%d-", cut)
			if len(got) < 2 || got[0] != "" || got[1] != want {
				t.Fatalf("the device's downloads asked for ranges %q, want the whole file, then %q", got, want)
			}
			resumed := fmt.Sprintf("resumed_at=%d", cut)
			if ignore {
				resumed = "resumed_at=0"
			}
			log := strings.Join(r.ring.Lines(), "\n")
			if !strings.Contains(log, "update downloaded") || !strings.Contains(log, resumed) {
				t.Fatalf("the device's log lacks %q:\n%s", resumed, log)
			}
		})
	}
}

// TestImpostorHubRefused: something between the device and its hub (or
// posing as it) sends, for an update the hub rolled out, an artifact of
// the same size that is unsigned, or signed with a key the device does
// not trust: each is refused before anything is staged, and the app runs
// as it did.
func TestImpostorHubRefused(t *testing.T) {
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	for _, tt := range []struct {
		name, reason string
		swap         func(r *rig, art []byte) []byte
	}{
		{"unsigned", "refused before staging: not a whole artifact: want the file signature here", func(r *rig, art []byte) []byte {
			return tethertest.UnsignArtifact(r.t, art, "", len(art))
		}},
		{"another key", "refused before staging: signed with a key this device does not trust", func(r *rig, art []byte) []byte {
			return r.pack("2", "crash", other) // same size: same layout, key id and signature lengths
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &cutter{}
			r := startRig(t, 2*time.Second, false, "ok", c.front(t))
			art := r.pack("2", "crash", r.key)
			swapped := tt.swap(r, art)
			if len(swapped) != len(art) {
				t.Fatalf("the impostor's artifact has %d bytes, the hub's %d: want the same size", len(swapped), len(art))
			}
			c.mu.Lock()
			c.replace = swapped
			c.mu.Unlock()
			state, reason := r.result(r.push(art))
			if state != "refused" || !strings.Contains(reason, tt.reason) {
				t.Fatalf("%s: %s (%s), want refused with %q", tt.name, state, reason, tt.reason)
			}
			if got, _ := filepath.Glob(filepath.Join(r.root, "updates", "apps", testApp, "*")); len(got) > 0 || r.mode() != "ok" {
				t.Fatalf("after a refusal: staged %v, the app's folder says %q; want nothing staged and ok", got, r.mode())
			}
		})
	}
}
