package mailview

import (
	"mime"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"mailserver/internal/message"
)

// inlineTypes are the types a browser shows itself without running anything the sender wrote: PDF (in the
// browser's viewer) and raster images. SVG is left out: it is a document that can hold script.
var inlineTypes = map[string]bool{
	"application/pdf": true,
	"image/png":       true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/bmp": true,
	"image/avif": true,
}

// maxFileName bounds the name offered for download, in runes; file systems take 255 bytes.
const maxFileName = 120

// ContentDisposition is the Content-Disposition header for serving a part (RFC 6266): "inline" for the types a
// browser shows safely (PDF, raster images), "attachment" otherwise, with an ASCII filename= for old clients and
// a filename* in UTF-8 (RFC 8187) carrying the real name, Vietnamese letters included. The name is reduced to a
// base name: no path separators, no control characters, no quote or backslash, so nothing in it can end the
// header or name a folder.
func ContentDisposition(fileName, contentType string) string {
	disp := "attachment"
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && inlineTypes[mt] {
		disp = "inline"
	}
	name := safeFileName(fileName)
	if name == "" {
		return disp
	}
	return disp + `; filename="` + asciiFileName(name) + `"; filename*=UTF-8''` + encodeExtValue(name)
}

// safeFileName keeps the last path element of name, with control and format characters, quotes and
// backslashes removed, leading dots and blanks trimmed (no hidden files), at most maxFileName runes.
func safeFileName(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base("/" + name)
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '"' || r == '/' || r == utf8.RuneError:
			return -1
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ". ")
	if utf8.RuneCountInString(name) > maxFileName {
		name = cutRunesKeepExt(name, maxFileName)
	}
	return name
}

// cutRunesKeepExt shortens name to n runes, keeping a short extension.
func cutRunesKeepExt(name string, n int) string {
	ext := path.Ext(name)
	if utf8.RuneCountInString(ext) > 10 {
		ext = ""
	}
	runes := []rune(strings.TrimSuffix(name, ext))
	keep := n - utf8.RuneCountInString(ext)
	return string(runes[:min(keep, len(runes))]) + ext
}

// asciiFileName is the name without diacritics (Fold: "Báo cáo" is "bao cao"), any other non-ASCII character
// and the characters that would end the quoted string replaced by "_".
func asciiFileName(name string) string {
	folded := message.Fold(name)
	b := make([]byte, 0, len(folded))
	for _, r := range folded {
		switch {
		case r < 0x20 || r >= 0x7f || r == '"' || r == '\\' || r == '%' || r == ';':
			b = append(b, '_')
		default:
			b = append(b, byte(r))
		}
	}
	return string(b)
}

// encodeExtValue is the value part of an RFC 8187 ext-value (after the charset and language): every byte outside
// attr-char %-encoded.
func encodeExtValue(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAttrChar(c) {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte("0123456789ABCDEF"[c>>4])
		sb.WriteByte("0123456789ABCDEF"[c&15])
	}
	return sb.String()
}

// isAttrChar: RFC 8187 3.2.1 attr-char, ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`"
// / "|" / "~".
func isAttrChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
