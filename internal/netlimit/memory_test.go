package netlimit

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestMemoryReadAll(t *testing.T) {
	m := NewMemory(1 << 20)
	msg := strings.Repeat("Báo cáo quý IV.\r\n", 20000) // about 360 KB
	body, release, err := m.ReadAll(strings.NewReader(msg), 1<<20)
	if err != nil || string(body) != msg {
		t.Fatalf("ReadAll = %d bytes, %v; want the message", len(body), err)
	}
	if held := 1<<20 - m.Free(); held < int64(len(msg)) {
		t.Errorf("holding %d bytes for a %d-byte message", held, len(msg))
	}
	// A second message does not fit beside the first.
	if _, _, err := m.ReadAll(strings.NewReader(msg+msg), 1<<20); !errors.Is(err, ErrMemoryBusy) {
		t.Errorf("second message: %v, want ErrMemoryBusy", err)
	}
	release()
	release() // twice is harmless
	if m.Free() != 1<<20 {
		t.Errorf("after release %d bytes free, want all", m.Free())
	}
	// Over the limit: limit+1 bytes come back, so that the caller can refuse it.
	body, release, err = m.ReadAll(bytes.NewReader(make([]byte, 5000)), 4096)
	if err != nil || len(body) != 4097 {
		t.Errorf("over the limit: %d bytes, %v; want 4097", len(body), err)
	}
	release()
	if m.Free() != 1<<20 {
		t.Errorf("after the failed and released reads %d bytes free, want all", m.Free())
	}
	var none *Memory
	if body, release, err := none.ReadAll(strings.NewReader("x"), 10); err != nil || string(body) != "x" {
		t.Errorf("nil Memory: %q, %v", body, err)
	} else {
		release()
	}
}
