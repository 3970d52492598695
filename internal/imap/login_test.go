package imap

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"mailserver/internal/auth"
)

func noInsecureAuth(c *testConfig) { c.opts.AllowInsecureAuth = false }

// remotePeers makes the server treat every peer as non-loopback.
func remotePeers(c *testConfig) {
	c.tweak = func(s *Server) { s.trusted = func(net.Addr) bool { return false } }
}

func capsOf(t *testing.T, c *imapclient.Client) imap.CapSet {
	t.Helper()
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	return caps
}

func TestPlaintextLoginRefusedUntilStartTLS(t *testing.T) {
	ts := newTestServer(t, noInsecureAuth)
	c, err := imapclient.DialInsecure(ts.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	caps := capsOf(t, c)
	if !caps.Has(imap.CapLoginDisabled) || !caps.Has(imap.CapStartTLS) || caps.Has("AUTH=PLAIN") {
		t.Errorf("plaintext capabilities %v: want STARTTLS and LOGINDISABLED, no AUTH=PLAIN", caps)
	}
	wantCode(t, c.Login(testUser, testPassword).Wait(), imap.ResponseCodePrivacyRequired)

	tc, err := imapclient.DialStartTLS(ts.addr, &imapclient.Options{TLSConfig: ts.clientTL})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	caps = capsOf(t, tc)
	if caps.Has(imap.CapLoginDisabled) || !caps.Has("AUTH=PLAIN") {
		t.Errorf("capabilities after STARTTLS %v: want AUTH=PLAIN, no LOGINDISABLED", caps)
	}
	if err := tc.Login(testUser, testPassword).Wait(); err != nil {
		t.Fatalf("login after STARTTLS: %v", err)
	}
}

func TestNonLoopbackPeerNeedsTLS(t *testing.T) {
	ts := newTestServer(t, remotePeers) // AllowInsecureAuth, but the peer is treated as remote
	c, err := imapclient.DialInsecure(ts.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if caps := capsOf(t, c); !caps.Has(imap.CapLoginDisabled) {
		t.Errorf("capabilities %v: want LOGINDISABLED for a remote plaintext peer", caps)
	}
	wantCode(t, c.Login(testUser, testPassword).Wait(), imap.ResponseCodePrivacyRequired)
}

func TestLoopbackInsecureAuth(t *testing.T) {
	ts := newTestServer(t)
	c, err := imapclient.DialInsecure(ts.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if caps := capsOf(t, c); caps.Has(imap.CapLoginDisabled) || !caps.Has("AUTH=PLAIN") {
		t.Errorf("loopback capabilities %v: want AUTH=PLAIN", caps)
	}
	if err := c.Authenticate(sasl.NewPlainClient("", testUser, testPassword)); err != nil {
		t.Fatalf("AUTHENTICATE PLAIN: %v", err)
	}
	want := []imap.Cap{imap.CapIMAP4rev1, imap.CapIMAP4rev2, imap.CapIdle, imap.CapUIDPlus, imap.CapMove,
		imap.CapNamespace, imap.CapESearch, imap.CapSearchRes, imap.CapListExtended, imap.CapListStatus,
		imap.CapSpecialUse, imap.CapCreateSpecialUse, imap.CapStatusSize, imap.CapBinary, imap.CapChildren,
		imap.CapUnselect, imap.CapEnable, imap.CapUTF8Accept, imap.CapLiteralPlus, imap.CapSASLIR,
		imap.CapUnauthenticate, "APPENDLIMIT=52428800"}
	caps := capsOf(t, c)
	for _, cp := range want {
		if !caps.Has(cp) {
			t.Errorf("capability %s missing after login: %v", cp, caps)
		}
	}
}

// One library server serves every peer: the decision to allow plaintext login is made per connection, so a
// trusted and an untrusted peer on the same listener each get their own answer.
func TestPlaintextLoginDecidedPerConnection(t *testing.T) {
	trustedPort := make(chan int, 1)
	ts := newTestServer(t, func(c *testConfig) {
		c.tweak = func(s *Server) {
			s.trusted = func(a net.Addr) bool { return a.(*net.TCPAddr).Port == <-trustedPort }
		}
	})
	dial := func(trusted bool) *imapclient.Client {
		t.Helper()
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		port := 0 // no peer has port 0
		if trusted {
			port = conn.LocalAddr().(*net.TCPAddr).Port
		}
		trustedPort <- port
		c := imapclient.New(conn, nil)
		t.Cleanup(func() { c.Close() })
		return c
	}
	// One connection at a time, so that each takes its own answer from trustedPort.
	wantCode(t, dial(false).Login(testUser, testPassword).Wait(), imap.ResponseCodePrivacyRequired)
	if err := dial(true).Login(testUser, testPassword).Wait(); err != nil {
		t.Errorf("login from the trusted peer: %v", err)
	}
}

func TestImplicitTLSLogin(t *testing.T) {
	ts := newTestServer(t, noInsecureAuth)
	c, err := imapclient.DialTLS(ts.tlsAddr, &imapclient.Options{TLSConfig: ts.clientTL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if caps := capsOf(t, c); caps.Has(imap.CapStartTLS) || !caps.Has("AUTH=PLAIN") {
		t.Errorf("implicit TLS capabilities %v: want AUTH=PLAIN and no STARTTLS", caps)
	}
	if err := c.Login(testUser, testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestWrongPassword(t *testing.T) {
	ts := newTestServer(t)
	c, err := imapclient.DialInsecure(ts.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wantCode(t, c.Login(testUser, "wrong").Wait(), imap.ResponseCodeAuthenticationFailed)
	wantCode(t, c.Login("nobody@example.gov.vn", testPassword).Wait(), imap.ResponseCodeAuthenticationFailed)
	if err := c.Login(testUser, testPassword).Wait(); err != nil {
		t.Fatalf("login after failures: %v", err)
	}
}

func TestUnauthenticateAndNamespace(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	ns, err := c.Namespace().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Personal) != 1 || ns.Personal[0].Prefix != "" || ns.Personal[0].Delim != '/' ||
		len(ns.Shared) != 1 || ns.Shared[0].Prefix != "Shared/" || ns.Shared[0].Delim != '/' || ns.Other != nil {
		t.Errorf("namespace %+v", ns)
	}
	selectBox(t, c, "INBOX", false)
	if err := c.Unauthenticate().Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err == nil {
		t.Error("SELECT after UNAUTHENTICATE succeeded")
	}
	if err := c.Login(testUser, testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestThrottledSaysWhy: a login refused because others to the same account are in progress is not called a
// failed-login lockout (imaptest's ten parallel stress clients were told "Too many failed logins" though none had
// failed); a lockout still is.
func TestThrottledSaysWhy(t *testing.T) {
	queued := throttled(&auth.ThrottledError{RetryAfter: 2 * time.Second})
	locked := throttled(&auth.ThrottledError{RetryAfter: time.Minute, Locked: true})
	if queued.Code != imap.ResponseCodeUnavailable || !strings.HasPrefix(queued.Text, "Too many logins at once; try again in 2 seconds") {
		t.Errorf("turn too far away: %v %q", queued.Code, queued.Text)
	}
	if locked.Code != imap.ResponseCodeUnavailable || !strings.HasPrefix(locked.Text, "Too many failed logins; try again in") {
		t.Errorf("locked out: %v %q", locked.Code, locked.Text)
	}
}
