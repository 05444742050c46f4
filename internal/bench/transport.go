package bench

import (
	"context"
	"encoding/json"
	"fmt"

	"tether/internal/bench/mqtt"
)

// transport opens the relay's device and page connections.
type transport interface {
	// device connects device id; page connects a page of device id (the
	// n-th connection of the run, for a unique client id).
	device(ctx context.Context, id string) (msgConn, error)
	page(ctx context.Context, id string, n int) (msgConn, error)
	// presence reports whether a page is ready only once it is told its
	// device is connected (tether hub), rather than as soon as it connects.
	presence() bool
}

func newTransport(o RelayOptions) transport {
	switch o.Broker {
	case "mqtt":
		return mqttTransport{o}
	case "tcp":
		return tcpTransport{o}
	}
	return hubTransport{o}
}

// hubTransport is tether hub: devices at DeviceURL/<id>, pages at
// PageURL/<id>, binary messages relayed unchanged.
type hubTransport struct{ o RelayOptions }

func (h hubTransport) device(ctx context.Context, id string) (msgConn, error) {
	return dialWS(ctx, h.o.DeviceURL+"/"+id, h.o.Header, h.o.Size+64<<10)
}

func (h hubTransport) page(ctx context.Context, id string, _ int) (msgConn, error) {
	return dialWS(ctx, h.o.PageURL+"/"+id, h.o.Header, h.o.Size+64<<10)
}

func (hubTransport) presence() bool { return true }

// isConnected reports whether a text message is the hub's
// {"hub/device/connected": true}.
func isConnected(p []byte) bool {
	var m map[string]any
	if json.Unmarshal(p, &m) != nil {
		return false
	}
	v, _ := m["hub/device/connected"].(bool)
	return v
}

// mqttTransport is an MQTT 3.1.1 broker over WebSocket at URL: a device
// publishes to dev/<id>/up and subscribes to dev/<id>/down, a page the
// reverse, all at QoS 0.
type mqttTransport struct{ o RelayOptions }

func (m mqttTransport) device(ctx context.Context, id string) (msgConn, error) {
	return m.dial(ctx, "bench-dev-"+id, "dev/"+id+"/up", "dev/"+id+"/down")
}

func (m mqttTransport) page(ctx context.Context, id string, n int) (msgConn, error) {
	return m.dial(ctx, fmt.Sprintf("bench-page-%d-%s", n, id), "dev/"+id+"/down", "dev/"+id+"/up")
}

func (mqttTransport) presence() bool { return false }

func (m mqttTransport) dial(ctx context.Context, clientID, pub, sub string) (msgConn, error) {
	c, err := mqtt.Dial(ctx, m.o.URL, mqtt.Options{ClientID: clientID, Header: m.o.Header})
	if err != nil {
		return nil, err
	}
	if err := c.Subscribe(ctx, sub); err != nil {
		c.Close()
		return nil, err
	}
	return &mqttConn{c: c, topic: pub}, nil
}

// mqttConn is a msgConn that publishes to one topic and reads what the
// client's subscriptions deliver.
type mqttConn struct {
	c     *mqtt.Client
	topic string
}

func (m *mqttConn) WriteMsg(p []byte) error { return m.c.Publish(m.topic, p) }

func (m *mqttConn) ReadLoop(fn func(bool, []byte)) error {
	for {
		_, p, err := m.c.Next()
		if err != nil {
			return err
		}
		fn(false, p)
	}
}

func (m *mqttConn) Close() { m.c.Close() }
