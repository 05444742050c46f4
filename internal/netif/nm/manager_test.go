package nm_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tether/internal/config"
	"tether/internal/netif"
	"tether/internal/netif/nm"
)

// radioScript is a fake nmcli with state, in files beside it: "router"
// (the home router is on), "joined" (the station is connected), "ap" (the
// hotspot is up). One radio: the hotspot and the station take turns.
const radioScript = `#!/bin/sh
dir=$(dirname "$0")
key=""
for a in "$@"; do key="$key[$a]"; done
printf '%s\n' "$key" >> "$dir/calls.log"
case "$key" in
"[-t][-f][GENERAL.STATE,GENERAL.CONNECTION,GENERAL.HWADDR,IP4.ADDRESS,IP4.GATEWAY,IP4.DNS][device][show][wlan0]")
	if [ -e "$dir/joined" ]; then
		printf 'GENERAL.STATE:100 (connected)\nGENERAL.CONNECTION:home\nGENERAL.HWADDR:DC\\:A6\\:32\\:01\\:02\\:03\nIP4.ADDRESS[1]:192.168.1.7/24\nIP4.GATEWAY:192.168.1.1\n'
	elif [ -e "$dir/ap" ]; then
		printf 'GENERAL.STATE:100 (connected)\nGENERAL.CONNECTION:tether-hotspot\nGENERAL.HWADDR:DC\\:A6\\:32\\:01\\:02\\:03\n'
	else
		printf 'GENERAL.STATE:30 (disconnected)\nGENERAL.CONNECTION:\nGENERAL.HWADDR:DC\\:A6\\:32\\:01\\:02\\:03\n'
	fi;;
"[-t][-f][ACTIVE,SIGNAL,SSID][device][wifi][list][--rescan][no][ifname][wlan0]")
	[ -e "$dir/joined" ] && echo "yes:70:home";;
"[-t][-f][SSID,SIGNAL,SECURITY][device][wifi][list][--rescan][yes][ifname][wlan0]")
	[ -e "$dir/router" ] && echo "home:70:WPA2";;
"[device][wifi][connect][home][password][homepass1][ifname][wlan0]")
	rm -f "$dir/ap"
	if [ -e "$dir/router" ]; then touch "$dir/joined"; else
		echo "Error: No network with SSID 'home' found." >&2; exit 10
	fi;;
"[device][wifi][hotspot][ifname][wlan0][con-name][tether-hotspot][ssid][tether-dev1][password]["*"]")
	rm -f "$dir/joined"; touch "$dir/ap";;
"[-t][-f][NAME,DEVICE][connection][show][--active]")
	[ -e "$dir/ap" ] && echo "tether-hotspot:wlan0"
	[ -e "$dir/joined" ] && echo "home:wlan0";;
"[-t][-f][802-11-wireless.ssid,IP4.ADDRESS][connection][show][tether-hotspot]")
	printf '802-11-wireless.ssid:tether-dev1\nIP4.ADDRESS[1]:10.42.0.1/24\n';;
"[-t][-f][GENERAL.HWADDR][device][show][wlan0]")
	echo 'GENERAL.HWADDR:DC\:A6\:32\:01\:02\:03';;
"[connection][down][tether-hotspot]")
	rm -f "$dir/ap";;
*)
	echo "fake nmcli: unexpected arguments: $key" >&2; exit 2;;
esac
exit 0
`

// TestManagerOnNM runs the state machine on the nm backend against the
// stateful fake: router off at boot → hotspot after the grace period →
// router on → station, hotspot gone (the join took the radio); the hotspot
// is brought up exactly once.
func TestManagerOnNM(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nmcli"), []byte(radioScript), 0o755); err != nil {
		t.Fatal(err)
	}
	exists := func(name string) bool { _, err := os.Stat(filepath.Join(dir, name)); return err == nil }
	m := netif.NewManager(netif.Options{
		Backend: nm.New(nm.Options{Path: filepath.Join(dir, "nmcli"), Interface: "wlan0"}),
		Station: config.STA{SSID: "home", Pass: "homepass1"},
		Device:  "dev1",
		Grace:   300 * time.Millisecond, Retry: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond,
		Monitor: 50 * time.Millisecond,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	defer stop()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(15 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("waiting for %s: state %+v", what, m.State())
			}
		}
	}
	waitFor("the hotspot", func() bool { return m.State().Mode == netif.ModeAPRetry && m.State().AP && exists("ap") })
	st, err := m.AP(ctx)
	if err != nil || st != (netif.APStatus{Active: true, SSID: "tether-dev1", MAC: "DC:A6:32:01:02:03", IP: "10.42.0.1"}) {
		t.Errorf("AP: got %+v, %v", st, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "router"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("the station", func() bool { return m.State().Mode == netif.ModeStation && !m.State().AP && !exists("ap") })
	sta, err := m.Station(ctx)
	if err != nil || !sta.Connected || sta.SSID != "home" || sta.IP != "192.168.1.7" || sta.Signal != 70 {
		t.Errorf("Station: got %+v, %v", sta, err)
	}
	stop()

	data, err := os.ReadFile(filepath.Join(dir, "calls.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(data)
	if n := strings.Count(log, "[hotspot]"); n != 1 {
		t.Errorf("hotspot brought up %d times, want 1", n)
	}
}
