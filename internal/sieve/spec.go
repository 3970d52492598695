package sieve

// The grammar of each command and test: which tags it takes, what follows each tag, its positional arguments and
// the extension that must be required for it (RFC 5228 section 3.2: using what was not required is an error).

type valueKind int

const (
	valFlag   valueKind = iota // a tag alone
	valString                  // one string
	valList                    // a string list (one string is a list of one)
	valNumber
)

type tagSpec struct {
	kind valueKind
	ext  string // the extension the tag needs, "" when the command's own is enough
}

type testArity int

const (
	noTests testArity = iota
	oneTest
	testList
)

type spec struct {
	ext        string
	tags       map[string]tagSpec
	exclusive  [][]string  // at most one tag of each group
	positional []valueKind // the last len(positional)-optional are required
	optional   int         // how many leading positional arguments may be left out
	tests      testArity
	block      bool
	isTest     bool
}

var (
	matchTags = map[string]tagSpec{
		"comparator": {kind: valString},
		"is":         {kind: valFlag},
		"contains":   {kind: valFlag},
		"matches":    {kind: valFlag},
		"count":      {kind: valString, ext: "relational"},
		"value":      {kind: valString, ext: "relational"},
	}
	matchGroups   = [][]string{{"is", "contains", "matches", "count", "value"}}
	addressGroups = [][]string{{"all", "localpart", "domain"}}
)

func withTags(sets ...map[string]tagSpec) map[string]tagSpec {
	out := map[string]tagSpec{}
	for _, set := range sets {
		for k, v := range set {
			out[k] = v
		}
	}
	return out
}

var addressPartTags = map[string]tagSpec{"all": {kind: valFlag}, "localpart": {kind: valFlag}, "domain": {kind: valFlag}}

// indexTags pick one occurrence of a header field (RFC 5260 section 6): header, address and date take them.
var indexTags = map[string]tagSpec{"index": {kind: valNumber, ext: "index"}, "last": {kind: valFlag, ext: "index"}}

// zoneTags shift a date to a zone, or keep the header's (RFC 5260 section 4.1); currentdate takes only :zone.
var (
	zoneTag   = map[string]tagSpec{"zone": {kind: valString}}
	zoneTags  = withTags(zoneTag, map[string]tagSpec{"originalzone": {kind: valFlag}})
	zoneGroup = []string{"zone", "originalzone"}
)

var commandSpecs = map[string]spec{
	"require": {positional: []valueKind{valList}},
	"if":      {tests: oneTest, block: true},
	"elsif":   {tests: oneTest, block: true},
	"else":    {block: true},
	"stop":    {},
	"keep":    {tags: map[string]tagSpec{"flags": {kind: valList, ext: "imap4flags"}}},
	"discard": {},
	"redirect": {
		tags:       map[string]tagSpec{"copy": {kind: valFlag, ext: "copy"}},
		positional: []valueKind{valString},
	},
	"fileinto": {
		ext: "fileinto",
		tags: map[string]tagSpec{
			"copy":   {kind: valFlag, ext: "copy"},
			"create": {kind: valFlag, ext: "mailbox"},
			"flags":  {kind: valList, ext: "imap4flags"},
		},
		positional: []valueKind{valString},
	},
	"setflag":    {ext: "imap4flags", positional: []valueKind{valString, valList}, optional: 1},
	"addflag":    {ext: "imap4flags", positional: []valueKind{valString, valList}, optional: 1},
	"removeflag": {ext: "imap4flags", positional: []valueKind{valString, valList}, optional: 1},
	"set": {
		ext: "variables",
		tags: map[string]tagSpec{
			"lower": {kind: valFlag}, "upper": {kind: valFlag}, "lowerfirst": {kind: valFlag},
			"upperfirst": {kind: valFlag}, "quotewildcard": {kind: valFlag}, "length": {kind: valFlag},
		},
		exclusive:  [][]string{{"lower", "upper"}, {"lowerfirst", "upperfirst"}},
		positional: []valueKind{valString, valString},
	},
	"vacation": {
		ext: "vacation",
		tags: map[string]tagSpec{
			"days": {kind: valNumber}, "seconds": {kind: valNumber, ext: "vacation-seconds"},
			"subject": {kind: valString}, "from": {kind: valString}, "addresses": {kind: valList},
			"mime": {kind: valFlag}, "handle": {kind: valString},
		},
		exclusive:  [][]string{{"days", "seconds"}},
		positional: []valueKind{valString},
	},
}

var testSpecs = map[string]spec{
	"true":   {isTest: true},
	"false":  {isTest: true},
	"not":    {isTest: true, tests: oneTest},
	"allof":  {isTest: true, tests: testList},
	"anyof":  {isTest: true, tests: testList},
	"exists": {isTest: true, positional: []valueKind{valList}},
	"size":   {isTest: true, tags: map[string]tagSpec{"over": {kind: valNumber}, "under": {kind: valNumber}}, exclusive: [][]string{{"over", "under"}}},
	"header": {isTest: true, tags: withTags(matchTags, indexTags), exclusive: matchGroups, positional: []valueKind{valList, valList}},
	"address": {
		isTest: true, tags: withTags(matchTags, addressPartTags, indexTags),
		exclusive: append(matchGroups, addressGroups...), positional: []valueKind{valList, valList},
	},
	"date": {
		isTest: true, ext: "date", tags: withTags(matchTags, zoneTags, indexTags),
		exclusive: append(matchGroups, zoneGroup), positional: []valueKind{valString, valString, valList},
	},
	"currentdate": {
		isTest: true, ext: "date", tags: withTags(matchTags, zoneTag), exclusive: matchGroups,
		positional: []valueKind{valString, valList},
	},
	"envelope": {
		isTest: true, ext: "envelope", tags: withTags(matchTags, addressPartTags),
		exclusive: append(matchGroups, addressGroups...), positional: []valueKind{valList, valList},
	},
	"string": {isTest: true, ext: "variables", tags: matchTags, exclusive: matchGroups, positional: []valueKind{valList, valList}},
	"hasflag": {
		isTest: true, ext: "imap4flags", tags: matchTags, exclusive: matchGroups,
		positional: []valueKind{valList, valList}, optional: 1,
	},
	"body": {
		isTest: true, ext: "body",
		tags:       withTags(matchTags, map[string]tagSpec{"raw": {kind: valFlag}, "content": {kind: valList}, "text": {kind: valFlag}}),
		exclusive:  append(matchGroups, []string{"raw", "content", "text"}),
		positional: []valueKind{valList},
	},
	"mailboxexists": {isTest: true, ext: "mailbox", positional: []valueKind{valList}},
}

// capabilities are the names require accepts: extensions and comparators (RFC 5228 section 2.7.3).
var capabilities = map[string]bool{
	"fileinto": true, "envelope": true, "copy": true, "mailbox": true, "imap4flags": true, "vacation": true,
	"vacation-seconds": true, "body": true, "variables": true, "relational": true, "date": true, "index": true,
	"comparator-i;octet": true, "comparator-i;ascii-casemap": true, "comparator-i;ascii-numeric": true,
	"comparator-" + ViFoldComparator: true,
}

// Capabilities lists the extensions this package supports, as ManageSieve's SIEVE capability announces them.
func Capabilities() []string {
	return []string{
		"fileinto", "envelope", "copy", "mailbox", "imap4flags", "vacation", "vacation-seconds", "body", "variables",
		"relational", "date", "index", "comparator-i;ascii-numeric", "comparator-" + ViFoldComparator,
	}
}
