package update

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tether/internal/wire"
)

// FuzzDecodeUpdate: CMD update's arguments, from any page through the hub:
// a request decoded by the device's own decoder either is refused with an
// error naming CMD update, or is a job with a 64-hex-digit SHA-256, a
// size within bounds and a short rollout name.
func FuzzDecodeUpdate(f *testing.F) {
	f.Add(`["CMD", "update", ["` + strings.Repeat("ab", 32) + `", 4096, "r-1"]]`)
	f.Add(`["CMD", "update", ["` + strings.Repeat("AB", 32) + `", 4096]]`)
	f.Add(`["CMD", "update", ["x", 1e300, null]]`)
	f.Add(`["CMD", "update", ["` + strings.Repeat("0", 64) + `", 1.5]]`)
	f.Fuzz(func(t *testing.T, msg string) {
		req, err := wire.Decode([]byte(msg))
		if err != nil {
			return
		}
		j, err := decodeUpdate(req)
		if err != nil {
			if !strings.Contains(err.Error(), "update") && !strings.Contains(err.Error(), "argument") {
				t.Fatalf("error %q does not say what it is about", err)
			}
			return
		}
		if len(j.SHA256) != 64 || strings.ToLower(j.SHA256) != j.SHA256 || j.Size < 1 || j.Size > maxArtifact || len(j.Rollout) > 64 || j.Phase != Downloading {
			t.Fatalf("accepted %+v from %s", j, msg)
		}
	})
}

// FuzzDownloadResponse: whatever the hub (or anything posing as it)
// answers a download with (status, Content-Range, body), the device's
// download never panics, and a download it takes as whole has exactly
// the bytes announced: any other answer is an error, tried again or
// refused, and the verification after it judges the bytes.
func FuzzDownloadResponse(f *testing.F) {
	want := bytes.Repeat([]byte("tether "), 90) // 630 bytes
	var mu sync.Mutex
	type answer struct {
		code int
		cr   string
		body []byte
	}
	var ans answer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := ans
		mu.Unlock()
		if a.cr != "" {
			w.Header().Set("Content-Range", a.cr)
		}
		w.WriteHeader(a.code)
		w.Write(a.body)
	}))
	f.Cleanup(srv.Close)
	f.Add(206, "bytes 100-629/630", want[100:], 100)
	f.Add(206, "bytes 100-629/630", want[50:], 100)
	f.Add(206, "bytes 0-629/630", want, 100)
	f.Add(200, "", want, 100)
	f.Add(200, "", append(bytes.Clone(want), 'x'), 0)
	f.Add(416, "", []byte{}, 630)
	f.Add(404, "", []byte("no"), 0)
	f.Add(503, "", []byte{}, 10)
	s := &Service{log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, code int, cr string, body []byte, have int) {
		if code < 200 || code > 599 {
			return // the test server's own limit, not the device's
		}
		size := int64(len(want))
		have = min(max(have, 0), int(size))
		mu.Lock()
		ans = answer{code, cr, body}
		mu.Unlock()
		part := filepath.Join(t.TempDir(), "a.part")
		if err := os.WriteFile(part, want[:have], 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := os.OpenFile(part, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s.get(ctx, srv.Client(), srv.URL, nil, file, int64(have), size); err != nil {
			return
		}
		if fi, err := file.Stat(); err != nil || fi.Size() != size {
			t.Fatalf("a download taken as whole holds %d bytes, want %d (%v)", fi.Size(), size, err)
		}
	})
}
