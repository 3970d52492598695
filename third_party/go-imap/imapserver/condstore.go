package imapserver

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// canEnableModSeqCap reports whether the session supports CONDSTORE or
// QRESYNC, which ENABLE may then turn on.
func (c *Conn) canEnableModSeqCap(cap imap.Cap) bool {
	switch cap {
	case imap.CapCondStore:
		_, ok := c.session.(SessionCondStore)
		return ok
	case imap.CapQResync:
		_, ok := c.session.(SessionQResync)
		return ok
	}
	return false
}

func (c *Conn) isEnabled(cap imap.Cap) bool {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.enabled.Has(cap)
}

// enableCondStore turns CONDSTORE on for a CONDSTORE-enabling command. The
// first time, with a mailbox selected, it reports the mailbox's HIGHESTMODSEQ
// (RFC 7162 section 3.1).
func (c *Conn) enableCondStore() error {
	session, ok := c.session.(SessionCondStore)
	if !ok {
		return newClientBugError("CONDSTORE is not supported")
	}
	c.mutex.Lock()
	already := c.enabled.Has(imap.CapCondStore)
	c.enabled[imap.CapCondStore] = struct{}{}
	c.mutex.Unlock()
	if already || c.state != imap.ConnStateSelected {
		return nil
	}
	highestModSeq, err := session.HighestModSeq()
	if err != nil {
		return err
	}
	return c.writeHighestModSeq(highestModSeq)
}

// writeHighestModSeq writes the HIGHESTMODSEQ response code, or NOMODSEQ for
// a mailbox without modseqs (RFC 7162 section 3.1.2).
func (c *Conn) writeHighestModSeq(highestModSeq uint64) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("OK").SP()
	if highestModSeq == 0 {
		enc.Special('[').Atom("NOMODSEQ").Special(']').SP().Text("No permanent modsequences")
	} else {
		enc.Special('[').Atom("HIGHESTMODSEQ").SP().ModSeq(highestModSeq).Special(']').SP().Text("Highest")
	}
	return enc.CRLF()
}

// readSelectParams reads the optional parameters of SELECT and EXAMINE:
// CONDSTORE and QRESYNC (RFC 7162 sections 3.1.8 and 3.2.5).
func readSelectParams(dec *imapwire.Decoder, options *imap.SelectOptions) error {
	if !dec.SP() {
		return nil
	}
	return dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "CONDSTORE":
			options.CondStore = true
		case "QRESYNC":
			options.QResync = &imap.SelectQResync{}
			if !dec.ExpectSP() {
				return dec.Err()
			}
			return readQResyncParam(dec, options.QResync)
		default:
			return newClientBugError("Unknown SELECT parameter")
		}
		return nil
	})
}

// readQResyncParam reads "(uidvalidity modseq [known-uids [seq-match-data]])".
func readQResyncParam(dec *imapwire.Decoder, q *imap.SelectQResync) error {
	if !dec.ExpectSpecial('(') || !dec.ExpectNumber(&q.UIDValidity) || !dec.ExpectSP() || !dec.ExpectModSeq(&q.ModSeq) {
		return dec.Err()
	}
	if q.UIDValidity == 0 || q.ModSeq == 0 {
		return newClientBugError("QRESYNC needs a non-zero UIDVALIDITY and mod-sequence")
	}
	if dec.SP() {
		isList, err := dec.List(func() error { return readSeqMatch(dec, q) })
		if err != nil {
			return err
		}
		if !isList {
			if !dec.ExpectUIDSet(&q.KnownUIDs) {
				return dec.Err()
			}
			if dec.SP() {
				if err := dec.ExpectList(func() error { return readSeqMatch(dec, q) }); err != nil {
					return err
				}
			}
		}
	}
	if !dec.ExpectSpecial(')') {
		return dec.Err()
	}
	return nil
}

// readSeqMatch reads the inside of "(known-sequence-set known-uid-set)".
func readSeqMatch(dec *imapwire.Decoder, q *imap.SelectQResync) error {
	var seqNums imap.NumSet
	var uids imap.UIDSet
	if !dec.ExpectNumSet(imapwire.NumKindSeq, &seqNums) || !dec.ExpectSP() || !dec.ExpectUIDSet(&uids) {
		return dec.Err()
	}
	seqSet, ok := seqNums.(imap.SeqSet)
	if !ok {
		return newClientBugError("Invalid sequence match data")
	}
	q.SeqMatch = &imap.SelectSeqMatch{SeqNums: seqSet, UIDs: uids}
	return nil
}

// writeSelectModSeq writes HIGHESTMODSEQ and, after SELECT with QRESYNC, the
// session's resynchronisation responses, before the tagged OK of SELECT.
func (c *Conn) writeSelectModSeq(data *imap.SelectData, options *imap.SelectOptions) error {
	if _, ok := c.session.(SessionCondStore); !ok {
		return nil
	}
	if err := c.writeHighestModSeq(data.HighestModSeq); err != nil {
		return err
	}
	if options.QResync == nil {
		return nil
	}
	return c.session.(SessionQResync).Resync(&FetchWriter{conn: c, batch: true})
}

// checkQResyncParam refuses QRESYNC parameters before ENABLE QRESYNC (RFC
// 7162 section 3.2.5).
func (c *Conn) checkQResyncParam(options *imap.SelectOptions) error {
	if options.QResync != nil && !c.isEnabled(imap.CapQResync) {
		return newClientBugError("QRESYNC is not enabled")
	}
	return nil
}

// readStoreModifiers reads the optional "(UNCHANGEDSINCE n)" of STORE (RFC
// 7162 section 3.1.3), followed by SP, and reports whether it was there.
func readStoreModifiers(dec *imapwire.Decoder, options *imap.StoreOptions) (bool, error) {
	isList, err := dec.List(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		if !strings.EqualFold(name, "UNCHANGEDSINCE") {
			return newClientBugError("Unknown STORE modifier")
		}
		if !dec.ExpectSP() || !dec.ExpectModSeq(&options.UnchangedSince) {
			return dec.Err()
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if isList && !dec.ExpectSP() {
		return false, dec.Err()
	}
	return isList, nil
}

// writeStoreOK writes the tagged OK of STORE, with MODIFIED when STORE
// UNCHANGEDSINCE left messages alone (RFC 7162 section 3.1.3).
func (c *Conn) writeStoreOK(tag, name string, w *FetchWriter) error {
	if err := c.poll(name); err != nil {
		return err
	}
	resp := &imap.StatusResponse{Type: imap.StatusResponseTypeOK, Text: name + " completed"}
	if w.modified != nil && !isNumSetEmpty(w.modified) {
		resp.Code = imap.ResponseCode("MODIFIED " + w.modified.String())
		resp.Text = "Conditional " + name + " failed"
	}
	return c.writeStatusResp(tag, resp)
}

// SetModified records the messages that STORE with UNCHANGEDSINCE did not
// change because their mod-sequence is higher: the tagged OK reports them as
// MODIFIED (RFC 7162 section 3.1.3).
func (cmd *FetchWriter) SetModified(numSet imap.NumSet) {
	cmd.modified = numSet
}

// readFetchModifiers reads the optional "(CHANGEDSINCE n [VANISHED])" of
// FETCH (RFC 7162 sections 3.1.4 and 3.2.6).
func readFetchModifiers(dec *imapwire.Decoder, options *imap.FetchOptions) error {
	if !dec.SP() {
		return nil
	}
	return dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "CHANGEDSINCE":
			if !dec.ExpectSP() || !dec.ExpectModSeq(&options.ChangedSince) {
				return dec.Err()
			}
		case "VANISHED":
			options.Vanished = true
		default:
			return newClientBugError("Unknown FETCH modifier")
		}
		return nil
	})
}

// checkFetchModSeq enables CONDSTORE for a FETCH of MODSEQ or with
// CHANGEDSINCE, which implies MODSEQ (RFC 7162 section 3.1.4.1), and checks
// VANISHED: UID FETCH only, with CHANGEDSINCE, after ENABLE QRESYNC (RFC 7162
// section 3.2.6).
func (c *Conn) checkFetchModSeq(numKind NumKind, options *imap.FetchOptions) error {
	if options.Vanished && (numKind != NumKindUID || options.ChangedSince == 0 || !c.isEnabled(imap.CapQResync)) {
		return newClientBugError("VANISHED needs UID FETCH, CHANGEDSINCE and QRESYNC enabled")
	}
	if options.ChangedSince != 0 {
		options.ModSeq = true
	}
	if !options.ModSeq {
		return nil
	}
	return c.enableCondStore()
}

// WriteModSeq writes the message's mod-sequence.
func (w *FetchResponseWriter) WriteModSeq(modSeq uint64) {
	w.writeItemSep()
	w.enc.Atom("MODSEQ").SP().Special('(').ModSeq(modSeq).Special(')')
}

// WriteVanishedEarlier writes a VANISHED (EARLIER) response: UIDs of
// messages expunged before now that the client may still have cached (RFC
// 7162 section 3.2.10), for UID FETCH with VANISHED and SELECT with QRESYNC.
// An empty set writes nothing.
func (cmd *FetchWriter) WriteVanishedEarlier(uids imap.UIDSet) error {
	if len(uids) == 0 {
		return nil
	}
	enc := newResponseEncoder(cmd.conn)
	defer enc.end()
	enc.Atom("*").SP().Atom("VANISHED").SP().Special('(').Atom("EARLIER").Special(')').SP().NumSet(uids)
	return enc.CRLF()
}

// writeExpungeUID reports an expunge as VANISHED once the client enabled
// QRESYNC (RFC 7162 section 3.2.10), else as EXPUNGE; uid 0 (not known)
// always as EXPUNGE.
func (c *Conn) writeExpungeUID(seqNum uint32, uid imap.UID) error {
	if uid == 0 || !c.isEnabled(imap.CapQResync) {
		return c.writeExpunge(seqNum)
	}
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("VANISHED").SP().UID(uid)
	return enc.CRLF()
}

// WriteExpungeUID notifies the client that the message with the provided
// sequence number and UID has been deleted: as VANISHED once the client has
// enabled QRESYNC, else as EXPUNGE.
func (w *ExpungeWriter) WriteExpungeUID(seqNum uint32, uid imap.UID) error {
	if w.conn == nil {
		return nil
	}
	return w.conn.writeExpungeUID(seqNum, uid)
}

// WriteExpungeUID writes the expunge of a moved message: as VANISHED once the
// client has enabled QRESYNC, else as EXPUNGE.
func (w *MoveWriter) WriteExpungeUID(seqNum uint32, uid imap.UID) error {
	return w.conn.writeExpungeUID(seqNum, uid)
}

// writeExpungeUID is WriteExpunge as VANISHED once the client has enabled
// QRESYNC.
func (w *UpdateWriter) writeExpungeUID(seqNum uint32, uid imap.UID) error {
	if !w.allowExpunge {
		return w.WriteExpunge(seqNum) // refused
	}
	return w.conn.writeExpungeUID(seqNum, uid)
}

// vanishedRun is how many updates at the start of updates are expunges that
// may go out together as one VANISHED: QRESYNC is enabled, expunges are
// allowed now, and each expunge names its UID. Zero or one means none.
func (w *UpdateWriter) vanishedRun(updates []trackerUpdate) int {
	if !w.allowExpunge || !w.conn.isEnabled(imap.CapQResync) {
		return 0
	}
	n := 0
	for n < len(updates) && updates[n].expunge != 0 && updates[n].expungeUID != 0 {
		n++
	}
	return n
}

// writeVanished writes the expunges of updates as one VANISHED response.
func (w *UpdateWriter) writeVanished(updates []trackerUpdate) error {
	var uids imap.UIDSet
	for _, update := range updates {
		uids.AddNum(update.expungeUID)
	}
	enc := newResponseEncoder(w.conn)
	defer enc.end()
	enc.Atom("*").SP().Atom("VANISHED").SP().NumSet(uids)
	return enc.CRLF()
}

// writeMessageFlagsModSeq writes an unsolicited FETCH of a message's new
// flags, with its mod-sequence once the client has enabled CONDSTORE (RFC
// 7162 section 3.1.2) and modSeq is known. With more, the response stays in
// the buffer for the next one, which must flush it.
func (w *UpdateWriter) writeMessageFlagsModSeq(seqNum uint32, uid imap.UID, flags []imap.Flag, modSeq uint64, more bool) error {
	respWriter := (&FetchWriter{conn: w.conn, batch: more}).CreateMessage(seqNum)
	if uid != 0 {
		respWriter.WriteUID(uid)
	}
	respWriter.WriteFlags(flags)
	if modSeq != 0 && w.conn.isEnabled(imap.CapCondStore) {
		respWriter.WriteModSeq(modSeq)
	}
	return respWriter.Close()
}

// readSearchModSeq reads the arguments of the MODSEQ search key:
// [entry-name entry-type-req] mod-sequence-valzer (RFC 7162 section 3.1.5).
func readSearchModSeq(dec *imapwire.Decoder, criteria *imap.SearchCriteria) error {
	modSeq := &imap.SearchCriteriaModSeq{}
	if !dec.ExpectSP() {
		return dec.Err()
	}
	if dec.Quoted(&modSeq.MetadataName) {
		var entryType string
		if !dec.ExpectSP() || !dec.ExpectAtom(&entryType) || !dec.ExpectSP() {
			return dec.Err()
		}
		modSeq.MetadataType = imap.SearchCriteriaMetadataType(strings.ToLower(entryType))
		switch modSeq.MetadataType {
		case imap.SearchCriteriaMetadataAll, imap.SearchCriteriaMetadataPrivate, imap.SearchCriteriaMetadataShared:
		default:
			return newClientBugError("Unknown MODSEQ entry type")
		}
	}
	if !dec.ExpectModSeq(&modSeq.ModSeq) {
		return dec.Err()
	}
	if criteria.ModSeq == nil || modSeq.ModSeq > criteria.ModSeq.ModSeq {
		criteria.ModSeq = modSeq // both must hold: the higher bound wins
	}
	return nil
}

// searchUsesModSeq reports whether the criteria have a MODSEQ key anywhere,
// which makes SEARCH a CONDSTORE-enabling command (RFC 7162 section 3.1).
func searchUsesModSeq(criteria *imap.SearchCriteria) bool {
	if criteria.ModSeq != nil {
		return true
	}
	for i := range criteria.Not {
		if searchUsesModSeq(&criteria.Not[i]) {
			return true
		}
	}
	for i := range criteria.Or {
		if searchUsesModSeq(&criteria.Or[i][0]) || searchUsesModSeq(&criteria.Or[i][1]) {
			return true
		}
	}
	return false
}
