package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"mailserver/internal/message"
)

// segmentTestInbox is a store whose INBOX gets messages in batches of per, each indexed on its own as the indexer
// would: the first batch into the postings, the next ones as segments, merged once there are mergeAt of them.
func segmentTestInbox(t *testing.T) (*Store, Mailbox, func(batches, per int)) {
	t.Helper()
	s := newTestStoreWith(t, Options{NoSync: true, NoIndexer: true})
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	n := 0
	add := func(batches, per int) {
		t.Helper()
		for range batches {
			var batch []AppendMessage
			for range per {
				subject := fmt.Sprintf("Kế hoạch %d", n%7)
				body := []string{"Báo cáo tháng 12 đã gửi", "xin gửi van.a@example.gov.vn tài liệu", "bao cao tong ket",
					"Đề xuất kinh phí 2026", fmt.Sprintf("số %d thanhtra%d", n, n%3)}[n%5]
				batch = append(batch, AppendMessage{NewMessage: indexTestMessage(subject, "Nguyễn Văn An <an@example.gov.vn>", body)})
				n++
			}
			if _, err := s.AppendMany(inbox.ID, batch, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.indexBatch(inbox.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s, inbox, add
}

func indexStateOf(t *testing.T, s *Store, mailboxID uint64) (st indexState, segments int) {
	t.Helper()
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		st, err = getIndexState(tx, mailboxID)
		segments = len(segmentStarts(tx, mailboxID))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, segments
}

// Searches answer the same from the postings, from segments beside them, and after the segments are merged; check
// agrees at every step.
func TestSegmentsAnswerLikeTheScanBeforeAndAfterTheirMerge(t *testing.T) {
	s, inbox, add := segmentTestInbox(t)
	needles := []string{"bao", "bao cao", "ao c", "gui", "van.a@exa", "2026", "ke hoach 3", "hoach", "thanhtra1",
		"thanhtra", "so 1", "nguyen van an <an", "binh", "đ"}
	compare := func(when string) {
		t.Helper()
		for _, key := range []SearchKey{SearchText, SearchBody, SearchSubject, SearchFrom, SearchTo} {
			for _, n := range needles {
				needle := message.Fold(n)
				oracle := scanAnswer(t, s, inbox.ID, key, needle)
				if got := indexedAnswer(t, s, inbox.ID, key, needle, oracle); !slices.Equal(got, oracle) {
					t.Errorf("%s: key %d needle %q: index says %v, scan %v", when, key, needle, got, oracle)
				}
			}
		}
		if err := s.Check(); err != nil {
			t.Errorf("%s: check: %v", when, err)
		}
	}
	add(1, 5)
	if st, n := indexStateOf(t, s, inbox.ID); n != 0 || st.IndexedUID != 5 {
		t.Fatalf("the first batch: %d segments, state %+v; want it in the postings", n, st)
	}
	compare("postings only")
	add(mergeAt-1, 3)
	if st, n := indexStateOf(t, s, inbox.ID); n != mergeAt-1 || int(st.Segments) != n {
		t.Fatalf("%d segments, the state counts %d; want %d", n, st.Segments, mergeAt-1)
	}
	compare("postings and segments")
	add(1, 3)
	if st, n := indexStateOf(t, s, inbox.ID); n != 0 || st.Segments != 0 || st.MergeUpTo != 0 {
		t.Fatalf("after the merge: %d segments, state %+v", n, st)
	}
	compare("merged")
	add(2, 4)
	compare("merged, then two segments")
}

// A merge goes in steps of mergeStepTerms terms, each its own transaction; searches and check in the middle of one
// see every UID once, though a term may be in the postings and in a segment not deleted yet.
func TestAMergeInTheMiddleAnswersLikeTheScan(t *testing.T) {
	s, inbox, _ := segmentTestInbox(t)
	// Many distinct terms, so that the merge takes several steps.
	var batch []AppendMessage
	for range 4 {
		batch = append(batch, AppendMessage{NewMessage: indexTestMessage("Kế hoạch", "an@example.gov.vn", "mở đầu")})
	}
	if _, err := s.AppendMany(inbox.ID, batch, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.indexNextBatch(inbox.ID); err != nil {
		t.Fatal(err)
	}
	for b := range mergeAt {
		var words []string
		for w := range mergeStepTerms / 4 {
			words = append(words, fmt.Sprintf("tu%dx%d", b, w))
		}
		msg := indexTestMessage("Kế hoạch", "an@example.gov.vn", strings.Join(words, " "))
		if _, err := s.Append(inbox.ID, msg, nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.indexNextBatch(inbox.ID); err != nil { // no merge yet
			t.Fatal(err)
		}
	}
	steps := 0
	for ; ; steps++ {
		st, n := indexStateOf(t, s, inbox.ID)
		if steps > 0 && st.MergeUpTo == 0 {
			if n != 0 {
				t.Errorf("merge done, %d segments left", n)
			}
			break
		}
		for _, needle := range []string{"tu3x1", "tu15x12", "mo dau", "hoach", "tu1"} {
			oracle := scanAnswer(t, s, inbox.ID, SearchBody, needle)
			if got := indexedAnswer(t, s, inbox.ID, SearchBody, needle, oracle); !slices.Equal(got, oracle) {
				t.Errorf("step %d: needle %q: index says %v, scan %v", steps, needle, got, oracle)
			}
		}
		if err := s.Check(); err != nil {
			t.Errorf("step %d: check: %v", steps, err)
		}
		if steps > 100 {
			t.Fatal("the merge does not end")
		}
		if _, err := s.mergeStep(inbox.ID); err != nil {
			t.Fatal(err)
		}
	}
	if min := mergeAt * (mergeStepTerms / 4) / mergeStepTerms; steps < min {
		t.Errorf("merged in %d steps, want at least %d of %d terms", steps, min, mergeStepTerms)
	}
}

// check notices a segment the index record does not count, and a damaged one.
func TestCheckReportsAWrongSegment(t *testing.T) {
	for _, damage := range []string{"uncounted", "malformed", "wrong uid"} {
		t.Run(damage, func(t *testing.T) {
			s, inbox, add := segmentTestInbox(t)
			add(3, 2)
			if err := s.Check(); err != nil {
				t.Fatalf("before: %v", err)
			}
			err := s.update(func(tx *bolt.Tx, _ *changes) error {
				recent := tx.Bucket(bucketIndexRecent)
				key := segmentKey(inbox.ID, fieldSubj, 3)
				switch damage {
				case "uncounted":
					return recent.Put(segmentKey(inbox.ID, fieldSubj, 100), encodeSegment(99, []string{"ke"}, func(int) []uint32 { return []uint32{100} }))
				case "malformed":
					return recent.Put(key, []byte{1, 2, 3})
				}
				return recent.Put(key, encodeSegment(2, []string{"khong"}, func(int) []uint32 { return []uint32{3} }))
			})
			if err != nil {
				t.Fatal(err)
			}
			checkFindsAndReindexRepairs(t, s, damage)
		})
	}
}

func TestSegmentEncodingRoundTrips(t *testing.T) {
	terms := []string{"bao", "cao", "đề", "xuất"}
	lists := [][]uint32{{11, 12, 300}, {11}, {40, 41}, {1 << 30}}
	sg, err := decodeSegment(encodeSegment(10, terms, func(i int) []uint32 { return lists[i] }))
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	err = sg.each(func(term []byte, i int) error {
		seen = append(seen, string(term))
		got, err := sg.uids(i, nil)
		if !slices.Equal(got, lists[i]) {
			t.Errorf("term %q: %v, want %v", term, got, lists[i])
		}
		return err
	})
	if err != nil || !slices.Equal(seen, terms) {
		t.Errorf("terms %v, %v", seen, err)
	}
	var found []string
	_ = sg.scan(termCond{probe: []byte("ao")}, func(term []byte, i int) error {
		found = append(found, fmt.Sprintf("%s:%d", term, i))
		return nil
	})
	if want := []string{"bao:0", "cao:1"}; !slices.Equal(found, want) {
		t.Errorf("scan for ao: %v, want %v", found, want)
	}
	for _, bad := range [][]byte{nil, {2}, {1, 10, 5, 200}, {1, 10, 1, 3, 0, 'a', 0}} {
		if _, err := decodeSegment(bad); err == nil {
			t.Errorf("%x decoded", bad)
		}
	}
}
