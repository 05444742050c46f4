package tethertest

import (
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"tether/internal/devauth"
	"tether/internal/login"
)

// DevicePassword is the device password of every root SeedRoot and
// SeedRootApp write: tests talk to the device's own page, command API and
// recovery with it (DeviceAuth), as a user would with the one the device
// showed at its first start. Browser scripts get it as
// TETHER_DEVICE_PASSWORD and log in with it (e2e/browser.mjs gotoDevice).
const DevicePassword = "tethertest-device-password"

var (
	hashOnce sync.Once
	hash     string
	hashErr  error
)

// SetDevicePassword makes DevicePassword the device password of root, as
// tether device passwd would (the bcrypt hash in root's device.passwd,
// mode 0600); the hash is made once per test process.
func SetDevicePassword(t testing.TB, root string) {
	t.Helper()
	hashOnce.Do(func() { hash, hashErr = login.HashPassword(DevicePassword) })
	if hashErr != nil {
		t.Fatal(hashErr)
	}
	if err := os.WriteFile(filepath.Join(root, devauth.File), []byte(hash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// DeviceAuth is the header that proves access to a device whose password
// is DevicePassword: "Authorization: Bearer <DevicePassword>". Extra
// "Key", "Value" pairs are added to it.
func DeviceAuth(kv ...string) http.Header {
	h := http.Header{"Authorization": {"Bearer " + DevicePassword}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// DeviceClient is an HTTP client that sends DeviceAuth with every
// request to a device.
var DeviceClient = &http.Client{Transport: deviceAuthTransport{}}

type deviceAuthTransport struct{}

func (deviceAuthTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+DevicePassword)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// PythonAuth is the Python expression of DeviceAuth's header, for
// websockets.connect(url, extra_headers=...) in test scripts.
const PythonAuth = `{"Authorization": "Bearer ` + DevicePassword + `"}`
