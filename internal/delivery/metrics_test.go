package delivery

import (
	"context"
	"testing"

	"mailserver/internal/metrics"
	"mailserver/internal/metrics/metricstest"
)

// A message to two accounts, one of them named twice, stores two copies, and they are counted when committed.
func TestLocalCopiesCounted(t *testing.T) {
	st := newTestStore(t)
	m := metrics.New(nil)
	d := New(st, "mail.hanoi.gov.vn", nil, m)
	ctx := context.Background()
	tx := d.Begin(ctx, mxEnvelope())
	for _, r := range []string{"an@hanoi.gov.vn", "binh@hanoi.gov.vn", "An@Hanoi.gov.vn"} {
		if err := tx.AddRecipient(ctx, r); err != nil {
			t.Fatalf("AddRecipient(%s): %v", r, err)
		}
	}
	if got := metricstest.Gather(t, m).Value("mailserver_delivery_local_copies_total"); got != 0 {
		t.Fatalf("%v copies counted before the commit", got)
	}
	if _, err := tx.Commit(ctx, []byte(testBody)); err != nil {
		t.Fatal(err)
	}
	if got := metricstest.Gather(t, m).Value("mailserver_delivery_local_copies_total"); got != 2 {
		t.Errorf("%v copies counted, want 2", got)
	}
}
