package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestVacationOncePerPeriod(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	steps := []struct {
		at      time.Time
		handle  string
		sender  string
		period  time.Duration
		wantDue bool
	}{
		{t0, "nghỉ hè", "khach@example.com", week, true},
		{t0.Add(time.Hour), "nghỉ hè", "khach@example.com", week, false},
		{t0.Add(time.Hour), "nghỉ hè", "KHACH@Example.COM", week, false}, // the sender's case does not matter
		{t0.Add(time.Hour), "nghỉ hè", "khac@example.com", week, true},   // another sender
		{t0.Add(2 * time.Hour), "công tác", "khach@example.com", week, true},
		{t0.Add(week - time.Second), "nghỉ hè", "khach@example.com", week, false},
		{t0.Add(week), "nghỉ hè", "khach@example.com", week, true}, // due again after the period
		{t0.Add(week + time.Hour), "nghỉ hè", "khach@example.com", week, false},
		{t0, "luôn", "khach@example.com", 0, true}, // :days 0: every time
		{t0, "luôn", "khach@example.com", 0, true},
	}
	for i, st := range steps {
		due, err := s.VacationDue(a.ID, st.handle, st.sender, st.at, st.period)
		if err != nil {
			t.Fatal(err)
		}
		if due != st.wantDue {
			t.Errorf("step %d (%s, %s at %s): due = %v, want %v", i, st.handle, st.sender, st.at, due, st.wantDue)
		}
	}
	if n := vacationRecords(t, s, a.ID); n != 3 {
		t.Errorf("%d records, want 3 (two senders of one handle, one of another; none for :days 0)", n)
	}
	if _, err := s.VacationDue(999, "h", "x@example.com", t0, week); err == nil {
		t.Error("VacationDue for a missing account succeeded")
	}
}

func TestVacationBound(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	// Fill to the bound in one transaction: the first hundred senders' records expire after a minute, the rest
	// after a week, each sent a second after the one before.
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		for i := range maxVacationRecords {
			period := 7 * 24 * time.Hour
			if i < 100 {
				period = time.Minute
			}
			due, err := vacationDue(tx, a.ID, "h", fmt.Sprintf("s%d@example.com", i), t0.Add(time.Duration(i)*time.Second), period)
			if err != nil || !due {
				return fmt.Errorf("sender %d: due %v, %v", i, due, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := vacationRecords(t, s, a.ID); n != maxVacationRecords {
		t.Fatalf("%d records, want %d", n, maxVacationRecords)
	}
	now := t0.Add(3 * time.Hour)
	if due, err := s.VacationDue(a.ID, "h", "moi@example.com", now, time.Hour); err != nil || !due {
		t.Fatalf("a new sender at the bound: %v, %v", due, err)
	}
	if n := vacationRecords(t, s, a.ID); n != vacationPruneTo+1 {
		t.Fatalf("%d records after pruning, want %d", n, vacationPruneTo+1)
	}
	// The expired went first, then the oldest live ones; the newest and the one just added stay remembered.
	for sender, wantDue := range map[string]bool{
		"s0@example.com":    true,  // expired
		"s150@example.com":  true,  // among the oldest
		"s9999@example.com": false, // newest
		"moi@example.com":   false,
	} {
		if due, err := s.VacationDue(a.ID, "h", sender, now, time.Hour); err != nil || due != wantDue {
			t.Errorf("%s: due %v (%v), want %v", sender, due, err, wantDue)
		}
	}
}

// vacationRecords counts the account's vacation records (not its count key) and checks the count key agrees.
func vacationRecords(t *testing.T, s *Store, accountID uint64) int {
	t.Helper()
	n, counted := 0, 0
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketVacation)
		counted = vacationCount(b, accountID)
		prefix := string(u64key(accountID))
		return b.ForEach(func(k, _ []byte) error {
			if len(k) == vacationKeyLen && strings.HasPrefix(string(k), prefix) {
				n++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != counted {
		t.Errorf("%d records but counted %d", n, counted)
	}
	return n
}
