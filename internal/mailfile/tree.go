package mailfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Folder is a mail folder found in a tree on disk.
type Folder struct {
	Name string // our folder path, '/'-separated; "INBOX" for a Maildir tree's root
	Dir  string
}

// MaildirFolders finds the Maildirs of a tree: the root itself (INBOX), Maildir++ folders beside it (".Sent",
// ".Inbox.Reports": '.' separates levels) and plain nested directories ("Sent/", "Lưu trữ/2025/", Dovecot's
// LAYOUT=fs). Names in modified UTF-7, as Dovecot writes them, are decoded; others are taken as UTF-8.
func MaildirFolders(root string) ([]Folder, error) {
	var folders []Folder
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != root && isMaildirSub(d.Name()) {
			return filepath.SkipDir
		}
		if !isMaildir(path) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		folders = append(folders, Folder{Name: maildirFolderName(rel), Dir: path})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("maildir tree %s: %w", root, err)
	}
	return folders, nil
}

func isMaildirSub(name string) bool { return name == "cur" || name == "new" || name == "tmp" }

func isMaildir(dir string) bool {
	info, err := os.Stat(filepath.Join(dir, "cur"))
	return err == nil && info.IsDir()
}

// maildirUnescapes undoes the escapes of a Maildir++ name: '.' separates levels, so a '.' inside a name is written
// %2E and '%' itself %25 (Dovecot's convention when an escape character is set, and what export writes).
var maildirUnescapes = strings.NewReplacer("%2E", ".", "%2e", ".", "%25", "%")

// maildirFolderName maps a Maildir's path under the tree's root to our folder path.
func maildirFolderName(rel string) string {
	if rel == "." {
		return "INBOX"
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	plusPlus := len(parts) == 1 && strings.HasPrefix(parts[0], ".")
	if plusPlus {
		parts = strings.Split(parts[0][1:], ".")
	}
	for i, p := range parts {
		if decoded, err := DecodeFolderName(p); err == nil {
			parts[i] = decoded
		}
		if plusPlus {
			parts[i] = maildirUnescapes.Replace(parts[i])
		}
	}
	if strings.EqualFold(parts[0], "INBOX") {
		parts[0] = "INBOX"
	}
	return strings.Join(parts, "/")
}

// EmlReader reads a tree of .eml files, one message each (Zimbra's and Outlook's exports): a directory is a folder,
// named by its path under the root ("" for the root). Directories are listed one at a time as they are reached.
type EmlReader struct {
	root  string
	dirs  []string // directories still to list, relative to root
	files []string // the current directory's .eml files still to read
	dir   string
	fr    *fileReader
	msg   Message
}

// OpenEmlTree finds the directories of the tree. maxSize is the largest message handed out (0: DefaultMaxSize).
func OpenEmlTree(root string, maxSize int) (*EmlReader, error) {
	r := &EmlReader{root: root, fr: newFileReader(maxSize)}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			r.dirs = append(r.dirs, rel)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("eml tree %s: %w", root, err)
	}
	return r, nil
}

// Next returns the next message, or io.EOF after the last. Date is left zero: a file's time in an export is the
// export's, so INTERNALDATE is better taken from the message's own Date header by the caller.
func (r *EmlReader) Next() (*Message, error) {
	for len(r.files) == 0 {
		if len(r.dirs) == 0 {
			return nil, io.EOF
		}
		if err := r.listDir(); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(r.root, r.dir, r.files[0])
	r.files = r.files[1:]
	data, _, err := r.fr.read(path)
	if err != nil {
		return nil, fmt.Errorf("eml: %w", err)
	}
	folder := filepath.ToSlash(r.dir)
	if folder == "." {
		folder = ""
	}
	r.msg = Message{Data: data, Folder: folder, Source: path}
	return &r.msg, nil
}

func (r *EmlReader) listDir() error {
	r.dir, r.dirs = r.dirs[0], r.dirs[1:]
	entries, err := os.ReadDir(filepath.Join(r.root, r.dir))
	if err != nil {
		return fmt.Errorf("eml tree: %w", err)
	}
	r.files = r.files[:0]
	for _, e := range entries {
		if e.Type().IsRegular() && strings.EqualFold(filepath.Ext(e.Name()), ".eml") {
			r.files = append(r.files, e.Name())
		}
	}
	slices.Sort(r.files)
	return nil
}
