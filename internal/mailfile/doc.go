// Package mailfile reads and writes the mailbox files that mail is brought in and taken out with: mbox (mboxrd and
// mboxo, as Thunderbird's local folders are), Maildir (Dovecot's and Courier's flag suffixes and keywords), trees
// of .eml files (Zimbra's and Outlook's exports), and it maps other systems' special-use folder names onto ours.
// It knows nothing of the store: the import and export commands stand on it.
//
// Memory is bounded whatever the input's size: readers hand out one message at a time, in a buffer that the next
// call reuses, and refuse a message larger than the caller's maximum with ErrTooLarge (and go on with the next one).
//
// Line endings: messages are handed out with CRLF line endings, as IMAP stores them (RFC 9051 2.3.1.1 counts
// RFC822.SIZE in CRLF). A file whose first line ends in CRLF is taken as it is, byte for byte; in a file whose first
// line ends in a bare LF (the Unix convention: mutt, Dovecot, Thunderbird on Linux) every bare LF becomes CRLF. The
// writers write message bytes as they are (CRLF), so read(write(m)) gives m back byte for byte: every message from
// mbox, whose file's first line is our From line, and from Maildir every message whose own first line ends in CRLF
// (all that RFC 5322 allows; a stored message with a bare LF in its first line comes back with CRLF there).
//
// mbox flags: the Status/X-Status/X-Keywords headers (mutt, Dovecot) and Thunderbird's
// X-Mozilla-Status/X-Mozilla-Status2/X-Mozilla-Keys describe the file's copy, not the message. When they open the
// message (the leading run that Thunderbird and our writer put right after the From line, in that fixed order) they
// are removed from the bytes handed out; anywhere else in the header they are read for flags but kept, since a
// message may have come with them. Our writer always writes the full run of three, so a message that itself starts
// with such a header keeps it on the round trip.
package mailfile
