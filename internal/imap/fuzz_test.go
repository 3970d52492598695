package imap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// fuzzRunBound bounds one input's connection: the server must have answered it and closed the connection by then.
// Inputs are a few KiB of commands against three small messages, so only a hang comes near it.
const fuzzRunBound = 10 * time.Second

// FuzzIMAPSession sends arbitrary client bytes over one connection to the real server (the library server, the
// session, the store), logged in if the input says LOGIN with the right password, then ends the
// client's side of the connection. The server must not panic nor fail unexpectedly (the library recovers a
// session's panic and logs it, so the log is watched: faultWatch), must end the connection within fuzzRunBound,
// must still greet, log in and select on a fresh connection, and must leave the store's invariants intact
// (startTestServer checks them).
//
// The server may refuse or disconnect: go-imap v2.0.0-beta.8 answered some malformed commands NO [SERVERBUG] and
// could then read the rest of the line as commands or disconnect (DESIGN.md section 9). third_party/go-imap
// PATCHES.md fixes a literal over 4 KiB outside APPEND, lines over 50 KiB, numbers out of range in sets, deep
// parentheses and names that are not modified UTF-7; others (a bad APPEND date, a bad AUTHENTICATE
// response) are the library's, logged as its warnings. The seed corpus, real command
// sequences, is in testdata/fuzz/FuzzIMAPSession.
func FuzzIMAPSession(f *testing.F) {
	f.Fuzz(func(t *testing.T, input []byte) {
		watch := &faultWatch{}
		ts := newFuzzServer(t, func(c *testConfig) { c.opts.Logger = slog.New(watch) })
		if transcript, err := runClientBytes(ts.addr, input); err != nil {
			t.Fatalf("%v\ninput: %q\nserver's last words: %q", err, input, transcript)
		}
		if fault := watch.fault(); fault != "" {
			t.Fatalf("the server logged a fault: %s\ninput: %q", fault, input)
		}
		rc := dialRaw(t, ts.addr)
		rc.ok("LOGIN %s %q", testUser, testPassword)
		rc.ok("SELECT INBOX")
	})
}

// newFuzzServer starts a server on a store in t.TempDir() that holds what fillFuzzStore puts there: a copy of
// fuzzStoreFile, which is much quicker than delivering the messages again for every input.
func newFuzzServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	file, err := fuzzStoreFile()
	if err != nil {
		t.Fatal(err)
	}
	return serverOnStoreFile(t, file, opts...)
}

// serverOnStoreFile starts a server on a copy of a store file's content, logged in as testUser.
func serverOnStoreFile(t *testing.T, file []byte, opts ...serverOption) *testServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mail.db")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := st.Account(testUser)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return startTestServer(t, st, acct, opts...)
}

// fuzzStoreFile is the content of a store file as fillFuzzStore leaves it, made once per process.
var fuzzStoreFile = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "imapfuzz")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "mail.db")
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	if err := fillFuzzStore(st); err != nil {
		st.Close()
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
})

// fillFuzzStore adds testUser's account with fuzzMessages in its INBOX, and two shared mailboxes holding the first
// of them: the clerk office's (sharedAddr), which testUser may change, and an archive it may only read.
func fillFuzzStore(st *store.Store) error {
	if err := st.AddDomain("example.gov.vn"); err != nil {
		return err
	}
	if _, err := st.AddAccount(store.Account{Address: testUser, Name: "Nguyễn Văn An"}); err != nil {
		return err
	}
	if err := deliverEach(st, testUser, fuzzMessages()); err != nil {
		return err
	}
	for _, shared := range []struct {
		address string
		rights  store.Rights
	}{{sharedAddr, store.RightRead | store.RightWrite}, {"luutru@example.gov.vn", store.RightRead}} {
		if _, err := st.AddShared(store.Account{Address: shared.address, Name: "Văn thư"}); err != nil {
			return err
		}
		if err := st.SetGrant(shared.address, testUser, shared.rights); err != nil {
			return err
		}
		if err := deliverEach(st, shared.address, fuzzMessages()[:1]); err != nil {
			return err
		}
	}
	return nil
}

// fuzzMessages are plain text, multipart with an attachment, and a forwarded message inside a multipart, so that
// section numbers down to 2.1.2 exist.
func fuzzMessages() [][]byte {
	return [][]byte{
		[]byte("From: vanthu@example.gov.vn\r\nTo: an@example.gov.vn\r\nSubject: =?UTF-8?Q?C=C3=B4ng_v=C4=83n?=\r\n" +
			"Date: Mon, 02 Feb 2026 08:00:00 +0700\r\nMessage-ID: <cv1@example.gov.vn>\r\n\r\nCông văn đến số 1.\r\n"),
		reportMessage(),
		[]byte("From: binh@example.gov.vn\r\nTo: an@example.gov.vn\r\nSubject: Fwd: =?UTF-8?B?QsOhbyBjw6Fv?=\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\n" +
			"Xem thư dưới.\r\n--a\r\nContent-Type: message/rfc822\r\n\r\nFrom: lan@example.gov.vn\r\nSubject: Gốc\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; " +
			"charset=utf-8\r\n\r\nNội dung.\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Nội dung.</p>\r\n" +
			"--b--\r\n--a--\r\n"),
	}
}

// deliverEach delivers each message to the INBOX of address, as SMTP delivery would.
func deliverEach(st *store.Store, address string, messages [][]byte) error {
	acct, err := st.Account(address)
	if err != nil {
		return err
	}
	for _, raw := range messages {
		p := message.Parse(raw)
		if _, err := st.Deliver(store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText()},
			[]store.Copy{{AccountID: acct.ID}}); err != nil {
			return fmt.Errorf("deliver to %s: %w", address, err)
		}
	}
	return nil
}

// runClientBytes writes input on a new connection to addr, reading whatever the server says meanwhile, then ends
// the client's side of the connection and waits for the server to close its side. It returns the end of what the
// server said, and an error if the server did not close the connection within fuzzRunBound.
func runClientBytes(addr string, input []byte) (transcript string, err error) {
	conn, err := net.DialTimeout("tcp", addr, fuzzRunBound)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(fuzzRunBound))
	tail := &tailBuffer{max: 2048}
	read := make(chan error, 1)
	go func() {
		_, err := io.Copy(tail, conn)
		read <- err
	}()
	conn.Write(input) // the server may have closed the connection already: that is allowed
	conn.(*net.TCPConn).CloseWrite()
	err = <-read
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return tail.String(), errors.New("the server did not end the connection in time after the input ended")
	}
	return tail.String(), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = b.buf[len(b.buf)-b.max:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return string(b.buf) }

// faultWatch is a log handler that keeps the first record meaning a fault of ours: a panic, which the library
// recovers in a session and logs ("panic handling command", "panic idling") instead of crashing, or an error this
// package logs (an unexpected failure answered NO [SERVERBUG]). The library's own failures are logged as warnings.
type faultWatch struct {
	mu    sync.Mutex
	first string
}

func (w *faultWatch) Enabled(context.Context, slog.Level) bool { return true }

func (w *faultWatch) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelError && !strings.Contains(strings.ToLower(r.Message), "panic") {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.first == "" {
		w.first = r.Message
		r.Attrs(func(a slog.Attr) bool {
			w.first += " " + a.String()
			return true
		})
	}
	return nil
}

func (w *faultWatch) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *faultWatch) WithGroup(string) slog.Handler      { return w }

func (w *faultWatch) fault() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first
}
