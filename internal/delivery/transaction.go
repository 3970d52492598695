package delivery

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"mailserver/internal/address"
	"mailserver/internal/message"
	"mailserver/internal/store"
)

// Transaction is one message on its way in: envelope, recipients, then Commit or Abort. It is not safe for
// concurrent use; the protocol session that owns it serialises calls.
type Transaction struct {
	d     *Deliverer   // immutable
	env   Envelope     // immutable
	id    string       // immutable: names the transaction in logs and Received headers
	log   *slog.Logger // immutable: the session's log with the message ID
	rcpts []recipient
	// remote lists the accepted recipients in other domains, each once, for the outbound queue.
	remote []string
	done   bool // committed or aborted
	// authResults is the Authentication-Results field of inbound checks, stored with every local copy;
	// quarantine sends the local copies to Junk (SetVerdict).
	authResults []byte
	quarantine  bool
	// trustsEnvelopeSender: a group admitted the message on its MAIL FROM alone (TrustsEnvelopeSender).
	trustsEnvelopeSender bool
	// sendable caches what the authenticated account may send as when the envelope did not bring it (SendAs).
	sendable []string
}

// recipient is one accepted RCPT: the address as the client gave it and the accounts it resolved to.
type recipient struct {
	addr     string
	accounts []store.Account
}

// Begin starts a transaction. It never fails: the envelope sender was checked by the caller (AuthorizeSender for
// submissions, which also fills env.SendAs), and recipients are checked one by one.
func (d *Deliverer) Begin(_ context.Context, env Envelope) *Transaction {
	id := strings.ToUpper(rand.Text()[:12])
	log := env.Logger
	if log == nil {
		log = d.log
	}
	return &Transaction{d: d, env: env, id: id, log: log.With(idAttr(env), id)}
}

// The log attribute of a transaction's ID: one name from SMTP accept through every queue attempt to the delivery
// report, so that grepping it tells the message's whole story ("msg" is slog's key for the line's text). A
// report's own ID is "report": its lines belong to the story of the message it reports on, whose ID its log
// already carries (Report).
const (
	MessageAttr = "msgid"
	ReportAttr  = "report"
)

func idAttr(env Envelope) string {
	if env.Internal {
		return ReportAttr
	}
	return MessageAttr
}

// ID names the transaction in logs and in the Received headers of its copies; it is the queue ID of its remote
// recipients.
func (t *Transaction) ID() string { return t.id }

// Log is the log for the transaction's lines: the session's, with the transaction's ID.
func (t *Transaction) Log() *slog.Logger { return t.log }

// AddRecipient resolves rcpt now (see resolve), so that the client learns at once whether it will be delivered.
// A recipient in another domain is accepted for the outbound queue on a submission or a report this server writes
// (Envelope.Internal), and refused with ErrRelayDenied on MX: this server never relays.
// Errors: ErrBadAddress, ErrRelayDenied, ErrUnknownRecipient, ErrMailboxDisabled, ErrOverQuota (the account is already full, or would be by the size
// declared in the envelope; for a group: every member who could receive it is), a posting policy refusal
// (matching ErrPostingDenied), ErrNoMembers; anything else is an internal failure. A disabled account still
// receives mail unless it refuses it (RejectMail).
func (t *Transaction) AddRecipient(ctx context.Context, rcpt string) error {
	if t.done {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	addr, err := address.ParseUnquoted(rcpt) // go-smtp takes a quoted local part out of its quotes
	if err != nil {
		return fmt.Errorf("%w: %w", err, ErrBadAddress)
	}
	isLocal, err := t.d.IsLocalDomain(addr.Domain)
	if err != nil {
		return fmt.Errorf("recipient %s: %w", rcpt, err)
	}
	if !isLocal {
		if t.env.Authenticated == "" && !t.env.Internal {
			return fmt.Errorf("%s: %w", rcpt, ErrRelayDenied)
		}
		t.addRemote(addr)
		return nil
	}
	accounts, err := t.resolve(ctx, addr.Key())
	if err != nil {
		return err
	}
	t.rcpts = append(t.rcpts, recipient{addr: rcpt, accounts: accounts})
	return nil
}

// addRemote accepts a recipient in another domain for the outbound queue, written for RCPT TO (Address.String):
// the domain in lower-case A-labels, which DNS and every server understand, the local part as given (only the
// receiving server may interpret it, RFC 5321 section 2.4), quoted again where it needs quotes.
func (t *Transaction) addRemote(a address.Address) {
	addr := a.String()
	if !slices.Contains(t.remote, addr) {
		t.remote = append(t.remote, addr)
	}
	t.rcpts = append(t.rcpts, recipient{addr: addr})
}

// reversePath is the envelope sender as the outbound queue sends it in MAIL FROM, written like remote recipients
// (Address.String): the domain in A-labels, so that only a non-ASCII local part needs SMTPUTF8. The null sender
// stays "".
func reversePath(from string) string {
	if a, err := address.ParseUnquoted(from); err == nil {
		return a.String()
	}
	return from
}

// overQuota reports whether a has no room for a message of the declared size (0: unknown, so only a full account
// counts). The store checks the exact size again at commit.
func overQuota(a store.Account, size int64) bool {
	return a.Quota > 0 && (a.Used >= a.Quota || a.Used+size > a.Quota)
}

// SetVerdict records what the inbound checks (SPF, DKIM, DMARC, display names) concluded, before Commit:
// authResults (complete trace fields, CRLF-terminated: Authentication-Results and any warning of the checks) is
// stored with every local copy, and quarantine delivers the local copies into Junk instead of INBOX.
func (t *Transaction) SetVerdict(authResults string, quarantine bool) {
	t.authResults, t.quarantine = []byte(authResults), quarantine
}

// TrustsEnvelopeSender reports whether a recipient was accepted on the strength of the envelope sender alone: a
// group with policy senders reached on MX, whose listed sender is the MAIL FROM. Anyone can write any MAIL FROM,
// so the protocol layer must have the inbound checks authenticate that address (SPF or DKIM) before Commit, and
// refuse the message otherwise.
func (t *Transaction) TrustsEnvelopeSender() bool { return t.trustsEnvelopeSender }

// Abort ends the transaction without storing anything. It is safe to call at any time, also after Commit.
func (t *Transaction) Abort() { t.done = true }

// Result tells what became of each recipient of a committed message.
type Result struct {
	ID         string // the transaction's ID, and the queue id of its remote recipients
	Recipients []RecipientResult
	Queued     []string // recipients in other domains, handed to the outbound queue
}

// RecipientResult is where one accepted recipient's copy went. A recipient whose account was already given a copy
// by an earlier recipient of the same message (the same address twice, say) shares that copy.
type RecipientResult struct {
	Recipient string // as given to AddRecipient
	Account   string // the account's address
	MailboxID uint64
	UID       uint32
}

// Commit parses body once, checks the From header of a submission, and stores one copy per distinct account, each
// with its own trace header lines, in one store transaction that is on disk when Commit returns. It is all or
// nothing: when an account was removed since RCPT, nothing is stored and ErrRecipientGone tells the SMTP layer to
// answer with a temporary failure; the sender's retry is then refused for that recipient at RCPT time. Quota was
// checked at RCPT; a copy accepted then is stored even if the account filled up meanwhile (see store.Deliver).
func (t *Transaction) Commit(ctx context.Context, body []byte) (Result, error) {
	if t.done {
		return Result{}, ErrClosed
	}
	t.done = true
	if len(t.rcpts) == 0 {
		return Result{}, ErrNoRecipients
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	// From the parse on: bulk reads give way to a delivery's CPU, not only its commit, and a commit that would
	// start alone waits a little for it.
	prepared := t.d.store.PrepareWrite()
	defer prepared.Done()
	p := message.Parse(body)
	var from []string
	if t.env.Submission {
		var err error
		if from, err = t.checkFrom(ctx, body); err != nil {
			return Result{}, err
		}
	}
	if !t.env.Submission && !t.env.Internal {
		if hops := message.CountHops(body); hops > message.MaxHops {
			return Result{}, fmt.Errorf("%d Received headers: %w", hops, ErrMailLoop)
		}
	}
	now := t.d.now()
	text := p.SearchText()
	d := store.Delivery{
		Message:  store.NewMessage{Body: body, Meta: p.Meta(), Text: text, InternalDate: now},
		Copies:   t.copies(now),
		Prepared: prepared,
	}
	var filters *filterRun
	if t.d.sieve != nil && !t.quarantine { // quarantined mail stays in Junk, whatever the filters would file it in
		filters = t.newFilterRun(body, text, now)
		filters.prepare(t.d.store, t.accounts())
		d.Filter = filters.decide
	}
	if len(t.remote) > 0 {
		d.Outbound = &store.Outbound{ID: t.id, From: reversePath(t.env.From), Recipients: t.remote, Trace: t.outboundTrace(now),
			Submitter: t.env.Authenticated}
	}
	if t.env.Submission {
		messageID := ""
		if p.Envelope != nil {
			messageID = p.Envelope.MessageID
		}
		d.Audit = t.sendAsRecords(append([]string{t.env.From}, from...), messageID, len(d.Copies)+len(t.remote))
	}
	placed, err := t.d.store.DeliverMessage(d)
	if errors.Is(err, store.ErrAccountNotFound) {
		err = fmt.Errorf("%w (%w)", ErrRecipientGone, err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("deliver message %s: %w", t.id, err)
	}
	if filters != nil {
		filters.logOutcome(t.log)
	}
	t.d.metrics.LocalCopiesStored(len(placed))
	res := t.result(placed)
	t.log.Info("delivered", "from", t.env.From, "recipients", len(res.Recipients),
		"copies", len(d.Copies), "queued", len(t.remote), "size", len(body))
	return res, nil
}

// checkFrom requires the message of a submission to have exactly one From header (RFC 5322 3.6), at most one
// Sender, and every address in them to be one the authenticated account may use (RFC 6409 8.1 lets the MSA
// enforce this), under no display name that shows another address. A second From header would otherwise let a
// client show one sender and be checked on another. The newest resent block is held to the same rules
// (checkResent). It returns those addresses.
func (t *Transaction) checkFrom(ctx context.Context, body []byte) ([]string, error) {
	owned, err := t.sendAs(ctx)
	if err != nil {
		return nil, err
	}
	// The whole header is read, whatever its size: a field past a parsing limit would otherwise go unchecked
	// while readers still show it.
	from, err := checkOriginator("From", message.FieldValues(body, "From"), owned)
	if err != nil {
		return nil, err
	}
	if len(from) == 0 { // RFC 5322 3.6: every message has a From; a Sender alone names no author
		return nil, fieldError("From", "no From address: %w", ErrFromNotAllowed)
	}
	sender, err := checkOriginator("Sender", message.FieldValues(body, "Sender"), owned)
	if err != nil {
		return nil, err
	}
	from = append(from, sender...)
	resent, err := checkResent(body, owned)
	if err != nil {
		return nil, err
	}
	return append(from, resent...), nil
}

// copies returns one store copy per distinct account, in recipient order; the first recipient that resolved to
// an account names it in the copy's trace.
func (t *Transaction) copies(now time.Time) []store.Copy {
	var copies []store.Copy
	seen := map[uint64]bool{}
	for _, r := range t.rcpts {
		for _, a := range r.accounts {
			if seen[a.ID] {
				continue
			}
			seen[a.ID] = true
			c := store.Copy{AccountID: a.ID, Trace: t.trace(r.addr, a.Address, now)}
			if t.quarantine {
				c.Mailbox = "Junk"
			}
			copies = append(copies, c)
		}
	}
	return copies
}

// accounts are the distinct accounts the message is delivered to.
func (t *Transaction) accounts() []store.Account {
	var out []store.Account
	seen := map[uint64]bool{}
	for _, r := range t.rcpts {
		for _, a := range r.accounts {
			if !seen[a.ID] {
				seen[a.ID] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// result maps the store's placements back to the recipients. A recipient shares the outcome of the copy made for
// its account, wherever that copy came from.
func (t *Transaction) result(placed []store.Placed) Result {
	byAccount := map[uint64]store.Placed{}
	for _, p := range placed {
		byAccount[p.AccountID] = p
	}
	res := Result{ID: t.id, Queued: t.remote}
	for _, r := range t.rcpts {
		for _, a := range r.accounts {
			p := byAccount[a.ID]
			res.Recipients = append(res.Recipients, RecipientResult{Recipient: r.addr, Account: a.Address, MailboxID: p.MailboxID, UID: p.UID})
		}
	}
	return res
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrAccountNotFound) }
