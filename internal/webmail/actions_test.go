package webmail

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mailserver/internal/store"
)

var foundCount = regexp.MustCompile(`data-found="(\d+)"`)

func foundOn(t *testing.T, body string) string {
	t.Helper()
	m := foundCount.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no result count in:\n%s", body)
	}
	return m[1]
}

func meetingMessage(n int, date time.Time) string {
	return fmt.Sprintf("From: Phòng Hành chính <hc@hanoi.gov.vn>\r\nTo: lan@hanoi.gov.vn\r\n"+
		"Subject: =?UTF-8?Q?L=E1=BB=8Bch_h=E1=BB=8Dp_tu=E1=BA=A7n_%d?=\r\nDate: %s\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"+
		"Lịch họp tuần %d: Đề án chuyển đổi số.\r\n", n, date.Format(time.RFC1123Z), n)
}

// appendMessages stores n messages in the mailbox, Vietnamese reports every third one, meeting notes otherwise.
func appendMessages(t *testing.T, st *store.Store, mailboxID uint64, from, n int) {
	t.Helper()
	start := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	var msgs []store.AppendMessage
	for i := from; i < from+n; i++ {
		date := start.Add(time.Duration(i) * time.Hour)
		raw := meetingMessage(i, date)
		if i%3 == 0 {
			raw = vietnameseMessage(i, date)
		}
		msgs = append(msgs, store.AppendMessage{NewMessage: newMessage(raw, date)})
	}
	if _, err := st.AppendMany(mailboxID, msgs, nil); err != nil {
		t.Fatal(err)
	}
}

func TestSearchFoldsVietnamese(t *testing.T) {
	e := newTestEnv(t, 0)
	inbox := mustInbox(t, e.st, e.acct.ID)
	appendMessages(t, e.st, inbox.ID, 0, 300) // 100 reports, 200 meeting notes
	c, _ := e.loggedIn(t)
	check := func(phase, query, want string) string {
		t.Helper()
		r := e.get(t, c, "/mail/search?"+url.Values{"f": {"INBOX"}, "q": {query}}.Encode())
		if r.status != http.StatusOK || foundOn(t, r.body) != want {
			t.Fatalf("%s: %q found %s, want %s (status %d)", phase, query, foundOn(t, r.body), want, r.status)
		}
		return r.body
	}
	for _, phase := range []string{"not indexed", "indexed"} {
		if phase == "indexed" {
			if _, err := e.st.IndexPending(); err != nil {
				t.Fatal(err)
			}
			if ans, err := e.st.SearchIndex(inbox.ID, store.SearchText, []byte("bao cao")); err != nil || ans.Bound == 0 {
				t.Fatalf("index not built: %+v %v", ans.Bound, err)
			}
		}
		body := check(phase, "bao cao", "100")
		if uids := uidsOn(body); len(uids) != PageSize || uids[0] != "298" {
			t.Fatalf("%s: first page of results: %v", phase, uids)
		}
		check(phase, "BÁO CÁO SỐ 27", "5") // 27, 270, 273, 276, 279: a substring, as SEARCH's
		check(phase, "bao cao so 297", "1")
		check(phase, "de an chuyen doi", "200")
		check(phase, "Đề Án", "200")
		check(phase, "khong co dau", "0")
		page2 := e.get(t, c, "/mail/search?f=INBOX&q=bao+cao&page=2")
		if uids := uidsOn(page2.body); len(uids) != PageSize || uids[PageSize-1] != "1" ||
			!strings.Contains(page2.body, "2 / 2") {
			t.Fatalf("%s: second page: %v", phase, uids)
		}
	}
	// Messages that arrive after the index was built are found from their text.
	appendMessages(t, e.st, inbox.ID, 300, 30)
	check("unindexed tail", "bao cao", "110")
	if r := e.get(t, c, "/mail/search?f=INBOX&q="); r.url != "/mail/list" {
		t.Fatalf("empty search: at %s", r.url)
	}
}

// act posts the action form as the list sends it.
func (e *testEnv) act(t *testing.T, c *http.Client, csrf, folder, do string, uids ...uint32) response {
	t.Helper()
	form := url.Values{"csrf": {csrf}, "f": {folder}, "do": {do}, "back": {"/mail/list?f=" + url.QueryEscape(folder)}}
	for _, u := range uids {
		form.Add("uid", fmt.Sprint(u))
	}
	return e.post(t, c, "/mail/act", form)
}

func (e *testEnv) actTo(t *testing.T, c *http.Client, csrf, folder, to string, uids ...uint32) response {
	t.Helper()
	form := url.Values{"csrf": {csrf}, "f": {folder}, "do": {"move"}, "to": {to}}
	for _, u := range uids {
		form.Add("uid", fmt.Sprint(u))
	}
	return e.post(t, c, "/mail/act", form)
}

func flagsOf(t *testing.T, st *store.Store, mailboxID uint64) map[uint32][]string {
	t.Helper()
	uids, err := st.UIDs(mailboxID)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := st.Messages(mailboxID, uids, store.FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32][]string{}
	for _, m := range msgs {
		out[m.UID] = m.Flags
	}
	return out
}

func mustMailbox(t *testing.T, st *store.Store, accountID uint64, name string) store.Mailbox {
	t.Helper()
	mb, err := st.Mailbox(accountID, name)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

func TestActionsFlagsMoveDeleteExpunge(t *testing.T) {
	e := newTestEnv(t, 0)
	inbox := mustInbox(t, e.st, e.acct.ID)
	appendMessages(t, e.st, inbox.ID, 1, 6)
	c, _ := e.loggedIn(t)
	list := e.get(t, c, "/mail/list?f=INBOX")
	if strings.Count(list.body, `form="acts"`) != 6 || !strings.Contains(list.body, `id="acts"`) ||
		!strings.Contains(list.body, `<option value="Archive">Lưu trữ</option>`) {
		t.Fatalf("list without the action form:\n%s", list.body)
	}
	csrf := csrfOf(t, list.body)
	if r := e.act(t, c, csrf, "INBOX", "seen", 1, 2, 3); r.status != http.StatusOK || r.url != "/mail/list" {
		t.Fatalf("mark read: %d at %s", r.status, r.url)
	}
	e.act(t, c, csrf, "INBOX", "unseen", 2)
	e.act(t, c, csrf, "INBOX", "flag", 3, 4)
	e.act(t, c, csrf, "INBOX", "unflag", 4)
	flags := flagsOf(t, e.st, inbox.ID)
	if !slices.Contains(flags[1], `\Seen`) || slices.Contains(flags[2], `\Seen`) || !slices.Contains(flags[3], `\Flagged`) ||
		slices.Contains(flags[4], `\Flagged`) || !slices.Contains(flags[3], `\Seen`) {
		t.Fatalf("flags: %v", flags)
	}
	if mb := mustInbox(t, e.st, e.acct.ID); mb.Unseen != 4 {
		t.Fatalf("unseen: %d", mb.Unseen)
	}
	// Many at once into Archive; then two to Trash.
	if r := e.actTo(t, c, csrf, "INBOX", "Archive", 1, 3); r.status != http.StatusOK {
		t.Fatalf("move: %d", r.status)
	}
	archive := mustMailbox(t, e.st, e.acct.ID, "Archive")
	if uids, _ := e.st.UIDs(archive.ID); !slices.Equal(uids, []uint32{1, 2}) {
		t.Fatalf("archive UIDs: %v", uids)
	}
	e.act(t, c, csrf, "INBOX", "delete", 5, 6)
	trash := mustMailbox(t, e.st, e.acct.ID, "Trash")
	if uids, _ := e.st.UIDs(trash.ID); !slices.Equal(uids, []uint32{1, 2}) {
		t.Fatalf("trash UIDs: %v", uids)
	}
	if uids, _ := e.st.UIDs(inbox.ID); !slices.Equal(uids, []uint32{2, 4}) {
		t.Fatalf("inbox UIDs: %v", uids)
	}
	// In Trash, delete asks first, and changes nothing until confirmed.
	tl := e.get(t, c, "/mail/list?f=Trash")
	if !strings.Contains(tl.body, "Xoá vĩnh viễn") {
		t.Fatalf("Trash's list without delete forever:\n%s", tl.body)
	}
	confirm := e.act(t, c, csrf, "Trash", "delete", 1, 2)
	if confirm.status != http.StatusOK || !strings.Contains(confirm.body, "Xoá vĩnh viễn 2 thư?") {
		t.Fatalf("confirm page: %d\n%s", confirm.status, confirm.body)
	}
	if uids, _ := e.st.UIDs(trash.ID); len(uids) != 2 {
		t.Fatalf("deleted before confirming: %v", uids)
	}
	form := url.Values{"csrf": {csrfOf(t, confirm.body)}, "f": {"Trash"}, "do": {"expunge"}, "uid": {"1", "2"}}
	if !strings.Contains(confirm.body, `name="do" value="expunge"`) {
		t.Fatal("confirm page without the expunge button")
	}
	if r := e.post(t, c, "/mail/act", form); r.status != http.StatusOK || r.url != "/mail/list" {
		t.Fatalf("expunge: %d at %s", r.status, r.url)
	}
	if mb := mustMailbox(t, e.st, e.acct.ID, "Trash"); mb.Messages != 0 {
		t.Fatalf("trash after expunge: %d messages", mb.Messages)
	}
	// Expunge outside Trash is refused.
	if r := e.act(t, c, csrf, "INBOX", "expunge", 2); r.status != http.StatusBadRequest {
		t.Fatalf("expunge in INBOX: %d", r.status)
	}
	if uids, _ := e.st.UIDs(inbox.ID); len(uids) != 2 {
		t.Fatalf("inbox after a refused expunge: %v", uids)
	}
}

func TestReadPageActions(t *testing.T) {
	e := newTestEnv(t, 0)
	inbox := mustInbox(t, e.st, e.acct.ID)
	appendMessages(t, e.st, inbox.ID, 1, 2)
	c, _ := e.loggedIn(t)
	read := e.get(t, c, "/mail/read?f=INBOX&uid=2")
	if !strings.Contains(read.body, `name="here" value="/mail/read?f=INBOX&amp;uid=2"`) ||
		!strings.Contains(read.body, `name="uid" value="2"`) {
		t.Fatalf("read page without its actions:\n%s", read.body)
	}
	form := url.Values{"csrf": {csrfOf(t, read.body)}, "f": {"INBOX"}, "uid": {"2"}, "do": {"flag"},
		"back": {"/mail/list?f=INBOX"}, "here": {"/mail/read?f=INBOX&uid=2"}}
	if r := e.post(t, c, "/mail/act", form); r.url != "/mail/read" {
		t.Fatalf("flag from the read page went to %s", r.url)
	}
	form.Set("do", "unseen")
	if r := e.post(t, c, "/mail/act", form); r.url != "/mail/list" {
		t.Fatalf("mark unread from the read page went to %s", r.url)
	}
	if f := flagsOf(t, e.st, inbox.ID)[2]; slices.Contains(f, `\Seen`) || !slices.Contains(f, `\Flagged`) {
		t.Fatalf("flags: %v", f)
	}
	form.Set("back", "https://evil.example/")
	form.Set("do", "seen")
	if r := e.post(t, c, "/mail/act", form); r.url != "/mail/read" {
		t.Fatalf("a foreign return address was followed: %s", r.url)
	}
}

func TestActionsNeedCSRF(t *testing.T) {
	e := newTestEnv(t, 0)
	inbox := mustInbox(t, e.st, e.acct.ID)
	appendMessages(t, e.st, inbox.ID, 1, 2)
	c, _ := e.loggedIn(t)
	for _, csrf := range []string{"", "WRONG"} {
		if r := e.act(t, c, csrf, "INBOX", "delete", 1, 2); r.status != http.StatusForbidden {
			t.Fatalf("csrf %q: %d", csrf, r.status)
		}
	}
	if uids, _ := e.st.UIDs(inbox.ID); len(uids) != 2 {
		t.Fatalf("a POST without its token deleted: %v", uids)
	}
}

func TestSharedMailboxActions(t *testing.T) {
	e := newTestEnv(t, 0)
	shared := e.sharedForReading(t)
	inbox := mustInbox(t, e.st, shared.ID)
	appendMessages(t, e.st, inbox.ID, 1, 3)
	const name = "Shared/vanthu@hanoi.gov.vn"
	c, home := e.loggedIn(t)
	csrf := csrfOf(t, home.body)
	for _, path := range []string{"/mail/list?f=" + name, "/mail/read?f=" + name + "&uid=1",
		"/mail/search?f=" + name + "&q=bao+cao"} {
		if r := e.get(t, c, path); r.status != http.StatusOK || strings.Contains(r.body, `id="acts"`) ||
			strings.Contains(r.body, `form="acts"`) {
			t.Fatalf("%s offers actions on a read-only mailbox (%d)", path, r.status)
		}
	}
	for _, do := range []string{"seen", "unseen", "flag", "unflag", "delete", "expunge"} {
		if r := e.act(t, c, csrf, name, do, 1); r.status != http.StatusForbidden {
			t.Fatalf("read-only %s: %d", do, r.status)
		}
	}
	if r := e.actTo(t, c, csrf, name, "INBOX", 1); r.status != http.StatusForbidden {
		t.Fatalf("read-only move out: %d", r.status)
	}
	if r := e.actTo(t, c, csrf, "INBOX", name, 1); r.status != http.StatusForbidden {
		t.Fatalf("move into a read-only mailbox: %d", r.status)
	}
	if mb := mustInbox(t, e.st, shared.ID); mb.Messages != 3 || mb.Unseen != 3 {
		t.Fatalf("read-only mailbox changed: %d messages, %d unseen", mb.Messages, mb.Unseen)
	}
	// With the write right: delete goes to the shared mailbox's own Trash, audited as IMAP's MOVE is.
	if err := e.st.SetGrant(shared.Address, e.acct.Address, store.RightRead|store.RightWrite); err != nil {
		t.Fatal(err)
	}
	if r := e.act(t, c, csrf, name, "delete", 1, 2); r.status != http.StatusOK {
		t.Fatalf("delete with write right: %d", r.status)
	}
	if uids, _ := e.st.UIDs(mustMailbox(t, e.st, shared.ID, "Trash").ID); !slices.Equal(uids, []uint32{1, 2}) {
		t.Fatalf("shared Trash: %v", uids)
	}
	log, err := e.st.AuditLog(store.AuditFilter{Mailbox: shared.Address})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Action != "shared.move" || log[0].Actor != e.acct.Address ||
		log[0].Target != "vanthu@hanoi.gov.vn/INBOX" || log[0].Detail != "2 messages (UIDs 1,2) to vanthu@hanoi.gov.vn/Trash" {
		t.Fatalf("audit: %+v", log)
	}
}
