package auth

import (
	"sync"
	"time"
)

// checkFlights tracks, per account, the login being checked now, so that the logins to the same account that
// arrive meanwhile wait for its outcome instead of each starting a check of its own: a client reconnecting its
// connections, or a thousand phones of one shared account, all send the same password at once.
type checkFlights struct {
	mu     sync.Mutex
	landed map[string]chan struct{} // by stored address: closed when the login leading the account's flight ends
}

func newCheckFlights() *checkFlights {
	return &checkFlights{landed: make(map[string]chan struct{})}
}

// join leads a flight for address when none is in the air, returning led and the land to call when the login
// ends. Otherwise it waits for the flight in the air to land, at most wait, and returns without leading: a login
// waits for one flight only, so that its own check, whatever the password, goes through the throttle as before.
// A flight is kept for unknown addresses too, so that waiting tells nothing about which accounts exist.
func (f *checkFlights) join(address string, wait time.Duration) (land func(), led bool) {
	f.mu.Lock()
	landed, inAir := f.landed[address]
	if !inAir {
		landed = make(chan struct{})
		f.landed[address] = landed
	}
	f.mu.Unlock()
	if !inAir {
		return func() { f.land(address, landed) }, true
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-landed:
	case <-timer.C:
	}
	return nil, false
}

// land ends the flight whose channel is landed and wakes the logins waiting for it.
func (f *checkFlights) land(address string, landed chan struct{}) {
	f.mu.Lock()
	delete(f.landed, address)
	f.mu.Unlock()
	close(landed)
}
