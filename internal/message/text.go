package message

import (
	"bytes"
	"html"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// maxBodyText caps Parsed.BodyText: enough for the text of any real letter,
// small enough that a search index stays bounded per message.
const maxBodyText = 1 << 20

// textSink accumulates folded text, one line per source, up to a cap. Lines
// keep a phrase from matching across two unrelated parts.
type textSink struct {
	b   []byte
	max int
}

func (t *textSink) full() bool { return len(t.b) >= t.max }

func (t *textSink) room() int { return t.max - len(t.b) }

// add appends s (already folded) on a line of its own, cut at a rune boundary.
func (t *textSink) add(s string) {
	if s == "" {
		return
	}
	t.addWith(func(dst []byte) []byte { return append(dst, s...) })
}

// addFoldText adds appendFoldText's folding of s as add does, folding straight into the sink.
func (t *textSink) addFoldText(s string) {
	t.b = slices.Grow(t.b, min(len(s), t.room())+1)
	t.addWith(func(dst []byte) []byte { return appendFoldText(dst, s) })
}

// addWith is add of the text that appendText appends; an empty one adds nothing.
func (t *textSink) addWith(appendText func(dst []byte) []byte) {
	if t.full() {
		return
	}
	before := len(t.b)
	if before > 0 {
		if t.room() < 2 {
			return
		}
		t.b = append(t.b, '\n')
	}
	textStart := len(t.b)
	t.b = appendText(t.b)
	if len(t.b) == textStart {
		t.b = t.b[:before]
		return
	}
	if len(t.b) > t.max {
		cut := t.max
		for cut > textStart && !utf8.RuneStart(t.b[cut]) {
			cut--
		}
		t.b = t.b[:cut]
	}
}

// textBuffers hold the folded text of a message while it is parsed, and the decoded and stripped forms of a part's
// text while addPartText folds them: the parts of a message, and the messages parsed one after the other, reuse them.
type textBuffers struct {
	body, decoded, stripped []byte
}

// maxPooledBuffer bounds the buffers kept for reuse: a rare large text part should not hold its memory for good.
const maxPooledBuffer = 256 << 10

var textBufferPool = sync.Pool{New: func() any { return new(textBuffers) }}

func getTextBuffers() *textBuffers { return textBufferPool.Get().(*textBuffers) }

// putTextBuffers gives b back for reuse, unless it grew too large. Nothing a parse returns refers to its buffers.
func putTextBuffers(b *textBuffers) {
	if max(cap(b.body), cap(b.decoded), cap(b.stripped)) <= maxPooledBuffer {
		textBufferPool.Put(b)
	}
}

// addPartText adds the searchable text of a text/* part: transfer encoding
// and charset removed, HTML tags stripped, folded. The decoded and stripped
// forms live in buffers the parts of a message share.
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
	bufs := p.bufs
	decoded := appendDecoded(bufs.decoded[:0], part.Encoding, raw, limit)
	if len(decoded) > 0 && &decoded[0] != &raw[0] { // not raw itself (an identity encoding): keep the buffer
		bufs.decoded = decoded
	}
	s, windows1258 := charsetView(decoded, part.Params["charset"])
	if windows1258 {
		if p.read1258 == nil {
			p.read1258 = map[*Part]bool{}
		}
		p.read1258[part] = true
	}
	if isHTML {
		bufs.stripped = appendStripHTML(bufs.stripped[:0], s)
		s = unsafe.String(unsafe.SliceData(bufs.stripped), len(bufs.stripped))
	}
	p.body.addFoldText(s)
}

// appendStripHTML appends the text of an HTML document: tags become spaces,
// script and style contents and comments are dropped, entities are decoded.
// It is a scanner, not a parser: good enough for search, linear on any input.
func appendStripHTML(dst []byte, s string) []byte {
	dst = slices.Grow(dst, len(s)) // about as long as the text is: tags shrink to a space, entities to a rune
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			dst = append(dst, html.UnescapeString(s)...)
			break
		}
		dst = append(dst, html.UnescapeString(s[:lt])...)
		dst = append(dst, ' ')
		s = skipTag(s[lt:])
	}
	return dst
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
