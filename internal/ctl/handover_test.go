package ctl_test

import (
	"errors"
	"strings"
	"testing"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

// TestHandoverRoundTrip hands a user's mail over through the socket, as OS user "hoa", and checks the result, the
// copy in the store, the audit record and that a refusal keeps its text and kind.
func TestHandoverRoundTrip(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t).As("hoa")
	must(t, ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "vinhyen.gov.vn"}))
	for _, addr := range []string{"an.nv@vinhyen.gov.vn", "binh.tt@vinhyen.gov.vn"} {
		_, err := ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: addr, Password: goodPassword})
		must(t, err)
	}
	an, _ := ts.store.Account("an.nv@vinhyen.gov.vn")
	body := "From: vanthu@vinhyen.gov.vn\r\nSubject: Bàn giao hồ sơ\r\n\r\nHồ sơ dự án.\r\n"
	if _, err := ts.store.Deliver(store.NewMessage{Body: []byte(body)}, []store.Copy{{AccountID: an.ID}}); err != nil {
		t.Fatal(err)
	}
	an, _ = ts.store.Account("an.nv@vinhyen.gov.vn")

	res, err := ctl.Call(c, ctl.UserHandover, ctl.HandoverArgs{From: "an.nv@vinhyen.gov.vn", To: "binh.tt@vinhyen.gov.vn"})
	want := admin.HandoverResult{From: "an.nv@vinhyen.gov.vn", To: "binh.tt@vinhyen.gov.vn",
		Folder: "Bàn giao/an.nv@vinhyen.gov.vn", Folders: 6, Messages: 1, Bytes: an.Used, Used: an.Used}
	if err != nil || res != want {
		t.Fatalf("Handover = %+v, %v\nwant %+v", res, err, want)
	}
	binh, _ := ts.store.Account("binh.tt@vinhyen.gov.vn")
	if m, err := ts.store.Mailbox(binh.ID, "Bàn giao/an.nv@vinhyen.gov.vn/INBOX"); err != nil || m.Messages != 1 {
		t.Errorf("the copy in the store: %+v, %v", m, err)
	}
	log, err := ctl.Call(c, ctl.Audit, admin.AuditQuery{Limit: 1})
	if err != nil || len(log) != 1 || log[0].Action != "user.handover" || log[0].Target != "an.nv@vinhyen.gov.vn" ||
		log[0].Actor != "admin:hoa" || !strings.HasPrefix(log[0].Detail, "to binh.tt@vinhyen.gov.vn, copied under") {
		t.Errorf("audit record: %+v, %v", log, err)
	}
	if logs := ts.logs.String(); !strings.Contains(logs, "op=user.handover") {
		t.Errorf("operation log does not name user.handover:\n%s", logs)
	}

	_, remote := ctl.Call(c, ctl.UserHandover, ctl.HandoverArgs{From: "an.nv@vinhyen.gov.vn", To: "binh.tt@vinhyen.gov.vn"})
	_, local := admin.New(ts.store).Handover("an.nv@vinhyen.gov.vn", "binh.tt@vinhyen.gov.vn")
	if remote == nil || local == nil || remote.Error() != local.Error() || !errors.Is(remote, admin.ErrExists) {
		t.Errorf("second handover: remote %v, local %v", remote, local)
	}
	_, err = ctl.Call(c, ctl.UserHandover, ctl.HandoverArgs{From: "an.nv@vinhyen.gov.vn", To: "chi@vinhyen.gov.vn"})
	if !errors.Is(err, admin.ErrNotFound) || err.Error() != "user chi@vinhyen.gov.vn does not exist: see 'mailserver user list'" {
		t.Errorf("handover to nobody: %v", err)
	}
	// Arguments are decoded strictly: one the server does not know (a newer CLI) is refused, not ignored.
	got := rawCall(t, ts.path, `{"op":"user.handover","args":{"from":"an.nv@vinhyen.gov.vn","to":"binh.tt@vinhyen.gov.vn","extra":1}}`)
	if !strings.Contains(got[0], `"ok":false`) || !strings.Contains(got[0], "malformed request") {
		t.Errorf("handover with an unknown argument: %s", got[0])
	}
}

// TestShareGrantSubscribesThroughSocket checks that a grant with read made through the socket subscribes the
// grantee to the shared INBOX, and that revoking unsubscribes it.
func TestShareGrantSubscribesThroughSocket(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t)
	must(t, ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "vinhyen.gov.vn"}))
	_, err := ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: "an.nv@vinhyen.gov.vn", Password: goodPassword})
	must(t, err)
	_, err = ctl.Call(c, ctl.ShareAdd, admin.AddSharedRequest{Address: "vanthu@vinhyen.gov.vn"})
	must(t, err)
	an, _ := ts.store.Account("an.nv@vinhyen.gov.vn")
	subscribed := func() bool {
		subs, err := ts.store.Subscriptions(an.ID)
		must(t, err)
		for _, s := range subs {
			if s == "Shared/vanthu@vinhyen.gov.vn" {
				return true
			}
		}
		return false
	}
	_, err = ctl.Call(c, ctl.ShareGrant, ctl.GrantArgs{Shared: "vanthu@vinhyen.gov.vn", Account: "an.nv@vinhyen.gov.vn", Rights: []string{"read"}})
	must(t, err)
	if !subscribed() {
		t.Error("grant read through the socket did not subscribe the grantee")
	}
	must(t, ctl.Do(c, ctl.ShareRevoke, ctl.GrantArgs{Shared: "vanthu@vinhyen.gov.vn", Account: "an.nv@vinhyen.gov.vn"}))
	if subscribed() {
		t.Error("revoke through the socket left the grantee subscribed")
	}
}
