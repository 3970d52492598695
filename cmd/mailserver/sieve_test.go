package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailserver/internal/store"
)

// locThu files circulars and flags urgent mail: a script with Vietnamese text, stored under a Vietnamese name.
const (
	locThu     = "lọc thư"
	locThuText = "# Lọc công văn đến\n" +
		"require [\"fileinto\", \"imap4flags\", \"comparator-vnd-mailserver-vi-fold\"];\n" +
		"if header :comparator \"vnd-mailserver-vi-fold\" :contains \"subject\" \"cong van\" {\n" +
		"  fileinto \"Công văn đến\";\n" +
		"} elsif header :contains \"subject\" \"Hỏa tốc\" {\n" +
		"  addflag \"\\\\Flagged\";\n" +
		"}\n"
)

// sieveRow matches the header and the rows of sieve list: NAME, ACTIVE, SIZE, UPDATED (RFC 3339).
var sieveRow = regexp.MustCompile(`^(.+?)  +(yes|-)  +(\S+)  +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$`)

// sieveList runs sieve list for address and returns its rows as "NAME ACTIVE SIZE", after checking the header.
func (e *env) sieveList(address string) []string {
	e.t.Helper()
	lines := strings.Split(strings.TrimSuffix(e.ok("", "sieve", "list", address), "\n"), "\n")
	if !regexp.MustCompile(`^NAME  +ACTIVE  +SIZE  +UPDATED$`).MatchString(lines[0]) {
		e.t.Errorf("sieve list header %q", lines[0])
	}
	var rows []string
	for _, l := range lines[1:] {
		m := sieveRow.FindStringSubmatch(l)
		if m == nil {
			e.t.Errorf("sieve list row %q", l)
			continue
		}
		rows = append(rows, m[1]+" "+m[2]+" "+m[3])
	}
	return rows
}

// TestSieveCommands stores, lists, reads, activates and removes scripts with the server stopped: from a file and
// from standard input, with their confirmations, audit records and errors.
func TestSieveCommands(t *testing.T) {
	e := directoryEnv(t)
	file := filepath.Join(filepath.Dir(e.config), "loc-thu.sieve")
	if err := os.WriteFile(file, []byte(locThuText), 0o600); err != nil {
		t.Fatal(err)
	}
	wantOut(t, "sieve list of none", e.ok("", "sieve", "list", userAn), "NAME  ACTIVE  SIZE  UPDATED\n")
	wantOut(t, "sieve put FILE", e.ok("", "sieve", "put", "AN.NV@vinhyen.gov.vn", locThu, file, "--activate"),
		"stored filter script “lọc thư” of an.nv@vinhyen.gov.vn (287B, active)\n")
	e.wantAudit("sieve.activate", userAn, `script "lọc thư"`)
	wantOut(t, "sieve put from stdin", e.ok("keep;\n", "sieve", "put", userAn, "dự phòng"),
		"stored filter script “dự phòng” of an.nv@vinhyen.gov.vn (6B, inactive)\n")
	e.wantAudit("sieve.put", userAn, `script "dự phòng", 6 bytes`)
	e.ok("discard;\n", "sieve", "put", userAn, "bỏ qua", "-")
	if rows := e.sieveList(userAn); strings.Join(rows, "|") != "bỏ qua - 9B|dự phòng - 6B|lọc thư yes 287B" {
		t.Errorf("sieve list rows %q", rows)
	}
	wantOut(t, "sieve get", e.ok("", "sieve", "get", userAn, locThu), locThuText)
	wantOut(t, "sieve activate", e.ok("", "sieve", "activate", userAn, "dự phòng"),
		"set the active filter of an.nv@vinhyen.gov.vn to “dự phòng”\n")
	e.wantAudit("sieve.activate", userAn, `script "dự phòng"`)
	wantOut(t, "sieve remove", e.ok("", "sieve", "remove", userAn, locThu),
		"removed filter script “lọc thư” of an.nv@vinhyen.gov.vn\n")
	e.wantAudit("sieve.remove", userAn, `script "lọc thư"`)
	wantOut(t, "sieve activate --none", e.ok("", "sieve", "activate", userAn, "--none"),
		"turned filtering off for an.nv@vinhyen.gov.vn: no script runs\n")
	e.wantAudit("sieve.deactivate", userAn, "no script runs")
	if rows := e.sieveList(userAn); strings.Join(rows, "|") != "bỏ qua - 9B|dự phòng - 6B" {
		t.Errorf("sieve list rows after remove and --none %q", rows)
	}
	e.withStore(func(st *store.Store) {
		a, err := st.Account(userAn)
		if err != nil {
			t.Fatal(err)
		}
		if src, err := st.SieveScript(a.ID, "bỏ qua"); err != nil || string(src) != "discard;\n" {
			t.Errorf("stored script %q, %v", src, err)
		}
	})
}

func TestSieveErrors(t *testing.T) {
	e := directoryEnv(t)
	e.ok("keep;\n", "sieve", "put", userAn, locThu, "--activate")
	missing := filepath.Join(filepath.Dir(e.config), "khong-co.sieve")
	tests := []struct {
		code          int
		reason, stdin string
		args          []string
	}{
		{1, `script "hỏng" for an.nv@vinhyen.gov.vn: line 2, column 22: expected ";" or a block after command "fileinto", found end of script`,
			"require \"fileinto\";\nfileinto \"Lưu trữ\"", []string{"sieve", "put", userAn, "hỏng"}},
		{1, "an.nv@vinhyen.gov.vn has no filter script \"không có\"; `mailserver sieve list an.nv@vinhyen.gov.vn` shows them",
			"", []string{"sieve", "get", userAn, "không có"}},
		{1, "an.nv@vinhyen.gov.vn has no filter script \"không có\"; `mailserver sieve list an.nv@vinhyen.gov.vn` shows them",
			"", []string{"sieve", "activate", userAn, "không có"}},
		{1, `script "lọc thư" is the active one of an.nv@vinhyen.gov.vn: activate another or turn filtering off ` +
			"(`mailserver sieve activate an.nv@vinhyen.gov.vn --none`) first", "", []string{"sieve", "remove", userAn, locThu}},
		{1, "user chi@vinhyen.gov.vn does not exist: see 'mailserver user list'", "", []string{"sieve", "list", "chi@vinhyen.gov.vn"}},
		{1, "script file: open " + missing + ": no such file or directory", "", []string{"sieve", "put", userAn, "x", missing}},
		{1, "the script in standard input is empty: give a FILE, or the script on standard input", "", []string{"sieve", "put", userAn, "x"}},
		{1, "the script name is empty: give a NAME, or --none to turn filtering off", "", []string{"sieve", "activate", userAn, ""}},
		{1, "the script in standard input is larger than 16MB, more than any server takes", strings.Repeat("#", 16<<20+1),
			[]string{"sieve", "put", userAn, "x"}},
		{2, "missing NAME, or --none to turn filtering off (see 'mailserver sieve activate --help')", "", []string{"sieve", "activate", userAn}},
		{2, `unexpected argument "x" (see 'mailserver sieve activate --help')`, "", []string{"sieve", "activate", userAn, "x", "--none"}},
		{2, "missing NAME (see 'mailserver sieve put --help')", "", []string{"sieve", "put", userAn}},
		{2, `unexpected argument "d" (see 'mailserver sieve put --help')`, "", []string{"sieve", "put", userAn, "a", "b", "d"}},
	}
	for _, tt := range tests {
		e.fails(tt.code, tt.reason, tt.stdin, tt.args...)
	}
	if rows := e.sieveList(userAn); strings.Join(rows, "|") != "lọc thư yes 6B" {
		t.Errorf("scripts after the failures %q", rows)
	}
}

// TestSieveThroughControlSocket runs the sieve commands against a running server's control socket.
func TestSieveThroughControlSocket(t *testing.T) {
	e := directoryEnv(t)
	st := e.startControl(t)
	e.ok(locThuText, "sieve", "put", userAn, locThu, "--activate")
	if rows := e.sieveList(userAn); strings.Join(rows, "|") != "lọc thư yes 287B" {
		t.Errorf("sieve list through the socket %q", rows)
	}
	wantOut(t, "sieve get through the socket", e.ok("", "sieve", "get", userAn, locThu), locThuText)
	e.fails(1, `script "sai" for an.nv@vinhyen.gov.vn: line 1, column 1: unknown command "fileinot"`, "fileinot \"x\";\n",
		"sieve", "put", userAn, "sai")
	// Larger than a request line of the socket: it travels after the line.
	big := strings.Repeat("# Ghi chú về quy trình xử lý công văn.\n", 4000) + "keep;\n"
	e.ok(big, "sieve", "put", userAn, "dài")
	wantOut(t, "a large script through the socket", e.ok("", "sieve", "get", userAn, "dài"), big)
	e.ok("", "sieve", "remove", userAn, "dài")
	e.ok("", "sieve", "activate", userAn, "--none")
	e.ok("", "sieve", "remove", userAn, locThu)
	a, err := st.Account(userAn)
	if err != nil {
		t.Fatal(err)
	}
	if scripts, err := st.SieveScripts(a.ID); err != nil || len(scripts) != 0 {
		t.Errorf("scripts left through the socket: %+v, %v", scripts, err)
	}
	log, err := st.AuditLog(store.AuditFilter{Limit: 3})
	if err != nil || len(log) != 3 || log[0].Detail != `script "dài"` || log[1].Action != "sieve.deactivate" ||
		log[2].Detail != `script "lọc thư"` || log[0].Actor != "admin:"+osUser() || log[0].From != "cli" {
		t.Errorf("audit through the socket: %+v, %v", log, err)
	}
}

// With the server stopped, the command holds scripts to the configuration's [sieve] limits, as the server would.
func TestSievePutHonoursConfiguredLimit(t *testing.T) {
	e := directoryEnv(t)
	f, err := os.OpenFile(e.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("[sieve]\nmax_script_size = \"1KB\"\n")
	if err := errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("# ghi chú\n", 120) + "keep;\n"
	e.fails(1, `script "lọc thư" for an.nv@vinhyen.gov.vn: script is 1326 bytes, more than the limit of 1024`, long,
		"sieve", "put", userAn, locThu)
	e.ok("keep;\n", "sieve", "put", userAn, locThu)
}
