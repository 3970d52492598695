package store

import (
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func wantList(t *testing.T, what string, got []string, err error, want ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func TestAliasTargetIndex(t *testing.T) {
	s := newTestStore(t)
	mustAccount(t, s, "an@example.gov.vn")
	for _, a := range [][2]string{{"b@example.gov.vn", "an@example.gov.vn"}, {"a@example.gov.vn", "AN@example.gov.vn"},
		{"c@example.gov.vn", "b@example.gov.vn"}} {
		if _, err := s.AddAlias(a[0], a[1]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AliasesOf(" An@Example.gov.vn ")
	wantList(t, "AliasesOf(an)", got, err, "a@example.gov.vn", "b@example.gov.vn")
	got, err = s.AliasesOf("b@example.gov.vn")
	wantList(t, "AliasesOf(b)", got, err, "c@example.gov.vn")
	got, err = s.AliasesOf("a") // a prefix of an address is not the address
	wantList(t, "AliasesOf(a)", got, err)

	if err := s.RemoveAlias("b@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	got, err = s.AliasesOf("an@example.gov.vn")
	wantList(t, "AliasesOf(an) after removal", got, err, "a@example.gov.vn")
	got, err = s.AliasesOf("b@example.gov.vn") // c still points at the removed alias
	wantList(t, "AliasesOf(b) after removal", got, err, "c@example.gov.vn")
}

func TestGroupSendersIndex(t *testing.T) {
	s := newTestStore(t)
	mustAccount(t, s, "an@example.gov.vn")
	mustAccount(t, s, "binh@example.gov.vn")
	if _, err := s.AddAlias("a@example.gov.vn", "an@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddGroup(Group{Address: "g1@example.gov.vn", Senders: []string{"An@example.gov.vn", "other@elsewhere.vn"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddGroup(Group{Address: "g2@example.gov.vn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddGroup(Group{Address: "g3@example.gov.vn", Senders: []string{"g1@example.gov.vn", "a@example.gov.vn"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GroupsSentBy([]string{"an@example.gov.vn", "A@example.gov.vn", "an@example.gov.vn"})
	wantList(t, "GroupsSentBy(an, a)", got, err, "g1@example.gov.vn", "g3@example.gov.vn")

	_, err = s.UpdateGroup("g2@example.gov.vn", func(g *Group) error {
		g.Senders = []string{"binh@example.gov.vn", "an@example.gov.vn"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateGroup("g1@example.gov.vn", func(g *Group) error {
		g.Senders = []string{"binh@example.gov.vn"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.GroupsSentBy([]string{"an@example.gov.vn"})
	wantList(t, "GroupsSentBy(an) after update", got, err, "g2@example.gov.vn")
	got, err = s.GroupsSentBy([]string{"binh@example.gov.vn"})
	wantList(t, "GroupsSentBy(binh) after update", got, err, "g1@example.gov.vn", "g2@example.gov.vn")
	got, err = s.GroupsSentBy([]string{"other@elsewhere.vn"})
	wantList(t, "GroupsSentBy(other) after update", got, err)

	// Removing an account, an alias or a group takes it out of every group's senders, and out of the index.
	if err := s.RemoveAccount("binh@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	got, err = s.GroupsSentBy([]string{"binh@example.gov.vn"})
	wantList(t, "GroupsSentBy(binh) after removal", got, err)
	if err := s.RemoveAlias("a@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	got, err = s.GroupsSentBy([]string{"a@example.gov.vn"})
	wantList(t, "GroupsSentBy(a) after removal", got, err)
	if err := s.RemoveGroup("g1@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	got, err = s.GroupsSentBy([]string{"g1@example.gov.vn"})
	wantList(t, "GroupsSentBy(g1) after removal", got, err)
	if g, _ := s.Group("g3@example.gov.vn"); len(g.Senders) != 0 {
		t.Errorf("g3 senders after removals: %q", g.Senders)
	}
	if err := s.RemoveGroup("g2@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	got, err = s.GroupsSentBy([]string{"an@example.gov.vn"})
	wantList(t, "GroupsSentBy(an) after group removal", got, err)
	// newTestStore's cleanup runs Check, which compares both indexes with the records.
}

// TestOpenRebuildsSenderIndexes opens a file whose indexes are empty, as files written before they existed are,
// and expects Open to fill them in.
func TestOpenRebuildsSenderIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mail.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	mustAccount(t, s, "an@example.gov.vn")
	if _, err := s.AddAlias("a@example.gov.vn", "an@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddGroup(Group{Address: "g@example.gov.vn", Senders: []string{"a@example.gov.vn", "an@example.gov.vn"}}); err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketAliasTargets, bucketGroupSenders} {
			if err := tx.DeleteBucket(b); err != nil { // as before the change: no bucket at all
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	got, err := s.AliasesOf("an@example.gov.vn")
	wantList(t, "AliasesOf(an)", got, err, "a@example.gov.vn")
	got, err = s.GroupsSentBy([]string{"an@example.gov.vn"})
	wantList(t, "GroupsSentBy(an)", got, err, "g@example.gov.vn")
	got, err = s.GroupsSentBy([]string{"a@example.gov.vn"})
	wantList(t, "GroupsSentBy(a)", got, err, "g@example.gov.vn")
}
