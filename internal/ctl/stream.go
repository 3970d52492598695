package ctl

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"mailserver/internal/admin"
)

// A stream operation answers with a body of bytes too large for a response line (a backup of the whole store).
// On the wire, the request is an ordinary request line; the answer is a header line, the body, and a trailer line:
//
//	{"op":"backup"}
//	{"ok":true,"result":{"size":1048576,"messages":42},"length":1048576}
//	<exactly length bytes>
//	{"ok":true,"sha256":"9f86d0…"}
//
// A failure before the body is an ordinary failed response. The server cannot report a failure inside the body
// other than by closing the connection, so the client reads exactly "length" bytes and then the trailer: a body
// cut short, a missing trailer, a trailer with "ok":false or a digest that differs all fail the operation. The
// connection closes after the trailer.

// streamIdleTimeout bounds the wait for the next bytes of a stream, however long the whole stream takes.
const streamIdleTimeout = time.Minute

// Stream is what a stream operation opens: its Header, a body of Len bytes that WriteTo writes, and Close to
// release what holds the body (a read transaction).
type Stream[H any] struct {
	Header  H
	Len     int64
	WriteTo func(io.Writer) (int64, error)
	Close   func() error
}

// StreamOp is an operation answered with a Stream. A is its argument, H its header; like Op, one value is the
// contract of both ends.
type StreamOp[A, H any] struct {
	name string
	open func(*admin.Service, A) (Stream[H], error)
}

// Name is the operation's name on the wire.
func (o *StreamOp[A, H]) Name() string { return o.name }

// streamOperation is a StreamOp with its types erased, as the server finds it by name.
type streamOperation interface {
	operation
	openStream(svc *admin.Service, args json.RawMessage) (Stream[any], error)
}

// defineStream makes and registers the stream operation name.
func defineStream[A, H any](name string, open func(*admin.Service, A) (Stream[H], error)) *StreamOp[A, H] {
	if _, dup := operations[name]; dup {
		panic("ctl: operation " + name + " is defined twice") // a programming error: every test run shows it
	}
	o := &StreamOp[A, H]{name: name, open: open}
	operations[name] = o
	return o
}

// answer refuses a stream operation asked for as an ordinary one; the server sends streams through serveStream.
func (o *StreamOp[A, H]) answer(*admin.Service, json.RawMessage, []byte) (any, error) {
	return nil, fmt.Errorf("%s is a stream operation", o.name)
}

func (o *StreamOp[A, H]) openStream(svc *admin.Service, raw json.RawMessage) (Stream[any], error) {
	args, err := decodeArgs[A](raw)
	if err != nil {
		return Stream[any]{}, err
	}
	st, err := o.open(svc, args)
	if err != nil {
		return Stream[any]{}, err
	}
	return Stream[any]{Header: st.Header, Len: st.Len, WriteTo: st.WriteTo, Close: st.Close}, nil
}

// streamHeader is the line before a stream's body.
type streamHeader struct {
	response
	Length int64 `json:"length"`
}

// streamTrailer is the line after a stream's body.
type streamTrailer struct {
	OK     bool   `json:"ok"`
	SHA256 string `json:"sha256,omitempty"`
	Error  string `json:"error,omitempty"`
}

// streamRequest tells whether line asks for a stream operation, and which.
func (s *server) streamRequest(line []byte) (request, streamOperation, bool) {
	var req request
	if json.Unmarshal(line, &req) != nil {
		return req, nil, false
	}
	op, ok := s.ops[req.Op].(streamOperation)
	return req, op, ok
}

// serveStream answers a stream request: header, body, trailer. Cancelling ctx (the server stopping) cuts the body
// short, which the client detects.
func (s *server) serveStream(ctx context.Context, conn net.Conn, op streamOperation, req request) {
	start := time.Now()
	err := s.sendStream(ctx, conn, op, req)
	logOperation(s.logger, req, err, time.Since(start))
}

func (s *server) sendStream(ctx context.Context, conn net.Conn, op streamOperation, req request) error {
	svc := s.svc
	if req.As != "" {
		svc = svc.As(req.As)
	}
	st, err := op.openStream(svc, req.Args)
	if err != nil {
		writeResponse(conn, response{Error: err.Error(), Code: admin.Code(err)})
		return err
	}
	defer st.Close()
	header, err := json.Marshal(st.Header)
	if err != nil {
		writeResponse(conn, response{Error: "encode result: " + err.Error()})
		return err
	}
	if err := writeLine(conn, streamHeader{response{OK: true, Result: header}, st.Len}); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	digest := sha256.New()
	n, err := st.WriteTo(io.MultiWriter(deadlineWriter{conn}, digest))
	if err == nil && n != st.Len {
		err = fmt.Errorf("wrote %d bytes, announced %d", n, st.Len)
	}
	if err != nil {
		writeLine(conn, streamTrailer{Error: err.Error()}) // too late for the client if the body was short
		return err
	}
	return writeLine(conn, streamTrailer{OK: true, SHA256: hex.EncodeToString(digest.Sum(nil))})
}

func writeLine(conn net.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err = conn.Write(append(b, '\n'))
	return err
}

// deadlineWriter gives each write of a long body writeTimeout of its own.
type deadlineWriter struct{ conn net.Conn }

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return w.conn.Write(p)
}

// deadlineReader gives each read of a long body streamIdleTimeout of its own.
type deadlineReader struct {
	conn net.Conn
	r    io.Reader
}

func (d deadlineReader) Read(p []byte) (int, error) {
	d.conn.SetReadDeadline(time.Now().Add(streamIdleTimeout))
	return d.r.Read(p)
}

// ErrTruncated means a stream ended before its announced length or without its trailer.
var ErrTruncated = errors.New("stream cut short")

// CallStream runs op with args on b. begin gets the header and the body's length and returns where the body goes;
// CallStream returns once the whole body is written there and, through the socket, its length and digest match
// what the server announced.
func CallStream[A, H any](b Backend, op *StreamOp[A, H], args A, begin func(H, int64) (io.Writer, error)) error {
	switch b := b.(type) {
	case *Client:
		return streamRemote(b, op, args, begin)
	case Direct:
		return streamDirect(b.Service, op, args, begin)
	}
	return fmt.Errorf("%s: no administration backend to run it on", op.name)
}

func streamDirect[A, H any](svc *admin.Service, op *StreamOp[A, H], args A, begin func(H, int64) (io.Writer, error)) error {
	st, err := op.open(svc, args)
	if err != nil {
		return err
	}
	defer st.Close()
	w, err := begin(st.Header, st.Len)
	if err != nil {
		return err
	}
	n, err := st.WriteTo(w)
	if err == nil && n != st.Len {
		err = fmt.Errorf("%s: wrote %d bytes, announced %d", op.name, n, st.Len)
	}
	return err
}

func streamRemote[A, H any](c *Client, op *StreamOp[A, H], args A, begin func(H, int64) (io.Writer, error)) error {
	var sent any = args
	if isNone(args) {
		sent = nil
	}
	conn, err := c.send(op.name, sent, dialTimeout+writeTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := bufio.NewReader(deadlineReader{conn: conn, r: conn})
	var hdr streamHeader
	if err := readLine(r, &hdr); err != nil {
		return fmt.Errorf("control socket %s: no answer to %s: %w", c.path, op.name, err)
	}
	if !hdr.OK {
		return admin.ErrorFromCode(hdr.Code, hdr.Error)
	}
	var header H
	if err := json.Unmarshal(hdr.Result, &header); err != nil {
		return fmt.Errorf("control socket %s: decode %s header: %w", c.path, op.name, err)
	}
	w, err := begin(header, hdr.Length)
	if err != nil {
		return err
	}
	digest := sha256.New()
	dst := &recordingWriter{w: w}
	n, err := io.CopyN(io.MultiWriter(dst, digest), r, hdr.Length)
	if dst.err != nil {
		return dst.err // where the body goes failed (a full disk), not the stream
	}
	if err != nil {
		return fmt.Errorf("%s: %w after %d of %d bytes: %w", op.name, ErrTruncated, n, hdr.Length, unwrapOp(err))
	}
	var tr streamTrailer
	if err := readLine(r, &tr); err != nil {
		return fmt.Errorf("%s: %w: no trailer after the body: %w", op.name, ErrTruncated, err)
	}
	if !tr.OK {
		return fmt.Errorf("%s: the server failed while sending: %s", op.name, tr.Error)
	}
	if got := hex.EncodeToString(digest.Sum(nil)); got != tr.SHA256 {
		return fmt.Errorf("%s: the body's SHA-256 %s differs from the server's %s", op.name, got, tr.SHA256)
	}
	return nil
}

// recordingWriter keeps the error of the writer a body goes to, to tell it from a failure to read the body.
type recordingWriter struct {
	w   io.Writer
	err error
}

func (r *recordingWriter) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil {
		r.err = err
	}
	return n, err
}

func readLine(r *bufio.Reader, v any) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return unwrapOp(err)
	}
	if err := json.Unmarshal(line, v); err != nil {
		return fmt.Errorf("malformed line: %w", err)
	}
	return nil
}
