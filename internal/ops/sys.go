package ops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"tether/internal/cmdapi"
	"tether/internal/netif"
	"tether/internal/wire"
)

// sysTimeout bounds asking the network backend for the signal.
const sysTimeout = 3 * time.Second

// sys is the system information message: every sys/ key.
func (ss *Session) sys(ctx context.Context) wire.Message {
	s := ss.s
	in := s.opts.Sys.Read(s.opts.Root)
	h := s.opts.Health()
	now := time.Now()
	m := wire.Message{
		"sys/time":                  now.Unix(),
		"sys/tether/uptime":         int64(now.Sub(s.started).Seconds()),
		"sys/version":               s.opts.Version,
		"sys/app":                   h.App,
		"sys/app/restarts":          h.Restarts,
		"sys/app/last_failure":      oneLine(h.LastFailure),
		"sys/app/last_failure/time": unixOrZero(h.LastFailureAt),
		"sys/log/dropped":           s.opts.Log.Dropped() + s.dropped.Load(),
	}
	if in.UptimeOK {
		m["sys/uptime"] = int64(in.Uptime.Seconds())
	}
	if in.LoadOK {
		m["sys/load"] = in.Load[:]
	}
	if in.MemOK {
		m["sys/mem/total"], m["sys/mem/available"] = in.MemTotal, in.MemAvailable
	}
	if in.DiskOK {
		m["sys/disk/total"], m["sys/disk/free"] = in.DiskTotal, in.DiskFree
	}
	if in.TempOK {
		m["sys/temp"] = in.Temp
	}
	if ss.net != nil {
		ctx, cancel := context.WithTimeout(ctx, sysTimeout)
		defer cancel()
		if st, err := ss.net.Station(ctx); err == nil && st.Connected && st.Signal > 0 {
			m["sys/wifi/signal"] = st.Signal
		}
	}
	return m
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// getSys is GET sys.
func (ss *Session) getSys(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs(); err != nil {
		return err
	}
	reply(ss.sys(ctx))
	return nil
}

// getScan is GET wifi_scan: the networks in range, strongest first.
func (ss *Session) getScan(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
	if err := req.WantArgs(); err != nil {
		return err
	}
	if ss.net == nil {
		return errors.New("wifi_scan: no network on this device")
	}
	nets, err := ss.net.Scan(ctx)
	if err != nil {
		return fmt.Errorf("wifi_scan: %w", err)
	}
	slices.SortStableFunc(nets, func(a, b netif.Network) int { return cmp.Compare(b.Signal, a.Signal) })
	if nets == nil {
		nets = []netif.Network{}
	}
	reply(wire.Message{"wifi/scan": nets})
	return nil
}
