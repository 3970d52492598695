package imapserver

import (
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
	"github.com/emersion/go-sasl"
)

var errAuthFailed = &imap.Error{
	Type: imap.StatusResponseTypeNo,
	Code: imap.ResponseCodeAuthenticationFailed,
	Text: "Authentication failed",
}

// ErrAuthFailed is returned by Session.Login on authentication failure.
var ErrAuthFailed = errAuthFailed

// GreetingData is the data associated with an IMAP greeting.
type GreetingData struct {
	PreAuth bool
}

// NumKind describes how a number should be interpreted: either as a sequence
// number, either as a UID.
type NumKind int

const (
	NumKindSeq = NumKind(imapwire.NumKindSeq)
	NumKindUID = NumKind(imapwire.NumKindUID)
)

// String implements fmt.Stringer.
func (kind NumKind) String() string {
	switch kind {
	case NumKindSeq:
		return "seq"
	case NumKindUID:
		return "uid"
	default:
		panic(fmt.Errorf("imapserver: unknown NumKind %d", kind))
	}
}

func (kind NumKind) wire() imapwire.NumKind {
	return imapwire.NumKind(kind)
}

// Session is an IMAP session.
type Session interface {
	Close() error

	// Not authenticated state
	Login(username, password string) error

	// Authenticated state
	Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error)
	Create(mailbox string, options *imap.CreateOptions) error
	Delete(mailbox string) error
	Rename(mailbox, newName string, options *imap.RenameOptions) error
	Subscribe(mailbox string) error
	Unsubscribe(mailbox string) error
	List(w *ListWriter, ref string, patterns []string, options *imap.ListOptions) error
	Status(mailbox string, options *imap.StatusOptions) (*imap.StatusData, error)
	Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error)
	Poll(w *UpdateWriter, allowExpunge bool) error
	Idle(w *UpdateWriter, stop <-chan struct{}) error

	// Selected state
	Unselect() error
	Expunge(w *ExpungeWriter, uids *imap.UIDSet) error
	Search(kind NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error)
	Fetch(w *FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error
	Store(w *FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error
	Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error)
}

// SessionNamespace is an IMAP session which supports NAMESPACE.
type SessionNamespace interface {
	Session

	// Authenticated state
	Namespace() (*imap.NamespaceData, error)
}

// SessionMove is an IMAP session which supports MOVE.
type SessionMove interface {
	Session

	// Selected state
	Move(w *MoveWriter, numSet imap.NumSet, dest string) error
}

// SessionIMAP4rev2 is an IMAP session which supports IMAP4rev2.
type SessionIMAP4rev2 interface {
	Session
	SessionNamespace
	SessionMove
}

// SessionSASL is an IMAP session which supports its own set of SASL
// authentication mechanisms.
type SessionSASL interface {
	Session
	AuthenticateMechanisms() []string
	Authenticate(mech string) (sasl.Server, error)
}

// SessionUnauthenticate is an IMAP session which supports UNAUTHENTICATE.
type SessionUnauthenticate interface {
	Session

	// Authenticated state
	Unauthenticate() error
}

// SessionAppendLimit is an IMAP session which has the same APPEND limit for
// all mailboxes.
type SessionAppendLimit interface {
	Session

	// AppendLimit returns the maximum size in bytes that can be uploaded to
	// this server in an APPEND command.
	AppendLimit() uint32
}

// SessionQuota is an IMAP session which supports QUOTA (RFC 9208).
type SessionQuota interface {
	Session

	// QuotaResources returns the resource types the session has limits on,
	// advertised as QUOTA=RES-<type>.
	QuotaResources() []imap.QuotaResourceType

	// Authenticated state
	GetQuota(root string) (*imap.QuotaData, error)
	// GetQuotaRoot returns the quota roots of a mailbox, each with its
	// resources; none when no limit applies to the mailbox.
	GetQuotaRoot(mailbox string) ([]imap.QuotaData, error)
	// SetQuota changes the limits of a quota root. QUOTASET is advertised
	// only when the server's capabilities include it; without it the session
	// answers SETQUOTA with an error.
	SetQuota(root string, limits map[imap.QuotaResourceType]int64) error
}

// SessionACL is an IMAP session which supports ACL (RFC 4314).
type SessionACL interface {
	Session

	// Authenticated state
	MyRights(mailbox string) (imap.RightSet, error)
	GetACL(mailbox string) ([]imap.ACLEntry, error)
	ListRights(mailbox string, identifier imap.RightsIdentifier) (*imap.ListRightsData, error)
	SetACL(mailbox string, identifier imap.RightsIdentifier, mod imap.RightModification, rights imap.RightSet) error
	DeleteACL(mailbox string, identifier imap.RightsIdentifier) error
}

// SessionMultiAppend is an IMAP session which supports MULTIAPPEND (RFC 3502).
// Every APPEND, of one message or several, goes through an Appender instead of
// Session.Append, so that the messages of one command are stored together or
// not at all.
type SessionMultiAppend interface {
	Session

	// Authenticated state
	BeginAppend(mailbox string) (Appender, error)
}

// Appender receives the messages of one APPEND command.
type Appender interface {
	// Add reads one message. The library discards what Add leaves unread.
	// After an error nothing of the command is stored.
	Add(r imap.LiteralReader, options *imap.AppendOptions) error
	// Commit stores every message added, all of them or none.
	Commit() (*imap.AppendData, error)
	// Close drops whatever was added and not committed. It is called once,
	// after Commit or instead of it.
	Close() error
}

// AppenderCatenate is an Appender which takes messages given as CATENATE
// parts (RFC 4469), also within a MULTIAPPEND.
type AppenderCatenate interface {
	Appender
	// AddCatenate reads one message made of parts, in order. The library
	// discards the parts AddCatenate leaves unread.
	AddCatenate(parts *CatenateReader, options *imap.AppendOptions) error
}

// SessionID is an IMAP session which supports ID (RFC 2971).
type SessionID interface {
	Session

	// Any state. ID receives the client's identification, nil if it sent
	// NIL, and returns the server's, nil for none.
	ID(clientID *imap.IDData) *imap.IDData
}

// SessionCompress is an IMAP session which supports COMPRESS=DEFLATE
// (RFC 4978).
type SessionCompress interface {
	Session

	// Authenticated state. Compress is called before the connection starts
	// compressing with mechanism ("DEFLATE"); an error refuses it.
	Compress(mechanism string) error
}

// SessionCondStore is an IMAP session which supports CONDSTORE (RFC 7162
// section 3.1). The library then passes on SelectOptions.CondStore,
// StatusOptions.HighestModSeq, FetchOptions.ModSeq and ChangedSince,
// StoreOptions.UnchangedSince and SearchCriteria.ModSeq, and writes
// SelectData.HighestModSeq, StatusData.HighestModSeq and SearchData.ModSeq.
// Store reports the messages UNCHANGEDSINCE left alone with
// FetchWriter.SetModified; once CONDSTORE is enabled (EnabledCaps), FETCH
// responses carry MODSEQ, and so do the flag updates queued with
// MailboxTracker.QueueMessageFlagsModSeq or QueueMessagesFlags.
type SessionCondStore interface {
	Session

	// Selected state
	// HighestModSeq returns the selected mailbox's HIGHESTMODSEQ, which the
	// library reports when a command other than SELECT or EXAMINE first
	// enables CONDSTORE.
	HighestModSeq() (uint64, error)
}

// SessionQResync is an IMAP session which supports QRESYNC (RFC 7162
// section 3.2). Once the client has enabled it, expunges written with
// ExpungeWriter.WriteExpungeUID, MoveWriter.WriteExpungeUID or queued with
// MailboxTracker.QueueExpungeUID are reported as VANISHED, and the library
// passes on SelectOptions.QResync and FetchOptions.Vanished (answered with
// FetchWriter.WriteVanishedEarlier).
type SessionQResync interface {
	SessionCondStore

	// Selected state
	// Resync writes the VANISHED (EARLIER) and FETCH responses that bring
	// the client's cache up to date after SELECT or EXAMINE with
	// SelectOptions.QResync. The library calls it after the untagged
	// responses of SELECT, before the tagged OK (RFC 7162 section 3.2.5.1).
	Resync(w *FetchWriter) error
}

// SessionSearchContext is an IMAP session which supports CONTEXT=SEARCH
// (RFC 5267): the PARTIAL, UPDATE and CONTEXT return options of SEARCH, and
// CANCELUPDATE.
type SessionSearchContext interface {
	Session

	// Selected state
	//
	// SearchContext replaces Search for this session. tag names the command,
	// for the updates of RETURN (UPDATE), which the session then writes with
	// UpdateWriter.WriteSearchUpdate while the mailbox stays selected.
	SearchContext(tag string, kind NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error)
	// CancelSearchUpdate ends the updates of the searches with these tags.
	CancelSearchUpdate(tags []string) error
}

// SessionNotify is an IMAP session which supports NOTIFY (RFC 5465).
type SessionNotify interface {
	Session

	// Authenticated state
	//
	// Notify replaces what the client is notified of; nil is NOTIFY NONE. The
	// session writes the notifications with the UpdateWriter of Poll and Idle
	// (WriteStatus, WriteList, WriteNotificationOverflow), the first ones
	// (NOTIFY SET STATUS) at the poll that ends this command.
	Notify(options *imap.NotifyOptions) error
}

// SessionCatenate is an IMAP session which supports CATENATE (RFC 4469).
type SessionCatenate interface {
	Session

	// Authenticated state
	//
	// AppendCatenate appends the message made of parts, in order: text sent
	// by the client and IMAP URLs (RFC 5092) of messages or parts of them.
	AppendCatenate(mailbox string, parts *CatenateReader, options *imap.AppendOptions) (*imap.AppendData, error)
}

// SessionSort is an IMAP session which supports SORT (RFC 5256) with every
// key, DISPLAYFROM and DISPLAYTO included (SORT=DISPLAY, RFC 5957), and ESORT
// (RFC 5267).
type SessionSort interface {
	Session

	// Selected state. Sort returns the numbers (sequence numbers or UIDs,
	// per kind) of the messages that match searchCriteria, in sort order.
	Sort(kind NumKind, sortCriteria []imap.SortCriterion, searchCriteria *imap.SearchCriteria) ([]uint32, error)
}

// SessionThread is an IMAP session which supports THREAD (RFC 5256).
type SessionThread interface {
	Session

	// ThreadAlgorithms lists the algorithms Thread accepts, advertised as
	// THREAD=<algorithm> capabilities.
	ThreadAlgorithms() []imap.ThreadAlgorithm
	// Selected state. Thread returns the messages (sequence numbers or UIDs,
	// per kind) that match searchCriteria, threaded by algorithm.
	Thread(kind NumKind, algorithm imap.ThreadAlgorithm, searchCriteria *imap.SearchCriteria) ([]imap.ThreadData, error)
}

// SessionIdleWake is an IMAP session whose IDLE (RFC 2177) needs no
// goroutine while nothing happens: instead of Idle, which blocks for the
// whole command, the library calls IdleWake, polls the session with Poll
// (expunges allowed) at once and then each time the session calls wake, on a
// goroutine that exists only while it polls.
type SessionIdleWake interface {
	Session

	// IdleWake arranges for wake to be called, from any goroutine and any
	// number of times, whenever updates may be due. wake does not block. The
	// returned stop ends that: once stop returns, wake is not called again.
	IdleWake(wake func()) (stop func())
}
