package enroll

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"tether/internal/atomicfile"
	"tether/internal/config"
)

// Files enrollment writes in the device root (the key at mode 0600).
const (
	CertName = "hub-client" // certs/hub-client.crt and certs/hub-client.key
	CAFile   = "certs/hub-ca.crt"
)

// Install puts an enrollment's result in a device root: its key and
// certificate as certs/hub-client.key and .crt, the hub's CA as
// certs/hub-ca.crt (WriteCerts), and, in app.json, the home of the
// section its app is served by: the hub's host and port, tls on, that CA
// alone trusted (the pin), that certificate presented, and no token: the
// certificate is the device's credential from then on (AppJSON). The file
// is checked and saved as every config save is (config.Save: the previous
// version kept as app.json.bak). It returns the section it changed.
func Install(root string, r *Result) (string, error) {
	section, text, err := AppJSON(root, r)
	if err != nil {
		return "", err
	}
	if err := WriteCerts(root, r); err != nil {
		return "", err
	}
	if err := config.Save(root, config.AppFile, text); err != nil {
		return "", fmt.Errorf("enroll: %w", err)
	}
	return section, nil
}

// WriteCerts writes an enrollment's key (mode 0600), certificate and the
// hub's CA in the root's certs/ folder, where AppJSON's home names them.
func WriteCerts(root string, r *Result) error {
	if _, _, err := r.Pair.Write(filepath.Join(root, "certs"), CertName, true); err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	if err := atomicfile.Replace(filepath.Join(root, CAFile), r.CAPEM, 0o644); err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	return nil
}

// AppJSON returns the root's app.json text with the home of the section
// its app is served by calling the enrolled hub (r's Host and Port) over
// TLS with the files WriteCerts writes, and that section. Other keys are
// kept (its keys come out in sorted order); an absent app.json is the
// embedded default's.
func AppJSON(root string, r *Result) (section string, text []byte, err error) {
	cfg, _, err := config.Load(root)
	if err != nil {
		return "", nil, fmt.Errorf("enroll: the device root: %w", err)
	}
	section, _ = cfg.App.ServedBy()
	data, err := os.ReadFile(filepath.Join(root, config.AppFile))
	if os.IsNotExist(err) {
		data = config.DefaultFile(config.AppFile)
	} else if err != nil {
		return "", nil, fmt.Errorf("enroll: %w", err)
	}
	text, err = withHome(data, section, r)
	return section, text, err
}

// withHome returns app.json's text with section.home calling the enrolled
// hub over TLS with the enrolled certificate.
func withHome(data []byte, section string, r *Result) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("enroll: app.json: %w", err)
	}
	var sec map[string]json.RawMessage
	if raw, ok := top[section]; ok {
		if err := json.Unmarshal(raw, &sec); err != nil {
			return nil, fmt.Errorf("enroll: app.json: %s: %w", section, err)
		}
	}
	if sec == nil {
		sec = map[string]json.RawMessage{}
	}
	home := map[string]any{}
	if raw, ok := sec["home"]; ok {
		json.Unmarshal(raw, &home)
	}
	delete(home, "disabled")
	delete(home, "token") // the certificate is the credential: a token for another hub must not go to this one
	home["host"], home["port"], home["tls"] = r.Host, r.Port, true
	home["ca"], home["cert"], home["key"] = CAFile, "certs/"+CertName+".crt", "certs/"+CertName+".key"
	var err error
	if sec["home"], err = json.Marshal(home); err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	if top[section], err = json.Marshal(sec); err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	b, err := json.Marshal(top)
	if err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	var out bytes.Buffer
	json.Indent(&out, b, "", "    ")
	return append(out.Bytes(), '\n'), nil
}
