// Package message parses a message once, at delivery or APPEND, into what the
// IMAP server needs later: ENVELOPE, BODYSTRUCTURE with byte offsets into the
// raw message, and folded text for SEARCH. FETCH then reads only byte ranges
// of the stored body and never re-parses it.
package message

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

// Limits bound the work of parsing untrusted input (go-message has no bounds: a 350 KB message of nested parts
// once took it 17 s). They bound the total work, not the nesting, so that a forward of a forward of ... stays
// readable and searchable however deep it goes. A zero field means its default. Parts beyond a limit are opaque
// leaves (application/octet-stream) whose bytes stay reachable through their parent: not shown as text, and not
// searched.
type Limits struct {
	// MaxParts bounds the MIME entities of the whole message, the root and embedded messages included. Each
	// level of nesting is one entity at least, so it bounds the nesting too.
	MaxParts int
	// MaxScanBytes bounds the bytes of multipart bodies searched for their delimiters, summed over all parts: a
	// nested multipart is searched again by each multipart around it, and multiparts at one depth hold
	// different bytes. 0 means 128 times the message size, at most 1 GiB: multiparts nested up to 128 deep
	// are always split in a message of up to 8 MiB, and up to 20 deep in one of 50 MB.
	MaxScanBytes int64
	// MaxHeaderBytes bounds the bytes of one header block that are parsed; the rest of the block is kept but
	// not read.
	MaxHeaderBytes int
}

// DefaultLimits are used by Parse.
var DefaultLimits = Limits{MaxParts: 1000, MaxHeaderBytes: 1 << 20}

// MaxNesting bounds the nesting of the parts Parse returns, for any Limits: readers of stored structures may
// recurse this deep. With the default MaxParts, which bounds the nesting first, it is never reached.
const MaxNesting = 1000

// scanPerByte and maxScan make the default MaxScanBytes.
const (
	scanPerByte = 128
	maxScan     = 1 << 30
)

// Parsed is the result of parsing one message.
type Parsed struct {
	Envelope   *imap.Envelope // decoded (RFC 2047, NFC); never nil
	Date       time.Time      // Date header; zero if missing or unparseable
	Root       *Part
	HeaderText string // Fold()ed decoded values of the root header fields, one field per line
	BodyText   string // Fold()ed text of the text/* parts (and embedded headers, attachment names), one source per line, at most 1 MiB
}

// Part is one MIME entity. Offsets are relative to the start of the raw
// message (the stored body, without per-recipient trace lines).
type Part struct {
	Type, Subtype     string            // lower-case; default text/plain (message/rfc822 inside multipart/digest)
	Params            map[string]string // Content-Type parameters: keys lower-case, values decoded
	ID                string            // Content-ID
	Description       string            // Content-Description, decoded
	Encoding          string            // Content-Transfer-Encoding, lower-case, "7bit" by default
	Disposition       string            // lower-case, "" if absent
	DispositionParams map[string]string // decoded like Params
	Language          []string
	Location          string
	MD5               string
	HeaderStart       int64 // header block is raw[HeaderStart:BodyStart], blank line included
	BodyStart         int64
	End               int64 // body is raw[BodyStart:End]
	Lines             int64 // body line count, for text/* and message/rfc822
	Children          []*Part
	Message           *Part          // message/rfc822 and message/global: the embedded message's root
	Envelope          *imap.Envelope // message/rfc822 and message/global: the embedded message's envelope
}

func (p *Part) isMultipart() bool { return p.Type == "multipart" && len(p.Children) > 0 }

// Parse parses raw with DefaultLimits. It never fails: malformed MIME gives a
// best-effort, sanitised structure.
func Parse(raw []byte) *Parsed { return ParseWithLimits(raw, DefaultLimits) }

// ParseWithLimits parses raw. Parts beyond lim are opaque leaves
// (application/octet-stream) whose bytes stay reachable through their parent.
func ParseWithLimits(raw []byte, lim Limits) *Parsed {
	if lim.MaxParts <= 0 {
		lim.MaxParts = DefaultLimits.MaxParts
	}
	if lim.MaxScanBytes <= 0 {
		lim.MaxScanBytes = min(scanPerByte*int64(len(raw)), maxScan)
	}
	if lim.MaxHeaderBytes <= 0 {
		lim.MaxHeaderBytes = DefaultLimits.MaxHeaderBytes
	}
	bufs := getTextBuffers()
	defer putTextBuffers(bufs)
	p := &parser{raw: raw, lim: lim, body: textSink{b: bufs.body[:0], max: maxBodyText}, scanLeft: lim.MaxScanBytes,
		lines: lineCounter{raw: raw}, bufs: bufs}
	root, fields := p.entity(0, len(raw), 0, false)
	bufs.body = p.body.b
	fallback := p.firstCharset(root)
	env := buildEnvelope(fields, fallback)
	return &Parsed{
		Envelope:   env,
		Date:       env.Date,
		Root:       root,
		HeaderText: headerText(fields, fallback),
		BodyText:   string(p.body.b),
	}
}

type parser struct {
	raw      []byte
	lim      Limits
	parts    int // entities created so far
	body     textSink
	read1258 map[*Part]bool // unlabelled text parts read as windows-1258 (windows1258Text)
	bufs     *textBuffers   // the buffers of body and addPartText, from the pool
	scanLeft int64          // what is left of lim.MaxScanBytes
	lines    lineCounter
}

// entity parses the entity raw[hs:end] at depth (root 0).
func (p *parser) entity(hs, end, depth int, inDigest bool) (*Part, []field) {
	bs := hs + headerEnd(p.raw[hs:end])
	fields := parseFields(p.raw[hs:bs], p.lim.MaxHeaderBytes)
	part := &Part{HeaderStart: int64(hs), BodyStart: int64(bs), End: int64(end)}
	describe(part, fields, inDigest)
	p.parts++
	switch {
	case part.Type == "multipart":
		p.multipart(part, depth)
	case part.Type == "message" && (part.Subtype == "rfc822" || part.Subtype == "global"):
		p.embedded(part, depth)
	case part.Type == "text":
		part.Lines = int64(bytes.Count(p.raw[bs:end], nl))
		p.addPartText(part)
	}
	p.addNames(part)
	return part, fields
}

var nl = []byte{'\n'}

// describe fills the Content-* information of part from its header.
func describe(part *Part, fs []field, inDigest bool) {
	fallback := ""
	part.Type, part.Subtype = "text", "plain"
	if v, ok := get(fs, "Content-Type"); ok {
		var ct string
		ct, part.Params = parseParamHeader(v, "")
		fallback = part.Params["charset"]
		if !utf8.ValidString(v) && fallback != "" {
			_, part.Params = parseParamHeader(v, fallback) // raw 8-bit name= in the part's charset
		}
		if t, s, ok := parseContentType(ct); ok {
			part.Type, part.Subtype = t, s
		}
	} else if inDigest {
		part.Type, part.Subtype = "message", "rfc822"
	}
	part.Encoding = "7bit"
	if v, _ := get(fs, "Content-Transfer-Encoding"); v != "" {
		if enc := strings.ToLower(strings.Trim(stripComment(v), " \t\"")); enc != "" {
			part.Encoding = enc
		}
	}
	if v, ok := get(fs, "Content-Disposition"); ok {
		part.Disposition, part.DispositionParams = parseParamHeader(v, fallback)
		if part.Disposition == "" && len(part.DispositionParams) > 0 {
			part.Disposition = "attachment" // "; filename=x": keep the name visible
		}
	}
	part.ID, _ = get(fs, "Content-Id")
	if v, ok := get(fs, "Content-Description"); ok {
		part.Description = decodeHeader(v, fallback)
	}
	if v, _ := get(fs, "Content-Language"); v != "" {
		for _, l := range strings.Split(stripComment(v), ",") {
			if l = strings.TrimSpace(l); l != "" {
				part.Language = append(part.Language, l)
			}
		}
	}
	part.Location, _ = get(fs, "Content-Location")
	part.MD5, _ = get(fs, "Content-Md5")
	part.ID = stripControls(cleanText(part.ID))
	part.Location = stripControls(cleanText(part.Location))
	part.MD5 = stripControls(cleanText(part.MD5))
}

// opaque turns part into a leaf whose content is not looked into.
func opaque(part *Part) {
	part.Type, part.Subtype = "application", "octet-stream"
	part.Children, part.Message, part.Envelope, part.Lines = nil, nil, nil, 0
}

// multipart splits part's body into children. Beyond the limits it is an
// opaque leaf; with no parts at all it is text/plain (go-imap cannot encode a
// multipart without children, and the content is most likely text).
func (p *parser) multipart(part *Part, depth int) {
	bs, end := int(part.BodyStart), int(part.End)
	if depth >= MaxNesting || p.parts >= p.lim.MaxParts || int64(end-bs) > p.scanLeft {
		opaque(part)
		return
	}
	p.scanLeft -= int64(end - bs)
	ranges := splitMultipart(p.raw[bs:end], part.Params["boundary"], p.lim.MaxParts-p.parts)
	if len(ranges) == 0 {
		part.Type, part.Subtype, part.Params = "text", "plain", nil
		part.Lines = int64(bytes.Count(p.raw[bs:end], nl))
		p.addPartText(part)
		return
	}
	digest := part.Subtype == "digest"
	for i, r := range ranges {
		left := p.lim.MaxParts - p.parts
		if left <= 0 {
			break // no budget: the rest stays readable through the parent
		}
		if left == 1 && i < len(ranges)-1 || r.tail {
			// The last part the budget allows covers all remaining ones.
			last := ranges[len(ranges)-1]
			tail := &Part{HeaderStart: int64(bs + r.start), BodyStart: int64(bs + r.start),
				End: int64(bs + last.end), Encoding: "7bit"}
			opaque(tail)
			p.parts++
			part.Children = append(part.Children, tail)
			break
		}
		child, _ := p.entity(bs+r.start, bs+r.end, depth+1, digest)
		part.Children = append(part.Children, child)
	}
}

// embedded parses the message inside a message/rfc822 part. An encoded one
// (base64 is seen in the wild) cannot be addressed by byte offsets and, like
// one beyond the limits, becomes an opaque leaf.
func (p *parser) embedded(part *Part, depth int) {
	if depth >= MaxNesting || p.parts >= p.lim.MaxParts {
		opaque(part)
		return
	}
	if d, err := newDecoder(part.Encoding); err != nil || d != nil {
		opaque(part)
		return
	}
	bs, end := int(part.BodyStart), int(part.End)
	inner, fields := p.entity(bs, end, depth+1, false)
	fallback := p.firstCharset(inner)
	part.Message = inner
	part.Envelope = buildEnvelope(fields, fallback)
	part.Lines = int64(p.lines.count(bs, end))
	for _, name := range []string{"Subject", "From", "To", "Cc"} {
		if v, ok := get(fields, name); ok {
			p.body.add(Fold(decodeHeader(v, fallback)))
		}
	}
}

// firstCharset returns the charset of the first text part of a message that
// names one, or whose unlabelled text was read as windows-1258: mailers that
// put raw 8-bit text in headers use the body's charset.
func (p *parser) firstCharset(part *Part) string {
	if part.Type == "text" {
		if p.read1258[part] {
			return "windows-1258"
		}
		if cs := part.Params["charset"]; cs != "" {
			return cs
		}
	}
	for _, c := range part.Children {
		if cs := p.firstCharset(c); cs != "" {
			return cs
		}
	}
	return ""
}

// addNames makes attachment names searchable as body text.
func (p *parser) addNames(part *Part) {
	for _, v := range []string{part.DispositionParams["filename"], part.Params["name"]} {
		if v != "" {
			p.body.add(Fold(v))
			return
		}
	}
}

// headerText folds every field value of a header, one per line.
func headerText(fs []field, fallback string) string {
	var sb strings.Builder
	for _, f := range fs {
		v := Fold(decodeHeader(f.value, fallback))
		if v == "" {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(v)
	}
	return sb.String()
}
