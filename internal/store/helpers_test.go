package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// newTestStore opens a fresh store and checks its invariants when the test ends, so every store test proves the
// counters, refcounts and indexes stay right.
func newTestStore(t *testing.T) *Store {
	t.Helper()
	return newTestStoreWith(t, Options{NoSync: true})
}

// newTestStoreWith is newTestStore with the given options.
func newTestStoreWith(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "mail.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("store invariants violated:\n%v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func mustAccount(t testing.TB, s *Store, address string) Account {
	t.Helper()
	domain := address[len(address)-len("example.gov.vn"):]
	if ok, _ := s.HasDomain(domain); !ok {
		if err := s.AddDomain(domain); err != nil {
			t.Fatal(err)
		}
	}
	a, err := s.AddAccount(Account{Address: address, Name: "Nguyễn Văn An"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func testMessage(n int) NewMessage {
	body := fmt.Sprintf("From: a@example.gov.vn\r\nSubject: Báo cáo %d\r\n\r\nNội dung %d\r\n", n, n)
	return NewMessage{Body: []byte(body), Meta: []byte("meta"), Text: []byte("bao cao"), InternalDate: time.Unix(1700000000, 0)}
}

func mustMailbox(t *testing.T, s *Store, a Account, name string) Mailbox {
	t.Helper()
	m, err := s.Mailbox(a.ID, name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sweepNow deletes the chunks of every released body no reader has pinned, as the background sweep would soon.
func sweepNow(t testing.TB, s *Store) {
	t.Helper()
	if err := s.sweepUntil(nil); err != nil {
		t.Fatal(err)
	}
}
