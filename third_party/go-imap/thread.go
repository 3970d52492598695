package imap

// ThreadAlgorithm is a threading algorithm.
type ThreadAlgorithm string

const (
	ThreadOrderedSubject ThreadAlgorithm = "ORDEREDSUBJECT"
	ThreadReferences     ThreadAlgorithm = "REFERENCES"
)

// ThreadData is one thread of a THREAD response (RFC 5256 section 4): a chain of messages, each the parent of the
// next, then the sub-threads of the chain's last message. A thread whose root is missing has an empty Chain.
type ThreadData struct {
	Chain      []uint32
	SubThreads []ThreadData
}
