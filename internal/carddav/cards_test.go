package carddav

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"

	"mailserver/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenDirectory covers the awkward cases: a decomposed (NFD) name with a stray tab, a unit name with ';' and ',',
// an unnamed level, an account without a name, a group and a shared mailbox.
var goldenDirectory = &fakeDirectory{accounts: []store.Account{
	{Address: "an@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "ubnd/phong-noi-vu"},
	{Address: "hoa@vinhyen.gov.vn", Name: "\u0110a\u0323ng  Thi\u0323\tHo\u0300a", Unit: "ubnd/tai-chinh/ke-toan"},
	{Address: "it@vinhyen.gov.vn", Unit: "ubnd"},
	{Address: "nghi@vinhyen.gov.vn", Name: "Hồ Nghỉ", Disabled: true},
	{Address: "vanthu@vinhyen.gov.vn", Name: "Văn thư UBND", Unit: "ubnd", Shared: true},
}}

type goldenUnits struct{ *fakeDirectory }

func (goldenUnits) Units() ([]store.Unit, error) {
	return []store.Unit{
		{Path: "ubnd", Name: "UBND thành phố"},
		{Path: "ubnd/phong-noi-vu", Name: "Phòng Nội vụ"},
		{Path: "ubnd/tai-chinh", Name: "Phòng Tài chính; Kế hoạch, Đầu tư"},
	}, nil
}

func (goldenUnits) Groups() ([]store.Group, error) {
	return []store.Group{{Address: "toan-the@vinhyen.gov.vn", Name: "Toàn thể cán bộ"}}, nil
}

// TestCardsGolden compares the cards of both versions with testdata/cards-*.vcf; go test -update rewrites them.
func TestCardsGolden(t *testing.T) {
	snap, err := loadSnapshot(goldenUnits{goldenDirectory})
	must(t, err)
	for _, version := range []string{version3, version4} {
		var buf bytes.Buffer
		for _, e := range snap.entries {
			must(t, vcard.NewEncoder(&buf).Encode(e.card(version)))
		}
		golden := filepath.Join("testdata", "cards-"+version+".vcf")
		if *update {
			must(t, os.MkdirAll("testdata", 0o755))
			must(t, os.WriteFile(golden, buf.Bytes(), 0o644))
		}
		want, err := os.ReadFile(golden)
		must(t, err)
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("vCard %s differs from %s (go test -update rewrites it):\n%s", version, golden, buf.String())
		}
		// Every card must read back with its name intact.
		dec := vcard.NewDecoder(&buf)
		for _, e := range snap.entries {
			c, err := dec.Decode()
			if err != nil || c.Value(vcard.FieldFormattedName) != e.name {
				t.Errorf("%s: read back FN %q, %v; want %q", e.address, c.Value(vcard.FieldFormattedName), err, e.name)
			}
		}
	}
}

func TestSplitVietnameseName(t *testing.T) {
	for in, want := range map[string]vcardName{
		"Nguyễn Văn An":         {family: "Nguyễn", given: "An", additional: "Văn"},
		"Trần Thị Ngọc Bình":    {family: "Trần", given: "Bình", additional: "Thị Ngọc"},
		"Tôn Nữ Thị Ninh":       {family: "Tôn", given: "Ninh", additional: "Nữ Thị"},
		"  Lê   Cường ":         {family: "Lê", given: "Cường"},
		"Hà":                    {given: "Hà"},
		"":                      {},
		"Phạm; Văn, Đồng":       {family: "Phạm,", given: "Đồng", additional: "Văn,"},
		"Nguye\u0302\u0303n An": {family: "Nguyễn", given: "An"}, // decomposed input comes out composed
	} {
		if got := splitVietnameseName(cleanText(in)); got != want {
			t.Errorf("splitVietnameseName(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestOrgOf(t *testing.T) {
	names := map[string]string{"ubnd": "UBND thành phố", "ubnd/phong-noi-vu": "Phòng Nội vụ", "ubnd/x": "  "}
	for unit, want := range map[string]string{
		"":                       "",
		"ubnd":                   "UBND thành phố",
		"ubnd/phong-noi-vu":      "UBND thành phố;Phòng Nội vụ",
		"ubnd/x/to-1":            "UBND thành phố;x;to-1", // blank and missing names fall back to the path segment
		"phuong-dong-da/van-thu": "phuong-dong-da;van-thu",
	} {
		if got := strings.Join(orgOf(unit, names), ";"); got != want {
			t.Errorf("orgOf(%q) = %q, want %q", unit, got, want)
		}
	}
}

func TestUIDAndETag(t *testing.T) {
	uid := uidOf("an@vinhyen.gov.vn")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(uid) {
		t.Errorf("uid %q is not a version 5 UUID", uid)
	}
	if uid != uidOf("an@vinhyen.gov.vn") || uid == uidOf("binh@vinhyen.gov.vn") {
		t.Error("UIDs must be stable and distinct")
	}
	a := newEntry(vcard.KindIndividual, "an@vinhyen.gov.vn", "Nguyễn Văn An", []string{"UBND"})
	for name, other := range map[string]*entry{
		"renamed":   newEntry(vcard.KindIndividual, "an@vinhyen.gov.vn", "Nguyễn Văn Ân", []string{"UBND"}),
		"moved":     newEntry(vcard.KindIndividual, "an@vinhyen.gov.vn", "Nguyễn Văn An", []string{"UBND", "Văn phòng"}),
		"regrouped": newEntry(vcard.KindGroup, "an@vinhyen.gov.vn", "Nguyễn Văn An", []string{"UBND"}),
	} {
		if other.etag == a.etag {
			t.Errorf("%s: ETag unchanged", name)
		}
	}
	if b := newEntry(vcard.KindIndividual, "an@vinhyen.gov.vn", "Nguye\u0302\u0303n Văn An", []string{"UBND"}); b.etag != a.etag {
		t.Error("the same name, decomposed, changed the ETag")
	}
}

func TestVersionNegotiation(t *testing.T) {
	for accept, want := range map[string]string{
		"":                                  version3,
		"*/*":                               version3,
		"text/vcard":                        version3,
		"text/vcard; version=4.0":           version4,
		"text/html, text/vcard;version=4.0": version4,
		"text/vcard;version=3.0, text/vcard;version=4.0": version3,
	} {
		if got := acceptedVersion([]string{accept}); got != want {
			t.Errorf("Accept %q: %s, want %s", accept, got, want)
		}
	}
	for body, want := range map[string]string{
		``:         version3,
		`<not xml`: version3,
		`<C:addressbook-multiget xmlns:C="urn:ietf:params:xml:ns:carddav"><prop xmlns="DAV:"><C:address-data/></prop></C:addressbook-multiget>`:                                                                        version3,
		`<addressbook-multiget xmlns="urn:ietf:params:xml:ns:carddav"><prop xmlns="DAV:"><address-data xmlns="urn:ietf:params:xml:ns:carddav" content-type="text/vcard" version="4.0"/></prop></addressbook-multiget>`: version4,
		`<x:address-data xmlns:x="urn:other" version="4.0"/>`: version3,
	} {
		if got := reportVersion([]byte(body)); got != want {
			t.Errorf("REPORT %q: %s, want %s", body, got, want)
		}
	}
}
