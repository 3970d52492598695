package smtp

import (
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/store"
)

const plainMessage = "From: Sender <sender@other.example>\r\n" +
	"To: an@hanoi.gov.vn, binh@hanoi.gov.vn\r\n" +
	"Subject: Meeting\r\n" +
	"Date: Mon, 03 Mar 2025 09:00:00 +0700\r\n" +
	"Message-ID: <meeting-1@other.example>\r\n" +
	"\r\n" +
	"See you at nine.\r\n"

func TestMXDeliversToTwoUsersInOneTransaction(t *testing.T) {
	e := newTestEnv(t)
	c := e.dialMX()
	if err := send(c, "sender@other.example", []string{"an@" + domain, "binh@" + domain}, plainMessage); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"an@" + domain, "binh@" + domain} {
		msgs := e.inbox(rcpt)
		if len(msgs) != 1 {
			t.Fatalf("%s has %d messages, want 1", rcpt, len(msgs))
		}
		trace, rest := splitTrace(t, msgs[0])
		if rest != plainMessage {
			t.Errorf("%s: stored body differs:\n%q", rcpt, rest)
		}
		for _, want := range []string{"Return-Path: <sender@other.example>\r\n", "Delivered-To: " + rcpt + "\r\n",
			"Received: from mx.other.example ([127.0.0.1])\r\n\tby " + hostname + " with ESMTP id ",
			"\tfor <" + rcpt + ">; "} {
			if !strings.Contains(trace, want) {
				t.Errorf("%s: trace lacks %q:\n%s", rcpt, want, trace)
			}
		}
	}
	// One body for both copies.
	a, _ := e.st.Account("an@" + domain)
	b, _ := e.st.Account("binh@" + domain)
	if bodyOf(t, e.st, a.ID) != bodyOf(t, e.st, b.ID) {
		t.Error("the body was stored twice")
	}
}

func bodyOf(t *testing.T, st *store.Store, accountID uint64) store.BodyID {
	t.Helper()
	mb, err := st.Mailbox(accountID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	uids, _ := st.UIDs(mb.ID)
	msgs, err := st.Messages(mb.ID, uids, store.FetchOptions{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages: %v (%d)", err, len(msgs))
	}
	return msgs[0].Body
}

func TestMXRefusals(t *testing.T) {
	e := newTestEnv(t)
	c := e.dialMX()
	if err := c.Mail("sender@other.example", nil); err != nil {
		t.Fatal(err)
	}
	se := wantCode(t, "relay", c.Rcpt("someone@other.example", nil), 554, gosmtp.EnhancedCode{5, 7, 1})
	if se.Message != "Relay access denied" {
		t.Errorf("relay refusal text %q", se.Message)
	}
	wantCode(t, "unknown user", c.Rcpt("nobody@"+domain, nil), 550, gosmtp.EnhancedCode{5, 1, 1})
	wantCode(t, "bad address", c.Rcpt("@"+domain, nil), 501, gosmtp.EnhancedCode{5, 5, 2}) // go-smtp's syntax check
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("MX offers AUTH")
	}
	if ok, size := c.Extension("SIZE"); !ok || size != "1048576" {
		t.Errorf("SIZE extension %v %q", ok, size)
	}
}

func TestMXOverQuotaForOneRecipient(t *testing.T) {
	e := newTestEnv(t)
	c := e.dialMX()
	if err := send(c, "sender@other.example", []string{"chi@" + domain}, plainMessage); err != nil {
		t.Fatal(err)
	}
	chi, err := e.st.Account("chi@" + domain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.UpdateAccount(chi.Address, func(a *store.Account) error { a.Quota = chi.Used; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("sender@other.example", nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "full mailbox", c.Rcpt("chi@"+domain, nil), 452, gosmtp.EnhancedCode{4, 2, 2})
	if err := c.Rcpt("an@"+domain, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(plainMessage))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(e.inbox("an@" + domain)); n != 1 {
		t.Errorf("an has %d messages, want 1", n)
	}
	if n := len(e.inbox("chi@" + domain)); n != 1 {
		t.Errorf("chi has %d messages, want only the first", n)
	}

	// A declared size that does not fit is refused too.
	if _, err := e.st.UpdateAccount(chi.Address, func(a *store.Account) error { a.Quota = chi.Used + 100; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("sender@other.example", &gosmtp.MailOptions{Size: 5000}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "declared size over quota", c.Rcpt("chi@"+domain, nil), 452, gosmtp.EnhancedCode{4, 2, 2})
}

func TestMXOversizeRefused(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.MaxMessageBytes = 2000 })
	c := e.dialMX()
	big := plainMessage + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 40)
	wantCode(t, "oversize DATA", send(c, "sender@other.example", []string{"an@" + domain}, big), 552, gosmtp.EnhancedCode{5, 3, 4})
	wantCode(t, "oversize SIZE", c.Mail("sender@other.example", &gosmtp.MailOptions{Size: 3000}), 552, gosmtp.EnhancedCode{5, 3, 4})
	if err := send(c, "sender@other.example", []string{"an@" + domain}, plainMessage); err != nil {
		t.Fatalf("a small message after the refusal: %v", err)
	}
	if n := len(e.inbox("an@" + domain)); n != 1 {
		t.Errorf("an has %d messages, want 1", n)
	}
}

// A store failure at commit becomes 451 with a reference that is in the log, and nothing is stored.
func TestStoreFailureAtCommit(t *testing.T) {
	e := newTestEnv(t)
	c := e.dialMX()
	if err := c.Mail("sender@other.example", nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"an@" + domain, "binh@" + domain} {
		if err := c.Rcpt(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.st.Close() // the store fails under the open transaction
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(plainMessage))
	se := wantCode(t, "commit on a failed store", w.Close(), 451, gosmtp.EnhancedCode{4, 3, 0})
	checkInternalReply(t, e, se)

	// Reopen: nothing half-written.
	st, err := store.Open(e.path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	for _, r := range []string{"an@" + domain, "binh@" + domain} {
		if n := len(e.inbox(r)); n != 0 {
			t.Errorf("%s has %d messages after a failed commit", r, n)
		}
	}
}

func TestStoreFailureAtRecipient(t *testing.T) {
	e := newTestEnv(t)
	c := e.dialMX()
	if err := c.Mail("sender@other.example", nil); err != nil {
		t.Fatal(err)
	}
	e.st.Close()
	se := wantCode(t, "RCPT on a failed store", c.Rcpt("an@"+domain, nil), 451, gosmtp.EnhancedCode{4, 3, 0})
	checkInternalReply(t, e, se)
	st, err := store.Open(e.path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
}

// checkInternalReply checks that an internal failure's reply carries a reference found in the log next to the
// details, and no details itself.
func checkInternalReply(t *testing.T, e *testEnv, se *gosmtp.SMTPError) {
	t.Helper()
	i := strings.Index(se.Message, "(ref ")
	if i < 0 || strings.Contains(se.Message, "database") {
		t.Fatalf("reply %q: no reference, or internal details", se.Message)
	}
	ref := strings.TrimSuffix(se.Message[i+len("(ref "):], ")")
	logs := e.logs.String()
	if !strings.Contains(logs, "ref="+ref) || !strings.Contains(logs, "database not open") {
		t.Errorf("log lacks ref %s with the cause:\n%s", ref, logs)
	}
}

// Many clients at once, on both roles, each delivering several messages; run with -race.
func TestConcurrentClients(t *testing.T) {
	e := newTestEnv(t)
	const clients, each = 6, 3
	errs := make(chan error, 2*clients)
	for i := 0; i < clients; i++ {
		go func() {
			c, err := gosmtp.Dial(e.mx)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := 0; j < each; j++ {
				if err := send(c, "", []string{"an@" + domain, "binh@" + domain}, plainMessage); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
		go func() {
			c, err := gosmtp.DialStartTLS(e.sub, e.clientTLS)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := c.Auth(sasl.NewPlainClient("", "chi@"+domain, passwords["chi@"+domain])); err != nil {
				errs <- err
				return
			}
			for j := 0; j < each; j++ {
				if err := send(c, "chi@"+domain, []string{"an@" + domain}, "From: chi@hanoi.gov.vn\r\n\r\nhi\r\n"); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < 2*clients; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(e.inbox("an@" + domain)); n != 2*clients*each {
		t.Errorf("an has %d messages, want %d", n, 2*clients*each)
	}
	msgs := e.inbox("binh@" + domain)
	if len(msgs) != clients*each || !strings.HasPrefix(msgs[0], "Return-Path: <>\r\n") {
		t.Errorf("binh has %d messages, first %q", len(msgs), msgs[0][:40])
	}
}
