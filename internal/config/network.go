package config

// decodeNetwork decodes network.json's top-level object onto n.
func (d *decoder) decodeNetwork(top *node, n *Network) {
	d.object(top, "", fields{
		"device": obj(fields{
			"iam":    str(&n.Device.IAm, deviceID),
			"dev":    str(&n.Device.Dev, anyString),
			"labels": strList(&n.Device.Labels, label, 64),
		}),
		"ap": obj(fields{
			"essid":    str(&n.AP.ESSID, ssid),
			"authmode": integer(&n.AP.AuthMode, authMode),
			"password": str(&n.AP.Password, wifiPass),
			"hidden":   boolean(&n.AP.Hidden),
		}),
		"sta": obj(fields{
			"ssid": str(&n.STA.SSID, ssid),
			"pass": str(&n.STA.Pass, wifiPass),
		}),
		"wsserver": obj(fields{
			"ip":   str(&n.WSServer.IP, host),
			"host": str(&n.WSServer.Host, host),
			"port": integer(&n.WSServer.Port, legacyPort),
			"path": str(&n.WSServer.Path, anyString),
		}),
		"net": str(&n.Net, netName),
	})
	d.checkAP(n.AP)
}

// checkAP checks the access point's password against its authmode.
func (d *decoder) checkAP(ap AP) {
	off, given := d.at["ap.password"]
	if !given || ap.Password == "" {
		return
	}
	switch {
	case ap.AuthMode == 0:
		d.warnf(off, "ap.password", "ignored: authmode 0 is an open network")
	case ap.AuthMode >= 2 && !isWPAKey(ap.Password):
		d.errorf(off, "ap.password", "want 8-63 characters (or 64 hex digits) for WPA, got %d characters", len(ap.Password))
	}
}
