package ctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"mailserver/internal/admin"
)

// Op is one administration operation: its name on the control socket, what it runs on an admin.Service, and how
// long a client waits for its answer. A, its argument, travels as a request's "args" and R, its result, as the
// response's "result": the client sends and the server decodes the same A, the server sends and the client decodes
// the same R, so the compiler checks that both ends agree. Ops are made by define only (operations.go), which
// registers them with the server.
type Op[A, R any] struct {
	name    string
	run     func(*admin.Service, A) (R, error)
	timeout time.Duration // the client's deadline for the answer
	maxArgs int64         // arguments larger than a request line may follow it, up to this many bytes; 0: never
	raw     *rawCodec[A]  // takes A's bulk bytes out of its JSON to travel raw after it; nil: A is all JSON
}

// rawCodec takes the bulk bytes of an argument (an import batch's messages) out of its JSON, so that they cross
// the socket as they are, after the JSON, rather than in base64; the server puts them back.
type rawCodec[A any] struct {
	// split returns what travels as JSON and the bytes that follow it, in order.
	split func(A) (header any, body [][]byte)
	// join decodes the JSON (strictly, see decodeArgs) and gives the bytes back to the argument.
	join func(header json.RawMessage, body []byte) (A, error)
}

// Name is the operation's name on the wire and in the server's log, e.g. "user.add".
func (o *Op[A, R]) Name() string { return o.name }

// operation is an Op with its types erased, as the server finds it by name.
type operation interface {
	Name() string
	// answer runs the Op on svc with the arguments a request carries and the raw bytes after them (see rawCodec);
	// the result is nil when there is none to send.
	answer(svc *admin.Service, args json.RawMessage, body []byte) (any, error)
}

// operations holds every Op by name. define fills it while the package initialises, so an Op the CLI can run is
// always one the server of the same build answers.
var operations = map[string]operation{}

// define makes the operation name, which runs run and is answered within callTimeout, and registers it.
func define[A, R any](name string, run func(*admin.Service, A) (R, error)) *Op[A, R] {
	if _, dup := operations[name]; dup {
		panic("ctl: operation " + name + " is defined twice") // a programming error: every test run shows it
	}
	o := &Op[A, R]{name: name, run: run, timeout: callTimeout}
	operations[name] = o
	return o
}

// within sets how long a client waits for the answer, for operations that may take longer than callTimeout.
func (o *Op[A, R]) within(d time.Duration) *Op[A, R] {
	o.timeout = d
	return o
}

// largeArgs lets the arguments follow the request line, up to limit bytes, for operations that carry data.
func (o *Op[A, R]) largeArgs(limit int64) *Op[A, R] {
	o.maxArgs = limit
	return o
}

// rawBytes has A's bulk bytes travel raw after its JSON (see rawCodec); such arguments always follow the line.
func (o *Op[A, R]) rawBytes(split func(A) (any, [][]byte), join func(json.RawMessage, []byte) (A, error)) *Op[A, R] {
	o.raw = &rawCodec[A]{split: split, join: join}
	return o
}

// argsLimit is how large arguments sent after the request line may be; 0 means they must fit in the line.
func (o *Op[A, R]) argsLimit() int64 { return o.maxArgs }

// noArgs adapts a Service method that takes no arguments.
func noArgs[R any](run func(*admin.Service) (R, error)) func(*admin.Service, None) (R, error) {
	return func(s *admin.Service, _ None) (R, error) { return run(s) }
}

// none adapts the outcome of a Service method that returns nothing but an error.
func none(err error) (None, error) { return None{}, err }

func isNone(v any) bool {
	_, ok := v.(None)
	return ok
}

func (o *Op[A, R]) answer(svc *admin.Service, raw json.RawMessage, body []byte) (any, error) {
	args, err := o.decode(raw, body)
	if err != nil {
		return nil, err
	}
	result, err := o.run(svc, args)
	if err != nil || isNone(result) {
		return nil, err
	}
	return result, nil
}

// decode decodes a request's arguments and, for an operation that takes them, gives them the raw bytes after them.
func (o *Op[A, R]) decode(raw json.RawMessage, body []byte) (A, error) {
	if o.raw != nil {
		args, err := o.raw.join(raw, body)
		if err != nil {
			return args, fmt.Errorf("malformed request: %w", err)
		}
		return args, nil
	}
	if len(body) > 0 {
		var zero A
		return zero, fmt.Errorf("malformed request: %s takes no bytes after its arguments", o.name)
	}
	return decodeArgs[A](raw)
}

// decodeArgs decodes strictly: an unknown field means the CLI is newer than the server, better refused than half
// done. Only an operation without arguments may come without "args".
func decodeArgs[A any](raw json.RawMessage) (A, error) {
	var args A
	if len(raw) == 0 {
		if isNone(args) {
			return args, nil
		}
		return args, errors.New("malformed request: missing args")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&args); err != nil {
		return args, fmt.Errorf("malformed request: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return args, errors.New("malformed request: data after args")
	}
	return args, nil
}

// Backend is where the CLI runs operations: a *Client, on a running server through its control socket, or
// Direct, on a Service over the store file when no server runs.
type Backend interface {
	backend() // the backends are this package's own: Call knows how to run an Op on each
}

// Direct runs operations on a Service in this process.
type Direct struct {
	Service *admin.Service
}

func (Direct) backend()  {}
func (*Client) backend() {}

// Call runs op with args on b and returns its result. A failure is the Service's error either way: through the
// socket, its text and kind (admin.Code) come back as they left.
func Call[A, R any](b Backend, op *Op[A, R], args A) (R, error) {
	switch b := b.(type) {
	case *Client:
		return callRemote(b, op, args)
	case Direct:
		return op.run(b.Service, args)
	}
	var zero R
	return zero, fmt.Errorf("%s: no administration backend to run it on", op.name)
}

// Do runs op, which returns nothing but an error, with args on b.
func Do[A any](b Backend, op *Op[A, None], args A) error {
	_, err := Call(b, op, args)
	return err
}
