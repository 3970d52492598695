package webmail

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mailserver/internal/store"
)

var uidAttr = regexp.MustCompile(`data-uid="(\d+)"`)

func uidsOn(body string) []string {
	var out []string
	for _, m := range uidAttr.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestReadVietnameseMarksSeenAndFolderCounts(t *testing.T) {
	e := newTestEnv(t, 0)
	inbox := mustInbox(t, e.st, e.acct.ID)
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for n := 1; n <= 3; n++ {
		if _, err := e.st.Append(inbox.ID, newMessage(vietnameseMessage(n, day), day), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	c, home := e.loggedIn(t)
	if !strings.Contains(home.body, `data-unread="3"`) || !strings.Contains(home.body, "Hộp thư đến") {
		t.Fatalf("folder list without INBOX's 3 unread:\n%s", home.body)
	}
	list := e.get(t, c, "/mail/list?f=INBOX")
	if !strings.Contains(list.body, "Nguyễn Văn Hùng") || !strings.Contains(list.body, "Báo cáo số 2") ||
		strings.Count(list.body, `class="unread"`) != 3 {
		t.Fatalf("list:\n%s", list.body)
	}
	r := e.get(t, c, "/mail/read?f=INBOX&uid=2")
	if r.status != http.StatusOK || !strings.Contains(r.body, "Kính gửi chị Lan") ||
		!strings.Contains(r.body, html.EscapeString("<script>")) || strings.Contains(r.body, "<script>alert") {
		t.Fatalf("read: %d\n%s", r.status, r.body)
	}
	if mb := mustInbox(t, e.st, e.acct.ID); mb.Unseen != 2 {
		t.Fatalf("unseen after reading one: %d", mb.Unseen)
	}
	if home := e.get(t, c, "/mail/"); !strings.Contains(home.body, `data-unread="2"`) {
		t.Fatal("folder list count not updated")
	}
}

func TestTenThousandMessagesPaged(t *testing.T) {
	e := newTestEnv(t, 0)
	inbox := mustInbox(t, e.st, e.acct.ID)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const total = 10_030 // 200 full pages and 30 on the last
	for batch := 0; batch < total; batch += 2006 {
		var msgs []store.AppendMessage
		for n := batch; n < batch+2006; n++ {
			date := start.Add(time.Duration(n) * time.Minute)
			raw := fmt.Sprintf("From: Người %05d <u%d@hanoi.gov.vn>\r\nSubject: Việc %05d\r\nDate: %s\r\n\r\n%s\r\n",
				(n*7919)%total, n, (n*104729)%total, date.Format(time.RFC1123Z), strings.Repeat("x", n%97))
			msgs = append(msgs, store.AppendMessage{NewMessage: newMessage(raw, date)})
		}
		if _, err := e.st.AppendMany(inbox.ID, msgs, nil); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := e.loggedIn(t)
	first := uidsOn(e.get(t, c, "/mail/list?f=INBOX").body)
	if len(first) != PageSize || first[0] != fmt.Sprint(total) || first[49] != fmt.Sprint(total-49) {
		t.Fatalf("first page by date: %d rows from %v", len(first), first[:min(3, len(first))])
	}
	middle := e.get(t, c, "/mail/list?f=INBOX&page=100")
	if uids := uidsOn(middle.body); len(uids) != PageSize || uids[0] != fmt.Sprint(total-99*PageSize) {
		t.Fatalf("page 100: %v", uids[:min(3, len(uids))])
	}
	last := e.get(t, c, "/mail/list?f=INBOX&page=201")
	if uids := uidsOn(last.body); len(uids) != total%PageSize || uids[len(uids)-1] != "1" ||
		!strings.Contains(last.body, "201 / 201") || strings.Contains(last.body, `rel="next"`) {
		t.Fatalf("last page: %v", uids)
	}
	subjects := regexp.MustCompile(`class="subject">Việc (\d+)<`)
	var got []string
	for _, m := range subjects.FindAllStringSubmatch(e.get(t, c, "/mail/list?f=INBOX&sort=subject").body, -1) {
		got = append(got, m[1])
	}
	if len(got) != PageSize || got[0] != "00000" || !slices.IsSorted(got) {
		t.Fatalf("by subject: %v", got)
	}
	froms := regexp.MustCompile(`class="from">Người (\d+) &lt;`)
	got = got[:0]
	for _, m := range froms.FindAllStringSubmatch(e.get(t, c, "/mail/list?f=INBOX&sort=from&page=201").body, -1) {
		got = append(got, m[1])
	}
	if len(got) != total%PageSize || got[len(got)-1] != fmt.Sprintf("%05d", total-1) || !slices.IsSorted(got) {
		t.Fatalf("by sender, last page: %v", got)
	}
	bySize := uidsOn(e.get(t, c, "/mail/list?f=INBOX&sort=size").body)
	// The largest bodies are those with n%97 == 96 (uid n+1), the newest of them first: n = 9990.
	if len(bySize) != PageSize || bySize[0] != "9991" {
		t.Fatalf("by size: %v", bySize)
	}
}

func TestSharedMailboxReadOnly(t *testing.T) {
	e := newTestEnv(t, 0)
	shared := e.sharedForReading(t)
	sharedInbox := mustInbox(t, e.st, shared.ID)
	day := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	if _, err := e.st.Append(sharedInbox.ID, newMessage(vietnameseMessage(7, day), day), nil, nil); err != nil {
		t.Fatal(err)
	}
	c, home := e.loggedIn(t)
	if !strings.Contains(home.body, "f=Shared%2Fvanthu%40hanoi.gov.vn\">vanthu@hanoi.gov.vn</a> <span class=\"count\" data-unread=\"1\"") {
		t.Fatalf("shared mailbox not listed:\n%s", home.body)
	}
	r := e.get(t, c, "/mail/read?f=Shared/vanthu@hanoi.gov.vn&uid=1")
	if r.status != http.StatusOK || !strings.Contains(r.body, "Báo cáo số 7") || !strings.Contains(r.body, "Chỉ được đọc") {
		t.Fatalf("shared read: %d\n%s", r.status, r.body)
	}
	if mb := mustInbox(t, e.st, shared.ID); mb.Unseen != 1 {
		t.Fatalf("a read-only reader marked the shared message seen (unseen %d)", mb.Unseen)
	}
	// Without a grant the same name is no folder at all.
	other := addAccount(t, e.st, "minh@hanoi.gov.vn")
	c2 := e.client(t)
	e.login(t, c2, other.Address, testPassword)
	if r := e.get(t, c2, "/mail/list?f=Shared/vanthu@hanoi.gov.vn"); r.status != http.StatusNotFound {
		t.Fatalf("shared folder without a grant: %d", r.status)
	}
}
