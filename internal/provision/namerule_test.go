package provision

import (
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestNameRuleStyles(t *testing.T) {
	tests := []struct {
		name                                        string
		givenInitials, dotInitials, dotFamily, full string
	}{
		{"Nguyễn Văn An", "annv", "an.nv", "an.nguyenvan", "nguyenvanan"},
		{"Trần Thị Bích Ngọc", "ngocttb", "ngoc.ttb", "ngoc.tranthibich", "tranthibichngoc"},
		{"Đỗ Đức Đạt", "datdd", "dat.dd", "dat.doduc", "doducdat"},
		// Family and given name only: the family initial alone, in every style that uses initials.
		{"Lê A", "al", "a.l", "a.le", "lea"},
		{"Lê Hoa", "hoal", "hoa.l", "hoa.le", "lehoa"},
		// One word: the word alone, with no dot.
		{"Hương", "huong", "huong", "huong", "huong"},
		{"Ưng Hoàng Phúc", "phucuh", "phuc.uh", "phuc.unghoang", "unghoangphuc"},
		{"Phạm Thị Ơn", "onpt", "on.pt", "on.phamthi", "phamthion"},
		{"Trương Thị Thu Hương", "huongttt", "huong.ttt", "huong.truongthithu", "truongthithuhuong"},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			style Style
			want  string
		}{
			{StyleGivenInitials, tt.givenInitials},
			{StyleGivenDotInitials, tt.dotInitials},
			{StyleGivenDotFamily, tt.dotFamily},
			{StyleFull, tt.full},
		} {
			got, err := NameRule{Style: c.style}.LocalPart(tt.name)
			if err != nil || got != c.want {
				t.Errorf("%s: LocalPart(%q) = %q, %v; want %q", c.style, tt.name, got, err, c.want)
			}
		}
	}
}

// TestNameRuleInput shows that the default rule reads names however they were typed.
func TestNameRuleInput(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Nguyễn Văn An", "annv"},
		{norm.NFD.String("Nguyễn Văn An"), "annv"}, // decomposed, as some Mac and web forms send it
		{"  NGUYỄN   VĂN    AN ", "annv"},          // upper case, extra spaces
		{"nguyễn văn an", "annv"},                  // lower case
		{"Nguyễn\u00a0Văn\tAn", "annv"},            // a no-break space from a spreadsheet, a tab
		{"Nguyen Van An", "annv"},                  // typed without diacritics
		{"ĐẶNG ĐÌNH ĐỨC", "ducdd"},                 // capital Đ
		{norm.NFD.String("Ưng Ơn Đạt"), "datuo"},   // Ư and Ơ decomposed: the horn is dropped
		{"\u00d0ào Duy Anh", "anhdd"},              // Ð (eth), a common mistyping of Đ
		{"Nguyễn Thị Minh-Khai", "minhkhaint"},     // punctuation inside a word is left out
		{"H'Hen Niê", "nieh"},                      // apostrophes too
		{"Nguyễn Văn An (P. Nội vụ)", "vunvapn"},   // the rule reads every word; give an address instead
		{"Lê Văn 2", "2lv"},                        // digits are kept
		{"Nguyễn . Văn An", "annv"},                // a word with no letters is skipped
		{"ＮＧＵＹＥＮ Văn An", "annv"},                  // full-width letters
	}
	for _, tt := range tests {
		got, err := NameRule{}.LocalPart(tt.name)
		if err != nil || got != tt.want {
			t.Errorf("LocalPart(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestNameRuleErrors(t *testing.T) {
	for _, name := range []string{"", "   ", "张伟", "—", strings.Repeat("Nguyễn ", 20) + "An"} {
		if got, err := (NameRule{Style: StyleFull}).LocalPart(name); err == nil {
			t.Errorf("LocalPart(%q) = %q, want an error", name, got)
		}
	}
	if _, err := (NameRule{Style: "initials"}).LocalPart("Nguyễn Văn An"); err == nil ||
		!strings.Contains(err.Error(), "given-initials, given.initials, given.family, full") {
		t.Errorf("unknown style: err = %v, want one listing the styles", err)
	}
	if _, err := (NameRule{FirstNumber: -1}).LocalPart("An"); err == nil {
		t.Error("negative FirstNumber accepted")
	}
}

func TestParseNameRule(t *testing.T) {
	for in, want := range map[string]Style{
		"": "", "given-initials": StyleGivenInitials, " Given.Initials ": StyleGivenDotInitials,
		"given.family": StyleGivenDotFamily, "full": StyleFull,
	} {
		r, err := ParseNameRule(in)
		if err != nil || r.Style != want {
			t.Errorf("ParseNameRule(%q) = %+v, %v; want style %q", in, r, err, want)
		}
	}
	if _, err := ParseNameRule("annv"); err == nil {
		t.Error("ParseNameRule(annv) accepted")
	}
}

func TestNameRuleString(t *testing.T) {
	for _, tt := range []struct {
		rule NameRule
		want string
	}{
		{NameRule{}, "given-initials (Nguyễn Văn An → annv, annv2, annv3)"},
		{NameRule{FirstNumber: 1}, "given-initials (Nguyễn Văn An → annv, annv1, annv2)"},
		{NameRule{Style: StyleGivenDotFamily}, "given.family (Nguyễn Văn An → an.nguyenvan, an.nguyenvan2, an.nguyenvan3)"},
	} {
		if got := tt.rule.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.rule, got, tt.want)
		}
	}
}
