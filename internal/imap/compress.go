package imap

import (
	"github.com/emersion/go-imap/v2"
)

// maxCompressingSessions bounds the sessions that compress at once: each holds about 1 MB of compressor state
// (compress/flate), taken only once it sends COMPRESS, so this bounds what compression can cost in all.
const maxCompressingSessions = 256

var errTooManyCompressing = no(imap.ResponseCodeLimit, "Too many compressed connections; go on without COMPRESS")

// Compress implements imapserver.SessionCompress (COMPRESS=DEFLATE, RFC 4978). The library does the compression;
// the session counts the sessions that compress and refuses one over maxCompressingSessions, which then goes on
// uncompressed.
func (s *session) Compress(mechanism string) error {
	if s.srv.compressing.Add(1) > maxCompressingSessions {
		s.srv.compressing.Add(-1)
		s.log.Warn("imap compression refused: too many compressing sessions", "max", maxCompressingSessions)
		return errTooManyCompressing
	}
	s.compressing = true
	s.log.Debug("imap compression on", "mechanism", mechanism)
	return nil
}

// stopCompressing gives back the session's place among the compressing ones, if it took one.
func (s *session) stopCompressing() {
	if s.compressing {
		s.srv.compressing.Add(-1)
		s.compressing = false
	}
}
