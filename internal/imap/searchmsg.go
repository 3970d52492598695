package imap

import (
	"bytes"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// searchMsg is one message under evaluation; the parse result and header fields are decoded at most once, and only
// if a key asks for them.
type searchMsg struct {
	s   *session
	m   *store.Message
	seq uint32

	metaDone bool
	metaVal  *message.Meta // nil if unreadable

	fieldsDone bool
	fields     []headerField
	fieldsErr  error
}

type headerField struct{ name, value string } // value decoded and folded

func (m *searchMsg) meta() *message.Meta {
	if !m.metaDone {
		m.metaDone = true
		meta, err := message.DecodeMeta(m.m.Meta)
		if err != nil {
			m.s.log.Warn("unreadable message meta in search", "uid", m.m.UID, "err", err)
		}
		m.metaVal = meta
	}
	return m.metaVal
}

// matchHeader implements FROM, TO, CC, BCC, SUBJECT (from the envelope) and HEADER (from the header block).
// Comparison is a substring match on folded text (case and Vietnamese diacritics ignored).
func (m *searchMsg) matchHeader(h headerQuery) (bool, error) {
	if h.envelope {
		if meta := m.meta(); meta != nil && meta.Envelope != nil {
			return envelopeMatch(meta.Envelope, h), nil
		}
		return false, nil
	}
	fields, err := m.headerFields()
	if err != nil {
		return false, err
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, h.field) && strings.Contains(f.value, h.value) {
			return true, nil
		}
	}
	return false, nil
}

func envelopeMatch(env *imap.Envelope, h headerQuery) bool {
	if h.field == "Subject" {
		return strings.Contains(message.Fold(env.Subject), h.value)
	}
	var list []imap.Address
	switch h.field {
	case "From":
		list = env.From
	case "To":
		list = env.To
	case "Cc":
		list = env.Cc
	case "Bcc":
		list = env.Bcc
	}
	for _, a := range list {
		if strings.Contains(message.Fold(a.Name+" <"+a.Addr()+">"), h.value) {
			return true
		}
	}
	return false
}

// headerFields reads the message's header block (trace lines included) with one byte-range read and splits it
// into decoded, folded fields.
func (m *searchMsg) headerFields() ([]headerField, error) {
	if m.fieldsDone {
		return m.fields, m.fieldsErr
	}
	m.fieldsDone = true
	meta := m.meta()
	if meta == nil {
		return nil, nil
	}
	raw, err := meta.ExtractSection(m.s.source(m.m), &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader})
	if err != nil {
		m.fieldsErr = m.s.internalError("search header", err)
		return nil, m.fieldsErr
	}
	m.fields = parseHeaderFields(raw)
	return m.fields, nil
}

// parseHeaderFields splits a header block into fields, unfolding continuation lines and decoding RFC 2047 words.
// Lines that are not fields are skipped.
func parseHeaderFields(raw []byte) []headerField {
	var out []headerField
	var name string
	var value []byte
	flush := func() {
		if name != "" {
			out = append(out, headerField{name: name, value: message.Fold(message.DecodeHeaderValue(string(value)))})
		}
		name, value = "", nil
	}
	for _, line := range bytes.Split(raw, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if name != "" {
				value = append(append(value, ' '), bytes.TrimSpace(line)...)
			}
			continue
		}
		flush()
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && len(k) > 0 && !bytes.ContainsAny(k, " \t") {
			name, value = string(k), append([]byte(nil), bytes.TrimSpace(v)...)
		}
	}
	flush()
	return out
}
