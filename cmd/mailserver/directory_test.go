package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mailserver/internal/store"
)

// withStore opens e's store directly; no server or command may be running on it.
func (e *env) withStore(fn func(*store.Store)) {
	e.t.Helper()
	st, err := store.Open(e.cfg.DBPath(), store.Options{LockTimeout: time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	fn(st)
}

// deliver stores a message of about size bytes in address's INBOX, straight into the store.
func (e *env) deliver(address string, size int) {
	e.t.Helper()
	e.withStore(func(st *store.Store) { deliverTo(e.t, st, address, size) })
}

// deliverTo stores a message of size bytes plus a short header in address's INBOX in st.
func deliverTo(t testing.TB, st *store.Store, address string, size int) {
	t.Helper()
	a, err := st.Account(address)
	if err != nil {
		t.Fatal(err)
	}
	body := "From: vanthu@vinhyen.gov.vn\r\nSubject: Báo cáo\r\n\r\n" + strings.Repeat("x", size)
	if _, err := st.Deliver(store.NewMessage{Body: []byte(body)}, []store.Copy{{AccountID: a.ID}}); err != nil {
		t.Fatal(err)
	}
}

// directoryEnv is an env with domain vinhyen.gov.vn, unit vinhyen/ubnd (and its parent) and user an.nv in it.
func directoryEnv(t *testing.T) *env {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok("", "unit", "add", "vinhyen", "--name", "Thành phố Vĩnh Yên")
	e.ok("", "unit", "add", "vinhyen/ubnd", "--name", "UBND thành phố")
	e.ok(goodPassword+"\n", "user", "add", userAn, "--name", "Nguyễn Văn An", "--unit", "vinhyen/ubnd")
	return e
}

func wantOut(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s\n got:\n%s\nwant:\n%s", what, got, want)
	}
}

func TestUnitCommands(t *testing.T) {
	e := directoryEnv(t)
	wantOut(t, "unit add with missing parents", e.ok("", "unit", "add", "VinhYen/ubnd/phong-noi-vu/to-1", "--name", "Tổ 1"),
		"added unit vinhyen/ubnd/phong-noi-vu (a parent, without a name)\nadded unit vinhyen/ubnd/phong-noi-vu/to-1\n")
	wantOut(t, "unit add", e.ok("", "unit", "add", "vinhyen/phuong-1", "--name", "Phường 1"), "added unit vinhyen/phuong-1\n")
	e.ok(goodPassword+"\n", "user", "add", "binh@vinhyen.gov.vn", "--unit", "vinhyen/ubnd/phong-noi-vu/to-1")
	want := "" +
		"UNIT                                  NAME                ACCOUNTS  DIRECT  SHARED\n" +
		"vinhyen                               Thành phố Vĩnh Yên  2         0       0\n" +
		"  vinhyen/phuong-1                    Phường 1            0         0       0\n" +
		"  vinhyen/ubnd                        UBND thành phố      2         1       0\n" +
		"    vinhyen/ubnd/phong-noi-vu         -                   1         0       0\n" +
		"      vinhyen/ubnd/phong-noi-vu/to-1  Tổ 1                1         1       0\n"
	wantOut(t, "unit list", e.ok("", "unit", "list"), want)

	e.fails(1, "unit vinhyen/ubnd/phong-noi-vu/to-1 still has 1 account(s) (binh@vinhyen.gov.vn): move them elsewhere with 'mailserver user move ADDRESS PATH' or remove them first",
		"", "unit", "remove", "vinhyen/ubnd/phong-noi-vu/to-1")
	e.fails(1, "unit vinhyen/ubnd still has 1 account(s) (an.nv@vinhyen.gov.vn) and 1 sub-unit(s) (vinhyen/ubnd/phong-noi-vu): move the accounts elsewhere with 'mailserver user move ADDRESS PATH' and remove the sub-units first",
		"", "unit", "remove", "vinhyen/ubnd")
	e.fails(1, "unit vinhyen/ubnd already exists", "", "unit", "add", "vinhyen/ubnd")
	e.fails(1, `invalid unit "vinhyen/phòng": use letters without diacritics, digits and '-' between the '/'`, "",
		"unit", "add", "vinhyen/phòng")
	e.fails(1, "unit vinhyen/khong-co does not exist: see 'mailserver unit list'", "", "unit", "remove", "vinhyen/khong-co")

	wantOut(t, "user move", e.ok("", "user", "move", "BINH@vinhyen.gov.vn", "vinhyen/phuong-1"),
		"moved binh@vinhyen.gov.vn to unit vinhyen/phuong-1\n")
	if a := e.account("binh@vinhyen.gov.vn"); a.Unit != "vinhyen/phuong-1" {
		t.Errorf("unit after move: %q", a.Unit)
	}
	e.fails(1, "unit vinhyen/khong-co does not exist: add it with 'mailserver unit add vinhyen/khong-co'", "",
		"user", "move", "binh@vinhyen.gov.vn", "vinhyen/khong-co")
	e.fails(1, "user chi@vinhyen.gov.vn does not exist: see 'mailserver user list'", "",
		"user", "move", "chi@vinhyen.gov.vn", "vinhyen")
	e.fails(2, "missing PATH (see 'mailserver user move --help')", "", "user", "move", "binh@vinhyen.gov.vn")
	wantOut(t, "user move out", e.ok("", "user", "move", "binh@vinhyen.gov.vn", ""), "moved binh@vinhyen.gov.vn out of its unit\n")

	wantOut(t, "unit remove", e.ok("", "unit", "remove", "vinhyen/ubnd/phong-noi-vu/to-1"),
		"removed unit vinhyen/ubnd/phong-noi-vu/to-1\n")
	e.ok("", "unit", "remove", "vinhyen/ubnd/phong-noi-vu")
	if out := e.ok("", "unit", "list"); strings.Contains(out, "phong-noi-vu") {
		t.Errorf("removed units still listed:\n%s", out)
	}
}

// TestSharedMailboxesAreNotUnitAccounts checks that unit list, quota report and unit remove count a unit's shared
// mailboxes apart from its accounts (they are not unit members), with the server stopped (direct file access) and
// running (control socket).
func TestSharedMailboxesAreNotUnitAccounts(t *testing.T) {
	for _, running := range []bool{false, true} {
		t.Run(map[bool]string{false: "stopped", true: "running"}[running], func(t *testing.T) {
			e := newEnv(t)
			var st *store.Store
			if running {
				st = e.startControl(t)
			}
			e.ok("", "domain", "add", domain)
			e.ok("", "unit", "add", "vinhyen", "--name", "Thành phố Vĩnh Yên")
			e.ok("", "unit", "add", "vinhyen/ubnd", "--name", "UBND thành phố")
			e.ok("", "unit", "add", "vinhyen/phuong-1", "--name", "Phường 1")
			e.ok(goodPassword+"\n", "user", "add", userAn, "--unit", "vinhyen/ubnd")
			e.ok("", "share", "add", "vanthu@vinhyen.gov.vn", "--unit", "vinhyen/ubnd")
			e.ok("", "share", "add", "vanthu.p1@vinhyen.gov.vn", "--unit", "vinhyen/phuong-1")
			if running {
				deliverTo(t, st, "vanthu@vinhyen.gov.vn", 100<<10)
			} else {
				e.deliver("vanthu@vinhyen.gov.vn", 100<<10)
			}

			wantOut(t, "unit list", e.ok("", "unit", "list"), ""+
				"UNIT                NAME                ACCOUNTS  DIRECT  SHARED\n"+
				"vinhyen             Thành phố Vĩnh Yên  1         0       2\n"+
				"  vinhyen/phuong-1  Phường 1            0         0       1\n"+
				"  vinhyen/ubnd      UBND thành phố      1         1       1\n")
			out := e.ok("", "quota", "report")
			_, units, _ := strings.Cut(out, "\n\n")
			wantOut(t, "quota report by unit", units, ""+
				"UNIT              NAME                ACCOUNTS  SHARED  USED\n"+
				"vinhyen           Thành phố Vĩnh Yên  1         2       100KB\n"+
				"vinhyen/ubnd      UBND thành phố      1         1       100KB\n"+
				"vinhyen/phuong-1  Phường 1            0         1       0B\n")
			e.fails(1, "unit vinhyen/phuong-1 still has 1 shared mailbox(es) (vanthu.p1@vinhyen.gov.vn): move them elsewhere with 'mailserver user move ADDRESS PATH' or remove them first",
				"", "unit", "remove", "vinhyen/phuong-1")
		})
	}
}

// lastAudit returns the newest audit record of e's store.
func (e *env) lastAudit() store.AuditRecord {
	e.t.Helper()
	var r store.AuditRecord
	e.withStore(func(st *store.Store) {
		log, err := st.AuditLog(store.AuditFilter{Limit: 1})
		if err != nil || len(log) != 1 {
			e.t.Fatalf("audit log: %+v, %v", log, err)
		}
		r = log[0]
	})
	return r
}

// wantAudit checks the newest audit record: the command's, by the OS user running the tests.
func (e *env) wantAudit(action, target, detail string) {
	e.t.Helper()
	if r := e.lastAudit(); r.Action != action || r.Target != target || r.Detail != detail || r.Actor != "admin:"+osUser() || r.From != "cli" {
		e.t.Errorf("audit record %+v\nwant %s %s %q by admin:%s from cli", r, action, target, detail, osUser())
	}
}

func TestUnitSetCommand(t *testing.T) {
	e := directoryEnv(t)
	e.ok("", "unit", "add", "vinhyen/ubnd/phong-noi-vu/to-1", "--name", "Tổ 1") // phong-noi-vu: a parent without a name
	wantOut(t, "unit set", e.ok("", "unit", "set", "vinhyen/ubnd/phong-noi-vu", "--name", "Phòng Nội vụ"),
		`unit vinhyen/ubnd/phong-noi-vu is now named "Phòng Nội vụ"`+"\n")
	e.wantAudit("unit.set", "vinhyen/ubnd/phong-noi-vu", `name "Phòng Nội vụ" (was "")`)
	wantOut(t, "unit set rename", e.ok("", "unit", "set", "VinhYen/UBND", "--name", "UBND thành phố Vĩnh Yên"),
		`unit vinhyen/ubnd is now named "UBND thành phố Vĩnh Yên"`+"\n")
	e.wantAudit("unit.set", "vinhyen/ubnd", `name "UBND thành phố Vĩnh Yên" (was "UBND thành phố")`)
	want := "" +
		"UNIT                                  NAME                     ACCOUNTS  DIRECT  SHARED\n" +
		"vinhyen                               Thành phố Vĩnh Yên       1         0       0\n" +
		"  vinhyen/ubnd                        UBND thành phố Vĩnh Yên  1         1       0\n" +
		"    vinhyen/ubnd/phong-noi-vu         Phòng Nội vụ             0         0       0\n" +
		"      vinhyen/ubnd/phong-noi-vu/to-1  Tổ 1                     0         0       0\n"
	wantOut(t, "unit list after set", e.ok("", "unit", "list"), want)
	if a := e.account(userAn); a.Unit != "vinhyen/ubnd" {
		t.Errorf("the unit's account moved: %+v", a)
	}
	wantOut(t, "unit set no name", e.ok("", "unit", "set", "vinhyen/ubnd/phong-noi-vu/to-1", "--name", ""),
		"unit vinhyen/ubnd/phong-noi-vu/to-1 now has no name\n")
	e.wantAudit("unit.set", "vinhyen/ubnd/phong-noi-vu/to-1", `name "" (was "Tổ 1")`)

	e.fails(1, "unit vinhyen/khong-co does not exist: see 'mailserver unit list'", "",
		"unit", "set", "vinhyen/khong-co", "--name", "Không có")
	e.fails(1, `invalid unit "vinhyen/phòng": use letters without diacritics, digits and '-' between the '/'`, "",
		"unit", "set", "vinhyen/phòng", "--name", "Phòng")
	e.fails(1, "name must not contain control characters", "", "unit", "set", "vinhyen", "--name", "Vĩnh\tYên")
	e.fails(2, `required flag(s) "name" not set (see 'mailserver unit set --help')`, "", "unit", "set", "vinhyen")
	e.fails(2, "missing PATH (see 'mailserver unit set --help')", "", "unit", "set", "--name", "Vĩnh Yên")
	e.fails(2, `unexpected argument "Vĩnh Yên" (see 'mailserver unit set --help')`, "", "unit", "set", "vinhyen", "Vĩnh Yên")
	e.wantAudit("unit.set", "vinhyen/ubnd/phong-noi-vu/to-1", `name "" (was "Tổ 1")`) // failures record nothing
}

func TestUserDisableRejectMail(t *testing.T) {
	e := directoryEnv(t)
	wantOut(t, "disable --reject-mail", e.ok("", "user", "disable", userAn, "--reject-mail"),
		"disabled an.nv@vinhyen.gov.vn; new mail to it is rejected\n")
	if a := e.account(userAn); !a.Disabled || !a.RejectMail {
		t.Errorf("after disable --reject-mail: %+v", a)
	}
	if out := e.ok("", "user", "list"); !strings.Contains(out, "disabled, rejects mail") {
		t.Errorf("user list:\n%s", out)
	}
	e.ok("", "user", "disable", userAn)
	if a := e.account(userAn); !a.Disabled || a.RejectMail {
		t.Errorf("after disable: %+v", a)
	}
	e.ok("", "user", "disable", userAn, "--reject-mail")
	e.ok("", "user", "enable", userAn)
	if a := e.account(userAn); a.Disabled || a.RejectMail {
		t.Errorf("after enable: %+v", a)
	}
}

func TestAliasCommands(t *testing.T) {
	e := directoryEnv(t)
	wantOut(t, "alias add", e.ok("", "alias", "add", "Nguyen.Van.An@vinhyen.gov.vn", userAn),
		"added alias nguyen.van.an@vinhyen.gov.vn for an.nv@vinhyen.gov.vn\n")
	e.ok("", "alias", "add", "an@vinhyen.gov.vn", userAn)
	wantOut(t, "alias list", e.ok("", "alias", "list"), ""+
		"ALIAS                         TARGET\n"+
		"an@vinhyen.gov.vn             an.nv@vinhyen.gov.vn\n"+
		"nguyen.van.an@vinhyen.gov.vn  an.nv@vinhyen.gov.vn\n")
	e.fails(1, "target khong-co@vinhyen.gov.vn does not exist: add the user, group or shared mailbox first (see 'mailserver user list')",
		"", "alias", "add", "x@vinhyen.gov.vn", "khong-co@vinhyen.gov.vn")
	e.fails(1, "alias an@vinhyen.gov.vn already exists", "", "alias", "add", "an@vinhyen.gov.vn", userAn)
	e.fails(1, "address an.nv@vinhyen.gov.vn is already used by a user: choose another address (see 'mailserver user list')",
		"", "alias", "add", userAn, "an@vinhyen.gov.vn")
	e.fails(1, "user an.nv@vinhyen.gov.vn is the target of 2 alias(es) (an@vinhyen.gov.vn, nguyen.van.an@vinhyen.gov.vn): remove them first with 'mailserver alias remove ALIAS'",
		"", "user", "remove", userAn)
	e.fails(2, "missing TARGET (see 'mailserver alias add --help')", "", "alias", "add", "x@vinhyen.gov.vn")
	wantOut(t, "alias remove", e.ok("", "alias", "remove", "an@vinhyen.gov.vn"), "removed alias an@vinhyen.gov.vn\n")
	e.fails(1, "alias an@vinhyen.gov.vn does not exist: see 'mailserver alias list'", "", "alias", "remove", "an@vinhyen.gov.vn")
}

func TestGroupCommands(t *testing.T) {
	e := directoryEnv(t)
	const g = "lanhdao@vinhyen.gov.vn"
	e.ok(goodPassword+"\n", "user", "add", "binh@vinhyen.gov.vn", "--name", "Trần Thị Bình")
	wantOut(t, "group add", e.ok("", "group", "add", g, "--name", "Lãnh đạo UBND", "--policy", "members"),
		"added group lanhdao@vinhyen.gov.vn (policy members: only members may send)\n")
	wantOut(t, "group add default policy", e.ok("", "group", "add", "toan-the@vinhyen.gov.vn"),
		"added group toan-the@vinhyen.gov.vn (policy organisation: staff of this server may send)\n")
	wantOut(t, "member add", e.ok("", "group", "member", "add", g, userAn, "unit:vinhyen/ubnd", "toan-the@vinhyen.gov.vn"),
		"group lanhdao@vinhyen.gov.vn now has 3 member(s)\n")
	e.fails(1, "member khong-co@vinhyen.gov.vn does not exist: add the user, alias, group or shared mailbox first (see 'mailserver user list')",
		"", "group", "member", "add", g, "binh@vinhyen.gov.vn", "khong-co@vinhyen.gov.vn")
	e.fails(1, "unit vinhyen/khong-co does not exist: add it with 'mailserver unit add vinhyen/khong-co'",
		"", "group", "member", "add", g, "unit:vinhyen/khong-co")
	e.fails(1, "group khong-co@vinhyen.gov.vn does not exist: see 'mailserver group list'",
		"", "group", "member", "add", "khong-co@vinhyen.gov.vn", userAn)
	e.fails(2, "missing MEMBER (see 'mailserver group member add --help')", "", "group", "member", "add", g)
	wantOut(t, "sender add", e.ok("", "group", "sender", "add", g, "Chanh.VP@bo-noi-vu.gov.vn", "binh@vinhyen.gov.vn"),
		"group lanhdao@vinhyen.gov.vn now has 2 sender(s)\n")
	wantOut(t, "group show", e.ok("", "group", "show", g), ""+
		"address:  lanhdao@vinhyen.gov.vn\n"+
		"name:     Lãnh đạo UBND\n"+
		"policy:   members (only members may send)\n"+
		"members:  3\n"+
		"  an.nv@vinhyen.gov.vn\n"+
		"  toan-the@vinhyen.gov.vn\n"+
		"  unit:vinhyen/ubnd\n"+
		"senders:  2\n"+
		"  binh@vinhyen.gov.vn\n"+
		"  chanh.vp@bo-noi-vu.gov.vn\n")
	wantOut(t, "group list", e.ok("", "group", "list"), ""+
		"ADDRESS                  NAME           POLICY        MEMBERS  SENDERS\n"+
		"lanhdao@vinhyen.gov.vn   Lãnh đạo UBND  members       3        2\n"+
		"toan-the@vinhyen.gov.vn  -              organisation  0        0\n")
	e.fails(1, `unknown posting policy "everyone": use anyone, organisation, members or senders`, "",
		"group", "add", "x@vinhyen.gov.vn", "--policy", "everyone")
	e.fails(1, "unit vinhyen/ubnd is a member of 1 group(s) (lanhdao@vinhyen.gov.vn): remove it first with 'mailserver group member remove GROUP unit:vinhyen/ubnd'",
		"", "unit", "remove", "vinhyen/ubnd")
	e.fails(1, "group toan-the@vinhyen.gov.vn is a member of 1 group(s) (lanhdao@vinhyen.gov.vn): remove it first with 'mailserver group member remove GROUP toan-the@vinhyen.gov.vn'",
		"", "group", "remove", "toan-the@vinhyen.gov.vn")
	e.fails(1, "binh@vinhyen.gov.vn is not a member of group lanhdao@vinhyen.gov.vn: see 'mailserver group show lanhdao@vinhyen.gov.vn'",
		"", "group", "member", "remove", g, "binh@vinhyen.gov.vn")
	wantOut(t, "member remove", e.ok("", "group", "member", "remove", g, "toan-the@vinhyen.gov.vn", "unit:vinhyen/ubnd"),
		"group lanhdao@vinhyen.gov.vn now has 1 member(s)\n")
	wantOut(t, "sender remove", e.ok("", "group", "sender", "remove", g, "chanh.vp@bo-noi-vu.gov.vn"),
		"group lanhdao@vinhyen.gov.vn now has 1 sender(s)\n")
	e.withStore(func(st *store.Store) {
		grp, err := st.Group(g)
		if err != nil || len(grp.Members) != 1 || grp.Senders[0] != "binh@vinhyen.gov.vn" || grp.Policy != store.PostMembers {
			t.Errorf("stored group %+v, %v", grp, err)
		}
	})
	wantOut(t, "group remove", e.ok("", "group", "remove", "toan-the@vinhyen.gov.vn"), "removed group toan-the@vinhyen.gov.vn\n")
	e.fails(1, "group toan-the@vinhyen.gov.vn does not exist: see 'mailserver group list'", "", "group", "show", "toan-the@vinhyen.gov.vn")
}

func TestGroupSetCommand(t *testing.T) {
	e := directoryEnv(t)
	const g = "lanhdao@vinhyen.gov.vn"
	e.ok("", "group", "add", g, "--name", "Lãnh đạo")
	e.ok("", "group", "member", "add", g, userAn, "unit:vinhyen/ubnd")
	e.ok("", "group", "sender", "add", g, "chanh.vp@bo-noi-vu.gov.vn")
	wantOut(t, "group set policy", e.ok("", "group", "set", "LanhDao@vinhyen.gov.vn", "--policy", "members"),
		`group lanhdao@vinhyen.gov.vn: name "Lãnh đạo", policy members (only members may send)`+"\n")
	e.wantAudit("group.set", g, "policy members (was organisation)")
	wantOut(t, "group set name", e.ok("", "group", "set", g, "--name", "Lãnh đạo UBND thành phố"),
		`group lanhdao@vinhyen.gov.vn: name "Lãnh đạo UBND thành phố", policy members (only members may send)`+"\n")
	e.wantAudit("group.set", g, `name "Lãnh đạo UBND thành phố" (was "Lãnh đạo")`)
	wantOut(t, "group set both", e.ok("", "group", "set", g, "--name", "Lãnh đạo UBND", "--policy", "Senders"),
		`group lanhdao@vinhyen.gov.vn: name "Lãnh đạo UBND", policy senders (only the listed senders may send)`+"\n")
	e.wantAudit("group.set", g, `name "Lãnh đạo UBND" (was "Lãnh đạo UBND thành phố"), policy senders (was members)`)
	wantOut(t, "group show after set", e.ok("", "group", "show", g), ""+
		"address:  lanhdao@vinhyen.gov.vn\n"+
		"name:     Lãnh đạo UBND\n"+
		"policy:   senders (only the listed senders may send)\n"+
		"members:  2\n"+
		"  an.nv@vinhyen.gov.vn\n"+
		"  unit:vinhyen/ubnd\n"+
		"senders:  1\n"+
		"  chanh.vp@bo-noi-vu.gov.vn\n")
	wantOut(t, "group set no name", e.ok("", "group", "set", g, "--name", ""),
		"group lanhdao@vinhyen.gov.vn: no name, policy senders (only the listed senders may send)\n")
	e.wantAudit("group.set", g, `name "" (was "Lãnh đạo UBND")`)

	e.fails(1, "group khong-co@vinhyen.gov.vn does not exist: see 'mailserver group list'", "",
		"group", "set", "khong-co@vinhyen.gov.vn", "--policy", "anyone")
	e.fails(1, "group an.nv@vinhyen.gov.vn does not exist: see 'mailserver group list'", "",
		"group", "set", userAn, "--name", "An")
	e.fails(1, `unknown posting policy "everyone": use anyone, organisation, members or senders`, "",
		"group", "set", g, "--name", "Lãnh đạo", "--policy", "everyone")
	e.fails(1, `unknown posting policy "": use anyone, organisation, members or senders`, "",
		"group", "set", g, "--policy", "")
	e.fails(2, "at least one of the flags in the group [name policy] is required (see 'mailserver group set --help')", "",
		"group", "set", g)
	e.fails(2, "missing GROUP (see 'mailserver group set --help')", "", "group", "set", "--policy", "anyone")
	e.wantAudit("group.set", g, `name "" (was "Lãnh đạo UBND")`) // failures record nothing
	e.withStore(func(st *store.Store) {
		grp, err := st.Group(g)
		if err != nil || grp.Name != "" || grp.Policy != store.PostSenders || len(grp.Members) != 2 || len(grp.Senders) != 1 {
			t.Errorf("stored group %+v, %v", grp, err)
		}
	})
}

// TestSetCommandsThroughControlSocket runs unit set and group set against a running server's control socket.
func TestSetCommandsThroughControlSocket(t *testing.T) {
	e := newEnv(t)
	st := e.startControl(t)
	e.ok("", "domain", "add", domain)
	e.ok("", "unit", "add", "vinhyen/ubnd", "--name", "UBND")
	e.ok("", "group", "add", "nhom@vinhyen.gov.vn")
	wantOut(t, "unit set", e.ok("", "unit", "set", "vinhyen", "--name", "Thành phố Vĩnh Yên"),
		`unit vinhyen is now named "Thành phố Vĩnh Yên"`+"\n")
	wantOut(t, "group set", e.ok("", "group", "set", "nhom@vinhyen.gov.vn", "--name", "Nhóm", "--policy", "anyone"),
		`group nhom@vinhyen.gov.vn: name "Nhóm", policy anyone (anyone may send, other agencies included)`+"\n")
	e.fails(1, "unit vinhyen/x does not exist: see 'mailserver unit list'", "", "unit", "set", "vinhyen/x", "--name", "X")
	e.fails(1, `unknown posting policy "x": use anyone, organisation, members or senders`, "",
		"group", "set", "nhom@vinhyen.gov.vn", "--policy", "x")
	if u, err := st.Unit("vinhyen"); err != nil || u.Name != "Thành phố Vĩnh Yên" {
		t.Errorf("unit set through the socket: %+v, %v", u, err)
	}
	if g, err := st.Group("nhom@vinhyen.gov.vn"); err != nil || g.Name != "Nhóm" || g.Policy != store.PostAnyone {
		t.Errorf("group set through the socket: %+v, %v", g, err)
	}
	log, err := st.AuditLog(store.AuditFilter{Limit: 2})
	if err != nil || len(log) != 2 || log[0].Action != "unit.set" || log[0].Detail != `name "Thành phố Vĩnh Yên" (was "")` ||
		log[1].Action != "group.set" || log[1].Detail != `name "Nhóm" (was ""), policy anyone (was organisation)` {
		t.Fatalf("audit log: %+v, %v", log, err)
	}
	for _, r := range log {
		if r.Actor != "admin:"+osUser() || r.From != "cli" {
			t.Errorf("audit record through the socket: %+v", r)
		}
	}
}

func TestShareCommands(t *testing.T) {
	e := directoryEnv(t)
	const vt = "vanthu@vinhyen.gov.vn"
	e.ok(goodPassword+"\n", "user", "add", "binh@vinhyen.gov.vn")
	wantOut(t, "share add", e.ok("", "share", "add", vt, "--name", "Văn thư UBND", "--unit", "vinhyen/ubnd"),
		"added shared mailbox vanthu@vinhyen.gov.vn\n")
	e.ok("", "share", "add", "vanthu.p1@vinhyen.gov.vn")
	if a := e.account(vt); !a.Shared || a.PasswordHash != "" || a.Unit != "vinhyen/ubnd" {
		t.Errorf("stored shared mailbox: %+v", a)
	}
	wantOut(t, "share grant", e.ok("", "share", "grant", vt, userAn, "--rights", "read", "--rights", "write,send"),
		"an.nv@vinhyen.gov.vn now has read,write,send on vanthu@vinhyen.gov.vn\n")
	e.ok("", "share", "grant", vt, "binh@vinhyen.gov.vn", "--rights", "read")
	wantOut(t, "share list", e.ok("", "share", "list"), ""+
		"SHARED                    NAME          UNIT          ACCOUNT               RIGHTS\n"+
		"vanthu.p1@vinhyen.gov.vn  -             -             -                     -\n"+
		"vanthu@vinhyen.gov.vn     Văn thư UBND  vinhyen/ubnd  an.nv@vinhyen.gov.vn  read,write,send\n"+
		"                                                      binh@vinhyen.gov.vn   read\n")
	e.fails(1, "an.nv@vinhyen.gov.vn is a user, not a shared mailbox: create one with 'mailserver share add ADDRESS'", "",
		"share", "grant", userAn, "binh@vinhyen.gov.vn", "--rights", "read")
	e.fails(1, `unknown right "admin": use read, write or send`, "", "share", "grant", vt, userAn, "--rights", "admin")
	e.fails(1, "user chi@vinhyen.gov.vn does not exist: see 'mailserver user list'", "",
		"share", "grant", vt, "chi@vinhyen.gov.vn", "--rights", "read")
	e.fails(2, `required flag(s) "rights" not set (see 'mailserver share grant --help')`, "", "share", "grant", vt, userAn)
	e.fails(1, "unit vinhyen/khong-co does not exist: add it with 'mailserver unit add vinhyen/khong-co'", "",
		"share", "add", "vp@vinhyen.gov.vn", "--unit", "vinhyen/khong-co")
	e.fails(1, "shared mailbox vanthu@vinhyen.gov.vn already exists", "", "share", "add", vt)
	e.fails(1, "vanthu@vinhyen.gov.vn is a shared mailbox: nobody logs in as it; give staff access with 'mailserver share grant vanthu@vinhyen.gov.vn ACCOUNT --rights read'",
		goodPassword+"\n", "user", "passwd", vt)
	if out := e.ok("", "user", "list"); !strings.Contains(out, "Văn thư UBND   vinhyen/ubnd  unlimited  0B    shared") {
		t.Errorf("user list does not show the shared mailbox:\n%s", out)
	}
	wantOut(t, "share revoke", e.ok("", "share", "revoke", vt, "binh@vinhyen.gov.vn"),
		"revoked the rights of binh@vinhyen.gov.vn on vanthu@vinhyen.gov.vn\n")
	e.fails(1, "binh@vinhyen.gov.vn has no rights on vanthu@vinhyen.gov.vn: see 'mailserver share list'", "",
		"share", "revoke", vt, "binh@vinhyen.gov.vn")
	e.withStore(func(st *store.Store) {
		grants, err := st.Grants(vt)
		if err != nil || len(grants) != 1 || grants[0].Account != userAn {
			t.Errorf("grants: %+v, %v", grants, err)
		}
	})
	e.ok("", "user", "remove", vt) // a shared mailbox goes like a user
}

func TestQuotaCommands(t *testing.T) {
	e := directoryEnv(t)
	e.ok("", "unit", "add", "vinhyen/phuong-1", "--name", "Phường 1")
	e.ok(goodPassword+"\n", "user", "add", "binh@vinhyen.gov.vn", "--unit", "vinhyen/phuong-1")
	e.ok("", "share", "add", "vanthu@vinhyen.gov.vn", "--unit", "vinhyen/ubnd")
	wantOut(t, "quota set", e.ok("", "quota", "set", "AN.NV@vinhyen.gov.vn", "1MB"), "set the quota of an.nv@vinhyen.gov.vn to 1MB\n")
	e.ok("", "quota", "set", "binh@vinhyen.gov.vn", "2GB")
	if a := e.account(userAn); a.Quota != 1<<20 {
		t.Errorf("quota %d", a.Quota)
	}
	e.fails(1, `invalid size "2XB": unknown unit "XB" (use B, KB, MB, GB or TB), or unlimited`, "", "quota", "set", userAn, "2XB")
	e.fails(1, "user chi@vinhyen.gov.vn does not exist: see 'mailserver user list'", "", "quota", "set", "chi@vinhyen.gov.vn", "1GB")

	// binh uses the most; vinhyen/phuong-1 (binh) outweighs vinhyen/ubnd (an.nv and the shared mailbox).
	e.deliver("binh@vinhyen.gov.vn", 600<<10)
	e.deliver(userAn, 256<<10)
	e.deliver("vanthu@vinhyen.gov.vn", 100<<10)
	out := e.ok("", "quota", "report")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var order []string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 {
			order = append(order, f[0])
		}
	}
	want := []string{"ACCOUNT", "binh@vinhyen.gov.vn", "an.nv@vinhyen.gov.vn", "vanthu@vinhyen.gov.vn",
		"UNIT", "vinhyen", "vinhyen/phuong-1", "vinhyen/ubnd"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("quota report order %v, want %v\n%s", order, want, out)
	}
	for _, frag := range []string{"binh@vinhyen.gov.vn    vinhyen/phuong-1  2GB        600KB  0.0%",
		"an.nv@vinhyen.gov.vn   vinhyen/ubnd      1MB        256KB  25.0%", "unlimited  100KB  -",
		"vinhyen           Thành phố Vĩnh Yên  2         1       956.1KB", "vinhyen/ubnd      UBND thành phố      1         1       356.1KB"} {
		if !strings.Contains(out, frag) {
			t.Errorf("quota report lacks %q:\n%s", frag, out)
		}
	}
	wantOut(t, "quota set unlimited", e.ok("", "quota", "set", userAn, "unlimited"),
		"removed the quota of an.nv@vinhyen.gov.vn (unlimited)\n")
	e.ok("", "quota", "set", "binh@vinhyen.gov.vn", "0")
	if a := e.account("binh@vinhyen.gov.vn"); a.Quota != 0 {
		t.Errorf("quota after 0: %d", a.Quota)
	}
}

func TestAuditCommand(t *testing.T) {
	e := directoryEnv(t)
	e.ok("", "alias", "add", "an@vinhyen.gov.vn", userAn)
	e.ok("", "quota", "set", userAn, "2GB")
	r := runBinaryEnv(t, []string{"SUDO_USER=hoa"}, "--config", e.config, "user", "disable", userAn)
	if r.code != 0 {
		t.Fatalf("disable under sudo: %+v", r)
	}
	actor := "admin:" + osUser()
	out := e.ok("", "audit")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[0], "TIME ") || !strings.Contains(lines[0], "ACTOR") {
		t.Fatalf("audit:\n%s", out)
	}
	for i, want := range []string{"domain.add", "unit.add", "unit.add", "user.add", "alias.add", "quota.set", "user.disable"} {
		f := strings.Fields(lines[i+1])
		if len(f) < 5 || f[3] != want {
			t.Errorf("record %d: %q, want action %s", i+1, lines[i+1], want)
			continue
		}
		wantActor := actor
		if want == "user.disable" {
			wantActor = "admin:hoa"
		}
		if f[1] != wantActor || f[2] != "cli" {
			t.Errorf("record %d: %q, want actor %s from cli", i+1, lines[i+1], wantActor)
		}
		if _, err := time.Parse(time.RFC3339, f[0]); err != nil {
			t.Errorf("record %d: time %q: %v", i+1, f[0], err)
		}
	}
	if !strings.Contains(lines[4], `an.nv@vinhyen.gov.vn  name "Nguyễn Văn An", unit vinhyen/ubnd`) {
		t.Errorf("user.add record: %q", lines[4])
	}
	count := func(args ...string) int {
		t.Helper()
		return strings.Count(e.ok("", append([]string{"audit"}, args...)...), "\n") - 1
	}
	if n := count("--account", "AN.NV@vinhyen.gov.vn"); n != 3 {
		t.Errorf("--account: %d records", n)
	}
	if n := count("--mailbox", "an@vinhyen.gov.vn"); n != 1 {
		t.Errorf("--mailbox: %d records", n)
	}
	if n := count("--since", "24h"); n != 7 {
		t.Errorf("--since 24h: %d records", n)
	}
	if n := count("--since", time.Now().Add(24*time.Hour).Format(time.DateOnly)); n != 0 {
		t.Errorf("--since tomorrow: %d records", n)
	}
	if n := count("--since", time.Now().Add(-time.Hour).Format(time.RFC3339)); n != 7 {
		t.Errorf("--since an hour ago: %d records", n)
	}
	if n := count("--limit", "2"); n != 2 {
		t.Errorf("--limit 2: %d records", n)
	}
	e.fails(1, `--since: invalid time "gestern": use RFC 3339 (2026-11-26T08:00:00+07:00), a date (2026-11-26) or a duration back from now (24h, 7d)`,
		"", "audit", "--since", "gestern")
	e.fails(2, `unexpected argument "an.nv@vinhyen.gov.vn" (see 'mailserver audit --help')`, "", "audit", userAn)
}

// TestDirectoryThroughControlSocket runs the directory commands against a running server's control socket.
func TestDirectoryThroughControlSocket(t *testing.T) {
	e := newEnv(t)
	st := e.startControl(t)
	e.ok("", "domain", "add", domain)
	e.ok("", "unit", "add", "vinhyen/ubnd", "--name", "UBND")
	e.ok(goodPassword+"\n", "user", "add", userAn, "--unit", "vinhyen/ubnd")
	e.fails(1, "unit vinhyen/ubnd still has 1 account(s) (an.nv@vinhyen.gov.vn): move them elsewhere with 'mailserver user move ADDRESS PATH' or remove them first",
		"", "unit", "remove", "vinhyen/ubnd")
	e.fails(1, "unit vinhyen/x does not exist: add it with 'mailserver unit add vinhyen/x'", goodPassword+"\n",
		"user", "add", "binh@vinhyen.gov.vn", "--unit", "vinhyen/x")
	e.ok("", "user", "move", userAn, "vinhyen")
	e.ok("", "alias", "add", "an@vinhyen.gov.vn", userAn)
	e.ok("", "group", "add", "nhom@vinhyen.gov.vn", "--policy", "anyone")
	e.ok("", "group", "member", "add", "nhom@vinhyen.gov.vn", "unit:vinhyen")
	e.ok("", "group", "sender", "add", "nhom@vinhyen.gov.vn", userAn)
	e.ok("", "share", "add", "vanthu@vinhyen.gov.vn", "--unit", "vinhyen/ubnd")
	e.ok("", "share", "grant", "vanthu@vinhyen.gov.vn", userAn, "--rights", "write")
	e.ok("", "quota", "set", userAn, "1GB")
	e.ok("", "user", "disable", userAn, "--reject-mail")
	if out := e.ok("", "unit", "list"); !strings.Contains(out, "  vinhyen/ubnd  UBND  0         0       1\n") {
		t.Errorf("unit list through the socket:\n%s", out)
	}
	if out := e.ok("", "group", "show", "nhom@vinhyen.gov.vn"); !strings.Contains(out, "  unit:vinhyen\n") {
		t.Errorf("group show through the socket:\n%s", out)
	}
	if out := e.ok("", "share", "list"); !strings.Contains(out, "an.nv@vinhyen.gov.vn  read,write") {
		t.Errorf("share list through the socket:\n%s", out)
	}
	if out := e.ok("", "quota", "report"); !strings.Contains(out, "1GB") {
		t.Errorf("quota report through the socket:\n%s", out)
	}
	a, err := st.Account(userAn)
	if err != nil || a.Unit != "vinhyen" || a.Quota != 1<<30 || !a.Disabled || !a.RejectMail {
		t.Errorf("account changed through the socket: %+v, %v", a, err)
	}
	log, err := st.AuditLog(store.AuditFilter{})
	if err != nil || len(log) != 12 {
		t.Fatalf("audit log: %d records, %v", len(log), err)
	}
	for _, r := range log {
		if r.Actor != "admin:"+osUser() || r.From != "cli" {
			t.Errorf("audit record through the socket: %+v", r)
		}
	}
	if out := e.ok("", "audit", "--account", userAn); strings.Count(out, "\n") != 5 { // header, user.add, user.move, quota.set, user.disable
		t.Errorf("audit through the socket:\n%s", out)
	}
}

// runBinaryEnv is runBinary with extra environment variables.
func runBinaryEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if exit, ok := err.(*exec.ExitError); ok {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}
