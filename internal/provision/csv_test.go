package provision

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// TestExcelVietnamese reads what Excel writes in a Vietnamese locale with "CSV UTF-8": a byte-order mark,
// semicolons, CRLF line ends, a Vietnamese header with a row-number column, decimal commas.
func TestExcelVietnamese(t *testing.T) {
	file := "\uFEFFSTT;Họ và tên;Đơn vị;Địa chỉ;Dung lượng\r\n" +
		"1;Nguyễn Văn An;vinhyen/ubnd;;2GB\r\n" +
		"2;Trần Thị Bích Ngọc;vinhyen/ubnd/phong-noi-vu;ngoc.ttb;1,5GB\r\n" +
		";;;;\r\n" + // Excel's empty row
		"3;\"Đỗ Đức Đạt\";VINHYEN/XA-THANH-TRU;@ubnd.vinhyen.gov.vn;\r\n"
	p := mustPlan(t, file, testDirectory(), Options{Domain: testDomain, Quota: 1 << 30})
	want := []NewAccount{
		{Line: 2, Address: "annv@vinhyen.gov.vn", Name: "Nguyễn Văn An", Unit: "vinhyen/ubnd", Quota: 2 << 30, Generated: true},
		{Line: 3, Address: "ngoc.ttb@vinhyen.gov.vn", Name: "Trần Thị Bích Ngọc", Unit: "vinhyen/ubnd/phong-noi-vu", Quota: 3 << 29},
		{Line: 5, Address: "datdd@ubnd.vinhyen.gov.vn", Name: "Đỗ Đức Đạt", Unit: "vinhyen/xa-thanh-tru", Quota: 1 << 30, Generated: true},
	}
	if !slices.EqualFunc(p.Create, want, equalNew) {
		t.Errorf("plan:\n got %+v\nwant %+v", p.Create, want)
	}
}

func equalNew(a, b NewAccount) bool {
	return a.Line == b.Line && a.Address == b.Address && a.Name == b.Name && a.Unit == b.Unit && a.Quota == b.Quota &&
		a.Generated == b.Generated && slices.Equal(a.Namesakes, b.Namesakes) && a.DuplicateOf == b.DuplicateOf
}

// TestHeaders shows the header rows recognised, and files without one.
func TestHeaders(t *testing.T) {
	tests := []struct{ name, file string }{
		{"english", "full name,unit,address,quota\nNguyễn Văn An,vinhyen/ubnd,,\n"},
		{"english reordered", "Unit,Full Name\nvinhyen/ubnd,Nguyễn Văn An\n"},
		{"vietnamese", "Họ và tên,Đơn vị,Địa chỉ,Dung lượng\nNguyễn Văn An,vinhyen/ubnd,,\n"},
		{"vietnamese upper case", "HỌ VÀ TÊN;ĐƠN VỊ\nNguyễn Văn An;vinhyen/ubnd\n"},
		{"vietnamese NFD", norm.NFD.String("Họ tên;Đơn vị công tác\nNguyễn Văn An;vinhyen/ubnd\n")},
		{"vietnamese without diacritics", "Ho va ten;Don vi;Email\nNguyễn Văn An;vinhyen/ubnd;\n"},
		{"row number and notes", "STT,Họ và tên,Đơn vị,Ghi chú\n1,Nguyễn Văn An,vinhyen/ubnd,trưởng phòng\n"},
		{"no header", "Nguyễn Văn An,vinhyen/ubnd\n"},
		{"no header, all columns", "Nguyễn Văn An,vinhyen/ubnd,annv,0\n"},
		{"tabs", "Họ và tên\tĐơn vị\nNguyễn Văn An\tvinhyen/ubnd\n"},
		{"blank lines", "\n\nHọ và tên;Đơn vị\n\n;\nNguyễn Văn An;vinhyen/ubnd\n"},
		{"no final newline", "Nguyễn Văn An;vinhyen/ubnd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPlan(t, tt.file, testDirectory(), testOptions)
			if len(p.Create) != 1 || p.Create[0].Address != "annv@vinhyen.gov.vn" || p.Create[0].Unit != "vinhyen/ubnd" ||
				p.Create[0].Name != "Nguyễn Văn An" {
				t.Errorf("plan = %+v, want annv@vinhyen.gov.vn in vinhyen/ubnd", p.Create)
			}
		})
	}
}

// TestQuotedFields checks quoting and that line numbers count the lines of a multi-line cell.
func TestQuotedFields(t *testing.T) {
	file := "Họ và tên,Đơn vị,Ghi chú\n" +
		"\"Nguyễn Văn An\",\"vinhyen/ubnd\",\"chuyển từ\nphòng khác, 2024\"\n" +
		"Lê Hoa,vinhyen/xyz,\n"
	p, err := Plan(strings.NewReader(file), testDirectory(), testOptions)
	wantCreated(t, p, "2 annv@vinhyen.gov.vn")
	want := "line 4, column Đơn vị: unit vinhyen/xyz does not exist (see 'mailserver unit list', or add it with 'mailserver unit add vinhyen/xyz')"
	if got := errorTexts(err); !slices.Equal(got, []string{want}) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

// TestFileProblems covers files that cannot be read at all, and header mistakes.
func TestFileProblems(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string
	}{
		{"windows code page", "Họ và tên;Đơn vị\nNguy\xean V\xe3n An;vinhyen/ubnd\n",
			[]string{`line 2: the file is not in UTF-8 (perhaps in a Windows code page): in Excel, use "Save as" with the type "CSV UTF-8 (Comma delimited)"`}},
		{"utf-16", "\xff\xfeH\x00", []string{`the file is in UTF-16, not UTF-8: in Excel, use "Save as" with the type "CSV UTF-8 (Comma delimited)"`}},
		{"unknown column", "Họ và tên;Đơn vị;Chức vụ\n",
			[]string{`line 1, column Chức vụ: unknown column "Chức vụ": the columns are full name (họ và tên), unit (đơn vị), address (địa chỉ) and quota (dung lượng)`}},
		{"no unit column", "Họ và tên;Địa chỉ\n", []string{"line 1: the header has no column unit (đơn vị)"}},
		{"column twice", "Họ và tên;Đơn vị;Email;Địa chỉ\n",
			[]string{`line 1, column Địa chỉ: column address appears twice (also as "Email")`}},
		{"cell past the header", "Họ và tên;Đơn vị\nNguyễn Văn An;vinhyen/ubnd;annv\n",
			[]string{"line 2: cell 3 has a value but line 1 names no column for it"}},
		{"too many cells", "Nguyễn Văn An;vinhyen/ubnd;annv;1GB;x\n",
			[]string{"line 1: more than 4 cells: the columns are full name, unit, address, quota (or give a header row)"}},
		{"bad quotes", "Họ và tên;Đơn vị\n\"Nguyễn \"Văn\" An\";vinhyen/ubnd\n",
			[]string{`line 2: extraneous or missing " in quoted-field (check the quotes)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Plan(strings.NewReader(tt.file), testDirectory(), testOptions)
			if got := errorTexts(err); !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
			if p != nil && len(p.Create) > 0 {
				t.Errorf("plan creates %v from a broken file", created(p))
			}
		})
	}
}

func TestSeparator(t *testing.T) {
	for in, want := range map[string]rune{
		"a;b;c\n":          ';',
		"a,b,c\n":          ',',
		"a\tb\n":           '\t',
		"a\n":              ',',
		`"x;y;z",b` + "\n": ',', // separators inside quotes do not count
		"a;b,c;d\n":        ';',
		"a,b;c,d\nx;y;z;w": ',', // only the first line counts
	} {
		if got := separator([]byte(in)); got != want {
			t.Errorf("separator(%q) = %q, want %q", in, got, want)
		}
	}
}
