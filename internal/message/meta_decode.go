package message

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/emersion/go-imap/v2"
)

var errTruncated = errors.New("truncated or corrupt")

// decoder reads the encoding from one string, so every decoded string is a
// substring of it and costs no allocation. The first error sticks; later reads
// return zero values.
type decoder struct {
	s    string
	i    int
	err  error
	date time.Time
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errTruncated
	}
	d.i = len(d.s)
}

// uvarint reads a one-byte varint, as most are (string references, counts, flags), inline.
func (d *decoder) uvarint() uint64 {
	if d.i < len(d.s) && d.s[d.i] < 0x80 {
		d.i++
		return uint64(d.s[d.i-1])
	}
	return d.uvarintLong()
}

func (d *decoder) uvarintLong() uint64 {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.i >= len(d.s) {
			d.fail()
			return 0
		}
		c := d.s[d.i]
		d.i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	d.fail()
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// count reads a length and checks that at least min bytes per element remain,
// so a corrupt count cannot make us allocate gigabytes.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.s)-d.i)/uint64(min) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	v := d.uvarint()
	if v&1 == 1 {
		if i := v >> 1; i < uint64(len(commonStrings)) {
			return commonStrings[i]
		}
		d.fail()
		return ""
	}
	n := v >> 1
	if n > uint64(len(d.s)-d.i) {
		d.fail()
		return ""
	}
	s := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}

func (d *decoder) strs() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = d.str()
	}
	return l
}

func (d *decoder) params() map[string]string {
	n := d.count(2)
	m := make(map[string]string, n)
	for range n {
		k := d.str()
		m[k] = d.str()
	}
	return m
}

func (d *decoder) time() time.Time {
	switch d.uvarint() {
	case timeZero:
		return time.Time{}
	case timeSameAsDate:
		return d.date
	case timeFull:
	default:
		d.fail()
		return time.Time{}
	}
	sec := d.varint()
	nsec := d.uvarint()
	off := d.varint()
	name := d.str()
	if nsec >= 1e9 || off < -24*3600 || off > 24*3600 {
		d.fail()
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).In(zone(name, int(off)))
}

// zone avoids allocating a Location for the common cases.
func zone(name string, off int) *time.Location {
	if off == 0 && (name == "UTC" || name == "") {
		return time.UTC
	}
	return time.FixedZone(name, off) // cached by the runtime for whole hours without a name
}

func (d *decoder) envelope() *imap.Envelope {
	env := &imap.Envelope{Date: d.time(), Subject: d.str()}
	env.From = d.addrs()
	env.Sender, env.ReplyTo = env.From, env.From
	if d.uvarint() != 0 {
		env.Sender = d.addrs()
	}
	if d.uvarint() != 0 {
		env.ReplyTo = d.addrs()
	}
	env.To = d.addrs()
	env.Cc = d.addrs()
	env.Bcc = d.addrs()
	env.InReplyTo = d.strs()
	env.MessageID = d.str()
	return env
}

func (d *decoder) addrs() []imap.Address {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	n--
	if n > uint64(len(d.s)-d.i)/3 {
		d.fail()
		return nil
	}
	l := make([]imap.Address, n)
	for i := range l {
		l[i] = imap.Address{Name: d.str()}
		l[i].ADL, l[i].Mailbox = splitRoute(d.str())
		l[i].Host = d.str()
	}
	return l
}

// maxDecodeDepth bounds recursion on corrupt input; Parse never nests deeper
// than MaxNesting.
const maxDecodeDepth = MaxNesting

func (d *decoder) part(depth int) *Part {
	if depth > maxDecodeDepth {
		d.fail()
		return nil
	}
	flags := d.uvarint()
	p := &Part{Type: d.str(), Subtype: d.str(), Encoding: d.str()}
	if flags&hasParams != 0 {
		p.Params = d.params()
	}
	p.ID = d.optStr(flags, hasID)
	p.Description = d.optStr(flags, hasDescription)
	p.Disposition = d.optStr(flags, hasDisposition)
	if flags&hasDispParams != 0 {
		p.DispositionParams = d.params()
	}
	if flags&hasLanguage != 0 {
		p.Language = d.strs()
	}
	p.Location = d.optStr(flags, hasLocation)
	p.MD5 = d.optStr(flags, hasMD5)
	p.HeaderStart = d.varint()
	p.BodyStart = p.HeaderStart + d.varint()
	p.End = p.BodyStart + d.varint()
	p.Lines = d.varint()
	if n := d.count(4); n > 0 {
		p.Children = make([]*Part, n)
		for i := range p.Children {
			if p.Children[i] = d.part(depth + 1); p.Children[i] == nil {
				return nil
			}
		}
	}
	if flags&hasMessage != 0 {
		p.Envelope = d.envelope()
		if p.Message = d.part(depth + 1); p.Message == nil {
			return nil
		}
	}
	if d.err != nil {
		return nil
	}
	return p
}

func (d *decoder) optStr(flags, bit uint64) string {
	if flags&bit != 0 {
		return d.str()
	}
	return ""
}

// RootHeaderRange returns where the root header block lies in the body (its
// blank line included) from an encoded Meta, skipping the rest of the
// encoding instead of decoding it: FETCH of BODY[HEADER.FIELDS (...)] for a
// whole mailbox needs nothing else, and allocates nothing for it.
func RootHeaderRange(meta []byte) (start, end int64, err error) {
	if len(meta) == 0 || meta[0] != metaVersion {
		_, err := DecodeMeta(meta) // for its error
		return 0, 0, err
	}
	// The strings skipped over are never kept, so the decoder may read meta in
	// place; nothing of it outlives this call.
	d := decoder{s: unsafe.String(unsafe.SliceData(meta[1:]), len(meta)-1)}
	d.skipTime()
	d.skipEnvelope()
	flags := d.uvarint()
	d.str() // type
	d.str() // subtype
	d.str() // encoding
	if flags&hasParams != 0 {
		d.skipParams()
	}
	for _, bit := range []uint64{hasID, hasDescription, hasDisposition} {
		d.optStr(flags, bit)
	}
	if flags&hasDispParams != 0 {
		d.skipParams()
	}
	if flags&hasLanguage != 0 {
		d.skipStrs()
	}
	d.optStr(flags, hasLocation)
	d.optStr(flags, hasMD5)
	start = d.varint()
	end = start + d.varint()
	if d.err != nil {
		return 0, 0, fmt.Errorf("decode message meta: %w", d.err)
	}
	return start, end, nil
}

func (d *decoder) skipTime() {
	if d.uvarint() == timeFull {
		d.varint()
		d.uvarint()
		d.varint()
		d.str()
	}
}

func (d *decoder) skipEnvelope() {
	d.skipTime()
	d.str() // subject
	d.skipAddrs()
	for range 2 { // sender and reply-to, when not the same as from
		if d.uvarint() != 0 {
			d.skipAddrs()
		}
	}
	for range 3 { // to, cc, bcc
		d.skipAddrs()
	}
	d.skipStrs()
	d.str() // message-id
}

func (d *decoder) skipAddrs() {
	n := d.uvarint()
	for i := uint64(1); i < n && d.err == nil; i++ {
		d.str()
		d.str()
		d.str()
	}
}

func (d *decoder) skipStrs() {
	for n := d.count(1); n > 0 && d.err == nil; n-- {
		d.str()
	}
}

func (d *decoder) skipParams() {
	for n := d.count(2); n > 0 && d.err == nil; n-- {
		d.str()
		d.str()
	}
}
