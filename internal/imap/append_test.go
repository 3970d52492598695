package imap

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/store"
)

func TestAppendErrors(t *testing.T) {
	ts := newTestServer(t, func(c *testConfig) { c.opts.AppendLimit = 1000 })
	c := ts.client(t, nil)
	raw := []byte("Subject: x\r\n\r\ny\r\n")

	cmd := c.Append("Không có", int64(len(raw)), nil)
	cmd.Write(raw)
	cmd.Close()
	_, err := cmd.Wait()
	wantCode(t, err, imap.ResponseCodeTryCreate)

	if _, err := ts.st.UpdateAccount(testUser, func(a *store.Account) error { a.Quota = 10; return nil }); err != nil {
		t.Fatal(err)
	}
	cmd = c.Append("INBOX", int64(len(raw)), nil)
	cmd.Write(raw)
	cmd.Close()
	_, err = cmd.Wait()
	wantCode(t, err, imap.ResponseCodeOverQuota)
	if caps := capsOf(t, c); !caps.Has("APPENDLIMIT=1000") {
		t.Errorf("capabilities %v lack APPENDLIMIT=1000", caps)
	}

	// Over APPENDLIMIT: NO [TOOBIG] before the literal is sent. (imapclient would send a LITERAL+ literal, which
	// the library rejects without reading it; a client that honours APPENDLIMIT never does that.)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	if _, status := rc.cmd("APPEND INBOX {2000}"); !strings.HasPrefix(status, "NO [TOOBIG]") {
		t.Errorf("APPEND over the limit: %s", status)
	}
	rc.ok("NOOP")
}

// nestedMultipart is a message with depth nested multiparts, the innermost holding one text part.
func nestedMultipart(depth int) []byte {
	var b strings.Builder
	b.WriteString("Subject: bom\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	for i := 1; i < depth; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i-1, i)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\nđáy\r\n", depth-1)
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return []byte(b.String())
}

func TestHostileMIME(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	messages := [][]byte{
		[]byte("Subject: rỗng\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\nno parts at all\r\n"),
		[]byte("Subject: rỗng\r\nContent-Type: multipart/alternative; boundary=\"x\"\r\n\r\n--x--\r\n"),
		nestedMultipart(3000),
		[]byte("chỉ có thân thư, không có tiêu đề"),
		[]byte("Subject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n"),
	}
	for _, raw := range messages {
		appendMsg(t, c, "INBOX", raw, nil)
	}
	selectBox(t, c, "INBOX", false)
	whole := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Envelope: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true}, BodySection: []*imap.FetchItemBodySection{whole}}).Collect()
	if err != nil {
		t.Fatalf("FETCH of hostile messages: %v", err)
	}
	if len(msgs) != len(messages) {
		t.Fatalf("got %d messages", len(msgs))
	}
	for i, m := range msgs {
		if m.BodyStructure == nil {
			t.Errorf("message %d: no BODYSTRUCTURE", i+1)
		}
		if !bytes.Equal(m.FindBodySection(whole), messages[i]) {
			t.Errorf("message %d: BODY[] differs", i+1)
		}
	}
	// The unknown transfer encoding gives NO [UNKNOWN-CTE] for BINARY (RFC 3516), and the connection lives on.
	_, err = c.Fetch(imap.SeqSetNum(5), &imap.FetchOptions{BinarySection: []*imap.FetchItemBinarySection{{Part: []int{1}, Peek: true}}}).Collect()
	wantCode(t, err, imap.ResponseCodeUnknownCTE)
	m := fetchOne(t, c, imap.SeqSetNum(3), &imap.FetchOptions{BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{1}}}})
	if _, ok := m.FindBinarySectionSize([]int{1}); !ok {
		t.Error("BINARY.SIZE[1] of the nested message missing")
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatalf("connection after hostile FETCH: %v", err)
	}
}
