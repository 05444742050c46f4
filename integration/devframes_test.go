package integration

import (
	"encoding/binary"
	"testing"
	"time"

	"tether/internal/tethertest"
)

// hugeLength is a frame header announcing a payload of 2^63 bytes (the
// 64-bit length form with its top bit set, which RFC 6455 forbids), masked,
// with a few payload bytes after it.
func hugeLength(op byte) []byte {
	b := []byte{0x80 | op, 0x80 | 127}
	b = binary.BigEndian.AppendUint64(b, 1<<63)
	return append(b, 1, 2, 3, 4, 'x', 'y')
}

// protocolCases are frames breaking RFC 6455 that every WebSocket server of
// the device (command API, recovery, echoserver) must answer with a close
// frame of 1002 (protocol error), never 1001 "shutting down" or a bare
// drop.
func protocolCases() []wsCase {
	return []wsCase{
		{name: "unmasked frame", frames: [][]byte{frame(true, opText, []byte(`["GET", "wifi", []]`), false)}, wantClose: 1002},
		{name: "unmasked ping", frames: [][]byte{frame(true, opPing, []byte("x"), false)}, wantClose: 1002},
		{name: "2^63 length", frames: [][]byte{hugeLength(opText)}, wantClose: 1002},
		{name: "2^63 length binary", frames: [][]byte{hugeLength(opBinary)}, wantClose: 1002},
		{name: "2^63 length ping", frames: [][]byte{hugeLength(opPing)}, wantClose: 1002},
		{name: "2^63 length continuation", frames: [][]byte{frame(false, opText, []byte("[1"), true), hugeLength(opCont)}, wantClose: 1002},
		{name: "reserved opcode", frames: [][]byte{frame(true, 0x3, []byte("x"), true)}, wantClose: 1002},
		{name: "reserved control opcode", frames: [][]byte{frame(true, 0xB, []byte("x"), true)}, wantClose: 1002},
		{name: "reserved bits", frames: [][]byte{append([]byte{0x80 | 0x40 | opText}, frame(true, opText, []byte("x"), true)[1:]...)}, wantClose: 1002},
		{name: "continuation first", frames: [][]byte{frame(true, opCont, []byte("x"), true)}, wantClose: 1002},
		{name: "new message inside a fragmented one", frames: [][]byte{frame(false, opText, []byte("x"), true), frame(true, opText, []byte("y"), true)}, wantClose: 1002},
		{name: "fragmented ping", frames: [][]byte{frame(false, opPing, []byte("x"), true)}, wantClose: 1002},
		{name: "ping over 125 bytes", frames: [][]byte{frame(true, opPing, make([]byte, 126), true)}, wantClose: 1002},
		{name: "bad close code", frames: [][]byte{frame(true, opClose, []byte{0x03, 0xe7}, true)}, wantClose: 1002},
		{name: "one-byte close payload", frames: [][]byte{frame(true, opClose, []byte{0x03}, true)}, wantClose: 1002},
	}
}

// TestRecoveryBadFrames: recovery's command API answers every protocol
// error with 1002 and stays up.
func TestRecoveryBadFrames(t *testing.T) {
	rec := startRecovery(t)
	for _, c := range protocolCases() {
		t.Run(c.name, func(t *testing.T) {
			runWSCase(t, rec.recovery, "/", c, `"recovery"`, nil)
		})
	}
	c := dialRaw(t, rec.recovery, "/", deviceAuth)
	c.waitText(`"recovery"`, 10*time.Second)
	c.sendText(`["GET", "status", []]`)
	c.waitText(`"recovery/reason"`, 10*time.Second)
}

// TestEchoServerBadFrames: the echoserver app answers every protocol error
// with 1002 and keeps echoing.
func TestEchoServerBadFrames(t *testing.T) {
	echoPort := tethertest.FreePort(t)
	echo := addr(echoPort)
	root := tethertest.SeedRoot(t, "echoserver", tethertest.FreePort(t), tethertest.FreePort(t), tethertest.FreePort(t), echoPort)
	p := tethertest.Start(t, "device", "--root", root, "--net", "sim", "--recovery-addr", addr(tethertest.FreePort(t)))
	tethertest.WaitPort(t, echo, 30*time.Second)
	for _, c := range protocolCases() {
		t.Run(c.name, func(t *testing.T) {
			runWSCase(t, echo, "/", c, "", nil)
		})
	}
	c := dialRaw(t, echo, "/")
	c.sendText("still here")
	if got := c.readText(10 * time.Second); got != "still here" {
		t.Fatalf("echo: got %q", got)
	}
	if p.Exited() {
		t.Fatalf("device exited:\n%s", p.Output())
	}
}
