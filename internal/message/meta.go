package message

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// metaVersion is the first byte of every encoding. Bump it on any change to
// the layout or to commonStrings, and keep a decoder for old versions.
const metaVersion = 1

// commonStrings are encoded as one byte. Append only (with a version bump).
var commonStrings = [...]string{
	"", "text", "plain", "html", "multipart", "mixed", "alternative", "related",
	"application", "octet-stream", "pdf", "image", "jpeg", "png", "gif", "message",
	"rfc822", "7bit", "8bit", "base64", "quoted-printable", "binary", "charset", "utf-8",
	"us-ascii", "name", "filename", "attachment", "inline", "boundary", "windows-1258", "iso-8859-1",
	"format", "flowed", "delsp", "yes", "report", "delivery-status", "signed", "zip",
	"msword", "vnd.ms-excel", "vnd.openxmlformats-officedocument.wordprocessingml.document",
	"vnd.openxmlformats-officedocument.spreadsheetml.sheet", "calendar", "size",
	"creation-date", "modification-date", "UTF-8", "x-zip-compressed", "rtf", "type", "method",
	"global", "digest", "vi", "en", "windows-1252", "pkcs7-signature", "smime.p7s",
}

var commonIndex = func() map[string]int {
	m := make(map[string]int, len(commonStrings))
	for i, s := range commonStrings {
		m[s] = i
	}
	return m
}()

// Presence bits of the optional Part fields.
const (
	hasParams = 1 << iota
	hasID
	hasDescription
	hasDisposition
	hasDispParams
	hasLanguage
	hasLocation
	hasMD5
	hasMessage
)

// Meta returns the compact binary encoding of the envelope, date and part
// tree: a version byte, then varints and length-prefixed strings.
func (p *Parsed) Meta() []byte { return p.ToMeta().Encode() }

// Encode returns the binary encoding DecodeMeta reads.
func (m *Meta) Encode() []byte {
	e := encoder{b: make([]byte, 0, 512), date: m.Date}
	e.b = append(e.b, metaVersion)
	e.time(m.Date)
	e.envelope(m.Envelope)
	e.part(m.Root)
	return e.b
}

type encoder struct {
	b    []byte
	date time.Time // the message date, which the root envelope repeats
}

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }

// str writes an index into commonStrings as 2i+1, or a length as 2n followed
// by the bytes.
func (e *encoder) str(s string) {
	if i, ok := commonIndex[s]; ok {
		e.uvarint(uint64(i)<<1 | 1)
		return
	}
	e.uvarint(uint64(len(s)) << 1)
	e.b = append(e.b, s...)
}

func (e *encoder) strs(l []string) {
	e.uvarint(uint64(len(l)))
	for _, s := range l {
		e.str(s)
	}
}

// params writes the map in sorted key order so equal maps encode equally.
func (e *encoder) params(m map[string]string) {
	keys := sortedKeys(m)
	e.uvarint(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.str(m[k])
	}
}

// Time kinds.
const (
	timeZero = iota
	timeFull
	timeSameAsDate
)

func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.uvarint(timeZero)
		return
	}
	name, off := t.Zone()
	e.uvarint(timeFull)
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
	e.varint(int64(off))
	e.str(name)
}

func (e *encoder) envelope(env *imap.Envelope) {
	if env == nil {
		env = &imap.Envelope{}
	}
	if !env.Date.IsZero() && env.Date == e.date {
		e.uvarint(timeSameAsDate)
	} else {
		e.time(env.Date)
	}
	e.str(env.Subject)
	e.addrs(env.From)
	for _, l := range [][]imap.Address{env.Sender, env.ReplyTo} {
		if sameAddrs(l, env.From) {
			e.uvarint(0) // the usual case: defaulted to From
		} else {
			e.uvarint(1)
			e.addrs(l)
		}
	}
	e.addrs(env.To)
	e.addrs(env.Cc)
	e.addrs(env.Bcc)
	e.strs(env.InReplyTo)
	e.str(env.MessageID)
}

func (e *encoder) addrs(l []imap.Address) {
	if l == nil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(len(l)) + 1)
	for _, a := range l {
		e.str(a.Name)
		e.str(withRoute(a))
		e.str(a.Host)
	}
}

// withRoute is the mailbox field as stored: an address with a source route (rare) keeps it in front of the
// mailbox as NUL route NUL mailbox. No stored mailbox ever starts with NUL (net/mail refuses it, and scavenged
// ones are stripped of controls), so meta written before routes were kept reads the same.
func withRoute(a imap.Address) string {
	if a.ADL == "" {
		return a.Mailbox
	}
	return "\x00" + a.ADL + "\x00" + a.Mailbox
}

// splitRoute undoes withRoute.
func splitRoute(stored string) (adl, mailbox string) {
	if rest, ok := strings.CutPrefix(stored, "\x00"); ok {
		if adl, mailbox, ok := strings.Cut(rest, "\x00"); ok {
			return adl, mailbox
		}
	}
	return "", stored
}

func sameAddrs(a, b []imap.Address) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (e *encoder) part(p *Part) {
	if p == nil {
		p = &Part{Type: "text", Subtype: "plain", Encoding: "7bit"}
	}
	var flags uint64
	set := func(bit uint64, ok bool) {
		if ok {
			flags |= bit
		}
	}
	set(hasParams, p.Params != nil)
	set(hasID, p.ID != "")
	set(hasDescription, p.Description != "")
	set(hasDisposition, p.Disposition != "")
	set(hasDispParams, p.DispositionParams != nil)
	set(hasLanguage, p.Language != nil)
	set(hasLocation, p.Location != "")
	set(hasMD5, p.MD5 != "")
	set(hasMessage, p.Message != nil)
	e.uvarint(flags)
	e.str(p.Type)
	e.str(p.Subtype)
	e.str(p.Encoding)
	if flags&hasParams != 0 {
		e.params(p.Params)
	}
	e.optStr(flags, hasID, p.ID)
	e.optStr(flags, hasDescription, p.Description)
	e.optStr(flags, hasDisposition, p.Disposition)
	if flags&hasDispParams != 0 {
		e.params(p.DispositionParams)
	}
	if flags&hasLanguage != 0 {
		e.strs(p.Language)
	}
	e.optStr(flags, hasLocation, p.Location)
	e.optStr(flags, hasMD5, p.MD5)
	// Offsets as deltas: small numbers make short varints.
	e.varint(p.HeaderStart)
	e.varint(p.BodyStart - p.HeaderStart)
	e.varint(p.End - p.BodyStart)
	e.varint(p.Lines)
	e.uvarint(uint64(len(p.Children)))
	for _, c := range p.Children {
		e.part(c)
	}
	if p.Message != nil {
		e.envelope(p.Envelope)
		e.part(p.Message)
	}
}

func (e *encoder) optStr(flags, bit uint64, s string) {
	if flags&bit != 0 {
		e.str(s)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ { // insertion sort: maps here are tiny
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// DecodeMeta decodes what Meta produced. b is copied once (strings share
// that copy), so it may be memory that is only valid during a bbolt
// transaction.
func DecodeMeta(b []byte) (*Meta, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("decode message meta: empty")
	}
	if b[0] != metaVersion {
		return nil, fmt.Errorf("decode message meta: unknown version %d", b[0])
	}
	d := decoder{s: string(b[1:])}
	m := &Meta{Date: d.time()}
	d.date = m.Date
	m.Envelope = d.envelope()
	m.Root = d.part(0)
	if d.err != nil {
		return nil, fmt.Errorf("decode message meta: %w", d.err)
	}
	return m, nil
}
