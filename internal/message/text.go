package message

import (
	"bytes"
	"html"
	"strings"
	"unicode/utf8"
)

// maxBodyText caps Parsed.BodyText: enough for the text of any real letter,
// small enough that a search index stays bounded per message.
const maxBodyText = 1 << 20

// textSink accumulates folded text, one line per source, up to a cap. Lines
// keep a phrase from matching across two unrelated parts.
type textSink struct {
	b   strings.Builder
	max int
}

func (t *textSink) full() bool { return t.b.Len() >= t.max }

func (t *textSink) room() int { return t.max - t.b.Len() }

// add appends s (already folded) on a line of its own, cut at a rune boundary.
func (t *textSink) add(s string) {
	if s == "" || t.full() {
		return
	}
	if t.b.Len() > 0 {
		if t.room() < 2 {
			return
		}
		t.b.WriteByte('\n')
	}
	if room := t.room(); len(s) > room {
		cut := room
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	t.b.WriteString(s)
}

// addPartText adds the searchable text of a text/* part: transfer encoding
// and charset removed, HTML tags stripped, folded.
func (p *parser) addPartText(part *Part) {
	if p.body.full() {
		return
	}
	isHTML := part.Subtype == "html"
	limit := p.body.room()
	if isHTML {
		limit *= 4 // markup shrinks a lot when stripped
	}
	raw := p.raw[part.BodyStart:part.End]
	decoded := decodeAll(part.Encoding, raw, limit)
	s, windows1258 := decodeCharset(decoded, part.Params["charset"])
	if windows1258 {
		if p.read1258 == nil {
			p.read1258 = map[*Part]bool{}
		}
		p.read1258[part] = true
	}
	if isHTML {
		s = stripHTML(s)
	}
	p.body.add(foldText(s))
}

// stripHTML returns the text of an HTML document: tags become spaces, script
// and style contents and comments are dropped, entities are decoded. It is a
// scanner, not a parser: good enough for search, linear on any input.
func stripHTML(s string) string {
	var out strings.Builder
	out.Grow(len(s) / 2)
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			out.WriteString(html.UnescapeString(s))
			break
		}
		out.WriteString(html.UnescapeString(s[:lt]))
		out.WriteByte(' ')
		s = skipTag(s[lt:])
	}
	return out.String()
}

// skipTag returns s after the tag (or comment, or script/style element) it
// starts with.
func skipTag(s string) string {
	if strings.HasPrefix(s, "<!--") {
		if end := strings.Index(s[4:], "-->"); end >= 0 {
			return s[4+end+3:]
		}
		return ""
	}
	gt := strings.IndexByte(s, '>')
	if gt < 0 {
		return ""
	}
	name := tagName(s[1:gt])
	s = s[gt+1:]
	if name == "script" || name == "style" {
		// Unclosed, it runs to the end, as in browsers (and searching for
		// the close again at every later tag would be quadratic).
		end := indexFold(s, "</"+name)
		if end < 0 {
			return ""
		}
		rest := s[end:]
		if gt := strings.IndexByte(rest, '>'); gt >= 0 {
			return rest[gt+1:]
		}
		return ""
	}
	return s
}

func tagName(t string) string {
	end := 0
	for end < len(t) && t[end] != ' ' && t[end] != '\t' && t[end] != '\n' && t[end] != '\r' && t[end] != '/' {
		end++
	}
	return strings.ToLower(t[:end])
}

// indexFold is a case-insensitive strings.Index for an ASCII needle.
func indexFold(s, needle string) int {
	lower := []byte(needle)
	upper := bytes.ToUpper(lower)
	for i := 0; i+len(needle) <= len(s); i++ {
		j := strings.IndexAny(s[i:], string([]byte{lower[0], upper[0]}))
		if j < 0 {
			return -1
		}
		i += j
		if i+len(needle) <= len(s) && strings.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}
