package devtls

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"tether/internal/certs"
)

// GeneratedDays is the validity of a self-signed certificate made on first
// boot: long, since nothing renews it and a person trusts it by its
// fingerprint, not by a CA.
const GeneratedDays = 3650

// Hosts are the names and addresses a generated certificate is valid for.
type Hosts struct {
	Names []string
	IPs   []net.IP
}

// DefaultHosts are the names and addresses of this device: its id (iam,
// when it is a usable DNS name), the host name (and name.local), localhost,
// and the IP it listens on, or every interface's IPs when it listens on all
// of them (listen "" or "0.0.0.0:80").
func DefaultHosts(iam, listen string) Hosts {
	var h Hosts
	add := func(name string) {
		name = strings.ToLower(strings.TrimSuffix(name, "."))
		if dnsName(name) && !slices.Contains(h.Names, name) {
			h.Names = append(h.Names, name)
		}
	}
	add(iam)
	if hn, err := os.Hostname(); err == nil {
		add(hn)
		if !strings.Contains(hn, ".") {
			add(hn + ".local")
		}
	}
	add("localhost")
	if ip := listenIP(listen); ip != nil {
		h.IPs = []net.IP{ip}
		return h
	}
	h.IPs = interfaceIPs()
	return h
}

// interfaceIPs are the IPs of every interface, loopback included.
func interfaceIPs() []net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil || len(addrs) == 0 {
		return []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
			ips = append(ips, n.IP)
		}
	}
	return ips
}

// dnsName reports whether s can be a DNS SAN: letters, digits, '-' and
// '.', labels of 1-63.
func dnsName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// generate makes a self-signed ECDSA P-256 certificate for hosts and
// writes it as certFile (0644) and keyFile (0600), never replacing an
// existing file.
func generate(certFile, keyFile string, hosts Hosts, now time.Time) (*Server, error) {
	if len(hosts.Names) == 0 && len(hosts.IPs) == 0 {
		hosts = DefaultHosts("", "")
	}
	p, err := selfSigned(hosts, now)
	if err != nil {
		return nil, err
	}
	// certFile and keyFile are the defaults: dir/server.crt, dir/server.key.
	_, _, err = p.Write(filepath.Dir(certFile), "server", false)
	if errors.Is(err, certs.ErrExists) { // made meanwhile by another app
		return load(certFile, keyFile, "found "+CertFile+" made meanwhile", now)
	}
	if err != nil {
		return nil, fmt.Errorf("make certificate: %w", err)
	}
	s := serverFor(p, certFile, keyFile, "tls.enabled is true and the device root had no certificate: made a self-signed one")
	s.Generated = true
	return s, nil
}

// selfSigned makes the certificate: its own issuer, a server
// certificate only (not a CA).
func selfSigned(hosts Hosts, now time.Time) (*certs.Pair, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("make certificate: serial number: %w", err)
	}
	cn := "tether device"
	if len(hosts.Names) > 0 {
		cn = hosts.Names[0]
	}
	p, err := certs.Sign(&x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"tether device (self-signed)"}},
		NotBefore:             now.Add(-5 * time.Minute).UTC(),
		NotAfter:              now.AddDate(0, 0, GeneratedDays).UTC(),
		DNSNames:              hosts.Names,
		IPAddresses:           hosts.IPs,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("make certificate: %w", err)
	}
	return p, nil
}
