package imap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/auth"
	"mailserver/internal/store"
)

const (
	testUser     = "an@example.gov.vn"
	testPassword = "Mật-khẩu-2026"
)

// fakeAuth accepts the passwords it was given; everything else is ErrInvalidCredentials.
type fakeAuth struct {
	st        *store.Store
	passwords map[string]string
}

func (f fakeAuth) Authenticate(_ net.Addr, username, password string) (store.Account, error) {
	if want, ok := f.passwords[username]; !ok || want != password {
		return store.Account{}, auth.ErrInvalidCredentials
	}
	return f.st.Account(username)
}

type testServer struct {
	srv      *Server
	st       *store.Store
	account  store.Account
	addr     string // plaintext (STARTTLS)
	tlsAddr  string // implicit TLS
	clientTL *tls.Config
}

// testConfig is what serverOptions adjust: the Options, and the Server before it starts listening.
type testConfig struct {
	opts  Options
	tweak func(*Server)
}

type serverOption func(*testConfig)

// newTestServer starts the real server on 127.0.0.1 with a temporary store and one account (testUser). By default
// plaintext login is allowed from loopback, as in development.
func newTestServer(t testing.TB, opts ...serverOption) *testServer {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "mail.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	acct, err := st.AddAccount(store.Account{Address: testUser, Name: "Nguyễn Văn An"})
	if err != nil {
		t.Fatal(err)
	}
	return startTestServer(t, st, acct, opts...)
}

// startTestServer is newTestServer on a store that already holds acct, the account of testUser.
func startTestServer(t testing.TB, st *store.Store, acct store.Account, opts ...serverOption) *testServer {
	t.Helper()
	serverTLS, clientTLS := testTLS(t)
	cfg := testConfig{opts: Options{
		Store:             st,
		Auth:              fakeAuth{st: st, passwords: map[string]string{testUser: testPassword}},
		TLSConfig:         serverTLS,
		AllowInsecureAuth: true,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
	for _, opt := range opts {
		opt(&cfg)
	}
	srv := New(cfg.opts)
	if cfg.tweak != nil {
		cfg.tweak(srv)
	}
	unsubscribe := st.Subscribe(srv.OnChange) // as internal/server wires it
	ts := &testServer{srv: srv, st: st, account: acct, clientTL: clientTLS}
	ts.addr = ts.listen(t, srv.Serve)
	ts.tlsAddr = ts.listen(t, srv.ServeTLS)
	t.Cleanup(func() {
		srv.Close()
		unsubscribe()
		if err := st.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		st.Close()
	})
	return ts
}

func (ts *testServer) listen(t testing.TB, serve func(net.Listener) error) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go serve(ln)
	return ln.Addr().String()
}

// client connects over plaintext and logs in (loopback with AllowInsecureAuth).
func (ts *testServer) client(t testing.TB, handler *imapclient.UnilateralDataHandler) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(ts.addr, &imapclient.Options{UnilateralDataHandler: handler})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(testUser, testPassword).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c
}

// selectBox selects a mailbox and fails the test on error.
func selectBox(t testing.TB, c *imapclient.Client, name string, readOnly bool) *imap.SelectData {
	t.Helper()
	data, err := c.Select(name, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
	if err != nil {
		t.Fatalf("select %s: %v", name, err)
	}
	return data
}

// appendMsg appends raw and returns its UID.
func appendMsg(t testing.TB, c *imapclient.Client, mailbox string, raw []byte, opts *imap.AppendOptions) imap.UID {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(raw)), opts)
	if _, err := cmd.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return data.UID
}

// responseCode returns the code of an *imap.Error, or "" for other errors.
func responseCode(err error) imap.ResponseCode {
	var imapErr *imap.Error
	if errors.As(err, &imapErr) {
		return imapErr.Code
	}
	return ""
}

func wantCode(t testing.TB, err error, code imap.ResponseCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want NO [%s]", code)
	}
	if got := responseCode(err); got != code {
		t.Fatalf("got %v, want NO [%s]", err, code)
	}
}

var (
	tlsOnce          sync.Once
	tlsServer, tlsCl *tls.Config
)

// testTLS returns a self-signed server configuration for 127.0.0.1 and a client configuration trusting it.
func testTLS(t testing.TB) (*tls.Config, *tls.Config) {
	tlsOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			panic(err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		tlsServer = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
		tlsCl = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	})
	return tlsServer, tlsCl
}

// updates records unilateral responses of a client, for tests of live updates.
type updates struct {
	mu       sync.Mutex
	exists   []uint32
	expunges []uint32
	flags    map[uint32][]imap.Flag // by sequence number
	mboxFlag []imap.Flag            // the last untagged FLAGS
	notify   chan struct{}
}

func newUpdates() *updates {
	return &updates{flags: map[uint32][]imap.Flag{}, notify: make(chan struct{}, 100)}
}

func (u *updates) handler() *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) {
			u.mu.Lock()
			u.expunges = append(u.expunges, seq)
			u.mu.Unlock()
			u.signal()
		},
		Mailbox: func(data *imapclient.UnilateralDataMailbox) {
			u.mu.Lock()
			if data.NumMessages != nil {
				u.exists = append(u.exists, *data.NumMessages)
			}
			if data.Flags != nil {
				u.mboxFlag = data.Flags
			}
			u.mu.Unlock()
			u.signal()
		},
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, err := msg.Collect()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.flags[msg.SeqNum] = buf.Flags
			u.mu.Unlock()
			u.signal()
		},
	}
}

func (u *updates) signal() {
	select {
	case u.notify <- struct{}{}:
	default:
	}
}

// waitFor waits until cond holds (checked under the lock) or fails after a few seconds.
func (u *updates) waitFor(t testing.TB, what string, cond func(u *updates) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		u.mu.Lock()
		ok := cond(u)
		u.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-u.notify:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
