package mailfile

import (
	"bufio"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// attachmentSize is the attachment of the large-message tests: 30 MB before base64.
const attachmentSize = 30 << 20

// writeLargeMessage writes a message with a 30 MB attachment, base64 in 76-character lines, with LF endings.
func writeLargeMessage(t testing.TB, w io.Writer) {
	t.Helper()
	bw := bufio.NewWriter(w)
	bw.WriteString("Subject: large\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/octet-stream\n" +
		"Content-Transfer-Encoding: base64\n\n")
	chunk := make([]byte, 57*1024) // 57 bytes make one 76-character line
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	line := make([]byte, 77)
	for written := 0; written < attachmentSize; written += len(chunk) {
		for off := 0; off < len(chunk); off += 57 {
			base64.StdEncoding.Encode(line, chunk[off:off+57])
			line[76] = '\n'
			bw.Write(line)
		}
	}
	bw.WriteString("--b--\n")
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
}

// allocatedBy returns the bytes f allocates, and how much more the heap holds after it (after a collection).
func allocatedBy(f func()) (allocated uint64, held int64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// TestMboxLargeMessageMemory reads two messages with a 30 MB attachment: the reader holds one copy of the first
// (with the doubling's spare room: under twice its size), its allocations on the way are the doubling's (under
// four times its size), and the second message reuses the buffer.
func TestMboxLargeMessageMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "large.mbox")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		f.WriteString("From a@b Mon Jan  1 00:00:00 2024\n")
		writeLargeMessage(t, f)
		f.WriteString("\n")
	}
	f.Close()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r := NewMboxReader(in, MboxOptions{})
	var size int
	var m *Message
	first, held := allocatedBy(func() {
		var err error
		m, err = r.Next()
		if err != nil {
			t.Fatal(err)
		}
		size = len(m.Data)
		checkLarge(t, m.Data)
	})
	second, _ := allocatedBy(func() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("message %d bytes; allocated %d for the first (%d held after it), %d for the second", size, first, held, second)
	if first > uint64(4*size) || held > int64(2*size) || second > uint64(size/10) {
		t.Errorf("allocated %d (held %d) and %d bytes for messages of %d", first, held, second, size)
	}
}

func checkLarge(t testing.TB, data []byte) {
	t.Helper()
	if len(data) < attachmentSize*4/3 || !strings.HasSuffix(string(data[len(data)-16:]), "\r\n--b--\r\n") ||
		strings.Contains(string(data[:1000]), "\n\n") {
		t.Errorf("large message wrong: %d bytes, ends %q", len(data), data[len(data)-16:])
	}
}
