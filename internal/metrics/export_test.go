package metrics

import "time"

// SetClock replaces the clock that ages the queue and the store counts' cache.
func (m *Metrics) SetClock(now func() time.Time) { m.now = now }

// SetStoreReadWait shortens how long a scrape waits for the store's counts; the returned function restores it.
func SetStoreReadWait(d time.Duration) (restore func()) {
	old := storeReadWait
	storeReadWait = d
	return func() { storeReadWait = old }
}
