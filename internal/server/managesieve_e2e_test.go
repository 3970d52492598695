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

	"mailserver/internal/admin"
	"mailserver/internal/store"
)

// A filter editor's session (RFC 5804, as Thunderbird's add-on runs it, in Python) against the real server: the
// script lands in the store as the user's active script. The forwarding policy refuses a script that forwards
// outside the organisation, over ManageSieve and from the administration layer alike.
func TestManageSieveSessionStoresTheActiveScript(t *testing.T) {
	python := requireTool(t, "python3")
	cfg := newTestConfig(t)
	cfg.Sieve.ManageSieve = "127.0.0.1:0"
	ts := provision(startServerWith(t, cfg))
	script := "require [\"fileinto\", \"comparator-vnd-mailserver-vi-fold\"];\r\n" +
		"if header :comparator \"vnd-mailserver-vi-fold\" :contains \"subject\" \"bao cao\" { fileinto \"Báo cáo\"; }\r\n"
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

	err = ts.Admin().PutSieveScript(testUsers[0], "chuyển tiếp", "redirect \"ban@gmail.com\";\r\n", false)
	if !errors.Is(err, admin.ErrInvalid) || !strings.Contains(err.Error(), "forward_domains") {
		t.Errorf("a redirect outside the organisation: %v, want refused by the forwarding policy", err)
	}
	// Until delivery forwards and replies, scripts that would are refused rather than stored and ignored.
	for _, src := range []string{"redirect \"binh@example.gov.vn\";\r\n", "require \"vacation\";\r\nvacation \"Tôi nghỉ phép.\";\r\n"} {
		if err := ts.Admin().PutSieveScript(testUsers[0], "chưa có", src, false); !errors.Is(err, admin.ErrInvalid) ||
			!strings.Contains(err.Error(), "not available on this server yet") {
			t.Errorf("%q: %v, want refused as not available yet", src, err)
		}
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
