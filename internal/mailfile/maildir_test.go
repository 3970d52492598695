package mailfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestParseMaildirName(t *testing.T) {
	tests := []struct {
		name string
		want MaildirName
		ok   bool
	}{
		{"1700000000.M1P2Q3.host,S=1234,W=1260:2,FRSa", MaildirName{"1700000000.M1P2Q3.host,S=1234,W=1260", 1234, 1260, "FRSa"}, true},
		{"1700000000.M1P2.host", MaildirName{"1700000000.M1P2.host", -1, -1, ""}, true},
		{"1700000000.M1P2.host;2,S", MaildirName{"1700000000.M1P2.host", -1, -1, "S"}, true},
		{"1700000000.host:1,experimental", MaildirName{"1700000000.host", -1, -1, ""}, true},
		{"x,S=-5,W=abc:2,", MaildirName{"x,S=-5,W=abc", -1, -1, ""}, true},
		{".hidden", MaildirName{}, false},
		{"", MaildirName{}, false},
	}
	for _, tc := range tests {
		got, err := ParseMaildirName(tc.name)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseMaildirName(%q) = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

// writeFile writes a fixture file with a modification time.
func writeFile(t testing.TB, path, data string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func readMaildir(t testing.TB, dir string, maxSize int) (msgs []Message, skipped []error) {
	t.Helper()
	r, err := OpenMaildir(dir, maxSize)
	if err != nil {
		t.Fatal(err)
	}
	return collect(t, r.Next)
}

// TestMaildirRead reads a Dovecot Maildir: LF and CRLF files, flags and keyword letters, new/ without flags, the
// modification time as INTERNALDATE, a 0-byte message, and one over the maximum skipped.
func TestMaildirRead(t *testing.T) {
	dir := t.TempDir()
	day := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	writeFile(t, filepath.Join(dir, keywordsFile), "0 Junk\n1 $label1\nbroken line\n", day)
	writeFile(t, filepath.Join(dir, "cur", "1000.a,S=14:2,FPRSTb"), "Subject: a\n\nx\n", day)
	writeFile(t, filepath.Join(dir, "cur", "1001.b:2,Da"), "Subject: b\r\n\r\nbare\nLF kept\r\n", day.Add(time.Hour))
	writeFile(t, filepath.Join(dir, "new", "1002.c"), "", day.Add(2*time.Hour))
	writeFile(t, filepath.Join(dir, "new", "1003.d"), "Subject: too large\n\n"+string(make([]byte, 200)), day)
	writeFile(t, filepath.Join(dir, "tmp", "1004.e"), "not yet delivered", day)
	msgs, skipped := readMaildir(t, dir, 100)
	want := []Message{
		{Data: []byte("Subject: a\r\n\r\nx\r\n"), Flags: []string{FlagSeen, FlagAnswered, FlagFlagged, FlagDeleted, "$Forwarded", "$label1"}, Date: day},
		{Data: []byte("Subject: b\r\n\r\nbare\nLF kept\r\n"), Flags: []string{FlagDraft, "Junk"}, Date: day.Add(time.Hour)},
		{Data: []byte{}, Date: day.Add(2 * time.Hour)},
	}
	if len(msgs) != len(want) || len(skipped) != 1 {
		t.Fatalf("%d messages and %d skipped, want %d and 1", len(msgs), len(skipped), len(want))
	}
	for i := range want {
		sameMessage(t, msgs[i], want[i])
	}
}

// TestMaildirRoundTrip writes the awkward messages and reads them back byte for byte, with their flags and dates.
func TestMaildirRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Sent")
	w, err := CreateMaildir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []Message
	for i, m := range roundTripMessages {
		if firstLineBareLF(m.Data) {
			continue // the file's first line is the message's: it reads as an LF file (package doc)
		}
		m.Date = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC).Add(time.Duration(i) * time.Hour)
		if err := w.Write(&m); err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
	}
	many := make([]string, maxKeywords+1)
	for i := range many {
		many[i] = string(rune('A' + i))
	}
	if err := w.Write(&Message{Flags: many}); !errors.Is(err, ErrTooManyKeywords) {
		t.Errorf("27 keywords: %v", err)
	}
	got, _ := readMaildir(t, dir, 0)
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d", len(got), len(want))
	}
	for i := range want {
		slices.Sort(got[i].Flags) // a Maildir name keeps flags, not their order
		want[i].Flags = slices.Sorted(slices.Values(want[i].Flags))
		sameMessage(t, got[i], want[i])
	}
}

func TestMaildirLargeMessageMemory(t *testing.T) {
	dir := t.TempDir()
	mkMaildir(t, dir)
	f, err := os.Create(filepath.Join(dir, "cur", "1.large:2,S"))
	if err != nil {
		t.Fatal(err)
	}
	writeLargeMessage(t, f)
	f.Close()
	r, err := OpenMaildir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	var size int
	allocated, held := allocatedBy(func() {
		m, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		size = len(m.Data)
		checkLarge(t, m.Data)
	})
	t.Logf("message %d bytes; allocated %d, held %d", size, allocated, held)
	if allocated > uint64(4*size) || held > int64(2*size) {
		t.Errorf("allocated %d (held %d) for a message of %d", allocated, held, size)
	}
}

func firstLineBareLF(data []byte) bool {
	i := bytes.IndexByte(data, '\n')
	return i == 0 || i > 0 && data[i-1] != '\r'
}
