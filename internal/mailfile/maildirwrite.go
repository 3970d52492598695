package mailfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// ErrTooManyKeywords is returned for a message whose keywords would make a Maildir's 27th: the letters a–z carry
// 26. The message is not written; the caller may write it without the extra keywords.
var ErrTooManyKeywords = errors.New("more than 26 keywords in one Maildir")

// MaildirWriter writes messages into one Maildir as Dovecot does: through tmp/ into cur/ with ":2," flags and
// ",S=,W=" sizes in the name, keywords as letters listed in dovecot-keywords, INTERNALDATE as the modification time.
// Messages are written byte for byte, so our reader gives them back exactly.
type MaildirWriter struct {
	dir      string
	host     string
	keywords []string // index: letter
}

// deliveries makes names unique within the process (the Q field of Dovecot's names).
var deliveries atomic.Uint64

// CreateMaildir makes dir a Maildir (cur, new, tmp), keeping an existing one's keywords.
func CreateMaildir(dir string) (*MaildirWriter, error) {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("maildir: %w", err)
		}
	}
	keywords, err := readKeywords(dir)
	if err != nil {
		return nil, fmt.Errorf("maildir %s: %w", dir, err)
	}
	for len(keywords) > 0 && keywords[len(keywords)-1] == "" {
		keywords = keywords[:len(keywords)-1]
	}
	host, _ := os.Hostname()
	// The Maildir spec writes '/' and ':' of the host name as \057 and \072.
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	return &MaildirWriter{dir: dir, host: host, keywords: keywords}, nil
}

// Write writes one message.
func (w *MaildirWriter) Write(m *Message) error {
	fs, err := splitFlags(m.Flags)
	if err != nil {
		return fmt.Errorf("maildir: %s: %w", m.Source, err)
	}
	letters, err := w.letters(&fs)
	if err != nil {
		return fmt.Errorf("maildir: %s: %w", m.Source, err)
	}
	now := time.Now()
	vsize := len(m.Data) + bytes.Count(m.Data, lf) - bytes.Count(m.Data, crlf)
	unique := fmt.Sprintf("%d.M%dP%dQ%d.%s,S=%d,W=%d", now.Unix(), now.Nanosecond()/1000, os.Getpid(),
		deliveries.Add(1), w.host, len(m.Data), vsize)
	tmp := filepath.Join(w.dir, "tmp", unique)
	if err := os.WriteFile(tmp, m.Data, 0o600); err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	if !m.Date.IsZero() {
		if err := os.Chtimes(tmp, m.Date, m.Date); err != nil {
			return fmt.Errorf("maildir: %w", err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(w.dir, "cur", unique+":2,"+letters)); err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	return nil
}

// letters returns the info letters for fs, in ASCII order as the spec asks, listing new keywords first.
func (w *MaildirWriter) letters(fs *flagSet) (string, error) {
	var out []byte
	for _, mf := range maildirFlags {
		if fs.has(mf.flag) || (mf.flag == "$Forwarded" && slices.Contains(fs.keywords, mf.flag)) {
			out = append(out, mf.letter)
		}
	}
	added := false
	for _, k := range fs.keywords {
		if k == "$Forwarded" {
			continue
		}
		i := indexOf(w.keywords, k)
		if i < 0 {
			if len(w.keywords) == maxKeywords {
				return "", ErrTooManyKeywords
			}
			w.keywords, i, added = append(w.keywords, k), len(w.keywords), true
		}
		out = append(out, byte('a'+i))
	}
	if added {
		if err := w.saveKeywords(); err != nil {
			return "", err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return string(out), nil
}

// saveKeywords rewrites dovecot-keywords, through a temporary file so that a reader never sees half of it.
func (w *MaildirWriter) saveKeywords() error {
	var b strings.Builder
	for i, k := range w.keywords {
		fmt.Fprintf(&b, "%d %s\n", i, k)
	}
	tmp := filepath.Join(w.dir, "tmp", keywordsFile)
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(w.dir, keywordsFile))
}
