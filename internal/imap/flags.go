package imap

import (
	"slices"
	"strings"
	"unsafe"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/store"
)

// systemFlags are the flags every mailbox offers (RFC 9051 2.3.2); keywords used in a mailbox are added to them.
var systemFlags = []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft}

// Store implements imapserver.Session for STORE and UID STORE with FLAGS, +FLAGS, -FLAGS and .SILENT (RFC 3501
// 6.4.6). Other sessions learn of the change from the store's listener; this one writes its FETCH responses itself
// (and nothing with .SILENT), so the listener skips it.
//
// With UNCHANGEDSINCE, messages changed since are left alone and reported as MODIFIED (RFC 7162 3.1.3); once
// CONDSTORE is enabled, every FETCH response carries MODSEQ, and is sent even with .SILENT so that the client
// learns the new modseq, with FLAGS as well: the flags as of that modseq may hold another session's change that
// the client has not seen yet.
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	sel, err := s.writable()
	if err != nil {
		return err
	}
	refs := sel.resolve(numSet)
	if len(refs) == 0 {
		return nil
	}
	op := store.FlagsReplace
	switch flags.Op {
	case imap.StoreFlagsAdd:
		op = store.FlagsAdd
	case imap.StoreFlagsDel:
		op = store.FlagsRemove
	}
	unchangedSince := store.NoModSeqCondition
	if options != nil && options.UnchangedSince != 0 {
		unchangedSince = options.UnchangedSince
	}
	changed, modified, err := s.srv.store.SetFlagsUnchangedSince(sel.mailbox.ID, refUIDs(refs), op,
		flagStrings(flags.Flags), unchangedSince, sel)
	if err != nil {
		return s.storeError("store", err)
	}
	_, withUID := numSet.(imap.UIDSet)
	if len(modified) > 0 {
		w.SetModified(modifiedSet(modified, refs, withUID))
	}
	enabled := s.conn.EnabledCaps()
	condStore := enabled.Has(imap.CapCondStore)
	if flags.Silent && !condStore {
		return nil
	}
	// changed follows refs' order, leaving some out: each one's sequence number is found walking refs along.
	at := 0
	var shown shownFlagsMemo
	for _, fc := range changed {
		for at < len(refs) && refs[at].uid != fc.UID {
			at++
		}
		if at == len(refs) {
			break
		}
		if err := s.announceKeywords(w, sel, fc.Flags); err != nil {
			return err
		}
		resp := w.CreateMessage(refs[at].seq)
		if withUID || condStore {
			resp.WriteUID(imap.UID(fc.UID))
		}
		resp.WriteFlags(shown.flags(sel, enabled, fc.UID, fc.Flags))
		s.sentFlags(fc.UID, fc.ModSeq)
		if condStore {
			resp.WriteModSeq(fc.ModSeq)
		}
		if err := resp.Close(); err != nil {
			return err
		}
	}
	return nil
}

// shownFlagsMemo remembers the last list shownFlags made: the store shares one flag list among the messages with
// the same system flags and no keyword, and a STORE 1:* would otherwise copy it, with \Recent added, for each.
type shownFlagsMemo struct {
	from   []string
	recent bool
	shown  []imap.Flag
	valid  bool
}

func (m *shownFlagsMemo) flags(sel *selection, enabled imap.CapSet, uid uint32, flags []string) []imap.Flag {
	recent := sel.recent.has(uid)
	if m.valid && recent == m.recent && len(flags) == len(m.from) && unsafe.SliceData(flags) == unsafe.SliceData(m.from) {
		return m.shown
	}
	*m = shownFlagsMemo{from: flags, recent: recent, shown: shownFlags(sel, enabled, uid, flags), valid: true}
	return m.shown
}

func seqByUID(refs []msgRef) map[uint32]uint32 {
	m := make(map[uint32]uint32, len(refs))
	for _, r := range refs {
		m[r.uid] = r.seq
	}
	return m
}

// flagStrings converts flags for the store, dropping \Recent, which only the server may set.
func flagStrings(flags []imap.Flag) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if !isRecentFlag(f) {
			out = append(out, string(f))
		}
	}
	return out
}

func imapFlags(flags []string) []imap.Flag {
	out := make([]imap.Flag, len(flags))
	for i, f := range flags {
		out[i] = imap.Flag(f)
	}
	return out
}

// hasFlag compares case-insensitively, as flags are (RFC 3501 2.3.2).
func hasFlag(flags []string, f imap.Flag) bool {
	for _, have := range flags {
		if strings.EqualFold(have, string(f)) {
			return true
		}
	}
	return false
}

// announceKeywords writes FLAGS and PERMANENTFLAGS with every keyword of the mailbox before a FETCH response
// whose flags hold a keyword the client has not been shown yet: one this session's own STORE or APPEND just used
// for the first time, or one another session's commit added after this session last read FLAGS. The FLAGS update
// the live state queued for it is only written after the command, too late for this FETCH; it then repeats the
// list, which does no harm.
func (s *session) announceKeywords(w *imapserver.FetchWriter, sel *selection, flags []string) error {
	if !sel.hasUnannounced(flags) {
		return nil
	}
	keywords := sel.state.currentKeywords()
	for _, f := range flags {
		// The commit that added it may not have reached the live state yet.
		if isKeyword(f) && !slices.ContainsFunc(keywords, func(k string) bool { return strings.EqualFold(k, f) }) {
			keywords = append(keywords, f)
		}
	}
	flagList, permanent := sel.announce(keywords)
	return w.WriteMailboxFlags(flagList, permanent)
}

// pollKeywords writes FLAGS and PERMANENTFLAGS after another session's commit added a keyword, before the updates
// of the poll; the FLAGS update the live state queued only carries FLAGS (RFC 3501 7.1: PERMANENTFLAGS).
func (s *session) pollKeywords(w *imapserver.UpdateWriter, sel *selection) error {
	keywords := sel.state.currentKeywords()
	if !sel.hasUnannounced(keywords) {
		return nil
	}
	flagList, permanent := sel.announce(keywords)
	if err := w.WriteMailboxFlags(flagList); err != nil {
		return err
	}
	return w.WritePermanentFlags(permanent)
}

// announce records that the client is told of keywords, and returns the FLAGS and PERMANENTFLAGS lists that tell
// it: PERMANENTFLAGS is empty when the session may not change the mailbox.
func (sel *selection) announce(keywords []string) (flagList, permanent []imap.Flag) {
	// A keyword once shown stays in every later FLAGS: the list read from the live state may be older than one this
	// session showed from its own commit, and a client drops the keywords a new FLAGS leaves out (RFC 9051 7.3.5).
	for lower, spelling := range sel.announced {
		if !slices.ContainsFunc(keywords, func(k string) bool { return strings.ToLower(k) == lower }) {
			keywords = append(keywords, spelling)
		}
	}
	sel.markAnnounced(keywords)
	mb := store.Mailbox{Keywords: keywords}
	permanent = []imap.Flag{}
	if sel.canWrite {
		permanent = append(mailboxFlags(mb), imap.FlagWildcard)
	}
	return mailboxFlags(mb), permanent
}

// withAnnounced is the FLAGS list of an update queued from a commit, with the keywords this session has shown
// since added back (the tracker's filter, run on the session goroutine): the update may come from a commit older
// than the one this session's own STORE announced.
func (sel *selection) withAnnounced(flags []imap.Flag) []imap.Flag {
	var keywords []string
	for _, f := range flags {
		if isKeyword(string(f)) {
			keywords = append(keywords, string(f))
		}
	}
	flagList, _ := sel.announce(keywords)
	return flagList
}

// hasUnannounced reports whether flags hold a keyword the client has not seen in FLAGS.
func (sel *selection) hasUnannounced(flags []string) bool {
	for _, f := range flags {
		if !isKeyword(f) {
			continue // a system flag: no lower-case copy made for every message of a STORE or FETCH
		}
		if _, shown := sel.announced[strings.ToLower(f)]; !shown {
			return true
		}
	}
	return false
}

func (sel *selection) markAnnounced(keywords []string) {
	for _, k := range keywords {
		sel.announced[strings.ToLower(k)] = k
	}
}

// isKeyword tells keywords from system flags, which start with a backslash (RFC 3501 2.3.2).
func isKeyword(flag string) bool { return !strings.HasPrefix(flag, `\`) }

// mailboxFlags is the FLAGS response of a mailbox: system flags and the keywords in use.
func mailboxFlags(mb store.Mailbox) []imap.Flag {
	out := append([]imap.Flag(nil), systemFlags...)
	for _, k := range mb.Keywords {
		out = append(out, imap.Flag(k))
	}
	return out
}
