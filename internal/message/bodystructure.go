package message

import (
	"math"
	"mime"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Meta is what the store keeps for a message: everything FETCH needs besides
// the raw bytes.
type Meta struct {
	Envelope *imap.Envelope
	Date     time.Time
	Root     *Part
}

// ToMeta returns the Meta of a freshly parsed message without an encode and
// decode round trip (for the delivery path).
func (p *Parsed) ToMeta() *Meta {
	return &Meta{Envelope: p.Envelope, Date: p.Date, Root: p.Root}
}

// HeaderSize is the size of the root header block, blank line included, so
// SEARCH HEADER can read only that range of the body.
func (m *Meta) HeaderSize() int64 {
	if m.Root == nil {
		return 0
	}
	return m.Root.BodyStart - m.Root.HeaderStart
}

// BodyStructure returns the BODY or BODYSTRUCTURE of the message. It never
// contains a multipart without children. Extended data is always filled,
// whatever extended says: go-imap's FetchResponseWriter decides what to write
// from the FETCH items (one value serves both BODY and BODYSTRUCTURE) and
// panics or dereferences nil if Extended is missing.
// Non-ASCII parameter values and descriptions are RFC 2047-encoded, as go-imap
// does for subjects and names, so IMAP4rev1 clients get 7-bit strings; its
// client decodes them back.
func (m *Meta) BodyStructure(extended bool) imap.BodyStructure {
	if m.Root == nil {
		return &imap.BodyStructureSinglePart{Type: "text", Subtype: "plain", Encoding: "7bit",
			Text: &imap.BodyStructureText{}, Extended: &imap.BodyStructureSinglePartExt{}}
	}
	return bodyStructure(m.Root, 0)
}

// maxStructureDepth guards against a corrupted Meta; Parse never nests this deep.
const maxStructureDepth = MaxNesting

func bodyStructure(p *Part, depth int) imap.BodyStructure {
	if p.isMultipart() && depth < maxStructureDepth {
		mp := &imap.BodyStructureMultiPart{
			Subtype: p.Subtype,
			Extended: &imap.BodyStructureMultiPartExt{
				Params:      encodeParams(p.Params),
				Disposition: disposition(p),
				Language:    p.Language,
				Location:    p.Location,
			},
		}
		mp.Children = make([]imap.BodyStructure, 0, len(p.Children))
		for _, c := range p.Children {
			mp.Children = append(mp.Children, bodyStructure(c, depth+1))
		}
		return mp
	}
	sp := &imap.BodyStructureSinglePart{
		Type:        p.Type,
		Subtype:     p.Subtype,
		Params:      encodeParams(p.Params),
		ID:          p.ID,
		Description: mime.QEncoding.Encode("utf-8", p.Description),
		Encoding:    p.Encoding,
		Size:        size32(p.End - p.BodyStart),
		Extended: &imap.BodyStructureSinglePartExt{
			Disposition: disposition(p),
			Language:    p.Language,
			Location:    p.Location,
		},
	}
	switch {
	case p.Type == "multipart": // no children (corrupted Meta): show the content as text
		sp.Type, sp.Subtype, sp.Params = "text", "plain", nil
		sp.Text = &imap.BodyStructureText{NumLines: p.Lines}
	case p.Message != nil && depth < maxStructureDepth:
		env := p.Envelope
		if env == nil {
			env = &imap.Envelope{}
		}
		sp.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope:      env,
			BodyStructure: bodyStructure(p.Message, depth+1),
			NumLines:      p.Lines,
		}
	case p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global"):
		// Clients expect an envelope after message/rfc822; without one it is opaque.
		sp.Type, sp.Subtype = "application", "octet-stream"
	case p.Type == "text":
		sp.Text = &imap.BodyStructureText{NumLines: p.Lines}
	}
	if sp.Type == "" || sp.Subtype == "" {
		sp.Type, sp.Subtype = "application", "octet-stream"
	}
	return sp
}

func disposition(p *Part) *imap.BodyStructureDisposition {
	if p.Disposition == "" {
		return nil
	}
	return &imap.BodyStructureDisposition{Value: p.Disposition, Params: encodeParams(p.DispositionParams)}
}

// encodeParams returns params with non-ASCII values RFC 2047-encoded. The map
// is shared when nothing needs encoding: callers must not modify it.
func encodeParams(params map[string]string) map[string]string {
	needs := false
	for _, v := range params {
		if !isASCII(v) {
			needs = true
			break
		}
	}
	if !needs {
		return params
	}
	out := make(map[string]string, len(params))
	for k, v := range params {
		out[k] = mime.QEncoding.Encode("utf-8", v)
	}
	return out
}

func size32(n int64) uint32 {
	switch {
	case n < 0:
		return 0
	case n > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(n)
}
