package smtp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"

	gosmtp "github.com/emersion/go-smtp"

	"mailserver/internal/auth"
	"mailserver/internal/delivery"
	"mailserver/internal/netlimit"
)

// Errors of this package's own making; toSMTPError gives each its reply.
var (
	errAuthRequired    = errors.New("authentication required")
	errTLSRequired     = errors.New("TLS required for AUTH")
	errNestedMail      = errors.New("MAIL inside a transaction")
	errNoTransaction   = errors.New("no transaction")
	errBadSender       = errors.New("bad sender address")
	errBareNewline     = errors.New("bare CR or LF in message")
	errLineTooLong     = errors.New("line too long")
	errTransferAborted = errors.New("message transfer aborted")
	errBadSASL         = errors.New("malformed SASL response")
	errOtherIdentity   = errors.New("authorisation identity is not the user name")
)

func reply(code int, enhanced gosmtp.EnhancedCode, text string) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: text}
}

// replies maps known errors to their replies, first match wins (ErrRelayDenied before the ErrNotLocal it wraps, the posting policy refusals before the ErrPostingDenied they wrap). Codes: RFC 5321
// section 4.2, enhanced codes RFC 3463 and RFC 5248.
var replies = []struct {
	err   error
	reply *gosmtp.SMTPError
}{
	{delivery.ErrRelayDenied, reply(554, gosmtp.EnhancedCode{5, 7, 1}, "Relay access denied")},
	{delivery.ErrNotLocal, reply(554, gosmtp.EnhancedCode{5, 7, 1}, "Relay access denied")},
	{delivery.ErrBadAddress, reply(501, gosmtp.EnhancedCode{5, 1, 3}, "Bad recipient address syntax")},
	{delivery.ErrUnknownRecipient, reply(550, gosmtp.EnhancedCode{5, 1, 1}, "No such user here")},
	{delivery.ErrMailboxDisabled, reply(550, gosmtp.EnhancedCode{5, 2, 1}, "mailbox disabled, not accepting messages")},
	// RFC 3463 X.2.4: a mailing list that could not be expanded into anyone.
	{delivery.ErrNoMembers, reply(550, gosmtp.EnhancedCode{5, 2, 4}, "group has no members who can receive mail")},
	{delivery.ErrPostOrganisation, reply(550, gosmtp.EnhancedCode{5, 7, 1},
		"only staff of this organisation may send to this group")},
	{delivery.ErrPostMembers, reply(550, gosmtp.EnhancedCode{5, 7, 1}, "only members may send to this group")},
	{delivery.ErrPostSenders, reply(550, gosmtp.EnhancedCode{5, 7, 1}, "only authorised senders may send to this group")},
	{delivery.ErrPostingDenied, reply(550, gosmtp.EnhancedCode{5, 7, 1}, "not authorised to send to this group")},
	{delivery.ErrOverQuota, reply(452, gosmtp.EnhancedCode{4, 2, 2}, "Mailbox full, try again later")},
	// RFC 3463 X.3.1: mail system full, for now.
	{netlimit.ErrMemoryBusy, reply(451, gosmtp.EnhancedCode{4, 3, 1}, "Too much mail is arriving at once; try again in a few minutes")},
	{delivery.ErrRecipientGone, reply(451, gosmtp.EnhancedCode{4, 1, 1}, "A recipient changed during the transaction, try again")},
	{delivery.ErrSenderNotAllowed, reply(553, gosmtp.EnhancedCode{5, 7, 1},
		"Sender address not owned by the authenticated user")},
	{delivery.ErrSenderRevoked, reply(535, gosmtp.EnhancedCode{5, 7, 8}, "Account disabled; contact your administrator")},
	{delivery.ErrFromNotAllowed, reply(550, gosmtp.EnhancedCode{5, 7, 1},
		"From header address not owned by the authenticated user")},
	{delivery.ErrDisplayNameSpoof, reply(550, gosmtp.EnhancedCode{5, 7, 1},
		"A display name shows an e-mail address other than the sender's own; remove the address from the name")},
	// RFC 3463 X.4.6: routing loop detected.
	{delivery.ErrMailLoop, reply(554, gosmtp.EnhancedCode{5, 4, 6}, "Routing loop detected: too many Received headers")},
	{delivery.ErrNoRecipients, reply(503, gosmtp.EnhancedCode{5, 5, 1}, "No valid recipients")},
	{errAuthRequired, reply(530, gosmtp.EnhancedCode{5, 7, 0}, "Authentication required")},
	{errTLSRequired, reply(523, gosmtp.EnhancedCode{5, 7, 10}, "TLS is required: use STARTTLS first")},
	{errNestedMail, reply(503, gosmtp.EnhancedCode{5, 5, 1}, "Nested MAIL command")},
	{errNoTransaction, reply(503, gosmtp.EnhancedCode{5, 5, 1}, "Bad sequence of commands: MAIL first")},
	{errBadSender, reply(501, gosmtp.EnhancedCode{5, 1, 7}, "Bad sender address syntax")},
	{errBareNewline, reply(550, gosmtp.EnhancedCode{5, 6, 0},
		"message contains bare CR or LF; lines must end with CRLF")},
	{errLineTooLong, reply(500, gosmtp.EnhancedCode{5, 5, 0}, "Line too long")},
	{errTransferAborted, reply(451, gosmtp.EnhancedCode{4, 4, 2}, "Message transfer aborted")},
	{errBadSASL, reply(501, gosmtp.EnhancedCode{5, 5, 2}, "Malformed authentication response")},
	{auth.ErrInvalidCredentials, gosmtp.ErrAuthFailed},
	{errOtherIdentity, gosmtp.ErrAuthFailed},        // no acting on behalf of another user
	{auth.ErrAccountDisabled, gosmtp.ErrAuthFailed}, // the same reply: no hint which accounts exist or are disabled
	// RFC 4954 section 6: 454 4.7.0 is a temporary authentication failure.
	{auth.ErrBusy, reply(454, gosmtp.EnhancedCode{4, 7, 0},
		"Temporary authentication failure: the server is busy checking other logins; try again in a few seconds")},
}

// fieldReplies word the refusal of one header field of a submission (delivery.FieldError), naming the field (%s)
// so that the user knows which one to correct. They replace the table's reply for the same error.
var fieldReplies = []struct {
	err    error
	format string
}{
	{delivery.ErrDisplayNameSpoof, "The display name in the %s header shows an e-mail address other than the sender's " +
		"own; remove the address from the name"},
	{delivery.ErrFromNotAllowed, "%s header address not owned by the authenticated user"},
}

// withField names the refused header field of a submission in the reply r.
func withField(r *gosmtp.SMTPError, err error) *gosmtp.SMTPError {
	var fe *delivery.FieldError
	if !errors.As(err, &fe) {
		return r
	}
	for _, f := range fieldReplies {
		if errors.Is(err, f.err) {
			return reply(r.Code, r.EnhancedCode, fmt.Sprintf(f.format, fe.Field))
		}
	}
	return r
}

// toSMTPError is the one place where errors become SMTP replies: replies keep their codes, the known errors above get
// theirs, and anything else is an internal failure: a temporary 451 4.3.0 with a reference, the details only in the
// log under the same reference. go-smtp would send a plain error's text in a permanent 554, so session callbacks
// return nothing but the result of this function.
func toSMTPError(log *slog.Logger, err error) *gosmtp.SMTPError {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, auth.ErrTooManyAttempts) {
		// RFC 4954 section 6: 454 4.7.0 is a temporary authentication failure; the text says when to come back.
		return reply(454, gosmtp.EnhancedCode{4, 7, 0}, "Too many failed login attempts; "+auth.RetryAdvice(err))
	}
	for _, r := range replies {
		if errors.Is(err, r.err) {
			return withField(r.reply, err)
		}
	}
	ref := rand.Text()[:10]
	log.Error("internal error", "ref", ref, "err", err)
	return reply(451, gosmtp.EnhancedCode{4, 3, 0}, "Internal error, please try again later (ref "+ref+")")
}

// What the refusal lines say was refused, where several places refuse the same thing.
const (
	senderRefused  = "sender refused"
	messageRefused = "message refused"
	authFailed     = "authentication failed"
)

// refuse turns err into the reply the client gets (toSMTPError) and logs the refusal once, at the place that
// knows what was refused: what, the caller's attributes (an address, the user name through auth.LogName), the
// reply's codes and the reason, the error's text. No error here carries a password or message content.
func refuse(log *slog.Logger, what string, err error, attrs ...any) *gosmtp.SMTPError {
	r := toSMTPError(log, err)
	log.Info(what, append(attrs, replyAttrs(r, err.Error())...)...)
	return r
}

// replyAttrs are the log attributes of a refusal: the reply's code and enhanced code as sent, and why.
func replyAttrs(r *gosmtp.SMTPError, reason string) []any {
	return []any{"code", r.Code, "enhanced", enhancedCode(r), "reason", reason}
}

// enhancedCode is the enhanced status code go-smtp sends with r (RFC 3463): its own, X.0.0 by the reply's class
// when it has none, or "" when it sends none.
func enhancedCode(r *gosmtp.SMTPError) string {
	e := r.EnhancedCode
	if e == gosmtp.EnhancedCodeNotSet {
		switch class := r.Code / 100; class {
		case 2, 4, 5:
			e = gosmtp.EnhancedCode{class, 0, 0}
		default:
			return ""
		}
	}
	if e == gosmtp.NoEnhancedCode {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", e[0], e[1], e[2])
}
