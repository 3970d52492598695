package metrics

import "time"

// SetClock replaces the clock that ages the queue and the store counts' cache.
func (m *Metrics) SetClock(now func() time.Time) { m.now = now }
