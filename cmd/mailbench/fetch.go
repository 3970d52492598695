package main

import (
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// The FETCH commands of the imap mode, as a client sends them: the metadata of a folder's list, the header fields
// a client shows on opening it, a full download, and the flags a client resynchronises.
var (
	fetchMetadata = &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true, Envelope: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true}}
	fetchHeaderFields = &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{
		Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"FROM", "TO", "SUBJECT", "DATE"}, Peek: true}}}
	fetchFull  = &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}
	fetchFlags = &imap.FetchOptions{UID: true, Flags: true}
)

// fetched is what a FETCH returned.
type fetched struct {
	messages int
	bytes    int64 // of the body sections
}

// fetchAll runs UID FETCH 1:* with opts, reading body sections as they stream in rather than holding them.
func fetchAll(c *imapclient.Client, opts *imap.FetchOptions) (fetched, error) {
	var f fetched
	cmd := c.Fetch(allUIDs, opts)
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		f.messages++
		for item := msg.Next(); item != nil; item = msg.Next() {
			if section, ok := item.(imapclient.FetchItemDataBodySection); ok && section.Literal != nil {
				n, err := io.Copy(io.Discard, section.Literal)
				if err != nil {
					cmd.Close()
					return f, fmt.Errorf("FETCH body section: %w", err)
				}
				f.bytes += n
			}
		}
	}
	if err := cmd.Close(); err != nil {
		return f, fmt.Errorf("UID FETCH 1:*: %w", err)
	}
	return f, nil
}
