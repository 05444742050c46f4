package config

import (
	"strings"
	"testing"
)

const secretNetwork = `{
    "device": {"iam": "Device_1", "dev": "ESP32"},
    "ap": {"essid": "dev-ap", "authmode": 3, "password": "ap-secret-1", "hidden": false},
    "sta": {"ssid": "home", "pass": "wifi \"quoted\" secret"},
    "wsserver": {"ip": "", "host": "server.tld", "port": 7777, "path": "TS001"}
}
`

// Secrets are masked where they are, the rest of the file as it was;
// placeholders and empty values are not secrets.
func TestMaskSecrets(t *testing.T) {
	got := string(MaskSecrets([]byte(secretNetwork)))
	want := strings.NewReplacer(`"ap-secret-1"`, `"********"`, `"wifi \"quoted\" secret"`, `"********"`).Replace(secretNetwork)
	if got != want {
		t.Errorf("masked:\n%s\nwant:\n%s", got, want)
	}
	app := `{"app": "demo", "demo": {"home": {"ip": "1.2.3.4", "port": 7770, "token": "t0k3n", "key": "certs/device.key"}}}`
	if got := string(MaskSecrets([]byte(app))); strings.Contains(got, "t0k3n") || !strings.Contains(got, "certs/device.key") {
		t.Errorf("app.json masked: %s", got)
	}
	seed := `{"ap": {"password": "<device AP password>"}, "sta": {"pass": ""}}`
	if got := string(MaskSecrets([]byte(seed))); got != seed {
		t.Errorf("placeholders masked: %s", got)
	}
	// A broken file (a trailing comma) is masked all the same.
	broken := `{"sta": {"ssid": "home", "pass": "s3cret",},}`
	if got := string(MaskSecrets([]byte(broken))); strings.Contains(got, "s3cret") || !strings.Contains(got, `"pass": "********",}`) {
		t.Errorf("broken file masked: %s", got)
	}
}

// An edit that leaves the mask keeps the value on disk; a new value is
// taken as typed; a mask with nothing behind it is refused by key path.
func TestUnmaskSecrets(t *testing.T) {
	masked := MaskSecrets([]byte(secretNetwork))
	edited := strings.Replace(string(masked), `"ssid": "home"`, `"ssid": "office"`, 1)
	got, err := UnmaskSecrets(NetworkFile, []byte(edited), []byte(secretNetwork))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(secretNetwork, `"ssid": "home"`, `"ssid": "office"`, 1); string(got) != want {
		t.Errorf("unmasked:\n%s\nwant:\n%s", got, want)
	}
	typed := strings.Replace(string(masked), `"password": "********"`, `"password": "new-pass-2"`, 1)
	got, _ = UnmaskSecrets(NetworkFile, []byte(typed), []byte(secretNetwork))
	if !strings.Contains(string(got), `"new-pass-2"`) || !strings.Contains(string(got), `"wifi \"quoted\" secret"`) {
		t.Errorf("typed value: %s", got)
	}
	moved := `{"sta": {"ssid": "x", "pass": "ok"}, "extra": {"token": "********"}}`
	if _, err := UnmaskSecrets(NetworkFile, []byte(moved), []byte(secretNetwork)); err == nil || !strings.Contains(err.Error(), "extra.token") {
		t.Errorf("a mask with nothing behind it: %v", err)
	}
	// The file on the device does not parse (in recovery): a key found once
	// in it still gives its value.
	broken := `{"sta": {"ssid": "home", "pass": "s3cret",},}`
	got, err = UnmaskSecrets(NetworkFile, []byte(`{"sta": {"ssid": "home", "pass": "********"}}`), []byte(broken))
	if err != nil || string(got) != `{"sta": {"ssid": "home", "pass": "s3cret"}}` {
		t.Errorf("unmask against a broken file: %s, %v", got, err)
	}
	// Text that does not parse is returned for the validation to refuse.
	if got, err := UnmaskSecrets(NetworkFile, []byte(`{"pass": "********",}`), []byte(secretNetwork)); err != nil || string(got) != `{"pass": "********",}` {
		t.Errorf("broken edit: %s, %v", got, err)
	}
}

// FuzzMaskSecrets: masking never panics, never leaves a secret of a file
// that parses, and an untouched masked file unmasks back to the original.
func FuzzMaskSecrets(f *testing.F) {
	f.Add([]byte(secretNetwork))
	f.Add([]byte(`{"pass": "a\\"b", "x": ["password", {"token": "t"}]}`))
	f.Add([]byte(`{"pass": "s3cret",}`))
	f.Add([]byte(`{"pass": "a", "pass": "b"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		masked := MaskSecrets(data)
		if _, p := parse(&source{data: data}); p != nil {
			return
		}
		mtop, p := parse(&source{data: masked})
		if p != nil {
			t.Fatalf("masking broke a file that parsed: %v\n%q", p, masked)
		}
		walkSecrets(mtop, "", func(path string, n *node) {
			if isSecretValue(n.str) && n.str != Masked {
				t.Errorf("%s left in the masked text: %q", path, n.str)
			}
		})
		back, err := UnmaskSecrets(NetworkFile, masked, data)
		if err != nil {
			t.Fatalf("unmask of the untouched masked file: %v", err)
		}
		if string(back) != string(data) {
			t.Fatalf("unmask(mask(x)) != x:\n%q\n%q", back, data)
		}
	})
}
