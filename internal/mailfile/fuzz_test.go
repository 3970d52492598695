package mailfile

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzMboxReader reads arbitrary files: the reader must end, hand out no message over the maximum, and every message
// it hands out must come back the same (bytes, flags, sender) through our writer and reader.
func FuzzMboxReader(f *testing.F) {
	for _, seed := range []string{
		"From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\n>From y\n>>From z\nFrom q\n\n",
		"From - Sat Jan 13 10:00:00 2024\r\nX-Mozilla-Status: 0001\r\nX-Mozilla-Keys: a b\r\n\r\n>From\r\n",
		"From a@b Mon Jan  1 00:00:00 2024\nStatus: RO\nX-Status: A\nX-Keywords: k\n\nFrom x@y not a date\nz",
		"From \n",
	} {
		f.Add([]byte(seed))
	}
	const maxSize = 1 << 12
	f.Fuzz(func(t *testing.T, file []byte) {
		r := NewMboxReader(bytes.NewReader(file), MboxOptions{MaxSize: maxSize})
		for i := 0; i <= len(file); i++ {
			m, err := r.Next()
			if err == io.EOF {
				return
			}
			if errors.Is(err, ErrTooLarge) {
				continue
			}
			if err != nil {
				return // not an mbox file
			}
			if len(m.Data) > maxSize {
				t.Fatalf("message of %d bytes over the maximum", len(m.Data))
			}
			checkMboxRoundTrip(t, m)
		}
		t.Fatal("more messages than bytes")
	})
}

func checkMboxRoundTrip(t *testing.T, m *Message) {
	want := *m
	var file bytes.Buffer
	w := NewMboxWriter(&file, MboxWriterOptions{})
	if err := w.Write(m); err != nil {
		t.Fatalf("writing a message read: %v", err)
	}
	w.Flush()
	got, err := NewMboxReader(&file, MboxOptions{MaxSize: len(want.Data) + 1}).Next()
	if err != nil {
		t.Fatalf("reading back: %v", err)
	}
	if !bytes.Equal(got.Data, want.Data) || got.Sender != senderToken(want.Sender) || !sameFlags(got.Flags, want.Flags) {
		t.Fatalf("round trip:\n got %q %q %q\nwant %q %q %q", got.Data, got.Flags, got.Sender, want.Data, want.Flags, want.Sender)
	}
}

func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzMaildirName parses arbitrary names: no panic, sizes never below -1, and the unique part and flags are parts
// of the name.
func FuzzMaildirName(f *testing.F) {
	for _, seed := range []string{
		"1700000000.M1P2Q3.host,S=1234,W=1260:2,FRSa", "1.x;2,S", "1.x!2,", "x:1,y", ",S=,W=9999999999999999999", ":2,",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		n, err := ParseMaildirName(name)
		if err != nil {
			return
		}
		if n.Size < -1 || n.VSize < -1 || !strings.HasPrefix(name, n.Unique) || !strings.HasSuffix(name, n.Flags) {
			t.Fatalf("ParseMaildirName(%q) = %+v", name, n)
		}
		var fs flagSet
		flagsOf(n.Flags, []string{"Junk"}, &fs)
	})
}
