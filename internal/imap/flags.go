package imap

import (
	"strings"

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
	condStore := s.condStore()
	if flags.Silent && !condStore {
		return nil
	}
	seqs := seqByUID(refs)
	for _, fc := range changed {
		resp := w.CreateMessage(seqs[fc.UID])
		if withUID || condStore {
			resp.WriteUID(imap.UID(fc.UID))
		}
		resp.WriteFlags(imapFlags(fc.Flags))
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
		if !strings.EqualFold(string(f), `\Recent`) {
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

// mailboxFlags is the FLAGS response of a mailbox: system flags and the keywords in use.
func mailboxFlags(mb store.Mailbox) []imap.Flag {
	out := append([]imap.Flag(nil), systemFlags...)
	for _, k := range mb.Keywords {
		out = append(out, imap.Flag(k))
	}
	return out
}
