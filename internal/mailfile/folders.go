package mailfile

import (
	"strings"

	"mailserver/internal/message"
)

// specialFolders maps other systems' names of the special-use folders (RFC 6154), folded with message.Fold (lower
// case, no diacritics, đ as d), onto ours. Outlook/Exchange, Zimbra, Thunderbird, Apple Mail, Gmail, MDaemon and
// their Vietnamese localisations.
var specialFolders = map[string]string{
	"sent": "Sent", "sent items": "Sent", "sent messages": "Sent", "sent mail": "Sent",
	"da gui": "Sent", "thu da gui": "Sent", "muc da gui": "Sent",
	"trash": "Trash", "deleted items": "Trash", "deleted messages": "Trash", "deleted": "Trash", "bin": "Trash",
	"thung rac": "Trash", "muc da xoa": "Trash", "thu da xoa": "Trash", "da xoa": "Trash",
	"drafts": "Drafts", "draft": "Drafts", "thu nhap": "Drafts", "ban nhap": "Drafts", "nhap": "Drafts",
	"junk": "Junk", "junk e-mail": "Junk", "junk email": "Junk", "junk mail": "Junk", "spam": "Junk",
	"bulk mail": "Junk", "thu rac": "Junk", "email rac": "Junk", "thu spam": "Junk",
	"archive": "Archive", "archives": "Archive", "luu tru": "Archive", "thu luu tru": "Archive",
	"inbox": "INBOX", "hop thu den": "INBOX", "thu den": "INBOX",
}

// specialUseFolders maps RFC 6154 attributes onto our folders, for a source that says them (IMAP LIST).
var specialUseFolders = map[string]string{
	`\sent`: "Sent", `\trash`: "Trash", `\drafts`: "Drafts", `\junk`: "Junk", `\archive`: "Archive",
}

// parentsToDrop are top-level folders that other systems keep their own folders under: Courier's and Cyrus's
// INBOX. prefix and Gmail's.
var parentsToDrop = []string{"INBOX/", "[Gmail]/", "[Google Mail]/"}

// MapFolder maps a folder path from another system onto ours: a special-use folder ("Sent Items", "Đã gửi",
// "INBOX/Sent", "[Gmail]/Spam") becomes Sent, Trash, Drafts, Junk, Archive or INBOX, and its sub-folders move with
// it ("Lưu trữ/2025" becomes Archive/2025), so that a tree is never split between two names; any other path is kept.
func MapFolder(path string) string {
	name := path
	for _, parent := range parentsToDrop {
		if len(name) > len(parent) && strings.EqualFold(name[:len(parent)], parent) {
			name = name[len(parent):]
			break
		}
	}
	top, rest, nested := strings.Cut(name, "/")
	ours, ok := specialFolders[message.Fold(top)]
	switch {
	case !ok:
		return path
	case nested:
		return ours + "/" + rest
	default:
		return ours
	}
}

// SpecialUseFolder returns our folder for an RFC 6154 attribute (`\Sent`), and false for any other.
func SpecialUseFolder(attr string) (string, bool) {
	ours, ok := specialUseFolders[strings.ToLower(attr)]
	return ours, ok
}
