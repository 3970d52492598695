package server

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/config"
	"mailserver/internal/testlog"
)

// waitForLine waits, within a bound, until a line satisfies match, and returns it.
func waitForLine(t *testing.T, logs *testlog.Buffer, what string, match func(testlog.Line) bool) testlog.Line {
	t.Helper()
	var found testlog.Line
	waitUntil(t, what, func() bool {
		for _, line := range logs.Lines(t) {
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
func startLoggedServer(t *testing.T, cfg config.Config) (*testServer, *testlog.Buffer) {
	t.Helper()
	cfg.LogFormat, cfg.LogLevel = "json", "info"
	logs := &testlog.Buffer{}
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
	msg := "From: an@example.gov.vn\r\nTo: lan@bo-tai-chinh.gov.vn\r\nSubject: Báo cáo\r\n\r\n" + bodyWord +
		" quý III.\r\n"
	to := []string{"lan@bo-tai-chinh.gov.vn"}
	if err := sender.SendMail("an@example.gov.vn", to, strings.NewReader(msg)); err != nil {
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
	accepted := waitForLine(t, logs, "the submission's delivered line", func(l testlog.Line) bool {
		return l.Msg() == "delivered" && l.Str("remote") == senderAddr
	})
	id := accepted.Str("msgid")
	if id == "" {
		t.Fatalf("the delivered line names no message: %s", accepted.Raw)
	}
	bounced := waitForLine(t, logs, "the report's line", func(l testlog.Line) bool { return l.Msg() == "report sent" })
	waitForLine(t, logs, "both disconnect lines", func(l testlog.Line) bool {
		return l.Msg() == "disconnected" && l.Str("remote") == otherAddr
	})
	waitForLine(t, logs, "the sender's disconnect line", func(l testlog.Line) bool {
		return l.Msg() == "disconnected" && l.Str("remote") == senderAddr
	})
	lines := logs.Lines(t)

	story := map[string]testlog.Line{}
	for _, l := range lines {
		if strings.Contains(l.Raw, id) {
			if l.Str("msgid") != id {
				t.Errorf("a line mentions the message without its ID as \"msgid\": %s", l.Raw)
			}
			story[l.Msg()] = l
		}
	}
	for _, step := range []string{"delivered", "delivery attempt", "report sent"} {
		if _, ok := story[step]; !ok {
			t.Errorf("no %q line with the message ID %s", step, id)
		}
	}
	if a := story["delivery attempt"]; a.Str("code") != "5.1.1" || a.Str("status") != "failed" {
		t.Errorf("the attempt's line does not give the remote refusal: %s", a.Raw)
	}
	report := bounced.Str("report")
	if bounced.Str("msgid") != id || report == "" || report == id {
		t.Errorf("the report's line names the message %q and the report %q: %s", id, report, bounced.Raw)
	}
	reportDelivered := false
	for _, l := range lines {
		if l.Msg() == "delivered" && l.Str("report") == report {
			reportDelivered = l.Str("msgid") == id
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
	if accepted.Str("conn") != senderConn {
		t.Errorf("the delivered line does not carry its session's connection ID: %s", accepted.Raw)
	}
	for addr, want := range map[string]int{senderAddr: 1, otherAddr: 0} {
		end := findLine(lines, func(l testlog.Line) bool { return l.Msg() == "disconnected" && l.Str("remote") == addr })
		if end.Str("reason") != "quit" || end.Num("messages") != want {
			t.Errorf("disconnect line: %s; want reason quit and %d messages", end.Raw, want)
		}
		start := findLine(lines, func(l testlog.Line) bool { return l.Msg() == "connected" && l.Str("remote") == addr })
		if start.Str("listener") != "submission" {
			t.Errorf("connect line: %s", start.Raw)
		}
	}

	// Refusals give the codes sent.
	authFailed := findLine(lines, func(l testlog.Line) bool {
		return l.Msg() == "authentication failed" && l.Str("remote") == otherAddr
	})
	if authFailed.Num("code") != 535 || authFailed.Str("enhanced") != "5.7.8" ||
		authFailed.Str("user") != "binh@example.gov.vn" {
		t.Errorf("authentication failure line: %s", authFailed.Raw)
	}
	refused := findLine(lines, func(l testlog.Line) bool { return l.Msg() == "recipient refused" })
	if refused.Num("code") != 550 || refused.Str("enhanced") != "5.1.1" ||
		refused.Str("rcpt") != "khong-co@example.gov.vn" || refused.Str("conn") != otherConn || refused.Str("reason") == "" {
		t.Errorf("recipient refusal line: %s", refused.Raw)
	}

	for _, l := range lines {
		for _, secret := range []string{testPassword, wrongPassword, bodyWord} {
			if strings.Contains(l.Raw, secret) {
				t.Errorf("a log line contains %q: %s", secret, l.Raw)
			}
		}
	}
}

// connLines checks that every line about the client at addr carries one connection ID, and returns it.
func connLines(t *testing.T, lines []testlog.Line, addr string) string {
	t.Helper()
	id, n := "", 0
	for _, l := range lines {
		if l.Str("remote") != addr {
			continue
		}
		n++
		if id == "" {
			id = l.Str("conn")
		}
		if got := l.Str("conn"); got == "" || got != id {
			t.Errorf("a line of the connection from %s has the connection ID %q, not %q: %s", addr, got, id, l.Raw)
		}
	}
	if n < 4 || id == "" {
		t.Fatalf("%d lines with a connection ID for %s", n, addr)
	}
	return id
}

// findLine returns the first line that satisfies match, or an empty one.
func findLine(lines []testlog.Line, match func(testlog.Line) bool) testlog.Line {
	for _, l := range lines {
		if match(l) {
			return l
		}
	}
	return testlog.Line{Attrs: map[string]any{}, Raw: "(none)"}
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
	end := waitForLine(t, logs, "the disconnect line", func(l testlog.Line) bool {
		return l.Msg() == "disconnected" && l.Str("remote") == addr
	})
	lines := logs.Lines(t)
	id := connLines(t, lines, addr)
	start := findLine(lines, func(l testlog.Line) bool { return l.Msg() == "connected" && l.Str("remote") == addr })
	failed := findLine(lines, func(l testlog.Line) bool { return l.Msg() == "imap login failed" })
	login := findLine(lines, func(l testlog.Line) bool { return l.Msg() == "imap login" })
	if start.Str("listener") != "imaps" || start.Attrs["tls"] != true {
		t.Errorf("connect line: %s", start.Raw)
	}
	if failed.Str("conn") != id || failed.Str("code") != "AUTHENTICATIONFAILED" ||
		failed.Str("user") != "an@example.gov.vn" {
		t.Errorf("failed login line: %s", failed.Raw)
	}
	if login.Str("conn") != id || login.Str("account") != "an@example.gov.vn" {
		t.Errorf("login line: %s", login.Raw)
	}
	if end.Str("reason") != "logout" || end.Str("conn") != id {
		t.Errorf("disconnect line: %s", end.Raw)
	}
	for _, l := range lines {
		if strings.Contains(l.Raw, testPassword) || strings.Contains(l.Raw, "Sai-mat-khau-7731") {
			t.Errorf("a log line contains a password: %s", l.Raw)
		}
	}
}

// The address book's log lines carry the ID of the HTTP connection their request came on: two requests on one
// connection share it, another connection has its own.
func TestLogsAddressBookConnections(t *testing.T) {
	ts, logs := startLoggedServer(t, newTestConfig(t))
	url := "https://" + ts.Addr("https") + "/carddav/"
	refused := func(client *http.Client) {
		t.Helper()
		req, err := http.NewRequest("PROPFIND", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("an@example.gov.vn", "Sai-mat-khau-7731")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) // so that the connection is reused
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %s", resp.Status)
		}
	}
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: ts.clientTLS(), MaxIdleConnsPerHost: 1}}
	}
	one := newClient()
	refused(one)
	refused(one)
	refused(newClient())
	failed := logs.Find(t, "login failed")
	if len(failed) != 3 {
		t.Fatalf("%d login failures logged, want 3", len(failed))
	}
	first, again, other := failed[0].Str("conn"), failed[1].Str("conn"), failed[2].Str("conn")
	if first == "" || again != first || other == first {
		t.Errorf("connection IDs %q, %q (the same connection) and %q (another)", first, again, other)
	}
	for _, l := range failed {
		if l.Num("code") != http.StatusUnauthorized || l.Str("user") != "an@example.gov.vn" || l.Str("remote") == "" ||
			strings.Contains(l.Raw, "Sai-mat-khau-7731") {
			t.Errorf("login failure line: %s", l.Raw)
		}
	}
}
