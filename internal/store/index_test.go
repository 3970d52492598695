package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// indexTestMessage is a parsed message, so that its envelope and search text are what delivery stores.
func indexTestMessage(subject, from, body string) NewMessage {
	raw := []byte("From: " + from + "\r\nTo: Trần Thị Bình <binh@example.gov.vn>\r\nSubject: " + subject +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
	p := message.Parse(raw)
	return NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText()}
}

// scanAnswer is what comparing the needle with every message's stored text says: the oracle.
func scanAnswer(t *testing.T, s *Store, mailboxID uint64, key SearchKey, needle string) []uint32 {
	t.Helper()
	uids, err := s.UIDs(mailboxID)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Messages(mailboxID, uids, FetchOptions{Meta: true, Text: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []uint32
	for _, m := range msgs {
		header, body := message.SplitSearchText(m.Text)
		var texts [][]byte
		switch key {
		case SearchText:
			texts = [][]byte{header, body}
		case SearchBody:
			texts = [][]byte{body}
		default:
			meta, err := message.DecodeMeta(m.Meta)
			if err != nil {
				continue
			}
			name := map[SearchKey]string{SearchSubject: "Subject", SearchFrom: "From", SearchTo: "To", SearchCc: "Cc", SearchBcc: "Bcc"}[key]
			for _, s := range message.EnvelopeSearchTexts(meta.Envelope, name) {
				texts = append(texts, []byte(s))
			}
		}
		if slices.ContainsFunc(texts, func(b []byte) bool { return bytes.Contains(b, []byte(needle)) }) {
			out = append(out, m.UID)
		}
	}
	return out
}

// indexedAnswer resolves an IndexAnswer against the stored texts, as the IMAP layer does.
func indexedAnswer(t *testing.T, s *Store, mailboxID uint64, key SearchKey, needle string, oracle []uint32) []uint32 {
	t.Helper()
	ans, err := s.SearchIndex(mailboxID, key, []byte(needle))
	if err != nil {
		t.Fatal(err)
	}
	uids, _ := s.UIDs(mailboxID)
	var out []uint32
	for _, u := range uids {
		switch ans.Verdict(u) {
		case IndexMatch:
			out = append(out, u)
		case IndexVerify:
			if slices.Contains(oracle, u) {
				out = append(out, u)
			}
		}
	}
	return out
}

func TestSearchIndexAnswersLikeTheScan(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	long := "supercalifragilisticexpialidocious-and-antidisestablishmentarianismveryverylongword"
	bodies := []string{"Báo cáo tháng 12 đã gửi", "xin gửi van.a@example.gov.vn tài liệu", long,
		"Đề xuất kinh phí 2026", "bao cao tong ket", "nothing here"}
	for i, b := range bodies {
		msg := indexTestMessage(fmt.Sprintf("Kế hoạch %d", i), "Nguyễn Văn An <an@example.gov.vn>", b)
		if _, err := s.Append(inbox.ID, msg, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.IndexPending(); err != nil {
		t.Fatal(err)
	}
	needles := []string{"bao", "cao", "bao cao", "ao c", "gui", "van.a@exa", "@", "2026", "ke hoach 3", "hoach",
		"kinh phi 2026", "califragilistic", "fragilisticexpiq", "disestablishment", "verylongword", "ious-and-anti", "an@example.gov.vn",
		"nguyen van an <an", "binh", "d", "đ", ""}
	keys := []SearchKey{SearchText, SearchBody, SearchSubject, SearchFrom, SearchTo, SearchCc}
	for _, key := range keys {
		for _, n := range needles {
			needle := message.Fold(n)
			oracle := scanAnswer(t, s, inbox.ID, key, needle)
			if got := indexedAnswer(t, s, inbox.ID, key, needle, oracle); !slices.Equal(got, oracle) {
				t.Errorf("key %d needle %q: index says %v, scan %v", key, needle, got, oracle)
			}
		}
	}
	ans, err := s.SearchIndex(inbox.ID, SearchText, []byte("bao"))
	if err != nil || ans.Bound != 6 || len(ans.Maybe) != 0 || !slices.Equal(ans.Sure, []uint32{1, 5}) {
		t.Errorf("a one-word needle is answered exactly: %+v, %v", ans, err)
	}
}

// indexedInbox is a store whose INBOX holds n parsed messages, all indexed.
func indexedInbox(t *testing.T, n int) (*Store, Mailbox) {
	t.Helper()
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	var batch []AppendMessage
	for i := range n {
		batch = append(batch, AppendMessage{NewMessage: indexTestMessage(fmt.Sprintf("Báo cáo %d", i),
			"Nguyễn Văn An <an@example.gov.vn>", fmt.Sprintf("nội dung số %d, từ %d", i, i*7))})
	}
	if _, err := s.AppendMany(inbox.ID, batch, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IndexPending(); err != nil {
		t.Fatal(err)
	}
	return s, inbox
}

func TestCheckReportsAMissingOrWrongPosting(t *testing.T) {
	for _, damage := range []string{"missing", "extra", "dictionary"} {
		t.Run(damage, func(t *testing.T) {
			s, inbox := indexedInbox(t, 5)
			if err := s.Check(); err != nil {
				t.Fatalf("before: %v", err)
			}
			err := s.update(func(tx *bolt.Tx, _ *changes) error {
				postings := tx.Bucket(bucketPostings)
				switch damage {
				case "missing": // the body term "noi" of every message
					return postings.Delete(binary.BigEndian.AppendUint32(termPrefix(inbox.ID, fieldBody, []byte("noi")), 1))
				case "extra": // a subject term message 2 does not have
					key := binary.BigEndian.AppendUint32(termPrefix(inbox.ID, fieldSubj, []byte("khong")), 2)
					if err := postings.Put(key, encodeUIDs(nil, 2, []uint32{2})); err != nil {
						return err
					}
					return addDictionaryTerms(tx, inbox.ID, fieldSubj, []string{"khong"})
				}
				return addDictionaryTerms(tx, inbox.ID, fieldBody, []string{"noi"}) // listed twice
			})
			if err != nil {
				t.Fatal(err)
			}
			checkFindsAndReindexRepairs(t, s, damage)
		})
	}
}

// indexingStore is a store with its background indexer running after delay, and an account's INBOX.
func indexingStore(t *testing.T, delay time.Duration) (*Store, Account, Mailbox) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "mail.db"), Options{NoSync: true, IndexDelay: delay})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a := mustAccount(t, s, "an@example.gov.vn")
	return s, a, mustMailbox(t, s, a, "INBOX")
}

func TestIndexerWorksInBoundedBatches(t *testing.T) {
	s, _, inbox := indexingStore(t, time.Millisecond)
	var batch []AppendMessage
	for i := range batchMessages*2 + 10 {
		batch = append(batch, AppendMessage{NewMessage: indexTestMessage("Kế hoạch", "an@example.gov.vn", fmt.Sprint("số ", i))})
	}
	if _, err := s.AppendMany(inbox.ID, batch, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ans, err := s.SearchIndex(inbox.ID, SearchSubject, []byte("hoach"))
		if err != nil {
			t.Fatal(err)
		}
		if ans.Bound == uint32(len(batch)) {
			if len(ans.Sure) != len(batch) {
				t.Errorf("%d sure, want %d", len(ans.Sure), len(batch))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not indexed in time: bound %d", ans.Bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := s.IndexStats().Batches; got < 3 {
		t.Errorf("%d messages indexed in %d batches, want at least 3 of at most %d", len(batch), got, batchMessages)
	}
}

func TestDeliveryWritesNoPosting(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "mail.db"), Options{NoSync: true, NoIndexer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := mustAccount(t, s, "an@example.gov.vn")
	if _, err := s.Deliver(indexTestMessage("Báo cáo", "an@example.gov.vn", "nội dung"), []Copy{{AccountID: a.ID}}); err != nil {
		t.Fatal(err)
	}
	size, err := s.SearchIndexSize()
	if err != nil || size.Bytes != 0 || size.Unindexed != 1 {
		t.Errorf("a delivery wrote %d bytes of index, %d unindexed (%v): the indexer writes them, later", size.Bytes, size.Unindexed, err)
	}
	if _, err := s.IndexPending(); err != nil {
		t.Fatal(err)
	}
	if size, err = s.SearchIndexSize(); err != nil || size.Bytes == 0 || size.Messages != 1 || size.Unindexed != 0 {
		t.Errorf("indexed: %+v, %v", size, err)
	}
}

// A deleted mailbox's postings wait for the indexer to drop them, which check accepts; index records and keys of
// mailboxes that no longer exist and that nothing is dropping are reported as stray.
func TestCheckReportsStrayIndexRecords(t *testing.T) {
	for _, damage := range []string{"record", "postings", "dictionary"} {
		t.Run(damage, func(t *testing.T) {
			s, err := Open(filepath.Join(t.TempDir(), "mail.db"), Options{NoSync: true, NoIndexer: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			a := mustAccount(t, s, "an@example.gov.vn")
			archive, err := s.CreateMailbox(a.ID, "Lưu trữ", "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(archive.ID, indexTestMessage("Báo cáo", "an@example.gov.vn", "nội dung"), nil, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.IndexPending(); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteMailbox(a.ID, "Lưu trữ"); err != nil {
				t.Fatal(err)
			}
			if err := s.Check(); err != nil {
				t.Fatalf("a deleted mailbox's postings not dropped yet: %v", err)
			}
			const gone = 999999
			err = s.update(func(tx *bolt.Tx, _ *changes) error {
				switch damage {
				case "record":
					return putIndexState(tx, gone, indexState{IndexedUID: 3, Indexed: 3})
				case "postings":
					key := binary.BigEndian.AppendUint32(termPrefix(gone, fieldBody, []byte("noi")), 1)
					return tx.Bucket(bucketPostings).Put(key, []byte{0})
				}
				return addDictionaryTerms(tx, gone, fieldBody, []string{"noi"})
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Check(); err == nil || !strings.Contains(err.Error(), "stray") {
				t.Errorf("check with a stray %s: %v", damage, err)
			}
		})
	}
}

// The postings of many small mailboxes, each indexed in one batch whose keys come in order, fill their leaves.
func TestPostingLeavesArePacked(t *testing.T) {
	s := newTestStore(t)
	for n := range 40 {
		a := mustAccount(t, s, fmt.Sprintf("u%02d@example.gov.vn", n))
		inbox := mustMailbox(t, s, a, "INBOX")
		var batch []AppendMessage
		for i := range 8 {
			batch = append(batch, AppendMessage{NewMessage: longTextMessage(n*100 + i)})
		}
		if _, err := s.AppendMany(inbox.ID, batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.IndexPending(); err != nil {
		t.Fatal(err)
	}
	var st bolt.BucketStats
	_ = s.view(func(tx *bolt.Tx) error { st = tx.Bucket(bucketPostings).Stats(); return nil })
	fill := float64(st.LeafInuse) / float64(st.LeafAlloc)
	t.Logf("postings: %d leaf pages, %d bytes in use of %d: %.2f", st.LeafPageN, st.LeafInuse, st.LeafAlloc, fill)
	if fill < 0.7 {
		t.Errorf("the postings' leaves are %.0f%% full, want at least 70%%", 100*fill)
	}
}

// TestIndexerIndexesTheTailOnceDeliveriesStop delivers a burst to one mailbox, message by message, with an index
// delay far beyond the test: while the deliveries flow, tails of indexThreshold messages are indexed, and once
// they stop the rest, fewer than that, is indexed at once rather than after the delay, within a bounded number
// of index rounds.
func TestIndexerIndexesTheTailOnceDeliveriesStop(t *testing.T) {
	s, a, inbox := indexingStore(t, time.Hour)
	const burst = indexThreshold*2 + 40
	for i := range burst {
		msg := indexTestMessage("Kế hoạch", "an@example.gov.vn", fmt.Sprint("số ", i))
		if _, err := s.Deliver(msg, []Copy{{AccountID: a.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the whole burst indexed", func() bool {
		ans, err := s.SearchIndex(inbox.ID, SearchSubject, []byte("hoach"))
		return err == nil && ans.Bound == burst && len(ans.Sure) == burst
	})
	if got, most := s.IndexStats().Batches, int64(burst/indexThreshold+3); got > most {
		t.Errorf("%d messages indexed in %d rounds, want at most %d", burst, got, most)
	}
}

// A batch's postings hold each term of each message once per message, under the message's UID, field by field:
// what messageTerms (check's reading) finds in each message, however the batch's lookups are cached. The messages
// have more distinct terms than the batch's term cache has slots, and share terms across fields.
func TestBatchPostingsHoldEachMessagesTerms(t *testing.T) {
	var msgs []NewMessage
	for i := range 12 {
		var body strings.Builder
		for j := range 3000 {
			fmt.Fprintf(&body, "so%d-%d bao cao w%d ", (i*7+j)%4000, j%3, j%50)
		}
		msgs = append(msgs, indexTestMessage(fmt.Sprintf("bao cao so%d", i), fmt.Sprintf("W%d <w%d@example.gov.vn>", i, i),
			body.String()))
	}
	b := &indexBatchData{postings: map[indexField]map[string]int32{}}
	want := map[indexField]map[string][]uint32{}
	for i, m := range msgs {
		uid := uint32(2*i + 5)
		b.addMessage(m.Text, m.Meta, uid)
		for f, terms := range messageTerms(m.Text, m.Meta) {
			if want[f] == nil {
				want[f] = map[string][]uint32{}
			}
			for term := range terms {
				want[f][term] = append(want[f][term], uid)
			}
		}
	}
	for f, terms := range want {
		if len(b.postings[f]) != len(terms) {
			t.Errorf("field %c: %d terms in the batch, want %d", f, len(b.postings[f]), len(terms))
		}
		for term, uids := range terms {
			i, ok := b.postings[f][term]
			if got := b.listUIDs(nil, i); !ok || !slices.Equal(got, uids) {
				t.Errorf("field %c term %q: %v (in the batch: %v), want %v", f, term, got, ok, uids)
			}
		}
	}
}

// encodedUIDsLen is the length encodeUIDs gives, at every width of a delta.
func TestEncodedUIDsLenIsTheEncodingsLength(t *testing.T) {
	for _, uids := range [][]uint32{{1}, {5, 6, 7}, {127, 128, 255, 16511, 16512, 1 << 21, 1<<28 + 3, 1<<32 - 1}} {
		for _, prev := range []uint32{0, uids[0] - 1} {
			if got, want := encodedUIDsLen(prev, uids), len(encodeUIDs(nil, prev, uids)); got != want {
				t.Errorf("uids %v after %d: %d bytes, encoded in %d", uids, prev, got, want)
			}
		}
	}
}

// A batch that leaves messages behind (bounded, or outrun by appends) does not make the rest a batch of its own at
// once: the rest waits for more or for the writes to go quiet, unless it is a backlog found by a rescan.
func TestTailSettlesAfterABatch(t *testing.T) {
	cases := []struct {
		name     string
		tail     tail
		done     bool
		messages int
		upTo     uint32
		gone     bool
		count    int
		zero     bool // since stays zero
	}{
		{"reached the last appended", tail{since: time.Now(), count: 300, last: 300}, true, 300, 300, true, 0, false},
		{"outrun by appends", tail{since: time.Now(), count: 290, last: 290}, true, 256, 256, false, 34, false},
		{"bounded batch", tail{since: time.Now(), count: 600, last: 600}, false, 256, 256, false, 344, false},
		{"bounded batch of a rescanned backlog", tail{}, false, 256, 256, false, 1, true},
		{"rescanned backlog done", tail{}, true, 10, 10, true, 0, true},
	}
	for _, c := range cases {
		tl := c.tail
		if gone := tl.settle(c.done, c.messages, c.upTo); gone != c.gone {
			t.Errorf("%s: gone %v, want %v", c.name, gone, c.gone)
			continue
		}
		if c.gone {
			continue
		}
		if tl.count != c.count || tl.since.IsZero() != c.zero {
			t.Errorf("%s: count %d since %v, want %d (since zero: %v)", c.name, tl.count, tl.since, c.count, c.zero)
		}
		if !c.zero && tl.count < indexThreshold && time.Since(tl.since) > time.Second {
			t.Errorf("%s: the rest is due at once", c.name)
		}
	}
}

// checkFindsAndReindexRepairs checks that Check reports the search index damaged (by damage) and that a reindex
// repairs it.
func checkFindsAndReindexRepairs(t *testing.T, s *Store, damage string) {
	t.Helper()
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "search index") {
		t.Fatalf("check after damage %s: %v", damage, err)
	}
	if err := s.Reindex(0); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Errorf("after reindex: %v", err)
	}
}
