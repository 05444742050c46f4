package hub

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"tether/internal/hub/access"
)

// Auth is the hub's credentials file (--auth):
//
//	{"devices": {"<id>": {"token": "...", "labels": ["kitchen"]}},
//	 "pages": [{"token": "...", "name": "grafana",
//	            "grants": [{"devices": ["kitchen-*", "label:floor2"], "verbs": ["view"]}]}],
//	 "users": {"alice": {"password": "$2a$12$...", "grants": [{"devices": ["*"], "verbs": ["admin"]}]}}}
//
// A token written "sha256:<hex>" is stored as the SHA-256 of the token and
// compared as a hash, so the file need not hold the secret itself. A page
// token without grants may do everything to every device (as before grants
// existed; the hub warns about it). A user's password is a bcrypt hash
// (tether hub passwd makes one).
type Auth struct {
	Devices map[string]DeviceEntry `json:"devices"`
	Pages   []PageEntry            `json:"pages"`
	Users   map[string]UserEntry   `json:"users,omitempty"`
}

// DeviceEntry is one device's credentials and labels. A device that
// cannot send a token (the seed's MicroPython firmware) may come in by a
// weaker rule instead: Alias, CIDR, or both (then both must hold).
type DeviceEntry struct {
	Token
	// Labels are the device's labels, for grants' label:NAME selectors
	// (beside those the device reports itself in its state).
	Labels []string `json:"labels,omitempty"`
	// Alias is an unguessable path (at least MinAlias characters of a
	// device id's): a device connecting to /<alias> is this device,
	// without a token.
	Alias string `json:"alias,omitempty"`
	// CIDR are address ranges a device connecting without a token must
	// come from ("192.168.1.0/24", "2001:db8::/32").
	CIDR []string `json:"cidr,omitempty"`
}

// MinAlias is the shortest path alias: 20 characters of the id alphabet
// (64 of them) hold 120 bits.
const MinAlias = 20

// weak reports whether the device may come in without credentials, by
// its alias or address range.
func (d DeviceEntry) weak() bool { return d.Alias != "" || len(d.CIDR) > 0 }

// checkRule checks the entry's alias and ranges.
func (d DeviceEntry) checkRule(id string, a *Auth) error {
	if d.Alias != "" {
		if len(d.Alias) < MinAlias || ValidID(d.Alias) != nil {
			return fmt.Errorf("alias: want at least %d letters, digits, '_', '-' or '.' (an unguessable path), got %d characters", MinAlias, len(d.Alias))
		}
		if _, clash := a.Devices[d.Alias]; clash {
			return errors.New("alias: is another device's id")
		}
		for other, o := range a.Devices {
			if other != id && o.Alias == d.Alias {
				return fmt.Errorf("alias: also %s's", other)
			}
		}
	}
	for i, c := range d.CIDR {
		if _, err := netip.ParsePrefix(c); err != nil {
			return fmt.Errorf("cidr[%d]: want an address range such as 192.168.1.0/24: %w", i, err)
		}
	}
	return nil
}

// PageEntry is one page token and what it may do.
type PageEntry struct {
	Token
	// Name names the token in the audit log and the hub's log; empty
	// means "token " and the start of the token's SHA-256.
	Name string `json:"name,omitempty"`
	// Grants are what the token may do; nil means everything.
	Grants []access.Grant `json:"grants,omitempty"`
}

// UserEntry is one dashboard user: a password (a bcrypt hash) and grants.
type UserEntry struct {
	Password string         `json:"password"`
	Grants   []access.Grant `json:"grants"`
}

// Token is one accepted token.
type Token struct {
	Token string `json:"token,omitempty"`
}

// Match reports whether presented is this token (in constant time).
func (t Token) Match(presented string) bool {
	if presented == "" || t.Token == "" {
		return false
	}
	return t.matchHash(sha256.Sum256([]byte(presented)))
}

// matchHash reports whether sum is the SHA-256 of this token (in
// constant time), so that a credential can be checked again from its hash
// alone when the auth file changes.
func (t Token) matchHash(sum [sha256.Size]byte) bool {
	if hexHash, ok := strings.CutPrefix(t.Token, "sha256:"); ok {
		want, err := hex.DecodeString(hexHash)
		if err != nil {
			return false
		}
		return subtle.ConstantTimeCompare(sum[:], want) == 1
	}
	if t.Token == "" {
		return false
	}
	own := sha256.Sum256([]byte(t.Token))
	return subtle.ConstantTimeCompare(sum[:], own[:]) == 1
}

// hashID names the token by the start of its SHA-256, for logs.
func (t Token) hashID() string {
	if h, ok := strings.CutPrefix(t.Token, "sha256:"); ok {
		return "token sha256:" + h[:8]
	}
	sum := sha256.Sum256([]byte(t.Token))
	return "token sha256:" + hex.EncodeToString(sum[:4])
}

func (t Token) check() error {
	if t.Token == "" {
		return errors.New("empty token")
	}
	if h, ok := strings.CutPrefix(t.Token, "sha256:"); ok {
		if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("sha256 token: want 64 hex digits, got %q", h)
		}
	}
	return nil
}

// LoadAuth reads and checks an auth file.
func LoadAuth(path string) (*Auth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read auth file: %w", err)
	}
	return ParseAuth(b, path)
}

// authShape is the file's shape, for errors.
const authShape = `want {"devices": {"<id>": {"token": "..."}}, "pages": [{"token": "...", "grants": [...]}], "users": {"<name>": {"password": "$2a$...", "grants": [...]}}}`

// ParseAuth decodes and checks an auth file's contents; name is used in errors.
func ParseAuth(b []byte, name string) (*Auth, error) {
	var a Auth
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%s: %w (%s)", name, err, authShape)
	}
	if err := a.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &a, nil
}

// check checks every entry; errors name the key.
func (a *Auth) check() error {
	for id, d := range a.Devices {
		if err := ValidID(id); err != nil {
			return fmt.Errorf("devices.%s: %w", id, err)
		}
		if err := d.check(); err != nil && (d.Token.Token != "" || !d.weak()) {
			return fmt.Errorf("devices.%s.token: %w (or an alias or cidr rule, for devices that cannot send one)", id, err)
		}
		if err := d.checkRule(id, a); err != nil {
			return fmt.Errorf("devices.%s.%w", id, err)
		}
		if err := access.CheckLabels(d.Labels); err != nil {
			return fmt.Errorf("devices.%s.labels%w", id, err)
		}
	}
	for i, p := range a.Pages {
		if err := p.check(); err != nil {
			return fmt.Errorf("pages[%d].token: %w", i, err)
		}
		if _, err := access.Compile(p.Grants); err != nil {
			return fmt.Errorf("pages[%d].grants%w", i, err)
		}
		if len(p.Name) > 64 || strings.ContainsFunc(p.Name, isControl) {
			return fmt.Errorf("pages[%d].name: want at most 64 characters and no control characters", i)
		}
	}
	for name, u := range a.Users {
		if err := checkUser(name, u); err != nil {
			return err
		}
	}
	return nil
}

// checkUser checks a user's name, password hash and grants.
func checkUser(name string, u UserEntry) error {
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, isControl) || strings.TrimSpace(name) != name {
		return fmt.Errorf("users.%q: want a name of 1-64 characters, no control characters or surrounding spaces", name)
	}
	if err := checkPasswordHash(u.Password); err != nil {
		return fmt.Errorf("users.%s.password: %w", name, err)
	}
	if u.Grants == nil {
		return fmt.Errorf(`users.%s.grants: missing, want a list such as [{"devices": ["*"], "verbs": ["view"]}]`, name)
	}
	if _, err := access.Compile(u.Grants); err != nil {
		return fmt.Errorf("users.%s.grants%w", name, err)
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
