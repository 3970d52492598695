package store

import (
	"sort"
	"strings"
)

// System flags are kept as bits; keywords as strings. Flags are compared case-insensitively (RFC 3501 2.3.2).
const (
	flagSeen uint64 = 1 << iota
	flagAnswered
	flagFlagged
	flagDeleted
	flagDraft
)

var systemFlags = []struct {
	bit  uint64
	name string
}{
	{flagSeen, `\Seen`}, {flagAnswered, `\Answered`}, {flagFlagged, `\Flagged`}, {flagDeleted, `\Deleted`}, {flagDraft, `\Draft`},
}

// FlagOp says how SetFlags combines the given flags with the stored ones.
type FlagOp int

const (
	FlagsReplace FlagOp = iota // FLAGS
	FlagsAdd                   // +FLAGS
	FlagsRemove                // -FLAGS
)

// flagSet is a message's flags in storage form.
type flagSet struct {
	bits     uint64
	keywords []string // sorted, deduplicated case-insensitively
}

func parseFlags(flags []string) flagSet {
	var fs flagSet
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			for _, sf := range systemFlags {
				if strings.EqualFold(f, sf.name) {
					fs.bits |= sf.bit
				}
			}
			continue // \Recent and unknown system flags are not stored
		}
		fs.addKeyword(f)
	}
	return fs
}

func (fs *flagSet) addKeyword(k string) {
	if k == "" {
		return
	}
	for _, have := range fs.keywords {
		if strings.EqualFold(have, k) {
			return
		}
	}
	fs.keywords = append(fs.keywords, k)
	sort.Strings(fs.keywords)
}

func (fs *flagSet) removeKeyword(k string) {
	out := fs.keywords[:0]
	for _, have := range fs.keywords {
		if !strings.EqualFold(have, k) {
			out = append(out, have)
		}
	}
	fs.keywords = out
}

func (fs flagSet) list() []string {
	if len(fs.keywords) == 0 && fs.bits < uint64(len(systemFlagLists)) {
		return systemFlagLists[fs.bits]
	}
	return fs.newList()
}

// systemFlagLists is the list of every combination of system flags, shared by the messages that have no keyword
// (most of them): reading or changing the flags of a mailbox then allocates no list per message. Each has its
// length as capacity, so a caller appending to one gets a copy.
var systemFlagLists = func() (lists [flagDraft << 1][]string) {
	for bits := range lists {
		l := flagSet{bits: uint64(bits)}.newList()
		lists[bits] = l[:len(l):len(l)]
	}
	return lists
}()

func (fs flagSet) newList() []string {
	out := make([]string, 0, len(fs.keywords)+2)
	for _, sf := range systemFlags {
		if fs.bits&sf.bit != 0 {
			out = append(out, sf.name)
		}
	}
	return append(out, fs.keywords...)
}

// apply combines op and the requested flags with fs.
func (fs flagSet) apply(op FlagOp, req flagSet) flagSet {
	switch op {
	case FlagsReplace:
		return flagSet{bits: req.bits, keywords: append([]string(nil), req.keywords...)}
	case FlagsAdd:
		out := flagSet{bits: fs.bits | req.bits, keywords: append([]string(nil), fs.keywords...)}
		for _, k := range req.keywords {
			out.addKeyword(k)
		}
		return out
	default:
		out := flagSet{bits: fs.bits &^ req.bits, keywords: append([]string(nil), fs.keywords...)}
		for _, k := range req.keywords {
			out.removeKeyword(k)
		}
		return out
	}
}

func (fs flagSet) equal(o flagSet) bool {
	if fs.bits != o.bits || len(fs.keywords) != len(o.keywords) {
		return false
	}
	for i := range fs.keywords {
		if fs.keywords[i] != o.keywords[i] {
			return false
		}
	}
	return true
}

func (fs flagSet) seen() bool    { return fs.bits&flagSeen != 0 }
func (fs flagSet) deleted() bool { return fs.bits&flagDeleted != 0 }
