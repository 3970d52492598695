package imap

import (
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestListPatternMatch(t *testing.T) {
	cases := []struct {
		ref, pattern, name string
		want               bool
	}{
		{"", "*", "Phòng/2026/Báo cáo", true},
		{"", "%", "Phòng/2026", false},
		{"", "%", "Phòng", true},
		{"", "Phòng/%", "Phòng/2026", true},
		{"", "Phòng/%", "Phòng/2026/Báo cáo", false},
		{"", "Phòng/*", "Phòng/2026/Báo cáo", true},
		{"", "*cáo", "Phòng/2026/Báo cáo", true},
		{"", "%cáo", "Phòng/2026/Báo cáo", false},
		{"", "*/%/B%", "Phòng/2026/Báo cáo", true},
		{"", "*a%", "a/a", true},    // greedy matching of "a" after "*" would fail here
		{"", "%a%", "xa/ab", false}, // "%" cannot cross the delimiter
		{"", "P%%*o", "Phòng/2026/Báo cáo", true},
		{"", "inbox", "INBOX", true},
		{"", "In%", "INBOX", true},
		{"", "inbox/%", "INBOX/Con", true},
		{"", "inbox/%", "INBOX/Con/Cháu", false},
		{"", "Sent", "sent", false}, // only INBOX is case-insensitive
		{"Phòng/", "%", "Phòng/2026", true},
		{"Phòng/", "%", "Phòng", false},
		{"Phòng/", "/Drafts", "Drafts", true}, // a pattern starting with the delimiter ignores the reference
		{"Phò", "ng/*", "Phòng/2026", true},   // reference and pattern are concatenated
		{"", "", "INBOX", false},
		{"", "Drafts", "Drafts/x", false},
	}
	for _, tc := range cases {
		m := newListMatcher(tc.ref, []string{tc.pattern})
		if got := m.match(tc.name); got != tc.want {
			t.Errorf("LIST %q %q vs %q: got %v, want %v", tc.ref, tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestListPatternLinear(t *testing.T) {
	pattern := "*a*a*a*a*a*a*a*a*a*b"
	name := strings.Repeat("a", 1000) // never matches: no b
	m := newListMatcher("", []string{pattern, strings.Repeat("%a", 200) + "%b"})
	// A backtracking matcher would not finish this in a lifetime; a linear one does it in microseconds.
	for range 100 {
		if m.match(name) {
			t.Fatal("pathological pattern matched")
		}
	}
	if !m.match(name + "b") {
		t.Error("pattern did not match with the b")
	}
}

func listAll(t *testing.T, c *imapclient.Client, ref, pattern string, o *imap.ListOptions) map[string]*imap.ListData {
	t.Helper()
	list, err := c.List(ref, pattern, o).Collect()
	if err != nil {
		t.Fatalf("LIST %q %q: %v", ref, pattern, err)
	}
	out := map[string]*imap.ListData{}
	for _, d := range list {
		out[d.Mailbox] = d
	}
	return out
}

func hasAttr(d *imap.ListData, a imap.MailboxAttr) bool {
	return d != nil && slices.Contains(d.Attrs, a)
}

func TestListDefaultsAndSpecialUse(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	if err := c.Create("Phòng/2026/Báo cáo", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	all := listAll(t, c, "", "*", nil)
	uses := map[string]imap.MailboxAttr{"Drafts": imap.MailboxAttrDrafts, "Sent": imap.MailboxAttrSent,
		"Trash": imap.MailboxAttrTrash, "Junk": imap.MailboxAttrJunk, "Archive": imap.MailboxAttrArchive}
	for name, use := range uses {
		if !hasAttr(all[name], use) || !hasAttr(all[name], imap.MailboxAttrHasNoChildren) {
			t.Errorf("LIST %s: attrs %v, want %s and \\HasNoChildren", name, all[name], use)
		}
	}
	if all["INBOX"] == nil || !hasAttr(all["Phòng"], imap.MailboxAttrHasChildren) ||
		!hasAttr(all["Phòng/2026/Báo cáo"], imap.MailboxAttrHasNoChildren) {
		t.Errorf("LIST *: %v", keys(all))
	}
	top := listAll(t, c, "", "%", nil)
	if len(top) != 7 || top["Phòng/2026"] != nil {
		t.Errorf("LIST %%: %v", keys(top))
	}
	special := listAll(t, c, "", "*", &imap.ListOptions{SelectSpecialUse: true})
	if len(special) != 5 || special["INBOX"] != nil {
		t.Errorf("LIST (SPECIAL-USE): %v", keys(special))
	}
	root, err := c.List("", "", nil).Collect()
	if err != nil || len(root) != 1 || root[0].Delim != '/' || !hasAttr(root[0], imap.MailboxAttrNoSelect) {
		t.Errorf(`LIST "" "": %+v, %v`, root, err)
	}
}

func TestListSubscribedAndStatus(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	for _, name := range []string{"A/B/C", "X"} {
		if err := c.Create(name, nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Subscribe("A/B/C").Wait(); err != nil { // CREATE subscribes nothing
		t.Fatal(err)
	}
	sub := listAll(t, c, "", "*", &imap.ListOptions{SelectSubscribed: true})
	if sub["A"] != nil || sub["X"] != nil || !hasAttr(sub["A/B/C"], imap.MailboxAttrSubscribed) {
		t.Errorf("LIST (SUBSCRIBED): %v", keys(sub))
	}
	rec := listAll(t, c, "", "%", &imap.ListOptions{SelectSubscribed: true, SelectRecursiveMatch: true})
	if rec["A"] == nil || rec["A"].ChildInfo == nil || !rec["A"].ChildInfo.Subscribed || hasAttr(rec["A"], imap.MailboxAttrSubscribed) {
		t.Errorf("LIST (SUBSCRIBED RECURSIVEMATCH) %%: A = %+v", rec["A"])
	}
	if rec["X"] != nil {
		t.Error("unsubscribed X without subscribed children listed")
	}
	lsub, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil || len(lsub) == 0 {
		t.Fatalf("LSUB-like LIST: %v %v", lsub, err)
	}
	// A deleted mailbox stays subscribed and is listed as \NonExistent (RFC 9051 6.3.9, RFC 5258 3.1).
	if err := c.Delete("A/B/C").Wait(); err != nil {
		t.Fatal(err)
	}
	gone := listAll(t, c, "", "*", &imap.ListOptions{SelectSubscribed: true})["A/B/C"]
	if !hasAttr(gone, imap.MailboxAttrNonExistent) || !hasAttr(gone, imap.MailboxAttrSubscribed) {
		t.Errorf("deleted subscribed mailbox: %+v", gone)
	}
	if all := listAll(t, c, "", "*", nil); all["A/B/C"] != nil {
		t.Error("a plain LIST shows the deleted mailbox")
	}

	appendMsg(t, c, "X", []byte("Subject: x\r\n\r\nhello\r\n"), nil)
	st := listAll(t, c, "", "*", &imap.ListOptions{ReturnSubscribed: true, ReturnStatus: &imap.StatusOptions{
		NumMessages: true, UIDNext: true, UIDValidity: true, NumUnseen: true, NumDeleted: true, Size: true,
		AppendLimit: true,
	}})
	x := st["X"]
	if x == nil || x.Status == nil || *x.Status.NumMessages != 1 || *x.Status.NumUnseen != 1 || x.Status.UIDNext != 2 ||
		*x.Status.Size == 0 || *x.Status.AppendLimit != defaultAppendLimit || x.Status.UIDValidity == 0 {
		t.Fatalf("LIST RETURN (STATUS) X: %+v", x)
	}
	if hasAttr(x, imap.MailboxAttrSubscribed) || !hasAttr(st["INBOX"], imap.MailboxAttrSubscribed) {
		t.Errorf("RETURN (SUBSCRIBED): X %v, INBOX %v", x.Attrs, st["INBOX"].Attrs)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestDialogChildInfo: CHILDINFO goes only with a mailbox that is not subscribed itself and has a subscribed
// descendant the patterns do not match (RFC 5258 3.5, 4); a descendant the patterns match is listed on its own.
func TestDialogChildInfo(t *testing.T) {
	ts := newTestServer(t)
	rc := dialLoggedIn(t, ts)
	rc.ok("CREATE A/B")
	rc.ok("CREATE S/T")
	rc.ok("SUBSCRIBE A/B")
	rc.ok("SUBSCRIBE S")
	rc.ok("SUBSCRIBE S/T")
	lines := rc.ok(`LIST (SUBSCRIBED RECURSIVEMATCH) "" %%`)
	if !containsLine(lines, `"A" (CHILDINFO ("SUBSCRIBED"))`) || containsLine(lines, `"S" (CHILDINFO`) {
		t.Errorf("LIST (SUBSCRIBED RECURSIVEMATCH) %%: %q", lines)
	}
	lines = rc.ok(`LIST (SUBSCRIBED RECURSIVEMATCH) "" (A A/B)`)
	if containsLine(lines, `"A"`) || !containsLine(lines, `"A/B"`) {
		t.Errorf("LIST (SUBSCRIBED RECURSIVEMATCH) (A A/B): %q", lines)
	}
}

// TestDialogLSubParents: LSUB with % lists a level that is not subscribed itself but has subscribed children as
// \Noselect (RFC 3501 6.3.9); with * the children are listed instead.
func TestDialogLSubParents(t *testing.T) {
	ts := newTestServer(t)
	rc := dialLoggedIn(t, ts)
	rc.ok("CREATE P/C")
	rc.ok("CREATE Q")
	rc.ok("SUBSCRIBE P/C")
	lines := rc.ok(`LSUB "" %%`)
	if !containsLine(lines, `\Noselect) "/" "P"`) || containsLine(lines, `"Q"`) || containsLine(lines, `"P/C"`) {
		t.Errorf(`LSUB "" %%: %q`, lines)
	}
	lines = rc.ok(`LSUB "" *`)
	if containsLine(lines, `"P"`) || !containsLine(lines, `"P/C"`) {
		t.Errorf(`LSUB "" *: %q`, lines)
	}
}
