// Package devauth guards the device's own page, command API and recovery
// on its LAN with the device password (docs/SECURITY.md).
//
// The password is made at first boot (crypto/rand, four groups of five
// letters and digits, 100 bits), shown once on the device's console (its
// standard error: the journal under systemd), never in the device's log
// that pages and the hub show, and stored only as a bcrypt hash in the
// device root's device.passwd (written atomically, mode 0600). A device
// without a root keeps one in memory for the run. A person logs in on
// the device's page (a session cookie: random, HttpOnly, SameSite=Strict,
// Secure over TLS, 12 hours, ended at logout and at a password change);
// a program sends the password as "Authorization: Bearer <password>".
// Wrong passwords are throttled per client address, and checked one at
// a time, so guessing cannot take the device's CPU.
//
// A program on the device itself, run by the device's own user or by
// root, needs no password (local trust, local.go): it can read the
// device root, the password's hash included, anyway. It is known by its
// socket (package localpeer): a loopback connection whose other end the
// kernel shows as that user's, with no proxy's forwarding header. app.json's
// "auth": "strict" asks it for the password too; "auth": "off" turns the
// check off for everyone, with a warning at every start.
//
// Calling home is not guarded here: the hub's grants govern its pages.
//
// A Guard lives as long as the device process; each boot Configures it
// from app.json. Guard.Handler wraps an app's HTTP handler; a nil *Guard
// guards nothing (apps run outside a device, in tests).
package devauth

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"tether/internal/config"
	"tether/internal/login"
	"tether/internal/ratelog"
)

// CookieName is the device page's session cookie. It differs from the
// hub's, whose dashboard may share the host.
const CookieName = "tether_device"

// SessionTTL is how long a login on the device's page lasts.
const SessionTTL = 12 * time.Hour

// maxSessions bounds the logins held; past it the oldest is dropped.
const maxSessions = 1000

// Wrong passwords from one address: throttleBurst at once, then one every
// throttleEvery.
const (
	throttleBurst = 5
	throttleEvery = 5 * time.Second
)

// Options configure a Guard. The zero value keeps the password in memory
// and shows a new one nowhere.
type Options struct {
	// Root is the device root, whose File holds the password's hash; ""
	// keeps a password in memory for as long as the process runs.
	Root string
	// Console is where a new password is shown, once: the device's
	// console, never its log. Nil shows it nowhere.
	Console io.Writer
	// Logger gets what the guard does (never a password); nil discards it.
	Logger *slog.Logger
	// ThrottleEvery is how often an address that gave 5 wrong passwords
	// may try another; zero means 5 s.
	ThrottleEvery time.Duration
	// HashCost is bcrypt's cost for the passwords the guard sets; zero
	// means login.HashCost. (Tests use 4: -race makes cost 10 take
	// seconds.)
	HashCost int
}

// Guard checks the credentials of requests to the device. Make it with
// New; it is safe for concurrent use.
type Guard struct {
	opts     Options
	log      *slog.Logger
	mode     atomic.Int32            // modeStrict until Configure
	uid      int                     // the process's effective uid: its local peers are trusted
	sessions *login.Sessions[uint64] // the password's generation at login
	throttle *login.Throttle
	warnings *ratelog.Log // wrong passwords, rate-limited
	check    sync.Mutex   // one bcrypt comparison at a time

	mu    sync.Mutex
	pw    password // the current password's hash
	okSum [sha256.Size]byte
	okGen uint64                 // the generation okSum (a bearer that matched) is of; 0: none
	live  map[*liveConn]struct{} // lasting requests the current password proved (whileProven)
	// watching is set while a goroutine looks at File every WatchEvery
	// for a change made by another process, as long as live is not empty
	watching bool
}

// New returns a Guard that asks everyone for the password until
// Configure says otherwise.
func New(opts Options) *Guard {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "devauth")
	return &Guard{
		opts:     opts,
		log:      log,
		uid:      os.Geteuid(),
		warnings: ratelog.New(log),
		sessions: login.NewSessions[uint64](SessionTTL, maxSessions),
		throttle: login.NewThrottle(throttleBurst, cmp.Or(opts.ThrottleEvery, throttleEvery)),
	}
}

// Errors a refused request is answered with.
var (
	ErrNoCredentials = errors.New(`unauthorized: this device asks for its password: log in on its page, or send "Authorization: Bearer <device password>" (the password was shown once on the device's console at first boot; docs/SECURITY.md says how to reset it)`)
	ErrWrongPassword = errors.New("unauthorized: wrong device password")
	ErrThrottled     = errors.New("too many wrong passwords from this address: try again in a few seconds")
	ErrNoPassword    = errors.New("unauthorized: the device has no usable password: reset it (docs/SECURITY.md)")
	ErrAuthOff       = errors.New(`the device asks for no password ("auth": "off" in app.json), so no one can prove access`)
)

// The guard's modes, from app.json's "auth".
const (
	modeStrict int32 = iota // the password from everyone
	modeOn                  // the password, except from trusted local processes
	modeOff                 // no password
)

// Configure sets the guard for one boot from app.json's "auth"
// (config.App.Auth): config.AuthOff lets everyone in (warned about at
// every start); config.AuthStrict asks everyone for the password; else
// ("" or config.AuthOn) everyone but trusted local processes. Unless off,
// the password is made at first boot (and shown once on the console)
// when there is none.
func (g *Guard) Configure(auth string) {
	if g == nil {
		return
	}
	mode := modeOn
	switch auth {
	case config.AuthOff:
		mode = modeOff
	case config.AuthStrict:
		mode = modeStrict
	}
	g.mode.Store(mode)
	if mode == modeOff {
		g.log.Warn(`AUTH OFF: app.json has "auth": "off": anyone who can reach this device's network can open its page, drive it ` +
			`and change its configuration, recovery and where it calls home included. Remove the key to ask for the device password.`)
		return
	}
	if err := g.ensure(); err != nil {
		g.log.Error("device password unusable: nobody can log in until it is reset (tether device passwd --root DIR, "+
			"or from the device's access point in recovery)", "err", err)
	} else if mode == modeStrict {
		g.log.Info(`the device's page, command API and recovery ask for the device password, local processes too ("auth": "strict")`)
	} else {
		g.log.Info("the device's page, command API and recovery ask for the device password")
	}
	if mode == modeOn {
		g.announceTrust()
	}
}

// Off reports whether the guard lets every request through.
func (g *Guard) Off() bool { return g == nil || g.mode.Load() == modeOff }

// Check returns nil when r may use the device: the guard is off, r carries
// a live session cookie or the device password as a bearer token, or it
// comes from a trusted local process. Else it returns why not
// (ErrNoCredentials, ErrWrongPassword, ErrThrottled, ErrNoPassword).
func (g *Guard) Check(r *http.Request) error {
	_, err := g.checkGen(r)
	return err
}

// checkGen is Check, with the generation of the password r proved: 0 when
// it needed none (the guard is off, or r comes from a trusted local
// process).
func (g *Guard) checkGen(r *http.Request) (uint64, error) {
	if g.Off() {
		return 0, nil
	}
	return g.prove(r)
}

// Proven reports whether r proves access, whatever the mode: a live
// session, the bearer password, or a trusted local process. Showing
// secrets asks it; with the guard off it fails with ErrAuthOff. A nil
// Guard proves everything.
func (g *Guard) Proven(r *http.Request) error {
	if g == nil {
		return nil
	}
	if g.Off() {
		return ErrAuthOff
	}
	_, err := g.prove(r)
	return err
}

// prove checks r's session cookie, else its bearer token, else whether
// it comes from a trusted local process: a wrong bearer is refused, even
// from one. It returns the generation of the password proved (0 for a
// trusted local process).
func (g *Guard) prove(r *http.Request) (uint64, error) {
	gen, genErr := g.generation()
	if c, err := r.Cookie(CookieName); err == nil && genErr == nil {
		if v, ok := g.sessions.Get(c.Value, time.Now()); ok && v == gen {
			return gen, nil
		}
	}
	if tok := login.Bearer(r); tok != "" {
		if genErr != nil {
			return 0, ErrNoPassword
		}
		return g.password(r, tok)
	}
	switch {
	case g.trusted(r):
		return 0, nil
	case genErr != nil:
		return 0, ErrNoPassword
	}
	return 0, ErrNoCredentials
}

// password checks pw, presented by r, against the device password,
// throttled per address, and returns the password's generation. A
// password that matched before is known by its SHA-256, so a script's
// every request does not cost a bcrypt.
func (g *Guard) password(r *http.Request, pw string) (uint64, error) {
	addr := login.ClientAddr(r.RemoteAddr)
	if !g.throttle.Allow(addr, time.Now()) {
		return 0, ErrThrottled
	}
	if _, err := g.generation(); err != nil {
		return 0, ErrNoPassword
	}
	sum := sha256.Sum256([]byte(pw))
	if pwd, known := g.known(sum); known || pwd.hash == "" {
		return pwd.gen, errIf(pwd.hash == "", ErrNoPassword)
	}
	g.check.Lock()
	pwd, known := g.known(sum) // another request may have checked it meanwhile
	ok := known || login.CheckPassword(pwd.hash, pw)
	g.check.Unlock()
	if !ok {
		g.throttle.Fail(addr, time.Now())
		g.warnings.Warn("wrong device password", "remote", r.RemoteAddr)
		return 0, ErrWrongPassword
	}
	g.mu.Lock()
	if g.pw.gen == pwd.gen {
		g.okSum, g.okGen = sum, pwd.gen
	}
	g.mu.Unlock()
	return pwd.gen, nil
}

// known returns the current password, and whether sum is the SHA-256 of a
// password that matched it before.
func (g *Guard) known(sum [sha256.Size]byte) (password, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pw, g.pw.hash != "" && g.okGen == g.pw.gen && subtle.ConstantTimeCompare(sum[:], g.okSum[:]) == 1
}

// errIf is err when cond holds, else nil.
func errIf(cond bool, err error) error {
	if cond {
		return err
	}
	return nil
}
