package message

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/unicode/norm"
)

// Fold folds text for search: lower case, diacritics removed from Latin
// letters (Vietnamese included), đ/Đ -> d, whitespace runs -> one space,
// no leading or trailing space. Combining marks are dropped wherever they
// come from, so NFC and NFD input fold alike.
//
//	Fold("Báo cáo TỔNG KẾT") == "bao cao tong ket"
func Fold(s string) string {
	folded, _ := appendFold(make([]byte, 0, len(s)), s, false)
	return unsafe.String(unsafe.SliceData(folded), len(folded)) // folded is not written again
}

// appendFoldText appends decoded text folded for the search index: Fold(cleanText(s)), without cleanText's passes
// where they change nothing. Fold drops invalid bytes as cleanText's U+FFFD, and drops the marks that NFC would
// compose with Latin letters, so text whose letters are all Latin (Vietnamese included) folds alike with or without
// NFC; in other scripts composing can change what Fold sees (Hangul jamo become syllables), so such text is
// normalised.
func appendFoldText(dst []byte, s string) []byte {
	if folded, ok := appendFold(dst, s, true); ok {
		return folded
	}
	folded, _ := appendFold(dst, cleanText(s), false)
	return folded
}

// appendFold appends Fold(s) to dst; latinOnly gives up (false, and dst as it was) at the first rune that is neither
// a Latin letter nor a combining mark nor an invalid byte. The runes of the Latin tables below are decoded in line
// and looked up, ASCII by a table of its own; only other scripts go through utf8 and unicode.
func appendFold(dst []byte, s string, latinOnly bool) ([]byte, bool) {
	foldOnce.Do(fillFoldTables)
	start := len(dst)
	space := false // a separator is pending: written before the next letter, if any came before
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			f := foldASCII[c]
			if f == 0 {
				space = len(dst) > start
				continue
			}
			if space {
				dst = append(dst, ' ')
				space = false
			}
			dst = append(dst, f)
			continue
		}
		var rep string
		var letter byte // rep when it is one ASCII letter or digit, the common case: appended at once
		switch {
		case c >= 0xC2 && c < 0xC9 && i+1 < len(s) && s[i+1]&0xC0 == 0x80:
			// U+0080..U+023F, two bytes: the Latin-1 and Latin Extended-A/B letters.
			r := rune(c&0x1F)<<6 | rune(s[i+1]&0x3F)
			i += 2
			letter, rep = foldLatinByte[r], foldLatin[r]
		case c == 0xE1 && i+2 < len(s) && s[i+1] >= 0xB8 && s[i+1] <= 0xBB && s[i+2]&0xC0 == 0x80:
			// U+1E00..U+1EFF, three bytes: Latin Extended Additional, the precomposed Vietnamese letters.
			r := rune(s[i+1]-0xB8)<<6 | rune(s[i+2]&0x3F)
			i += 3
			letter, rep = foldVietByte[r], foldViet[r]
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if latinOnly && !foldsWithoutNFC(r) {
				return dst[:start], false
			}
			i += n
			rep = foldRune(r)
		}
		if letter != 0 {
			if space {
				dst = append(dst, ' ')
				space = false
			}
			dst = append(dst, letter)
			continue
		}
		switch rep {
		case "":
			continue
		case " ":
			space = len(dst) > start
			continue
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		dst = append(dst, rep...)
	}
	return dst, true
}

// foldASCII folds an ASCII byte: lower case, 0 for the controls, blank and DEL, which separate words.
var foldASCII = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		switch {
		case c <= ' ' || c == 0x7f:
		case 'A' <= c && c <= 'Z':
			t[c] = byte(c + 'a' - 'A')
		default:
			t[c] = byte(c)
		}
	}
	return t
}()

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
	// The same where the rune folds to one ASCII letter or digit, else 0.
	foldLatinByte [0x250]byte
	foldVietByte  [0x100]byte
)

func foldRune(r rune) string {
	foldOnce.Do(fillFoldTables)
	switch {
	case r < 0x250:
		return foldLatin[r]
	case r >= 0x1E00 && r < 0x1F00:
		return foldViet[r-0x1E00]
	}
	return foldRuneSlow(r)
}

func fillFoldTables() {
	for i := range foldLatin {
		foldLatin[i] = foldRuneSlow(rune(i))
		foldLatinByte[i] = asciiWordByte(foldLatin[i])
	}
	for i := range foldViet {
		foldViet[i] = foldRuneSlow(rune(0x1E00 + i))
		foldVietByte[i] = asciiWordByte(foldViet[i])
	}
}

// asciiWordByte returns the one ASCII letter or digit rep is made of, or 0.
func asciiWordByte(rep string) byte {
	if len(rep) == 1 && asciiWord[rep[0]] {
		return rep[0]
	}
	return 0
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

// FoldNeedle folds a search string as Fold does. Text that is not UTF-8 matches no message: decoded mail holds no
// such bytes (they became U+FFFD when it was decoded, which folding drops), whereas folding them away here would
// leave a string that matches every message. IMAP's SEARCH and the webmail's search both fold through it.
func FoldNeedle(s string) string {
	if !utf8.ValidString(s) {
		return string(utf8.RuneError)
	}
	return Fold(s)
}
