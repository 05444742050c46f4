package devauth_test

import (
	"net/http/httptest"
	"strconv"
	"testing"

	"tether/internal/config"
	"tether/internal/devauth"
)

// BenchmarkBearer measures Check for a script's request: the first with a
// password costs a bcrypt comparison, the next ones (known) only a
// SHA-256 and a stat of the password file; a wrong one always costs a
// bcrypt (wrong). off, the guard with "auth": "off", is the baseline.
func BenchmarkBearer(b *testing.B) {
	root := b.TempDir()
	const pw = "bench the device password"
	if err := devauth.SetPassword(root, pw); err != nil {
		b.Fatal(err)
	}
	g := devauth.New(devauth.Options{Root: root})
	g.Configure(config.AuthStrict)
	warm := httptest.NewRequest("GET", "/", nil)
	warm.Header.Set("Authorization", "Bearer "+pw)
	g.Check(warm) // the one bcrypt of a known password
	off := devauth.New(devauth.Options{Root: root})
	off.Configure(config.AuthOff)
	for _, c := range []struct {
		name, pw string
		g        *devauth.Guard
	}{{"off", pw, off}, {"known", pw, g}, {"wrong", "not the password", g}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				r := httptest.NewRequest("GET", "/", nil)
				r.RemoteAddr = "10.0." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255) + ":1" // past the throttle
				r.Header.Set("Authorization", "Bearer "+c.pw)
				if err := c.g.Check(r); (err == nil) != (c.pw == pw) {
					b.Fatalf("Check: %v", err)
				}
			}
		})
	}
}
