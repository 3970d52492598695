package message

import "strings"

// HeaderField is one top-level header field: its name as written and its value, unfolded but not decoded.
type HeaderField struct {
	Name, Value string
}

// NewestResentBlock returns the fields of the newest resent block in the top-level header of raw, from the whole
// header whatever its size; nil when there is no Resent-* field. A resender puts its block above the header it
// resends, and the delivery that follows puts its trace fields above that (RFC 5322 3.6.6 and 3.6.7), so the newest
// block runs from the first Resent-* field to the next trace field (Received, Return-Path); fields of other names
// inside it are skipped, and blocks after it are older.
func NewestResentBlock(raw []byte) []HeaderField {
	var block []HeaderField
	for _, f := range parseFields(raw[:headerEnd(raw)], 0) {
		switch {
		case hasPrefixFold(f.name, "Resent-"):
			block = append(block, HeaderField{Name: f.name, Value: f.value})
		case block != nil && (strings.EqualFold(f.name, "Received") || strings.EqualFold(f.name, "Return-Path")):
			return block
		}
	}
	return block
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
