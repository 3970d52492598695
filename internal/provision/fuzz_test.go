package provision

import (
	"strings"
	"testing"

	"mailserver/internal/address"
	"mailserver/internal/store"
)

func FuzzLocalPart(f *testing.F) {
	for _, s := range []string{"Nguyễn Văn An", "Đỗ Đức Đạt", "Lê A", "Hương", " ", "张伟", "Nguye\u0302\u0303n", "H'Hen Niê"} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, name string, style int) {
		r := NameRule{Style: Styles[uint(style)%uint(len(Styles))]}
		local, err := r.LocalPart(name)
		if err != nil {
			return
		}
		if _, err := address.ParseNew(local + "@vinhyen.gov.vn"); err != nil {
			t.Fatalf("LocalPart(%q) = %q: %v", name, local, err)
		}
		if strings.Trim(local, "abcdefghijklmnopqrstuvwxyz0123456789.") != "" {
			t.Fatalf("LocalPart(%q) = %q: not lower-case ASCII", name, local)
		}
	})
}

// FuzzPlan feeds Plan arbitrary files: it must not panic, and whatever it plans must be creatable.
func FuzzPlan(f *testing.F) {
	for _, s := range []string{
		"\uFEFFSTT;Họ và tên;Đơn vị;Địa chỉ;Dung lượng\r\n1;Nguyễn Văn An;vinhyen/ubnd;;2GB\r\n",
		"Nguyễn Văn An,vinhyen/ubnd\nNguyễn Văn An,vinhyen/ubnd,annv2\nNguyễn Văn An,vinhyen/ubnd,@ubnd.vinhyen.gov.vn\n",
		"full name,unit\n\"a\nb\",vinhyen\n",
		"Họ và tên\tĐơn vị\n\"x\"y\tz\n",
		"Lê A;vinhyen;annv;1,5GB\n",
	} {
		f.Add(s)
	}
	d := testDirectory(store.Account{Address: "annv@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "vinhyen/ubnd"})
	d.Aliases = []string{"annv3@vinhyen.gov.vn"}
	f.Fuzz(func(t *testing.T, file string) {
		p, err := Plan(strings.NewReader(file), d, testOptions)
		if p == nil {
			if err == nil {
				t.Fatal("no plan and no error")
			}
			return
		}
		if (err == nil) != (len(p.Errors)+len(p.Conflicts) == 0) {
			t.Fatalf("error %v with %s", err, p.Summary())
		}
		seen := map[string]bool{"annv@vinhyen.gov.vn": true, "annv3@vinhyen.gov.vn": true}
		for _, c := range p.Create {
			if a, err := address.ParseNew(c.Address); err != nil || a.Key() != c.Address || seen[c.Address] {
				t.Fatalf("line %d: planned address %q is invalid or taken", c.Line, c.Address)
			}
			seen[c.Address] = true
		}
		for _, e := range append(p.Errors, p.Conflicts...) {
			if e.Line < 1 {
				t.Fatalf("problem without a line: %v", e)
			}
		}
	})
}
