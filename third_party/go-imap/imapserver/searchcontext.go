package imapserver

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// readSearchContextOpt reads the return options of CONTEXT=SEARCH (RFC 5267
// section 4): PARTIAL with its range, UPDATE and the CONTEXT hint.
func readSearchContextOpt(dec *imapwire.Decoder, name string, options *imap.SearchOptions) error {
	switch strings.ToUpper(name) {
	case "UPDATE":
		options.ReturnUpdate = true
	case "CONTEXT":
		options.ReturnContext = true
	case "PARTIAL":
		var s string
		if !dec.ExpectSP() || !dec.Expect(dec.Func(&s, isPartialRangeChar), "partial-range") {
			return dec.Err()
		}
		r, err := parseSearchPartialRange(s)
		if err != nil {
			return err
		}
		options.ReturnPartial = r
	}
	return nil
}

func isPartialRangeChar(ch byte) bool {
	return ch == '-' || ch == ':' || ch == '*' || (ch >= '0' && ch <= '9')
}

// parseSearchPartialRange parses "m:n" (RFC 5267 section 4.4) or "-m:-n"
// (RFC 9394). "*" has no place in it, and the bounds are ordered so that
// Start is nearer the end they count from.
func parseSearchPartialRange(s string) (*imap.SearchPartialRange, error) {
	first, second, ok := strings.Cut(s, ":")
	if !ok {
		return nil, newClientBugError("PARTIAL needs a range m:n")
	}
	start, err1 := strconv.ParseInt(first, 10, 32)
	stop, err2 := strconv.ParseInt(second, 10, 32)
	if err1 != nil || err2 != nil || start == 0 || stop == 0 || (start < 0) != (stop < 0) {
		return nil, newClientBugError("PARTIAL needs a range of two non-zero numbers of the same sign")
	}
	if abs64(start) > abs64(stop) {
		start, stop = stop, start
	}
	return &imap.SearchPartialRange{Start: int32(start), Stop: int32(stop)}, nil
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// checkSearchContextOpts refuses the CONTEXT=SEARCH return options when the
// session does not implement them.
func (c *Conn) checkSearchContextOpts(options *imap.SearchOptions) error {
	if options.ReturnPartial == nil && !options.ReturnUpdate && !options.ReturnContext {
		return nil
	}
	if _, ok := c.session.(SessionSearchContext); !ok {
		return newClientBugError("unknown SEARCH RETURN option")
	}
	return nil
}

func writeSearchPartial(enc *imapwire.Encoder, partial *imap.SearchPartialData) {
	enc.SP().Atom("PARTIAL").SP().Special('(')
	enc.Atom(fmt.Sprintf("%d:%d", partial.Range.Start, partial.Range.Stop)).SP()
	if partial.Nums == nil || isNumSetEmpty(partial.Nums) {
		enc.NIL()
	} else {
		enc.NumSet(partial.Nums)
	}
	enc.Special(')')
}

func (c *Conn) handleCancelUpdate(dec *imapwire.Decoder) error {
	var tags []string
	for {
		var tag string
		if !dec.ExpectSP() || !dec.ExpectString(&tag) {
			return dec.Err()
		}
		tags = append(tags, tag)
		if dec.CRLF() {
			break
		}
	}
	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}
	session, ok := c.session.(SessionSearchContext)
	if !ok {
		return newClientBugError("CANCELUPDATE not supported")
	}
	return session.CancelSearchUpdate(tags)
}

// WriteSearchUpdate writes the untagged ESEARCH of a search the client asked to
// be kept up to date (RFC 5267 section 4.3): nums were added to its result
// (ADDTO) or removed from it (REMOVEFROM). position is where in the result
// they go, 0 for an unordered SEARCH.
func (w *UpdateWriter) WriteSearchUpdate(tag string, kind NumKind, add bool, position uint32, nums imap.NumSet) error {
	enc := newResponseEncoder(w.conn)
	defer enc.end()
	enc.Atom("*").SP().Atom("ESEARCH").SP().Special('(').Atom("TAG").SP().String(tag).Special(')')
	if kind == NumKindUID {
		enc.SP().Atom("UID")
	}
	if add {
		enc.SP().Atom("ADDTO")
	} else {
		enc.SP().Atom("REMOVEFROM")
	}
	enc.SP().Special('(').Number(position).SP().NumSet(nums).Special(')')
	return enc.CRLF()
}

// writeNoUpdate tells the client that the search tagged tag will not be kept
// up to date: * NO [NOUPDATE "tag"] (RFC 5267 section 4.3).
func (c *Conn) writeNoUpdate(tag string) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("NO").SP().Special('[').Atom("NOUPDATE").SP().String(tag).Special(']')
	enc.SP().Text("This search will not be kept up to date")
	return enc.CRLF()
}
