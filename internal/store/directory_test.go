package store

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestUnitsCountSharedMailboxesApart checks that a unit's shared mailboxes are counted apart from its accounts:
// they belong to the unit but are not its members.
func TestUnitsCountSharedMailboxesApart(t *testing.T) {
	s := newTestStore(t)
	if err := s.AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUnit("vinhyen/ubnd", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAccount(Account{Address: "an@example.gov.vn", Unit: "vinhyen/ubnd"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddShared(Account{Address: "vanthu@example.gov.vn", Unit: "vinhyen/ubnd"}); err != nil {
		t.Fatal(err)
	}
	units, err := s.Units()
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != 2 || units[0].Accounts != 0 || units[0].Shared != 0 ||
		units[1].Path != "vinhyen/ubnd" || units[1].Accounts != 1 || units[1].Shared != 1 {
		t.Errorf("units %+v", units)
	}
}

func TestUnitsTreeAndMembership(t *testing.T) {
	s := newTestStore(t)
	if err := s.AddDomain("example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUnit("vinhyen/ubnd/phong-noi-vu", "Phòng Nội vụ"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUnit("vinhyen/phuong-1", "Phường 1"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "Vinhyen", "a//b", "a/-b", "phòng"} {
		if _, err := s.AddUnit(bad, ""); !errors.Is(err, ErrInvalidUnit) {
			t.Errorf("AddUnit(%q): %v", bad, err)
		}
	}
	if _, err := s.AddAccount(Account{Address: "x@example.gov.vn", Unit: "khong-co"}); !errors.Is(err, ErrUnitNotFound) {
		t.Errorf("account in a missing unit: %v", err)
	}
	for _, acc := range []Account{
		{Address: "an@example.gov.vn", Unit: "vinhyen/ubnd/phong-noi-vu"},
		{Address: "binh@example.gov.vn", Unit: "vinhyen/ubnd"},
		{Address: "chi@example.gov.vn", Unit: "vinhyen/phuong-1"},
	} {
		if _, err := s.AddAccount(acc); err != nil {
			t.Fatal(err)
		}
	}
	units, err := s.Units()
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	counts := map[string]int{}
	for _, u := range units {
		paths = append(paths, u.Path)
		counts[u.Path] = u.Accounts
	}
	want := []string{"vinhyen", "vinhyen/phuong-1", "vinhyen/ubnd", "vinhyen/ubnd/phong-noi-vu"}
	if !reflect.DeepEqual(paths, want) || counts["vinhyen/ubnd"] != 1 || counts["vinhyen"] != 0 {
		t.Errorf("units %v counts %v", paths, counts)
	}
	all, _ := s.UnitAccounts("vinhyen/ubnd", true)
	direct, _ := s.UnitAccounts("vinhyen/ubnd", false)
	if len(all) != 2 || len(direct) != 1 || direct[0].Address != "binh@example.gov.vn" {
		t.Errorf("ubnd accounts: all %d, direct %v", len(all), direct)
	}
	if err := s.RemoveUnit("vinhyen/ubnd"); !errors.Is(err, ErrUnitInUse) {
		t.Errorf("remove a unit with a sub-unit: %v", err)
	}
	if err := s.MoveAccount("chi@example.gov.vn", "vinhyen/ubnd"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUnit("vinhyen/phuong-1"); err != nil {
		t.Errorf("remove an emptied unit: %v", err)
	}
	if all, _ := s.UnitAccounts("vinhyen", true); len(all) != 3 {
		t.Errorf("vinhyen holds %d accounts, want 3", len(all))
	}
	if err := s.RemoveAccount("an@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUnit("vinhyen/ubnd/phong-noi-vu"); err != nil {
		t.Errorf("unit index not cleaned when the account was removed: %v", err)
	}
}

func TestSetUnitName(t *testing.T) {
	s := newTestStore(t)
	if _, err := s.AddUnit("vinhyen/ubnd", "UBND"); err != nil {
		t.Fatal(err)
	}
	parent, err := s.Unit("vinhyen")
	if err != nil || parent.Name != "" {
		t.Fatalf("implicit parent %+v, %v", parent, err)
	}
	rec := AuditRecord{Actor: "admin", Action: "unit.set", Target: "vinhyen"}
	u, err := s.WithAudit(rec).SetUnitName("vinhyen", "Thành phố Vĩnh Yên")
	if err != nil || u.Path != "vinhyen" || u.Name != "Thành phố Vĩnh Yên" || !u.Created.Equal(parent.Created) {
		t.Fatalf("SetUnitName = %+v, %v", u, err)
	}
	if got, _ := s.Unit("vinhyen"); got.Name != "Thành phố Vĩnh Yên" || !got.Created.Equal(parent.Created) {
		t.Errorf("stored unit %+v", got)
	}
	if child, _ := s.Unit("vinhyen/ubnd"); child.Name != "UBND" {
		t.Errorf("the sub-unit's name changed: %+v", child)
	}
	if _, err := s.WithAudit(rec).SetUnitName("vinhyen/khong-co", "X"); !errors.Is(err, ErrUnitNotFound) {
		t.Errorf("SetUnitName of a missing unit: %v", err)
	}
	if _, err := s.Unit("vinhyen/khong-co"); !errors.Is(err, ErrUnitNotFound) {
		t.Errorf("SetUnitName created a unit: %v", err)
	}
	if got, _ := s.AuditLog(AuditFilter{}); len(got) != 1 || got[0].Action != "unit.set" {
		t.Errorf("audit records %+v, want the successful change's only", got)
	}
	if u, err := s.SetUnitName("vinhyen/ubnd", ""); err != nil || u.Name != "" {
		t.Errorf("clearing the name: %+v, %v", u, err)
	}
	if units, _ := s.Units(); len(units) != 2 || units[0].Name != "Thành phố Vĩnh Yên" || units[1].Name != "" {
		t.Errorf("Units = %+v", units)
	}
}

func TestAliasesAndGroupsShareTheAddressSpace(t *testing.T) {
	s := newTestStore(t)
	mustAccount(t, s, "an@example.gov.vn")
	if _, err := s.AddAlias("van.an@example.gov.vn", "an@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAlias("an@example.gov.vn", "x@example.gov.vn"); !errors.Is(err, ErrExists) {
		t.Errorf("alias over an account: %v", err)
	}
	if _, err := s.AddAlias("x@example.gov.vn", "nobody@example.gov.vn"); !errors.Is(err, ErrNotFound) {
		t.Errorf("alias to nothing: %v", err)
	}
	if _, err := s.AddAlias("x@elsewhere.vn", "an@example.gov.vn"); !errors.Is(err, ErrDomainNotFound) {
		t.Errorf("alias in a foreign domain: %v", err)
	}
	if _, err := s.AddGroup(Group{Address: "van.an@example.gov.vn"}); !errors.Is(err, ErrExists) {
		t.Errorf("group over an alias: %v", err)
	}
	if _, err := s.AddAccount(Account{Address: "van.an@example.gov.vn"}); !errors.Is(err, ErrExists) {
		t.Errorf("account over an alias: %v", err)
	}
	g, err := s.AddGroup(Group{Address: "lanhdao@example.gov.vn", Name: "Lãnh đạo", Policy: PostMembers})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateGroup(g.Address, func(g *Group) error {
		g.Members = append(g.Members, "VAN.AN@example.gov.vn", "lanhdao@example.gov.vn", "unit:khong-co")
		return nil
	}); !errors.Is(err, ErrUnitNotFound) {
		t.Errorf("member of a missing unit: %v", err)
	}
	g, err = s.UpdateGroup(g.Address, func(g *Group) error {
		g.Members = append(g.Members, "VAN.AN@example.gov.vn", "lanhdao@example.gov.vn", "an@example.gov.vn", "an@example.gov.vn")
		g.Senders = []string{"vanthu@other.gov.vn"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"an@example.gov.vn", "lanhdao@example.gov.vn", "van.an@example.gov.vn"}; !reflect.DeepEqual(g.Members, want) {
		t.Errorf("members %v, want %v", g.Members, want)
	}
	for addr, kind := range map[string]AddressKind{
		"an@example.gov.vn": KindAccount, "van.an@example.gov.vn": KindAlias, "lanhdao@example.gov.vn": KindGroup,
		"khong@example.gov.vn": KindNone,
	} {
		if e, err := s.Lookup(addr); err != nil || e.Kind != kind {
			t.Errorf("Lookup(%s) = %v %v, want %v", addr, e.Kind, err, kind)
		}
	}
	if err := s.RemoveAlias("van.an@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveGroup("lanhdao@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveGroup("lanhdao@example.gov.vn"); !errors.Is(err, ErrGroupNotFound) {
		t.Errorf("remove a removed group: %v", err)
	}
}

func TestSharedMailboxGrants(t *testing.T) {
	s := newTestStore(t)
	an := mustAccount(t, s, "an@example.gov.vn")
	vanthu, err := s.AddShared(Account{Address: "vanthu@example.gov.vn", Name: "Văn thư UBND"})
	if err != nil || !vanthu.Shared {
		t.Fatalf("add shared: %+v %v", vanthu, err)
	}
	if err := s.SetGrant("an@example.gov.vn", "vanthu@example.gov.vn", RightRead); !errors.Is(err, ErrNotShared) {
		t.Errorf("grant on a person's account: %v", err)
	}
	read, _ := ParseRights("read")
	send, _ := ParseRights("send")
	if err := s.SetGrant("vanthu@example.gov.vn", "an@example.gov.vn", read); err != nil {
		t.Fatal(err)
	}
	if err := s.SetGrant("vanthu@example.gov.vn", "an@example.gov.vn", send); err != nil {
		t.Fatal(err)
	}
	grants, err := s.GrantsTo(an.ID)
	if err != nil || len(grants) != 1 || grants[0].Rights != RightRead|RightSend || grants[0].Rights.String() != "read,send" {
		t.Fatalf("grants to an: %+v %v", grants, err)
	}
	if err := s.SetGrant("vanthu@example.gov.vn", "an@example.gov.vn", 0); err != nil {
		t.Fatal(err)
	}
	if grants, _ := s.Grants("vanthu@example.gov.vn"); len(grants) != 0 {
		t.Errorf("grants after revoke: %+v", grants)
	}
	if err := s.SetGrant("vanthu@example.gov.vn", "an@example.gov.vn", read); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAccount("an@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if grants, _ := s.Grants("vanthu@example.gov.vn"); len(grants) != 0 {
		t.Errorf("grants of a removed account remain: %+v", grants)
	}
}

func TestAuditLogFilters(t *testing.T) {
	s := newTestStore(t)
	base := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	records := []AuditRecord{
		{Time: base, Actor: "admin", Action: "user.add", Target: "an@example.gov.vn", From: "cli"},
		{Time: base.Add(time.Hour), Actor: "an@example.gov.vn", Action: "send-as", Target: "vanthu@example.gov.vn", From: "127.0.0.1"},
		{Time: base.Add(2 * time.Hour), Actor: "binh@example.gov.vn", Action: "shared.expunge", Target: "vanthu@example.gov.vn/INBOX", From: "127.0.0.1"},
	}
	for _, r := range records {
		if err := s.AddAudit(r); err != nil {
			t.Fatal(err)
		}
	}
	count := func(f AuditFilter) int {
		got, err := s.AuditLog(f)
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	if n := count(AuditFilter{}); n != 3 {
		t.Errorf("all: %d", n)
	}
	if n := count(AuditFilter{Account: "an@example.gov.vn"}); n != 2 {
		t.Errorf("by account: %d", n)
	}
	if n := count(AuditFilter{Mailbox: "vanthu@example.gov.vn"}); n != 2 {
		t.Errorf("by mailbox: %d", n)
	}
	if n := count(AuditFilter{Since: base.Add(90 * time.Minute)}); n != 1 {
		t.Errorf("since: %d", n)
	}
	got, _ := s.AuditLog(AuditFilter{Limit: 1})
	if len(got) != 1 || got[0].Action != "shared.expunge" || !got[0].Time.Equal(base.Add(2*time.Hour)) {
		t.Errorf("newest: %+v", got)
	}
}

// A removed address leaves every group's senders, so whoever gets the address next inherits nothing.
func TestRemovedAddressLeavesGroupSenders(t *testing.T) {
	s := newTestStore(t)
	mustAccount(t, s, "old@example.gov.vn")
	mustAccount(t, s, "an@example.gov.vn")
	if _, err := s.AddAlias("cu@example.gov.vn", "an@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	g, _ := s.AddGroup(Group{Address: "g@example.gov.vn", Policy: PostSenders})
	if _, err := s.UpdateGroup(g.Address, func(g *Group) error {
		g.Senders = []string{"old@example.gov.vn", "cu@example.gov.vn", "partner@other.gov.vn"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAccount("old@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAlias("cu@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Group(g.Address)
	if !reflect.DeepEqual(got.Senders, []string{"partner@other.gov.vn"}) {
		t.Errorf("senders %v", got.Senders)
	}
}

func TestAuditMailboxFilterMatchesWholeAddresses(t *testing.T) {
	s := newTestStore(t)
	for _, target := range []string{"an@example.gov.vn", "an@example.gov.vn/INBOX", "tran@example.gov.vn"} {
		if err := s.AddAudit(AuditRecord{Actor: "admin", Action: "x", Target: target}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.AuditLog(AuditFilter{Mailbox: "an@example.gov.vn"})
	if err != nil || len(got) != 2 {
		t.Errorf("filter an@ matched %d records (%v), want 2 (not tran@)", len(got), err)
	}
}

// An audit record goes with its change: written when the change commits, not when it fails.
func TestAuditRecordCommitsWithItsChange(t *testing.T) {
	s := newTestStore(t)
	mustAccount(t, s, "an@example.gov.vn")
	rec := AuditRecord{Actor: "admin", Action: "alias.add", Target: "van.an@example.gov.vn"}
	if _, err := s.WithAudit(rec).AddAlias("van.an@example.gov.vn", "khong-co@example.gov.vn"); err == nil {
		t.Fatal("alias to nothing accepted")
	}
	if got, _ := s.AuditLog(AuditFilter{}); len(got) != 0 {
		t.Fatalf("a failed change left audit records: %+v", got)
	}
	if _, err := s.WithAudit(rec).AddAlias("van.an@example.gov.vn", "an@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AuditLog(AuditFilter{}); len(got) != 1 || got[0].Action != "alias.add" || got[0].Time.IsZero() {
		t.Fatalf("audit after the change: %+v", got)
	}
	// The plain store writes no record.
	if err := s.RemoveAlias("van.an@example.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AuditLog(AuditFilter{}); len(got) != 1 {
		t.Errorf("a change without WithAudit wrote a record: %+v", got)
	}
}

func TestAuditRecordDescribedFromTheChange(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	for i := 0; i < 3; i++ {
		flags := []string{`\Deleted`}
		if i == 1 {
			flags = nil
		}
		if _, err := s.Append(inbox.ID, testMessage(i), flags, nil); err != nil {
			t.Fatal(err)
		}
	}
	describe := func(chs []Change) []AuditRecord {
		var n int
		for _, c := range chs {
			n += len(c.Expunged)
		}
		return []AuditRecord{{Actor: "an@example.gov.vn", Action: "expunge", Detail: fmt.Sprint(n, " removed")}}
	}
	if _, err := s.WithAuditOf(describe).Expunge(inbox.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := s.AuditLog(AuditFilter{})
	if len(got) != 1 || got[0].Detail != "2 removed" {
		t.Errorf("audit %+v", got)
	}
}
