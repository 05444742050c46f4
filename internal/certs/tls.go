package certs

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"
)

// ClientTLS builds the TLS configuration of a client (a device calling home,
// tether ws): it trusts the CAs in caFile (the system roots when caFile is
// "") and presents certFile/keyFile as its client certificate (none when
// both are ""). Errors name the file and say what is wrong with it.
func ClientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := LoadPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("load client TLS: %w", err)
		}
		cfg.RootCAs = pool
	}
	if certFile != "" || keyFile != "" {
		cert, err := loadTLSCert(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load client TLS: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// ServerTLS builds the TLS configuration of a server (a hub, a device's web
// server): it presents certFile/keyFile and, when clientCAFile is not "",
// requires every client to present a certificate signed by a CA in it (see
// PeerID for the device id it carries). Errors name the file and say what is
// wrong with it.
func ServerTLS(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := loadTLSCert(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load server TLS: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if clientCAFile != "" {
		pool, err := LoadPool(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("load server TLS: %w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// loadTLSCert loads a certificate with the chain after it in certFile (as
// a fullchain.pem holds it) and its key of any kind tls accepts (ECDSA,
// RSA, Ed25519), each error naming its file.
func loadTLSCert(certFile, keyFile string) (tls.Certificate, error) {
	switch {
	case certFile == "":
		return tls.Certificate{}, errors.New("certificate file: got none, want one with the key file")
	case keyFile == "":
		return tls.Certificate{}, errors.New("key file: got none, want one with the certificate file")
	}
	_, leaf, err := readCert(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := checkValidity(certFile, leaf, time.Now()); err != nil {
		return tls.Certificate{}, err
	}
	if _, _, err := readKey(keyFile, certFile, leaf); err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, &FileError{Path: certFile, Err: err}
	}
	return cert, nil
}
