package message

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// forwardChain is a message forwarded n times, each forward a multipart/mixed of a note and the message before
// it (message/rfc822), as mail clients forward inline-attached; the original at the bottom carries an
// attachment of attachment bytes. Each level's note and subject carry the marker forwardMarker(level).
func forwardChain(n, attachment int) []byte {
	msg := crlf(fmt.Sprintf("From: vanthu@hue.gov.vn\nSubject: Công văn gốc %s\n"+
		"Content-Type: multipart/mixed; boundary=\"goc\"\n\n--goc\nContent-Type: text/plain; charset=utf-8\n\n"+
		"Văn bản gốc %s.\n--goc\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n",
		forwardMarker(n), forwardMarker(n))) + b64Lines(pdfBytes[:min(attachment, len(pdfBytes))]) +
		strings.Repeat("\r\n"+b64Lines(make([]byte, 57*13)), max(attachment-len(pdfBytes), 0)/(57*13)) + "\r\n--goc--\r\n"
	for level := n - 1; level >= 0; level-- {
		msg = crlf(fmt.Sprintf("From: nv%d@hue.gov.vn\nSubject: Fwd: chuyển tiếp %s\n"+
			"Content-Type: multipart/mixed; boundary=\"fwd%d\"\n\n--fwd%d\nContent-Type: text/plain; charset=utf-8\n\n"+
			"Chuyển tiếp lần %s, xin xem.\n--fwd%d\nContent-Type: message/rfc822\n\n",
			level, forwardMarker(level), level, level, forwardMarker(level), level)) + msg + crlf(fmt.Sprintf("\n--fwd%d--\n", level))
	}
	return []byte(msg)
}

// forwardMarker is a word found only at one level of a forwardChain.
func forwardMarker(level int) string { return fmt.Sprintf("moc%dx", level) }

// textLeaves returns the text parts a BODYSTRUCTURE shows, as part paths ("1.2.1"), and the deepest nesting.
func textLeaves(bs imap.BodyStructure, path string, depth int) (leaves []string, deepest int) {
	deepest = depth
	join := func(i int) string {
		if path == "" {
			return fmt.Sprint(i)
		}
		return fmt.Sprintf("%s.%d", path, i)
	}
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		for i, c := range bs.Children {
			l, d := textLeaves(c, join(i+1), depth+1)
			leaves, deepest = append(leaves, l...), max(deepest, d)
		}
	case *imap.BodyStructureSinglePart:
		switch {
		case bs.MessageRFC822 != nil:
			return textLeaves(bs.MessageRFC822.BodyStructure, path, depth+1)
		case strings.EqualFold(bs.Type, "text"):
			leaves = append(leaves, path)
		}
	}
	return leaves, deepest
}

// TestDeepForwards: text nested 30 and 100 forwards deep, under an attachment of a few megabytes, is searchable,
// and the BODYSTRUCTURE shows every text part the search text has (each level's note and the original's text).
func TestDeepForwards(t *testing.T) {
	for _, c := range []struct{ levels, attachment int }{{30, 4 << 20}, {100, 2 << 20}, {100, 1000}} {
		t.Run(fmt.Sprintf("%d levels, %d bytes attached", c.levels, c.attachment), func(t *testing.T) {
			raw := forwardChain(c.levels, c.attachment)
			p := Parse(raw)
			checkStructure(t, raw, p.Root)
			for level := 0; level <= c.levels; level++ {
				if !strings.Contains(p.BodyText, forwardMarker(level)) {
					t.Fatalf("level %d of %d is not searchable", level, c.levels)
				}
			}
			leaves, deepest := textLeaves(p.ToMeta().BodyStructure(true), "", 0)
			if len(leaves) != c.levels+1 || deepest != 2*c.levels+1 {
				t.Errorf("BODYSTRUCTURE shows %d text parts nested %d deep, want %d and %d",
					len(leaves), deepest, c.levels+1, 2*c.levels+1)
			}
			// The deepest embedded message's ENVELOPE is there too.
			part := p.Root
			for range c.levels {
				part = part.Children[1].Message
			}
			if !strings.Contains(part.Children[0].Params["charset"], "utf-8") ||
				!strings.Contains(p.BodyText, Fold("Công văn gốc "+forwardMarker(c.levels))) {
				t.Errorf("the original: %+v", part)
			}
			assertRoundTrip(t, p)
		})
	}
}

// TestScanBudgetAgreement: when the scan budget runs out, the multiparts left are opaque in the BODYSTRUCTURE and
// their text is not searched either: each forward's note is searchable exactly when a text part shows it.
func TestScanBudgetAgreement(t *testing.T) {
	raw := forwardChain(30, 1000)
	p := ParseWithLimits(raw, Limits{MaxScanBytes: int64(len(raw)) * 8})
	checkStructure(t, raw, p.Root)
	leaves, _ := textLeaves(p.ToMeta().BodyStructure(true), "", 0)
	searchable := 0
	for level := 0; level <= 30; level++ {
		if strings.Contains(p.BodyText, Fold("Chuyển tiếp lần "+forwardMarker(level))) {
			searchable++
		}
	}
	if searchable == 0 || searchable == 31 || searchable != len(leaves) {
		t.Errorf("%d notes searchable, %d text parts shown: want equal, and some of the 31 hidden", searchable, len(leaves))
	}
}
