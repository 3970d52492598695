package imap

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// headerTestMessages are messages whose root header is served from the header block alone: folded fields, a
// raw 8-bit field, a missing field, bare LF line ends, a header longer than one store chunk (too long for the
// store's short copy), no body at all, and fields the short copy leaves out (trace and signatures, folded, in any
// case), one of them before a continuation line with no field, which the trace lines of a delivery take in.
func headerTestMessages() [][]byte {
	var filler strings.Builder
	for i := 0; filler.Len() < store.ChunkSize+5000; i++ {
		fmt.Fprintf(&filler, "X-Filler-%d: %s\r\n\t%s\r\n", i, strings.Repeat("a", 60), strings.Repeat("b", 60))
	}
	return [][]byte{
		[]byte("From: =?UTF-8?Q?Nguy=E1=BB=85n_V=C4=83n_An?=\r\n <an@example.gov.vn>\r\nTo: noivu@example.gov.vn,\r\n\tvanthu@example.gov.vn\r\n" +
			"Subject: Báo cáo tổng kết năm\r\nDate: Mon, 02 Feb 2026 09:30:00 +0700\r\nX-Priority: 1\r\n\r\nNội dung.\r\n"),
		[]byte("From: a@example.gov.vn\nSubject: bare LF\n  folded on\nTo: b@example.gov.vn\n\nbody\n"),
		[]byte("From: a@example.gov.vn\r\n" + filler.String() + "Subject: after a long header\r\nDate: Tue, 03 Feb 2026 10:00:00 +0700\r\n\r\nbody\r\n"),
		[]byte("Subject: no body\r\nFrom: a@example.gov.vn\r\n"),
		[]byte("Received: from mx1.example.gov.vn by mail.example.gov.vn;\r\n\tMon, 02 Feb 2026 09:29:58 +0700\r\n" +
			"DKIM-Signature: v=1; a=rsa-sha256; d=example.gov.vn; s=mail;\r\n\tb=AAAA\r\nFrom: a@example.gov.vn\r\n" +
			"received : from inner\r\nSubject: signed\r\n  and folded\r\nARC-Seal: i=1; cv=none\r\nTo: b@example.gov.vn\r\n" +
			"Authentication-Results: mail; dkim=pass\r\nDate: Tue, 03 Feb 2026 10:00:00 +0700\r\n\r\nbody\r\n"),
		[]byte("\tan orphan continuation\r\nReceived: from mx\r\nFrom: a@example.gov.vn\r\nSubject: orphan first\r\n\r\nbody\r\n"),
	}
}

// TestFetchRootHeaderFromHeaderBlock: BODY[HEADER], HEADER.FIELDS and HEADER.FIELDS.NOT of the message, fetched on
// their own (read from the header block) come out byte for byte as when the whole parse result is decoded (with
// ENVELOPE in the same FETCH), for appended messages and for delivered ones with trace lines in front.
func TestFetchRootHeaderFromHeaderBlock(t *testing.T) {
	ts := newTestServer(t)
	inbox, err := ts.st.Mailbox(ts.account.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	raws := headerTestMessages()
	for _, raw := range raws {
		p := message.Parse(raw)
		msg := store.NewMessage{Body: raw, Meta: p.Meta(), Text: p.SearchText()}
		if _, err := ts.st.Append(inbox.ID, msg, nil, nil); err != nil {
			t.Fatal(err)
		}
		trace := []byte("Return-Path: <a@example.gov.vn>\r\nReceived: from mx by mail; Mon, 02 Feb 2026 09:30:01 +0700\r\n")
		if _, err := ts.st.Deliver(msg, []store.Copy{{AccountID: ts.account.ID, Trace: trace}}); err != nil {
			t.Fatal(err)
		}
	}
	c := ts.client(t, nil)
	selectBox(t, c, "INBOX", true)
	sections := []*imap.FetchItemBodySection{
		{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"FROM", "TO", "SUBJECT", "DATE", "CC"}, Peek: true},
		{Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: []string{"Received", "X-Priority"}, Peek: true},
		{Specifier: imap.PartSpecifierHeader, Peek: true},
		{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject", "Return-Path"}, Peek: true,
			Partial: &imap.SectionPartial{Offset: 5, Size: 40}},
		{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject", " received", "From"}, Peek: true},
		{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"dkim-signature", "ARC-Seal", "Date"}, Peek: true},
	}
	all := imap.UIDSet{{Start: 1, Stop: 0}}
	for _, sec := range sections {
		alone, err := c.Fetch(all, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := c.Fetch(all, &imap.FetchOptions{Envelope: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(alone) != 2*len(raws) || len(decoded) != len(alone) {
			t.Fatalf("%d and %d messages, want %d", len(alone), len(decoded), 2*len(raws))
		}
		for i := range alone {
			got, want := alone[i].FindBodySection(sec), decoded[i].FindBodySection(sec)
			if !bytes.Equal(got, want) || len(want) == 0 {
				t.Errorf("uid %d, %+v: from the header block %d bytes, with the parse result decoded %d, apart from byte %d",
					alone[i].UID, sec, len(got), len(want), commonPrefix(got, want))
			}
		}
	}
	// Exact bytes where the header is longer than a chunk, and with trace lines in front.
	fields := sections[0]
	want := "From: a@example.gov.vn\r\nSubject: after a long header\r\nDate: Tue, 03 Feb 2026 10:00:00 +0700\r\n\r\n"
	for _, uid := range []imap.UID{5, 6} {
		m := fetchOne(t, c, imap.UIDSetNum(uid), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{fields}})
		if got := string(m.FindBodySection(fields)); got != want {
			t.Errorf("uid %d HEADER.FIELDS = %q, want %q", uid, got, want)
		}
	}
	whole := sections[2]
	m := fetchOne(t, c, imap.UIDSetNum(6), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{whole}})
	if got, want := m.FindBodySection(whole), raws[2][:bytes.Index(raws[2], []byte("\r\n\r\n"))+4]; !bytes.HasSuffix(got, want) ||
		!bytes.HasPrefix(got, []byte("Return-Path: ")) {
		t.Errorf("BODY[HEADER] of a delivered message: %d bytes, want the trace and the %d header bytes", len(got), len(want))
	}
}

// commonPrefix is how many bytes a and b share at the start.
func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
