package smtp

import (
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/auth"
	"mailserver/internal/store"
)

// idnDomain is Huế.vn as the directory stores it: in A-labels.
const idnDomain = "xn--hu-07s.vn"

// addIDNAccount serves idnDomain and gives it the account an@ with password pw.
func (e *testEnv) addIDNAccount(pw string) {
	e.t.Helper()
	if err := e.st.AddDomain(idnDomain); err != nil {
		e.t.Fatal(err)
	}
	hash, err := auth.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}.Hash(pw)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.AddAccount(store.Account{Address: "an@" + idnDomain, PasswordHash: hash}); err != nil {
		e.t.Fatal(err)
	}
}

// Mail to the Unicode form of a domain served here is local mail, not relaying.
func TestMXUnicodeDomainIsLocal(t *testing.T) {
	e := newTestEnv(t)
	e.addIDNAccount("an-secret")
	body := "From: lan@other.gov.vn\r\nTo: an@huế.vn\r\nSubject: x\r\n\r\nhi\r\n"
	if err := send(e.dialMX(), "lan@other.gov.vn", []string{"An@Huế.vn"}, body); err != nil {
		t.Fatal(err)
	}
	if n := len(e.inbox("an@" + idnDomain)); n != 1 {
		t.Errorf("an@%s has %d messages, want 1", idnDomain, n)
	}
}

// Staff of a domain with an internationalised name log in, and send, with its Unicode or its xn-- form alike.
func TestSubmissionUnicodeDomain(t *testing.T) {
	e := newTestEnv(t)
	e.addIDNAccount("an-secret")
	c, err := gosmtp.DialStartTLS(e.sub, e.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "An@Huế.vn", "an-secret")); err != nil {
		t.Fatalf("AUTH with the Unicode domain: %v", err)
	}
	body := "From: An <an@huế.vn>\r\nTo: binh@hanoi.gov.vn, lan@other.gov.vn\r\nSubject: x\r\n\r\nhi\r\n"
	if err := send(c, "an@HUẾ.vn", []string{"binh@" + domain, "lan@other.gov.vn"}, body); err != nil {
		t.Fatalf("send as the Unicode form of the own address: %v", err)
	}
	if n := len(e.inbox("binh@" + domain)); n != 1 {
		t.Errorf("binh has %d messages, want 1", n)
	}
	// The next server gets MAIL FROM in A-labels: an ASCII address, which needs no SMTPUTF8.
	queued, err := e.st.QueuedMessages()
	if err != nil || len(queued) != 1 || queued[0].From != "an@"+idnDomain {
		t.Errorf("queue = %+v, %v; want one message from an@%s", queued, err, idnDomain)
	}
}

// A quoted local part keeps its quotes on the way to the outbound queue, so that the next server is asked for the
// same mailbox: go-smtp hands it over unquoted.
func TestSubmissionQuotedRemoteRecipient(t *testing.T) {
	e := newTestEnv(t)
	c := e.dialSubmission("an@" + domain)
	msg := "From: an@hanoi.gov.vn\r\nTo: lan@other.gov.vn\r\nSubject: x\r\n\r\nhi\r\n"
	if err := send(c, "an@"+domain, []string{`"lan nguyen"@Other.gov.vn`}, msg); err != nil {
		t.Fatal(err)
	}
	queued, err := e.st.QueuedMessages()
	if err != nil || len(queued) != 1 {
		t.Fatalf("queue = %+v, %v", queued, err)
	}
	if got, want := queued[0].Recipients[0].Address, `"lan nguyen"@other.gov.vn`; got != want {
		t.Errorf("queued recipient %s, want %s", got, want)
	}
}
