package server

import (
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/store"
)

// The whole story of a filter (issue 14's end-to-end case): a filter editor's session (RFC 5804, as
// Thunderbird's add-on runs it, in Python) stores the user's script against the real server; mail delivered over
// SMTP is then filed, flagged and answered as it says; a second message from the same sender within :days gets no
// second reply, and a list message gets none.
func TestManageSieveSessionStoresTheActiveScript(t *testing.T) {
	python := requireTool(t, "python3")
	cfg := newTestConfig(t)
	cfg.Sieve.ManageSieve = "127.0.0.1:0"
	ts := provision(startServerWith(t, cfg))
	script := "require [\"fileinto\", \"imap4flags\", \"vacation\", \"comparator-vnd-mailserver-vi-fold\"];\r\n" +
		"if header :comparator \"vnd-mailserver-vi-fold\" :contains \"subject\" \"bao cao\" {\r\n" +
		"  addflag \"\\\\Flagged\";\r\n  fileinto \"Báo cáo\";\r\n}\r\n" +
		"vacation :days 2 :subject \"Nghỉ phép\" \"Tôi đang nghỉ phép.\";\r\n"
	scriptFile := filepath.Join(t.TempDir(), "script.sieve")
	if err := os.WriteFile(scriptFile, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "../managesieve/testdata/thunderbird.py")
	cmd.Env = append(os.Environ(), "MS_ADDR="+ts.Addr("managesieve"), "MS_CA="+ts.caFile(), "MS_USER="+testUsers[0],
		"MS_PASSWORD="+testPassword, "MS_SCRIPT="+scriptFile)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "session ok") {
		t.Fatalf("python session: %v\n%s", err, out)
	}
	acct, err := ts.Store().Account(testUsers[0])
	if err != nil {
		t.Fatal(err)
	}
	name, src, err := ts.Store().ActiveSieveScript(acct.ID)
	if err != nil || name != "Lọc thư đến" || string(src) != script {
		t.Fatalf("active script %q %q (%v), want %q", name, src, err, script)
	}
	if _, err := ts.Store().CreateMailbox(acct.ID, "Báo cáo", ""); err != nil {
		t.Fatal(err)
	}
	an, binh, chi := testUsers[0], testUsers[1], testUsers[2]
	mail := func(from, subject, extra string) string {
		return "From: <" + from + ">\r\nTo: <" + an + ">\r\nSubject: " + subject + "\r\n" + extra +
			"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNội dung.\r\n"
	}
	for _, m := range []struct{ from, subject, extra string }{
		{binh, "=?UTF-8?Q?B=C3=A1o_c=C3=A1o_th=C3=A1ng_12?=", ""},
		{binh, "Hỏi lịch họp", ""},
		{chi, "Bản tin", "List-Id: <bantin.example.gov.vn>\r\nPrecedence: list\r\n"},
	} {
		if err := ts.submit(m.from, []string{an}, mail(m.from, m.subject, m.extra)); err != nil {
			t.Fatal(err)
		}
	}
	if !waitCount(t, ts, an, "Báo cáo", 1) || !waitCount(t, ts, an, "INBOX", 2) || !waitCount(t, ts, binh, "INBOX", 1) {
		t.Fatalf("an's Báo cáo %d, INBOX %d, binh's replies %d: want the report filed, the rest kept, one reply",
			mailboxCount(t, ts, an, "Báo cáo"), mailboxCount(t, ts, an, "INBOX"), mailboxCount(t, ts, binh, "INBOX"))
	}
	time.Sleep(300 * time.Millisecond) // a second reply, or one to the list, would have come by now
	if b, c := mailboxCount(t, ts, binh, "INBOX"), mailboxCount(t, ts, chi, "INBOX"); b != 1 || c != 0 {
		t.Errorf("binh has %d replies, chi %d: want one reply within :days, none to a list message", b, c)
	}
	a, _ := ts.Store().Account(an)
	mb, _ := ts.Store().Mailbox(a.ID, "Báo cáo")
	uids, _ := ts.Store().UIDs(mb.ID)
	if msgs, err := ts.Store().Messages(mb.ID, uids, storeFetchNone); err != nil || len(msgs) != 1 || !slices.Contains(msgs[0].Flags, `\Flagged`) {
		t.Errorf("the filed report: %+v, %v; want it flagged", msgs, err)
	}

	err = ts.Admin().PutSieveScript(testUsers[0], "chuyển tiếp", "redirect \"ban@gmail.com\";\r\n", false)
	if !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), "forward_domains") {
		t.Errorf("a redirect outside the organisation: %v, want refused by the forwarding policy", err)
	}
}

// Mail delivered over SMTP is filed, flagged and discarded as the recipient's active script says, each copy by its
// own recipient's script; a recipient without one gets the message in INBOX.
func TestDeliveryRunsTheRecipientsFilter(t *testing.T) {
	ts := startServer(t)
	script := `require ["fileinto", "imap4flags", "mailbox", "comparator-vnd-mailserver-vi-fold"];
if header :comparator "vnd-mailserver-vi-fold" :contains "subject" "bao cao" {
	addflag "\\Flagged";
	fileinto :create "Báo cáo/Tháng 12";
	stop;
}
if header :contains "subject" "quảng cáo" { discard; stop; }
if address :domain :is "from" "thanhtra.gov.vn" { addflag "$Important"; fileinto "INBOX"; }
`
	if err := ts.Admin().PutSieveScript(testUsers[0], "lọc", script, true); err != nil {
		t.Fatal(err)
	}
	send := func(from, subject string) {
		t.Helper()
		raw := "From: <" + from + ">\r\nTo: <" + testUsers[0] + ">, <" + testUsers[1] + ">\r\nSubject: " + subject +
			"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNội dung.\r\n"
		if err := sendMX(ts, from, []string{testUsers[0], testUsers[1]}, raw); err != nil {
			t.Fatal(err)
		}
	}
	send("vanthu@sotc.gov.vn", "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte("Báo cáo tháng 12"))+"?=")
	send("ads@example.com", "Quảng cáo giảm giá")
	send("tra@thanhtra.gov.vn", "Kết luận")
	an, _ := ts.Store().Account(testUsers[0])
	binh, _ := ts.Store().Account(testUsers[1])
	count := func(a store.Account, name string) (n int, flags []string) {
		t.Helper()
		mb, err := ts.Store().Mailbox(a.ID, name)
		if err != nil {
			return -1, nil
		}
		uids, err := ts.Store().UIDs(mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := ts.Store().Messages(mb.ID, uids, storeFetchNone)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			flags = append(flags, m.Flags...)
		}
		return len(msgs), flags
	}
	if n, flags := count(an, "Báo cáo/Tháng 12"); n != 1 || !slices.Contains(flags, "\\Flagged") {
		t.Errorf("an's Báo cáo/Tháng 12: %d messages, flags %v; want the report, flagged", n, flags)
	}
	if n, flags := count(an, "INBOX"); n != 1 || !slices.Contains(flags, "$Important") {
		t.Errorf("an's INBOX: %d messages, flags %v; want only the inspectorate's, marked $Important", n, flags)
	}
	if n, _ := count(binh, "INBOX"); n != 3 {
		t.Errorf("binh, without a script, has %d messages in INBOX, want all 3", n)
	}
}

// mailboxCount is how many messages the account's mailbox holds (-1: no such mailbox).
func mailboxCount(t *testing.T, ts *testServer, address, name string) int {
	t.Helper()
	a, err := ts.Store().Account(address)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := ts.Store().Mailbox(a.ID, name)
	if err != nil {
		return -1
	}
	return int(mb.Messages)
}

// waitCount waits up to ten seconds for the mailbox to hold want messages, and reports whether it came to.
func waitCount(t *testing.T, ts *testServer, address, name string, want int) bool {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if mailboxCount(t, ts, address, name) == want {
			return true
		}
	}
	return false
}

// A vacation script answers a colleague once per :days, never a list message; a redirect sends a copy on through
// the queue (delivered here, since the address is local); a redirect outside the organisation is refused when the
// script is stored.
func TestVacationAndRedirectThroughTheQueue(t *testing.T) {
	ts := startServer(t)
	an, binh, chi := testUsers[0], testUsers[1], testUsers[2]
	vacation := "require \"vacation\";\r\nvacation :days 1 :subject \"Nghỉ phép\" \"Tôi đang nghỉ phép đến hết tháng.\";\r\n"
	if err := ts.Admin().PutSieveScript(an, "nghỉ phép", vacation, true); err != nil {
		t.Fatal(err)
	}
	if err := ts.Admin().PutSieveScript(chi, "chuyển", "require \"copy\";\r\nredirect :copy \""+binh+"\";\r\n", true); err != nil {
		t.Fatal(err)
	}
	err := ts.Admin().PutSieveScript(chi, "ra ngoài", "redirect \"ban@gmail.com\";\r\n", false)
	if !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), "forward_domains") {
		t.Errorf("a redirect outside the organisation: %v, want refused by the forwarding policy", err)
	}
	mail := func(from, to, subject, extra string) string {
		return "From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: " + subject + "\r\nMessage-ID: <" + subject +
			"@example.gov.vn>\r\n" + extra + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNội dung.\r\n"
	}
	if err := ts.submit(binh, []string{an}, mail(binh, an, "hoi1", "")); err != nil {
		t.Fatal(err)
	}
	if !waitCount(t, ts, binh, "INBOX", 1) {
		t.Fatalf("binh has %d messages: the vacation reply did not come", mailboxCount(t, ts, binh, "INBOX"))
	}
	if err := ts.submit(binh, []string{an}, mail(binh, an, "hoi2", "")); err != nil {
		t.Fatal(err)
	}
	if err := ts.submit(chi, []string{an}, mail(chi, an, "thongbao", "List-Id: <tin.example.gov.vn>\r\n")); err != nil {
		t.Fatal(err)
	}
	if !waitCount(t, ts, an, "INBOX", 3) {
		t.Fatalf("an has %d messages, want all 3 kept", mailboxCount(t, ts, an, "INBOX"))
	}
	if err := ts.submit(an, []string{chi}, mail(an, chi, "chuyentiep", "")); err != nil {
		t.Fatal(err)
	}
	if !waitCount(t, ts, chi, "INBOX", 1) || !waitCount(t, ts, binh, "INBOX", 2) {
		t.Fatalf("chi %d, binh %d messages: want chi's own copy and the one forwarded to binh",
			mailboxCount(t, ts, chi, "INBOX"), mailboxCount(t, ts, binh, "INBOX"))
	}
	time.Sleep(300 * time.Millisecond) // a second reply, or one to the list message, would have come by now
	if n := mailboxCount(t, ts, binh, "INBOX"); n != 2 {
		t.Errorf("binh has %d messages: want one reply within :days and the forwarded copy", n)
	}
	if n := mailboxCount(t, ts, chi, "INBOX"); n != 1 {
		t.Errorf("chi has %d messages: want no reply to a list message", n)
	}
	b, _ := ts.Store().Account(binh)
	mb, _ := ts.Store().Mailbox(b.ID, "INBOX")
	uids, _ := ts.Store().UIDs(mb.ID)
	msgs, err := ts.Store().Messages(mb.ID, uids[:1], storeFetchNone)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("binh's reply: %v", err)
	}
	raw := make([]byte, msgs[0].BodySize)
	if _, err := ts.Store().Body(msgs[0].Body, msgs[0].BodySize).ReadAt(raw, 0); err != nil {
		t.Fatal(err)
	}
	body := string(raw)
	for _, want := range []string{"Auto-Submitted: auto-replied", "In-Reply-To: <hoi1@example.gov.vn>", "From: "} {
		if !strings.Contains(body, want) {
			t.Errorf("the reply lacks %q:\n%s", want, body)
		}
	}
}
