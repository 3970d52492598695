package store

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// longTextMessage is a parsed message whose folded text is a few KiB, as a report's is.
func longTextMessage(n int) NewMessage {
	var body strings.Builder
	for i := range 60 {
		fmt.Fprintf(&body, "Đề nghị các phòng ban gửi báo cáo tổng kết số %d/%d trước ngày %d, kèm kế hoạch năm 2026.\r\n",
			n, i, 1+(n+i)%28)
	}
	return indexTestMessage(fmt.Sprintf("Báo cáo quý %d", n), "Nguyễn Văn An <an@example.gov.vn>", body.String())
}

// bodySeqOf is the sequence number the body of the message uid is stored under.
func bodySeqOf(t *testing.T, s *Store, mailboxID uint64, uid uint32) uint64 {
	t.Helper()
	msgs, err := s.Messages(mailboxID, []uint32{uid}, FetchOptions{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("uid %d: %d messages, %v", uid, len(msgs), err)
	}
	var seq uint64
	err = s.view(func(tx *bolt.Tx) error {
		rec, err := bodyRecordOf(tx, msgs[0].Body, false)
		seq = rec.seq
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// storedTextOf is the body_texts record of the message uid in the mailbox, as it lies in the file.
func storedTextOf(t *testing.T, s *Store, mailboxID uint64, uid uint32) []byte {
	t.Helper()
	seq := bodySeqOf(t, s, mailboxID, uid)
	var out []byte
	_ = s.view(func(tx *bolt.Tx) error {
		out = bytes.Clone(tx.Bucket(bucketTexts).Get(u64key(seq)))
		return nil
	})
	return out
}

// putStoredText replaces the body_texts record of the message uid in the mailbox.
func putStoredText(t *testing.T, s *Store, mailboxID uint64, uid uint32, v []byte) {
	t.Helper()
	seq := bodySeqOf(t, s, mailboxID, uid)
	if err := s.update(func(tx *bolt.Tx, _ *changes) error { return tx.Bucket(bucketTexts).Put(u64key(seq), v) }); err != nil {
		t.Fatal(err)
	}
}

func TestSearchTextIsStoredCompressed(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	msg := longTextMessage(1)
	placed, err := s.Deliver(msg, []Copy{{AccountID: a.ID}})
	if err != nil {
		t.Fatal(err)
	}
	stored := storedTextOf(t, s, placed[0].MailboxID, placed[0].UID)
	if len(stored) == 0 || stored[0] != textS2 || len(stored) > len(msg.Text)/2 {
		t.Errorf("a search text of %d bytes is stored in %d bytes (form %x), want compressed to less than half",
			len(msg.Text), len(stored), stored[:min(1, len(stored))])
	}
	got, err := s.Messages(placed[0].MailboxID, []uint32{placed[0].UID}, FetchOptions{Text: true})
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Text, msg.Text) {
		t.Fatalf("the text read back differs from the one stored (%v)", err)
	}
}

// Texts that compression would not shorten are stored as they are, behind their form byte, even one that starts
// with a byte that marks a form.
func TestShortSearchTextsAreStoredPlain(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	texts := [][]byte{[]byte("bao cao"), {textZstd, 'x'}, {textPlain}, []byte("\x00body only"), {textS2, 'x'}}
	for i, text := range texts {
		msg := testMessage(i)
		msg.Text = text
		if _, err := s.Append(inbox.ID, msg, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := s.Messages(inbox.ID, []uint32{1, 2, 3, 4, 5}, FetchOptions{Text: true})
	if err != nil || len(msgs) != len(texts) {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	for i, m := range msgs {
		if !bytes.Equal(m.Text, texts[i]) {
			t.Errorf("text %q read back as %q", texts[i], m.Text)
		}
		if stored := storedTextOf(t, s, inbox.ID, m.UID); stored[0] != textPlain {
			t.Errorf("text %q stored as %q", texts[i], stored)
		}
	}
}

// writeTextsTheOldWay stores the texts of the mailbox's messages as the store wrote them before it compressed
// them: the folded text itself.
func writeTextsTheOldWay(t *testing.T, s *Store, mailboxID uint64, uids []uint32) {
	t.Helper()
	rewriteTexts(t, s, mailboxID, uids, func(text []byte) []byte { return text })
}

// rewriteTexts replaces the stored texts of the mailbox's messages with form(text).
func rewriteTexts(t *testing.T, s *Store, mailboxID uint64, uids []uint32, form func(text []byte) []byte) {
	t.Helper()
	msgs, err := s.Messages(mailboxID, uids, FetchOptions{Text: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		putStoredText(t, s, mailboxID, m.UID, form(m.Text))
	}
}

// encodeTextZstd is the stored form the store gave a search text when it compressed texts with zstd.
func encodeTextZstd(t testing.TB, text []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true),
		zstd.WithWindowSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeAll(text, []byte{textZstd})
}

// writeTextsZstd stores the texts of the mailbox's messages in the zstd form.
func writeTextsZstd(t *testing.T, s *Store, mailboxID uint64, uids []uint32) {
	t.Helper()
	rewriteTexts(t, s, mailboxID, uids, func(text []byte) []byte { return encodeTextZstd(t, text) })
}

// A store written before texts were compressed, or while they were compressed with zstd, keeps them as they are:
// they read back unchanged, are indexed and searched like the ones beside them in the current form, and pass check.
func TestSearchTextsWrittenUncompressedStillRead(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	var want [][]byte
	for n := range 6 {
		msg := longTextMessage(n)
		if n == 5 {
			msg.Text = []byte("\x00no header text, a body text" + strings.Repeat(" compressed by the store", 40))
		}
		if _, err := s.Append(inbox.ID, msg, nil, nil); err != nil {
			t.Fatal(err)
		}
		want = append(want, msg.Text)
	}
	old, zstdForm := []uint32{1, 3, 6}, []uint32{2, 5}
	writeTextsTheOldWay(t, s, inbox.ID, old)
	writeTextsZstd(t, s, inbox.ID, zstdForm)
	if stored := storedTextOf(t, s, inbox.ID, 1); !bytes.Equal(stored, want[0]) {
		t.Fatalf("the old form was not written")
	}
	if stored := storedTextOf(t, s, inbox.ID, 2); stored[0] != textZstd {
		t.Fatalf("the zstd form was not written")
	}
	msgs, err := s.Messages(inbox.ID, []uint32{1, 2, 3, 4, 5, 6}, FetchOptions{Text: true})
	if err != nil || len(msgs) != 6 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	for i, m := range msgs {
		if !bytes.Equal(m.Text, want[i]) {
			t.Errorf("uid %d (old form: %v, zstd: %v): text read back differs", m.UID, slices.Contains(old, m.UID),
				slices.Contains(zstdForm, m.UID))
		}
	}
	if _, err := s.IndexPending(); err != nil {
		t.Fatal(err)
	}
	for _, needle := range []string{"bao cao quy 3", "so 4/17", "ke hoach nam 2026", "compressed by the store"} {
		for _, key := range []SearchKey{SearchText, SearchBody} {
			oracle := scanAnswer(t, s, inbox.ID, key, message.Fold(needle))
			if got := indexedAnswer(t, s, inbox.ID, key, message.Fold(needle), oracle); !slices.Equal(got, oracle) || len(oracle) == 0 && key == SearchText {
				t.Errorf("key %d %q: index %v, scan %v", key, needle, got, oracle)
			}
		}
	}
	if err := s.Check(); err != nil {
		t.Errorf("check: %v", err)
	}
}

func TestCheckReportsASearchTextThatDoesNotDecode(t *testing.T) {
	for _, damage := range []string{"frame", "checksum", "form", "zstd frame"} {
		t.Run(damage, func(t *testing.T) {
			s := newTestStore(t)
			a := mustAccount(t, s, "an@example.gov.vn")
			placed, err := s.Deliver(longTextMessage(1), []Copy{{AccountID: a.ID}})
			if err != nil {
				t.Fatal(err)
			}
			stored := storedTextOf(t, s, placed[0].MailboxID, placed[0].UID)
			switch damage {
			case "frame": // a byte of the compressed data changed
				stored[len(stored)/2] ^= 0x55
			case "checksum": // the text decodes, but not to the one stored
				stored[1] ^= 0x55
			case "form": // a first byte no form has
				stored[0] = 7
			case "zstd frame": // a byte of a text stored in the zstd form changed
				stored = encodeTextZstd(t, longTextMessage(1).Text)
				stored[len(stored)/2] ^= 0x55
			}
			putStoredText(t, s, placed[0].MailboxID, placed[0].UID, stored)
			if err := s.Check(); err == nil || !strings.Contains(err.Error(), "search text") {
				t.Errorf("check after damaging the stored text (%s): %v", damage, err)
			}
			if _, err := s.Messages(placed[0].MailboxID, []uint32{placed[0].UID}, FetchOptions{Text: true}); err == nil {
				t.Errorf("a damaged text read without error")
			}
			// Put the text back for the check at the test's end.
			putStoredText(t, s, placed[0].MailboxID, placed[0].UID, encodeText(longTextMessage(1).Text))
		})
	}
}

// mailbenchText is the folded search text of a 20 KiB message as cmd/mailbench generates it.
func mailbenchText(b *testing.B) []byte {
	raw, err := os.ReadFile("testdata/mailbench-20k.eml")
	if err != nil {
		b.Fatal(err)
	}
	return message.Parse(raw).SearchText()
}

// BenchmarkEncodeText is the compression of a search text at delivery; stored-bytes is the record's length.
func BenchmarkEncodeText(b *testing.B) {
	text := mailbenchText(b)
	var stored []byte
	b.ReportAllocs()
	for b.Loop() {
		stored = encodeText(text)
	}
	b.ReportMetric(float64(len(text)), "text-bytes")
	b.ReportMetric(float64(len(stored)), "stored-bytes")
}

// BenchmarkDecodeText is the read of a stored search text, in the current form and in the zstd one.
func BenchmarkDecodeText(b *testing.B) {
	text := mailbenchText(b)
	for _, form := range []struct {
		name   string
		stored []byte
	}{{"s2", encodeText(text)}, {"zstd", encodeTextZstd(b, text)}} {
		b.Run(form.name, func(b *testing.B) {
			buf := newTextBuffer()
			defer buf.release()
			b.ReportAllocs()
			for b.Loop() {
				if got, err := buf.decode(form.stored); err != nil || len(got) != len(text) {
					b.Fatalf("%d bytes, %v", len(got), err)
				}
			}
		})
	}
}
