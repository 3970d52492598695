package smtp

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/auth"
	"mailserver/internal/delivery"
	"mailserver/internal/store"
	"mailserver/internal/testlog"
	"mailserver/internal/tlsutil"
)

const (
	domain   = "hanoi.gov.vn"
	hostname = "mail.hanoi.gov.vn"
)

// passwords of the test accounts an@, binh@ and chi@ (hashed cheaply: tests need no argon2id cost).
var passwords = map[string]string{
	"an@" + domain:   "mật khẩu của An",
	"binh@" + domain: "binh-secret",
	"chi@" + domain:  "chi-secret",
}

// lockedUser is refused by the test authenticator as if throttled.
const lockedUser = "locked@" + domain

// testEnv is a store with accounts and the three SMTP listeners on 127.0.0.1:0, closed and checked when the test ends.
type testEnv struct {
	t         testing.TB
	st        *store.Store // replaced by tests that reopen the store; the cleanup checks the current one
	path      string
	mx        string // address of the MX listener
	sub       string // submission (STARTTLS)
	subs      string // submissions (implicit TLS)
	clientTLS *tls.Config
	logs      *testlog.Buffer
}

type envOption func(*Options)

func newTestEnv(t testing.TB, options ...envOption) *testEnv {
	t.Helper()
	e, opts := newTestSetup(t, options...)
	e.mx = e.serve(NewMX(opts), false)
	e.sub = e.serve(NewSubmission(opts), false)
	e.subs = e.serve(NewSubmissions(opts), true)
	return e
}

// newTestSetup makes the store with the test accounts and the Options the servers are built with, options applied.
func newTestSetup(t testing.TB, options ...envOption) (*testEnv, Options) {
	t.Helper()
	dir := t.TempDir()
	e := &testEnv{t: t, path: filepath.Join(dir, "mail.db"), logs: &testlog.Buffer{},
		clientTLS: &tls.Config{InsecureSkipVerify: true, ServerName: hostname}}
	st, err := store.Open(e.path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	t.Cleanup(func() {
		if err := e.st.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		e.st.Close()
	})
	if err := st.AddDomain(domain); err != nil {
		t.Fatal(err)
	}
	cheap := auth.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}
	for addr, pw := range passwords {
		hash, err := cheap.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddAccount(store.Account{Address: addr, Name: "Người dùng", PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	tlsConfig, err := tlsutil.LoadOrCreate("", "", dir, []string{hostname})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := Options{
		Deliverer:       delivery.New(st, hostname, logger, nil),
		Auth:            testAuthenticator{throttle: auth.NewThrottle(time.Now)},
		TLSConfig:       tlsConfig,
		Hostname:        hostname,
		MaxMessageBytes: 1 << 20,
		MaxRecipients:   10,
		ReadTimeout:     10 * time.Second,
		WriteTimeout:    10 * time.Second,
		Logger:          logger,
	}
	for _, o := range options {
		o(&opts)
	}
	if a, ok := opts.Auth.(testAuthenticator); ok {
		a.real = auth.NewAuthenticator(st, a.throttle)
		opts.Auth = a
	}
	return e, opts
}

// serve starts srv on a new loopback listener (with implicit TLS if asked) and returns its address.
func (e *testEnv) serve(srv *Server, implicitTLS bool) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	addr := ln.Addr().String()
	serve := srv.Serve
	if implicitTLS {
		serve = srv.ServeTLS
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		serve(ln)
	}()
	e.t.Cleanup(func() {
		ln.Close()
		srv.Close()
		<-done
	})
	return addr
}

// testAuthenticator is the real one, except that lockedUser is always throttled.
type testAuthenticator struct {
	throttle *auth.Throttle
	real     *auth.Authenticator // made by newTestEnv over throttle
}

// withThrottle makes the test authenticator throttle logins with th.
func withThrottle(th *auth.Throttle) envOption {
	return func(o *Options) { o.Auth = testAuthenticator{throttle: th} }
}

func (a testAuthenticator) Authenticate(remote net.Addr, username, password string) (store.Account, error) {
	if username == lockedUser {
		return store.Account{}, auth.ErrTooManyAttempts
	}
	return a.real.Authenticate(remote, username, password)
}

// dialMX returns a client that has said EHLO to the MX listener.
func (e *testEnv) dialMX() *gosmtp.Client {
	e.t.Helper()
	c, err := gosmtp.Dial(e.mx)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	if err := c.Hello("mx.other.example"); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// dialSubmission returns a client on the submission port after STARTTLS, authenticated as user unless user is "".
func (e *testEnv) dialSubmission(user string) *gosmtp.Client {
	e.t.Helper()
	c, err := gosmtp.DialStartTLS(e.sub, e.clientTLS)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	if user != "" {
		if err := c.Auth(sasl.NewPlainClient("", user, passwords[user])); err != nil {
			e.t.Fatalf("AUTH as %s: %v", user, err)
		}
	}
	return c
}

// send runs MAIL, RCPT and DATA and returns the first error.
func send(c *gosmtp.Client, from string, to []string, body string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, body); err != nil {
		return err
	}
	return w.Close()
}

// wantCode fails the test unless err is an SMTP reply with the given code and enhanced code.
func wantCode(t *testing.T, what string, err error, code int, enhanced gosmtp.EnhancedCode) *gosmtp.SMTPError {
	t.Helper()
	var se *gosmtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("%s: got %v, want an SMTP error %d %v", what, err, code, enhanced)
	}
	if se.Code != code || se.EnhancedCode != enhanced {
		t.Fatalf("%s: got %d %v %q, want %d %v", what, se.Code, se.EnhancedCode, se.Message, code, enhanced)
	}
	return se
}

// inbox returns the messages in an account's INBOX, each as served: trace lines, then the body.
func (e *testEnv) inbox(address string) []string {
	e.t.Helper()
	a, err := e.st.Account(address)
	if err != nil {
		e.t.Fatal(err)
	}
	mb, err := e.st.Mailbox(a.ID, "INBOX")
	if err != nil {
		e.t.Fatal(err)
	}
	uids, err := e.st.UIDs(mb.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	msgs, err := e.st.Messages(mb.ID, uids, store.FetchOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		body, err := io.ReadAll(io.NewSectionReader(e.st.Body(m.Body, m.BodySize), 0, m.BodySize))
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, string(m.Trace)+string(body))
	}
	return out
}

// splitTrace splits a served message into its trace lines (Return-Path, Delivered-To, Received) and the rest.
func splitTrace(t *testing.T, full string) (trace, rest string) {
	t.Helper()
	i := strings.Index(full, "Received: ")
	if i < 0 {
		t.Fatalf("no Received line in %q", full)
	}
	j := strings.Index(full[i:], "; ")
	k := strings.Index(full[i+j:], "\r\n")
	if j < 0 || k < 0 {
		t.Fatalf("unterminated Received line in %q", full)
	}
	end := i + j + k + 2
	return full[:end], full[end:]
}

// rawClient speaks SMTP by hand, for exchanges the go-smtp client does not make (a transfer left half-way, BDAT
// with RSET in between).
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dialRaw connects to addr and reads the greeting; everything must be over within 30 seconds.
func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.reply()
	return c
}

// write sends s as it is.
func (c *rawClient) write(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatal(err)
	}
}

// reply reads one complete reply, every line of it.
func (c *rawClient) reply() string {
	c.t.Helper()
	var reply string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading a reply: %v (so far %q)", err, reply)
		}
		reply += line
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimSpace(reply)
		}
	}
}

// cmd sends s and returns the reply.
func (c *rawClient) cmd(s string) string {
	c.t.Helper()
	c.write(s)
	return c.reply()
}
