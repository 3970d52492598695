package server

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/testnet"
)

// requireTool is testnet.RequireTool: in CI a missing client fails the test.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	return testnet.RequireTool(t, name)
}

func (ts *testServer) port(name string) string {
	addr := ts.Addr(name)
	return addr[strings.LastIndexByte(addr, ':')+1:]
}

func (ts *testServer) caFile() string { return filepath.Join(ts.cfg.DataDir, "tls", "cert.pem") }

func TestInteropPythonSmtplibImaplib(t *testing.T) {
	python := requireTool(t, "python3")
	ts := startServer(t)
	cmd := exec.Command(python, "testdata/interop.py")
	cmd.Env = append(os.Environ(),
		"MS_CA="+ts.caFile(), "MS_USER=an@example.gov.vn", "MS_RCPT=binh@example.gov.vn", "MS_PASSWORD="+testPassword,
		"MS_SUBMISSIONS="+ts.port("submissions"), "MS_SUBMISSION="+ts.port("submission"), "MS_IMAPS="+ts.port("imaps"))
	out, err := cmd.CombinedOutput()
	t.Logf("python:\n%s", out)
	if err != nil {
		t.Fatalf("python interop failed: %v", err)
	}
	if got := strings.Count(string(out), "OK "); got != 5 {
		t.Errorf("%d steps passed, want 5", got)
	}
}

func TestInteropSwaks(t *testing.T) {
	swaks := requireTool(t, "swaks")
	ts := startServer(t)
	run := func(args ...string) (string, error) {
		out, err := exec.Command(swaks, args...).CombinedOutput()
		return string(out), err
	}
	out, err := run("--server", "127.0.0.1", "--port", ts.port("submission"), "--tls",
		"--auth", "LOGIN", "--auth-user", "an@example.gov.vn", "--auth-password", testPassword,
		"--from", "an@example.gov.vn", "--to", "chi@example.gov.vn",
		"--header", "Subject: =?utf-8?Q?C=C3=B4ng_v=C4=83n_s=E1=BB=91_12?=", "--body", "Noi dung cong van.")
	if err != nil {
		t.Fatalf("swaks submission failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "<-  250") || !strings.Contains(out, "235 ") {
		t.Errorf("swaks transcript lacks 235/250:\n%s", out)
	}
	out, err = run("--server", "127.0.0.1", "--port", ts.port("mx"), "--from", "spam@elsewhere.example",
		"--to", "victim@not-ours.example")
	if err == nil || !strings.Contains(out, "554 5.7.1") {
		t.Errorf("relay through MX not refused with 554 5.7.1 (err %v):\n%s", err, out)
	}
	out, err = run("--server", "127.0.0.1", "--port", ts.port("submission"),
		"--auth", "PLAIN", "--auth-user", "an@example.gov.vn", "--auth-password", testPassword,
		"--from", "an@example.gov.vn", "--to", "chi@example.gov.vn")
	// Before STARTTLS the server does not offer AUTH at all, and swaks gives up on that (exit 28).
	if err == nil || !strings.Contains(out, "Host did not advertise authentication") || strings.Contains(out, "250-AUTH") {
		t.Errorf("AUTH offered or accepted without TLS (err %v):\n%s", err, out)
	}
	c := ts.imapLogin("chi@example.gov.vn", nil)
	msgs := fetchAll(t, c, "INBOX")
	if len(msgs) != 1 || msgs[0].Envelope.Subject != "Công văn số 12" {
		t.Fatalf("swaks message not delivered as sent: %d messages", len(msgs))
	}
}

func TestInteropCurl(t *testing.T) {
	curl := requireTool(t, "curl")
	ts := startServer(t)
	raw := vietnameseReport("an@example.gov.vn", []string{"binh@example.gov.vn"})
	msgFile := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(msgFile, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(curl, "-sS", "--cacert", ts.caFile(), "--ssl-reqd",
		"smtp://127.0.0.1:"+ts.port("submission"), "--user", "an@example.gov.vn:"+testPassword,
		"--mail-from", "an@example.gov.vn", "--mail-rcpt", "binh@example.gov.vn", "--upload-file", msgFile).CombinedOutput()
	if err != nil {
		t.Fatalf("curl SMTP submission failed: %v\n%s", err, out)
	}
	got, err := exec.Command(curl, "-sS", "--cacert", ts.caFile(),
		"imaps://127.0.0.1:"+ts.port("imaps")+"/INBOX;UID=1", "--user", "binh@example.gov.vn:"+testPassword).Output()
	if err != nil {
		t.Fatalf("curl IMAP fetch failed: %v", err)
	}
	if !strings.HasSuffix(strings.ReplaceAll(string(got), "\r\n", "\n"), strings.ReplaceAll(raw, "\r\n", "\n")) {
		t.Fatalf("curl fetched a different message:\n%s", got)
	}
}

// swaks against the gateway: a forgery of a DMARC-protected domain is refused on MX, a partner passing SPF is
// delivered with Authentication-Results, and a submission to a domain that does not exist comes back as a bounce.
func TestInteropSwaksGateway(t *testing.T) {
	swaks := requireTool(t, "swaks")
	cfg := newTestConfig(t)
	cfg.DNS.Records = filepath.Join(cfg.DataDir, "records.zone")
	records := "example.gov.vn. IN TXT \"v=spf1 ip4:192.0.2.1 -all\"\n" +
		"_dmarc.example.gov.vn. IN TXT \"v=DMARC1; p=reject\"\n" +
		"partner.gov.vn. IN TXT \"v=spf1 ip4:127.0.0.0/8 -all\"\n"
	if err := os.WriteFile(cfg.DNS.Records, []byte(records), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startServerWith(t, cfg)
	if err := ts.Admin().AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	for _, u := range testUsers {
		if _, err := ts.Admin().AddUser(adminUser(u)); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(swaks, append([]string{"--server", "127.0.0.1"}, args...)...).CombinedOutput()
		return string(out), err
	}
	out, err := run("--port", ts.port("mx"), "--from", "giamdoc@example.gov.vn", "--to", "an@example.gov.vn",
		"--header", "From: giamdoc@example.gov.vn", "--body", "Chuyen tien gap.")
	if err == nil || !strings.Contains(out, "550 5.7.1") {
		t.Errorf("forged mail from a DMARC p=reject domain not refused with 550 5.7.1 (err %v):\n%s", err, out)
	}
	out, err = run("--port", ts.port("mx"), "--from", "vanthu@partner.gov.vn", "--to", "an@example.gov.vn",
		"--header", "From: vanthu@partner.gov.vn", "--header", "Subject: partner")
	if err != nil {
		t.Fatalf("partner mail refused: %v\n%s", err, out)
	}
	c := ts.imapLogin("an@example.gov.vn", nil)
	msgs := fetchAll(t, c, "INBOX")
	if len(msgs) != 1 {
		t.Fatalf("an has %d messages, want the partner's only", len(msgs))
	}
	if body := string(msgs[0].FindBodySection(&imap.FetchItemBodySection{})); !strings.Contains(body,
		"Authentication-Results: mail.example.gov.vn;\r\n\tspf=pass smtp.mailfrom=partner.gov.vn;") {
		t.Errorf("partner mail lacks spf=pass:\n%s", body)
	}

	out, err = run("--port", ts.port("submission"), "--tls", "--auth", "LOGIN", "--auth-user", "binh@example.gov.vn",
		"--auth-password", testPassword, "--from", "binh@example.gov.vn", "--to", "nobody@nowhere.gov.vn",
		"--header", "From: binh@example.gov.vn", "--header", "Subject: Gui nham")
	if err != nil || !strings.Contains(out, "<-  250") {
		t.Fatalf("submission to another domain not accepted for the queue (err %v):\n%s", err, out)
	}
	binh := ts.imapLogin("binh@example.gov.vn", nil)
	deadline := time.Now().Add(20 * time.Second)
	for {
		msgs := fetchAll(t, binh, "INBOX")
		if len(msgs) == 1 {
			body := string(msgs[0].FindBodySection(&imap.FetchItemBodySection{}))
			for _, want := range []string{"Final-Recipient: rfc822; nobody@nowhere.gov.vn", "Action: failed", "Status: 5.1.2"} {
				if !strings.Contains(body, want) {
					t.Errorf("bounce lacks %q:\n%s", want, body)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no bounce for a domain that does not exist within 20s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestInteropPythonQResync: Python's imaplib caches a mailbox, another session changes it, and a QRESYNC SELECT
// brings the cache back to exactly what the mailbox holds (testdata/qresync.py).
func TestInteropPythonQResync(t *testing.T) {
	python := requireTool(t, "python3")
	ts := startServer(t)
	cmd := exec.Command(python, "testdata/qresync.py")
	cmd.Env = append(os.Environ(),
		"MS_CA="+ts.caFile(), "MS_USER=an@example.gov.vn", "MS_PASSWORD="+testPassword, "MS_IMAPS="+ts.port("imaps"))
	out, err := cmd.CombinedOutput()
	t.Logf("python:\n%s", out)
	if err != nil {
		t.Fatalf("python QRESYNC failed: %v", err)
	}
	if got := strings.Count(string(out), "OK "); got != 4 {
		t.Errorf("%d steps passed, want 4", got)
	}
}
