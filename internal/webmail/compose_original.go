package webmail

import (
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/auth"
	"mailserver/internal/mailview"
	"mailserver/internal/message"
	"mailserver/internal/store"
)

// original reads the message the form replies to or forwards, through the same folder rules as reading it.
func (h *Handler) original(sess *session, f composeForm) ([]byte, error) {
	folder, err := h.resolveFolder(sess.account, f.OrigFolder)
	if err != nil {
		return nil, err
	}
	return h.messageBody(folder.Mailbox.ID, f.OrigUID)
}

// messageBody reads one message whole; store.ErrNotFound if the UID is gone.
func (h *Handler) messageBody(mailboxID uint64, uid uint32) ([]byte, error) {
	msgs, err := h.store.Messages(mailboxID, []uint32{uid}, store.FetchOptions{})
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("uid %d: %w", uid, store.ErrNotFound)
	}
	return h.readBody(msgs[0])
}

// carrySource is the message whose attachments the form may keep: the draft it saved before, or else the
// original it forwards inline; nil when there is none.
func (h *Handler) carrySource(sess *session, f composeForm) ([]byte, error) {
	switch {
	case f.DraftUID != 0:
		drafts, err := h.specialMailbox(sess.account, `\Drafts`)
		if err != nil {
			return nil, err
		}
		return h.messageBody(drafts.ID, f.DraftUID)
	case f.Mode == modeForward && f.OrigUID != 0:
		return h.original(sess, f)
	}
	return nil, nil
}

// fillFromOriginal fills a reply or forward form: recipients, subject, threading and the quoted text.
func fillFromOriginal(f *composeForm, raw []byte, sendable []string, t map[string]string) {
	env := message.Parse(raw).Envelope
	if env == nil {
		env = &imap.Envelope{}
	}
	text := ""
	if v, err := mailview.Render(raw, mailview.Options{}); err == nil {
		text = v.Text
	}
	f.From = replyFrom(env, sendable)
	switch f.Mode {
	case modeReply, modeReplyAll:
		f.Subject = prefixed("Re: ", env.Subject)
		to := env.ReplyTo
		if len(to) == 0 {
			to = env.From
		}
		f.To = joinAddresses(to, nil)
		if f.Mode == modeReplyAll {
			f.Cc = joinAddresses(append(append([]imap.Address{}, env.To...), env.Cc...),
				append(append([]string{}, sendable...), addrsOf(to)...))
		}
		// RFC 5322 section 3.6.4: the parent's ID in In-Reply-To, and its References followed by that ID.
		if env.MessageID != "" {
			f.InReplyTo = "<" + env.MessageID + ">"
			f.References = strings.TrimSpace(strings.Join(message.FieldValues(raw, "References"), " ") + " " +
				f.InReplyTo)
		}
		who := joinAddresses(env.From, nil)
		f.Body = "\n\n" + strings.NewReplacer("{date}", formatDate(env.Date), "{from}", who).
			Replace(t["compose_wrote"]) + "\n" + quote(text)
	case modeForward, modeAttach:
		f.Subject = prefixed("Fwd: ", env.Subject)
		if f.Mode == modeForward {
			f.Body = "\n\n" + t["compose_forwarded"] + "\n" + t["from"] + ": " + joinAddresses(env.From, nil) +
				"\n" + t["date"] + ": " + formatDate(env.Date) + "\n" + t["subject"] + ": " + env.Subject +
				"\n" + t["to"] + ": " + joinAddresses(env.To, nil) + "\n\n" + text
		}
	}
}

// replyFrom answers from the address the original was sent to when the account may send as it (a group's or a
// shared mailbox's, say), else from the account's own.
func replyFrom(env *imap.Envelope, sendable []string) string {
	for _, a := range append(append([]imap.Address{}, env.To...), env.Cc...) {
		if addr := a.Addr(); addr != "" && auth.AddressOwned(addr, sendable) {
			for _, s := range sendable {
				if auth.AddressOwned(addr, []string{s}) {
					return s
				}
			}
		}
	}
	if len(sendable) > 0 {
		return sendable[0]
	}
	return ""
}

// prefixed puts "Re: " or "Fwd: " before a subject that does not already start with it.
func prefixed(prefix, subject string) string {
	subject = oneLine(subject)
	if strings.HasPrefix(strings.ToLower(subject), strings.ToLower(prefix)) {
		return subject
	}
	return prefix + subject
}

// joinAddresses writes addresses as the recipient fields take them, leaving out those in skip and repeats.
func joinAddresses(list []imap.Address, skip []string) string {
	var parts, seen []string
	for _, a := range list {
		addr := a.Addr()
		if addr == "" || auth.AddressOwned(addr, skip) || auth.AddressOwned(addr, seen) {
			continue
		}
		seen = append(seen, addr)
		if a.Name != "" {
			parts = append(parts, quoteName(a.Name)+" <"+addr+">")
		} else {
			parts = append(parts, addr)
		}
	}
	return strings.Join(parts, ", ")
}

// quoteName quotes a display name holding a character that would split the list when read back.
func quoteName(name string) string {
	if strings.ContainsAny(name, `,;<>"@()[]:\`) {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
	}
	return name
}

func addrsOf(list []imap.Address) []string {
	var out []string
	for _, a := range list {
		out = append(out, a.Addr())
	}
	return out
}

// quote prefixes every line of the original's text with "> ".
func quote(text string) string {
	text = strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if text == "" {
		return ""
	}
	return "> " + strings.ReplaceAll(text, "\n", "\n> ") + "\n"
}
