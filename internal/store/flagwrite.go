package store

import (
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// A flag change (STORE) rewrites only two fields of each entry it changes, the flags and the modseq: it reads
// those and where they lie, and copies the bytes around them as they are. The result is what encodeEntry writes
// for the decoded entry with the new flags and modseq, without decoding the date, hash, trace and body place, or
// allocating anything per message but the new value, which comes out of a shared arena.

// entryFlags is what a flag change reads of an encoded entry.
type entryFlags struct {
	flags  flagSet
	modSeq uint64
	// flagsEnd is where the flags (bits and keywords, after the version byte) end; the modseq lies from
	// modSeqStart to modSeqEnd.
	flagsEnd, modSeqStart, modSeqEnd int
}

// readEntryFlags reads an entry of version 1 or 2 as decodeEntryView does, failing where it fails, but keeps only
// its flags, its modseq and their places.
func readEntryFlags(v []byte) (entryFlags, error) {
	var ef entryFlags
	d := decoder{b: v}
	offset := func() int { return len(v) - len(d.b) }
	version := byte(1)
	if len(v) > 0 && v[0] == 2 {
		version = 2
	}
	d.version("message", version)
	ef.flags = flagSet{bits: d.uint(), keywords: d.strings()}
	ef.flagsEnd = offset()
	d.int() // INTERNALDATE seconds
	d.int() // and zone offset
	d.int() // body size
	ef.modSeqStart = offset()
	ef.modSeq = d.uint()
	ef.modSeqEnd = offset()
	if len(d.b) < len(BodyID{}) {
		d.fail()
	} else {
		d.b = d.b[len(BodyID{}):]
	}
	d.view() // trace
	if version == 2 {
		d.uint() // body seq
		d.bool() // header known
		d.int()  // header start
		d.int()  // header end
	}
	return ef, d.err
}

// appendWithFlags appends to dst the entry v, read as ef, with flags fs and modseq modSeq.
func (ef *entryFlags) appendWithFlags(dst, v []byte, fs flagSet, modSeq uint64) []byte {
	e := encoder{b: append(dst, v[0])}
	e.uint(fs.bits)
	e.strings(fs.keywords)
	e.b = append(e.b, v[ef.flagsEnd:ef.modSeqStart]...)
	e.uint(modSeq)
	return append(e.b, v[ef.modSeqEnd:]...)
}

// valueArenaChunk is the size of the chunks a valueArena hands out values from: some thousand entries each.
const valueArenaChunk = 64 << 10

// valueArena holds the values a write transaction puts: bbolt keeps each until the commit, and an allocation
// per message would be most of a STORE 1:*'s garbage.
type valueArena struct{ free []byte }

// copy returns a copy of p in the arena.
func (a *valueArena) copy(p []byte) []byte {
	if len(p) > cap(a.free)-len(a.free) {
		a.free = make([]byte, 0, max(len(p), valueArenaChunk))
	}
	start := len(a.free)
	a.free = append(a.free, p...)
	return a.free[start:len(a.free):len(a.free)]
}

// flagWriter changes the flags of messages of one mailbox in a write transaction. It reads every entry first,
// with one cursor (a UID range is a walk along the leaves, not a descent from the root per message), and then
// puts the new values: a cursor must not walk on while its bucket changes.
type flagWriter struct {
	b              *bolt.Bucket
	mb             *Mailbox // its counters, keywords and highest modseq follow the changes
	op             FlagOp
	req            flagSet
	unchangedSince uint64

	out      []FlagChange // every message's flags after the change, changed or not
	modified []uint32     // the messages changed since unchangedSince, left alone
	writes   []entryWrite
	arena    valueArena
	scratch  []byte
}

// entryWrite is an entry's new value.
type entryWrite struct {
	uid   uint32
	value []byte
}

// ascendingUIDs returns uids in ascending order without duplicates: uids itself when it is so already (a STORE's
// list always is), else a sorted copy. A UID given twice must be changed once: both reads see the old entry.
func ascendingUIDs(uids []uint32) []uint32 {
	for i := 1; i < len(uids); i++ {
		if uids[i] <= uids[i-1] {
			return slices.Compact(slices.Sorted(slices.Values(uids)))
		}
	}
	return uids
}

// plan reads the entries of uids and works out their new flags, values and modseqs; nothing is written yet.
func (w *flagWriter) plan(uids []uint32) error {
	uids = ascendingUIDs(uids)
	w.out = make([]FlagChange, 0, len(uids))
	w.writes = make([]entryWrite, 0, len(uids))
	entries := entryCursor{c: w.b.Cursor()}
	for _, uid := range uids {
		v := entries.get(uid)
		if v == nil {
			continue
		}
		if err := w.planEntry(uid, v); err != nil {
			return fmt.Errorf("uid %d: %w", uid, err)
		}
	}
	return nil
}

func (w *flagWriter) planEntry(uid uint32, v []byte) error {
	ef, err := readEntryFlags(v)
	if err != nil {
		return err
	}
	if ef.modSeq > w.unchangedSince {
		w.modified = append(w.modified, uid)
		return nil
	}
	next := ef.flags.apply(w.op, w.req)
	if next.equal(ef.flags) {
		w.out = append(w.out, FlagChange{UID: uid, Flags: ef.flags.list(), ModSeq: ef.modSeq})
		return nil
	}
	modSeq := w.mb.flagsChanged(ef.flags, next)
	w.scratch = ef.appendWithFlags(w.scratch[:0], v, next, modSeq)
	w.writes = append(w.writes, entryWrite{uid: uid, value: w.arena.copy(w.scratch)})
	w.out = append(w.out, FlagChange{UID: uid, Flags: next.list(), ModSeq: modSeq})
	return nil
}

// flagsChanged records in the mailbox that a message's flags went from before to after: its counters, its
// keywords, and a new modseq for the message, which it returns.
func (m *Mailbox) flagsChanged(before, after flagSet) uint64 {
	m.countFlags(before, -1)
	m.countFlags(after, +1)
	for _, k := range after.keywords {
		m.addKeyword(k)
	}
	m.HighestModSeq++
	return m.HighestModSeq
}

// write puts the planned values.
func (w *flagWriter) write() error {
	var key [4]byte
	for _, ew := range w.writes {
		binary.BigEndian.PutUint32(key[:], ew.uid)
		if err := w.b.Put(key[:], ew.value); err != nil {
			return fmt.Errorf("uid %d: %w", ew.uid, err)
		}
	}
	return nil
}

// changed is the part of out that the change gave a modseq above before (the mailbox's highest before it): out
// itself when every message changed, as when STORE 1:* toggles \Seen.
func (w *flagWriter) changed(before uint64) []FlagChange {
	n := 0
	for _, fc := range w.out {
		if fc.ModSeq > before {
			n++
		}
	}
	switch n {
	case 0:
		return nil
	case len(w.out):
		return w.out
	}
	changed := make([]FlagChange, 0, n)
	for _, fc := range w.out {
		if fc.ModSeq > before {
			changed = append(changed, fc)
		}
	}
	return changed
}
