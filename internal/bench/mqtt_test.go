package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"tether/internal/bench/mqtt"
	"tether/internal/tethertest"
)

// startMosquitto runs Debian's mosquitto with a websockets listener on a
// free 127.0.0.1 port until the test ends and returns its ws:// URL and
// process id.
// Mosquitto 2.0.11 refuses to start with only a websockets listener
// ("Unable to start any listening sockets"), so a plain MQTT listener on
// another free port goes with it.
func startMosquitto(t *testing.T) (string, int) {
	t.Helper()
	tethertest.Need(t, "mosquitto")
	port := tethertest.FreePort(t)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	text := fmt.Sprintf("listener %d 127.0.0.1\nprotocol websockets\nlistener %d 127.0.0.1\nprotocol mqtt\nallow_anonymous true\n",
		port, tethertest.FreePort(t))
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p := tethertest.StartCmd(t, exec.Command("mosquitto", "-c", conf))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	tethertest.WaitPort(t, addr, 10*time.Second)
	return "ws://" + addr, p.Cmd.Process.Pid
}

func TestRelayMQTT(t *testing.T) {
	url, pid := startMosquitto(t)
	tests := []struct {
		name           string
		devices, pages int
		rate           float64
	}{
		{"closed loop 1x1", 1, 1, 0},
		{"closed loop 2x3", 2, 3, 0},
		{"rate 2x2", 2, 2, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Relay(context.Background(), RelayOptions{Broker: "mqtt", URL: url,
				Devices: tt.devices, Pages: tt.pages, Rate: tt.rate, PID: pid,
				Duration: 300 * time.Millisecond, Drain: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 || res.Broker != "mqtt" {
				t.Fatalf("got %d errors (first %q), broker %q", res.Errors, res.FirstError, res.Broker)
			}
			// at 500/s for 0.3 s Mosquitto may use less than a clock tick
			if res.CPU.PID != pid || res.CPU.Target < 0 || (tt.rate == 0 && res.CPU.Target == 0) {
				t.Errorf("cpu: got %+v, want mosquitto's use", res.CPU)
			}
			checkDirection(t, "device→page", res.Down, uint64(tt.pages), false)
			checkDirection(t, "page→device", res.Up, 1, false)
		})
	}
}

func TestMQTTClient(t *testing.T) {
	url, _ := startMosquitto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := mqtt.Dial(ctx, url, mqtt.Options{ClientID: "sub", KeepAlive: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.Subscribe(ctx, "a/+/c"); err != nil {
		t.Fatal(err)
	}
	pub, err := mqtt.Dial(ctx, url, mqtt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	// sizes around the remaining-length boundaries, and a keep-alive ping
	// or two in between (its PINGRESP is skipped by Next)
	sizes := []int{0, 1, 100, 127, 16380, 200000}
	for i, n := range sizes {
		payload := make([]byte, n)
		for j := range payload {
			payload[j] = byte(i + j)
		}
		if err := pub.Publish(fmt.Sprintf("a/%d/c", i), payload); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			time.Sleep(250 * time.Millisecond)
		}
		topic, got, err := sub.Next()
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("a/%d/c", i); topic != want || string(got) != string(payload) {
			t.Errorf("message %d: got topic %q and %d bytes, want %q and %d bytes", i, topic, len(got), want, n)
		}
	}
}

func TestIdleMQTT(t *testing.T) {
	url, pid := startMosquitto(t)
	res, err := Idle(context.Background(), IdleOptions{Broker: "mqtt", URL: url, Devices: 30, Ramp: 300,
		Hold: 300 * time.Millisecond, PID: pid})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 30 || res.Failures != 0 || res.Dropped != 0 || res.RSSBefore <= 0 || res.RSSAfter <= res.RSSBefore {
		t.Errorf("got %+v, want 30 connections held and mosquitto's RSS grown", res)
	}
}
