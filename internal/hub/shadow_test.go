package hub

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// replayed connects a new page of id and returns the shadow it is sent
// first, decoded; nil when its first message is the presence notice.
func replayed(t *testing.T, h *testHub, id string) map[string]any {
	t.Helper()
	p := dial(t, h.pageURL+id, h.authHeader())
	_, first := p.Read()
	var m map[string]any
	if err := json.Unmarshal([]byte(first), &m); err != nil {
		t.Fatalf("first message of a new page: %q: %v", first, err)
	}
	if _, ok := m["hub/device/connected"]; ok {
		return nil
	}
	if m["hub/shadow/replayed"] != true {
		t.Fatalf("first message of a new page %s: want it marked \"hub/shadow/replayed\": true", first)
	}
	if age, ok := m["hub/shadow/age"].(float64); !ok || age < 0 || age > 60 {
		t.Fatalf("first message of a new page %s: want \"hub/shadow/age\" in seconds", first)
	}
	return m
}

// sendAll sends msgs from dev and waits until a watching page has them all.
func sendAll(t *testing.T, dev, watcher *tethertest.WS, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		dev.Send(m)
		watcher.ExpectExact(m)
	}
}

func TestShadowKeepsStateNotEvents(t *testing.T) {
	h := startHub(t, Options{})
	dev := dial(t, h.devURL+"dev1", nil)
	w := dial(t, h.pageURL+"dev1", nil)
	w.Expect("online", hasKey("hub/device/connected", true))
	sendAll(t, dev, w,
		`{"iam": "dev1", "app": "demo", "fake_interface/running": true}`,
		`{"info": "wifi status follows"}`,
		`{"wifi/net/ip": "10.0.0.7"}`,
		`{"error": "fake_interface is not running"}`,
		`{"fake_interface/msg": "HELLO"}`,
		`{"uart/line": "boot ok"}`,
		`{"log/recent": ["a", "b"], "log/dropped": 3}`,
		`{"config/file/app.json": "{}"}`,
		`{"wifi/test/result": "Fail"}`,
		`{"wifi/store/result": "Success"}`,
		`{"wifi/scan": [{"ssid": "cafe", "signal": 31, "secure": false}]}`,
		`{"sys/uptime": 12, "hub/device/connected": false}`,
	)
	m := replayed(t, h, "dev1")
	updated := m["hub/shadow/updated"]
	sendAll(t, dev, w, `{"info": "later"}`, `{"fake_interface/msg": "LATER"}`)
	if again := replayed(t, h, "dev1"); again["hub/shadow/updated"] != updated {
		t.Errorf("events moved the shadow's time from %v to %v, want it left as it was", updated, again["hub/shadow/updated"])
	}
	for _, k := range []string{"iam", "app", "fake_interface/running", "wifi/net/ip", "sys/uptime"} {
		if _, ok := m[k]; !ok {
			t.Errorf("state key %q missing from the shadow %v", k, m)
		}
	}
	for k := range m {
		if event(k) && !strings.HasPrefix(k, "hub/shadow/") {
			t.Errorf("the shadow holds the event or reply key %q: %v", k, m)
		}
	}
	for _, k := range []string{"info", "error", "fake_interface/msg", "uart/line", "log/recent", "log/dropped",
		"config/file/app.json", "wifi/test/result", "wifi/store/result", "wifi/scan", "hub/device/connected"} {
		if _, ok := m[k]; ok {
			t.Errorf("the shadow holds %q, a reply to one page's request or an event: %v", k, m)
		}
	}
}

// TestShadowIsReplacedByStateAndReconnects: a state object (with "iam")
// replaces the last one whole, and a device's new connection starts a new
// shadow, so after a repair nothing of recovery stays.
func TestShadowIsReplacedByStateAndReconnects(t *testing.T) {
	h := startHub(t, Options{})
	dev := dial(t, h.devURL+"dev1", nil)
	w := dial(t, h.pageURL+"dev1", nil)
	w.Expect("online", hasKey("hub/device/connected", true))
	sendAll(t, dev, w,
		`{"iam": "dev1", "app": "recovery", "recovery": true, "recovery/reason": "unknown app"}`,
		`{"recovery/root": "/data", "wifi/net/ip": "10.0.0.7"}`,
		`{"iam": "dev1", "app": "recovery", "recovery/reason": "still"}`)
	m := replayed(t, h, "dev1")
	if _, ok := m["recovery"]; ok || m["recovery/reason"] != "still" || m["wifi/net/ip"] != "10.0.0.7" {
		t.Errorf("after a second state object: %v, want its keys and the data keys, without the first's \"recovery\"", m)
	}
	dev.Conn.CloseNow()
	w.Expect("offline", hasKey("hub/device/connected", false))
	if m := replayed(t, h, "dev1"); m["recovery/reason"] != "still" {
		t.Errorf("an offline device's shadow: %v, want the last state kept", m)
	}
	dev = dial(t, h.devURL+"dev1", nil)
	w.Expect("online", hasKey("hub/device/connected", true))
	sendAll(t, dev, w, `{"iam": "dev1", "app": "demo", "fake_interface/running": false}`)
	m = replayed(t, h, "dev1")
	for k := range m {
		if strings.HasPrefix(k, "recovery") || k == "wifi/net/ip" {
			t.Errorf("after the device reconnected the shadow still holds %q: %v", k, m)
		}
	}
	_, body := get(t, h.httpURL+"/api/devices/dev1", nil)
	if strings.Contains(body, "recovery") || !strings.Contains(body, `"app": "demo"`) || !strings.Contains(body, `"shadow_age_s"`) {
		t.Errorf("/api/devices/dev1 after the repair: %s", body)
	}
}

func TestShadowDropsSecrets(t *testing.T) {
	h := startHub(t, Options{})
	dev := dial(t, h.devURL+"dev1", nil)
	w := dial(t, h.pageURL+"dev1", nil)
	w.Expect("online", hasKey("hub/device/connected", true))
	file, _ := json.Marshal(`{"sta": {"ssid": "home", "pass": "wifi-pass"}, "demo": {"home": {"token": "hub-token"}}}`)
	sendAll(t, dev, w,
		`{"iam": "dev1", "wifi/sta/pass": "wifi-pass", "home/token": "hub-token", "sta": {"ssid": "home", "pass": "wifi-pass"}}`,
		`{"recovery/file/network.json": `+string(file)+`, "recovery/reason": "x"}`,
		`{"tls/key": "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----", "notes": `+string(file)+`}`)
	m := replayed(t, h, "dev1")
	b, _ := json.Marshal(m)
	_, api := get(t, h.httpURL+"/api/devices/dev1", nil)
	for _, secret := range []string{"wifi-pass", "hub-token", "PRIVATE KEY"} {
		if strings.Contains(string(b), secret) || strings.Contains(api, secret) {
			t.Errorf("the secret %q is in the shadow: %s\n/api/devices/dev1: %s", secret, b, api)
		}
	}
	if sta, _ := m["sta"].(map[string]any); sta["ssid"] != "home" || m["recovery/reason"] != "x" {
		t.Errorf("the shadow lost what is not secret: %s", b)
	}
}

// TestShadowIsBounded: a device cannot make its shadow bigger than
// ShadowKeys and ShadowBytes, nor a new page's first message bigger than
// the message limit; offline shadows are bounded in total.
func TestShadowIsBounded(t *testing.T) {
	h := startHub(t, Options{MaxMessage: 8 << 10, ShadowKeys: 20, OfflineBytes: 12 << 10})
	for d := range 3 {
		id := fmt.Sprint("big", d)
		dev := dial(t, h.devURL+id, nil)
		w := dial(t, h.pageURL+id, nil)
		w.Expect("online", hasKey("hub/device/connected", true))
		for i := range 30 {
			sendAll(t, dev, w, fmt.Sprintf(`{"k%02d": %q}`, i, strings.Repeat("v", 1000)))
		}
		sendAll(t, dev, w, fmt.Sprintf(`{"huge": %q}`, strings.Repeat("h", 7000)))
		p := dial(t, h.pageURL+id, nil)
		_, first := p.Read()
		var m map[string]any
		json.Unmarshal([]byte(first), &m)
		if len(first) > 8<<10 || len(m) == 0 || len(m) > 20+3 {
			t.Errorf("%s: a new page's first message is %d bytes with %d keys, want at most 8 KiB and 20 state keys", id, len(first), len(m))
		}
		if _, ok := m["huge"]; ok {
			t.Errorf("%s: a value that does not fit beside the others was kept", id)
		}
		dev.Conn.CloseNow()
		w.Expect("offline", hasKey("hub/device/connected", false))
	}
	if n := counterValue(t, h, "tether_hub_shadow_keys_dropped_total"); n < 3*(30-7) {
		t.Errorf("tether_hub_shadow_keys_dropped_total = %v, want the keys past the bound counted", n)
	}
	waitFor(t, "the oldest offline device forgotten", func() bool { return h.record("big0") == nil })
	if h.record("big2") == nil {
		t.Error("the newest offline device was forgotten")
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.offlineBytes > 12<<10 {
		t.Errorf("offline shadows hold %d bytes, over the 12 KiB bound", h.offlineBytes)
	}
}

// BenchmarkShadowUpdate: what keeping a device message in the shadow
// costs, against decoding it alone (all the hub's shadow did before it
// told state from events and dropped secrets).
func BenchmarkShadowUpdate(b *testing.B) {
	msgs := map[string]string{
		"state":  `{"app":"demo","dev":"ESP32","fake_interface/running":false,"iam":"Device_1","net/backend":"sim","net/error":"","net/mode":"ap","version":"dev"}`,
		"event":  `{"fake_interface/msg": "HELLO WORLD"}`,
		"4KiB":   `{"blob": "` + strings.Repeat("x", 4096) + `"}`,
		"secret": `{"wifi/sta/pass": "hunter2", "wifi/sta/ssid": "home"}`,
	}
	lim := shadowLimits{keys: 1024, bytes: 64 << 10}
	for _, name := range []string{"state", "event", "4KiB", "secret"} {
		msg := []byte(msgs[name])
		b.Run("shadow/"+name, func(b *testing.B) {
			var s shadow
			now := time.Now()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				s.update(msg, now, lim)
			}
		})
		b.Run("decode-only/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				var m map[string]json.RawMessage
				json.Unmarshal(msg, &m)
			}
		})
	}
}
