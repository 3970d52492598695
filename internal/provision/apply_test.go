package provision

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"mailserver/internal/admin"
	"mailserver/internal/auth"
)

// fakeAPI records AddUser calls and fails on demand for chosen addresses. It is safe for concurrent use, as Apply
// requires.
type fakeAPI struct {
	mu    sync.Mutex
	users map[string]admin.AddUserRequest
	fail  map[string]error // address → error AddUser returns for it
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{users: map[string]admin.AddUserRequest{}, fail: map[string]error{}}
}

func (f *fakeAPI) AddUser(req admin.AddUserRequest) (admin.UserInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[req.Address]; err != nil {
		return admin.UserInfo{}, err
	}
	if _, ok := f.users[req.Address]; ok {
		return admin.UserInfo{}, &admin.Error{Kind: admin.ErrExists, Msg: "user " + req.Address + " already exists"}
	}
	f.users[req.Address] = req
	return admin.UserInfo{Address: req.Address, Name: req.Name, Unit: req.Unit, Quota: req.Quota}, nil
}

// countingPasswords returns passwords "Mat-khau-001", "Mat-khau-002", ...
func countingPasswords() func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("Mat-khau-%03d", n)
	}
}

func TestApply(t *testing.T) {
	file := vietnameseStaff(40, 7)
	p := mustPlan(t, file, testDirectory(), testOptions)
	api := newFakeAPI()
	res, err := Apply(p, api, countingPasswords())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != len(p.Create) || len(api.users) != len(p.Create) {
		t.Fatalf("created %d, API saw %d, plan has %d", len(res.Created), len(api.users), len(p.Create))
	}
	for i, c := range res.Created {
		na := p.Create[i]
		want := Created{Line: na.Line, Address: na.Address, Name: na.Name, Unit: na.Unit, Quota: na.Quota,
			Password: fmt.Sprintf("Mat-khau-%03d", i+1)}
		if c != want {
			t.Errorf("created[%d] = %+v, want %+v", i, c, want)
		}
		req := api.users[c.Address]
		if req != (admin.AddUserRequest{Address: c.Address, Name: c.Name, Unit: c.Unit, Quota: c.Quota, Password: c.Password}) {
			t.Errorf("AddUser got %+v for %+v", req, c)
		}
	}
}

// TestApplyFailure: a failing AddUser stops the import, the error names the row, and the result still lists
// every account that was made, so that its password can be written out.
func TestApplyFailure(t *testing.T) {
	p := mustPlan(t, vietnameseStaff(60, 3), testDirectory(), testOptions)
	for _, tt := range []struct {
		err  error
		want string
	}{
		{errors.New("disk full"), "line %d: create %s: disk full"},
		{&admin.Error{Kind: admin.ErrExists, Msg: "user exists"},
			"line %d: %s was created by someone else after the file was planned; run the import again to skip it"},
	} {
		api := newFakeAPI()
		bad := p.Create[20]
		api.fail[bad.Address] = tt.err
		res, err := Apply(p, api, nil)
		if want := fmt.Sprintf(tt.want, bad.Line, bad.Address); err == nil || err.Error() != want {
			t.Errorf("error %v, want %q", err, want)
		}
		if len(res.Created) < 20 || len(res.Created) >= len(p.Create) {
			t.Errorf("%d of %d created before and around the failure", len(res.Created), len(p.Create))
		}
		var got []string
		for _, c := range res.Created {
			got = append(got, c.Address)
		}
		var made []string
		for a := range api.users {
			made = append(made, a)
		}
		slices.Sort(got)
		slices.Sort(made)
		if !slices.Equal(got, made) {
			t.Errorf("result lists %d accounts, the API made %d", len(got), len(made))
		}
	}
}

func TestApplyDefaultPasswords(t *testing.T) {
	p := mustPlan(t, vietnameseStaff(20, 5), testDirectory(), testOptions)
	res, err := Apply(p, newFakeAPI(), nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range res.Created {
		if err := auth.CheckPasswordStrength(c.Password); err != nil || seen[c.Password] {
			t.Errorf("password %q: %v, repeated %v", c.Password, err, seen[c.Password])
		}
		seen[c.Password] = true
	}
}

func TestApplyNothing(t *testing.T) {
	if _, err := Apply(nil, newFakeAPI(), nil); err == nil {
		t.Error("Apply(nil) succeeded")
	}
	res, err := Apply(&ImportPlan{}, nil, nil) // an empty plan calls nothing
	if err != nil || len(res.Created) != 0 {
		t.Errorf("Apply(empty) = %+v, %v", res, err)
	}
}

func TestWriteCredentials(t *testing.T) {
	var b bytes.Buffer
	err := WriteCredentials(&b, Result{Created: []Created{
		{Line: 2, Address: "annv@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "vinhyen/ubnd", Password: "Mat-khau-001"},
		{Line: 3, Address: "ngocttb@vinhyen.gov.vn", Name: "Trần Thị Bích Ngọc, \"Ngọc\"", Unit: "vinhyen/ubnd", Password: "Mat-khau-002"},
	}})
	want := "\uFEFFaddress,name,unit,password\n" +
		"annv@vinhyen.gov.vn,Nguyễn Văn An,vinhyen/ubnd,Mat-khau-001\n" +
		"ngocttb@vinhyen.gov.vn,\"Trần Thị Bích Ngọc, \"\"Ngọc\"\"\",vinhyen/ubnd,Mat-khau-002\n"
	if err != nil || b.String() != want {
		t.Errorf("WriteCredentials = %v\n got %q\nwant %q", err, b.String(), want)
	}
}

func TestCreateCredentialsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "matkhau.csv")
	f, err := CreateCredentialsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("secret"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	wantMode(t, path, 0o600)

	_, err = CreateCredentialsFile(path)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second create: %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "secret" {
		t.Errorf("the existing file was changed: %q", b)
	}
	if _, err := CreateCredentialsFile(filepath.Join(t.TempDir(), "no", "such", "dir.csv")); err == nil {
		t.Error("created a file in a missing directory")
	}
}

func wantMode(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != mode {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), mode)
	}
}
