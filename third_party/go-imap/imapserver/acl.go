package imapserver

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

func (c *Conn) handleMyRights(dec *imapwire.Decoder) error {
	var mailbox string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	session, err := c.aclSession()
	if err != nil {
		return err
	}
	rights, err := session.MyRights(mailbox)
	if err != nil {
		return err
	}
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("MYRIGHTS").SP().Mailbox(mailbox).SP()
	writeRights(enc.Encoder, rights)
	return enc.CRLF()
}

func (c *Conn) handleGetACL(dec *imapwire.Decoder) error {
	var mailbox string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	session, err := c.aclSession()
	if err != nil {
		return err
	}
	entries, err := session.GetACL(mailbox)
	if err != nil {
		return err
	}
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("ACL").SP().Mailbox(mailbox)
	for _, e := range entries {
		enc.SP().String(string(e.Identifier)).SP()
		writeRights(enc.Encoder, e.Rights)
	}
	return enc.CRLF()
}

func (c *Conn) handleListRights(dec *imapwire.Decoder) error {
	var mailbox, identifier string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectSP() || !dec.ExpectAString(&identifier) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	session, err := c.aclSession()
	if err != nil {
		return err
	}
	data, err := session.ListRights(mailbox, imap.RightsIdentifier(identifier))
	if err != nil {
		return err
	}
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("LISTRIGHTS").SP().Mailbox(mailbox).SP().String(identifier).SP()
	writeRights(enc.Encoder, data.Required)
	for _, rights := range data.Optional {
		enc.SP()
		writeRights(enc.Encoder, rights)
	}
	return enc.CRLF()
}

func (c *Conn) handleSetACL(dec *imapwire.Decoder) error {
	var mailbox, identifier, rights string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectSP() || !dec.ExpectAString(&identifier) ||
		!dec.ExpectSP() || !dec.ExpectAString(&rights) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	session, err := c.aclSession()
	if err != nil {
		return err
	}
	mod := imap.RightModificationReplace
	if rights != "" && (rights[0] == byte(imap.RightModificationAdd) || rights[0] == byte(imap.RightModificationRemove)) {
		mod, rights = imap.RightModification(rights[0]), rights[1:]
	}
	return session.SetACL(mailbox, imap.RightsIdentifier(identifier), mod, imap.RightSet(rights))
}

func (c *Conn) handleDeleteACL(dec *imapwire.Decoder) error {
	var mailbox, identifier string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectSP() || !dec.ExpectAString(&identifier) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	session, err := c.aclSession()
	if err != nil {
		return err
	}
	return session.DeleteACL(mailbox, imap.RightsIdentifier(identifier))
}

func (c *Conn) aclSession() (SessionACL, error) {
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return nil, err
	}
	session, ok := c.session.(SessionACL)
	if !ok {
		return nil, newClientBugError("ACL is not supported")
	}
	return session, nil
}

// writeRights writes a rights string: an atom, or "" for no rights.
func writeRights(enc *imapwire.Encoder, rights imap.RightSet) {
	if len(rights) == 0 {
		enc.Quoted("")
	} else {
		enc.Atom(string(rights))
	}
}
