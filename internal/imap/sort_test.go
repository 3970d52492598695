package imap

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/metrics"
	"mailserver/internal/metrics/metricstest"
)

// sortMessage is one message of sortFixture.
type sortMessage struct {
	from, to, cc, subject string
	date                  string // Date header; "" for none
	internal              time.Time
	pad                   int // body bytes, to order RFC822.SIZE
}

// sortFixture appends five messages to INBOX and selects it. Expected orders, worked out by hand:
//
//	ARRIVAL 5 3 2 1 4 · DATE 2 3 4 5 1 (3 has no Date: its INTERNALDATE counts; 4 and 5 tie) · SIZE 2 3 4 5 1
//	SUBJECT 1 4 2 3 5 (Báo cáo, de an, Đề nghị, Dự thảo, Eo) · FROM 2 3 4 5 1 (4 "Chi" and 5 "chi" tie)
//	TO 2 1 5 3 4 · CC 2 1 3 4 5 (2 has none; 4 "Binh" and 5 "binh" tie)
//	DISPLAYFROM 2 3 5 4 1 (an@x.vn, Bình, Đào, Út, Zed) · DISPLAYTO 2 3 1 5 4 (a@x.vn, Ánh, b@x.vn, bảo, Đức)
func sortFixture(t *testing.T, ts *testServer) *imapclient.Client {
	t.Helper()
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, ict) }
	msgs := []sortMessage{
		{`"Zed" <zed@x.vn>`, "b@x.vn", "aa@x.vn", "Báo cáo", "Tue, 3 Mar 2026 10:00:00 +0700", day(5, 8), 4000},
		{"an@x.vn", "a@x.vn", "", "Re: Đề nghị", "Sun, 1 Mar 2026 10:00:00 +0700", day(4, 8), 0},
		{`"Bình" <binh@x.vn>`, `"Ánh" <c@x.vn>`, "an@x.vn", "Dự thảo", "", day(2, 8), 1000},
		{`"Út" <Chi@x.vn>`, `"Đức" <duc@x.vn>`, "Binh@x.vn", "de an", "Mon, 2 Mar 2026 12:00:00 +0700", day(6, 8), 2000},
		{`"Đào" <chi@x.vn>`, `"bảo" <bao@x.vn>`, "binh@x.vn", "[VP] Eo (fwd)", "Mon, 2 Mar 2026 12:00:00 +0700", day(1, 8), 3000},
	}
	c := ts.client(t, nil)
	for _, m := range msgs {
		appendMsg(t, c, "INBOX", m.raw(), &imap.AppendOptions{Time: m.internal})
	}
	selectBox(t, c, "INBOX", false)
	return c
}

func (m sortMessage) raw() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\n", m.from, m.to)
	if m.cc != "" {
		fmt.Fprintf(&b, "Cc: %s\r\n", m.cc)
	}
	if m.date != "" {
		fmt.Fprintf(&b, "Date: %s\r\n", m.date)
	}
	fmt.Fprintf(&b, "Subject: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", m.subject, strings.Repeat("x", m.pad))
	return []byte(b.String())
}

func sortBy(t *testing.T, c *imapclient.Client, search *imap.SearchCriteria, criteria ...imapclient.SortCriterion) []uint32 {
	t.Helper()
	nums, err := c.Sort(&imapclient.SortOptions{SearchCriteria: search, SortCriteria: criteria}).Wait()
	if err != nil {
		t.Fatalf("SORT %v: %v", criteria, err)
	}
	return nums
}

func TestSortEveryKey(t *testing.T) {
	ts := newTestServer(t)
	c := sortFixture(t, ts)
	key := func(k imap.SortKey) imapclient.SortCriterion {
		return imapclient.SortCriterion{Key: imapclient.SortKey(k)}
	}
	reverse := func(k imap.SortKey) imapclient.SortCriterion {
		return imapclient.SortCriterion{Key: imapclient.SortKey(k), Reverse: true}
	}
	all := &imap.SearchCriteria{}
	for _, tc := range []struct {
		criteria []imapclient.SortCriterion
		want     []uint32
	}{
		{[]imapclient.SortCriterion{key(imap.SortKeyArrival)}, []uint32{5, 3, 2, 1, 4}},
		{[]imapclient.SortCriterion{key(imap.SortKeyDate)}, []uint32{2, 3, 4, 5, 1}},
		{[]imapclient.SortCriterion{key(imap.SortKeySize)}, []uint32{2, 3, 4, 5, 1}},
		{[]imapclient.SortCriterion{key(imap.SortKeySubject)}, []uint32{1, 4, 2, 3, 5}},
		{[]imapclient.SortCriterion{key(imap.SortKeyFrom)}, []uint32{2, 3, 4, 5, 1}},
		{[]imapclient.SortCriterion{key(imap.SortKeyTo)}, []uint32{2, 1, 5, 3, 4}},
		{[]imapclient.SortCriterion{key(imap.SortKeyCc)}, []uint32{2, 1, 3, 4, 5}},
		{[]imapclient.SortCriterion{key(imap.SortKeyDisplayFrom)}, []uint32{2, 3, 5, 4, 1}},
		{[]imapclient.SortCriterion{key(imap.SortKeyDisplayTo)}, []uint32{2, 3, 1, 5, 4}},
		// REVERSE turns the key around, not the final tie-break by sequence number (RFC 5256 section 3).
		{[]imapclient.SortCriterion{reverse(imap.SortKeySubject)}, []uint32{5, 3, 2, 4, 1}},
		{[]imapclient.SortCriterion{reverse(imap.SortKeyFrom)}, []uint32{1, 4, 5, 3, 2}},
		{[]imapclient.SortCriterion{reverse(imap.SortKeyDate)}, []uint32{1, 4, 5, 3, 2}},
		{[]imapclient.SortCriterion{reverse(imap.SortKeyDate), reverse(imap.SortKeySubject)}, []uint32{1, 5, 4, 3, 2}},
		{[]imapclient.SortCriterion{key(imap.SortKeyCc), key(imap.SortKeyArrival)}, []uint32{2, 1, 3, 5, 4}},
		{[]imapclient.SortCriterion{key(imap.SortKeyFrom), reverse(imap.SortKeySize)}, []uint32{2, 3, 5, 4, 1}},
	} {
		if got := sortBy(t, c, all, tc.criteria...); !slices.Equal(got, tc.want) {
			t.Errorf("SORT %v: %v, want %v", tc.criteria, got, tc.want)
		}
	}
	// The search keys choose the messages; UID SORT answers with UIDs.
	if got := sortBy(t, c, &imap.SearchCriteria{SeqNum: []imap.SeqSet{imap.SeqSetNum(2, 3, 4)}}, key(imap.SortKeySubject)); !slices.Equal(got, []uint32{4, 2, 3}) {
		t.Errorf("SORT (SUBJECT) 2:4: %v", got)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	nums, err := c.UIDSort(&imapclient.SortOptions{SearchCriteria: all, SortCriteria: []imapclient.SortCriterion{key(imap.SortKeySubject)}}).Wait()
	if err != nil || !slices.Equal(nums, []uint32{4, 2, 3, 5}) {
		t.Errorf("UID SORT (SUBJECT) after expunging 1: %v, %v", nums, err)
	}
	if got := sortBy(t, c, all, key(imap.SortKeySubject)); !slices.Equal(got, []uint32{3, 1, 2, 4}) {
		t.Errorf("SORT (SUBJECT) after expunging 1: %v", got)
	}
}

// Subjects sort by their base subject (RFC 5256 section 2.1), folded: Vietnamese diacritics and Đ are ignored,
// ASCII case is (i;ascii-casemap), and equal subjects keep sequence order.
func TestSortBaseSubjectsVietnamese(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	subjects := []string{
		"Re: Fwd: Đề nghị cấp kinh phí", // 1: "Đề nghị cấp kinh phí"
		"[VP-UBND] Dự thảo quyết định",  // 2: "Dự thảo quyết định"
		"de nghi cap kinh phi (fwd)",    // 3: ties 1 by key; "DE NGHI…" before "ĐỀ NGHỊ…"
		"Fw: [tin] Re: Báo cáo",         // 4: "Báo cáo"
		"Eo biển",                       // 5
		"RE: [FWD: BÁO CÁO]",            // 6: "BÁO CÁO"
		"báo cáo",                       // 7: equal to 4 under i;ascii-casemap: sequence order
		"Dang ky",                       // 8
		"Cuộc họp",                      // 9
		"BÁO CÁO",                       // 10: equal to 6: sequence order
	}
	for i, s := range subjects {
		appendMsg(t, c, "INBOX", fmt.Appendf(nil, "Subject: %s\r\nMessage-ID: <s%d@x>\r\n\r\nx\r\n", s, i), nil)
	}
	selectBox(t, c, "INBOX", true)
	// Keys: bao cao ×4 (texts "BÁO CÁO" 6 and 10 before "Báo cáo" 4 and "báo cáo" 7, casemapped "BáO CáO",
	// since only ASCII letters are case-mapped and "Á" is 0xC3 0x81, "á" 0xC3 0xA1), cuoc hop 9, dang ky 8,
	// de nghi ×2 (3 before 1: "D" is below "Đ"), du thao 2, eo bien 5.
	want := []uint32{6, 10, 4, 7, 9, 8, 3, 1, 2, 5}
	if got := sortBy(t, c, &imap.SearchCriteria{}, imapclient.SortCriterion{Key: imapclient.SortKeySubject}); !slices.Equal(got, want) {
		t.Errorf("SORT (SUBJECT): %v, want %v", got, want)
	}
}

// threadString writes threads as the THREAD response does.
func threadString(threads []imapclient.ThreadData) string {
	var b strings.Builder
	var write func(d imapclient.ThreadData)
	write = func(d imapclient.ThreadData) {
		b.WriteByte('(')
		for i, n := range d.Chain {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprint(&b, n)
		}
		if len(d.Chain) > 0 && len(d.SubThreads) > 0 {
			b.WriteByte(' ')
		}
		for _, s := range d.SubThreads {
			write(s)
		}
		b.WriteByte(')')
	}
	for _, d := range threads {
		write(d)
	}
	return b.String()
}

func threadBy(t *testing.T, c *imapclient.Client, alg imap.ThreadAlgorithm) string {
	t.Helper()
	threads, err := c.Thread(&imapclient.ThreadOptions{Algorithm: alg, SearchCriteria: &imap.SearchCriteria{}}).Wait()
	if err != nil {
		t.Fatalf("THREAD %s: %v", alg, err)
	}
	return threadString(threads)
}

// appendThreadMessage appends a message with the given ids and subject, sent on day d of March 2026.
func appendThreadMessage(t *testing.T, c *imapclient.Client, id, refs, subject string, d int) {
	t.Helper()
	raw := fmt.Sprintf("Subject: %s\r\nDate: %s\r\n", subject, time.Date(2026, 3, d, 8, 0, 0, 0, ict).Format(time.RFC1123Z))
	if id != "" {
		raw += "Message-ID: " + id + "\r\n"
	}
	if refs != "" {
		raw += "References: " + refs + "\r\n"
	}
	appendMsg(t, c, "INBOX", []byte(raw+"\r\nx\r\n"), nil)
}

func TestThreadReferencesAndOrderedSubject(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	appendThreadMessage(t, c, "<a@x>", "", "Kế hoạch", 1)                // 1
	appendThreadMessage(t, c, "<b@x>", "<a@x>", "Re: Kế hoạch", 2)       // 2: reply to 1
	appendThreadMessage(t, c, "<c@x>", "<gone@x>", "Lịch họp", 3)        // 3: parent missing
	appendThreadMessage(t, c, "<d@x>", "<gone@x>", "Re: Lịch họp", 4)    // 4: its sibling under the missing parent
	appendThreadMessage(t, c, "<e@x>", "", "Re: Kế hoạch", 5)            // 5: no references: joins 1 by subject
	appendThreadMessage(t, c, "<f@x>", "<a@x> <b@x>", "Re: Kế hoạch", 6) // 6: reply to 2
	appendThreadMessage(t, c, "<g@x>", "", "Báo cáo", 7)                 // 7 and 8: same subject, neither a reply:
	appendThreadMessage(t, c, "<h@x>", "", "Báo cáo", 8)                 // a dummy holds both
	appendThreadMessage(t, c, "", "<h@x>", "Re: Báo cáo", 0)             // 9: sent first, reply to 8, no id
	selectBox(t, c, "INBOX", true)

	// The dummy holding 7 and 8 sorts by its first child, 7, although 8's reply 9 was sent before all others.
	if got, want := threadBy(t, c, imap.ThreadReferences), "(1 (2 6)(5))((3)(4))((7)(8 9))"; got != want {
		t.Errorf("THREAD REFERENCES: %s, want %s", got, want)
	}
	if got, want := threadBy(t, c, imap.ThreadOrderedSubject), "(9 (7)(8))(1 (2)(5)(6))(3 4)"; got != want {
		t.Errorf("THREAD ORDEREDSUBJECT: %s, want %s", got, want)
	}
}

// References that loop, a message referring to itself and a repeated Message-ID must not hang THREAD or lose a
// message. 1 goes under q (a dummy then), 2 is q and finds its parent p already below it; 3 refers to itself and
// stays a root until 4, whose id is 3's and so counts as none, links r under p and goes under r.
func TestThreadReferencesLoopsAndDuplicateIDs(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	appendThreadMessage(t, c, "<p@x>", "<q@x>", "p", 1)       // 1
	appendThreadMessage(t, c, "<q@x>", "<p@x>", "q", 2)       // 2: p and q refer to each other
	appendThreadMessage(t, c, "<r@x>", "<r@x>", "r", 3)       // 3: refers to itself
	appendThreadMessage(t, c, "<r@x>", "<p@x> <r@x>", "s", 4) // 4: repeats 3's id: counts as none
	selectBox(t, c, "INBOX", true)
	if got, want := threadBy(t, c, imap.ThreadReferences), "(2 1 3 4)"; got != want {
		t.Errorf("THREAD REFERENCES: %s, want %s", got, want)
	}
}

// ESORT (RFC 5267) and SORT=DISPLAY (RFC 5957) on the wire, and the errors of malformed commands.
func TestDialogESortAndDisplay(t *testing.T) {
	ts := newTestServer(t)
	sortFixture(t, ts)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	caps := rc.ok("CAPABILITY")
	for _, c := range []string{" SORT ", " SORT=DISPLAY ", " ESORT ", " THREAD=ORDEREDSUBJECT ", " THREAD=REFERENCES"} {
		if !containsLine(caps, c) {
			t.Errorf("CAPABILITY lacks %q: %q", c, caps)
		}
	}
	rc.ok("SELECT INBOX")
	for _, tc := range []struct{ cmd, want string }{
		{"SORT (DISPLAYFROM) UTF-8 ALL", "* SORT 2 3 5 4 1"},
		{"SORT (REVERSE DISPLAYTO) UTF-8 ALL", "* SORT 4 5 1 3 2"},
		{"SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL", `* ESEARCH (TAG "T%d") MIN 1 MAX 5 ALL 1,4,2:3,5 COUNT 5`},
		{"SORT RETURN () (REVERSE ARRIVAL) US-ASCII 1:5", `* ESEARCH (TAG "T%d") ALL 4,1:3,5`},
		{"UID SORT RETURN (COUNT MAX) (SIZE) UTF-8 2:4", `* ESEARCH (TAG "T%d") UID MAX 4 COUNT 3`},
		{`SORT RETURN (MIN ALL COUNT) (SUBJECT) UTF-8 SUBJECT "không có"`, `* ESEARCH (TAG "T%d") COUNT 0`},
		{"THREAD ORDEREDSUBJECT UTF-8 ALL", "* THREAD (2)(3)(4)(5)(1)"},
		{`THREAD REFERENCES UTF-8 SUBJECT "không có"`, "* THREAD"},
	} {
		want := tc.want
		if strings.Contains(want, "%d") {
			want = fmt.Sprintf(want, rc.tag+1)
		}
		if lines := rc.ok("%s", tc.cmd); !slices.Contains(lines, want) {
			t.Errorf("%s: %q, want %q", tc.cmd, lines, want)
		}
	}
	for _, tc := range []struct{ cmd, status string }{
		{"SORT () UTF-8 ALL", "BAD"},
		{"SORT (SENDER) UTF-8 ALL", "BAD"},
		{"SORT (REVERSE) UTF-8 ALL", "BAD"},
		{"SORT RETURN (SAVE) (DATE) UTF-8 ALL", "BAD"},
		{"SORT (DATE) UTF-8", "BAD"},
		{"SORT (DATE) KOI8-R ALL", "NO [BADCHARSET]"},
		{"THREAD MAGIC UTF-8 ALL", "BAD"},
	} {
		if _, status := rc.cmd("%s", tc.cmd); !strings.HasPrefix(status, tc.status) {
			t.Errorf("%s: %s, want %s", tc.cmd, status, tc.status)
		}
	}
}

// SORT and THREAD are counted under their names, the UID forms apart.
func TestSortAndThreadCounted(t *testing.T) {
	m := metrics.New(nil)
	ts := newTestServer(t, func(c *testConfig) { c.opts.Metrics = m })
	c := sortFixture(t, ts)
	all := &imap.SearchCriteria{}
	sortBy(t, c, all, imapclient.SortCriterion{Key: imapclient.SortKeyDate})
	if _, err := c.UIDSort(&imapclient.SortOptions{SearchCriteria: all, SortCriteria: []imapclient.SortCriterion{{Key: imapclient.SortKeyDate}}}).Wait(); err != nil {
		t.Fatal(err)
	}
	threadBy(t, c, imap.ThreadReferences)
	s := metricstest.Gather(t, m)
	for command, want := range map[string]float64{"SORT": 1, "UID SORT": 1, "THREAD": 1, "UID THREAD": 0, "other": 0} {
		s.Want(t, want, "mailserver_imap_command_duration_seconds_count", "command", command)
	}
}

// Like SEARCH, SORT and THREAD answer with sequence numbers, so an expunge by another session is not reported
// after them, only after a command that allows it (RFC 3501 section 7.4.1); UID SORT may report it.
func TestDialogNoExpungeAfterSortOrThread(t *testing.T) {
	ts := newTestServer(t)
	other := sortFixture(t, ts)
	rc := dialRaw(t, ts.addr)
	rc.ok("LOGIN %s %q", testUser, testPassword)
	rc.ok("SELECT INBOX")
	if err := other.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"SORT (SUBJECT) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL"} {
		if lines := rc.ok("%s", cmd); containsLine(lines, "EXPUNGE") {
			t.Errorf("%s reported an expunge: %q", cmd, lines)
		}
	}
	if lines := rc.ok("UID SORT (SUBJECT) UTF-8 ALL"); !slices.Contains(lines, "* 1 EXPUNGE") {
		t.Errorf("UID SORT after the expunge: %q", lines)
	}
}
