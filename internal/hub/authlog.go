package hub

import "strings"

// warnAuth says what the auth file in force leaves open: the whole hub
// when there is none, and each page token without grants (everything to
// every device, as before grants existed).
func (h *Hub) warnAuth(c *authConfig) {
	if c == nil {
		h.log.Warn("hub is OPEN: no --auth given, so anyone who can reach its ports can connect as any device and drive every device")
		return
	}
	for id, d := range c.file.Devices {
		if d.weak() {
			h.log.Warn("device may connect without credentials, by a weaker rule (anyone who knows its alias or is in its address range can connect as it)",
				"device", id, "alias", d.Alias != "", "cidr", strings.Join(d.CIDR, ","))
		}
	}
	for i, p := range c.file.Pages {
		if p.Grants == nil {
			h.log.Warn("page token without grants may view, drive and administer every device; give it \"grants\" to narrow it",
				"page", i, "name", c.pages[i].name)
		}
	}
}
