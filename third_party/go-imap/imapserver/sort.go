package imapserver

import (
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// handleSort handles SORT and UID SORT (RFC 5256 section 3), with ESORT's
// return options (RFC 5267 section 3):
//
//	sort = ["UID" SP] "SORT" [SP "RETURN" SP sort-return-opts] SP sort-criteria SP search-criteria
func (c *Conn) handleSort(tag string, dec *imapwire.Decoder, numKind NumKind) error {
	if !dec.ExpectSP() {
		return dec.Err()
	}
	var (
		options  imap.SearchOptions
		extended bool
		atom     string
	)
	if dec.Atom(&atom) {
		if !strings.EqualFold(atom, "RETURN") {
			return newClientBugError("Expected RETURN or sort criteria")
		}
		if err := readSearchReturnOpts(dec, &options); err != nil {
			return fmt.Errorf("in sort-return-opts: %w", err)
		}
		if options.ReturnSave {
			return newClientBugError("SAVE is not supported with SORT")
		}
		if !dec.ExpectSP() {
			return dec.Err()
		}
		extended = true
	}
	sortCriteria, err := readSortCriteria(dec)
	if err != nil {
		return fmt.Errorf("in sort-criteria: %w", err)
	}
	if !dec.ExpectSP() {
		return dec.Err()
	}
	searchCriteria, err := readCharsetSearchCriteria(dec)
	if err != nil {
		return err
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}
	session, ok := c.session.(SessionSort)
	if !ok {
		return newClientBugError("SORT is not supported")
	}
	nums, err := session.Sort(numKind, sortCriteria, searchCriteria)
	if err != nil {
		return err
	}

	if !extended {
		return c.writeSort(nums)
	}
	// No return option means ALL (RFC 5267 section 3.2, as in RFC 4731).
	if !options.ReturnMin && !options.ReturnMax && !options.ReturnAll && !options.ReturnCount {
		options.ReturnAll = true
	}
	return c.writeESort(tag, nums, &options, numKind)
}

// readSortCriteria reads sort-criteria = "(" sort-criterion *(SP sort-criterion) ")", where
// sort-criterion = ["REVERSE" SP] sort-key.
func readSortCriteria(dec *imapwire.Decoder) ([]imap.SortCriterion, error) {
	var criteria []imap.SortCriterion
	err := dec.ExpectList(func() error {
		var criterion imap.SortCriterion
		var key string
		if !dec.ExpectAtom(&key) {
			return dec.Err()
		}
		if strings.EqualFold(key, "REVERSE") {
			criterion.Reverse = true
			if !dec.ExpectSP() || !dec.ExpectAtom(&key) {
				return dec.Err()
			}
		}
		criterion.Key = imap.SortKey(strings.ToUpper(key))
		switch criterion.Key {
		case imap.SortKeyArrival, imap.SortKeyCc, imap.SortKeyDate, imap.SortKeyFrom, imap.SortKeySize,
			imap.SortKeySubject, imap.SortKeyTo, imap.SortKeyDisplayFrom, imap.SortKeyDisplayTo:
		default:
			return newClientBugError("Unknown sort key")
		}
		criteria = append(criteria, criterion)
		return nil
	})
	if err == nil && len(criteria) == 0 {
		err = newClientBugError("Empty sort criteria")
	}
	return criteria, err
}

// readCharsetSearchCriteria reads the charset and search keys that end SORT
// and THREAD (RFC 5256 section 5): charset 1*(SP search-key).
func readCharsetSearchCriteria(dec *imapwire.Decoder) (*imap.SearchCriteria, error) {
	var charset string
	if !dec.ExpectAString(&charset) || !dec.ExpectSP() {
		return nil, dec.Err()
	}
	switch strings.ToUpper(charset) {
	case "US-ASCII", "UTF-8":
	default:
		return nil, &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Code: imap.ResponseCodeBadCharset,
			Text: "Only US-ASCII and UTF-8 are supported charsets",
		}
	}
	var criteria imap.SearchCriteria
	for {
		if err := readSearchKey(&criteria, dec); err != nil {
			return nil, fmt.Errorf("in search-key: %w", err)
		}
		if !dec.SP() {
			return &criteria, nil
		}
	}
}

func (c *Conn) writeSort(nums []uint32) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("SORT")
	for _, num := range nums {
		enc.SP().Number(num)
	}
	return enc.CRLF()
}

// writeESort writes the ESEARCH response of SORT RETURN (RFC 5267 section
// 3.2): MIN and MAX are the first and last messages in sort order, and ALL
// lists the messages in sort order.
func (c *Conn) writeESort(tag string, nums []uint32, options *imap.SearchOptions, numKind NumKind) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("ESEARCH")
	enc.SP().Special('(').Atom("TAG").SP().String(tag).Special(')')
	if numKind == NumKindUID {
		enc.SP().Atom("UID")
	}
	if len(nums) > 0 {
		if options.ReturnMin {
			enc.SP().Atom("MIN").SP().Number(nums[0])
		}
		if options.ReturnMax {
			enc.SP().Atom("MAX").SP().Number(nums[len(nums)-1])
		}
		if options.ReturnAll {
			enc.SP().Atom("ALL").SP().Atom(orderedSequenceSet(nums))
		}
	}
	if options.ReturnCount {
		enc.SP().Atom("COUNT").SP().Number(uint32(len(nums)))
	}
	return enc.CRLF()
}

// orderedSequenceSet writes nums as a sequence-set that keeps their order:
// only ascending runs of consecutive numbers become ranges ("3:4,2").
func orderedSequenceSet(nums []uint32) string {
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d", nums[i])
		if j > i {
			fmt.Fprintf(&b, ":%d", nums[j])
		}
		i = j + 1
	}
	return b.String()
}
