// Package demo is the "demo" device application, the seed's main one: the
// device page on app.json's demo.http address, the command protocol on
// demo.websocket, the device's drivers (a "fake_interface" that upper-cases
// text, and those demo.drivers declares, such as serial ports: package
// drivers), and calling home to the hub, all served by package appserver
// from the demo section.
//
// Its items: GET wifi; CMD test_new_sta [ssid, pass], store_new_sta
// [ssid, pass], hal, start_interface, stop_interface, send_message [text];
// GET help; and tether's operator items. docs/PROTOCOL.md is the reference.
package demo

import (
	"context"

	"tether/internal/apps"
	"tether/internal/apps/appserver"
	"tether/internal/config"
	"tether/internal/drivers"
)

func init() {
	apps.Register("demo", func() apps.App { return &App{} })
}

// FakeInterface is the name of the demo's fake driver, the seed's
// "fake_interface": its keys are fake_interface/running and
// fake_interface/msg. Requests that name no driver mean it.
const FakeInterface = drivers.DefaultName

// App is the demo application. The zero value is ready to Run.
type App struct{}

var _ apps.App = (*App)(nil)

// Run serves the page, the command API and call-home until ctx ends, then
// closes every client with 1001 and returns nil within a few seconds. It
// fails if a listener cannot be opened, and fails with an error whose
// NoRestart method says true when the settings are unusable (TLS or
// demo.home files that do not load). TLS follows package devtls: on when
// demo.tls asks for it or the device root holds certs/server.crt.
func (a *App) Run(ctx context.Context, env *apps.Env) error {
	cfg := env.Config
	if cfg == nil {
		cfg = config.Default()
	}
	s, err := appserver.New(env, appserver.Options{
		Name: "demo", Section: "demo", Settings: cfg.App.Demo, DriverItems: true,
	})
	if err != nil {
		return err
	}
	return s.Run(ctx)
}
