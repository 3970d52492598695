package message

// PartText returns the text of a text/* part of raw (the message p was parsed from): transfer encoding and
// charset removed, at most about limit bytes decoded, valid UTF-8 in NFC. Unlabelled 8-bit text is read as
// Vietnamese mail usually is (see toUTF8).
func PartText(raw []byte, p *Part, limit int) string {
	if p.BodyStart < 0 || p.End > int64(len(raw)) || p.BodyStart > p.End {
		return ""
	}
	return toUTF8(decodeAll(p.Encoding, raw[p.BodyStart:p.End], limit), p.Params["charset"])
}
