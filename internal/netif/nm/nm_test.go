package nm_test

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"tether/internal/netif"
	"tether/internal/netif/nm"
)

var (
	deviceStatus = []string{"-t", "-f", "DEVICE,TYPE", "device", "status"}
	scanWlan0    = []string{"-t", "-f", "SSID,SIGNAL,SECURITY", "device", "wifi", "list", "--rescan", "yes", "ifname", "wlan0"}
	showWlan0    = []string{"-t", "-f", "GENERAL.STATE,GENERAL.CONNECTION,GENERAL.HWADDR,IP4.ADDRESS,IP4.GATEWAY,IP4.DNS", "device", "show", "wlan0"}
	activeSSID   = []string{"-t", "-f", "ACTIVE,SIGNAL,SSID", "device", "wifi", "list", "--rescan", "no", "ifname", "wlan0"}
	activeConns  = []string{"-t", "-f", "NAME,DEVICE", "connection", "show", "--active"}
)

func checkCalls(t *testing.T, f *fakeNM, want ...[]string) {
	t.Helper()
	var w []string
	for _, args := range want {
		w = append(w, vector(args...))
	}
	if got := f.calls(); !slices.Equal(got, w) {
		t.Errorf("nmcli calls:\n got %q\nwant %q", got, w)
	}
}

func TestScan(t *testing.T) {
	f := newFake(t)
	f.on(deviceStatus, "eth0:ethernet\nwlan0:wifi\nwlan1:wifi\nlo:loopback\n", 0, "")
	f.on(scanWlan0, "home:80:WPA2\nmy\\:net\\\\x:55:WPA1 WPA2\n:40:WPA2\nhome:60:WPA2\ncafe:31:\nold:20:--\n", 0, "")
	b := nm.New(nm.Options{Path: f.path()})
	for range 2 { // the device is looked up once
		got, err := b.Scan(t.Context())
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		want := []netif.Network{
			{SSID: "home", Signal: 80, Secure: true},
			{SSID: `my:net\x`, Signal: 55, Secure: true},
			{SSID: "cafe", Signal: 31},
			{SSID: "old", Signal: 20},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Scan:\n got %+v\nwant %+v", got, want)
		}
	}
	checkCalls(t, f, deviceStatus, scanWlan0, scanWlan0)
}

func TestJoin(t *testing.T) {
	tests := []struct {
		name, ssid, pass string
		args             []string
	}{
		{"escapes", `my:net\x`, `p:a\ss word`, []string{"device", "wifi", "connect", `my:net\x`, "password", `p:a\ss word`, "ifname", "wlan1"}},
		{"open network", "cafe", "", []string{"device", "wifi", "connect", "cafe", "ifname", "wlan1"}},
		{"leading dash", "-rf", "12345678", []string{"device", "wifi", "connect", "-rf", "password", "12345678", "ifname", "wlan1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.on(tt.args, "Device 'wlan1' successfully activated with 'x'.\n", 0, "")
			b := nm.New(nm.Options{Path: f.path(), Interface: "wlan1"})
			if err := b.Join(t.Context(), tt.ssid, tt.pass); err != nil {
				t.Fatalf("Join: %v", err)
			}
			checkCalls(t, f, tt.args)
		})
	}
}

func TestJoinFailureHidesPassword(t *testing.T) {
	f := newFake(t)
	args := []string{"device", "wifi", "connect", "home", "password", "s3cret-pass", "ifname", "wlan0"}
	f.on(args, "", 4, "Error: Connection activation failed: (7) Secrets were required, but not provided.\n")
	err := nm.New(nm.Options{Path: f.path(), Interface: "wlan0"}).Join(t.Context(), "home", "s3cret-pass")
	if err == nil || !strings.Contains(err.Error(), "Secrets were required") || !strings.Contains(err.Error(), `join "home"`) {
		t.Fatalf("Join: got %v, want nmcli's message", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestStationStatus(t *testing.T) {
	connected := "GENERAL.STATE:100 (connected)\nGENERAL.CONNECTION:my:net\\x\n" +
		"GENERAL.HWADDR:DC\\:A6\\:32\\:01\\:02\\:03\nIP4.ADDRESS[1]:192.168.1.7/24\n" +
		"IP4.GATEWAY:192.168.1.1\nIP4.DNS[1]:192.168.1.1\nIP4.DNS[2]:9.9.9.9\n"
	tests := []struct {
		name  string
		show  string
		list  string // "" means it must not be asked
		want  netif.StationStatus
		calls [][]string
	}{
		{"connected", connected, "no:31:cafe\nyes:67:my\\:net\\\\x\n",
			netif.StationStatus{Active: true, Connected: true, SSID: `my:net\x`, Signal: 67, MAC: "DC:A6:32:01:02:03",
				IP: "192.168.1.7", Gateway: "192.168.1.1", DNS: []string{"192.168.1.1", "9.9.9.9"}, Interface: "wlan0"},
			[][]string{showWlan0, activeSSID}},
		{"disconnected", "GENERAL.STATE:30 (disconnected)\nGENERAL.CONNECTION:\nGENERAL.HWADDR:DC:A6:32:01:02:03\n", "",
			netif.StationStatus{Active: true, MAC: "DC:A6:32:01:02:03", Interface: "wlan0"},
			[][]string{showWlan0}},
		{"unavailable", "GENERAL.STATE:20 (unavailable)\nGENERAL.CONNECTION:\nGENERAL.HWADDR:DC:A6:32:01:02:03\n", "",
			netif.StationStatus{MAC: "DC:A6:32:01:02:03", Interface: "wlan0"},
			[][]string{showWlan0}},
		{"hotspot is not the station", "GENERAL.STATE:100 (connected)\nGENERAL.CONNECTION:tether-hotspot\nGENERAL.HWADDR:DC:A6:32:01:02:03\nIP4.ADDRESS[1]:10.42.0.1/24\n", "",
			netif.StationStatus{Active: true, MAC: "DC:A6:32:01:02:03", Interface: "wlan0"},
			[][]string{showWlan0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.on(showWlan0, tt.show, 0, "")
			if tt.list != "" {
				f.on(activeSSID, tt.list, 0, "")
			}
			got, err := nm.New(nm.Options{Path: f.path(), Interface: "wlan0"}).StationStatus(t.Context())
			if err != nil {
				t.Fatalf("StationStatus: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("StationStatus:\n got %+v\nwant %+v", got, tt.want)
			}
			checkCalls(t, f, tt.calls...)
		})
	}
}

func TestAccessPoint(t *testing.T) {
	up := []string{"device", "wifi", "hotspot", "ifname", "wlan0", "con-name", "tether-hotspot",
		"ssid", "tether-dev:1", "password", `pa:ss\word`}
	showAP := []string{"-t", "-f", "802-11-wireless.ssid,IP4.ADDRESS", "connection", "show", "tether-hotspot"}
	hwaddr := []string{"-t", "-f", "GENERAL.HWADDR", "device", "show", "wlan0"}
	down := []string{"connection", "down", "tether-hotspot"}

	f := newFake(t)
	f.on(deviceStatus, "wlan0:wifi\n", 0, "")
	f.on(up, "Device 'wlan0' successfully activated with 'b2c0'.\n", 0, "")
	f.on(activeConns, "Wired connection 1:eth0\ntether-hotspot:wlan0\n", 0, "")
	f.on(showAP, "802-11-wireless.ssid:tether-dev:1\nIP4.ADDRESS[1]:10.42.0.1/24\n", 0, "")
	f.on(hwaddr, "GENERAL.HWADDR:DC\\:A6\\:32\\:01\\:02\\:03\n", 0, "")
	f.on(down, "Connection 'tether-hotspot' successfully deactivated.\n", 0, "")
	b := nm.New(nm.Options{Path: f.path()})
	ctx := t.Context()

	if err := b.APUp(ctx, netif.APConfig{SSID: "tether-dev:1", Password: `pa:ss\word`}); err != nil {
		t.Fatalf("APUp: %v", err)
	}
	for range 2 { // the MAC is asked once
		st, err := b.APStatus(ctx)
		if err != nil {
			t.Fatalf("APStatus: %v", err)
		}
		want := netif.APStatus{Active: true, SSID: "tether-dev:1", MAC: "DC:A6:32:01:02:03", IP: "10.42.0.1"}
		if st != want {
			t.Errorf("APStatus:\n got %+v\nwant %+v", st, want)
		}
	}
	if err := b.APDown(ctx); err != nil {
		t.Fatalf("APDown: %v", err)
	}
	checkCalls(t, f, deviceStatus, up, activeConns, showAP, hwaddr, activeConns, showAP, activeConns, down)
}

func TestAccessPointDownWhenDown(t *testing.T) {
	f := newFake(t)
	f.on(activeConns, "Wired connection 1:eth0\n", 0, "")
	b := nm.New(nm.Options{Path: f.path(), Interface: "wlan0"})
	if err := b.APDown(t.Context()); err != nil {
		t.Fatalf("APDown: %v", err)
	}
	st, err := b.APStatus(t.Context())
	if err != nil || st.Active {
		t.Errorf("APStatus: got %+v, %v; want inactive", st, err)
	}
	checkCalls(t, f, activeConns, activeConns)
}

func TestNmcliFromPath(t *testing.T) {
	f := newFake(t)
	leave := []string{"device", "disconnect", "wlan0"}
	f.on(leave, "Device 'wlan0' successfully disconnected.\n", 0, "")
	t.Setenv("PATH", f.dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if err := nm.New(nm.Options{Interface: "wlan0"}).Leave(t.Context()); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	checkCalls(t, f, leave)
}

func TestErrors(t *testing.T) {
	t.Run("no wifi device", func(t *testing.T) {
		f := newFake(t)
		f.on(deviceStatus, "eth0:ethernet\nlo:loopback\n", 0, "")
		_, err := nm.New(nm.Options{Path: f.path()}).Scan(t.Context())
		if err == nil || !strings.Contains(err.Error(), "none of type wifi") {
			t.Errorf("Scan: got %v, want no wifi device", err)
		}
	})
	t.Run("no nmcli", func(t *testing.T) {
		missing := t.TempDir() + "/nmcli"
		err := nm.New(nm.Options{Path: missing, Interface: "wlan0"}).Leave(t.Context())
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Leave: got %v, want a not-found error", err)
		}
	})
	t.Run("unexpected arguments fail", func(t *testing.T) { // the fake itself
		f := newFake(t)
		err := nm.New(nm.Options{Path: f.path(), Interface: "wlan0"}).Leave(t.Context())
		if err == nil || !strings.Contains(err.Error(), "unexpected arguments") {
			t.Errorf("Leave: got %v, want the fake's complaint", err)
		}
	})
}
