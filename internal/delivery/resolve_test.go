package delivery

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"mailserver/internal/store"
)

// addGroup creates a group with members and senders.
func addGroup(t *testing.T, st *store.Store, address string, policy store.PostingPolicy, members []string, senders ...string) {
	t.Helper()
	if _, err := st.AddGroup(store.Group{Address: address, Policy: policy}); err != nil {
		t.Fatal(err)
	}
	setMembers(t, st, address, members...)
	if _, err := st.UpdateGroup(address, func(g *store.Group) error { g.Senders = senders; return nil }); err != nil {
		t.Fatal(err)
	}
}

func setMembers(t *testing.T, st *store.Store, group string, members ...string) {
	t.Helper()
	if _, err := st.UpdateGroup(group, func(g *store.Group) error { g.Members = members; return nil }); err != nil {
		t.Fatal(err)
	}
}

func addAccount(t *testing.T, st *store.Store, a store.Account) store.Account {
	t.Helper()
	a, err := st.AddAccount(a)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func addAlias(t *testing.T, st *store.Store, alias, target string) {
	t.Helper()
	if _, err := st.AddAlias(alias, target); err != nil {
		t.Fatal(err)
	}
}

func update(t *testing.T, st *store.Store, address string, fn func(*store.Account)) {
	t.Helper()
	if _, err := st.UpdateAccount(address, func(a *store.Account) error { fn(a); return nil }); err != nil {
		t.Fatal(err)
	}
}

// subEnvelope is a submission by the account with the given local part, its SendAs left for the transaction to
// look up.
func subEnvelope(local string) Envelope {
	addr := local + "@" + domain
	return Envelope{From: addr, Authenticated: addr, Submission: true,
		RemoteAddr: &net.TCPAddr{IP: net.IPv4(198, 51, 100, 9), Port: 5000}}
}

// counts returns how many messages each of the addresses has in its INBOX.
func counts(t *testing.T, st *store.Store, addrs ...string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, a := range addrs {
		out[a] = len(inbox(t, st, a))
	}
	return out
}

func wantCounts(t *testing.T, st *store.Store, want map[string]int) {
	t.Helper()
	var addrs []string
	for a := range want {
		addrs = append(addrs, a)
	}
	got := counts(t, st, addrs...)
	for a, n := range want {
		if got[a] != n {
			t.Errorf("%s has %d messages, want %d", a, got[a], n)
		}
	}
}

func rcptErr(d *Deliverer, env Envelope, rcpt string) error {
	ctx := context.Background()
	return d.Begin(ctx, env).AddRecipient(ctx, rcpt)
}

// A person reached directly, through a nested group, through a unit and as a second RCPT gets one copy, and all
// copies share one body.
func TestGroupReachedManyWaysOneCopyEach(t *testing.T) {
	st := newTestStore(t)
	for _, u := range []string{"hanoi/ubnd", "hanoi/ubnd/phong-noi-vu"} {
		if _, err := st.AddUnit(u, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.MoveAccount("an@"+domain, "hanoi/ubnd"); err != nil {
		t.Fatal(err)
	}
	if err := st.MoveAccount("chi@"+domain, "hanoi/ubnd/phong-noi-vu"); err != nil {
		t.Fatal(err)
	}
	addGroup(t, st, "inner@"+domain, store.PostAnyone, []string{"an@" + domain, "binh@" + domain})
	addGroup(t, st, "all@"+domain, store.PostAnyone, []string{"an@" + domain, "inner@" + domain, "unit:hanoi/ubnd"})
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	res := deliver(t, d, "all@"+domain, "an@"+domain)
	wantCounts(t, st, map[string]int{"an@" + domain: 1, "binh@" + domain: 1, "chi@" + domain: 1})
	// One body, referenced by the three copies: stored once, not once per person.
	if stats, err := st.Stats(); err != nil || stats.Bodies != 1 || stats.BodyRefs != 3 || stats.Chunks != 1 {
		t.Errorf("store stats %+v (%v), want 1 body with 3 references in 1 chunk", stats, err)
	}
	if len(res.Recipients) != 4 { // all@ → an, binh, chi; an@ → an (sharing the first copy)
		t.Errorf("result %+v", res.Recipients)
	}
	// The copy names the group it was sent to, and the account it was delivered to.
	full := fullMessage(t, st, inbox(t, st, "chi@"+domain)[0])
	if !strings.Contains(full, "Delivered-To: chi@hanoi.gov.vn\r\n") || !strings.Contains(full, "for <all@hanoi.gov.vn>;") {
		t.Errorf("trace:\n%s", full)
	}
}

func TestUnitMemberIncludesLaterStaff(t *testing.T) {
	st := newTestStore(t)
	if _, err := st.AddUnit("hanoi/phuong-ba-dinh", "Phường Ba Đình"); err != nil {
		t.Fatal(err)
	}
	addGroup(t, st, "ba-dinh@"+domain, store.PostAnyone, []string{"unit:hanoi"})
	addAccount(t, st, store.Account{Address: "dung@" + domain, Unit: "hanoi/phuong-ba-dinh"})
	deliver(t, New(st, "mail.hanoi.gov.vn", nil, nil), "ba-dinh@"+domain)
	wantCounts(t, st, map[string]int{"dung@" + domain: 1, "an@" + domain: 0})
}

func TestGroupLoops(t *testing.T) {
	st := newTestStore(t)
	addGroup(t, st, "self@"+domain, store.PostAnyone, nil)
	setMembers(t, st, "self@"+domain, "self@"+domain, "an@"+domain)
	addGroup(t, st, "a@"+domain, store.PostAnyone, []string{"binh@" + domain})
	addGroup(t, st, "b@"+domain, store.PostAnyone, []string{"a@" + domain, "chi@" + domain, "an@" + domain})
	setMembers(t, st, "a@"+domain, "b@"+domain, "binh@"+domain)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	deliver(t, d, "self@"+domain)
	wantCounts(t, st, map[string]int{"an@" + domain: 1, "binh@" + domain: 0})
	deliver(t, d, "a@"+domain)
	wantCounts(t, st, map[string]int{"an@" + domain: 2, "binh@" + domain: 1, "chi@" + domain: 1})
	deliver(t, d, "b@"+domain, "a@"+domain)
	wantCounts(t, st, map[string]int{"an@" + domain: 3, "binh@" + domain: 2, "chi@" + domain: 2})
}

func TestAliases(t *testing.T) {
	st := newTestStore(t)
	addAlias(t, st, "an.nguyen@"+domain, "an@"+domain)
	addAlias(t, st, "chanh-van-phong@"+domain, "an.nguyen@"+domain) // a chain
	addGroup(t, st, "lanh-dao@"+domain, store.PostAnyone, []string{"binh@" + domain, "chanh-van-phong@" + domain})
	addAlias(t, st, "ld@"+domain, "lanh-dao@"+domain) // an alias of a group
	// A loop: l1 → l2 → l1, made by re-pointing l2 after l1 was created.
	addAlias(t, st, "l2@"+domain, "chi@"+domain)
	addAlias(t, st, "l1@"+domain, "l2@"+domain)
	if err := st.RemoveAlias("l2@" + domain); err != nil {
		t.Fatal(err)
	}
	addAlias(t, st, "l2@"+domain, "l1@"+domain)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	deliver(t, d, "Chanh-Van-Phong@hanoi.gov.vn")
	wantCounts(t, st, map[string]int{"an@" + domain: 1})
	deliver(t, d, "ld@"+domain, "an.nguyen@"+domain)
	wantCounts(t, st, map[string]int{"an@" + domain: 2, "binh@" + domain: 1})
	if err := rcptErr(d, mxEnvelope(), "l1@"+domain); !errors.Is(err, ErrUnknownRecipient) {
		t.Errorf("alias loop: %v, want ErrUnknownRecipient", err)
	}
	if err := st.RemoveAccount("chi@" + domain); err != nil {
		t.Fatal(err)
	}
	addAlias(t, st, "dangling@"+domain, "binh@"+domain)
	if err := st.RemoveAccount("binh@" + domain); err != nil {
		t.Fatal(err)
	}
	if err := rcptErr(d, mxEnvelope(), "dangling@"+domain); !errors.Is(err, ErrUnknownRecipient) {
		t.Errorf("alias of a removed account: %v, want ErrUnknownRecipient", err)
	}
	// The group lost binh but still reaches an.
	deliver(t, d, "lanh-dao@"+domain)
	wantCounts(t, st, map[string]int{"an@" + domain: 3})
}

func TestPostingPolicies(t *testing.T) {
	st := newTestStore(t)
	shared := addAccount(t, st, store.Account{Address: "van-thu@" + domain, Shared: true})
	if err := st.SetGrant(shared.Address, "chi@"+domain, store.RightSend); err != nil {
		t.Fatal(err)
	}
	addAlias(t, st, "binh.tran@"+domain, "binh@"+domain)
	addGroup(t, st, "org@"+domain, store.PostOrganisation, []string{"an@" + domain})
	addGroup(t, st, "members@"+domain, store.PostMembers, []string{"an@" + domain, "van-thu@" + domain})
	addGroup(t, st, "senders@"+domain, store.PostSenders, []string{"an@" + domain},
		"binh.tran@"+domain, "partner@other.example", "van-thu@"+domain, "spoofed@"+domain)
	addGroup(t, st, "anyone@"+domain, store.PostAnyone, []string{"an@" + domain})
	mxFrom := func(from string) Envelope { e := mxEnvelope(); e.From = from; return e }
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	tests := []struct {
		env   Envelope
		group string
		want  error
	}{
		{mxEnvelope(), "org", ErrPostOrganisation},
		{subEnvelope("binh"), "org", nil},
		{mxEnvelope(), "members", ErrPostMembers},
		{subEnvelope("binh"), "members", ErrPostMembers},
		{subEnvelope("an"), "members", nil},
		{subEnvelope("chi"), "members", ErrPostMembers}, // sending as van-thu@, a member, makes chi no member
		{mxEnvelope(), "senders", ErrPostSenders},
		{mxFrom("partner@other.example"), "senders", nil},
		{mxFrom("Partner@Other.Example"), "senders", nil},
		{mxFrom("spoofed@" + domain), "senders", ErrPostSenders}, // local senders use submission
		{subEnvelope("an"), "senders", ErrPostSenders},
		{subEnvelope("binh"), "senders", nil}, // through its alias
		{subEnvelope("chi"), "senders", nil},  // through the shared mailbox
		{mxEnvelope(), "anyone", nil},
		{mxFrom(""), "anyone", nil},
	}
	for _, tt := range tests {
		err := rcptErr(d, tt.env, tt.group+"@"+domain)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s (auth %q, from %q): %v, want %v", tt.group, tt.env.Authenticated, tt.env.From, err, tt.want)
		}
		if tt.want != nil && !errors.Is(err, ErrPostingDenied) {
			t.Errorf("%v does not match ErrPostingDenied", err)
		}
	}

	// Admitting a MAIL FROM on MX asks for it to be authenticated before the commit; nothing else does.
	ctx := context.Background()
	for _, tc := range []struct {
		env   Envelope
		group string
		want  bool
	}{
		{mxFrom("partner@other.example"), "senders", true},
		{mxFrom("partner@other.example"), "anyone", false},
		{subEnvelope("binh"), "senders", false},
	} {
		tx := d.Begin(ctx, tc.env)
		if err := tx.AddRecipient(ctx, tc.group+"@"+domain); err != nil {
			t.Fatal(err)
		}
		if got := tx.TrustsEnvelopeSender(); got != tc.want {
			t.Errorf("%s from %q: TrustsEnvelopeSender = %v, want %v", tc.group, tc.env.From, got, tc.want)
		}
	}
}

// The members policy looks at the whole expansion, members who do not receive this message included.
func TestMembersPolicyThroughNestingAndUnits(t *testing.T) {
	st := newTestStore(t)
	if _, err := st.AddUnit("hanoi", ""); err != nil {
		t.Fatal(err)
	}
	addAccount(t, st, store.Account{Address: "dung@" + domain, Unit: "hanoi", Quota: 1})
	deliver(t, New(st, "mail.hanoi.gov.vn", nil, nil), "dung@"+domain) // now over quota
	addGroup(t, st, "inner@"+domain, store.PostAnyone, []string{"unit:hanoi"})
	addGroup(t, st, "outer@"+domain, store.PostMembers, []string{"inner@" + domain, "an@" + domain})
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	if err := rcptErr(d, subEnvelope("dung"), "outer@"+domain); err != nil {
		t.Errorf("member through a nested unit (over quota): %v", err)
	}
	if err := rcptErr(d, subEnvelope("chi"), "outer@"+domain); !errors.Is(err, ErrPostMembers) {
		t.Errorf("non-member: %v", err)
	}
	// Being allowed to send as a member does not make one a member.
	env := subEnvelope("chi")
	env.SendAs = []string{"chi@" + domain, "dung@" + domain}
	if err := rcptErr(d, env, "outer@"+domain); !errors.Is(err, ErrPostMembers) {
		t.Errorf("SendAs a member: %v, want ErrPostMembers", err)
	}
}

// A nested group's policy applies when it is reached as a member: a members-only group inside an open one is
// skipped for an outside sender, who still reaches the open group's other members.
func TestNestedGroupPolicyApplies(t *testing.T) {
	st := newTestStore(t)
	addGroup(t, st, "leaders@"+domain, store.PostMembers, []string{"an@" + domain})
	addGroup(t, st, "open@"+domain, store.PostAnyone, []string{"leaders@" + domain, "binh@" + domain})
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	deliver(t, d, "open@"+domain) // from the MX: not a member of leaders@
	wantCounts(t, st, map[string]int{"an@" + domain: 0, "binh@" + domain: 1})
	tx := d.Begin(context.Background(), subEnvelope("an"))
	if err := tx.AddRecipient(context.Background(), "open@"+domain); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(context.Background(), []byte("From: an@"+domain+"\r\nSubject: x\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, st, map[string]int{"an@" + domain: 1, "binh@" + domain: 2})
}

func TestRejectMailAndDisabledMembers(t *testing.T) {
	st := newTestStore(t)
	update(t, st, "binh@"+domain, func(a *store.Account) { a.Disabled, a.RejectMail = true, true })
	update(t, st, "chi@"+domain, func(a *store.Account) { a.Disabled = true })
	addAlias(t, st, "b@"+domain, "binh@"+domain)
	addGroup(t, st, "g@"+domain, store.PostAnyone, []string{"an@" + domain, "binh@" + domain, "chi@" + domain})
	addGroup(t, st, "gone@"+domain, store.PostAnyone, []string{"binh@" + domain})
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	for _, r := range []string{"binh@" + domain, "b@" + domain} {
		if err := rcptErr(d, mxEnvelope(), r); !errors.Is(err, ErrMailboxDisabled) {
			t.Errorf("%s: %v, want ErrMailboxDisabled", r, err)
		}
	}
	if err := rcptErr(d, mxEnvelope(), "gone@"+domain); !errors.Is(err, ErrNoMembers) {
		t.Errorf("group of a disabled account only: %v, want ErrNoMembers", err)
	}
	deliver(t, d, "g@"+domain)
	wantCounts(t, st, map[string]int{"an@" + domain: 1, "binh@" + domain: 0, "chi@" + domain: 1})
}

func TestGroupMemberOverQuota(t *testing.T) {
	st := newTestStore(t)
	addGroup(t, st, "g@"+domain, store.PostAnyone, []string{"an@" + domain, "binh@" + domain, "chi@" + domain})
	addGroup(t, st, "just-chi@"+domain, store.PostAnyone, []string{"chi@" + domain})
	addGroup(t, st, "empty@"+domain, store.PostAnyone, nil)
	update(t, st, "chi@"+domain, func(a *store.Account) { a.Quota = 1 })
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	deliver(t, d, "chi@"+domain) // accepted while chi had room; now full
	// A full member still gets a group's message (soft quota, as at commit): silently dropping it would lose mail
	// the sender was told was delivered. Named directly, chi is refused at RCPT.
	deliver(t, d, "g@"+domain)
	wantCounts(t, st, map[string]int{"an@" + domain: 1, "binh@" + domain: 1, "chi@" + domain: 2})
	if err := rcptErr(d, mxEnvelope(), "just-chi@"+domain); err != nil {
		t.Errorf("group whose only member is full: %v, want it accepted", err)
	}
	if err := rcptErr(d, mxEnvelope(), "chi@"+domain); !errors.Is(err, ErrOverQuota) {
		t.Errorf("full account named directly: %v, want ErrOverQuota", err)
	}
	if err := rcptErr(d, mxEnvelope(), "empty@"+domain); !errors.Is(err, ErrNoMembers) {
		t.Errorf("empty group: %v, want ErrNoMembers", err)
	}
}

func TestRemovedMembersAndUnitsSkipped(t *testing.T) {
	st := newTestStore(t)
	if _, err := st.AddUnit("hanoi/old", ""); err != nil {
		t.Fatal(err)
	}
	addGroup(t, st, "g@"+domain, store.PostAnyone, []string{"an@" + domain, "chi@" + domain, "unit:hanoi/old"})
	if err := st.RemoveAccount("chi@" + domain); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveUnit("hanoi/old"); err != nil {
		t.Fatal(err)
	}
	deliver(t, New(st, "mail.hanoi.gov.vn", nil, nil), "g@"+domain)
	wantCounts(t, st, map[string]int{"an@" + domain: 1})
}

func TestSendableAddresses(t *testing.T) {
	st := newTestStore(t)
	addAlias(t, st, "an.nguyen@"+domain, "an@"+domain)
	addAlias(t, st, "cvp@"+domain, "an.nguyen@"+domain)
	addAlias(t, st, "binh.tran@"+domain, "binh@"+domain)
	addGroup(t, st, "lanh-dao@"+domain, store.PostSenders, []string{"binh@" + domain}, "an.nguyen@"+domain)
	addGroup(t, st, "other@"+domain, store.PostSenders, []string{"binh@" + domain}, "binh@"+domain)
	addAlias(t, st, "ld@"+domain, "lanh-dao@"+domain)
	for _, sh := range []string{"van-thu@", "ke-toan@"} {
		addAccount(t, st, store.Account{Address: sh + domain, Shared: true})
	}
	addAlias(t, st, "vt@"+domain, "van-thu@"+domain)
	if err := st.SetGrant("van-thu@"+domain, "an@"+domain, store.RightRead|store.RightSend); err != nil {
		t.Fatal(err)
	}
	if err := st.SetGrant("ke-toan@"+domain, "an@"+domain, store.RightRead|store.RightWrite); err != nil {
		t.Fatal(err)
	}
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	an, _ := st.Account("an@" + domain)
	got, err := d.SendableAddresses(an)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"an@hanoi.gov.vn", "an.nguyen@hanoi.gov.vn", "cvp@hanoi.gov.vn", "lanh-dao@hanoi.gov.vn",
		"van-thu@hanoi.gov.vn", "ld@hanoi.gov.vn", "vt@hanoi.gov.vn"}
	if !slices.Equal(got, want) {
		t.Errorf("SendableAddresses(an) = %v\nwant %v", got, want)
	}
	chi, _ := st.Account("chi@" + domain)
	if got, _ := d.SendableAddresses(chi); !slices.Equal(got, []string{"chi@hanoi.gov.vn"}) {
		t.Errorf("SendableAddresses(chi) = %v", got)
	}
}

// A submission using an address other than the account's own is allowed when the account may send as it, and
// audited after the commit; the account's own address is not audited.
func TestSendAsAudited(t *testing.T) {
	st := newTestStore(t)
	addAlias(t, st, "an.nguyen@"+domain, "an@"+domain)
	addAlias(t, st, "binh.tran@"+domain, "binh@"+domain)
	d := New(st, "mail.hanoi.gov.vn", nil, nil)
	ctx := context.Background()
	submit := func(env Envelope, from string) error {
		tx := d.Begin(ctx, env)
		for _, r := range []string{"binh@" + domain, "chi@" + domain} {
			if err := tx.AddRecipient(ctx, r); err != nil {
				return err
			}
		}
		_, err := tx.Commit(ctx, []byte("From: "+from+"\r\nMessage-ID: <m1@hanoi.gov.vn>\r\n\r\nx\r\n"))
		return err
	}
	env := subEnvelope("an")
	if err := submit(env, "An <an@hanoi.gov.vn>"); err != nil {
		t.Fatal(err)
	}
	env.From = "an.nguyen@" + domain
	if err := submit(env, "\"Nguyễn Văn An\" <An.Nguyen@hanoi.gov.vn>"); err != nil {
		t.Fatal(err)
	}
	if err := submit(env, "binh.tran@hanoi.gov.vn"); !errors.Is(err, ErrFromNotAllowed) {
		t.Errorf("From someone else's alias: %v, want ErrFromNotAllowed", err)
	}
	log, err := st.AuditLog(store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 {
		t.Fatalf("audit log %+v, want one send-as record", log)
	}
	r := log[0]
	if r.Actor != "an@hanoi.gov.vn" || r.Action != "send-as" || r.Target != "an.nguyen@hanoi.gov.vn" ||
		r.From != "198.51.100.9" || !strings.Contains(r.Detail, "<m1@hanoi.gov.vn>") ||
		!strings.Contains(r.Detail, "recipients: 2;") {
		t.Errorf("audit record %+v", r)
	}
}

func TestExpansionStoreFailure(t *testing.T) {
	st := newTestStore(t)
	if _, err := st.AddUnit("hanoi", ""); err != nil {
		t.Fatal(err)
	}
	addGroup(t, st, "g@"+domain, store.PostAnyone, []string{"an@" + domain, "unit:hanoi"})
	fs := &failingStore{Store: st, failUnits: true}
	d := newDeliverer(fs, "mail.hanoi.gov.vn", nil)
	if err := rcptErr(d, mxEnvelope(), "g@"+domain); !errors.Is(err, errInjected) || isSentinel(err) {
		t.Errorf("unit lookup failure: %v, want the injected internal error", err)
	}
}
