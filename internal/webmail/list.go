package webmail

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"mailserver/internal/message"
	"mailserver/internal/store"
)

// PageSize is the number of messages on one page of a folder.
const PageSize = 50

// sortable is one message as the list orders it: the sort record SORT uses (store.EachSortRecord, computed at
// delivery), so that ordering 10,000 messages reads no body.
type sortable struct {
	uid     uint32
	date    time.Time // the Date header, else the arrival (as SORT DATE does, RFC 5256 section 2.2)
	size    int64
	from    message.Collated // display name of the first From, else its address (RFC 5957 DISPLAYFROM)
	subject message.Collated // the base subject (RFC 5256 section 2.1)
}

// sortOrders are the list's orders; date and size start from the newest and the largest.
var sortOrders = map[string]func(a, b *sortable) int{
	"date":    func(a, b *sortable) int { return b.date.Compare(a.date) },
	"size":    func(a, b *sortable) int { return cmp.Compare(b.size, a.size) },
	"from":    func(a, b *sortable) int { return compareCollated(a.from, b.from) },
	"subject": func(a, b *sortable) int { return compareCollated(a.subject, b.subject) },
}

func compareCollated(a, b message.Collated) int {
	if r := strings.Compare(a.Key, b.Key); r != 0 {
		return r
	}
	return strings.Compare(a.Text, b.Text)
}

// row is one message of the list.
type row struct {
	UID     uint32
	From    string
	Subject string
	Date    string
	Size    string
	Unread  bool
}

type listPage struct {
	page
	Folder      string
	Sort        string
	Rows        []row
	Page, Pages int
	Prev, Next  int // 0: none
	ReadOnly    bool
	Actions     *actionBar // nil: the folder is read-only (actions.go)
	Query       string     // the search page's query (search.go)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, sess *session) {
	f, err := h.resolveFolder(sess.account, r.URL.Query().Get("f"))
	if errors.Is(err, errNoFolder) {
		h.notFound(w, r, sess)
		return
	} else if err != nil {
		h.fail(w, r, "list", err)
		return
	}
	p := listPage{page: h.basePage(r, sess, ""), Folder: f.Name, Sort: r.URL.Query().Get("sort"), ReadOnly: !f.Writable}
	if sortOrders[p.Sort] == nil {
		p.Sort = "date"
	}
	p.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	uids, total, err := h.pageUIDs(f.Mailbox, p.Sort, &p.Page)
	if err != nil {
		h.fail(w, r, "list", err)
		return
	}
	p.setPages(total)
	if p.Rows, err = h.rows(f.Mailbox.ID, uids, p.T); err != nil {
		h.fail(w, r, "list", err)
		return
	}
	if p.Actions, err = h.actionBar(sess, f, p.CSRF, p.T, listURL(f.Name, p.Sort, p.Page), "", nil); err != nil {
		h.fail(w, r, "list", err)
		return
	}
	h.render(w, http.StatusOK, "list", p)
}

// setPages sets the page count and the neighbours of the page shown, for total messages.
func (p *listPage) setPages(total int) {
	p.Pages = max(1, (total+PageSize-1)/PageSize)
	if p.Page > 1 {
		p.Prev = p.Page - 1
	}
	if p.Page < p.Pages {
		p.Next = p.Page + 1
	}
}

// pageUIDs orders the whole folder mb (from the order cache) and returns the UIDs of the page (1-based, clamped
// into range), in order, and the number of messages.
func (h *Handler) pageUIDs(mb store.Mailbox, order string, pageNo *int) ([]uint32, int, error) {
	ordered, err := h.folderOrder(mb, order)
	if err != nil {
		return nil, 0, err
	}
	return pageSlice(ordered, pageNo), len(ordered), nil
}

// pageOf orders the messages some (ascending UIDs, a search's results) of the folder mb and returns the UIDs of
// the page (1-based, clamped into range), in order, and their number: the folder's order, kept to those.
func (h *Handler) pageOf(mb store.Mailbox, some []uint32, order string, pageNo *int) ([]uint32, int, error) {
	ordered, err := h.folderOrder(mb, order)
	if err != nil {
		return nil, 0, err
	}
	kept := make([]uint32, 0, len(some))
	for _, uid := range ordered {
		if _, found := slices.BinarySearch(some, uid); found {
			kept = append(kept, uid)
		}
	}
	return pageSlice(kept, pageNo), len(kept), nil
}

// folderOrder is every message of the folder mb in order (orderCache).
func (h *Handler) folderOrder(mb store.Mailbox, order string) ([]uint32, error) {
	return h.orders.ordered(mb, order, func() ([]sortable, error) {
		all, err := h.store.UIDs(mb.ID)
		if err != nil {
			return nil, err
		}
		return h.sortKeys(mb.ID, all)
	})
}

// pageSlice is page *pageNo (1-based, clamped into range) of ordered.
func pageSlice(ordered []uint32, pageNo *int) []uint32 {
	pages := max(1, (len(ordered)+PageSize-1)/PageSize)
	*pageNo = min(max(*pageNo, 1), pages)
	start := (*pageNo - 1) * PageSize
	return slices.Clone(ordered[start:min(start+PageSize, len(ordered))])
}

// rows reads the envelopes and flags of a page's messages, kept in the page's order.
func (h *Handler) rows(mailboxID uint64, uids []uint32, t map[string]string) ([]row, error) {
	ascending := slices.Clone(uids)
	slices.Sort(ascending)
	msgs, err := h.store.Messages(mailboxID, ascending, store.FetchOptions{Meta: true})
	if err != nil {
		return nil, err
	}
	byUID := make(map[uint32]row, len(msgs))
	for _, m := range msgs {
		rw := row{UID: m.UID, Unread: !slices.Contains(m.Flags, `\Seen`), Date: formatDate(m.InternalDate),
			Size: formatSize(m.Size), Subject: t["no_subject"]}
		if meta, err := message.DecodeMeta(m.Meta); err == nil && meta.Envelope != nil {
			if meta.Envelope.Subject != "" {
				rw.Subject = meta.Envelope.Subject
			}
			rw.From = addressList(meta.Envelope.From)
			if !meta.Date.IsZero() {
				rw.Date = formatDate(meta.Date)
			}
		}
		byUID[m.UID] = rw
	}
	out := make([]row, 0, len(uids))
	for _, uid := range uids {
		if rw, ok := byUID[uid]; ok { // expunged meanwhile otherwise
			out = append(out, rw)
		}
	}
	return out, nil
}

func formatDate(t time.Time) string { return t.Local().Format("02/01/2006 15:04") }

func formatSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " B"
}
