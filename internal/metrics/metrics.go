// Package metrics counts what an operator watches — mail accepted and delivered, the outbound queue, IMAP sessions
// and commands, logins, the store's growth, the certificate's expiry — and serves it in Prometheus's text format,
// which Prometheus, Grafana Agent and Zabbix all scrape.
//
// One Metrics, made by internal/server, holds every collector on a registry of its own (never the global one, so
// that two servers in one process, as in tests, count apart), with the Go runtime's and the process's collectors.
// Components take it as an Options field, like a logger. Every method is safe on a nil *Metrics and then counts
// nothing, so a component built without one (its own unit tests) needs no checks of its own.
//
// Label values come from fixed sets only: listener names, reply classes, outcomes, and a fixed list of IMAP
// commands. Never an address, a subject, a domain or anything else a client chooses: that would put personal data
// into the monitoring system and let a client create series without bound.
//
// # Reading the source
//
//   - metrics.go: Metrics, its collectors, and the methods components call as things happen.
//   - scrape.go: what is read when a scrape comes (the queue, the store, the certificate), and the HTTP handler.
package metrics

import (
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Protocol names a login path of the Authenticator.
type Protocol string

// The protocols that log users in.
const (
	ProtocolSMTP    Protocol = "smtp"
	ProtocolIMAP    Protocol = "imap"
	ProtocolCardDAV Protocol = "carddav"
	// ProtocolManageSieve is the filter-script editor's login (RFC 5804).
	ProtocolManageSieve Protocol = "managesieve"
	// ProtocolWebmail is the webmail's login form (/mail/ on the HTTPS listener).
	ProtocolWebmail Protocol = "webmail"
)

// LoginResult is how a login ended.
type LoginResult string

// Login results.
const (
	LoginSuccess LoginResult = "success"
	// LoginFailure: wrong password, unknown or disabled account, or the check itself failed.
	LoginFailure LoginResult = "failure"
	// LoginThrottled: refused without checking the password, because the client's or account's next turn was too
	// far away, or every password check slot was taken.
	LoginThrottled LoginResult = "throttled"
	// LoginLocked: refused without checking the password, because the client or account is locked out.
	LoginLocked LoginResult = "locked"
)

// AttemptResult is what one outbound attempt gave for one recipient.
type AttemptResult string

// Outbound attempt results.
const (
	AttemptDelivered AttemptResult = "delivered"
	AttemptDeferred  AttemptResult = "deferred" // a temporary failure: tried again later
	AttemptFailed    AttemptResult = "failed"   // a permanent failure: the sender gets a report
)

// DSNKind is the kind of delivery status notification sent to a sender.
type DSNKind string

// DSN kinds.
const (
	DSNFailure DSNKind = "failure"
	DSNDelay   DSNKind = "delay"
)

// SMTPListeners are the SMTP listeners' names, the values of the listener label of the SMTP metrics.
var SMTPListeners = []string{"mx", "submission", "submissions"}

var (
	protocols      = []Protocol{ProtocolSMTP, ProtocolIMAP, ProtocolCardDAV, ProtocolManageSieve, ProtocolWebmail}
	loginResults   = []LoginResult{LoginSuccess, LoginFailure, LoginThrottled, LoginLocked}
	attemptResults = []AttemptResult{AttemptDelivered, AttemptDeferred, AttemptFailed}
	destinations   = []string{"route", "smarthost", "mx", "local"}
	dsnKinds       = []DSNKind{DSNFailure, DSNDelay}
	replyClasses   = []string{"2xx", "3xx", "4xx", "5xx"}
)

// latencyBuckets span a commit on a fast disk (a millisecond) to a command held up by a slow disk or DNS.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Metrics holds every collector of one server. Its methods are safe for concurrent use, and on a nil *Metrics.
type Metrics struct {
	registry *prometheus.Registry
	log      *slog.Logger
	now      func() time.Time

	connections *prometheus.CounterVec

	smtpReplies       *prometheus.CounterVec
	smtpAccepted      *prometheus.CounterVec
	smtpAcceptedBytes *prometheus.CounterVec
	smtpDelivery      *prometheus.HistogramVec
	smtpUnknown       prometheus.Counter
	smtpHarvestClosed prometheus.Counter
	localCopies       prometheus.Counter
	outboundAttempts  *prometheus.CounterVec
	dsnSent           *prometheus.CounterVec
	imapSessions      prometheus.Gauge
	imapIdleSessions  prometheus.Gauge
	imapCommands      *prometheus.HistogramVec
	logins            *prometheus.CounterVec
}

// New returns a Metrics with every collector registered on a registry of its own. logger receives the errors of
// scrapes (a store that cannot be read); nil discards them.
func New(logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{registry: prometheus.NewRegistry(), log: logger, now: time.Now}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		m.registry.MustRegister(c)
		return c
	}
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets}, labels)
		m.registry.MustRegister(h)
		return h
	}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		m.registry.MustRegister(g)
		return g
	}
	m.connections = counter("mailserver_connections_total", "Connections accepted, by listener.", "listener")
	m.smtpReplies = counter("mailserver_smtp_replies_total", "SMTP replies sent, by listener and reply class.", "listener", "class")
	m.smtpAccepted = counter("mailserver_smtp_messages_accepted_total", "Messages accepted over SMTP (answered 250 after the commit), by listener.", "listener")
	m.smtpAcceptedBytes = counter("mailserver_smtp_accepted_bytes_total", "Bytes of the messages accepted over SMTP, by listener.", "listener")
	m.smtpDelivery = histogram("mailserver_smtp_delivery_duration_seconds", "Time from the end of a message's DATA or last BDAT to its commit (inbound checks, parsing, storing), by listener.", "listener")
	m.smtpUnknown = counter("mailserver_smtp_unknown_recipients_total", "RCPT commands refused with 550 5.1.1 (no such user).").WithLabelValues()
	m.smtpHarvestClosed = counter("mailserver_smtp_harvest_disconnects_total", "Connections closed with 421 for probing too many unknown recipients.").WithLabelValues()
	m.localCopies = counter("mailserver_delivery_local_copies_total", "Copies of messages stored in local mailboxes (one per account reached).").WithLabelValues()
	m.outboundAttempts = counter("mailserver_outbound_attempts_total", "Outbound delivery attempts, one per recipient, by result and by how the destination was found.", "result", "destination")
	m.dsnSent = counter("mailserver_dsn_sent_total", "Delivery status notifications sent to senders, by kind.", "kind")
	m.imapSessions = gauge("mailserver_imap_sessions", "IMAP connections open.")
	m.imapIdleSessions = gauge("mailserver_imap_idle_sessions", "IMAP connections in IDLE.")
	m.imapCommands = histogram("mailserver_imap_command_duration_seconds", "IMAP commands the server handled, by command, and their duration (for IDLE: how long the client idled).", "command")
	m.logins = counter("mailserver_logins_total", "Logins, by protocol and result.", "protocol", "result")
	m.initialise()
	return m
}

// initialise creates the series of the fixed label sets at zero, so that a rate over them exists before their
// first event and an alert on, say, locked logins works from the start.
func (m *Metrics) initialise() {
	for _, l := range SMTPListeners {
		for _, c := range replyClasses {
			m.smtpReplies.WithLabelValues(l, c)
		}
		m.smtpAccepted.WithLabelValues(l)
		m.smtpAcceptedBytes.WithLabelValues(l)
	}
	for _, r := range attemptResults {
		for _, d := range destinations {
			m.outboundAttempts.WithLabelValues(string(r), d)
		}
	}
	for _, k := range dsnKinds {
		m.dsnSent.WithLabelValues(string(k))
	}
	for _, p := range protocols {
		for _, r := range loginResults {
			m.logins.WithLabelValues(string(p), string(r))
		}
	}
}

// Gatherer is the registry, for tests that read the values without HTTP.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// CountConnections returns ln, counting each connection it accepts under the listener's name. The connections
// themselves are handed on unwrapped: the protocol libraries recognise TLS by the *tls.Conn type.
func (m *Metrics) CountConnections(ln net.Listener, listener string) net.Listener {
	if m == nil {
		return ln
	}
	return countingListener{Listener: ln, accepted: m.connections.WithLabelValues(listener)}
}

type countingListener struct {
	net.Listener
	accepted prometheus.Counter
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Inc()
	}
	return c, err
}

// SMTPReply counts a reply sent on an SMTP listener by its class (RFC 5321 section 4.2.1: the first digit).
func (m *Metrics) SMTPReply(listener string, code int) {
	if m == nil {
		return
	}
	m.smtpReplies.WithLabelValues(listener, replyClass(code)).Inc()
}

// replyClass is "2xx" to "5xx"; a code outside them (none is sent) counts as 5xx, the class of protocol errors.
func replyClass(code int) string {
	if code < 200 || code >= 600 {
		return "5xx"
	}
	return strconv.Itoa(code/100) + "xx"
}

// SMTPMessageAccepted counts a message committed on an SMTP listener: its size in bytes, and the time since its
// data ended.
func (m *Metrics) SMTPMessageAccepted(listener string, size int, sinceDataEnd time.Duration) {
	if m == nil {
		return
	}
	m.smtpAccepted.WithLabelValues(listener).Inc()
	m.smtpAcceptedBytes.WithLabelValues(listener).Add(float64(size))
	m.smtpDelivery.WithLabelValues(listener).Observe(sinceDataEnd.Seconds())
}

// RecipientRefusedAsUnknown counts a RCPT answered 550 5.1.1.
func (m *Metrics) RecipientRefusedAsUnknown() {
	if m == nil {
		return
	}
	m.smtpUnknown.Inc()
}

// ConnectionClosedForHarvesting counts a connection closed with 421 4.7.0 at a RCPT because its client reached the
// unknown-recipient limit or is cooling down after it.
func (m *Metrics) ConnectionClosedForHarvesting() {
	if m == nil {
		return
	}
	m.smtpHarvestClosed.Inc()
}

// LocalCopiesStored counts the copies of one message a delivery committed to local mailboxes.
func (m *Metrics) LocalCopiesStored(n int) {
	if m == nil {
		return
	}
	m.localCopies.Add(float64(n))
}

// OutboundAttempt counts what one attempt gave for one recipient. via is how the destination was found
// (outbound.Target.Via): "route", "smarthost", "local" (this server's own domains: what filters forward or answer
// among colleagues), or anything else for the domain's MX hosts.
func (m *Metrics) OutboundAttempt(result AttemptResult, via string) {
	if m == nil {
		return
	}
	m.outboundAttempts.WithLabelValues(string(result), destination(via)).Inc()
}

func destination(via string) string {
	if via == "route" || via == "smarthost" || via == "local" {
		return via
	}
	return "mx"
}

// DSNSent counts a delivery status notification delivered to a sender.
func (m *Metrics) DSNSent(kind DSNKind) {
	if m == nil {
		return
	}
	m.dsnSent.WithLabelValues(string(kind)).Inc()
}

// IMAPSessionOpened counts an IMAP connection open until the function it returns is called.
func (m *Metrics) IMAPSessionOpened() (closed func()) {
	if m == nil {
		return func() {}
	}
	return raise(m.imapSessions)
}

// IMAPIdleStarted counts an IMAP connection in IDLE until the function it returns is called.
func (m *Metrics) IMAPIdleStarted() (stopped func()) {
	if m == nil {
		return func() {}
	}
	return raise(m.imapIdleSessions)
}

// raise raises g and returns the function that lowers it again, once however often it is called.
func raise(g prometheus.Gauge) func() {
	g.Inc()
	var once sync.Once
	return func() { once.Do(g.Dec) }
}

// IMAPCommand counts a command an IMAP session handled and how long it took. A name outside IMAPCommands counts as
// "other".
func (m *Metrics) IMAPCommand(name string, took time.Duration) {
	if m == nil {
		return
	}
	m.imapCommands.WithLabelValues(imapCommandLabel(name)).Observe(took.Seconds())
}

// Login counts a login's outcome.
func (m *Metrics) Login(protocol Protocol, result LoginResult) {
	if m == nil {
		return
	}
	m.logins.WithLabelValues(string(protocol), string(result)).Inc()
}

// IMAPCommands are the values of the command label of mailserver_imap_command_duration_seconds, besides "other":
// the commands of IMAP4rev1 and IMAP4rev2 (RFC 3501, RFC 9051) and of the extensions served, the UID forms apart.
var IMAPCommands = []string{
	"CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "AUTHENTICATE", "LOGIN", "UNAUTHENTICATE", "ENABLE", "NAMESPACE",
	"SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB", "STATUS",
	"APPEND", "IDLE", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE",
	"UID EXPUNGE", "UID SEARCH", "UID FETCH", "UID STORE", "UID COPY", "UID MOVE",
	"GETQUOTA", "GETQUOTAROOT", "SETQUOTA", "MYRIGHTS", "GETACL", "LISTRIGHTS", "SETACL", "DELETEACL",
	"CANCELUPDATE", "NOTIFY", // CONTEXT=SEARCH (RFC 5267), NOTIFY (RFC 5465)
	"SORT", "UID SORT", "THREAD", "UID THREAD",
}

var imapCommandSet = func() map[string]bool {
	set := map[string]bool{}
	for _, c := range IMAPCommands {
		set[c] = true
	}
	return set
}()

// imapCommandLabel is name if it is one of IMAPCommands, else "other": a client can send any atom.
func imapCommandLabel(name string) string {
	if imapCommandSet[name] {
		return name
	}
	return "other"
}
