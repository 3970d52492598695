// Package tlsutil builds the server's TLS configuration: certificates given
// by path, reloaded when they change (renewals need no restart), or else a
// self-signed certificate generated once in the data folder, so that a
// fresh install speaks TLS at once.
package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

const (
	selfSignedValidity = 5 * 365 * 24 * time.Hour
	// renewBefore regenerates a self-signed certificate this long before
	// it expires, so that it never lapses on a running server's restart.
	renewBefore = 30 * 24 * time.Hour
)

// LoadOrCreate returns a TLS 1.2+ server configuration.
//
// With certPath and keyPath set, it loads that PEM pair and re-reads it
// when either file changes. With both empty, it uses
// <dataDir>/tls/cert.pem and key.pem, creating a self-signed ECDSA P-256
// certificate for hostnames, localhost, 127.0.0.1 and ::1 if they are
// missing, expiring within 30 days, or do not cover every hostname.
func LoadOrCreate(certPath, keyPath, dataDir string, hostnames []string) (*tls.Config, error) {
	if (certPath == "") != (keyPath == "") {
		return nil, errors.New("tls: set both the certificate and the key path, or neither")
	}
	if certPath != "" {
		r, err := newReloader(certPath, keyPath, time.Now, reloadInterval)
		if err != nil {
			return nil, err
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.getCertificate}, nil
	}
	cert, err := selfSigned(filepath.Join(dataDir, "tls"), hostnames, time.Now())
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// Leaf returns the certificate that cfg (made by LoadOrCreate) serves now: a renewal on disk shows once the
// configuration has picked it up.
func Leaf(cfg *tls.Config) (*x509.Certificate, error) {
	var cert *tls.Certificate
	switch {
	case cfg.GetCertificate != nil:
		c, err := cfg.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			return nil, err
		}
		cert = c
	case len(cfg.Certificates) > 0:
		cert = &cfg.Certificates[0]
	}
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, errors.New("tls: no certificate configured")
	}
	if cert.Leaf != nil {
		return cert.Leaf, nil
	}
	return x509.ParseCertificate(cert.Certificate[0])
}

// selfSigned loads the self-signed pair in dir, or creates it.
func selfSigned(dir string, hostnames []string, now time.Time) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	names, ips := subjectNames(hostnames)
	cert, err := loadPair(certPath, keyPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		slog.Info("creating a self-signed TLS certificate", "path", certPath, "names", names)
	case err != nil:
		slog.Warn("replacing unreadable self-signed TLS certificate", "path", certPath, "err", err)
	case !covers(cert.Leaf, names, ips, now):
		slog.Info("replacing self-signed TLS certificate: expiring or missing a host name",
			"path", certPath, "names", names, "not_after", cert.Leaf.NotAfter)
	default:
		return cert, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: create %s: %w", dir, err)
	}
	certPEM, keyPEM, err := generate(names, ips, now)
	if err != nil {
		return tls.Certificate{}, err
	}
	// Key first: a crash in between leaves no certificate, so the next
	// start generates a fresh pair instead of pairing a new cert with an
	// old key.
	if err := writeAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: parse generated certificate: %w", err)
	}
	return cert, nil
}

// loadPair loads a PEM pair and makes sure Leaf is set (the
// x509keypairleaf=0 GODEBUG setting would leave it nil).
func loadPair(certPath, keyPath string) (tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil && cert.Leaf == nil {
		cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0])
	}
	return cert, err
}

// subjectNames returns the DNS names and IP addresses a self-signed
// certificate names: hostnames (IP literals among them go to ips), then
// localhost, 127.0.0.1 and ::1 for local clients and tests.
func subjectNames(hostnames []string) (names []string, ips []net.IP) {
	for _, h := range append(slices.Clone(hostnames), "localhost", "127.0.0.1", "::1") {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
		} else if h != "" && !slices.Contains(names, h) {
			names = append(names, h)
		}
	}
	return names, ips
}

// covers reports whether leaf names every name and IP and stays valid for
// at least renewBefore.
func covers(leaf *x509.Certificate, names []string, ips []net.IP, now time.Time) bool {
	if leaf == nil || now.Add(renewBefore).After(leaf.NotAfter) {
		return false
	}
	for _, n := range names {
		if leaf.VerifyHostname(n) != nil {
			return false
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// generate returns a PEM certificate and PKCS #8 key, valid from an hour
// ago (client clock skew) for selfSignedValidity.
func generate(names []string, ips []net.IP, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"mailserver self-signed"}},
		DNSNames:              names,
		IPAddresses:           ips,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// writeAtomic writes data to path through a temporary file and a rename,
// so that a reader never sees half a file; the file is created with mode
// perm from the start, so the key is never readable by others.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	if err := writeTemp(path, data, perm); err != nil {
		return fmt.Errorf("tls: write %s: %w", path, err)
	}
	return nil
}

func writeTemp(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after the rename
	_, err = f.Write(data)
	err = errors.Join(err, f.Chmod(perm), f.Sync(), f.Close())
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
