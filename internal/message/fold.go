package message

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold folds text for search: lower case, diacritics removed from Latin
// letters (Vietnamese included), đ/Đ -> d, whitespace runs -> one space,
// no leading or trailing space. Combining marks are dropped wherever they
// come from, so NFC and NFD input fold alike.
//
//	Fold("Báo cáo TỔNG KẾT") == "bao cao tong ket"
func Fold(s string) string {
	folded, _ := fold(s, false)
	return folded
}

// foldText folds decoded text for the search index: Fold(cleanText(s)), without cleanText's passes where they
// change nothing. Fold drops invalid bytes as cleanText's U+FFFD, and drops the marks that NFC would compose with
// Latin letters, so text whose letters are all Latin (Vietnamese included) folds alike with or without NFC; in
// other scripts composing can change what Fold sees (Hangul jamo become syllables), so such text is normalised.
func foldText(s string) string {
	if folded, ok := fold(s, true); ok {
		return folded
	}
	return Fold(cleanText(s))
}

// fold is Fold; latinOnly gives up (false) at the first rune that is neither a Latin letter nor a combining mark
// nor an invalid byte.
func fold(s string, latinOnly bool) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		var rep string
		if c < utf8.RuneSelf {
			i++
			if c <= ' ' || c == 0x7f {
				space = b.Len() > 0
				continue
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteByte(c)
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if latinOnly && !foldsWithoutNFC(r) {
			return "", false
		}
		i += n
		rep = foldRune(r)
		switch rep {
		case "":
			continue
		case " ":
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteString(rep)
	}
	return b.String(), true
}

// foldsWithoutNFC tells whether r folds the same whether or not its text is in NFC: a Latin letter (the ranges of
// the tables below), a combining diacritical mark, or an invalid byte (utf8.RuneError).
func foldsWithoutNFC(r rune) bool {
	return r < 0x370 || r >= 0x1E00 && r < 0x1F00 || r == utf8.RuneError
}

// Tables for the Latin ranges, filled once from foldRuneSlow.
var (
	foldOnce  sync.Once
	foldLatin [0x250]string // U+0000..U+024F
	foldViet  [0x100]string // U+1E00..U+1EFF (Latin Extended Additional)
)

func foldRune(r rune) string {
	foldOnce.Do(func() {
		for i := range foldLatin {
			foldLatin[i] = foldRuneSlow(rune(i))
		}
		for i := range foldViet {
			foldViet[i] = foldRuneSlow(rune(0x1E00 + i))
		}
	})
	switch {
	case r < 0x250:
		return foldLatin[r]
	case r >= 0x1E00 && r < 0x1F00:
		return foldViet[r-0x1E00]
	}
	return foldRuneSlow(r)
}

// special are letters with no canonical decomposition to a base letter.
var special = map[rune]string{
	'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d", 'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l",
	'ħ': "h", 'Ħ': "h", 'ŧ': "t", 'Ŧ': "t", 'ı': "i", 'ß': "ss", 'æ': "ae", 'Æ': "ae",
	'œ': "oe", 'Œ': "oe", 'þ': "th", 'Þ': "th", 'ŋ': "n", 'Ŋ': "n",
}

// foldRuneSlow folds one rune: "" drops it, " " is whitespace.
func foldRuneSlow(r rune) string {
	if s, ok := special[r]; ok {
		return s
	}
	switch {
	case r == utf8.RuneError:
		return ""
	case unicode.IsSpace(r):
		return " "
	case r < ' ' || r == 0x7f:
		return " "
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Cf, r):
		return "" // combining marks, zero-width and other format characters
	}
	var buf [utf8.UTFMax]byte
	d := norm.NFD.Properties(buf[:utf8.EncodeRune(buf[:], r)]).Decomposition()
	if d == nil {
		return string(unicode.ToLower(r))
	}
	var sb strings.Builder
	for _, dr := range string(d) {
		if !unicode.Is(unicode.Mn, dr) {
			sb.WriteRune(unicode.ToLower(dr))
		}
	}
	return sb.String()
}
