package imap

import (
	"bytes"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// fetchBatch is how many messages one store read covers, and fetchBatchBytes about how many section bytes it
// prepares at most (one message more than that). A batch's messages are read and their sections prepared in one
// read transaction, which is closed before the first of their responses is written: a slow client never holds a
// transaction open, and what a batch holds in memory stays bounded whatever the messages are.
const (
	fetchBatch      = 256
	fetchBatchBytes = 4 << 20
)

// fetchPlan is what a FETCH command needs from each message, worked out once.
type fetchPlan struct {
	opts     *imap.FetchOptions
	meta     bool        // the stored parse result is needed, decoded
	shape    bool        // ENVELOPE or BODYSTRUCTURE: written from the stored parse result as it is stored
	header   bool        // only the root header's place is needed (sections of the root header alone)
	body     bool        // some item reads the body's bytes
	markSeen bool        // a BODY[...] or BINARY[...] without PEEK in a mailbox the session may change (RFC 3501 6.4.5)
	enabled  imap.CapSet // the client's enabled extensions, read once per command (no command changes them midway)
	shapes   *message.StructureWriter
}

func newFetchPlan(opts *imap.FetchOptions, readOnly bool) fetchPlan {
	p := fetchPlan{opts: opts}
	p.meta = len(opts.BinarySection) > 0 || len(opts.BinarySectionSize) > 0
	p.shape = opts.Envelope || opts.BodyStructure != nil
	for _, sec := range opts.BodySection {
		switch {
		case isRootHeader(sec):
			p.header = true
		case !isWholeMessage(sec):
			p.meta = true
		}
		p.markSeen = p.markSeen || !sec.Peek
	}
	p.header = p.header && !p.meta
	for _, sec := range opts.BinarySection {
		p.markSeen = p.markSeen || !sec.Peek
	}
	p.markSeen = p.markSeen && !readOnly
	p.body = len(opts.BodySection) > 0 || len(opts.BinarySection) > 0 || len(opts.BinarySectionSize) > 0
	return p
}

// Fetch implements imapserver.Session for FETCH and UID FETCH. Everything comes from the stored entry and parse
// result plus byte-range reads of the body; the message is never parsed again. No lock is held while writing.
// maxFetchSections bounds the body sections of one FETCH. Each is read whole before the response is written, and
// the library does not merge repeated ones, so a short command naming the same large section thousands of times
// would otherwise hold thousands of copies in memory. Clients ask for a handful.
const maxFetchSections = 64

func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	sel, err := s.selected()
	if err != nil {
		return err
	}
	if len(options.BodySection)+len(options.BinarySection)+len(options.BinarySectionSize) > maxFetchSections {
		return errTooManySections
	}
	if options.Vanished {
		if err := s.writeVanishedForFetch(w, sel, numSet, options.ChangedSince); err != nil {
			return err
		}
	}
	plan := newFetchPlan(options, !sel.canWrite)
	if plan.uidOnly() {
		return fetchUIDs(w, sel.resolve(numSet))
	}
	return s.fetchRefs(w, sel, sel.resolve(numSet), plan)
}

// uidOnly reports whether the command asks for nothing but UIDs, which the selection holds.
func (p fetchPlan) uidOnly() bool {
	o := p.opts
	return o.UID && !o.Flags && !o.ModSeq && !o.InternalDate && !o.RFC822Size && !o.Envelope &&
		o.BodyStructure == nil && !p.body && o.ChangedSince == 0
}

// fetchUIDs answers a FETCH of UID alone from the selection, without reading the store. A message another session
// expunged whose expunge this session has not announced yet still gets its response, which RFC 3501 7.4.1 allows
// (the store path leaves it out, which it allows as well).
func fetchUIDs(w *imapserver.FetchWriter, refs []msgRef) error {
	for _, r := range refs {
		resp := w.CreateMessage(r.seq)
		resp.WriteUID(imap.UID(r.uid))
		if err := resp.Close(); err != nil {
			return err
		}
	}
	return nil
}

// fetchRefs writes the FETCH responses of refs, in batches, leaving out those unchanged since CHANGEDSINCE.
func (s *session) fetchRefs(w *imapserver.FetchWriter, sel *selection, refs []msgRef, plan fetchPlan) error {
	reuse := &fetchedBatch{} // what a batch held, reused by the next one once its responses are written
	plan.enabled = s.conn.EnabledCaps()
	plan.shapes = &message.StructureWriter{}
	// A FETCH of more than one batch gives way to writes of others (a stream of deliveries to the mailbox it
	// reads, say) after each batch but the last, resting several times as long as the batch took (store/pace.go):
	// the deliveries get the CPU the FETCH would take from them, and an interactive FETCH of a few messages never
	// waits.
	pacer := s.srv.store.PaceRead()
	batchStart, ownWrites := time.Now(), 0
	for start := 0; start < len(refs); {
		if start > 0 {
			pacer.GiveWay(time.Since(batchStart), ownWrites)
			batchStart, ownWrites = time.Now(), 0
		}
		batch := refs[start:min(start+fetchBatch, len(refs))]
		fb, prepErr := s.readBatch(sel, refUIDs(batch), plan, reuse)
		if fb == nil {
			return prepErr
		}
		start += fb.done
		var changed map[uint32]bool
		var err error
		if plan.markSeen {
			if changed, err = s.markSeen(sel, fb.msgs); err != nil {
				return err
			}
			if changed != nil {
				ownWrites = 1 // markSeen's commit: the FETCH must not give way to itself
			}
		}
		if err := s.writeBatch(w, sel, seqByUID(batch[:fb.done]), fb, plan, changed); err != nil {
			return err
		}
		if prepErr != nil {
			return prepErr // after the responses of the messages before the one that failed
		}
		reuse = fb
	}
	return nil
}

// fetchedBatch is a batch of messages read, with their sections prepared, in one read transaction.
type fetchedBatch struct {
	msgs   []store.Message // Meta, Text and ShortHeader left out; Trace copied
	bodies []*preparedBody // one per message
	done   int             // how many of the UIDs asked for it covers
	arena  []byte          // backs the prepared sections
}

// readBatch reads the messages of uids, as many as fetchBatchBytes allows, and prepares everything their responses
// need but a large whole-message literal (streamed afterwards) while the transaction lasts, in the memory of the
// batch before, whose responses are written. A message whose sections cannot be prepared ends the batch before it,
// with the error.
func (s *session) readBatch(sel *selection, uids []uint32, plan fetchPlan, reuse *fetchedBatch) (*fetchedBatch, error) {
	fb := &fetchedBatch{arena: reuse.arena[:0], msgs: reuse.msgs[:0], bodies: reuse.bodies[:0]}
	if fb.msgs == nil {
		fb.msgs = make([]store.Message, 0, len(uids))
		fb.bodies = make([]*preparedBody, 0, len(uids))
	}
	prepared := 0
	var prepErr error
	opts := store.FetchOptions{Meta: plan.meta || plan.shape, Header: plan.header}
	done, err := s.srv.store.ViewMessages(sel.mailbox.ID, uids, opts, func(m *store.Message, body *store.BodyView) (bool, error) {
		if since := plan.opts.ChangedSince; since != 0 && m.ModSeq <= since {
			return true, nil
		}
		pb, err := s.prepareBody(m, body, plan, &fb.arena)
		if err != nil {
			prepErr = err
			return false, nil
		}
		msg := *m
		msg.Trace = bytes.Clone(m.Trace)
		msg.Meta, msg.Text, msg.ShortHeader = nil, nil, nil
		fb.msgs = append(fb.msgs, msg)
		fb.bodies = append(fb.bodies, pb)
		prepared += pb.size()
		return prepared < fetchBatchBytes, nil
	})
	if err != nil {
		return nil, s.storeError("fetch", err)
	}
	fb.done = done
	return fb, prepErr
}

// writeBatch writes the responses of one batch. A large whole-message literal is read chunk by chunk outside any
// store transaction, so its body is pinned first: another session expunging the message meanwhile cannot pull its
// chunks away mid-literal. A message expunged before the pin is left out, which RFC 3501 7.4.1 allows for a
// message the client still sees.
func (s *session) writeBatch(w *imapserver.FetchWriter, sel *selection, seqs map[uint32]uint32, fb *fetchedBatch, plan fetchPlan, changed map[uint32]bool) error {
	present, release := s.pinStreamed(fb)
	defer release()
	for i := range fb.msgs {
		if !present[i] {
			continue
		}
		m := &fb.msgs[i]
		if err := s.fetchMessage(w, sel, seqs[m.UID], m, fb.bodies[i], plan, changed[m.UID]); err != nil {
			return err
		}
	}
	return nil
}

// pinStreamed pins the bodies of the messages with a section to stream; present is false for those already gone.
func (s *session) pinStreamed(fb *fetchedBatch) (present []bool, release func()) {
	var ids []store.BodyID
	var at []int
	for i, b := range fb.bodies {
		if b.streams() {
			ids = append(ids, fb.msgs[i].Body)
			at = append(at, i)
		}
	}
	present = make([]bool, len(fb.msgs))
	for i := range present {
		present[i] = true
	}
	if len(ids) == 0 {
		return present, func() {}
	}
	pinned, release := s.srv.store.PinBodies(ids)
	for k, i := range at {
		present[i] = pinned[k]
	}
	return present, release
}

// markSeen sets \Seen on the messages that lack it and updates their flags in msgs; it returns the UIDs changed,
// whose FETCH responses then carry FLAGS. Other sessions hear of it through the store's listener.
func (s *session) markSeen(sel *selection, msgs []store.Message) (map[uint32]bool, error) {
	var unseen []uint32
	for _, m := range msgs {
		if !hasFlag(m.Flags, imap.FlagSeen) {
			unseen = append(unseen, m.UID)
		}
	}
	if len(unseen) == 0 {
		return nil, nil
	}
	result, err := s.srv.store.SetFlags(sel.mailbox.ID, unseen, store.FlagsAdd, []string{string(imap.FlagSeen)}, sel)
	if err != nil {
		return nil, s.storeError("fetch", err)
	}
	flags := make(map[uint32]store.FlagChange, len(result))
	for _, fc := range result {
		flags[fc.UID] = fc
	}
	changed := make(map[uint32]bool, len(result))
	for i := range msgs {
		if fc, ok := flags[msgs[i].UID]; ok {
			msgs[i].Flags, msgs[i].ModSeq = fc.Flags, fc.ModSeq
			changed[msgs[i].UID] = true
		}
	}
	return changed, nil
}

// fetchMessage writes one FETCH response. Everything but a large whole-message literal is prepared before the
// response starts, so a failure (say an unknown transfer encoding for BINARY) becomes a clean tagged NO.
func (s *session) fetchMessage(w *imapserver.FetchWriter, sel *selection, seq uint32, m *store.Message, body *preparedBody, plan fetchPlan, flagsChanged bool) error {
	o := plan.opts
	enabled := plan.enabled
	condStore := enabled.Has(imap.CapCondStore)
	if o.Flags || flagsChanged || o.ModSeq {
		if err := s.announceKeywords(w, sel, m.Flags); err != nil {
			return err
		}
	}
	resp := w.CreateMessage(seq)
	// UID with an implicit \Seen once CONDSTORE is enabled (RFC 7162 3.1), always once QRESYNC is (RFC 7162 3.2)
	if o.UID || flagsChanged && condStore || enabled.Has(imap.CapQResync) {
		resp.WriteUID(imap.UID(m.UID))
	}
	// MODSEQ never goes without FLAGS: a client seeing a modseq must have the flags as of it, or a flag update
	// queued before would look like a step back.
	withFlags := o.Flags || flagsChanged || o.ModSeq
	if withFlags {
		resp.WriteFlags(shownFlags(sel, enabled, m.UID, m.Flags))
		s.sentFlags(m.UID, m.ModSeq)
	}
	if o.ModSeq || withFlags && condStore {
		resp.WriteModSeq(m.ModSeq)
	}
	if o.InternalDate {
		resp.WriteInternalDate(m.InternalDate)
	}
	if o.RFC822Size {
		resp.WriteRFC822Size(m.Size)
	}
	if o.Envelope {
		body.writeEnvelope(resp, plan.shapes)
	}
	if o.BodyStructure != nil {
		body.writeStructure(resp, plan.shapes, m.Size)
	}
	if err := s.writeSections(resp, m, body, o); err != nil {
		// The response is cut short, and the error ends the command; closing it still releases the connection's
		// writer, which the end of the command waits for (a client that stopped reading would otherwise hold
		// its connection and goroutine for ever once a write timed out mid-literal).
		resp.Close()
		return err
	}
	return resp.Close()
}

// writeSections writes the BODY[...] and BINARY items, streaming large whole-message literals from the store.
func (s *session) writeSections(resp *imapserver.FetchResponseWriter, m *store.Message, body *preparedBody, o *imap.FetchOptions) error {
	for i, sec := range o.BodySection {
		part := body.sections[i]
		lw := resp.WriteBodySection(sec, part.size())
		if err := s.writeSection(lw, m, part); err != nil {
			return err
		}
		if err := lw.Close(); err != nil {
			return err
		}
	}
	for i, sec := range o.BinarySection {
		lw := resp.WriteBinarySection(sec, int64(len(body.binaries[i])))
		if _, err := lw.Write(body.binaries[i]); err != nil {
			return err
		}
		if err := lw.Close(); err != nil {
			return err
		}
	}
	for i, sec := range o.BinarySectionSize {
		resp.WriteBinarySectionSize(sec, body.binarySizes[i])
	}
	return nil
}

// writeEnvelope and writeStructure write the ENVELOPE and the BODY or BODYSTRUCTURE straight from the stored parse
// result when the StructureWriter takes it (every record the store writes), else from the decoded parse result
// (a corrupt record), falling back to an empty envelope and a plain-text structure when it cannot be decoded
// (logged).
func (b *preparedBody) writeEnvelope(resp *imapserver.FetchResponseWriter, sw *message.StructureWriter) {
	switch {
	case b.shape != nil:
		resp.WriteEnvelopeFunc(func(enc imapserver.TokenEncoder) { sw.Envelope(enc, b.shape) })
	case b.meta != nil:
		resp.WriteEnvelope(b.meta.Envelope)
	default:
		resp.WriteEnvelope(&imap.Envelope{})
	}
}

func (b *preparedBody) writeStructure(resp *imapserver.FetchResponseWriter, sw *message.StructureWriter, size int64) {
	switch {
	case b.shape != nil:
		resp.WriteBodyStructureFunc(func(enc imapserver.TokenEncoder, extended bool) {
			sw.BodyStructure(enc, b.shape, extended)
		})
	case b.meta != nil:
		resp.WriteBodyStructure(sanitizeStructure(b.meta.BodyStructure(true), 0))
	default:
		resp.WriteBodyStructure(fallbackStructure(size))
	}
}

// source is the message as internal/message reads it: per-copy trace lines, then the stored body.
func (s *session) source(m *store.Message) message.Source {
	return message.Source{Trace: m.Trace, Body: s.srv.store.Body(m.Body, m.BodySize), BodySize: m.BodySize}
}
