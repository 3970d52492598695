package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/admin"
	"mailserver/internal/config"
	"mailserver/internal/store"
)

// testPassword is the password of every test account.
// ASCII because Python's smtplib cannot send other passwords; Vietnamese passwords are covered in internal/auth.
const testPassword = "Mat-khau-Thu-2026"

// Test accounts, all in example.gov.vn.
var testUsers = []string{"an@example.gov.vn", "binh@example.gov.vn", "chi@example.gov.vn"}

var storeFetchNone = store.FetchOptions{}

// adminUser is the provisioning request for a test account.
func adminUser(address string) admin.AddUserRequest {
	return admin.AddUserRequest{Address: address, Name: "Cán bộ " + address, Password: testPassword}
}

// testServer is a real server on loopback ports chosen by the kernel.
type testServer struct {
	*Server
	cfg config.Config
	t   *testing.T
}

// newTestConfig returns a config whose listeners all bind 127.0.0.1:0 in a fresh data folder. The folder name is
// short because unix socket paths are limited to about 100 bytes.
func newTestConfig(t testing.TB) config.Config {
	t.Helper()
	dir, err := os.MkdirTemp("", "ms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Hostname = "mail.example.gov.vn"
	cfg.SMTP.MX, cfg.SMTP.Submission, cfg.SMTP.Submissions = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.IMAP.Listen, cfg.IMAP.ListenTLS, cfg.HTTP.Listen, cfg.HTTP.ListenTLS = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Metrics.Listen = "127.0.0.1:0"
	cfg.Sieve.ManageSieve = "127.0.0.1:0"
	// Tests never ask the network's DNS: names not in a records file do not exist.
	cfg.DNS.System = false
	// Production rules: authentication only over TLS, even on loopback.
	cfg.SMTP.AllowInsecureAuth, cfg.IMAP.AllowInsecureAuth, cfg.HTTP.AllowInsecureAuth = false, false, false
	cfg.Sieve.AllowInsecureAuth = false
	return cfg
}

// startServer starts a server with the test accounts provisioned.
func startServer(t *testing.T) *testServer {
	t.Helper()
	return provision(startServerWith(t, newTestConfig(t)))
}

// provision adds example.gov.vn and the test accounts to ts.
func provision(ts *testServer) *testServer {
	ts.t.Helper()
	if err := ts.Admin().AddDomain("example.gov.vn"); err != nil {
		ts.t.Fatal(err)
	}
	for _, u := range testUsers {
		if _, err := ts.Admin().AddUser(adminUser(u)); err != nil {
			ts.t.Fatal(err)
		}
	}
	return ts
}

// startServerWith starts a server on cfg and stops it (checking store invariants first) when the test ends.
func startServerWith(t *testing.T, cfg config.Config) *testServer {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return startServerLogging(t, cfg, logger)
}

// startServerLogging is startServerWith with the server's logger.
func startServerLogging(t *testing.T, cfg config.Config, logger *slog.Logger) *testServer {
	t.Helper()
	srv, err := New(cfg, logger, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: srv, cfg: cfg, t: t}
	t.Cleanup(ts.stop)
	return ts
}

// stop checks the store's invariants and shuts the server down; calling it twice is harmless.
func (ts *testServer) stop() {
	if err := ts.Store().Check(); err != nil && !isClosedErr(err) {
		ts.t.Errorf("store invariants violated:\n%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		ts.t.Errorf("shutdown: %v", err)
	}
}

func isClosedErr(err error) bool { return err != nil && err.Error() == "database not open" }

// clientTLS trusts the server's self-signed certificate, as a client that accepted it once would.
func (ts *testServer) clientTLS() *tls.Config {
	pem, err := os.ReadFile(filepath.Join(ts.cfg.DataDir, "tls", "cert.pem"))
	if err != nil {
		ts.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		ts.t.Fatal("no certificate in cert.pem")
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// imapLogin opens an implicit-TLS IMAP session as user.
func (ts *testServer) imapLogin(user string, opts *imapclient.Options) *imapclient.Client {
	ts.t.Helper()
	if opts == nil {
		opts = &imapclient.Options{}
	}
	opts.TLSConfig = ts.clientTLS()
	c, err := imapclient.DialTLS(ts.Addr("imaps"), opts)
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { c.Close() })
	if err := c.Login(user, testPassword).Wait(); err != nil {
		ts.t.Fatalf("IMAP login %s: %v", user, err)
	}
	return c
}

// submit sends raw from user to rcpts over submission with STARTTLS and AUTH PLAIN.
func (ts *testServer) submit(user string, rcpts []string, raw string) error {
	ts.t.Helper()
	c, err := gosmtp.DialStartTLS(ts.Addr("submission"), ts.clientTLS())
	if err != nil {
		ts.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", user, testPassword)); err != nil {
		return err
	}
	return c.SendMail(user, rcpts, stringsReader(raw))
}
