package imap

// NotifyOptions is the argument of NOTIFY (RFC 5465). A nil *NotifyOptions is
// NOTIFY NONE.
type NotifyOptions struct {
	// Status asks for a STATUS of each mailbox the message events apply to,
	// at once (NOTIFY SET STATUS)
	Status bool
	Groups []NotifyEventGroup
}

// NotifyEventGroup is one event group: the events wanted for the mailboxes
// that Filter names. No events is NONE: nothing for those mailboxes.
type NotifyEventGroup struct {
	Filter NotifyFilter
	Events []NotifyEvent
}

// NotifyFilterKind is how a NOTIFY filter names mailboxes.
type NotifyFilterKind string

const (
	NotifyFilterSelected        NotifyFilterKind = "SELECTED"
	NotifyFilterSelectedDelayed NotifyFilterKind = "SELECTED-DELAYED"
	NotifyFilterInboxes         NotifyFilterKind = "INBOXES"
	NotifyFilterPersonal        NotifyFilterKind = "PERSONAL"
	NotifyFilterSubscribed      NotifyFilterKind = "SUBSCRIBED"
	NotifyFilterSubtree         NotifyFilterKind = "SUBTREE"
	NotifyFilterMailboxes       NotifyFilterKind = "MAILBOXES"
)

// NotifyFilter names the mailboxes of an event group; Mailboxes for SUBTREE
// and MAILBOXES.
type NotifyFilter struct {
	Kind      NotifyFilterKind
	Mailboxes []string
}

// NotifyEventName is a NOTIFY event (RFC 5465 section 5).
type NotifyEventName string

const (
	NotifyEventMessageNew         NotifyEventName = "MessageNew"
	NotifyEventMessageExpunge     NotifyEventName = "MessageExpunge"
	NotifyEventFlagChange         NotifyEventName = "FlagChange"
	NotifyEventAnnotationChange   NotifyEventName = "AnnotationChange"
	NotifyEventMailboxName        NotifyEventName = "MailboxName"
	NotifyEventSubscriptionChange NotifyEventName = "SubscriptionChange"
	NotifyEventMailboxMetadata    NotifyEventName = "MailboxMetadataChange"
	NotifyEventServerMetadata     NotifyEventName = "ServerMetadataChange"
)

// NotifyEvent is one event of a group. Fetch is MessageNew's fetch
// attributes, nil if it has none.
type NotifyEvent struct {
	Name  NotifyEventName
	Fetch *FetchOptions
}
