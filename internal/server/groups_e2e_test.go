package server

import (
	"strings"
	"testing"
	"time"

	"mailserver/internal/store"
)

// End-to-end tests of aliases, groups, shared mailboxes and send-as (issue 3) through the whole server: SMTP in,
// IMAP out. The directory is set up through the store, as the CLI would through the control socket.

// geGroup creates a group with its members and senders.
func (ts *testServer) geGroup(address string, policy store.PostingPolicy, members []string, senders ...string) {
	ts.t.Helper()
	if _, err := ts.Store().AddGroup(store.Group{Address: address, Name: "Nhóm " + address, Policy: policy}); err != nil {
		ts.t.Fatal(err)
	}
	ts.geMembers(address, members...)
	if _, err := ts.Store().UpdateGroup(address, func(g *store.Group) error { g.Senders = senders; return nil }); err != nil {
		ts.t.Fatal(err)
	}
}

func (ts *testServer) geMembers(group string, members ...string) {
	ts.t.Helper()
	if _, err := ts.Store().UpdateGroup(group, func(g *store.Group) error { g.Members = members; return nil }); err != nil {
		ts.t.Fatal(err)
	}
}

func (ts *testServer) geUnit(path string) {
	ts.t.Helper()
	if _, err := ts.Store().AddUnit(path, ""); err != nil {
		ts.t.Fatal(err)
	}
}

func (ts *testServer) geAccount(address string, fn func(*store.Account)) {
	ts.t.Helper()
	if _, err := ts.Store().UpdateAccount(address, func(a *store.Account) error { fn(a); return nil }); err != nil {
		ts.t.Fatal(err)
	}
}

// geInbox returns how many messages each user's INBOX holds, read over IMAP.
func (ts *testServer) geInbox(users ...string) map[string]int {
	ts.t.Helper()
	out := map[string]int{}
	for _, u := range users {
		c := ts.imapLogin(u, nil)
		out[u] = len(fetchAll(ts.t, c, "INBOX"))
		c.Logout().Wait()
	}
	return out
}

func (ts *testServer) geWantInbox(want map[string]int) {
	ts.t.Helper()
	var users []string
	for u := range want {
		users = append(users, u)
	}
	got := ts.geInbox(users...)
	for u, n := range want {
		if got[u] != n {
			ts.t.Errorf("%s has %d messages in INBOX, want %d", u, got[u], n)
		}
	}
}

func geMessage(from string, to ...string) string {
	return "From: " + from + "\r\nTo: " + strings.Join(to, ", ") + "\r\nSubject: =?utf-8?q?Th=C3=B4ng_b=C3=A1o?=\r\n" +
		"Date: Fri, 27 Nov 2026 08:00:00 +0700\r\nMessage-ID: <tb-" + strings.ReplaceAll(from, "@", ".") + "@example.gov.vn>\r\n" +
		"\r\nKính gửi các đồng chí.\r\n"
}

// withDeadline fails the test if fn does not return in time (a loop in group expansion would hang RCPT).
func withDeadline(t *testing.T, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no answer after 20 s", what)
		return nil
	}
}

const (
	geAn   = "an@example.gov.vn"
	geBinh = "binh@example.gov.vn"
	geChi  = "chi@example.gov.vn"
)

// A group reaching chi directly, through a nested group and through a unit, with chi also named as a second RCPT:
// one copy per person, one body for all.
func TestGroupReachedThreeWaysArrivesOnce(t *testing.T) {
	ts := startServer(t)
	ts.geUnit("vinhyen/ubnd/phong-noi-vu")
	if err := ts.Store().MoveAccount(geChi, "vinhyen/ubnd/phong-noi-vu"); err != nil {
		t.Fatal(err)
	}
	if err := ts.Store().MoveAccount(geBinh, "vinhyen/ubnd"); err != nil {
		t.Fatal(err)
	}
	ts.geGroup("pho-chu-tich@example.gov.vn", store.PostOrganisation, []string{geChi, geBinh})
	ts.geGroup("ubnd@example.gov.vn", store.PostOrganisation,
		[]string{geChi, "pho-chu-tich@example.gov.vn", "unit:vinhyen/ubnd"})
	rcpts := []string{"ubnd@example.gov.vn", geChi}
	raw := geMessage(geAn, rcpts...)
	if err := ts.submit(geAn, rcpts, raw); err != nil {
		t.Fatalf("submit: %v", err)
	}
	ts.geWantInbox(map[string]int{geAn: 0, geBinh: 1, geChi: 1})
	wantStoredOnce(t, ts, 2, len(raw)) // binh and chi: one body, two references
}

func TestUnitGroupIncludesStaffAddedLater(t *testing.T) {
	ts := startServer(t)
	ts.geUnit("vinhyen/phuong-lien-bao")
	ts.geGroup("lien-bao@example.gov.vn", store.PostAnyone, []string{"unit:vinhyen"})
	req := adminUser("dung@example.gov.vn")
	req.Unit = "vinhyen/phuong-lien-bao"
	if _, err := ts.Admin().AddUser(req); err != nil {
		t.Fatal(err)
	}
	if err := sendMX(ts, "tinh@other-agency.gov.vn", []string{"lien-bao@example.gov.vn"},
		geMessage("tinh@other-agency.gov.vn", "lien-bao@example.gov.vn")); err != nil {
		t.Fatalf("MX: %v", err)
	}
	ts.geWantInbox(map[string]int{"dung@example.gov.vn": 1, geAn: 0})
}

func TestGroupPostingPolicyRefusedAtRcpt(t *testing.T) {
	ts := startServer(t)
	ts.geGroup("thanh-vien@example.gov.vn", store.PostMembers, []string{geAn, geBinh})
	ts.geGroup("noi-bo@example.gov.vn", store.PostOrganisation, []string{geAn})

	c := authedSubmission(t, ts, geChi)
	if err := c.Mail(geChi, nil); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt("thanh-vien@example.gov.vn", nil)
	if got := smtpCode(err); got != "550 5.7.1" || !strings.Contains(err.Error(), "only members may send to this group") {
		t.Errorf("non-member: %s (%v), want 550 5.7.1 only members may send to this group", got, err)
	}
	err = sendMX(ts, "someone@other-agency.gov.vn", []string{"noi-bo@example.gov.vn"},
		geMessage("someone@other-agency.gov.vn", "noi-bo@example.gov.vn"))
	if got := smtpCode(err); got != "550 5.7.1" || !strings.Contains(err.Error(), "only staff of this organisation may send to this group") {
		t.Errorf("MX to an organisation group: %s (%v)", got, err)
	}
	// Members and staff are let through.
	if err := ts.submit(geBinh, []string{"thanh-vien@example.gov.vn"}, geMessage(geBinh, "thanh-vien@example.gov.vn")); err != nil {
		t.Errorf("member: %v", err)
	}
	if err := ts.submit(geChi, []string{"noi-bo@example.gov.vn"}, geMessage(geChi, "noi-bo@example.gov.vn")); err != nil {
		t.Errorf("staff: %v", err)
	}
	ts.geWantInbox(map[string]int{geAn: 2, geBinh: 1, geChi: 0})
}

func TestGroupLoopsDeliverOnce(t *testing.T) {
	ts := startServer(t)
	ts.geGroup("tu-chua@example.gov.vn", store.PostAnyone, nil)
	ts.geMembers("tu-chua@example.gov.vn", "tu-chua@example.gov.vn", geAn)
	ts.geGroup("nhom-a@example.gov.vn", store.PostAnyone, []string{geAn})
	ts.geGroup("nhom-b@example.gov.vn", store.PostAnyone, []string{"nhom-a@example.gov.vn", geBinh})
	ts.geMembers("nhom-a@example.gov.vn", "nhom-b@example.gov.vn", geAn)
	from := "x@other-agency.gov.vn"
	for _, rcpts := range [][]string{{"tu-chua@example.gov.vn"}, {"nhom-a@example.gov.vn", "nhom-b@example.gov.vn"}} {
		err := withDeadline(t, strings.Join(rcpts, ","), func() error { return sendMX(ts, from, rcpts, geMessage(from, rcpts...)) })
		if err != nil {
			t.Fatalf("%v: %v", rcpts, err)
		}
	}
	ts.geWantInbox(map[string]int{geAn: 2, geBinh: 1, geChi: 0})
}

func TestAliasDeliveryAndSendAs(t *testing.T) {
	ts := startServer(t)
	for alias, target := range map[string]string{"chanh-van-phong@example.gov.vn": geAn, "ke-toan@example.gov.vn": geBinh} {
		if _, err := ts.Store().AddAlias(alias, target); err != nil {
			t.Fatal(err)
		}
	}
	from := "x@other-agency.gov.vn"
	if err := sendMX(ts, from, []string{"chanh-van-phong@example.gov.vn"}, geMessage(from, "chanh-van-phong@example.gov.vn")); err != nil {
		t.Fatalf("to an alias: %v", err)
	}
	// an sends as its alias, envelope and From alike.
	c := authedSubmission(t, ts, geAn)
	alias := "chanh-van-phong@example.gov.vn"
	if err := c.SendMail(alias, []string{geChi}, strings.NewReader(geMessage(alias, geChi))); err != nil {
		t.Errorf("send as own alias: %v", err)
	}
	// ... but not as binh's.
	if got := smtpCode(c.Mail("ke-toan@example.gov.vn", nil)); got != "553 5.7.1" {
		t.Errorf("send as someone else's alias: %s, want 553 5.7.1", got)
	}
	ts.geWantInbox(map[string]int{geAn: 1, geChi: 1})
	all, err := ts.Store().AuditLog(store.AuditFilter{Account: geAn})
	if err != nil {
		t.Fatal(err)
	}
	var records []store.AuditRecord
	for _, r := range all {
		if r.Action == "send-as" {
			records = append(records, r)
		}
	}
	if len(records) != 1 || records[0].Action != "send-as" || records[0].Target != alias || records[0].From != "127.0.0.1" {
		t.Errorf("audit %+v, want one send-as record for %s", records, alias)
	}
}

func TestSendAsGroupAndSharedMailbox(t *testing.T) {
	ts := startServer(t)
	ts.geGroup("lanh-dao@example.gov.vn", store.PostSenders, []string{geChi}, geAn)
	if _, err := ts.Store().AddShared(store.Account{Address: "van-thu@example.gov.vn", Name: "Văn thư UBND"}); err != nil {
		t.Fatal(err)
	}
	if err := ts.Store().SetGrant("van-thu@example.gov.vn", geAn, store.RightRead|store.RightSend); err != nil {
		t.Fatal(err)
	}
	if err := ts.Store().SetGrant("van-thu@example.gov.vn", geBinh, store.RightRead|store.RightWrite); err != nil {
		t.Fatal(err)
	}
	an := authedSubmission(t, ts, geAn)
	for _, as := range []string{"lanh-dao@example.gov.vn", "van-thu@example.gov.vn"} {
		if err := an.SendMail(as, []string{geChi}, strings.NewReader(geMessage(as, geChi))); err != nil {
			t.Errorf("an as %s: %v", as, err)
		}
	}
	binh := authedSubmission(t, ts, geBinh)
	for _, as := range []string{"lanh-dao@example.gov.vn", "van-thu@example.gov.vn"} {
		if got := smtpCode(binh.Mail(as, nil)); got != "553 5.7.1" {
			t.Errorf("binh as %s: %s, want 553 5.7.1", as, got)
		}
	}
	// A From header naming the shared mailbox is refused too, whatever the envelope says.
	err := binh.SendMail(geBinh, []string{geChi}, strings.NewReader(geMessage("van-thu@example.gov.vn", geChi)))
	if got := smtpCode(err); got != "550 5.7.1" {
		t.Errorf("binh with From van-thu@: %s, want 550 5.7.1", got)
	}
	ts.geWantInbox(map[string]int{geChi: 2})
}

func TestRejectMailRefusedAtRcpt(t *testing.T) {
	ts := startServer(t)
	ts.geAccount(geChi, func(a *store.Account) { a.Disabled, a.RejectMail = true, true })
	ts.geGroup("phong@example.gov.vn", store.PostAnyone, []string{geBinh, geChi})
	from := "x@other-agency.gov.vn"
	err := sendMX(ts, from, []string{geChi}, geMessage(from, geChi))
	if got := smtpCode(err); got != "550 5.2.1" || !strings.Contains(err.Error(), "mailbox disabled") {
		t.Errorf("RejectMail: %s (%v), want 550 5.2.1 mailbox disabled", got, err)
	}
	if err := sendMX(ts, from, []string{"phong@example.gov.vn"}, geMessage(from, "phong@example.gov.vn")); err != nil {
		t.Fatalf("group with a member who refuses mail: %v", err)
	}
	ts.geWantInbox(map[string]int{geBinh: 1})
	a, err := ts.Store().Account(geChi)
	if err != nil || a.Used != 0 {
		t.Errorf("chi: %v, %d bytes used, want nothing stored", err, a.Used)
	}
}

func TestGroupWithFullMemberDeliversToAll(t *testing.T) {
	ts := startServer(t)
	ts.geGroup("phong@example.gov.vn", store.PostAnyone, []string{geAn, geBinh, geChi})
	from := "x@other-agency.gov.vn"
	if err := sendMX(ts, from, []string{geChi}, geMessage(from, geChi)); err != nil {
		t.Fatal(err)
	}
	chi, err := ts.Store().Account(geChi)
	if err != nil {
		t.Fatal(err)
	}
	ts.geAccount(geChi, func(a *store.Account) { a.Quota = chi.Used }) // exactly full
	if err := sendMX(ts, from, []string{"phong@example.gov.vn"}, geMessage(from, "phong@example.gov.vn")); err != nil {
		t.Fatalf("group with a full member: %v", err)
	}
	// The full member still gets the group's copy: the sender was told it was delivered (soft quota).
	ts.geWantInbox(map[string]int{geAn: 1, geBinh: 1, geChi: 2})
	if got := smtpCode(sendMX(ts, from, []string{geChi}, geMessage(from, geChi))); got != "452 4.2.2" {
		t.Errorf("full account named directly: %s, want 452 4.2.2", got)
	}
}
