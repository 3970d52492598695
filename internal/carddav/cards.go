package carddav

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/emersion/go-vcard"
	"golang.org/x/text/unicode/norm"
)

// cardFormat is part of every ETag: bump it whenever card changes what it writes, so that clients fetch every card
// again.
const cardFormat = "1"

// entry is one card of the address book: an account, a group or a shared mailbox. Immutable once built.
type entry struct {
	uid     string     // name-based UUID of the address: stable for as long as the address exists
	kind    vcard.Kind // individual (account), group, or org (shared mailbox)
	address string
	name    string    // display name in NFC; the address when the directory has none
	n       vcardName // structured name
	org     []string  // ORG components: the unit's names from the top of the tree down
	etag    string    // derived from all of the above
}

type vcardName struct{ family, given, additional string }

// snapshot is the whole address book as read from the directory for one request.
type snapshot struct {
	entries []*entry // in address order
	byUID   map[string]*entry
	ctag    string // changes whenever any card is added, changed or removed
}

// loadSnapshot reads the directory: every enabled account (shared mailboxes included) and every group.
func loadSnapshot(dir Directory) (*snapshot, error) {
	accounts, err := dir.Accounts()
	if err != nil {
		return nil, fmt.Errorf("address book: %w", err)
	}
	units, err := dir.Units()
	if err != nil {
		return nil, fmt.Errorf("address book: %w", err)
	}
	groups, err := dir.Groups()
	if err != nil {
		return nil, fmt.Errorf("address book: %w", err)
	}
	unitNames := make(map[string]string, len(units))
	for _, u := range units {
		unitNames[u.Path] = u.Name
	}
	s := &snapshot{byUID: make(map[string]*entry, len(accounts)+len(groups))}
	for _, a := range accounts {
		if a.Disabled {
			continue
		}
		kind := vcard.KindIndividual
		if a.Shared {
			kind = vcard.KindOrganization
		}
		s.entries = append(s.entries, newEntry(kind, a.Address, a.Name, orgOf(a.Unit, unitNames)))
	}
	for _, g := range groups {
		s.entries = append(s.entries, newEntry(vcard.KindGroup, g.Address, g.Name, nil))
	}
	sort.Slice(s.entries, func(i, j int) bool { return s.entries[i].address < s.entries[j].address })
	ctag := sha256.New()
	for _, e := range s.entries {
		s.byUID[e.uid] = e
		fmt.Fprintf(ctag, "%s %s\n", e.uid, e.etag)
	}
	s.ctag = hex.EncodeToString(ctag.Sum(nil)[:16])
	return s, nil
}

func newEntry(kind vcard.Kind, address, name string, org []string) *entry {
	e := &entry{uid: uidOf(address), kind: kind, address: address, name: cleanText(name), org: org}
	if e.name == "" {
		e.name = address
	} else if kind == vcard.KindIndividual {
		e.n = splitVietnameseName(e.name)
	}
	if kind != vcard.KindIndividual || e.name == address {
		// iOS shows N and ignores FN: a group or office shows under its whole name.
		e.n = vcardName{family: cleanComponent(e.name)}
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s", cardFormat, e.uid, e.kind, e.address,
		e.name, e.n.family, e.n.given, e.n.additional, strings.Join(e.org, "\x1f"))
	e.etag = hex.EncodeToString(h.Sum(nil)[:16])
	return e
}

// splitVietnameseName splits "Nguyễn Văn An" into family name Nguyễn, middle name Văn and given name An: the family
// name comes first and the given name last (the reverse of the Western order that vCard's N spells out).
func splitVietnameseName(name string) vcardName {
	words := strings.Fields(cleanComponent(name))
	switch len(words) {
	case 0:
		return vcardName{}
	case 1:
		return vcardName{given: words[0]}
	}
	return vcardName{
		family:     words[0],
		given:      words[len(words)-1],
		additional: strings.Join(words[1:len(words)-1], " "),
	}
}

// orgOf returns the ORG components of a unit: each level's name from the top of the tree down, or the level's path
// segment where the level has no name. "vinhyen/ubnd/phong-noi-vu" → ["Thành phố Vĩnh Yên", "UBND thành phố",
// "Phòng Nội vụ"].
func orgOf(unit string, names map[string]string) []string {
	if unit == "" {
		return nil
	}
	levels := strings.Split(unit, "/")
	org := make([]string, len(levels))
	for i, level := range levels {
		org[i] = cleanComponent(names[strings.Join(levels[:i+1], "/")])
		if org[i] == "" {
			org[i] = level
		}
	}
	return org
}

// cleanText prepares a directory string for a vCard text value: NFC (names typed on some systems arrive
// decomposed, and clients compare code points), control characters as spaces, runs of spaces collapsed.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, norm.NFC.String(s))
	return strings.Join(strings.Fields(s), " ")
}

// cleanComponent is cleanText for one component of a structured value (N, ORG): go-vcard does not escape ';', which
// separates the components, so a ';' inside one becomes ','.
func cleanComponent(s string) string {
	return strings.ReplaceAll(cleanText(s), ";", ",")
}

// uidNamespace is the RFC 9562 name-space of the cards' UIDs (a random constant: changing it changes every UID).
var uidNamespace = [16]byte{0x6b, 0x3e, 0x0c, 0x51, 0x9d, 0x2a, 0x4f, 0x0e, 0x8b, 0x47, 0x21, 0xc5, 0x93, 0x70, 0xee, 0x14}

// uidOf returns the name-based (version 5, RFC 9562 §5.5) UUID of an address: the same address always has the same
// UID, so a card keeps its identity (and URL) across restarts and renames.
func uidOf(address string) string {
	h := sha1.New()
	h.Write(uidNamespace[:])
	h.Write([]byte(address))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// card returns the entry as a vCard of the given version. Changes here need a new cardFormat.
func (e *entry) card(version string) vcard.Card {
	c := vcard.Card{}
	c.SetValue(vcard.FieldVersion, version)
	c.SetValue(vcard.FieldUID, "urn:uuid:"+e.uid)
	c.SetValue(vcard.FieldFormattedName, e.name)
	c.SetName(&vcard.Name{FamilyName: e.n.family, GivenName: e.n.given, AdditionalName: e.n.additional})
	email := &vcard.Field{Value: e.address, Params: vcard.Params{vcard.ParamType: {vcard.TypeWork}}}
	if version == version3 {
		email.Params[vcard.ParamType] = []string{"INTERNET", "WORK"} // RFC 2426 §3.3.2
	}
	c.Set(vcard.FieldEmail, email)
	if len(e.org) > 0 {
		c.SetValue(vcard.FieldOrganization, strings.Join(e.org, ";"))
	}
	if version == version4 {
		c.SetKind(e.kind) // RFC 6350 §6.1.4; vCard 3.0 has no KIND
	}
	return c
}

// objectPath is the URL path of an entry's card.
func objectPath(uid string) string { return bookPath + uid + ".vcf" }
