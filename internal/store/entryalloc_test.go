package store

import (
	"testing"
	"time"
)

// TestEntryDatesKeepTheirZone: an entry's INTERNALDATE comes back at the same instant with the same offset, for
// the quarter-hour offsets real dates have and for odd ones.
func TestEntryDatesKeepTheirZone(t *testing.T) {
	for _, offset := range []int{0, 7 * 3600, -(3*3600 + 30*60), 5*3600 + 45*60, 23*3600 + 45*60, -(23*3600 + 45*60),
		24 * 3600, 30, -(99*3600 + 59*60)} {
		date := time.Date(2026, 2, 2, 9, 30, 0, 0, time.FixedZone("", offset))
		var e entry
		if err := decodeEntryView(encodeEntry(&entry{date: date, place: bodyPlace{seq: 1}}), &e); err != nil {
			t.Fatal(err)
		}
		if _, got := e.date.Zone(); got != offset || !e.date.Equal(date) {
			t.Errorf("offset %d: decoded %v, offset %d", offset, e.date, got)
		}
	}
}
