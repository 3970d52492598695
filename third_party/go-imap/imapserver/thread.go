package imapserver

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// handleThread handles THREAD and UID THREAD (RFC 5256 section 4):
//
//	thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
func (c *Conn) handleThread(dec *imapwire.Decoder, numKind NumKind) error {
	var algorithm string
	if !dec.ExpectSP() || !dec.ExpectAtom(&algorithm) || !dec.ExpectSP() {
		return dec.Err()
	}
	searchCriteria, err := readCharsetSearchCriteria(dec)
	if err != nil {
		return err
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}
	session, ok := c.session.(SessionThread)
	if !ok {
		return newClientBugError("THREAD is not supported")
	}
	alg, ok := supportedThreadAlgorithm(session, algorithm)
	if !ok {
		return newClientBugError("Unsupported threading algorithm")
	}
	threads, err := session.Thread(numKind, alg, searchCriteria)
	if err != nil {
		return err
	}
	return c.writeThread(threads)
}

// supportedThreadAlgorithm finds name among the session's algorithms.
func supportedThreadAlgorithm(session SessionThread, name string) (imap.ThreadAlgorithm, bool) {
	for _, alg := range session.ThreadAlgorithms() {
		if strings.EqualFold(string(alg), name) {
			return alg, true
		}
	}
	return "", false
}

func (c *Conn) writeThread(threads []imap.ThreadData) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("THREAD")
	if len(threads) > 0 {
		enc.SP()
	}
	for i := range threads {
		writeThreadList(enc.Encoder, &threads[i])
	}
	return enc.CRLF()
}

// writeThreadList writes one thread-list: "(" the chain, then each sub-thread
// in parentheses ")", as in "(3 6 (4 23)(44 7 96))" (RFC 5256 section 4).
func writeThreadList(enc *imapwire.Encoder, thread *imap.ThreadData) {
	enc.Special('(')
	for i, num := range thread.Chain {
		if i > 0 {
			enc.SP()
		}
		enc.Number(num)
	}
	if len(thread.Chain) > 0 && len(thread.SubThreads) > 0 {
		enc.SP()
	}
	for i := range thread.SubThreads {
		writeThreadList(enc, &thread.SubThreads[i])
	}
	enc.Special(')')
}
