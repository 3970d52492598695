package message

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// Old Vietnamese mailers (Outlook Express and others on Windows in a Vietnamese locale) send windows-1258 text
// without a charset label, or label it us-ascii. windows1258Text tells such text apart from 8-bit text in other
// charsets, which stays as it was (invalid bytes shown as U+FFFD).

// windows1258Text returns b decoded from windows-1258 in NFC, and true, when b is Vietnamese text in windows-1258;
// otherwise "" and false. It decides conservatively, so that text in another charset is never turned into
// Vietnamese that nobody wrote. b is taken as windows-1258 only when all of these hold:
//
//  1. b is not valid UTF-8 (valid UTF-8 is read as UTF-8).
//  2. b has a byte that windows-1258 reads as a letter or tone mark of Vietnamese alone, where windows-1252 and
//     ISO 8859-1 read another character: Ă ă Đ đ Ơ ơ Ư ư (0xC3 0xE3 0xD0 0xF0 0xD5 0xF5 0xDD 0xFD) or a combining
//     tone mark (0xCC grave, 0xEC acute, 0xD2 hook above, 0xDE tilde, 0xF2 dot below). Text whose 8-bit bytes
//     all read alike in those charsets (café, Báo cáo) gives no evidence either way.
//  3. Every non-ASCII letter, after decoding and NFC normalisation, is a Vietnamese letter (the 12 vowels in
//     their 6 tones, and đ, in either case). So a tone mark must follow a vowel and compose with it, and a vowel
//     carries one tone at most: a stray mark, or one on a consonant (ś, ǹ), disqualifies the text, and so do
//     letters of other languages (ç, ü, ß, ñ, œ). Other characters may be any punctuation or symbol windows-1258
//     has (… “ ” – — € ° and the no-break space, which windows-1252 reads alike), but no undefined byte, and
//     the đồng sign ₫ (0xFE, þ in ISO 8859-1) only apart from letters, as in 100.000₫.
//  4. Every word that has a non-ASCII letter is one Vietnamese syllable (Vietnamese writes each syllable as a
//     word): an optional initial consonant (b c ch d đ g gh gi h k kh l m n ng ngh nh p ph qu r s t th tr v x),
//     a vowel group of Vietnamese (a, ươ, uyê, oai, …) with at most one tone, and an optional final (c ch m n ng
//     nh p t) where the group allows one; or, as in QĐ or ĐT, an abbreviation of consonants alone. Words of ASCII
//     letters only (English, addresses, codes) are not judged.
//
// Real Vietnamese text passes all four; Portuguese não (năo), Icelandic með (međ) or Italian così (coś) in
// ISO 8859-1 fail rule 4 or 3. Text with a single foreign word with diacritics (René, Müller) is not taken
// either: the cost of caution is the U+FFFD shown before.
func windows1258Text(b []byte) (string, bool) {
	if utf8.Valid(b) || !hasVietnameseByte(b) {
		return "", false
	}
	decoded, err := charmap.Windows1258.NewDecoder().Bytes(b)
	if err != nil {
		return "", false
	}
	text := norm.NFC.String(string(decoded))
	if !vietnameseWords(text) {
		return "", false
	}
	return text, true
}

// vietnameseBytes marks the bytes of rule 2 of windows1258Text.
var vietnameseBytes = func() (t [256]bool) {
	for _, c := range []byte("\xc3\xe3\xd0\xf0\xd5\xf5\xdd\xfd\xcc\xec\xd2\xde\xf2") {
		t[c] = true
	}
	return t
}()

func hasVietnameseByte(b []byte) bool {
	for _, c := range b {
		if vietnameseBytes[c] {
			return true
		}
	}
	return false
}

const dongSign = '₫'

// vietnameseWords checks rules 3 and 4 of windows1258Text on NFC text decoded from windows-1258.
func vietnameseWords(text string) bool {
	start := -1 // start of the current word, -1 between words
	prev := ' '
	for i, r := range text {
		if isWordRune(r) {
			if prev == dongSign {
				return false
			}
			if start < 0 {
				start = i
			}
		} else {
			if start >= 0 && !vietnameseWord(text[start:i]) {
				return false
			}
			start = -1
			if r == utf8.RuneError || r == dongSign && isWordRune(prev) {
				return false // an undefined byte, or þ in a word of ISO 8859-1
			}
		}
		prev = r
	}
	return start < 0 || vietnameseWord(text[start:])
}

// isWordRune reports whether r belongs to a word: a letter, or a combining mark left over by NFC.
func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) }

// vowelTones lists each Vietnamese vowel followed by it in the five tones: grave (huyền), acute (sắc), hook above
// (hỏi), tilde (ngã) and dot below (nặng).
var vowelTones = []string{"aàáảãạ", "ăằắẳẵặ", "âầấẩẫậ", "eèéẻẽẹ", "êềếểễệ", "iìíỉĩị", "oòóỏõọ", "ôồốổỗộ",
	"ơờớởỡợ", "uùúủũụ", "ưừứửữự", "yỳýỷỹỵ"}

// vowel is a lower-case Vietnamese vowel letter without its tone, and whether it had one.
type vowel struct {
	base  rune
	toned bool
}

var vowels = func() map[rune]vowel {
	m := make(map[rune]vowel, 6*len(vowelTones))
	for _, row := range vowelTones {
		base, _ := utf8.DecodeRuneInString(row)
		for i, r := range []rune(row) {
			m[r] = vowel{base, i > 0}
		}
	}
	return m
}()

// vietnameseWord checks one word (a run of letters and marks) that may have non-ASCII letters (rule 4).
func vietnameseWord(word string) bool {
	if isASCII(word) {
		return true
	}
	var base strings.Builder
	tones, hasVowel := 0, false
	for _, r := range strings.ToLower(word) {
		v, isVowel := vowels[r]
		switch {
		case isVowel:
			base.WriteRune(v.base)
			hasVowel = true
			if v.toned {
				tones++
			}
		case r == 'đ' || r >= 'a' && r <= 'z':
			base.WriteRune(r)
		default:
			return false // another language's letter, or a mark that did not compose
		}
	}
	if !hasVowel {
		return true // an abbreviation such as QĐ or ĐT
	}
	return tones <= 1 && vietnameseSyllable(base.String())
}

// initials are the initial consonants of Vietnamese syllables, longest first so that "ngh" is not read as "ng".
var initials = []string{"ngh", "ch", "gh", "gi", "kh", "ng", "nh", "ph", "qu", "th", "tr",
	"b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x"}

// finals are the final consonants, longest first.
var finals = []string{"ch", "ng", "nh", "c", "m", "n", "p", "t"}

// Whether a vowel group takes a final consonant.
const (
	finalOptional = iota
	finalRequired
	finalNone
)

// vowelGroups are the vowel groups (without tones) of Vietnamese syllables, after the initial consonant, and
// whether each takes a final consonant: ăn but not ă, tai but not tain.
var vowelGroups = func() map[string]int {
	m := map[string]int{}
	for rule, groups := range map[int]string{
		finalOptional: "a e ê i o ô ơ u ư y oa oe uê uy uơ oo",
		finalRequired: "ă â oă uâ iê yê uô ươ uyê",
		finalNone: "ai ao au ay âu ây eo êu ia iu oi ôi ơi ua ui ưa ưi ưu " +
			"iêu oai oao oay oeo uây uôi uya uyu ươi ươu yêu",
	} {
		for _, g := range strings.Fields(groups) {
			m[g] = rule
		}
	}
	return m
}()

// vietnameseSyllable reports whether s, lower case without tones, is initial consonant, vowel group and final
// consonant as Vietnamese spelling has them.
func vietnameseSyllable(s string) bool {
	rest := s
	for _, c := range initials {
		if after, ok := strings.CutPrefix(s, c); ok {
			rest = after
			if c == "gi" && !startsWithVowel(rest) {
				rest = s[1:] // gì, gìn: g before the vowel i
			}
			break
		}
	}
	final := ""
	for _, f := range finals {
		if group, ok := strings.CutSuffix(rest, f); ok && group != "" {
			rest, final = group, f
			break
		}
	}
	rule, ok := vowelGroups[rest]
	switch {
	case !ok:
		return false
	case rule == finalRequired:
		return final != ""
	case rule == finalNone:
		return final == ""
	}
	return true
}

func startsWithVowel(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	_, ok := vowels[r]
	return ok
}
