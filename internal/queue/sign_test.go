package queue

import (
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"mailserver/internal/mailauth"
	"mailserver/internal/store"
)

// After rotations the newest key signs first, whatever the selectors' order: a receiver that verifies only the
// first few signatures reaches the key that stays. An old-style selector (no random suffix) still signs.
func TestSignNewestKeyFirst(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "mail.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const domain = "vinhyen.gov.vn"
	if err := st.AddDomain(domain); err != nil {
		t.Fatal(err)
	}
	made := map[string]time.Time{ // selector → when the key was made; the store lists them by selector
		"ed-202510":      time.Date(2025, 10, 3, 0, 0, 0, 0, time.UTC),
		"ed-202601-ffff": time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC),
		"ed-202606-0a1b": time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC),
		"ed-202611-0000": time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC),
	}
	for selector, created := range made {
		k, err := mailauth.GenerateKey("ed25519", selector)
		if err != nil {
			t.Fatal(err)
		}
		err = st.AddDKIMKey(store.DKIMKey{Domain: domain, Selector: selector, Algorithm: k.Algorithm, Private: k.Private,
			Created: created})
		if err != nil {
			t.Fatal(err)
		}
	}
	w := New(Options{Store: st})
	msg := []byte("From: an@" + domain + "\r\nTo: b@other.gov.vn\r\nSubject: x\r\n\r\nbody\r\n")
	sig := w.sign(slog.New(slog.DiscardHandler), msg)

	var got []string
	for _, m := range regexp.MustCompile(`[;\s]s=([a-z0-9-]+);`).FindAllSubmatch(sig, -1) {
		got = append(got, string(m[1]))
	}
	want := []string{"ed-202611-0000", "ed-202606-0a1b", "ed-202601-ffff", "ed-202510"}
	if !slices.Equal(got, want) {
		t.Errorf("signatures by selector %v, want newest first %v\n%s", got, want, sig)
	}
}

// A From address written with the Unicode form of a local domain is signed with that domain's keys, as d= in
// A-labels, which is how receivers compare it with the From domain (DMARC alignment).
func TestSignUnicodeAuthorDomain(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "mail.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	k, err := mailauth.GenerateKey("ed25519", "ed-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddDomain("xn--hu-07s.vn", store.DKIMKey{Selector: "ed-1", Algorithm: k.Algorithm, Private: k.Private}); err != nil {
		t.Fatal(err)
	}
	msg := []byte("From: =?utf-8?q?An?= <an@Huế.vn>\r\nTo: b@other.gov.vn\r\nSubject: x\r\n\r\nbody\r\n")
	sig := New(Options{Store: st}).sign(slog.New(slog.DiscardHandler), msg)
	if !regexp.MustCompile(`[;\s]d=xn--hu-07s\.vn;`).Match(sig) {
		t.Errorf("signature %q, want one with d=xn--hu-07s.vn", sig)
	}
}
