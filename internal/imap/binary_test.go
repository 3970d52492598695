package imap

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// binaryTestMessage has a base64 part 2 that decodes to "abcdefghijkl".
const binaryTestMessage = "Subject: BINARY\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
	"--b\r\nContent-Type: text/plain\r\n\r\nxin chao\r\n" +
	"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nYWJjZGVmZ2hpamts\r\n" +
	"--b--\r\n"

// A partial BINARY reply names its origin, BINARY[2]<5>, as BODY[]<5> does (RFC 3516 section 4.2, RFC 9051
// 6.4.5); a whole one does not. Through the raw protocol and through imapclient.
func TestDialogBinaryPartialNamesItsOrigin(t *testing.T) {
	ts := newTestServer(t)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	rc.ok("APPEND INBOX {%d+}\r\n%s", len(binaryTestMessage), binaryTestMessage)
	rc.ok("SELECT INBOX")
	for _, tc := range []struct{ fetch, want string }{
		{"BINARY.PEEK[2]<0.7>", "* 1 FETCH (BINARY[2]<0> ~{7}|abcdefg)"},
		{"BINARY.PEEK[2]<5.100>", "* 1 FETCH (BINARY[2]<5> ~{7}|fghijkl)"},
		{"BINARY.PEEK[2]<20.5>", "* 1 FETCH (BINARY[2]<20> ~{0}|)"},
		{"BINARY.PEEK[2]", "* 1 FETCH (BINARY[2] ~{12}|abcdefghijkl)"},
		{"BINARY.SIZE[2]", "* 1 FETCH (BINARY.SIZE[2] 12)"},
		{"BINARY[2]<3.2>", "* 1 FETCH (FLAGS (\\Seen \\Recent) BINARY[2]<3> ~{2}|de)"},
	} {
		lines := rc.ok("FETCH 1 (%s)", tc.fetch)
		if got := strings.Join(lines, "|"); got != tc.want {
			t.Errorf("FETCH 1 (%s): %q, want %q", tc.fetch, got, tc.want)
		}
	}

	c := ts.client(t, nil)
	selectBox(t, c, "INBOX", true)
	bin := &imap.FetchItemBinarySection{Part: []int{2}, Partial: &imap.SectionPartial{Offset: 5, Size: 3}, Peek: true}
	m := fetchOne(t, c, imap.SeqSetNum(1), &imap.FetchOptions{BinarySection: []*imap.FetchItemBinarySection{bin}})
	if got := m.FindBinarySection(bin); !bytes.Equal(got, []byte("fgh")) {
		t.Errorf("imapclient BINARY[2]<5.3>: %q", got)
	}
	if len(m.BinarySection) != 1 || m.BinarySection[0].Section.Partial == nil || m.BinarySection[0].Section.Partial.Offset != 5 {
		t.Errorf("imapclient BINARY[2]<5.3>: the origin was not read: %+v", m.BinarySection)
	}
}
