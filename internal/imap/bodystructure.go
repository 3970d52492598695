package imap

import (
	"math"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/message"
)

// maxStructureDepth bounds the BODYSTRUCTURE written. It is internal/message's bound on nesting, so that every
// part it parsed, and whose text SEARCH finds, is shown.
const maxStructureDepth = message.MaxNesting

// sanitizeStructure makes a body structure safe for the library's writer, which panics on a multipart without
// children and dereferences Extended on every node. internal/message promises both already; this is the belt to
// its braces, since a panic would cost the client its connection on every FETCH of that message.
func sanitizeStructure(bs imap.BodyStructure, depth int) imap.BodyStructure {
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		if len(bs.Children) == 0 || depth >= maxStructureDepth {
			return fallbackStructure(0)
		}
		if bs.Extended == nil {
			bs.Extended = &imap.BodyStructureMultiPartExt{}
		}
		for i, c := range bs.Children {
			bs.Children[i] = sanitizeStructure(c, depth+1)
		}
		return bs
	case *imap.BodyStructureSinglePart:
		if bs.Extended == nil {
			bs.Extended = &imap.BodyStructureSinglePartExt{}
		}
		if msg := bs.MessageRFC822; msg != nil {
			if depth >= maxStructureDepth || msg.BodyStructure == nil {
				msg.BodyStructure = fallbackStructure(0)
			} else {
				msg.BodyStructure = sanitizeStructure(msg.BodyStructure, depth+1)
			}
		}
		return bs
	}
	return fallbackStructure(0)
}

// fallbackStructure describes a message as one plain-text part.
func fallbackStructure(size int64) imap.BodyStructure {
	return &imap.BodyStructureSinglePart{
		Type: "text", Subtype: "plain", Encoding: "7bit",
		Size:     uint32(min(max(size, 0), math.MaxUint32)),
		Text:     &imap.BodyStructureText{},
		Extended: &imap.BodyStructureSinglePartExt{},
	}
}
