package carddav

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	gocarddav "github.com/emersion/go-webdav/carddav"

	"mailserver/internal/auth"
	"mailserver/internal/store"
)

// wantCard is what the directory of newTestEnv must show for one address.
type wantCard struct {
	fn, n, org string
	kind       vcard.Kind
}

var wantCards = map[string]wantCard{
	testUser:                 {"Nguyễn Văn An", "Nguyễn;An;Văn;;", "UBND thành phố;Phòng Nội vụ", vcard.KindIndividual},
	"binh@" + testDomain:     {"Trần Thị Ngọc Bình", "Trần;Bình;Thị Ngọc;;", "UBND thành phố;Văn phòng;to-tin-hoc", vcard.KindIndividual},
	"dung@" + testDomain:     {"dung@" + testDomain, "dung@" + testDomain + ";;;;", "", vcard.KindIndividual},
	"vanthu@" + testDomain:   {"Văn thư UBND", "Văn thư UBND;;;;", "UBND thành phố", vcard.KindOrganization},
	"lanh-dao@" + testDomain: {"Lãnh đạo UBND", "Lãnh đạo UBND;;;;", "", vcard.KindGroup},
}

// TestDiscovery follows what Thunderbird, DAVx⁵ and iOS do from the server URL alone (RFC 6764 §6, RFC 6352 §7):
// the well-known URL, current-user-principal, addressbook-home-set, then the address books in the home.
func TestDiscovery(t *testing.T) {
	env := newTestEnv(t)

	resp, _ := env.do(t, "PROPFIND", WellKnownPath, "", http.Header{"Depth": {"0"}}, "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("unauthenticated well-known: %s, WWW-Authenticate %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
	resp, _ = env.do(t, "PROPFIND", WellKnownPath, testUser, http.Header{"Depth": {"0"}}, "")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != ContextPath {
		t.Fatalf("well-known: %s, Location %q; want 301 to %s", resp.Status, resp.Header.Get("Location"), ContextPath)
	}

	client := env.davClient(t, testUser, testPassword)
	if err := client.HasSupport(t.Context()); err != nil {
		t.Fatalf("OPTIONS: %v", err)
	}
	principal, err := client.FindCurrentUserPrincipal(t.Context())
	if err != nil || principal != "/carddav/principals/"+testUser+"/" {
		t.Fatalf("current-user-principal: %q, %v", principal, err)
	}
	home, err := client.FindAddressBookHomeSet(t.Context(), principal)
	if err != nil || home != homeSetPath {
		t.Fatalf("addressbook-home-set: %q, %v", home, err)
	}
	books, err := client.FindAddressBooks(t.Context(), home)
	if err != nil || len(books) != 1 {
		t.Fatalf("address books: %+v, %v", books, err)
	}
	if b := books[0]; b.Path != bookPath || b.Name != "Danh bạ cơ quan" || !b.SupportsAddressData(vcard.MIMEType, "4.0") ||
		!b.SupportsAddressData(vcard.MIMEType, "3.0") {
		t.Errorf("address book: %+v", b)
	}

	// A client given only the host name asks the root itself (when the server mounts the handler for PROPFIND /).
	c, err := webdav.NewClient(webdav.HTTPClientWithBasicAuth(env.srv.Client(), testUser, testPassword), env.srv.URL+"/")
	must(t, err)
	if p, err := c.FindCurrentUserPrincipal(t.Context()); err != nil || p != principal {
		t.Errorf("current-user-principal at /: %q, %v", p, err)
	}
}

// TestAddressBookContents checks every card through addressbook-query and addressbook-multiget (vCard 3.0, what
// clients get unless they ask for 4.0) and through a REPORT that asks for vCard 4.0, as DAVx⁵ does.
func TestAddressBookContents(t *testing.T) {
	env := newTestEnv(t)
	client := env.davClient(t, testUser, testPassword)

	all, err := client.QueryAddressBook(t.Context(), bookPath, &gocarddav.AddressBookQuery{
		DataRequest: gocarddav.AddressDataRequest{AllProp: true},
	})
	must(t, err)
	checkCards(t, "addressbook-query", all, version3)

	var paths []string
	for _, ao := range all {
		paths = append(paths, ao.Path)
	}
	got, err := client.MultiGetAddressBook(t.Context(), bookPath, &gocarddav.AddressBookMultiGet{
		Paths: paths, DataRequest: gocarddav.AddressDataRequest{AllProp: true},
	})
	must(t, err)
	checkCards(t, "addressbook-multiget", got, version3)

	resp, body := env.do(t, "REPORT", bookPath, testUser, http.Header{"Depth": {"1"}, "Content-Type": {"text/xml; charset=utf-8"}},
		`<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data content-type="text/vcard" version="4.0"/></D:prop>
</C:addressbook-query>`)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("REPORT 4.0: %s\n%s", resp.Status, body)
	}
	var v4 []gocarddav.AddressObject
	for _, r := range parseMultistatus(t, body) {
		card, err := vcard.NewDecoder(strings.NewReader(r.props["address-data"].text)).Decode()
		if err != nil {
			t.Fatalf("%s: %v", r.href, err)
		}
		v4 = append(v4, gocarddav.AddressObject{Path: r.href, ETag: strings.Trim(r.props["getetag"].text, `"`), Card: card})
	}
	checkCards(t, "vCard 4.0 query", v4, version4)
	for i := range v4 {
		if v4[i].ETag != all[i].ETag || v4[i].Path != all[i].Path {
			t.Errorf("%s: 4.0 ETag %s, 3.0 ETag %s: both versions must share one", v4[i].Path, v4[i].ETag, all[i].ETag)
		}
	}
}

// checkCards compares the cards with wantCards: the disabled account is absent, the others have their names with
// diacritics intact, e-mail address, unit path names, UID and (in 4.0) kind.
func checkCards(t *testing.T, what string, aos []gocarddav.AddressObject, version string) {
	t.Helper()
	seen := map[string]bool{}
	for _, ao := range aos {
		c := ao.Card
		email := c.Value(vcard.FieldEmail)
		want, ok := wantCards[email]
		if !ok {
			t.Errorf("%s: unexpected card for %q (%s)", what, email, ao.Path)
			continue
		}
		seen[email] = true
		uid := "urn:uuid:" + uidOf(email)
		if got := c.Value(vcard.FieldVersion); got != version {
			t.Errorf("%s: %s: VERSION %s, want %s", what, email, got, version)
		}
		if got := c.Value(vcard.FieldFormattedName); got != want.fn {
			t.Errorf("%s: %s: FN %q, want %q", what, email, got, want.fn)
		}
		if got := c.Value(vcard.FieldName); got != want.n {
			t.Errorf("%s: %s: N %q, want %q", what, email, got, want.n)
		}
		if got := c.Value(vcard.FieldOrganization); got != want.org {
			t.Errorf("%s: %s: ORG %q, want %q", what, email, got, want.org)
		}
		if got := c.Value(vcard.FieldUID); got != uid || ao.Path != objectPath(uidOf(email)) {
			t.Errorf("%s: %s: UID %q at %s, want %q", what, email, got, ao.Path, uid)
		}
		wantKind := want.kind
		if version == version3 {
			wantKind = "" // vCard 3.0 has no KIND
		}
		if got := c.Value(vcard.FieldKind); got != string(wantKind) {
			t.Errorf("%s: %s: KIND %q, want %q", what, email, got, wantKind)
		}
		if ao.ETag == "" {
			t.Errorf("%s: %s: no ETag", what, email)
		}
	}
	for email := range wantCards {
		if !seen[email] {
			t.Errorf("%s: no card for %s", what, email)
		}
	}
}

// TestPropfindLikeClients sends the PROPFINDs of Thunderbird's discovery and DAVx⁵'s sync: the book must say it is
// read-only, carry a getctag, and list each card with the ETag that REPORT returns.
func TestPropfindLikeClients(t *testing.T) {
	env := newTestEnv(t)
	rs := env.propfind(t, homeSetPath, "1", `<propfind xmlns="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/">
<prop><resourcetype/><displayname/><current-user-privilege-set/><cs:getctag/><sync-token/></prop></propfind>`)
	if len(rs) != 2 || rs[0].href != homeSetPath || rs[1].href != bookPath {
		t.Fatalf("home Depth 1: %+v", rs)
	}
	book := rs[1].props
	if !strings.Contains(book["resourcetype"].inner, "addressbook") || book["displayname"].text != "Danh bạ cơ quan" {
		t.Errorf("book: resourcetype %q, displayname %q", book["resourcetype"].inner, book["displayname"].text)
	}
	if privs := book["current-user-privilege-set"].inner; !strings.Contains(privs, "read") || strings.Contains(privs, "write") {
		t.Errorf("current-user-privilege-set %q: want read and no write", privs)
	}
	if book["getctag"].text == "" || book["sync-token"].status != "404 Not Found" {
		t.Errorf("getctag %+v, sync-token %+v: want a ctag and no sync-token", book["getctag"], book["sync-token"])
	}

	// DAVx⁵ and Thunderbird list the ETags, then multiget what changed.
	listed := map[string]string{}
	for _, r := range env.propfind(t, bookPath, "1", `<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>`)[1:] {
		listed[r.href] = r.props["getetag"].text
	}
	all, err := env.davClient(t, testUser, testPassword).QueryAddressBook(t.Context(), bookPath, &gocarddav.AddressBookQuery{})
	must(t, err)
	if len(listed) != len(wantCards) || len(all) != len(wantCards) {
		t.Fatalf("PROPFIND lists %d cards, REPORT %d; want %d", len(listed), len(all), len(wantCards))
	}
	for _, ao := range all {
		if listed[ao.Path] != `"`+ao.ETag+`"` {
			t.Errorf("%s: PROPFIND ETag %s, REPORT ETag %q", ao.Path, listed[ao.Path], ao.ETag)
		}
	}

	// Depth 0, allprop (an empty body), propname, another user's principal, a card that is not there.
	if rs := env.propfind(t, bookPath, "0", ""); len(rs) != 1 || rs[0].props["getctag"].text != book["getctag"].text {
		t.Errorf("allprop Depth 0: %+v", rs)
	}
	if rs := env.propfind(t, principalPath(testUser), "0", `<propfind xmlns="DAV:"><propname/></propfind>`); len(rs) != 1 ||
		rs[0].props["addressbook-home-set"].status != "200 OK" || rs[0].props["addressbook-home-set"].inner != "" {
		t.Errorf("propname: %+v", rs)
	}
	for _, p := range []string{principalPath("binh@" + testDomain), bookPath + "nobody.vcf", "/carddav/other/"} {
		if resp, _ := env.do(t, "PROPFIND", p, testUser, http.Header{"Depth": {"0"}}, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("PROPFIND %s: %s, want 404", p, resp.Status)
		}
	}
}

// TestDirectoryChanges: the next query shows an account added, renamed or disabled since the last one; the ctag
// changes, and only the changed card's ETag does.
func TestDirectoryChanges(t *testing.T) {
	env := newTestEnv(t)
	client := env.davClient(t, testUser, testPassword)
	query := func() (map[string]gocarddav.AddressObject, string) {
		t.Helper()
		aos, err := client.QueryAddressBook(t.Context(), bookPath, &gocarddav.AddressBookQuery{})
		must(t, err)
		byEmail := map[string]gocarddav.AddressObject{}
		for _, ao := range aos {
			byEmail[ao.Card.Value(vcard.FieldEmail)] = ao
		}
		return byEmail, env.propfind(t, bookPath, "0", "")[0].props["getctag"].text
	}
	before, ctag := query()
	again, ctagAgain := query()
	if ctag != ctagAgain || again[testUser].ETag != before[testUser].ETag {
		t.Fatalf("unchanged directory, changed ctag or ETag: %s/%s", ctag, ctagAgain)
	}

	env.addAccount(t, store.Account{Address: "giang@" + testDomain, Name: "Phạm Thu Giang", Unit: "ubnd/phong-noi-vu"})
	_, err := env.st.UpdateAccount("binh@"+testDomain, func(a *store.Account) error { a.Name = "Trần Ngọc Bình"; return nil })
	must(t, err)
	_, err = env.st.UpdateAccount("dung@"+testDomain, func(a *store.Account) error { a.Disabled = true; return nil })
	must(t, err)

	after, ctagAfter := query()
	if ctagAfter == ctag {
		t.Error("ctag unchanged after directory changes")
	}
	if g := after["giang@"+testDomain]; g.Card.Value(vcard.FieldFormattedName) != "Phạm Thu Giang" ||
		g.Card.Value(vcard.FieldOrganization) != "UBND thành phố;Phòng Nội vụ" {
		t.Errorf("new account: %v", g.Card)
	}
	if b := after["binh@"+testDomain]; b.Card.Value(vcard.FieldFormattedName) != "Trần Ngọc Bình" || b.ETag == before["binh@"+testDomain].ETag {
		t.Errorf("renamed account: FN %q, ETag %s (was %s)", b.Card.Value(vcard.FieldFormattedName), b.ETag, before["binh@"+testDomain].ETag)
	}
	if _, ok := after["dung@"+testDomain]; ok {
		t.Error("disabled account still listed")
	}
	if after[testUser].ETag != before[testUser].ETag || after[testUser].Path != before[testUser].Path {
		t.Error("unchanged account changed ETag or URL")
	}
}

func TestAuthentication(t *testing.T) {
	env := newTestEnv(t)
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", testUser, "sai-mật-khẩu"},
		{"disabled account", "cuong@" + testDomain, testPassword},
		{"shared mailbox", "vanthu@" + testDomain, testPassword},
	} {
		req, err := http.NewRequest("PROPFIND", env.srv.URL+bookPath, nil)
		must(t, err)
		req.Header.Set("Depth", "0")
		req.SetBasicAuth(tc.user, tc.password)
		resp, err := env.client.Do(req)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: %s, WWW-Authenticate %q; want 401 with a Basic challenge", tc.name, resp.Status, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if _, err := env.davClient(t, testUser, "sai").FindCurrentUserPrincipal(t.Context()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("go-webdav client with a wrong password: %v", err)
	}
	for _, p := range []string{ContextPath, bookPath, bookPath + uidOf(testUser) + ".vcf"} {
		if resp, _ := env.do(t, "GET", p, "", nil, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials: %s", p, resp.Status)
		}
	}
	if resp, _ := env.do(t, "GET", "/healthz", testUser, nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("path outside the handler: %s", resp.Status)
	}
}

// TestAuthenticatorErrors: a throttled login is 429, any other failure a 500 whose text names only a reference.
func TestAuthenticatorErrors(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
	}{
		{auth.ErrTooManyAttempts, http.StatusTooManyRequests},
		{errDiskOnFire, http.StatusInternalServerError},
	} {
		rec := serve(NewHandler(&fakeDirectory{}, &fakeAuth{err: tc.err}, nil), "PROPFIND", bookPath, nil)
		if rec.Code != tc.status || strings.Contains(rec.Body.String(), "disk") {
			t.Errorf("%v: %d %q", tc.err, rec.Code, rec.Body.String())
		}
	}
}

// TestDirectoryFailure: a store failure is a 500 with a reference, never the store's error text.
func TestDirectoryFailure(t *testing.T) {
	h := NewHandler(&fakeDirectory{err: errDiskOnFire}, &fakeAuth{account: store.Account{Address: testUser}}, nil)
	for method, body := range map[string]string{
		"PROPFIND": "",
		"REPORT":   `<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data/></D:prop></C:addressbook-query>`,
	} {
		rec := serve(h, method, bookPath, strings.NewReader(body))
		if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "disk") ||
			!strings.Contains(rec.Body.String(), "ref ") {
			t.Errorf("%s: %d %q", method, rec.Code, rec.Body.String())
		}
	}
}

// TestReadOnly: every method that would change something is refused with 403, and changes nothing.
func TestReadOnly(t *testing.T) {
	env := newTestEnv(t)
	card := bookPath + uidOf(testUser) + ".vcf"
	for _, tc := range []struct{ method, path string }{
		{"PUT", card}, {"PUT", bookPath + "new.vcf"}, {"DELETE", card}, {"DELETE", bookPath},
		{"MKCOL", homeSetPath + "mine/"}, {"PROPPATCH", bookPath}, {"MOVE", card}, {"COPY", card}, {"POST", bookPath},
	} {
		resp, body := env.do(t, tc.method, tc.path, testUser, http.Header{"Content-Type": {"text/vcard"}},
			"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Kẻ phá\r\nEND:VCARD\r\n")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s: %s %q, want 403", tc.method, tc.path, resp.Status, body)
		}
	}
	c := vcard.Card{}
	c.SetValue(vcard.FieldVersion, "3.0")
	c.SetValue(vcard.FieldFormattedName, "Kẻ phá")
	client := env.davClient(t, testUser, testPassword)
	if _, err := client.PutAddressObject(t.Context(), bookPath+"new.vcf", c); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("go-webdav PutAddressObject: %v, want 403", err)
	}
	aos, err := client.QueryAddressBook(t.Context(), bookPath, &gocarddav.AddressBookQuery{})
	must(t, err)
	checkCards(t, "after refused writes", aos, version3)

	resp, _ := env.do(t, "OPTIONS", bookPath, testUser, nil, "")
	if allow := resp.Header.Get("Allow"); strings.Contains(allow, "PUT") || strings.Contains(allow, "DELETE") ||
		!strings.Contains(resp.Header.Get("DAV"), "addressbook") {
		t.Errorf("OPTIONS: DAV %q, Allow %q", resp.Header.Get("DAV"), allow)
	}
}

// TestGet: a card is vCard 3.0 unless Accept asks for 4.0, with the same ETag either way.
func TestGet(t *testing.T) {
	env := newTestEnv(t)
	p := bookPath + uidOf("lanh-dao@"+testDomain) + ".vcf"
	resp3, body3 := env.do(t, "GET", p, testUser, nil, "")
	resp4, body4 := env.do(t, "GET", p, testUser, http.Header{"Accept": {"text/vcard; version=4.0, text/vcard; version=3.0"}}, "")
	if resp3.StatusCode != http.StatusOK || !strings.Contains(body3, "VERSION:3.0") || strings.Contains(body3, "KIND") {
		t.Errorf("GET: %s\n%s", resp3.Status, body3)
	}
	if resp4.StatusCode != http.StatusOK || !strings.Contains(body4, "VERSION:4.0") || !strings.Contains(body4, "KIND:group") ||
		!strings.Contains(body4, "FN:Lãnh đạo UBND") {
		t.Errorf("GET 4.0: %s\n%s", resp4.Status, body4)
	}
	if resp3.Header.Get("ETag") == "" || resp3.Header.Get("ETag") != resp4.Header.Get("ETag") {
		t.Errorf("ETags %q and %q", resp3.Header.Get("ETag"), resp4.Header.Get("ETag"))
	}
	if resp, _ := env.do(t, "GET", bookPath+uidOf("cuong@"+testDomain)+".vcf", testUser, nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("disabled account's card: %s", resp.Status)
	}
}

// TestQueryFilters: addressbook-query text matches ignore case (i;unicode-casemap), not diacritics.
func TestQueryFilters(t *testing.T) {
	env := newTestEnv(t)
	client := env.davClient(t, testUser, testPassword)
	prop := func(name string, tm ...gocarddav.TextMatch) gocarddav.PropFilter {
		return gocarddav.PropFilter{Name: name, TextMatches: tm}
	}
	for _, tc := range []struct {
		name  string
		query gocarddav.AddressBookQuery
		want  []string // local parts, in address order
	}{
		{"FN contains, lower case", gocarddav.AddressBookQuery{PropFilters: []gocarddav.PropFilter{
			prop("FN", gocarddav.TextMatch{Text: "nguyễn"})}}, []string{"an"}},
		{"no match without diacritics", gocarddav.AddressBookQuery{PropFilters: []gocarddav.PropFilter{
			prop("FN", gocarddav.TextMatch{Text: "nguyen"})}}, nil},
		{"EMAIL starts-with, upper case", gocarddav.AddressBookQuery{PropFilters: []gocarddav.PropFilter{
			prop("EMAIL", gocarddav.TextMatch{Text: "VANTHU@", MatchType: gocarddav.MatchStartsWith})}}, []string{"vanthu"}},
		{"anyof", gocarddav.AddressBookQuery{PropFilters: []gocarddav.PropFilter{
			prop("FN", gocarddav.TextMatch{Text: "bình"}), prop("ORG", gocarddav.TextMatch{Text: "phòng nội vụ"})}},
			[]string{"an", "binh"}},
		{"allof", gocarddav.AddressBookQuery{FilterTest: gocarddav.FilterAllOf, PropFilters: []gocarddav.PropFilter{
			prop("ORG", gocarddav.TextMatch{Text: "ubnd thành phố", MatchType: gocarddav.MatchStartsWith}),
			prop("FN", gocarddav.TextMatch{Text: "ubnd", NegateCondition: true})}}, []string{"an", "binh"}},
		{"no ORG", gocarddav.AddressBookQuery{PropFilters: []gocarddav.PropFilter{
			{Name: "ORG", IsNotDefined: true}}}, []string{"dung", "lanh-dao"}},
		{"limit", gocarddav.AddressBookQuery{Limit: 2}, []string{"an", "binh"}},
	} {
		aos, err := client.QueryAddressBook(t.Context(), bookPath, &tc.query)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var got []string
		for _, ao := range aos {
			local, _, _ := strings.Cut(ao.Card.Value(vcard.FieldEmail), "@")
			got = append(got, local)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	// address-data with a prop list returns only those properties, and VERSION.
	aos, err := client.QueryAddressBook(t.Context(), bookPath, &gocarddav.AddressBookQuery{
		DataRequest: gocarddav.AddressDataRequest{Props: []string{vcard.FieldFormattedName, vcard.FieldEmail}},
		PropFilters: []gocarddav.PropFilter{prop("EMAIL", gocarddav.TextMatch{Text: testUser, MatchType: gocarddav.MatchEquals})},
	})
	must(t, err)
	if len(aos) != 1 || len(aos[0].Card) != 3 || aos[0].Card.Value(vcard.FieldFormattedName) != "Nguyễn Văn An" {
		t.Errorf("address-data props: %+v", aos)
	}
}

// A request naming more properties than any client does is refused before the directory is walked: each one is
// answered for every card, so a short body could otherwise cost the whole directory thousands of times.
func TestTooManyPropertiesRefused(t *testing.T) {
	env := newTestEnv(t)
	props := func(n int) string {
		return strings.Repeat("<d:getetag/>", n)
	}
	propfind := func(n int) string {
		return `<d:propfind xmlns:d="DAV:"><d:prop>` + props(n) + `</d:prop></d:propfind>`
	}
	report := func(n int) string {
		return `<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop>` +
			props(n) + `</d:prop></card:addressbook-query>`
	}
	header := http.Header{"Depth": {"1"}, "Content-Type": {"application/xml"}}
	for _, c := range []struct {
		method, body string
		want         int
	}{
		{"PROPFIND", propfind(maxProps), http.StatusMultiStatus},
		{"PROPFIND", propfind(maxProps + 1), http.StatusBadRequest},
		{"PROPFIND", propfind(8000), http.StatusBadRequest}, // over the PROPFIND body limit, not read to the end
		{"REPORT", report(maxProps), http.StatusMultiStatus},
		{"REPORT", report(maxProps + 1), http.StatusBadRequest},
	} {
		resp, body := env.do(t, c.method, bookPath, testUser, header, c.body)
		if resp.StatusCode != c.want {
			t.Errorf("%s with %d bytes: %s, want %d\n%.300s", c.method, len(c.body), resp.Status, c.want, body)
		}
	}
}
