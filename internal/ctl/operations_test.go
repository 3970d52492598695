package ctl

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"mailserver/internal/admin"
)

// TestOperationsTable walks the table of operations. Each is defined once, in operations.go, under a name of its
// own, and the server answers exactly those. For each, the arguments a client sends reach the server field for
// field and the result the server answers reaches the client field for field, through the socket: a field that
// JSON drops, names differently on one side or cannot carry fails here, not when an administrator runs the command.
func TestOperationsTable(t *testing.T) {
	defined := definedInTable(t)
	if registered := slices.Sorted(maps.Keys(operations)); !slices.Equal(defined, registered) {
		t.Errorf("operations.go defines %q\nthe server answers %q", defined, registered)
	}
	for name, op := range operations {
		if op.Name() != name {
			t.Errorf("operation %s is registered as %s", op.Name(), name)
		}
	}
	for _, filled := range []bool{false, true} {
		t.Run(fmt.Sprintf("filled=%v", filled), func(t *testing.T) {
			stubs := map[string]operation{}
			var calls []func(*Client)
			for name, op := range operations {
				stub, call := op.(echoer).echo(t, filled)
				stubs[name] = stub
				calls = append(calls, call)
			}
			c := serveStubs(t, stubs)
			for _, call := range calls {
				call(c)
			}
		})
	}
}

// TestDefineRefusesDuplicateName checks that an operation cannot be defined twice under one name, which would
// leave the client and the server of one build running different operations.
func TestDefineRefusesDuplicateName(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a second domain.add was defined")
		}
		if operations[DomainAdd.Name()] != operation(DomainAdd) {
			t.Error("the first domain.add was replaced")
		}
	}()
	define(DomainAdd.Name(), func(*admin.Service, None) (None, error) { return None{}, nil })
}

// definedInTable returns the names given to define in operations.go, sorted, and reports any given twice.
func definedInTable(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "operations.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || !calls(call, "define") && !calls(call, "defineStream") {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			t.Errorf("define with a name that is not a literal: %T", call.Args[0])
			return true
		}
		name, _ := strconv.Unquote(lit.Value)
		if slices.Contains(names, name) {
			t.Errorf("operation %s is defined twice", name)
		}
		names = append(names, name)
		return true
	})
	slices.Sort(names)
	return names
}

// calls tells whether call calls the function named name.
func calls(call *ast.CallExpr, name string) bool {
	id, ok := call.Fun.(*ast.Ident)
	return ok && id.Name == name
}

// serveStubs serves ops on a socket in t.TempDir until the test ends and returns a client for it.
func serveStubs(t *testing.T, ops map[string]operation) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(admin.New(nil), ops, slog.New(slog.DiscardHandler))
	StartServe(t, func(ctx context.Context) error { return s.serve(ctx, ln) })
	return &Client{path: path}
}

// StartServe runs serve in the background and returns stop, which cancels its context and checks that serve
// returns nil promptly; the test's cleanup stops it if the test did not. The tests of package ctl_test use it too.
func StartServe(t *testing.T, serve func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	t.Cleanup(stop)
	return stop
}

// echoer is what TestOperationsTable needs of every Op, whatever its types.
type echoer interface {
	echo(t *testing.T, filled bool) (stub operation, call func(*Client))
}

// echo returns a stand-in for o on the server, which checks that it receives sample arguments and answers a
// sample result instead of running a Service method, and a call of o through a client that sends those arguments
// and checks that the result comes back.
func (o *Op[A, R]) echo(t *testing.T, filled bool) (operation, func(*Client)) {
	args, result := sample[A](t, filled), sample[R](t, filled)
	stub := *o
	stub.run = func(_ *admin.Service, got A) (R, error) {
		if !reflect.DeepEqual(got, args) {
			t.Errorf("%s: the server received args\n%#v\nthe client sent\n%#v", o.name, got, args)
		}
		return result, nil
	}
	call := func(c *Client) {
		got, err := Call(c, o, args)
		if err != nil {
			t.Errorf("%s: %v", o.name, err)
		} else if !reflect.DeepEqual(got, result) {
			t.Errorf("%s: the client received result\n%#v\nthe server sent\n%#v", o.name, got, result)
		}
	}
	return &stub, call
}

// echo is Op's echo for a stream operation: the stand-in streams a sample header and body, which must arrive whole.
func (o *StreamOp[A, H]) echo(t *testing.T, filled bool) (operation, func(*Client)) {
	args, header := sample[A](t, filled), sample[H](t, filled)
	body := bytes.Repeat([]byte("bản sao\n"), 10000)
	stub := *o
	stub.open = func(_ *admin.Service, got A) (Stream[H], error) {
		if !reflect.DeepEqual(got, args) {
			t.Errorf("%s: the server received args\n%#v\nthe client sent\n%#v", o.name, got, args)
		}
		write := func(w io.Writer) (int64, error) { n, err := w.Write(body); return int64(n), err }
		return Stream[H]{Header: header, Len: int64(len(body)), WriteTo: write, Close: func() error { return nil }}, nil
	}
	call := func(c *Client) {
		var got bytes.Buffer
		err := CallStream(c, o, args, func(h H, n int64) (io.Writer, error) {
			if !reflect.DeepEqual(h, header) || n != int64(len(body)) {
				t.Errorf("%s: the client received header %#v (%d bytes), the server sent %#v (%d)", o.name, h, n, header, len(body))
			}
			return &got, nil
		})
		if err != nil || !bytes.Equal(got.Bytes(), body) {
			t.Errorf("%s: %v; %d bytes of %d arrived", o.name, err, got.Len(), len(body))
		}
	}
	return &stub, call
}

// sample returns a T: its zero value, or, filled, one where every exported field reached has a value of its own.
func sample[T any](t *testing.T, filled bool) T {
	var v T
	if filled {
		(&filler{t: t}).fill(reflect.ValueOf(&v).Elem())
	}
	return v
}

type filler struct {
	t *testing.T
	n int // values made so far: each is different
}

func (f *filler) fill(v reflect.Value) {
	f.n++
	switch v.Kind() {
	case reflect.String:
		v.SetString("v" + strconv.Itoa(f.n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(f.n) + 0.5)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem())
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		f.fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMapWithSize(v.Type(), 1)
		key, elem := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		f.fill(key)
		f.fill(elem)
		m.SetMapIndex(key, elem)
		v.Set(m)
	case reflect.Struct:
		f.fillStruct(v)
	default:
		f.t.Errorf("%s: JSON cannot carry a %s faithfully", v.Type(), v.Kind())
	}
}

func (f *filler) fillStruct(v reflect.Value) {
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(time.Date(2025, 3, 1, 8, 30, f.n, 123456789, time.UTC)))
		return
	}
	for i := range v.NumField() {
		if v.Type().Field(i).IsExported() {
			f.fill(v.Field(i))
		}
	}
}
