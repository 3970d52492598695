// Package address is the one place that says what a mail address is here: what it may contain, how two addresses
// are compared, and how one travels over SMTP. It imports nothing of this module's, so every package can use it.
//
// # What an address may contain
//
// An address is local@domain, split at its last '@' (RFC 5321 section 4.1.2).
//
// The local part is a dot-atom: runs of letters, digits and ! # $ % & ' * + - / = ? ^ _ ` { | } ~ separated by
// single dots. As SMTPUTF8 allows (RFC 6531 section 3.3), letters, digits and combining marks of any script count
// too, so nguyễn.văn.an is a local part; other non-ASCII characters (spaces, symbols, invisible formatting and
// bidirectional controls) are refused everywhere. A quoted local part ("an nv"@example.vn, RFC 5321 Quoted-string)
// may also hold spaces and the other printable ASCII characters, each " and \ escaped with a backslash; quotes around
// a dot-atom change nothing ("an"@example.vn is an@example.vn). Quoted local parts are accepted where other people's
// addresses are (recipients, senders, listed senders of a group) and never given to anything created here.
//
// The domain is a host name or an address literal. A host name is labels of letters, digits and hyphens, 1 to 63
// octets each, not starting or ending with a hyphen, and not all digits in the last one (RFC 1123 section 2.1: that
// is an IP address posing as a name). Labels in Unicode are internationalised names, checked and converted by IDNA2008
// with the UTS #46 lookup mapping, non-transitional (golang.org/x/net/idna): Huế.vn is xn--hu-07s.vn, ß stays ß. An
// address literal is [192.0.2.1] or [IPv6:2001:db8::1] (RFC 5321 section 4.1.3); it is a valid address of someone
// else, though the outbound gateway never routes to one. A domain alone (ParseDomain) may end in a dot, as in DNS;
// a domain in an address may not.
//
// Limits (RFC 5321 section 4.5.3.1): the local part at most 64 octets as written (with its quotes, if any), the
// domain at most 253 octets in its ASCII form (section 4.5.3.1.2 allows 255, but a DNS name written without its final
// dot holds 253), the address at most 254 octets (a path is at most 256 with its angle brackets). The limits hold for
// the compared form (Key) too, so that a Key always parses again.
//
// # Addresses created here
//
// A new account, shared mailbox, alias or group (ParseNew) takes a stricter subset: a local part of ASCII letters,
// digits and . _ - + only, without quotes, and a host name as its domain. A local part with other letters, Vietnamese
// ones included, can be written to and from only over SMTPUTF8, and many agency servers do not offer it: such an
// account could neither receive their mail nor send to them (outbound bounces with 5.6.7). The other ASCII
// characters need quoting in the CLI, in CSV files and in IMAP mailbox names (a shared mailbox's address is part of
// its folder names, where / is the hierarchy separator and % and * are LIST wildcards).
//
// # Comparison and storage
//
// One canonical form is kept for storage and comparison: Key. Its domain is in A-labels, lower case, so a domain
// written in Unicode and in its xn-- form is the same domain. Its local part is put in Unicode normalisation form NFC
// (so that Vietnamese letters typed as a base letter and combining marks match the precomposed ones) and lower-cased
// with Unicode's simple case mapping (not full case folding: ß stays ß). RFC 5321 section 2.4 lets a server tell case
// apart in local parts, but no mail system in use does, and people type addresses any way they like. Address keeps
// the local part's case as written (only NFC is applied), for the server that receives it.
//
// Every key written before this package existed (lower-case ASCII: the administration layer allowed nothing else) is
// its own Key. Fold (FoldDomain for a domain alone) gives the Key of a string that parses and the old rule (trimmed,
// lower case) for one that does not, so that a lookup of an old key the current rules refuse still finds it.
//
// # SMTP
//
// String writes an address for MAIL FROM, RCPT TO and header fields: the local part quoted where it is not a dot-atom,
// the domain in A-labels, which every server and DNS understand. So only a non-ASCII local part needs SMTPUTF8
// (NeedsSMTPUTF8); it has no ASCII form, and mail to or from it cannot go to a server that does not offer the
// extension (RFC 6531 section 3.2: no downgrade).
//
// go-smtp hands over MAIL FROM and RCPT TO arguments, and net/mail header addresses, with the local part already taken
// out of its quotes ("an nv"@x.vn arrives as an nv@x.vn): ParseUnquoted reads that form.
package address
