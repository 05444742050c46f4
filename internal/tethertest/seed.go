package tethertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SeedNetwork is network.json exactly as the seed documents it,
// placeholders included (the acceptance checks' seed_root).
const SeedNetwork = `{
    "device": {
        "iam": "Device_1",
        "dev": "ESP32"
    },
    "ap": {
        "essid": "<device AP ssid>",
        "authmode": 3,
        "password": "<device AP password>",
        "hidden": false
    },
    "sta": {
        "ssid": "<AP ssid>",
        "pass": "<AP password>"
    },
    "wsserver": {
        "ip": "127.0.0.1",
        "host": "server.tld",
        "port": 7777,
        "path": "TS001"
    }
}
`

// SeedApp is app.json in the seed's format naming app, with every listener
// on 127.0.0.1 at the given ports.
func SeedApp(app string, httpPort, wsPort, homePort, echoPort int) string {
	return fmt.Sprintf(`{
    "app": %q,
    "echoserver": {
        "listen_addr": "127.0.0.1",
        "listen_port": %d
    },
    "demo": {
        "http": {
            "ip": "127.0.0.1",
            "port": %d
        },
        "websocket": {
            "ip": "127.0.0.1",
            "port": %d
        },
        "home": {
            "ip": "127.0.0.1",
            "port": %d
        }
    }
}
`, app, echoPort, httpPort, wsPort, homePort)
}

// SeedRoot writes a device root in the seed's format (SeedNetwork and
// SeedApp) into a new temporary folder and returns it. Its device
// password is DevicePassword.
func SeedRoot(t testing.TB, app string, httpPort, wsPort, homePort, echoPort int) string {
	t.Helper()
	return SeedRootApp(t, SeedApp(app, httpPort, wsPort, homePort, echoPort))
}

// SeedRootApp writes a device root of SeedNetwork and the app.json text
// appJSON into a new temporary folder and returns it, for a test that needs
// keys SeedApp does not write. Its device password is DevicePassword.
func SeedRootApp(t testing.TB, appJSON string) string {
	t.Helper()
	dir := t.TempDir()
	WriteFile(t, filepath.Join(dir, "network.json"), SeedNetwork)
	WriteFile(t, filepath.Join(dir, "app.json"), appJSON)
	SetDevicePassword(t, dir)
	return dir
}

// StrictAuth is the app.json text appJSON with "auth": "strict" as its
// first key: the device then asks its own user's local processes for the
// password too, this test process among them (it runs as the device's
// user, on loopback, which "auth" on trusts), so a test can see the
// refusal a client elsewhere gets.
func StrictAuth(appJSON string) string {
	return strings.Replace(appJSON, "{", `{"auth": "strict", `, 1)
}

// WriteFile writes text to path or fails the test.
func WriteFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
