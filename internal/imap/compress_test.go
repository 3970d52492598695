package imap

import (
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/testlog"
)

// deflateConn is the client's side of COMPRESS=DEFLATE: what it writes is compressed and flushed at once.
type deflateConn struct {
	net.Conn
	w *flate.Writer
}

func (c deflateConn) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	if err != nil {
		return n, err
	}
	return n, c.w.Flush()
}

// compress sends COMPRESS DEFLATE and, once it is accepted, speaks deflate both ways.
func (rc *rawConn) compress() {
	rc.t.Helper()
	rc.ok("COMPRESS DEFLATE")
	if rc.r.Buffered() != 0 {
		rc.t.Fatalf("%d bytes after the OK of COMPRESS came uncompressed", rc.r.Buffered())
	}
	w, err := flate.NewWriter(rc.c, flate.BestSpeed)
	if err != nil {
		rc.t.Fatal(err)
	}
	rc.r = bufio.NewReader(flate.NewReader(rc.c))
	rc.c = deflateConn{Conn: rc.c, w: w}
}

// literal reads a literal announced at the end of line.
func (rc *rawConn) literal(line string) []byte {
	rc.t.Helper()
	i := strings.LastIndexByte(line, '{')
	size, err := strconv.Atoi(strings.TrimSuffix(line[i+1:], "}"))
	if i < 0 || err != nil {
		rc.t.Fatalf("no literal at the end of %q", line)
	}
	b := make([]byte, size)
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(rc.r, b); err != nil {
		rc.t.Fatalf("reading a %d-byte literal: %v", size, err)
	}
	return b
}

// COMPRESS=DEFLATE (RFC 4978): offered after login only, both directions compressed after the tagged OK, a second
// COMPRESS refused with NO [COMPRESSIONACTIVE]; commands, a large FETCH and IDLE with a live update all work through
// it.
func TestDialogCompressDeflate(t *testing.T) {
	ts := newTestServer(t)
	rc := dialRaw(t, ts.addr)
	if lines := rc.ok("CAPABILITY"); containsLine(lines, "COMPRESS=DEFLATE") {
		t.Errorf("COMPRESS offered before login: %q", lines)
	}
	if _, status := rc.cmd("COMPRESS DEFLATE"); !strings.HasPrefix(status, "BAD ") {
		t.Errorf("COMPRESS before login: %s", status)
	}
	rc.ok("LOGIN %s %q", testUser, testPassword)
	if lines := rc.ok("CAPABILITY"); !containsLine(lines, " COMPRESS=DEFLATE") {
		t.Errorf("COMPRESS not offered after login: %q", lines)
	}
	if _, status := rc.cmd("COMPRESS GZIP"); !strings.HasPrefix(status, "BAD ") {
		t.Errorf("COMPRESS GZIP: %s", status)
	}
	rc.compress()
	if lines := rc.ok("CAPABILITY"); containsLine(lines, "COMPRESS=DEFLATE") {
		t.Errorf("COMPRESS still offered once active: %q", lines)
	}
	if _, status := rc.cmd("COMPRESS DEFLATE"); !strings.HasPrefix(status, "NO [COMPRESSIONACTIVE]") {
		t.Errorf("a second COMPRESS: %s", status)
	}

	// A large message, in and out.
	var body bytes.Buffer
	body.WriteString("Subject: Báo cáo\r\n\r\n")
	for i := 0; body.Len() < 600_000; i++ {
		fmt.Fprintf(&body, "Dòng %d của báo cáo tổng kết năm 2026.\r\n", i)
	}
	raw := body.Bytes()
	rc.ok("APPEND INBOX {%d+}\r\n%s", len(raw), raw)
	rc.ok("SELECT INBOX")
	rc.tag++
	tag := fmt.Sprintf("T%d", rc.tag)
	fmt.Fprintf(rc.c, "%s FETCH 1 (BODY.PEEK[])\r\n", tag)
	if got := rc.literal(rc.readLine()); !bytes.Equal(got, raw) {
		t.Errorf("BODY[] through COMPRESS: %d bytes, want the %d appended", len(got), len(raw))
	}
	if rest := rc.readLine(); rest != ")" {
		t.Errorf("after BODY[]: %q", rest)
	}
	if status := rc.readLine(); status != tag+" OK FETCH completed" {
		t.Errorf("FETCH: %s", status)
	}

	// IDLE: an update from another session arrives at once, compressed.
	rc.tag++
	tag = fmt.Sprintf("T%d", rc.tag)
	fmt.Fprintf(rc.c, "%s IDLE\r\n", tag)
	if line := rc.readLine(); !strings.HasPrefix(line, "+ ") {
		t.Fatalf("IDLE: %q", line)
	}
	other := ts.client(t, nil)
	appendMsg(t, other, "INBOX", []byte("Subject: mới\r\n\r\nThư mới.\r\n"), nil)
	if line := rc.readLine(); line != "* 2 EXISTS" {
		t.Errorf("during IDLE: %q, want * 2 EXISTS", line)
	}
	fmt.Fprintf(rc.c, "DONE\r\n")
	status := rc.readLine()
	if status == "* 2 RECENT" { // an IMAP4rev1 session: the new message is \Recent here
		status = rc.readLine()
	}
	if status != tag+" OK IDLE completed" {
		t.Errorf("IDLE: %s", status)
	}
	if lines := rc.ok("FETCH 2 (FLAGS)"); len(lines) != 1 {
		t.Errorf("FETCH after IDLE: %q", lines)
	}
	rc.ok("LOGOUT")
}

// Past maxCompressingSessions, COMPRESS gets NO [LIMIT] and the session goes on uncompressed.
func TestDialogCompressLimit(t *testing.T) {
	ts := newTestServer(t, func(c *testConfig) {
		c.tweak = func(s *Server) { s.compressing.Store(maxCompressingSessions) }
	})
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	if _, status := rc.cmd("COMPRESS DEFLATE"); !strings.HasPrefix(status, "NO ["+string(imap.ResponseCodeLimit)+"]") {
		t.Errorf("COMPRESS over the limit: %s", status)
	}
	rc.ok("NOOP")
	ts.srv.compressing.Store(maxCompressingSessions - 1)
	rc.compress()
	rc.ok("NOOP")
	if n := ts.srv.compressing.Load(); n != maxCompressingSessions {
		t.Errorf("%d sessions counted compressing, want %d", n, maxCompressingSessions)
	}
	rc.ok("LOGOUT")
	for i := 0; ts.srv.compressing.Load() != maxCompressingSessions-1; i++ {
		if i == 100 {
			t.Fatalf("%d sessions still counted compressing after LOGOUT", ts.srv.compressing.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A client that closes the connection without ending its deflate stream, as clients do, closes it as any other:
// no warning about an unexpected end.
func TestDialogCompressedClientCloses(t *testing.T) {
	logs := &testlog.Buffer{}
	ts := newTestServer(t, logTo(logs))
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	rc.compress()
	rc.ok("NOOP")
	rc.c.Close()
	for i := 0; len(logs.Find(t, "disconnected")) == 0; i++ {
		if i == 250 {
			t.Fatalf("the connection's end was not logged: %s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, l := range logs.Lines(t) {
		if l.Str("level") != "INFO" && l.Str("level") != "DEBUG" {
			t.Errorf("logged: %s", l.Raw)
		}
	}
}
