package store

import (
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestWebSessionLifecycle(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "lan@example.gov.vn")
	clock := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }

	if _, err := s.AddWebSession("tok", a.ID, "csrf-1"); err != nil {
		t.Fatal(err)
	}
	ws, err := s.LookupWebSession("tok", 30*time.Minute)
	if err != nil || ws.AccountID != a.ID || ws.CSRF != "csrf-1" {
		t.Fatalf("lookup = %+v, %v", ws, err)
	}
	if _, err := s.LookupWebSession("other", 30*time.Minute); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	// Seen 20 minutes later: the idle clock restarts, so 20 more minutes do not expire it.
	clock = clock.Add(20 * time.Minute)
	if ws, err = s.LookupWebSession("tok", 30*time.Minute); err != nil || !ws.LastSeen.Equal(clock) {
		t.Fatalf("touch: %+v, %v", ws, err)
	}
	clock = clock.Add(20 * time.Minute)
	if _, err := s.LookupWebSession("tok", 30*time.Minute); err != nil {
		t.Fatalf("after a touch: %v", err)
	}
	clock = clock.Add(31 * time.Minute)
	if _, err := s.LookupWebSession("tok", 30*time.Minute); !errors.Is(err, ErrNotFound) {
		t.Fatalf("idle past the timeout: %v", err)
	}
	if n := countWebSessions(t, s); n != 0 {
		t.Fatalf("expired session kept: %d", n)
	}
}

func TestWebSessionsEndWithPasswordAndAccount(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "lan@example.gov.vn")
	b := mustAccount(t, s, "hung@example.gov.vn")
	for _, tok := range []string{"a1", "a2"} {
		if _, err := s.AddWebSession(tok, a.ID, "c"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddWebSession("b1", b.ID, "c"); err != nil {
		t.Fatal(err)
	}
	// A change of name alone keeps the sessions; a new password ends them.
	if _, err := s.UpdateAccount(a.Address, func(acc *Account) error { acc.Name = "Lan"; return nil }); err != nil {
		t.Fatal(err)
	}
	if n := countWebSessions(t, s); n != 3 {
		t.Fatalf("after a rename: %d sessions, want 3", n)
	}
	if _, err := s.UpdateAccount(a.Address, func(acc *Account) error { acc.PasswordHash = "new"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupWebSession("a1", time.Hour); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session after a password change: %v", err)
	}
	if _, err := s.LookupWebSession("b1", time.Hour); err != nil {
		t.Fatalf("another account's session: %v", err)
	}
	if err := s.RemoveAccount(b.Address); err != nil {
		t.Fatal(err)
	}
	if n := countWebSessions(t, s); n != 0 {
		t.Fatalf("after the account's removal: %d sessions", n)
	}
}

func TestPruneWebSessions(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "lan@example.gov.vn")
	clock := time.Now()
	s.now = func() time.Time { return clock }
	if _, err := s.AddWebSession("old", a.ID, "c"); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Hour)
	if _, err := s.AddWebSession("new", a.ID, "c"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneWebSessions(30 * time.Minute); err != nil || n != 1 {
		t.Fatalf("prune = %d, %v; want 1", n, err)
	}
	if _, err := s.LookupWebSession("new", 30*time.Minute); err != nil {
		t.Fatalf("the fresh session: %v", err)
	}
}

func countWebSessions(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	if err := s.view(func(tx *bolt.Tx) error { n = tx.Bucket(bucketWebSessions).Stats().KeyN; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
