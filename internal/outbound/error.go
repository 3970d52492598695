package outbound

// Error is a routing failure: Permanent ones bounce the message, the others mean try again later.
type Error struct {
	Permanent bool
	Status    string // RFC 3463 enhanced status code, such as "5.1.2" or "4.4.3"
	Text      string
	Err       error // the lookup error behind it, if any
	// Via is how the destination was being found, as Target.Via: "route" or "smarthost" when their host failed to
	// resolve, "" otherwise (the domain's own MX hosts).
	Via string
}

func (e *Error) Error() string { return e.Status + " " + e.Text }

func (e *Error) Unwrap() error { return e.Err }

func permanent(status, text string, err error) *Error {
	return &Error{Permanent: true, Status: status, Text: text, Err: err}
}

func temporary(status, text string, err error) *Error {
	return &Error{Status: status, Text: text, Err: err}
}
