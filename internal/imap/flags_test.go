package imap

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func sortedFlags(f []imap.Flag) []imap.Flag {
	out := slices.Clone(f)
	slices.Sort(out)
	return out
}

func storeFlags(t *testing.T, c *imapclient.Client, set imap.NumSet, op imap.StoreFlagsOp, silent bool, flags ...imap.Flag) []*imapclient.FetchMessageBuffer {
	t.Helper()
	msgs, err := c.Store(set, &imap.StoreFlags{Op: op, Silent: silent, Flags: flags}, nil).Collect()
	if err != nil {
		t.Fatalf("STORE %v %v: %v", op, flags, err)
	}
	return msgs
}

// fillInbox appends n small messages to INBOX.
func fillInbox(t *testing.T, c *imapclient.Client, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		appendMsg(t, c, "INBOX", []byte(fmt.Sprintf("Subject: thư số %d\r\n\r\nnội dung %d\r\n", i, i)), nil)
	}
}

func TestStoreForms(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	fillInbox(t, c, 3)
	selectBox(t, c, "INBOX", false)
	selectBox(t, c, "INBOX", false) // again: the messages are no longer \Recent, which this test is not about

	msgs := storeFlags(t, c, imap.SeqSetNum(1, 2), imap.StoreFlagsAdd, false, imap.FlagFlagged, "$Label1")
	if len(msgs) != 2 || !slices.Equal(sortedFlags(msgs[0].Flags), []imap.Flag{"$Label1", imap.FlagFlagged}) {
		t.Fatalf("+FLAGS response: %+v", msgs)
	}
	msgs = storeFlags(t, c, imap.UIDSetNum(2), imap.StoreFlagsDel, false, "$label1") // keywords are case-insensitive
	if len(msgs) != 1 || msgs[0].UID != 2 || !slices.Equal(msgs[0].Flags, []imap.Flag{imap.FlagFlagged}) {
		t.Fatalf("UID STORE -FLAGS response: %+v", msgs)
	}
	msgs = storeFlags(t, c, imap.SeqSetNum(3), imap.StoreFlagsSet, false, imap.FlagAnswered, imap.FlagDraft, "Viec_gap")
	if len(msgs) != 1 || !slices.Equal(sortedFlags(msgs[0].Flags), sortedFlags([]imap.Flag{imap.FlagAnswered, imap.FlagDraft, "Viec_gap"})) {
		t.Fatalf("FLAGS response: %+v", msgs[0])
	}
	if msgs = storeFlags(t, c, imap.SeqSet{{Start: 1, Stop: 0}}, imap.StoreFlagsAdd, true, imap.FlagSeen); len(msgs) != 0 {
		t.Fatalf(".SILENT produced %d FETCH responses", len(msgs))
	}
	all, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(all) != 3 {
		t.Fatalf("FETCH 1:* FLAGS: %v %v", all, err)
	}
	want := [][]imap.Flag{
		{"$Label1", imap.FlagFlagged, imap.FlagSeen},
		{imap.FlagFlagged, imap.FlagSeen},
		{imap.FlagAnswered, imap.FlagDraft, imap.FlagSeen, "Viec_gap"},
	}
	for i, m := range all {
		if !slices.Equal(sortedFlags(m.Flags), sortedFlags(want[i])) {
			t.Errorf("message %d flags %v, want %v", i+1, m.Flags, want[i])
		}
	}
	data := selectBox(t, c, "INBOX", false)
	if !slices.Contains(data.Flags, "$Label1") || !slices.Contains(data.PermanentFlags, imap.FlagWildcard) {
		t.Errorf("SELECT FLAGS %v PERMANENTFLAGS %v", data.Flags, data.PermanentFlags)
	}
}

// TestDialogNewKeywordAnnouncedBeforeFetch: a keyword used for the first time in a mailbox reaches every session
// in an untagged FLAGS (with PERMANENTFLAGS) before any FETCH that shows it: the session whose STORE set it, one
// that FETCHes before its next NOOP would have told it, and one told by its NOOP.
func TestDialogNewKeywordAnnouncedBeforeFetch(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	appendMsg(t, c, "INBOX", []byte("Subject: a\r\n\r\nbody\r\n"), nil)
	a, b := dialRaw(t, ts.addr), dialRaw(t, ts.addr)
	for _, rc := range []*rawConn{a, b} {
		rc.ok("LOGIN %s %q", testUser, testPassword)
		rc.ok("SELECT INBOX")
	}
	flagsFirst := func(who string, lines []string, keyword string) {
		t.Helper()
		flags, perm, fetch := -1, -1, -1
		for i, l := range lines {
			switch {
			case strings.HasPrefix(l, "* FLAGS (") && strings.Contains(l, keyword) && flags < 0:
				flags = i
			case strings.HasPrefix(l, "* OK [PERMANENTFLAGS (") && strings.Contains(l, keyword) && perm < 0:
				perm = i
			case strings.Contains(l, " FETCH (") && strings.Contains(l, keyword) && fetch < 0:
				fetch = i
			}
		}
		if fetch < 0 || flags < 0 || flags > fetch || perm < 0 || perm > fetch {
			t.Errorf("%s: want FLAGS and PERMANENTFLAGS with %s before the FETCH showing it: %q", who, keyword, lines)
		}
	}
	flagsFirst("STORE", a.ok(`STORE 1 +FLAGS ($Moi)`), "$Moi")
	flagsFirst("FETCH in another session", b.ok("FETCH 1 FLAGS"), "$Moi")
	flagsFirst("UID STORE", a.ok(`UID STORE 1 FLAGS (\Seen $Khac)`), "$Khac")
	flagsFirst("NOOP in another session", b.ok("NOOP"), "$Khac")
}

// TestAnnounceKeepsShownKeywords: a FLAGS response built from a keyword list older than one the session already
// showed (its own STORE's commit not yet in the live state) still names every keyword shown before; a client
// drops the keywords a FLAGS leaves out, and imaptest calls that "Keyword dropped, but it still had references".
func TestAnnounceKeepsShownKeywords(t *testing.T) {
	sel := &selection{canWrite: true, announced: map[string]string{}}
	sel.announce([]string{"$Label1", "$Label4"})
	flagList, permanent := sel.announce([]string{"$Label1", "$label5"})
	for _, want := range []imap.Flag{"$Label1", "$Label4", "$label5"} {
		if !slices.Contains(flagList, want) || !slices.Contains(permanent, want) {
			t.Errorf("FLAGS %v, PERMANENTFLAGS %v: want %s in both", flagList, permanent, want)
		}
	}
}

// TestQueuedFlagsKeepShownKeywords: a FLAGS update queued from another session's commit, older than the keyword
// this session's own STORE just showed, is written with that keyword too.
func TestQueuedFlagsKeepShownKeywords(t *testing.T) {
	sel := &selection{canWrite: true, announced: map[string]string{}}
	sel.announce([]string{"$Label3"}) // this session's STORE
	got := sel.withAnnounced([]imap.Flag{imap.FlagSeen, imap.FlagDeleted, "$Label5"})
	for _, want := range []imap.Flag{imap.FlagSeen, imap.FlagDeleted, "$Label3", "$Label5"} {
		if !slices.Contains(got, want) {
			t.Errorf("queued FLAGS written as %v: want %s in it", got, want)
		}
	}
}

// TestShownFlagsMemo: STORE's memo of shownFlags answers as shownFlags does for every message, whether its flag
// list is the one the message before had or only equal to it, recent or not, and makes the list with \Recent once
// for a run of recent messages sharing a list, not once per message.
func TestShownFlagsMemo(t *testing.T) {
	sel := &selection{recent: recentWindow{above: 2, upTo: 6}}
	seen, equal := []string{`\Seen`}, []string{`\Seen`}
	messages := []struct {
		uid   uint32
		flags []string
	}{{1, seen}, {3, seen}, {4, seen}, {5, equal}, {6, equal[:0]}, {6, seen}, {7, seen}, {8, nil}}
	for _, enabled := range []imap.CapSet{nil, {imap.CapIMAP4rev2: {}}} {
		var memo shownFlagsMemo
		for _, m := range messages {
			if got, want := memo.flags(sel, enabled, m.uid, m.flags), shownFlags(sel, enabled, m.uid, m.flags); !slices.Equal(got, want) {
				t.Errorf("enabled %v, UID %d %q: %q, want %q", enabled, m.uid, m.flags, got, want)
			}
		}
	}
	var memo shownFlagsMemo
	allocs := testing.AllocsPerRun(100, func() {
		for uid := uint32(3); uid <= 6; uid++ {
			memo.flags(sel, nil, uid, seen)
		}
	})
	if allocs != 0 {
		t.Errorf("%.0f allocations for recent messages sharing a flag list, want none", allocs)
	}
}
