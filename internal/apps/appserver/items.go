package appserver

import (
	"context"
	"fmt"
	"strings"

	"tether/internal/apps"
	"tether/internal/cmdapi"
	"tether/internal/drivers"
	"tether/internal/wire"
)

// routes registers tether's items, with their descriptions for GET help.
func (s *Server) routes() {
	s.handle(wire.Get, "wifi", s.getWifi, "the access point's and the station's status (wifi/ap/..., wifi/net/...)")
	s.handle(wire.Cmd, "test_new_sta", s.testNewSta, "tries a network without storing it: wifi/test/result is Success or Fail", strArg("ssid"), strArg("pass"))
	s.handle(wire.Cmd, "store_new_sta", s.storeNewSta, "stores a network, tried first and rolled back if it fails: wifi/store/result", strArg("ssid"), strArg("pass"))
	s.api.Handle(wire.Get, "help", s.api.HelpHandler(s.opts.Name, s.opts.StateKeys))
	s.api.Describe(cmdapi.Item{Kind: wire.Get, Name: "help", Doc: "this description: every item with its arguments, and the app's state keys"})
	if s.drv == nil {
		return
	}
	drv := cmdapi.Arg{Name: "driver", Type: "string", Optional: true, Doc: "the driver's name; fake_interface when left out"}
	s.handle(wire.Cmd, "hal", s.hal, "lists the drivers and their state: hal/drivers")
	s.handle(wire.Cmd, "start_interface", s.driverItem(s.startDriver), "starts a driver", drv)
	s.handle(wire.Cmd, "stop_interface", s.driverItem(s.stopDriver), "stops a driver", drv)
	s.handle(wire.Cmd, "send_message", s.sendMessage, "sends text to a driver; the fake interface answers fake_interface/msg upper-cased", strArg("text"), drv)
}

// handle registers h for kind and item with its description.
func (s *Server) handle(kind, item string, h cmdapi.Handler, doc string, args ...cmdapi.Arg) {
	s.api.Handle(kind, item, h)
	s.api.Describe(cmdapi.Item{Kind: kind, Name: item, Doc: doc, Args: args})
}

func strArg(name string) cmdapi.Arg { return cmdapi.Arg{Name: name, Type: "string"} }

// state is the state object every client gets after every request:
// tether's keys, the drivers', the operator items', then the app's.
func (s *Server) state() wire.Message {
	ns := s.net.State()
	m := wire.Message{
		"iam":         s.cfg.Network.Device.IAm,
		"dev":         s.cfg.Network.Device.Dev,
		"app":         s.opts.Name,
		"version":     apps.VersionText(s.version),
		"net/mode":    ns.Mode,
		"net/backend": s.net.Backend().Name(),
		"net/error":   ns.LastError,
	}
	if s.tls.On() {
		m["tls/fingerprint"] = s.tls.Fingerprint
	}
	if ls := s.cfg.Network.Device.Labels; len(ls) > 0 {
		m["labels"] = ls
	}
	if s.drv != nil {
		for k, v := range s.drv.State() {
			m[k] = v
		}
	}
	s.ops.AddState(m)
	if s.opts.State != nil {
		s.opts.State(m)
	}
	return m
}

// getWifi answers GET wifi with the seed's keys, one per message, between
// two {"info": ...} lines.
func (s *Server) getWifi(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	reply(wire.Info("wifi status follows"))
	ap, apErr := s.net.AP(ctx)
	sta, staErr := s.net.Station(ctx)
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
		{"wifi/net/stored", s.net.Stored()},
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
func (s *Server) testNewSta(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	ssid, pass, err := credentials(req)
	if err != nil {
		return err
	}
	reply(wire.Info(fmt.Sprintf("testing network %q", ssid)))
	if err := s.net.TestStation(ctx, ssid, pass); err != nil {
		reply(wire.Message{"wifi/test/result": "Fail"})
		return err
	}
	reply(wire.Message{"wifi/test/result": "Success"})
	return nil
}

// storeNewSta saves ssid as the station network through the safe path
// (tried first, rolled back on failure), reporting wifi/store/result.
func (s *Server) storeNewSta(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	ssid, pass, err := credentials(req)
	if err != nil {
		return err
	}
	reply(wire.Info(fmt.Sprintf("trying network %q before storing it", ssid)))
	if err := s.net.StoreStation(ctx, ssid, pass); err != nil {
		reply(wire.Message{"wifi/store/result": "Fail"})
		return err
	}
	reply(wire.Message{"wifi/store/result": "Success"})
	reply(wire.Info(fmt.Sprintf("network %q stored", ssid)))
	return nil
}

// hal lists the drivers: {"hal/drivers": [{"name", "kind", "running"}]}.
func (s *Server) hal(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs(); err != nil {
		return err
	}
	reply(wire.Message{"hal/drivers": s.drv.List()})
	return nil
}

// driver returns the driver a request names in its optional last
// argument (after extra ones), the fake interface by default.
func (s *Server) driver(req wire.Request, extra ...string) (drivers.Driver, string, error) {
	name := drivers.DefaultName
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
	drv, err := s.drv.Get(name)
	return drv, name, err
}

// driverItem is the handler of start_interface and stop_interface: op (start
// or stop) on the driver the request names, its info line the reply.
func (s *Server) driverItem(op func(ctx context.Context, name string) (string, error)) cmdapi.Handler {
	return func(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
		_, name, err := s.driver(req)
		if err != nil {
			return err
		}
		info, err := op(ctx, name)
		if err != nil {
			return err
		}
		reply(wire.Info(info))
		return nil
	}
}

// sendMessage sends [text] (or [text, driver]) to a driver; its answer is
// broadcast ({"fake_interface/msg": "HELLO"}).
func (s *Server) sendMessage(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if len(req.Args) == 0 {
		return req.WantArgs("text")
	}
	text, err := req.StringArg(0, "text")
	if err != nil {
		return err
	}
	_, name, err := s.driver(req, "text")
	if err != nil {
		return err
	}
	return s.sendDriver(ctx, name, text)
}
