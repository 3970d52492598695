package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"
)

// A search text (body_texts) is stored in one of four forms, told apart by its first byte:
//
//	textS2    (3) + CRC-32C of the text (4 bytes, little-endian) + an s2 block of the text: what the store writes
//	          for a text that compression makes shorter
//	textZstd  (2) + a zstd frame of the text: what the store wrote for those before; still read
//	textPlain (1) + the text: a text too short to gain from compression
//	any other first byte: the text as it is, as the store wrote every text before it compressed them
//
// The last form cannot be mistaken for the others: folded text (message.Fold) holds no control character but the NUL
// between header and body text, so an old record starts with NUL or a byte above ' ' (or is empty).
//
// Why s2 (EncodeBetter) rather than zstd: on the folded text of a 20 KiB message as cmd/mailbench makes it (7.9 KB,
// testdata/mailbench-20k.eml; BenchmarkEncodeText, BenchmarkDecodeText; thread CPU time per call) zstd at its
// fastest level took about 55 µs to compress it to 3.3 KB and 15 µs to decompress it; s2's better mode takes about
// 18 µs to 4.0 KB and 4 µs back (plain s2: 12 µs to 4.6 KB). zstd's time is the encoding itself (match search and
// entropy coding; clearing memory was 2% of it), and its other options (one encoder, a 64 KiB window, no
// entropy coding, no checksum) saved nothing beyond the noise. Each delivery compresses its text once and the
// indexer decompresses it once, so s2 saves some 50 µs of the 900 a delivery costs the server, for 0.75 KB more
// per record; in pages, 0.5 KB more per message (2,000 such messages: 4.6 KB of body_texts pages each instead of
// 4.1, in a file of 33 KB per message), under 2% of the file.
// An s2 block has no checksum of its own, so the form keeps one, as the zstd frame did: check and every reader
// then tell a damaged record from a text.
const (
	textPlain byte = 1
	textZstd  byte = 2
	textS2    byte = 3
)

// minCompressedText is the shortest text worth compressing. A shorter one would save a few hundred bytes at most
// beside a body of several KiB, and every SEARCH that reads it would pay the decoder's fixed cost per text (a scan
// of 10,000 texts of 400 bytes took 20–35 ms longer compressed).
const minCompressedText = 512

// maxDecodedText bounds what one stored text may decode to, so that a damaged frame header cannot make a reader
// allocate without limit. A folded text is never longer than its message.
const maxDecodedText = 1 << 30

// textDecoder decodes the texts stored in the zstd form.
var textDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(maxDecodedText))
})

// encodeText is the stored form of a search text: compressed when that makes it shorter.
func encodeText(text []byte) []byte {
	if len(text) >= minCompressedText {
		scratch := encodeBuffers.Get().(*[]byte)
		block := s2.EncodeBetter((*scratch)[:cap(*scratch)], text)
		defer putEncodeBuffer(scratch, block)
		if s2Header+len(block) < 1+len(text) {
			out := make([]byte, s2Header, s2Header+len(block))
			out[0] = textS2
			binary.LittleEndian.PutUint32(out[1:], crc32.Checksum(text, castagnoli))
			return append(out, block...)
		}
	}
	return append(append(make([]byte, 0, 1+len(text)), textPlain), text...)
}

// encodeBuffers hold encodeText's s2 blocks until they are copied into a stored form of their own length.
var encodeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// putEncodeBuffer gives encodeBuffers the memory of block, unless it grew past maxPooledText.
func putEncodeBuffer(scratch *[]byte, block []byte) {
	if cap(block) <= maxPooledText {
		*scratch = block[:0]
		encodeBuffers.Put(scratch)
	}
}

// s2Header is the length of what precedes the s2 block in the textS2 form: the form byte and the checksum.
const s2Header = 1 + 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// decodeS2Text decodes v, a text in the textS2 form, into dst's memory, and checks it against its checksum.
func decodeS2Text(dst, v []byte) ([]byte, error) {
	if len(v) < s2Header {
		return nil, errDamagedText
	}
	n, err := s2.DecodedLen(v[s2Header:])
	if err != nil || n > maxDecodedText {
		return nil, errDamagedText
	}
	out, err := s2.Decode(dst, v[s2Header:])
	if err != nil || crc32.Checksum(out, castagnoli) != binary.LittleEndian.Uint32(v[1:]) {
		return nil, errDamagedText
	}
	return out, nil
}

// decodeText is the search text whose stored form is v: a part of v when v is not compressed, otherwise v
// decompressed into dst's memory (dst[:0] grown as needed). Either way the result dies with v or dst.
func decodeText(dst, v []byte) ([]byte, error) {
	if len(v) == 0 {
		return v, nil
	}
	switch v[0] {
	case textPlain:
		return v[1:], nil
	case textS2:
		return decodeS2Text(dst, v)
	case textZstd:
		dec, err := textDecoder()
		if err != nil {
			return nil, fmt.Errorf("search text decoder: %w", err)
		}
		out, err := dec.DecodeAll(v[1:], dst[:0])
		if err != nil {
			return nil, fmt.Errorf("search text: %w", err)
		}
		return out, nil
	}
	if v[0] < ' ' && v[0] != 0 {
		return nil, errUnknownTextForm
	}
	return v, nil // written before texts were compressed
}

var (
	errUnknownTextForm = errors.New("search text: unknown stored form")
	errDamagedText     = errors.New("search text: damaged compressed form")
)

// textBuffers hold decompressed search texts for readers that need them only for a moment (a SEARCH's batch, an
// index batch), so that reading many texts allocates little. Buffers that grew past maxPooledText are dropped.
var textBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledText = 1 << 20

// textBuffer is a reusable buffer for decoded search texts; release gives it back.
type textBuffer struct{ b *[]byte }

func newTextBuffer() textBuffer { return textBuffer{b: textBuffers.Get().(*[]byte)} }

// decode is decodeText into the buffer: the result is valid until the next decode or release.
func (t textBuffer) decode(v []byte) ([]byte, error) {
	out, err := decodeText(*t.b, v)
	if err == nil && len(v) > 0 && (v[0] == textS2 || v[0] == textZstd) {
		*t.b = out[:0]
	}
	return out, err
}

func (t textBuffer) release() {
	if cap(*t.b) <= maxPooledText {
		*t.b = (*t.b)[:0]
		textBuffers.Put(t.b)
	}
}

// storedTexts reads search texts from body_texts inside a transaction, decoding them into buf.
type storedTexts struct {
	b   *bolt.Bucket
	buf textBuffer
}

// get is the search text of the body stored under seq (nil if it has none), valid until the next get or until the
// transaction ends.
func (t storedTexts) get(seq uint64) ([]byte, error) {
	text, err := t.buf.decode(t.b.Get(u64key(seq)))
	if err != nil {
		return nil, fmt.Errorf("body #%d: %w", seq, err)
	}
	return text, nil
}
