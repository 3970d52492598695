package imap

import (
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// searchMsg is one message under evaluation; the parse result and header fields are decoded at most once, and only
// if a key asks for them.
type searchMsg struct {
	s      *session
	m      *store.Message
	seq    uint32
	recent bool // \Recent in this session (SEARCH RECENT, NEW, OLD)

	metaDone bool
	metaVal  *message.Meta // nil if unreadable
}

// hasFlag is hasFlag with \Recent, which is the session's and not stored.
func (m *searchMsg) hasFlag(f imap.Flag) bool {
	if isRecentFlag(f) {
		return m.recent
	}
	return hasFlag(m.m.Flags, f)
}

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
	if h.index != nil {
		switch h.index.Verdict(m.m.UID) {
		case store.IndexMatch:
			return true, nil
		case store.IndexNoMatch:
			return false, nil
		}
	}
	if h.envelope {
		if meta := m.meta(); meta != nil && meta.Envelope != nil {
			return envelopeMatch(meta.Envelope, h), nil
		}
		return false, nil
	}
	meta := m.meta()
	if meta == nil {
		return false, nil
	}
	// One byte-range read of the header block, trace lines included.
	values, err := meta.HeaderValues(m.s.source(m.m), h.field)
	if err != nil {
		return false, m.s.internalError("search header", err)
	}
	for _, v := range values {
		if strings.Contains(message.Fold(v), h.value) {
			return true, nil
		}
	}
	return false, nil
}

func envelopeMatch(env *imap.Envelope, h headerQuery) bool {
	for _, text := range message.EnvelopeSearchTexts(env, h.field) {
		if strings.Contains(text, h.value) {
			return true
		}
	}
	return false
}
