package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailserver/internal/mailfile"
)

// mailSource hands out the messages of one import with the folder each goes into.
type mailSource interface {
	// next returns the next message and its folder, or io.EOF; a message it could not read comes back as an
	// error wrapping errSkipped, and reading goes on.
	next() (*mailfile.Message, string, error)
	close() error
}

var errSkipped = errors.New("skipped")

func openMailSource(kind, path, folder string, maxSize int) (mailSource, error) {
	switch kind {
	case "mbox":
		return openMbox(path, folder, maxSize)
	case "maildir":
		return openMaildirTree(path, folder, maxSize)
	case "eml":
		return openEmlSource(path, folder, maxSize)
	}
	return nil, fmt.Errorf("unknown format %q: mbox, maildir or eml", kind)
}

// skippable turns an error of one message file into errSkipped: too large, or a file that could not be read.
func skippable(err error) error {
	var pathErr *fs.PathError
	if errors.Is(err, mailfile.ErrTooLarge) || errors.As(err, &pathErr) {
		return fmt.Errorf("%w: %w", errSkipped, err)
	}
	return err
}

// placeFolder maps a source folder ("" for a tree's root, which is INBOX) onto ours. Under --folder, INBOX
// becomes that folder and INBOX's sub-folders its sub-folders; the others go beneath it.
func placeFolder(source, under string) string {
	name := "INBOX"
	if source != "" {
		name = mailfile.MapFolder(source)
	}
	return putUnder(name, under)
}

// putUnder puts one of our folder names under the folder of --folder: INBOX becomes that folder, INBOX's
// sub-folders its sub-folders, and the others go beneath it.
func putUnder(name, under string) string {
	if under == "" {
		return name
	}
	first, rest, nested := strings.Cut(name, "/")
	switch {
	case !strings.EqualFold(first, "INBOX"):
		return under + "/" + name
	case nested:
		return under + "/" + rest
	}
	return under
}

type mboxSource struct {
	file   *os.File
	r      *mailfile.MboxReader
	folder string
}

// openMbox opens an mbox file, or a tree of them (Thunderbird's local folders) when path is a directory.
func openMbox(path, folder string, maxSize int) (mailSource, error) {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return openMboxTree(path, folder, maxSize)
	}
	if folder == "" {
		folder = mailfile.MapFolder(mboxFolderName(filepath.Base(path)))
	}
	return openMboxFile(path, folder, maxSize)
}

func openMboxFile(path, folder string, maxSize int) (*mboxSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := mailfile.NewMboxReader(f, mailfile.MboxOptions{MaxSize: maxSize, Name: path})
	return &mboxSource{file: f, r: r, folder: folder}, nil
}

// mboxFolderName is the folder an mbox file or a directory of a tree stands for: Thunderbird keeps the
// sub-folders of "Inbox" in "Inbox.sbd", and other programs name files "Sent.mbox".
func mboxFolderName(name string) string {
	for _, ext := range []string{".sbd", ".mbox", ".mbx"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name
}

// mboxTree reads the mbox files of a directory tree one after the other, each into the folder its path names.
type mboxTree struct {
	root  string
	files []string // relative to root
	cur   *mboxSource
	under string
	max   int
}

// openMboxTree lists the tree's mbox files: those that start with a From line. Thunderbird's index files (.msf)
// and settings, which do not, are left out.
func openMboxTree(root, under string, maxSize int) (*mboxTree, error) {
	t := &mboxTree{root: root, under: under, max: maxSize}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || !startsWithFromLine(path) {
			return err
		}
		rel, err := filepath.Rel(root, path)
		t.files = append(t.files, rel)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mbox tree %s: %w", root, err)
	}
	return t, nil
}

func startsWithFromLine(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 5)
	_, err = io.ReadFull(f, head)
	return err == nil && string(head) == "From "
}

func (t *mboxTree) next() (*mailfile.Message, string, error) {
	for {
		if t.cur == nil {
			if len(t.files) == 0 {
				return nil, "", io.EOF
			}
			rel := t.files[0]
			t.files = t.files[1:]
			parts := strings.Split(filepath.ToSlash(rel), "/")
			for i, p := range parts {
				parts[i] = mboxFolderName(p)
			}
			src, err := openMboxFile(filepath.Join(t.root, rel), placeFolder(strings.Join(parts, "/"), t.under), t.max)
			if err != nil {
				return nil, "", err
			}
			t.cur = src
		}
		m, folder, err := t.cur.next()
		if err == io.EOF {
			t.cur.close()
			t.cur = nil
			continue
		}
		return m, folder, err
	}
}

func (t *mboxTree) close() error {
	if t.cur != nil {
		return t.cur.close()
	}
	return nil
}

func (s *mboxSource) next() (*mailfile.Message, string, error) {
	m, err := s.r.Next()
	// Only a message too large is skipped: a read error of the file would come back at every call.
	if errors.Is(err, mailfile.ErrTooLarge) {
		return nil, s.folder, fmt.Errorf("%w: %w", errSkipped, err)
	}
	if err != nil {
		return nil, s.folder, err
	}
	return m, s.folder, nil
}

func (s *mboxSource) close() error { return s.file.Close() }

// maildirTree reads the Maildirs of a tree one after the other.
type maildirTree struct {
	folders []mailfile.Folder
	r       *mailfile.MaildirReader
	under   string
	max     int
}

func openMaildirTree(root, under string, maxSize int) (*maildirTree, error) {
	folders, err := mailfile.MaildirFolders(root)
	if err != nil {
		return nil, err
	}
	return &maildirTree{folders: folders, under: under, max: maxSize}, nil
}

func (s *maildirTree) next() (*mailfile.Message, string, error) {
	for {
		if s.r == nil {
			if len(s.folders) == 0 {
				return nil, "", io.EOF
			}
			r, err := mailfile.OpenMaildir(s.folders[0].Dir, s.max)
			if err != nil {
				return nil, "", err
			}
			s.r = r
		}
		m, err := s.r.Next()
		if err == io.EOF {
			s.r, s.folders = nil, s.folders[1:]
			continue
		}
		folder := placeFolder(s.folders[0].Name, s.under)
		if err != nil {
			return nil, folder, skippable(err)
		}
		return m, folder, nil
	}
}

func (s *maildirTree) close() error { return nil }

// emlSource reads an .eml tree, dating each message by its Date header, else by its file's time.
type emlSource struct {
	r     *mailfile.EmlReader
	under string
}

func openEmlSource(root, under string, maxSize int) (*emlSource, error) {
	r, err := mailfile.OpenEmlTree(root, maxSize)
	if err != nil {
		return nil, err
	}
	return &emlSource{r: r, under: under}, nil
}

func (s *emlSource) next() (*mailfile.Message, string, error) {
	m, err := s.r.Next()
	if err != nil {
		return nil, "", skippable(err)
	}
	m.Date = emlDate(m)
	return m, placeFolder(m.Folder, s.under), nil
}

func (s *emlSource) close() error { return nil }

func emlDate(m *mailfile.Message) time.Time {
	if msg, err := mail.ReadMessage(bytes.NewReader(m.Data)); err == nil {
		if d, err := msg.Header.Date(); err == nil {
			return d
		}
	}
	if info, err := os.Stat(m.Source); err == nil {
		return info.ModTime()
	}
	return time.Time{}
}
