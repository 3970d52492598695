package message

import (
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// A TokenWriter receives an ENVELOPE or BODYSTRUCTURE (RFC 3501 7.4.2) as IMAP tokens; it decides how each
// string goes on the wire (quoted or literal).
type TokenWriter interface {
	Special(ch byte) // a parenthesis or a space
	NIL()
	String(s string)
	Number64(v int64)
}

// A StructureWriter writes the ENVELOPE and BODYSTRUCTURE of a message straight from its encoded Meta, reading
// only what they show: no Meta, imap.Envelope or imap.BodyStructure is built, and nothing is allocated but its
// buffer (for the RFC 2047 words, dates and message ids it writes), which it reuses. The bytes are those the
// library's writer makes of DecodeMeta's Envelope and Meta.BodyStructure, for every meta StreamableMeta accepts.
type StructureWriter struct {
	buf []byte
}

// StreamableMeta reports whether the StructureWriter can write meta. It cannot when DecodeMeta fails (the caller
// then shows a fallback), nor when a parameter list is not in the strictly ascending key order the encoder
// writes (DecodeMeta's map would sort it and keep the last of repeated names) or a date lies beyond the years
// it formats: only a corrupt record does any of these.
// meta is read in place and nothing of it is kept.
func StreamableMeta(meta []byte) bool {
	st, ok := newMetaStream(meta, nil, nil)
	if !ok {
		return false
	}
	st.envelope()
	st.part(0, true)
	return st.d.err == nil && st.plain
}

// Envelope writes the root ENVELOPE of meta, which StreamableMeta accepted.
func (sw *StructureWriter) Envelope(w TokenWriter, meta []byte) {
	st, ok := newMetaStream(meta, w, &sw.buf)
	if ok {
		st.envelope()
	}
}

// BodyStructure writes the BODY (extended false) or BODYSTRUCTURE of meta, which StreamableMeta accepted.
func (sw *StructureWriter) BodyStructure(w TokenWriter, meta []byte, extended bool) {
	st, ok := newMetaStream(meta, w, &sw.buf)
	if !ok {
		return
	}
	st.mute(st.envelope)
	st.part(0, extended)
}

// metaStream walks an encoded Meta in the order DecodeMeta reads it, with its checks, writing to out as it goes.
type metaStream struct {
	d     decoder
	out   TokenWriter // nil: only read (checking, or skipping what is not shown)
	buf   *[]byte
	word  string // what the buffer holds the encoded word of, if it does (From's names come again as Sender's)
	plain bool   // false once a parameter list is out of order or a date out of range
	date  storedTime
}

// storedTime is a date as the encoding holds it, without the time.Location DecodeMeta makes of its zone (which
// the envelope's date does not show: only the offset).
type storedTime struct {
	set      bool
	sec, off int64
	nsec     uint64
}

// zeroUnix is time.Time{}'s Unix time: a stored date there is zero to IsZero, and written as NIL.
const zeroUnix = -62135596800

// maxStreamedUnix bounds the dates the writer formats itself (about the year 300,000 either way); a record with a
// date beyond goes the decoding way, whose time.Time formats what overflows as it did.
const maxStreamedUnix = 1 << 43

// time reads a date with decoder.time's checks.
func (st *metaStream) time() storedTime {
	d := &st.d
	switch d.uvarint() {
	case timeZero:
		return storedTime{}
	case timeSameAsDate:
		return st.date
	case timeFull:
	default:
		d.fail()
		return storedTime{}
	}
	t := storedTime{set: true, sec: d.varint(), nsec: d.uvarint(), off: d.varint()}
	d.str() // the zone's name, which the envelope does not show
	if t.nsec >= 1e9 || t.off < -24*3600 || t.off > 24*3600 {
		d.fail()
		return storedTime{}
	}
	if t.sec > maxStreamedUnix || t.sec < -maxStreamedUnix {
		st.plain = false
	}
	return t
}

func (t storedTime) isZero() bool { return !t.set || t.sec == zeroUnix && t.nsec == 0 }

// appendEnvelopeDate appends t as the library writes an envelope's date (RFC 5322 3.3), time.Time's
// Format("Mon, 02 Jan 2006 15:04:05 -0700") in a zone of t's offset: the wall clock is the UTC one of the instant
// moved by the offset, and the offset is written in whole minutes.
func appendEnvelopeDate(b []byte, t storedTime) []byte {
	b = time.Unix(t.sec+t.off, int64(t.nsec)).UTC().AppendFormat(b, "Mon, 02 Jan 2006 15:04:05 ")
	zone := t.off / 60
	sign := byte('+')
	if zone < 0 {
		sign, zone = '-', -zone
	}
	return append(b, sign, byte('0'+zone/600), byte('0'+zone/60%10), byte('0'+zone%60/10), byte('0'+zone%10))
}

// newMetaStream starts a walk after the message date; ok is false for an unknown version. meta must outlive the
// walk: strings are read in place.
func newMetaStream(meta []byte, out TokenWriter, buf *[]byte) (st metaStream, ok bool) {
	if len(meta) == 0 || meta[0] != metaVersion {
		return st, false
	}
	st = metaStream{d: decoder{s: unsafe.String(unsafe.SliceData(meta[1:]), len(meta)-1)}, out: out, buf: buf,
		plain: true}
	st.date = st.time()
	return st, true
}

// mute runs walk without writing.
func (st *metaStream) mute(walk func()) {
	out := st.out
	st.out = nil
	walk()
	st.out = out
}

func (st *metaStream) special(ch byte) {
	if st.out != nil {
		st.out.Special(ch)
	}
}

func (st *metaStream) sp() { st.special(' ') }

func (st *metaStream) nilToken() {
	if st.out != nil {
		st.out.NIL()
	}
}

func (st *metaStream) string(s string) {
	if st.out != nil {
		st.out.String(s)
	}
}

// nstring writes NIL for an empty string, as the library does for every nstring.
func (st *metaStream) nstring(s string) {
	switch {
	case st.out == nil:
	case s == "":
		st.out.NIL()
	default:
		st.out.String(s)
	}
}

func (st *metaStream) number(v int64) {
	if st.out != nil {
		st.out.Number64(v)
	}
}

// scratch returns the buffer emptied, for a string built before it is written; one at a time.
func (st *metaStream) scratch() []byte { return (*st.buf)[:0] }

// built returns b, built in the buffer, as a string valid until the buffer's next use, and keeps its growth.
func (st *metaStream) built(b []byte) string {
	*st.buf = b
	st.word = ""
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// encodedWord returns s as mime.QEncoding.Encode("utf-8", s) makes it, the form the library gives subjects, names,
// descriptions and non-ASCII parameters so that IMAP4rev1 clients get 7-bit strings; built in the buffer when
// it needs encoding and something is written.
func (st *metaStream) encodedWord(s string) string {
	if st.out == nil || !needsEncodedWord(s) {
		return s
	}
	if s == st.word {
		return unsafe.String(unsafe.SliceData(*st.buf), len(*st.buf))
	}
	word := st.built(appendEncodedWord(st.scratch(), s))
	st.word = s
	return word
}

// envelope writes an envelope as the library's writeEnvelope writes DecodeMeta's: Sender and Reply-To are From's
// when the encoder left them out or they decode to nil.
func (st *metaStream) envelope() {
	date := st.time()
	subject := st.d.str()
	st.special('(')
	if date.isZero() {
		st.nilToken()
	} else if st.out != nil {
		st.string(st.built(appendEnvelopeDate(st.scratch(), date)))
	}
	st.sp()
	st.nstring(st.encodedWord(subject))
	from := st.d.i
	st.sp()
	st.addrs(-1)
	for range 2 { // sender, reply-to
		st.sp()
		if st.d.uvarint() == 0 {
			st.addrsAt(from)
		} else {
			st.addrs(from)
		}
	}
	for range 3 { // to, cc, bcc
		st.sp()
		st.addrs(-1)
	}
	st.sp()
	st.inReplyTo()
	st.sp()
	if id := st.d.str(); id != "" && st.out != nil {
		st.string(st.built(append(append(append(st.scratch(), '<'), id...), '>')))
	} else {
		st.nilToken()
	}
	st.special(')')
}

// addrsAt writes the address list that starts at offset at, read (and checked) before.
func (st *metaStream) addrsAt(at int) {
	if st.out == nil {
		return
	}
	i := st.d.i
	st.d.i = at
	st.addrs(-1)
	st.d.i = i
}

// addrs reads an address list and writes it: NIL for an empty one, and for none (nil) the list at offset
// orElse, if given (Sender and Reply-To default to From).
func (st *metaStream) addrs(orElse int) {
	n := st.d.uvarint()
	if n == 0 && orElse >= 0 {
		st.addrsAt(orElse)
		return
	}
	if n == 0 {
		st.nilToken()
		return
	}
	n--
	if n > uint64(len(st.d.s)-st.d.i)/3 {
		st.d.fail()
		return
	}
	if n == 0 {
		st.nilToken()
		return
	}
	st.parenthesized(int(n), func() {
		st.special('(')
		st.nstring(st.encodedWord(st.d.str()))
		adl, mailbox := splitRoute(st.d.str())
		st.sp()
		st.nstring(adl)
		st.sp()
		st.nstring(mailbox)
		st.sp()
		st.nstring(st.d.str())
		st.special(')')
	})
}

// inReplyTo writes the In-Reply-To ids as one string, each in angle brackets.
func (st *metaStream) inReplyTo() {
	n := st.d.count(1)
	if n == 0 {
		st.nilToken()
		return
	}
	if st.out == nil {
		for range n {
			st.d.str()
		}
		return
	}
	b := st.scratch()
	for i := range n {
		if i == 0 {
			b = append(b, '<')
		} else {
			b = append(b, "> <"...)
		}
		b = append(b, st.d.str()...)
	}
	st.string(st.built(append(b, '>')))
}

// partHead is what a part's encoding holds before its children; lists are offsets to read them again at, -1
// when absent.
type partHead struct {
	flags                        uint64
	typ, subtype, encoding       string
	params, dispParams, language int
	id, description, disposition string
	location                     string
	size, lines                  int64
	children                     int
}

func (st *metaStream) head() partHead {
	d := &st.d
	h := partHead{flags: d.uvarint(), params: -1, dispParams: -1, language: -1}
	h.typ, h.subtype, h.encoding = d.str(), d.str(), d.str()
	if h.flags&hasParams != 0 {
		h.params = d.i
		st.skipParams()
	}
	h.id = d.optStr(h.flags, hasID)
	h.description = d.optStr(h.flags, hasDescription)
	h.disposition = d.optStr(h.flags, hasDisposition)
	if h.flags&hasDispParams != 0 {
		h.dispParams = d.i
		st.skipParams()
	}
	if h.flags&hasLanguage != 0 {
		h.language = d.i
		d.skipStrs()
	}
	h.location = d.optStr(h.flags, hasLocation)
	d.optStr(h.flags, hasMD5) // the library writes NIL for the MD5
	headerStart := d.varint()
	bodyStart := headerStart + d.varint()
	end := bodyStart + d.varint()
	h.size = int64(size32(end - bodyStart))
	h.lines = d.varint()
	h.children = d.count(4)
	return h
}

// skipParams reads a parameter list, noting one whose names are not strictly ascending.
func (st *metaStream) skipParams() {
	prev := ""
	for i := range st.d.count(2) {
		k := st.d.str()
		st.d.str()
		if i > 0 && k <= prev {
			st.plain = false
		}
		prev = k
	}
}

// Leaf kinds: what follows a single part's size.
const (
	leafBasic = iota
	leafText
	leafMessage
)

// part writes a part as bodyStructure shows it and the library writes it, reading the same bytes with the same
// checks as decoder.part; what is not shown (the children of a part shown as a leaf) is read without writing.
func (st *metaStream) part(depth int, extended bool) {
	if depth > maxDecodeDepth {
		st.d.fail()
		return
	}
	h := st.head()
	if h.typ == "multipart" && h.children > 0 && depth < maxStructureDepth {
		st.multipart(h, depth, extended)
		return
	}
	typ, subtype, params, kind := h.typ, h.subtype, h.params, leafBasic
	switch {
	case h.typ == "multipart": // no children, or too deep: the content as text
		typ, subtype, params, kind = "text", "plain", -1, leafText
	case h.flags&hasMessage != 0 && depth < maxStructureDepth:
		kind = leafMessage
	case h.typ == "message" && (h.subtype == "rfc822" || h.subtype == "global"):
		typ, subtype = "application", "octet-stream" // opaque without an envelope
	case h.typ == "text":
		kind = leafText
	}
	if typ == "" || subtype == "" {
		typ, subtype = "application", "octet-stream"
	}
	st.special('(')
	st.string(typ)
	st.sp()
	st.string(subtype)
	st.sp()
	st.params(params)
	st.sp()
	st.nstring(h.id)
	st.sp()
	st.nstring(st.encodedWord(h.description))
	st.sp()
	st.string(partEncoding(h.encoding))
	st.sp()
	st.number(h.size)
	st.mute(func() { st.children(h, depth, true) })
	switch {
	case kind == leafMessage:
		st.sp()
		st.envelope()
		st.sp()
		st.part(depth+1, extended)
		st.sp()
		st.number(h.lines)
	case kind == leafText:
		st.sp()
		st.number(h.lines)
	}
	if kind != leafMessage {
		st.mute(func() { st.embedded(h, depth) })
	}
	if extended {
		st.sp()
		st.nilToken() // MD5
		st.extension(h)
	}
	st.special(')')
}

func (st *metaStream) multipart(h partHead, depth int, extended bool) {
	st.special('(')
	st.children(h, depth, extended)
	st.sp()
	st.string(h.subtype)
	if extended {
		st.sp()
		st.params(h.params)
		st.extension(h)
	}
	st.special(')')
	st.mute(func() { st.embedded(h, depth) })
}

// children walks a part's children, without a space between them (RFC 3501's body-type-mpart).
func (st *metaStream) children(h partHead, depth int, extended bool) {
	for range h.children {
		if st.part(depth+1, extended); st.d.err != nil {
			return
		}
	}
}

// embedded walks the envelope and root of an embedded message.
func (st *metaStream) embedded(h partHead, depth int) {
	if h.flags&hasMessage != 0 {
		st.envelope()
		st.part(depth+1, true)
	}
}

// extension writes the disposition, language and location that end every part's extension data.
func (st *metaStream) extension(h partHead) {
	st.sp()
	if h.disposition == "" {
		st.nilToken()
	} else {
		st.special('(')
		st.string(h.disposition)
		st.sp()
		st.params(h.dispParams)
		st.special(')')
	}
	st.sp()
	st.language(h.language)
	st.sp()
	st.nstring(h.location)
}

// params writes the parameter list at offset at (-1: none) as encodeParams leaves it: every value RFC 2047-encoded
// when one is not ASCII.
func (st *metaStream) params(at int) {
	r, n := st.listAt(at, 2)
	if n == 0 {
		return
	}
	encode := false
	for range n {
		r.str()
		encode = encode || !isASCII(r.str())
	}
	r.i = at
	r.count(2)
	st.parenthesized(n, func() {
		st.string(r.str())
		st.sp()
		if v := r.str(); encode {
			st.string(st.encodedWord(v))
		} else {
			st.string(v)
		}
	})
}

// language writes the language list at offset at (-1: none).
func (st *metaStream) language(at int) {
	r, n := st.listAt(at, 1)
	if n == 0 {
		return
	}
	st.parenthesized(n, func() { st.string(r.str()) })
}

// parenthesized writes a list of n items, each written by item, separated by spaces.
func (st *metaStream) parenthesized(n int, item func()) {
	st.special('(')
	for i := range n {
		if i > 0 {
			st.sp()
		}
		item()
	}
	st.special(')')
}

// listAt reads again the count of the list at offset at (-1: none), of at least min bytes an element, and
// returns a decoder of its own at the first element; n is 0, and NIL written for an empty list, when nothing is
// left to write.
func (st *metaStream) listAt(at, min int) (r decoder, n int) {
	if st.out == nil {
		return r, 0
	}
	if at >= 0 {
		r = st.d
		r.i = at
		n = r.count(min)
	}
	if n == 0 {
		st.out.NIL()
	}
	return r, n
}

// partEncoding is the transfer encoding as the library writes it: lower-case, 7bit when unknown.
func partEncoding(enc string) string {
	if enc == "" {
		return "7bit"
	}
	return strings.ToLower(enc)
}

// needsEncodedWord reports whether mime.QEncoding.Encode would encode s: a control character other than tab,
// or a byte beyond '~'.
func needsEncodedWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < ' ' || b > '~') && b != '\t' {
			return true
		}
	}
	return false
}

// maxEncodedWordText is how much encoded text one word holds: 75 characters less "=?utf-8?q?" and "?=" (RFC 2047
// section 2), as mime.WordEncoder counts.
const maxEncodedWordText = 75 - len("=?UTF-8?q?") - len("?=")

// appendEncodedWord appends mime.QEncoding.Encode("utf-8", s) for an s that needsEncodedWord: Q-encoded words
// of at most 75 characters, split between runes (RFC 2047 5).
func appendEncodedWord(b []byte, s string) []byte {
	b = append(b, "=?utf-8?q?"...)
	n := 0
	for i := 0; i < len(s); {
		c, size, width := s[i], 1, 1
		if c < ' ' || c > '~' || c == '=' || c == '?' || c == '_' {
			_, size = utf8.DecodeRuneInString(s[i:])
			width = 3 * size
		}
		if n+width > maxEncodedWordText {
			b = append(b, "?= =?utf-8?q?"...)
			n = 0
		}
		b = appendQ(b, s[i:i+size])
		n += width
		i += size
	}
	return append(b, "?="...)
}

// appendQ appends s in RFC 2047's Q encoding, as mime's writeQString does.
func appendQ(b []byte, s string) []byte {
	const upperhex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ':
			b = append(b, '_')
		case c >= '!' && c <= '~' && c != '=' && c != '?' && c != '_':
			b = append(b, c)
		default:
			b = append(b, '=', upperhex[c>>4], upperhex[c&0x0f])
		}
	}
	return b
}
