package hub

import (
	"crypto/x509"
	"fmt"
	"maps"
	"math/big"
	"sync"
	"time"

	"tether/internal/atomicfile"
	"tether/internal/certs"
)

// Enrolled is one enrolled device's certificate as the hub records it
// (the enrolled file, Options.EnrollFile): only the certificate recorded
// for an id is accepted for it, so taking the entry out revokes it.
type Enrolled struct {
	Serial      string    `json:"serial"` // hex
	Fingerprint string    `json:"fingerprint_sha256"`
	Issued      time.Time `json:"issued"`
	Expires     time.Time `json:"expires"`
	// By is who made the code it enrolled with.
	By string `json:"by"`
}

// enrolledSet is the enrolled file in memory.
type enrolledSet struct {
	path string
	mu   sync.Mutex
	m    map[string]Enrolled
}

// loadEnrolled reads the enrolled file; a missing file is an empty set.
func loadEnrolled(path string) (*enrolledSet, error) {
	e := &enrolledSet{path: path, m: map[string]Enrolled{}}
	if _, err := atomicfile.ReadJSON(path, &e.m); err != nil {
		return nil, fmt.Errorf("read enrolled devices: %w (want {\"<device id>\": {\"serial\": \"...\", ...}})", err)
	}
	for id := range e.m {
		if err := ValidID(id); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, id, err)
		}
	}
	return e, nil
}

// has reports whether id is enrolled with the certificate of serial.
func (e *enrolledSet) has(id string, serial *big.Int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.m[id]
	return ok && r.Serial == serial.Text(16)
}

// known reports whether id is enrolled (with any certificate).
func (e *enrolledSet) known(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.m[id]
	return ok
}

// add records cert as id's, replacing an earlier one, and writes the file.
func (e *enrolledSet) add(id string, cert *x509.Certificate, by string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := maps.Clone(e.m)
	m[id] = Enrolled{Serial: cert.SerialNumber.Text(16), Fingerprint: certs.Fingerprint(cert),
		Issued: cert.NotBefore.UTC(), Expires: cert.NotAfter.UTC(), By: by}
	if err := atomicfile.WriteJSON(e.path, m, 0o600); err != nil {
		return fmt.Errorf("record enrolled device: %w", err)
	}
	e.m = m
	return nil
}

// replace takes the set of a reloaded file.
func (e *enrolledSet) replace(from *enrolledSet) {
	from.mu.Lock()
	m := from.m
	from.mu.Unlock()
	e.mu.Lock()
	e.m = m
	e.mu.Unlock()
}
