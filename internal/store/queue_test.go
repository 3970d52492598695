package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func queueMessage(t *testing.T, s *Store, id string, msg NewMessage, rcpts ...string) {
	t.Helper()
	out := &Outbound{ID: id, From: "an@example.gov.vn", Recipients: rcpts, Trace: []byte("Received: by x id " + id + "\r\n")}
	if _, err := s.DeliverMessage(Delivery{Message: msg, Outbound: out}); err != nil {
		t.Fatalf("queue %s: %v", id, err)
	}
}

func TestQueueLifecycle(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	clock := time.Unix(1800000000, 0)
	s.now = func() time.Time { return clock }

	// One message to a colleague and two remote recipients: one body, two references.
	msg := testMessage(1)
	out := &Outbound{ID: "Q1", From: a.Address, Recipients: []string{"x@other.gov.vn", "y@other.gov.vn"}, Trace: []byte("Received: by x\r\n")}
	if _, err := s.DeliverMessage(Delivery{Message: msg, Copies: []Copy{{AccountID: a.ID}}, Outbound: out}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.QueueSignal():
	default:
		t.Error("no queue signal after a delivery with remote recipients")
	}
	if st, _ := s.Stats(); st.Bodies != 1 || st.BodyRefs != 2 {
		t.Errorf("stats %+v, want 1 body with 2 references", st)
	}
	body, err := s.QueuedBody("Q1")
	if err != nil || !bytes.Equal(body, append([]byte("Received: by x\r\n"), msg.Body...)) {
		t.Fatalf("QueuedBody = %q, %v", body, err)
	}

	ids, next, err := s.DueMessages(clock, 10)
	if err != nil || len(ids) != 1 || ids[0] != "Q1" || !next.IsZero() {
		t.Fatalf("DueMessages = %v, %v, %v", ids, next, err)
	}
	// One recipient delivered, the other retried in five minutes.
	later := clock.Add(5 * time.Minute)
	m, err := s.UpdateQueued("Q1", func(m *QueuedMessage) error {
		m.Recipients[0].Status = RecipientDelivered
		m.Recipients[1].Code, m.Recipients[1].Reply = "4.2.1", "451 4.2.1 try later"
		m.Attempts++
		m.NextAttempt = later
		return nil
	})
	if err != nil || len(m.Pending()) != 1 {
		t.Fatalf("UpdateQueued = %+v, %v", m, err)
	}
	if ids, next, _ := s.DueMessages(clock, 10); len(ids) != 0 || !next.Equal(later) {
		t.Errorf("after rescheduling: due %v, next %v; want none due, next at %v", ids, next, later)
	}
	got, err := s.QueuedMessage("Q1")
	if err != nil || got.Recipients[1].Reply != "451 4.2.1 try later" || got.Attempts != 1 {
		t.Errorf("QueuedMessage = %+v, %v", got, err)
	}
	// The last recipient done: the message leaves the queue and its reference goes.
	if _, err := s.UpdateQueued("Q1", func(m *QueuedMessage) error {
		m.Recipients[1].Status = RecipientFailed
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.QueuedMessage("Q1"); !errors.Is(err, ErrQueueNotFound) {
		t.Errorf("finished message still queued: %v", err)
	}
	if st, _ := s.Stats(); st.BodyRefs != 1 {
		t.Errorf("refs %d after the queue let go, want 1 (the local copy)", st.BodyRefs)
	}
}

func TestQueueDueOrderAndRemove(t *testing.T) {
	s := newTestStore(t)
	base := time.Unix(1800000000, 0)
	for i, id := range []string{"C", "A", "B"} {
		s.now = func() time.Time { return base.Add(time.Duration(i) * time.Second) }
		queueMessage(t, s, id, testMessage(i), "r@other.gov.vn")
	}
	ids, _, err := s.DueMessages(base.Add(time.Hour), 2)
	if err != nil || len(ids) != 2 || ids[0] != "C" || ids[1] != "A" {
		t.Fatalf("DueMessages(limit 2) = %v, %v; want [C A] (by time, not id)", ids, err)
	}
	list, err := s.QueuedMessages()
	if err != nil || len(list) != 3 || list[0].ID != "C" || list[2].ID != "B" {
		t.Fatalf("QueuedMessages = %v, %v", list, err)
	}
	if err := s.RemoveQueued("A"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveQueued("A"); !errors.Is(err, ErrQueueNotFound) {
		t.Errorf("second remove = %v, want ErrQueueNotFound", err)
	}
	if st, _ := s.Stats(); st.Bodies != 2 {
		t.Errorf("bodies %d after removing one of three, want 2", st.Bodies)
	}
	// The same id twice is refused, not overwritten.
	out := &Outbound{ID: "B", Recipients: []string{"r@other.gov.vn"}}
	if _, err := s.DeliverMessage(Delivery{Message: testMessage(9), Outbound: out}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate queue id = %v, want ErrExists", err)
	}
}

// The queue is in the file: it survives closing and reopening, as it must survive a restart or a crash.
func TestQueueSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	queueMessage(t, s, "KEEP", testMessage(1), "a@other.gov.vn", "b@other.gov.vn")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.QueuedMessage("KEEP")
	if err != nil || len(m.Pending()) != 2 || m.From != "an@example.gov.vn" {
		t.Fatalf("after reopen: %+v, %v", m, err)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}

func TestQueuedRecordRoundTrip(t *testing.T) {
	m := &QueuedMessage{ID: "X", From: "a@b", Submitter: "a@b", Trace: []byte("t"), BodySize: 42,
		Created: time.Unix(1, 2), NextAttempt: time.Unix(3, 4), LastAttempt: time.Unix(5, 6), Attempts: 7,
		DelayWarned: true, BounceRequested: true,
		Recipients: []QueueRecipient{{Address: "x@y", Status: RecipientFailed, Code: "5.1.1", Reply: "550 no", RemoteMTA: "mx.y", Updated: time.Unix(8, 9)}}}
	m.Body[0] = 0xAB
	got, err := decodeQueued("X", encodeQueued(m))
	if err != nil {
		t.Fatal(err)
	}
	if got.From != m.From || got.Body != m.Body || !got.LastAttempt.Equal(m.LastAttempt) || got.Attempts != 7 ||
		!got.DelayWarned || !got.BounceRequested || got.Recipients[0] != (QueueRecipient{Address: "x@y", Status: RecipientFailed,
		Code: "5.1.1", Reply: "550 no", RemoteMTA: "mx.y", Updated: time.Unix(8, 9)}) {
		t.Errorf("round trip: %+v", got)
	}
	if _, err := decodeQueued("X", encodeQueued(m)[:20]); err == nil {
		t.Error("a truncated record decoded without error")
	}
}

func TestDKIMKeys(t *testing.T) {
	s := newTestStore(t)
	if err := s.AddDKIMKey(DKIMKey{Domain: "a.gov.vn", Selector: "rsa-1", Algorithm: "rsa"}); !errors.Is(err, ErrDomainNotFound) {
		t.Errorf("key for an unknown domain = %v, want ErrDomainNotFound", err)
	}
	if err := s.AddDomain("a.gov.vn"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []DKIMKey{{Domain: "A.gov.vn", Selector: "rsa-1", Algorithm: "rsa", Private: []byte{1, 2}},
		{Domain: "a.gov.vn", Selector: "ed-1", Algorithm: "ed25519", Private: []byte{3}}} {
		if err := s.AddDKIMKey(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddDKIMKey(DKIMKey{Domain: "a.gov.vn", Selector: "rsa-1", Algorithm: "rsa"}); !errors.Is(err, ErrExists) {
		t.Errorf("same selector twice = %v, want ErrExists", err)
	}
	keys, err := s.DKIMKeys("a.gov.vn")
	if err != nil || len(keys) != 2 || keys[0].Selector != "ed-1" || keys[1].Algorithm != "rsa" || !bytes.Equal(keys[1].Private, []byte{1, 2}) {
		t.Fatalf("DKIMKeys = %+v, %v", keys, err)
	}
	if err := s.RemoveDomain("a.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.DKIMKeys("a.gov.vn"); len(keys) != 0 {
		t.Errorf("keys outlived their domain: %v", keys)
	}
}

func TestQueueSummary(t *testing.T) {
	s := newTestStore(t)
	if sum, err := s.QueueSummary(); err != nil || sum != (QueueSummary{}) {
		t.Fatalf("empty queue: %+v, %v", sum, err)
	}
	clock := time.Unix(1800000000, 0)
	s.now = func() time.Time { return clock }
	queueMessage(t, s, "Q1", testMessage(1), "x@other.gov.vn")
	clock = clock.Add(time.Hour)
	queueMessage(t, s, "Q0", testMessage(2), "y@other.gov.vn", "z@other.gov.vn")
	sum, err := s.QueueSummary()
	if err != nil || sum.Messages != 2 || !sum.Oldest.Equal(time.Unix(1800000000, 0)) {
		t.Errorf("QueueSummary = %+v, %v; want 2 messages, the oldest queued at %v", sum, err, time.Unix(1800000000, 0))
	}
}
