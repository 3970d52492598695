package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// randomData returns bytes rich in what the DATA and line-limit readers look at: dots, CRs and LFs, runs of
// ordinary text, and now and then an end-of-data line.
func randomData(rng *rand.Rand, n int) []byte {
	pieces := []string{".", "\r", "\n", "\r\n", "\r\n.", "\r\n.\r\n", "..", "text", "a longer run of ordinary text"}
	var b []byte
	for len(b) < n {
		b = append(b, pieces[rng.IntN(len(pieces))]...)
	}
	return b
}

// readData reads one message through a dataReader over a bufio.Reader of the given size and returns what it gave,
// its final error and the input it left unread (the client's next commands).
func readData(in []byte, src func(io.Reader) io.Reader, bufSize, readSize int) (out []byte, err error, rest []byte) {
	br := bufio.NewReaderSize(src(bytes.NewReader(in)), bufSize)
	dr := &dataReader{r: br}
	p := make([]byte, readSize)
	for i := 0; i <= len(in); i++ { // every Read but the last gives at least one byte
		n, rerr := dr.Read(p)
		out = append(out, p[:n]...)
		if rerr != nil {
			err = rerr
			break
		}
	}
	rest, _ = io.ReadAll(br)
	return out, err, rest
}

func identity(r io.Reader) io.Reader { return r }

// The DATA reader copies the middle of a line in bulk; what it gives, where it stops and what it leaves unread must
// be what reading a byte at a time gives (a source of one byte per read leaves nothing buffered to copy in bulk).
func TestDataReaderGivesTheSameBytesWhateverTheReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		in := randomData(rng, 1+rng.IntN(300))
		want, wantErr, wantRest := readData(in, iotest.OneByteReader, 16, 1)
		for _, c := range []struct{ buf, read int }{{16, 5}, {16, 4096}, {4096, 4096}, {4096, 3}} {
			got, err, rest := readData(in, identity, c.buf, c.read)
			if !bytes.Equal(got, want) || !errors.Is(err, wantErr) || !bytes.Equal(rest, wantRest) {
				t.Fatalf("input %q, buffer %d, reads of %d:\ngot  %q, %v, rest %q\nwant %q, %v, rest %q",
					in, c.buf, c.read, got, err, rest, want, wantErr, wantRest)
			}
		}
	}
}

func TestDataReaderUnstuffsAndStopsAtTheEnd(t *testing.T) {
	in := "Subject: x\r\n\r\n..dot\r\nmid.line\r\n.\r\nQUIT\r\n"
	got, err, rest := readData([]byte(in), identity, 4096, 4096)
	if string(got) != "Subject: x\r\n\r\n.dot\r\nmid.line\r\n" || err != io.EOF || string(rest) != "QUIT\r\n" {
		t.Fatalf("got %q, %v, rest %q", got, err, rest)
	}
}

// lineLimitByByte is the line limit as lineLimitReader counted it before it counted a line at a time.
func lineLimitByByte(b []byte, limit int) (errAt int) {
	cur := 0
	for i, c := range b {
		if c == '\n' {
			cur = 0
		}
		cur++
		if cur > limit {
			return i
		}
	}
	return -1
}

// lineLimitReader counts a line at a time; it must fail on the same read as counting a byte at a time did, and
// keep failing.
func TestLineLimitReaderFailsWhereCountingBytesDid(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		in := randomData(rng, 1+rng.IntN(300))
		limit := 1 + rng.IntN(40)
		chunk := 1 + rng.IntN(64)
		errAt := lineLimitByByte(in, limit)
		r := &lineLimitReader{R: iotest.HalfReader(bytes.NewReader(in)), LineLimit: limit}
		read := 0
		p := make([]byte, chunk)
		for j := 0; j <= len(in); j++ {
			n, err := r.Read(p)
			if errors.Is(err, ErrTooLongLine) {
				if errAt < read || errAt >= read+len(p) {
					t.Fatalf("input %q, limit %d: failed at the read from %d, want the one holding byte %d", in, limit, read, errAt)
				}
				if _, err := r.Read(p); !errors.Is(err, ErrTooLongLine) {
					t.Fatalf("input %q, limit %d: read after the failure: %v", in, limit, err)
				}
				break
			}
			if err == io.EOF {
				if errAt >= 0 {
					t.Fatalf("input %q, limit %d: no failure, want one at byte %d", in, limit, errAt)
				}
				break
			}
			read += n
		}
	}
}

func BenchmarkDataReader(b *testing.B) {
	line := strings.Repeat("=C3=A1 Vi=E1=BB=87t Nam ", 4)[:74] + "=\r\n"
	msg := []byte(strings.Repeat(line, 20480/len(line)) + ".\r\n")
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		br := bufio.NewReader(&lineLimitReader{R: bytes.NewReader(msg), LineLimit: 2000})
		if _, err := io.Copy(io.Discard, &dataReader{r: br}); err != nil {
			b.Fatal(err)
		}
	}
}
