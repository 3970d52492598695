package tlsutil

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func serverCert(t *testing.T, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	leaf, err := Leaf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func TestSelfSignedCreateThenReuse(t *testing.T) {
	dir := t.TempDir()
	cfg, err := LoadOrCreate("", "", dir, []string{"mail.example.gov.vn"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x", cfg.MinVersion)
	}
	leaf := serverCert(t, cfg)
	for _, name := range []string{"mail.example.gov.vn", "localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("certificate does not cover %s: %v", name, err)
		}
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life < 5*365*24*time.Hour {
		t.Errorf("certificate valid for %v, want 5 years", life)
	}
	if fi, err := os.Stat(filepath.Join(dir, "tls", "key.pem")); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("key.pem mode %v, want 0600", fi.Mode().Perm())
	}

	again, err := LoadOrCreate("", "", dir, []string{"mail.example.gov.vn"})
	if err != nil {
		t.Fatal(err)
	}
	if !serverCert(t, again).Equal(leaf) {
		t.Error("second LoadOrCreate made a new certificate, want the saved one")
	}
}

func TestSelfSignedRenewed(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	first, err := selfSigned(dir, []string{"mail.example.gov.vn"}, now)
	if err != nil {
		t.Fatal(err)
	}
	// A new host name needs a new certificate.
	second, err := selfSigned(dir, []string{"mail.example.gov.vn", "mx.example.gov.vn"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if second.Leaf.Equal(first.Leaf) || second.Leaf.VerifyHostname("mx.example.gov.vn") != nil {
		t.Error("certificate not regenerated for a new host name")
	}
	// So does one about to expire.
	third, err := selfSigned(dir, []string{"mx.example.gov.vn"}, second.Leaf.NotAfter.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if third.Leaf.Equal(second.Leaf) {
		t.Error("expiring certificate not regenerated")
	}
	// A corrupt pair is replaced.
	os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("junk"), 0o644)
	if _, err := selfSigned(dir, nil, now); err != nil {
		t.Errorf("corrupt pair: %v", err)
	}
}

// writePair writes a fresh certificate for names to dir.
func writePair(t *testing.T, dir string, names ...string) (certPath, keyPath string) {
	t.Helper()
	ns, ips := subjectNames(names)
	certPEM, keyPEM, err := generate(ns, ips, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

func TestLoadGivenFiles(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := writePair(t, dir, "given.example.vn")
	cfg, err := LoadOrCreate(certPath, keyPath, filepath.Join(dir, "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := serverCert(t, cfg).VerifyHostname("given.example.vn"); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Error("given files, yet a self-signed pair was written")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := writePair(t, dir, "a.example.vn")
	if _, err := LoadOrCreate(certPath, "", dir, nil); err == nil {
		t.Error("cert without key accepted")
	}
	if _, err := LoadOrCreate(filepath.Join(dir, "missing.pem"), keyPath, dir, nil); err == nil {
		t.Error("missing cert accepted")
	}
	os.WriteFile(keyPath, []byte("not a key"), 0o600)
	if _, err := LoadOrCreate(certPath, keyPath, dir, nil); err == nil {
		t.Error("bad key accepted")
	}
}

func TestReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := writePair(t, dir, "old.example.vn")
	now := time.Now()
	clock := func() time.Time { return now }
	r, err := newReloader(certPath, keyPath, clock, reloadInterval)
	if err != nil {
		t.Fatal(err)
	}
	current := func() *x509.Certificate {
		c, err := r.getCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf
	}
	old := current()

	writePair(t, dir, "new.example.vn")
	later := now.Add(time.Minute) // a distinct mtime even on coarse file systems
	os.Chtimes(certPath, later, later)
	now = now.Add(10 * time.Second)
	if !current().Equal(old) {
		t.Error("reloaded before the check interval")
	}
	now = now.Add(reloadInterval)
	if current().VerifyHostname("new.example.vn") != nil {
		t.Fatal("changed files not reloaded")
	}

	// A broken renewal keeps the working certificate.
	os.WriteFile(keyPath, []byte("half-copied"), 0o600)
	now = now.Add(reloadInterval)
	if current().VerifyHostname("new.example.vn") != nil {
		t.Error("broken files replaced the working certificate")
	}
	os.Remove(certPath)
	now = now.Add(reloadInterval)
	if current().VerifyHostname("new.example.vn") != nil {
		t.Error("missing files replaced the working certificate")
	}
}

func TestHandshake(t *testing.T) {
	cfg, err := LoadOrCreate("", "", t.TempDir(), []string{"mail.example.gov.vn"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write([]byte("hello"))
			}()
		}
	}()

	roots := x509.NewCertPool()
	roots.AddCert(serverCert(t, cfg))
	for _, serverName := range []string{"", "localhost", "mail.example.gov.vn"} {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: serverName})
		if err != nil {
			t.Errorf("handshake with ServerName %q: %v", serverName, err)
			continue
		}
		got, _ := io.ReadAll(conn)
		conn.Close()
		if !bytes.Equal(got, []byte("hello")) {
			t.Errorf("read %q", got)
		}
		if v := conn.ConnectionState().Version; !slices.Contains([]uint16{tls.VersionTLS12, tls.VersionTLS13}, v) {
			t.Errorf("version %x", v)
		}
	}

	old := &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}
	if conn, err := tls.Dial("tcp", ln.Addr().String(), old); err == nil {
		conn.Close()
		t.Error("TLS 1.1 handshake succeeded")
	}
}

func TestLeafWithoutCertificate(t *testing.T) {
	if _, err := Leaf(&tls.Config{}); err == nil {
		t.Error("Leaf of a configuration without a certificate: no error")
	}
	cert, err := selfSigned(t.TempDir(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert.Leaf = nil // as x509keypairleaf=0 leaves it
	leaf, err := Leaf(&tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil || leaf.VerifyHostname("localhost") != nil {
		t.Errorf("Leaf parsed %v, %v", leaf, err)
	}
}
