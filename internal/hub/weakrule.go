package hub

import (
	"crypto/sha256"
	"net/netip"
	"strings"

	"tether/internal/login"
)

// Weaker rules: a device that cannot send credentials (the seed's
// MicroPython firmware) comes in by the rule its auth file entry chooses:
// an unguessable path alias (it connects to /<alias>), an address range,
// or both. Never silently: the hub logs each such device at start and
// every connection made by a rule.

// aliasOf maps the path of a device connection to a device id: an alias
// the auth file names gives its device (and true), anything else is the
// id itself.
func (h *Hub) aliasOf(path string) (string, bool) {
	if c := h.auth(); c != nil {
		if id, ok := c.aliases[path]; ok {
			return id, true
		}
	}
	return path, false
}

// ruleHolds reports whether device id, connecting from remote (through its
// alias when viaAlias), meets its entry's weaker rule, and names it.
func (c *authConfig) ruleHolds(id, remote string, viaAlias bool) (string, bool) {
	d, ok := c.file.Devices[id]
	if !ok || !d.weak() || d.Alias != "" && !viaAlias {
		return "", false
	}
	var rule []string
	if d.Alias != "" {
		rule = append(rule, "alias")
	}
	if ranges := c.ranges[id]; len(ranges) > 0 {
		addr, err := netip.ParseAddr(login.ClientAddr(remote))
		if err != nil || !inRanges(addr.Unmap(), ranges) {
			return "", false
		}
		rule = append(rule, "address range")
	}
	return strings.Join(rule, " and "), true
}

func inRanges(a netip.Addr, ranges []netip.Prefix) bool {
	for _, p := range ranges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// stillHolds reports whether a device admitted by a rule (through the
// alias of SHA-256 aliasSum, or none) would be admitted by the auth file c.
func (c *authConfig) stillHolds(id, remote string, aliasSum [sha256.Size]byte, viaAlias bool) bool {
	if c == nil {
		return true
	}
	if viaAlias && sha256.Sum256([]byte(c.file.Devices[id].Alias)) != aliasSum {
		return false
	}
	_, ok := c.ruleHolds(id, remote, viaAlias)
	return ok
}
