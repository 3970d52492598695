package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The outbound queue holds messages for other servers until each recipient is delivered or has failed for good.
// A queued message references its body like a mailbox entry does (one stored copy, counted), so a report sent to
// three wards and two ministries is stored once. The queue_due index orders messages by their next attempt, so the
// worker finds what is due with one cursor seek.
var (
	bucketQueue    = []byte("queue")     // queue id → queued message record
	bucketQueueDue = []byte("queue_due") // next attempt (ns, big-endian) + queue id → nothing
)

// ErrQueueNotFound: no queued message has that id.
var ErrQueueNotFound = errors.New("queued message not found")

// Outbound is the part of a delivery that leaves this server, written to the queue in the delivery's transaction.
type Outbound struct {
	ID         string   // the queue id (the delivery transaction's id, so logs and Received headers name it)
	From       string   // envelope sender; "" is the null sender (a bounce: never bounced itself)
	Recipients []string // remote addresses, each once
	Trace      []byte   // header lines prepended when sending (this server's Received line), CRLF-terminated
	Submitter  string   // the account that sent it, "" for reports this server wrote
}

// RecipientStatus is where one queued recipient stands.
type RecipientStatus uint8

const (
	RecipientPending   RecipientStatus = iota // not delivered yet; retried
	RecipientDelivered                        // the remote server took it
	RecipientFailed                           // failed for good; the sender was told (unless the sender is null)
)

func (s RecipientStatus) String() string {
	switch s {
	case RecipientPending:
		return "pending"
	case RecipientDelivered:
		return "delivered"
	case RecipientFailed:
		return "failed"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// QueueRecipient is one recipient of a queued message and what its last attempt gave.
type QueueRecipient struct {
	Address   string
	Status    RecipientStatus
	Code      string    // enhanced status code of the last reply or failure, e.g. "4.4.1", "5.1.1"
	Reply     string    // the last reply, as the remote server said it, or why no server answered
	RemoteMTA string    // the server that gave Reply, "" if none was reached
	Updated   time.Time // the last attempt for this recipient
}

// QueuedMessage is a message waiting in the outbound queue.
type QueuedMessage struct {
	ID         string
	From       string
	Submitter  string
	Recipients []QueueRecipient
	Trace      []byte
	Body       BodyID
	BodySize   int64
	Created    time.Time
	// NextAttempt is when the worker tries again; LastAttempt is zero before the first attempt.
	NextAttempt time.Time
	LastAttempt time.Time
	Attempts    int
	// DelayWarned: the sender was told the message is delayed (sent once).
	DelayWarned bool
	// BounceRequested: an administrator asked to give up on it; the worker fails every pending recipient and
	// tells the sender at its next run.
	BounceRequested bool
}

// Size is the size of the message as sent (trace lines and body).
func (m QueuedMessage) Size() int64 { return int64(len(m.Trace)) + m.BodySize }

// Pending lists the recipients still to be delivered.
func (m QueuedMessage) Pending() []QueueRecipient {
	var out []QueueRecipient
	for _, r := range m.Recipients {
		if r.Status == RecipientPending {
			out = append(out, r)
		}
	}
	return out
}

// putQueued writes a new queued message and its due-index key. The message's body must already carry the
// reference this entry holds.
func putQueued(tx *bolt.Tx, m *QueuedMessage) error {
	q := tx.Bucket(bucketQueue)
	if q.Get([]byte(m.ID)) != nil {
		return fmt.Errorf("queue %s: %w", m.ID, ErrExists)
	}
	if err := q.Put([]byte(m.ID), encodeQueued(m)); err != nil {
		return err
	}
	return tx.Bucket(bucketQueueDue).Put(dueKey(m.NextAttempt, m.ID), nil)
}

// enqueue adds out to the queue with its body already referenced by body.
func enqueue(tx *bolt.Tx, out *Outbound, body BodyID, bodySize int64, now time.Time) error {
	if out.ID == "" || len(out.Recipients) == 0 {
		return fmt.Errorf("queue: an outbound message needs an id and recipients")
	}
	m := &QueuedMessage{ID: out.ID, From: out.From, Submitter: out.Submitter, Trace: out.Trace, Body: body,
		BodySize: bodySize, Created: now, NextAttempt: now}
	for _, r := range out.Recipients {
		m.Recipients = append(m.Recipients, QueueRecipient{Address: r})
	}
	return putQueued(tx, m)
}

func dueKey(t time.Time, id string) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(max(t.UnixNano(), 0))), id...)
}

func getQueued(tx *bolt.Tx, id string) (*QueuedMessage, error) {
	v := tx.Bucket(bucketQueue).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("queue %s: %w", id, ErrQueueNotFound)
	}
	m, err := decodeQueued(id, v)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", id, err)
	}
	return m, nil
}

// QueuedMessages lists the whole queue, oldest first.
func (s *Store) QueuedMessages() ([]QueuedMessage, error) {
	var out []QueuedMessage
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketQueue).ForEach(func(k, v []byte) error {
			m, err := decodeQueued(string(k), v)
			if err != nil {
				return fmt.Errorf("queue %s: %w", k, err)
			}
			out = append(out, *m)
			return nil
		})
	})
	sortQueued(out)
	return out, err
}

// QueueSummary is what monitoring shows of the outbound queue.
type QueueSummary struct {
	Messages int       // queued messages
	Oldest   time.Time // when the oldest of them was queued; zero when the queue is empty
}

// QueueSummary counts the queued messages and finds when the oldest was queued, in one read that loads no body.
func (s *Store) QueueSummary() (QueueSummary, error) {
	var sum QueueSummary
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketQueue).ForEach(func(k, v []byte) error {
			m, err := decodeQueued(string(k), v)
			if err != nil {
				return fmt.Errorf("queue %s: %w", k, err)
			}
			sum.Messages++
			if sum.Oldest.IsZero() || m.Created.Before(sum.Oldest) {
				sum.Oldest = m.Created
			}
			return nil
		})
	})
	return sum, err
}

// QueuedMessage returns one queued message.
func (s *Store) QueuedMessage(id string) (QueuedMessage, error) {
	var m *QueuedMessage
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		m, err = getQueued(tx, id)
		return err
	})
	if err != nil {
		return QueuedMessage{}, err
	}
	return *m, nil
}

// DueMessages returns the ids of up to limit queued messages whose next attempt is at or before now, earliest
// first, and the time of the next attempt after them (zero when the queue has nothing else).
func (s *Store) DueMessages(now time.Time, limit int) (ids []string, next time.Time, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketQueueDue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			at := time.Unix(0, int64(binary.BigEndian.Uint64(k)))
			if at.After(now) || len(ids) == limit {
				next = at
				return nil
			}
			ids = append(ids, string(k[8:]))
		}
		return nil
	})
	return ids, next, err
}

// QueuedBody returns the bytes a queued message is sent as: its trace lines, then the body.
func (s *Store) QueuedBody(id string) ([]byte, error) {
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		m, err := getQueued(tx, id)
		if err != nil {
			return err
		}
		rec, err := bodyRecordOf(tx, m.Body, false)
		if err != nil {
			return fmt.Errorf("queue %s: %w", id, err)
		}
		if rec.size != m.BodySize {
			return fmt.Errorf("queue %s: records a body of %d bytes, but body %s has %d", id, m.BodySize, m.Body, rec.size)
		}
		out = make([]byte, 0, m.Size())
		out = append(out, m.Trace...)
		chunks := tx.Bucket(bucketChunks)
		for n := uint32(0); int64(len(out)) < m.Size(); n++ {
			c := chunks.Get(chunkKey(rec.seq, n))
			if c == nil {
				return fmt.Errorf("queue %s: body %s: chunk %d missing", id, m.Body, n)
			}
			out = append(out, c...)
		}
		return nil
	})
	return out, err
}

// UpdateQueued changes a queued message in one transaction: fn records an attempt's results (or an
// administrator's request) on m. A message with no pending recipient left after fn leaves the queue and releases
// its body; otherwise it is rescheduled at m.NextAttempt. fn may run more than once and must not have side
// effects outside m.
func (s *Store) UpdateQueued(id string, fn func(m *QueuedMessage) error) (QueuedMessage, error) {
	var result QueuedMessage
	err := s.updateQueue(func(tx *bolt.Tx) error {
		m, err := getQueued(tx, id)
		if err != nil {
			return err
		}
		oldDue := dueKey(m.NextAttempt, m.ID)
		if err := fn(m); err != nil {
			return err
		}
		m.ID = id
		result = *m
		if err := tx.Bucket(bucketQueueDue).Delete(oldDue); err != nil {
			return err
		}
		if len(m.Pending()) == 0 {
			return dropQueued(tx, m)
		}
		if err := tx.Bucket(bucketQueue).Put([]byte(id), encodeQueued(m)); err != nil {
			return err
		}
		return tx.Bucket(bucketQueueDue).Put(dueKey(m.NextAttempt, id), nil)
	})
	return result, err
}

// RemoveQueued deletes a queued message without telling anyone (queue remove).
func (s *Store) RemoveQueued(id string) error {
	return s.updateQueue(func(tx *bolt.Tx) error {
		m, err := getQueued(tx, id)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketQueueDue).Delete(dueKey(m.NextAttempt, m.ID)); err != nil {
			return err
		}
		return dropQueued(tx, m)
	})
}

func dropQueued(tx *bolt.Tx, m *QueuedMessage) error {
	if err := tx.Bucket(bucketQueue).Delete([]byte(m.ID)); err != nil {
		return err
	}
	return releaseBody(tx, m.Body)
}

// updateQueue is update for changes to the queue: it wakes the queue worker once the change has committed.
func (s *Store) updateQueue(fn func(tx *bolt.Tx) error) error {
	return s.update(func(tx *bolt.Tx, ch *changes) error {
		ch.queued = true
		return fn(tx)
	})
}

// QueueSignal receives a value after a commit that changed the queue (a new message, a retry asked for), so the
// worker need not poll. It has room for one value: several commits may wake the worker once.
func (s *Store) QueueSignal() <-chan struct{} { return s.queueSignal }

func (s *Store) signalQueue() {
	select {
	case s.queueSignal <- struct{}{}:
	default:
	}
}

func sortQueued(ms []QueuedMessage) {
	slices.SortStableFunc(ms, func(a, b QueuedMessage) int { return a.Created.Compare(b.Created) })
}

func encodeQueued(m *QueuedMessage) []byte {
	var e encoder
	e.b = append(e.b, 1)
	e.string(m.From)
	e.string(m.Submitter)
	e.bytes(m.Trace)
	e.b = append(e.b, m.Body[:]...)
	e.int(m.BodySize)
	e.int(m.Created.UnixNano())
	e.int(m.NextAttempt.UnixNano())
	e.int(timeOrZero(m.LastAttempt))
	e.uint(uint64(m.Attempts))
	e.bool(m.DelayWarned)
	e.bool(m.BounceRequested)
	e.uint(uint64(len(m.Recipients)))
	for _, r := range m.Recipients {
		e.string(r.Address)
		e.uint(uint64(r.Status))
		e.string(r.Code)
		e.string(r.Reply)
		e.string(r.RemoteMTA)
		e.int(timeOrZero(r.Updated))
	}
	return e.b
}

func decodeQueued(id string, v []byte) (*QueuedMessage, error) {
	d := decoder{b: v}
	d.version("queue", 1)
	m := &QueuedMessage{ID: id, From: d.string(), Submitter: d.string(), Trace: d.bytes()}
	if d.err == nil && len(d.b) >= len(m.Body) {
		copy(m.Body[:], d.b)
		d.b = d.b[len(m.Body):]
	} else {
		d.fail()
	}
	m.BodySize = d.int()
	m.Created = time.Unix(0, d.int())
	m.NextAttempt = time.Unix(0, d.int())
	m.LastAttempt = zeroOrTime(d.int())
	m.Attempts = int(d.uint())
	m.DelayWarned = d.bool()
	m.BounceRequested = d.bool()
	n := d.uint()
	if n > uint64(len(d.b)) { // each recipient takes at least a byte: a corrupt count must not allocate
		d.fail()
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		m.Recipients = append(m.Recipients, QueueRecipient{Address: d.string(), Status: RecipientStatus(d.uint()),
			Code: d.string(), Reply: d.string(), RemoteMTA: d.string(), Updated: zeroOrTime(d.int())})
	}
	return m, d.err
}

func timeOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func zeroOrTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// checkQueue counts the queue's body references and checks the due index both ways.
func checkQueue(tx *bolt.Tx, refs map[BodyID]uint64, report func(string, ...any)) {
	due := tx.Bucket(bucketQueueDue)
	wanted := map[string]bool{}
	_ = tx.Bucket(bucketQueue).ForEach(func(k, v []byte) error {
		m, err := decodeQueued(string(k), v)
		if err != nil {
			report("queue %s: %v", k, err)
			return nil
		}
		refs[m.Body]++
		key := dueKey(m.NextAttempt, m.ID)
		wanted[string(key)] = true
		if due.Get(key) == nil {
			report("queue %s: missing from the due index", m.ID)
		}
		if len(m.Pending()) == 0 {
			report("queue %s: no pending recipient but still queued", m.ID)
		}
		if v := tx.Bucket(bucketBodies).Get(m.Body[:]); v != nil {
			if rec, err := decodeBody(v); err == nil && rec.size != m.BodySize {
				report("queue %s: records a body of %d bytes, but body %s has %d", m.ID, m.BodySize, m.Body, rec.size)
			}
		}
		return nil
	})
	_ = due.ForEach(func(k, _ []byte) error {
		if !wanted[string(k)] {
			report("queue due index: stray key %x", bytes.Clone(k))
		}
		return nil
	})
}
