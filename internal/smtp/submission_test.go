package smtp

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

func TestSubmissionNeedsTLSForAuth(t *testing.T) {
	e := newTestEnv(t) // AllowInsecureAuth false
	c, err := gosmtp.Dial(e.sub)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("laptop"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before TLS")
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Error("STARTTLS not offered")
	}
	wantCode(t, "AUTH before TLS", c.Auth(sasl.NewPlainClient("", "an@"+domain, passwords["an@"+domain])),
		523, gosmtp.EnhancedCode{5, 7, 10})
}

func TestSubmissionRequiresAuth(t *testing.T) {
	e := newTestEnv(t)
	c := e.dialSubmission("")
	if ok, mechs := c.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
		t.Errorf("AUTH after STARTTLS: %v %q", ok, mechs)
	}
	wantCode(t, "MAIL without AUTH", c.Mail("an@"+domain, nil), 530, gosmtp.EnhancedCode{5, 7, 0})
}

func TestSubmissionAuthFailures(t *testing.T) {
	e := newTestEnv(t)
	// go-smtp's client answers a failed AUTH with "*", which the server counts as a protocol error (3 allowed), so
	// each connection here fails at most twice.
	c := e.dialSubmission("")
	wantCode(t, "wrong password", c.Auth(sasl.NewPlainClient("", "an@"+domain, "wrong")), 535, gosmtp.EnhancedCode{5, 7, 8})
	// (An unknown user gets the same 535; auth verifies a dummy argon2id hash for it, which is slow under -race.)
	wantCode(t, "wrong password again", c.Auth(sasl.NewPlainClient("", "an@"+domain, "x")), 535, gosmtp.EnhancedCode{5, 7, 8})
	c = e.dialSubmission("")
	wantCode(t, "other identity", c.Auth(sasl.NewPlainClient("binh@"+domain, "an@"+domain, passwords["an@"+domain])),
		535, gosmtp.EnhancedCode{5, 7, 8})
	wantCode(t, "throttled", c.Auth(sasl.NewPlainClient("", lockedUser, "x")), 454, gosmtp.EnhancedCode{4, 7, 0})
	wantCode(t, "still unauthenticated", c.Mail("an@"+domain, nil), 530, gosmtp.EnhancedCode{5, 7, 0})
	if err := c.Auth(sasl.NewPlainClient("", "an@"+domain, passwords["an@"+domain])); err != nil {
		t.Fatalf("right password after failures: %v", err)
	}
}

func TestSubmissionAuthLogin(t *testing.T) {
	e := newTestEnv(t)
	c := e.dialSubmission("")
	if err := c.Auth(sasl.NewLoginClient("binh@"+domain, passwords["binh@"+domain])); err != nil {
		t.Fatal(err)
	}
	msg := "From: binh@hanoi.gov.vn\r\nTo: an@hanoi.gov.vn\r\nSubject: login\r\n\r\nhi\r\n"
	if err := send(c, "binh@"+domain, []string{"an@" + domain}, msg); err != nil {
		t.Fatal(err)
	}
	if n := len(e.inbox("an@" + domain)); n != 1 {
		t.Errorf("an has %d messages", n)
	}
}

func TestSubmissionSenderChecks(t *testing.T) {
	e := newTestEnv(t)
	c := e.dialSubmission("an@" + domain)
	wantCode(t, "spoofed MAIL FROM", c.Mail("binh@"+domain, nil), 553, gosmtp.EnhancedCode{5, 7, 1})
	wantCode(t, "null MAIL FROM", c.Mail("", nil), 553, gosmtp.EnhancedCode{5, 7, 1})

	spoofed := "From: Bình <binh@hanoi.gov.vn>\r\nTo: chi@hanoi.gov.vn\r\nSubject: x\r\n\r\nhi\r\n"
	wantCode(t, "spoofed From header", send(c, "An@Hanoi.gov.vn", []string{"chi@" + domain}, spoofed),
		550, gosmtp.EnhancedCode{5, 7, 1})
	noFrom := "To: chi@hanoi.gov.vn\r\nSubject: x\r\n\r\nhi\r\n"
	wantCode(t, "no From header", send(c, "an@"+domain, []string{"chi@" + domain}, noFrom), 550, gosmtp.EnhancedCode{5, 7, 1})
	senderOnly := "Sender: an@hanoi.gov.vn\r\nTo: chi@hanoi.gov.vn\r\nSubject: x\r\n\r\nhi\r\n"
	wantCode(t, "Sender without From", send(c, "an@"+domain, []string{"chi@" + domain}, senderOnly),
		550, gosmtp.EnhancedCode{5, 7, 1})
	if n := len(e.inbox("chi@" + domain)); n != 0 {
		t.Errorf("chi has %d messages", n)
	}

	if err := c.Mail("an@"+domain, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "bad remote domain", c.Rcpt("someone@bad_domain.example", nil), 501, gosmtp.EnhancedCode{5, 1, 3})
}

// A submission to another agency is accepted for the outbound queue, in the same transaction as the local copy.
func TestSubmissionQueuesRemoteRecipients(t *testing.T) {
	e := newTestEnv(t)
	c := e.dialSubmission("an@" + domain)
	msg := "From: an@hanoi.gov.vn\r\nTo: lan@other.gov.vn, binh@hanoi.gov.vn\r\nSubject: x\r\n\r\nhi\r\n"
	if err := send(c, "an@"+domain, []string{"lan@other.gov.vn", "binh@" + domain}, msg); err != nil {
		t.Fatal(err)
	}
	queued, err := e.st.QueuedMessages()
	if err != nil || len(queued) != 1 || queued[0].Recipients[0].Address != "lan@other.gov.vn" {
		t.Fatalf("queue = %+v, %v", queued, err)
	}
	if n := len(e.inbox("binh@" + domain)); n != 1 {
		t.Errorf("binh has %d messages, want 1", n)
	}
}

func TestSubmissionAddsMessageIDAndDate(t *testing.T) {
	e := newTestEnv(t)
	c := e.dialSubmission("an@" + domain)
	msg := "From: an@hanoi.gov.vn\r\nTo: binh@hanoi.gov.vn\r\nSubject: no id\r\n\r\nbody\r\n.leading dot\r\n"
	if err := send(c, "an@"+domain, []string{"binh@" + domain}, msg); err != nil {
		t.Fatal(err)
	}
	full := e.inbox("binh@" + domain)[0]
	trace, rest := splitTrace(t, full)
	if !strings.Contains(trace, " with ESMTPSA id ") {
		t.Errorf("trace %q", trace)
	}
	added := regexp.MustCompile(`^Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\r\n` +
		`Message-ID: <[A-Z2-7]{26}@` + regexp.QuoteMeta(hostname) + `>\r\n`).FindString(rest)
	if added == "" {
		t.Fatalf("no Date and Message-ID prepended:\n%s", rest)
	}
	if rest[len(added):] != msg {
		t.Errorf("the message's own bytes changed:\n%q\nwant\n%q", rest[len(added):], msg)
	}

	// A message that has both keeps its bytes exactly.
	if err := send(c, "an@"+domain, []string{"binh@" + domain}, "Date: Tue, 04 Mar 2025 08:00:00 +0700\r\nFrom: an@hanoi.gov.vn\r\n"+
		"message-id: <x@y>\r\n\r\nbody\r\n"); err != nil {
		t.Fatal(err)
	}
	_, rest = splitTrace(t, e.inbox("binh@" + domain)[1])
	if !strings.HasPrefix(rest, "Date: Tue, 04 Mar 2025") {
		t.Errorf("complete message was changed:\n%s", rest)
	}
}

// A Vietnamese message with an attachment, sent over implicit TLS to several users, is stored byte for byte.
func TestVietnameseMessageWithAttachment(t *testing.T) {
	e := newTestEnv(t)
	c, err := gosmtp.DialTLS(e.subs, e.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "an@"+domain, passwords["an@"+domain])); err != nil {
		t.Fatal(err)
	}
	attachment := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("Báo cáo tổng hợp quý I năm 2025. ", 100)))
	var lines []string
	for len(attachment) > 76 {
		lines, attachment = append(lines, attachment[:76]), attachment[76:]
	}
	lines = append(lines, attachment)
	msg := "From: =?UTF-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?= <an@hanoi.gov.vn>\r\n" +
		"To: binh@hanoi.gov.vn, chi@hanoi.gov.vn\r\n" +
		"Subject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o_t=E1=BB=95ng_h=E1=BB=A3p_qu=C3=BD_I?=\r\n" +
		"Date: Tue, 04 Mar 2025 08:00:00 +0700\r\n" +
		"Message-ID: <bao-cao-q1@hanoi.gov.vn>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"ranh-gioi\"\r\n" +
		"\r\n" +
		"--ranh-gioi\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		"Kính gửi các đồng chí,\r\n" +
		"Đề nghị xem báo cáo đính kèm.\r\n" +
		"--ranh-gioi\r\n" +
		"Content-Type: application/pdf; name*=utf-8''B%C3%A1o%20c%C3%A1o.pdf\r\n" +
		"Content-Disposition: attachment; filename*=utf-8''B%C3%A1o%20c%C3%A1o.pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		strings.Join(lines, "\r\n") + "\r\n" +
		"--ranh-gioi--\r\n"
	rcpts := []string{"binh@" + domain, "chi@" + domain, "an@" + domain}
	if err := send(c, "an@"+domain, rcpts, msg); err != nil {
		t.Fatal(err)
	}
	for _, r := range rcpts {
		msgs := e.inbox(r)
		if len(msgs) != 1 {
			t.Fatalf("%s has %d messages", r, len(msgs))
		}
		trace, rest := splitTrace(t, msgs[0])
		if rest != msg {
			t.Errorf("%s: stored message differs from what was sent", r)
		}
		wantTrace := regexp.MustCompile(`^Return-Path: <an@hanoi\.gov\.vn>\r\nDelivered-To: ` + regexp.QuoteMeta(r) + `\r\n` +
			`Received: from localhost \(\[127\.0\.0\.1\]\)\r\n\tby mail\.hanoi\.gov\.vn with ESMTPSA id [A-Z2-7]{12}\r\n` +
			`\tfor <` + regexp.QuoteMeta(r) + `>; [^\r\n]+\r\n$`)
		if !wantTrace.MatchString(trace) {
			t.Errorf("%s: trace %q", r, trace)
		}
	}
}

// STARTTLS starts a new session: an AUTH done before it (loopback, AllowInsecureAuth) is forgotten (RFC 3207 4.2).
// The dialog in testdata/starttls-forgets-auth.dialog shows the same on the wire.
func TestInsecureAuthOnLoopback(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.AllowInsecureAuth = true })
	c, err := gosmtp.Dial(e.sub)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "an@"+domain, passwords["an@"+domain])); err != nil {
		t.Fatalf("AUTH on loopback without TLS: %v", err)
	}
	if err := send(c, "an@"+domain, []string{"binh@" + domain}, "From: an@hanoi.gov.vn\r\n\r\nhi\r\n"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.inbox("binh@" + domain)[0], " with ESMTPA id ") {
		t.Error("protocol is not ESMTPA")
	}
}
