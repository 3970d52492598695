package message

import (
	"bytes"
	"fmt"
)

// binaryChunk is how much of the body is read at a time when decoding; it
// matches the store's chunk size.
const binaryChunk = 64 << 10

// ExtractBinary returns BINARY[part] (RFC 3516): the part's body with its
// Content-Transfer-Encoding removed and no charset conversion. An empty path
// is the whole message. A part that does not exist returns nil, nil; an
// encoding other than 7bit/8bit/binary/base64/quoted-printable returns an
// error wrapping ErrUnknownCTE.
func (m *Meta) ExtractBinary(src Source, part []int) ([]byte, error) {
	var out []byte
	found, err := m.binary(src, part, func(b []byte) { out = append(out, b...) })
	if err != nil || !found {
		return nil, err
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// BinarySize returns BINARY.SIZE[part] by decoding in chunks without
// holding the decoded part in memory. found is false if the part does not
// exist.
func (m *Meta) BinarySize(src Source, part []int) (size int64, found bool, err error) {
	found, err = m.binary(src, part, func(b []byte) { size += int64(len(b)) })
	return size, found, err
}

// binary streams the decoded part to emit.
func (m *Meta) binary(src Source, path []int, emit func([]byte)) (bool, error) {
	p := m.locate(path)
	if p == nil {
		return false, nil
	}
	if len(path) == 0 {
		b, err := readSegments(src, []segment{lit(src.Trace), {off: 0, n: src.BodySize}}, 0, -1)
		emit(b)
		return true, err
	}
	dec, err := newDecoder(p.Encoding)
	if err != nil {
		return true, fmt.Errorf("binary section %v: %w", path, err)
	}
	body := bodyRange(p)
	n := clampLen(src, body)
	buf := make([]byte, min(n, binaryChunk))
	var out []byte
	for off := int64(0); off < n; off += int64(len(buf)) {
		chunk := buf[:min(int64(len(buf)), n-off)]
		if k, err := src.Body.ReadAt(chunk, body.off+off); k < len(chunk) {
			return true, fmt.Errorf("read message body at %d: %w", body.off+off, shortRead(err))
		}
		if dec == nil {
			emit(chunk)
			continue
		}
		out = dec.decode(out[:0], chunk)
		emit(out)
	}
	if dec != nil {
		emit(dec.flush(out[:0]))
	}
	return true, nil
}

// BytesSource returns a Source for a message held in memory.
func BytesSource(trace, body []byte) Source {
	return Source{Trace: trace, Body: bytes.NewReader(body), BodySize: int64(len(body))}
}
