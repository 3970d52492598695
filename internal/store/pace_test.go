package store

import "testing"

// A paced bulk read gives way to writes of others that began during its stretch even when none is in flight at
// its end (a stream of deliveries between two of their own: the read must not take their gaps at full speed), and
// to one in flight; not to its own writes, nor with no write at all.
func TestReadPacerTellsOthersWritesFromItsOwn(t *testing.T) {
	s := newTestStore(t)
	p := s.PaceRead()
	if p.othersWrote(0) {
		t.Error("others wrote with no write at all")
	}
	s.ExpectWrite()() // a delivery parsed and committed within the stretch
	if !p.othersWrote(0) {
		t.Error("a write that began and ended during the stretch went unseen")
	}
	if p.othersWrote(0) {
		t.Error("a write counted for the stretch before was counted again")
	}
	s.ExpectWrite()() // the reader's own write (a FETCH setting \Seen)
	if p.othersWrote(1) {
		t.Error("the reader gave way to its own write")
	}
	s.ExpectWrite()()
	s.ExpectWrite()()
	if !p.othersWrote(1) {
		t.Error("another's write beside the reader's own went unseen")
	}
	done := s.ExpectWrite()
	p.othersWrote(0)
	if !p.othersWrote(0) {
		t.Error("a write in flight since the stretch before went unseen")
	}
	done()
	if p.othersWrote(0) {
		t.Error("others wrote after the write in flight was done")
	}
}

// A paced read rests while a write is in flight, for a bounded time: it always goes on.
func TestReadPacerRestsBoundedWhileAWriteIsInFlight(t *testing.T) {
	s := newTestStore(t)
	p := s.PaceRead()
	done := s.ExpectWrite()
	defer done()
	if rested := p.GiveWay(waitBound, 0); rested < paceLimit {
		t.Errorf("rested %v with a write in flight throughout, not its bound %v", rested, paceLimit)
	}
}
