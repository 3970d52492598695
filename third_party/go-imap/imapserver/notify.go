package imapserver

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// handleNotify reads NOTIFY SET [STATUS] event-groups, or NOTIFY NONE
// (RFC 5465 section 3).
func (c *Conn) handleNotify(dec *imapwire.Decoder) error {
	var verb string
	if !dec.ExpectSP() || !dec.ExpectAtom(&verb) {
		return dec.Err()
	}
	var options *imap.NotifyOptions
	switch strings.ToUpper(verb) {
	case "NONE":
	case "SET":
		var err error
		if options, err = readNotifySet(dec); err != nil {
			return err
		}
	default:
		return newClientBugError("NOTIFY needs SET or NONE")
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	session, ok := c.session.(SessionNotify)
	if !ok {
		return newClientBugError("NOTIFY not supported")
	}
	return session.Notify(options)
}

func readNotifySet(dec *imapwire.Decoder) (*imap.NotifyOptions, error) {
	options := &imap.NotifyOptions{}
	if !dec.ExpectSP() {
		return nil, dec.Err()
	}
	var atom string
	if dec.Atom(&atom) {
		if !strings.EqualFold(atom, "STATUS") || !dec.ExpectSP() {
			return nil, newClientBugError("NOTIFY SET takes STATUS or event groups")
		}
		options.Status = true
	}
	for {
		var group imap.NotifyEventGroup
		if err := dec.ExpectList(func() error { return readNotifyEventGroup(dec, &group) }); err != nil {
			return nil, err
		}
		options.Groups = append(options.Groups, group)
		if !dec.SP() {
			return options, nil
		}
	}
}

// readNotifyEventGroup reads the inside of "(filter-mailboxes SP events)".
func readNotifyEventGroup(dec *imapwire.Decoder, group *imap.NotifyEventGroup) error {
	var kind string
	if !dec.ExpectAtom(&kind) {
		return dec.Err()
	}
	group.Filter.Kind = imap.NotifyFilterKind(strings.ToUpper(kind))
	switch group.Filter.Kind {
	case imap.NotifyFilterSelected, imap.NotifyFilterSelectedDelayed, imap.NotifyFilterInboxes,
		imap.NotifyFilterPersonal, imap.NotifyFilterSubscribed:
	case imap.NotifyFilterSubtree, imap.NotifyFilterMailboxes:
		if !dec.ExpectSP() {
			return dec.Err()
		}
		mailboxes, err := readNotifyMailboxes(dec)
		if err != nil {
			return err
		}
		group.Filter.Mailboxes = mailboxes
	default:
		return newClientBugError("unknown NOTIFY filter")
	}
	if !dec.ExpectSP() {
		return dec.Err()
	}
	var none string
	if dec.Atom(&none) {
		if !strings.EqualFold(none, "NONE") {
			return newClientBugError("NOTIFY events are a list or NONE")
		}
		return nil
	}
	return readNotifyEvents(dec, group)
}

// readNotifyEvents reads "(" event *(SP event) ")", where MessageNew may be
// followed by a list of fetch attributes.
func readNotifyEvents(dec *imapwire.Decoder, group *imap.NotifyEventGroup) error {
	if !dec.ExpectSpecial('(') {
		return dec.Err()
	}
	for {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		event := imap.NotifyEvent{Name: canonicalNotifyEvent(name)}
		separated := false
		if event.Name == imap.NotifyEventMessageNew && dec.SP() {
			fetch, err := maybeReadNotifyFetchAtts(dec)
			if err != nil {
				return err
			}
			event.Fetch, separated = fetch, fetch == nil
		}
		group.Events = append(group.Events, event)
		if separated {
			continue
		}
		if dec.Special(')') {
			return nil
		}
		if !dec.ExpectSP() {
			return dec.Err()
		}
	}
}

// maybeReadNotifyFetchAtts reads MessageNew's list of fetch attributes, if
// one follows; nil if not.
func maybeReadNotifyFetchAtts(dec *imapwire.Decoder) (*imap.FetchOptions, error) {
	options := &imap.FetchOptions{}
	writerOptions := fetchWriterOptions{obsolete: make(map[*imap.FetchItemBodySection]string)}
	isList, err := dec.List(func() error {
		attName, err := readFetchAttName(dec)
		if err != nil {
			return err
		}
		return handleFetchAtt(dec, attName, options, &writerOptions)
	})
	if err != nil || !isList {
		return nil, err
	}
	return options, nil
}

// readNotifyMailboxes reads one mailbox or a parenthesised list of them.
func readNotifyMailboxes(dec *imapwire.Decoder) ([]string, error) {
	var mailboxes []string
	isList, err := dec.List(func() error {
		var name string
		if !dec.ExpectMailbox(&name) {
			return dec.Err()
		}
		mailboxes = append(mailboxes, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !isList {
		var name string
		if !dec.ExpectMailbox(&name) {
			return nil, dec.Err()
		}
		mailboxes = append(mailboxes, name)
	}
	return mailboxes, nil
}

// canonicalNotifyEvent spells a known event as RFC 5465 does (event names are
// case-insensitive); others stay as sent, for the session to refuse.
func canonicalNotifyEvent(name string) imap.NotifyEventName {
	for _, known := range []imap.NotifyEventName{
		imap.NotifyEventMessageNew, imap.NotifyEventMessageExpunge, imap.NotifyEventFlagChange,
		imap.NotifyEventAnnotationChange, imap.NotifyEventMailboxName, imap.NotifyEventSubscriptionChange,
		imap.NotifyEventMailboxMetadata, imap.NotifyEventServerMetadata,
	} {
		if strings.EqualFold(name, string(known)) {
			return known
		}
	}
	return imap.NotifyEventName(name)
}

// WriteStatus writes an unsolicited STATUS response, such as NOTIFY's for a
// mailbox other than the selected one (RFC 5465 section 5).
func (w *UpdateWriter) WriteStatus(data *imap.StatusData, options *imap.StatusOptions) error {
	return w.conn.writeStatus(data, options)
}

// WriteList writes an unsolicited LIST response, such as NOTIFY's for a
// mailbox created, deleted, renamed or (un)subscribed (RFC 5465 section 5).
func (w *UpdateWriter) WriteList(data *imap.ListData) error {
	return w.conn.writeList(data)
}

// FetchWriter writes unsolicited FETCH responses, such as those NOTIFY's
// MessageNew asks for with fetch attributes (RFC 5465 section 5.2).
func (w *UpdateWriter) FetchWriter() *FetchWriter {
	return &FetchWriter{conn: w.conn}
}

// WriteNotificationOverflow writes * OK [NOTIFICATIONOVERFLOW]: the server
// could not keep up and has stopped notifying (RFC 5465 section 5.8).
func (w *UpdateWriter) WriteNotificationOverflow() error {
	enc := newResponseEncoder(w.conn)
	defer enc.end()
	enc.Atom("*").SP().Atom("OK").SP().Special('[').Atom("NOTIFICATIONOVERFLOW").Special(']')
	enc.SP().Text("Too many changes at once; notifications are off (NOTIFY NONE)")
	return enc.CRLF()
}
