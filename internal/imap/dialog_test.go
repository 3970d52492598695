package imap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rawConn speaks IMAP line by line, for protocol details imapclient hides (RECENT, modified UTF-7, exact texts).
type rawConn struct {
	t   testing.TB
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return newRawConn(t, c)
}

// newRawConn speaks IMAP over c, closed when the test ends, and reads the greeting.
func newRawConn(t testing.TB, c net.Conn) *rawConn {
	t.Helper()
	t.Cleanup(func() { c.Close() })
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	rc.readLine() // greeting
	return rc
}

// dialLoggedIn is dialRaw logged in as testUser.
func dialLoggedIn(t *testing.T, ts *testServer) *rawConn {
	t.Helper()
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	return rc
}

func (rc *rawConn) readLine() string {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := rc.r.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("read: %v (so far %q)", err, line)
	}
	return strings.TrimRight(line, "\r\n")
}

// cmd sends one command and returns the untagged lines and the tagged status line.
func (rc *rawConn) cmd(format string, args ...any) (untagged []string, status string) {
	rc.t.Helper()
	rc.tag++
	tag := fmt.Sprintf("T%d", rc.tag)
	if _, err := fmt.Fprintf(rc.c, "%s %s\r\n", tag, fmt.Sprintf(format, args...)); err != nil {
		rc.t.Fatal(err)
	}
	for {
		line := rc.readLine()
		if strings.HasPrefix(line, tag+" ") {
			return untagged, strings.TrimPrefix(line, tag+" ")
		}
		untagged = append(untagged, line)
	}
}

// ok runs a command that must succeed.
func (rc *rawConn) ok(format string, args ...any) []string {
	rc.t.Helper()
	lines, status := rc.cmd(format, args...)
	if !strings.HasPrefix(status, "OK") {
		rc.t.Fatalf("%s: %s", fmt.Sprintf(format, args...), status)
	}
	return lines
}

// readUntilClosed reads lines until the server closes the connection.
func (rc *rawConn) readUntilClosed() []string {
	rc.t.Helper()
	var lines []string
	for {
		rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := rc.r.ReadString('\n')
		if line != "" {
			lines = append(lines, strings.TrimRight(line, "\r\n"))
		}
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return lines // with bytes unread, the close may come as a reset
		}
		if err != nil {
			rc.t.Fatalf("read: %v after %q", err, lines)
		}
	}
}

func containsLine(lines []string, substr string) bool {
	for _, l := range lines {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

func TestDialogRecentAndModifiedUTF7(t *testing.T) {
	ts := newTestServer(t)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	// An IMAP4rev1 client without UTF8=ACCEPT speaks modified UTF-7: "Báo cáo" is "B&AOE-o c&AOE-o".
	rc.ok(`CREATE "B&AOE-o c&AOE-o"`)
	lines := rc.ok(`LIST "" "B*"`)
	if !containsLine(lines, `"B&AOE-o c&AOE-o"`) {
		t.Errorf("LIST for a non-UTF-8 client: %q", lines)
	}
	lines = rc.ok(`STATUS "B&AOE-o c&AOE-o" (MESSAGES RECENT UIDNEXT DELETED-STORAGE)`)
	if !containsLine(lines, "RECENT 0") || !containsLine(lines, "MESSAGES 0") || !containsLine(lines, "DELETED-STORAGE 0") {
		t.Errorf("STATUS: %q", lines)
	}
	rc.ok("ENABLE UTF8=ACCEPT")
	lines = rc.ok(`LIST "" "B*"`)
	if !containsLine(lines, `"Báo cáo"`) {
		t.Errorf("LIST after ENABLE UTF8=ACCEPT: %q", lines)
	}
	lines = rc.ok(`SELECT "Báo cáo"`)
	if !containsLine(lines, "0 EXISTS") || !containsLine(lines, "0 RECENT") || !containsLine(lines, "[UIDVALIDITY ") {
		t.Errorf("SELECT: %q", lines)
	}
}

func TestDialogUnknownCommandBeforeLogin(t *testing.T) {
	ts := newTestServer(t)
	rc := dialRaw(t, ts.addr)
	_, status := rc.cmd("XUNKNOWN NIL")
	if !strings.HasPrefix(status, "BAD") {
		t.Errorf("an unknown command before login: %s", status)
	}
}
