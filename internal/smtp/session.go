package smtp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/connlog"
	"mailserver/internal/delivery"
	"mailserver/internal/message"
	"mailserver/internal/store"
)

// storeTimeout bounds one recipient lookup or one commit.
const storeTimeout = time.Minute

// inboundTimeout bounds the inbound checks of one message (their DNS lookups); the checker reports what it could
// not finish as a temporary error rather than holding the client.
const inboundTimeout = 30 * time.Second

// maxPathLength is RFC 5321 section 4.5.3.1.3's limit on a path, angle brackets included.
const maxPathLength = 256

// session is one client's state between EHLO and QUIT or STARTTLS (go-smtp starts a new session after STARTTLS, and
// RFC 3207 section 4.2 wants everything learnt before it forgotten). The MX role uses it as is; submission wraps it in
// submissionSession, which adds AUTH.
//
// go-smtp calls Mail, Rcpt and Auth from the connection's goroutine, but Data from another one for BDAT, while
// Reset and Logout may come from either (RSET between chunks, server shutdown): the mutable state is behind mu.
type session struct {
	srv   *server      // immutable
	gconn *gosmtp.Conn // immutable; read only from the connection's goroutine (HELO name)
	conn  net.Conn     // immutable: the connection as it was when the session began
	tls   bool         // immutable: conn is TLS
	log   *slog.Logger // immutable: the connection's logger (its ID and the client's address) with TLS
	// connLog is the connection under conn, which outlives the session (STARTTLS): it counts the messages
	// accepted and is told why the connection ends when the session ends it.
	connLog *connlog.Conn

	client    netip.Prefix  // immutable: the block the client's unknown recipients count against (harvest.go)
	done      chan struct{} // closed by Logout: a delayed reply need not wait any longer
	closeDone sync.Once

	mu      sync.Mutex
	account *store.Account        // guarded by mu: the authenticated account (submission only)
	tx      *delivery.Transaction // guarded by mu: the transaction from MAIL to the end of DATA
	env     delivery.Envelope     // guarded by mu: tx's envelope, for the inbound checks at DATA
	// unknown counts the unknown recipients since the session began or last delivered a message; it starts again
	// after STARTTLS, but the client address's count does not. Guarded by mu.
	unknown int
	slowed  bool // guarded by mu: replies to unknown recipients are being delayed (logged once)
}

var _ gosmtp.Session = (*session)(nil)

func (srv *server) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	conn := c.Conn()
	_, isTLS := c.TLSConnectionState()
	connLog := connlog.Of(conn, srv.log)
	s := &session{srv: srv, gconn: c, conn: conn, tls: isTLS, connLog: connLog,
		log:    connLog.Logger().With("tls", isTLS),
		client: harvestClient(conn.RemoteAddr()), done: make(chan struct{})}
	if srv.role == roleSubmission {
		return &submissionSession{s}, nil
	}
	return s, nil
}

// Mail begins a transaction. On submission the client must have authenticated and the envelope sender must be an
// address the account may send as (delivery.Deliverer.AuthorizeSender).
func (s *session) Mail(from string, opts *gosmtp.MailOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx != nil {
		return refuse(s.log, senderRefused, errNestedMail) // RFC 5321 section 4.1.4: MAIL only outside a transaction
	}
	if len(from) > maxPathLength-2 {
		return refuse(s.log, senderRefused, errBadSender, "from_bytes", len(from))
	}
	log := s.log
	env := delivery.Envelope{
		From:       from,
		RemoteAddr: s.conn.RemoteAddr(),
		HeloName:   s.gconn.Hostname(),
		TLS:        s.tls,
		Submission: s.srv.role == roleSubmission,
	}
	if opts != nil {
		env.Size = opts.Size
	}
	if s.srv.role == roleSubmission {
		if s.account == nil {
			return refuse(s.log, senderRefused, errAuthRequired, "from", from)
		}
		log = s.log.With("account", s.account.Address)
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		// The account must still be enabled, and from one of its addresses, its aliases', or a group's or shared
		// mailbox's it may send as; those are looked up once here and reused at RCPT and DATA.
		sendAs, err := s.srv.opts.Deliverer.AuthorizeSender(ctx, *s.account, from)
		if err != nil {
			return refuse(log, senderRefused, err, "from", from)
		}
		env.Authenticated, env.SendAs = s.account.Address, sendAs
	}
	env.Logger = log // delivery logs the message's lines as part of this session
	s.tx = s.srv.opts.Deliverer.Begin(context.Background(), env)
	s.env = env
	return nil
}

// Rcpt resolves a recipient at once, so that unknown users, relaying, full or disabled mailboxes and groups the
// sender may not post to are refused here. Unless the session is authenticated, unknown recipients count towards
// the harvesting limits: past a few, their replies are delayed, and past the limit the connection is closed.
func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	counted, unknown := s.harvestCount()
	if counted {
		if st, atLimit := s.srv.opts.Harvest.check(s.client, unknown); atLimit {
			return s.hangUpForHarvesting(st)
		}
	}
	log, err := s.addRecipient(to)
	if err == nil {
		return nil
	}
	r := refuse(log, "recipient refused", err, "rcpt", to)
	if errors.Is(err, delivery.ErrUnknownRecipient) {
		s.srv.opts.Metrics.RecipientRefusedAsUnknown()
		if counted {
			s.delayUnknown()
		}
	}
	return r
}

// addRecipient adds to to the open transaction. It returns the log for the recipient's lines: the transaction's,
// or the session's when there is none.
func (s *session) addRecipient(to string) (*slog.Logger, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx == nil {
		return s.log, errNoTransaction
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	return s.tx.Log(), s.tx.AddRecipient(ctx, to)
}

// txLog is the open transaction's log (the session's, with the message ID), or the session's when there is none.
func (s *session) txLog() *slog.Logger {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx == nil {
		return s.log
	}
	return s.tx.Log()
}

// harvestCount tells whether the session's unknown recipients count towards the harvesting limits (it is not
// authenticated), and how many it has had.
func (s *session) harvestCount() (counted bool, unknown int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.account == nil, s.unknown
}

// Data receives the message and commits it. The reply (go-smtp's 250) goes out only after the commit returned.
func (s *session) Data(r io.Reader) error {
	body, release, err := s.readBody(r)
	if err != nil {
		return refuse(s.txLog(), messageRefused, err)
	}
	defer release() // once the message is stored or refused
	dataEnd := time.Now()
	if err := checkLineEndings(body); err != nil {
		return refuse(s.txLog(), messageRefused, err)
	}
	if s.srv.role == roleSubmission {
		body = completeHeader(body, s.srv.opts.Hostname, time.Now())
	}
	tx, env := s.takeTransaction()
	if tx == nil {
		return refuse(s.log, messageRefused, errNoTransaction) // reset or logged out meanwhile (BDAT)
	}
	if err := s.checkInbound(tx, env, body); err != nil {
		tx.Abort()
		return err
	}
	if s.srv.role == roleMX {
		// After the checks, which verify DKIM over the bytes as sent: only results this server wrote may carry
		// its name.
		body = message.ObscureAuthResults(body, s.srv.opts.Hostname)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if _, err := tx.Commit(ctx, body); err != nil {
		return refuse(tx.Log(), messageRefused, err)
	}
	s.connLog.Count(countMessages)
	s.srv.opts.Metrics.SMTPMessageAccepted(s.srv.listener, len(body), time.Since(dataEnd))
	s.forgiveUnknown()
	return nil
}

// takeTransaction hands the open transaction and its envelope to Data, so that a concurrent Reset cannot abort it
// mid-commit.
func (s *session) takeTransaction() (*delivery.Transaction, delivery.Envelope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := s.tx
	s.tx = nil
	return tx, s.env
}

// checkInbound runs the inbound checks (SPF, DKIM, DMARC, display names) on a message from another server and
// records their verdict on tx; it returns the reply refusing the message when the checks say so (the sender's
// domain asks for rejection, a forged display name with display_name_spoof = "reject"). Submissions are
// authenticated instead.
func (s *session) checkInbound(tx *delivery.Transaction, env delivery.Envelope, body []byte) error {
	checker := s.srv.opts.Inbound
	if s.srv.role != roleMX || checker == nil {
		return nil
	}
	var ip net.IP
	if tcp, ok := env.RemoteAddr.(*net.TCPAddr); ok {
		ip = tcp.IP
	}
	ctx, cancel := context.WithTimeout(context.Background(), inboundTimeout)
	defer cancel()
	v := checker.Check(ctx, ip, env.HeloName, env.From, body)
	if v.Reject {
		return refuse(tx.Log(), "message refused by the inbound checks",
			reply(550, gosmtp.EnhancedCode{5, 7, 1}, v.Reason), "from", env.From)
	}
	if tx.TrustsEnvelopeSender() && !v.SenderAuthenticated {
		return refuse(tx.Log(), "group sender not authenticated", reply(550, gosmtp.EnhancedCode{5, 7, 1},
			"this group accepts mail only from its listed senders, and neither SPF nor DKIM confirms the sender address"),
			"from", env.From)
	}
	if v.Quarantine {
		tx.Log().Info("message quarantined", "from", env.From, "reason", v.Reason)
	}
	tx.SetVerdict(v.AuthResults, v.Quarantine)
	return nil
}

// Reset ends the transaction (RSET, a new EHLO, the end of DATA).
func (s *session) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abortLocked()
}

// Logout ends the session: the connection closes, or STARTTLS starts a new session.
func (s *session) Logout() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abortLocked()
	s.account = nil
	s.closeDone.Do(func() { close(s.done) })
	return nil
}

func (s *session) abortLocked() {
	if s.tx != nil {
		s.tx.Abort()
		s.tx = nil
	}
}
