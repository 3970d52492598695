package store

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A small append-only binary codec for records: unsigned varints and length-prefixed byte strings. Every record
// starts with a version byte so that a later schema can read old records during migration.

var errShortRecord = errors.New("store: truncated record")

type encoder struct{ b []byte }

func (e *encoder) uint(v uint64)   { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)     { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bytes(p []byte)  { e.uint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) string(s string) { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) strings(s []string) {
	e.uint(uint64(len(s)))
	for _, v := range s {
		e.string(v)
	}
}
func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errShortRecord
	}
	d.b = nil
}

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns a copy, because the input usually lives in a bbolt page.
func (d *decoder) bytes() []byte { return append([]byte(nil), d.view()...) }

// view is bytes without the copy, for a reader done with the record before its transaction ends.
func (d *decoder) view() []byte {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) string() string {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strings() []string {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	var out []string
	for i := uint64(0); i < n && d.err == nil; i++ {
		out = append(out, d.string())
	}
	return out
}

func (d *decoder) bool() bool {
	if len(d.b) == 0 {
		d.fail()
		return false
	}
	v := d.b[0] != 0
	d.b = d.b[1:]
	return v
}

// optionalBool reads a field added to a record after its version shipped: absent (the record ends) is false.
func (d *decoder) optionalBool() bool {
	if d.err == nil && len(d.b) == 0 {
		return false
	}
	return d.bool()
}

// version checks the leading version byte of a record.
func (d *decoder) version(kind string, want byte) {
	if len(d.b) == 0 {
		d.fail()
		return
	}
	if d.b[0] != want {
		d.err = fmt.Errorf("store: %s record version %d, want %d", kind, d.b[0], want)
		d.b = nil
		return
	}
	d.b = d.b[1:]
}

func u64key(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func u32key(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
