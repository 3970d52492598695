package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

// BenchmarkImportMbox imports an mbox file of 20 KiB messages into a fresh store, as the command does with the
// server stopped, and reports messages per second.
func BenchmarkImportMbox(b *testing.B) {
	const messages, size = 2000, 20 << 10
	dir := b.TempDir()
	path := filepath.Join(dir, "Archive.mbox")
	writeBenchMbox(b, path, messages, size)
	for b.Loop() {
		b.StopTimer()
		st, err := store.Open(filepath.Join(b.TempDir(), "mail.db"), store.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		svc := admin.New(st)
		if err := svc.AddDomain(domain); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.AddUser(admin.AddUserRequest{Address: userAn, Password: goodPassword}); err != nil {
			b.Fatal(err)
		}
		src, err := openMbox(path, "", 50<<20)
		if err != nil {
			b.Fatal(err)
		}
		imp := newImporter(ctl.Direct{Service: svc}, mailImportFlags{into: userAn}, newImportProgress(io.Discard))
		b.StartTimer()
		if err := imp.run(src); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if got := imp.tally["Archive"].imported; got != messages {
			b.Fatalf("imported %d of %d", got, messages)
		}
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(messages*b.N)/b.Elapsed().Seconds(), "messages/s")
	b.SetBytes(messages * size)
}

// writeBenchMbox writes n messages of about size bytes each, every one with its own Message-ID.
func writeBenchMbox(b *testing.B, path string, n, size int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	line := strings.Repeat("Nội dung báo cáo tháng, số liệu tổng hợp. ", 2) + "\n"
	for i := range n {
		fmt.Fprintf(w, "From an@vinhyen.gov.vn Mon Jan  1 00:00:00 2024\nMessage-ID: <%d@vinhyen.gov.vn>\n"+
			"From: an@vinhyen.gov.vn\nSubject: Báo cáo %d\n\n", i, i)
		for written := 0; written < size; written += len(line) {
			w.WriteString(line)
		}
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}
