package imap

import (
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// benchMessages is the size of the benchmark mailbox.
const benchMessages = 10000

// benchMailbox fills INBOX with benchMessages distinct messages through the store (as delivery would) and returns
// a client with INBOX selected. One message in 100 mentions "báo cáo quý".
func benchMailbox(b *testing.B) *imapclient.Client {
	b.Helper()
	c := benchServer(b).client(b, nil)
	selectBox(b, c, "INBOX", false)
	return c
}

// benchServer is a test server whose INBOX holds benchMessages distinct messages, stored as delivery would.
func benchServer(b *testing.B) *testServer {
	b.Helper()
	ts := newTestServer(b)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	for i := range benchMessages {
		if _, err := ts.st.Append(inbox.ID, benchMessage(i), nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	return ts
}

// benchMessage is the i-th message of the benchmark mailboxes, parsed as delivery would: from one of 50 senders,
// one in 100 about "Báo cáo quý", in threads of ten (benchReferences), with a paragraph whose words vary with i
// (benchFiller).
func benchMessage(i int) store.NewMessage {
	topic := "Giấy mời họp giao ban tuần"
	if i%100 == 0 {
		topic = "Báo cáo quý I năm 2026"
	}
	date := time.Date(2026, 1, 1, 8, 0, 0, 0, ict).Add(time.Duration(i) * time.Minute)
	raw := fmt.Appendf(nil, "From: =?UTF-8?Q?Ph=C3=B2ng_s=E1=BB=91_%d?= <phong%d@example.gov.vn>\r\n"+
		"To: an@example.gov.vn\r\nSubject: %s (%d)\r\nDate: %s\r\nMessage-ID: <m%d@example.gov.vn>\r\n"+
		"%sContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Kính gửi anh chị, %s, số %d, mã hồ sơ HS-%d.\r\n%s\r\nTrân trọng.\r\n",
		i%50, i%50, topic, i, date.Format(time.RFC1123Z), i, benchReferences(i), topic, i, i*7919%100003, benchFiller(i))
	p := message.Parse(raw)
	return store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText(), InternalDate: date}
}

// benchReferences makes threads of ten messages, each replying to the one before, for THREAD.
func benchReferences(i int) string {
	if i%10 == 0 {
		return ""
	}
	return fmt.Sprintf("References: <m%d@example.gov.vn> <m%d@example.gov.vn>\r\n", i-i%10, i-1)
}

// benchFiller is a paragraph whose words vary with i, so that the dictionary grows with the mailbox.
func benchFiller(i int) string {
	words := []string{"kế hoạch", "ngân sách", "đề án", "công văn", "tờ trình", "nghị định", "thông báo", "biên bản"}
	return fmt.Sprintf("Về việc %s số %d/%d, %s kèm theo, hạn %d.", words[i%8], i%997, 2020+i%7, words[(i/8)%8], i%31)
}

func BenchmarkFetchEnvelopes10k(b *testing.B) {
	c := benchMailbox(b)
	b.ResetTimer()
	for b.Loop() {
		cmd := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, Envelope: true})
		n := 0
		for cmd.Next() != nil {
			n++
		}
		if err := cmd.Close(); err != nil || n != benchMessages {
			b.Fatalf("FETCH 1:*: %d messages, %v", n, err)
		}
	}
}

func BenchmarkSearchText10k(b *testing.B) {
	c := benchMailbox(b)
	b.ResetTimer()
	for b.Loop() {
		data, err := c.UIDSearch(&imap.SearchCriteria{Text: []string{"bao cao quy"}}, nil).Wait()
		if err != nil || len(data.AllUIDs()) != benchMessages/100 {
			b.Fatalf("SEARCH TEXT: %d results, %v", len(data.AllUIDs()), err)
		}
	}
}

func BenchmarkSortDate10k(b *testing.B)    { benchSort(b, imap.SortKeyDate) }
func BenchmarkSortSubject10k(b *testing.B) { benchSort(b, imap.SortKeySubject) }

func benchSort(b *testing.B, key imap.SortKey) {
	c := benchMailbox(b)
	b.ResetTimer()
	for b.Loop() {
		nums, err := c.Sort(&imapclient.SortOptions{SearchCriteria: &imap.SearchCriteria{},
			SortCriteria: []imapclient.SortCriterion{{Key: imapclient.SortKey(key)}}}).Wait()
		if err != nil || len(nums) != benchMessages {
			b.Fatalf("SORT (%s): %d results, %v", key, len(nums), err)
		}
	}
}

func BenchmarkThreadReferences10k(b *testing.B) {
	c := benchMailbox(b)
	b.ResetTimer()
	for b.Loop() {
		threads, err := c.Thread(&imapclient.ThreadOptions{Algorithm: imap.ThreadReferences,
			SearchCriteria: &imap.SearchCriteria{}}).Wait()
		if err != nil || len(threads) != benchMessages/10 {
			b.Fatalf("THREAD REFERENCES: %d threads, %v", len(threads), err)
		}
	}
}
