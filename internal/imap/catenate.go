package imap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// AppendCatenate implements imapserver.SessionCatenate (RFC 4469): the message is the client's text parts and the
// messages or parts of messages its IMAP URLs (RFC 5092) name, in order, within the APPEND limit. The library
// sends CATENATE through BeginAppend and AddCatenate (SessionMultiAppend), also inside a MULTIAPPEND; this is the
// same for one message. The target is checked first, so a missing one earns TRYCREATE whatever the URLs
// (RFC 4469 section 5).
func (s *session) AppendCatenate(mailbox string, parts *imapserver.CatenateReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	a, err := s.BeginAppend(mailbox)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	if err := a.(*appender).AddCatenate(parts, options); err != nil {
		return nil, err
	}
	return a.Commit()
}

// catenation reads the parts of a CATENATE one after the other as one message.
type catenation struct {
	s     *session
	parts *imapserver.CatenateReader
	cur   io.Reader // the part being read; nil between parts
	total int64     // bytes of the URL parts so far
}

func (c *catenation) Read(p []byte) (int, error) {
	for {
		if c.cur != nil {
			n, err := c.cur.Read(p)
			if err == io.EOF {
				c.cur = nil
				if n == 0 {
					continue
				}
				err = nil
			}
			return n, err
		}
		part, err := c.parts.Next()
		if err != nil {
			return 0, err // io.EOF after the last part
		}
		if part.Text != nil {
			c.cur = part.Text
			continue
		}
		data, err := c.s.urlContent(part.URL, int64(c.s.srv.appendLimit)-c.total)
		if err != nil {
			return 0, err
		}
		c.total += int64(len(data))
		c.cur = bytes.NewReader(data)
	}
}

// imapURL is what an IMAP URL relative to this server names (RFC 5092 section 3): a message by UID in a mailbox,
// optionally with the mailbox's UIDVALIDITY, a section and a partial range.
type imapURL struct {
	mailbox     string
	uidValidity uint32 // 0: not given
	uid         uint32
	section     *imap.FetchItemBodySection // nil: the whole message
	partial     *imap.SectionPartial
}

// badURL is NO [BADURL "url"] (RFC 4469 section 6).
func badURL(raw, why string) error {
	return no(imap.ResponseCode("BADURL "+strconv.Quote(raw)), why)
}

// urlContent reads what the URL names, refusing it when it is over room bytes or the session may not read it.
func (s *session) urlContent(raw string, room int64) ([]byte, error) {
	u, err := parseIMAPURL(raw)
	if err != nil {
		return nil, badURL(raw, err.Error())
	}
	_, mb, err := s.lookup(u.mailbox)
	if err != nil || mb.NoSelect {
		return nil, badURL(raw, "No such mailbox")
	}
	if u.uidValidity != 0 && u.uidValidity != mb.UIDValidity {
		return nil, badURL(raw, "UIDVALIDITY does not match")
	}
	msgs, err := s.srv.store.Messages(mb.ID, []uint32{u.uid}, store.FetchOptions{Meta: u.section != nil})
	if err != nil {
		return nil, s.storeError("catenate", err)
	}
	if len(msgs) == 0 {
		return nil, badURL(raw, "No such message")
	}
	data, err := s.urlSection(&msgs[0], u, room)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, badURL(raw, "No such section")
	}
	return data, nil
}

// urlSection extracts the section (and partial range) the URL names from m, nil if there is no such section.
func (s *session) urlSection(m *store.Message, u *imapURL, room int64) ([]byte, error) {
	src := s.source(m)
	if u.section == nil {
		p := u.partial
		if p != nil && p.Size < 0 {
			p = &imap.SectionPartial{Offset: p.Offset, Size: src.Size()} // to the end
		}
		off, n := partialRange(src.Size(), p)
		if n > room {
			return nil, errTooBig
		}
		return readWhole(src, off, n)
	}
	meta, err := message.DecodeMeta(m.Meta)
	if err != nil {
		return nil, s.internalError("catenate", err)
	}
	sec := *u.section
	sec.Partial = u.partial
	data, err := meta.ExtractSectionPartial(src, &sec)
	if err != nil {
		return nil, s.internalError("catenate", err)
	}
	if int64(len(data)) > room {
		return nil, errTooBig
	}
	return data, nil
}

// parseIMAPURL parses "/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]", or the same after
// "imap://authority", which must then be this server: CATENATE only reaches messages here (RFC 4469 section 5).
func parseIMAPURL(raw string) (*imapURL, error) {
	rest := raw
	if len(rest) >= 7 && strings.EqualFold(rest[:7], "imap://") {
		i := strings.IndexByte(rest[7:], '/')
		if i < 0 {
			return nil, errors.New("no mailbox in the URL")
		}
		rest = rest[7+i:]
	}
	if !strings.HasPrefix(rest, "/") {
		return nil, errors.New("the URL must start with / or imap://")
	}
	segs := strings.Split(rest[1:], "/;")
	u := &imapURL{}
	if err := u.parseMailbox(segs[0]); err != nil {
		return nil, err
	}
	for _, seg := range segs[1:] {
		if err := u.parseParam(seg); err != nil {
			return nil, err
		}
	}
	if u.uid == 0 {
		return nil, errors.New("the URL names no message (;UID=)")
	}
	return u, nil
}

func (u *imapURL) parseMailbox(seg string) error {
	name, params, _ := strings.Cut(seg, ";")
	mailbox, err := url.PathUnescape(strings.TrimSuffix(name, "/"))
	if err != nil || mailbox == "" {
		return errors.New("bad mailbox in the URL")
	}
	u.mailbox = mailbox
	if params == "" {
		return nil
	}
	key, value, _ := strings.Cut(params, "=")
	n, err := strconv.ParseUint(value, 10, 32)
	if !strings.EqualFold(key, "UIDVALIDITY") || err != nil || n == 0 {
		return errors.New("unsupported mailbox parameter in the URL")
	}
	u.uidValidity = uint32(n)
	return nil
}

func (u *imapURL) parseParam(seg string) error {
	key, value, _ := strings.Cut(seg, "=")
	value, err := url.PathUnescape(value)
	if err != nil {
		return errors.New("bad escape in the URL")
	}
	switch strings.ToUpper(key) {
	case "UID":
		n, err := strconv.ParseUint(value, 10, 32)
		if err != nil || n == 0 {
			return errors.New("bad UID in the URL")
		}
		u.uid = uint32(n)
	case "SECTION":
		sec, err := parseURLSection(value)
		if err != nil {
			return err
		}
		u.section = sec
	case "PARTIAL":
		p, err := parseURLPartial(value)
		if err != nil {
			return err
		}
		u.partial = p
	default:
		return fmt.Errorf("unsupported URL parameter %q", key)
	}
	return nil
}

// parseURLSection parses a FETCH section-spec (RFC 3501 section 9): part numbers, then HEADER, TEXT, MIME or
// HEADER.FIELDS[.NOT] (fields).
func parseURLSection(s string) (*imap.FetchItemBodySection, error) {
	sec := &imap.FetchItemBodySection{}
	rest := s
	for rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		num, tail, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n == 0 {
			return nil, errors.New("bad section in the URL")
		}
		sec.Part = append(sec.Part, n)
		rest = tail
	}
	name, fields, hasFields := strings.Cut(rest, " ")
	switch upper := strings.ToUpper(name); {
	case upper == "" && !hasFields:
	case upper == "HEADER" || upper == "TEXT" || (upper == "MIME" && len(sec.Part) > 0):
		sec.Specifier = imap.PartSpecifier(upper)
	case (upper == "HEADER.FIELDS" || upper == "HEADER.FIELDS.NOT") && hasFields:
		list := strings.Fields(strings.Trim(fields, "()"))
		if len(list) == 0 {
			return nil, errors.New("no header fields in the URL's section")
		}
		sec.Specifier = imap.PartSpecifierHeader
		if upper == "HEADER.FIELDS" {
			sec.HeaderFields = list
		} else {
			sec.HeaderFieldsNot = list
		}
	default:
		return nil, errors.New("bad section in the URL")
	}
	return sec, nil
}

// parseURLPartial parses ";PARTIAL=offset[.length]" (RFC 5092 section 3).
func parseURLPartial(s string) (*imap.SectionPartial, error) {
	off, length, hasLength := strings.Cut(s, ".")
	o, err := strconv.ParseInt(off, 10, 64)
	if err != nil || o < 0 {
		return nil, errors.New("bad partial range in the URL")
	}
	p := &imap.SectionPartial{Offset: o, Size: -1} // -1: to the end
	if hasLength {
		n, err := strconv.ParseInt(length, 10, 64)
		if err != nil || n <= 0 {
			return nil, errors.New("bad partial range in the URL")
		}
		p.Size = n
	}
	return p, nil
}
