package message

import (
	"bytes"
	"errors"
	"math/rand"
	"mime/quotedprintable"
	"strings"
	"testing"
)

func TestExtractBinary(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	bin := make([]byte, 200_000) // several 64 KiB read chunks
	rng.Read(bin)
	text := []byte(strings.Repeat("Báo cáo tổng kết = 100%\t \r\nDòng rất dài "+strings.Repeat("x", 90)+"\r\n", 50) + "kết thúc  ")
	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp)
	w.Write(text)
	w.Close()

	raw := crlf(`From: a@x.vn
Subject: binary
Content-Type: multipart/mixed; boundary=B

--B
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

`) + b64Lines(bin) + crlf(`
--B
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

`) + qp.String() + crlf(`
--B
Content-Type: text/plain
Content-Transfer-Encoding: 8bit

plain 8bit
--B
Content-Type: application/octet-stream
Content-Transfer-Encoding: x-uuencode

begin 644 x
--B--
`)
	m := Parse([]byte(raw)).ToMeta()
	src := BytesSource([]byte(trace), []byte(raw))
	for i, want := range [][]byte{bin, text, []byte("plain 8bit")} {
		part := []int{i + 1}
		got, err := m.ExtractBinary(src, part)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("part %d: err %v, %d bytes, want %d; got prefix %q", i+1, err, len(got), len(want), got[:min(len(got), 60)])
		}
		size, found, err := m.BinarySize(src, part)
		if err != nil || !found || size != int64(len(want)) {
			t.Errorf("part %d: BINARY.SIZE %d %v %v, want %d", i+1, size, found, err, len(want))
		}
	}
	if _, err := m.ExtractBinary(src, []int{4}); !errors.Is(err, ErrUnknownCTE) {
		t.Errorf("x-uuencode: err %v, want ErrUnknownCTE", err)
	}
	if got, err := m.ExtractBinary(src, []int{9}); got != nil || err != nil {
		t.Errorf("missing part: %q %v", got, err)
	}
	if got, _ := m.ExtractBinary(src, nil); string(got) != trace+raw {
		t.Errorf("BINARY[] is not the whole message")
	}
}

// TestDecodersChunked feeds encoded input one byte at a time: the result must
// not depend on where chunks end.
func TestDecodersChunked(t *testing.T) {
	cases := []struct{ enc, in, want string }{
		{"base64", "SGVs\r\nbG8g\r\nd29y bGQ=\r\n", "Hello world"},
		{"base64", "SGVsbG8", "Hello"},
		{"base64", "!!SGVs*bG8=", "Hello"},
		{"quoted-printable", "a=3Db  \r\nc=\r\nd= \r\ne=\nf=4", "a=b\r\ncdef=4"},
		{"quoted-printable", "x=zz=C3=A1\tend\t", "x=zzá\tend"},
		{"quoted-printable", "trail=", "trail"},
	}
	for _, c := range cases {
		whole := decodeAll(c.enc, []byte(c.in), 0)
		d, _ := newDecoder(c.enc)
		var bytewise []byte
		for i := 0; i < len(c.in); i++ {
			bytewise = d.decode(bytewise, []byte{c.in[i]})
		}
		bytewise = d.flush(bytewise)
		if string(whole) != c.want || string(bytewise) != c.want {
			t.Errorf("%s %q: whole %q, bytewise %q, want %q", c.enc, c.in, whole, bytewise, c.want)
		}
	}
}

// Quoted-printable decodes alike whole, in chunks and a byte at a time, whatever mix of escapes, soft breaks,
// blanks and literal runs the input holds.
func TestQuotedPrintableChunksDecodeAlike(t *testing.T) {
	pieces := []string{"=C3=A1", "=\r\n", "= \r\n", "=\n", "  ", "\t", " \r\n", "=", "=4", "=zz", "text", "\r\n", "a"}
	rng := rand.New(rand.NewSource(5))
	for i := 0; i < 500; i++ {
		var in []byte
		for n := rng.Intn(40); n >= 0; n-- {
			in = append(in, pieces[rng.Intn(len(pieces))]...)
		}
		whole := decodeAll("quoted-printable", in, 0)
		for _, chunk := range []int{1, 2, 3, 7} {
			d := &qpDecoder{}
			var got []byte
			for rest := in; len(rest) > 0; {
				n := min(chunk, len(rest))
				got = d.decode(got, rest[:n])
				rest = rest[n:]
			}
			got = d.flush(got)
			if !bytes.Equal(got, whole) {
				t.Fatalf("%q in chunks of %d: %q, whole %q", in, chunk, got, whole)
			}
		}
	}
}
