package admin

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"mailserver/internal/store"
)

// maxQueueID bounds a queue id typed by an administrator; the server's own are 12 characters.
const maxQueueID = 64

// QueueEntry is a message in the outbound queue as the administration layer shows it.
type QueueEntry struct {
	ID              string    `json:"id"`
	From            string    `json:"from"`                // "" is the null sender: the message is a report
	Submitter       string    `json:"submitter,omitempty"` // the account that sent it; "" for this server's reports
	Created         time.Time `json:"created"`
	NextAttempt     time.Time `json:"next_attempt"`
	LastAttempt     time.Time `json:"last_attempt,omitzero"` // zero before the first attempt
	Attempts        int       `json:"attempts"`
	Size            int64     `json:"size"` // bytes, as sent
	DelayWarned     bool      `json:"delay_warned,omitempty"`
	BounceRequested bool      `json:"bounce_requested,omitempty"`
	// InProgress: the running server is attempting it now; removing or bouncing it cannot stop that attempt.
	InProgress bool             `json:"in_progress,omitempty"`
	Recipients []QueueRecipient `json:"recipients"`
}

// QueueRecipient is one recipient of a queued message and what its last attempt gave.
type QueueRecipient struct {
	Address   string    `json:"address"`
	Status    string    `json:"status"`               // pending, delivered or failed
	Code      string    `json:"code,omitempty"`       // enhanced status code, e.g. "4.4.1"
	Reply     string    `json:"reply,omitempty"`      // the remote server's last reply, or why none answered
	RemoteMTA string    `json:"remote_mta,omitempty"` // the server that gave Reply
	Updated   time.Time `json:"updated,omitzero"`     // the last attempt for this recipient
}

// Pending lists the recipients still to be delivered.
func (e QueueEntry) Pending() []QueueRecipient {
	var out []QueueRecipient
	for _, r := range e.Recipients {
		if r.Status == store.RecipientPending.String() {
			out = append(out, r)
		}
	}
	return out
}

func (s *Service) queueEntry(m store.QueuedMessage) QueueEntry {
	e := QueueEntry{ID: m.ID, InProgress: s.inProgress != nil && s.inProgress(m.ID), From: m.From, Submitter: m.Submitter, Created: m.Created, NextAttempt: m.NextAttempt,
		LastAttempt: m.LastAttempt, Attempts: m.Attempts, Size: m.Size(), DelayWarned: m.DelayWarned,
		BounceRequested: m.BounceRequested, Recipients: make([]QueueRecipient, len(m.Recipients))}
	for i, r := range m.Recipients {
		e.Recipients[i] = QueueRecipient{Address: r.Address, Status: r.Status.String(), Code: r.Code, Reply: r.Reply,
			RemoteMTA: r.RemoteMTA, Updated: r.Updated}
	}
	return e
}

// ListQueue lists the outbound queue, oldest first.
func (s *Service) ListQueue() ([]QueueEntry, error) {
	ms, err := s.st.QueuedMessages()
	if err != nil {
		return nil, err
	}
	out := make([]QueueEntry, len(ms))
	for i, m := range ms {
		out[i] = s.queueEntry(m)
	}
	return out, nil
}

// ShowQueue returns one queued message.
func (s *Service) ShowQueue(id string) (QueueEntry, error) {
	m, err := s.queued(id)
	if err != nil {
		return QueueEntry{}, err
	}
	return s.queueEntry(m), nil
}

// RetryQueue makes a queued message due now, so that a running server tries it at once instead of waiting for
// its next scheduled attempt; id "" retries every queued message. It returns how many it retried.
func (s *Service) RetryQueue(id string) (int, error) {
	if id != "" {
		m, err := s.queued(id)
		if err != nil {
			return 0, err
		}
		if err := s.retry(m); err != nil {
			return 0, err
		}
		return 1, nil
	}
	ms, err := s.st.QueuedMessages()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		err := s.retry(m)
		switch {
		case errors.Is(err, ErrNotFound):
			continue // delivered or removed since the listing: nothing left to retry
		case err != nil:
			return n, fmt.Errorf("retried %d of %d queued messages: %w", n, len(ms), err)
		}
		n++
	}
	return n, nil
}

// retry makes m due now.
func (s *Service) retry(m store.QueuedMessage) error {
	now := time.Now()
	_, err := s.audited("queue.retry", m.ID, queueDetail(m)).UpdateQueued(m.ID, func(q *store.QueuedMessage) error {
		q.NextAttempt = now
		return nil
	})
	return queueErr(m.ID, err)
}

// RemoveQueue deletes a queued message: its pending recipients never get it and its sender is not told.
func (s *Service) RemoveQueue(id string) error {
	m, err := s.queued(id)
	if err != nil {
		return err
	}
	return queueErr(m.ID, s.audited("queue.remove", m.ID, queueDetail(m)).RemoveQueued(m.ID))
}

// BounceQueue gives up on a queued message: the queue worker fails its pending recipients and sends the sender a
// report. It does so at once on a running server, and at its next start otherwise. A report itself (null sender)
// has nobody to be bounced to, so it is refused: removing it is the same.
func (s *Service) BounceQueue(id string) error {
	m, err := s.queued(id)
	if err != nil {
		return err
	}
	if m.From == "" {
		return failf(ErrInvalid, "queued message %s is itself a delivery report (its sender is <>), so nobody can be told: remove it with 'mailserver queue remove %s'",
			m.ID, m.ID)
	}
	now := time.Now()
	_, err = s.audited("queue.bounce", m.ID, queueDetail(m)).UpdateQueued(m.ID, func(q *store.QueuedMessage) error {
		q.BounceRequested, q.NextAttempt = true, now
		return nil
	})
	return queueErr(m.ID, err)
}

// queued returns the queued message id names, checking the id first.
func (s *Service) queued(id string) (store.QueuedMessage, error) {
	id, err := cleanQueueID(id)
	if err != nil {
		return store.QueuedMessage{}, err
	}
	m, err := s.st.QueuedMessage(id)
	return m, queueErr(id, err)
}

// cleanQueueID returns id trimmed, or an ErrInvalid error. Ids are printed in tables and logs, so they are
// printable ASCII without spaces.
func cleanQueueID(id string) (string, error) {
	id = strings.TrimSpace(id)
	switch {
	case id == "":
		return "", failf(ErrInvalid, "queue id must not be empty: see 'mailserver queue list'")
	case len(id) > maxQueueID:
		return "", failf(ErrInvalid, "invalid queue id: longer than %d characters (see 'mailserver queue list')", maxQueueID)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return "", failf(ErrInvalid, "invalid queue id %q: see 'mailserver queue list'", id)
		}
	}
	return id, nil
}

// queueErr turns the store's "no such queued message" into an administrator's message; other errors pass
// unchanged.
func queueErr(id string, err error) error {
	if errors.Is(err, store.ErrQueueNotFound) {
		return failf(ErrNotFound, "queued message %s does not exist: see 'mailserver queue list'", id)
	}
	return err
}

// queueDetail describes a queued message for the audit trail, where its id alone would mean nothing once it has
// left the queue.
func queueDetail(m store.QueuedMessage) string {
	from := m.From
	if from == "" {
		from = "<>"
	}
	var to []string
	for _, r := range m.Pending() {
		to = append(to, r.Address)
	}
	return fmt.Sprintf("from %s to %s, %s, %d attempt(s)", from, shortList(to), FormatSize(m.Size()), m.Attempts)
}
