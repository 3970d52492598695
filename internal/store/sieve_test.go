package store

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestSieveScriptLifecycle(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	if err := s.PutSieveScript(a.ID, "Lọc báo cáo", []byte(`keep;`), SieveLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSieveScript(a.ID, "nghỉ phép", []byte(`require "vacation"; vacation "x";`), SieveLimits{}); err != nil {
		t.Fatal(err)
	}
	if name, src, err := s.ActiveSieveScript(a.ID); name != "" || src != nil || err != nil {
		t.Fatalf("active before activation = %q, %q, %v", name, src, err)
	}
	if err := s.ActivateSieveScript(a.ID, "Lọc báo cáo"); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSieveScript(a.ID, "không có"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("activate a missing script: %v, want ErrNotFound", err)
	}
	list, err := s.SieveScripts(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "Lọc báo cáo" || !list[0].Active || list[0].Size != 5 ||
		list[1].Name != "nghỉ phép" || list[1].Active || list[0].Updated.IsZero() {
		t.Fatalf("scripts = %+v", list)
	}
	if err := s.DeleteSieveScript(a.ID, "Lọc báo cáo"); !errors.Is(err, ErrSieveActive) {
		t.Fatalf("delete the active script: %v, want ErrSieveActive", err)
	}
	if err := s.DeleteSieveScript(a.ID, "không có"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete a missing script: %v, want ErrNotFound", err)
	}

	// Replacing the active script keeps it active and changes its revision.
	before := list[0].Revision
	if err := s.PutSieveScript(a.ID, "Lọc báo cáo", []byte(`discard;`), SieveLimits{}); err != nil {
		t.Fatal(err)
	}
	name, src, err := s.ActiveSieveScript(a.ID)
	if name != "Lọc báo cáo" || string(src) != "discard;" || err != nil {
		t.Fatalf("active after replace = %q, %q, %v", name, src, err)
	}
	list, _ = s.SieveScripts(a.ID)
	if list[0].Revision == before {
		t.Fatalf("revision %d unchanged by a new text", before)
	}

	// Rename keeps the active mark; a taken or missing name fails.
	if err := s.RenameSieveScript(a.ID, "Lọc báo cáo", "nghỉ phép"); !errors.Is(err, ErrExists) {
		t.Fatalf("rename onto an existing name: %v, want ErrExists", err)
	}
	if err := s.RenameSieveScript(a.ID, "không có", "mới"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rename a missing script: %v, want ErrNotFound", err)
	}
	if err := s.RenameSieveScript(a.ID, "Lọc báo cáo", "lọc"); err != nil {
		t.Fatal(err)
	}
	if name, src, _ := s.ActiveSieveScript(a.ID); name != "lọc" || string(src) != "discard;" {
		t.Fatalf("active after rename = %q, %q", name, src)
	}
	if _, err := s.SieveScript(a.ID, "Lọc báo cáo"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old name after rename: %v, want ErrNotFound", err)
	}

	// Deactivated, it can be deleted.
	if err := s.ActivateSieveScript(a.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSieveScript(a.ID, "lọc"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SieveScript(a.ID, "nghỉ phép"); err != nil || !strings.Contains(string(got), "vacation") {
		t.Fatalf("remaining script = %q, %v", got, err)
	}
	if list, _ := s.SieveScripts(a.ID); len(list) != 1 {
		t.Fatalf("scripts after delete = %+v", list)
	}
}

func TestSieveScriptNames(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"Lọc thư đến", true},
		{strings.Repeat("đ", 128), true},
		{strings.Repeat("đ", 129), false},
		{"", false},
		{"a\x00b", false},
		{"tab\there", false},
		{"del\x7f", false},
		{"c1\u0085", false},
		{"line\u2028sep", false},
		{"para\u2029sep", false},
		{"bad\xffutf8", false},
	}
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	for _, tc := range tests {
		err := s.PutSieveScript(a.ID, tc.name, []byte("keep;"), SieveLimits{})
		if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, ErrSieveName)) {
			t.Errorf("PutSieveScript(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	if err := s.PutSieveScript(a.ID, "x", []byte("keep;"), SieveLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameSieveScript(a.ID, "x", "a\nb"); !errors.Is(err, ErrSieveName) {
		t.Errorf("rename to a name with a newline: %v, want ErrSieveName", err)
	}
}

func TestSieveLimits(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	lim := SieveLimits{MaxScripts: 2, MaxScriptBytes: 10}
	if err := s.PutSieveScript(a.ID, "dài", []byte(strings.Repeat("x", 11)), lim); !errors.Is(err, ErrSieveTooLarge) ||
		!errors.Is(err, ErrSieveQuota) || !strings.Contains(err.Error(), "at most 10") {
		t.Fatalf("over the size limit: %v", err)
	}
	for _, name := range []string{"một", "hai"} {
		if err := s.PutSieveScript(a.ID, name, []byte("keep;"), lim); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SieveHaveSpace(a.ID, "ba", 5, lim); !errors.Is(err, ErrSieveTooMany) {
		t.Fatalf("HAVESPACE for a third script: %v, want ErrSieveTooMany", err)
	}
	if err := s.PutSieveScript(a.ID, "ba", []byte("keep;"), lim); !errors.Is(err, ErrSieveTooMany) {
		t.Fatalf("a third script: %v, want ErrSieveTooMany", err)
	}
	// Replacing one of the two adds nothing.
	if err := s.SieveHaveSpace(a.ID, "hai", 10, lim); err != nil {
		t.Fatalf("HAVESPACE for a replacement: %v", err)
	}
	if err := s.SieveHaveSpace(a.ID, "hai", 11, lim); !errors.Is(err, ErrSieveTooLarge) {
		t.Fatalf("HAVESPACE over the size: %v", err)
	}
	if err := s.PutSieveScript(a.ID, "hai", []byte("discard;"), lim); err != nil {
		t.Fatal(err)
	}
	// The defaults: 1 MiB.
	if err := s.SieveHaveSpace(a.ID, "lớn", 1<<20, SieveLimits{}); err != nil {
		t.Fatalf("1 MiB with the defaults: %v", err)
	}
	if err := s.SieveHaveSpace(a.ID, "lớn", 1<<20+1, SieveLimits{}); !errors.Is(err, ErrSieveTooLarge) {
		t.Fatalf("over 1 MiB with the defaults: %v", err)
	}
	if err := s.PutSieveScript(999, "x", []byte("keep;"), SieveLimits{}); !errors.Is(err, ErrAccountNotFound) {
		t.Fatalf("a missing account: %v, want ErrAccountNotFound", err)
	}
}

func TestSieveChangesAudited(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	rec := func(action string) AuditRecord {
		return AuditRecord{Actor: "admin", Action: action, Target: a.Address, From: "cli"}
	}
	if err := s.WithAudit(rec("sieve.put")).PutSieveScript(a.ID, "x", []byte("keep;"), SieveLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := s.WithAudit(rec("sieve.activate")).ActivateSieveScript(a.ID, "x"); err != nil {
		t.Fatal(err)
	}
	// A refused change leaves no record.
	if err := s.WithAudit(rec("sieve.remove")).DeleteSieveScript(a.ID, "x"); !errors.Is(err, ErrSieveActive) {
		t.Fatal(err)
	}
	got, err := s.AuditLog(AuditFilter{Account: a.Address})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Action != "sieve.put" || got[1].Action != "sieve.activate" {
		t.Fatalf("audit = %+v", got)
	}
}

func TestRemoveAccountDeletesSieve(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	b := mustAccount(t, s, "binh@example.gov.vn")
	for _, acc := range []Account{a, b} {
		if err := s.PutSieveScript(acc.ID, "x", []byte("keep;"), SieveLimits{}); err != nil {
			t.Fatal(err)
		}
		if err := s.ActivateSieveScript(acc.ID, "x"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VacationDue(acc.ID, "h", "khach@example.com", time.Now(), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveAccount(a.Address); err != nil {
		t.Fatal(err)
	}
	err := s.view(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketSieve, bucketSieveActive, bucketVacation} {
			n, bN := 0, 0
			_ = tx.Bucket(name).ForEach(func(k, _ []byte) error {
				if string(k[:8]) == string(u64key(a.ID)) {
					n++
				} else {
					bN++
				}
				return nil
			})
			if n != 0 || bN == 0 {
				t.Errorf("%s: %d keys of the removed account, %d of the other", name, n, bN)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The other account's active script is untouched (and Check, at cleanup, finds no orphans).
	if name, _, err := s.ActiveSieveScript(b.ID); name != "x" || err != nil {
		t.Fatalf("other account's active script = %q, %v", name, err)
	}
}

func TestActiveSieveInTransaction(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	if err := s.PutSieveScript(a.ID, "x", []byte("keep;"), SieveLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSieveScript(a.ID, "x"); err != nil {
		t.Fatal(err)
	}
	list, _ := s.SieveScripts(a.ID)
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		got, err := activeSieveTx(tx, a.ID)
		if err != nil || got.Name != "x" || string(got.src) != "keep;" || got.Revision != list[0].Revision {
			t.Errorf("activeSieveTx = %+v, %v", got, err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCheckFindsSieveOrphans(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	// An active mark naming a missing script, and a script of an account that does not exist.
	err := s.update(func(tx *bolt.Tx, _ *changes) error {
		if err := tx.Bucket(bucketSieveActive).Put(u64key(a.ID), []byte("không có")); err != nil {
			return err
		}
		return tx.Bucket(bucketSieve).Put(sieveKey(999, "x"), encodeSieve(sieveRecord{src: []byte("keep;")}))
	})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Check()
	if got == nil || !strings.Contains(got.Error(), `active sieve script "không có" does not exist`) ||
		!strings.Contains(got.Error(), "no such account") {
		t.Fatalf("Check = %v", got)
	}
	// Mend it, so that the cleanup's Check passes.
	err = s.update(func(tx *bolt.Tx, _ *changes) error {
		if err := tx.Bucket(bucketSieveActive).Delete(u64key(a.ID)); err != nil {
			return err
		}
		return tx.Bucket(bucketSieve).Delete(sieveKey(999, "x"))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A delivery's Filter decides, for recipients with an active script only, where their copy goes: several
// mailboxes (one created for it, with its parents), or none at all; the quota counts each copy stored.
func TestDeliveryFilterFilesAndDiscards(t *testing.T) {
	s := newTestStore(t)
	an, binh, chi := mustAccount(t, s, "an@example.gov.vn"), mustAccount(t, s, "binh@example.gov.vn"), mustAccount(t, s, "chi@example.gov.vn")
	for _, a := range []Account{an, binh} {
		if err := s.PutSieveScript(a.ID, "lọc", []byte("# any"), SieveLimits{}); err != nil {
			t.Fatal(err)
		}
		if err := s.ActivateSieveScript(a.ID, "lọc"); err != nil {
			t.Fatal(err)
		}
	}
	calls := map[uint64]string{}
	filter := func(a Account, c Copy, script ActiveScript) FilterDecision {
		calls[a.ID] = script.Name
		if a.ID == binh.ID {
			return FilterDecision{} // discard
		}
		return FilterDecision{Filings: []Filing{{Mailbox: c.Mailbox, Flags: []string{`\Seen`}},
			{Mailbox: "Báo cáo/Tháng 12", Flags: []string{`\Flagged`}, Create: true}, {Mailbox: "Không có"}}}
	}
	msg := testMessage(1)
	placed, err := s.DeliverMessage(Delivery{Message: msg, Copies: []Copy{{AccountID: an.ID}, {AccountID: binh.ID}, {AccountID: chi.ID}},
		Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	if calls[an.ID] != "lọc" || calls[binh.ID] != "lọc" || calls[chi.ID] != "" {
		t.Errorf("the filter ran for %v; want an and binh, with their active script", calls)
	}
	if placed[1].MailboxID != 0 || placed[0].MailboxID == 0 || placed[2].MailboxID == 0 {
		t.Errorf("placed %+v: want binh's discarded, an's and chi's stored", placed)
	}
	counts := map[string]int{}
	for _, name := range []string{"INBOX", "Báo cáo", "Báo cáo/Tháng 12", "Không có"} {
		mb, err := s.Mailbox(an.ID, name)
		if err != nil {
			counts[name] = -1
			continue
		}
		counts[name] = int(mb.Messages)
	}
	if want := map[string]int{"INBOX": 2, "Báo cáo": 0, "Báo cáo/Tháng 12": 1, "Không có": -1}; !maps.Equal(counts, want) {
		t.Errorf("an's mailboxes %v, want %v (a missing mailbox not created is INBOX)", counts, want)
	}
	a, _ := s.AccountByID(an.ID)
	if want := 3 * int64(len(msg.Body)); a.Used != want {
		t.Errorf("an's quota use %d, want %d for three copies", a.Used, want)
	}
	if b, _ := s.AccountByID(binh.ID); b.Used != 0 {
		t.Errorf("binh's quota use %d after a discard", b.Used)
	}
}
