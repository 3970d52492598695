package imap

// QuotaResourceType is a QUOTA resource type.
//
// See RFC 9208 section 5.
type QuotaResourceType string

const (
	QuotaResourceStorage           QuotaResourceType = "STORAGE"
	QuotaResourceMessage           QuotaResourceType = "MESSAGE"
	QuotaResourceMailbox           QuotaResourceType = "MAILBOX"
	QuotaResourceAnnotationStorage QuotaResourceType = "ANNOTATION-STORAGE"
)

// QuotaResource is one resource of a quota root: its usage and its limit, in
// the resource's unit (STORAGE counts units of 1024 octets).
type QuotaResource struct {
	Type  QuotaResourceType
	Usage int64
	Limit int64
}

// QuotaData is the data of a QUOTA response: a quota root and its resources.
//
// See RFC 9208 section 7.1.
type QuotaData struct {
	Root      string
	Resources []QuotaResource
}
