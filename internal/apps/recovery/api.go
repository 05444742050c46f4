package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"tether/internal/apps"
	"tether/internal/apps/recovery/page"
	"tether/internal/cmdapi"
	"tether/internal/httpjson"
	"tether/internal/netif"
	"tether/internal/wire"
)

// fileView is one config file as the page shows it.
type fileView = page.File

// status is GET /api/status and what the page is rendered from.
type status struct {
	Recovery bool        `json:"recovery"`
	Reason   string      `json:"reason"`
	Device   string      `json:"device,omitempty"`
	Root     string      `json:"root"`
	Files    []fileView  `json:"files"`
	Log      []string    `json:"log"`
	Network  netif.State `json:"network"`
	APSSID   string      `json:"ap_ssid,omitempty"`
	TLS      tlsState    `json:"tls"`
}

// page is what the recovery page is rendered from.
func (st status) page() page.Data {
	return page.Data{Device: st.Device, Reason: st.Reason, Root: st.Root, Files: st.Files, Log: st.Log, TLS: st.TLS,
		Network: page.Network{Mode: st.Network.Mode, AP: st.Network.AP, APSSID: st.APSSID, LastError: st.Network.LastError}}
}

// status is what recovery shows; the config files' secrets are masked
// unless reveal.
func (s *server) status(reveal bool) status {
	st := status{Recovery: true, Reason: reasonText(s.env.Reason), Root: s.root(), TLS: s.tls}
	if s.env.Config != nil {
		st.Device = s.env.Config.Network.Device.IAm
	}
	for _, name := range files {
		text, note := s.readFile(name, reveal)
		st.Files = append(st.Files, fileView{Name: name, Text: text, Note: note})
	}
	if s.env.Log != nil {
		st.Log = s.env.Log.Lines()
	}
	if st.Log == nil {
		st.Log = []string{}
	}
	if n := s.env.Net; n != nil {
		st.Network = n.State()
		if st.Network.AP {
			st.APSSID = n.APConfig().SSID
		}
	}
	return st
}

// apiStatus is GET /api/status, the config files' secrets masked; with
// ?reveal=1 (the local page's "Show passwords"), unmasked for a request
// that may see them.
func (s *server) apiStatus(w http.ResponseWriter, r *http.Request) {
	reveal := r.URL.Query().Get("reveal") == "1"
	if reveal {
		if err := s.mayReveal(r); err != nil {
			httpjson.Error(w, http.StatusForbidden, err.Error())
			return
		}
		s.log.Info("config secrets shown on the local page", "remote", r.RemoteAddr)
	}
	httpjson.Write(w, http.StatusOK, s.status(reveal))
}

// apiSave is POST /api/config/{file}: the file's new text as JSON
// {"text": "..."}, as a form field text, or as the raw body.
func (s *server) apiSave(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	text, err := readText(w, r)
	if err != nil {
		code := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			code = http.StatusRequestEntityTooLarge
		}
		httpjson.Error(w, code, err.Error())
		return
	}
	warnings, err := s.save(name, text)
	if err != nil {
		code := http.StatusUnprocessableEntity
		if s.root() == "" {
			code = http.StatusConflict
		}
		httpjson.Error(w, code, err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"saved": name, "info": savedInfo(name, "restart", warnings), "warnings": warnings})
}

// readText reads a save request's text, bounded by maxBody.
func readText(w http.ResponseWriter, r *http.Request) (string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var body struct {
			Text *string `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return "", fmt.Errorf("read request: want JSON {\"text\": \"...\"}: %w", err)
		}
		if body.Text == nil {
			return "", errors.New(`read request: want JSON {"text": "..."}, got no "text"`)
		}
		return *body.Text, nil
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := r.ParseMultipartForm(maxBody); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return "", fmt.Errorf("read form: %w", err)
		}
		if !r.Form.Has("text") {
			return "", errors.New("read form: want a field named text")
		}
		return r.FormValue("text"), nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return "", fmt.Errorf("read request: %w", err)
	}
	return string(b), nil
}

// apiRestart is POST /api/restart: answer, then boot again.
func (s *server) apiRestart(w http.ResponseWriter, r *http.Request) {
	if s.env.Restart == nil {
		httpjson.Error(w, http.StatusConflict, "this recovery runs outside a device: nothing to restart")
		return
	}
	httpjson.Write(w, http.StatusAccepted, map[string]string{"info": "restarting: the device boots again"})
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	s.restart()
}

// state is the command protocol's state object.
func (s *server) state() wire.Message {
	m := wire.Message{"recovery": true, "recovery/reason": reasonText(s.env.Reason), "app": "recovery", "version": apps.VersionText(s.env.Version)}
	if c := s.env.Config; c != nil {
		m["iam"], m["dev"] = c.Network.Device.IAm, c.Network.Device.Dev
		if ls := c.Network.Device.Labels; len(ls) > 0 {
			m["labels"] = ls
		}
		m["recovery/app"] = c.App.Name
	}
	if n := s.env.Net; n != nil {
		st := n.State()
		m["wifi/mode"], m["wifi/ap/active"] = st.Mode, st.AP
	}
	if s.tls.On {
		m["tls/fingerprint"] = s.tls.Fingerprint
	}
	s.env.Ops.AddState(m)
	return m
}

// cmdStatus is GET status: the reason, the log and the files.
func (s *server) cmdStatus(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	st := s.status(false) // over the command protocol, local or through a hub: always masked
	m := wire.Message{"recovery/reason": st.Reason, "recovery/root": st.Root, "recovery/log": st.Log}
	for _, f := range st.Files {
		m["recovery/file/"+f.Name] = f.Text
		if f.Note != "" {
			m["recovery/file/"+f.Name+"/note"] = f.Note
		}
	}
	reply(m)
	return nil
}

// cmdSave is CMD save_config [file, text].
func (s *server) cmdSave(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs("file", "text"); err != nil {
		return err
	}
	name, err := req.StringArg(0, "file")
	if err != nil {
		return err
	}
	text, err := req.StringArg(1, "text")
	if err != nil {
		return err
	}
	warnings, err := s.save(name, text)
	if err != nil {
		return err
	}
	reply(wire.Message{"info": savedInfo(name, "CMD restart", warnings), "recovery/saved": name, "recovery/warnings": warnings})
	return nil
}

// savedInfo says a file was saved, how to apply it, and its warnings.
func savedInfo(name, restart string, warnings []string) string {
	return strings.Join(append([]string{"saved " + name + "; " + restart + " to apply it"}, warnings...), "\n")
}

// cmdRestart is CMD restart.
func (s *server) cmdRestart(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs(); err != nil {
		return err
	}
	if s.env.Restart == nil {
		return errors.New("CMD restart: this recovery runs outside a device, nothing to restart")
	}
	reply(wire.Info("restarting: the device boots again"))
	cmdapi.AfterReply(ctx, s.restart)
	return nil
}
