package demo

import (
	"context"
	"fmt"
	"strings"

	"tether/internal/apps"
	"tether/internal/cmdapi"
	"tether/internal/drivers"
	"tether/internal/wire"
)

// routes registers the demo's items.
func (d *instance) routes() {
	d.api.Handle(wire.Get, "wifi", d.getWifi)
	d.api.Handle(wire.Cmd, "test_new_sta", d.testNewSta)
	d.api.Handle(wire.Cmd, "store_new_sta", d.storeNewSta)
	d.api.Handle(wire.Cmd, "hal", d.hal)
	d.api.Handle(wire.Cmd, "start_interface", d.startInterface)
	d.api.Handle(wire.Cmd, "stop_interface", d.stopInterface)
	d.api.Handle(wire.Cmd, "send_message", d.sendMessage)
}

// state is the state object every client gets after every request.
func (d *instance) state() wire.Message {
	ns := d.net.State()
	m := wire.Message{
		"iam":         d.cfg.Network.Device.IAm,
		"dev":         d.cfg.Network.Device.Dev,
		"app":         "demo",
		"version":     apps.VersionText(d.version),
		"net/mode":    ns.Mode,
		"net/backend": d.net.Backend().Name(),
		"net/error":   ns.LastError,
	}
	if d.tls.On() {
		m["tls/fingerprint"] = d.tls.Fingerprint
	}
	for k, v := range d.drv.State() {
		m[k] = v
	}
	d.ops.AddState(m)
	return m
}

// getWifi answers GET wifi with the seed's keys, one per message, between
// two {"info": ...} lines.
func (d *instance) getWifi(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	reply(wire.Info("wifi status follows"))
	ap, apErr := d.net.AP(ctx)
	sta, staErr := d.net.Station(ctx)
	for _, kv := range []struct {
		k string
		v any
	}{
		{"wifi/ap/active", ap.Active},
		{"wifi/ap/ssid", ap.SSID},
		{"wifi/ap/ip", ap.IP},
		{"wifi/net/active", sta.Active},
		{"wifi/net/mac", sta.MAC},
		{"wifi/net/ap", sta.SSID},
		{"wifi/net/connected", sta.Connected},
		{"wifi/net/ip", sta.IP},
		{"wifi/net/gw", sta.Gateway},
		{"wifi/net/dns", strings.Join(sta.DNS, ", ")},
		{"wifi/net/signal", sta.Signal},
		{"wifi/net/stored", d.net.Stored()},
	} {
		reply(wire.Message{kv.k: kv.v})
	}
	for _, err := range []error{apErr, staErr} {
		if err != nil {
			reply(wire.Error("wifi: " + err.Error()))
		}
	}
	reply(wire.Info("wifi status done"))
	return nil
}

// credentials reads [ssid, pass].
func credentials(req wire.Request) (ssid, pass string, err error) {
	if err := req.WantArgs("ssid", "pass"); err != nil {
		return "", "", err
	}
	if ssid, err = req.StringArg(0, "ssid"); err != nil {
		return "", "", err
	}
	if pass, err = req.StringArg(1, "pass"); err != nil {
		return "", "", err
	}
	return ssid, pass, nil
}

// testNewSta joins ssid without storing it, reporting wifi/test/result
// "Success" or "Fail"; on failure the device is back on its stored network.
func (d *instance) testNewSta(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	ssid, pass, err := credentials(req)
	if err != nil {
		return err
	}
	reply(wire.Info(fmt.Sprintf("testing network %q", ssid)))
	if err := d.net.TestStation(ctx, ssid, pass); err != nil {
		reply(wire.Message{"wifi/test/result": "Fail"})
		return err
	}
	reply(wire.Message{"wifi/test/result": "Success"})
	return nil
}

// storeNewSta saves ssid as the station network through the safe path
// (tried first, rolled back on failure), reporting wifi/store/result.
func (d *instance) storeNewSta(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	ssid, pass, err := credentials(req)
	if err != nil {
		return err
	}
	reply(wire.Info(fmt.Sprintf("trying network %q before storing it", ssid)))
	if err := d.net.StoreStation(ctx, ssid, pass); err != nil {
		reply(wire.Message{"wifi/store/result": "Fail"})
		return err
	}
	reply(wire.Message{"wifi/store/result": "Success"})
	reply(wire.Info(fmt.Sprintf("network %q stored", ssid)))
	return nil
}

// hal lists the drivers: {"hal/drivers": [{"name", "kind", "running"}]}.
func (d *instance) hal(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs(); err != nil {
		return err
	}
	reply(wire.Message{"hal/drivers": d.drv.List()})
	return nil
}

// driver returns the driver a request names in its optional last
// argument (after extra ones), the fake interface by default.
func (d *instance) driver(req wire.Request, extra ...string) (drivers.Driver, string, error) {
	name := FakeInterface
	if len(req.Args) > len(extra) {
		n, err := req.StringArg(len(extra), "driver")
		if err != nil {
			return nil, "", err
		}
		name = n
	}
	if max := len(extra) + 1; len(req.Args) > max {
		return nil, "", fmt.Errorf("%s %s: want at most %d arguments %v, got %d", req.Kind, req.Item, max, append(extra, "driver"), len(req.Args))
	}
	drv, err := d.drv.Get(name)
	return drv, name, err
}

// startInterface starts a driver; what it produces goes to every client.
func (d *instance) startInterface(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	drv, name, err := d.driver(req)
	if err != nil {
		return err
	}
	if err := drv.Start(context.WithoutCancel(ctx), d.api.Broadcast); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	reply(wire.Info(name + " started"))
	return nil
}

// stopInterface stops a driver.
func (d *instance) stopInterface(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	drv, name, err := d.driver(req)
	if err != nil {
		return err
	}
	if err := drv.Stop(ctx); err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	reply(wire.Info(name + " stopped"))
	return nil
}

// sendMessage sends [text] (or [text, driver]) to a driver; its answer is
// broadcast ({"fake_interface/msg": "HELLO"}).
func (d *instance) sendMessage(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if len(req.Args) == 0 {
		return req.WantArgs("text")
	}
	text, err := req.StringArg(0, "text")
	if err != nil {
		return err
	}
	drv, _, err := d.driver(req, "text")
	if err != nil {
		return err
	}
	return drv.Send(ctx, text)
}
