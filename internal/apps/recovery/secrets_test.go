package recovery_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"tether/internal/config"
)

// secretNetwork is network.json holding a WiFi password and an access
// point password.
const secretNetwork = `{
    "device": {"iam": "Device_1", "dev": "ESP32"},
    "ap": {"essid": "gh", "authmode": 3, "password": "ap-secret-22", "hidden": false},
    "sta": {"ssid": "home", "pass": "wifi-secret-1"}
}
`

// TestSecretsMasked: recovery shows the config files with their secrets
// masked on its page, GET /api/status and GET status; only the page's own
// GET /api/status?reveal=1 shows them; a save that keeps the mask keeps
// the value on disk.
func TestSecretsMasked(t *testing.T) {
	r := start(t, errors.New(`unknown app "nosuchapp"`))
	write(t, r.root, config.NetworkFile, secretNetwork)
	secrets := []string{"wifi-secret-1", "ap-secret-22"}
	noSecrets := func(where, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows %q:\n%.600s", where, s, text)
			}
		}
		if !strings.Contains(text, config.Masked) {
			t.Errorf("%s shows no mask:\n%.600s", where, text)
		}
	}
	_, page := do(t, "GET", r.url+"/", nil, "")
	noSecrets("the page", page)
	_, status := do(t, "GET", r.url+"/api/status", nil, "")
	noSecrets("GET /api/status", status)
	c := dial(t, r.wsURL(), nil)
	c.Request("GET", "status", []any{})
	m := c.ExpectKey("recovery/file/network.json", nil)
	noSecrets("GET status", m["recovery/file/network.json"].(string))

	code, shown := do(t, "GET", r.url+"/api/status?reveal=1", http.Header{"Sec-Fetch-Site": {"same-origin"}}, "")
	if code != 200 || !strings.Contains(shown, "wifi-secret-1") || !strings.Contains(shown, "ap-secret-22") {
		t.Errorf("reveal from the page: %d %.300s", code, shown)
	}
	if code, body := do(t, "GET", r.url+"/api/status?reveal=1", http.Header{"Sec-Fetch-Site": {"cross-site"}}, ""); code != 403 || strings.Contains(body, "wifi-secret-1") {
		t.Errorf("reveal from another site: %d %.300s, want 403", code, body)
	}

	// Save the masked text with one change: the secrets stay.
	masked := m["recovery/file/network.json"].(string)
	c.Request("CMD", "save_config", []any{"network.json", strings.Replace(masked, `"ESP32"`, `"rpi4"`, 1)})
	c.ExpectKey("recovery/saved", nil)
	got := read(t, r.root, config.NetworkFile)
	if !strings.Contains(got, `"rpi4"`) || !strings.Contains(got, `"wifi-secret-1"`) || !strings.Contains(got, `"ap-secret-22"`) {
		t.Errorf("after a save keeping the mask:\n%s", got)
	}
	// A new value replaces the old; a mask where the file has no value is refused.
	c.Request("CMD", "save_config", []any{"network.json", strings.Replace(masked, `"pass": "`+config.Masked+`"`, `"pass": "wifi-secret-new"`, 1)})
	c.ExpectKey("recovery/saved", nil)
	if got := read(t, r.root, config.NetworkFile); !strings.Contains(got, `"wifi-secret-new"`) || !strings.Contains(got, `"ap-secret-22"`) {
		t.Errorf("after a save with a new password:\n%s", got)
	}
	c.Request("CMD", "save_config", []any{"app.json", strings.Replace(seedApp("demo"), `"port": 7770`, `"port": 7770, "token": "`+config.Masked+`"`, 1)})
	if m := c.ExpectKey("error", nil); !strings.Contains(m["error"].(string), "demo.home.token") {
		t.Errorf("a mask with nothing to keep: got %v, want an error naming demo.home.token", m)
	}
}
