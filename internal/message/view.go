package message

// What a reader (the webmail) needs beyond the IMAP server: every header field, a part by its path, and text
// decoded to UTF-8 by the rules the search index and the ENVELOPE use.

// HeaderFields returns every top-level header field of raw in order, unfolded but not decoded (DecodeHeaderValue
// decodes a value), from at most DefaultLimits.MaxHeaderBytes of the header.
func HeaderFields(raw []byte) []HeaderField {
	fs := parseFields(raw[:headerEnd(raw)], DefaultLimits.MaxHeaderBytes)
	out := make([]HeaderField, len(fs))
	for i, f := range fs {
		out[i] = HeaderField{Name: f.name, Value: f.value}
	}
	return out
}

// DecodeText converts the body of a text part (transfer encoding already removed) from charset to NFC UTF-8 as
// the search index reads it: windows-1258 and every charset go-message knows, unlabelled Vietnamese 8-bit text read
// as windows-1258, what cannot be converted as U+FFFD. It never fails.
func DecodeText(b []byte, charset string) string {
	return toUTF8(b, charset)
}

// Locate returns the part a section path addresses (IMAP part numbers: "1.2" is []int{1, 2}), nil if none.
func (m *Meta) Locate(path []int) *Part {
	return m.locate(path)
}
