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

func (s *countedSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	defer s.command("APPEND")()
	return s.session.Append(mailbox, r, options)
}

func (s *countedSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	defer s.srv.metrics.IMAPIdleStarted()()
	defer s.command("IDLE")()
	return s.session.Idle(w, stop)
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
