package mailview

import (
	"errors"
	"fmt"
	"mime"

	"mailserver/internal/message"
)

// ErrNoPart reports a part path that does not address a leaf part of the message.
var ErrNoPart = errors.New("mailview: no such part")

// Part returns a part's decoded bytes (base64 or quoted-printable undone, no charset conversion), its content
// type ("type/subtype", with the charset of a text part so that a browser reads it right) and its decoded file
// name ("" if none). A path to a multipart, or to no part, returns an error wrapping ErrNoPart; an embedded
// message (message/rfc822) is returned whole, to be saved as a .eml file.
func Part(raw []byte, path string) (contentType, fileName string, body []byte, err error) {
	p, err := parsePath(path)
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: %w", ErrNoPart, err)
	}
	meta := message.Parse(raw).ToMeta()
	part := meta.Locate(p)
	if part == nil || isMultipart(part) {
		return "", "", nil, fmt.Errorf("%w: %s", ErrNoPart, path)
	}
	body, err = meta.ExtractBinary(message.BytesSource(nil, raw), p)
	if err != nil {
		return "", "", nil, fmt.Errorf("part %s: %w", path, err)
	}
	return partContentType(part), partFileName(part), body, nil
}

// partContentType is the part's media type, with its charset parameter for text.
func partContentType(p *message.Part) string {
	ct := p.Type + "/" + p.Subtype
	if cs := p.Params["charset"]; p.Type == "text" && cs != "" {
		if withCharset := mime.FormatMediaType(ct, map[string]string{"charset": cs}); withCharset != "" {
			return withCharset
		}
	}
	return ct
}
