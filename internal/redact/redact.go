// Package redact finds secrets in the command protocol's JSON messages, so
// that the hub never keeps or logs them: passwords, tokens, keys, private
// keys, and config files (whose text holds the device's WiFi password and
// hub token). Message masks them for the message log; State drops them
// from what the hub keeps as a device's state. Neither relies on the
// device to have masked anything itself: the seed's firmware and other
// devices send their secrets in the clear.
package redact

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"tether/internal/config"
)

// Masked is what a secret reads as once masked, the same mask a device
// uses for the secrets of its config files.
const Masked = config.Masked

// secretNames are key names (the last part of a flat key such as
// "wifi/sta/pass", or a member name) whose values are secrets.
var secretNames = []string{
	"pass", "passwd", "password", "passphrase", "psk", "token", "secret",
	"key", "private_key", "privkey", "api_key", "apikey", "secret_key", "access_key",
	"auth_token", "access_token", "refresh_token", "client_secret",
}

// secretSuffixes mark a secret too: "wifi_password", "hub-token".
var secretSuffixes = []string{"_pass", "_password", "_token", "_secret", "_key", "-password", "-token", "-secret", "-key"}

// SecretKey reports whether a key holds a secret: its last '/'-separated
// part, in any case, is a secret name.
func SecretKey(key string) bool {
	name := strings.ToLower(key[strings.LastIndexByte(key, '/')+1:])
	if slices.Contains(secretNames, name) {
		return true
	}
	for _, s := range secretSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// credentialArgs are the requests one of whose arguments is a secret,
// and which: the password of test_new_sta and store_new_sta, the one-time
// code (or the enrollment URI holding it) of enroll.
var credentialArgs = map[string]int{"test_new_sta": 1, "store_new_sta": 1, "enroll": 0}

// hints are the words, in lower case, one of which is in any text that
// could hold a secret.
var hints = []string{"pass", "psk", "token", "secret", "key", "auth", "_sta", "enroll"} // mayHold looks for "enroll" by itself

// mayHold is a quick test that lets most messages through untouched: it
// reports whether b holds one of the hints, in any case.
func mayHold[T string | []byte](b T) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] | 0x20 {
		case 'p', 't', 's', 'k', 'a', '_' | 0x20:
			for _, h := range hints {
				if hasFold(b[i:], h) {
					return true
				}
			}
		case 'e': // the one hint of its letter, and a frequent letter
			if hasFold(b[i:], "enroll") {
				return true
			}
		}
	}
	return false
}

// hasFold reports whether b starts with the lower-case ASCII word w, in any case.
func hasFold[T string | []byte](b T, w string) bool {
	if len(b) < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		c := b[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[j] {
			return false
		}
	}
	return true
}

// Message returns a message (JSON text) with every secret masked, and
// whether it masked anything; otherwise, and for text that is not JSON, it
// returns data itself. Masked are: the values of secret keys at any depth,
// the password argument of CMD test_new_sta and store_new_sta, the code of
// CMD enroll, private keys
// in PEM form, and the secrets inside config file text held in a string
// (recovery's and the operator items' files, a save_config argument).
func Message(data []byte) ([]byte, bool) {
	if !mayHold(data) {
		return data, false
	}
	v, ok := decode(data)
	if !ok {
		return data, false
	}
	m := &masker{}
	v = m.value(v)
	if arr, ok := v.([]any); ok {
		v = m.credentials(arr)
	}
	if !m.changed {
		return data, false
	}
	return encode(v), true
}

// masker walks a decoded message, masking what is secret.
type masker struct {
	changed bool
	drop    bool // remove secret members instead of masking them
}

func (m *masker) value(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			switch {
			case SecretKey(k) && !empty(e):
				m.changed = true
				if m.drop {
					delete(v, k)
				} else {
					v[k] = Masked
				}
			case m.drop && secretString(e):
				m.changed = true
				delete(v, k)
			default:
				v[k] = m.value(e)
			}
		}
	case []any:
		for i, e := range v {
			v[i] = m.value(e)
		}
	case string:
		return m.text(v)
	}
	return v
}

// text masks a string that is a private key or holds config file text.
func (m *masker) text(s string) any {
	if isPrivateKey(s) {
		m.changed = true
		return Masked
	}
	if !strings.Contains(s, `"`) || !mayHold(s) {
		return s
	}
	if masked := config.MaskSecrets([]byte(s)); !bytes.Equal(masked, []byte(s)) {
		m.changed = true
		return string(masked)
	}
	return s
}

// credentials masks the password of ["CMD", "store_new_sta", [ssid, pass]]
// and the code of ["CMD", "enroll", [code, ...]] (credentialArgs).
func (m *masker) credentials(arr []any) []any {
	if len(arr) != 3 {
		return arr
	}
	item, _ := arr[1].(string)
	args, _ := arr[2].([]any)
	if i, ok := credentialArgs[item]; ok && len(args) > i && !empty(args[i]) {
		args[i] = Masked
		m.changed = true
	}
	return arr
}

// secretString reports whether v is a string the state must not keep: a
// private key, or text with secrets in it.
func secretString(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	m := &masker{}
	m.text(s)
	return m.changed
}

func isPrivateKey(s string) bool {
	return strings.Contains(s, "-----BEGIN") && strings.Contains(s, "PRIVATE KEY-----")
}

// empty reports whether v is no secret worth hiding: null, "" or masked.
func empty(v any) bool { return v == nil || v == "" || v == Masked }

func decode(data []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return nil, false
	}
	return v, true
}

func encode(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Value returns a JSON value a device sent under a state key with every
// secret in it removed, or keep false when the whole value is a secret (a
// secret key, a private key, text holding secrets). The value is returned
// as it was when nothing was removed.
func Value(key string, raw []byte) (clean []byte, keep bool) {
	if SecretKey(key) {
		return nil, false
	}
	if !mayHold(raw) {
		return raw, true
	}
	v, ok := decode(raw)
	if !ok {
		return raw, true
	}
	if secretString(v) {
		return nil, false
	}
	m := &masker{drop: true}
	v = m.value(v)
	if !m.changed {
		return raw, true
	}
	return encode(v), true
}
