package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// webUser is one browser logged in to the webmail: its own cookie jar and its own keep-alive connection, as a
// browser has, so that what is timed is the page and not a TLS handshake.
type webUser struct {
	client *http.Client
	base   string // https://host:port/mail/
}

// webRequestTimeout bounds one page.
const webRequestTimeout = time.Minute

// csrfField finds the login form's CSRF token (internal/webmail/templates/login.html).
var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// newWebUser logs user in at addr through the login form, trying again while the server answers that it is busy
// checking other logins (429, 503), as loginIMAP does for NO [UNAVAILABLE].
func newWebUser(ctx context.Context, t target, addr, user string) (*webUser, error) {
	cfg, err := t.TLS.config(addr)
	if err != nil {
		return nil, err
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("cookie jar: %w", err)
	}
	u := &webUser{base: "https://" + addr + "/mail/", client: &http.Client{
		Jar:       jar,
		Timeout:   webRequestTimeout,
		Transport: &http.Transport{TLSClientConfig: cfg, MaxIdleConnsPerHost: 1, TLSHandshakeTimeout: dialTimeout},
		// A lost session answers with a redirect to the login form: it must show as an error, not as a page.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	for attempt := 1; ; attempt++ {
		status, err := u.login(ctx, user, t.Password)
		if err == nil {
			return u, nil
		}
		if (status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable) || attempt == loginAttempts {
			u.close()
			return nil, fmt.Errorf("webmail login %s: %w", user, err)
		}
		time.Sleep(loginRetryWait)
	}
}

// login fetches the form (its CSRF cookie and field) and posts it; success is the redirect to the folder list.
func (u *webUser) login(ctx context.Context, user, password string) (int, error) {
	status, page, err := u.get(ctx, "login")
	if err != nil {
		return status, err
	}
	m := csrfField.FindSubmatch(page)
	if m == nil {
		return status, errors.New("no CSRF field on the login form")
	}
	form := url.Values{"csrf": {string(m[1])}, "address": {user}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.base+"login", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := u.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return resp.StatusCode, fmt.Errorf("login answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// listPage fetches page pageNo of mailbox, newest first (the webmail's default order).
func (u *webUser) listPage(ctx context.Context, mailbox string, pageNo int) (int, error) {
	return u.page(ctx, "list?"+url.Values{"f": {mailbox}, "page": {strconv.Itoa(pageNo)}}.Encode())
}

// readPage fetches the page that shows message uid of mailbox.
func (u *webUser) readPage(ctx context.Context, mailbox string, uid uint32) (int, error) {
	return u.page(ctx, "read?"+url.Values{"f": {mailbox}, "uid": {strconv.FormatUint(uint64(uid), 10)}}.Encode())
}

// page fetches a page that must answer 200 and returns its size.
func (u *webUser) page(ctx context.Context, path string) (int, error) {
	status, body, err := u.get(ctx, path)
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("GET /mail/%s: status %d", path, status)
	}
	return len(body), nil
}

// get fetches base+path and reads the whole answer, as a browser must before it shows the page.
func (u *webUser) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("GET /mail/%s: %w", path, err)
	}
	return resp.StatusCode, body, nil
}

func (u *webUser) close() { u.client.CloseIdleConnections() }
