package admin_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"mailserver/internal/admin"
	"mailserver/internal/auth"
	"mailserver/internal/store"
)

// cheapHasher keeps tests fast; production uses auth.DefaultHasher.
var cheapHasher = auth.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}

const goodPassword = "Mat-khau-2024"

// newService returns a Service on a fresh store in t.TempDir, and the store to inspect.
func newService(t *testing.T) (*admin.Service, *store.Store) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "mail.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return admin.New(st, admin.WithHasher(cheapHasher)), st
}

// newServiceWithUser adds domain vinhyen.gov.vn and user an.nv@vinhyen.gov.vn.
func newServiceWithUser(t *testing.T) (*admin.Service, *store.Store) {
	t.Helper()
	svc, st := newService(t)
	if err := svc.AddDomain("vinhyen.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddUser(admin.AddUserRequest{Address: "an.nv@vinhyen.gov.vn", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	return svc, st
}

// wantErr checks that err has kind and exactly the message want.
func wantErr(t *testing.T, err error, kind error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q: kind is not %v", err, kind)
	}
	if err.Error() != want {
		t.Errorf("error text\n got: %s\nwant: %s", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q spans several lines", err)
	}
}

func TestDomains(t *testing.T) {
	svc, _ := newService(t)
	for _, d := range []string{"vinhyen.gov.vn", " PhucYen.Gov.VN. ", "localhost"} {
		if err := svc.AddDomain(d); err != nil {
			t.Fatalf("AddDomain(%q): %v", d, err)
		}
	}
	ds, err := svc.ListDomains()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
		if d.Created.IsZero() {
			t.Errorf("domain %s has no creation time", d.Name)
		}
	}
	if got, want := strings.Join(names, " "), "localhost phucyen.gov.vn vinhyen.gov.vn"; got != want {
		t.Errorf("domains = %s, want %s", got, want)
	}
	if err := svc.RemoveDomain("PHUCYEN.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if ds, _ := svc.ListDomains(); len(ds) != 2 {
		t.Errorf("after remove: %v", ds)
	}
}

func TestDomainErrors(t *testing.T) {
	svc, _ := newServiceWithUser(t)
	wantErr(t, svc.AddDomain("vinhyen.gov.vn"), admin.ErrExists, "domain vinhyen.gov.vn already exists")
	wantErr(t, svc.RemoveDomain("phucyen.gov.vn"), admin.ErrNotFound,
		"domain phucyen.gov.vn does not exist: see 'mailserver domain list'")
	wantErr(t, svc.RemoveDomain("vinhyen.gov.vn"), admin.ErrInUse,
		"domain vinhyen.gov.vn still has 1 user(s) (an.nv@vinhyen.gov.vn): remove them first with 'mailserver user remove ADDRESS'")

	invalid := map[string]string{
		"":                              `invalid domain name "": it is empty; use a name like vinhyen.gov.vn`,
		"vinh yen.gov.vn":               `invalid domain name "vinh yen.gov.vn": use only letters, digits, '-' and '.'`,
		"an@vinhyen":                    `invalid domain name "an@vinhyen": use only letters, digits, '-' and '.'`,
		"vinhyen..gov.vn":               `invalid domain name "vinhyen..gov.vn": it has an empty label (two dots in a row, or a dot at the start)`,
		"-vinhyen.gov.vn":               `invalid domain name "-vinhyen.gov.vn": a label starts or ends with '-'`,
		"vĩnh yên.gov.vn":               `invalid domain name "vĩnh yên.gov.vn": it is not a valid internationalised name (disallowed rune U+0020)`,
		"vinhyen.gov.123":               `invalid domain name "vinhyen.gov.123": the last label is all digits, which no top-level domain is (an IP address is written [192.0.2.1])`,
		strings.Repeat("a", 64) + ".vn": `invalid domain name "` + strings.Repeat("a", 64) + `.vn": a label is longer than 63 characters`,
	}
	for in, want := range invalid {
		wantErr(t, svc.AddDomain(in), admin.ErrInvalid, want)
	}
}

// A domain with an internationalised name is stored in its xn-- form and named either way, and so are its users.
func TestUnicodeDomain(t *testing.T) {
	svc, _ := newService(t)
	if err := svc.AddDomain("Vĩnhyên.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if ds, err := svc.ListDomains(); err != nil || len(ds) != 1 || ds[0].Name != "xn--vnhyn-ksa15b.gov.vn" {
		t.Fatalf("domains = %v, %v", ds, err)
	}
	wantErr(t, svc.AddDomain("xn--vnhyn-ksa15b.gov.vn"), admin.ErrExists, "domain xn--vnhyn-ksa15b.gov.vn already exists")
	u, err := svc.AddUser(admin.AddUserRequest{Address: "An.NV@vĩnhyên.gov.vn", Password: goodPassword})
	if err != nil || u.Address != "an.nv@xn--vnhyn-ksa15b.gov.vn" {
		t.Fatalf("AddUser = %+v, %v", u, err)
	}
	wantErr(t, func() error {
		_, err := svc.AddUser(admin.AddUserRequest{Address: "an.nv@xn--vnhyn-ksa15b.gov.vn", Password: goodPassword})
		return err
	}(), admin.ErrExists, "user an.nv@xn--vnhyn-ksa15b.gov.vn already exists")
	if err := svc.Disable("AN.NV@VĨNHYÊN.gov.vn"); err != nil {
		t.Errorf("Disable with the Unicode domain: %v", err)
	}
}

func TestDomainInUseListsFewUsers(t *testing.T) {
	svc, _ := newService(t)
	if err := svc.AddDomain("vinhyen.gov.vn"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"a", "b", "c", "d", "e"} {
		if _, err := svc.AddUser(admin.AddUserRequest{Address: u + "@vinhyen.gov.vn", Password: goodPassword}); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, svc.RemoveDomain("vinhyen.gov.vn"), admin.ErrInUse,
		"domain vinhyen.gov.vn still has 5 user(s) (a@vinhyen.gov.vn, b@vinhyen.gov.vn, c@vinhyen.gov.vn and 2 more): remove them first with 'mailserver user remove ADDRESS'")
}

func TestAddUser(t *testing.T) {
	svc, st := newService(t)
	if err := svc.AddDomain("vinhyen.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddUnit("vinhyen/ubnd/phong-noi-vu", "Phòng Nội vụ"); err != nil {
		t.Fatal(err)
	}
	// "Nguyễn" typed decomposed (as some keyboards do) is stored composed.
	decomposed := "Nguye\u0302\u0303n Va\u0306n An"
	u, err := svc.AddUser(admin.AddUserRequest{
		Address: " An.NV@VinhYen.gov.vn ", Name: decomposed, Unit: "VinhYen/ubnd/phong-noi-vu",
		Quota: 2 << 30, Password: goodPassword,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := admin.UserInfo{Address: "an.nv@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "vinhyen/ubnd/phong-noi-vu",
		Quota: 2 << 30, Created: u.Created}
	if u != want {
		t.Errorf("AddUser = %+v\nwant %+v", u, want)
	}
	if u.Created.IsZero() {
		t.Error("no creation time")
	}
	a, err := st.Account("an.nv@vinhyen.gov.vn")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := auth.Verify(a.PasswordHash, goodPassword); !ok || err != nil {
		t.Errorf("stored hash does not verify the password: %v %v", ok, err)
	}
	if strings.Contains(a.PasswordHash, goodPassword) {
		t.Error("password stored in clear")
	}
	users, err := svc.ListUsers()
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0] != want {
		t.Errorf("ListUsers = %+v", users)
	}
}

func TestAddUserErrors(t *testing.T) {
	svc, _ := newServiceWithUser(t)
	req := func(addr, pw string) admin.AddUserRequest { return admin.AddUserRequest{Address: addr, Password: pw} }
	tests := []struct {
		req  admin.AddUserRequest
		kind error
		want string
	}{
		{req("an.nv@vinhyen.gov.vn", goodPassword), admin.ErrExists, "user an.nv@vinhyen.gov.vn already exists"},
		{req("AN.NV@vinhyen.gov.vn", goodPassword), admin.ErrExists, "user an.nv@vinhyen.gov.vn already exists"},
		{req("binh@phucyen.gov.vn", goodPassword), admin.ErrNotFound,
			"domain phucyen.gov.vn does not exist: add it with 'mailserver domain add phucyen.gov.vn'"},
		{req("binh@vinhyen.gov.vn", ""), admin.ErrInvalid, "password must not be empty"},
		{req("binh@vinhyen.gov.vn", "Ngan-1"), admin.ErrInvalid, "password must be at least 10 characters"},
		{req("binh@vinhyen.gov.vn", "matkhaudai"), admin.ErrInvalid,
			"password must mix at least two kinds of characters: lower-case letters, upper-case letters, digits, symbols"},
		{req("binh@vinhyen.gov.vn", "Mat-khau-2024\n"), admin.ErrInvalid,
			"password must not contain control characters such as tabs or line breaks"},
		{req("binh@vinhyen.gov.vn", strings.Repeat("Ab1", 400)), admin.ErrInvalid, "password must be at most 1024 bytes"},
		{req("binh", goodPassword), admin.ErrInvalid, `invalid address "binh": it must look like an.nv@vinhyen.gov.vn`},
		{req("@vinhyen.gov.vn", goodPassword), admin.ErrInvalid, `invalid address "@vinhyen.gov.vn": the part before '@' is empty`},
		{req("bình@vinhyen.gov.vn", goodPassword), admin.ErrInvalid,
			`invalid address "bình@vinhyen.gov.vn": before '@' use only letters without diacritics, digits and . _ - +`},
		{req("binh.@vinhyen.gov.vn", goodPassword), admin.ErrInvalid,
			`invalid address "binh.@vinhyen.gov.vn": dots must separate words: not at the start or end, and never two in a row`},
		{req("binh@", goodPassword), admin.ErrInvalid,
			`invalid address "binh@": the part after '@' is empty`},
		{req("binh@vinhyen..vn", goodPassword), admin.ErrInvalid,
			`invalid address "binh@vinhyen..vn": bad domain: it has an empty label (two dots in a row, or a dot at the start)`},
		{admin.AddUserRequest{Address: "binh@vinhyen.gov.vn", Password: goodPassword, Quota: -1}, admin.ErrInvalid,
			"quota must not be negative (0 means unlimited)"},
		{admin.AddUserRequest{Address: "binh@vinhyen.gov.vn", Password: goodPassword, Unit: "/vinhyen/"}, admin.ErrInvalid,
			`invalid unit "/vinhyen/": write it like vinhyen/ubnd/phong-noi-vu, without empty parts or a leading or trailing '/'`},
		{admin.AddUserRequest{Address: "binh@vinhyen.gov.vn", Password: goodPassword, Unit: "vinhyen/ủy ban"}, admin.ErrInvalid,
			`invalid unit "vinhyen/ủy ban": use letters without diacritics, digits and '-' between the '/'`},
		{admin.AddUserRequest{Address: "binh@vinhyen.gov.vn", Password: goodPassword, Unit: "vinhyen/.."}, admin.ErrInvalid,
			`invalid unit "vinhyen/..": use letters without diacritics, digits and '-' between the '/'`},
		{admin.AddUserRequest{Address: "binh@vinhyen.gov.vn", Password: goodPassword, Unit: "vinhyen/-ubnd"}, admin.ErrInvalid,
			`invalid unit "vinhyen/-ubnd": a part must not start or end with '-'`},
		{admin.AddUserRequest{Address: "binh@vinhyen.gov.vn", Password: goodPassword, Unit: "vinhyen/ubnd"}, admin.ErrNotFound,
			"unit vinhyen/ubnd does not exist: add it with 'mailserver unit add vinhyen/ubnd'"},
		{admin.AddUserRequest{Address: "binh@vinhyen.gov.vn", Password: goodPassword, Name: "An\x1b[31m"}, admin.ErrInvalid,
			"name must not contain control characters"},
		{admin.AddUserRequest{Address: "binh@vinhyen.gov.vn", Password: goodPassword, Name: strings.Repeat("Ă", 129)}, admin.ErrInvalid,
			"name must be at most 128 characters"},
	}
	for _, tt := range tests {
		_, err := svc.AddUser(tt.req)
		wantErr(t, err, tt.kind, tt.want)
	}
	if users, _ := svc.ListUsers(); len(users) != 1 {
		t.Errorf("failed adds left users behind: %+v", users)
	}
}

func TestSetPassword(t *testing.T) {
	svc, st := newServiceWithUser(t)
	const newPassword = "Mat-khau-moi-2025"
	if err := svc.SetPassword("An.NV@vinhyen.gov.vn", newPassword); err != nil {
		t.Fatal(err)
	}
	a, err := st.Account("an.nv@vinhyen.gov.vn")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := auth.Verify(a.PasswordHash, newPassword); !ok {
		t.Error("new password does not verify")
	}
	if ok, _ := auth.Verify(a.PasswordHash, goodPassword); ok {
		t.Error("old password still verifies")
	}
	wantErr(t, svc.SetPassword("an.nv@vinhyen.gov.vn", "short"), admin.ErrInvalid, "password must be at least 10 characters")
	wantErr(t, svc.SetPassword("an.nv@vinhyen.gov.vn", ""), admin.ErrInvalid, "password must not be empty")
	wantErr(t, svc.SetPassword("binh@vinhyen.gov.vn", newPassword), admin.ErrNotFound,
		"user binh@vinhyen.gov.vn does not exist: see 'mailserver user list'")
	wantErr(t, svc.SetPassword("binh", newPassword), admin.ErrInvalid,
		`invalid address "binh": it must look like an.nv@vinhyen.gov.vn`)
}

func TestDisableEnable(t *testing.T) {
	svc, st := newServiceWithUser(t)
	disabled := func() bool {
		t.Helper()
		a, err := st.Account("an.nv@vinhyen.gov.vn")
		if err != nil {
			t.Fatal(err)
		}
		return a.Disabled
	}
	for range 2 { // both are idempotent
		if err := svc.Disable("an.nv@vinhyen.gov.vn"); err != nil || !disabled() {
			t.Fatalf("Disable: %v, disabled %v", err, disabled())
		}
	}
	if users, _ := svc.ListUsers(); !users[0].Disabled {
		t.Error("ListUsers does not show the user disabled")
	}
	for range 2 {
		if err := svc.Enable("an.nv@vinhyen.gov.vn"); err != nil || disabled() {
			t.Fatalf("Enable: %v, disabled %v", err, disabled())
		}
	}
	const missing = "user binh@vinhyen.gov.vn does not exist: see 'mailserver user list'"
	wantErr(t, svc.Disable("binh@vinhyen.gov.vn"), admin.ErrNotFound, missing)
	wantErr(t, svc.Enable("binh@vinhyen.gov.vn"), admin.ErrNotFound, missing)
	wantErr(t, svc.Disable(""), admin.ErrInvalid, `invalid address "": it must look like an.nv@vinhyen.gov.vn`)
}

func TestRemoveUser(t *testing.T) {
	svc, _ := newServiceWithUser(t)
	if err := svc.RemoveUser("an.nv@vinhyen.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if users, _ := svc.ListUsers(); len(users) != 0 {
		t.Errorf("user still listed: %+v", users)
	}
	wantErr(t, svc.RemoveUser("an.nv@vinhyen.gov.vn"), admin.ErrNotFound,
		"user an.nv@vinhyen.gov.vn does not exist: see 'mailserver user list'")
	// The domain is free again.
	if err := svc.RemoveDomain("vinhyen.gov.vn"); err != nil {
		t.Fatal(err)
	}
}

func TestErrorCodesRoundTrip(t *testing.T) {
	for _, kind := range []error{admin.ErrInvalid, admin.ErrNotFound, admin.ErrExists, admin.ErrInUse} {
		err := &admin.Error{Kind: kind, Msg: "something"}
		back := admin.ErrorFromCode(admin.Code(err), err.Error())
		if !errors.Is(back, kind) || back.Error() != "something" {
			t.Errorf("kind %v: round trip gave %#v", kind, back)
		}
	}
	plain := errors.New("disk full")
	if c := admin.Code(plain); c != "" {
		t.Errorf("Code(plain) = %q", c)
	}
	if back := admin.ErrorFromCode("", "disk full"); back.Error() != "disk full" || admin.Code(back) != "" {
		t.Errorf("plain round trip: %#v", back)
	}
	if back := admin.ErrorFromCode("from_the_future", "x"); back.Error() != "x" {
		t.Errorf("unknown code: %#v", back)
	}
}

// The running server is told of each changed password, disabled or removed user, so that it forgets the verified
// password it remembers; not of changes that were refused, nor of those that cannot open a way in.
func TestCredentialsChangedTold(t *testing.T) {
	_, st := newServiceWithUser(t)
	var told []string
	svc := admin.New(st, admin.WithHasher(cheapHasher), admin.WithCredentialsChanged(func(address string) {
		told = append(told, address)
	}))
	const addr = "an.nv@vinhyen.gov.vn"
	for _, step := range []struct {
		name string
		err  error
	}{
		{"passwd", svc.SetPassword("AN.NV@vinhyen.gov.vn", "Mat-khau-moi-2025")},
		{"passwd refused", svc.SetPassword(addr, "short")},
		{"passwd of nobody", svc.SetPassword("binh@vinhyen.gov.vn", "Mat-khau-moi-2025")},
		{"disable", svc.Disable(addr)},
		{"enable", svc.Enable(addr)},
		{"remove", svc.RemoveUser(addr)},
	} {
		t.Logf("%s: %v", step.name, step.err)
	}
	if strings.Join(told, " ") != strings.Join([]string{addr, addr, addr}, " ") {
		t.Errorf("told of %q, want %s three times (passwd, disable, remove)", told, addr)
	}
}
