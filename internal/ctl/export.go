package ctl

import (
	"fmt"
	"io"

	"mailserver/internal/admin"
)

// piecesStream sends the pieces' Data as the body of a stream whose header describes them.
func piecesStream(pieces []admin.ExportPiece) Stream[[]ExportPieceHeader] {
	headers := make([]ExportPieceHeader, len(pieces))
	var total int64
	for i, p := range pieces {
		headers[i] = ExportPieceHeader{UID: p.UID, Offset: p.Offset, Length: int64(len(p.Data)), Size: p.Size}
		total += int64(len(p.Data))
	}
	write := func(w io.Writer) (int64, error) {
		var n int64
		for _, p := range pieces {
			k, err := w.Write(p.Data)
			if n += int64(k); err != nil {
				return n, err
			}
		}
		return n, nil
	}
	return Stream[[]ExportPieceHeader]{Header: headers, Len: total, WriteTo: write, Close: func() error { return nil }}
}

// ReadExport runs ExportRead on b and returns the pieces with their Data, cut from the stream's body.
func ReadExport(b Backend, args ExportArgs) ([]admin.ExportPiece, error) {
	var headers []ExportPieceHeader
	var body []byte
	err := CallStream(b, ExportRead, args, func(h []ExportPieceHeader, n int64) (io.Writer, error) {
		if n > admin.ExportBatchBytes {
			return nil, fmt.Errorf("%s: the server announced %d bytes, more than a batch", ExportRead.name, n)
		}
		headers, body = h, make([]byte, 0, n)
		return sliceAppender{&body}, nil
	})
	if err != nil {
		return nil, err
	}
	pieces := make([]admin.ExportPiece, len(headers))
	for i, h := range headers {
		if h.Length < 0 || int64(len(body)) < h.Length {
			return nil, fmt.Errorf("%s: the body is shorter than its pieces", ExportRead.name)
		}
		pieces[i] = admin.ExportPiece{UID: h.UID, Offset: h.Offset, Size: h.Size, Data: body[:h.Length:h.Length]}
		body = body[h.Length:]
	}
	if len(body) > 0 {
		return nil, fmt.Errorf("%s: the body is longer than its pieces", ExportRead.name)
	}
	return pieces, nil
}

// sliceAppender appends what is written to a slice.
type sliceAppender struct{ b *[]byte }

func (s sliceAppender) Write(p []byte) (int, error) {
	*s.b = append(*s.b, p...)
	return len(p), nil
}
