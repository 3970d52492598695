package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/store"
	"mailserver/internal/testnet"
)

// serveOn writes a config with an MX and an IMAPS listener, runs the server binary and waits for it to answer;
// the returned stop ends it with SIGTERM (also at cleanup).
func serveOn(t testing.TB, e *env, mx, imaps string) (stop func()) {
	t.Helper()
	_, stop = serveProcess(t, e, mx, imaps)
	return stop
}

// serveProcess is serveOn that also returns the server's process, for a benchmark that reads its memory.
func serveProcess(t testing.TB, e *env, mx, imaps string) (_ *os.Process, stop func()) {
	t.Helper()
	writeServeConfig(t, e, mx, imaps, "")
	srv, exited := startServer(t, e, io.Discard)
	stop = sync.OnceFunc(func() {
		srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			srv.Process.Kill()
			<-exited
			t.Error("the server did not stop within 20s")
		}
	})
	t.Cleanup(stop)
	testnet.WaitListening(t, mx, 20*time.Second)
	testnet.WaitListening(t, imaps, 20*time.Second)
	waitForSocket(t, e)
	return srv.Process, stop
}

// writeServeConfig writes e's config with an MX and an IMAPS listener and the other listeners off; extra lines go
// at the top level.
func writeServeConfig(t testing.TB, e *env, mx, imaps, extra string) {
	t.Helper()
	cfg := "data_dir = \"data\"\nhostname = \"mail.vinhyen.gov.vn\"\n" + extra +
		"[smtp]\nmx = \"" + mx + "\"\nsubmission = \"\"\nsubmissions = \"\"\n" +
		"[imap]\nlisten = \"\"\nlisten_tls = \"" + imaps + "\"\n[http]\nlisten = \"\"\nlisten_tls = \"\"\n[metrics]\nlisten = \"\"\n[sieve]\nmanagesieve = \"\"\n[dns]\nsystem = false\n"
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startServer runs "mailserver serve" on e's config, its log going to out, and returns it with the channel its
// exit arrives on.
func startServer(t testing.TB, e *env, out io.Writer) (*exec.Cmd, <-chan error) {
	t.Helper()
	srv := exec.Command(binary, "--config", e.config, "serve")
	srv.Stdout, srv.Stderr = out, out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	return srv, exited
}

// ackLog collects the messages the server acknowledged, in order.
type ackLog struct {
	mu    sync.Mutex
	acked []int
}

func (l *ackLog) add(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked = append(l.acked, n)
}

func (l *ackLog) snapshot() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.acked...)
}

// TestBackupWhileDelivering takes a backup while 8 SMTP connections deliver, restores it into a fresh data folder,
// and finds there every message acknowledged (250) before the backup started, byte for byte, in a store that
// passes the check. Bounded: at most 2,400 messages and 20 seconds of sending.
func TestBackupWhileDelivering(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	mx := testnet.FreeAddr(t)
	stopServer := serveOn(t, e, mx, testnet.FreeAddr(t))

	const senders = 8
	var log ackLog
	var wg sync.WaitGroup
	done := make(chan struct{})
	deadline := time.Now().Add(20 * time.Second)
	for w := range senders {
		wg.Go(func() {
			c, err := gosmtp.Dial(mx)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for i := 0; i < 300 && time.Now().Before(deadline); i++ {
				select {
				case <-done:
					return
				default:
				}
				n := w*10000 + i
				if err := c.SendMail("x@other.gov.vn", []string{userAn}, strings.NewReader(crashMessage(n))); err != nil {
					t.Errorf("message %d: %v", n, err)
					return
				}
				log.add(n)
			}
		})
	}
	for len(log.snapshot()) < 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	before := log.snapshot()
	file := filepath.Join(t.TempDir(), "mail-backup.db")
	out := e.ok("", "backup", file)
	during := len(log.snapshot()) - len(before)
	piped := e.run("", "backup", "-")
	close(done)
	wg.Wait()
	stopServer()
	t.Logf("%d messages acknowledged before the backup, %d while it ran: %s", len(before), during, out)
	if !strings.HasPrefix(out, "backup "+file+": ") || !strings.Contains(out, "verified") {
		t.Errorf("backup output: %q", out)
	}
	if piped.code != 0 {
		t.Fatalf("backup -: exit %d, %s", piped.code, piped.stderr)
	}
	pipedFile := filepath.Join(t.TempDir(), "piped.db")
	if err := os.WriteFile(pipedFile, []byte(piped.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.VerifyBackup(pipedFile); err != nil {
		t.Errorf("the bytes of 'backup -' are not a valid store: %v", err)
	}

	if last := e.ok("", "backup", "--last"); !strings.Contains(last, ": -, ") {
		t.Errorf("backup --last: %q, want the piped backup", last)
	}

	fresh := newEnv(t)
	fresh.ok("", "restore", file)
	if got := fresh.ok("", "check"); got != "store is consistent\n" {
		t.Errorf("check after restore: %q", got)
	}
	if last := fresh.ok("", "backup", "--last"); last != "no backup recorded\n" {
		t.Errorf("backup --last in the restored store: %q (the note is written after the snapshot)", last)
	}
	st, err := store.Open(fresh.cfg.DBPath(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored := storedMessages(t, st, userAn)
	for _, n := range before {
		body, ok := stored[fmt.Sprintf("<crash-%d@other.gov.vn>", n)]
		if !ok {
			t.Fatalf("message %d was acknowledged before the backup but is not in it", n)
		}
		if !bytes.HasSuffix(body, []byte(crashMessage(n))) {
			t.Fatalf("message %d is not in the backup byte for byte", n)
		}
	}
}

// TestRestore: refused while the server runs, over an existing store without --force, and from a damaged file
// (nothing replaced); a good restore gives INBOX a new UIDVALIDITY that a client which selected it before notices.
func TestRestore(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	mx, imaps := testnet.FreeAddr(t), testnet.FreeAddr(t)
	stopServer := serveOn(t, e, mx, imaps)
	c, err := gosmtp.Dial(mx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("x@other.gov.vn", []string{userAn}, strings.NewReader(crashMessage(1))); err != nil {
		t.Fatal(err)
	}
	c.Close()
	before := selectINBOX(t, imaps)
	file := filepath.Join(t.TempDir(), "mail-backup.db")
	e.ok("", "backup", file)
	e.fails(1, "the server is running: stop it first, a restore replaces the store file under it", "", "restore", file)
	stopServer()

	e.fails(1, e.cfg.DBPath()+" exists: add --force to replace it (it is kept aside)", "", "restore", file)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(t.TempDir(), "half.db")
	if err := os.WriteFile(damaged, good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	current, err := os.ReadFile(e.cfg.DBPath())
	if err != nil {
		t.Fatal(err)
	}
	r := e.run("", "restore", "--force", damaged)
	if r.code != 1 || !strings.Contains(r.stderr, "truncated") || !strings.Contains(r.stderr, "nothing was restored") {
		t.Errorf("restore of a truncated file: exit %d, %q", r.code, r.stderr)
	}
	if now, _ := os.ReadFile(e.cfg.DBPath()); !bytes.Equal(now, current) {
		t.Error("a failed restore changed the store")
	}

	out := e.ok("", "restore", "--force", file)
	if !strings.Contains(out, "1 messages") || !strings.Contains(out, "have a new UIDVALIDITY") {
		t.Errorf("restore output: %q", out)
	}
	aside, _ := filepath.Glob(e.cfg.DBPath() + ".before-restore-*")
	if len(aside) != 1 {
		t.Errorf("the old store is not kept aside: %q", aside)
	}
	serveOn(t, e, mx, imaps)
	after := selectINBOX(t, imaps)
	if after.UIDValidity == before.UIDValidity {
		t.Errorf("INBOX kept UIDVALIDITY %d across the restore: a client with a cache would mix old and new UIDs", before.UIDValidity)
	}
	if after.NumMessages != 1 || after.UIDNext != before.UIDNext {
		t.Errorf("INBOX after restore: %d messages, UIDNEXT %d; before %d, %d", after.NumMessages, after.UIDNext, before.NumMessages, before.UIDNext)
	}
	if got := e.ok("", "audit"); !strings.Contains(got, "restore") {
		t.Errorf("no audit record of the restore:\n%s", got)
	}
}

// loginIMAPS logs userAn in over IMAPS (the test server's certificate is self-signed); the caller closes c.
func loginIMAPS(t *testing.T, imaps string) *imapclient.Client {
	t.Helper()
	return loginIMAPSAs(t, imaps, userAn)
}

// loginIMAPSAs is loginIMAPS for another user with goodPassword.
func loginIMAPSAs(t *testing.T, imaps, user string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(imaps, &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(user, goodPassword).Wait(); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

func selectINBOX(t *testing.T, imaps string) *imap.SelectData {
	t.Helper()
	c := loginIMAPS(t, imaps)
	defer c.Close()
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return sel
}
