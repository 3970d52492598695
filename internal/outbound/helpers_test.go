package outbound

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

const mxHost = "mx.test.gov.vn"

// testCtx bounds a test's deliveries in time.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testClient() *Client {
	return &Client{Hostname: "mail.hanoi.gov.vn", DialTimeout: 2 * time.Second, CommandTimeout: 5 * time.Second,
		DataTimeout: 5 * time.Second}
}

func target(addr string, policy TLSPolicy) Target {
	return Target{Host: mxHost, Addr: addr, TLS: policy, Via: "mx"}
}

// testCert is a self-signed certificate for mxHost and 127.0.0.1, made once per test run.
var testCert = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: mxHost},
		DNSNames:              []string{mxHost},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
})

func serverTLS(t *testing.T) *tls.Config {
	t.Helper()
	cert, err := testCert()
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// mail is one message a testServer received.
type mail struct {
	from  string
	opts  gosmtp.MailOptions
	rcpts []string
	data  []byte
	tls   bool
}

// testServer is a go-smtp server on 127.0.0.1 that records what it got and refuses on demand.
type testServer struct {
	addr string

	refuseRcpt map[string]*gosmtp.SMTPError // by recipient
	refuseMail *gosmtp.SMTPError
	refuseData *gosmtp.SMTPError
	dropAt     string            // close the connection at RCPT of this recipient
	users      map[string]string // AUTH PLAIN accounts; nil: no AUTH
	beforeData func()            // called as DATA starts, before the message is read; nil: nothing

	mu       sync.Mutex
	sessions int // EHLOs that opened a session
	ended    int // connections closed, by either side
	mailCmds int // MAIL commands accepted or refused
	mails    []mail
	auths    []string // user:password pairs offered
	wire     bytes.Buffer
}

// newTestServer starts a server; configure, if given, adjusts it (TLS, SIZE, SMTPUTF8, refusals) before it runs.
func newTestServer(t *testing.T, configure func(*gosmtp.Server, *testServer)) *testServer {
	t.Helper()
	ts := &testServer{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		ts.mu.Lock()
		ts.sessions++
		ts.mu.Unlock()
		return &testSession{ts: ts, conn: c}, nil
	}))
	srv.Domain = mxHost
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if configure != nil {
		configure(srv, ts)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	go srv.Serve(&recordingListener{Listener: ln, ts: ts})
	t.Cleanup(func() { srv.Close() })
	return ts
}

func (ts *testServer) received() (sessions, mailCmds int, mails []mail, auths []string, wire string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.sessions, ts.mailCmds, append([]mail(nil), ts.mails...), append([]string(nil), ts.auths...),
		ts.wire.String()
}

// recordingListener keeps every byte clients send, as it crosses the wire (encrypted after STARTTLS).
type recordingListener struct {
	net.Listener
	ts *testServer
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, ts: l.ts}, nil
}

type recordingConn struct {
	net.Conn
	ts        *testServer
	closeOnce sync.Once
}

func (c *recordingConn) Close() error {
	c.closeOnce.Do(func() {
		c.ts.mu.Lock()
		c.ts.ended++
		c.ts.mu.Unlock()
	})
	return c.Conn.Close()
}

// connections says how many connections the server accepted (those that got as far as EHLO), how many of them
// ended, and how many QUIT commands it read.
func (ts *testServer) connections() (opened, ended, quits int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.sessions, ts.ended, strings.Count(ts.wire.String(), "QUIT\r\n")
}

// waitConnections waits, within a bound, until the server has accepted opened connections and each of them got
// QUIT and ended; otherwise it fails the test.
func (ts *testServer) waitConnections(t *testing.T, opened int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, e, q := ts.connections()
		if o == opened && e == opened && q == opened {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections, %d ended, %d QUIT; want %d, each with QUIT and ended", o, e, q, opened)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *recordingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.ts.mu.Lock()
	c.ts.wire.Write(b[:n])
	c.ts.mu.Unlock()
	return n, err
}

type testSession struct {
	ts    *testServer
	conn  *gosmtp.Conn
	cur   mail
	authd bool
}

func (s *testSession) AuthMechanisms() []string {
	if s.ts.users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s.ts.mu.Lock()
		s.ts.auths = append(s.ts.auths, username+":"+password)
		s.ts.mu.Unlock()
		if want, ok := s.ts.users[username]; !ok || want != password {
			return gosmtp.ErrAuthFailed
		}
		s.authd = true
		return nil
	}), nil
}

func (s *testSession) Mail(from string, opts *gosmtp.MailOptions) error {
	s.ts.mu.Lock()
	s.ts.mailCmds++
	s.ts.mu.Unlock()
	if s.ts.users != nil && !s.authd {
		return gosmtp.ErrAuthRequired
	}
	if s.ts.refuseMail != nil {
		return s.ts.refuseMail
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = mail{from: from, opts: *opts, tls: isTLS}
	return nil
}

func (s *testSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if to == s.ts.dropAt {
		s.conn.Conn().Close()
		return errors.New("dropped")
	}
	if err := s.ts.refuseRcpt[to]; err != nil {
		return err
	}
	s.cur.rcpts = append(s.cur.rcpts, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	if s.ts.beforeData != nil {
		s.ts.beforeData()
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.ts.refuseData != nil {
		return s.ts.refuseData
	}
	s.cur.data = data
	s.ts.mu.Lock()
	s.ts.mails = append(s.ts.mails, s.cur)
	s.ts.mu.Unlock()
	return nil
}

func (s *testSession) Reset()        { s.cur = mail{} }
func (s *testSession) Logout() error { return nil }

// rawServer answers every connection with handle, for servers go-smtp cannot play (a 421 greeting, silence).
func rawServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				stop := context.AfterFunc(ctx, func() { c.Close() })
				defer stop()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// closedAddr is an address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// scriptServer greets with 220 and answers each command line with answer's reply (CRLF-terminated lines; ""
// closes the connection); the message after DATA is read up to the final dot. It returns the address and a
// function listing the commands received.
func scriptServer(t *testing.T, answer func(cmd string) string) (addr string, commands func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	addr = rawServer(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		fmt.Fprintf(c, "220 script ESMTP\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.TrimRight(line, "\r\n")
			mu.Lock()
			got = append(got, cmd)
			mu.Unlock()
			reply := answer(cmd)
			if reply == "" {
				return
			}
			io.WriteString(c, reply)
			if cmd == "DATA" && strings.HasPrefix(reply, "354") {
				for line != ".\r\n" && err == nil {
					line, err = r.ReadString('\n')
				}
				io.WriteString(c, answer("."))
			}
		}
	})
	return addr, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}
