package managesieve

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailserver/internal/auth"
	"mailserver/internal/store"
	"mailserver/internal/testlog"
	"mailserver/internal/tlsutil"
)

const (
	testUser     = "an@example.gov.vn"
	testPassword = "mật khẩu đúng"
)

// fakeAuth knows one account; "locked@example.gov.vn" is always throttled.
type fakeAuth struct{}

func (fakeAuth) Authenticate(_ net.Addr, user, pass string) (store.Account, error) {
	switch {
	case user == "locked@example.gov.vn":
		return store.Account{}, &auth.ThrottledError{RetryAfter: 30 * time.Second, Locked: true}
	case user == testUser && pass == testPassword:
		return store.Account{ID: 7, Address: testUser}, nil
	}
	return store.Account{}, fmt.Errorf("login %s: %w", user, auth.ErrInvalidCredentials)
}

// fakeScripts keeps scripts in memory. fail, when set, is returned by every call (a broken store).
type fakeScripts struct {
	mu      sync.Mutex
	scripts map[string][]byte // of account 7 only
	active  string
	fail    error
}

func newFakeScripts() *fakeScripts { return &fakeScripts{scripts: map[string][]byte{}} }

func (f *fakeScripts) List(id uint64) ([]ScriptInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	var out []ScriptInfo
	for name := range f.scripts {
		out = append(out, ScriptInfo{Name: name, Active: name == f.active})
	}
	slices.SortFunc(out, func(a, b ScriptInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *fakeScripts) Get(id uint64, name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	src, found := f.scripts[name]
	if !found {
		return nil, fmt.Errorf("get %q: %w", name, ErrNonexistent)
	}
	return src, nil
}

func (f *fakeScripts) Put(id uint64, name string, src []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.scripts[name] = src
	return nil
}

func (f *fakeScripts) HaveSpace(id uint64, name string, size int) error {
	if size > 3000 {
		return fmt.Errorf("account quota: %w", ErrQuota)
	}
	return nil
}

func (f *fakeScripts) Activate(id uint64, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, found := f.scripts[name]; !found && name != "" {
		return ErrNonexistent
	}
	f.active = name
	return nil
}

func (f *fakeScripts) Delete(id uint64, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, found := f.scripts[name]; !found {
		return ErrNonexistent
	}
	if f.active == name {
		return ErrActive
	}
	delete(f.scripts, name)
	return nil
}

func (f *fakeScripts) Rename(id uint64, from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	src, found := f.scripts[from]
	switch {
	case !found:
		return ErrNonexistent
	case f.scripts[to] != nil:
		return ErrExists
	}
	delete(f.scripts, from)
	f.scripts[to] = src
	if f.active == from {
		f.active = to
	}
	return nil
}

func (f *fakeScripts) get(name string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	src, found := f.scripts[name]
	return string(src), found
}

// checkError is what fakeCheck says about a script with "frobnicate" in it.
const checkError = `line 2, column 3: unknown command "frobnicate"`

func fakeCheck(_ store.Account, src []byte) error {
	if strings.Contains(string(src), "frobnicate") {
		return errors.New(checkError)
	}
	return nil
}

// testServer is a server on 127.0.0.1:0 with a self-signed certificate, fake storage and a JSON log.
type testServer struct {
	*Server
	addr    string
	scripts *fakeScripts
	logs    *testlog.Buffer
	caFile  string
	roots   *x509.CertPool
	served  chan error
}

func startServer(t *testing.T, configure ...func(*Options)) *testServer {
	t.Helper()
	ts := newTestServer(t, configure...)
	ts.serve(t)
	return ts
}

// newTestServer builds the server without serving yet: a test may change it first (trusted).
func newTestServer(t *testing.T, configure ...func(*Options)) *testServer {
	t.Helper()
	dir := t.TempDir()
	tlsConfig, err := tlsutil.LoadOrCreate("", "", dir, []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := tlsutil.Leaf(tlsConfig)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	ts := &testServer{scripts: newFakeScripts(), logs: &testlog.Buffer{}, roots: roots,
		caFile: filepath.Join(dir, "tls", "cert.pem"), served: make(chan error, 1)}
	opts := Options{
		Auth: fakeAuth{}, Scripts: ts.scripts, Check: fakeCheck, TLSConfig: tlsConfig,
		Extensions: []string{"fileinto", "vacation", "imap4flags"}, Hostname: "mail.example.gov.vn",
		Limits: Limits{MaxScriptBytes: 4096, MaxScripts: 3, MaxErrors: 5},
		Logger: slog.New(slog.NewJSONHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, c := range configure {
		c(&opts)
	}
	ts.Server = New(opts)
	return ts
}

func (ts *testServer) serve(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	go func() { ts.served <- ts.Serve(ln) }()
	t.Cleanup(func() {
		ts.Close()
		if err := <-ts.served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
}

// response is a server's answer to one command: the data lines (literals inlined) and the final OK/NO/BYE.
type response struct {
	lines      []string
	kind, code string
	text       string
}

func (r response) String() string {
	return fmt.Sprintf("%s (%s) %q after %q", r.kind, r.code, r.text, r.lines)
}

// client is a small ManageSieve client for the tests.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	caps response // the greeting or the capabilities after STARTTLS
}

func dial(t *testing.T, ts *testServer) *client {
	t.Helper()
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { conn.Close() })
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.caps = c.read()
	if c.caps.kind != "OK" {
		t.Fatalf("greeting: %v", c.caps)
	}
	return c
}

// login dials, starts TLS and authenticates with PLAIN.
func login(t *testing.T, ts *testServer) *client {
	t.Helper()
	c := dial(t, ts)
	c.startTLS(ts)
	c.expect("OK", "", `AUTHENTICATE "PLAIN" "%s"`, plain("", testUser, testPassword))
	return c
}

func plain(identity, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(identity + "\x00" + user + "\x00" + pass))
}

func (c *client) startTLS(ts *testServer) {
	c.t.Helper()
	c.expect("OK", "", "STARTTLS")
	tc := tls.Client(c.conn, &tls.Config{ServerName: "localhost", RootCAs: ts.roots})
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.caps = c.read() // RFC 5804 section 2.2: the capabilities again, unasked
	if c.caps.kind != "OK" {
		c.t.Fatalf("capabilities after STARTTLS: %v", c.caps)
	}
}

// send writes raw bytes.
func (c *client) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, raw); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// do sends a command line and reads the response.
func (c *client) do(format string, a ...any) response {
	c.t.Helper()
	c.send(fmt.Sprintf(format, a...) + "\r\n")
	return c.read()
}

// expect runs a command and fails unless the response has the kind and, when given, the response code.
func (c *client) expect(kind, code, format string, a ...any) response {
	c.t.Helper()
	r := c.do(format, a...)
	if r.kind != kind || (code != "" && r.code != code) {
		c.t.Fatalf("%s: got %v, want %s (%s)", fmt.Sprintf(format, a...), r, kind, code)
	}
	return r
}

// read reads lines up to the final OK, NO or BYE.
func (c *client) read() response {
	c.t.Helper()
	var r response
	for range 1000 {
		line := c.readLine()
		for _, kind := range []string{"OK", "NO", "BYE"} {
			if line == kind || strings.HasPrefix(line, kind+" ") {
				r.kind = kind
				r.code, r.text = parseFinal(c.t, strings.TrimPrefix(line, kind))
				return r
			}
		}
		r.lines = append(r.lines, line)
	}
	c.t.Fatal("no final response in 1000 lines")
	return r
}

// readLine reads a line and the literals it ends with, inlined.
func (c *client) readLine() string {
	c.t.Helper()
	var out strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (after %q)", err, out.String()+line)
		}
		if !strings.HasSuffix(line, "\r\n") {
			c.t.Fatalf("line without CRLF: %q", line)
		}
		line = strings.TrimSuffix(line, "\r\n")
		open := strings.LastIndexByte(line, '{')
		if open < 0 || !strings.HasSuffix(line, "}") {
			return out.String() + line
		}
		n, err := strconv.Atoi(line[open+1 : len(line)-1])
		if err != nil {
			return out.String() + line
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			c.t.Fatalf("read literal: %v", err)
		}
		out.WriteString(line[:open] + `"` + string(buf) + `"`)
	}
}

// parseFinal splits ` (CODE args) "text"` (with literals already inlined by readLine).
func parseFinal(t *testing.T, rest string) (code, text string) {
	rest = strings.TrimPrefix(rest, " ")
	if strings.HasPrefix(rest, "(") {
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			t.Fatalf("unterminated response code: %q", rest)
		}
		code, rest = rest[1:end], strings.TrimPrefix(rest[end+1:], " ")
	}
	if rest != "" {
		text = unquote(rest)
	}
	return code, text
}

func unquote(s string) string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`)
	return strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(s)
}

// hasLine reports whether r has the data line.
func (r response) hasLine(line string) bool { return slices.Contains(r.lines, line) }

// closed reports whether the server closed the connection (after what it said).
func (c *client) closed() bool {
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := c.r.ReadByte()
	if err != nil && !errors.Is(err, io.EOF) {
		c.t.Logf("reading after the end: %v", err)
	} else if err == nil {
		c.t.Logf("reading after the end: got %q", b)
	}
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}
