package mailfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// fileReader reads one-message files (Maildir, .eml) into a buffer that it reuses, in CRLF.
type fileReader struct {
	br  *bufio.Reader
	buf []byte
	max int
}

func newFileReader(max int) *fileReader {
	if max <= 0 {
		max = DefaultMaxSize
	}
	return &fileReader{br: bufio.NewReaderSize(nil, readBufferSize), max: max}
}

// read returns the message in path, valid until the next call, and the file's modification time.
func (fr *fileReader) read(path string) ([]byte, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if info.Size() > int64(fr.max) {
		return nil, nil, tooLarge(path, fr.max)
	}
	fr.buf = grow(fr.buf[:0], int(info.Size()), fr.max)
	fr.br.Reset(f)
	if err := fr.readNormalized(path); err != nil {
		return nil, nil, err
	}
	return fr.buf, info, nil
}

// readNormalized appends the file to buf, turning bare LFs into CRLF unless its first line ends in CRLF.
func (fr *fileReader) readNormalized(path string) error {
	lfFile, first := true, true
	var prev byte
	for {
		p, err := fr.br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) && err != io.EOF {
			return fmt.Errorf("%s: %w", path, err)
		}
		if first && len(p) > 0 && p[len(p)-1] == '\n' {
			lfFile, first = len(p) < 2 || p[len(p)-2] != '\r', false
		}
		content, eol := trimEnding(p), lineEnding(p, lfFile, prev)
		if len(fr.buf)+len(content)+len(eol) > fr.max {
			return tooLarge(path, fr.max)
		}
		fr.buf = grow(fr.buf, len(content)+len(eol), fr.max)
		fr.buf = append(append(fr.buf, content...), eol...)
		if len(p) > 0 {
			prev = p[len(p)-1]
		}
		if err == io.EOF {
			return nil
		}
	}
}
