package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/store"
)

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// vietnameseReport is a multipart message with a Vietnamese subject and an attachment with a Vietnamese file name.
func vietnameseReport(from string, to []string) string {
	subject := mime.QEncoding.Encode("utf-8", "Báo cáo tổng kết công tác năm 2026")
	attachment := strings.Repeat("Dữ liệu báo cáo quý IV; số liệu chi tiết từng phường, xã.\r\n", 200)
	return "From: " + from + "\r\n" +
		"To: " + strings.Join(to, ", ") + "\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Thu, 26 Nov 2026 09:00:00 +0700\r\n" +
		"Message-ID: <bao-cao-2026@example.gov.vn>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"ranh-gioi\"\r\n" +
		"\r\n" +
		"--ranh-gioi\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		"Kính gửi các đồng chí,\r\nXin gửi báo cáo tổng kết.\r\n" +
		"--ranh-gioi\r\n" +
		"Content-Type: text/plain; charset=utf-8; name*=utf-8''B%C3%A1o%20c%C3%A1o%20qu%C3%BD%20IV.txt\r\n" +
		"Content-Disposition: attachment; filename*=utf-8''B%C3%A1o%20c%C3%A1o%20qu%C3%BD%20IV.txt\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		attachment +
		"--ranh-gioi--\r\n"
}

// fetchAll returns BODY[] of every message in the mailbox.
func fetchAll(t *testing.T, c *imapclient.Client, mailbox string) []*imapclient.FetchMessageBuffer {
	t.Helper()
	if _, err := c.Select(mailbox, nil).Wait(); err != nil {
		t.Fatalf("select %s: %v", mailbox, err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		t.Fatalf("fetch %s: %v", mailbox, err)
	}
	return msgs
}

func TestSubmissionToSeveralUsersReadBackByteForByte(t *testing.T) {
	ts := startServer(t)
	rcpts := []string{"binh@example.gov.vn", "chi@example.gov.vn"}
	raw := vietnameseReport("an@example.gov.vn", rcpts)
	if err := ts.submit("an@example.gov.vn", rcpts, raw); err != nil {
		t.Fatalf("submit: %v", err)
	}
	for _, user := range rcpts {
		c := ts.imapLogin(user, nil)
		msgs := fetchAll(t, c, "INBOX")
		if len(msgs) != 1 {
			t.Fatalf("%s has %d messages, want 1", user, len(msgs))
		}
		m := msgs[0]
		body := m.FindBodySection(&imap.FetchItemBodySection{})
		// The stored message is the trace header lines this server added, then exactly the submitted bytes.
		if !bytes.HasSuffix(body, []byte(raw)) {
			t.Fatalf("%s: fetched message does not end with the submitted bytes", user)
		}
		trace := string(body[:len(body)-len(raw)])
		for _, want := range []string{"Received: ", "for <" + user + ">", "Delivered-To: " + user} {
			if !strings.Contains(trace, want) {
				t.Errorf("%s: trace headers lack %q:\n%s", user, want, trace)
			}
		}
		if got := m.Envelope.Subject; got != "Báo cáo tổng kết công tác năm 2026" {
			t.Errorf("%s: envelope subject %q", user, got)
		}
		mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
		if !ok || len(mp.Children) != 2 {
			t.Fatalf("%s: body structure %#v", user, m.BodyStructure)
		}
		att := mp.Children[1].(*imap.BodyStructureSinglePart)
		if name := att.Filename(); name != "Báo cáo quý IV.txt" {
			t.Errorf("%s: attachment file name %q", user, name)
		}
	}
	// One body shared by both recipients.
	wantStoredOnce(t, ts, len(rcpts), len(raw))
}

// wantStoredOnce checks that the store holds exactly one body, shared by copies entries, in the chunks its size
// needs: a message to several people is stored once, not once per person.
func wantStoredOnce(t *testing.T, ts *testServer, copies int, size int) {
	t.Helper()
	st, err := ts.Store().Stats()
	if err != nil {
		t.Fatal(err)
	}
	chunks := (size + store.ChunkSize - 1) / store.ChunkSize
	if st.Bodies != 1 || st.BodyRefs != uint64(copies) || st.Chunks != chunks {
		t.Errorf("store holds %d bodies with %d references in %d chunks; want 1 body, %d references, %d chunks",
			st.Bodies, st.BodyRefs, st.Chunks, copies, chunks)
	}
}

func TestDraftSavedWithAppend(t *testing.T) {
	ts := startServer(t)
	c := ts.imapLogin("an@example.gov.vn", nil)
	draft := "From: an@example.gov.vn\r\nTo: binh@example.gov.vn\r\nSubject: =?utf-8?B?" +
		"ROG7sSB0aOG6o28gY8O0bmcgdsSDbg==?=\r\n\r\nNội dung dự thảo.\r\n"
	cmd := c.Append("Drafts", int64(len(draft)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDraft, imap.FlagSeen}})
	if _, err := cmd.Write([]byte(draft)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if data.UID != 1 || data.UIDValidity == 0 {
		t.Errorf("APPENDUID %+v", data)
	}
	msgs := fetchAll(t, c, "Drafts")
	if len(msgs) != 1 || string(msgs[0].FindBodySection(&imap.FetchItemBodySection{})) != draft {
		t.Fatalf("draft not read back byte for byte")
	}
	if !hasFlag(msgs[0].Flags, imap.FlagDraft) || msgs[0].Envelope.Subject != "Dự thảo công văn" {
		t.Errorf("flags %v subject %q", msgs[0].Flags, msgs[0].Envelope.Subject)
	}
}

func hasFlag(flags []imap.Flag, f imap.Flag) bool {
	for _, have := range flags {
		if strings.EqualFold(string(have), string(f)) {
			return true
		}
	}
	return false
}

func TestFlagsSurviveRestart(t *testing.T) {
	cfg := newTestConfig(t)
	ts := startServerWith(t, cfg)
	if err := ts.Admin().AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	for _, u := range testUsers[:2] {
		if _, err := ts.Admin().AddUser(adminUser(u)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.submit("an@example.gov.vn", []string{"binh@example.gov.vn"}, vietnameseReport("an@example.gov.vn", []string{"binh@example.gov.vn"})); err != nil {
		t.Fatal(err)
	}
	c := ts.imapLogin("binh@example.gov.vn", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged, imap.FlagSeen, "$DaXuLy"}}
	if err := c.Store(imap.SeqSetNum(1), store, nil).Close(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	ts.stop()

	cfg2 := cfg // same data folder, new ports
	ts2 := startServerWith(t, cfg2)
	c2 := ts2.imapLogin("binh@example.gov.vn", nil)
	msgs := fetchAll(t, c2, "INBOX")
	if len(msgs) != 1 {
		t.Fatalf("%d messages after restart", len(msgs))
	}
	for _, f := range []imap.Flag{imap.FlagFlagged, imap.FlagSeen, "$DaXuLy"} {
		if !hasFlag(msgs[0].Flags, f) {
			t.Errorf("flag %s lost across restart: %v", f, msgs[0].Flags)
		}
	}
}

func TestIdleSeesNewMail(t *testing.T) {
	ts := startServer(t)
	exists := make(chan uint32, 10)
	c := ts.imapLogin("binh@example.gov.vn", &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					exists <- *data.NumMessages
				}
			},
		},
	})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	raw := vietnameseReport("an@example.gov.vn", []string{"binh@example.gov.vn"})
	sent := time.Now()
	if err := ts.submit("an@example.gov.vn", []string{"binh@example.gov.vn"}, raw); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-exists:
		if n != 1 {
			t.Errorf("EXISTS %d, want 1", n)
		}
		t.Logf("IDLE saw the message %v after submission started", time.Since(sent))
	case <-time.After(10 * time.Second):
		t.Fatal("IDLE did not report the new message")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	msgs := fetchAll(t, c, "INBOX")
	if len(msgs) != 1 || !bytes.HasSuffix(msgs[0].FindBodySection(&imap.FetchItemBodySection{}), []byte(raw)) {
		t.Fatal("the message IDLE announced is not the one sent")
	}
}

// smtpCode extracts the reply code and enhanced code of an SMTP error.
func smtpCode(err error) string {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return fmt.Sprintf("%d %d.%d.%d", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	return fmt.Sprintf("not an SMTP error: %v", err)
}

func TestRefusedLogins(t *testing.T) {
	ts := startServer(t)

	t.Run("wrong password on submission", func(t *testing.T) {
		c, err := gosmtp.DialStartTLS(ts.Addr("submission"), ts.clientTLS())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = c.Auth(sasl.NewPlainClient("", "an@example.gov.vn", "sai-mat-khau"))
		if got := smtpCode(err); got != "535 5.7.8" {
			t.Errorf("got %s, want 535 5.7.8", got)
		}
	})
	t.Run("wrong password on IMAP", func(t *testing.T) {
		c, err := imapclient.DialTLS(ts.Addr("imaps"), &imapclient.Options{TLSConfig: ts.clientTLS()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = c.Login("an@example.gov.vn", "sai-mat-khau").Wait()
		var ie *imap.Error
		if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeAuthenticationFailed {
			t.Errorf("got %v, want NO [AUTHENTICATIONFAILED]", err)
		}
	})
	t.Run("AUTH before TLS on submission", func(t *testing.T) {
		c, err := gosmtp.Dial(ts.Addr("submission"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("client.example"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := c.Extension("AUTH"); ok {
			t.Error("AUTH offered before STARTTLS")
		}
		err = c.Auth(sasl.NewPlainClient("", "an@example.gov.vn", testPassword))
		if got := smtpCode(err); got != "523 5.7.10" {
			t.Errorf("AUTH before STARTTLS: got %s, want 523 5.7.10", got)
		}
	})
	t.Run("LOGIN before TLS on IMAP", func(t *testing.T) {
		c, err := imapclient.DialInsecure(ts.Addr("imap"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if !c.Caps().Has(imap.CapLoginDisabled) {
			t.Error("LOGINDISABLED not advertised on a plain-text connection")
		}
		err = c.Login("an@example.gov.vn", testPassword).Wait()
		var ie *imap.Error
		if !errors.As(err, &ie) || ie.Code != imap.ResponseCodePrivacyRequired {
			t.Errorf("LOGIN in plain text: %v, want NO [PRIVACYREQUIRED]", err)
		}
	})
	t.Run("MAIL without AUTH on submission", func(t *testing.T) {
		c, err := gosmtp.DialStartTLS(ts.Addr("submission"), ts.clientTLS())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = c.Mail("an@example.gov.vn", nil)
		if got := smtpCode(err); got != "530 5.7.0" {
			t.Errorf("got %s, want 530 5.7.0", got)
		}
	})
}

func TestRefusedMessages(t *testing.T) {
	ts := startServer(t)
	report := vietnameseReport("an@example.gov.vn", []string{"binh@example.gov.vn"})
	t.Run("relay through MX", func(t *testing.T) {
		err := sendMX(ts, "someone@other.example", []string{"victim@elsewhere.example"}, report)
		if got := smtpCode(err); got != "554 5.7.1" {
			t.Errorf("got %s, want 554 5.7.1", got)
		}
	})
	t.Run("unknown local recipient", func(t *testing.T) {
		err := sendMX(ts, "someone@other.example", []string{"khongco@example.gov.vn"}, report)
		if got := smtpCode(err); got != "550 5.1.1" {
			t.Errorf("got %s, want 550 5.1.1", got)
		}
	})
	t.Run("spoofed envelope sender", func(t *testing.T) {
		c := authedSubmission(t, ts, "an@example.gov.vn")
		err := c.Mail("binh@example.gov.vn", nil)
		if got := smtpCode(err); got != "553 5.7.1" {
			t.Errorf("got %s, want 553 5.7.1", got)
		}
	})
	t.Run("spoofed From header", func(t *testing.T) {
		c := authedSubmission(t, ts, "an@example.gov.vn")
		spoof := strings.Replace(report, "From: an@example.gov.vn", "From: binh@example.gov.vn", 1)
		err := c.SendMail("an@example.gov.vn", []string{"chi@example.gov.vn"}, strings.NewReader(spoof))
		if got := smtpCode(err); got != "550 5.7.1" {
			t.Errorf("got %s, want 550 5.7.1", got)
		}
	})
	t.Run("second From header", func(t *testing.T) {
		c := authedSubmission(t, ts, "an@example.gov.vn")
		twoFroms := strings.Replace(report, "From: an@example.gov.vn\r\n", "From: an@example.gov.vn\r\nFrom: binh@example.gov.vn\r\n", 1)
		err := c.SendMail("an@example.gov.vn", []string{"chi@example.gov.vn"}, strings.NewReader(twoFroms))
		if got := smtpCode(err); got != "550 5.7.1" {
			t.Errorf("got %s, want 550 5.7.1", got)
		}
	})
	t.Run("spoofed Sender header", func(t *testing.T) {
		c := authedSubmission(t, ts, "an@example.gov.vn")
		sender := strings.Replace(report, "From: an@example.gov.vn\r\n", "From: an@example.gov.vn\r\nSender: binh@example.gov.vn\r\n", 1)
		err := c.SendMail("an@example.gov.vn", []string{"chi@example.gov.vn"}, strings.NewReader(sender))
		if got := smtpCode(err); got != "550 5.7.1" {
			t.Errorf("got %s, want 550 5.7.1", got)
		}
	})
	t.Run("bare LF in DATA", func(t *testing.T) {
		// go-smtp's client turns LF into CRLF, so this speaks SMTP by hand.
		reply := rawSMTP(t, ts.Addr("mx"), "EHLO mx.other.example", "MAIL FROM:<x@other.example>",
			"RCPT TO:<binh@example.gov.vn>", "DATA", "Subject: x\r\n\r\nline one\nline two\r\n.")
		if !strings.HasPrefix(reply, "550 5.6.0") {
			t.Errorf("bare LF: last reply %q, want 550 5.6.0", reply)
		}
	})
	// Nothing refused above may have been stored.
	c := ts.imapLogin("binh@example.gov.vn", nil)
	if msgs := fetchAll(t, c, "INBOX"); len(msgs) != 0 {
		t.Errorf("refused mail was stored: %d messages", len(msgs))
	}
}

// rawSMTP sends each command line (CRLF appended) and returns the reply to the last one.
func rawSMTP(t *testing.T, addr string, lines ...string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := textproto.NewReader(bufio.NewReader(conn))
	readReply := func() string {
		var last string
		for {
			line, err := r.ReadLine()
			if err != nil {
				t.Fatalf("reading reply: %v", err)
			}
			last = line
			if len(line) < 4 || line[3] != '-' {
				return last
			}
		}
	}
	readReply() // greeting
	var reply string
	for _, l := range lines {
		if _, err := conn.Write([]byte(l + "\r\n")); err != nil {
			t.Fatal(err)
		}
		reply = readReply()
	}
	return reply
}

func authedSubmission(t *testing.T, ts *testServer, user string) *gosmtp.Client {
	t.Helper()
	c, err := gosmtp.DialStartTLS(ts.Addr("submission"), ts.clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Auth(sasl.NewPlainClient("", user, testPassword)); err != nil {
		t.Fatal(err)
	}
	return c
}

// sendMX delivers like another agency's server would: plain SMTP to the MX port, no AUTH.
func sendMX(ts *testServer, from string, rcpts []string, raw string) error {
	c, err := gosmtp.Dial(ts.Addr("mx"))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("mx.other-agency.gov.vn"); err != nil {
		return err
	}
	return c.SendMail(from, rcpts, strings.NewReader(raw))
}

func TestHostileMIMEStoredAndFetched(t *testing.T) {
	ts := startServer(t)
	zeroParts := "From: x@other.example\r\nTo: binh@example.gov.vn\r\nSubject: zero parts\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\nno parts here\r\n--b--\r\n"
	var bomb strings.Builder
	bomb.WriteString("From: x@other.example\r\nTo: binh@example.gov.vn\r\nSubject: bomb\r\n")
	const depth = 3000
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&bomb, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	bomb.WriteString("Content-Type: text/plain\r\n\r\nđáy\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&bomb, "--b%d--\r\n", i)
	}
	for _, raw := range []string{zeroParts, bomb.String()} {
		if err := sendMX(ts, "x@other.example", []string{"binh@example.gov.vn"}, raw); err != nil {
			t.Fatalf("MX refused a hostile but legal message: %v", err)
		}
	}
	c := ts.imapLogin("binh@example.gov.vn", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan []*imapclient.FetchMessageBuffer, 1)
	go func() { done <- fetchAll(t, c, "INBOX") }()
	select {
	case msgs := <-done:
		if len(msgs) != 2 {
			t.Fatalf("%d messages, want 2", len(msgs))
		}
		for i, raw := range []string{zeroParts, bomb.String()} {
			if !bytes.HasSuffix(msgs[i].FindBodySection(&imap.FetchItemBodySection{}), []byte(raw)) {
				t.Errorf("message %d not read back byte for byte", i+1)
			}
			if msgs[i].BodyStructure == nil {
				t.Errorf("message %d has no body structure", i+1)
			}
		}
	case <-ctx.Done():
		t.Fatal("fetching hostile MIME stalled")
	}
}

func TestConnectionsPerIPLimited(t *testing.T) {
	cfg := newTestConfig(t)
	cfg.SMTP.MaxConnectionsPerIP = 2
	ts := startServerWith(t, cfg)
	var clients []*gosmtp.Client
	for i := 0; i < 2; i++ {
		c, err := gosmtp.Dial(ts.Addr("mx"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("client.example"); err != nil {
			t.Fatalf("connection %d within the limit: %v", i+1, err)
		}
		clients = append(clients, c)
	}
	// The budget is per address across the SMTP listeners; go-smtp's client reads the greeting with EHLO.
	third, err := gosmtp.Dial(ts.Addr("submission"))
	if err == nil {
		defer third.Close()
		err = third.Hello("client.example")
	}
	if got := smtpCode(err); got != "421 4.7.0" {
		t.Fatalf("third connection: %s, want 421 4.7.0", got)
	}
	clients[0].Quit()
	// The freed slot is given back once the server has seen the close.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := gosmtp.Dial(ts.Addr("mx"))
		if err == nil {
			err = c.Hello("client.example")
			c.Close()
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not released after QUIT: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFirstStartCreatesDemoAccount(t *testing.T) {
	cfg := newTestConfig(t)
	var out bytes.Buffer
	srv, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Bootstrap: true, Out: &out, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: srv, cfg: cfg, t: t}
	t.Cleanup(ts.stop)
	m := regexp.MustCompile(`Password:\s+(\S+)`).FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), demoAddress) {
		t.Fatalf("first-start message lacks the login:\n%s", out.String())
	}
	c, err := imapclient.DialTLS(ts.Addr("imaps"), &imapclient.Options{TLSConfig: ts.clientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(demoAddress, m[1]).Wait(); err != nil {
		t.Fatalf("the printed demo password does not log in: %v", err)
	}

	// A second start finds the account and prints no new password.
	ts.stop()
	out.Reset()
	again, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Bootstrap: true, Out: &out, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Store().Close()
	if out.Len() != 0 {
		t.Errorf("second start printed:\n%s", out.String())
	}
}

func TestDisablingAnAccountEndsItsSessions(t *testing.T) {
	ts := startServer(t)
	c := ts.imapLogin("an@example.gov.vn", nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	other := ts.imapLogin("binh@example.gov.vn", nil)
	sender := authedSubmission(t, ts, "an@example.gov.vn")

	if err := ts.Admin().Disable("an@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("the disabled account's IMAP session is still open")
	}
	if err := other.Noop().Wait(); err != nil {
		t.Errorf("another account's session was hurt: %v", err)
	}
	err := sender.Mail("an@example.gov.vn", nil)
	if got := smtpCode(err); got != "535 5.7.8" {
		t.Errorf("MAIL on a session of a disabled account: %s, want 535 5.7.8", got)
	}
	// Mail to the disabled account still arrives (disable stops logins, not delivery).
	if err := ts.submit("binh@example.gov.vn", []string{"an@example.gov.vn"},
		vietnameseReport("binh@example.gov.vn", []string{"an@example.gov.vn"})); err != nil {
		t.Errorf("mail to a disabled account: %v", err)
	}
}
