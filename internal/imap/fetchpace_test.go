package imap

import (
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// paceTestBound bounds the waits of the pacing test: far beyond what a FETCH of a few batches needs even when it
// rests after every batch, so that only a FETCH stalled by the deliveries fails it.
const paceTestBound = time.Minute

// A bulk FETCH gives way to deliveries after each batch but never stalls behind them: it completes, with every
// message, while deliveries to the mailbox it reads run without a pause and a write is in flight throughout.
func TestBulkFetchCompletesUnderConstantDeliveries(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(t, nil)
	const n = 2*fetchBatch + 10
	fillInbox(t, c, n)
	selectBox(t, c, "INBOX", false)

	stop := make(chan struct{})
	delivered := make(chan error, 1)
	go func() { delivered <- deliverUntil(ts, stop, 5000) }()
	inFlight := ts.st.ExpectWrite() // a delivery being prepared at every batch boundary
	fetched := make(chan fetchOutcome, 1)
	go func() {
		all := imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}
		msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, Envelope: true}).Collect()
		fetched <- fetchOutcome{n: len(msgs), err: err}
	}()
	var got fetchOutcome
	select {
	case got = <-fetched:
	case <-time.After(paceTestBound):
		t.Fatalf("FETCH 1:* did not complete within %v under constant deliveries", paceTestBound)
	}
	inFlight()
	close(stop)
	if err := <-delivered; err != nil {
		t.Fatal(err)
	}
	if got.err != nil || got.n < n {
		t.Fatalf("FETCH 1:* under deliveries: %d messages, %v; want at least %d", got.n, got.err, n)
	}
}

// fetchOutcome is what a FETCH run in the background returned.
type fetchOutcome struct {
	n   int
	err error
}

// deliverUntil delivers small messages to the test account's INBOX one after another until stop is closed, at
// most max of them.
func deliverUntil(ts *testServer, stop <-chan struct{}, max int) error {
	for i := range max {
		select {
		case <-stop:
			return nil
		default:
		}
		raw := []byte(fmt.Sprintf("From: vanthu@example.gov.vn\r\nSubject: thư đến %d\r\n\r\nnội dung %d\r\n", i, i))
		p := message.Parse(raw)
		if _, err := ts.st.Deliver(store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText()},
			[]store.Copy{{AccountID: ts.account.ID}}); err != nil {
			return fmt.Errorf("delivery %d: %w", i, err)
		}
	}
	return nil
}
