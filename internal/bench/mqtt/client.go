package mqtt

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"sync"
	"time"

	"tether/internal/bench/benchws"
)

// Options configure Dial. The zero value works.
type Options struct {
	// ClientID identifies the client to the broker; default "tether-bench".
	ClientID string
	// KeepAlive is the keep-alive the client announces and pings within;
	// default 60 s, negative turns it off.
	KeepAlive time.Duration
	// Header is sent with the WebSocket handshake.
	Header http.Header
}

// Client is one MQTT connection. Publish and Ping may be called from any
// goroutine; Subscribe and Next from one reading goroutine only.
type Client struct {
	ws  *benchws.Conn
	r   *bufio.Reader
	buf []byte

	wmu  sync.Mutex
	wbuf []byte

	nextID  uint16
	pending []Packet // publishes read while waiting for a SUBACK

	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Dial opens a WebSocket with the "mqtt" subprotocol to url, sends CONNECT
// and waits for a CONNACK that accepts it.
func Dial(ctx context.Context, url string, o Options) (*Client, error) {
	if o.ClientID == "" {
		o.ClientID = "tether-bench"
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = time.Minute
	}
	ws, err := benchws.Dial(ctx, url, benchws.Options{Subprotocol: "mqtt", Header: o.Header, ReadLimit: maxLength})
	if err != nil {
		return nil, err
	}
	c := &Client{ws: ws, r: bufio.NewReaderSize(ws.Stream(), 16<<10), stop: make(chan struct{})}
	if err := c.handshake(ctx, o); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect %s as %q: %w", url, o.ClientID, err)
	}
	if o.KeepAlive > 0 {
		c.wg.Go(func() { c.keepAlive(o.KeepAlive / 2) })
	}
	return c, nil
}

// handshake sends CONNECT and reads the CONNACK, within ctx.
func (c *Client) handshake(ctx context.Context, o Options) error {
	stop := context.AfterFunc(ctx, c.ws.Close)
	defer stop()
	ka := uint16(max(o.KeepAlive, 0) / time.Second)
	if err := c.write(func(b []byte) []byte { return AppendConnect(b, o.ClientID, ka) }); err != nil {
		return err
	}
	p, err := c.read()
	if err != nil {
		return fmt.Errorf("read connack: %w", err)
	}
	if p.Type != Connack || len(p.Body) != 2 {
		return fmt.Errorf("read connack: got packet type %d of %d bytes, want CONNACK (2) of 2", p.Type, len(p.Body))
	}
	if rc := p.Body[1]; rc != 0 {
		return fmt.Errorf("connack: got return code %d, want 0 (accepted)", rc)
	}
	return nil
}

func (c *Client) read() (Packet, error) {
	p, buf, err := ReadPacket(c.r, c.buf)
	c.buf = buf
	return p, err
}

// write builds one packet with add and sends it as one binary message.
func (c *Client) write(add func([]byte) []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = add(c.wbuf[:0])
	return c.ws.WriteMessage(false, c.wbuf)
}

// Subscribe subscribes to topic at QoS 0 and waits for the SUBACK.
func (c *Client) Subscribe(ctx context.Context, topic string) error {
	stop := context.AfterFunc(ctx, c.ws.Close)
	defer stop()
	c.nextID++
	id := c.nextID
	if err := c.write(func(b []byte) []byte { return AppendSubscribe(b, id, topic) }); err != nil {
		return fmt.Errorf("subscribe %q: %w", topic, err)
	}
	for {
		p, err := c.read()
		if err != nil {
			return fmt.Errorf("subscribe %q: read suback: %w", topic, err)
		}
		switch {
		case p.Type == Publish:
			p.Body = append([]byte(nil), p.Body...)
			c.pending = append(c.pending, p)
		case p.Type != Suback:
		case len(p.Body) != 3 || binary.BigEndian.Uint16(p.Body) != id:
			return fmt.Errorf("subscribe %q: got SUBACK %x, want packet id %d and one return code", topic, p.Body, id)
		case p.Body[2] == 0x80:
			return fmt.Errorf("subscribe %q: refused by the broker", topic)
		default:
			return nil
		}
	}
}

// Publish sends payload to topic at QoS 0.
func (c *Client) Publish(topic string, payload []byte) error {
	if err := c.write(func(b []byte) []byte { return AppendPublish(b, topic, payload) }); err != nil {
		return fmt.Errorf("publish %q: %w", topic, err)
	}
	return nil
}

// Ping sends a PINGREQ; its PINGRESP is skipped by Next.
func (c *Client) Ping() error {
	if err := c.write(AppendPingreq); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Next returns the next message a subscription delivers; payload is valid
// until the next call. Other packets are skipped.
func (c *Client) Next() (topic string, payload []byte, err error) {
	for {
		var p Packet
		if len(c.pending) > 0 {
			p, c.pending = c.pending[0], c.pending[1:]
		} else if p, err = c.read(); err != nil {
			return "", nil, fmt.Errorf("read: %w", err)
		}
		if p.Type == Publish {
			return ParsePublish(p)
		}
	}
}

func (c *Client) keepAlive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			if c.Ping() != nil {
				return
			}
		}
	}
}

// Close sends DISCONNECT (without waiting) and drops the connection; it
// may be called more than once, from any goroutine.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		close(c.stop)
		c.wmu.Lock()
		c.wbuf = AppendDisconnect(c.wbuf[:0])
		c.ws.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_ = c.ws.WriteMessage(false, c.wbuf)
		c.wmu.Unlock()
		c.ws.Close()
	})
	c.wg.Wait()
}
