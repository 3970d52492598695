package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/testnet"
)

// agency is one mailserver process serving one domain, as a province or ministry would run it.
type agency struct {
	t       *testing.T
	e       *env
	domain  string
	user    string // a staff account
	mx      string
	subs    string // submissions (implicit TLS)
	imaps   string
	cmd     *exec.Cmd
	exited  chan error
	log     *bytes.Buffer
	clientT *tls.Config
}

// newAgency provisions a domain and one user offline and writes a configuration routing peerDomain to peerMX.
// zone is the records file both agencies share: the "public DNS" of the test.
func newAgency(t *testing.T, domain, peerDomain, peerMX, mx, zone string) *agency {
	t.Helper()
	e := newEnv(t)
	a := &agency{t: t, e: e, domain: domain, user: "vanthu@" + domain, mx: mx, subs: testnet.FreeAddr(t), imaps: testnet.FreeAddr(t),
		clientT: &tls.Config{InsecureSkipVerify: true}}
	cfg := fmt.Sprintf(`data_dir = "data"
hostname = "mail.%s"
[smtp]
mx = %q
submission = ""
submissions = %q
[imap]
listen = ""
listen_tls = %q
[http]
listen = ""
listen_tls = ""
[metrics]
listen = ""
[sieve]
managesieve = ""
[[route]]
domain = %q
host = %q
tls = "required"
[queue]
retry = ["1s"]
[dns]
records = %q
system = false
`, domain, a.mx, a.subs, a.imaps, peerDomain, peerMX, zone)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok("", "domain", "add", domain, "--ed25519")
	e.ok(goodPassword+"\n", "user", "add", a.user, "--name", "Văn thư "+domain)
	return a
}

// start runs the server and waits until its ports answer.
func (a *agency) start() {
	a.t.Helper()
	a.log = &bytes.Buffer{}
	a.cmd = exec.Command(binary, "--config", a.e.config, "serve")
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan error) { exited <- cmd.Wait() }(a.cmd, a.exited)
	a.t.Cleanup(a.stop)
	for _, addr := range []string{a.mx, a.subs, a.imaps} {
		a.waitListening(addr, 20*time.Second)
	}
	waitForSocket(a.t, a.e)
}

// waitListening waits until addr answers, and fails with the server's log at once if the server has exited (a
// port taken meanwhile by another test's process, say), or after the wait, having killed it so its log can be read.
func (a *agency) waitListening(addr string, within time.Duration) {
	a.t.Helper()
	exited := func() error {
		select {
		case exitErr := <-a.exited:
			a.exited <- exitErr // for stop
			return fmt.Errorf("the %s server exited (%v)", a.domain, exitErr)
		default:
			return nil
		}
	}
	err := testnet.AwaitListening(addr, within, exited)
	if err == nil {
		return
	}
	if exited() == nil {
		_ = a.cmd.Process.Kill()
		exitErr := <-a.exited
		a.exited <- exitErr
	}
	a.t.Fatalf("%v; the %s server logged:\n%s", err, a.domain, a.log)
}

// stop ends the server with SIGTERM, as an init system would, and waits for it.
func (a *agency) stop() {
	if a.cmd == nil {
		return
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(20 * time.Second):
		a.cmd.Process.Kill()
		<-a.exited
		a.t.Errorf("%s did not stop within 20s", a.domain)
	}
	a.cmd = nil
}

// send submits a message as the agency's user, over implicit TLS with AUTH.
func (a *agency) send(to []string, msg string) error {
	a.t.Helper()
	c, err := gosmtp.DialTLS(a.subs, a.clientT)
	if err != nil {
		a.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		a.t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", a.user, goodPassword)); err != nil {
		a.t.Fatalf("auth %s: %v", a.user, err)
	}
	return c.SendMail(a.user, to, strings.NewReader(msg))
}

// waitForMessages reads the user's INBOX over IMAP until it holds n messages (at most 30 s) and returns them.
func (a *agency) waitForMessages(n int) []string {
	a.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs := a.inbox()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("%s has %d messages after 30s, want %d; server log:\n%s", a.user, len(msgs), n, a.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (a *agency) inbox() []string {
	a.t.Helper()
	c, err := imapclient.DialTLS(a.imaps, &imapclient.Options{TLSConfig: a.clientT})
	if err != nil {
		a.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(a.user, goodPassword).Wait(); err != nil {
		a.t.Fatal(err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		a.t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	msgs, err := c.Fetch(imap.SeqSetNum(seqRange(sel.NumMessages)...), &imap.FetchOptions{
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		a.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.FindBodySection(&imap.FetchItemBodySection{})))
	}
	return out
}

func seqRange(n uint32) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(i + 1)
	}
	return out
}

// waitForSocket waits until the CLI reaches the running server (the control socket answers).
func waitForSocket(t testing.TB, e *env) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(e.cfg.SocketPath()); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the control socket never appeared")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// header returns the value of the first header field named name in msg ("" if none), unfolded.
func header(msg, name string) string {
	head, _, _ := strings.Cut(msg, "\r\n\r\n")
	var value string
	found := false
	for _, line := range strings.Split(head, "\r\n") {
		switch {
		case found && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")):
			value += " " + strings.TrimSpace(line)
		case found:
			return value
		case len(line) > len(name) && strings.EqualFold(line[:len(name)+1], name+":"):
			found, value = true, strings.TrimSpace(line[len(name)+1:])
		}
	}
	return value
}

// TestGateway runs two agencies, a.gov.vn and b.gov.vn, as two mailserver processes that know each other through
// static routes and a shared DNS records file made of what 'mailserver domain dns' prints.
func TestGateway(t *testing.T) {
	dir := t.TempDir()
	zone := filepath.Join(dir, "dns-records.zone")
	mxA, mxB := testnet.FreeAddr(t), testnet.FreeAddr(t)
	a := newAgency(t, "a.gov.vn", "b.gov.vn", mxB, mxA, zone)
	b := newAgency(t, "b.gov.vn", "a.gov.vn", mxA, mxB, zone)
	records := a.e.ok("", "domain", "dns", "a.gov.vn") + b.e.ok("", "domain", "dns", "b.gov.vn") +
		"mail.a.gov.vn. IN A 127.0.0.1\nmail.b.gov.vn. IN A 127.0.0.1\n"
	if err := os.WriteFile(zone, []byte(records), 0o600); err != nil {
		t.Fatal(err)
	}
	a.start()
	b.start()

	t.Run("both ways, authenticated", func(t *testing.T) {
		toB := "From: Văn thư A <vanthu@a.gov.vn>\r\nTo: vanthu@b.gov.vn\r\nSubject: =?UTF-8?B?" +
			"Q8O0bmcgdsSDbiBz4buRIDEy?=\r\nMessage-ID: <cv12@a.gov.vn>\r\nDate: Thu, 26 Nov 2026 09:00:00 +0700\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKính gửi Văn phòng B.\r\n"
		if err := a.send([]string{b.user}, toB); err != nil {
			t.Fatal(err)
		}
		got := b.waitForMessages(1)[0]
		if !strings.HasSuffix(got, toB) {
			t.Errorf("B received\n%s\nwhich does not end with the bytes A's user sent", got)
		}
		results := header(got, "Authentication-Results")
		for _, want := range []string{"mail.b.gov.vn;", "spf=pass", "dkim=pass header.d=a.gov.vn", "dmarc=pass header.from=a.gov.vn"} {
			if !strings.Contains(results, want) {
				t.Errorf("Authentication-Results %q lacks %q", results, want)
			}
		}
		if n := strings.Count(got, "DKIM-Signature:"); n != 2 {
			t.Errorf("%d DKIM signatures, want 2 (RSA and Ed25519)", n)
		}

		reply := "From: vanthu@b.gov.vn\r\nTo: vanthu@a.gov.vn\r\nSubject: Re: 12\r\nIn-Reply-To: <cv12@a.gov.vn>\r\n\r\nĐã nhận.\r\n"
		if err := b.send([]string{a.user}, reply); err != nil {
			t.Fatal(err)
		}
		back := a.waitForMessages(1)[0]
		if !strings.HasSuffix(back, reply) || !strings.Contains(header(back, "Authentication-Results"), "dmarc=pass header.from=b.gov.vn") {
			t.Errorf("A received\n%s", back)
		}
	})

	t.Run("permanent refusal bounces", func(t *testing.T) {
		before := len(a.inbox())
		msg := "From: vanthu@a.gov.vn\r\nTo: khongco@b.gov.vn\r\nSubject: Gửi nhầm\r\n\r\nx\r\n"
		if err := a.send([]string{"khongco@b.gov.vn"}, msg); err != nil {
			t.Fatal(err) // accepted for the queue: only B knows the address does not exist
		}
		bounce := a.waitForMessages(before + 1)[before]
		for _, want := range []string{"Return-Path: <>", "multipart/report", "report-type=delivery-status",
			"Final-Recipient: rfc822; khongco@b.gov.vn", "Action: failed", "Status: 5.1.1"} {
			if !strings.Contains(bounce, want) {
				t.Errorf("bounce lacks %q:\n%s", want, bounce)
			}
		}
		if out := a.e.ok("", "queue", "list"); out != "The queue is empty.\n" {
			t.Errorf("queue after the bounce: %q", out)
		}
	})

	t.Run("forgery refused", func(t *testing.T) {
		// From another loopback address, which the SPF records do not list, claiming B's own domain and then A's.
		for _, from := range []string{"giamdoc@b.gov.vn", "vanthu@a.gov.vn"} {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
			conn, err := d.Dial("tcp", b.mx)
			if err != nil {
				t.Fatal(err)
			}
			c := gosmtp.NewClient(conn)
			if err := c.Hello("forger.example"); err != nil {
				t.Fatal(err)
			}
			msg := "From: " + from + "\r\nTo: vanthu@b.gov.vn\r\nSubject: Khẩn\r\n\r\nChuyển tiền ngay.\r\n"
			err = c.SendMail(from, []string{b.user}, strings.NewReader(msg))
			c.Close()
			if se, ok := err.(*gosmtp.SMTPError); !ok || se.Code != 550 || se.EnhancedCode != (gosmtp.EnhancedCode{5, 7, 1}) {
				t.Errorf("forged mail from %s: %v, want 550 5.7.1", from, err)
			}
		}
		if n := len(b.inbox()); n != 1 {
			t.Errorf("B's user has %d messages, want only A's genuine one", n)
		}
	})

	t.Run("queued while the receiver is down, across a sender restart", func(t *testing.T) {
		b.stop()
		msg := "From: vanthu@a.gov.vn\r\nTo: vanthu@b.gov.vn\r\nSubject: Báo cáo tuần\r\n\r\nGửi lúc B tắt máy.\r\n"
		if err := a.send([]string{b.user}, msg); err != nil {
			t.Fatal(err)
		}
		waitForQueue(t, a.e, "4.4.1") // tried, connection refused, waiting for a retry
		a.stop()
		if out := a.e.ok("", "queue", "list"); !strings.Contains(out, "vanthu@b.gov.vn") {
			t.Fatalf("queue of the stopped sender:\n%s", out)
		}
		a.start()
		waitForQueue(t, a.e, "4.4.1") // still retrying after the restart
		b.start()
		got := b.waitForMessages(2)[1]
		if !strings.HasSuffix(got, msg) {
			t.Errorf("delivered after the restarts:\n%s", got)
		}
		deadline := time.Now().Add(10 * time.Second)
		for a.e.ok("", "queue", "list") != "The queue is empty.\n" {
			if time.Now().After(deadline) {
				t.Fatalf("the queue is not empty after delivery:\n%s", a.e.ok("", "queue", "list"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	a.stop()
	b.stop()
	for _, x := range []*agency{a, b} {
		if out := x.e.ok("", "check"); out != "store is consistent\n" {
			t.Errorf("%s check: %q", x.domain, out)
		}
	}
}

// waitForQueue waits (at most 20 s) until 'queue list' shows a message whose last reply carries want.
func waitForQueue(t *testing.T, e *env, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := e.ok("", "queue", "list")
		if strings.Contains(out, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue list never showed %q:\n%s", want, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
