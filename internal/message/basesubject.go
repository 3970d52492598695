package message

import "strings"

// BaseSubject extracts the base subject of a decoded Subject value by RFC 5256 section 2.1, the text SORT SUBJECT
// and THREAD compare: "Re: [list] Fwd: Báo cáo (fwd)" becomes "Báo cáo". isReply says a reply or forward marker
// ("Re:", "Fw:", "Fwd:", a "(fwd)" trailer, a "[fwd: ...]" wrapper) was removed.
func BaseSubject(subject string) (base string, isReply bool) {
	s := strings.Join(strings.Fields(subject), " ") // step 1: whitespace runs become one space
	for {
		var removed bool
		s, removed = trimSubjTrailers(s) // step 2
		isReply = isReply || removed
		for { // steps 3 to 5
			t, removed := trimSubjLeaders(s)
			isReply = isReply || removed
			if n, ok := subjBlob(t); ok && n < len(t) {
				t = t[n:] // step 4: a leading blob goes unless nothing would be left
			}
			if t == s {
				break
			}
			s = t
		}
		// Step 6: "[fwd: ...]" around the whole subject is unwrapped, and the extraction starts again at step 2.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s, isReply = s[5:len(s)-1], true
			continue
		}
		return s, isReply
	}
}

// trimSubjTrailers removes trailing blanks and "(fwd)" (subj-trailer), as often as they occur.
func trimSubjTrailers(s string) (string, bool) {
	fwd := false
	for {
		t := strings.TrimRight(s, " ")
		if len(t) >= 5 && strings.EqualFold(t[len(t)-5:], "(fwd)") {
			t, fwd = t[:len(t)-5], true
		}
		if t == s {
			return s, fwd
		}
		s = t
	}
}

// trimSubjLeaders removes leading blanks and "*subj-blob subj-refwd" prefixes ("[list] Re:"), as often as they
// occur, and says whether it removed a subj-refwd.
func trimSubjLeaders(s string) (string, bool) {
	refwd := false
	for {
		t := strings.TrimLeft(s, " ")
		if n, ok := blobsThenRefwd(t); ok {
			t, refwd = t[n:], true
		}
		if t == s {
			return s, refwd
		}
		s = t
	}
}

// blobsThenRefwd matches *subj-blob subj-refwd at the start of s, where
// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
func blobsThenRefwd(s string) (int, bool) {
	i := 0
	for {
		n, ok := subjBlob(s[i:])
		if !ok {
			break
		}
		i += n
	}
	switch {
	case hasPrefixFold(s[i:], "re"):
		i += 2
	case hasPrefixFold(s[i:], "fwd"):
		i += 3
	case hasPrefixFold(s[i:], "fw"):
		i += 2
	default:
		return 0, false
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if n, ok := subjBlob(s[i:]); ok {
		i += n
	}
	if i < len(s) && s[i] == ':' {
		return i + 1, true
	}
	return 0, false
}

// subjBlob matches subj-blob = "[" *BLOBCHAR "]" *WSP at the start of s, BLOBCHAR being anything but brackets.
func subjBlob(s string) (int, bool) {
	if !strings.HasPrefix(s, "[") {
		return 0, false
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return 0, false
	}
	i := end + 2
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i, true
}
