package imap

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// The read-path benchmarks run the commands a client sends on opening and syncing a folder against a mailbox of
// 20 KiB MIME messages (a text part and a base64 attachment), read by a raw connection that only counts the
// responses, so the figures are the server's. The 100,000-message variants take minutes to build and run only
// with IMAP_BENCH_100K=1.

// benchMIMESize is the approximate size of each message of the read-path benchmarks.
const benchMIMESize = 20 << 10

// mimeBench is a logged-in raw connection with INBOX selected, over a mailbox of n MIME messages.
type mimeBench struct {
	ts    *testServer
	conn  net.Conn
	r     *bufio.Reader
	n     int
	bytes int64 // RFC822.SIZE of all messages
}

func newMIMEBench(b *testing.B, n int) *mimeBench {
	b.Helper()
	ts := newTestServer(b)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	mb := &mimeBench{ts: ts, n: n}
	const perCommit = 500
	for start := 0; start < n; start += perCommit {
		var batch []store.AppendMessage
		for i := start; i < min(start+perCommit, n); i++ {
			raw := benchMIMEMessage(i)
			mb.bytes += int64(len(raw))
			p := message.Parse(raw)
			batch = append(batch, store.AppendMessage{NewMessage: store.NewMessage{Body: raw, Meta: p.Meta(),
				Text: p.SearchText(), InternalDate: benchDate(i)}})
		}
		if _, err := ts.st.AppendMany(inbox.ID, batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	// Measured as a mailbox is read once the background copier has given its bodies their header copies.
	if _, err := ts.st.CopyHeadersPending(); err != nil {
		b.Fatal(err)
	}
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	mb.conn, mb.r = c, bufio.NewReaderSize(c, 64<<10)
	mb.readLine(b) // greeting
	mb.run(b, fmt.Sprintf("LOGIN %s %q", testUser, testPassword))
	mb.run(b, "SELECT INBOX")
	return mb
}

func benchDate(i int) time.Time {
	return time.Date(2026, 1, 1, 8, 0, 0, 0, ict).Add(time.Duration(i) * time.Minute)
}

// benchMIMEMessage is message i: a multipart/mixed of a short text part and an attachment that brings it to about
// benchMIMESize bytes, with the header lines a delivered message carries.
func benchMIMEMessage(i int) []byte {
	attachment := make([]byte, benchMIMESize*3/4-1200)
	for k := range attachment {
		attachment[k] = byte(k*7 + i)
	}
	enc := base64.StdEncoding.EncodeToString(attachment)
	var att strings.Builder
	for len(enc) > 76 {
		att.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	att.WriteString(enc + "\r\n")
	return fmt.Appendf(nil, "Received: from mx.example.gov.vn by mail.example.gov.vn; %s\r\n"+
		"From: =?UTF-8?Q?Ph=C3=B2ng_s=E1=BB=91_%d?= <phong%d@example.gov.vn>\r\n"+
		"To: an@example.gov.vn\r\nSubject: =?UTF-8?Q?Gi=E1=BA=A5y_m=E1=BB=9Di_h=E1=BB=8Dp?= %d\r\nDate: %s\r\n"+
		"Message-ID: <m%d@example.gov.vn>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"+
		"--b%d\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"+
		"Kính gửi anh chị, giấy mời họp số %d.\r\nTrân trọng.\r\n"+
		"--b%d\r\nContent-Type: application/pdf; name=\"giay-moi-%d.pdf\"\r\nContent-Transfer-Encoding: base64\r\n"+
		"Content-Disposition: attachment; filename=\"giay-moi-%d.pdf\"\r\n\r\n%s--b%d--\r\n",
		benchDate(i).Format(time.RFC1123Z), i%50, i%50, i, benchDate(i).Format(time.RFC1123Z), i, i, i, i, i, i, i,
		att.String(), i)
}

func (mb *mimeBench) readLine(b *testing.B) []byte {
	mb.conn.SetReadDeadline(time.Now().Add(time.Minute))
	line, err := mb.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull { // a long line: the rest follows
		rest, err2 := mb.r.ReadString('\n')
		line, err = append(append([]byte(nil), line...), rest...), err2
	}
	if err != nil {
		b.Fatalf("read: %v", err)
	}
	return line
}

// run sends a command and reads its responses, skipping literals; it returns the FETCH responses seen.
func (mb *mimeBench) run(b *testing.B, cmd string) int {
	if _, err := io.WriteString(mb.conn, "X "+cmd+"\r\n"); err != nil {
		b.Fatal(err)
	}
	fetches := 0
	for {
		line := mb.readLine(b)
		if bytes.HasPrefix(line, []byte("X ")) {
			if !bytes.HasPrefix(line, []byte("X OK")) {
				b.Fatalf("%s: %s", cmd, line)
			}
			return fetches
		}
		if len(line) > 2 && line[0] == '*' && bytes.Contains(line[:min(len(line), 30)], []byte(" FETCH ")) {
			fetches++
		}
		for n := literalLen(line); n >= 0; n = literalLen(line) {
			if _, err := mb.r.Discard(n); err != nil {
				b.Fatal(err)
			}
			line = mb.readLine(b)
		}
	}
}

// literalLen is the size of the literal a line announces at its end, -1 if none.
func literalLen(line []byte) int {
	s := bytes.TrimRight(line, "\r\n")
	if !bytes.HasSuffix(s, []byte("}")) {
		return -1
	}
	open := bytes.LastIndexByte(s, '{')
	if open < 0 {
		return -1
	}
	n := 0
	for _, c := range bytes.TrimSuffix(s[open+1:len(s)-1], []byte("+")) {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// loop runs cmd in the benchmark loop and checks that every message got a FETCH response (want of them).
func (mb *mimeBench) loop(b *testing.B, cmd string, want int) {
	b.ResetTimer()
	for b.Loop() {
		if got := mb.run(b, cmd); got != want {
			b.Fatalf("%s: %d FETCH responses, want %d", cmd, got, want)
		}
	}
}

const (
	headerFieldsCmd = "UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])"
	metadataCmd     = "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)"
)

func BenchmarkFetchHeaderFields10k(b *testing.B) {
	mb := newMIMEBench(b, 10_000)
	mb.loop(b, headerFieldsCmd, mb.n)
}

func BenchmarkFetchMetadata10k(b *testing.B) {
	mb := newMIMEBench(b, 10_000)
	mb.loop(b, metadataCmd, mb.n)
}

func BenchmarkFetchFlags10k(b *testing.B) {
	mb := newMIMEBench(b, 10_000)
	mb.loop(b, "UID FETCH 1:* (FLAGS)", mb.n)
}

func BenchmarkFetchUID10k(b *testing.B) {
	mb := newMIMEBench(b, 10_000)
	mb.loop(b, "FETCH 1:* (UID)", mb.n)
}

func BenchmarkFetchFullBody10k(b *testing.B) {
	mb := newMIMEBench(b, 10_000)
	b.SetBytes(mb.bytes)
	mb.loop(b, "UID FETCH 1:* BODY.PEEK[]", mb.n)
}

// BenchmarkStoreFlags10k alternates setting and clearing \Seen on every message, so each STORE changes them all.
func BenchmarkStoreFlags10k(b *testing.B) {
	mb := newMIMEBench(b, 10_000)
	benchStoreFlags(b, mb)
}

func benchStoreFlags(b *testing.B, mb *mimeBench) {
	// The background indexer has the messages just stored to index, a second or more of work beside the timed
	// STOREs; a mailbox whose index has caught up is timed instead.
	if _, err := mb.ts.st.IndexPending(); err != nil {
		b.Fatal(err)
	}
	op := []string{"+FLAGS", "-FLAGS"}
	i := 0
	b.ResetTimer()
	for b.Loop() {
		if got := mb.run(b, "UID STORE 1:* "+op[i%2]+` (\Seen)`); got != mb.n {
			b.Fatalf("STORE: %d FETCH responses, want %d", got, mb.n)
		}
		i++
	}
}

// large100k skips a benchmark on a 100,000-message mailbox unless IMAP_BENCH_100K=1.
func large100k(b *testing.B) *mimeBench {
	if os.Getenv("IMAP_BENCH_100K") != "1" {
		b.Skip("set IMAP_BENCH_100K=1 to build the 100,000-message mailbox")
	}
	return newMIMEBench(b, 100_000)
}

func BenchmarkFetchHeaderFields100k(b *testing.B) {
	mb := large100k(b)
	mb.loop(b, headerFieldsCmd, mb.n)
}

func BenchmarkFetchMetadata100k(b *testing.B) {
	mb := large100k(b)
	mb.loop(b, metadataCmd, mb.n)
}

func BenchmarkFetchFlagsUID100k(b *testing.B) {
	mb := large100k(b)
	mb.loop(b, "FETCH 1:* (FLAGS UID)", mb.n)
}

func BenchmarkStoreFlags100k(b *testing.B) {
	mb := large100k(b)
	benchStoreFlags(b, mb)
}

func BenchmarkSelect100k(b *testing.B) {
	mb := large100k(b)
	b.ResetTimer()
	for b.Loop() {
		mb.run(b, "SELECT INBOX")
	}
}
