package appserver

import (
	"context"
	"fmt"

	"tether/internal/wire"
)

// Driver does op to the driver called name for the app itself, as the
// driver items do for a client: "start", "stop", or "send" text. It
// returns the info line to tell the app ("uart started"; "" for a send).
// It fails when the app has no drivers (Options.DriverItems false), the
// driver or op is unknown, or the driver refuses.
func (s *Server) Driver(ctx context.Context, op, name, text string) (string, error) {
	if s.drv == nil {
		return "", fmt.Errorf("%s %s: the app declares no drivers", op, name)
	}
	switch op {
	case "start":
		return s.startDriver(ctx, name)
	case "stop":
		return s.stopDriver(ctx, name)
	case "send":
		return "", s.sendDriver(ctx, name, text)
	}
	return "", fmt.Errorf("driver %s: unknown op %q: want start, stop or send", name, op)
}

// startDriver starts the driver name; what it produces goes to every
// client, and to Options.DriverTap.
func (s *Server) startDriver(ctx context.Context, name string) (string, error) {
	drv, err := s.drv.Get(name)
	if err != nil {
		return "", err
	}
	if err := drv.Start(context.WithoutCancel(ctx), s.driverOut); err != nil {
		return "", fmt.Errorf("start %s: %w", name, err)
	}
	return name + " started", nil
}

// stopDriver stops the driver name.
func (s *Server) stopDriver(ctx context.Context, name string) (string, error) {
	drv, err := s.drv.Get(name)
	if err != nil {
		return "", err
	}
	if err := drv.Stop(ctx); err != nil {
		return "", fmt.Errorf("stop %s: %w", name, err)
	}
	return name + " stopped", nil
}

// sendDriver sends text to the driver name.
func (s *Server) sendDriver(ctx context.Context, name, text string) error {
	drv, err := s.drv.Get(name)
	if err != nil {
		return err
	}
	return drv.Send(ctx, text)
}

// driverOut hands what a driver produces to every client, then to the
// app's DriverTap.
func (s *Server) driverOut(m wire.Message) {
	s.api.Broadcast(m)
	if s.opts.DriverTap != nil {
		s.opts.DriverTap(m)
	}
}
