package smtp

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/store"
)

// fakeChecker judges by the MAIL FROM address and remembers what it was asked.
type fakeChecker struct {
	mu   sync.Mutex
	seen []string // ip helo from
}

func (f *fakeChecker) Check(_ context.Context, ip net.IP, helo, from string, msg []byte) Verdict {
	f.mu.Lock()
	f.seen = append(f.seen, ip.String()+" "+helo+" "+from)
	f.mu.Unlock()
	results := "Authentication-Results: " + hostname + "; dmarc=fail header.from=x\r\n"
	switch {
	case strings.HasPrefix(from, "reject@"):
		return Verdict{AuthResults: results, Reject: true, Reason: "DMARC policy of x rejects this message"}
	case strings.HasPrefix(from, "junk@"):
		return Verdict{AuthResults: results, Quarantine: true, Reason: "DMARC quarantine"}
	}
	return Verdict{AuthResults: "Authentication-Results: " + hostname + "; dmarc=pass header.from=x\r\n",
		SenderAuthenticated: strings.HasPrefix(from, "ok@")}
}

func TestInboundChecks(t *testing.T) {
	checker := &fakeChecker{}
	e := newTestEnv(t, func(o *Options) { o.Inbound = checker })
	msg := "From: someone@other.example\r\nSubject: x\r\n\r\nhi\r\n"

	c := e.dialMX()
	wantCode(t, "DMARC reject", send(c, "reject@other.example", []string{"an@" + domain}, msg), 550, gosmtp.EnhancedCode{5, 7, 1})
	if err := send(c, "junk@other.example", []string{"an@" + domain}, msg); err != nil {
		t.Fatalf("quarantined message refused: %v", err)
	}
	if err := send(c, "ok@other.example", []string{"an@" + domain}, msg); err != nil {
		t.Fatal(err)
	}
	inbox := e.inbox("an@" + domain)
	if len(inbox) != 1 || !strings.Contains(inbox[0], "Authentication-Results: "+hostname+"; dmarc=pass") {
		t.Fatalf("INBOX = %q, want only the passing message, with its Authentication-Results", inbox)
	}
	a, _ := e.st.Account("an@" + domain)
	junk, _ := e.st.Mailbox(a.ID, "Junk")
	if junk.Messages != 1 {
		t.Errorf("Junk holds %d messages, want the quarantined one", junk.Messages)
	}
	checker.mu.Lock()
	seen := checker.seen
	checker.mu.Unlock()
	if len(seen) != 3 || !strings.HasPrefix(seen[0], "127.0.0.1 ") || !strings.HasSuffix(seen[0], " reject@other.example") {
		t.Errorf("checker saw %q, want the client's IP, HELO and MAIL FROM for each message", seen)
	}

	// Submissions are authenticated: the checks are for the MX port only.
	s := e.dialSubmission("an@" + domain)
	own := "From: an@hanoi.gov.vn\r\nSubject: x\r\n\r\nhi\r\n"
	if err := send(s, "an@"+domain, []string{"binh@" + domain}, own); err != nil {
		t.Fatal(err)
	}
	checker.mu.Lock()
	defer checker.mu.Unlock()
	if n := len(checker.seen); n != 3 {
		t.Errorf("a submission was checked (%d checks)", n)
	}
}

// A group with policy senders admits an MX sender on its MAIL FROM, and then the checks must vouch for it.
func TestListedSenderMustAuthenticate(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.Inbound = &fakeChecker{} })
	e.addGroup("lanhdao@"+domain, store.PostSenders, []string{"an@" + domain}, "ok@partner.gov.vn", "forged@partner.gov.vn")
	msg := "From: someone@partner.gov.vn\r\nSubject: x\r\n\r\nhi\r\n"
	c := e.dialMX()
	wantCode(t, "listed sender without SPF or DKIM", send(c, "forged@partner.gov.vn", []string{"lanhdao@" + domain}, msg),
		550, gosmtp.EnhancedCode{5, 7, 1})
	if err := send(c, "ok@partner.gov.vn", []string{"lanhdao@" + domain}, msg); err != nil {
		t.Fatalf("authenticated listed sender refused: %v", err)
	}
	// Without a group in the way, an unauthenticated sender is only judged by DMARC.
	if err := send(c, "forged@partner.gov.vn", []string{"an@" + domain}, msg); err != nil {
		t.Fatalf("plain mail from an unauthenticated sender refused: %v", err)
	}
	if n := len(e.inbox("an@" + domain)); n != 2 {
		t.Errorf("an has %d messages, want 2", n)
	}
}

// RFC 8601 section 5: results claiming this server's name that arrive from outside are obscured; another server's
// results, and our own fresh ones, stay as they are.
func TestForeignResultsUnderOurNameAreObscured(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.Inbound = &fakeChecker{} })
	forged := "Authentication-Results: " + hostname + "; spf=pass smtp.mailfrom=a.gov.vn;\r\n" +
		"\tdkim=pass header.d=a.gov.vn; dmarc=pass header.from=a.gov.vn\r\n"
	theirs := "Authentication-Results: mx.a.gov.vn; spf=pass smtp.mailfrom=a.gov.vn\r\n"
	body := "From: vanthu@a.gov.vn\r\nSubject: x\r\n\r\nAuthentication-Results: " + hostname + "; in the body\r\n"
	if err := send(e.dialMX(), "ok@a.gov.vn", []string{"an@" + domain}, forged+theirs+body); err != nil {
		t.Fatal(err)
	}
	inbox := e.inbox("an@" + domain)
	if len(inbox) != 1 {
		t.Fatalf("INBOX holds %d messages, want 1", len(inbox))
	}
	got := inbox[0]
	header, _, _ := strings.Cut(got, "\r\n\r\n")
	ours := 0
	for _, line := range strings.Split(header, "\r\n") {
		if strings.HasPrefix(line, "Authentication-Results: "+hostname+";") {
			ours++
		}
	}
	if ours != 1 {
		t.Errorf("%d header fields claim our name, want only the one this server wrote:\n%s", ours, got)
	}
	want := "X-Untrusted-" + forged + theirs + body
	if !strings.HasSuffix(got, want) {
		t.Errorf("stored message ends\n%q\nwant it to end\n%q", got[max(0, len(got)-len(want)):], want)
	}
	if !strings.Contains(got, "Authentication-Results: "+hostname+"; dmarc=pass header.from=x\r\n") {
		t.Errorf("our own results are missing:\n%s", got)
	}
}
