package smtp

import (
	"bytes"
	"errors"
	"io"
)

var ErrTooLongLine = errors.New("smtp: too long a line in input stream")

// lineLimitReader reads from the underlying Reader but restricts
// line length of lines in input stream to a certain length.
//
// If line length exceeds the limit - Read returns ErrTooLongLine
type lineLimitReader struct {
	R         io.Reader
	LineLimit int

	curLineLength int
}

func (r *lineLimitReader) Read(b []byte) (int, error) {
	if r.curLineLength > r.LineLimit && r.LineLimit > 0 {
		return 0, ErrTooLongLine
	}

	n, err := r.R.Read(b)
	if err != nil {
		return n, err
	}

	if r.LineLimit == 0 {
		return n, nil
	}

	if err := r.count(b[:n]); err != nil {
		return 0, err
	}

	return n, nil
}

// count adds the bytes of b to the length of the current line, a line by
// bytes.IndexByte rather than a byte at a time. As before, the LF ending a line
// counts towards the next one, and a line over the limit keeps the reader
// failing.
func (r *lineLimitReader) count(b []byte) error {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			r.curLineLength += len(b)
			break
		}
		if r.curLineLength+i > r.LineLimit {
			r.curLineLength += i
			return ErrTooLongLine
		}
		r.curLineLength = 1
		b = b[i+1:]
	}
	if r.curLineLength > r.LineLimit {
		return ErrTooLongLine
	}
	return nil
}
