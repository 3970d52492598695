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
	base := time.Date(2026, 1, 1, 8, 0, 0, 0, ict)
	for i := range benchMessages {
		topic := "Giấy mời họp giao ban tuần"
		if i%100 == 0 {
			topic = "Báo cáo quý I năm 2026"
		}
		raw := fmt.Appendf(nil, "From: =?UTF-8?Q?Ph=C3=B2ng_s=E1=BB=91_%d?= <phong%d@example.gov.vn>\r\n"+
			"To: an@example.gov.vn\r\nSubject: %s (%d)\r\nDate: %s\r\nMessage-ID: <m%d@example.gov.vn>\r\n"+
			"%sContent-Type: text/plain; charset=utf-8\r\n\r\nKính gửi anh chị, %s, số %d.\r\nTrân trọng.\r\n",
			i%50, i%50, topic, i, base.Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z), i, benchReferences(i),
			topic, i)
		p := message.Parse(raw)
		msg := store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText(), InternalDate: base.Add(time.Duration(i) * time.Minute)}
		if _, err := ts.st.Append(inbox.ID, msg, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	return ts
}

// benchReferences makes threads of ten messages, each replying to the one before, for THREAD.
func benchReferences(i int) string {
	if i%10 == 0 {
		return ""
	}
	return fmt.Sprintf("References: <m%d@example.gov.vn> <m%d@example.gov.vn>\r\n", i-i%10, i-1)
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
