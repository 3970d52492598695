package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"mailserver/internal/store"
)

// staffRows are 20 people as an office lists them: name, unit, address, quota. Two are called Nguyễn Văn An, in
// different units; one row gives its address, and quotas are written as Excel writes them in Vietnamese.
var staffRows = [][4]string{
	{"Nguyễn Văn An", "vinhyen/ubnd", "", ""},
	{"Trần Thị Bích Ngọc", "vinhyen/ubnd", "", "2GB"},
	{"Nguyễn Văn An", "vinhyen/ubnd/phong-noi-vu", "", ""},
	{"Đỗ Đức Đạt", "vinhyen/ubnd/phong-noi-vu", "", ""},
	{"Lê Hoa", "vinhyen/ubnd", "hoa.le@vinhyen.gov.vn", "1,5GB"},
	{"Phạm Minh Tuấn", "vinhyen/ubnd", "", ""},
	{"Hoàng Thị Lan", "vinhyen/ubnd", "", ""},
	{"Vũ Quang Hải", "vinhyen/ubnd/phong-noi-vu", "", ""},
	{"Bùi Thu Trang", "vinhyen/ubnd/phong-noi-vu", "", ""},
	{"Đặng Văn Hùng", "vinhyen/ubnd", "", "500MB"},
	{"Ngô Thanh Hương", "vinhyen/ubnd", "", ""},
	{"Dương Minh Khánh", "vinhyen/ubnd", "", ""},
	{"Lý Thị Mai", "vinhyen/ubnd/phong-noi-vu", "", ""},
	{"Đinh Xuân Nam", "vinhyen/ubnd/phong-noi-vu", "", ""},
	{"Trương Gia Phương", "vinhyen/ubnd", "", ""},
	{"Hồ Ngọc Linh", "vinhyen/ubnd", "", ""},
	{"Phan Văn Sơn", "vinhyen/ubnd", "", ""},
	{"Võ Thị Yến", "vinhyen/ubnd/phong-noi-vu", "", ""},
	{"Huỳnh Quốc Việt", "vinhyen/ubnd/phong-noi-vu", "", ""},
	{"Ưng Kim Uyên", "vinhyen/ubnd", "", ""},
}

// staffCSV writes rows as Excel does in a Vietnamese locale: a byte-order mark, a Vietnamese header with a row
// number column, semicolons and CRLF.
func staffCSV(rows [][4]string) string {
	var b strings.Builder
	b.WriteString("\uFEFFSTT;Họ và tên;Đơn vị;Địa chỉ;Dung lượng\r\n")
	for i, r := range rows {
		fmt.Fprintf(&b, "%d;%s;%s;%s;%s\r\n", i+1, r[0], r[1], r[2], r[3])
	}
	return b.String()
}

// importEnv is an env with domain vinhyen.gov.vn and units vinhyen/ubnd and vinhyen/ubnd/phong-noi-vu, and a
// folder of its own for staff lists and credentials files.
func importEnv(t *testing.T) (*env, string) {
	e := newEnv(t)
	e.ok("", "domain", "add", domain)
	e.ok("", "unit", "add", "vinhyen/ubnd", "--name", "UBND thành phố")
	e.ok("", "unit", "add", "vinhyen/ubnd/phong-noi-vu", "--name", "Phòng Nội vụ")
	return e, filepath.Dir(e.config)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// planned reads the "to create" table of an import's output: line number → address.
func planned(out string) map[int]string {
	got := map[int]string{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(line, "  ") {
			continue
		}
		if n, err := strconv.Atoi(f[0]); err == nil {
			got[n] = f[1]
		}
	}
	return got
}

// readCredentials reads a credentials file: address → initial password. It checks the mode, the byte-order mark
// and the header.
func readCredentials(t *testing.T, path string) map[string]string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text, ok := strings.CutPrefix(string(data), "\uFEFF")
	if !ok {
		t.Error("credentials file has no byte-order mark (Excel would garble the names)")
	}
	records, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) == 0 || strings.Join(records[0], ",") != "address,name,unit,password" {
		t.Fatalf("credentials header: %q", records)
	}
	out := map[string]string{}
	for _, r := range records[1:] {
		out[r[0]] = r[3]
	}
	return out
}

func userCount(e *env) int { return strings.Count(e.ok("", "user", "list"), "\n") - 1 }

// TestUserImport imports a staff list of 20 people: a dry run shows the generated addresses and changes nothing,
// the real run creates them with their passwords in the --out file only, and a second run creates nothing.
func TestUserImport(t *testing.T) {
	e, dir := importEnv(t)
	file := filepath.Join(dir, "nhan-su.csv")
	writeFile(t, file, staffCSV(staffRows))
	creds := filepath.Join(dir, "mat-khau.csv")

	// The dry run: file line numbers count the header, so the first person is on line 2.
	out := e.ok("", "user", "import", file, "--dry-run", "--out", creds)
	if !strings.HasPrefix(out, file+": 20 to create, 0 already exist, 0 conflicts, 0 errors\n") ||
		!strings.Contains(out, "given-initials (Nguyễn Văn An → annv, annv2, annv3)") ||
		!strings.HasSuffix(out, "dry run: nothing was changed; run without --dry-run, with --out FILE, to create the accounts\n") {
		t.Errorf("dry run output:\n%s", out)
	}
	want := map[int]string{2: "annv@vinhyen.gov.vn", 3: "ngocttb@vinhyen.gov.vn", 4: "annv2@vinhyen.gov.vn",
		5: "datdd@vinhyen.gov.vn", 6: "hoa.le@vinhyen.gov.vn", 7: "tuanpm@vinhyen.gov.vn", 21: "uyenuk@vinhyen.gov.vn"}
	plan := planned(out)
	if len(plan) != 20 {
		t.Errorf("the dry run lists %d accounts to create, want 20:\n%s", len(plan), out)
	}
	for line, addr := range want {
		if plan[line] != addr {
			t.Errorf("line %d: planned %q, want %s", line, plan[line], addr)
		}
	}
	if n := userCount(e); n != 0 {
		t.Errorf("the dry run created %d users", n)
	}
	if _, err := os.Stat(creds); !os.IsNotExist(err) {
		t.Errorf("the dry run created the credentials file: %v", err)
	}

	// The real run. The binary hashes at production cost: 20 accounts take a second or two.
	out = e.ok("", "user", "import", file, "--out", creds)
	if !strings.HasSuffix(out, "created 20 account(s); their initial passwords are in "+creds+
		" (readable by you only): hand them out, then delete the file\n") {
		t.Errorf("import output:\n%s", out)
	}
	passwords := readCredentials(t, creds)
	if len(passwords) != 20 {
		t.Errorf("credentials file holds %d accounts, want 20", len(passwords))
	}
	for addr, pw := range passwords {
		if len(pw) < 10 || strings.Contains(out, pw) {
			t.Errorf("password of %s: %q (too short, or printed on standard output)", addr, pw)
		}
	}
	an := e.account("annv@vinhyen.gov.vn")
	if an.Name != "Nguyễn Văn An" || an.Unit != "vinhyen/ubnd" || an.Quota != 0 {
		t.Errorf("annv: %+v", an)
	}
	checkPassword(t, an, passwords["annv@vinhyen.gov.vn"], true)
	if a := e.account("ngocttb@vinhyen.gov.vn"); a.Name != "Trần Thị Bích Ngọc" || a.Quota != 2<<30 {
		t.Errorf("ngocttb: %+v", a)
	}
	if a := e.account("hoa.le@vinhyen.gov.vn"); a.Quota != 3<<29 {
		t.Errorf("hoa.le: quota %d, want 1.5GB", a.Quota)
	}
	if a := e.account("annv2@vinhyen.gov.vn"); a.Unit != "vinhyen/ubnd/phong-noi-vu" {
		t.Errorf("annv2: %+v", a)
	}
	if n := userCount(e); n != 20 {
		t.Errorf("%d users after the import, want 20", n)
	}
	if log := e.ok("", "audit", "--account", "datdd@vinhyen.gov.vn"); !strings.Contains(log, "user.add") {
		t.Errorf("the import left no audit record:\n%s", log)
	}

	// Running the same file again creates nothing, even with the same --out, which is left as it is.
	before, _ := os.ReadFile(creds)
	out = e.ok("", "user", "import", file, "--out", creds)
	wantOut(t, "second import", out, file+": 0 to create, 20 already exist, 0 conflicts, 0 errors\n"+
		"nothing to create: every account in "+file+" already exists; nothing was changed\n")
	if after, _ := os.ReadFile(creds); string(after) != string(before) {
		t.Error("the second import changed the credentials file")
	}
	if n := userCount(e); n != 20 {
		t.Errorf("%d users after the second import, want 20", n)
	}
	if out := e.ok("", "check"); out != "store is consistent\n" {
		t.Errorf("check: %q", out)
	}
}

func TestUserImportErrors(t *testing.T) {
	e, dir := importEnv(t)
	bad := filepath.Join(dir, "sai.csv")
	writeFile(t, bad, staffCSV([][4]string{
		{"Nguyễn Văn An", "vinhyen/ubnd", "", ""},
		{"Trần Thị Bích Ngọc", "vinhyen/khong-co", "", ""},
	}))
	creds := filepath.Join(dir, "mat-khau.csv")
	const unitProblem = "line 3, column Đơn vị: unit vinhyen/khong-co does not exist (see 'mailserver unit list', or add it with 'mailserver unit add vinhyen/khong-co')"
	r := e.run("", "user", "import", bad, "--out", creds)
	if r.code != 1 || r.stderr != "mailserver: "+bad+": "+unitProblem+"; nothing was created\n" {
		t.Errorf("bad unit: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "problems (nothing is created until they are fixed):\n  "+unitProblem+"\n") {
		t.Errorf("bad unit: the problem is not listed on standard output:\n%s", r.stdout)
	}
	if _, err := os.Stat(creds); !os.IsNotExist(err) {
		t.Errorf("a refused import created the credentials file: %v", err)
	}
	if n := userCount(e); n != 0 {
		t.Errorf("a refused import created %d users", n)
	}

	// Several problems: the first on standard error, all on standard output.
	writeFile(t, bad, staffCSV([][4]string{
		{"Nguyễn Văn An", "vinhyen/ubnd", "", "2XB"},
		{"", "vinhyen/ubnd", "", ""},
		{"Lê Hoa", "vinhyen/ubnd", "hoa@phucyen.gov.vn", ""},
	}))
	r = e.run("", "user", "import", bad, "--dry-run")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "mailserver: "+bad+": line 2, column Dung lượng: ") ||
		!strings.HasSuffix(r.stderr, "; 3 problems in all, listed on standard output; nothing was created\n") ||
		strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("several problems: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{"  line 2, column Dung lượng: ", "  line 3, column Họ và tên: the name is empty\n",
		"  line 4, column Địa chỉ: domain phucyen.gov.vn is not served here"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("several problems: standard output lacks %q:\n%s", want, r.stdout)
		}
	}

	good := filepath.Join(dir, "dung.csv")
	writeFile(t, good, staffCSV(staffRows[:2]))
	e.fails(2, "--out FILE is required: the initial passwords are written there and nowhere else; --dry-run only shows the plan (see 'mailserver user import --help')",
		"", "user", "import", good)
	e.fails(2, "missing FILE.csv (see 'mailserver user import --help')", "", "user", "import", "--dry-run")
	e.fails(1, `--name-rule: unknown name rule "ten": use given-initials, given.initials, given.family, full`,
		"", "user", "import", good, "--dry-run", "--name-rule", "ten")
	e.fails(1, "open "+filepath.Join(dir, "khong-co.csv")+": no such file or directory", "",
		"user", "import", filepath.Join(dir, "khong-co.csv"), "--dry-run")
	e.fails(1, "--domain: domain phucyen.gov.vn does not exist: add it with 'mailserver domain add phucyen.gov.vn'", "",
		"user", "import", good, "--dry-run", "--domain", "phucyen.gov.vn")
	e.ok("", "domain", "add", "phucyen.gov.vn")
	e.fails(1, "there are 2 domains (phucyen.gov.vn, vinhyen.gov.vn): choose the one for the new addresses with --domain", "",
		"user", "import", good, "--dry-run")

	// An existing credentials file is never overwritten: it may hold passwords not handed out yet.
	writeFile(t, creds, "address,name,unit,password\n")
	r = e.run("", "user", "import", good, "--out", creds, "--domain", "PhucYen.gov.vn", "--name-rule", "given.initials")
	if r.code != 1 || !strings.Contains(r.stderr, "credentials file "+creds+" already exists") {
		t.Errorf("existing --out: exit %d, stderr %q", r.code, r.stderr)
	}
	if n := userCount(e); n != 0 {
		t.Errorf("an import refused for its --out created %d users", n)
	}
	// Another name rule, another domain and a default quota.
	creds2 := filepath.Join(dir, "mat-khau-2.csv")
	out := e.ok("", "user", "import", good, "--out", creds2, "--domain", "PhucYen.gov.vn", "--name-rule", "given.initials",
		"--quota", "1GB")
	if plan := planned(out); plan[2] != "an.nv@phucyen.gov.vn" || plan[3] != "ngoc.ttb@phucyen.gov.vn" {
		t.Errorf("given.initials in phucyen.gov.vn: %v\n%s", plan, out)
	}
	if a := e.account("an.nv@phucyen.gov.vn"); a.Quota != 1<<30 {
		t.Errorf("default quota: %d", a.Quota)
	}
	if a := e.account("ngoc.ttb@phucyen.gov.vn"); a.Quota != 2<<30 {
		t.Errorf("a row's own quota: %d", a.Quota)
	}
	// Another default quota: the row without an address and without a quota, found by name and unit, states it,
	// so its account is a conflict; the row with its own quota is not.
	const quotaConflict = "line 2, column Dung lượng: an.nv@phucyen.gov.vn already exists with quota 1GB, not 2GB (the quota for rows without one): change it with 'mailserver quota set an.nv@phucyen.gov.vn 2GB', or give the row its own quota"
	r = e.run("", "user", "import", good, "--dry-run", "--domain", "phucyen.gov.vn", "--name-rule", "given.initials",
		"--quota", "2GB")
	if r.code != 1 || r.stderr != "mailserver: "+good+": "+quotaConflict+"; nothing was created\n" ||
		!strings.HasPrefix(r.stdout, good+": 0 to create, 1 already exist, 1 conflicts, 0 errors\n") {
		t.Errorf("another default quota: exit %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
	}
}

func TestUserHandover(t *testing.T) {
	e := directoryEnv(t)
	const binh, chi = "binh@vinhyen.gov.vn", "chi@vinhyen.gov.vn"
	e.ok(goodPassword+"\n", "user", "add", binh, "--name", "Trần Thị Bình", "--unit", "vinhyen/ubnd")
	e.ok(goodPassword+"\n", "user", "add", chi, "--quota", "1KB")
	e.deliver(userAn, 3000)
	e.deliver(userAn, 5000)
	used := e.account(userAn).Used

	wantOut(t, "handover", e.ok("", "user", "handover", "AN.NV@vinhyen.gov.vn", binh), fmt.Sprintf(""+
		"handed an.nv@vinhyen.gov.vn over to binh@vinhyen.gov.vn: 6 folder(s), 2 message(s), %s copied under \"Bàn giao/an.nv@vinhyen.gov.vn\"\n"+
		"an.nv@vinhyen.gov.vn still exists: disable it with 'mailserver user disable an.nv@vinhyen.gov.vn --reject-mail' or remove it with 'mailserver user remove an.nv@vinhyen.gov.vn'\n",
		formatSize(used)))
	e.withStore(func(st *store.Store) {
		heir, err := st.Account(binh)
		if err != nil || heir.Used != used {
			t.Errorf("successor %+v, %v: want usage %d", heir, err, used)
		}
		for _, name := range []string{"INBOX", "Sent", "Drafts", "Archive"} {
			m, err := st.Mailbox(heir.ID, "Bàn giao/an.nv@vinhyen.gov.vn/"+name)
			if err != nil || (name == "INBOX") != (m.Messages == 2) {
				t.Errorf("successor's copy of %s: %+v, %v", name, m, err)
			}
		}
		log, err := st.AuditLog(store.AuditFilter{Limit: 1})
		if err != nil || len(log) != 1 || log[0].Action != "user.handover" || log[0].Target != userAn ||
			!strings.HasPrefix(log[0].Detail, "to binh@vinhyen.gov.vn, copied under") {
			t.Errorf("audit record %+v, %v", log, err)
		}
	})
	e.fails(1, `an.nv@vinhyen.gov.vn was already handed over to binh@vinhyen.gov.vn (folder "Bàn giao/an.nv@vinhyen.gov.vn"): a second handover would copy everything twice`,
		"", "user", "handover", userAn, binh)
	e.fails(1, "user khong-co@vinhyen.gov.vn does not exist: see 'mailserver user list'", "",
		"user", "handover", userAn, "khong-co@vinhyen.gov.vn")
	e.fails(2, "missing NEW (see 'mailserver user handover --help')", "", "user", "handover", userAn)

	// A successor with a small quota is warned that it is now over it.
	out := e.ok("", "user", "handover", userAn, chi)
	if !strings.Contains(out, "\nwarning: chi@vinhyen.gov.vn now uses "+formatSize(used)+
		" of its 1KB quota, so new mail to it is refused: raise it with 'mailserver quota set chi@vinhyen.gov.vn SIZE'\n") {
		t.Errorf("handover over quota:\n%s", out)
	}

	// The successor keeps the mail once the predecessor is removed.
	e.ok("", "user", "remove", userAn)
	e.withStore(func(st *store.Store) {
		heir, _ := st.Account(binh)
		if m, err := st.Mailbox(heir.ID, "Bàn giao/an.nv@vinhyen.gov.vn/INBOX"); err != nil || m.Messages != 2 {
			t.Errorf("the copy after removing the predecessor: %+v, %v", m, err)
		}
	})
	if out := e.ok("", "check"); out != "store is consistent\n" {
		t.Errorf("check: %q", out)
	}
}

// TestHandoverAndImportThroughControlSocket runs both commands against a server's control socket: the store is
// locked, so they can only succeed through it.
func TestHandoverAndImportThroughControlSocket(t *testing.T) {
	e := newEnv(t)
	st := e.startControl(t)
	e.ok("", "domain", "add", domain)
	e.ok("", "unit", "add", "vinhyen/ubnd")
	e.ok(goodPassword+"\n", "user", "add", userAn, "--unit", "vinhyen/ubnd")
	e.ok(goodPassword+"\n", "user", "add", "binh@vinhyen.gov.vn")
	if out := e.ok("", "user", "handover", userAn, "binh@vinhyen.gov.vn"); !strings.HasPrefix(out,
		"handed an.nv@vinhyen.gov.vn over to binh@vinhyen.gov.vn: 6 folder(s), 0 message(s), 0B copied") {
		t.Errorf("handover through the socket:\n%s", out)
	}
	heir, _ := st.Account("binh@vinhyen.gov.vn")
	if _, err := st.Mailbox(heir.ID, "Bàn giao/an.nv@vinhyen.gov.vn/INBOX"); err != nil {
		t.Errorf("handover through the socket: %v", err)
	}

	dir := filepath.Dir(e.config)
	file, creds := filepath.Join(dir, "nhan-su.csv"), filepath.Join(dir, "mat-khau.csv")
	// An account of the same name and unit already exists: the row is that person, not a new one.
	e.ok(goodPassword+"\n", "user", "add", "annv@vinhyen.gov.vn", "--name", "Nguyễn Văn An", "--unit", "vinhyen/ubnd")
	writeFile(t, file, "Họ và tên,Đơn vị\nNguyễn Văn An,vinhyen/ubnd\nTrần Thị Bích Ngọc,vinhyen/ubnd\nĐỗ Đức Đạt,vinhyen/ubnd\n")
	out := e.ok("", "user", "import", file, "--dry-run")
	if plan := planned(out); len(plan) != 2 || plan[3] != "ngocttb@vinhyen.gov.vn" || plan[4] != "datdd@vinhyen.gov.vn" {
		t.Errorf("dry run through the socket:\n%s", out)
	}
	if !strings.HasPrefix(out, file+": 2 to create, 1 already exist, 0 conflicts, 0 errors\n") {
		t.Errorf("dry run through the socket does not count the existing account:\n%s", out)
	}
	e.ok("", "user", "import", file, "--out", creds)
	passwords := readCredentials(t, creds)
	a, err := st.Account("ngocttb@vinhyen.gov.vn")
	if err != nil || len(passwords) != 2 || a.Name != "Trần Thị Bích Ngọc" {
		t.Fatalf("import through the socket: %+v, %v, %d passwords", a, err, len(passwords))
	}
	checkPassword(t, a, passwords["ngocttb@vinhyen.gov.vn"], true)
	if out := e.ok("", "user", "import", file, "--out", creds); !strings.Contains(out, "nothing to create") {
		t.Errorf("second import through the socket:\n%s", out)
	}
}

// TestHandoverImportHelp checks that the help of the two commands documents what an administrator must know
// before running them.
func TestHandoverImportHelp(t *testing.T) {
	for cmd, wants := range map[string][]string{
		"handover": {`"Bàn giao/OLD/…"`, "one transaction", "Why a folder tree and not a shared grant", "NEW owns the handed-over mail",
			"survives removing OLD", "'mailserver user disable OLD --reject-mail'", "a second time is refused"},
		"import": {"--out", "mode 0600", "họ và tên", "đơn vị", "địa chỉ", "dung lượng", "semicolons", "byte-order mark",
			"Nguyễn Văn An → annv", "Trần Thị Bích Ngọc → ngocttb", "annv, annv2, annv3", "given.initials", "--dry-run",
			"line and column", "Running the same file again creates nothing", "--domain defaults to the only domain"},
	} {
		r := runBinary(t, "", "user", cmd, "--help")
		if r.code != 0 {
			t.Fatalf("user %s --help: exit %d", cmd, r.code)
		}
		text := strings.Join(strings.Fields(r.stdout), " ") // the words, whatever the line breaks
		for _, want := range wants {
			if !strings.Contains(text, want) {
				t.Errorf("user %s --help lacks %q:\n%s", cmd, want, r.stdout)
			}
		}
	}
}
