package mailview

import (
	"fmt"
	"slices"
	"strings"

	"mailserver/internal/message"
)

// leaf is a part that is not a multipart, with its path.
type leaf struct {
	part   *message.Part
	path   []int
	inline bool // for an attachment: meant to be shown inside the message
}

// messageParts sorts the leaves of a message: the text and HTML shown, and the others.
type messageParts struct {
	text, html *leaf
	others     []leaf
}

// collectParts walks the MIME tree. The body is looked for in the first part of a multipart/mixed (and of any
// multipart of an unknown subtype, RFC 2046 5.1.3), in the root part of a multipart/related (RFC 2387) and in every
// alternative of a multipart/alternative; every other leaf is an attachment. A part of a non-multipart message is
// part 1 (RFC 3501 6.4.5).
func collectParts(root *message.Part) *messageParts {
	mp := &messageParts{}
	if root == nil {
		return mp
	}
	if isMultipart(root) {
		mp.multipart(root, nil, true, false)
	} else {
		mp.leaf(root, []int{1}, true, false)
	}
	return mp
}

func isMultipart(p *message.Part) bool { return p.Type == "multipart" && len(p.Children) > 0 }

func (mp *messageParts) visit(p *message.Part, path []int, asBody, related bool) {
	if isMultipart(p) {
		mp.multipart(p, path, asBody, related)
		return
	}
	mp.leaf(p, path, asBody, related)
}

func (mp *messageParts) multipart(p *message.Part, path []int, asBody, related bool) {
	child := func(i int) []int { return append(slices.Clip(path), i+1) }
	switch p.Subtype {
	case "alternative":
		// RFC 2046 5.1.4: the alternatives come in increasing faithfulness, so the last of each kind is shown.
		for i := len(p.Children) - 1; i >= 0; i-- {
			mp.visit(p.Children[i], child(i), asBody, related)
		}
	case "related":
		start := relatedStart(p)
		for i, c := range p.Children {
			mp.visit(c, child(i), asBody && i == start, related || i != start)
		}
	default:
		for i, c := range p.Children {
			mp.visit(c, child(i), asBody && i == 0, related)
		}
	}
}

// relatedStart is the index of a multipart/related's root: the part its start parameter names, else the first
// (RFC 2387 3.2).
func relatedStart(p *message.Part) int {
	start := strings.Trim(p.Params["start"], "<> ")
	if start == "" {
		return 0
	}
	for i, c := range p.Children {
		if strings.Trim(c.ID, "<> ") == start {
			return i
		}
	}
	return 0
}

func (mp *messageParts) leaf(p *message.Part, path []int, asBody, related bool) {
	if asBody && p.Type == "text" && p.Disposition != "attachment" {
		switch {
		case p.Subtype == "plain" && mp.text == nil:
			mp.text = &leaf{part: p, path: path}
			return
		case p.Subtype == "html" && mp.html == nil:
			mp.html = &leaf{part: p, path: path}
			return
		}
	}
	inline := p.Disposition == "inline" || related && p.Disposition != "attachment"
	mp.others = append(mp.others, leaf{part: p, path: path, inline: inline})
}

// sortLeaves puts leaves in the order of the message (alternatives are walked from the last).
func sortLeaves(leaves []leaf) {
	slices.SortFunc(leaves, func(a, b leaf) int { return slices.Compare(a.path, b.path) })
}

// attachments describes the other leaves.
func attachments(meta *message.Meta, src message.Source, leaves []leaf) []Attachment {
	out := make([]Attachment, 0, len(leaves))
	for _, l := range leaves {
		size, _, err := meta.BinarySize(src, l.path)
		if err != nil {
			// An unknown transfer encoding: the raw bytes are still there to download.
			size = l.part.End - l.part.BodyStart
		}
		out = append(out, Attachment{
			Path:        pathString(l.path),
			FileName:    partFileName(l.part),
			ContentType: l.part.Type + "/" + l.part.Subtype,
			Size:        size,
			ContentID:   strings.Trim(l.part.ID, "<> "),
			Inline:      l.inline,
		})
	}
	return out
}

// partFileName is a part's file name: Content-Disposition's filename, else Content-Type's name (RFC 2183 2.3; older
// mailers only set the latter), both already decoded by the parser (RFC 2231 and RFC 2047).
func partFileName(p *message.Part) string {
	if n := p.DispositionParams["filename"]; n != "" {
		return n
	}
	return p.Params["name"]
}

// contentIDs maps the Content-IDs of the attachments to their paths, for cid: URLs (RFC 2392).
func contentIDs(atts []Attachment) map[string]string {
	ids := map[string]string{}
	for _, a := range atts {
		if a.ContentID != "" {
			if _, dup := ids[a.ContentID]; !dup {
				ids[a.ContentID] = a.Path
			}
		}
	}
	return ids
}

// parsePath reads a part path such as "1.2".
func parsePath(s string) ([]int, error) {
	if s == "" || len(s) > 200 {
		return nil, fmt.Errorf("part path %q: empty or too long", s)
	}
	var path []int
	for _, f := range strings.Split(s, ".") {
		n := 0
		if f == "" || len(f) > 6 {
			return nil, fmt.Errorf("part path %q: not numbers separated by dots", s)
		}
		for _, c := range f {
			if c < '0' || c > '9' {
				return nil, fmt.Errorf("part path %q: not numbers separated by dots", s)
			}
			n = n*10 + int(c-'0')
		}
		if n == 0 {
			return nil, fmt.Errorf("part path %q: part numbers start at 1", s)
		}
		path = append(path, n)
	}
	return path, nil
}
