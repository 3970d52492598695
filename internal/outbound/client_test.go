package outbound

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// testMessage has a leading dot to be stuffed and CRLF line endings, so the server gets it byte for byte.
const testMessage = "From: an@hanoi.gov.vn\r\nTo: x@other.gov.vn\r\nSubject: test\r\n\r\n" +
	"line one\r\n.leading dot\r\n..two\r\n"

const sender = "an@hanoi.gov.vn"

func smtpErr(code int, enhanced gosmtp.EnhancedCode, text string) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: text}
}

// checkResult fails unless r is delivered (want "") or failed with a reply starting with want.
func checkResult(t *testing.T, r Result, want string, permanent bool) {
	t.Helper()
	if want == "" {
		if !r.Delivered || r.Reply.Code != 250 {
			t.Errorf("%s: not delivered: %+v", r.Recipient, r.Reply)
		}
		return
	}
	if r.Delivered || !strings.HasPrefix(r.Reply.String(), want) || r.Reply.Permanent() != permanent {
		t.Errorf("%s: got %+v (delivered %v, permanent %v), want %q permanent %v",
			r.Recipient, r.Reply, r.Delivered, r.Reply.Permanent(), want, permanent)
	}
}

func TestDeliverOneTransaction(t *testing.T) {
	ts := newTestServer(t, nil)
	rcpts := []string{"a@other.gov.vn", "b@other.gov.vn", "c@other.gov.vn"}
	results := testClient().Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)},
		Envelope{From: sender, Recipients: rcpts}, []byte(testMessage))
	if len(results) != 3 {
		t.Fatalf("got %d results", len(results))
	}
	for i, r := range results {
		if r.Recipient != rcpts[i] {
			t.Errorf("result %d is for %s", i, r.Recipient)
		}
		checkResult(t, r, "", false)
		if r.Reply.Host != mxHost || r.Reply.Enhanced != "2.0.0" {
			t.Errorf("reply %+v", r.Reply)
		}
	}
	sessions, _, mails, _, wire := ts.received()
	if sessions != 1 || len(mails) != 1 {
		t.Fatalf("%d sessions, %d messages; want 1 and 1", sessions, len(mails))
	}
	m := mails[0]
	if m.from != sender || !slices.Equal(m.rcpts, rcpts) || string(m.data) != testMessage {
		t.Errorf("received from %q to %q: %q", m.from, m.rcpts, m.data)
	}
	if m.opts.Size != int64(len(testMessage)) || m.opts.Body != "" || m.opts.UTF8 {
		t.Errorf("MAIL options %+v", m.opts)
	}
	if !strings.HasPrefix(wire, "EHLO mail.hanoi.gov.vn\r\n") || !strings.HasSuffix(wire, "QUIT\r\n") {
		t.Errorf("session:\n%s", wire)
	}
}

func TestDeliverMixedReplies(t *testing.T) {
	ts := newTestServer(t, func(_ *gosmtp.Server, ts *testServer) {
		ts.refuseRcpt = map[string]*gosmtp.SMTPError{
			"gone@other.gov.vn": smtpErr(550, gosmtp.EnhancedCode{5, 1, 1}, "no such user\x1b[31m here"),
			"full@other.gov.vn": smtpErr(450, gosmtp.EnhancedCode{4, 2, 2}, "mailbox full"),
		}
	})
	rcpts := []string{"ok@other.gov.vn", "gone@other.gov.vn", "full@other.gov.vn", "ok2@other.gov.vn"}
	results := testClient().Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)},
		Envelope{From: sender, Recipients: rcpts}, []byte(testMessage))
	checkResult(t, results[0], "", false)
	checkResult(t, results[1], "550 5.1.1 no such user?[31m here", true)
	checkResult(t, results[2], "450 4.2.2 mailbox full", false)
	checkResult(t, results[3], "", false)
	sessions, _, mails, _, _ := ts.received()
	if sessions != 1 || len(mails) != 1 || !slices.Equal(mails[0].rcpts, []string{rcpts[0], rcpts[3]}) {
		t.Errorf("%d sessions, messages %+v", sessions, mails)
	}
}

func TestDeliverAllRecipientsRefused(t *testing.T) {
	ts := newTestServer(t, func(_ *gosmtp.Server, ts *testServer) {
		ts.refuseRcpt = map[string]*gosmtp.SMTPError{"gone@other.gov.vn": smtpErr(550, gosmtp.EnhancedCode{5, 1, 1}, "no")}
	})
	results := testClient().Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)},
		Envelope{From: sender, Recipients: []string{"gone@other.gov.vn"}}, []byte(testMessage))
	checkResult(t, results[0], "550 5.1.1 no", true)
	if _, _, mails, _, wire := ts.received(); len(mails) != 0 || strings.Contains(wire, "DATA") {
		t.Errorf("DATA sent with no recipient: %s", wire)
	}
}

func TestDeliverDataRefused(t *testing.T) {
	ts := newTestServer(t, func(_ *gosmtp.Server, ts *testServer) {
		ts.refuseData = smtpErr(554, gosmtp.EnhancedCode{5, 7, 1}, "spam")
		ts.refuseRcpt = map[string]*gosmtp.SMTPError{"gone@other.gov.vn": smtpErr(550, gosmtp.EnhancedCode{5, 1, 1}, "no")}
	})
	results := testClient().Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)},
		Envelope{From: sender, Recipients: []string{"a@other.gov.vn", "gone@other.gov.vn", "b@other.gov.vn"}},
		[]byte(testMessage))
	checkResult(t, results[0], "554 5.7.1 spam", true)
	checkResult(t, results[1], "550 5.1.1 no", true)
	checkResult(t, results[2], "554 5.7.1 spam", true)
}

func TestDeliverMailRefused(t *testing.T) {
	ts := newTestServer(t, func(_ *gosmtp.Server, ts *testServer) {
		ts.refuseMail = smtpErr(550, gosmtp.EnhancedCode{5, 7, 1}, "sender blocked")
	})
	second := newTestServer(t, nil)
	results := testClient().Deliver(testCtx(t), []Target{target(ts.addr, TLSNone), target(second.addr, TLSNone)},
		Envelope{From: sender, Recipients: []string{"a@other.gov.vn", "b@other.gov.vn"}}, []byte(testMessage))
	for _, r := range results {
		checkResult(t, r, "550 5.7.1 sender blocked", true)
	}
	if sessions, _, _, _, _ := second.received(); sessions != 0 {
		t.Error("a refused MAIL FROM went on to the next target")
	}
}

func TestDeliverFallback(t *testing.T) {
	busy := rawServer(t, func(c net.Conn) { fmt.Fprintf(c, "421 4.3.2 busy, try later\r\n") })
	silentEHLO := rawServer(t, func(c net.Conn) {
		fmt.Fprintf(c, "220 hi\r\n")
		bufio.NewReader(c).ReadString('\n')
		fmt.Fprintf(c, "554 5.7.1 go away\r\n")
	})
	mail421 := newTestServer(t, func(_ *gosmtp.Server, ts *testServer) {
		ts.refuseMail = smtpErr(421, gosmtp.EnhancedCode{4, 3, 2}, "shutting down")
	})
	good := newTestServer(t, nil)
	env := Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}

	for name, first := range map[string]string{"closed port": closedAddr(t), "421 greeting": busy,
		"EHLO refused": silentEHLO, "421 to MAIL": mail421.addr} {
		t.Run(name, func(t *testing.T) {
			results := testClient().Deliver(testCtx(t),
				[]Target{target(first, TLSNone), {Host: "mx2.test.gov.vn", Addr: good.addr, TLS: TLSNone}},
				env, []byte(testMessage))
			checkResult(t, results[0], "", false)
			if results[0].Reply.Host != "mx2.test.gov.vn" {
				t.Errorf("delivered by %q", results[0].Reply.Host)
			}
		})
	}

	t.Run("nothing answers", func(t *testing.T) {
		results := testClient().Deliver(testCtx(t), []Target{target(closedAddr(t), TLSNone)}, env, []byte(testMessage))
		checkResult(t, results[0], "4.4.1 connecting to "+mxHost, false)
		if results[0].Reply.Code != 0 || results[0].Reply.Host != "" {
			t.Errorf("reply %+v", results[0].Reply)
		}
	})
	t.Run("last reason wins", func(t *testing.T) {
		results := testClient().Deliver(testCtx(t),
			[]Target{target(closedAddr(t), TLSNone), target(busy, TLSNone)}, env, []byte(testMessage))
		checkResult(t, results[0], "421 4.3.2 busy, try later", false)
		if results[0].Reply.Host != mxHost {
			t.Errorf("reply %+v", results[0].Reply)
		}
	})
	t.Run("no targets", func(t *testing.T) {
		results := testClient().Deliver(testCtx(t), nil, env, []byte(testMessage))
		checkResult(t, results[0], "4.4.4", false)
	})
}

func TestDeliverConnectionDroppedAfterRcpt(t *testing.T) {
	ts := newTestServer(t, func(_ *gosmtp.Server, ts *testServer) { ts.dropAt = "b@other.gov.vn" })
	second := newTestServer(t, nil)
	results := testClient().Deliver(testCtx(t), []Target{target(ts.addr, TLSNone), target(second.addr, TLSNone)},
		Envelope{From: sender, Recipients: []string{"a@other.gov.vn", "b@other.gov.vn", "c@other.gov.vn"}},
		[]byte(testMessage))
	for _, r := range results {
		checkResult(t, r, "4.4.2 connection to "+mxHost+" lost while sending RCPT TO", false)
	}
	if sessions, _, _, _, _ := second.received(); sessions != 0 {
		t.Error("recipients went to a second server after the first took MAIL FROM")
	}
}

func TestDeliverSizeTooBig(t *testing.T) {
	ts := newTestServer(t, func(srv *gosmtp.Server, _ *testServer) { srv.MaxMessageBytes = 100 })
	message := testMessage + strings.Repeat("x", 200) + "\r\n"
	results := testClient().Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)},
		Envelope{From: sender, Recipients: []string{"a@other.gov.vn", "b@other.gov.vn"}}, []byte(message))
	for _, r := range results {
		checkResult(t, r, "5.3.4 message of", true)
	}
	if _, mailCmds, mails, _, _ := ts.received(); mailCmds != 0 || len(mails) != 0 {
		t.Errorf("%d MAIL commands, %d messages sent to a server too small for it", mailCmds, len(mails))
	}
}

func TestDeliver8BitAndUTF8(t *testing.T) {
	plain := newTestServer(t, nil)
	utf8 := newTestServer(t, func(srv *gosmtp.Server, _ *testServer) { srv.EnableSMTPUTF8 = true })
	body8 := testMessage + "Kính gửi các đồng chí\r\n"
	header8 := "Subject: Công văn\r\n\r\nbody\r\n"
	deliver := func(ts *testServer, from string, rcpts []string, message string) []Result {
		return testClient().Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)},
			Envelope{From: from, Recipients: rcpts}, []byte(message))
	}
	last := func(ts *testServer) mail {
		_, _, mails, _, _ := ts.received()
		return mails[len(mails)-1]
	}

	checkResult(t, deliver(plain, sender, []string{"a@other.gov.vn"}, body8)[0], "", false)
	if m := last(plain); m.opts.Body != gosmtp.Body8BitMIME || m.opts.UTF8 || string(m.data) != body8 {
		t.Errorf("8-bit body sent with %+v", m.opts)
	}

	results := deliver(plain, sender, []string{"người@other.gov.vn", "a@other.gov.vn"}, testMessage)
	checkResult(t, results[0], "5.6.7 recipient address", true)
	checkResult(t, results[1], "", false)
	if m := last(plain); !slices.Equal(m.rcpts, []string{"a@other.gov.vn"}) || m.opts.UTF8 {
		t.Errorf("sent %+v", m)
	}

	for _, r := range deliver(plain, "người@hanoi.gov.vn", []string{"a@other.gov.vn", "b@other.gov.vn"}, testMessage) {
		checkResult(t, r, "5.6.7 sender address", true)
	}
	// UTF-8 in the header alone goes as it is to a server without SMTPUTF8.
	checkResult(t, deliver(plain, sender, []string{"a@other.gov.vn"}, header8)[0], "", false)
	if m := last(plain); m.opts.UTF8 || string(m.data) != header8 {
		t.Errorf("UTF-8 header sent with %+v", m.opts)
	}

	checkResult(t, deliver(utf8, sender, []string{"người@other.gov.vn"}, header8)[0], "", false)
	if m := last(utf8); !m.opts.UTF8 || m.opts.Body != gosmtp.Body8BitMIME || m.rcpts[0] != "người@other.gov.vn" {
		t.Errorf("sent %+v", m)
	}
}

func TestDeliverBadAddresses(t *testing.T) {
	ts := newTestServer(t, nil)
	results := testClient().Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)},
		Envelope{From: sender, Recipients: []string{"a@other.gov.vn\r\nRSET", "", "b@other.gov.vn"}},
		[]byte(testMessage))
	checkResult(t, results[0], "5.1.3", true)
	checkResult(t, results[1], "5.1.3", true)
	checkResult(t, results[2], "", false)

	results = testClient().Deliver(testCtx(t), []Target{target(ts.addr, TLSNone)},
		Envelope{From: "an@hanoi.gov.vn> SIZE=1", Recipients: []string{"b@other.gov.vn"}}, []byte(testMessage))
	checkResult(t, results[0], "5.1.7", true)
	if sessions, _, _, _, _ := ts.received(); sessions != 1 {
		t.Errorf("%d sessions; a bad sender needs none", sessions)
	}
}

func TestDeliverContextCancel(t *testing.T) {
	silent := rawServer(t, func(c net.Conn) { c.Read(make([]byte, 1)) })
	ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	results := testClient().Deliver(ctx, []Target{target(silent, TLSNone), target(silent, TLSNone)},
		Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}, []byte(testMessage))
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Deliver took %v after the context ended", elapsed)
	}
	checkResult(t, results[0],
		"4.4.2 connection to "+mxHost+" lost while reading the greeting: context deadline exceeded", false)

	results = testClient().Deliver(ctx, []Target{target(silent, TLSNone)},
		Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}, []byte(testMessage))
	checkResult(t, results[0], "4.4.1 connecting to "+mxHost+"["+silent+"]: context deadline exceeded", false)
}

func TestDeliverCommandTimeout(t *testing.T) {
	silent := rawServer(t, func(c net.Conn) { c.Read(make([]byte, 1)) })
	c := testClient()
	c.CommandTimeout = 100 * time.Millisecond
	results := c.Deliver(testCtx(t), []Target{target(silent, TLSNone)},
		Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}, []byte(testMessage))
	checkResult(t, results[0], "4.4.2 connection to "+mxHost+" lost while reading the greeting", false)
	if !strings.Contains(results[0].Reply.Text, "timeout") {
		t.Errorf("reply %+v", results[0].Reply)
	}
}

func TestDeliverTLS(t *testing.T) {
	noTLS := newTestServer(t, nil)
	withTLS := newTestServer(t, func(srv *gosmtp.Server, _ *testServer) { srv.TLSConfig = serverTLS(t) })
	env := Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}
	cert, err := testCert()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)

	for _, tc := range []struct {
		name    string
		targets []Target
		roots   *x509.CertPool
		want    string      // "" for delivered
		by      *testServer // the server that took the message
		tls     bool        // over TLS
	}{
		{"required, STARTTLS not offered", []Target{target(noTLS.addr, TLSRequired)}, nil,
			"4.7.4 TLS is required but " + mxHost + " does not offer STARTTLS", nil, false},
		{"required, fails over", []Target{target(noTLS.addr, TLSRequired), target(withTLS.addr, TLSRequired)}, nil,
			"", withTLS, true},
		{"required, self-signed", []Target{target(withTLS.addr, TLSRequired)}, nil, "", withTLS, true},
		{"verify, self-signed", []Target{target(withTLS.addr, TLSVerify)}, nil, "4.7.5 TLS with " + mxHost, nil, false},
		{"verify, wrong name", []Target{{Host: "other.test.gov.vn", Addr: withTLS.addr, TLS: TLSVerify}}, roots,
			"4.7.5 TLS with other.test.gov.vn", nil, false},
		{"verify, trusted", []Target{target(withTLS.addr, TLSVerify)}, roots, "", withTLS, true},
		{"opportunistic, offered", []Target{target(withTLS.addr, TLSOpportunistic)}, nil, "", withTLS, true},
		{"opportunistic, not offered", []Target{target(noTLS.addr, TLSOpportunistic)}, nil, "", noTLS, false},
		{"none, offered", []Target{target(withTLS.addr, TLSNone)}, nil, "", withTLS, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testClient()
			c.RootCAs = tc.roots
			results := c.Deliver(testCtx(t), tc.targets, env, []byte(testMessage))
			checkResult(t, results[0], tc.want, false)
			if tc.by == nil {
				return
			}
			_, _, mails, _, _ := tc.by.received()
			if m := mails[len(mails)-1]; m.tls != tc.tls {
				t.Errorf("sent with TLS %v, want %v", m.tls, tc.tls)
			}
		})
	}
}

func TestDeliverOpportunisticHandshakeFailure(t *testing.T) {
	ts := newTestServer(t, func(srv *gosmtp.Server, _ *testServer) {
		srv.TLSConfig = serverTLS(t)
		srv.TLSConfig.Certificates = nil // every handshake fails
	})
	results := testClient().Deliver(testCtx(t), []Target{target(ts.addr, TLSOpportunistic)},
		Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}, []byte(testMessage))
	checkResult(t, results[0], "", false)
	sessions, _, mails, _, _ := ts.received()
	if sessions != 2 || len(mails) != 1 || mails[0].tls {
		t.Errorf("%d sessions, messages %+v; want a second, plain session", sessions, mails)
	}

	results = testClient().Deliver(testCtx(t), []Target{target(ts.addr, TLSRequired)},
		Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}, []byte(testMessage))
	checkResult(t, results[0], "4.7.5 TLS with "+mxHost+": TLS handshake failed", false)
}

func TestDeliverSmarthostAuth(t *testing.T) {
	const user, password = "relay@hanoi.gov.vn", "s3cret-mật-khẩu"
	users := map[string]string{user: password}
	withTLS := newTestServer(t, func(srv *gosmtp.Server, ts *testServer) {
		srv.TLSConfig = serverTLS(t)
		ts.users = users
	})
	noTLS := newTestServer(t, func(srv *gosmtp.Server, ts *testServer) {
		srv.AllowInsecureAuth = true // the server would take AUTH in plain text; the client must not offer it
		ts.users = users
	})
	smarthost := func(addr string, policy TLSPolicy, password string) []Target {
		return []Target{{Host: "relay.test.gov.vn", Addr: addr, TLS: policy, Username: user, Password: password,
			Via: "smarthost"}}
	}
	env := Envelope{From: sender, Recipients: []string{"a@example.com"}}
	secretOnWire := func(wire string) bool {
		return strings.Contains(wire, "AUTH") || strings.Contains(wire, password) ||
			strings.Contains(wire, "cmVsYXlAaGFub2kuZ292LnZu") // base64 of the user name, as in an AUTH PLAIN line
	}

	results := testClient().Deliver(testCtx(t), smarthost(withTLS.addr, TLSOpportunistic, password), env,
		[]byte(testMessage))
	checkResult(t, results[0], "", false)
	_, _, mails, auths, wire := withTLS.received()
	if !slices.Equal(auths, []string{user + ":" + password}) || len(mails) != 1 || !mails[0].tls {
		t.Errorf("auths %q, messages %+v", auths, mails)
	}
	if secretOnWire(wire) {
		t.Errorf("credentials in plain text on the wire:\n%s", wire)
	}

	for _, policy := range []TLSPolicy{TLSOpportunistic, TLSNone} {
		results = testClient().Deliver(testCtx(t), smarthost(noTLS.addr, policy, password), env, []byte(testMessage))
		checkResult(t, results[0], "4.7.4 TLS is required but relay.test.gov.vn does not offer STARTTLS", false)
	}
	if _, _, mails, auths, wire := noTLS.received(); len(auths) != 0 || len(mails) != 0 || secretOnWire(wire) {
		t.Errorf("AUTH sent without TLS: auths %q, wire:\n%s", auths, wire)
	}

	results = testClient().Deliver(testCtx(t), smarthost(withTLS.addr, TLSRequired, "wrong"), env, []byte(testMessage))
	checkResult(t, results[0], "4.7.8 relay.test.gov.vn did not accept the credentials of "+user+": 535 5.7.8", false)
}

// basic answers a plain SMTP dialog that accepts everything.
func basic(cmd string) string {
	switch {
	case strings.HasPrefix(cmd, "EHLO"):
		return "250-script\r\n250 SIZE\r\n"
	case cmd == "DATA":
		return "354 go on\r\n"
	case cmd == ".":
		return "250 2.0.0 queued\r\n"
	case cmd == "QUIT":
		return "221 2.0.0 bye\r\n"
	}
	return "250 2.0.0 ok\r\n"
}

// RFC 821 gave "too many recipients" the code 552; RFC 5321 4.5.3.1.10 corrects it to 452 and asks clients to take
// 552 to RCPT as temporary, so the recipients the server had no room for are tried again rather than bounced.
func TestDeliverRcpt552IsTemporary(t *testing.T) {
	for _, tc := range []struct{ reply, want string }{
		{"552 5.5.3 Too many recipients\r\n", "452 4.5.3 Too many recipients"},
		{"552 Too many recipients\r\n", "452 Too many recipients"},
	} {
		rcpts := 0
		addr, _ := scriptServer(t, func(cmd string) string {
			if strings.HasPrefix(cmd, "RCPT") {
				if rcpts++; rcpts > 1 {
					return tc.reply
				}
			}
			return basic(cmd)
		})
		results := testClient().Deliver(testCtx(t), []Target{target(addr, TLSNone)},
			Envelope{From: sender, Recipients: []string{"a@other.gov.vn", "b@other.gov.vn", "c@other.gov.vn"}},
			[]byte(testMessage))
		checkResult(t, results[0], "", false)
		checkResult(t, results[1], tc.want, false)
		checkResult(t, results[2], tc.want, false)
	}
}

// smallBufferDialer dials with a small socket send buffer, so that a write of the message returns only once the
// server has read nearly all that came before it, as on a slow link.
func smallBufferDialer(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return conn, conn.(*net.TCPConn).SetWriteBuffer(16 << 10)
}

// slowDataServer accepts everything, but reads the message after DATA at rate bytes per second (a slow link that
// never stalls) and answers the final dot only after replyDelay (a server scanning the message). With rate 0 it
// stops reading after its 354 and holds the connection until the test ends.
func slowDataServer(t *testing.T, rate int, replyDelay time.Duration) string {
	done := make(chan struct{})
	addr := rawServer(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(15 * time.Second))
		c.(*net.TCPConn).SetReadBuffer(16 << 10)
		r := bufio.NewReader(c)
		io.WriteString(c, "220 slow ESMTP\r\n")
		for range 20 {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.TrimRight(line, "\r\n")
			io.WriteString(c, basic(cmd))
			switch {
			case cmd == "DATA" && rate == 0:
				select {
				case <-done:
				case <-time.After(15 * time.Second):
				}
				return
			case cmd == "DATA":
				if readSlowly(r, rate) != nil {
					return
				}
				time.Sleep(replyDelay)
				io.WriteString(c, basic("."))
			case cmd == "QUIT":
				return
			}
		}
	})
	t.Cleanup(func() { close(done) }) // runs before rawServer's cleanup, which waits for the handler
	return addr
}

// readSlowly reads the message up to its final dot at rate bytes per second.
func readSlowly(r *bufio.Reader, rate int) error {
	start, n := time.Now(), 0
	for n < 64<<20 {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if line == ".\r\n" {
			return nil
		}
		n += len(line)
		time.Sleep(time.Until(start.Add(time.Duration(n) * time.Second / time.Duration(rate))))
	}
	return errors.New("message too long")
}

// RFC 5321 4.5.3.2.5-6: the timeout of the transfer is per send, and the final reply gets its own wait from the
// final dot. One deadline for both made a slow transfer fail after the server had taken the message, which the
// queue then sent again.
func TestDeliverSlowTransferThenSlowReply(t *testing.T) {
	addr := slowDataServer(t, 1<<20, 400*time.Millisecond)
	c := testClient()
	c.Dialer = smallBufferDialer
	c.CommandTimeout = 300 * time.Millisecond // less than the reply takes: DATA's deadline must not carry over
	c.SendTimeout = 300 * time.Millisecond
	c.DataTimeout = 800 * time.Millisecond // less than the transfer takes
	message := testMessage + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 1200)
	start := time.Now()
	results := c.Deliver(testCtx(t), []Target{target(addr, TLSNone)},
		Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}, []byte(message))
	if elapsed := time.Since(start); elapsed < c.DataTimeout {
		t.Fatalf("Deliver took %v, less than DataTimeout: the test shows nothing", elapsed)
	}
	checkResult(t, results[0], "", false)
}

// A server that stops reading the message fails the delivery within the send timeout (RFC 5321 4.5.3.2.5), however
// long DataTimeout is.
func TestDeliverStalledTransferTimesOut(t *testing.T) {
	addr := slowDataServer(t, 0, 0)
	c := testClient()
	c.Dialer = smallBufferDialer
	c.SendTimeout = 200 * time.Millisecond
	c.DataTimeout = time.Minute
	message := testMessage + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 4000)
	start := time.Now()
	results := c.Deliver(testCtx(t), []Target{target(addr, TLSNone)},
		Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}, []byte(message))
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Deliver took %v", elapsed)
	}
	checkResult(t, results[0], "4.4.2 connection to "+mxHost+" lost while sending the message", false)
	if !strings.Contains(results[0].Reply.Text, "timeout") {
		t.Errorf("reply %+v", results[0].Reply)
	}
}

func TestDeliverDialog(t *testing.T) {
	env := Envelope{From: sender, Recipients: []string{"a@other.gov.vn"}}
	for _, tc := range []struct {
		name     string
		answer   func(cmd string) string
		hostname string
		want     string   // "" for delivered
		commands []string // the commands expected, in order
	}{
		{"HELO fallback", func(cmd string) string {
			if strings.HasPrefix(cmd, "EHLO") {
				return "502 5.5.1 what?\r\n"
			}
			return basic(cmd)
		}, "mail.hanoi.gov.vn", "", []string{"EHLO mail.hanoi.gov.vn", "HELO mail.hanoi.gov.vn",
			"MAIL FROM:<" + sender + ">", "RCPT TO:<a@other.gov.vn>", "DATA", "QUIT"}},
		{"address literal without a hostname", basic, "", "", []string{"EHLO [127.0.0.1]",
			"MAIL FROM:<" + sender + "> SIZE=" + fmt.Sprint(len(testMessage)), "RCPT TO:<a@other.gov.vn>", "DATA", "QUIT"}},
		{"250 to DATA", func(cmd string) string {
			if cmd == "DATA" {
				return "250 2.0.0 sure\r\n"
			}
			return basic(cmd)
		}, "mail.hanoi.gov.vn", "4.5.0 unexpected reply from " + mxHost + " while sending the message",
			[]string{"EHLO mail.hanoi.gov.vn", "MAIL FROM:<" + sender + "> SIZE=" + fmt.Sprint(len(testMessage)),
				"RCPT TO:<a@other.gov.vn>", "DATA"}},
		{"garbage greeting reply to EHLO", func(cmd string) string {
			if strings.HasPrefix(cmd, "EHLO") {
				return "hello there\r\n"
			}
			return basic(cmd)
		}, "mail.hanoi.gov.vn", "4.5.0 unexpected reply from " + mxHost + " while saying EHLO: malformed reply",
			[]string{"EHLO mail.hanoi.gov.vn"}},
		{"data after the STARTTLS reply", func(cmd string) string {
			switch {
			case strings.HasPrefix(cmd, "EHLO"):
				return "250-script\r\n250 STARTTLS\r\n"
			case cmd == "STARTTLS":
				return "220 go ahead\r\n250 injected\r\n"
			}
			return basic(cmd)
		}, "mail.hanoi.gov.vn", "4.5.0 unexpected reply from " + mxHost + " while starting TLS",
			[]string{"EHLO mail.hanoi.gov.vn", "STARTTLS"}},
		{"opportunistic, STARTTLS refused", func(cmd string) string {
			switch {
			case strings.HasPrefix(cmd, "EHLO"):
				return "250-script\r\n250 STARTTLS\r\n"
			case cmd == "STARTTLS":
				return "454 4.7.0 TLS not available\r\n"
			}
			return basic(cmd)
		}, "mail.hanoi.gov.vn", "", []string{"EHLO mail.hanoi.gov.vn", "STARTTLS", "MAIL FROM:<" + sender + ">",
			"RCPT TO:<a@other.gov.vn>", "DATA", "QUIT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, commands := scriptServer(t, tc.answer)
			c := testClient()
			c.Hostname = tc.hostname
			results := c.Deliver(testCtx(t), []Target{target(addr, TLSOpportunistic)}, env, []byte(testMessage))
			checkResult(t, results[0], tc.want, false)
			if got := commands(); !slices.Equal(got, tc.commands) {
				t.Errorf("commands %q, want %q", got, tc.commands)
			}
		})
	}
}
