package recovery

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"tether/internal/config"
)

// Secrets in the config files (network.json's sta.pass and ap.password,
// app.json's demo.home.token: config.MaskSecrets) are masked wherever
// recovery shows the files: its page, GET /api/status, and GET status on
// the command protocol, locally and through a hub. A save that leaves a
// mask in place keeps the value on disk (unmask). The local page can show
// them, on request, to someone who proved access (mayReveal).

// unmask puts back into edited, a file's new text, each secret it still
// shows masked, from the file on disk; a masked secret the file has no
// value for is an error naming its key.
func (s *server) unmask(name string, edited []byte) ([]byte, error) {
	current, err := os.ReadFile(filepath.Join(s.root(), name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return config.UnmaskSecrets(name, edited, current)
}

// mayReveal reports whether r may see the config files' secrets: it must
// prove access to the device (package devauth: a session of the device's
// page, or the device password as bearer token), even where the device
// asks for no password, and come from the recovery page itself or a
// program (a cross-site page cannot read the answer). It is never reached
// over the command protocol, so neither a hub nor its pages can reveal a
// secret.
func (s *server) mayReveal(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return fmt.Errorf("show secrets: only the recovery page itself may ask, got a %s request", site)
	}
	if err := s.env.Auth.Proven(r); err != nil {
		return fmt.Errorf("show secrets: %w", err)
	}
	return nil
}
