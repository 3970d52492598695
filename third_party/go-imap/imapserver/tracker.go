package imapserver

import (
	"fmt"
	"sync"

	"github.com/emersion/go-imap/v2"
)

// MailboxTracker tracks the state of a mailbox.
//
// A mailbox can have multiple sessions listening for updates. Each session has
// its own view of the mailbox, because IMAP clients asynchronously receive
// mailbox updates.
type MailboxTracker struct {
	mutex       sync.Mutex
	numMessages uint32
	sessions    map[*SessionTracker]struct{}
}

// NewMailboxTracker creates a new mailbox tracker.
func NewMailboxTracker(numMessages uint32) *MailboxTracker {
	return &MailboxTracker{
		numMessages: numMessages,
		sessions:    make(map[*SessionTracker]struct{}),
	}
}

// NewSession creates a new session tracker for the mailbox.
//
// The caller must call SessionTracker.Close once they are done with the
// session.
func (t *MailboxTracker) NewSession() *SessionTracker {
	st := &SessionTracker{mailbox: t}
	t.mutex.Lock()
	t.sessions[st] = struct{}{}
	t.mutex.Unlock()
	return st
}

func (t *MailboxTracker) queueUpdate(update *trackerUpdate, source *SessionTracker) {
	t.mutex.Lock()
	defer t.mutex.Unlock()

	if update.expunge != 0 && update.expunge > t.numMessages {
		panic(fmt.Errorf("imapserver: expunge sequence number (%v) out of range (%v messages in mailbox)", update.expunge, t.numMessages))
	}
	if update.numMessages != 0 && update.numMessages < t.numMessages {
		panic(fmt.Errorf("imapserver: cannot decrease mailbox number of messages from %v to %v", t.numMessages, update.numMessages))
	}

	for st := range t.sessions {
		if source != nil && st == source {
			continue
		}
		st.queueUpdate(update)
	}

	switch {
	case update.expunge != 0:
		t.numMessages--
	case update.numMessages != 0:
		t.numMessages = update.numMessages
	}
}

// QueueExpunge queues a new EXPUNGE update.
func (t *MailboxTracker) QueueExpunge(seqNum uint32) {
	if seqNum == 0 {
		panic("imapserver: invalid expunge message sequence number")
	}
	t.queueUpdate(&trackerUpdate{expunge: seqNum}, nil)
}

// QueueExpungeUID queues a new EXPUNGE update for the message with the given
// UID, which a client that enabled QRESYNC gets as VANISHED.
func (t *MailboxTracker) QueueExpungeUID(seqNum uint32, uid imap.UID) {
	if seqNum == 0 {
		panic("imapserver: invalid expunge message sequence number")
	}
	t.queueUpdate(&trackerUpdate{expunge: seqNum, expungeUID: uid}, nil)
}

// QueueNumMessages queues a new EXISTS update.
func (t *MailboxTracker) QueueNumMessages(n uint32) {
	// TODO: merge consecutive NumMessages updates
	t.queueUpdate(&trackerUpdate{numMessages: n}, nil)
}

// QueueMailboxFlags queues a new FLAGS update.
func (t *MailboxTracker) QueueMailboxFlags(flags []imap.Flag) {
	if flags == nil {
		flags = []imap.Flag{}
	}
	t.queueUpdate(&trackerUpdate{mailboxFlags: flags}, nil)
}

// QueueMessageFlags queues a new FETCH FLAGS update.
//
// If source is not nil, the update won't be dispatched to it.
func (t *MailboxTracker) QueueMessageFlags(seqNum uint32, uid imap.UID, flags []imap.Flag, source *SessionTracker) {
	t.queueUpdate(&trackerUpdate{fetch: &trackerUpdateFetch{
		seqNum: seqNum,
		uid:    uid,
		flags:  flags,
	}}, source)
}

// QueueMessageFlagsModSeq is QueueMessageFlags with the message's new
// mod-sequence, which a client that enabled CONDSTORE gets as MODSEQ.
func (t *MailboxTracker) QueueMessageFlagsModSeq(seqNum uint32, uid imap.UID, flags []imap.Flag, modSeq uint64, source *SessionTracker) {
	t.queueUpdate(&trackerUpdate{fetch: &trackerUpdateFetch{
		seqNum: seqNum,
		uid:    uid,
		flags:  flags,
		modSeq: modSeq,
	}}, source)
}

// MessageFlags is one message's new flags, for QueueMessagesFlags.
type MessageFlags struct {
	SeqNum uint32
	UID    imap.UID
	Flags  []imap.Flag
	ModSeq uint64 // 0 if not known
}

// QueueMessagesFlags queues the FETCH FLAGS updates of n messages, as n calls
// of QueueMessageFlagsModSeq would, for every session but source, taking the
// lock once: a STORE over a whole mailbox changes every message. message
// returns the i-th update, false to leave it out; it runs under the tracker's
// lock, once for all sessions, and not at all when none but source listens.
func (t *MailboxTracker) QueueMessagesFlags(n int, message func(i int) (MessageFlags, bool), source *SessionTracker) {
	t.mutex.Lock()
	defer t.mutex.Unlock()

	var fetches []trackerUpdateFetch
	for st := range t.sessions {
		if source != nil && st == source {
			continue
		}
		if fetches == nil {
			fetches = make([]trackerUpdateFetch, 0, n)
			for i := 0; i < n; i++ {
				if m, ok := message(i); ok {
					fetches = append(fetches, trackerUpdateFetch{seqNum: m.SeqNum, uid: m.UID, flags: m.Flags, modSeq: m.ModSeq})
				}
			}
		}
		st.queueFetches(fetches)
	}
}

type trackerUpdate struct {
	expunge      uint32
	expungeUID   imap.UID // 0 if not known
	numMessages  uint32
	mailboxFlags []imap.Flag
	fetch        *trackerUpdateFetch
	write        func(w *UpdateWriter) error
}

type trackerUpdateFetch struct {
	seqNum uint32
	uid    imap.UID
	flags  []imap.Flag
	modSeq uint64 // 0 if not known
}

// SessionTracker tracks the state of a mailbox for an IMAP client.
type SessionTracker struct {
	mailbox *MailboxTracker

	mutex   sync.Mutex
	queue   []trackerUpdate
	updates chan<- struct{}
	// flagsFilter, if set, passes the flags of each queued FLAGS update
	// before Poll writes them (see SetMailboxFlagsFilter)
	flagsFilter func([]imap.Flag) []imap.Flag
	// sent is the newest mod-sequence of each message the session wrote
	// itself while updates were queued (see SentModSeq)
	sent map[imap.UID]uint64
}

// SentModSeq records that the session wrote the client a FETCH response with
// the state of the message with the given UID as of modSeq (read from the
// backend after the updates queued so far). A flag update queued before with
// an older mod-sequence is then dropped by Poll instead of taking the client
// back in time. With nothing queued there is nothing to record: whatever is
// queued later is as new or newer.
func (t *SessionTracker) SentModSeq(uid imap.UID, modSeq uint64) {
	t.mutex.Lock()
	defer t.mutex.Unlock()
	if len(t.queue) == 0 || modSeq <= t.sent[uid] {
		return
	}
	if t.sent == nil {
		t.sent = make(map[imap.UID]uint64)
	}
	t.sent[uid] = modSeq
}

// dropStaleLocked removes from updates the flag updates older than what the
// session wrote itself, and forgets what it wrote once the queue is empty.
func (t *SessionTracker) dropStaleLocked(updates []trackerUpdate) []trackerUpdate {
	if t.sent != nil {
		fresh := make([]trackerUpdate, 0, len(updates))
		for _, update := range updates {
			if f := update.fetch; f != nil && f.modSeq != 0 && f.modSeq <= t.sent[f.uid] {
				continue
			}
			fresh = append(fresh, update)
		}
		updates = fresh
	}
	if len(t.queue) == 0 {
		t.sent = nil
	}
	return updates
}

// SetMailboxFlagsFilter makes Poll pass the flags of each queued FLAGS update
// through filter before writing them, on the goroutine that polls. A session
// that wrote a FLAGS response of its own since the update was queued (a
// keyword its STORE just used) adds those flags back: a client drops the
// keywords a FLAGS response leaves out (RFC 9051 section 7.3.5). Set it before
// the session is polled.
func (t *SessionTracker) SetMailboxFlagsFilter(filter func([]imap.Flag) []imap.Flag) {
	t.flagsFilter = filter
}

// Close unregisters the session.
func (t *SessionTracker) Close() {
	t.mailbox.mutex.Lock()
	delete(t.mailbox.sessions, t)
	t.mailbox.mutex.Unlock()
	t.mailbox = nil
}

func (t *SessionTracker) queueUpdate(update *trackerUpdate) {
	t.mutex.Lock()
	t.queue = append(t.queue, *update)
	updates := t.updates
	t.mutex.Unlock()
	notifyUpdates(updates)
}

// queueFetches queues a FETCH update for each of fetches, which the sessions
// share and nothing changes.
func (t *SessionTracker) queueFetches(fetches []trackerUpdateFetch) {
	if len(fetches) == 0 {
		return
	}
	t.mutex.Lock()
	for i := range fetches {
		t.queue = append(t.queue, trackerUpdate{fetch: &fetches[i]})
	}
	updates := t.updates
	t.mutex.Unlock()
	notifyUpdates(updates)
}

// notifyUpdates tells SessionTracker.Idle, if it runs, that updates are queued.
func notifyUpdates(updates chan<- struct{}) {
	if updates != nil {
		select {
		case updates <- struct{}{}:
			// we notified SessionTracker.Idle about the update
		default:
			// skip the update
		}
	}
}

// QueueWrite queues a response of the backend's own for this session only,
// such as an ESEARCH REMOVEFROM, so that it is written in order with the
// mailbox updates queued before and after it: before an EXPUNGE queued later,
// a sequence number it names is still the client's.
func (t *SessionTracker) QueueWrite(write func(w *UpdateWriter) error) {
	t.queueUpdate(&trackerUpdate{write: write})
}

// Poll dequeues pending mailbox updates for this session.
func (t *SessionTracker) Poll(w *UpdateWriter, allowExpunge bool) error {
	var updates []trackerUpdate
	t.mutex.Lock()
	if allowExpunge {
		updates = t.queue
		t.queue = nil
	} else {
		stopIndex := -1
		for i, update := range t.queue {
			if update.expunge != 0 {
				stopIndex = i
				break
			}
			updates = append(updates, update)
		}
		if stopIndex >= 0 {
			t.queue = t.queue[stopIndex:]
		} else {
			t.queue = nil
		}
	}
	updates = t.dropStaleLocked(updates)
	t.mutex.Unlock()

	for i := 0; i < len(updates); i++ {
		update := updates[i]
		var err error
		switch {
		case update.expunge != 0:
			if n := w.vanishedRun(updates[i:]); n > 1 {
				// Consecutive expunges go out as one VANISHED (RFC 7162
				// section 3.2.10), not one line per message.
				err = w.writeVanished(updates[i : i+n])
				i += n - 1
			} else {
				err = w.writeExpungeUID(update.expunge, update.expungeUID)
			}
		case update.numMessages != 0:
			err = w.WriteNumMessages(update.numMessages)
		case update.mailboxFlags != nil:
			flags := update.mailboxFlags
			if t.flagsFilter != nil {
				flags = t.flagsFilter(flags)
			}
			err = w.WriteMailboxFlags(flags)
		case update.fetch != nil:
			// A run of FETCH updates (another session's STORE over a
			// whole mailbox) goes out in buffer-sized writes: only the
			// last of the run flushes.
			more := i+1 < len(updates) && updates[i+1].fetch != nil
			f := update.fetch
			err = w.writeMessageFlagsModSeq(f.seqNum, f.uid, f.flags, f.modSeq, more)
		case update.write != nil:
			err = update.write(w)
		default:
			panic(fmt.Errorf("imapserver: unknown tracker update %#v", update))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Idle continuously writes mailbox updates.
//
// When the stop channel is closed, it returns.
//
// Idle cannot be invoked concurrently from two separate goroutines.
func (t *SessionTracker) Idle(w *UpdateWriter, stop <-chan struct{}) error {
	updates := make(chan struct{}, 64)
	t.mutex.Lock()
	ok := t.updates == nil
	if ok {
		t.updates = updates
	}
	t.mutex.Unlock()
	if !ok {
		return fmt.Errorf("imapserver: only a single SessionTracker.Idle call is allowed at a time")
	}

	defer func() {
		t.mutex.Lock()
		t.updates = nil
		t.mutex.Unlock()
	}()

	for {
		select {
		case <-updates:
			if err := t.Poll(w, true); err != nil {
				return err
			}
		case <-stop:
			return nil
		}
	}
}

// DecodeSeqNum converts a message sequence number from the client view to the
// server view.
//
// Zero is returned if the message doesn't exist from the server point-of-view.
func (t *SessionTracker) DecodeSeqNum(seqNum uint32) uint32 {
	if seqNum == 0 {
		return 0
	}

	t.mutex.Lock()
	defer t.mutex.Unlock()

	for _, update := range t.queue {
		if update.expunge == 0 {
			continue
		}
		if seqNum == update.expunge {
			return 0
		} else if seqNum > update.expunge {
			seqNum--
		}
	}

	if seqNum > t.mailbox.numMessages {
		return 0
	}

	return seqNum
}

// EncodeSeqNum converts a message sequence number from the server view to the
// client view.
//
// Zero is returned if the message doesn't exist from the client point-of-view.
func (t *SessionTracker) EncodeSeqNum(seqNum uint32) uint32 {
	if seqNum == 0 {
		return 0
	}

	t.mutex.Lock()
	defer t.mutex.Unlock()

	if seqNum > t.mailbox.numMessages {
		return 0
	}

	for i := len(t.queue) - 1; i >= 0; i-- {
		update := t.queue[i]
		// TODO: this doesn't handle increments > 1
		if update.numMessages != 0 && seqNum == update.numMessages {
			return 0
		}
		if update.expunge != 0 && seqNum >= update.expunge {
			seqNum++
		}
	}
	return seqNum
}
