package admin_test

import (
	"slices"
	"testing"

	"mailserver/internal/admin"
)

func TestHandover(t *testing.T) {
	api, st := newDirectory(t)
	const an, binh = "an.nv@vinhyen.gov.vn", "binh.tt@vinhyen.gov.vn"
	deliver(t, st, an, 2000)
	deliver(t, st, an, 3000)
	old, _ := st.Account(an)
	must(t, api.SetQuota(binh, 1024))

	res, err := api.Handover(" AN.NV@vinhyen.gov.vn", binh)
	if err != nil {
		t.Fatal(err)
	}
	want := admin.HandoverResult{From: an, To: binh, Folder: "Bàn giao/" + an, Folders: 6, Messages: 2,
		Bytes: old.Used, Used: old.Used, Quota: 1024}
	if res != want {
		t.Errorf("Handover = %+v\nwant %+v", res, want)
	}
	if !res.OverQuota() {
		t.Error("a successor with 1KB of quota is not over it after receiving 5KB")
	}
	// The record is written with the copy, in its transaction, so it names what was asked, not the counts.
	wantAudit(t, api, "user.handover", an, `to binh.tt@vinhyen.gov.vn, copied under "Bàn giao/an.nv@vinhyen.gov.vn"`)

	heir, _ := st.Account(binh)
	inbox, err := st.Mailbox(heir.ID, "Bàn giao/"+an+"/INBOX")
	if err != nil || inbox.Messages != 2 {
		t.Errorf("the successor's copy of INBOX: %+v, %v", inbox, err)
	}
	if subs, _ := st.Subscriptions(heir.ID); !slices.Contains(subs, "Bàn giao/"+an+"/Sent") {
		t.Errorf("the copied folders are not subscribed: %q", subs)
	}
	if a, _ := st.Account(an); a.Used != old.Used || a.Disabled {
		t.Errorf("the predecessor changed: %+v", a)
	}
	// The successor keeps the mail when the predecessor goes.
	must(t, api.RemoveUser(an))
	if inbox, err := st.Mailbox(heir.ID, "Bàn giao/"+an+"/INBOX"); err != nil || inbox.Messages != 2 {
		t.Errorf("the copy after removing the predecessor: %+v, %v", inbox, err)
	}
	if err := st.Check(); err != nil {
		t.Errorf("store after handover and removal:\n%v", err)
	}
}

func TestHandoverErrors(t *testing.T) {
	api, _ := newDirectory(t)
	const an, binh, vt = "an.nv@vinhyen.gov.vn", "binh.tt@vinhyen.gov.vn", "vanthu@vinhyen.gov.vn"
	_, err := api.AddShared(admin.AddSharedRequest{Address: vt})
	must(t, err)
	_, err = api.AddAlias("an@vinhyen.gov.vn", an)
	must(t, err)
	_, err = api.AddGroup(admin.AddGroupRequest{Address: "nhom@vinhyen.gov.vn"})
	must(t, err)
	_, err = api.Handover(an, binh)
	must(t, err)

	tests := []struct {
		from, to string
		kind     error
		want     string
	}{
		{an, binh, admin.ErrExists,
			`an.nv@vinhyen.gov.vn was already handed over to binh.tt@vinhyen.gov.vn (folder "Bàn giao/an.nv@vinhyen.gov.vn"): a second handover would copy everything twice`},
		{an, "AN.NV@vinhyen.gov.vn", admin.ErrInvalid,
			"an.nv@vinhyen.gov.vn cannot be handed over to itself: name the successor's account"},
		{"chi@vinhyen.gov.vn", binh, admin.ErrNotFound, "user chi@vinhyen.gov.vn does not exist: see 'mailserver user list'"},
		{an, "chi@vinhyen.gov.vn", admin.ErrNotFound, "user chi@vinhyen.gov.vn does not exist: see 'mailserver user list'"},
		{"an@vinhyen.gov.vn", binh, admin.ErrInvalid,
			"an@vinhyen.gov.vn is an alias of an.nv@vinhyen.gov.vn: hand over the account itself"},
		{binh, "an@vinhyen.gov.vn", admin.ErrInvalid,
			"an@vinhyen.gov.vn is an alias of an.nv@vinhyen.gov.vn: hand over to the account itself"},
		{"nhom@vinhyen.gov.vn", binh, admin.ErrInvalid, "nhom@vinhyen.gov.vn is a group: it has no mail of its own to hand over"},
		{binh, "nhom@vinhyen.gov.vn", admin.ErrInvalid,
			"nhom@vinhyen.gov.vn is a group: hand over to one person's account (or a shared mailbox)"},
		{vt, binh, admin.ErrInvalid,
			"vanthu@vinhyen.gov.vn is a shared mailbox: give the successor access with 'mailserver share grant vanthu@vinhyen.gov.vn ACCOUNT --rights read' instead"},
		{"an", binh, admin.ErrInvalid, `invalid address "an": it must look like an.nv@vinhyen.gov.vn`},
	}
	for _, tt := range tests {
		_, err := api.Handover(tt.from, tt.to)
		wantErr(t, err, tt.kind, tt.want)
	}
	if r := lastAudit(t, api); r.Action != "user.handover" || r.Target != an {
		t.Errorf("a refused handover was recorded: %+v", r)
	}

	// A shared mailbox (a unit's clerk office) may take over a leaver's mail.
	res, err := api.Handover(binh, vt)
	if err != nil || res.Folder != "Bàn giao/binh.tt@vinhyen.gov.vn" || res.OverQuota() {
		t.Errorf("handover to a shared mailbox = %+v, %v", res, err)
	}
}

// TestShareSubscriptions checks that a grant with read subscribes the grantee to the shared INBOX, so that
// clients showing subscribed folders only show it, and that revoking or removing the mailbox unsubscribes it.
func TestShareSubscriptions(t *testing.T) {
	api, st := newDirectory(t)
	const vt, an, binh = "vanthu@vinhyen.gov.vn", "an.nv@vinhyen.gov.vn", "binh.tt@vinhyen.gov.vn"
	_, err := api.AddShared(admin.AddSharedRequest{Address: vt})
	must(t, err)
	subscribed := func(addr, name string) bool {
		t.Helper()
		a, err := st.Account(addr)
		must(t, err)
		subs, err := st.Subscriptions(a.ID)
		must(t, err)
		return slices.Contains(subs, name)
	}
	const inbox = "Shared/" + vt

	_, err = api.Grant(vt, binh, []string{"send"})
	must(t, err)
	if subscribed(binh, inbox) {
		t.Error("send alone subscribed the grantee to a mailbox it cannot read")
	}
	_, err = api.Grant(vt, "AN.NV@vinhyen.gov.vn", []string{"write"}) // write implies read
	must(t, err)
	if !subscribed(an, inbox) {
		t.Errorf("after a grant with read, %s is not subscribed to %q", an, inbox)
	}
	_, err = api.Grant(vt, binh, []string{"read"})
	must(t, err)
	if !subscribed(binh, inbox) {
		t.Errorf("after adding read, %s is not subscribed to %q", binh, inbox)
	}

	// A subfolder subscribed in the client goes with the grant; the user's own folders stay.
	a, _ := st.Account(an)
	must(t, st.SetSubscribed(a.ID, inbox+"/Sent", true))
	must(t, api.Revoke(vt, an))
	if subscribed(an, inbox) || subscribed(an, inbox+"/Sent") {
		t.Errorf("after revoke, %s is still subscribed to the shared folders", an)
	}
	if !subscribed(an, "INBOX") || !subscribed(an, "Sent") {
		t.Errorf("revoke unsubscribed %s from its own folders", an)
	}
	wantAudit(t, api, "share.revoke", vt, "account an.nv@vinhyen.gov.vn: revoked read,write")

	must(t, api.RemoveUser(vt))
	if subscribed(binh, inbox) {
		t.Error("removing the shared mailbox left its grantee subscribed to it")
	}
}
