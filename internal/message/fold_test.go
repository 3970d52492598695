package message

import (
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestFold(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Báo cáo TỔNG KẾT", "bao cao tong ket"},
		{"Đăng ký điện thoại", "dang ky dien thoai"},
		{"ĐẶNG THỊ NGỌC HUỆ", "dang thi ngoc hue"},
		{"Nguyễn Văn Ân ưu ơi", "nguyen van an uu oi"},
		{"Sở Kế hoạch và Đầu tư", "so ke hoach va dau tu"},
		{"Ủy ban nhân dân tỉnh Thừa Thiên Huế", "uy ban nhan dan tinh thua thien hue"},
		{norm.NFD.String("Báo cáo tổng kết"), "bao cao tong ket"},
		{"  many\t\r\n spaces\u00a0here  ", "many spaces here"},
		{"zero\u200bwidth\u00adsoft", "zerowidthsoft"},
		{"Crème Brûlée Ærø Straße Łódź İstanbul", "creme brulee aero strasse lodz istanbul"},
		{"ΆΈΉ Ελληνικά", "αεη ελληνικα"},
		{"Москва", "москва"},
		{"中文 日本語", "中文 日本語"},
		{"bad\xffutf8", "badutf8"},
		{"", ""},
		{"MiXeD 123 !?", "mixed 123 !?"},
	}
	for _, c := range cases {
		if got := Fold(c.in); got != c.want {
			t.Errorf("Fold(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFoldVietnameseAlphabet checks every precomposed Vietnamese letter folds
// to one ASCII letter.
func TestFoldVietnameseAlphabet(t *testing.T) {
	const letters = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
	for _, r := range letters {
		for _, s := range []string{string(r), norm.NFD.String(string(r))} {
			got := Fold(s)
			if len(got) != 1 || got[0] < 'a' || got[0] > 'z' {
				t.Errorf("Fold(%q) = %q", s, got)
			}
		}
	}
}

func TestDecodeHeaderValue(t *testing.T) {
	cases := []struct{ in, want string }{
		{"=?UTF-8?B?QsOhbyBjw6Fv?=", "Báo cáo"},
		{"=?windows-1258?Q?B=E1o_c=E1o_t=F4=D2ng?=", "Báo cáo tổng"},
		{"=?utf-8?q?T=E1=BB?= =?utf-8?q?=95ng?=", "Tổng"}, // a character split across words
		{"=?x-unknown?q?abc?= plain", "abc plain"},
		{"=?utf-8?q?a=0D=0Ab?=", "a  b"},
		{"no encoding", "no encoding"},
		{"raw UTF-8 Tiếng Việt", "raw UTF-8 Tiếng Việt"},
		{"=?UTF-8*vi?Q?Vi=E1=BB=87t?=", "Việt"},
	}
	for _, c := range cases {
		if got := DecodeHeaderValue(c.in); got != c.want {
			t.Errorf("DecodeHeaderValue(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFoldTextSkipsNFCOnlyWhereItChangesNothing checks the search index's shortcut: appendFoldText appends
// Fold(cleanText(s)) for text mixing Vietnamese in NFC and NFD, other Latin letters, lone combining marks, invalid
// bytes, and scripts where NFC composes what Fold would not (Hangul jamo) or decomposes singletons (the Kelvin and
// Ohm signs).
func TestFoldTextSkipsNFCOnlyWhereItChangesNothing(t *testing.T) {
	pieces := []string{"Báo cáo", norm.NFD.String("TỔNG KẾT Đầu tư ưu ơi"), "e\u0302\u0301", "=\u0338", "a\u0308",
		"\u0301", "\xff", "\xe1\xbb", " \t\r\n", "Ærø Straße", "\u1100\u1161\u11a8", "한국어", "\u212a\u2126",
		"Ελληνικά", "中文", "x", "\u00a0", "\u200b", "ʃɐ"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var s strings.Builder
		for range rng.IntN(8) {
			s.WriteString(pieces[rng.IntN(len(pieces))])
		}
		if got, want := string(appendFoldText(nil, s.String())), Fold(cleanText(s.String())); got != want {
			t.Fatalf("appendFoldText(%q) = %q, want %q", s.String(), got, want)
		}
	}
}
