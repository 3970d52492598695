package server

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/config"
)

// jsonLog collects the server's JSON log lines.
type jsonLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *jsonLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// logLine is one parsed line, with its raw text for checks that look at every byte.
type logLine struct {
	attrs map[string]any
	raw   string
}

func (l logLine) str(key string) string {
	s, _ := l.attrs[key].(string)
	return s
}

func (l logLine) num(key string) int {
	f, _ := l.attrs[key].(float64)
	return int(f)
}

func (l logLine) msg() string { return l.str("msg") }

// lines parses what was logged so far.
func (l *jsonLog) lines(t *testing.T) []logLine {
	t.Helper()
	l.mu.Lock()
	text := l.buf.String()
	l.mu.Unlock()
	var out []logLine
	for raw := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
		if raw == "" {
			continue
		}
		line := logLine{raw: raw}
		if err := json.Unmarshal([]byte(raw), &line.attrs); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, raw)
		}
		if key := repeatedKey(raw); key != "" {
			t.Errorf("a log line has the key %q twice, which JSON readers take one of: %s", key, raw)
		}
		out = append(out, line)
	}
	return out
}

// repeatedKey returns a key that the JSON object raw has twice, or "".
func repeatedKey(raw string) string {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.Token() // {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		key, _ := tok.(string)
		if seen[key] {
			return key
		}
		seen[key] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// waitForLine waits, within a bound, until a line satisfies match, and returns it.
func (l *jsonLog) waitForLine(t *testing.T, what string, match func(logLine) bool) logLine {
	t.Helper()
	var found logLine
	waitUntil(t, what, func() bool {
		for _, line := range l.lines(t) {
			if match(line) {
				found = line
				return true
			}
		}
		return false
	})
	return found
}

// startLoggedServer starts a server whose logger writes JSON into the returned log, as log_format = "json" does.
func startLoggedServer(t *testing.T, cfg config.Config) (*testServer, *jsonLog) {
	t.Helper()
	cfg.LogFormat, cfg.LogLevel = "json", "info"
	logs := &jsonLog{}
	ts := provision(startServerLogging(t, cfg, slog.New(cfg.LogHandler(logs))))
	return ts, logs
}

// refusingPeer is another agency's MX on loopback that refuses every recipient with 550 5.1.1.
func refusingPeer(t *testing.T) string {
	t.Helper()
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return refusingSession{}, nil
	}))
	srv.Domain = "mx.bo-tai-chinh.gov.vn"
	srv.ReadTimeout, srv.WriteTimeout, srv.MaxMessageBytes, srv.MaxRecipients = time.Minute, time.Minute, 1<<20, 50
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type refusingSession struct{}

func (refusingSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (refusingSession) Rcpt(string, *gosmtp.RcptOptions) error {
	return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
}
func (refusingSession) Data(io.Reader) error { return errors.New("no recipients") }
func (refusingSession) Reset()               {}
func (refusingSession) Logout() error        { return nil }

// submissionConn opens a submission connection with STARTTLS and returns the client and its own address, which
// the server's lines give as "remote".
func (ts *testServer) submissionConn() (*gosmtp.Client, string) {
	ts.t.Helper()
	conn, err := net.Dial("tcp", ts.Addr("submission"))
	if err != nil {
		ts.t.Fatal(err)
	}
	c, err := gosmtp.NewClientStartTLS(conn, ts.clientTLS())
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { c.Close() })
	return c, conn.LocalAddr().String()
}

// An operator can follow one message with one ID and one client with another: a submission to another agency
// that refuses it is accepted, queued, attempted and bounced, every line of it with the message ID; the lines of
// two connections open at once from the same address carry two connection IDs; refusals carry the codes sent;
// neither a password nor the message's text reaches the log.
func TestLogsFollowOneMessageAndOneConnection(t *testing.T) {
	cfg := newTestConfig(t)
	cfg.Routes = []config.RouteConfig{{Domain: "bo-tai-chinh.gov.vn", Host: refusingPeer(t), TLS: "none"}}
	ts, logs := startLoggedServer(t, cfg)
	const wrongPassword = "Sai-mat-khau-7731"
	const bodyWord = "Quyettoanngansach"

	// A second client connects first and stays connected while the first sends.
	other, otherAddr := ts.submissionConn()
	if err := other.Auth(sasl.NewPlainClient("", "binh@example.gov.vn", wrongPassword)); smtpCode(err) != "535 5.7.8" {
		t.Fatalf("wrong password: %v", err)
	}

	sender, senderAddr := ts.submissionConn()
	if err := sender.Auth(sasl.NewPlainClient("", "an@example.gov.vn", testPassword)); err != nil {
		t.Fatal(err)
	}
	msg := "From: an@example.gov.vn\r\nTo: lan@bo-tai-chinh.gov.vn\r\nSubject: Báo cáo\r\n\r\n" + bodyWord + " quý III.\r\n"
	if err := sender.SendMail("an@example.gov.vn", []string{"lan@bo-tai-chinh.gov.vn"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}

	if err := other.Auth(sasl.NewPlainClient("", "binh@example.gov.vn", testPassword)); err != nil {
		t.Fatal(err)
	}
	if err := other.Mail("binh@example.gov.vn", nil); err != nil {
		t.Fatal(err)
	}
	if err := other.Rcpt("khong-co@example.gov.vn", nil); smtpCode(err) != "550 5.1.1" {
		t.Fatalf("unknown recipient: %v", err)
	}
	for _, c := range []*gosmtp.Client{sender, other} {
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
	}

	// The message's story: accepted, attempted, bounced, the bounce delivered to the sender.
	accepted := logs.waitForLine(t, "the submission's delivered line", func(l logLine) bool {
		return l.msg() == "delivered" && l.str("remote") == senderAddr
	})
	id := accepted.str("msgid")
	if id == "" {
		t.Fatalf("the delivered line names no message: %s", accepted.raw)
	}
	bounced := logs.waitForLine(t, "the report's line", func(l logLine) bool { return l.msg() == "report sent" })
	logs.waitForLine(t, "both disconnect lines", func(l logLine) bool {
		return l.msg() == "disconnected" && l.str("remote") == otherAddr
	})
	logs.waitForLine(t, "the sender's disconnect line", func(l logLine) bool {
		return l.msg() == "disconnected" && l.str("remote") == senderAddr
	})
	lines := logs.lines(t)

	story := map[string]logLine{}
	for _, l := range lines {
		if strings.Contains(l.raw, id) {
			if l.str("msgid") != id {
				t.Errorf("a line mentions the message without its ID as \"msgid\": %s", l.raw)
			}
			story[l.msg()] = l
		}
	}
	for _, step := range []string{"delivered", "delivery attempt", "report sent"} {
		if _, ok := story[step]; !ok {
			t.Errorf("no %q line with the message ID %s", step, id)
		}
	}
	if a := story["delivery attempt"]; a.str("code") != "5.1.1" || a.str("status") != "failed" {
		t.Errorf("the attempt's line does not give the remote refusal: %s", a.raw)
	}
	report := bounced.str("report")
	if bounced.str("msgid") != id || report == "" || report == id {
		t.Errorf("the report's line names the message %q and the report %q: %s", id, report, bounced.raw)
	}
	reportDelivered := false
	for _, l := range lines {
		if l.msg() == "delivered" && l.str("report") == report {
			reportDelivered = l.str("msgid") == id
		}
	}
	if !reportDelivered {
		t.Errorf("no line of the report's delivery with both IDs (%s, %s)", id, report)
	}

	// The two connections: every line of each carries its own connection ID.
	senderConn := connLines(t, lines, senderAddr)
	otherConn := connLines(t, lines, otherAddr)
	if senderConn == otherConn {
		t.Fatalf("two connections share the ID %s", senderConn)
	}
	if accepted.str("conn") != senderConn {
		t.Errorf("the delivered line does not carry its session's connection ID: %s", accepted.raw)
	}
	for addr, want := range map[string]int{senderAddr: 1, otherAddr: 0} {
		end := findLine(lines, func(l logLine) bool { return l.msg() == "disconnected" && l.str("remote") == addr })
		if end.str("reason") != "quit" || end.num("messages") != want {
			t.Errorf("disconnect line: %s; want reason quit and %d messages", end.raw, want)
		}
		start := findLine(lines, func(l logLine) bool { return l.msg() == "connected" && l.str("remote") == addr })
		if start.str("listener") != "submission" {
			t.Errorf("connect line: %s", start.raw)
		}
	}

	// Refusals give the codes sent.
	authFailed := findLine(lines, func(l logLine) bool {
		return l.msg() == "authentication failed" && l.str("remote") == otherAddr
	})
	if authFailed.num("code") != 535 || authFailed.str("enhanced") != "5.7.8" || authFailed.str("user") != "binh@example.gov.vn" {
		t.Errorf("authentication failure line: %s", authFailed.raw)
	}
	refused := findLine(lines, func(l logLine) bool { return l.msg() == "recipient refused" })
	if refused.num("code") != 550 || refused.str("enhanced") != "5.1.1" || refused.str("rcpt") != "khong-co@example.gov.vn" ||
		refused.str("conn") != otherConn || refused.str("reason") == "" {
		t.Errorf("recipient refusal line: %s", refused.raw)
	}

	for _, l := range lines {
		for _, secret := range []string{testPassword, wrongPassword, bodyWord} {
			if strings.Contains(l.raw, secret) {
				t.Errorf("a log line contains %q: %s", secret, l.raw)
			}
		}
	}
}

// connLines checks that every line about the client at addr carries one connection ID, and returns it.
func connLines(t *testing.T, lines []logLine, addr string) string {
	t.Helper()
	id, n := "", 0
	for _, l := range lines {
		if l.str("remote") != addr {
			continue
		}
		n++
		if id == "" {
			id = l.str("conn")
		}
		if got := l.str("conn"); got == "" || got != id {
			t.Errorf("a line of the connection from %s has the connection ID %q, not %q: %s", addr, got, id, l.raw)
		}
	}
	if n < 4 || id == "" {
		t.Fatalf("%d lines with a connection ID for %s", n, addr)
	}
	return id
}

// findLine returns the first line that satisfies match, or an empty one.
func findLine(lines []logLine, match func(logLine) bool) logLine {
	for _, l := range lines {
		if match(l) {
			return l
		}
	}
	return logLine{attrs: map[string]any{}, raw: "(none)"}
}

// An IMAP session's refused and accepted logins carry its connection ID, and the connection's end says why.
func TestLogsFollowAnIMAPSession(t *testing.T) {
	ts, logs := startLoggedServer(t, newTestConfig(t))
	conn, err := tls.Dial("tcp", ts.Addr("imaps"), ts.clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	addr := conn.LocalAddr().String()
	c := imapclient.New(conn, nil)
	defer c.Close()
	if err := c.Login("an@example.gov.vn", "Sai-mat-khau-7731").Wait(); err == nil {
		t.Fatal("a wrong password was accepted")
	}
	if err := c.Login("an@example.gov.vn", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	end := logs.waitForLine(t, "the disconnect line", func(l logLine) bool {
		return l.msg() == "disconnected" && l.str("remote") == addr
	})
	lines := logs.lines(t)
	id := connLines(t, lines, addr)
	start := findLine(lines, func(l logLine) bool { return l.msg() == "connected" && l.str("remote") == addr })
	failed := findLine(lines, func(l logLine) bool { return l.msg() == "imap login failed" })
	login := findLine(lines, func(l logLine) bool { return l.msg() == "imap login" })
	if start.str("listener") != "imaps" || start.attrs["tls"] != true {
		t.Errorf("connect line: %s", start.raw)
	}
	if failed.str("conn") != id || failed.str("code") != "AUTHENTICATIONFAILED" || failed.str("user") != "an@example.gov.vn" {
		t.Errorf("failed login line: %s", failed.raw)
	}
	if login.str("conn") != id || login.str("account") != "an@example.gov.vn" {
		t.Errorf("login line: %s", login.raw)
	}
	if end.str("reason") != "logout" || end.str("conn") != id {
		t.Errorf("disconnect line: %s", end.raw)
	}
	for _, l := range lines {
		if strings.Contains(l.raw, testPassword) || strings.Contains(l.raw, "Sai-mat-khau-7731") {
			t.Errorf("a log line contains a password: %s", l.raw)
		}
	}
}
