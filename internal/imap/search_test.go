package imap

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

var ict = time.FixedZone("ICT", 7*3600)

// searchFixture appends three messages to INBOX and selects it:
//  1. the report (Feb 2, \Flagged), the largest;
//  2. an invitation from Trần Thị Bình (Mar 10, \Seen);
//  3. an official letter with an 8-bit X-Don-Vi header (Jan 5).
func searchFixture(t *testing.T, ts *testServer) *imapclient.Client {
	c := ts.client(t, nil)
	appendMsg(t, c, "INBOX", reportMessage(), &imap.AppendOptions{
		Flags: []imap.Flag{imap.FlagFlagged}, Time: time.Date(2026, 2, 2, 10, 0, 0, 0, ict)})
	appendMsg(t, c, "INBOX", crlf(`From: =?UTF-8?Q?Tr=E1=BA=A7n_Th=E1=BB=8B_B=C3=ACnh?= <binh@example.gov.vn>
To: an@example.gov.vn
Subject: =?UTF-8?Q?Gi=E1=BA=A5y_m=E1=BB=9Di_h=E1=BB=8Dp?=
Date: Tue, 10 Mar 2026 08:00:00 +0700
Content-Type: text/plain; charset=utf-8

Mời anh chị dự họp giao ban.
`), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: time.Date(2026, 3, 10, 9, 0, 0, 0, ict)})
	appendMsg(t, c, "INBOX", crlf(`From: vanthu@example.gov.vn
To: an@example.gov.vn
Subject: =?UTF-8?Q?C=C3=B4ng_v=C4=83n_s=E1=BB=91_12?=
X-Don-Vi: Sở Nội vụ
Date: Mon, 05 Jan 2026 14:00:00 +0700
Content-Type: text/plain; charset=utf-8

Đề nghị các đơn vị báo cáo trước ngày 15.
`), &imap.AppendOptions{Time: time.Date(2026, 1, 5, 15, 0, 0, 0, ict)})
	selectBox(t, c, "INBOX", false)
	return c
}

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func day0(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// searchCase is one SEARCH and the sequence numbers it must find.
type searchCase struct {
	name string
	c    imap.SearchCriteria
	want []uint32
}

// headerKey is SEARCH HEADER key value, which also stands for FROM, TO, CC, BCC and SUBJECT.
func headerKey(key, value string) imap.SearchCriteria {
	return imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: key, Value: value}}}
}

func checkSearches(t *testing.T, c *imapclient.Client, cases []searchCase) {
	t.Helper()
	for _, tc := range cases {
		data, err := c.Search(&tc.c, nil).Wait()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := data.AllSeqNums(); !slices.Equal(got, tc.want) {
			t.Errorf("SEARCH %s = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSearchKeys(t *testing.T) {
	ts := newTestServer(t)
	c := searchFixture(t, ts)
	big := int64(len(reportMessage()))
	cases := []searchCase{
		{"ALL", imap.SearchCriteria{}, []uint32{1, 2, 3}},
		{"FLAGGED", imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, []uint32{1}},
		{"UNSEEN", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, []uint32{1, 3}},
		{"SINCE", imap.SearchCriteria{Since: day0(2026, 3, 1)}, []uint32{2}},
		{"BEFORE", imap.SearchCriteria{Before: day0(2026, 2, 1)}, []uint32{3}},
		{"ON", imap.SearchCriteria{Since: day0(2026, 2, 2), Before: day0(2026, 2, 3)}, []uint32{1}},
		{"SENTBEFORE", imap.SearchCriteria{SentBefore: day0(2026, 2, 1)}, []uint32{3}},
		{"SENTSINCE", imap.SearchCriteria{SentSince: day0(2026, 2, 2)}, []uint32{1, 2}},
		{"LARGER", imap.SearchCriteria{Larger: big - 1}, []uint32{1}},
		{"SMALLER", imap.SearchCriteria{Smaller: big}, []uint32{2, 3}},
		{"HEADER 8-bit", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "x-don-vi", Value: "so noi vu"}}}, []uint32{3}},
		{"HEADER exists", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "X-Priority"}}}, []uint32{1}},
		{"SUBJECT folded", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "bao cao"}}}, []uint32{1}},
		{"SUBJECT upper", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "BÁO CÁO TỔNG"}}}, []uint32{1}},
		{"FROM name", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "tran thi binh"}}}, []uint32{2}},
		{"FROM address", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "VANTHU@"}}}, []uint32{3}},
		{"CC", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Cc", Value: "vanthu"}}}, []uint32{1}},
		{"TO", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "To", Value: "phong noi vu"}}}, []uint32{1}},
		{"BODY", imap.SearchCriteria{Body: []string{"bao cao"}}, []uint32{1, 3}},
		{"BODY not header", imap.SearchCriteria{Body: []string{"giay moi"}}, nil},
		{"TEXT header", imap.SearchCriteria{Text: []string{"giay moi"}}, []uint32{2}},
		{"TEXT đ", imap.SearchCriteria{Text: []string{"đề nghị"}}, []uint32{3}},
		{"NOT", imap.SearchCriteria{Not: []imap.SearchCriteria{{Flag: []imap.Flag{imap.FlagFlagged}}}}, []uint32{2, 3}},
		{"OR", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Flag: []imap.Flag{imap.FlagSeen}}, {Larger: big - 1}}}}, []uint32{1, 2}},
		{"seq 2:*", imap.SearchCriteria{SeqNum: []imap.SeqSet{{{Start: 2, Stop: 0}}}}, []uint32{2, 3}},
		{"UID 1,3 AND TEXT", imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(1, 3)}, Text: []string{"bao cao"}}, []uint32{1, 3}},
		// The fixture's session is the first to select INBOX after the APPENDs: all three are \Recent in it.
		{"RECENT", imap.SearchCriteria{Flag: []imap.Flag{"\\Recent"}}, []uint32{1, 2, 3}},
		{"NEW", imap.SearchCriteria{Flag: []imap.Flag{"\\Recent"}, NotFlag: []imap.Flag{imap.FlagSeen}}, []uint32{1, 3}},
		{"OLD", imap.SearchCriteria{NotFlag: []imap.Flag{"\\Recent"}}, nil},
	}
	checkSearches(t, c, cases)
}

// TestSearchUnlabelledWindows1258: a message in windows-1258 without a charset label, as old Vietnamese mailers
// send it, is found by SEARCH SUBJECT, FROM and BODY and shows its Vietnamese ENVELOPE; BODY[] is the bytes sent.
func TestSearchUnlabelledWindows1258(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	raw := crlf("From: Nguy\xea\xden V\xe3n An <an@example.gov.vn>\n" + // Nguyễn Văn An
		"To: vanthu@example.gov.vn\nSubject: B\xe1o c\xe1o th\xe1ng\n" + // Báo cáo tháng
		"Date: Mon, 05 Jan 2026 14:00:00 +0700\n\n" +
		"B\xe1o c\xe1o t\xf4\xd2ng k\xea\xect. \xd0\xe3ng ky\xec \xf0i\xea\xf2n thoa\xf2i\n") // Báo cáo tổng kết. Đăng ký điện thoại
	appendMsg(t, c, "INBOX", raw, nil)
	selectBox(t, c, "INBOX", false)
	for name, criteria := range map[string]imap.SearchCriteria{
		"SUBJECT": {Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "báo cáo tháng"}}},
		"FROM":    {Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "Nguyễn Văn An"}}},
		"BODY":    {Body: []string{"đăng ký điện thoại"}},
	} {
		data, err := c.Search(&criteria, nil).Wait()
		if err != nil || !slices.Equal(data.AllSeqNums(), []uint32{1}) {
			t.Errorf("SEARCH %s: %v, %v", name, data, err)
		}
	}
	whole := &imap.FetchItemBodySection{Peek: true}
	m := fetchOne(t, c, imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true, BodySection: []*imap.FetchItemBodySection{whole}})
	if m.Envelope.Subject != "Báo cáo tháng" || len(m.Envelope.From) != 1 || m.Envelope.From[0].Name != "Nguyễn Văn An" {
		t.Errorf("ENVELOPE %+v", m.Envelope)
	}
	if got := m.FindBodySection(whole); string(got) != string(raw) {
		t.Errorf("BODY[] is not the message sent:\n%q", got)
	}
}

// TestDeepForwardSearch: text at the bottom of 100 forwards (message/rfc822 in multipart/mixed, 200 levels of
// parts) is found by SEARCH BODY, and the BODYSTRUCTURE shows the text part it is in, whose section FETCH reads.
func TestDeepForwardSearch(t *testing.T) {
	const levels = 100
	msg := "Subject: goc\nContent-Type: text/plain; charset=utf-8\n\nVăn bản gốc ở tầng đáy.\n"
	for i := levels - 1; i >= 0; i-- {
		msg = fmt.Sprintf("Subject: Fwd %d\nContent-Type: multipart/mixed; boundary=f%d\n\n--f%d\n\nlan %d\n"+
			"--f%d\nContent-Type: message/rfc822\n\n%s\n--f%d--\n", i, i, i, i, i, msg, i)
	}
	ts := newTestServer(t)
	c := ts.client(t, nil)
	appendMsg(t, c, "INBOX", crlf(msg), nil)
	selectBox(t, c, "INBOX", false)
	data, err := c.Search(&imap.SearchCriteria{Body: []string{"tầng đáy"}}, nil).Wait()
	if err != nil || !slices.Equal(data.AllSeqNums(), []uint32{1}) {
		t.Fatalf("SEARCH BODY: %v, %v", data, err)
	}
	m := fetchOne(t, c, imap.SeqSetNum(1), &imap.FetchOptions{BodyStructure: &imap.FetchItemBodyStructure{}})
	bs, path := m.BodyStructure, []int{}
	for range levels {
		mp, ok := bs.(*imap.BodyStructureMultiPart)
		if !ok || len(mp.Children) != 2 {
			t.Fatalf("at part %v: %#v, want the forward's multipart", path, bs)
		}
		fwd, ok := mp.Children[1].(*imap.BodyStructureSinglePart)
		if !ok || fwd.MessageRFC822 == nil {
			t.Fatalf("at part %v.2: %#v, want the forwarded message", path, mp.Children[1])
		}
		bs, path = fwd.MessageRFC822.BodyStructure, append(path, 2)
	}
	if leaf, ok := bs.(*imap.BodyStructureSinglePart); !ok || leaf.Type != "text" {
		t.Fatalf("at part %v: %#v, want the original's text", path, bs)
	}
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Part: path, Peek: true}
	m = fetchOne(t, c, imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}})
	if got := string(m.FindBodySection(section)); got != "Văn bản gốc ở tầng đáy.\r\n" {
		t.Errorf("BODY[%v.TEXT] = %q", path, got)
	}
}

func TestUIDSearchESearchAndSearchRes(t *testing.T) {
	ts := newTestServer(t)
	c := searchFixture(t, ts)
	// Expunge message 1 so sequence numbers and UIDs differ.
	storeFlags(t, c, imap.SeqSetNum(1), imap.StoreFlagsAdd, true, imap.FlagDeleted)
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{Text: []string{"bao cao"}}, nil).Wait()
	if err != nil || !slices.Equal(data.AllUIDs(), []imap.UID{3}) {
		t.Fatalf("UID SEARCH TEXT: %v %v", data, err)
	}
	data, err = c.Search(&imap.SearchCriteria{}, &imap.SearchOptions{ReturnMin: true, ReturnMax: true, ReturnCount: true}).Wait()
	if err != nil || data.Min != 1 || data.Max != 2 || data.Count != 2 {
		t.Fatalf("ESEARCH MIN MAX COUNT: %+v %v", data, err)
	}
	data, err = c.UIDSearch(&imap.SearchCriteria{Text: []string{"không có đâu"}}, &imap.SearchOptions{ReturnAll: true, ReturnCount: true}).Wait()
	if err != nil || data.Count != 0 || len(data.AllUIDs()) != 0 {
		t.Fatalf("empty ESEARCH: %+v %v", data, err)
	}
	// SAVE keeps the result for "$" (RFC 5182). imapclient can neither send SAVE nor match FETCH responses to
	// "$", so this part runs on the wire.
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	rc.ok("SELECT INBOX")
	if lines := rc.ok("SEARCH RETURN (SAVE MIN) UNSEEN"); !containsLine(lines, "MIN 2") {
		t.Errorf("SEARCH RETURN (SAVE MIN) answered %q", lines)
	}
	if lines := rc.ok("FETCH $ (UID)"); len(lines) != 1 || lines[0] != "* 2 FETCH (UID 3)" {
		t.Errorf("FETCH $ after SAVE MIN: %q", lines) // only the minimum was saved
	}
	rc.ok("SEARCH RETURN (SAVE) ALL")
	if lines := rc.ok("SEARCH $ FLAGGED"); len(lines) != 1 || lines[0] != "* SEARCH" {
		t.Errorf("SEARCH $ FLAGGED: %q", lines)
	}
	if lines := rc.ok("UID SEARCH $"); len(lines) != 1 || lines[0] != "* SEARCH 2 3" {
		t.Errorf("UID SEARCH $: %q", lines)
	}
}

// SMALLER followed by a key that says nothing of size (a date, LARGER) was forgotten when the server merged the
// keys, so "SMALLER n SINCE d" returned every message (third_party/go-imap PATCHES.md). The go-imap client sends
// the keys in another order, hence the raw command.
func TestDialogSearchSmallerThenOtherKeys(t *testing.T) {
	ts := newTestServer(t)
	searchFixture(t, ts)
	big := len(reportMessage())
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	rc.ok("SELECT INBOX")
	for _, keys := range []string{"SMALLER %d SINCE 1-Jan-2000", "SMALLER %d LARGER 10", "SMALLER %d SENTBEFORE 1-Jan-2100"} {
		lines := rc.ok("SEARCH "+keys, big)
		if !slices.Contains(lines, "* SEARCH 2 3") {
			t.Errorf("SEARCH %s: %q; want messages 2 and 3", fmt.Sprintf(keys, big), lines)
		}
	}
}

// TestSearchHeaderPresence: HEADER with an empty string matches every message that has the field, whatever its
// value (RFC 9051 6.4.4), also for the fields otherwise answered from the envelope: a missing Subject is not an
// empty one, and "To: undisclosed-recipients:;" is a To field with no address.
func TestSearchHeaderPresence(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	appendMsg(t, c, "INBOX", crlf("From: a@example.gov.vn\nSubject: \nTo: undisclosed-recipients:;\n\nbody\n"), nil)
	appendMsg(t, c, "INBOX", crlf("From: b@example.gov.vn\n\nbody\n"), nil)
	selectBox(t, c, "INBOX", false)
	header := func(key string) imap.SearchCriteria { return headerKey(key, "") }
	cases := []searchCase{
		{"HEADER SUBJECT", header("Subject"), []uint32{1}},
		{"NOT HEADER SUBJECT", imap.SearchCriteria{Not: []imap.SearchCriteria{header("subject")}}, []uint32{2}},
		{"HEADER TO", header("To"), []uint32{1}},
		{"HEADER FROM", header("From"), []uint32{1, 2}},
	}
	checkSearches(t, c, cases)
}

// TestDialogSearchTextNotUTF8: a search string that is not UTF-8 (a lone byte of a multibyte sequence, as
// imaptest's stress sends) matches no message, since decoded mail holds no such bytes; it used to fold to nothing
// and match every message. Its negation matches every message, and valid Vietnamese text still searches.
func TestDialogSearchTextNotUTF8(t *testing.T) {
	ts := newTestServer(t)
	rc := dialLoggedIn(t, ts)
	rc.ok("APPEND INBOX {%d+}\r\n%s", len("Subject: Báo cáo\r\n\r\nx\r\n"), "Subject: Báo cáo\r\n\r\nx\r\n")
	rc.ok("APPEND INBOX {%d+}\r\n%s", len("Subject: other\r\n\r\ny\r\n"), "Subject: other\r\n\r\ny\r\n")
	rc.ok("SELECT INBOX")
	for _, c := range []struct{ cmd, want string }{
		{"SEARCH SUBJECT {1+}\r\n\x82", "* SEARCH"},
		{"SEARCH TEXT {2+}\r\n\x82\xcc", "* SEARCH"},
		{"SEARCH HEADER X-Test {1+}\r\n\x82", "* SEARCH"},
		{"UID SORT (DATE) UTF-8 BODY {1+}\r\n\xff", "* SORT"},
		{"SEARCH NOT SUBJECT {1+}\r\n\x82", "* SEARCH 1 2"},
		{"SEARCH CHARSET UTF-8 SUBJECT {7+}\r\nbao cao", "* SEARCH 1"},
	} {
		if lines := rc.ok("%s", c.cmd); !slices.Contains(lines, c.want) {
			t.Errorf("%q: %q, want %q", c.cmd, lines, c.want)
		}
	}
}
