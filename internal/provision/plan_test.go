package provision

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"mailserver/internal/store"
)

func TestDuplicateNumbering(t *testing.T) {
	file := "Họ và tên;Đơn vị\n" +
		"Nguyễn Văn An;vinhyen/ubnd\n" +
		"Nguyễn Văn An;vinhyen/ubnd\n" + // a second An in the same office
		"Nông Văn Ân;vinhyen/phuong-dong-da\n" + // another name, the same address
		"Nguyễn Văn An;vinhyen/ubnd\n"
	p := mustPlan(t, file, testDirectory(), testOptions)
	wantCreated(t, p, "2 annv@vinhyen.gov.vn", "3 annv2@vinhyen.gov.vn", "4 annv3@vinhyen.gov.vn", "5 annv4@vinhyen.gov.vn")
	if dups := []int{p.Create[0].DuplicateOf, p.Create[1].DuplicateOf, p.Create[2].DuplicateOf, p.Create[3].DuplicateOf}; !slices.Equal(dups, []int{0, 2, 0, 2}) {
		t.Errorf("DuplicateOf = %v, want [0 2 0 2]", dups)
	}

	t.Run("from one", func(t *testing.T) {
		p := mustPlan(t, file, testDirectory(), Options{Domain: testDomain, Rule: NameRule{FirstNumber: 1}})
		wantCreated(t, p, "2 annv@vinhyen.gov.vn", "3 annv1@vinhyen.gov.vn", "4 annv2@vinhyen.gov.vn", "5 annv3@vinhyen.gov.vn")
	})
	t.Run("dotted style", func(t *testing.T) {
		p := mustPlan(t, file, testDirectory(), Options{Domain: testDomain, Rule: NameRule{Style: StyleGivenDotInitials}})
		wantCreated(t, p, "2 an.nv@vinhyen.gov.vn", "3 an.nv2@vinhyen.gov.vn", "4 an.nv3@vinhyen.gov.vn", "5 an.nv4@vinhyen.gov.vn")
	})
	t.Run("per domain", func(t *testing.T) {
		p := mustPlan(t, "Nguyễn Văn An,vinhyen/ubnd\nNguyễn Văn An,vinhyen/ubnd,@ubnd.vinhyen.gov.vn\n",
			testDirectory(), testOptions)
		wantCreated(t, p, "1 annv@vinhyen.gov.vn", "2 annv@ubnd.vinhyen.gov.vn")
	})
}

// TestTakenAddresses shows that generated addresses avoid accounts, aliases and groups, and addresses that any
// row of the file asks for, even a later one.
func TestTakenAddresses(t *testing.T) {
	d := testDirectory(store.Account{Address: "annv@vinhyen.gov.vn", Name: "Nguyễn Văn Ân", Unit: "vinhyen/ubnd"})
	d.Aliases = []string{"annv2@vinhyen.gov.vn"}
	d.Groups = []string{"ANNV3@vinhyen.gov.vn"}
	file := "Nguyễn Văn An,vinhyen/ubnd\n" +
		"Nguyễn Văn An,vinhyen/ubnd\n" +
		"Ngô Văn Anh,vinhyen/ubnd,annv4\n" + // an explicit address, reserved before any is generated
		"Nguyễn Văn An,vinhyen/ubnd\n"
	p := mustPlan(t, file, d, testOptions)
	wantCreated(t, p, "1 annv5@vinhyen.gov.vn", "2 annv6@vinhyen.gov.vn", "3 annv4@vinhyen.gov.vn", "4 annv7@vinhyen.gov.vn")
}

// TestManyNamesakes plans thousands of people with one address: the numbering must stay linear.
func TestManyNamesakes(t *testing.T) {
	const n = 5000
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "Nguyễn Văn An;%s\n", testUnits[i%len(testUnits)])
	}
	p := mustPlan(t, b.String(), testDirectory(), testOptions) // quadratic numbering would not finish in the test's time
	if len(p.Create) != n || p.Create[n-1].Address != fmt.Sprintf("annv%d@vinhyen.gov.vn", n) {
		t.Fatalf("%d accounts, the last %+v", len(p.Create), p.Create[len(p.Create)-1])
	}
}

// TestRowErrors checks that every problem is reported at once, naming its line and column.
func TestRowErrors(t *testing.T) {
	file := "full name,unit,address,quota\n" +
		"Nguyễn Văn An,vinhyen/ubnd,,\n" +
		",vinhyen/ubnd,,\n" +
		"Trần Văn Bình,vinhyen/xyz,,\n" +
		"Lê Thị Cúc,vinhyen/ubnd,cúc.lt,\n" +
		"Phạm Văn Dũng,vinhyen/ubnd,,2XB\n" +
		"Hồ Văn Em,vinhyen/ubnd,em@hanoi.gov.vn,\n" +
		"张伟,,,\n" +
		"Võ Văn Giang,vinhyen/ubnd,giangvv,\n" +
		"Võ Văn Giàng,vinhyen/ubnd,GiangVV,\n" +
		"Lý Văn Hải,vinhyen/ubnd,haivl@,\n"
	p, err := Plan(strings.NewReader(file), testDirectory(), testOptions)
	want := []string{
		"line 3, column full name: the name is empty",
		"line 4, column unit: unit vinhyen/xyz does not exist (see 'mailserver unit list', or add it with 'mailserver unit add vinhyen/xyz')",
		`line 5, column address: invalid address "cúc.lt": before '@' use only letters without diacritics, digits and . _ - +`,
		`line 6, column quota: invalid size "2XB": unknown unit "XB" (use B, KB, MB, GB or TB)`,
		"line 7, column address: domain hanoi.gov.vn is not served here (add it with 'mailserver domain add hanoi.gov.vn')",
		"line 8, column unit: the unit is empty: give the unit path, e.g. vinhyen/ubnd/phong-noi-vu",
		`line 8, column full name: cannot make an address from "张伟": it has no letters; write one in column address`,
		"line 10, column address: giangvv@vinhyen.gov.vn is also on line 9",
		"line 11, column address: the part after '@' is empty",
	}
	if got := errorTexts(err); !slices.Equal(got, want) {
		t.Errorf("errors:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	var le *LineError
	if !errors.As(err, &le) || le.Line != 3 || le.Column != "full name" || le.Err.Error() != "the name is empty" {
		t.Errorf("errors.As(err, *LineError) = %+v", le)
	}
	if errors.Is(err, ErrConflict) {
		t.Error("invalid rows reported as conflicts")
	}
	wantCreated(t, p, "2 annv@vinhyen.gov.vn", "9 giangvv@vinhyen.gov.vn")
	if _, err := Apply(p, nil, nil); err == nil || !strings.Contains(err.Error(), "nothing was created") {
		t.Errorf("Apply of a plan with errors: %v", err)
	}
}

// A domain with an internationalised name is served in its xn-- form; a file may write it in Unicode, and the
// address it gives is then the same as one written with the xn-- form.
func TestUnicodeDomain(t *testing.T) {
	d := testDirectory()
	d.Domains = append(d.Domains, "xn--hu-07s.vn")
	file := "Nguyễn Văn An,vinhyen/ubnd,An.NV@Huế.vn\nLê Hoa,vinhyen/ubnd,hoal\nLê Văn Bình,vinhyen/ubnd,an.nv@xn--hu-07s.vn\n"
	p, err := Plan(strings.NewReader(file), d, Options{Domain: "HUẾ.vn"})
	want := []string{"line 3, column address: an.nv@xn--hu-07s.vn is also on line 1"}
	if got := errorTexts(err); !slices.Equal(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
	wantCreated(t, p, "1 an.nv@xn--hu-07s.vn", "2 hoal@xn--hu-07s.vn")
}

func TestNoDomain(t *testing.T) {
	_, err := Plan(strings.NewReader("Nguyễn Văn An,vinhyen/ubnd\nLê Hoa,vinhyen/ubnd,hoal@vinhyen.gov.vn\n"),
		testDirectory(), Options{})
	want := []string{"line 1, column address: no domain: write a full address such as annv@vinhyen.gov.vn, or set the default domain"}
	if got := errorTexts(err); !slices.Equal(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
	if _, err := Plan(strings.NewReader(""), testDirectory(), Options{Domain: "vinh yen"}); err == nil {
		t.Error("invalid default domain accepted")
	}
	if _, err := Plan(strings.NewReader(""), testDirectory(), Options{Rule: NameRule{Style: "x"}}); err == nil {
		t.Error("invalid rule accepted")
	}
}

// TestIdempotent plans a file, applies it to the directory, and plans it again: nothing is left to do, even for
// namesakes in one unit and people whose address was given.
func TestIdempotent(t *testing.T) {
	file := "Họ và tên;Đơn vị;Địa chỉ;Dung lượng\n" +
		"Nguyễn Văn An;vinhyen/ubnd;;\n" +
		"Nguyễn Văn An;vinhyen/ubnd;;\n" +
		"Nguyễn Văn An;vinhyen/phuong-dong-da;;1GB\n" +
		"Trần Thị Bích Ngọc;vinhyen/ubnd;ngoc.ttb@ubnd.vinhyen.gov.vn;\n" +
		"Đỗ Đức Đạt;vinhyen/ubnd;;\n"
	d := testDirectory(store.Account{Address: "datdd@vinhyen.gov.vn", Name: "Đỗ Đức Đạt", Unit: "vinhyen/xa-thanh-tru"})
	first := mustPlan(t, file, d, testOptions)
	wantCreated(t, first, "2 annv@vinhyen.gov.vn", "3 annv2@vinhyen.gov.vn", "4 annv3@vinhyen.gov.vn",
		"5 ngoc.ttb@ubnd.vinhyen.gov.vn", "6 datdd2@vinhyen.gov.vn")
	if ns := first.Create[4].Namesakes; !slices.Equal(ns, []string{"datdd@vinhyen.gov.vn"}) {
		t.Errorf("namesakes of Đỗ Đức Đạt = %q", ns)
	}

	d.Accounts = append(d.Accounts, asAccounts(first)...)
	second := mustPlan(t, file, d, testOptions)
	if len(second.Create) != 0 || len(second.Existing) != 5 {
		t.Fatalf("second plan: %s; creates %q", second.Summary(), created(second))
	}
	var got []string
	for _, e := range second.Existing {
		got = append(got, fmt.Sprintf("%d %s", e.Line, e.Address))
	}
	// Namesakes in one unit match the accounts in address order; each account stands for one row only.
	want := []string{"2 annv@vinhyen.gov.vn", "3 annv2@vinhyen.gov.vn", "4 annv3@vinhyen.gov.vn",
		"5 ngoc.ttb@ubnd.vinhyen.gov.vn", "6 datdd2@vinhyen.gov.vn"}
	if !slices.Equal(got, want) {
		t.Errorf("existing:\n got %q\nwant %q", got, want)
	}
	if second.Summary() != "0 to create, 5 already exist, 0 conflicts, 0 errors" {
		t.Errorf("summary %q", second.Summary())
	}

	// A third person called Nguyễn Văn An in vinhyen/ubnd added to the file gets the next number.
	third := mustPlan(t, file+"Nguyễn Văn An;vinhyen/ubnd;;\n", d, testOptions)
	wantCreated(t, third, "7 annv4@vinhyen.gov.vn")
}

func TestConflicts(t *testing.T) {
	d := testDirectory(
		store.Account{Address: "annv@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "vinhyen/ubnd"},
		store.Account{Address: "binhtv@vinhyen.gov.vn", Name: "Trần Văn Bình", Unit: "vinhyen/ubnd", Quota: 1 << 30},
		store.Account{Address: "hoal@vinhyen.gov.vn", Name: "Lê Hoa", Unit: "vinhyen/ubnd"},
		store.Account{Address: "cuclt@vinhyen.gov.vn", Name: "Lê Thị Cúc", Unit: "vinhyen/ubnd", Quota: 1 << 30},
		store.Account{Address: "vanthu@vinhyen.gov.vn", Name: "Văn thư", Unit: "vinhyen/ubnd", Shared: true},
	)
	d.Aliases = []string{"lanhdao@vinhyen.gov.vn"}
	file := "Họ và tên,Đơn vị,Địa chỉ,Dung lượng\n" +
		"NGUYỄN  VĂN AN,vinhyen/ubnd,annv,\n" + // the same account: case and spacing do not matter
		"Trần Văn Bình,vinhyen/ubnd/phong-noi-vu,binhtv@vinhyen.gov.vn,2GB\n" +
		"Lê Thị Hoa,vinhyen/ubnd,hoal,\n" +
		"Lê Thị Cúc,vinhyen/ubnd,,2GB\n" + // no address: the same person by name and unit, another quota
		"Văn thư,vinhyen/ubnd,vanthu,\n" +
		"Lãnh đạo,vinhyen/ubnd,lanhdao,\n"
	p, err := Plan(strings.NewReader(file), d, testOptions)
	want := []string{
		"line 3, column Đơn vị: binhtv@vinhyen.gov.vn already exists in unit vinhyen/ubnd, not vinhyen/ubnd/phong-noi-vu: move it with 'mailserver user move binhtv@vinhyen.gov.vn vinhyen/ubnd/phong-noi-vu', or fix the file",
		"line 3, column Dung lượng: binhtv@vinhyen.gov.vn already exists with quota 1GB, not 2GB: change it with 'mailserver quota set binhtv@vinhyen.gov.vn 2GB', or fix the file",
		`line 4, column Họ và tên: hoal@vinhyen.gov.vn already exists with the name "Lê Hoa", not "Lê Thị Hoa": fix the file or the account`,
		"line 5, column Dung lượng: cuclt@vinhyen.gov.vn already exists with quota 1GB, not 2GB: change it with 'mailserver quota set cuclt@vinhyen.gov.vn 2GB', or fix the file",
		"line 6, column Địa chỉ: vanthu@vinhyen.gov.vn is a shared mailbox, not a person's account",
		"line 7, column Địa chỉ: lanhdao@vinhyen.gov.vn is already an alias",
	}
	if got := errorTexts(err); !slices.Equal(got, want) {
		t.Errorf("problems:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if len(p.Conflicts) != 5 || len(p.Errors) != 1 || !errors.Is(p.Conflicts[0], ErrConflict) {
		t.Errorf("%s; conflicts %v", p.Summary(), p.Conflicts)
	}
	if !errors.Is(err, ErrConflict) {
		t.Error("errors.Is(err, ErrConflict) = false")
	}
	if len(p.Create) != 0 || len(p.Existing) != 1 || p.Existing[0] != (Existing{Line: 2, Address: "annv@vinhyen.gov.vn"}) {
		t.Errorf("plan: create %q, existing %+v", created(p), p.Existing)
	}
	if _, err := Apply(p, nil, nil); err == nil {
		t.Error("Apply accepted a plan with conflicts")
	}
}

// TestDefaultQuotaConflicts: a row without a quota states the default quota (Options.Quota, the --quota flag), so
// an existing account with another quota is a conflict, whether the row gives its address or not; an account
// with the default quota, or a row that gives its own, is not.
func TestDefaultQuotaConflicts(t *testing.T) {
	d := testDirectory(
		store.Account{Address: "annv@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "vinhyen/ubnd", Quota: 1 << 30},
		store.Account{Address: "binhtv@vinhyen.gov.vn", Name: "Trần Văn Bình", Unit: "vinhyen/ubnd", Quota: 1 << 30},
		store.Account{Address: "cuclt@vinhyen.gov.vn", Name: "Lê Thị Cúc", Unit: "vinhyen/ubnd", Quota: 2 << 30},
		store.Account{Address: "dunglv@vinhyen.gov.vn", Name: "Lê Văn Dũng", Unit: "vinhyen/ubnd", Quota: 1 << 30},
		store.Account{Address: "emnt@vinhyen.gov.vn", Name: "Nguyễn Thị Em", Unit: "vinhyen/ubnd"},
	)
	file := "Họ và tên,Đơn vị,Địa chỉ\n" +
		"Nguyễn Văn An,vinhyen/ubnd,\n" + // no address, no quota: the default 2GB
		"Trần Văn Bình,vinhyen/ubnd,binhtv\n" + // an address, no quota: the default 2GB
		"Lê Thị Cúc,vinhyen/ubnd,\n" + // the account has the default quota
		"Nguyễn Thị Em,vinhyen/ubnd,\n" // unlimited, not 2GB
	opts := testOptions
	opts.Quota = 2 << 30
	p, err := Plan(strings.NewReader(file), d, opts)
	want := []string{
		"line 2, column quota: annv@vinhyen.gov.vn already exists with quota 1GB, not 2GB (the quota for rows without one): change it with 'mailserver quota set annv@vinhyen.gov.vn 2GB', or give the row its own quota",
		"line 3, column quota: binhtv@vinhyen.gov.vn already exists with quota 1GB, not 2GB (the quota for rows without one): change it with 'mailserver quota set binhtv@vinhyen.gov.vn 2GB', or give the row its own quota",
		"line 5, column quota: emnt@vinhyen.gov.vn already exists with quota unlimited, not 2GB (the quota for rows without one): change it with 'mailserver quota set emnt@vinhyen.gov.vn 2GB', or give the row its own quota",
	}
	if got := errorTexts(err); !slices.Equal(got, want) {
		t.Errorf("problems:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if len(p.Create) != 0 || len(p.Existing) != 1 || p.Existing[0] != (Existing{Line: 4, Address: "cuclt@vinhyen.gov.vn"}) {
		t.Errorf("plan: create %q, existing %+v", created(p), p.Existing)
	}

	// A row that gives its own quota is compared with that, not with the default.
	p = mustPlan(t, "Nguyễn Văn An,vinhyen/ubnd,,1GB\nLê Văn Dũng,vinhyen/ubnd,dunglv,1GB\n", d, opts)
	if len(p.Existing) != 2 {
		t.Errorf("rows with their own quota: %s", p.Summary())
	}
	// Without a default quota, a row without one states none.
	if p := mustPlan(t, file, d, testOptions); len(p.Existing) != 4 {
		t.Errorf("no default quota: %s", p.Summary())
	}
}

// TestNamesakesMatchedByQuota: rows without an address for namesakes in one unit are matched to the account with
// the quota each row states, whatever the order of the rows, before any is matched by name alone.
func TestNamesakesMatchedByQuota(t *testing.T) {
	d := testDirectory(
		store.Account{Address: "annv@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "vinhyen/ubnd", Quota: 1 << 30},
		store.Account{Address: "annv2@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "vinhyen/ubnd", Quota: 2 << 30},
		store.Account{Address: "annv3@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "vinhyen/ubnd"},
	)
	file := "Nguyễn Văn An,vinhyen/ubnd,,\n" + // states no quota: the account left over
		"Nguyễn Văn An,vinhyen/ubnd,,2GB\n" +
		"Nguyễn Văn An,vinhyen/ubnd,,1GB\n"
	p := mustPlan(t, file, d, testOptions)
	want := []Existing{{1, "annv3@vinhyen.gov.vn"}, {2, "annv2@vinhyen.gov.vn"}, {3, "annv@vinhyen.gov.vn"}}
	if len(p.Create) != 0 || !slices.Equal(p.Existing, want) {
		t.Errorf("plan: create %q, existing %+v", created(p), p.Existing)
	}

	// The default quota is what a row without one states: the one row is the namesake with that quota.
	opts := testOptions
	opts.Quota = 2 << 30
	p = mustPlan(t, "Nguyễn Văn An,vinhyen/ubnd\n", d, opts)
	if len(p.Create) != 0 || !slices.Equal(p.Existing, []Existing{{1, "annv2@vinhyen.gov.vn"}}) {
		t.Errorf("default quota: create %q, existing %+v", created(p), p.Existing)
	}
}

// TestNamesakeInAnotherUnit: a person of the same name in another unit is someone else, listed as a namesake.
func TestNamesakeInAnotherUnit(t *testing.T) {
	d := testDirectory(store.Account{Address: "annv@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "vinhyen/ubnd"})
	p := mustPlan(t, "Nguyễn Văn An,vinhyen/xa-thanh-tru\n", d, testOptions)
	want := []NewAccount{{Line: 1, Address: "annv2@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "vinhyen/xa-thanh-tru",
		Generated: true, Namesakes: []string{"annv@vinhyen.gov.vn"}}}
	if !slices.EqualFunc(p.Create, want, equalNew) {
		t.Errorf("plan:\n got %+v\nwant %+v", p.Create, want)
	}
}

func TestEmptyFile(t *testing.T) {
	for _, file := range []string{"", "\uFEFF", "Họ và tên;Đơn vị\r\n", "\n\n"} {
		p, err := Plan(strings.NewReader(file), testDirectory(), testOptions)
		if err != nil || len(p.Create)+len(p.Existing) != 0 {
			t.Errorf("Plan(%q) = %+v, %v", file, p, err)
		}
	}
}

func BenchmarkPlan500(b *testing.B) {
	file := vietnameseStaff(500, 1)
	d := testDirectory()
	for b.Loop() {
		if _, err := Plan(strings.NewReader(file), d, testOptions); err != nil {
			b.Fatal(err)
		}
	}
}
