package mailfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MaildirName is what a Maildir file name says: "unique:2,FLAGS", where Dovecot adds ",S=size,W=vsize" to the
// unique part (the file's size and its size in CRLF, RFC822.SIZE).
type MaildirName struct {
	Unique string
	Size   int64  // S=, or -1
	VSize  int64  // W=, or -1
	Flags  string // the letters after ":2,"
}

// ParseMaildirName reads a Maildir file name. Flags follow ":2," (or ";2," and "!2,", which copies made where ':' is
// not allowed in names use); an info of another version carries no flags.
func ParseMaildirName(name string) (MaildirName, error) {
	if name == "" || name[0] == '.' || strings.ContainsAny(name, "/\x00") {
		return MaildirName{}, fmt.Errorf("%q is not a Maildir message name", name)
	}
	n := MaildirName{Unique: name, Size: -1, VSize: -1}
	if i := strings.LastIndexAny(name, ":;!"); i > 0 {
		n.Unique = name[:i]
		if info, ok := strings.CutPrefix(name[i+1:], "2,"); ok {
			n.Flags = info
		}
	}
	for _, field := range strings.Split(n.Unique, ",")[1:] {
		key, value, _ := strings.Cut(field, "=")
		size, err := strconv.ParseInt(value, 10, 64)
		if err != nil || size < 0 {
			continue
		}
		switch key {
		case "S":
			n.Size = size
		case "W":
			n.VSize = size
		}
	}
	return n, nil
}

// maildirFlags are the info letters of the Maildir spec; P (passed: forwarded) becomes $Forwarded (RFC 5788).
var maildirFlags = []struct {
	letter byte
	flag   string
}{{'D', FlagDraft}, {'F', FlagFlagged}, {'P', "$Forwarded"}, {'R', FlagAnswered}, {'S', FlagSeen}, {'T', FlagDeleted}}

// keywordsFile is Dovecot's list of the keywords that the letters a–z stand for: "0 $Junk" is a, "1 Work" is b.
const keywordsFile = "dovecot-keywords"

// maxKeywords is how many keywords the letters a–z can carry in one Maildir.
const maxKeywords = 26

// flagsOf turns info letters into flags, keywords from Dovecot's list; letters it does not know are ignored.
func flagsOf(letters string, keywords []string, fs *flagSet) {
	for i := 0; i < len(letters); i++ {
		c := letters[i]
		if c >= 'a' && c <= 'z' {
			if k := int(c - 'a'); k < len(keywords) && keywords[k] != "" {
				fs.add(keywords[k])
			}
			continue
		}
		for _, mf := range maildirFlags {
			if mf.letter == c {
				fs.add(mf.flag)
			}
		}
	}
}

// readKeywords reads a Maildir's dovecot-keywords; a Maildir without one has no keywords.
func readKeywords(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, keywordsFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	keywords := make([]string, maxKeywords)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		index, keyword, ok := strings.Cut(sc.Text(), " ")
		i, err := strconv.Atoi(index)
		if ok && err == nil && i >= 0 && i < maxKeywords && validKeyword(keyword) {
			keywords[i] = keyword
		}
	}
	return keywords, sc.Err()
}

// MaildirReader reads the messages of one Maildir (new/ and cur/), in the order of their names, which start with
// the delivery time. It holds the names (about 100 bytes a message), not the messages.
type MaildirReader struct {
	dir      string
	names    []string // "cur/name" or "new/name"
	next     int
	keywords []string
	files    *fileReader
	flags    []string
	msg      Message
}

// OpenMaildir lists a Maildir. maxSize is the largest message handed out (0: DefaultMaxSize).
func OpenMaildir(dir string, maxSize int) (*MaildirReader, error) {
	r := &MaildirReader{dir: dir, files: newFileReader(maxSize)}
	var err error
	if r.keywords, err = readKeywords(dir); err != nil {
		return nil, fmt.Errorf("maildir %s: %w", dir, err)
	}
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("maildir %s: %w", dir, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				r.names = append(r.names, sub+"/"+e.Name())
			}
		}
	}
	slices.SortFunc(r.names, func(a, b string) int { return strings.Compare(a[4:], b[4:]) })
	return r, nil
}

// Len is the number of messages listed.
func (r *MaildirReader) Len() int { return len(r.names) }

// Next returns the next message, or io.EOF after the last. INTERNALDATE is the file's modification time, as
// Dovecot keeps it. The message is valid until the next call; one over the maximum is skipped with ErrTooLarge.
func (r *MaildirReader) Next() (*Message, error) {
	if r.next >= len(r.names) {
		return nil, io.EOF
	}
	rel := r.names[r.next]
	r.next++
	path := filepath.Join(r.dir, rel)
	name, err := ParseMaildirName(rel[4:])
	if err != nil {
		return nil, fmt.Errorf("maildir %s: %w", path, err)
	}
	data, info, err := r.files.read(path)
	if err != nil {
		return nil, fmt.Errorf("maildir: %w", err)
	}
	var fs flagSet
	if rel[:3] == "cur" {
		flagsOf(name.Flags, r.keywords, &fs)
	}
	r.flags = fs.list(r.flags)
	r.msg = Message{Data: data, Flags: r.flags, Date: info.ModTime().UTC(), Source: path}
	return &r.msg, nil
}
