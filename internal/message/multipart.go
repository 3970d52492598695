package message

import "bytes"

// partRange is one body part of a multipart, relative to the multipart body:
// the part's header starts at start, and it ends before the line break that
// precedes the next delimiter (RFC 2046: that line break belongs to the
// delimiter).
type partRange struct {
	start, end int
	tail       bool // covers this part and every later one (part budget reached)
}

// maxBoundary bounds the boundary length; RFC 2046 allows 70.
const maxBoundary = 256

// splitMultipart finds the body parts delimited by boundary in one linear
// scan, with go-message's rules for valid input: a delimiter line is
// "--boundary" plus optional blanks at the start of a line, the close
// delimiter is "--boundary--" plus optional blanks. A missing close delimiter
// ends the last part at the end of the body. At most limit ranges are returned;
// if there are more, the last one returned covers the rest and is marked tail.
func splitMultipart(body []byte, boundary string, limit int) []partRange {
	if boundary == "" || len(boundary) > maxBoundary || limit <= 0 {
		return nil
	}
	delim := []byte("--" + boundary)
	var out []partRange
	cur := -1 // start of the current part, -1 while in the preamble
	add := func(end int) {
		if len(out) == limit {
			out[limit-1].end, out[limit-1].tail = end, true
			return
		}
		out = append(out, partRange{start: cur, end: end})
	}
	for pos := 0; pos < len(body); {
		k := bytes.Index(body[pos:], delim)
		if k < 0 {
			break
		}
		k += pos
		if k > 0 && body[k-1] != '\n' {
			pos = k + 1
			continue
		}
		le := lineEnd(body, k)
		rest := bytes.TrimRight(body[k+len(delim):le], "\r\n")
		isClose := bytes.HasPrefix(rest, []byte("--")) && len(bytes.TrimLeft(rest[2:], " \t")) == 0
		if !isClose && len(bytes.TrimLeft(rest, " \t")) != 0 {
			pos = k + 1
			continue
		}
		if cur >= 0 {
			add(max(cur, trimBreak(body, k)))
		}
		if isClose {
			return out
		}
		cur, pos = le, le
	}
	if cur >= 0 {
		add(len(body)) // no close delimiter: a truncated message
	}
	return out
}

// trimBreak returns k moved back over the line break before it.
func trimBreak(b []byte, k int) int {
	if k > 0 && b[k-1] == '\n' {
		k--
		if k > 0 && b[k-1] == '\r' {
			k--
		}
	}
	return k
}
