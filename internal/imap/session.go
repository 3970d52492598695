package imap

import (
	"log/slog"
	"net"
	"sync"

	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/connlog"
	"mailserver/internal/store"
)

// session is one connection's state. The library calls its methods from the connection's goroutine one at a time;
// the only exception is Poll during IDLE, which runs on another goroutine while the connection goroutine waits for
// DONE.
type session struct {
	srv    *Server
	conn   *imapserver.Conn
	remote net.Addr // immutable
	// connLog is the connection under conn, with its ID; it is told why the connection ends when the server ends
	// it. Immutable.
	connLog *connlog.Conn
	log     *slog.Logger // connLog's logger, with the account once logged in

	account *store.Account // nil before login

	compressing bool // COMPRESS is active, counted in Server.compressing

	// sel is the selected mailbox, nil if none. The connection goroutine reads it freely and writes it under selMu;
	// other goroutines read it under selMu (IDLE's polls read it without: they run only while the connection
	// goroutine waits for DONE, and start after it registered for wake-ups).
	selMu sync.Mutex
	sel   *selection

	// notifier is set while NOTIFY is on (notify.go); IDLE's polls read it, the connection goroutine sets it.
	notifier   *notifier
	notifyView notifyView
}

var (
	_ imapserver.Session               = (*session)(nil)
	_ imapserver.SessionIMAP4rev2      = (*session)(nil)
	_ imapserver.SessionNamespace      = (*session)(nil)
	_ imapserver.SessionMove           = (*session)(nil)
	_ imapserver.SessionUnauthenticate = (*session)(nil)
	_ imapserver.SessionAppendLimit    = (*session)(nil)
	_ imapserver.SessionMultiAppend    = (*session)(nil)
	_ imapserver.SessionQuota          = (*session)(nil)
	_ imapserver.SessionACL            = (*session)(nil)
	_ imapserver.SessionID             = (*session)(nil)
	_ imapserver.SessionCompress       = (*session)(nil)
	_ imapserver.SessionSearchContext  = (*session)(nil)
	_ imapserver.SessionNotify         = (*session)(nil)
	_ imapserver.SessionCatenate       = (*session)(nil)
	_ imapserver.SessionIdleWake       = (*countedSession)(nil)
)

func newSession(srv *Server, c *imapserver.Conn) *session {
	connLog := connlog.Of(c.NetConn(), srv.log)
	srv.connected(c)
	return &session{srv: srv, conn: c, remote: c.NetConn().RemoteAddr(), connLog: connLog, log: connLog.Logger()}
}

// ending logs why the server ends the session, for the disconnect line too; the caller then closes the connection.
func (s *session) ending(reason string) {
	s.log.Info(reason + ": closing the session")
	s.connLog.End(reason)
}

// Close implements imapserver.Session; the connection is gone.
func (s *session) Close() error {
	s.unselect()
	s.logout()
	s.stopCompressing()
	s.srv.disconnected(s.conn)
	return nil
}

// logout forgets the logged-in account.
func (s *session) logout() {
	s.stopNotify()
	if s.account != nil {
		s.srv.hub.loggedOut(s, s.account.ID)
		s.account = nil
	}
}

// AppendLimit implements imapserver.SessionAppendLimit (the APPENDLIMIT=n capability, RFC 7889).
func (s *session) AppendLimit() uint32 { return s.srv.appendLimit }

// Poll implements imapserver.Session: the library calls it after each command to flush queued updates.
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.sel != nil {
		if err := s.pollSelection(s.sel, w, allowExpunge); err != nil {
			return err
		}
	}
	return s.pollNotify(w, s.sel)
}

// pollSelection writes the queued updates of the selected mailbox (new keywords announced first), then those of
// its live searches, then RECENT.
func (s *session) pollSelection(sel *selection, w *imapserver.UpdateWriter, allowExpunge bool) error {
	if err := s.pollKeywords(w, sel); err != nil {
		return err
	}
	if err := sel.tracker.Poll(w, allowExpunge); err != nil {
		return err
	}
	if err := s.pollLiveSearches(sel, w); err != nil {
		return err
	}
	if !allowExpunge {
		return nil // RECENT waits for the poll that also reports the expunges, so that it counts what the client sees
	}
	return s.pollRecent(w, sel)
}

// IdleWake implements imapserver.SessionIdleWake (RFC 2177): the selected mailbox's changes and NOTIFY's events
// call wake, and the library polls. While nothing happens the session has no goroutine waiting; the library
// registers before its first poll, so an update that lands between the last command and IDLE, or during IDLE, is
// written at once.
func (s *session) IdleWake(wake func()) (stop func()) {
	sel, n := s.sel, s.notifier
	if sel != nil {
		sel.state.wakeOnChange(sel, wake)
	}
	if n != nil {
		n.setWake(wake)
	}
	return func() {
		if sel != nil {
			sel.state.stopWaking(sel)
		}
		if n != nil {
			n.setWake(nil)
		}
	}
}

// Idle implements imapserver.Session for a library that does not call IdleWake: it polls on the library's
// goroutine at each of IdleWake's wake-ups.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	woken := make(chan struct{}, 1)
	stopWaking := s.IdleWake(func() {
		select {
		case woken <- struct{}{}:
		default: // already woken
		}
	})
	defer stopWaking()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-woken:
		case <-stop:
			return nil
		}
	}
}

// selected returns the selected mailbox, refusing once the mailbox has been deleted under the session. For a shared
// mailbox it reads the grant again, so a revoke ends access at the next command and sel.canWrite follows the
// current rights.
func (s *session) selected() (*selection, error) {
	sel := s.sel
	if sel == nil {
		return nil, errNotSelectedBug
	}
	if sel.state.isDeleted() {
		return nil, errMailboxGone
	}
	if sel.ref.isShared() {
		rights, err := s.sharedRights(sel.ref.shared)
		if err != nil {
			return nil, s.storeError("shared rights", err)
		}
		if rights == 0 {
			return nil, errAccessRevoked
		}
		sel.canWrite = !sel.examined && rights&store.RightWrite != 0
	}
	return sel, nil
}

// writable is selected for commands that change the mailbox, which EXAMINE and a read-only grant forbid.
func (s *session) writable() (*selection, error) {
	sel, err := s.selected()
	if err != nil {
		return nil, err
	}
	return sel, sel.readOnlyError()
}

// origin is what the session passes to the store with a change; see mailboxState.apply.
func (s *session) origin() any {
	if s.sel == nil {
		return nil
	}
	return s.sel
}

func (s *session) unselect() {
	s.setSelection(nil)
}

// setSelection replaces the selection, leaving the previous mailbox's live state.
func (s *session) setSelection(sel *selection) {
	s.selMu.Lock()
	old := s.sel
	s.sel = sel
	s.selMu.Unlock()
	if old != nil {
		s.keepRecentMark(old.mailbox.ID, s.srv.hub.detach(old))
	}
}

// accountID is the logged-in account; the library only calls authenticated-state methods after Login.
func (s *session) accountID() uint64 { return s.account.ID }
