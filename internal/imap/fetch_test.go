package imap

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// attachment is binary content that must come back byte for byte through BINARY[2].
var attachment = func() []byte {
	b := make([]byte, 3000)
	for i := range b {
		b[i] = byte(i*7 + i/256)
	}
	return b
}()

// reportMessage is a multipart message with a Vietnamese subject, a UTF-8 text part and a base64 attachment.
func reportMessage() []byte {
	enc := base64.StdEncoding.EncodeToString(attachment)
	var lines []string
	for len(enc) > 76 {
		lines, enc = append(lines, enc[:76]), enc[76:]
	}
	lines = append(lines, enc)
	return []byte(strings.ReplaceAll(`From: =?UTF-8?Q?Nguy=E1=BB=85n_V=C4=83n_An?= <an@example.gov.vn>
To: =?UTF-8?Q?Ph=C3=B2ng_N=E1=BB=99i_v=E1=BB=A5?= <noivu@example.gov.vn>
Cc: vanthu@example.gov.vn
Subject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o_t=E1=BB=95ng_k=E1=BA=BFt_n=C4=83m?=
Date: Mon, 02 Feb 2026 09:30:00 +0700
Message-ID: <bao-cao-2026@example.gov.vn>
X-Priority: 1
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="ranh-gioi"

--ranh-gioi
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Kính gửi các đơn vị, gửi kèm báo cáo tổng kết năm 2026.
--ranh-gioi
Content-Type: application/pdf; name="bao-cao.pdf"
Content-Disposition: attachment; filename="bao-cao.pdf"
Content-Transfer-Encoding: base64

`+strings.Join(lines, "\n")+`
--ranh-gioi--
`, "\n", "\r\n"))
}

func fetchOne(t *testing.T, c *imapclient.Client, set imap.NumSet, o *imap.FetchOptions) *imapclient.FetchMessageBuffer {
	t.Helper()
	msgs, err := c.Fetch(set, o).Collect()
	if err != nil {
		t.Fatalf("FETCH: %v", err)
	}
	if len(msgs) != 1 {
		t.Fatalf("FETCH returned %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

func TestAppendFetchRoundTrip(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	raw := reportMessage()
	date := time.Date(2026, 2, 2, 10, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	uid := appendMsg(t, c, "INBOX", raw, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagFlagged, "$Quantrong"}, Time: date})
	if uid != 1 {
		t.Fatalf("APPENDUID uid %d, want 1", uid)
	}
	selectBox(t, c, "INBOX", false)

	whole := &imap.FetchItemBodySection{Peek: true}
	m := fetchOne(t, c, imap.SeqSetNum(1), &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
		RFC822Size: true, Envelope: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection: []*imap.FetchItemBodySection{whole}})
	if got := m.FindBodySection(whole); !bytes.Equal(got, raw) {
		t.Fatalf("BODY[] differs from the appended bytes:\n%q\n%q", got, raw)
	}
	if m.UID != 1 || m.RFC822Size != int64(len(raw)) || !m.InternalDate.Equal(date) {
		t.Errorf("UID %d size %d date %v", m.UID, m.RFC822Size, m.InternalDate)
	}
	if !slices.Contains(m.Flags, imap.FlagFlagged) || !slices.Contains(m.Flags, "$Quantrong") || slices.Contains(m.Flags, imap.FlagSeen) {
		t.Errorf("flags %v", m.Flags)
	}
	env := m.Envelope
	if env.Subject != "Báo cáo tổng kết năm" || len(env.From) != 1 || env.From[0].Name != "Nguyễn Văn An" ||
		env.From[0].Addr() != "an@example.gov.vn" || env.To[0].Name != "Phòng Nội vụ" || env.MessageID != "bao-cao-2026@example.gov.vn" {
		t.Errorf("envelope %+v", env)
	}
	mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || mp.Subtype != "mixed" || len(mp.Children) != 2 {
		t.Fatalf("BODYSTRUCTURE %#v", m.BodyStructure)
	}
	pdf := mp.Children[1].(*imap.BodyStructureSinglePart)
	if pdf.MediaType() != "application/pdf" || pdf.Encoding != "base64" || pdf.Disposition() == nil ||
		pdf.Disposition().Value != "attachment" || pdf.Filename() != "bao-cao.pdf" {
		t.Errorf("attachment part %+v", pdf)
	}
	if strings.Contains(string(raw), "\\Seen") {
		t.Fatal("unreachable")
	}
	fetchSections(t, c)
}

// fetchSections checks partial, binary and header-field sections of the report message (seq 1, UID 1).
func fetchSections(t *testing.T, c *imapclient.Client) {
	text := []byte("Kính gửi các đơn vị, gửi kèm báo cáo tổng kết năm 2026.")
	part1 := &imap.FetchItemBodySection{Part: []int{1}, Partial: &imap.SectionPartial{Offset: 0, Size: 10}, Peek: true}
	bin := &imap.FetchItemBinarySection{Part: []int{2}, Peek: true}
	fields := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject", "X-Priority"}, Peek: true}
	mime2 := &imap.FetchItemBodySection{Part: []int{2}, Specifier: imap.PartSpecifierMIME, Peek: true}
	tail := &imap.FetchItemBodySection{Partial: &imap.SectionPartial{Offset: 1 << 30, Size: 10}, Peek: true}
	m := fetchOne(t, c, imap.UIDSetNum(1), &imap.FetchOptions{
		BodySection:       []*imap.FetchItemBodySection{part1, fields, mime2, tail},
		BinarySection:     []*imap.FetchItemBinarySection{bin},
		BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{2}}},
	})
	if got := m.FindBodySection(part1); !bytes.Equal(got, text[:10]) {
		t.Errorf("BODY[1]<0.10> = %q, want %q", got, text[:10])
	}
	if got := m.FindBinarySection(bin); !bytes.Equal(got, attachment) {
		t.Errorf("BINARY[2]: %d bytes, want the %d original bytes", len(got), len(attachment))
	}
	if size, ok := m.FindBinarySectionSize([]int{2}); !ok || size != uint32(len(attachment)) {
		t.Errorf("BINARY.SIZE[2] = %d %v", size, ok)
	}
	wantFields := "Subject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o_t=E1=BB=95ng_k=E1=BA=BFt_n=C4=83m?=\r\nX-Priority: 1\r\n\r\n"
	if got := string(m.FindBodySection(fields)); got != wantFields {
		t.Errorf("HEADER.FIELDS = %q, want %q", got, wantFields)
	}
	if got := string(m.FindBodySection(mime2)); !strings.HasPrefix(got, "Content-Type: application/pdf") {
		t.Errorf("BODY[2.MIME] = %q", got)
	}
	if got := m.FindBodySection(tail); len(got) != 0 {
		t.Errorf("BODY[]<past the end> = %q, want empty", got)
	}
	// The PEEK fetches left \Seen alone; a plain BODY[1] sets it and reports the new flags.
	m = fetchOne(t, c, imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Part: []int{1}}}})
	if !slices.Contains(m.Flags, imap.FlagSeen) {
		t.Errorf("FETCH BODY[1] did not report \\Seen: %v", m.Flags)
	}
	if got := m.FindBodySection(&imap.FetchItemBodySection{Part: []int{1}}); !bytes.Equal(got, text) {
		t.Errorf("BODY[1] = %q", got)
	}
}

func TestFetchLegacyItemsAndLargeBody(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	body := bytes.Repeat([]byte("Dòng nội dung rất dài để kiểm tra việc đọc từng phần của thư.\r\n"), 40000) // > 2 MiB
	raw := append([]byte("Subject: lớn\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"), body...)
	appendMsg(t, c, "INBOX", raw, nil)
	selectBox(t, c, "INBOX", false)
	whole := &imap.FetchItemBodySection{Peek: true}
	middle := &imap.FetchItemBodySection{Partial: &imap.SectionPartial{Offset: 1 << 20, Size: 200000}, Peek: true}
	m := fetchOne(t, c, imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{whole, middle}})
	if !bytes.Equal(m.FindBodySection(whole), raw) {
		t.Error("streamed BODY[] differs")
	}
	if !bytes.Equal(m.FindBodySection(middle), raw[1<<20:1<<20+200000]) {
		t.Error("BODY[]<1048576.200000> differs")
	}

	rc := dialLoggedIn(t, ts)
	rc.ok("EXAMINE INBOX")
	lines := rc.ok("FETCH 1 (RFC822.SIZE RFC822.HEADER BODY)")
	want := fmt.Sprintf("RFC822.SIZE %d", len(raw))
	if !containsLine(lines, want) || !containsLine(lines, "RFC822.HEADER {") || !containsLine(lines, `BODY ("text" "plain"`) {
		t.Errorf("legacy FETCH items: %q", lines)
	}
}

// TestEnvelopeGroupsAndSearch: a group in To or Cc reaches the client in RFC 3501 group syntax (7.4.2), and SEARCH
// TO and CC find the message by the group's name and by a member's address.
func TestEnvelopeGroupsAndSearch(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	appendMsg(t, c, "INBOX", crlf("From: an@example.gov.vn\nTo: Undisclosed: a@b.vn, Chi <c@d.vn>;\nCc: undisclosed-recipients:;\nSubject: x\n\nbody\n"), nil)
	appendMsg(t, c, "INBOX", crlf("From: an@example.gov.vn\nTo: a@x.vn\nSubject: y\n\nbody\n"), nil)
	selectBox(t, c, "INBOX", false)
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH ENVELOPE: %v %v", msgs, err)
	}
	wantTo := []imap.Address{{Mailbox: "Undisclosed"}, {Mailbox: "a", Host: "b.vn"}, {Name: "Chi", Mailbox: "c", Host: "d.vn"}, {}}
	wantCc := []imap.Address{{Mailbox: "undisclosed-recipients"}, {}}
	if env := msgs[0].Envelope; !slices.Equal(env.To, wantTo) || !slices.Equal(env.Cc, wantCc) {
		t.Errorf("ENVELOPE To %+v Cc %+v, want %+v and %+v", env.To, env.Cc, wantTo, wantCc)
	}
	appendMsg(t, c, "INBOX", crlf("From: <@route:user@domain.vn>\nSubject: z\n\nbody\n"), nil)
	msgs, err = c.Fetch(imap.SeqSetNum(3), &imap.FetchOptions{Envelope: true}).Collect()
	want := imap.Address{ADL: "@route", Mailbox: "user", Host: "domain.vn"}
	if err != nil || len(msgs) != 1 || len(msgs[0].Envelope.From) != 1 || msgs[0].Envelope.From[0] != want {
		t.Errorf("ENVELOPE of a From with a source route: %+v, %v; want From %+v", msgs, err, want)
	}
	checkSearches(t, c, []searchCase{
		{"TO group name", headerKey("To", "undisclosed"), []uint32{1}},
		{"TO member", headerKey("To", "c@d.vn"), []uint32{1}},
		{"TO member name", headerKey("To", "chi"), []uint32{1}},
		{"CC empty group", headerKey("Cc", "undisclosed-recipients"), []uint32{1}},
		{"TO other", headerKey("To", "a@x.vn"), []uint32{2}},
	})
}

// untilTagged reads the lines of a response up to the tagged one, literals included, joined with CRLF.
func (rc *rawConn) untilTagged(tag string) string {
	rc.t.Helper()
	var lines []string
	for i := 0; i < 1000; i++ {
		line := rc.readLine()
		lines = append(lines, line)
		if strings.HasPrefix(line, tag+" ") {
			return strings.Join(lines, "\r\n")
		}
	}
	rc.t.Fatalf("no tagged %s response: %q", tag, lines)
	return ""
}

// TestDialogNULBytes: a message with NUL bytes APPENDed as literal8 is stored as sent and comes back byte for byte
// through BINARY (literal8, RFC 3516), while BODY[] and BODY[1], plain literals where NUL is not allowed (RFC 9051
// 4.3), carry 0x80 in its place, with the size unchanged.
func TestDialogNULBytes(t *testing.T) {
	ts := newTestServer(t)
	rc := dialLoggedIn(t, ts)
	msg := "Subject: nul\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\na\x00b\x00\r\n"
	if _, err := fmt.Fprintf(rc.c, "A1 APPEND INBOX ~{%d+}\r\n%s\r\n", len(msg), msg); err != nil {
		t.Fatal(err)
	}
	if resp := rc.untilTagged("A1"); !strings.Contains(resp, "A1 OK") {
		t.Fatalf("BINARY APPEND: %q", resp)
	}
	rc.ok("SELECT INBOX")
	fmt.Fprintf(rc.c, "F1 FETCH 1 (BINARY.PEEK[] BINARY.PEEK[1])\r\n")
	if resp := rc.untilTagged("F1"); !strings.Contains(resp, fmt.Sprintf("BINARY[] ~{%d}\r\n%s", len(msg), msg)) ||
		!strings.Contains(resp, "BINARY[1] ~{6}\r\na\x00b\x00\r\n") {
		t.Errorf("BINARY: %q", resp)
	}
	fmt.Fprintf(rc.c, "F2 FETCH 1 (BODY.PEEK[] BODY.PEEK[1] RFC822.SIZE)\r\n")
	replaced := strings.ReplaceAll(msg, "\x00", "\x80")
	resp := rc.untilTagged("F2")
	if strings.Contains(resp, "\x00") || !strings.Contains(resp, fmt.Sprintf("BODY[] {%d}\r\n%s", len(msg), replaced)) ||
		!strings.Contains(resp, "BODY[1] {6}\r\na\x80b\x80\r\n") || !strings.Contains(resp, fmt.Sprintf("RFC822.SIZE %d", len(msg))) {
		t.Errorf("BODY: %q", resp)
	}
}
