package imap

// SelectOptions contains options for the SELECT or EXAMINE command.
type SelectOptions struct {
	ReadOnly  bool
	CondStore bool           // requires CONDSTORE
	QResync   *SelectQResync // requires QRESYNC
}

// SelectQResync is the QRESYNC parameter of SELECT and EXAMINE: what the
// client cached of the mailbox (RFC 7162 section 3.2.5).
type SelectQResync struct {
	UIDValidity uint32
	ModSeq      uint64
	KnownUIDs   UIDSet // nil if omitted: all UIDs the client may know
	// Known message sequence numbers and their UIDs, to narrow down what
	// vanished when the server no longer knows (optional)
	SeqMatch *SelectSeqMatch
}

// SelectSeqMatch is the optional sequence match data of SelectQResync.
type SelectSeqMatch struct {
	SeqNums SeqSet
	UIDs    UIDSet
}

// SelectData is the data returned by a SELECT command.
//
// In the old RFC 2060, PermanentFlags, UIDNext and UIDValidity are optional.
type SelectData struct {
	// Flags defined for this mailbox
	Flags []Flag
	// Flags that the client can change permanently
	PermanentFlags []Flag
	// Number of messages in this mailbox (aka. "EXISTS")
	NumMessages uint32
	// Sequence number of the first unseen message. Obsolete, IMAP4rev1 only.
	// Server-only, not supported in imapclient.
	FirstUnseenSeqNum uint32
	// Number of recent messages in this mailbox. Obsolete, IMAP4rev1 only.
	// Server-only, not supported in imapclient.
	NumRecent   uint32
	UIDNext     UID
	UIDValidity uint32
	// The mailbox is selected read-only even though SELECT was used, for
	// instance because the user may only read it (RFC 9051 section 6.3.2).
	// Server-only, not supported in imapclient.
	ReadOnly bool

	List *ListData // requires IMAP4rev2

	HighestModSeq uint64 // requires CONDSTORE
}
