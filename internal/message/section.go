package message

import (
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
)

// Source is a stored message as a client sees it: Trace (per-recipient header
// lines such as Return-Path, Delivered-To and Received, each CRLF terminated;
// may be empty) followed by Body. Offsets in Meta are relative to Body.
type Source struct {
	Trace    []byte
	Body     io.ReaderAt
	BodySize int64
}

// Size is the RFC822.SIZE of the message.
func (s Source) Size() int64 { return int64(len(s.Trace)) + s.BodySize }

// segment is a piece of a section: literal bytes, or a range of Body.
type segment struct {
	lit     []byte
	off, n  int64
	literal bool
}

func lit(b []byte) segment { return segment{lit: b, n: int64(len(b)), literal: true} }

// ExtractSection returns BODY[section] as RFC 3501/9051 define it, before
// <partial> is applied, reading only the byte ranges it needs. A section that
// does not exist returns nil, nil; an empty one returns a non-nil empty slice.
func (m *Meta) ExtractSection(src Source, sec *imap.FetchItemBodySection) ([]byte, error) {
	segs, err := m.segments(src, sec)
	if err != nil || segs == nil {
		return nil, err
	}
	return readSegments(src, segs, 0, -1)
}

// ExtractSectionPartial is ExtractSection with sec.Partial applied while
// reading, so BODY[]<0.4096> of a 20 MB message reads 4 KiB. An offset past
// the end gives an empty, non-nil slice.
func (m *Meta) ExtractSectionPartial(src Source, sec *imap.FetchItemBodySection) ([]byte, error) {
	segs, err := m.segments(src, sec)
	if err != nil || segs == nil {
		return nil, err
	}
	if sec.Partial == nil {
		return readSegments(src, segs, 0, -1)
	}
	return readSegments(src, segs, sec.Partial.Offset, sec.Partial.Size)
}

// segments resolves a section to the pieces that make it up, nil if the
// section does not exist.
func (m *Meta) segments(src Source, sec *imap.FetchItemBodySection) ([]segment, error) {
	target := m.locate(sec.Part)
	if target == nil {
		return nil, nil
	}
	whole := len(sec.Part) == 0
	// HEADER and TEXT of a message/rfc822 part address the embedded message.
	inner := target
	if !whole && target.Message != nil {
		inner = target.Message
	}
	switch sec.Specifier {
	case imap.PartSpecifierNone:
		if whole {
			return []segment{lit(src.Trace), {off: 0, n: src.BodySize}}, nil
		}
		return []segment{bodyRange(target)}, nil
	case imap.PartSpecifierMIME:
		if whole {
			return nil, nil // MIME needs a part number
		}
		return m.headerSegments(src, target), nil
	case imap.PartSpecifierText:
		return []segment{bodyRange(inner)}, nil
	case imap.PartSpecifierHeader:
		segs := m.headerSegments(src, inner)
		if len(sec.HeaderFields) == 0 && len(sec.HeaderFieldsNot) == 0 {
			return segs, nil
		}
		h, err := readSegments(src, segs, 0, -1)
		if err != nil {
			return nil, err
		}
		if len(sec.HeaderFields) > 0 {
			return []segment{lit(filterFields(h, sec.HeaderFields, false))}, nil
		}
		return []segment{lit(filterFields(h, sec.HeaderFieldsNot, true))}, nil
	}
	return nil, nil
}

// headerSegments is the header block of p; the root's starts with Trace.
func (m *Meta) headerSegments(src Source, p *Part) []segment {
	h := segment{off: p.HeaderStart, n: p.BodyStart - p.HeaderStart}
	if p == m.Root {
		return []segment{lit(src.Trace), h}
	}
	return []segment{h}
}

func bodyRange(p *Part) segment { return segment{off: p.BodyStart, n: p.End - p.BodyStart} }

// locate returns the part a section path addresses, nil if none. The numbers
// index the parts of the current message: the children of a multipart, or
// the message body itself as part 1 when it is not multipart. Below a
// message/rfc822 part they index the embedded message's parts; below a
// multipart, its children; a leaf has no parts.
func (m *Meta) locate(path []int) *Part {
	if m.Root == nil {
		return nil
	}
	cur := m.Root
	parts := messageParts(cur)
	for i, n := range path {
		if n < 1 || n > len(parts) {
			return nil
		}
		cur = parts[n-1]
		if i == len(path)-1 {
			break
		}
		switch {
		case cur.isMultipart():
			parts = cur.Children
		case cur.Message != nil:
			parts = messageParts(cur.Message)
		default:
			return nil
		}
	}
	return cur
}

func messageParts(msg *Part) []*Part {
	if msg.isMultipart() {
		return msg.Children
	}
	return []*Part{msg}
}

// readSegments concatenates the segments, keeping only bytes [off, off+n) of
// the result (n < 0: to the end). Body ranges are clamped to BodySize so a
// stale Meta cannot make us read outside the body.
func readSegments(src Source, segs []segment, off, n int64) ([]byte, error) {
	var total int64
	for _, s := range segs {
		total += clampLen(src, s)
	}
	off = min(max(off, 0), total)
	if n < 0 || off+n > total {
		n = total - off
	}
	out := make([]byte, 0, n)
	for _, s := range segs {
		l := clampLen(src, s)
		if off >= l {
			off -= l
			continue
		}
		take := min(l-off, n-int64(len(out)))
		if take <= 0 {
			break
		}
		if s.literal {
			out = append(out, s.lit[off:off+take]...)
		} else {
			start := len(out)
			out = out[:start+int(take)]
			if k, err := src.Body.ReadAt(out[start:], s.off+off); k < int(take) {
				return nil, fmt.Errorf("read message body at %d: %w", s.off+off, shortRead(err))
			}
		}
		off = 0
	}
	return out, nil
}

// clampLen is the usable length of a segment.
func clampLen(src Source, s segment) int64 {
	if s.literal {
		return int64(len(s.lit))
	}
	if s.off < 0 || s.n <= 0 || s.off >= src.BodySize {
		return 0
	}
	return min(s.n, src.BodySize-s.off)
}

// shortRead turns the error of a ReadAt that returned too little into a
// non-nil error.
func shortRead(err error) error {
	if err == nil || err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// HeaderValues returns the decoded values of the root header fields named
// name (case-insensitive), Trace lines included, reading only the header
// range: what SEARCH HEADER compares against (after Fold).
func (m *Meta) HeaderValues(src Source, name string) ([]string, error) {
	if m.Root == nil {
		return nil, nil
	}
	h, err := readSegments(src, m.headerSegments(src, m.Root), 0, -1)
	if err != nil {
		return nil, err
	}
	values := FieldValues(h, name)
	for i, v := range values {
		values[i] = DecodeHeaderValue(v)
	}
	return values, nil
}
