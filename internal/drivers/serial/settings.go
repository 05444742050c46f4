package serial

import (
	"cmp"
	"fmt"

	bugst "go.bug.st/serial"

	"tether/internal/config"
)

// Defaults of the settings app.json leaves out (docs/HARDWARE.md).
const (
	DefaultBaud    = 9600
	DefaultMaxLine = 4096
	DefaultMaxRate = 100
)

// MaxBurst is the most lines (or chunks) passed on at once, whatever
// max_rate says: well under a client's send queue (256 messages), so a
// flood never closes the clients, nor the hub link, as too slow.
const MaxBurst = 100

// settings are a driver's app.json entry, checked and with defaults.
type settings struct {
	port     string
	mode     bugst.Mode
	framing  string // "8N1", for people
	ending   string // added to each line sent
	readOnly bool
	encoding string // "" (text lines), "hex" or "base64"
	maxLine  int
	maxRate  int
}

// parse checks c and fills in the defaults. Config has checked files
// already; this catches drivers made in code.
func parse(c config.Driver) (settings, error) {
	s := settings{
		port:     c.Port,
		readOnly: c.ReadOnly,
		maxLine:  cmp.Or(c.MaxLine, DefaultMaxLine),
		maxRate:  cmp.Or(c.MaxRate, DefaultMaxRate),
		mode: bugst.Mode{
			BaudRate: cmp.Or(c.Baud, DefaultBaud),
			DataBits: cmp.Or(c.DataBits, 8),
		},
	}
	if s.port == "" {
		return s, fmt.Errorf("no port: want the serial device's path")
	}
	if s.mode.BaudRate < 50 || s.mode.BaudRate > 4_000_000 || s.mode.DataBits < 5 || s.mode.DataBits > 8 ||
		s.maxLine < 1 || s.maxRate < 1 {
		return s, fmt.Errorf("settings out of range: %+v", c)
	}
	var err error
	if s.mode.Parity, err = parseParity(c.Parity); err != nil {
		return s, err
	}
	switch c.StopBits {
	case 0, 1:
		s.mode.StopBits = bugst.OneStopBit
	case 2:
		s.mode.StopBits = bugst.TwoStopBits
	default:
		return s, fmt.Errorf("stop bits %d: want 1 or 2", c.StopBits)
	}
	if s.ending, err = parseEnding(c.LineEnding); err != nil {
		return s, err
	}
	switch c.Mode {
	case "", "lines":
	case "hex", "base64":
		s.encoding = c.Mode
	default:
		return s, fmt.Errorf("mode %q: want \"lines\", \"hex\" or \"base64\"", c.Mode)
	}
	s.framing = fmt.Sprintf("%d%s%d", s.mode.DataBits, parityLetter[s.mode.Parity], cmp.Or(c.StopBits, 1))
	return s, nil
}

var parityLetter = map[bugst.Parity]string{
	bugst.NoParity: "N", bugst.OddParity: "O", bugst.EvenParity: "E", bugst.MarkParity: "M", bugst.SpaceParity: "S",
}

func parseParity(p string) (bugst.Parity, error) {
	switch p {
	case "", "none":
		return bugst.NoParity, nil
	case "odd":
		return bugst.OddParity, nil
	case "even":
		return bugst.EvenParity, nil
	case "mark":
		return bugst.MarkParity, nil
	case "space":
		return bugst.SpaceParity, nil
	}
	return 0, fmt.Errorf("parity %q: want none, odd, even, mark or space", p)
}

func parseEnding(e string) (string, error) {
	switch e {
	case "", "lf":
		return "\n", nil
	case "crlf":
		return "\r\n", nil
	case "cr":
		return "\r", nil
	case "none":
		return "", nil
	}
	return "", fmt.Errorf("line ending %q: want lf, crlf, cr or none", e)
}

// String describes the port as the status shows it:
// "/dev/ttyACM0 at 115200 8N1".
func (s settings) String() string {
	return fmt.Sprintf("%s at %d %s", s.port, s.mode.BaudRate, s.framing)
}
