package recovery

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"time"

	"tether/internal/backoff"
)

// maxListenDelay caps the delay between rounds of listen attempts.
const maxListenDelay = 10 * time.Second

// candidates are the addresses recovery tries, in order: the one it wants,
// then every interface on that port (a board whose address changed, a
// typo), then every interface on the default port (a port another
// program holds). Duplicates are left out.
func candidates(addr, def string) []string {
	out := []string{addr}
	if _, port, err := net.SplitHostPort(addr); err == nil {
		out = append(out, net.JoinHostPort("", port))
	}
	out = append(out, def)
	seen := map[string]bool{}
	uniq := out[:0]
	for _, a := range out {
		key := a
		if host, port, err := net.SplitHostPort(a); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
			key = ":" + port // one way to write every interface
		}
		if !seen[key] {
			seen[key] = true
			uniq = append(uniq, a)
		}
	}
	return uniq
}

// listen listens on the first of addrs that works, trying them all again
// with backoff until one does or ctx ends (then it returns nil). It logs
// why an address was passed over, and when no address works, that
// recovery keeps trying (calling home meanwhile).
func listen(ctx context.Context, addrs []string, log *slog.Logger) net.Listener {
	bo := backoff.Backoff{Min: time.Second, Max: maxListenDelay}
	for round := 1; ; round++ {
		var errs []error
		for i, addr := range addrs {
			var lc net.ListenConfig
			ln, err := lc.Listen(ctx, "tcp", addr)
			if err == nil {
				if i > 0 {
					log.Warn("recovery listens on a fallback address", "addr", ln.Addr().String(), "wanted", addrs[0], "passed_over", joinErrs(errs))
				}
				if round > 1 {
					log.Info("recovery can listen again", "addr", ln.Addr().String(), "round", round)
				}
				return ln
			}
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			return nil
		}
		if round == 1 || round&(round-1) == 0 { // rounds 1, 2, 4, 8, ...
			log.Error("recovery cannot listen on any address; calling home anyway, and trying again",
				"tried", strings.Join(addrs, ", "), "round", round, "err", joinErrs(errs))
		}
		if bo.Wait(ctx) != nil {
			return nil
		}
	}
}

// joinErrs writes errs on one line, for a log field.
func joinErrs(errs []error) string {
	s := make([]string, len(errs))
	for i, err := range errs {
		s[i] = err.Error()
	}
	return strings.Join(s, "; ")
}
