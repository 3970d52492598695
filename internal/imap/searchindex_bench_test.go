package imap

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// searchBenchMessages is the size of the search benchmarks' mailbox: 10,000, or MAILSERVER_BENCH_MESSAGES (100000
// for the figures of issue 13).
func searchBenchMessages() int {
	if n, err := strconv.Atoi(os.Getenv("MAILSERVER_BENCH_MESSAGES")); err == nil && n > 0 {
		return n
	}
	return 10000
}

// searchBenchServer fills INBOX with n messages in batches (one in 100 about "báo cáo quý") and indexes them.
func searchBenchServer(b *testing.B, n int) *testServer {
	b.Helper()
	ts := newTestServer(b)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 8, 0, 0, 0, ict)
	var batch []store.AppendMessage
	for i := range n {
		topic := "Giấy mời họp giao ban tuần"
		if i%100 == 0 {
			topic = "Báo cáo quý I năm 2026"
		}
		raw := fmt.Appendf(nil, "From: =?UTF-8?Q?Ph=C3=B2ng_s=E1=BB=91_%d?= <phong%d@example.gov.vn>\r\n"+
			"To: an@example.gov.vn\r\nSubject: %s (%d)\r\nMessage-ID: <m%d@example.gov.vn>\r\n"+
			"Content-Type: text/plain; charset=utf-8\r\n\r\nKính gửi anh chị, %s, số %d, mã hồ sơ HS-%d.\r\n%s\r\nTrân trọng.\r\n",
			i%50, i%50, topic, i, i, topic, i, i*7919%100003, benchFiller(i))
		p := message.Parse(raw)
		batch = append(batch, store.AppendMessage{NewMessage: store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText(),
			InternalDate: base.Add(time.Duration(i) * time.Minute)}})
		if len(batch) == 1000 || i == n-1 {
			if _, err := ts.st.AppendMany(inbox.ID, batch, nil); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := ts.st.IndexPending(); err != nil {
		b.Fatal(err)
	}
	size, err := ts.st.SearchIndexSize()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("search index: %d bytes for %d messages, %d bytes a message; longest index write transaction %v",
		size.Bytes, size.Messages, size.Bytes/max(1, size.Messages), ts.st.IndexStats().LongestBatch)
	return ts
}

// benchFiller is a paragraph whose words vary with i, so that the dictionary grows with the mailbox.
func benchFiller(i int) string {
	words := []string{"kế hoạch", "ngân sách", "đề án", "công văn", "tờ trình", "nghị định", "thông báo", "biên bản"}
	return fmt.Sprintf("Về việc %s số %d/%d, %s kèm theo, hạn %d.", words[i%8], i%997, 2020+i%7, words[(i/8)%8], i%31)
}

func benchSearchIndex(b *testing.B, criteria *imap.SearchCriteria) {
	n := searchBenchMessages()
	ts := searchBenchServer(b, n)
	c := ts.client(b, nil)
	selectBox(b, c, "INBOX", false)
	for _, mode := range []string{"index", "scan"} {
		b.Run(mode, func(b *testing.B) {
			ts.srv.noSearchIndex.Store(mode == "scan")
			for b.Loop() {
				data, err := c.UIDSearch(criteria, nil).Wait()
				if err != nil || len(data.AllUIDs()) != n/100 {
					b.Fatalf("SEARCH: %d results, %v", len(data.AllUIDs()), err)
				}
			}
		})
	}
}

// BenchmarkSearchText100k is SEARCH TEXT for a word in 1% of the messages (MAILSERVER_BENCH_MESSAGES=100000).
func BenchmarkSearchText100k(b *testing.B) {
	benchSearchIndex(b, &imap.SearchCriteria{Text: []string{"quy"}})
}

// BenchmarkSearchSubject100k is SEARCH SUBJECT for a phrase in 1% of the messages.
func BenchmarkSearchSubject100k(b *testing.B) {
	benchSearchIndex(b, &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "báo cáo quý"}}})
}
