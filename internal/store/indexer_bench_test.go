package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailserver/internal/message"
)

// BenchmarkDeliveryWithIndexer is what the background indexer costs deliveries: 32 concurrent deliveries of
// parsed 6 KiB messages, each committed and synced, to 32 accounts, with the indexer running (every mailbox's tail
// indexed after 50 ms) and without it. It reports msgs/s, the longest a delivery took (max-ms) and, with the
// indexer, the longest index write transaction (batch-ms), which is the longest a delivery can wait behind one.
// Run with -benchtime=3000x or so.
func BenchmarkDeliveryWithIndexer(b *testing.B) {
	for _, mode := range []string{"indexer", "noindexer"} {
		b.Run(mode, func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "mail.db"),
				Options{NoIndexer: mode == "noindexer", IndexDelay: 50 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const conns = 32
			var accounts [conns]Account
			for i := range accounts {
				accounts[i] = mustAccount(b, s, fmt.Sprintf("nv%d@example.gov.vn", i))
			}
			msgs := make([]NewMessage, 64)
			for i := range msgs {
				msgs[i] = indexTestMessage(fmt.Sprintf("Báo cáo tình hình tháng %d", i%12+1),
					fmt.Sprintf("Phòng %d <phong%d@example.gov.vn>", i, i), benchReport(i))
			}
			var next, worst atomic.Int64
			done := make(chan error, conns)
			b.ResetTimer()
			for c := range conns {
				go func() {
					for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
						began := time.Now()
						if _, err := s.Deliver(msgs[n%int64(len(msgs))], []Copy{{AccountID: accounts[c].ID}}); err != nil {
							done <- err
							return
						}
						raiseTo(&worst, int64(time.Since(began)))
					}
					done <- nil
				}()
			}
			for range conns {
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(worst.Load())/1e6, "max-ms")
			if st := s.IndexStats(); mode == "indexer" {
				b.ReportMetric(float64(st.LongestBatch)/1e6, "batch-ms")
				b.ReportMetric(float64(st.Batches), "batches")
			}
		})
	}
}

// benchReport is a 6 KiB body whose words and numbers vary with i, so that every message brings new terms.
func benchReport(i int) string {
	words := []string{"kế hoạch", "ngân sách", "đề án", "công văn", "tờ trình", "nghị định", "thông báo", "biên bản",
		"quyết định", "hồ sơ", "dự toán", "giải ngân", "nghiệm thu", "thẩm định", "phê duyệt", "triển khai"}
	var sb strings.Builder
	for j := 0; sb.Len() < 6<<10; j++ {
		fmt.Fprintf(&sb, "Về việc %s số %d/%d-UBND ngày %d, %s mã HS%07d kèm theo.\r\n",
			words[(i+j)%len(words)], (i*31+j)%9973, 2020+j%7, j%28+1, words[(i*7+j)%len(words)], i*1009+j)
	}
	return sb.String()
}

// BenchmarkReadIndexBatch is the indexer's work before its write transaction: reading a batch of 6 KiB letters (up
// to batchTerms distinct terms) and splitting their search texts and envelopes into the batch's postings.
func BenchmarkReadIndexBatch(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "mail.db"), Options{NoIndexer: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	a := mustAccount(b, s, "nv@example.gov.vn")
	var mailboxID uint64
	for i := range batchMessages {
		m := indexTestMessage(fmt.Sprintf("Báo cáo tình hình tháng %d", i%12+1),
			fmt.Sprintf("Phòng %d <phong%d@example.gov.vn>", i, i), benchReport(i))
		placed, err := s.Deliver(m, []Copy{{AccountID: a.ID}})
		if err != nil {
			b.Fatal(err)
		}
		mailboxID = placed[0].MailboxID
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.readIndexBatch(mailboxID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddMessage is the indexer's split of one message into a batch's postings: the folded text of a 20 KiB
// message as cmd/mailbench makes it (some 1,700 terms, 180 of them distinct), added to batches of batchMessages.
func BenchmarkAddMessage(b *testing.B) {
	raw, err := os.ReadFile("testdata/mailbench-20k.eml")
	if err != nil {
		b.Fatal(err)
	}
	p := message.Parse(raw)
	text, meta := p.SearchText(), p.Meta()
	var batch *indexBatchData
	uid := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		if uid%batchMessages == 0 {
			batch = &indexBatchData{postings: map[indexField]map[string]int32{}}
		}
		uid++
		batch.addMessage(text, meta, uid)
	}
}
