package imap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// streamThreshold is the size above which a whole-message literal is streamed chunk by chunk from the store
// instead of being read into memory before the response starts.
const streamThreshold = 1 << 20

// preparedBody is what a FETCH response needs beyond the entry: the parse result and the section contents.
type preparedBody struct {
	meta        *message.Meta // nil if not needed or unreadable
	shape       []byte        // the stored parse result, for ENVELOPE and BODYSTRUCTURE, if the StructureWriter takes it
	sections    []sectionData // one per FetchOptions.BodySection
	binaries    [][]byte      // one per FetchOptions.BinarySection
	binarySizes []uint32      // one per FetchOptions.BinarySectionSize
}

// noBody is the prepared body of every message of a FETCH that needs nothing of the body; never changed.
var noBody preparedBody

// size is how many bytes the prepared sections hold.
func (b *preparedBody) size() int {
	n := len(b.shape)
	for _, d := range b.sections {
		n += len(d.data)
	}
	for _, d := range b.binaries {
		n += len(d)
	}
	return n
}

// streams reports whether a section is to be streamed from the store when written.
func (b *preparedBody) streams() bool {
	for _, d := range b.sections {
		if d.stream {
			return true
		}
	}
	return false
}

// sectionData is a body section's content: bytes, or a byte range of the whole message to stream.
type sectionData struct {
	data           []byte
	stream         bool
	offset, length int64 // the range of trace+body, when stream
}

func (d sectionData) size() int64 {
	if d.stream {
		return d.length
	}
	return int64(len(d.data))
}

// isWholeMessage reports whether sec is BODY[] (or RFC822), possibly partial: served without the parse result.
func isWholeMessage(sec *imap.FetchItemBodySection) bool {
	return len(sec.Part) == 0 && sec.Specifier == imap.PartSpecifierNone
}

// isRootHeader reports whether sec is BODY[HEADER], BODY[HEADER.FIELDS (...)] or BODY[HEADER.FIELDS.NOT (...)] of
// the message itself, possibly partial: served from the header block, whose place is all it needs of the parse
// result.
func isRootHeader(sec *imap.FetchItemBodySection) bool {
	return len(sec.Part) == 0 && sec.Specifier == imap.PartSpecifierHeader
}

// prepareBody reads what m's response needs inside the read transaction that body belongs to, appending section
// bytes to *arena; m.Meta and body are only valid during it.
func (s *session) prepareBody(m *store.Message, body *store.BodyView, plan fetchPlan, arena *[]byte) (*preparedBody, error) {
	if !plan.meta && !plan.shape && !plan.body {
		return &noBody, nil
	}
	b := &preparedBody{}
	if plan.shape && message.StreamableMeta(m.Meta) {
		b.shape = appendArena(arena, m.Meta)
	}
	if plan.meta || plan.shape && b.shape == nil {
		meta, err := message.DecodeMeta(m.Meta)
		if err != nil {
			s.log.Warn("unreadable message meta, serving a fallback", "uid", m.UID, "err", err)
		} else {
			b.meta = meta
		}
	}
	src := message.Source{Trace: m.Trace, Body: body, BodySize: m.BodySize}
	hr := headerReader{src: src, body: body, m: m}
	for _, sec := range plan.opts.BodySection {
		d, err := s.sectionData(src, b.meta, sec, &hr, arena)
		if err != nil {
			return nil, s.internalError("fetch", err)
		}
		b.sections = append(b.sections, d)
	}
	for _, sec := range plan.opts.BinarySection {
		data, err := binarySection(src, b.meta, sec)
		if err != nil {
			return nil, s.binaryError(err)
		}
		b.binaries = append(b.binaries, data)
	}
	for _, sec := range plan.opts.BinarySectionSize {
		size, err := binarySize(src, b.meta, sec.Part)
		if err != nil {
			return nil, s.binaryError(err)
		}
		b.binarySizes = append(b.binarySizes, size)
	}
	return b, nil
}

func (s *session) binaryError(err error) error {
	if errors.Is(err, message.ErrUnknownCTE) {
		return errUnknownCTE // RFC 3516 4.3
	}
	return s.internalError("fetch binary", err)
}

// sectionData reads BODY[section]<partial>. The whole message is read as a byte range (streamed when large); the
// root header from the header block when the parse result was not decoded; other sections read only the ranges
// the parse result points at. A section that does not exist is empty.
func (s *session) sectionData(src message.Source, meta *message.Meta, sec *imap.FetchItemBodySection, hr *headerReader, arena *[]byte) (sectionData, error) {
	if isWholeMessage(sec) {
		off, n := partialRange(src.Size(), sec.Partial)
		if n > streamThreshold {
			return sectionData{stream: true, offset: off, length: n}, nil
		}
		return appendSection(arena, func(dst []byte) ([]byte, error) { return appendWhole(dst, src, off, n) })
	}
	if meta == nil && isRootHeader(sec) {
		if !hr.known() {
			s.log.Warn("the message meta does not place the header, serving an empty header", "uid", hr.m.UID)
			return sectionData{}, nil
		}
		h, err := hr.header(sec.HeaderFields)
		if err != nil {
			return sectionData{}, err
		}
		return appendSection(arena, func(dst []byte) ([]byte, error) {
			start := len(dst)
			switch {
			case len(sec.HeaderFields) > 0:
				dst = message.AppendHeaderFields(dst, h, sec.HeaderFields, false)
			case len(sec.HeaderFieldsNot) > 0:
				dst = message.AppendHeaderFields(dst, h, sec.HeaderFieldsNot, true)
			default:
				dst = append(dst, h...)
			}
			off, n := partialRange(int64(len(dst)-start), sec.Partial)
			return append(dst[:start], dst[start+int(off):start+int(off+n)]...), nil
		})
	}
	if meta == nil {
		return sectionData{}, nil
	}
	data, err := meta.ExtractSectionPartial(src, sec)
	return sectionData{data: data}, err
}

// appendArena copies data to the arena, as it is only valid during the read transaction.
func appendArena(arena *[]byte, data []byte) []byte {
	start := len(*arena)
	*arena = append(*arena, data...)
	return (*arena)[start:len(*arena):len(*arena)]
}

// appendSection runs fill on the arena and returns what it appended as the section's bytes.
func appendSection(arena *[]byte, fill func(dst []byte) ([]byte, error)) (sectionData, error) {
	start := len(*arena)
	out, err := fill(*arena)
	if err != nil {
		return sectionData{}, err
	}
	*arena = out
	return sectionData{data: out[start:len(out):len(out)]}, nil
}

// headerReader finds the root header block (trace lines first) once per message, from the header's place the
// store read with the message (store.FetchOptions.Header): in place in the store's memory when it lies within one
// chunk and no trace comes before it. HEADER.FIELDS of the fields the store's short copy keeps read that copy
// instead, which lies beside the copies of the next messages rather than in a page of its own.
type headerReader struct {
	src   message.Source
	body  *store.BodyView
	m     *store.Message
	block []byte // once read
	err   error
	read  bool
	short []byte // trace lines and the short copy, once built
}

// known reports whether the header's place was read: asked for, and told by the parse result.
func (r *headerReader) known() bool { return r.m.HasHeader }

// header is the header block to pick the fields names from (none: the whole block is wanted).
func (r *headerReader) header(names []string) ([]byte, error) {
	if r.m.ShortHeader != nil && message.ShortHeaderServes(names) {
		return r.shortHeader(), nil
	}
	if !r.read {
		r.read = true
		r.block, r.err = r.readHeader()
	}
	return r.block, r.err
}

// shortHeader is the trace lines followed by the store's short copy of the header.
func (r *headerReader) shortHeader() []byte {
	if len(r.src.Trace) == 0 {
		return r.m.ShortHeader
	}
	if r.short == nil {
		r.short = append(append(make([]byte, 0, len(r.src.Trace)+len(r.m.ShortHeader)), r.src.Trace...), r.m.ShortHeader...)
	}
	return r.short
}

func (r *headerReader) readHeader() ([]byte, error) {
	start, end := r.m.HeaderStart, r.m.HeaderEnd
	// Clamped to the body, as message.ExtractSection clamps every range: a stale parse result reads nothing outside.
	start = min(max(start, 0), r.src.BodySize)
	end = min(max(end, start), r.src.BodySize)
	if len(r.src.Trace) == 0 {
		if h, err := r.body.Slice(start, end-start); h != nil || err != nil {
			return h, err
		}
	}
	h := make([]byte, len(r.src.Trace), len(r.src.Trace)+int(end-start))
	copy(h, r.src.Trace)
	return appendBody(h, r.src, start, end-start)
}

// partialRange applies <offset.length> to a section of the given size (RFC 3501 6.4.5: an offset past the end
// gives an empty string).
func partialRange(size int64, p *imap.SectionPartial) (off, n int64) {
	if p == nil {
		return 0, size
	}
	off = min(max(p.Offset, 0), size)
	return off, min(max(p.Size, 0), size-off)
}

// readWhole reads bytes [off, off+n) of trace+body.
func readWhole(src message.Source, off, n int64) ([]byte, error) {
	return appendWhole(make([]byte, 0, n), src, off, n)
}

// appendWhole appends bytes [off, off+n) of trace+body to dst, reading the body straight into it.
func appendWhole(dst []byte, src message.Source, off, n int64) ([]byte, error) {
	trace := int64(len(src.Trace))
	if off < trace {
		k := min(trace-off, n)
		dst = append(dst, src.Trace[off:off+k]...)
		off, n = off+k, n-k
	}
	if n <= 0 {
		return dst, nil
	}
	return appendBody(dst, src, off-trace, n)
}

// appendBody appends bytes [off, off+n) of the body to dst.
func appendBody(dst []byte, src message.Source, off, n int64) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, int(n))[:start+int(n)]
	if got, err := src.Body.ReadAt(dst[start:], off); int64(got) < n {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return dst[:start], fmt.Errorf("read message body at %d: %w", off, err)
	}
	return dst, nil
}

// copyWhole writes bytes [off, off+n) of trace+body to dst, reading the body one store chunk at a time.
func copyWhole(dst io.Writer, src message.Source, off, n int64) error {
	trace := int64(len(src.Trace))
	if off < trace {
		k := min(trace-off, n)
		if _, err := dst.Write(src.Trace[off : off+k]); err != nil {
			return err
		}
		off, n = off+k, n-k
	}
	if n <= 0 {
		return nil
	}
	r := io.NewSectionReader(src.Body, off-trace, n)
	written, err := io.CopyBuffer(dst, r, make([]byte, min(n, store.ChunkSize)))
	if err == nil && written < n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// writeSection writes a prepared section into its literal. A store failure in the middle of a streamed literal
// cannot be reported in-band, so the connection is closed rather than left out of step with the client.
func (s *session) writeSection(lw io.Writer, m *store.Message, d sectionData) error {
	lw = nulReplacer{lw}
	if !d.stream {
		_, err := lw.Write(d.data)
		return err
	}
	err := copyWhole(lw, s.source(m), d.offset, d.length)
	if err != nil {
		s.log.Error("imap fetch: body read failed mid-literal, closing connection", "uid", m.UID, "err", err)
		s.conn.NetConn().Close()
		return fmt.Errorf("stream message %d: %w", m.UID, err)
	}
	return nil
}

// nulReplacer writes NUL bytes as 0x80. A BODY[...] or RFC822 section goes out as a plain literal, where NUL is not
// allowed (RFC 9051 4.3; RFC 3501 4.3): only BINARY's literal8 may carry it (RFC 3516). A message stored with NUL
// (a BINARY APPEND, a delivery) keeps it, and BINARY returns it as it is; elsewhere each NUL becomes 0x80, as
// Dovecot does, which keeps every size the client was told (RFC822.SIZE, BODYSTRUCTURE, partial offsets) right.
type nulReplacer struct{ w io.Writer }

func (r nulReplacer) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, 0) < 0 {
		return r.w.Write(p)
	}
	q := bytes.ReplaceAll(p, []byte{0}, []byte{0x80})
	return r.w.Write(q)
}

// binarySection reads BINARY[part]<partial> (RFC 3516): the content with its transfer encoding removed.
func binarySection(src message.Source, meta *message.Meta, sec *imap.FetchItemBinarySection) ([]byte, error) {
	if meta == nil {
		return []byte{}, nil
	}
	data, err := meta.ExtractBinary(src, sec.Part)
	if err != nil {
		return nil, err
	}
	off, n := partialRange(int64(len(data)), sec.Partial)
	return data[off : off+n], nil
}

func binarySize(src message.Source, meta *message.Meta, part []int) (uint32, error) {
	if meta == nil {
		return 0, nil
	}
	size, _, err := meta.BinarySize(src, part)
	return uint32(min(size, math.MaxUint32)), err
}
