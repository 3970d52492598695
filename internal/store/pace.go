package store

import "time"

// A bulk read (a FETCH of a whole mailbox) on a server whose cores are busy takes the CPU a stream of deliveries
// needs. Waiting only while a write is in flight at its batch boundaries misses the deliveries' own gaps (the
// client's next command, the reply), in which the read ran at full speed and slowed each delivery about as much
// as before: a FETCH 1:* loop took 40-60% off a stream of deliveries to the mailbox it read. A paced read instead
// works in a duty cycle while the writes of others keep coming: after each stretch of reading it rests paceRest
// times as long as the stretch took. Resting only as long (half the CPU) still took about 40% off the deliveries
// on two busy cores; resting eight times as long took from +2% to -26% off (mailbench imap, 1,000 deliveries at
// one connection, 10,000 messages), sixteen times from +25% to -6%. A paced read is thus slowed up to seventeen
// times while deliveries stream in without a pause of streamGap, as they do on a saturated server; at a province's
// usual rate the gaps between deliveries end most rests early.
const (
	// paceRest is how many times as long as a stretch of reading the read rests after it while writes stream in.
	paceRest = 16
	// paceLimit bounds one rest, so a bulk read always goes on under a constant stream of writes: it is slowed,
	// never stalled.
	paceLimit = 50 * time.Millisecond
	// streamGap is how long no write may be in flight or done before a resting read takes the stream for over:
	// the gap between one delivery's reply and the next one's parse on a busy machine is well below it.
	streamGap = 5 * time.Millisecond
	// pacePoll is how often a resting read looks whether the writes have gone quiet.
	pacePoll = 500 * time.Microsecond
)

// ReadPacer paces one bulk read against the writes of others (ExpectWrite). It is not safe for concurrent use.
type ReadPacer struct {
	s     *Store
	begun uint64 // the store's count of writes begun when the last stretch of reading started
}

// PaceRead starts pacing a bulk read; its first stretch starts now.
func (s *Store) PaceRead() ReadPacer {
	return ReadPacer{s: s, begun: s.queue.begun.Load()}
}

// GiveWay ends a stretch of reading that took spent and in which the reader itself made own writes (a FETCH
// setting \Seen). When another write was in flight or began during the stretch, it rests paceRest times as long
// as the stretch took, at most paceLimit, or until the writes have been quiet for streamGap, whichever comes
// first; otherwise it returns at once. It says how long it rested; the next stretch starts when it returns.
func (p *ReadPacer) GiveWay(spent time.Duration, own int) time.Duration {
	if !p.othersWrote(own) {
		return 0
	}
	rest := min(paceRest*spent, paceLimit)
	start := time.Now()
	for {
		rested := time.Since(start)
		if rested >= rest || p.s.writesQuietFor() >= streamGap {
			p.begun = p.s.queue.begun.Load() // writes begun while it rested had the CPU they needed
			return rested
		}
		time.Sleep(min(pacePoll, rest-rested))
	}
}

// othersWrote reports whether a write of someone else's is in flight or began since the stretch started, given
// that the reader made own writes itself meanwhile, and starts the next stretch's count.
func (p *ReadPacer) othersWrote(own int) bool {
	q := &p.s.queue
	begun := q.begun.Load()
	othersBegan := begun-p.begun > uint64(own)
	p.begun = begun
	return othersBegan || q.writers.Load() > 0
}
