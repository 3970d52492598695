package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// textAttr is one key=value of slog's text format, the value quoted when it has spaces or quotes.
var textAttr = regexp.MustCompile(`([\w.]+)=("(?:[^"\\]|\\.)*"|\S*)`)

// logLines returns the lines logged so far whose message is msg, as their attributes.
func (e *testEnv) logLines(msg string) []map[string]string {
	var out []map[string]string
	for line := range strings.SplitSeq(e.logs.String(), "\n") {
		attrs := map[string]string{}
		for _, m := range textAttr.FindAllStringSubmatch(line, -1) {
			v := m[2]
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
			attrs[m[1]] = v
		}
		if attrs["msg"] == msg {
			out = append(out, attrs)
		}
	}
	return out
}

// logLine is the only line logged with msg; the test fails if there is not exactly one.
func (e *testEnv) logLine(t *testing.T, msg string) map[string]string {
	t.Helper()
	lines := e.logLines(msg)
	if len(lines) != 1 {
		t.Fatalf("%d lines %q, want 1:\n%s", len(lines), msg, e.logs.String())
	}
	return lines[0]
}

// waitForLine waits, within a bound, for a line with msg: the server logs a connection's end after the client
// has seen it close.
func (e *testEnv) waitForLine(t *testing.T, msg string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(e.logLines(msg)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no line %q:\n%s", msg, e.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return e.logLine(t, msg)
}

// Each refusal of MAIL, RCPT, DATA and AUTH is one line with the codes sent and the reason, on the session's
// connection ID; the lines of a transaction carry its message ID; no password reaches the log.
func TestRefusalsAreLoggedWithTheirCodes(t *testing.T) {
	e := newTestEnv(t)
	c := e.dialSubmission("")
	user := "an@" + domain
	wantCode(t, "MAIL before AUTH", c.Mail(user, nil), 530, gosmtp.EnhancedCode{5, 7, 0})
	wantCode(t, "wrong password", c.Auth(sasl.NewPlainClient("", user, "sai mật khẩu")), 535,
		gosmtp.EnhancedCode{5, 7, 8})
	if err := c.Auth(sasl.NewPlainClient("", user, passwords[user])); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "MAIL as someone else", c.Mail("binh@"+domain, nil), 553, gosmtp.EnhancedCode{5, 7, 1})
	if err := c.Mail(user, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "unknown recipient", c.Rcpt("khongco@"+domain, nil), 550, gosmtp.EnhancedCode{5, 1, 1})
	if err := c.Rcpt("binh@"+domain, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "From: chi@"+domain+"\r\nSubject: x\r\n\r\nNội dung.\r\n")
	wantCode(t, "From not owned", w.Close(), 550, gosmtp.EnhancedCode{5, 7, 1})

	sender := e.logLines("sender refused")
	if len(sender) != 2 {
		t.Fatalf("%d sender refusals logged, want 2:\n%s", len(sender), e.logs.String())
	}
	lines := []map[string]string{sender[0], e.logLine(t, "authentication failed"), sender[1],
		e.logLine(t, "recipient refused"), e.logLine(t, "message refused")}
	want := []struct{ code, enhanced string }{{"530", "5.7.0"}, {"535", "5.7.8"}, {"553", "5.7.1"}, {"550", "5.1.1"},
		{"550", "5.7.1"}}
	conn := lines[0]["conn"]
	for i, l := range lines {
		if l["code"] != want[i].code || l["enhanced"] != want[i].enhanced || l["reason"] == "" || conn == "" ||
			l["conn"] != conn {
			t.Errorf("line %v, want code %s, enhanced %s, a reason and conn %s", l, want[i].code, want[i].enhanced, conn)
		}
	}
	if lines[1]["user"] != user || lines[2]["account"] != user || lines[3]["rcpt"] != "khongco@"+domain {
		t.Errorf("refusals do not say who: %v", lines[1:4])
	}
	if id := lines[3]["msgid"]; id == "" || lines[4]["msgid"] != id {
		t.Errorf("the transaction's lines carry the message IDs %q and %q", id, lines[4]["msgid"])
	}
	if strings.Contains(e.logs.String(), "sai mật khẩu") || strings.Contains(e.logs.String(), passwords[user]) {
		t.Errorf("a password in the log:\n%s", e.logs.String())
	}
}

// The disconnect line says how the connection ended and how many messages it delivered; the connection ID
// survives STARTTLS.
func TestDisconnectLines(t *testing.T) {
	t.Run("quit", func(t *testing.T) {
		e := newTestEnv(t)
		c := e.dialSubmission("an@" + domain)
		if err := send(c, "an@"+domain, []string{"binh@" + domain}, "From: an@"+domain+"\r\n\r\nx\r\n"); err != nil {
			t.Fatal(err)
		}
		c.Quit()
		end := e.waitForLine(t, "disconnected")
		start, delivered := e.logLine(t, "connected"), e.logLine(t, "delivered")
		if end["reason"] != "quit" || end["messages"] != "1" {
			t.Errorf("disconnect line %v, want reason quit and 1 message", end)
		}
		if start["listener"] != "submission" || start["tls"] != "false" || delivered["tls"] != "true" ||
			delivered["conn"] != start["conn"] || end["conn"] != start["conn"] {
			t.Errorf("the connection's lines %v, %v, %v do not share one ID across STARTTLS", start, delivered, end)
		}
	})
	t.Run("implicit TLS, connection dropped", func(t *testing.T) {
		e := newTestEnv(t)
		raw, err := net.Dial("tcp", e.subs)
		if err != nil {
			t.Fatal(err)
		}
		c := gosmtp.NewClient(tls.Client(raw, e.clientTLS))
		if err := c.Hello("client.example"); err != nil {
			t.Fatal(err)
		}
		raw.Close() // no QUIT and no TLS close: the connection just ends
		start, end := e.logLine(t, "connected"), e.waitForLine(t, "disconnected")
		if start["listener"] != "submissions" || start["tls"] != "true" || end["reason"] != "client closed" {
			t.Errorf("lines %v and %v, want the submissions listener over TLS, and reason client closed", start, end)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		e := newTestEnv(t, func(o *Options) { o.ReadTimeout = 50 * time.Millisecond })
		e.dialMX() // and then says nothing
		if end := e.waitForLine(t, "disconnected"); end["reason"] != "timeout" {
			t.Errorf("disconnect line %v, want reason timeout", end)
		}
	})
	t.Run("server shutdown", func(t *testing.T) {
		e, opts := newTestSetup(t)
		srv := NewMX(opts)
		e.mx = e.serve(srv, false)
		e.dialMX()
		e.waitForLine(t, "connected")
		srv.Close()
		if end := e.waitForLine(t, "disconnected"); end["reason"] != "server shutdown" {
			t.Errorf("disconnect line %v, want reason server shutdown", end)
		}
	})
	// The server's shutdown waits for connections to end, then closes those that did not: go-smtp's Close does
	// nothing after its Shutdown, and the connection stayed open until its read timeout. An idle connection is
	// ended by Shutdown itself (421), so Shutdown may see it gone before it sees ctx done: both are right.
	t.Run("server shutdown after waiting", func(t *testing.T) {
		e, opts := newTestSetup(t)
		srv := NewMX(opts)
		e.mx = e.serve(srv, false)
		c := e.dialMX()
		e.waitForLine(t, "connected")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("shutdown with an open connection: %v", err)
		}
		srv.Close()
		if end := e.waitForLine(t, "disconnected"); end["reason"] != "server shutdown" {
			t.Errorf("disconnect line %v, want reason server shutdown", end)
		}
		if err := c.Noop(); err == nil {
			t.Error("the connection is still served after Close")
		}
	})
	t.Run("closed before EHLO", func(t *testing.T) {
		e := newTestEnv(t)
		conn, err := net.Dial("tcp", e.mx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(conn).ReadString('\n'); err != nil { // the greeting
			t.Fatal(err)
		}
		conn.Close()
		if end := e.waitForLine(t, "disconnected"); end["reason"] != "client closed" || end["messages"] != "0" {
			t.Errorf("disconnect line %v, want reason client closed and 0 messages", end)
		}
	})
}
