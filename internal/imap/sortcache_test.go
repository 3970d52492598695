package imap

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// sortCacheViews are the SORT and THREAD answers a session gives, written out so that two sessions' can be
// compared: every sort key (some reversed, some combined), a SORT with a search, UID SORT, and both THREAD
// algorithms by sequence number and by UID.
func sortCacheViews(t *testing.T, c *imapclient.Client) map[string]string {
	t.Helper()
	all := &imap.SearchCriteria{}
	views := map[string]string{}
	for _, crit := range [][]imapclient.SortCriterion{
		{{Key: imapclient.SortKeyArrival}}, {{Key: imapclient.SortKeyDate, Reverse: true}},
		{{Key: imapclient.SortKeySize}}, {{Key: imapclient.SortKeySubject}, {Key: imapclient.SortKeyDate}},
		{{Key: imapclient.SortKeyFrom}}, {{Key: imapclient.SortKeyTo}}, {{Key: imapclient.SortKeyCc, Reverse: true}},
		{{Key: imapclient.SortKey(imap.SortKeyDisplayFrom)}}, {{Key: imapclient.SortKey(imap.SortKeyDisplayTo)}},
	} {
		name := fmt.Sprint(crit)
		views["SORT "+name] = fmt.Sprint(sortBy(t, c, all, crit...))
		uids, err := c.UIDSort(&imapclient.SortOptions{SearchCriteria: all, SortCriteria: crit}).Wait()
		if err != nil {
			t.Fatalf("UID SORT %s: %v", name, err)
		}
		views["UID SORT "+name] = fmt.Sprint(uids)
	}
	flagged := &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}
	views["SORT FLAGGED"] = fmt.Sprint(sortBy(t, c, flagged, imapclient.SortCriterion{Key: imapclient.SortKeySubject}))
	for _, alg := range []imap.ThreadAlgorithm{imap.ThreadReferences, imap.ThreadOrderedSubject} {
		views["THREAD "+string(alg)] = threadBy(t, c, alg)
		threads, err := c.UIDThread(&imapclient.ThreadOptions{Algorithm: alg, SearchCriteria: all}).Wait()
		if err != nil {
			t.Fatalf("UID THREAD %s: %v", alg, err)
		}
		views["UID THREAD "+string(alg)] = threadString(threads)
	}
	return views
}

// sameViews fails unless got (a session that sorted before the changes) answers as want (a new session).
func sameViews(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s, a new session: %s", k, got[k], w)
		}
	}
}

// sortCacheSize is how many entries the sort cache of the state of mailbox id holds.
func sortCacheSize(ts *testServer, id uint64) int {
	ts.srv.hub.mu.Lock()
	st := ts.srv.hub.boxes[id]
	ts.srv.hub.mu.Unlock()
	if st == nil {
		return -1
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.sorts)
}

// deliverSortMessage delivers m to INBOX through the store, as the SMTP side does.
func deliverSortMessage(t *testing.T, ts *testServer, m sortMessage) {
	t.Helper()
	raw := m.raw()
	p := message.Parse(raw)
	_, err := ts.st.Deliver(store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText(), InternalDate: m.internal},
		[]store.Copy{{AccountID: ts.account.ID}})
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
}

// A session that has sorted keeps its mailbox's sort records in memory; after deliveries, APPENDs, flag changes
// and expunges by another session it must answer every SORT and THREAD as a session opened afterwards does.
func TestSortCacheFollowsChanges(t *testing.T) {
	ts := newTestServer(t)
	c := sortFixture(t, ts)
	appendThreadMessage(t, c, "<a@x>", "", "Kế hoạch", 1)
	appendThreadMessage(t, c, "<b@x>", "<a@x>", "Re: Kế hoạch", 2)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	sortCacheViews(t, c)
	if n := sortCacheSize(ts, inbox.ID); n != 7 {
		t.Fatalf("sort cache after SORT: %d entries, want 7", n)
	}

	other := ts.client(t, nil)
	selectBox(t, other, "INBOX", false)
	appendThreadMessage(t, other, "<c@x>", "<a@x> <b@x>", "Re: Kế hoạch", 3)
	deliverSortMessage(t, ts, sortMessage{`"Ánh" <anh@x.vn>`, "c@x.vn", "", "Báo cáo", "Wed, 4 Mar 2026 09:00:00 +0700", testDay(7), 500})
	if err := other.Store(imap.SeqSet{{Start: 2, Stop: 2}, {Start: 6, Stop: 6}}, &imap.StoreFlags{
		Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Store(imap.SeqSet{{Start: 1, Stop: 4}}, &imap.StoreFlags{
		Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Expunge().Close(); err != nil {
		t.Fatal(err)
	}

	// Before c learns of the changes it sees the seven messages it knew, less the expunged ones, which SORT leaves
	// out: by UID it answers as a new session does for those seven.
	fresh := ts.client(t, nil)
	selectBox(t, fresh, "INBOX", true)
	want := sortCacheViews(t, fresh)
	crit := []imapclient.SortCriterion{{Key: imapclient.SortKeySubject}, {Key: imapclient.SortKeyDate}}
	uidSort := func(c *imapclient.Client, search *imap.SearchCriteria) string {
		t.Helper()
		uids, err := c.UIDSort(&imapclient.SortOptions{SearchCriteria: search, SortCriteria: crit}).Wait()
		if err != nil {
			t.Fatalf("UID SORT: %v", err)
		}
		return fmt.Sprint(uids)
	}
	known := &imap.SearchCriteria{UID: []imap.UIDSet{{{Start: 1, Stop: 7}}}}
	if got, want := uidSort(c, &imap.SearchCriteria{}), uidSort(fresh, known); got != want {
		t.Errorf("UID SORT before NOOP: %s, a new session: %s", got, want)
	}

	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	sameViews(t, sortCacheViews(t, c), want)
	if n := sortCacheSize(ts, inbox.ID); n != 7 {
		t.Errorf("sort cache after the changes: %d entries, want 7 (9 messages, 2 expunged)", n)
	}
}

// testDay is 08:00 on day d of March 2026 in Vietnam.
func testDay(d int) time.Time { return time.Date(2026, 3, d, 8, 0, 0, 0, ict) }

// Sessions filling the sort cache at once, while another appends and expunges, must each get what a new
// session gets once the changes stop (go test -race checks the cache's locking).
func TestSortCacheConcurrentFill(t *testing.T) {
	ts := newTestServer(t)
	writer := ts.client(t, nil)
	for i := range 20 {
		appendThreadMessage(t, writer, fmt.Sprintf("<m%d@x>", i), "", fmt.Sprintf("Chủ đề %d", i%7), 1+i%28)
	}
	selectBox(t, writer, "INBOX", false)
	const readers, rounds = 3, 10
	clients := make([]*imapclient.Client, readers)
	for i := range clients {
		clients[i] = ts.client(t, nil)
		selectBox(t, clients[i], "INBOX", true)
	}
	crit := []imapclient.SortCriterion{{Key: imapclient.SortKeySubject}, {Key: imapclient.SortKeyDate}}
	uidSort := func(c *imapclient.Client) (string, error) {
		uids, err := c.UIDSort(&imapclient.SortOptions{SearchCriteria: &imap.SearchCriteria{}, SortCriteria: crit}).Wait()
		return fmt.Sprint(uids), err
	}
	var wg sync.WaitGroup
	errs := make(chan error, readers*rounds)
	for _, c := range clients {
		wg.Go(func() {
			for range rounds {
				if _, err := uidSort(c); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range rounds {
		appendThreadMessage(t, writer, fmt.Sprintf("<n%d@x>", i), "", fmt.Sprintf("Chủ đề %d", i%5), 1+i%28)
		seq := uint32(1 + i)
		if err := writer.Store(imap.SeqSet{{Start: seq, Stop: seq}}, &imap.StoreFlags{
			Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if err := writer.Expunge().Close(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("UID SORT during changes: %v", err)
	}
	fresh := ts.client(t, nil)
	selectBox(t, fresh, "INBOX", true)
	want, err := uidSort(fresh)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		if err := c.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		if got, err := uidSort(c); err != nil || got != want {
			t.Errorf("reader %d: UID SORT %s (%v), a new session: %s", i, got, err, want)
		}
	}
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if n := sortCacheSize(ts, inbox.ID); n != 20 {
		t.Errorf("sort cache: %d entries, want one per message (20)", n)
	}
}

// A mailbox that grows past the bound loses its cache and is sorted from the store, with the same answers.
func TestSortCacheBound(t *testing.T) {
	defer func(n int) { maxSortCache = n }(maxSortCache)
	maxSortCache = 6
	ts := newTestServer(t)
	c := sortFixture(t, ts)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	sortCacheViews(t, c)
	if n := sortCacheSize(ts, inbox.ID); n != 5 {
		t.Fatalf("sort cache of 5 messages: %d entries, want 5", n)
	}
	appendThreadMessage(t, c, "<a@x>", "", "Kế hoạch", 1)
	appendThreadMessage(t, c, "<b@x>", "<a@x>", "Re: Kế hoạch", 2)
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	got := sortCacheViews(t, c)
	if n := sortCacheSize(ts, inbox.ID); n != 0 {
		t.Errorf("sort cache of 7 messages, bound 6: %d entries, want none", n)
	}
	fresh := ts.client(t, nil)
	selectBox(t, fresh, "INBOX", true)
	sameViews(t, got, sortCacheViews(t, fresh))
}

// TestSortCacheServerBudget: the entries of all mailboxes count against one budget. A mailbox that does not fit is
// sorted from the store, with the same answers, and the entries go back to the budget when the last session leaves
// a mailbox.
func TestSortCacheServerBudget(t *testing.T) {
	defer func(n int64) { maxSortCacheTotal = n }(maxSortCacheTotal)
	maxSortCacheTotal = 4
	ts := newTestServer(t)
	c := sortFixture(t, ts) // 5 messages in INBOX: more than the budget
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	got := sortCacheViews(t, c)
	if n := sortCacheSize(ts, inbox.ID); n != 0 {
		t.Errorf("5 messages, server budget 4: %d entries cached, want none", n)
	}
	fresh := ts.client(t, nil)
	selectBox(t, fresh, "INBOX", true)
	sameViews(t, got, sortCacheViews(t, fresh))

	maxSortCacheTotal = 100
	sortCacheViews(t, c)
	if n, used := sortCacheSize(ts, inbox.ID), ts.srv.hub.sorts.used.Load(); n != 5 || used != 5 {
		t.Errorf("with room: %d entries, %d counted, want 5 and 5", n, used)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	if used := ts.srv.hub.sorts.used.Load(); used != 0 {
		t.Errorf("after the last session left the mailbox: %d entries still counted", used)
	}
}
