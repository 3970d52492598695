package sieve

import (
	"strings"
	"time"
)

// Message is what a run reads of the message.
type Message interface {
	HeaderValues(name string) []string // decoded values (RFC 2047 words decoded to UTF-8), in order, unfolded
	Size() int64
	BodyText() string // the message's text (text parts decoded to UTF-8), for the body test
	RawBody() []byte  // the body after the header, for body :raw
}

// Envelope is the SMTP envelope of the copy being delivered.
type Envelope struct {
	From string // MAIL FROM, "" for the null sender
	To   string // the RCPT TO that led to this recipient
	Auth string // the authenticated submitter, if any
}

// RunOptions are what a run may ask of its caller.
type RunOptions struct {
	// MailboxExists answers the mailboxexists test (RFC 5490 section 3.1); nil makes that test a run-time error.
	MailboxExists func(name string) bool
	// Now is the time currentdate reads (RFC 5260 section 5); zero means time.Now() when the run starts.
	Now time.Time
	// Zone is the server's zone: date and currentdate read their date parts in it unless :zone or
	// :originalzone says otherwise (RFC 5260 section 4.1). nil means time.Local.
	Zone *time.Location
}

// Result is what a run decided. The caller delivers to Keep's INBOX with Keep.Flags when Keep is set, otherwise to
// INBOX with Flags when ImplicitKeep is set; to each FileInto; sends each Redirect; and applies the RFC 3834 rules
// to Vacation before answering. Discard only records that discard ran: it delivers nothing, and what other actions
// deliver stands.
type Result struct {
	ImplicitKeep bool // no action cancelled the implicit keep (RFC 5228 section 2.10.2)
	Keep         *Keep
	FileInto     []FileInto
	Redirects    []Redirect
	Discard      bool
	Vacation     *Vacation
	Flags        []string // the imap4flags internal variable at the end: the flags of the implicit keep
}

// Keep is an explicit keep, or a fileinto "INBOX", which delivers to the same place once.
type Keep struct{ Flags []string }

// FileInto delivers a copy to a mailbox; Create asks for it to be created if missing (RFC 5490 section 3.2).
type FileInto struct {
	Mailbox string
	Flags   []string
	Create  bool
	Copy    bool
}

// Redirect forwards the message; Copy means :copy, which left the implicit keep alone (RFC 3894).
type Redirect struct {
	Address string
	Copy    bool
}

// Vacation is the vacation action (RFC 5230 section 4). Seconds is the interval between replies to one sender
// whichever of :days (Days, default 7, at least 1) or :seconds (RFC 6131, Days 0) gave it.
type Vacation struct {
	Days      int
	Seconds   int64
	Subject   string
	From      string
	Addresses []string
	Mime      bool
	Handle    string
	Reason    string
}

// normalizeFlags splits space-separated flags and drops duplicates, compared without case (RFC 5232 section 3).
func normalizeFlags(lists ...[]string) []string {
	var out []string
	for _, list := range lists {
		for _, s := range list {
			for _, f := range strings.Fields(s) {
				if !containsFold(out, f) {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func removeFlags(flags, remove []string) []string {
	drop := normalizeFlags(remove)
	var out []string
	for _, f := range flags {
		if !containsFold(drop, f) {
			out = append(out, f)
		}
	}
	return out
}
