package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// The chunks of a released body are deleted by a background goroutine, never in the transaction of a delivery:
// a large EXPUNGE frees thousands of chunks, and whoever wrote next used to wait for all of them. The sweeper
// deletes them in transactions of their own (updateAlone), each bounded by sweepBatchBytes and sweepBatchChunks,
// so a delivery queued behind one waits for one small batch at most.
const (
	sweepBatchBytes  = 1 << 20
	sweepBatchChunks = 256
)

// errNothingToSweep rolls back a sweep transaction that found nothing to delete: no commit, no fsync.
var errNothingToSweep = errors.New("nothing to sweep")

// sweeper is the background goroutine's state.
type sweeper struct {
	wake chan struct{} // room for one: commits that freed bodies wake it once
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// startSweeper starts the background sweep, with a first round for what a crash or shutdown left.
func (s *Store) startSweeper() {
	s.sweeper = sweeper{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.wakeSweeper()
	go s.sweepLoop()
}

// stopSweeper stops the background sweep after the batch in progress, if any.
func (s *Store) stopSweeper() {
	s.sweeper.once.Do(func() { close(s.sweeper.stop) })
	<-s.sweeper.done
}

// wakeSweeper tells the sweeper that a commit left released bodies.
func (s *Store) wakeSweeper() {
	select {
	case s.sweeper.wake <- struct{}{}:
	default:
	}
}

func (s *Store) sweepLoop() {
	defer close(s.sweeper.done)
	for {
		select {
		case <-s.sweeper.stop:
			return
		case <-s.sweeper.wake:
		}
		if err := s.sweepUntil(s.sweeper.stop); err != nil && !errors.Is(err, ErrClosed) {
			slog.Error("store: deleting the chunks of released bodies", "err", err)
		}
	}
}

// sweepUntil deletes the chunks of every released body no reader has pinned, batch after batch, until none is
// left or stop is closed.
func (s *Store) sweepUntil(stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		if ok, err := s.hasSweepable(); err != nil || !ok {
			return err
		}
		more, err := s.sweepBatch()
		if err != nil || !more {
			return err
		}
	}
}

// hasSweepable reports whether a released body no reader has pinned waits for the sweep, in a read transaction:
// a sweeper woken for nothing takes no place in the commit queue.
func (s *Store) hasSweepable() (bool, error) {
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		s.pinMu.Lock()
		defer s.pinMu.Unlock()
		c := tx.Bucket(bucketFreed).Cursor()
		for k, v := c.First(); k != nil && !found; k, v = c.Next() {
			f, err := decodeFreed(v)
			found = err == nil && s.pins[f.id] == 0
		}
		return nil
	})
	return found, err
}

// hasFreedBodies reports whether released bodies wait for the sweep.
func hasFreedBodies(tx *bolt.Tx) bool {
	k, _ := tx.Bucket(bucketFreed).Cursor().First()
	return k != nil
}

// sweepBatch deletes the chunks of released bodies up to the batch bounds, in a transaction of its own, and
// reports whether unpinned ones remain. A body larger than a batch loses its last chunks first, its freed record
// shrinking with them, so that what is left always reads as a whole (Check counts it).
//
// Releasing a body (deleting its record) and deleting its chunks are separate commits, and PinBodies registers a
// pin before it checks that the record still exists: so a reader either sees the body gone, or its pin is seen
// here and the chunks stay.
func (s *Store) sweepBatch() (more bool, err error) {
	err = s.updateAlone(func(tx *bolt.Tx, _ *changes) error {
		victims, left := s.sweepVictims(tx)
		more = left
		if len(victims) == 0 {
			return errNothingToSweep
		}
		for _, v := range victims {
			if err := v.delete(tx); err != nil {
				return fmt.Errorf("freed body %d: %w", v.seq, err)
			}
		}
		return nil
	})
	if errors.Is(err, errNothingToSweep) {
		return false, nil
	}
	return more, err
}

// sweepVictim is the part of one released body a sweep batch deletes: its chunks from keep on.
type sweepVictim struct {
	seq   uint64
	freed freedBody
	keep  uint32 // chunks kept for a later batch; 0: the whole body goes, with its freed record
}

// sweepVictims picks what one batch deletes, and reports whether unpinned bodies remain for the next.
func (s *Store) sweepVictims(tx *bolt.Tx) (victims []sweepVictim, more bool) {
	bytesLeft, chunksLeft := int64(sweepBatchBytes), uint32(sweepBatchChunks)
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	c := tx.Bucket(bucketFreed).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		f, err := decodeFreed(v)
		if err != nil {
			slog.Error("store: unreadable freed body record; check the store", "key", fmt.Sprintf("%x", k), "err", err)
			continue
		}
		if s.pins[f.id] > 0 {
			continue
		}
		if bytesLeft <= 0 || chunksLeft == 0 {
			return victims, true
		}
		n := chunkCount(f.size)
		keep := n - min(n, chunksLeft, uint32(max(bytesLeft/ChunkSize, 1)))
		victims = append(victims, sweepVictim{seq: binary.BigEndian.Uint64(k), freed: f, keep: keep})
		bytesLeft -= f.size - int64(keep)*ChunkSize
		chunksLeft -= n - keep
	}
	return victims, false
}

// delete removes the victim's chunks above keep, and its freed record with the last of them.
func (v sweepVictim) delete(tx *bolt.Tx) error {
	chunks := tx.Bucket(bucketChunks)
	for n := chunkCount(v.freed.size); n > v.keep; n-- {
		if err := chunks.Delete(chunkKey(v.seq, n-1)); err != nil {
			return err
		}
	}
	freed := tx.Bucket(bucketFreed)
	if v.keep == 0 {
		return freed.Delete(u64key(v.seq))
	}
	rest := v.freed
	rest.size = int64(v.keep) * ChunkSize
	return freed.Put(u64key(v.seq), encodeFreed(rest))
}
