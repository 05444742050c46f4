package devauth_test

import (
	"fmt"
	"hash/fnv"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tether/internal/config"
	"tether/internal/devauth"
	"tether/internal/login"
)

// FuzzCredentials: no Authorization header and no cookie but the password and a
// session the guard made pass, whatever their bytes; none crashes it.
func FuzzCredentials(f *testing.F) {
	root := f.TempDir()
	const pw = "fuzz the device password"
	if err := devauth.SetPassword(root, pw); err != nil {
		f.Fatal(err)
	}
	g := devauth.New(devauth.Options{Root: root, ThrottleEvery: time.Millisecond})
	g.Configure(config.AuthStrict)
	for _, s := range []string{"Bearer " + pw, "bearer " + pw + " ", "Bearer " + pw + "x", "Basic Zm9vOmJhcg==", "Bearer", "", "Bearer \x00", "Bearer " + string(make([]byte, 100))} {
		f.Add(s, "")
	}
	f.Add("", devauth.CookieName+"=AAAA")
	f.Add("", devauth.CookieName+"=; "+devauth.CookieName+"=x")
	f.Fuzz(func(t *testing.T, auth, cookie string) {
		r := httptest.NewRequest("GET", "/", nil)
		h := fnv.New32a()
		h.Write([]byte(auth + cookie))
		r.RemoteAddr = fmt.Sprintf("10.%d.%d.1:1", h.Sum32()>>8&255, h.Sum32()&255) // spread over the throttle
		r.Header.Set("Authorization", auth)
		r.Header.Set("Cookie", cookie)
		if err := g.Check(r); err == nil && login.Bearer(r) != pw {
			t.Fatalf("Authorization %q, Cookie %q: accepted", auth, cookie)
		}
	})
}

// FuzzPasswordFile: whatever device.passwd holds, the guard neither
// crashes nor lets anyone in without the password it hashes; a file that
// holds no bcrypt hash locks everyone out until it is set again.
func FuzzPasswordFile(f *testing.F) {
	f.Add([]byte("$2a$10$abcdefghijklmnopqrstuu5/fake/hash/of/sixty/characters/xx\n"))
	f.Add([]byte(""))
	f.Add([]byte("\n\n"))
	f.Add([]byte("not a hash"))
	f.Add([]byte("$2a$04$" + string(make([]byte, 53))))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, devauth.File), data, 0o600); err != nil {
			t.Fatal(err)
		}
		g := devauth.New(devauth.Options{Root: root, HashCost: 4})
		g.Configure(config.AuthStrict)
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer not the password")
		if g.Check(r) == nil {
			t.Fatalf("file %q: a wrong password passes", data)
		}
		if g.Check(httptest.NewRequest("GET", "/", nil)) == nil {
			t.Fatalf("file %q: no credentials pass", data)
		}
	})
}
