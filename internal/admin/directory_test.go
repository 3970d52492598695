package admin_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/store"
)

// newDirectory returns a Service acting for OS user "hoa" on a store with domain vinhyen.gov.vn, units
// vinhyen/ubnd/phong-noi-vu (and its parents) and vinhyen/phuong-1, and users an.nv (phong-noi-vu) and binh.tt
// (phuong-1).
func newDirectory(t *testing.T) (*admin.Service, *store.Store) {
	t.Helper()
	svc, st := newService(t)
	api := svc.As("hoa")
	must(t, api.AddDomain("vinhyen.gov.vn"))
	for _, u := range [][2]string{{"vinhyen/ubnd/phong-noi-vu", "Phòng Nội vụ"}, {"vinhyen/phuong-1", "Phường 1"}} {
		if _, err := api.AddUnit(u[0], u[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range [][2]string{{"an.nv", "vinhyen/ubnd/phong-noi-vu"}, {"binh.tt", "vinhyen/phuong-1"}} {
		_, err := api.AddUser(admin.AddUserRequest{Address: u[0] + "@vinhyen.gov.vn", Unit: u[1], Password: goodPassword})
		must(t, err)
	}
	return api, st
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// lastAudit returns the newest audit record.
func lastAudit(t *testing.T, api *admin.Service) admin.AuditEntry {
	t.Helper()
	log, err := api.AuditLog(admin.AuditQuery{Limit: 1})
	if err != nil || len(log) != 1 {
		t.Fatalf("AuditLog: %v %v", log, err)
	}
	return log[0]
}

// wantAudit checks the newest audit record's action, target and detail, and that the actor is the test's.
func wantAudit(t *testing.T, api *admin.Service, action, target, detail string) {
	t.Helper()
	r := lastAudit(t, api)
	if r.Action != action || r.Target != target || r.Detail != detail || r.Actor != "admin:hoa" || r.From != "cli" {
		t.Errorf("audit record %+v\nwant action %s target %s detail %q actor admin:hoa from cli", r, action, target, detail)
	}
	if time.Since(r.Time) > time.Minute || r.Time.After(time.Now()) {
		t.Errorf("audit record time %v", r.Time)
	}
}

func TestUnits(t *testing.T) {
	svc, _ := newService(t)
	api := svc.As("hoa")
	must(t, api.AddDomain("vinhyen.gov.vn"))
	added, err := api.AddUnit(" VinhYen/UBND/phong-noi-vu ", "Phòng Nội vụ")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, u := range added {
		paths = append(paths, u.Path)
	}
	if strings.Join(paths, " ") != "vinhyen vinhyen/ubnd vinhyen/ubnd/phong-noi-vu" || added[2].Name != "Phòng Nội vụ" || added[0].Name != "" {
		t.Errorf("AddUnit = %+v", added)
	}
	wantAudit(t, api, "unit.add", "vinhyen/ubnd/phong-noi-vu", `name "Phòng Nội vụ"; parents added: vinhyen, vinhyen/ubnd`)
	if added, err := api.AddUnit("vinhyen/phuong-1", ""); err != nil || len(added) != 1 {
		t.Fatalf("AddUnit under an existing parent = %+v, %v", added, err)
	}
	for _, u := range []struct{ addr, unit string }{
		{"an.nv", "vinhyen/ubnd/phong-noi-vu"}, {"binh.tt", "vinhyen/ubnd"}, {"chi", "vinhyen/ubnd/phong-noi-vu"},
	} {
		_, err := api.AddUser(admin.AddUserRequest{Address: u.addr + "@vinhyen.gov.vn", Unit: u.unit, Password: goodPassword})
		must(t, err)
	}
	units, err := api.ListUnits()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range units {
		got = append(got, strings.Repeat(".", u.Depth())+u.Path+" "+u.Name+" "+
			strconv.Itoa(u.Accounts)+"/"+strconv.Itoa(u.Direct))
	}
	want := []string{"vinhyen  3/0", ".vinhyen/phuong-1  0/0", ".vinhyen/ubnd  3/1", "..vinhyen/ubnd/phong-noi-vu Phòng Nội vụ 2/2"}
	if !slices.Equal(got, want) {
		t.Errorf("ListUnits\n got %q\nwant %q", got, want)
	}

	wantErr(t, second(api.AddUnit("vinhyen/ubnd", "")), admin.ErrExists, "unit vinhyen/ubnd already exists")
	wantErr(t, second(api.AddUnit("", "")), admin.ErrInvalid, "unit path must not be empty: write it like vinhyen/ubnd/phong-noi-vu")
	wantErr(t, second(api.AddUnit("vinhyen/phòng", "")), admin.ErrInvalid,
		`invalid unit "vinhyen/phòng": use letters without diacritics, digits and '-' between the '/'`)
	wantErr(t, second(api.AddUnit("vinhyen/x", "Tên\x00")), admin.ErrInvalid, "name must not contain control characters")
	wantErr(t, api.RemoveUnit("vinhyen/ubnd"), admin.ErrInUse,
		"unit vinhyen/ubnd still has 1 account(s) (binh.tt@vinhyen.gov.vn) and 1 sub-unit(s) (vinhyen/ubnd/phong-noi-vu): move the accounts elsewhere with 'mailserver user move ADDRESS PATH' and remove the sub-units first")
	wantErr(t, api.RemoveUnit("vinhyen/ubnd/phong-noi-vu"), admin.ErrInUse,
		"unit vinhyen/ubnd/phong-noi-vu still has 2 account(s) (an.nv@vinhyen.gov.vn, chi@vinhyen.gov.vn): move them elsewhere with 'mailserver user move ADDRESS PATH' or remove them first")
	wantErr(t, api.RemoveUnit("vinhyen"), admin.ErrInUse,
		"unit vinhyen still has 2 sub-unit(s) (vinhyen/phuong-1, vinhyen/ubnd): remove them first with 'mailserver unit remove PATH'")
	wantErr(t, api.RemoveUnit("vinhyen/khong-co"), admin.ErrNotFound,
		"unit vinhyen/khong-co does not exist: see 'mailserver unit list'")

	// A unit that is a group's member stays.
	_, err = api.AddGroup(admin.AddGroupRequest{Address: "phuong@vinhyen.gov.vn"})
	must(t, err)
	_, err = api.UpdateGroup(admin.GroupUpdate{Group: "phuong@vinhyen.gov.vn", AddMembers: []string{"Unit:vinhyen/phuong-1"}})
	must(t, err)
	wantErr(t, api.RemoveUnit("vinhyen/phuong-1"), admin.ErrInUse,
		"unit vinhyen/phuong-1 is a member of 1 group(s) (phuong@vinhyen.gov.vn): remove it first with 'mailserver group member remove GROUP unit:vinhyen/phuong-1'")
	_, err = api.UpdateGroup(admin.GroupUpdate{Group: "phuong@vinhyen.gov.vn", RemoveMembers: []string{"unit:vinhyen/phuong-1"}})
	must(t, err)
	must(t, api.RemoveUnit("vinhyen/phuong-1"))
	wantAudit(t, api, "unit.remove", "vinhyen/phuong-1", "")
	if units, _ := api.ListUnits(); len(units) != 3 {
		t.Errorf("after remove: %+v", units)
	}
}

func TestSetUnitName(t *testing.T) {
	api, st := newDirectory(t) // vinhyen/ubnd was added as a parent, without a name
	before, _ := st.Unit("vinhyen/ubnd")
	u, err := api.SetUnitName(" VinhYen/UBND ", "  UBND thành phố Vĩnh Yên ")
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "vinhyen/ubnd" || u.Name != "UBND thành phố Vĩnh Yên" || u.Accounts != 1 || u.Direct != 0 ||
		!u.Created.Equal(before.Created) {
		t.Errorf("SetUnitName = %+v", u)
	}
	if stored, _ := st.Unit("vinhyen/ubnd"); stored.Name != "UBND thành phố Vĩnh Yên" {
		t.Errorf("stored unit %+v", stored)
	}
	wantAudit(t, api, "unit.set", "vinhyen/ubnd", `name "UBND thành phố Vĩnh Yên" (was "")`)
	// Names are stored in NFC whichever way they were typed.
	u, err = api.SetUnitName("vinhyen/ubnd/phong-noi-vu", "Pho\u0300ng Nô\u0323i vu\u0323")
	if err != nil || u.Name != "Phòng Nội vụ" {
		t.Errorf("decomposed name: %+v, %v", u, err)
	}
	// The same name again changes nothing and records nothing.
	wantAudit(t, api, "unit.set", "vinhyen/ubnd", `name "UBND thành phố Vĩnh Yên" (was "")`)
	must(t, second(api.SetUnitName("vinhyen/ubnd", "UBND thành phố Vĩnh Yên")))
	wantAudit(t, api, "unit.set", "vinhyen/ubnd", `name "UBND thành phố Vĩnh Yên" (was "")`)
	must(t, second(api.SetUnitName("vinhyen/ubnd", "UBND")))
	wantAudit(t, api, "unit.set", "vinhyen/ubnd", `name "UBND" (was "UBND thành phố Vĩnh Yên")`)
	u, err = api.SetUnitName("vinhyen/ubnd", "")
	if err != nil || u.Name != "" {
		t.Errorf("removing the name: %+v, %v", u, err)
	}
	wantAudit(t, api, "unit.set", "vinhyen/ubnd", `name "" (was "UBND")`)

	log, _ := api.AuditLog(admin.AuditQuery{})
	wantErr(t, second(api.SetUnitName("vinhyen/khong-co", "X")), admin.ErrNotFound,
		"unit vinhyen/khong-co does not exist: see 'mailserver unit list'")
	wantErr(t, second(api.SetUnitName("", "X")), admin.ErrInvalid,
		"unit path must not be empty: write it like vinhyen/ubnd/phong-noi-vu")
	wantErr(t, second(api.SetUnitName("vinhyen/phòng", "X")), admin.ErrInvalid,
		`invalid unit "vinhyen/phòng": use letters without diacritics, digits and '-' between the '/'`)
	wantErr(t, second(api.SetUnitName("vinhyen", "Tên\nmới")), admin.ErrInvalid, "name must not contain control characters")
	wantErr(t, second(api.SetUnitName("vinhyen", strings.Repeat("x", 129))), admin.ErrInvalid, "name must be at most 128 characters")
	if after, _ := api.AuditLog(admin.AuditQuery{}); len(after) != len(log) {
		t.Errorf("refused changes were recorded: %+v", after[len(log):])
	}
	if stored, _ := st.Unit("vinhyen"); stored.Name != "" {
		t.Errorf("a refused change was made: %+v", stored)
	}
}

func TestMoveUser(t *testing.T) {
	api, st := newDirectory(t)
	must(t, api.MoveUser("AN.NV@vinhyen.gov.vn", "vinhyen/phuong-1"))
	if a, _ := st.Account("an.nv@vinhyen.gov.vn"); a.Unit != "vinhyen/phuong-1" {
		t.Errorf("unit after move: %q", a.Unit)
	}
	wantAudit(t, api, "user.move", "an.nv@vinhyen.gov.vn", "unit vinhyen/phuong-1 (was vinhyen/ubnd/phong-noi-vu)")
	must(t, api.RemoveUnit("vinhyen/ubnd/phong-noi-vu")) // emptied by the move
	must(t, api.MoveUser("an.nv@vinhyen.gov.vn", ""))
	wantAudit(t, api, "user.move", "an.nv@vinhyen.gov.vn", "unit none (was vinhyen/phuong-1)")
	wantErr(t, api.MoveUser("an.nv@vinhyen.gov.vn", "vinhyen/khong-co"), admin.ErrNotFound,
		"unit vinhyen/khong-co does not exist: add it with 'mailserver unit add vinhyen/khong-co'")
	wantErr(t, api.MoveUser("chi@vinhyen.gov.vn", "vinhyen"), admin.ErrNotFound,
		"user chi@vinhyen.gov.vn does not exist: see 'mailserver user list'")
	wantErr(t, api.MoveUser("an.nv@vinhyen.gov.vn", "vinhyen//x"), admin.ErrInvalid,
		`invalid unit "vinhyen//x": write it like vinhyen/ubnd/phong-noi-vu, without empty parts or a leading or trailing '/'`)
}

func TestDisableRejectingMail(t *testing.T) {
	api, st := newDirectory(t)
	const an = "an.nv@vinhyen.gov.vn"
	state := func() (bool, bool) {
		a, err := st.Account(an)
		must(t, err)
		return a.Disabled, a.RejectMail
	}
	must(t, api.DisableRejectingMail(an))
	if d, r := state(); !d || !r {
		t.Errorf("after DisableRejectingMail: disabled %v, reject %v", d, r)
	}
	wantAudit(t, api, "user.disable", an, "logins refused; new mail rejected")
	if users, _ := api.ListUsers(); !users[0].RejectMail || !users[0].Disabled {
		t.Errorf("ListUsers: %+v", users[0])
	}
	must(t, api.Disable(an)) // disabling again without rejecting lets mail in
	if d, r := state(); !d || r {
		t.Errorf("after Disable: disabled %v, reject %v", d, r)
	}
	wantAudit(t, api, "user.disable", an, "logins refused; mail keeps arriving")
	must(t, api.DisableRejectingMail(an))
	must(t, api.Enable(an))
	if d, r := state(); d || r {
		t.Errorf("after Enable: disabled %v, reject %v", d, r)
	}
	wantAudit(t, api, "user.enable", an, "")
	wantErr(t, api.DisableRejectingMail("chi@vinhyen.gov.vn"), admin.ErrNotFound,
		"user chi@vinhyen.gov.vn does not exist: see 'mailserver user list'")
}

func TestAddUserAddressTaken(t *testing.T) {
	api, _ := newDirectory(t)
	_, err := api.AddAlias("an@vinhyen.gov.vn", "an.nv@vinhyen.gov.vn")
	must(t, err)
	_, err = api.AddUser(admin.AddUserRequest{Address: "an@vinhyen.gov.vn", Password: goodPassword})
	wantErr(t, err, admin.ErrExists,
		"address an@vinhyen.gov.vn is already used by an alias: choose another address (see 'mailserver alias list')")
}

func TestAliases(t *testing.T) {
	api, st := newDirectory(t)
	a, err := api.AddAlias("Nguyen.Van.An@vinhyen.gov.vn", "AN.NV@vinhyen.gov.vn")
	if err != nil {
		t.Fatal(err)
	}
	if a.Address != "nguyen.van.an@vinhyen.gov.vn" || a.Target != "an.nv@vinhyen.gov.vn" || a.Created.IsZero() {
		t.Errorf("AddAlias = %+v", a)
	}
	wantAudit(t, api, "alias.add", "nguyen.van.an@vinhyen.gov.vn", "target an.nv@vinhyen.gov.vn")
	if e, _ := st.Lookup("nguyen.van.an@vinhyen.gov.vn"); e.Kind != store.KindAlias || e.Alias.Target != "an.nv@vinhyen.gov.vn" {
		t.Errorf("stored alias: %+v", e)
	}
	_, err = api.AddAlias("an@vinhyen.gov.vn", "nguyen.van.an@vinhyen.gov.vn") // an alias of an alias
	must(t, err)
	list, err := api.ListAliases()
	if err != nil || len(list) != 2 || list[0].Address != "an@vinhyen.gov.vn" || list[1].Target != "an.nv@vinhyen.gov.vn" {
		t.Errorf("ListAliases = %+v, %v", list, err)
	}

	tests := []struct {
		alias, target string
		kind          error
		want          string
	}{
		{"x@vinhyen.gov.vn", "khong-co@vinhyen.gov.vn", admin.ErrNotFound,
			"target khong-co@vinhyen.gov.vn does not exist: add the user, group or shared mailbox first (see 'mailserver user list')"},
		{"x@vinhyen.gov.vn", "ai@bo-ngoai-giao.gov.vn", admin.ErrInvalid,
			"target ai@bo-ngoai-giao.gov.vn is not an address of this server: an alias points at a user, group, shared mailbox or alias here"},
		{"an@vinhyen.gov.vn", "binh.tt@vinhyen.gov.vn", admin.ErrExists, "alias an@vinhyen.gov.vn already exists"},
		{"binh.tt@vinhyen.gov.vn", "an.nv@vinhyen.gov.vn", admin.ErrExists,
			"address binh.tt@vinhyen.gov.vn is already used by a user: choose another address (see 'mailserver user list')"},
		{"x@phucyen.gov.vn", "an.nv@vinhyen.gov.vn", admin.ErrNotFound,
			"domain phucyen.gov.vn does not exist: add it with 'mailserver domain add phucyen.gov.vn'"},
		{"x@vinhyen.gov.vn", "x@vinhyen.gov.vn", admin.ErrInvalid, "alias x@vinhyen.gov.vn cannot point at itself"},
		{"x", "an.nv@vinhyen.gov.vn", admin.ErrInvalid, `invalid address "x": it must look like an.nv@vinhyen.gov.vn`},
	}
	for _, tt := range tests {
		_, err := api.AddAlias(tt.alias, tt.target)
		wantErr(t, err, tt.kind, tt.want)
	}

	// Nothing may be left pointing at a removed address.
	wantErr(t, api.RemoveAlias("nguyen.van.an@vinhyen.gov.vn"), admin.ErrInUse,
		"alias nguyen.van.an@vinhyen.gov.vn is the target of 1 alias(es) (an@vinhyen.gov.vn): remove them first with 'mailserver alias remove ALIAS'")
	wantErr(t, api.RemoveUser("an.nv@vinhyen.gov.vn"), admin.ErrInUse,
		"user an.nv@vinhyen.gov.vn is the target of 1 alias(es) (nguyen.van.an@vinhyen.gov.vn): remove them first with 'mailserver alias remove ALIAS'")
	must(t, api.RemoveAlias("an@vinhyen.gov.vn"))
	wantAudit(t, api, "alias.remove", "an@vinhyen.gov.vn", "target was nguyen.van.an@vinhyen.gov.vn")
	must(t, api.RemoveAlias("nguyen.van.an@vinhyen.gov.vn"))
	wantErr(t, api.RemoveAlias("an@vinhyen.gov.vn"), admin.ErrNotFound,
		"alias an@vinhyen.gov.vn does not exist: see 'mailserver alias list'")
	wantErr(t, api.RemoveAlias("an.nv@vinhyen.gov.vn"), admin.ErrNotFound, // a user, not an alias
		"alias an.nv@vinhyen.gov.vn does not exist: see 'mailserver alias list'")
	must(t, api.RemoveUser("an.nv@vinhyen.gov.vn"))
}

// A group's listed senders are other agencies' addresses as much as ours: any valid address, stored in the form
// delivery compares the envelope sender in, though only ASCII local parts are created here.
func TestGroupSendersOfOtherAgencies(t *testing.T) {
	api, _ := newDirectory(t)
	const g = "lanhdao@vinhyen.gov.vn"
	_, err := api.AddGroup(admin.AddGroupRequest{Address: g, Policy: "senders"})
	must(t, err)
	info, err := api.UpdateGroup(admin.GroupUpdate{Group: g, AddSenders: []string{"Nguyễn.Văn.An@Bìnhdương.vn"}})
	if err != nil || !slices.Equal(info.Senders, []string{"nguyễn.văn.an@xn--bnhdng-wva56l3d.vn"}) {
		t.Errorf("UpdateGroup = %+v, %v", info, err)
	}
	_, err = api.AddGroup(admin.AddGroupRequest{Address: "lãnhđạo@vinhyen.gov.vn"})
	wantErr(t, err, admin.ErrInvalid,
		`invalid address "lãnhđạo@vinhyen.gov.vn": before '@' use only letters without diacritics, digits and . _ - +`)
}

func TestGroups(t *testing.T) {
	api, st := newDirectory(t)
	const g = "lanhdao@vinhyen.gov.vn"
	info, err := api.AddGroup(admin.AddGroupRequest{Address: "LanhDao@vinhyen.gov.vn", Name: "Lãnh đạo UBND"})
	if err != nil {
		t.Fatal(err)
	}
	if info.Address != g || info.Policy != "organisation" || info.Name != "Lãnh đạo UBND" {
		t.Errorf("AddGroup = %+v", info)
	}
	wantAudit(t, api, "group.add", g, `name "Lãnh đạo UBND", policy organisation`)
	_, err = api.AddGroup(admin.AddGroupRequest{Address: "hdnd@vinhyen.gov.vn", Policy: "Members"})
	must(t, err)

	info, err = api.UpdateGroup(admin.GroupUpdate{Group: g,
		AddMembers: []string{"an.nv@vinhyen.gov.vn", "unit:VinhYen/phuong-1", "hdnd@vinhyen.gov.vn", g},
		AddSenders: []string{"Chanh.VP@bo-noi-vu.gov.vn"}})
	if err != nil {
		t.Fatal(err)
	}
	wantMembers := []string{"an.nv@vinhyen.gov.vn", "hdnd@vinhyen.gov.vn", g, "unit:vinhyen/phuong-1"}
	if !slices.Equal(info.Members, wantMembers) || !slices.Equal(info.Senders, []string{"chanh.vp@bo-noi-vu.gov.vn"}) {
		t.Errorf("UpdateGroup = %+v", info)
	}
	wantAudit(t, api, "group.sender.add", g, "added chanh.vp@bo-noi-vu.gov.vn")
	log, _ := api.AuditLog(admin.AuditQuery{Limit: 2})
	if log[0].Action != "group.member.add" ||
		log[0].Detail != "added an.nv@vinhyen.gov.vn, unit:vinhyen/phuong-1, hdnd@vinhyen.gov.vn, lanhdao@vinhyen.gov.vn" {
		t.Errorf("member audit record: %+v", log[0])
	}
	// Adding a member again changes nothing and records nothing.
	if info, err := api.UpdateGroup(admin.GroupUpdate{Group: g, AddMembers: []string{"an.nv@vinhyen.gov.vn"}}); err != nil || len(info.Members) != 4 {
		t.Errorf("adding a member twice: %+v, %v", info, err)
	}
	wantAudit(t, api, "group.sender.add", g, "added chanh.vp@bo-noi-vu.gov.vn")
	if stored, _ := st.Group(g); !slices.Equal(stored.Members, wantMembers) {
		t.Errorf("stored members %v", stored.Members)
	}
	show, err := api.ShowGroup(g)
	if err != nil || !slices.Equal(show.Members, wantMembers) || show.Name != "Lãnh đạo UBND" {
		t.Errorf("ShowGroup = %+v, %v", show, err)
	}
	groups, err := api.ListGroups()
	if err != nil || len(groups) != 2 || groups[0].Address != "hdnd@vinhyen.gov.vn" || groups[0].Policy != "members" {
		t.Errorf("ListGroups = %+v, %v", groups, err)
	}

	tests := []struct {
		req  admin.GroupUpdate
		kind error
		want string
	}{
		{admin.GroupUpdate{Group: g, AddMembers: []string{"binh.tt@vinhyen.gov.vn", "ma@vinhyen.gov.vn"}}, admin.ErrNotFound,
			"member ma@vinhyen.gov.vn does not exist: add the user, alias, group or shared mailbox first (see 'mailserver user list')"},
		{admin.GroupUpdate{Group: g, AddMembers: []string{"ai@bo-noi-vu.gov.vn"}}, admin.ErrInvalid,
			"member ai@bo-noi-vu.gov.vn is not an address of this server: a group's members are users, aliases, groups and shared mailboxes here, or unit:PATH"},
		{admin.GroupUpdate{Group: g, AddMembers: []string{"unit:vinhyen/khong-co"}}, admin.ErrNotFound,
			"unit vinhyen/khong-co does not exist: add it with 'mailserver unit add vinhyen/khong-co'"},
		{admin.GroupUpdate{Group: g, AddMembers: []string{"unit:"}}, admin.ErrInvalid,
			"unit path must not be empty: write it like vinhyen/ubnd/phong-noi-vu"},
		{admin.GroupUpdate{Group: g, RemoveMembers: []string{"an.nv@vinhyen.gov.vn", "binh.tt@vinhyen.gov.vn"}}, admin.ErrNotFound,
			"binh.tt@vinhyen.gov.vn is not a member of group lanhdao@vinhyen.gov.vn: see 'mailserver group show lanhdao@vinhyen.gov.vn'"},
		{admin.GroupUpdate{Group: g, RemoveSenders: []string{"an.nv@vinhyen.gov.vn"}}, admin.ErrNotFound,
			"an.nv@vinhyen.gov.vn is not a sender of group lanhdao@vinhyen.gov.vn: see 'mailserver group show lanhdao@vinhyen.gov.vn'"},
		{admin.GroupUpdate{Group: "khong-co@vinhyen.gov.vn", AddMembers: []string{"an.nv@vinhyen.gov.vn"}}, admin.ErrNotFound,
			"group khong-co@vinhyen.gov.vn does not exist: see 'mailserver group list'"},
		{admin.GroupUpdate{Group: g}, admin.ErrInvalid, "nothing to change: name the members or senders to add or remove"},
		{admin.GroupUpdate{Group: g, AddSenders: []string{"chanh"}}, admin.ErrInvalid,
			`invalid address "chanh": it must look like an.nv@vinhyen.gov.vn`},
	}
	for _, tt := range tests {
		_, err := api.UpdateGroup(tt.req)
		wantErr(t, err, tt.kind, tt.want)
	}
	if stored, _ := st.Group(g); !slices.Equal(stored.Members, wantMembers) {
		t.Errorf("a refused update changed the members: %v", stored.Members)
	}

	for _, tt := range []struct {
		req  admin.AddGroupRequest
		kind error
		want string
	}{
		{admin.AddGroupRequest{Address: g}, admin.ErrExists, "group lanhdao@vinhyen.gov.vn already exists"},
		{admin.AddGroupRequest{Address: "an.nv@vinhyen.gov.vn"}, admin.ErrExists,
			"address an.nv@vinhyen.gov.vn is already used by a user: choose another address (see 'mailserver user list')"},
		{admin.AddGroupRequest{Address: "x@vinhyen.gov.vn", Policy: "everyone"}, admin.ErrInvalid,
			`unknown posting policy "everyone": use anyone, organisation, members or senders`},
		{admin.AddGroupRequest{Address: "x@phucyen.gov.vn"}, admin.ErrNotFound,
			"domain phucyen.gov.vn does not exist: add it with 'mailserver domain add phucyen.gov.vn'"},
	} {
		_, err := api.AddGroup(tt.req)
		wantErr(t, err, tt.kind, tt.want)
	}

	// A group that is another group's member stays; one that contains itself can go.
	wantErr(t, api.RemoveGroup("hdnd@vinhyen.gov.vn"), admin.ErrInUse,
		"group hdnd@vinhyen.gov.vn is a member of 1 group(s) (lanhdao@vinhyen.gov.vn): remove it first with 'mailserver group member remove GROUP hdnd@vinhyen.gov.vn'")
	wantErr(t, api.RemoveUser("an.nv@vinhyen.gov.vn"), admin.ErrInUse,
		"user an.nv@vinhyen.gov.vn is a member of 1 group(s) (lanhdao@vinhyen.gov.vn): remove it first with 'mailserver group member remove GROUP an.nv@vinhyen.gov.vn'")
	info, err = api.UpdateGroup(admin.GroupUpdate{Group: g, RemoveMembers: []string{"AN.NV@vinhyen.gov.vn"},
		RemoveSenders: []string{"chanh.vp@bo-noi-vu.gov.vn"}})
	if err != nil || len(info.Members) != 3 || len(info.Senders) != 0 {
		t.Errorf("remove member and sender: %+v, %v", info, err)
	}
	wantAudit(t, api, "group.sender.remove", g, "removed chanh.vp@bo-noi-vu.gov.vn")
	must(t, api.RemoveGroup(g))
	wantAudit(t, api, "group.remove", g, "had 3 member(s), 0 sender(s)")
	wantErr(t, api.RemoveGroup(g), admin.ErrNotFound, "group lanhdao@vinhyen.gov.vn does not exist: see 'mailserver group list'")
	wantErr(t, second(api.ShowGroup("an.nv@vinhyen.gov.vn")), admin.ErrNotFound,
		"group an.nv@vinhyen.gov.vn does not exist: see 'mailserver group list'")
	must(t, api.RemoveGroup("hdnd@vinhyen.gov.vn"))
}

func TestSetGroup(t *testing.T) {
	api, st := newDirectory(t)
	const g = "lanhdao@vinhyen.gov.vn"
	_, err := api.AddGroup(admin.AddGroupRequest{Address: g, Name: "Lãnh đạo"})
	must(t, err)
	_, err = api.UpdateGroup(admin.GroupUpdate{Group: g, AddMembers: []string{"an.nv@vinhyen.gov.vn", "unit:vinhyen/phuong-1"},
		AddSenders: []string{"chanh.vp@bo-noi-vu.gov.vn"}})
	must(t, err)
	before, _ := st.Group(g)
	ptr := func(s string) *string { return &s }

	info, err := api.SetGroup(admin.SetGroupRequest{Group: "LanhDao@vinhyen.gov.vn", Name: ptr(" Lãnh đạo UBND thành phố "),
		Policy: ptr("Senders")})
	if err != nil {
		t.Fatal(err)
	}
	if info.Address != g || info.Name != "Lãnh đạo UBND thành phố" || info.Policy != "senders" ||
		!slices.Equal(info.Members, before.Members) || !slices.Equal(info.Senders, before.Senders) {
		t.Errorf("SetGroup = %+v", info)
	}
	wantAudit(t, api, "group.set", g, `name "Lãnh đạo UBND thành phố" (was "Lãnh đạo"), policy senders (was organisation)`)
	stored, _ := st.Group(g)
	if stored.Name != "Lãnh đạo UBND thành phố" || stored.Policy != store.PostSenders || !stored.Created.Equal(before.Created) ||
		!slices.Equal(stored.Members, before.Members) || !slices.Equal(stored.Senders, before.Senders) {
		t.Errorf("stored group %+v", stored)
	}

	// One field at a time; the other stays. The detail names only what changed.
	info, err = api.SetGroup(admin.SetGroupRequest{Group: g, Policy: ptr("members")})
	if err != nil || info.Policy != "members" || info.Name != "Lãnh đạo UBND thành phố" {
		t.Errorf("policy only: %+v, %v", info, err)
	}
	wantAudit(t, api, "group.set", g, "policy members (was senders)")
	info, err = api.SetGroup(admin.SetGroupRequest{Group: g, Name: ptr("Lãnh đạo UBND"), Policy: ptr("members")})
	if err != nil || info.Policy != "members" || info.Name != "Lãnh đạo UBND" {
		t.Errorf("name with the same policy: %+v, %v", info, err)
	}
	wantAudit(t, api, "group.set", g, `name "Lãnh đạo UBND" (was "Lãnh đạo UBND thành phố")`)
	info, err = api.SetGroup(admin.SetGroupRequest{Group: g, Policy: ptr("organization")})
	if err != nil || info.Policy != "organisation" {
		t.Errorf("American spelling: %+v, %v", info, err)
	}
	wantAudit(t, api, "group.set", g, "policy organisation (was members)")
	// What the group already has changes nothing and records nothing.
	info, err = api.SetGroup(admin.SetGroupRequest{Group: g, Name: ptr("Lãnh đạo UBND"), Policy: ptr("organisation")})
	if err != nil || info.Name != "Lãnh đạo UBND" || info.Policy != "organisation" || len(info.Members) != 2 {
		t.Errorf("unchanged: %+v, %v", info, err)
	}
	wantAudit(t, api, "group.set", g, "policy organisation (was members)")
	info, err = api.SetGroup(admin.SetGroupRequest{Group: g, Name: ptr("")})
	if err != nil || info.Name != "" {
		t.Errorf("removing the name: %+v, %v", info, err)
	}
	wantAudit(t, api, "group.set", g, `name "" (was "Lãnh đạo UBND")`)

	log, _ := api.AuditLog(admin.AuditQuery{})
	for _, tt := range []struct {
		req  admin.SetGroupRequest
		kind error
		want string
	}{
		{admin.SetGroupRequest{Group: g}, admin.ErrInvalid, "nothing to change: give a new name, a posting policy or both"},
		{admin.SetGroupRequest{Group: g, Name: ptr("X"), Policy: ptr("everyone")}, admin.ErrInvalid,
			`unknown posting policy "everyone": use anyone, organisation, members or senders`},
		{admin.SetGroupRequest{Group: g, Policy: ptr("")}, admin.ErrInvalid,
			`unknown posting policy "": use anyone, organisation, members or senders`},
		{admin.SetGroupRequest{Group: g, Name: ptr("Tên\x00")}, admin.ErrInvalid, "name must not contain control characters"},
		{admin.SetGroupRequest{Group: "khong-co@vinhyen.gov.vn", Name: ptr("X")}, admin.ErrNotFound,
			"group khong-co@vinhyen.gov.vn does not exist: see 'mailserver group list'"},
		{admin.SetGroupRequest{Group: "an.nv@vinhyen.gov.vn", Policy: ptr("members")}, admin.ErrNotFound,
			"group an.nv@vinhyen.gov.vn does not exist: see 'mailserver group list'"},
		{admin.SetGroupRequest{Group: "lanhdao", Name: ptr("X")}, admin.ErrInvalid,
			`invalid address "lanhdao": it must look like an.nv@vinhyen.gov.vn`},
	} {
		_, err := api.SetGroup(tt.req)
		wantErr(t, err, tt.kind, tt.want)
	}
	if after, _ := api.AuditLog(admin.AuditQuery{}); len(after) != len(log) {
		t.Errorf("refused changes were recorded: %+v", after[len(log):])
	}
	if stored, _ := st.Group(g); stored.Name != "" || stored.Policy != store.PostOrganisation {
		t.Errorf("a refused change was made: %+v", stored)
	}
}

func TestShares(t *testing.T) {
	api, st := newDirectory(t)
	const vt = "vanthu@vinhyen.gov.vn"
	u, err := api.AddShared(admin.AddSharedRequest{Address: "VanThu@vinhyen.gov.vn", Name: "Văn thư UBND", Unit: "vinhyen/phuong-1"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Address != vt || !u.Shared || u.Unit != "vinhyen/phuong-1" || u.Name != "Văn thư UBND" {
		t.Errorf("AddShared = %+v", u)
	}
	wantAudit(t, api, "share.add", vt, `name "Văn thư UBND", unit vinhyen/phuong-1`)
	if a, _ := st.Account(vt); !a.Shared || a.PasswordHash != "" {
		t.Errorf("stored shared mailbox: %+v", a)
	}
	g, err := api.Grant(vt, "An.NV@vinhyen.gov.vn", []string{"read"})
	if err != nil || g != (admin.GrantInfo{Shared: vt, Account: "an.nv@vinhyen.gov.vn", Rights: "read"}) {
		t.Errorf("Grant = %+v, %v", g, err)
	}
	g, err = api.Grant(vt, "an.nv@vinhyen.gov.vn", []string{"send", "write, read"})
	if err != nil || g.Rights != "read,write,send" {
		t.Errorf("Grant adding rights = %+v, %v", g, err)
	}
	wantAudit(t, api, "share.grant", vt, "account an.nv@vinhyen.gov.vn: granted read,write,send (now read,write,send)")
	_, err = api.Grant(vt, "binh.tt@vinhyen.gov.vn", []string{"read"})
	must(t, err)
	list, err := api.ListShared()
	if err != nil || len(list) != 1 || list[0].Address != vt || len(list[0].Grants) != 2 ||
		list[0].Grants[0].Account != "an.nv@vinhyen.gov.vn" || list[0].Grants[1].Rights != "read" {
		t.Errorf("ListShared = %+v, %v", list, err)
	}
	if users, _ := api.ListUsers(); len(users) != 3 || !users[2].Shared {
		t.Errorf("ListUsers does not show the shared mailbox: %+v", users)
	}

	_, err = api.AddGroup(admin.AddGroupRequest{Address: "nhom@vinhyen.gov.vn"})
	must(t, err)
	_, err = api.AddAlias("an@vinhyen.gov.vn", "an.nv@vinhyen.gov.vn")
	must(t, err)
	tests := []struct {
		shared, account string
		rights          []string
		kind            error
		want            string
	}{
		{"an.nv@vinhyen.gov.vn", "binh.tt@vinhyen.gov.vn", []string{"read"}, admin.ErrInvalid,
			"an.nv@vinhyen.gov.vn is a user, not a shared mailbox: create one with 'mailserver share add ADDRESS'"},
		{"nhom@vinhyen.gov.vn", "binh.tt@vinhyen.gov.vn", []string{"read"}, admin.ErrInvalid,
			"nhom@vinhyen.gov.vn is a group, not a shared mailbox: create one with 'mailserver share add ADDRESS'"},
		{"khong-co@vinhyen.gov.vn", "binh.tt@vinhyen.gov.vn", []string{"read"}, admin.ErrNotFound,
			"shared mailbox khong-co@vinhyen.gov.vn does not exist: add it with 'mailserver share add khong-co@vinhyen.gov.vn'"},
		{vt, "chi@vinhyen.gov.vn", []string{"read"}, admin.ErrNotFound,
			"user chi@vinhyen.gov.vn does not exist: see 'mailserver user list'"},
		{vt, "an@vinhyen.gov.vn", []string{"read"}, admin.ErrInvalid,
			"an@vinhyen.gov.vn is an alias of an.nv@vinhyen.gov.vn: grant rights to the account itself"},
		{vt, vt, []string{"read"}, admin.ErrInvalid,
			"vanthu@vinhyen.gov.vn is a shared mailbox: grant rights to people's accounts"},
		{vt, "binh.tt@vinhyen.gov.vn", []string{"admin"}, admin.ErrInvalid, `unknown right "admin": use read, write or send`},
		{vt, "binh.tt@vinhyen.gov.vn", nil, admin.ErrInvalid, "no rights given: use --rights read, write or send"},
	}
	for _, tt := range tests {
		_, err := api.Grant(tt.shared, tt.account, tt.rights)
		wantErr(t, err, tt.kind, tt.want)
	}

	must(t, api.Revoke(vt, "binh.tt@vinhyen.gov.vn"))
	wantAudit(t, api, "share.revoke", vt, "account binh.tt@vinhyen.gov.vn: revoked read")
	wantErr(t, api.Revoke(vt, "binh.tt@vinhyen.gov.vn"), admin.ErrNotFound,
		"binh.tt@vinhyen.gov.vn has no rights on vanthu@vinhyen.gov.vn: see 'mailserver share list'")
	if grants, _ := st.Grants(vt); len(grants) != 1 {
		t.Errorf("grants after revoke: %+v", grants)
	}

	wantErr(t, api.SetPassword(vt, "Mat-khau-moi-2025"), admin.ErrInvalid,
		"vanthu@vinhyen.gov.vn is a shared mailbox: nobody logs in as it; give staff access with 'mailserver share grant vanthu@vinhyen.gov.vn ACCOUNT --rights read'")
	for _, tt := range []struct {
		req  admin.AddSharedRequest
		kind error
		want string
	}{
		{admin.AddSharedRequest{Address: vt}, admin.ErrExists, "shared mailbox vanthu@vinhyen.gov.vn already exists"},
		{admin.AddSharedRequest{Address: "nhom@vinhyen.gov.vn"}, admin.ErrExists,
			"address nhom@vinhyen.gov.vn is already used by a group: choose another address (see 'mailserver group list')"},
		{admin.AddSharedRequest{Address: "vp@vinhyen.gov.vn", Unit: "vinhyen/van-phong"}, admin.ErrNotFound,
			"unit vinhyen/van-phong does not exist: add it with 'mailserver unit add vinhyen/van-phong'"},
		{admin.AddSharedRequest{Address: "vp@vinhyen.gov.vn", Quota: -1}, admin.ErrInvalid,
			"quota must not be negative (0 means unlimited)"},
	} {
		_, err := api.AddShared(tt.req)
		wantErr(t, err, tt.kind, tt.want)
	}
	must(t, api.RemoveUser(vt))
	wantAudit(t, api, "user.remove", vt, "shared mailbox removed with its mail (0B)")
}

func TestQuota(t *testing.T) {
	api, st := newDirectory(t)
	must(t, api.SetQuota("An.NV@vinhyen.gov.vn", 2<<30))
	if a, _ := st.Account("an.nv@vinhyen.gov.vn"); a.Quota != 2<<30 {
		t.Errorf("quota %d", a.Quota)
	}
	wantAudit(t, api, "quota.set", "an.nv@vinhyen.gov.vn", "quota 2GB (was unlimited)")
	must(t, api.SetQuota("an.nv@vinhyen.gov.vn", 0))
	wantAudit(t, api, "quota.set", "an.nv@vinhyen.gov.vn", "quota unlimited (was 2GB)")
	wantErr(t, api.SetQuota("an.nv@vinhyen.gov.vn", -1), admin.ErrInvalid, "quota must not be negative (0 means unlimited)")
	wantErr(t, api.SetQuota("chi@vinhyen.gov.vn", 1), admin.ErrNotFound, "user chi@vinhyen.gov.vn does not exist: see 'mailserver user list'")

	// Use grows with delivered mail: binh.tt gets the larger message.
	_, err := api.AddShared(admin.AddSharedRequest{Address: "vanthu@vinhyen.gov.vn", Unit: "vinhyen/ubnd"})
	must(t, err)
	must(t, api.SetQuota("binh.tt@vinhyen.gov.vn", 1<<20))
	deliver(t, st, "binh.tt@vinhyen.gov.vn", 300<<10)
	deliver(t, st, "an.nv@vinhyen.gov.vn", 100<<10)
	r, err := api.QuotaReport()
	if err != nil {
		t.Fatal(err)
	}
	var accounts, units []string
	for _, a := range r.Accounts {
		accounts = append(accounts, a.Address)
	}
	for _, u := range r.Units {
		units = append(units, u.Path)
	}
	if !slices.Equal(accounts, []string{"binh.tt@vinhyen.gov.vn", "an.nv@vinhyen.gov.vn", "vanthu@vinhyen.gov.vn"}) {
		t.Errorf("accounts by use: %v", accounts)
	}
	if r.Accounts[0].Quota != 1<<20 || r.Accounts[0].Used < 300<<10 || r.Accounts[2].Used != 0 || !r.Accounts[2].Shared {
		t.Errorf("account usage: %+v", r.Accounts)
	}
	// vinhyen holds everything; phuong-1 (binh.tt) is larger than ubnd (an.nv and the empty shared mailbox).
	if !slices.Equal(units, []string{"vinhyen", "vinhyen/phuong-1", "vinhyen/ubnd", "vinhyen/ubnd/phong-noi-vu"}) {
		t.Errorf("units by use: %v", units)
	}
	// The shared mailbox belongs to vinhyen/ubnd (and so to vinhyen) but is not one of its accounts.
	if r.Units[0].Accounts != 2 || r.Units[0].Shared != 1 || r.Units[0].Used != r.Accounts[0].Used+r.Accounts[1].Used ||
		r.Units[2].Accounts != 1 || r.Units[2].Shared != 1 || r.Units[2].Used != r.Units[3].Used ||
		r.Units[1].Name != "Phường 1" {
		t.Errorf("unit usage: %+v", r.Units)
	}
}

// deliver stores a message of about size bytes in address's INBOX.
func deliver(t *testing.T, st *store.Store, address string, size int) {
	t.Helper()
	a, err := st.Account(address)
	must(t, err)
	msg := "From: vanthu@vinhyen.gov.vn\r\nTo: " + address + "\r\nSubject: Báo cáo\r\n\r\n" +
		strings.Repeat("Nội dung báo cáo tháng.\r\n", size/26)
	_, err = st.Deliver(store.NewMessage{Body: []byte(msg)}, []store.Copy{{AccountID: a.ID}})
	must(t, err)
}

func TestAudit(t *testing.T) {
	svc, _ := newService(t)
	must(t, svc.AddDomain("vinhyen.gov.vn")) // no OS user: plain "admin"
	if r := lastAudit(t, svc); r.Actor != "admin" || r.Action != "domain.add" || r.Target != "vinhyen.gov.vn" {
		t.Errorf("record without an OS user: %+v", r)
	}
	odd := svc.As(" ho a\n\x1b[31m")
	_, err := odd.AddUnit("vinhyen", "Thành phố Vĩnh Yên")
	must(t, err)
	if r := lastAudit(t, svc); r.Actor != "admin:hoa[31m" {
		t.Errorf("OS user not cleaned: %q", r.Actor)
	}
	api := svc.As("hoa")
	_, err = api.AddUser(admin.AddUserRequest{Address: "an.nv@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "vinhyen",
		Quota: 3 << 29, Password: goodPassword})
	must(t, err)
	wantAudit(t, api, "user.add", "an.nv@vinhyen.gov.vn", `name "Nguyễn Văn An", unit vinhyen, quota 1.5GB`)
	must(t, api.SetPassword("an.nv@vinhyen.gov.vn", "Mat-khau-moi-2025"))
	wantAudit(t, api, "user.passwd", "an.nv@vinhyen.gov.vn", "password changed")
	start := time.Now()
	_, err = api.AddAlias("an@vinhyen.gov.vn", "an.nv@vinhyen.gov.vn")
	must(t, err)
	must(t, api.RemoveAlias("an@vinhyen.gov.vn"))
	must(t, api.RemoveUser("an.nv@vinhyen.gov.vn"))
	wantAudit(t, api, "user.remove", "an.nv@vinhyen.gov.vn", "user removed with its mail (0B)")
	must(t, api.RemoveDomain("vinhyen.gov.vn"))
	wantAudit(t, api, "domain.remove", "vinhyen.gov.vn", "")

	// Failed operations record nothing.
	wantErr(t, api.RemoveDomain("vinhyen.gov.vn"), admin.ErrNotFound, "domain vinhyen.gov.vn does not exist: see 'mailserver domain list'")
	all, err := api.AuditLog(admin.AuditQuery{})
	if err != nil || len(all) != 8 {
		t.Fatalf("AuditLog: %d records, %v", len(all), err)
	}
	actions := func(q admin.AuditQuery) string {
		t.Helper()
		log, err := api.AuditLog(q)
		must(t, err)
		var out []string
		for _, r := range log {
			out = append(out, r.Action)
		}
		return strings.Join(out, " ")
	}
	if got := actions(admin.AuditQuery{Account: "AN.NV@vinhyen.gov.vn"}); got != "user.add user.passwd user.remove" {
		t.Errorf("--account: %s", got)
	}
	if got := actions(admin.AuditQuery{Mailbox: "An@Vinhyen.gov.vn"}); got != "alias.add alias.remove" {
		t.Errorf("--mailbox: %s", got)
	}
	if got := actions(admin.AuditQuery{Since: start}); got != "alias.add alias.remove user.remove domain.remove" {
		t.Errorf("--since: %s", got)
	}
	if got := actions(admin.AuditQuery{Limit: 2}); got != "user.remove domain.remove" {
		t.Errorf("--limit: %s", got)
	}
	if got := actions(admin.AuditQuery{Since: time.Now().Add(time.Hour)}); got != "" {
		t.Errorf("future --since: %s", got)
	}
	wantErr(t, second(api.AuditLog(admin.AuditQuery{Limit: -1})), admin.ErrInvalid, "limit must not be negative (0 means all)")
}

func TestRemoveDomainWithAliasesOrGroups(t *testing.T) {
	api, _ := newDirectory(t)
	must(t, api.AddDomain("phucyen.gov.vn"))
	_, err := api.AddAlias("an@phucyen.gov.vn", "an.nv@vinhyen.gov.vn")
	must(t, err)
	wantErr(t, api.RemoveDomain("phucyen.gov.vn"), admin.ErrInUse,
		"domain phucyen.gov.vn still has 1 alias(es) (an@phucyen.gov.vn): remove them first with 'mailserver alias remove ALIAS'")
	must(t, api.RemoveAlias("an@phucyen.gov.vn"))
	_, err = api.AddGroup(admin.AddGroupRequest{Address: "nhom@phucyen.gov.vn"})
	must(t, err)
	wantErr(t, api.RemoveDomain("phucyen.gov.vn"), admin.ErrInUse,
		"domain phucyen.gov.vn still has 1 group(s) (nhom@phucyen.gov.vn): remove them first with 'mailserver group remove GROUP'")
	must(t, api.RemoveGroup("nhom@phucyen.gov.vn"))
	must(t, api.RemoveDomain("phucyen.gov.vn"))
}

func second[T any](_ T, err error) error { return err }
