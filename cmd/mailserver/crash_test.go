package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/message"
	"mailserver/internal/store"
	"mailserver/internal/testnet"
)

// TestKilledServerKeepsEveryAcknowledgedMessage delivers mail to a running server and kills it (SIGKILL, no
// shutdown) in the middle: every message the server answered 250 for must be in the store afterwards, byte for
// byte, and the store must pass its integrity check. Bounded: at most 3,000 messages and 8 seconds of sending.
func TestKilledServerKeepsEveryAcknowledgedMessage(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	mx := testnet.FreeAddr(t)
	cfg := "data_dir = \"data\"\nhostname = \"mail.vinhyen.gov.vn\"\n" +
		"[smtp]\nmx = \"" + mx + "\"\nsubmission = \"\"\nsubmissions = \"\"\n" +
		"[imap]\nlisten = \"\"\nlisten_tls = \"\"\n[http]\nlisten = \"\"\nlisten_tls = \"\"\n[metrics]\nlisten = \"\"\n[sieve]\nmanagesieve = \"\"\n[dns]\nsystem = false\n"
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command(binary, "--config", e.config, "serve")
	srv.Stdout, srv.Stderr = io.Discard, io.Discard
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	gone := false
	defer func() {
		if !gone {
			srv.Process.Kill()
			<-exited
		}
	}()
	testnet.WaitListening(t, mx, 20*time.Second)

	// Four connections, so that the kill lands while other messages are in DATA or in their commit.
	const senders = 4
	acked := make(chan int, 3000)
	var wg sync.WaitGroup
	stop := time.Now().Add(8 * time.Second)
	for w := range senders {
		wg.Go(func() {
			c, err := gosmtp.Dial(mx)
			if err != nil {
				return
			}
			defer c.Close()
			for i := 0; i < 3000/senders && time.Now().Before(stop); i++ {
				n := w*10000 + i
				if err := c.SendMail("x@other.gov.vn", []string{userAn}, strings.NewReader(crashMessage(n))); err != nil {
					return // the server is gone
				}
				acked <- n
			}
		})
	}
	go func() {
		wg.Wait()
		close(acked)
	}()
	// Kill it once a good number of messages are acknowledged, in the middle of the stream.
	var got []int
	for n := range acked {
		got = append(got, n)
		if len(got) == 200 {
			if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	<-exited
	gone = true
	if len(got) < 200 {
		t.Fatalf("only %d messages acknowledged before the server stopped by itself", len(got))
	}
	t.Logf("%d messages acknowledged before the kill took effect", len(got))

	st, err := store.Open(e.cfg.DBPath(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		t.Fatalf("store after SIGKILL:\n%v", err)
	}
	stored := storedMessages(t, st, userAn)
	for _, n := range got {
		body, ok := stored[fmt.Sprintf("<crash-%d@other.gov.vn>", n)]
		if !ok {
			t.Fatalf("message %d was acknowledged with 250 but is not in the store", n)
		}
		if !bytes.HasSuffix(body, []byte(crashMessage(n))) {
			t.Fatalf("message %d is not stored byte for byte", n)
		}
	}
}

func crashMessage(n int) string {
	return fmt.Sprintf("From: x@other.gov.vn\r\nTo: %s\r\nSubject: Báo cáo số %d\r\nMessage-ID: <crash-%d@other.gov.vn>\r\n"+
		"Date: Thu, 26 Nov 2026 09:00:00 +0700\r\n\r\nNội dung %d.\r\n", userAn, n, n, n)
}

// storedMessages returns the account's INBOX messages (trace lines and body) by Message-ID.
func storedMessages(t *testing.T, st *store.Store, address string) map[string][]byte {
	t.Helper()
	a, err := st.Account(address)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := st.Mailbox(a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	uids, err := st.UIDs(inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := st.Messages(inbox.ID, uids, store.FetchOptions{Meta: true})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, m := range msgs {
		meta, err := message.DecodeMeta(m.Meta)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, m.BodySize)
		if _, err := st.Body(m.Body, m.BodySize).ReadAt(body, 0); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		out["<"+strings.Trim(meta.Envelope.MessageID, "<>")+">"] = append(m.Trace, body...)
	}
	return out
}

// TestKilledServerKeepsEveryQueuedMessage submits mail for another agency whose server does not answer, and kills
// the sender (SIGKILL) in the middle: every message acknowledged with 250 must be in the outbound queue afterwards,
// byte for byte, for every recipient. Bounded: at most 1,000 messages and 8 seconds of sending.
func TestKilledServerKeepsEveryQueuedMessage(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	sub, closed := testnet.FreeAddr(t), testnet.FreeAddr(t) // nothing listens on closed: every attempt fails and is retried
	cfg := "data_dir = \"data\"\nhostname = \"mail.vinhyen.gov.vn\"\n" +
		"[smtp]\nmx = \"\"\nsubmission = \"" + sub + "\"\nsubmissions = \"\"\nallow_insecure_auth = true\n" +
		"[imap]\nlisten = \"\"\nlisten_tls = \"\"\n[http]\nlisten = \"\"\nlisten_tls = \"\"\n[metrics]\nlisten = \"\"\n[sieve]\nmanagesieve = \"\"\n" +
		"[[route]]\ndomain = \"*.gov.vn\"\nhost = \"" + closed + "\"\n[dns]\nsystem = false\n"
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command(binary, "--config", e.config, "serve")
	srv.Stdout, srv.Stderr = io.Discard, io.Discard
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	gone := false
	defer func() {
		if !gone {
			srv.Process.Kill()
			<-exited
		}
	}()
	testnet.WaitListening(t, sub, 20*time.Second)

	const senders = 4
	acked := make(chan int, 1000)
	var wg sync.WaitGroup
	for w := range senders {
		wg.Go(func() {
			c, err := gosmtp.Dial(sub)
			if err != nil {
				return
			}
			defer c.Close()
			if err := c.Auth(sasl.NewPlainClient("", userAn, goodPassword)); err != nil {
				t.Errorf("auth: %v", err)
				return
			}
			// The sending window starts after the login: on a loaded machine argon2id alone can take seconds.
			stop := time.Now().Add(8 * time.Second)
			for i := 0; i < 1000/senders && time.Now().Before(stop); i++ {
				n := w*10000 + i
				if err := c.SendMail(userAn, queuedRecipients, strings.NewReader(queuedMessage(n))); err != nil {
					return // the server is gone
				}
				acked <- n
			}
		})
	}
	go func() {
		wg.Wait()
		close(acked)
	}()
	var got []int
	for n := range acked {
		got = append(got, n)
		if len(got) == 100 {
			srv.Process.Signal(syscall.SIGKILL)
		}
	}
	if len(got) < 100 {
		t.Fatalf("only %d messages acknowledged", len(got))
	}
	<-exited
	gone = true
	t.Logf("%d messages acknowledged before the kill took effect", len(got))

	st, err := store.Open(e.cfg.DBPath(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		t.Fatalf("store after SIGKILL:\n%v", err)
	}
	queued, err := st.QueuedMessages()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]store.QueuedMessage{}
	for _, m := range queued {
		body, err := st.QueuedBody(m.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range got {
			if bytes.HasSuffix(body, []byte(queuedMessage(n))) {
				byID[fmt.Sprint(n)] = m
			}
		}
	}
	for _, n := range got {
		m, ok := byID[fmt.Sprint(n)]
		if !ok {
			t.Fatalf("message %d was acknowledged with 250 but is not in the queue byte for byte", n)
		}
		if len(m.Pending()) != len(queuedRecipients) {
			t.Fatalf("message %d has %d pending recipients, want %d", n, len(m.Pending()), len(queuedRecipients))
		}
	}
}

var queuedRecipients = []string{"chanh.vp@bo-noi-vu.gov.vn", "vanthu@quangninh.gov.vn"}

func queuedMessage(n int) string {
	return fmt.Sprintf("From: %s\r\nTo: chanh.vp@bo-noi-vu.gov.vn\r\nSubject: Công văn số %d\r\n"+
		"Message-ID: <queued-%d@vinhyen.gov.vn>\r\nDate: Thu, 26 Nov 2026 09:00:00 +0700\r\n\r\nNội dung %d.\r\n", userAn, n, n, n)
}
