package mailfile

import (
	"bytes"
	"strconv"
	"strings"
)

// The headers that carry an mbox message's flags, in the fixed order of the leading runs: ours (the order mutt and
// Dovecot write them in) and Thunderbird's.
var (
	statusRun  = []string{"status", "x-status", "x-keywords"}
	mozillaRun = []string{"x-mozilla-status", "x-mozilla-status2", "x-mozilla-keys"}
)

// Thunderbird's X-Mozilla-Status bits (nsMsgMessageFlags) that are IMAP flags.
var mozillaFlags = []struct {
	bit  uint64
	flag string
}{{0x1, FlagSeen}, {0x2, FlagAnswered}, {0x4, FlagFlagged}, {0x8, FlagDeleted}}

// xStatusFlags are the letters of X-Status (mutt, Dovecot); Status has R for \Seen (O, old, is not a flag).
var xStatusFlags = map[byte]string{'A': FlagAnswered, 'F': FlagFlagged, 'T': FlagDraft, 'D': FlagDeleted}

// mboxMeta gathers a message's flag headers: the leading run right after the From line, which is removed from the
// message, and the same headers elsewhere in the header, which are kept. Flags come from the leading run when it
// has any, since its writer put it there for the file's copy.
type mboxMeta struct {
	run         []string // the leading run's order, once its first header is seen
	taken       int      // headers of run taken so far
	leadingDone bool
	runFlags    flagSet
	headerFlags flagSet
	headerSeen  map[string]bool
	inBody      bool
	thunderbird bool // the leading run is Thunderbird's, which it always writes first
}

// takeLeading takes line as part of the leading run if it is the next header of one.
func (m *mboxMeta) takeLeading(line []byte) bool {
	if m.leadingDone {
		return false
	}
	name, value, ok := splitHeader(line)
	if ok && m.run == nil {
		for _, run := range [][]string{statusRun, mozillaRun} {
			if run[0] == name {
				m.run = run
			}
		}
	}
	i := indexOf(m.run, name)
	if !ok || i < m.taken {
		m.leadingDone = true
		return false
	}
	m.taken = i + 1
	m.thunderbird = m.thunderbird || m.run[0] == mozillaRun[0]
	applyFlagHeader(&m.runFlags, name, value)
	return true
}

// header reads a line of the message's header for flag headers, up to the blank line that ends the header.
func (m *mboxMeta) header(line []byte, complete bool) {
	m.leadingDone = true
	if m.inBody || !complete {
		return
	}
	if len(line) == 0 {
		m.inBody = true
		return
	}
	if c := line[0] | 0x20; c != 's' && c != 'x' { // cheap test before splitHeader's allocations
		return
	}
	name, value, ok := splitHeader(line)
	if !ok || m.headerSeen[name] || (indexOf(statusRun, name) < 0 && indexOf(mozillaRun, name) < 0) {
		return
	}
	if m.headerSeen == nil {
		m.headerSeen = map[string]bool{}
	}
	m.headerSeen[name] = true
	applyFlagHeader(&m.headerFlags, name, value)
}

func (m *mboxMeta) flags() *flagSet {
	if m.taken > 0 {
		return &m.runFlags
	}
	return &m.headerFlags
}

func (m *mboxMeta) variant(v MboxVariant) MboxVariant {
	if v != MboxAuto {
		return v
	}
	if m.thunderbird {
		return MboxO
	}
	return MboxRD
}

func applyFlagHeader(fs *flagSet, name, value string) {
	switch name {
	case "status":
		if strings.ContainsRune(value, 'R') {
			fs.add(FlagSeen)
		}
	case "x-status":
		for i := 0; i < len(value); i++ {
			if f, ok := xStatusFlags[value[i]]; ok {
				fs.add(f)
			}
		}
	case "x-mozilla-status":
		bits, _ := strconv.ParseUint(value, 16, 32)
		for _, mf := range mozillaFlags {
			if bits&mf.bit != 0 {
				fs.add(mf.flag)
			}
		}
	case "x-keywords", "x-mozilla-keys":
		for _, k := range strings.FieldsFunc(value, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
			if validKeyword(k) {
				fs.add(k)
			}
		}
	}
}

// splitHeader splits a header line into its lower-cased name and trimmed value.
func splitHeader(line []byte) (name, value string, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 || bytes.ContainsAny(line[:i], " \t") {
		return "", "", false
	}
	return strings.ToLower(string(line[:i])), strings.TrimSpace(string(line[i+1:])), true
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
