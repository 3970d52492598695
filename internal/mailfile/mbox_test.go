package mailfile

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// readAll reads every message of an mbox file, copying each, and the errors of skipped ones.
func readAll(t testing.TB, file string, opt MboxOptions) (msgs []Message, skipped []error) {
	t.Helper()
	return collect(t, NewMboxReader(strings.NewReader(file), opt).Next)
}

// collect copies the messages that next hands out, and the errors of those it skipped as too large.
func collect(t testing.TB, next func() (*Message, error)) (msgs []Message, skipped []error) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		m, err := next()
		if err == io.EOF {
			return msgs, skipped
		}
		if errors.Is(err, ErrTooLarge) {
			skipped = append(skipped, err)
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		c := *m
		c.Data, c.Flags = bytes.Clone(m.Data), slices.Clone(m.Flags)
		msgs = append(msgs, c)
	}
	t.Fatal("more than 1000 messages")
	return nil, nil
}

// lfToCRLF writes a fixture with LF endings as a CRLF file.
func lfToCRLF(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

type wantMsg struct {
	data  string
	flags []string
}

func TestMboxRead(t *testing.T) {
	thunderbird := "From - Sat Jan 13 10:00:00 2024\n" +
		"X-Mozilla-Status: 0005\nX-Mozilla-Status2: 00000000\nX-Mozilla-Keys: $label1 Work                     \n" +
		"Subject: a\n\n>From the start\n>>From kept as it is (mboxo)\nFrom my desk, unquoted\n\n" +
		"From - Sat Jan 13 10:01:00 2024\nX-Mozilla-Status: 000a\nSubject: b\n\nno trailing newline"
	mutt := "From an@hanoi.gov.vn Thu Sep 12 09:23:27 2019\n" +
		"Subject: c\nStatus: RO\nX-Status: AFT\nX-Keywords: Junk, $Forwarded\n\n>From quoted\n>>From twice\n\n" +
		"From MAILER-DAEMON Fri Jul  8 12:08:34 2011 remote from x\n\n" + // an empty message: no header, no body
		"From bo@hanoi.gov.vn Fri, 08 Jul 2011 12:09:00 +0700\nSubject: d\n\nlast\n\n"
	tests := []struct {
		name string
		file string
		want []wantMsg
	}{
		{"thunderbird mboxo", thunderbird, []wantMsg{
			{"Subject: a\r\n\r\nFrom the start\r\n>>From kept as it is (mboxo)\r\nFrom my desk, unquoted\r\n",
				[]string{FlagSeen, FlagFlagged, "$label1", "Work"}},
			{"Subject: b\r\n\r\nno trailing newline", []string{FlagAnswered, FlagDeleted}},
		}},
		{"mutt mboxrd, flags kept in the header", mutt, []wantMsg{
			{"Subject: c\r\nStatus: RO\r\nX-Status: AFT\r\nX-Keywords: Junk, $Forwarded\r\n\r\nFrom quoted\r\n>From twice\r\n",
				[]string{FlagSeen, FlagAnswered, FlagFlagged, FlagDraft, "Junk", "$Forwarded"}},
			{"", nil},
			{"Subject: d\r\n\r\nlast\r\n", nil},
		}},
		{"empty file", "", nil},
		{"a From line alone is a 0-byte message", "From x@y Mon Jan  1 00:00:00 2024\n", []wantMsg{{"", nil}}},
	}
	for _, tc := range tests {
		for _, crlfFile := range []bool{false, true} {
			file := tc.file
			if crlfFile {
				file = lfToCRLF(file)
			}
			msgs, _ := readAll(t, file, MboxOptions{Name: "f"})
			if len(msgs) != len(tc.want) {
				t.Fatalf("%s (CRLF %v): %d messages, want %d", tc.name, crlfFile, len(msgs), len(tc.want))
			}
			for i, w := range tc.want {
				if string(msgs[i].Data) != w.data || !reflect.DeepEqual(msgs[i].Flags, w.flags) && len(w.flags)+len(msgs[i].Flags) > 0 {
					t.Errorf("%s (CRLF %v) message %d:\n got %q %q\nwant %q %q", tc.name, crlfFile, i, msgs[i].Data, msgs[i].Flags, w.data, w.flags)
				}
			}
		}
	}
}

func TestMboxSeparatorDates(t *testing.T) {
	file := "From a@b Thu Sep 12 09:23:27 2019\n\nx\n\n" +
		"From a@b Thu Sep 12 09:23:27 +0700 2019\n\nx\n\n" +
		"From a@b Thu, 12 Sep 2019 09:23:27 +0700\n\nx\n\n" +
		"From a@b not a date\n\nx\n\n" + // after a blank line, with an address: a separator all the same
		"From a@b Thu Sep 12 09:23:27 2019\nX: y\nFrom here on, a body line\n"
	msgs, _ := readAll(t, file, MboxOptions{})
	want := []time.Time{
		time.Date(2019, 9, 12, 9, 23, 27, 0, time.UTC),
		time.Date(2019, 9, 12, 2, 23, 27, 0, time.UTC),
		time.Date(2019, 9, 12, 2, 23, 27, 0, time.UTC),
		{},
		time.Date(2019, 9, 12, 9, 23, 27, 0, time.UTC),
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	for i, w := range want {
		if !msgs[i].Date.Equal(w) || msgs[i].Sender != "a@b" {
			t.Errorf("message %d: date %v sender %q, want %v", i, msgs[i].Date, msgs[i].Sender, w)
		}
	}
	if got := string(msgs[4].Data); got != "X: y\r\nFrom here on, a body line" {
		t.Errorf("unquoted From line in a body: %q", got)
	}
}

func TestMboxNotMbox(t *testing.T) {
	_, err := NewMboxReader(strings.NewReader("Subject: x\n\nhi\n"), MboxOptions{Name: "x.mbox"}).Next()
	if err == nil || !strings.Contains(err.Error(), "not an mbox file") {
		t.Errorf("Next: %v", err)
	}
}

func TestMboxTooLargeSkipped(t *testing.T) {
	file := "From a@b Mon Jan  1 00:00:00 2024\n\n" + strings.Repeat("x", 100) + "\n\n" +
		"From a@b Mon Jan  1 00:00:00 2024\n\nsmall\n"
	msgs, skipped := readAll(t, file, MboxOptions{MaxSize: 50, Name: "f"})
	if len(skipped) != 1 || !strings.Contains(skipped[0].Error(), "f:0") {
		t.Errorf("skipped %v, want the first message", skipped)
	}
	if len(msgs) != 1 || string(msgs[0].Data) != "\r\nsmall" {
		t.Errorf("messages after the skipped one: %q", msgs)
	}
}

// roundTripMessages are the awkward ones: From lines at any depth of quoting, no final line ending, 0 bytes, a
// message opening with the flag headers the writer adds, bare LF and CR, a line longer than the read buffer.
var roundTripMessages = []Message{
	{Data: []byte("Subject: a\r\n\r\nFrom me\r\n>From you\r\n>>From them\r\n"), Flags: []string{FlagSeen, "Work"}},
	{Data: []byte("From: x@y\r\n\r\nno final line ending"), Flags: []string{FlagAnswered, FlagFlagged, FlagDeleted, FlagDraft}},
	{Data: []byte{}},
	{Data: []byte("Status: RO\r\nX-Status: F\r\nX-Keywords: kept\r\nX-Mozilla-Status: 0001\r\n\r\nbody\r\n\r\n"), Flags: []string{"$Forwarded"}},
	{Data: []byte("From x@y Mon Jan  1 00:00:00 2024\r\n\r\n")},
	{Data: []byte("\r\n\r\n\r\n")},
	{Data: []byte("bare\nLF\rCR\r\r\n\nFrom \n")},
	{Data: []byte("Subject: long\r\n\r\n" + strings.Repeat("y", 3*readBufferSize+7) + "\r\n>From " + strings.Repeat("z", readBufferSize) + "\r\n")},
}

func TestMboxRoundTrip(t *testing.T) {
	for _, lfFile := range []bool{false, true} {
		var file bytes.Buffer
		w := NewMboxWriter(&file, MboxWriterOptions{LF: lfFile})
		var want []Message
		for i, m := range roundTripMessages {
			if lfFile && bytes.Contains(bytes.ReplaceAll(m.Data, crlf, nil), lf) {
				continue // a bare LF in an LF file reads back as CRLF
			}
			m.Date = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC).Add(time.Duration(i) * time.Hour)
			m.Sender = "an@hanoi.gov.vn"
			if err := w.Write(&m); err != nil {
				t.Fatal(err)
			}
			want = append(want, m)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		got, _ := readAll(t, file.String(), MboxOptions{})
		if len(got) != len(want) {
			t.Fatalf("LF %v: %d messages, want %d:\n%q", lfFile, len(got), len(want), file.String())
		}
		for i := range want {
			sameMessage(t, got[i], want[i])
		}
	}
}

func sameMessage(t testing.TB, got, want Message) {
	t.Helper()
	if !bytes.Equal(got.Data, want.Data) {
		t.Errorf("data %q, want %q", got.Data, want.Data)
	}
	if len(got.Flags)+len(want.Flags) > 0 && !reflect.DeepEqual(got.Flags, want.Flags) {
		t.Errorf("flags %q, want %q", got.Flags, want.Flags)
	}
	if !got.Date.Equal(want.Date) || got.Sender != want.Sender {
		t.Errorf("date %v sender %q, want %v %q", got.Date, got.Sender, want.Date, want.Sender)
	}
}

func TestMboxWriterRefusesBadKeyword(t *testing.T) {
	w := NewMboxWriter(io.Discard, MboxWriterOptions{})
	if err := w.Write(&Message{Flags: []string{"two words"}}); err == nil {
		t.Error("a keyword with a space was written")
	}
}
