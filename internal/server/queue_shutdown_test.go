package server

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/config"
)

// agencyPeer is another agency's MX on loopback, without TLS: it takes mail for anyone but khongco@ ("nobody"),
// and notes, for the connections the queue opens to it, the QUIT commands it read and the connections that ended.
type agencyPeer struct {
	addr string

	mu       sync.Mutex
	messages int
	quits    int
	opened   int
	ended    int
}

func startAgencyPeer(t *testing.T) *agencyPeer {
	t.Helper()
	p := &agencyPeer{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &peerSession{p: p}, nil
	}))
	srv.Domain = "mx.bo-noi-vu.gov.vn"
	srv.ReadTimeout, srv.WriteTimeout, srv.MaxMessageBytes, srv.MaxRecipients = time.Minute, time.Minute, 1<<20, 50
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	go srv.Serve(peerListener{Listener: ln, p: p})
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *agencyPeer) counts() (messages, opened, quits, ended int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.messages, p.opened, p.quits, p.ended
}

type peerListener struct {
	net.Listener
	p *agencyPeer
}

func (l peerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.p.mu.Lock()
	l.p.opened++
	l.p.mu.Unlock()
	return &peerConn{Conn: c, p: l.p}, nil
}

// peerConn counts the QUIT commands read (a command line arrives in one read on loopback) and the end of the
// connection, whichever side closes it.
type peerConn struct {
	net.Conn
	p         *agencyPeer
	closeOnce sync.Once
}

func (c *peerConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if bytes.HasPrefix(b[:n], []byte("QUIT\r\n")) {
		c.p.mu.Lock()
		c.p.quits++
		c.p.mu.Unlock()
	}
	return n, err
}

func (c *peerConn) Close() error {
	c.closeOnce.Do(func() {
		c.p.mu.Lock()
		c.p.ended++
		c.p.mu.Unlock()
	})
	return c.Conn.Close()
}

type peerSession struct{ p *agencyPeer }

func (s *peerSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *peerSession) Reset()                                 {}
func (s *peerSession) Logout() error                          { return nil }
func (s *peerSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.p.mu.Lock()
	s.p.messages++
	s.p.mu.Unlock()
	return nil
}

func (s *peerSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if strings.HasPrefix(to, "khongco@") {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	return nil
}

// The queue keeps a connection to another agency open for the next message; shutdown says QUIT on it and closes
// it, after the queue has stopped, instead of leaving the other server an open connection for the rest of the idle
// time.
func TestShutdownQuitsIdleOutboundConnections(t *testing.T) {
	peer := startAgencyPeer(t)
	cfg := newTestConfig(t)
	cfg.Routes = []config.RouteConfig{{Domain: "bo-noi-vu.gov.vn", Host: peer.addr, TLS: "none"}}
	ts := startServerWith(t, cfg)
	if err := ts.Admin().AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Admin().AddUser(adminUser("an@example.gov.vn")); err != nil {
		t.Fatal(err)
	}
	msg := "From: an@example.gov.vn\r\nTo: lan@bo-noi-vu.gov.vn\r\nSubject: Giấy mời\r\n\r\nNội dung.\r\n"
	if err := ts.submit("an@example.gov.vn", []string{"lan@bo-noi-vu.gov.vn"}, msg); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the message delivered and its queue entry gone", func() bool {
		queued, err := ts.Store().QueuedMessages()
		messages, _, _, _ := peer.counts()
		return err == nil && len(queued) == 0 && messages == 1
	})
	if _, opened, quits, ended := peer.counts(); opened != 1 || quits != 0 || ended != 0 {
		t.Fatalf("before shutdown: %d connections, %d QUIT, %d ended; want one idle connection", opened, quits, ended)
	}
	ts.stop()
	waitUntil(t, "QUIT and the end of the connection", func() bool {
		_, _, quits, ended := peer.counts()
		return quits == 1 && ended == 1
	})
}

// waitUntil polls cond, within a bound, and fails the test if it never holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
