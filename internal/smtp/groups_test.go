package smtp

import (
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/store"
)

// Directory set-up for the tests below, straight through the store (the CLI is tested elsewhere).

func (e *testEnv) addGroup(address string, policy store.PostingPolicy, members []string, senders ...string) {
	e.t.Helper()
	if _, err := e.st.AddGroup(store.Group{Address: address, Policy: policy}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.UpdateGroup(address, func(g *store.Group) error {
		g.Members, g.Senders = members, senders
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) addAlias(alias, target string) {
	e.t.Helper()
	if _, err := e.st.AddAlias(alias, target); err != nil {
		e.t.Fatal(err)
	}
}

func (e *testEnv) updateAccount(address string, fn func(*store.Account)) {
	e.t.Helper()
	if _, err := e.st.UpdateAccount(address, func(a *store.Account) error { fn(a); return nil }); err != nil {
		e.t.Fatal(err)
	}
}

// wantReply is wantCode that also checks the reply text.
func wantReply(t *testing.T, what string, err error, code int, enhanced gosmtp.EnhancedCode, text string) {
	t.Helper()
	if se := wantCode(t, what, err, code, enhanced); se.Message != text {
		t.Errorf("%s: reply text %q, want %q", what, se.Message, text)
	}
}

func TestGroupPostingPoliciesAtRcpt(t *testing.T) {
	e := newTestEnv(t)
	e.addGroup("thanh-vien@"+domain, store.PostMembers, []string{"an@" + domain, "binh@" + domain})
	e.addGroup("noi-bo@"+domain, store.PostOrganisation, []string{"an@" + domain})
	e.addGroup("lanh-dao@"+domain, store.PostSenders, []string{"an@" + domain}, "binh@"+domain, "vp@other.example")
	e.addGroup("cong-khai@"+domain, store.PostAnyone, []string{"an@" + domain})

	mx := e.dialMX()
	if err := mx.Mail("someone@other.example", nil); err != nil {
		t.Fatal(err)
	}
	wantReply(t, "MX to members-only", mx.Rcpt("thanh-vien@"+domain, nil), 550, gosmtp.EnhancedCode{5, 7, 1},
		"only members may send to this group")
	wantReply(t, "MX to organisation", mx.Rcpt("noi-bo@"+domain, nil), 550, gosmtp.EnhancedCode{5, 7, 1},
		"only staff of this organisation may send to this group")
	wantReply(t, "MX to senders", mx.Rcpt("lanh-dao@"+domain, nil), 550, gosmtp.EnhancedCode{5, 7, 1},
		"only authorised senders may send to this group")
	if err := mx.Rcpt("cong-khai@"+domain, nil); err != nil {
		t.Errorf("MX to anyone: %v", err)
	}
	if err := mx.Reset(); err != nil {
		t.Fatal(err)
	}
	// A listed sender of another agency may post through MX (MAIL FROM is trusted until DMARC lands) ...
	if err := send(mx, "vp@other.example", []string{"lanh-dao@" + domain}, plainMessage); err != nil {
		t.Errorf("listed MX sender: %v", err)
	}
	// ... but a local listed sender must use submission: on MX its address is forged.
	if err := mx.Mail("binh@"+domain, nil); err != nil {
		t.Fatal(err)
	}
	wantReply(t, "local sender on MX", mx.Rcpt("lanh-dao@"+domain, nil), 550, gosmtp.EnhancedCode{5, 7, 1},
		"only authorised senders may send to this group")

	chi := e.dialSubmission("chi@" + domain)
	if err := chi.Mail("chi@"+domain, nil); err != nil {
		t.Fatal(err)
	}
	wantReply(t, "non-member", chi.Rcpt("thanh-vien@"+domain, nil), 550, gosmtp.EnhancedCode{5, 7, 1},
		"only members may send to this group")
	wantReply(t, "unlisted sender", chi.Rcpt("lanh-dao@"+domain, nil), 550, gosmtp.EnhancedCode{5, 7, 1},
		"only authorised senders may send to this group")
	if err := chi.Rcpt("noi-bo@"+domain, nil); err != nil {
		t.Errorf("staff to organisation group: %v", err)
	}

	binh := e.dialSubmission("binh@" + domain)
	msg := "From: binh@hanoi.gov.vn\r\nTo: thanh-vien@hanoi.gov.vn, lanh-dao@hanoi.gov.vn\r\nSubject: x\r\n\r\nhi\r\n"
	if err := send(binh, "binh@"+domain, []string{"thanh-vien@" + domain, "lanh-dao@" + domain}, msg); err != nil {
		t.Fatalf("member and listed sender: %v", err)
	}
	// an got the MX message to lanh-dao@, then one copy of binh's (two groups, one person); binh is in thanh-vien@.
	if n := len(e.inbox("an@" + domain)); n != 2 {
		t.Errorf("an has %d messages, want 2", n)
	}
	if n := len(e.inbox("binh@" + domain)); n != 1 {
		t.Errorf("binh has %d messages, want 1", n)
	}
}

func TestRejectMailAndEmptyGroup(t *testing.T) {
	e := newTestEnv(t)
	e.updateAccount("chi@"+domain, func(a *store.Account) { a.Disabled, a.RejectMail = true, true })
	e.addGroup("chi-only@"+domain, store.PostAnyone, []string{"chi@" + domain})
	e.addGroup("ca-phong@"+domain, store.PostAnyone, []string{"chi@" + domain, "binh@" + domain})
	c := e.dialMX()
	if err := c.Mail("someone@other.example", nil); err != nil {
		t.Fatal(err)
	}
	wantReply(t, "RejectMail", c.Rcpt("chi@"+domain, nil), 550, gosmtp.EnhancedCode{5, 2, 1},
		"mailbox disabled, not accepting messages")
	wantReply(t, "group of a disabled account", c.Rcpt("chi-only@"+domain, nil), 550, gosmtp.EnhancedCode{5, 2, 4},
		"group has no members who can receive mail")
	if err := c.Rcpt("ca-phong@"+domain, nil); err != nil {
		t.Fatalf("group with a disabled member: %v", err)
	}
	if err := sendData(c, plainMessage); err != nil {
		t.Fatal(err)
	}
	if n := len(e.inbox("binh@" + domain)); n != 1 {
		t.Errorf("binh has %d messages, want 1", n)
	}
	if n := len(e.inbox("chi@" + domain)); n != 0 {
		t.Errorf("chi (RejectMail) has %d messages", n)
	}
}

func sendData(c *gosmtp.Client, body string) error {
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	return w.Close()
}

// A full member is skipped (the others receive); a full account named directly is refused with 452 for that
// recipient only.
func TestGroupWithFullMember(t *testing.T) {
	e := newTestEnv(t)
	e.addGroup("phong@"+domain, store.PostAnyone, []string{"an@" + domain, "binh@" + domain, "chi@" + domain})
	e.updateAccount("chi@"+domain, func(a *store.Account) { a.Quota = 100 })
	c := e.dialMX()
	big := strings.Replace(plainMessage, "See you", strings.Repeat("x", 200), 1)
	if err := send(c, "sender@other.example", []string{"phong@" + domain}, big); err != nil {
		t.Fatal(err) // chi was not full yet: the soft quota lets this copy in
	}
	if err := c.Mail("sender@other.example", nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "full account", c.Rcpt("chi@"+domain, nil), 452, gosmtp.EnhancedCode{4, 2, 2})
	if err := c.Rcpt("phong@"+domain, nil); err != nil {
		t.Fatalf("group with a full member: %v", err)
	}
	if err := sendData(c, plainMessage); err != nil {
		t.Fatal(err)
	}
	// chi was refused when named directly, but still gets the group's copy (soft quota: nothing accepted is lost).
	for addr, want := range map[string]int{"an@": 2, "binh@": 2, "chi@": 2} {
		if n := len(e.inbox(addr + domain)); n != want {
			t.Errorf("%s has %d messages, want %d", addr, n, want)
		}
	}
}

func TestSendAsAliasGroupAndSharedMailbox(t *testing.T) {
	e := newTestEnv(t)
	e.addAlias("an.nguyen@"+domain, "an@"+domain)
	e.addAlias("binh.tran@"+domain, "binh@"+domain)
	e.addGroup("lanh-dao@"+domain, store.PostSenders, []string{"chi@" + domain}, "an.nguyen@"+domain)
	if _, err := e.st.AddShared(store.Account{Address: "van-thu@" + domain, Name: "Văn thư"}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetGrant("van-thu@"+domain, "an@"+domain, store.RightRead|store.RightSend); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetGrant("van-thu@"+domain, "binh@"+domain, store.RightRead|store.RightWrite); err != nil {
		t.Fatal(err)
	}

	an := e.dialSubmission("an@" + domain)
	for _, as := range []string{"an.nguyen@" + domain, "lanh-dao@" + domain, "van-thu@" + domain} {
		msg := "From: " + as + "\r\nTo: chi@hanoi.gov.vn\r\nSubject: as " + as + "\r\n\r\nhi\r\n"
		if err := send(an, as, []string{"chi@" + domain}, msg); err != nil {
			t.Errorf("an sending as %s: %v", as, err)
		}
	}
	wantCode(t, "someone else's alias", an.Mail("binh.tran@"+domain, nil), 553, gosmtp.EnhancedCode{5, 7, 1})
	spoof := "From: binh.tran@hanoi.gov.vn\r\nTo: chi@hanoi.gov.vn\r\n\r\nhi\r\n"
	wantCode(t, "someone else's alias in From", send(an, "an@"+domain, []string{"chi@" + domain}, spoof),
		550, gosmtp.EnhancedCode{5, 7, 1})

	binh := e.dialSubmission("binh@" + domain)
	wantCode(t, "shared mailbox without send", binh.Mail("van-thu@"+domain, nil), 553, gosmtp.EnhancedCode{5, 7, 1})
	wantCode(t, "group without being a sender", binh.Mail("lanh-dao@"+domain, nil), 553, gosmtp.EnhancedCode{5, 7, 1})

	if n := len(e.inbox("chi@" + domain)); n != 3 {
		t.Errorf("chi has %d messages, want 3", n)
	}
	log, err := e.st.AuditLog(store.AuditFilter{Account: "an@" + domain})
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, r := range log {
		if r.Action == "send-as" && r.From == "127.0.0.1" {
			targets = append(targets, r.Target)
		}
	}
	if strings.Join(targets, " ") != "an.nguyen@hanoi.gov.vn lanh-dao@hanoi.gov.vn van-thu@hanoi.gov.vn" {
		t.Errorf("send-as audit targets %v", targets)
	}
}
