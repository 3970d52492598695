package imapserver

import (
	"github.com/emersion/go-imap/v2"
)

// WriteMailboxFlags writes a FLAGS response, followed by an OK [PERMANENTFLAGS] response when permanentFlags is
// not nil, in the middle of a FETCH or STORE command.
//
// A server calls it before the first FETCH response showing a keyword that the client has not yet seen in a FLAGS
// response: a client may take a flag missing from FLAGS for an error (RFC 3501 section 7.2.6 defines FLAGS as the
// flags applicable to the mailbox). The updates a MailboxTracker queues are only written once the command ends.
func (cmd *FetchWriter) WriteMailboxFlags(flags, permanentFlags []imap.Flag) error {
	if err := cmd.conn.writeFlags(flags); err != nil {
		return err
	}
	if permanentFlags == nil {
		return nil
	}
	return cmd.conn.writePermanentFlags(permanentFlags)
}

// WritePermanentFlags writes an OK [PERMANENTFLAGS] response, which a server
// sends with the FLAGS response that announces a new keyword.
func (w *UpdateWriter) WritePermanentFlags(flags []imap.Flag) error {
	return w.conn.writePermanentFlags(flags)
}
