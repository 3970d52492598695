package ctl

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"mailserver/internal/admin"
)

// Client-side limits.
const (
	dialTimeout = 2 * time.Second
	pingTimeout = 3 * time.Second
	// callTimeout bounds one operation, password hashing and the store's fsync included.
	callTimeout = time.Minute
	// longCallTimeout bounds operations that copy or read much of the store in one go.
	longCallTimeout = 30 * time.Minute
)

// ErrNoAnswer means nothing answers on the control socket: no server is running, or it is hung.
var ErrNoAnswer = errors.New("control socket does not answer")

// Client runs operations (Call) on a running server through its control socket. Each operation uses a
// connection of its own, so a Client stays usable however long the CLI waits between operations (for example
// for a password typed at a prompt). It is safe for concurrent use.
type Client struct {
	path string // immutable
	as   string // immutable: the OS user named in requests (admin.Service.As)
}

// Dial returns a client for the control socket at path once a server has answered on it. An error wrapping
// ErrNoAnswer means no server answered there.
func Dial(path string) (*Client, error) {
	c := &Client{path: path}
	pong, err := callRemote(c, ping, None{})
	if err != nil {
		return nil, err
	}
	if pong != pingResult {
		return nil, fmt.Errorf("control socket %s: unexpected answer %q to ping", path, pong)
	}
	return c, nil
}

// Close releases the client. Operations hold no connection between calls, so there is nothing to wait for.
func (c *Client) Close() error { return nil }

// As returns a copy of c that names osUser in its requests, and the server in its audit records.
func (c *Client) As(osUser string) *Client {
	cp := *c
	cp.as = osUser
	return &cp
}

// callRemote runs op through the socket. None travels as nothing: no "args" in the request, no "result" read. An
// operation with a rawCodec sends its bulk bytes raw after its arguments.
func callRemote[A, R any](c *Client, op *Op[A, R], args A) (R, error) {
	var result R
	var sent, received any = args, &result
	if isNone(args) {
		sent = nil
	}
	if isNone(result) {
		received = nil
	}
	var body [][]byte
	if op.raw != nil {
		sent, body = op.raw.split(args)
		if body == nil {
			body = [][]byte{} // still raw: the arguments follow the line
		}
	}
	err := c.callWith(op.name, sent, body, received, op.timeout, op.maxArgs)
	return result, err
}

// call sends one request on a fresh connection and decodes the result into result (if not nil). A failed
// operation comes back as the server's error, kind included (admin.ErrorFromCode).
func (c *Client) call(op string, args, result any, timeout time.Duration) error {
	return c.callWith(op, args, nil, result, timeout, 0)
}

// callWith is call for an operation whose arguments may follow the request line, up to maxArgs bytes with the
// raw bytes of body after them (body not nil: they always follow it).
func (c *Client) callWith(op string, args any, body [][]byte, result any, timeout time.Duration, maxArgs int64) error {
	conn, err := c.sendWith(op, args, body, timeout, maxArgs)
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := readResponse(conn)
	if err != nil {
		if op == ping.Name() {
			return fmt.Errorf("%w: %s: %w", ErrNoAnswer, c.path, err)
		}
		return fmt.Errorf("control socket %s: no answer to %s (the server may still complete it): %w", c.path, op, err)
	}
	if !resp.OK {
		if resp.Error == "" {
			resp.Error = "the server reported a failure without a reason"
		}
		return admin.ErrorFromCode(resp.Code, resp.Error)
	}
	if result != nil {
		if err := json.Unmarshal(resp.Result, result); err != nil {
			return fmt.Errorf("control socket %s: decode %s result: %w", c.path, op, err)
		}
	}
	return nil
}

// send opens a fresh connection, whose deadline is timeout away, and sends the request for op with args.
func (c *Client) send(op string, args any, timeout time.Duration) (net.Conn, error) {
	return c.sendWith(op, args, nil, timeout, 0)
}

// sendWith is send for an operation whose arguments may follow the line, up to maxArgs bytes with body, when they
// do not fit in it or when body is not nil. body's pieces are written as they are, without a copy.
func (c *Client) sendWith(op string, args any, body [][]byte, timeout time.Duration, maxArgs int64) (net.Conn, error) {
	req := request{Op: op, As: c.as}
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("encode %s request: %w", op, err)
		}
		req.Args = b
	}
	line, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode %s request: %w", op, err)
	}
	var after net.Buffers // the arguments and the raw bytes, when they follow the line
	if body != nil || len(line) >= MaxRequest && maxArgs > 0 {
		for _, b := range body {
			req.BodyLen += int64(len(b))
		}
		if int64(len(req.Args))+req.BodyLen > maxArgs {
			return nil, fmt.Errorf("%s request of %d bytes is larger than the %d it may be", op,
				int64(len(req.Args))+req.BodyLen, maxArgs)
		}
		after = append(net.Buffers{req.Args}, body...)
		req.Args, req.ArgsLen = nil, int64(len(req.Args))
		if line, err = json.Marshal(req); err != nil {
			return nil, fmt.Errorf("encode %s request: %w", op, err)
		}
	}
	if len(line) >= MaxRequest {
		return nil, fmt.Errorf("%s request is larger than %d bytes", op, MaxRequest)
	}
	conn, err := net.DialTimeout("unix", c.path, dialTimeout)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoAnswer, c.path, unwrapOp(err))
	}
	conn.SetDeadline(time.Now().Add(timeout))
	out := append(net.Buffers{append(line, '\n')}, after...)
	if _, err := out.WriteTo(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("control socket %s: send %s: %w", c.path, op, unwrapOp(err))
	}
	return conn, nil
}

func readResponse(conn net.Conn) (response, error) {
	var resp response
	line, err := bufio.NewReader(io.LimitReader(conn, MaxResponse)).ReadBytes('\n')
	if err != nil && (len(line) == 0 || !errors.Is(err, io.EOF)) {
		return resp, unwrapOp(err)
	}
	if err := json.Unmarshal(line, &resp); err != nil {
		return resp, fmt.Errorf("malformed response: %w", err)
	}
	return resp, nil
}

// unwrapOp drops net.OpError's repetition of the socket path ("dial unix /x/ctl.sock: connect: ...").
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
