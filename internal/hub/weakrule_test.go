package hub

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

const seedAlias = "k3J9xQ2mZp7LwR4tV8yB1n"

func weakHub(t *testing.T) (*testHub, *syncBuf) {
	t.Helper()
	a, err := ParseAuth([]byte(`{"devices": {
		"esp-alias": {"alias": "`+seedAlias+`"},
		"esp-local": {"cidr": ["127.0.0.0/8", "::1/128"]},
		"esp-far":   {"cidr": ["10.0.0.0/8"]},
		"esp-both":  {"alias": "`+strings.ToUpper(seedAlias)+`", "cidr": ["10.0.0.0/8"]},
		"dev-token": {"token": "t"}},
		"pages": [{"token": "root"}]}`), "auth.json")
	if err != nil {
		t.Fatal(err)
	}
	log := &syncBuf{}
	h := startHub(t, Options{Auth: a, Logger: slog.New(slog.NewTextHandler(log, nil))})
	h.pageToken = "root"
	return h, log
}

func TestWeakerRulesForDevicesWithoutCredentials(t *testing.T) {
	h, log := weakHub(t)
	tests := []struct {
		name, path string
		want       int
	}{
		{"alias device by its id", "esp-alias", http.StatusUnauthorized},
		{"alias device by its alias", seedAlias, http.StatusSwitchingProtocols},
		{"a wrong alias", seedAlias[:len(seedAlias)-1] + "x", http.StatusUnauthorized},
		{"in its address range", "esp-local", http.StatusSwitchingProtocols},
		{"outside its address range", "esp-far", http.StatusUnauthorized},
		{"alias but outside the range", strings.ToUpper(seedAlias), http.StatusUnauthorized},
		{"a token device without its token", "dev-token", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		if got := dialStatus(t, h.devURL+tt.path, nil); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	p := dial(t, h.pageURL+"esp-alias", bearerHeader("root"))
	p.Expect("the alias device is online under its id", hasKey("hub/device/connected", true))
	seed := dial(t, h.devURL+seedAlias, nil) // replaces the first
	p.Expect("online again", hasKey("hub/device/connected", true))
	seed.Send(`{"iam": "` + seedAlias + `", "dev": "ESP32"}`)
	p.ExpectExact(`{"iam": "esp-alias", "dev": "ESP32"}`)
	if _, body := get(t, h.httpURL+"/api/devices", h.authHeader()); strings.Contains(body, seedAlias) {
		t.Errorf("/api/devices shows the alias:\n%s", body)
	}
	waitFor(t, "the rule connections logged", func() bool { return strings.Count(log.String(), "by a weaker rule\" component") >= 3 })
	out := log.String()
	for _, want := range []string{`device may connect without credentials, by a weaker rule`, `device=esp-alias alias=true`,
		`device=esp-local alias=false cidr=127.0.0.0/8,::1/128`, `device connected without credentials, by a weaker rule" component=hub device=esp-alias`, `rule=alias`, `rule="address range"`} {
		if !strings.Contains(out, want) {
			t.Errorf("hub log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, seedAlias) {
		t.Errorf("the hub logged an alias:\n%s", out)
	}
}

func TestParseAuthWeakRules(t *testing.T) {
	tests := []struct{ file, want string }{
		{`{"devices": {"d": {}}}`, "devices.d.token: empty token (or an alias or cidr rule"},
		{`{"devices": {"d": {"alias": "short"}}}`, "devices.d.alias: want at least 20"},
		{`{"devices": {"d": {"alias": "` + seedAlias + `/x"}}}`, "devices.d.alias: want at least 20"},
		{`{"devices": {"d": {"alias": "` + seedAlias + `"}, "e": {"alias": "` + seedAlias + `"}}}`, "alias: also"},
		{`{"devices": {"d": {"alias": "` + seedAlias + `"}, "` + seedAlias + `": {"token": "t"}}}`, "alias: is another device's id"},
		{`{"devices": {"d": {"cidr": ["10.0.0.0/33"]}}}`, "devices.d.cidr[0]: want an address range"},
	}
	for _, tt := range tests {
		_, err := ParseAuth([]byte(tt.file), "auth.json")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseAuth(%s) = %v, want %q", tt.file, err, tt.want)
		}
	}
}

func TestReloadEndsWeakerRules(t *testing.T) {
	h, path := fileHub(t, `{"devices": {"esp-a": {"alias": "`+seedAlias+`"}, "esp-c": {"cidr": ["127.0.0.0/8"]}}, "pages": [{"token": "root"}]}`)
	a := dial(t, h.devURL+seedAlias, nil)
	c := dial(t, h.devURL+"esp-c", nil)
	changed := time.Now()
	writeAuth(t, path, `{"devices": {"esp-a": {"alias": "`+strings.ToLower(seedAlias)+`"}, "esp-c": {"cidr": ["10.0.0.0/8"]}}, "pages": [{"token": "root"}]}`)
	closedWithin(t, a, changed, time.Second, codeRevoked, reasonRevoked)
	closedWithin(t, c, changed, time.Second, codeRevoked, reasonRevoked)
	dial(t, h.devURL+strings.ToLower(seedAlias), nil)
}
