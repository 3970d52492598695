package server

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/config"
	"mailserver/internal/tlsutil"
)

// relay is a smarthost: it takes mail for anywhere from clients that logged in over TLS, and remembers it.
type relay struct {
	mu   sync.Mutex
	got  []relayed
	addr string
}

type relayed struct {
	user, from string
	to         []string
	tls        bool
	data       string
}

type relaySession struct {
	r    *relay
	conn *gosmtp.Conn
	cur  relayed
}

func (s *relaySession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *relaySession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "hanoi" || pass != "mật khẩu relay" {
			return errors.New("bad credentials")
		}
		s.cur.user = user
		return nil
	}), nil
}

func (s *relaySession) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.cur.user == "" {
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.cur.from = from
	return nil
}

func (s *relaySession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.cur.data = string(b)
	s.r.mu.Lock()
	s.r.got = append(s.r.got, s.cur)
	s.r.mu.Unlock()
	return nil
}

func (s *relaySession) Reset()        { s.cur = relayed{user: s.cur.user} }
func (s *relaySession) Logout() error { return nil }

func startRelay(t *testing.T) *relay {
	t.Helper()
	tlsConfig, err := tlsutil.LoadOrCreate("", "", t.TempDir(), []string{"relay.example.vn"})
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &relaySession{r: r, conn: c}, nil
	}))
	srv.Domain, srv.TLSConfig = "relay.example.vn", tlsConfig
	srv.ReadTimeout, srv.WriteTimeout, srv.MaxMessageBytes, srv.MaxRecipients = 10*time.Second, 10*time.Second, 1<<20, 50
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

// Mail for a domain without a route goes to the smarthost, over STARTTLS (required by default), with the
// password read from its file, DKIM-signed.
func TestSmarthost(t *testing.T) {
	r := startRelay(t)
	cfg := newTestConfig(t)
	cfg.Smarthost = config.SmarthostConfig{Host: r.addr, Username: "hanoi", PasswordFile: filepath.Join(cfg.DataDir, "relay.pass")}
	if err := os.WriteFile(cfg.Smarthost.PasswordFile, []byte("mật khẩu relay\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startServerWith(t, cfg)
	if err := ts.Admin().AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Admin().AddUser(adminUser("an@example.gov.vn")); err != nil {
		t.Fatal(err)
	}
	msg := "From: an@example.gov.vn\r\nTo: lan@bo-noi-vu.gov.vn\r\nSubject: Qua relay\r\n\r\nNội dung.\r\n"
	if err := ts.submit("an@example.gov.vn", []string{"lan@bo-noi-vu.gov.vn", "minh@bo-tai-chinh.gov.vn"}, msg); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r.mu.Lock()
		n := len(r.got)
		r.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the smarthost got %d deliveries in 20s, want 2 (one per recipient domain)", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, g := range r.got {
		if g.user != "hanoi" || !g.tls || g.from != "an@example.gov.vn" || len(g.to) != 1 {
			t.Errorf("relayed %+v: want AUTH as hanoi over TLS, one recipient", g)
		}
		if !strings.HasPrefix(g.data, "DKIM-Signature:") || !strings.HasSuffix(g.data, msg) {
			t.Errorf("relayed data:\n%s\nwant a DKIM signature first and the sent bytes last", g.data)
		}
	}
}
