package dns

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// scripted answers TXT lookups from a table and counts them; block holds every lookup until it is closed.
type scripted struct {
	fake
	answers map[string]error // nil: an answer
	block   chan struct{}
}

func (s *scripted) LookupTXT(ctx context.Context, name string) ([]string, error) {
	s.called("TXT " + name)
	if s.block != nil {
		<-s.block
	}
	if err := s.answers[name]; err != nil {
		return nil, err
	}
	return []string{"v=spf1 -all"}, nil
}

func TestCacheKeepsAnswersAndNotFound(t *testing.T) {
	next := &scripted{answers: map[string]error{"gone.gov.vn": NotFound("gone.gov.vn"),
		"down.gov.vn": &net.DNSError{Err: "timeout", Name: "down.gov.vn", IsTimeout: true}}}
	c := NewCache(next, time.Minute, 0)
	clock := time.Now()
	c.now = func() time.Time { return clock }
	ctx := context.Background()
	for range 3 {
		if txt, err := c.LookupTXT(ctx, "a.gov.vn"); err != nil || len(txt) != 1 {
			t.Fatalf("LookupTXT = %v, %v", txt, err)
		}
		if _, err := c.LookupTXT(ctx, "gone.gov.vn"); !IsNotFound(err) {
			t.Fatalf("LookupTXT(gone) = %v, want not found", err)
		}
		if _, err := c.LookupTXT(ctx, "down.gov.vn"); err == nil || IsNotFound(err) {
			t.Fatalf("LookupTXT(down) = %v, want the timeout", err)
		}
	}
	calls := next.asked()
	if count(calls, "TXT a.gov.vn") != 1 || count(calls, "TXT gone.gov.vn") != 1 || count(calls, "TXT down.gov.vn") != 3 {
		t.Errorf("asked %v: want answers and not-found once, failures every time", calls)
	}
	clock = clock.Add(time.Minute)
	c.LookupTXT(ctx, "a.gov.vn")
	if n := count(next.asked(), "TXT a.gov.vn"); n != 2 {
		t.Errorf("after the lifetime: asked %d times, want 2", n)
	}
}

func TestCacheSharesOneQuery(t *testing.T) {
	next := &scripted{block: make(chan struct{})}
	c := NewCache(next, time.Minute, 0)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := c.LookupTXT(context.Background(), "a.gov.vn"); err != nil {
				t.Error(err)
			}
		})
	}
	// A caller that gives up does not wait for the answer, nor spoil it for the others.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.LookupTXT(ctx, "a.gov.vn"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("impatient caller: %v, want its deadline", err)
	}
	close(next.block)
	wg.Wait()
	if n := count(next.asked(), "TXT a.gov.vn"); n != 1 {
		t.Errorf("11 concurrent lookups asked %d times, want 1", n)
	}
}

func TestCacheMXCopiesAndBound(t *testing.T) {
	next := &fake{}
	c := NewCache(next, time.Minute, 2)
	ctx := context.Background()
	mx, _ := c.LookupMX(ctx, "a.gov.vn")
	mx[0].Host = "changed."
	if again, _ := c.LookupMX(ctx, "a.gov.vn"); again[0].Host != "mx.fallback." {
		t.Errorf("a caller's change reached the cache: %v", again[0].Host)
	}
	c.LookupMX(ctx, "b.gov.vn")
	c.LookupMX(ctx, "c.gov.vn") // over the bound: the cache starts afresh
	c.LookupMX(ctx, "a.gov.vn")
	if n := count(next.asked(), "MX a.gov.vn"); n != 2 {
		t.Errorf("a.gov.vn asked %d times, want 2 (evicted once the cache was full)", n)
	}
}

func count(calls []string, q string) int {
	n := 0
	for _, c := range calls {
		if c == q {
			n++
		}
	}
	return n
}
