package ctl_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDirectoryRoundTrip runs every directory operation through the socket, as OS user "hoa", and checks its
// effect in the store and its audit record.
func TestDirectoryRoundTrip(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t).As("hoa")
	must(t, ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "vinhyen.gov.vn"}))

	// Units.
	units, err := ctl.Call(c, ctl.UnitAdd, ctl.UnitArgs{Path: "vinhyen/ubnd/phong-noi-vu", Name: "Phòng Nội vụ"})
	if err != nil || len(units) != 3 || units[2].Name != "Phòng Nội vụ" || units[2].Created.IsZero() {
		t.Fatalf("AddUnit = %+v, %v", units, err)
	}
	_, err = ctl.Call(c, ctl.UnitAdd, ctl.UnitArgs{Path: "vinhyen/phuong-1", Name: "Phường 1"})
	must(t, err)
	_, err = ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: "an.nv@vinhyen.gov.vn", Unit: "vinhyen/ubnd/phong-noi-vu", Password: goodPassword})
	must(t, err)
	_, err = ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: "binh.tt@vinhyen.gov.vn", Password: goodPassword})
	must(t, err)
	units, err = ctl.Call(c, ctl.UnitList, ctl.None{})
	if err != nil || len(units) != 4 || units[0].Path != "vinhyen" || units[0].Accounts != 1 || units[3].Direct != 1 {
		t.Errorf("ListUnits = %+v, %v", units, err)
	}
	must(t, ctl.Do(c, ctl.UserMove, ctl.MoveArgs{Address: "an.nv@vinhyen.gov.vn", Unit: "vinhyen/phuong-1"}))
	if a, _ := ts.store.Account("an.nv@vinhyen.gov.vn"); a.Unit != "vinhyen/phuong-1" {
		t.Errorf("MoveUser: unit %q", a.Unit)
	}
	must(t, ctl.Do(c, ctl.UnitRemove, ctl.UnitArgs{Path: "vinhyen/ubnd/phong-noi-vu"}))
	if _, err := ts.store.Unit("vinhyen/ubnd/phong-noi-vu"); !errors.Is(err, store.ErrUnitNotFound) {
		t.Errorf("RemoveUnit: %v", err)
	}

	// Disable with and without rejecting mail.
	must(t, ctl.Do(c, ctl.UserDisable, ctl.DisableArgs{Address: "binh.tt@vinhyen.gov.vn", RejectMail: true}))
	if a, _ := ts.store.Account("binh.tt@vinhyen.gov.vn"); !a.Disabled || !a.RejectMail {
		t.Errorf("DisableRejectingMail: %+v", a)
	}
	must(t, ctl.Do(c, ctl.UserDisable, ctl.DisableArgs{Address: "binh.tt@vinhyen.gov.vn"}))
	if a, _ := ts.store.Account("binh.tt@vinhyen.gov.vn"); !a.Disabled || a.RejectMail {
		t.Errorf("Disable: %+v", a)
	}
	must(t, ctl.Do(c, ctl.UserEnable, ctl.AddressArgs{Address: "binh.tt@vinhyen.gov.vn"}))

	// Aliases.
	al, err := ctl.Call(c, ctl.AliasAdd, ctl.AliasArgs{Alias: "an@vinhyen.gov.vn", Target: "an.nv@vinhyen.gov.vn"})
	if err != nil || al.Target != "an.nv@vinhyen.gov.vn" {
		t.Fatalf("AddAlias = %+v, %v", al, err)
	}
	if list, err := ctl.Call(c, ctl.AliasList, ctl.None{}); err != nil || len(list) != 1 || list[0].Address != "an@vinhyen.gov.vn" {
		t.Errorf("ListAliases = %+v, %v", list, err)
	}
	must(t, ctl.Do(c, ctl.AliasRemove, ctl.AliasArgs{Alias: "an@vinhyen.gov.vn"}))
	if e, _ := ts.store.Lookup("an@vinhyen.gov.vn"); e.Kind != store.KindNone {
		t.Errorf("RemoveAlias left %+v", e)
	}

	// Groups.
	g, err := ctl.Call(c, ctl.GroupAdd, admin.AddGroupRequest{Address: "lanhdao@vinhyen.gov.vn", Name: "Lãnh đạo", Policy: "senders"})
	if err != nil || g.Policy != "senders" {
		t.Fatalf("AddGroup = %+v, %v", g, err)
	}
	g, err = ctl.Call(c, ctl.GroupUpdate, admin.GroupUpdate{Group: "lanhdao@vinhyen.gov.vn",
		AddMembers: []string{"an.nv@vinhyen.gov.vn", "unit:vinhyen/ubnd"}, AddSenders: []string{"binh.tt@vinhyen.gov.vn"}})
	if err != nil || !slices.Equal(g.Members, []string{"an.nv@vinhyen.gov.vn", "unit:vinhyen/ubnd"}) || len(g.Senders) != 1 {
		t.Fatalf("UpdateGroup = %+v, %v", g, err)
	}
	if stored, _ := ts.store.Group("lanhdao@vinhyen.gov.vn"); len(stored.Members) != 2 || len(stored.Senders) != 1 {
		t.Errorf("stored group %+v", stored)
	}
	if show, err := ctl.Call(c, ctl.GroupShow, ctl.AddressArgs{Address: "lanhdao@vinhyen.gov.vn"}); err != nil || show.Name != "Lãnh đạo" || len(show.Members) != 2 {
		t.Errorf("ShowGroup = %+v, %v", show, err)
	}
	if list, err := ctl.Call(c, ctl.GroupList, ctl.None{}); err != nil || len(list) != 1 {
		t.Errorf("ListGroups = %+v, %v", list, err)
	}
	_, err = ctl.Call(c, ctl.GroupUpdate, admin.GroupUpdate{Group: "lanhdao@vinhyen.gov.vn", RemoveMembers: []string{"an.nv@vinhyen.gov.vn"},
		RemoveSenders: []string{"binh.tt@vinhyen.gov.vn"}})
	must(t, err)
	must(t, ctl.Do(c, ctl.GroupRemove, ctl.AddressArgs{Address: "lanhdao@vinhyen.gov.vn"}))
	if _, err := ts.store.Group("lanhdao@vinhyen.gov.vn"); !errors.Is(err, store.ErrGroupNotFound) {
		t.Errorf("RemoveGroup: %v", err)
	}

	// Shared mailboxes.
	sh, err := ctl.Call(c, ctl.ShareAdd, admin.AddSharedRequest{Address: "vanthu@vinhyen.gov.vn", Name: "Văn thư", Unit: "vinhyen", Quota: 10 << 30})
	if err != nil || !sh.Shared || sh.Quota != 10<<30 {
		t.Fatalf("AddShared = %+v, %v", sh, err)
	}
	gr, err := ctl.Call(c, ctl.ShareGrant, ctl.GrantArgs{Shared: "vanthu@vinhyen.gov.vn", Account: "an.nv@vinhyen.gov.vn", Rights: []string{"write", "send"}})
	if err != nil || gr.Rights != "read,write,send" {
		t.Fatalf("Grant = %+v, %v", gr, err)
	}
	shared, err := ctl.Call(c, ctl.ShareList, ctl.None{})
	if err != nil || len(shared) != 1 || shared[0].Name != "Văn thư" || len(shared[0].Grants) != 1 ||
		shared[0].Grants[0].Rights != "read,write,send" {
		t.Errorf("ListShared = %+v, %v", shared, err)
	}
	must(t, ctl.Do(c, ctl.ShareRevoke, ctl.GrantArgs{Shared: "vanthu@vinhyen.gov.vn", Account: "an.nv@vinhyen.gov.vn"}))
	if grants, _ := ts.store.Grants("vanthu@vinhyen.gov.vn"); len(grants) != 0 {
		t.Errorf("Revoke left %+v", grants)
	}

	// Quotas.
	must(t, ctl.Do(c, ctl.QuotaSet, ctl.QuotaArgs{Address: "an.nv@vinhyen.gov.vn", Quota: 2 << 30}))
	if a, _ := ts.store.Account("an.nv@vinhyen.gov.vn"); a.Quota != 2<<30 {
		t.Errorf("SetQuota: %d", a.Quota)
	}
	r, err := ctl.Call(c, ctl.QuotaReport, ctl.None{})
	if err != nil || len(r.Accounts) != 3 || len(r.Units) != 3 || r.Units[0].Path != "vinhyen" ||
		r.Units[0].Accounts != 1 || r.Units[0].Shared != 1 {
		t.Errorf("QuotaReport = %+v, %v", r, err)
	}

	// The audit trail names the OS user given by the client.
	start := time.Now().Add(-time.Minute)
	log, err := ctl.Call(c, ctl.Audit, admin.AuditQuery{Account: "an.nv@vinhyen.gov.vn", Since: start})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
		if e.Actor != "admin:hoa" || e.From != "cli" {
			t.Errorf("audit record %+v: want actor admin:hoa from cli", e)
		}
	}
	if got := strings.Join(actions, " "); got != "user.add user.move quota.set" {
		t.Errorf("audit for an.nv: %s", got)
	}
	if log, _ := ctl.Call(c, ctl.Audit, admin.AuditQuery{Mailbox: "vanthu@vinhyen.gov.vn", Limit: 1}); len(log) != 1 || log[0].Action != "share.revoke" {
		t.Errorf("audit for vanthu: %+v", log)
	}
	if logs := ts.logs.String(); !strings.Contains(logs, "op=share.grant") || !strings.Contains(logs, "as=hoa") {
		t.Errorf("operation log does not name the operation and the OS user:\n%s", logs)
	}
	// A client without As is plain "admin".
	must(t, ctl.Do(ts.dial(t), ctl.DomainAdd, ctl.DomainArgs{Name: "phucyen.gov.vn"}))
	if log, _ := ctl.Call(c, ctl.Audit, admin.AuditQuery{Limit: 1}); len(log) != 1 || log[0].Actor != "admin" {
		t.Errorf("audit without an OS user: %+v", log)
	}
}

// TestDirectoryErrorsPreserved checks that the directory operations' errors keep text and kind across the socket.
func TestDirectoryErrorsPreserved(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t)
	must(t, ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "vinhyen.gov.vn"}))
	_, err := ctl.Call(c, ctl.UnitAdd, ctl.UnitArgs{Path: "vinhyen/ubnd", Name: ""})
	must(t, err)
	_, err = ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: "an.nv@vinhyen.gov.vn", Unit: "vinhyen/ubnd", Password: goodPassword})
	must(t, err)
	direct := admin.New(ts.store)
	tests := []struct {
		name          string
		remote, local error
		kind          error
	}{
		{"unit in use", ctl.Do(c, ctl.UnitRemove, ctl.UnitArgs{Path: "vinhyen/ubnd"}), direct.RemoveUnit("vinhyen/ubnd"), admin.ErrInUse},
		{"user in a missing unit", second(ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: "binh@vinhyen.gov.vn", Unit: "vinhyen/x", Password: goodPassword})),
			errors.New("unit vinhyen/x does not exist: add it with 'mailserver unit add vinhyen/x'"), admin.ErrNotFound},
		{"move to a missing unit", ctl.Do(c, ctl.UserMove, ctl.MoveArgs{Address: "an.nv@vinhyen.gov.vn", Unit: "vinhyen/x"}), direct.MoveUser("an.nv@vinhyen.gov.vn", "vinhyen/x"), admin.ErrNotFound},
		{"alias to nothing", second(ctl.Call(c, ctl.AliasAdd, ctl.AliasArgs{Alias: "a@vinhyen.gov.vn", Target: "x@vinhyen.gov.vn"})), second(direct.AddAlias("a@vinhyen.gov.vn", "x@vinhyen.gov.vn")), admin.ErrNotFound},
		{"unknown group", second(ctl.Call(c, ctl.GroupShow, ctl.AddressArgs{Address: "g@vinhyen.gov.vn"})), second(direct.ShowGroup("g@vinhyen.gov.vn")), admin.ErrNotFound},
		{"bad policy", second(ctl.Call(c, ctl.GroupAdd, admin.AddGroupRequest{Address: "g@vinhyen.gov.vn", Policy: "x"})),
			second(direct.AddGroup(admin.AddGroupRequest{Address: "g@vinhyen.gov.vn", Policy: "x"})), admin.ErrInvalid},
		{"grant on a user", second(ctl.Call(c, ctl.ShareGrant, ctl.GrantArgs{Shared: "an.nv@vinhyen.gov.vn", Account: "an.nv@vinhyen.gov.vn", Rights: []string{"read"}})),
			second(direct.Grant("an.nv@vinhyen.gov.vn", "an.nv@vinhyen.gov.vn", []string{"read"})), admin.ErrInvalid},
		{"negative quota", ctl.Do(c, ctl.QuotaSet, ctl.QuotaArgs{Address: "an.nv@vinhyen.gov.vn", Quota: -1}), direct.SetQuota("an.nv@vinhyen.gov.vn", -1), admin.ErrInvalid},
		{"negative limit", second(ctl.Call(c, ctl.Audit, admin.AuditQuery{Limit: -1})), second(direct.AuditLog(admin.AuditQuery{Limit: -1})), admin.ErrInvalid},
	}
	for _, tt := range tests {
		if tt.remote == nil || tt.local == nil {
			t.Errorf("%s: remote %v, local %v", tt.name, tt.remote, tt.local)
			continue
		}
		if tt.remote.Error() != tt.local.Error() {
			t.Errorf("%s: remote error %q, want %q", tt.name, tt.remote, tt.local)
		}
		if !errors.Is(tt.remote, tt.kind) {
			t.Errorf("%s: remote error %q lost its kind %v", tt.name, tt.remote, tt.kind)
		}
	}
}

// TestDisableWireCompatible checks that a user.disable request without reject_mail, as older CLIs send it, still
// disables without rejecting mail.
func TestDisableWireCompatible(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t)
	must(t, ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "vinhyen.gov.vn"}))
	_, err := ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: "an.nv@vinhyen.gov.vn", Password: goodPassword})
	must(t, err)
	got := rawCall(t, ts.path, `{"op":"user.disable","args":{"address":"an.nv@vinhyen.gov.vn"}}`,
		`{"op":"user.disable","as":"hoa","args":{"address":"an.nv@vinhyen.gov.vn","reject_mail":true}}`)
	if got[0] != `{"ok":true}` || got[1] != `{"ok":true}` {
		t.Errorf("responses %q", got)
	}
	if a, _ := ts.store.Account("an.nv@vinhyen.gov.vn"); !a.Disabled || !a.RejectMail {
		t.Errorf("account %+v", a)
	}
}

// TestSetRoundTrip runs unit.set and group.set through the socket, as OS user "hoa": their effects, audit records
// and errors are those of the Service itself.
func TestSetRoundTrip(t *testing.T) {
	ts := newTestServer(t)
	c := ts.dial(t).As("hoa")
	must(t, ctl.Do(c, ctl.DomainAdd, ctl.DomainArgs{Name: "vinhyen.gov.vn"}))
	_, err := ctl.Call(c, ctl.UnitAdd, ctl.UnitArgs{Path: "vinhyen/ubnd", Name: ""})
	must(t, err)
	_, err = ctl.Call(c, ctl.UserAdd, admin.AddUserRequest{Address: "an.nv@vinhyen.gov.vn", Unit: "vinhyen/ubnd", Password: goodPassword})
	must(t, err)
	wantAudit := func(action, target, detail string) {
		t.Helper()
		log, err := ctl.Call(c, ctl.Audit, admin.AuditQuery{Limit: 1})
		if err != nil || len(log) != 1 || log[0].Action != action || log[0].Target != target || log[0].Detail != detail ||
			log[0].Actor != "admin:hoa" || log[0].From != "cli" {
			t.Errorf("audit %+v, %v\nwant %s %s %q by admin:hoa from cli", log, err, action, target, detail)
		}
	}

	u, err := ctl.Call(c, ctl.UnitSet, ctl.UnitArgs{Path: "vinhyen", Name: "Thành phố Vĩnh Yên"})
	if err != nil || u.Path != "vinhyen" || u.Name != "Thành phố Vĩnh Yên" || u.Accounts != 1 || u.Created.IsZero() {
		t.Fatalf("SetUnitName = %+v, %v", u, err)
	}
	if stored, _ := ts.store.Unit("vinhyen"); stored.Name != "Thành phố Vĩnh Yên" {
		t.Errorf("stored unit %+v", stored)
	}
	wantAudit("unit.set", "vinhyen", `name "Thành phố Vĩnh Yên" (was "")`)
	if u, err := ctl.Call(c, ctl.UnitSet, ctl.UnitArgs{Path: "vinhyen", Name: ""}); err != nil || u.Name != "" { // "" travels as an omitted name
		t.Errorf("removing the name: %+v, %v", u, err)
	}
	wantAudit("unit.set", "vinhyen", `name "" (was "Thành phố Vĩnh Yên")`)

	_, err = ctl.Call(c, ctl.GroupAdd, admin.AddGroupRequest{Address: "lanhdao@vinhyen.gov.vn", Name: "Lãnh đạo"})
	must(t, err)
	_, err = ctl.Call(c, ctl.GroupUpdate, admin.GroupUpdate{Group: "lanhdao@vinhyen.gov.vn", AddMembers: []string{"an.nv@vinhyen.gov.vn"}})
	must(t, err)
	policy := "members"
	g, err := ctl.Call(c, ctl.GroupSet, admin.SetGroupRequest{Group: "lanhdao@vinhyen.gov.vn", Policy: &policy})
	if err != nil || g.Policy != "members" || g.Name != "Lãnh đạo" || len(g.Members) != 1 {
		t.Fatalf("SetGroup policy = %+v, %v", g, err)
	}
	wantAudit("group.set", "lanhdao@vinhyen.gov.vn", "policy members (was organisation)")
	empty := ""
	g, err = ctl.Call(c, ctl.GroupSet, admin.SetGroupRequest{Group: "lanhdao@vinhyen.gov.vn", Name: &empty}) // a given "" is sent
	if err != nil || g.Name != "" || g.Policy != "members" {
		t.Fatalf("SetGroup name = %+v, %v", g, err)
	}
	if stored, _ := ts.store.Group("lanhdao@vinhyen.gov.vn"); stored.Name != "" || stored.Policy != store.PostMembers {
		t.Errorf("stored group %+v", stored)
	}
	wantAudit("group.set", "lanhdao@vinhyen.gov.vn", `name "" (was "Lãnh đạo")`)

	// On the wire: a request without a name keeps it; an unknown field is refused.
	got := rawCall(t, ts.path, `{"op":"group.set","args":{"group":"lanhdao@vinhyen.gov.vn","policy":"anyone"}}`,
		`{"op":"group.set","args":{"group":"lanhdao@vinhyen.gov.vn","members":["x"]}}`,
		`{"op":"unit.set","args":{"path":"vinhyen","name":"Vĩnh Yên"}}`)
	if !strings.HasPrefix(got[0], `{"ok":true,"result":{"address":"lanhdao@vinhyen.gov.vn","policy":"anyone",`) ||
		!strings.HasPrefix(got[1], `{"ok":false,"error":"malformed request: json: unknown field \"members\""`) ||
		!strings.HasPrefix(got[2], `{"ok":true,"result":{"path":"vinhyen","name":"Vĩnh Yên",`) {
		t.Errorf("responses %q", got)
	}

	direct := admin.New(ts.store)
	bad := "everyone"
	tests := []struct {
		name          string
		remote, local error
		kind          error
	}{
		{"unknown unit", second(ctl.Call(c, ctl.UnitSet, ctl.UnitArgs{Path: "vinhyen/x", Name: "X"})), second(direct.SetUnitName("vinhyen/x", "X")), admin.ErrNotFound},
		{"bad unit", second(ctl.Call(c, ctl.UnitSet, ctl.UnitArgs{Path: "Vĩnh Yên", Name: "X"})), second(direct.SetUnitName("Vĩnh Yên", "X")), admin.ErrInvalid},
		{"bad unit name", second(ctl.Call(c, ctl.UnitSet, ctl.UnitArgs{Path: "vinhyen", Name: "a\tb"})), second(direct.SetUnitName("vinhyen", "a\tb")), admin.ErrInvalid},
		{"unknown group", second(ctl.Call(c, ctl.GroupSet, admin.SetGroupRequest{Group: "g@vinhyen.gov.vn", Policy: &policy})),
			second(direct.SetGroup(admin.SetGroupRequest{Group: "g@vinhyen.gov.vn", Policy: &policy})), admin.ErrNotFound},
		{"bad policy", second(ctl.Call(c, ctl.GroupSet, admin.SetGroupRequest{Group: "lanhdao@vinhyen.gov.vn", Policy: &bad})),
			second(direct.SetGroup(admin.SetGroupRequest{Group: "lanhdao@vinhyen.gov.vn", Policy: &bad})), admin.ErrInvalid},
		{"nothing to change", second(ctl.Call(c, ctl.GroupSet, admin.SetGroupRequest{Group: "lanhdao@vinhyen.gov.vn"})),
			second(direct.SetGroup(admin.SetGroupRequest{Group: "lanhdao@vinhyen.gov.vn"})), admin.ErrInvalid},
	}
	for _, tt := range tests {
		if tt.remote == nil || tt.local == nil {
			t.Errorf("%s: remote %v, local %v", tt.name, tt.remote, tt.local)
			continue
		}
		if tt.remote.Error() != tt.local.Error() {
			t.Errorf("%s: remote error %q, want %q", tt.name, tt.remote, tt.local)
		}
		if !errors.Is(tt.remote, tt.kind) {
			t.Errorf("%s: remote error %q lost its kind %v", tt.name, tt.remote, tt.kind)
		}
	}
	if logs := ts.logs.String(); !strings.Contains(logs, "op=unit.set") || !strings.Contains(logs, "op=group.set") {
		t.Errorf("operation log does not name the new operations:\n%s", logs)
	}
}
