package main

import "fmt"

// The FETCH commands of the imap mode, as a client sends them: the metadata of a folder's list, the header fields
// a client shows on opening it, a full download, and the flags a client resynchronises. sections says whether the
// responses carry body sections, whose bytes make a rate.
var fetchCommands = []struct {
	command  string
	sections bool
}{
	{fetchMetadata, false},
	{"UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])", true},
	{"UID FETCH 1:* BODY.PEEK[]", true},
	{"UID FETCH 1:* (FLAGS UID)", false},
}

// fetchMetadata is what a client asks to list a folder; the delivery-during-FETCH loop sends it too.
const fetchMetadata = "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)"

// fetched is what a FETCH returned.
type fetched struct {
	messages int
	bytes    int64 // of the literals: the body sections, and the strings a server sends as literals
}

// fetchAll runs a UID FETCH command on the raw connection, counting its responses and literal bytes.
func fetchAll(c *rawIMAP, command string) (fetched, error) {
	reply, err := c.command(command)
	if err != nil {
		return fetched{}, err
	}
	if reply.fetches == 0 {
		return fetched{}, fmt.Errorf("%s: no FETCH response", command)
	}
	return fetched{messages: reply.fetches, bytes: reply.literals}, nil
}
