package netlimit

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrMemoryBusy is returned when the messages being received already hold the whole memory budget: the sender
// should try again in a little while.
var ErrMemoryBusy = errors.New("too much mail is being received at once")

// memoryChunk is how much of the budget a read takes at a time.
const memoryChunk = 64 << 10

// Memory bounds the bytes of the messages being received that the server holds at once, across SMTP DATA/BDAT
// and IMAP APPEND. Each connection is bounded by the message size limit, but many connections, each sending a
// large message slowly, would otherwise add up to more memory than the machine has.
type Memory struct {
	mu   sync.Mutex
	free int64
}

// NewMemory allows n bytes of messages in memory at once.
func NewMemory(n int64) *Memory { return &Memory{free: n} }

// ReadAll reads r to its end, but at most limit+1 bytes so that the caller can tell a message over the limit,
// taking the budget as the message grows. release gives back what it took: call it once the message is stored
// or dropped (it is safe to call more than once). On a nil Memory it is io.ReadAll with nothing to release.
func (m *Memory) ReadAll(r io.Reader, limit int64) (body []byte, release func(), err error) {
	if m == nil {
		body, err = io.ReadAll(io.LimitReader(r, limit+1))
		return body, func() {}, err
	}
	var held int64
	var once sync.Once
	release = func() { once.Do(func() { m.give(held) }) }
	r = io.LimitReader(r, limit+1)
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			// Grow by doubling, as io.ReadAll does, into a buffer of exactly the size taken.
			grow := max(min(int64(cap(buf)), limit+1-int64(len(buf))), memoryChunk)
			if !m.take(grow) {
				release()
				return nil, func() {}, fmt.Errorf("%w: %d bytes of a message read", ErrMemoryBusy, len(buf))
			}
			held += grow
			bigger := make([]byte, len(buf), int64(cap(buf))+grow)
			copy(bigger, buf)
			buf = bigger
		}
		n, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr == io.EOF {
			return buf, release, nil
		}
		if rerr != nil {
			return buf, release, rerr
		}
	}
}

func (m *Memory) take(n int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.free < n {
		return false
	}
	m.free -= n
	return true
}

func (m *Memory) give(n int64) {
	if m == nil || n == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.free += n
}

// Free returns the bytes not taken; for tests and metrics.
func (m *Memory) Free() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.free
}
