package webmail

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"mailserver/internal/message"
)

// maxQuery bounds a search string: a few words are typed, not pages.
const maxQuery = 256

func searchURL(folder, query string, page int) string {
	q := url.Values{"f": {folder}, "q": {query}}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	return Prefix + "search?" + q.Encode()
}

type searchPage struct {
	listPage
	Found int
}

// search lists a folder's messages whose text holds the query, newest first, paged like the folder: IMAP's SEARCH
// TEXT through the same store path (store.SearchText: the search index, then the folded stored text), so that
// "bao cao" finds "Báo cáo" (case, diacritics and đ folded, RFC 9051 section 6.4.4's substring match).
func (h *Handler) search(w http.ResponseWriter, r *http.Request, sess *session) {
	f, err := h.resolveFolder(sess.account, r.URL.Query().Get("f"))
	if errors.Is(err, errNoFolder) {
		h.notFound(w, r, sess)
		return
	} else if err != nil {
		h.fail(w, r, "search", err)
		return
	}
	query := strings.TrimSpace(r.URL.Query().Get("q"))
	if query == "" || len(query) > maxQuery {
		http.Redirect(w, r, listURL(f.Name, "", 1), http.StatusSeeOther)
		return
	}
	found, err := h.store.SearchText(f.Mailbox.ID, []byte(message.FoldNeedle(query)))
	if err != nil {
		h.fail(w, r, "search", err)
		return
	}
	p := searchPage{listPage: listPage{page: h.basePage(r, sess, ""), Folder: f.Name, Sort: "date",
		ReadOnly: !f.Writable, Query: query}, Found: len(found)}
	p.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	uids, total, err := h.pageOf(f.Mailbox, found, p.Sort, &p.Page)
	if err != nil {
		h.fail(w, r, "search", err)
		return
	}
	p.setPages(total)
	if p.Rows, err = h.rows(f.Mailbox.ID, uids, p.T); err != nil {
		h.fail(w, r, "search", err)
		return
	}
	back := searchURL(f.Name, query, p.Page)
	if p.Actions, err = h.actionBar(sess, f, p.CSRF, p.T, back, "", nil); err != nil {
		h.fail(w, r, "search", err)
		return
	}
	h.render(w, http.StatusOK, "search", p)
}
