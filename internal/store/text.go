package store

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"
)

// A search text (body_texts) is stored in one of three forms, told apart by its first byte:
//
//	textZstd  (2) + a zstd frame of the text: what the store writes for a text that compression makes shorter
//	textPlain (1) + the text: a text too short to gain from compression
//	any other first byte: the text as it is, as the store wrote every text before it compressed them
//
// The last form cannot be mistaken for the others: folded text (message.Fold) holds no control character but the NUL
// between header and body text, so an old record starts with NUL or a byte above ' ' (or is empty).
//
// zstd at its fastest level stores the folded text of a 20 KiB message in about 40% of its bytes, at about 60 µs to
// compress 8 KB and 15 µs to decompress it (s2: 60% at 22 and 8 µs; flate level 1: 40% at 90 and 50 µs). At
// 3.3 KB, two texts share two 4 KiB pages where s2's would need three. The text is compressed before the write transaction
// (encodeText, called by Deliver, AppendMany and ImportBatch), in the caller's goroutine, not in the commit loop.
const (
	textPlain byte = 1
	textZstd  byte = 2
)

// minCompressedText is the shortest text worth compressing. A shorter one would save a few hundred bytes at most
// beside a body of several KiB, and every SEARCH that reads it would pay the decoder's fixed cost per text (a scan
// of 10,000 texts of 400 bytes took 20–35 ms longer compressed).
const minCompressedText = 512

// maxDecodedText bounds what one stored text may decode to, so that a damaged frame header cannot make a reader
// allocate without limit. A folded text is never longer than its message.
const maxDecodedText = 1 << 30

var (
	textEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
		return zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true),
			zstd.WithWindowSize(1<<20))
	})
	textDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
		return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(maxDecodedText))
	})
)

// encodeText is the stored form of a search text: compressed when that makes it shorter.
func encodeText(text []byte) []byte {
	if len(text) >= minCompressedText {
		if enc, err := textEncoder(); err == nil {
			out := enc.EncodeAll(text, append(make([]byte, 0, len(text)/2), textZstd))
			if len(out) < 1+len(text) {
				return out
			}
		}
	}
	return append(append(make([]byte, 0, 1+len(text)), textPlain), text...)
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

var errUnknownTextForm = errors.New("search text: unknown stored form")

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
	if err == nil && len(v) > 0 && v[0] == textZstd {
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
