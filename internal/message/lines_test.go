package message

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestLineCounter: counts over any range, short or spanning blocks, equal bytes.Count's.
func TestLineCounter(t *testing.T) {
	rng := rand.New(rand.NewPCG(4096, 2))
	raw := make([]byte, 5*lineBlock+123)
	for i := range raw {
		if rng.IntN(30) == 0 {
			raw[i] = '\n'
		}
	}
	c := lineCounter{raw: raw}
	for range 2000 {
		from := rng.IntN(len(raw) + 1)
		to := from + rng.IntN(len(raw)-from+1)
		if got, want := c.count(from, to), bytes.Count(raw[from:to], nl); got != want {
			t.Fatalf("count(%d, %d) = %d, want %d", from, to, got, want)
		}
	}
	if got, want := c.count(0, len(raw)), bytes.Count(raw, nl); got != want {
		t.Errorf("count of all = %d, want %d", got, want)
	}
}
