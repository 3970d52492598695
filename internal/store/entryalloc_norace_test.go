//go:build !race

package store

// The race detector allocates where a plain build does not, so allocations are counted without it.

import (
	"testing"
	"time"

	"mailserver/internal/message"
)

// TestViewMessagesAllocatesNothingPerMessage: reading a mailbox's messages (no flags, dates in zones east of
// UTC) allocates nothing per message, so a FETCH of FLAGS or header fields over 100,000 messages makes no garbage
// in the store: not the message handed to the callback, not the zone of its date.
func TestViewMessagesAllocatesNothingPerMessage(t *testing.T) {
	s := newTestStore(t)
	a := mustAccount(t, s, "an@example.gov.vn")
	inbox := mustMailbox(t, s, a, "INBOX")
	raw := []byte("From: a@example.gov.vn\r\nSubject: x\r\n\r\nbody\r\n")
	var batch []AppendMessage
	offsets := []int{7 * 3600, 5*3600 + 30*60} // Vietnam, and India's half hour, which the time package makes anew each time
	for i := range 400 {
		msg := NewMessage{Body: append(raw, byte('a'+i%26)), Meta: message.Parse(raw).Meta(),
			InternalDate: time.Date(2026, 2, 2, 9, i%60, 0, 0, time.FixedZone("", offsets[i%2]))}
		batch = append(batch, AppendMessage{NewMessage: msg})
	}
	if _, err := s.AppendMany(inbox.ID, batch, nil); err != nil {
		t.Fatal(err)
	}
	uids, err := s.UIDs(inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	allocs := func(n int) float64 {
		return testing.AllocsPerRun(5, func() {
			_, err := s.ViewMessages(inbox.ID, uids[:n], FetchOptions{Header: true}, func(*Message, *BodyView) (bool, error) {
				return true, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	few, many := allocs(50), allocs(400)
	if perMessage := (many - few) / 350; perMessage >= 0.5 {
		t.Errorf("%.0f allocations for 50 messages, %.0f for 400: %.2f per message", few, many, perMessage)
	}
}
