package bench

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"testing"
)

// blastServer completes the WebSocket handshake by hand and then writes
// 64-byte binary messages as fast as the connection takes them, so a
// benchmark measures what the client spends per message read.
func blastServer(b *testing.B) string {
	frame := append([]byte{0x82, 64}, make([]byte, 64)...)
	var batch []byte
	for range 1000 {
		batch = append(batch, frame...)
	}
	var tr tracked
	return serve(&testing.T{}, tr.wrap(&testing.T{}, func(w http.ResponseWriter, r *http.Request) {
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
		brw.Flush()
		for {
			if _, err := c.Write(batch); err != nil {
				return
			}
		}
	}))
}

// BenchmarkRead measures what the load generator spends reading one
// 64-byte message.
func BenchmarkRead(b *testing.B) {
	c, err := dialWS(context.Background(), blastServer(b), nil, 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	b.ResetTimer()
	c.ReadLoop(func(bool, []byte) {
		if n++; n == b.N {
			c.Close()
		}
	})
}
