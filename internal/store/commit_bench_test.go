package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"mailserver/internal/message"
)

// BenchmarkDeliverParallel delivers 20 KiB messages, one recipient each, from several goroutines at once, the way
// concurrent SMTP connections do, with real fsync: the figure group commit exists for.
func BenchmarkDeliverParallel(b *testing.B) {
	for _, writers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) { benchDeliverParallel(b, writers) })
	}
}

// benchSubject is the header of the messages of BenchmarkDeliverParallel, with a different subject for each.
const benchSubject = "From: =?UTF-8?Q?Ph=C3=B2ng_h=C3=A0nh_ch=C3=ADnh?= <hanhchinh@example.gov.vn>\r\n" +
	"To: user@example.gov.vn\r\nSubject: Báo cáo %09d\r\nDate: Mon, 02 Feb 2026 09:30:00 +0700\r\n" +
	"Message-ID: <bc@example.gov.vn>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"

func benchDeliverParallel(b *testing.B, writers int) {
	s, err := Open(filepath.Join(b.TempDir(), "mail.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.AddDomain("example.gov.vn"); err != nil {
		b.Fatal(err)
	}
	accounts := make([]uint64, 8)
	for i := range accounts {
		a, err := s.AddAccount(Account{Address: fmt.Sprintf("user%d@example.gov.vn", i)})
		if err != nil {
			b.Fatal(err)
		}
		accounts[i] = a.ID
	}
	padding := bytes.Repeat([]byte("Nội dung báo cáo tuần của phòng hành chính.\r\n"), 20<<10/48)
	text := benchSearchText()
	// Every body has the same structure (the subject's number has a fixed width), so one parse result, as a
	// delivery stores it, serves them all.
	meta := message.Parse(append(fmt.Appendf(nil, benchSubject, 0), padding...)).Meta()
	before := commitCount(s)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	b.ResetTimer()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				body := append(fmt.Appendf(nil, benchSubject, n), padding...)
				copies := []Copy{{AccountID: accounts[n%int64(len(accounts))]}}
				if _, err := s.Deliver(NewMessage{Body: body, Meta: meta, Text: text}, copies); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(commitCount(s)-before)/float64(b.N), "commits/msg")
}

// benchSearchText is a folded search text of 8 KB, what delivery stores with a 20 KiB message: words drawn at random
// from a few hundred, so that it compresses about as well as mail does (every message here has the same one).
func benchSearchText() []byte {
	syllables := strings.Fields("bao cao tuan phong hanh chinh ke hoach ngan sach de an cong van to trinh nghi dinh " +
		"thong bao bien ban so noi vu tai chinh giao duc y te xay dung van hoa the thao du lich nong nghiep moi truong " +
		"thanh tra tu phap lao dong thuong binh xa hoi khoa hoc cong nghe thong tin truyen giao thong van tai")
	r := rand.New(rand.NewPCG(1, 2))
	text := []byte("bao cao tuan <an@example.gov.vn>\x00")
	for len(text) < 8<<10 {
		text = fmt.Appendf(text, "%s %s %d ", syllables[r.IntN(len(syllables))], syllables[r.IntN(len(syllables))], r.IntN(1000))
	}
	return text
}
