package webmail

import (
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/mailview"
	"mailserver/internal/message"
)

// fillFromDraft fills the form from a draft saved before (the user opened it from Drafts to go on writing): its
// recipients, subject, text and threading, and its number, so that saving or sending replaces it; its attachments
// are carried (carrySource reads them from the draft).
func fillFromDraft(f *composeForm, raw []byte, uid uint32) {
	env := message.Parse(raw).Envelope
	if env == nil {
		env = &imap.Envelope{}
	}
	f.From = joinAddresses(env.From, nil)
	if len(env.From) == 1 {
		f.From = env.From[0].Addr()
	}
	f.To, f.Cc, f.Bcc = joinAddresses(env.To, nil), joinAddresses(env.Cc, nil), joinAddresses(env.Bcc, nil)
	f.Subject = env.Subject
	if v, err := mailview.Render(raw, mailview.Options{}); err == nil {
		f.Body = strings.ReplaceAll(v.Text, "\r\n", "\n")
	}
	if env.InReplyTo != nil && len(env.InReplyTo) > 0 {
		f.InReplyTo = "<" + env.InReplyTo[0] + ">"
	}
	f.References = strings.TrimSpace(strings.Join(message.FieldValues(raw, "References"), " "))
	f.DraftUID = uid
}
