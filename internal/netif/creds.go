package netif

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"tether/internal/atomicfile"
	"tether/internal/config"
)

// StateFile is the CredStore's file in the device root.
const StateFile = "netif-state.json"

// Failure is a credential change that did not work.
type Failure struct {
	SSID  string    `json:"ssid"`
	Error string    `json:"error"`
	At    time.Time `json:"at"`
}

// credState is StateFile's content.
type credState struct {
	// Pending are credentials saved but not yet proven; the next boot (or
	// the StoreStation that saved them) tries them.
	Pending *config.STA `json:"pending,omitempty"`
	// LastGood are the last credentials a join succeeded with.
	LastGood *config.STA `json:"last_good,omitempty"`
	// LastFailure is the last credential change rolled back.
	LastFailure *Failure `json:"last_failure,omitempty"`
	// APPassword is the generated access point password, kept so it stays
	// the same across boots.
	APPassword string `json:"ap_password,omitempty"`
}

// CredStore persists station credential changes in StateFile in the device
// root, so a change survives a reboot and a bad one can be rolled back: new
// credentials are pending until a join with them succeeds, and then become
// the last good ones and network.json's sta. Writes go through
// atomicfile (temp file, fsync, rename, fsync the folder). A CredStore is
// safe for concurrent use.
type CredStore struct {
	root string
	save func(root string, n config.Network) error // config.SaveNetwork

	mu  sync.Mutex
	net config.Network
	st  credState
}

// OpenCredStore reads root's StateFile, if any, for the device whose
// network.json holds n. A missing file is an empty store.
func OpenCredStore(root string, n config.Network) (*CredStore, error) {
	c := &CredStore{root: root, net: n, save: config.SaveNetwork}
	if _, err := atomicfile.ReadJSON(c.path(), &c.st); err != nil {
		return nil, fmt.Errorf("open credential store: %w", err)
	}
	return c, nil
}

func (c *CredStore) path() string { return filepath.Join(c.root, StateFile) }

// Network returns network.json as the store knows it, sta included.
func (c *CredStore) Network() config.Network {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.net
}

// Pending returns credentials saved but not yet proven.
func (c *CredStore) Pending() (config.STA, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.Pending == nil {
		return config.STA{}, false
	}
	return *c.st.Pending, true
}

// LastGood returns the credentials to roll back to: the last ones a join
// succeeded with, else network.json's.
func (c *CredStore) LastGood() config.STA {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.LastGood != nil {
		return *c.st.LastGood
	}
	return c.net.STA
}

// LastFailure returns the last credential change that was rolled back.
func (c *CredStore) LastFailure() (Failure, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.LastFailure == nil {
		return Failure{}, false
	}
	return *c.st.LastFailure, true
}

// SetPending saves sta as pending: the next boot tries it and rolls back
// if it fails. Use it alone to change credentials across a reboot, or
// through Manager.StoreStation to try them at once.
func (c *CredStore) SetPending(sta config.STA) error {
	return c.change(func(s *credState) { s.Pending = &sta })
}

// Commit makes sta, which a join just succeeded with, the last good
// credentials and writes them into network.json; it clears the pending
// credentials if they are sta.
func (c *CredStore) Commit(sta config.STA) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.net
	n.STA = sta
	if err := c.save(c.root, n); err != nil {
		return fmt.Errorf("commit credentials: %w", err)
	}
	c.net = n
	next := c.st
	next.LastGood = &sta
	if next.Pending != nil && *next.Pending == sta {
		next.Pending = nil
	}
	return c.writeLocked(next)
}

// Rollback records that sta failed, and why, and drops the pending
// credentials if they are sta.
func (c *CredStore) Rollback(sta config.STA, cause error) error {
	return c.change(func(s *credState) {
		s.LastFailure = &Failure{SSID: sta.SSID, Error: cause.Error(), At: time.Now().UTC()}
		if s.Pending != nil && *s.Pending == sta {
			s.Pending = nil
		}
	})
}

// APPassword returns the generated access point password, "" if none yet.
func (c *CredStore) APPassword() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.APPassword
}

// SetAPPassword keeps a generated access point password.
func (c *CredStore) SetAPPassword(p string) error {
	return c.change(func(s *credState) { s.APPassword = p })
}

// change applies f to a copy of the state and writes it; the state in
// memory changes only if the write succeeds.
func (c *CredStore) change(f func(s *credState)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.st
	f(&next)
	return c.writeLocked(next)
}

func (c *CredStore) writeLocked(next credState) error {
	if err := atomicfile.WriteJSON(c.path(), next, 0o600); err != nil {
		return fmt.Errorf("write credential store: %w", err)
	}
	c.st = next
	return nil
}
