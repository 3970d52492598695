package main

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/textproto"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailserver/internal/store"
	"mailserver/internal/testlog"
	"mailserver/internal/testnet"
)

// stoppingServer is the server binary with an MX and an IMAPS listener, to be stopped with SIGTERM by a test.
type stoppingServer struct {
	t         *testing.T
	e         *env
	mx, imaps string
	pid       int
	done      chan struct{} // closed when the server has exited, with exitErr set
	exitErr   error
	log       *testlog.Buffer
}

// envWithAn is newEnv with the domain and an.nv's account.
func envWithAn(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok(goodPassword+"\n", "user", "add", userAn)
	return e
}

// startStoppingServer runs the server for an.nv with the given shutdown_timeout.
func startStoppingServer(t *testing.T, shutdownTimeout string) *stoppingServer {
	t.Helper()
	e := envWithAn(t)
	s := &stoppingServer{t: t, e: e, mx: testnet.FreeAddr(t), imaps: testnet.FreeAddr(t), log: &testlog.Buffer{}}
	writeServeConfig(t, e, s.mx, s.imaps, "shutdown_timeout = \""+shutdownTimeout+"\"\n")
	srv, exited := startServer(t, e, s.log)
	s.pid, s.done = srv.Process.Pid, make(chan struct{})
	go func() {
		s.exitErr = <-exited
		close(s.done)
	}()
	t.Cleanup(func() {
		srv.Process.Kill()
		<-s.done
	})
	testnet.WaitListening(t, s.mx, 20*time.Second)
	testnet.WaitListening(t, s.imaps, 20*time.Second)
	waitForSocket(t, e)
	return s
}

func (s *stoppingServer) sigterm() {
	s.t.Helper()
	if err := syscall.Kill(s.pid, syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
}

// wantExitZero waits for the server to end, at most within (the bound under test and a margin for closing the
// store), and fails unless it exited with status 0.
func (s *stoppingServer) wantExitZero(within time.Duration) {
	s.t.Helper()
	select {
	case <-s.done:
		if s.exitErr != nil {
			s.t.Fatalf("the server exited with %v after SIGTERM\n%s", s.exitErr, s.log)
		}
	case <-time.After(within):
		s.t.Fatalf("the server was still running %v after SIGTERM\n%s", within, s.log)
	}
}

// storedSubjects opens the store after the server has stopped, checks it and returns an.nv's INBOX by Message-ID.
func (s *stoppingServer) stored() map[string][]byte {
	s.t.Helper()
	st, err := store.Open(s.e.cfg.DBPath(), store.Options{})
	if err != nil {
		s.t.Fatal(err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		s.t.Fatalf("store after SIGTERM:\n%v", err)
	}
	return storedMessages(s.t, st, userAn)
}

// smtpConn is an SMTP client that reads the server's replies as they come, also unasked ones (421 at shutdown).
type smtpConn struct {
	t *testing.T
	c *textproto.Conn
}

func dialSMTP(t *testing.T, addr string) *smtpConn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(time.Minute))
	c := &smtpConn{t: t, c: textproto.NewConn(conn)}
	c.reply(220)
	c.cmd(250, "EHLO mx.other.gov.vn")
	return c
}

// reply reads one reply and fails unless it has the code; it returns the text.
func (c *smtpConn) reply(code int) string {
	c.t.Helper()
	_, msg, err := c.c.ReadResponse(code)
	if err != nil {
		c.t.Fatalf("want a %d reply: %v", code, err)
	}
	return msg
}

func (c *smtpConn) cmd(code int, format string, args ...any) string {
	c.t.Helper()
	if err := c.c.PrintfLine(format, args...); err != nil {
		c.t.Fatal(err)
	}
	return c.reply(code)
}

// startMessage begins a message to an.nv and sends its first part.
func (c *smtpConn) startMessage(firstPart string) {
	c.t.Helper()
	c.cmd(250, "MAIL FROM:<van.thu@bo-noi-vu.gov.vn>")
	c.cmd(250, "RCPT TO:<%s>", userAn)
	c.cmd(354, "DATA")
	c.write(firstPart)
}

func (c *smtpConn) write(s string) {
	c.t.Helper()
	if _, err := c.c.W.WriteString(s); err != nil {
		c.t.Fatal(err)
	}
	if err := c.c.W.Flush(); err != nil {
		c.t.Fatal(err)
	}
}

// wantShutdownReply reads the 421 a stopping server sends to a connection outside a transaction.
func (c *smtpConn) wantShutdownReply() {
	c.t.Helper()
	if msg := c.reply(421); !strings.HasPrefix(msg, "4.3.2 ") {
		c.t.Fatalf("421 %s, want 4.3.2", msg)
	}
}

// imapGreeted is a connection to the IMAPS listener that has read the greeting.
func imapGreeted(t *testing.T, addr string) *textproto.Conn {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(time.Minute))
	c := textproto.NewConn(conn)
	if line, err := c.ReadLine(); err != nil || !strings.HasPrefix(line, "* OK") {
		t.Fatalf("IMAP greeting: %q, %v", line, err)
	}
	return c
}

const shutdownMessage = "From: van.thu@bo-noi-vu.gov.vn\r\nTo: an.nv@vinhyen.gov.vn\r\nSubject: Công văn khẩn\r\n" +
	"Message-ID: <sigterm@bo-noi-vu.gov.vn>\r\nDate: Mon, 07 Dec 2026 09:00:00 +0700\r\n\r\n"

// SIGTERM during a message's DATA: the transfer finishes, the message is acknowledged and stored, and only then is
// the connection told 421; an idle SMTP connection gets 421 at once and IMAP clients BYE; the server exits 0.
func TestSIGTERMFinishesTheMessageUnderWay(t *testing.T) {
	s := startStoppingServer(t, "1m")
	sending := dialSMTP(t, s.mx)
	sending.startMessage(shutdownMessage + "Phần đầu,\r\n")
	idle := dialSMTP(t, s.mx)
	reader := imapGreeted(t, s.imaps)

	s.sigterm()
	idle.wantShutdownReply() // the shutdown is under way, with the message half sent
	if line, err := reader.ReadLine(); err != nil || line != "* BYE Server shutting down, try again later" {
		t.Errorf("IMAP at shutdown: %q, %v; want BYE", line, err)
	}
	sending.write("phần cuối.\r\n.\r\n")
	sending.reply(250)
	sending.wantShutdownReply()
	s.wantExitZero(time.Minute + 30*time.Second)

	body, ok := s.stored()["<sigterm@bo-noi-vu.gov.vn>"]
	if !ok || !bytes.HasSuffix(body, []byte(shutdownMessage+"Phần đầu,\r\nphần cuối.\r\n")) {
		t.Fatalf("the message acknowledged during shutdown is not stored as sent: %q", body)
	}
}

// SIGTERM during a transfer that does not end within shutdown_timeout: the server cuts it and exits 0, and the
// message, never acknowledged, is not stored (its sender sends it again).
func TestSIGTERMCutsATransferAtTheBound(t *testing.T) {
	s := startStoppingServer(t, "2s")
	stalled := dialSMTP(t, s.mx)
	stalled.startMessage(shutdownMessage + "Phần đầu, rồi không gửi nữa.\r\n")

	s.sigterm()
	s.wantExitZero(30 * time.Second)
	if _, _, err := stalled.c.ReadResponse(250); err == nil {
		t.Fatal("a message cut at the bound was acknowledged")
	}
	if !strings.Contains(s.log.String(), "shutdown_timeout reached") {
		t.Errorf("the log does not say that the bound cut a transfer:\n%s", s.log)
	}
	if stored := s.stored(); len(stored) != 0 {
		t.Fatalf("stored after a cut transfer: %d message(s)", len(stored))
	}
}
