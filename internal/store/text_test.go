package store

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

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
	if len(stored) == 0 || stored[0] != textZstd || len(stored) > len(msg.Text)/2 {
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
	texts := [][]byte{[]byte("bao cao"), {textZstd, 'x'}, {textPlain}, []byte("\x00body only")}
	for i, text := range texts {
		msg := testMessage(i)
		msg.Text = text
		if _, err := s.Append(inbox.ID, msg, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := s.Messages(inbox.ID, []uint32{1, 2, 3, 4}, FetchOptions{Text: true})
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
	msgs, err := s.Messages(mailboxID, uids, FetchOptions{Text: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		putStoredText(t, s, mailboxID, m.UID, m.Text)
	}
}

// A store written before texts were compressed keeps them as they are: they read back unchanged, are indexed and
// searched like the compressed ones beside them, and pass check.
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
	old := []uint32{1, 3, 6}
	writeTextsTheOldWay(t, s, inbox.ID, old)
	if stored := storedTextOf(t, s, inbox.ID, 1); !bytes.Equal(stored, want[0]) {
		t.Fatalf("the old form was not written")
	}
	msgs, err := s.Messages(inbox.ID, []uint32{1, 2, 3, 4, 5, 6}, FetchOptions{Text: true})
	if err != nil || len(msgs) != 6 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	for i, m := range msgs {
		if !bytes.Equal(m.Text, want[i]) {
			t.Errorf("uid %d (old form: %v): text read back differs", m.UID, slices.Contains(old, m.UID))
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
	for _, damage := range []string{"frame", "form"} {
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
			case "form": // a first byte no form has
				stored[0] = 7
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
