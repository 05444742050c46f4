package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tether/internal/atomicfile"
	"tether/internal/callhome"
	"tether/internal/config"
)

// Where downloads go, under the root.
const downloadDir = "updates/download"

// stallTimeout ends a download that has received nothing for this long;
// the next attempt resumes it.
const stallTimeout = 60 * time.Second

// refusal is an error that ends the job as refused: trying again would
// not help.
type refusal struct{ error }

func refuse(format string, args ...any) error { return refusal{fmt.Errorf(format, args...)} }

func (s *Service) partPath(sha string) string {
	return filepath.Join(s.opts.Root, downloadDir, sha+".part")
}

func (s *Service) artifactPath(sha string) string {
	return filepath.Join(s.opts.Root, downloadDir, sha+".tether")
}

// fetch downloads j's artifact, then verifies and stages it. It returns
// how long to wait before trying again after a failure that may pass (the
// hub unreachable), 0 once the job moved on.
func (s *Service) fetch(ctx context.Context, j *job) time.Duration {
	if _, err := os.Stat(s.artifactPath(j.SHA256)); err != nil {
		if err := s.download(ctx, j); err != nil {
			var r refusal
			if errors.As(err, &r) {
				s.refuse(j, r.Error())
				return 0
			}
			if ctx.Err() != nil {
				return 0
			}
			delay := s.retry.Next()
			s.log.Warn("update download failed: trying again", "sha256", j.SHA256, "err", err, "in", delay.Round(time.Second).String())
			return delay
		}
	}
	s.retry.Reset()
	m, err := s.verify(j)
	if err != nil {
		s.refuse(j, err.Error())
		return 0
	}
	if err := s.stage(j, m); err != nil {
		s.refuse(j, err.Error())
		return 0
	}
	return time.Millisecond // on to the switch
}

// download fetches j's artifact from the hub into its .part file,
// resuming after what is there, and renames it whole.
func (s *Service) download(ctx context.Context, j *job) error {
	u, client, header, err := s.source(j.SHA256)
	if err != nil {
		return err
	}
	part := s.partPath(j.SHA256)
	if err := os.MkdirAll(filepath.Dir(part), 0o755); err != nil {
		return refuse("make %s: %v", downloadDir, err)
	}
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return refuse("download: %v", err)
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil || have > j.Size {
		have = 0
	}
	have, err = s.get(ctx, client, u, header, f, have, j.Size)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if err := os.Rename(part, s.artifactPath(j.SHA256)); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	s.log.Info("update downloaded", "sha256", j.SHA256, "bytes", j.Size, "resumed_at", have)
	return atomicfile.SyncDir(filepath.Dir(part))
}

// get asks for the bytes from have on and writes them to f from where the
// hub's answer starts (have, or 0 for a whole file), which it returns.
func (s *Service) get(ctx context.Context, client *http.Client, u string, header http.Header, f *os.File, have, size int64) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return have, refuse("download: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := client.Do(req)
	if err != nil {
		return have, fmt.Errorf("download %s: %w", redactURL(u), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", have)):
	case resp.StatusCode == http.StatusOK:
		have = 0 // the whole file: start again
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have == size:
		return have, nil
	case resp.StatusCode == http.StatusNotFound:
		return have, refuse("the hub has no artifact %s (404)", short(lastPart(u)))
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout:
		return have, refuse("the hub refused the download: %s", resp.Status)
	default:
		return have, fmt.Errorf("download: the hub answered %s", resp.Status)
	}
	if err := f.Truncate(have); err != nil {
		return have, refuse("download: %v", err)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return have, refuse("download: %v", err)
	}
	stall := time.AfterFunc(stallTimeout, func() { cancel(errors.New("nothing received for " + stallTimeout.String())) })
	defer stall.Stop()
	body := &watchdog{r: io.LimitReader(resp.Body, size-have+1), t: stall}
	if s.opts.Hold == "download" {
		n, _ := io.CopyN(f, body, (size-have)/2)
		f.Sync()
		s.log.Info("update: downloaded part", "bytes", have+n)
		if s.hold("download") {
			return have, errors.New("held")
		}
	}
	n, err := io.Copy(f, body)
	switch {
	case have+n > size:
		f.Truncate(0)
		return have, refuse("the hub sent more than the %d bytes announced", size)
	case err != nil:
		return have, fmt.Errorf("download: after %d bytes: %w", have+n, errors.Join(err, context.Cause(ctx)))
	case have+n < size:
		return have, fmt.Errorf("download: cut short at %d of %d bytes", have+n, size)
	}
	return have, nil
}

// watchdog pushes its timer back on every read that brings bytes.
type watchdog struct {
	r io.Reader
	t *time.Timer
}

func (w *watchdog) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.t.Reset(stallTimeout)
	}
	return n, err
}

// source is where and how the device downloads an artifact: from the hub
// it calls home to, over the same origin (http for ws, https for wss),
// with the same TLS settings and token.
func (s *Service) source(sha string) (string, *http.Client, http.Header, error) {
	cfg, _, err := config.Load(s.opts.Root)
	if err != nil {
		return "", nil, nil, refuse("the config does not load, so the hub is not known: %v", err)
	}
	opts, ok, err := callhome.FromConfig(cfg)
	if err != nil {
		return "", nil, nil, refuse("%v", err)
	}
	if !ok {
		return "", nil, nil, refuse("calling home is off (no hub in app.json): nowhere to download from")
	}
	u, err := ArtifactURL(opts.URL, sha)
	if err != nil {
		return "", nil, nil, refuse("%v", err)
	}
	tr := &http.Transport{TLSClientConfig: opts.TLS, ResponseHeaderTimeout: 30 * time.Second,
		TLSHandshakeTimeout: 15 * time.Second, IdleConnTimeout: 30 * time.Second}
	return u, &http.Client{Transport: tr}, opts.Header, nil
}

// ArtifactURL is where a device whose call-home URL is home
// ("wss://hub:7770/Device_1") downloads the artifact sha:
// "https://hub:7770/Device_1/artifacts/<sha>".
func ArtifactURL(home, sha string) (string, error) {
	u, err := url.Parse(home)
	if err != nil {
		return "", fmt.Errorf("call-home URL %q: %w", home, err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("call-home URL %q: want ws:// or wss://", home)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/artifacts/" + sha
	u.RawPath = ""
	return u.String(), nil
}

func lastPart(u string) string { return u[strings.LastIndexByte(u, '/')+1:] }

// redactURL is u without any user information, for errors.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "the hub"
	}
	p.User = nil
	return p.String()
}
