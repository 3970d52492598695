package mailfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The benchmarks read 20,000 generated messages of 20 KiB, the size of a typical official letter with its
// signature block, and report messages/s and bytes allocated per message.
const (
	benchMessages    = 20000
	benchMessageSize = 20 << 10
)

// benchMessage is a 20 KiB message with LF endings, as Dovecot and mutt store them.
func benchMessage(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: an%d@hanoi.gov.vn\nTo: binh@hanoi.gov.vn\nSubject: Báo cáo số %d\nMessage-ID: <%d@hanoi.gov.vn>\n\n", i, i, i)
	line := "Kính gửi các đơn vị: báo cáo tổng kết công tác năm, số liệu kèm theo.\n"
	for b.Len() < benchMessageSize {
		b.WriteString(line)
	}
	return b.String()
}

func BenchmarkMboxRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.mbox")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range benchMessages {
		fmt.Fprintf(w, "From an%d@hanoi.gov.vn Mon Jan  1 00:00:00 2024\nStatus: RO\n%s\n", i, benchMessage(i))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	benchRead(b, func() (func() (*Message, error), func()) {
		in, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		return NewMboxReader(in, MboxOptions{}).Next, func() { in.Close() }
	})
}

func BenchmarkMaildirRead(b *testing.B) {
	dir := b.TempDir()
	mkMaildir(b, dir)
	for i := range benchMessages {
		name := fmt.Sprintf("%d.M%dP1.host,S=%d:2,S", 1700000000+i, i, benchMessageSize)
		if err := os.WriteFile(filepath.Join(dir, "cur", name), []byte(benchMessage(i)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	benchRead(b, func() (func() (*Message, error), func()) {
		r, err := OpenMaildir(dir, 0)
		if err != nil {
			b.Fatal(err)
		}
		return r.Next, func() {}
	})
}

// benchRead reads every message of a source b.N times.
func benchRead(b *testing.B, open func() (next func() (*Message, error), done func())) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	b.ResetTimer()
	read := 0
	for range b.N {
		next, done := open()
		for {
			m, err := next()
			if err == io.EOF {
				break
			}
			if err != nil || len(m.Data) < benchMessageSize {
				b.Fatalf("message %d: %v", read, err)
			}
			read++
		}
		done()
	}
	b.StopTimer()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if read != benchMessages*b.N {
		b.Fatalf("read %d messages, want %d", read, benchMessages*b.N)
	}
	b.ReportMetric(float64(read)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(read), "B/msg")
}
