package provision

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/auth"
	"mailserver/internal/store"
)

// Common Vietnamese family, middle and given names, for staff lists of any size.
var (
	familyNames = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
		"Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đào", "Đinh", "Trương", "Ưng"}
	middleNames = []string{"Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Thu", "Xuân", "Hoàng",
		"Thế", "Kim", "Bảo", "Phương", "Gia", "Quốc", "Diệu"}
	givenNames = []string{"An", "Bình", "Cường", "Dũng", "Đạt", "Giang", "Hà", "Hải", "Hằng", "Hiếu", "Hoa",
		"Hùng", "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Ngọc", "Nhung", "Phương", "Quân",
		"Sơn", "Tâm", "Thảo", "Thắng", "Trang", "Tuấn", "Uyên", "Việt", "Vy", "Yến", "Ơn", "Đức"}
)

// vietnameseStaff writes a staff list of n people as Excel does in a Vietnamese locale: a byte-order mark,
// semicolons, CRLF, a Vietnamese header. Names repeat, as they do in a province; one row in 25 gives an address
// and one in 10 a quota.
func vietnameseStaff(n int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 1))
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	var b strings.Builder
	b.WriteString("\uFEFFSTT;Họ và tên;Đơn vị;Địa chỉ;Dung lượng\r\n")
	for i := range n {
		words := []string{pick(familyNames)}
		for range rng.IntN(3) { // no, one or two middle names
			words = append(words, pick(middleNames))
		}
		words = append(words, pick(givenNames))
		address, quota := "", ""
		if i%25 == 7 {
			address = fmt.Sprintf("canbo%03d@vinhyen.gov.vn", i)
		}
		switch i % 10 {
		case 3:
			quota = "2GB"
		case 6:
			quota = "1,5GB"
		}
		fmt.Fprintf(&b, "%d;%s;%s;%s;%s\r\n", i+1, strings.Join(words, " "), testUnits[rng.IntN(len(testUnits))],
			address, quota)
	}
	return b.String()
}

// countingAPI counts AddUser calls.
type countingAPI struct {
	AdminAPI
	calls atomic.Int64
}

func (c *countingAPI) AddUser(req admin.AddUserRequest) (admin.UserInfo, error) {
	c.calls.Add(1)
	return c.AdminAPI.AddUser(req)
}

// newTestStore opens a store in t.TempDir with the test domains and units, and checks its invariants at the end.
func newTestStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "mail.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("store invariants violated:\n%v", err)
		}
		st.Close()
	})
	for _, d := range []string{testDomain, "ubnd.vinhyen.gov.vn"} {
		if err := st.AddDomain(d); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range testUnits {
		if _, err := st.AddUnit(u, ""); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// TestImport500 imports 500 people with Vietnamese names into a real store through admin.Service, writes their
// credentials, and imports the same file again.
func TestImport500(t *testing.T) {
	st := newTestStore(t)
	svc := admin.New(st, admin.WithHasher(auth.Hasher{Time: 1, MemoryKiB: 1024, Threads: 1}))
	// Someone is already there, and an alias: generated addresses must go around them.
	if _, err := svc.AddUser(admin.AddUserRequest{Address: "annv@vinhyen.gov.vn", Name: "Nông Văn Ái",
		Unit: "vinhyen/ubnd", Password: "Mat-khau-2024"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAlias("hoal@vinhyen.gov.vn", "annv@vinhyen.gov.vn"); err != nil {
		t.Fatal(err)
	}
	file := vietnameseStaff(500, 2026)

	start := time.Now()
	dir, err := ReadDirectory(st)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Plan(strings.NewReader(file), dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	planned := time.Since(start)
	if len(p.Create) != 500 {
		t.Fatalf("plan: %s", p.Summary())
	}
	generated := 0
	for _, c := range p.Create {
		if c.Address == "annv@vinhyen.gov.vn" || c.Address == "hoal@vinhyen.gov.vn" {
			t.Errorf("line %d was given the taken address %s", c.Line, c.Address)
		}
		if c.Generated {
			generated++
		}
	}

	outPath := filepath.Join(t.TempDir(), "matkhau.csv")
	out, err := CreateCredentialsFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	api := &countingAPI{AdminAPI: svc}
	start = time.Now()
	res, err := Apply(p, api, nil)
	applied := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCredentials(out, res); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("500 people (%d generated addresses): plan %v, apply %v", generated, planned, applied)
	if n := api.calls.Load(); n != 500 {
		t.Errorf("%d AddUser calls for 500 accounts", n)
	}
	if planned > 2*time.Second || applied > 60*time.Second {
		t.Errorf("too slow: plan %v, apply %v", planned, applied)
	}

	wantMode(t, outPath, 0o600)
	checkCredentials(t, st, outPath, p)

	// The same file again changes nothing.
	dir, err = ReadDirectory(st)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Plan(strings.NewReader(file), dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Create) != 0 || len(again.Existing) != 500 {
		t.Fatalf("second plan: %s; creates %q", again.Summary(), created(again))
	}
	for i, e := range again.Existing {
		if e != (Existing{Line: p.Create[i].Line, Address: p.Create[i].Address}) {
			t.Errorf("second plan: line %d is %s, first created %s", e.Line, e.Address, p.Create[i].Address)
		}
	}
	res, err = Apply(again, api, nil)
	if err != nil || len(res.Created) != 0 || api.calls.Load() != 500 {
		t.Errorf("second apply: %d created, %d calls in all, %v", len(res.Created), api.calls.Load(), err)
	}
	accounts, err := st.Accounts()
	if err != nil || len(accounts) != 501 {
		t.Errorf("%d accounts in the store, want 501 (%v)", len(accounts), err)
	}
	if err := st.Check(); err != nil {
		t.Errorf("store check: %v", err)
	}
}

// checkCredentials reads the credentials file back: one row per planned account, each password that account's.
func checkCredentials(t *testing.T, st *store.Store, path string, p *ImportPlan) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(p.Create)+1 || strings.Join(rows[0], ",") != "address,name,unit,password" {
		t.Fatalf("credentials file: %d rows, header %q", len(rows), rows[0])
	}
	passwords := map[string]bool{}
	for i, r := range rows[1:] {
		want := p.Create[i]
		if r[0] != want.Address || r[1] != want.Name || r[2] != want.Unit {
			t.Errorf("credentials row %d = %q, want %+v", i+1, r, want)
		}
		a, err := st.Account(r[0])
		if err != nil {
			t.Errorf("account %s: %v", r[0], err)
			continue
		}
		if a.Name != want.Name || a.Unit != want.Unit || a.Quota != want.Quota {
			t.Errorf("stored %+v, want %+v", a, want)
		}
		if passwords[r[3]] {
			t.Errorf("password of %s given twice", r[0])
		}
		passwords[r[3]] = true
		if i%25 == 0 { // verifying every hash would only repeat the hasher's own tests
			if ok, err := auth.Verify(a.PasswordHash, r[3]); !ok || err != nil {
				t.Errorf("password of %s does not verify: %v", r[0], err)
			}
		}
	}
}
