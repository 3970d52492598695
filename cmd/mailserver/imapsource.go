package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"mailserver/internal/mailfile"
	"mailserver/internal/store"
)

// imapServer says how to reach the old IMAP server.
type imapServer struct {
	address  string // host:port
	security string // "tls" (implicit, port 993), "starttls" or "none"
	tls      *tls.Config
	// admin, when set, logs in for every account (RFC 4616 PLAIN with the account's login as the authorization
	// identity): the old server's master or admin user, so that the users' passwords are not needed.
	admin, adminPassword string
}

// Security modes of the connection to the old server.
const (
	securityTLS      = "tls"
	securityStartTLS = "starttls"
	securityNone     = "none"
)

// newIMAPServer checks the address and builds the TLS settings: certificates are verified against the system's
// roots, or caFile's, unless insecure is set.
func newIMAPServer(address, security, caFile string, insecure bool) (*imapServer, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		host, port = address, ""
	}
	if host == "" {
		return nil, fmt.Errorf("--host %q: a host name is needed", address)
	}
	switch security {
	case "":
		security = securityStartTLS
		if port == "" || port == "993" {
			security = securityTLS
		}
	case securityTLS, securityStartTLS, securityNone:
	default:
		return nil, fmt.Errorf("--security %q: tls, starttls or none", security)
	}
	if port == "" {
		port = "143"
		if security == securityTLS {
			port = "993"
		}
	}
	conf := &tls.Config{ServerName: host, InsecureSkipVerify: insecure}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", caFile)
		}
	}
	return &imapServer{address: net.JoinHostPort(strings.ToLower(host), port), security: security, tls: conf}, nil
}

// sourceName names the old server's mailbox of login in the import marks: a re-run from the same server for the
// same login goes on where the last one stopped.
func (s *imapServer) sourceName(login string) string {
	return "imap://" + login + "@" + s.address
}

// connect opens a connection and logs in as login.
func (s *imapServer) connect(login, password string) (*imapclient.Client, error) {
	opts := &imapclient.Options{TLSConfig: s.tls, Dialer: &net.Dialer{Timeout: 30 * time.Second}}
	var c *imapclient.Client
	var err error
	switch s.security {
	case securityTLS:
		c, err = imapclient.DialTLS(s.address, opts)
	case securityStartTLS:
		c, err = imapclient.DialStartTLS(s.address, opts)
	default:
		c, err = imapclient.DialInsecure(s.address, opts)
	}
	if err != nil {
		return nil, connectError(s.address, err)
	}
	if err := s.login(c, login, password); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// connectError explains the failures an operator can act on.
func connectError(address string, err error) error {
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) {
		return fmt.Errorf("connect to %s: its certificate is not trusted (%w): give its CA with --ca-file, or, on a "+
			"network you trust, --insecure-skip-verify", address, err)
	}
	return fmt.Errorf("connect to %s: %w", address, err)
}

func (s *imapServer) login(c *imapclient.Client, login, password string) error {
	var err error
	switch {
	case s.admin != "":
		err = c.Authenticate(sasl.NewPlainClient(login, s.admin, s.adminPassword))
	case c.Caps().Has(imap.CapLoginDisabled):
		err = c.Authenticate(sasl.NewPlainClient("", login, password))
	default:
		err = c.Login(login, password).Wait()
	}
	if err != nil {
		if s.admin != "" {
			return fmt.Errorf("log in to %s as %s for %s: %w", s.address, s.admin, login, err)
		}
		return fmt.Errorf("log in to %s as %s: %w", s.address, login, err)
	}
	return nil
}

// sourceFolder is one folder of the old server and where its messages go.
type sourceFolder struct {
	name string // the old server's name, decoded from modified UTF-7
	ours string // our folder
	// Filled in by scan: the folder's UIDVALIDITY and the messages still to copy, in UID order.
	uidValidity uint32
	lastUID     imap.UID // copied up to here before (0: nothing, or the folder was renumbered)
	todo        []sourceMessage
	copied      []store.SourceFlags // the flags there now of the messages copied before
}

type sourceMessage struct {
	uid  imap.UID
	size int64
}

// virtualFolders hold no messages of their own (RFC 6154: \All is Gmail's "All Mail", \Flagged a view of the
// flagged messages): copying them would copy every message twice.
var virtualFolders = []imap.MailboxAttr{imap.MailboxAttrAll, imap.MailboxAttrFlagged}

// listFolders lists the old server's folders in the user's personal namespace, skipping those that cannot hold
// messages, the virtual ones and those excluded (with their sub-folders), and maps each onto ours.
func listFolders(c *imapclient.Client, exclude []string, under string) ([]*sourceFolder, error) {
	var foreign []string // prefixes of other users' and shared namespaces
	if c.Caps().Has(imap.CapNamespace) {
		ns, err := c.Namespace().Wait()
		if err != nil {
			return nil, fmt.Errorf("NAMESPACE: %w", err)
		}
		for _, d := range append(ns.Other, ns.Shared...) {
			if d.Prefix != "" {
				foreign = append(foreign, d.Prefix)
			}
		}
	}
	var opts *imap.ListOptions
	if c.Caps().Has(imap.CapSpecialUse) {
		opts = &imap.ListOptions{ReturnSpecialUse: true}
	}
	list, err := c.List("", "*", opts).Collect()
	if err != nil {
		return nil, fmt.Errorf("LIST: %w", err)
	}
	specials := specialUseFolders(list)
	var folders []*sourceFolder
	for _, l := range list {
		if hasAnyAttr(l, imap.MailboxAttrNoSelect, imap.MailboxAttrNonExistent) || hasAnyAttr(l, virtualFolders...) ||
			hasPrefixAny(l.Mailbox, foreign) || excluded(l.Mailbox, l.Delim, exclude) {
			continue
		}
		folders = append(folders, &sourceFolder{name: l.Mailbox, ours: putUnder(ourFolder(l, specials), under)})
	}
	return folders, nil
}

// specialUseFolders maps the names of the folders that the old server marks special-use (RFC 6154) onto ours:
// whatever the old server calls its Sent folder, it becomes our Sent.
func specialUseFolders(list []*imap.ListData) map[string]string {
	specials := map[string]string{}
	for _, l := range list {
		for _, attr := range l.Attrs {
			if ours, ok := mailfile.SpecialUseFolder(string(attr)); ok {
				specials[l.Mailbox] = ours
			}
		}
	}
	return specials
}

// ourFolder maps a folder of the old server onto ours: the hierarchy delimiter becomes '/', a special-use folder
// and its sub-folders move to our special folder, and a folder the old server does not mark is mapped by its name
// (mailfile.MapFolder).
func ourFolder(l *imap.ListData, specials map[string]string) string {
	parts := []string{l.Mailbox}
	if l.Delim != 0 {
		parts = strings.Split(l.Mailbox, string(l.Delim))
	}
	for i, p := range parts {
		parts[i] = folderPart(p)
	}
	// The nearest special-use ancestor (or the folder itself) decides where the sub-tree goes.
	for n := len(parts); n > 0; n-- {
		ancestor := l.Mailbox
		if l.Delim != 0 {
			ancestor = strings.Join(strings.Split(l.Mailbox, string(l.Delim))[:n], string(l.Delim))
		}
		if ours, ok := specials[ancestor]; ok {
			return strings.Join(append([]string{ours}, parts[n:]...), "/")
		}
	}
	return mailfile.MapFolder(strings.Join(parts, "/"))
}

// folderPart makes one level of an old folder name a valid level of ours: our delimiter '/' inside a name (a
// server whose delimiter is '.') becomes '-', the wildcards '*' and '%' become '_', control characters go, and a
// level left empty is named "_".
func folderPart(p string) string {
	p = strings.Map(func(r rune) rune {
		switch {
		case r == '/':
			return '-'
		case r == '*' || r == '%':
			return '_'
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, p)
	if p == "" {
		return "_"
	}
	return p
}

func hasAnyAttr(l *imap.ListData, attrs ...imap.MailboxAttr) bool {
	for _, a := range l.Attrs {
		if slices.ContainsFunc(attrs, func(b imap.MailboxAttr) bool { return strings.EqualFold(string(a), string(b)) }) {
			return true
		}
	}
	return false
}

func hasPrefixAny(name string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}

// excluded tells whether name is one of the excluded folders or below one.
func excluded(name string, delim rune, exclude []string) bool {
	for _, x := range exclude {
		if name == x || delim != 0 && strings.HasPrefix(name, x+string(delim)) {
			return true
		}
	}
	return false
}

// scan selects a folder read-only and lists the messages to copy: those after the mark of an earlier run when
// the folder's UIDVALIDITY is still the same, all of them otherwise (RFC 9051 2.3.1.1: new UIDVALIDITY, new UIDs);
// and the flags of those copied before, to bring their changes over.
func scan(c *imapclient.Client, f *sourceFolder, marks map[string]store.SourceMark) error {
	sel, err := c.Select(f.name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return fmt.Errorf("EXAMINE %q: %w", f.name, err)
	}
	f.uidValidity, f.lastUID, f.todo, f.copied = sel.UIDValidity, 0, nil, nil
	if m, ok := marks[f.name]; ok && m.UIDValidity == sel.UIDValidity {
		f.lastUID = imap.UID(m.LastUID)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	var set imap.UIDSet
	set.AddRange(1, 0) // 1:*
	fetch := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true})
	for {
		msg := fetch.Next()
		if msg == nil {
			break
		}
		buf, err := msg.Collect()
		if err != nil {
			fetch.Close()
			return fmt.Errorf("list the messages of %q: %w", f.name, err)
		}
		if buf.UID > f.lastUID {
			f.todo = append(f.todo, sourceMessage{uid: buf.UID, size: buf.RFC822Size})
		} else {
			f.copied = append(f.copied, store.SourceFlags{UID: uint32(buf.UID), Flags: flagStrings(buf.Flags)})
		}
	}
	if err := fetch.Close(); err != nil {
		return fmt.Errorf("list the messages of %q: %w", f.name, err)
	}
	slices.SortFunc(f.todo, func(a, b sourceMessage) int { return int(a.uid) - int(b.uid) })
	return nil
}

// fetchedChunk is one batch's worth of a folder's messages, and the mark reached once they are stored.
type fetchedChunk struct {
	folder   *sourceFolder
	messages []mailfile.Message
	from     []*store.SourceRef // each message's name on the old server
	tooLarge []sourceMessage    // not fetched: over the size limit
	mark     store.SourceMark
	err      error
}

// chunks splits a folder's messages into batches the store takes at once; messages over maxSize travel alone,
// to be reported rather than fetched.
func chunks(todo []sourceMessage, maxSize int64) [][]sourceMessage {
	var out [][]sourceMessage
	var cur []sourceMessage
	var bytes int64
	for _, m := range todo {
		if len(cur) > 0 && (len(cur) >= store.ImportBatchMessages || bytes+m.size > store.ImportBatchBytes) {
			out = append(out, cur)
			cur, bytes = nil, 0
		}
		cur = append(cur, m)
		bytes += m.size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// fetchChunk fetches one batch of messages with their flags and INTERNALDATE; BODY.PEEK leaves them unread on
// the old server. A message expunged there since the scan is simply not among them.
func fetchChunk(c *imapclient.Client, f *sourceFolder, part []sourceMessage, maxSize int64) fetchedChunk {
	chunk := fetchedChunk{folder: f, mark: store.SourceMark{Folder: f.name, UIDValidity: f.uidValidity,
		LastUID: uint32(part[len(part)-1].uid)}}
	var set imap.UIDSet
	for _, m := range part {
		if m.size > maxSize {
			chunk.tooLarge = append(chunk.tooLarge, m)
			continue
		}
		set.AddNum(m.uid)
	}
	if len(set) == 0 {
		return chunk
	}
	fetch := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	for {
		msg := fetch.Next()
		if msg == nil {
			break
		}
		uid, m, err := readFetched(msg, maxSize)
		if err != nil {
			fetch.Close()
			chunk.err = fmt.Errorf("fetch from %q: %w", f.name, err)
			return chunk
		}
		if m.Data == nil {
			continue // an answer without the body: a flag change the server announced, not our message
		}
		if int64(len(m.Data)) > maxSize {
			chunk.tooLarge = append(chunk.tooLarge, sourceMessage{uid: uid, size: int64(len(m.Data))})
			continue
		}
		m.Source = fmt.Sprintf("%s;UID=%d", f.name, uid)
		chunk.messages = append(chunk.messages, m)
		chunk.from = append(chunk.from, &store.SourceRef{Folder: f.name, UIDValidity: f.uidValidity, UID: uint32(uid), Flags: m.Flags})
	}
	if err := fetch.Close(); err != nil {
		chunk.err = fmt.Errorf("fetch from %q: %w", f.name, err)
	}
	return chunk
}

// flagStrings are a message's flags on the old server as we store them: \Recent is the server's session state
// (RFC 3501 2.3.2), not the message's.
func flagStrings(flags []imap.Flag) []string {
	var out []string
	for _, f := range flags {
		if !strings.EqualFold(string(f), `\Recent`) {
			out = append(out, string(f))
		}
	}
	return out
}

// readFetched reads one FETCH answer; its body is read to the end even when it is too large, so that the
// connection stays in step.
func readFetched(msg *imapclient.FetchMessageData, maxSize int64) (imap.UID, mailfile.Message, error) {
	var m mailfile.Message
	var uid imap.UID
	for {
		item := msg.Next()
		if item == nil {
			return uid, m, nil
		}
		switch item := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = item.UID
		case imapclient.FetchItemDataFlags:
			m.Flags = flagStrings(item.Flags)
		case imapclient.FetchItemDataInternalDate:
			m.Date = item.Time
		case imapclient.FetchItemDataBodySection:
			if item.Literal == nil {
				continue
			}
			data, err := io.ReadAll(io.LimitReader(item.Literal, maxSize+1))
			if err != nil {
				return uid, m, err
			}
			if _, err := io.Copy(io.Discard, item.Literal); err != nil {
				return uid, m, err
			}
			m.Data = data
		}
	}
}
