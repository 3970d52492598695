package message

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// sortRecordVersion is the first byte of an encoded SortRecord. Bump it on any change to the layout or to how a
// field is derived, and keep a decoder for old versions.
const sortRecordVersion = 1

// maxReferences bounds the ids kept of one References field: the nearest ancestors (the last ids) are the ones
// that place a message in its thread, and a record stays small whatever a sender writes.
const maxReferences = 64

// SortRecord is what SORT (RFC 5256, RFC 5957) and THREAD (RFC 5256) need of a message. It is computed once, when
// the body is stored, so that neither command parses a body.
type SortRecord struct {
	Date    time.Time // the Date header; zero when missing or unparseable (SORT falls back to INTERNALDATE)
	Subject Collated  // the base subject (RFC 5256 section 2.1)
	// IsReply says the base subject extraction removed a reply or forward marker: THREAD=REFERENCES merges threads
	// by subject with it (RFC 5256 section 3, REFERENCES step 5.B).
	IsReply     bool
	From        Collated // addr-mailbox of the first From address (RFC 5256 section 3, SORT)
	To          Collated
	Cc          Collated
	DisplayFrom Collated // display name of the first From address, else its addr-spec (RFC 5957 section 3)
	DisplayTo   Collated
	MessageID   string
	// References are the message's parents, oldest first: its References ids, or the first In-Reply-To id when
	// References has none (RFC 5256 section 3, REFERENCES step 1.A).
	References []string
}

// Collated is a text with its collation key: Fold(Text) with ASCII letters in upper case, so that SORT ignores case
// and Vietnamese diacritics ("Đề nghị" sorts among the D's), orders ASCII as i;ascii-casemap does ("[x]" after
// the letters), and compares keys as plain strings. Comparing Text under i;ascii-casemap breaks ties between equal
// keys.
type Collated struct {
	Key  string
	Text string
}

// Collate returns s with its collation key.
func Collate(s string) Collated { return Collated{Key: upperASCII(Fold(s)), Text: s} }

// upperASCII maps the ASCII letters of s to upper case, leaving every other byte alone.
func upperASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - ('a' - 'A')
		}
		return r
	}, s)
}

// SortRecordOf computes the encoded sort record of a stored message from its encoded Meta (the envelope as FETCH
// serves it) and the start of its bytes, which must hold the whole header (for References). An undecodable meta
// gives a record without envelope fields rather than an error: sorting must not fail over one message.
func SortRecordOf(meta, raw []byte) []byte {
	m, err := DecodeMeta(meta)
	if err != nil {
		m = &Meta{Envelope: &imap.Envelope{}}
	}
	return NewSortRecord(m, raw).Encode()
}

// NewSortRecord builds the sort record of a message from its Meta and raw header.
func NewSortRecord(m *Meta, raw []byte) *SortRecord {
	env := m.Envelope
	if env == nil {
		env = &imap.Envelope{}
	}
	r := &SortRecord{Date: m.Date, MessageID: env.MessageID}
	base, isReply := BaseSubject(env.Subject)
	r.Subject, r.IsReply = Collate(base), isReply
	fields := parseFields(raw[:headerEnd(raw)], DefaultLimits.MaxHeaderBytes)
	from, to, cc := addressKeys(env.From, fields, "From"), addressKeys(env.To, fields, "To"), addressKeys(env.Cc, fields, "Cc")
	r.From, r.DisplayFrom = Collate(from.mailbox), Collate(from.display)
	r.To, r.DisplayTo = Collate(to.mailbox), Collate(to.display)
	r.Cc = Collate(cc.mailbox)
	r.References = references(fields, env.InReplyTo)
	return r
}

// addressSortKeys are what SORT compares of an address field: the first address's addr-mailbox, and its display
// form (RFC 5957).
type addressSortKeys struct{ mailbox, display string }

// addressKeys are the sort keys of the field name, from its envelope addresses list. A field that holds text but no
// address the envelope can show (a local part alone, "To: d") sorts by that text, as Dovecot does, not as if the
// field were absent.
func addressKeys(list []imap.Address, fields []field, name string) addressSortKeys {
	if len(list) > 0 {
		return addressSortKeys{firstMailbox(list), displayed(list)}
	}
	v, _ := get(fields, name)
	bare := strings.TrimSpace(DecodeHeaderValue(v))
	return addressSortKeys{bare, bare}
}

// firstMailbox is the addr-mailbox of the first address; for a group, its name (as Dovecot does).
func firstMailbox(l []imap.Address) string {
	if len(l) == 0 {
		return ""
	}
	return l[0].Mailbox
}

// displayed is the display name of the first address, or its addr-spec when it has none (RFC 5957 section 3);
// for a group, the group's name.
func displayed(l []imap.Address) string {
	if len(l) == 0 {
		return ""
	}
	a := l[0]
	switch {
	case strings.TrimSpace(a.Name) != "":
		return a.Name
	case a.Host == "":
		return a.Mailbox
	default:
		return a.Mailbox + "@" + a.Host
	}
}

// references are the message ids of the References field of the header, or else the first In-Reply-To id.
func references(fields []field, inReplyTo []string) []string {
	var ids []string
	if v, ok := get(fields, "References"); ok {
		ids = msgIDs(v, 0)
	}
	if len(ids) == 0 && len(inReplyTo) > 0 {
		return inReplyTo[:1]
	}
	return ids[max(0, len(ids)-maxReferences):]
}

// Encode returns the binary encoding DecodeSortRecord reads.
func (r *SortRecord) Encode() []byte {
	e := encoder{b: make([]byte, 0, 256)}
	e.b = append(e.b, sortRecordVersion)
	var flags uint64
	if r.IsReply {
		flags |= 1
	}
	e.uvarint(flags)
	if r.Date.IsZero() {
		e.uvarint(0)
	} else {
		e.uvarint(1)
		e.varint(r.Date.Unix())
	}
	for _, c := range r.collated() {
		e.str(c.Text)
		e.str(c.Key)
	}
	e.str(r.MessageID)
	e.strs(r.References)
	return e.b
}

// collated lists the collated fields in encoding order.
func (r *SortRecord) collated() []*Collated {
	return []*Collated{&r.Subject, &r.From, &r.To, &r.Cc, &r.DisplayFrom, &r.DisplayTo}
}

// DecodeSortRecord decodes what SortRecord.Encode wrote. The strings share one copy of b.
func DecodeSortRecord(b []byte) (*SortRecord, error) {
	if len(b) == 0 || b[0] != sortRecordVersion {
		return nil, fmt.Errorf("decode sort record: unknown version")
	}
	d := decoder{s: string(b[1:])}
	r := &SortRecord{IsReply: d.uvarint()&1 == 1}
	if d.uvarint() == 1 {
		r.Date = time.Unix(d.varint(), 0).UTC()
	}
	for _, c := range r.collated() {
		c.Text = d.str()
		c.Key = d.str()
	}
	r.MessageID = d.str()
	r.References = d.strs()
	if d.err != nil {
		return nil, fmt.Errorf("decode sort record: %w", d.err)
	}
	return r, nil
}
