package store

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// NewMessage is a message about to be stored: the bytes and what internal/message computed from them once.
type NewMessage struct {
	Body         []byte    // exactly the bytes to serve back (after any per-copy Trace)
	Meta         []byte    // parse result (envelope, structure), opaque to the store
	Text         []byte    // folded search text, opaque to the store
	InternalDate time.Time // zero: now

	storedText []byte // Text as stored (encodeText), once prepared has computed it
	id         BodyID // the body's id, once prepared has computed it (hashed)
	hashed     bool
}

// prepared computes, outside the transaction, what storing the message needs and every writer queued in the
// commit loop would otherwise wait for: the stored form of the search text (compressed) and the body's id (a
// SHA-256 of the whole body).
func (m NewMessage) prepared() NewMessage {
	if m.storedText == nil && len(m.Text) > 0 {
		m.storedText = encodeText(m.Text)
	}
	if !m.hashed {
		m.id, m.hashed = BodyID(sha256.Sum256(m.Body)), true
	}
	return m
}

// touchBodyRecord reads the page where the record of body id is or would go, in a read transaction of its own.
// The delivery's transaction looks it up there; in a store larger than memory that lookup is a read from disk,
// which every writer queued behind the transaction would wait for. Read here first, in parallel with the other
// deliveries' preparation, the page is in memory when the transaction needs it.
func (s *Store) touchBodyRecord(id BodyID) {
	_ = s.db.View(func(tx *bolt.Tx) error {
		tx.Bucket(bucketBodies).Get(id[:])
		return nil
	})
}

// Copy is one recipient's copy of a delivered message.
type Copy struct {
	AccountID uint64
	Mailbox   string   // "" means INBOX; a missing mailbox falls back to INBOX
	Trace     []byte   // per-recipient header lines (Return-Path, Delivered-To, Received), CRLF-terminated
	Flags     []string // initial flags
}

// Placed tells where one copy went.
type Placed struct {
	AccountID   uint64
	MailboxID   uint64
	UIDValidity uint32
	UID         uint32
}

// Delivery is everything one accepted message becomes, committed together: the local copies, the queue entry for
// the remote recipients, and audit records (a send-as, say).
type Delivery struct {
	Message  NewMessage
	Copies   []Copy        // local recipients
	Outbound *Outbound     // remote recipients; nil if there are none
	Audit    []AuditRecord // written in the same transaction
	// Prepared, if the caller counted its preparation (PrepareWrite), is marked queued when the delivery queues for
	// its commit; the caller still calls its Done.
	Prepared *PreparedWrite
	// Filter, if set, decides where the copy of each recipient with an active filter script goes (Sieve). It runs
	// inside the delivery's transaction, on the script read there, so the decision and the copies it makes are
	// committed together; like the transaction's function it may run more than once, so it must not have effects
	// of its own.
	Filter func(acct Account, c Copy, script ActiveScript) FilterDecision
}

// FilterDecision is where a recipient's filter files its copy: once per Filing, none if the filter discarded it;
// and what else it sends, on the outbound queue in the delivery's transaction (the queue delivers local addresses
// itself): the message again (Forward, a redirect), and an automatic reply (Reply, a vacation) if one is due.
type FilterDecision struct {
	Filings []Filing
	Forward *Outbound
	Reply   *FilterReply
}

// FilterReply is an automatic reply a filter asks for. It is sent only if no reply to Sender under Handle went out
// within Period (vacationDue, recorded in the same transaction).
type FilterReply struct {
	Outbound Outbound   // its envelope: the null sender, Sender as the recipient
	Message  NewMessage // the reply
	Handle   string
	Sender   string
	Period   time.Duration
}

// Filing is one copy a filter files.
type Filing struct {
	Mailbox string   // "" is INBOX; a mailbox that does not exist (and is not to be created) is INBOX too
	Flags   []string // the copy's initial flags
	Create  bool     // create the mailbox if it does not exist (Sieve's fileinto :create, RFC 5490)
}

// Deliver stores one message for local recipients; see DeliverMessage.
func (s *Store) Deliver(msg NewMessage, copies []Copy) ([]Placed, error) {
	return s.DeliverMessage(Delivery{Message: msg, Copies: copies})
}

// DeliverMessage stores one message in one transaction: the body once, one entry per local copy, the quota
// counters, the queue entry for remote recipients and the audit records. It is all or nothing: if any copy cannot
// be stored (its account was removed since the recipient was accepted), nothing is stored and the error names that
// account; the SMTP layer then answers with a temporary failure, and the sending server's retry is refused for that
// recipient at RCPT time — so no recipient's copy is ever silently lost after a 250.
//
// Quota is not enforced here: the protocol layer refuses a recipient whose account is full when it is named (RCPT),
// and a copy accepted then is stored even if it takes the account a little over (a soft quota, as in most servers).
// Refusing it now could only fail the whole message for every recipient, again at every retry.
func (s *Store) DeliverMessage(d Delivery) ([]Placed, error) {
	msg := d.Message.prepared()
	s.touchBodyRecord(msg.id)
	if msg.InternalDate.IsZero() {
		msg.InternalDate = s.now()
	}
	if len(d.Copies) == 0 && d.Outbound == nil {
		return nil, fmt.Errorf("deliver: no recipients")
	}
	var placed []Placed
	st := s.WithAudit(d.Audit...)
	err := st.commit(&commitRequest{size: len(msg.Body), prepared: d.Prepared, fn: func(tx *bolt.Tx, ch *changes) error {
		placed = make([]Placed, len(d.Copies))
		var body bodyRef
		stored := false
		reference := func() error {
			var err error
			if !stored {
				if body, err = addBodyRef(tx, &msg); err != nil {
					return fmt.Errorf("store body: %w", err)
				}
				stored = true
				return nil
			}
			body, err = incBodyRef(tx, body.id)
			return err
		}
		for i, c := range d.Copies {
			a, err := getAccountByID(tx, c.AccountID)
			if err != nil {
				return err
			}
			decision, err := s.filterDecision(tx, d.Filter, a, c)
			if err != nil {
				return err
			}
			placed[i] = Placed{AccountID: a.ID} // no mailbox: its filter discarded the copy
			for n, f := range decision.Filings {
				mb, err := filingMailbox(tx, s, c.AccountID, f, ch)
				if err != nil {
					return err
				}
				if err := reference(); err != nil {
					return err
				}
				e := newEntry(body, parseFlags(f.Flags), msg.InternalDate, c.Trace)
				keywords := len(mb.Keywords)
				uid, err := addEntry(tx, &mb, e)
				if err != nil {
					return fmt.Errorf("deliver to %s: %w", a.Address, err)
				}
				a.Used += int64(len(c.Trace) + len(msg.Body))
				if err := putMailbox(tx, mb); err != nil {
					return err
				}
				if n == 0 {
					placed[i] = Placed{AccountID: a.ID, MailboxID: mb.ID, UIDValidity: mb.UIDValidity, UID: uid}
				}
				ch.add(Change{MailboxID: mb.ID, Appended: []uint32{uid}, Keywords: mb.newKeywords(keywords)})
			}
			if err := putAccount(tx, a); err != nil {
				return err
			}
			if decision.Forward != nil {
				if err := reference(); err != nil {
					return err
				}
				if err := enqueue(tx, decision.Forward, body.id, int64(len(msg.Body)), s.now()); err != nil {
					return fmt.Errorf("forward for %s: %w", a.Address, err)
				}
				ch.queued = true
			}
			if r := decision.Reply; r != nil {
				sent, err := s.queueReply(tx, a, r)
				if err != nil {
					return fmt.Errorf("automatic reply of %s: %w", a.Address, err)
				}
				ch.queued = ch.queued || sent
			}
		}
		if d.Outbound != nil {
			if err := reference(); err != nil {
				return err
			}
			if err := enqueue(tx, d.Outbound, body.id, int64(len(msg.Body)), s.now()); err != nil {
				return err
			}
			ch.queued = true
		}
		return nil
	}})
	if err != nil {
		return nil, err
	}
	return placed, nil
}

// filterDecision is what becomes of the copy c: what the recipient's filter decides, if it has an active script
// and the delivery a Filter, else c in its own mailbox with its own flags.
func (s *Store) filterDecision(tx *bolt.Tx, filter func(Account, Copy, ActiveScript) FilterDecision, a Account, c Copy) (FilterDecision, error) {
	own := FilterDecision{Filings: []Filing{{Mailbox: c.Mailbox, Flags: c.Flags}}}
	if filter == nil {
		return own, nil
	}
	script, err := activeSieveTx(tx, a.ID)
	if err != nil || script.Name == "" {
		return own, err
	}
	return filter(a, c, ActiveScript{Name: script.Name, Revision: script.Revision, Src: script.src}), nil
}

// queueReply queues r if a reply to its sender is due, and says whether it did.
func (s *Store) queueReply(tx *bolt.Tx, a Account, r *FilterReply) (bool, error) {
	due, err := vacationDue(tx, a.ID, r.Handle, r.Sender, s.now(), r.Period)
	if err != nil || !due {
		return false, err
	}
	msg := r.Message.prepared()
	ref, err := addBodyRef(tx, &msg)
	if err != nil {
		return false, err
	}
	return true, enqueue(tx, &r.Outbound, ref.id, int64(len(msg.Body)), s.now())
}

// filingMailbox is the mailbox a filing goes to, created first if the filter asked for it (and its name is one a
// user could create), INBOX if it does not exist.
func filingMailbox(tx *bolt.Tx, s *Store, accountID uint64, f Filing, ch *changes) (Mailbox, error) {
	c := Copy{AccountID: accountID, Mailbox: f.Mailbox}
	if !f.Create || f.Mailbox == "" {
		return deliveryMailbox(tx, c)
	}
	name, err := NormalizeMailboxName(f.Mailbox)
	if err != nil || checkNewMailboxName(name) != nil {
		return deliveryMailbox(tx, c)
	}
	if mb, err := getMailbox(tx, accountID, name); err == nil && !mb.NoSelect {
		return mb, nil
	}
	parents := missingParents(tx, accountID, name)
	if err := s.createParents(tx, accountID, name, false); err != nil {
		return Mailbox{}, err
	}
	mb, err := s.createMailboxTx(tx, accountID, name, "", true)
	if err != nil {
		return Mailbox{}, fmt.Errorf("create mailbox %q for a filter: %w", name, err)
	}
	ch.addCreated(accountID, append(parents, name)...)
	return mb, nil
}

func deliveryMailbox(tx *bolt.Tx, c Copy) (Mailbox, error) {
	name := "INBOX"
	if c.Mailbox != "" {
		if n, err := NormalizeMailboxName(c.Mailbox); err == nil {
			name = n
		}
	}
	mb, err := getMailbox(tx, c.AccountID, name)
	if (errors.Is(err, ErrMailboxNotFound) || err == nil && mb.NoSelect) && name != "INBOX" {
		mb, err = getMailbox(tx, c.AccountID, "INBOX")
	}
	return mb, err
}

// Append stores a message in one mailbox (IMAP APPEND). origin is passed through to the Change.
func (s *Store) Append(mailboxID uint64, msg NewMessage, flags []string, origin any) (Placed, error) {
	placed, err := s.AppendMany(mailboxID, []AppendMessage{{NewMessage: msg, Flags: flags}}, origin)
	if err != nil {
		return Placed{}, err
	}
	return placed[0], nil
}

// AppendMessage is one message of AppendMany with its initial flags.
type AppendMessage struct {
	NewMessage
	Flags []string
}

// AppendMany stores messages in one mailbox in one transaction (IMAP MULTIAPPEND, RFC 3502): all of them, in order,
// or none. The quota is checked for their total. origin is passed through to the Change.
func (s *Store) AppendMany(mailboxID uint64, msgs []AppendMessage, origin any) ([]Placed, error) {
	placed := make([]Placed, 0, len(msgs))
	var size int
	msgs = slices.Clone(msgs)
	for i := range msgs {
		size += len(msgs[i].Body)
		msgs[i].NewMessage = msgs[i].prepared()
	}
	err := s.updateSized(size, func(tx *bolt.Tx, ch *changes) error {
		placed = placed[:0] // the transaction may run again
		mb, err := getMailboxByID(tx, mailboxID)
		if err != nil {
			return err
		}
		if mb.NoSelect {
			return fmt.Errorf("append to %q: %w", mb.Name, ErrMailboxNotFound)
		}
		a, err := getAccountByID(tx, mb.AccountID)
		if err != nil {
			return err
		}
		var size int64
		for _, m := range msgs {
			size += int64(len(m.Body))
		}
		if a.Quota > 0 && a.Used+size > a.Quota {
			return fmt.Errorf("append to %q: %w", mb.Name, ErrOverQuota)
		}
		keywords := len(mb.Keywords)
		uids := make([]uint32, 0, len(msgs))
		for _, m := range msgs {
			uid, err := s.appendEntry(tx, &mb, m)
			if err != nil {
				return err
			}
			uids = append(uids, uid)
			placed = append(placed, Placed{AccountID: a.ID, MailboxID: mb.ID, UIDValidity: mb.UIDValidity, UID: uid})
		}
		a.Used += size
		if err := putMailbox(tx, mb); err != nil {
			return err
		}
		if err := putAccount(tx, a); err != nil {
			return err
		}
		ch.add(Change{MailboxID: mb.ID, Origin: origin, Appended: uids, Keywords: mb.newKeywords(keywords)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return placed, nil
}

// appendEntry stores one message of AppendMany in mb: its body, then its entry.
func (s *Store) appendEntry(tx *bolt.Tx, mb *Mailbox, m AppendMessage) (uint32, error) {
	if m.InternalDate.IsZero() {
		m.InternalDate = s.now()
	}
	body, err := addBodyRef(tx, &m.NewMessage)
	if err != nil {
		return 0, fmt.Errorf("store body: %w", err)
	}
	return addEntry(tx, mb, newEntry(body, parseFlags(m.Flags), m.InternalDate, nil))
}
