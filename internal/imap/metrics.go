package imap

import (
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// countedSession is a session counted in the server's metrics: open until its connection ends, in IDLE while it
// idles, and each command it handles with its duration. The library answers some commands without the session
// (CAPABILITY, NOOP, LOGOUT, STARTTLS, ENABLE): those are not counted. Others it makes of session calls: CLOSE is
// counted as the EXPUNGE and UNSELECT it calls, and a SELECT with a mailbox open adds an UNSELECT.
type countedSession struct {
	*session
	closed func() // ends the count of the open session
}

func newCountedSession(s *session) *countedSession {
	return &countedSession{session: s, closed: s.srv.metrics.IMAPSessionOpened()}
}

// command starts timing the command name; the returned function counts it.
func (s *countedSession) command(name string) (done func()) {
	start := time.Now()
	return func() { s.srv.metrics.IMAPCommand(name, time.Since(start)) }
}

// uidForm is name, or its UID form when numSet holds UIDs (UID FETCH rather than FETCH).
func uidForm(name string, numSet imap.NumSet) string {
	if _, ok := numSet.(imap.UIDSet); ok {
		return "UID " + name
	}
	return name
}

func (s *countedSession) Close() error {
	defer s.closed()
	return s.session.Close()
}

func (s *countedSession) Login(username, password string) error {
	defer s.command("LOGIN")()
	return s.session.Login(username, password)
}

func (s *countedSession) Unauthenticate() error {
	defer s.command("UNAUTHENTICATE")()
	return s.session.Unauthenticate()
}

func (s *countedSession) Namespace() (*imap.NamespaceData, error) {
	defer s.command("NAMESPACE")()
	return s.session.Namespace()
}

func (s *countedSession) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	command := "SELECT"
	if options != nil && options.ReadOnly {
		command = "EXAMINE"
	}
	defer s.command(command)()
	return s.session.Select(name, options)
}

func (s *countedSession) Create(name string, options *imap.CreateOptions) error {
	defer s.command("CREATE")()
	return s.session.Create(name, options)
}

func (s *countedSession) Delete(name string) error {
	defer s.command("DELETE")()
	return s.session.Delete(name)
}

func (s *countedSession) Rename(name, newName string, options *imap.RenameOptions) error {
	defer s.command("RENAME")()
	return s.session.Rename(name, newName, options)
}

func (s *countedSession) Subscribe(name string) error {
	defer s.command("SUBSCRIBE")()
	return s.session.Subscribe(name)
}

func (s *countedSession) Unsubscribe(name string) error {
	defer s.command("UNSUBSCRIBE")()
	return s.session.Unsubscribe(name)
}

func (s *countedSession) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	defer s.command("LIST")()
	return s.session.List(w, ref, patterns, options)
}

func (s *countedSession) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	defer s.command("STATUS")()
	return s.session.Status(name, options)
}

// BeginAppend counts the APPEND command from its mailbox to its end, all its messages together.
func (s *countedSession) BeginAppend(mailbox string) (imapserver.Appender, error) {
	done := s.command("APPEND")
	a, err := s.session.BeginAppend(mailbox)
	if err != nil {
		done()
		return nil, err
	}
	return countedAppender{Appender: a, done: done}, nil
}

// countedAppender ends the count of its APPEND when the library closes it.
type countedAppender struct {
	imapserver.Appender
	done func()
}

// AddCatenate passes a CATENATE message on to the session's appender, which takes them (AppenderCatenate).
func (a countedAppender) AddCatenate(parts *imapserver.CatenateReader, options *imap.AppendOptions) error {
	return a.Appender.(imapserver.AppenderCatenate).AddCatenate(parts, options)
}

func (a countedAppender) Close() error {
	defer a.done()
	return a.Appender.Close()
}

// IdleWake counts the session in IDLE, and the IDLE command, until the library stops the wake-ups at DONE.
func (s *countedSession) IdleWake(wake func()) (stop func()) {
	idled := s.srv.metrics.IMAPIdleStarted()
	counted := s.command("IDLE")
	stopWaking := s.session.IdleWake(wake)
	return func() {
		stopWaking()
		counted()
		idled()
	}
}

func (s *countedSession) Unselect() error {
	defer s.command("UNSELECT")()
	return s.session.Unselect()
}

func (s *countedSession) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	command := "EXPUNGE"
	if uids != nil {
		command = "UID EXPUNGE"
	}
	defer s.command(command)()
	return s.session.Expunge(w, uids)
}

func (s *countedSession) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	command := "SEARCH"
	if kind == imapserver.NumKindUID {
		command = "UID SEARCH"
	}
	defer s.command(command)()
	return s.session.Search(kind, criteria, options)
}

func (s *countedSession) Sort(kind imapserver.NumKind, criteria []imap.SortCriterion, search *imap.SearchCriteria) ([]uint32, error) {
	defer s.command(kindForm("SORT", kind))()
	return s.session.Sort(kind, criteria, search)
}

func (s *countedSession) Thread(kind imapserver.NumKind, alg imap.ThreadAlgorithm, search *imap.SearchCriteria) ([]imap.ThreadData, error) {
	defer s.command(kindForm("THREAD", kind))()
	return s.session.Thread(kind, alg, search)
}

// kindForm is name, or its UID form for UID numbers.
func kindForm(name string, kind imapserver.NumKind) string {
	if kind == imapserver.NumKindUID {
		return "UID " + name
	}
	return name
}

func (s *countedSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	defer s.command(uidForm("FETCH", numSet))()
	return s.session.Fetch(w, numSet, options)
}

func (s *countedSession) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	defer s.command(uidForm("STORE", numSet))()
	return s.session.Store(w, numSet, flags, options)
}

func (s *countedSession) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	defer s.command(uidForm("COPY", numSet))()
	return s.session.Copy(numSet, dest)
}

func (s *countedSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	defer s.command(uidForm("MOVE", numSet))()
	return s.session.Move(w, numSet, dest)
}

func (s *countedSession) GetQuota(root string) (*imap.QuotaData, error) {
	defer s.command("GETQUOTA")()
	return s.session.GetQuota(root)
}

func (s *countedSession) GetQuotaRoot(mailbox string) ([]imap.QuotaData, error) {
	defer s.command("GETQUOTAROOT")()
	return s.session.GetQuotaRoot(mailbox)
}

func (s *countedSession) SetQuota(root string, limits map[imap.QuotaResourceType]int64) error {
	defer s.command("SETQUOTA")()
	return s.session.SetQuota(root, limits)
}

func (s *countedSession) MyRights(mailbox string) (imap.RightSet, error) {
	defer s.command("MYRIGHTS")()
	return s.session.MyRights(mailbox)
}

func (s *countedSession) GetACL(mailbox string) ([]imap.ACLEntry, error) {
	defer s.command("GETACL")()
	return s.session.GetACL(mailbox)
}

func (s *countedSession) ListRights(mailbox string, identifier imap.RightsIdentifier) (*imap.ListRightsData, error) {
	defer s.command("LISTRIGHTS")()
	return s.session.ListRights(mailbox, identifier)
}

func (s *countedSession) SetACL(mailbox string, identifier imap.RightsIdentifier, mod imap.RightModification, rights imap.RightSet) error {
	defer s.command("SETACL")()
	return s.session.SetACL(mailbox, identifier, mod, rights)
}

func (s *countedSession) DeleteACL(mailbox string, identifier imap.RightsIdentifier) error {
	defer s.command("DELETEACL")()
	return s.session.DeleteACL(mailbox, identifier)
}

func (s *countedSession) SearchContext(tag string, kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	command := "SEARCH"
	if kind == imapserver.NumKindUID {
		command = "UID SEARCH"
	}
	defer s.command(command)()
	return s.session.SearchContext(tag, kind, criteria, options)
}

func (s *countedSession) CancelSearchUpdate(tags []string) error {
	defer s.command("CANCELUPDATE")()
	return s.session.CancelSearchUpdate(tags)
}

func (s *countedSession) Notify(options *imap.NotifyOptions) error {
	defer s.command("NOTIFY")()
	return s.session.Notify(options)
}

func (s *countedSession) AppendCatenate(mailbox string, parts *imapserver.CatenateReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	defer s.command("APPEND")()
	return s.session.AppendCatenate(mailbox, parts, options)
}
