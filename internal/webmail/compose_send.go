package webmail

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"mailserver/internal/delivery"
	"mailserver/internal/message"
	"mailserver/internal/store"
)

// sendTimeout bounds a send: recipient lookups and the commit.
const sendTimeout = 30 * time.Second

// sendMessage sends through the delivery seam exactly as a submission does (internal/smtp's Mail, Rcpt, Data):
// AuthorizeSender for the envelope sender, Begin with Submission and Authenticated, each recipient resolved, and
// Commit, which checks the From header, stores the local copies, queues the remote ones (signed with DKIM when the
// queue sends them) and writes the send-as audit records. Then a copy goes to Sent and the draft is removed.
func (h *Handler) sendMessage(w http.ResponseWriter, r *http.Request, sess *session, f composeForm, out *outgoing) {
	toRecipients, err := out.write(false)
	if err != nil {
		h.fail(w, r, "compose", err)
		return
	}
	if int64(len(toRecipients)) > h.max {
		h.showComposeText(w, r, sess, http.StatusRequestEntityTooLarge, f, h.tooBig(r), false)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), sendTimeout)
	defer cancel()
	log := h.log.With("account", sess.account.Address)
	sendAs, err := h.send.AuthorizeSender(ctx, sess.account, out.From.Address)
	if err != nil {
		h.refuseSend(w, r, sess, f, "", err)
		return
	}
	tx := h.send.Begin(ctx, delivery.Envelope{From: out.From.Address, RemoteAddr: remoteAddr(r),
		HeloName: "webmail", Authenticated: sess.account.Address, SendAs: sendAs, TLS: r.TLS != nil,
		Submission: true, Size: int64(len(toRecipients)), Logger: log})
	for _, list := range [][]*mail.Address{out.To, out.Cc, out.Bcc} {
		for _, a := range list {
			if err := tx.AddRecipient(ctx, a.Address); err != nil {
				tx.Abort()
				h.refuseSend(w, r, sess, f, a.Address, err)
				return
			}
		}
	}
	res, err := tx.Commit(ctx, toRecipients)
	if err != nil {
		h.refuseSend(w, r, sess, f, "", err)
		return
	}
	log.Info("webmail sent", delivery.MessageAttr, res.ID, "recipients", len(res.Recipients), "queued", len(res.Queued))
	if err := h.keepSent(sess, f, out); err != nil {
		// The message is sent: the user is told so, with the copy's failure, rather than tempted to send again.
		log.Error("webmail sent copy", "err", err)
		h.render(w, http.StatusOK, "error", h.basePage(r, sess, "compose_sent_no_copy"))
		return
	}
	http.Redirect(w, r, Prefix+"list?f=Sent", http.StatusSeeOther)
}

// refuseSend shows the form again with what went wrong, in the words a user can act on; anything that is not the
// user's to correct is an internal failure.
func (h *Handler) refuseSend(w http.ResponseWriter, r *http.Request, sess *session, f composeForm, rcpt string,
	err error) {
	key, status := "", http.StatusBadRequest
	switch {
	case errors.Is(err, delivery.ErrSenderNotAllowed), errors.Is(err, delivery.ErrFromNotAllowed),
		errors.Is(err, delivery.ErrDisplayNameSpoof):
		key, status = "compose_from_refused", http.StatusForbidden
	case errors.Is(err, delivery.ErrSenderRevoked):
		key, status = "compose_from_refused", http.StatusForbidden
	case errors.Is(err, delivery.ErrNoRecipients):
		key = "compose_no_recipients"
	case errors.Is(err, delivery.ErrBadAddress), errors.Is(err, delivery.ErrUnknownRecipient):
		key = "compose_unknown_recipient"
	case errors.Is(err, delivery.ErrOverQuota):
		key = "compose_recipient_full"
	case errors.Is(err, delivery.ErrMailboxDisabled), errors.Is(err, delivery.ErrPostingDenied),
		errors.Is(err, delivery.ErrNoMembers):
		key = "compose_recipient_refused"
	default:
		h.fail(w, r, "send", err)
		return
	}
	h.log.Info("webmail send refused", "account", sess.account.Address, "rcpt", rcpt, "err", err)
	text := words[language(r)][key]
	if rcpt != "" {
		text += " " + rcpt
	}
	h.showComposeText(w, r, sess, status, f, text, false)
}

// keepSent stores the message as sent, Bcc included, in the \Sent folder, and removes the draft it came from.
func (h *Handler) keepSent(sess *session, f composeForm, out *outgoing) error {
	copyForSent, err := out.write(true)
	if err != nil {
		return err
	}
	sent, err := h.specialMailbox(sess.account, `\Sent`)
	if err != nil {
		return err
	}
	if _, err := h.store.Append(sent.ID, storedMessage(copyForSent), []string{`\Seen`}, nil); err != nil {
		return fmt.Errorf("append to %s: %w", sent.Name, err)
	}
	return h.removeDraft(sess, f.DraftUID)
}

// saveDraft stores the message in \Drafts, replacing the draft this form saved before, and shows the form again
// on the new draft with its attachments kept.
func (h *Handler) saveDraft(w http.ResponseWriter, r *http.Request, sess *session, f composeForm, out *outgoing) {
	raw, err := out.write(true)
	if err != nil {
		h.fail(w, r, "save draft", err)
		return
	}
	if int64(len(raw)) > h.max {
		h.showComposeText(w, r, sess, http.StatusRequestEntityTooLarge, f, h.tooBig(r), false)
		return
	}
	drafts, err := h.specialMailbox(sess.account, `\Drafts`)
	if err != nil {
		h.fail(w, r, "save draft", err)
		return
	}
	placed, err := h.store.Append(drafts.ID, storedMessage(raw), []string{`\Draft`, `\Seen`}, nil)
	if errors.Is(err, store.ErrOverQuota) {
		h.showCompose(w, r, sess, http.StatusInsufficientStorage, f, "compose_own_quota", false)
		return
	} else if err != nil {
		h.fail(w, r, "save draft", err)
		return
	}
	if err := h.removeDraft(sess, f.DraftUID); err != nil {
		h.fail(w, r, "save draft", err)
		return
	}
	f.DraftUID, f.Keep = placed.UID, nil
	if wantsJSON(r) {
		h.savedJSON(w, r, f.DraftUID, raw)
		return
	}
	h.showCompose(w, r, sess, http.StatusOK, f, "compose_draft_saved", true)
}

// removeDraft deletes an earlier draft of this form: only a message marked \Draft in the account's own Drafts.
func (h *Handler) removeDraft(sess *session, uid uint32) error {
	if uid == 0 {
		return nil
	}
	drafts, err := h.specialMailbox(sess.account, `\Drafts`)
	if err != nil {
		return err
	}
	msgs, err := h.store.Messages(drafts.ID, []uint32{uid}, store.FetchOptions{})
	if err != nil || len(msgs) == 0 || !slices.Contains(msgs[0].Flags, `\Draft`) {
		return err // gone already (another client removed it), or not a draft: left alone
	}
	if _, err := h.store.SetFlags(drafts.ID, []uint32{uid}, store.FlagsAdd, []string{`\Deleted`}, nil); err != nil {
		return fmt.Errorf("remove draft %d: %w", uid, err)
	}
	if _, err := h.store.Expunge(drafts.ID, []uint32{uid}, nil); err != nil {
		return fmt.Errorf("remove draft %d: %w", uid, err)
	}
	return nil
}

// specialMailbox is the account's mailbox with a special-use attribute (RFC 6154), or the default mailbox of
// that use by name.
func (h *Handler) specialMailbox(acct store.Account, use string) (store.Mailbox, error) {
	boxes, err := h.store.Mailboxes(acct.ID)
	if err != nil {
		return store.Mailbox{}, err
	}
	for _, mb := range boxes {
		if mb.SpecialUse == use && !mb.NoSelect {
			return mb, nil
		}
	}
	mb, err := h.store.Mailbox(acct.ID, strings.TrimPrefix(use, `\`))
	if err != nil {
		return store.Mailbox{}, fmt.Errorf("%s mailbox of %s: %w", use, acct.Address, err)
	}
	return mb, nil
}

// storedMessage is a message as IMAP APPEND stores it: parsed once for its structure and search text.
func storedMessage(raw []byte) store.NewMessage {
	p := message.Parse(raw)
	return store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText(), InternalDate: time.Now()}
}
