package carddav

import (
	"context"
	"errors"
	"net/http"
	"path"
	"strings"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	gocarddav "github.com/emersion/go-webdav/carddav"
)

// backend is the read-only carddav.Backend behind go-webdav's handler, which ServeHTTP reaches only for GET, HEAD
// and REPORT. It reads the request (user, vCard version, directory snapshot) from the context, so it has no state.
type backend struct{}

var _ gocarddav.Backend = (*backend)(nil)

var (
	errReadOnly = webdav.NewHTTPError(http.StatusForbidden, errors.New("the address book is read-only"))
	errNotFound = webdav.NewHTTPError(http.StatusNotFound, errors.New("not found"))
)

var theBook = gocarddav.AddressBook{
	Path:        bookPath,
	Name:        bookName,
	Description: bookDescription,
	SupportedAddressData: []gocarddav.AddressDataType{
		{ContentType: vcard.MIMEType, Version: version3},
		{ContentType: vcard.MIMEType, Version: version4},
	},
}

func (b *backend) CurrentUserPrincipal(ctx context.Context) (string, error) {
	return principalPath(requestFrom(ctx).account.Address), nil
}

func (b *backend) AddressBookHomeSetPath(context.Context) (string, error) { return homeSetPath, nil }

func (b *backend) ListAddressBooks(context.Context) ([]gocarddav.AddressBook, error) {
	return []gocarddav.AddressBook{theBook}, nil
}

func (b *backend) GetAddressBook(_ context.Context, p string) (*gocarddav.AddressBook, error) {
	if !isBook(p) {
		return nil, errNotFound
	}
	book := theBook
	return &book, nil
}

func (b *backend) GetAddressObject(ctx context.Context, p string, req *gocarddav.AddressDataRequest) (*gocarddav.AddressObject, error) {
	uid, ok := strings.CutPrefix(p, bookPath)
	if !ok {
		return nil, errNotFound
	}
	uid, ok = strings.CutSuffix(uid, ".vcf")
	if !ok {
		return nil, errNotFound
	}
	snap, err := b.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	e := snap.byUID[uid]
	if e == nil {
		return nil, errNotFound
	}
	ao := b.object(ctx, e, req)
	return &ao, nil
}

func (b *backend) ListAddressObjects(ctx context.Context, p string, req *gocarddav.AddressDataRequest) ([]gocarddav.AddressObject, error) {
	return b.QueryAddressObjects(ctx, p, &gocarddav.AddressBookQuery{DataRequest: *req})
}

// QueryAddressObjects answers addressbook-query (RFC 6352 §8.6), with text matched case-insensitively (match.go).
func (b *backend) QueryAddressObjects(ctx context.Context, p string, query *gocarddav.AddressBookQuery) ([]gocarddav.AddressObject, error) {
	if !isBook(p) {
		return nil, errNotFound
	}
	snap, err := b.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	version := requestFrom(ctx).version
	var out []gocarddav.AddressObject
	for _, e := range snap.entries {
		if query.Limit > 0 && len(out) == query.Limit {
			break // RFC 6352 §8.6.1 would also have us report the truncation with a 507; clients cope without
		}
		ok, err := matches(query, e.card(version))
		if err != nil {
			return nil, webdav.NewHTTPError(http.StatusBadRequest, err)
		}
		if ok {
			out = append(out, b.object(ctx, e, &query.DataRequest))
		}
	}
	return out, nil
}

// object returns the entry's card in the version the request asked for, with only the properties it asked for
// (RFC 6352 §10.4.2) and VERSION, which a card cannot do without.
func (b *backend) object(ctx context.Context, e *entry, req *gocarddav.AddressDataRequest) gocarddav.AddressObject {
	card := e.card(requestFrom(ctx).version)
	if req != nil && !req.AllProp && len(req.Props) > 0 {
		all := card
		card = vcard.Card{vcard.FieldVersion: all[vcard.FieldVersion]}
		for _, name := range req.Props {
			name = strings.ToUpper(name)
			if fields, ok := all[name]; ok {
				card[name] = fields
			}
		}
	}
	return gocarddav.AddressObject{Path: objectPath(e.uid), ETag: e.etag, Card: card}
}

// snapshot returns the request's directory snapshot, read once per request however many cards a multiget names.
func (b *backend) snapshot(ctx context.Context) (*snapshot, error) {
	return requestFrom(ctx).snapshot()
}

// The address book is read-only; ServeHTTP refuses these methods before go-webdav sees them.

func (b *backend) CreateAddressBook(context.Context, *gocarddav.AddressBook) error {
	return errReadOnly
}
func (b *backend) DeleteAddressBook(context.Context, string) error   { return errReadOnly }
func (b *backend) DeleteAddressObject(context.Context, string) error { return errReadOnly }
func (b *backend) PutAddressObject(context.Context, string, vcard.Card, *gocarddav.PutAddressObjectOptions) (*gocarddav.AddressObject, error) {
	return nil, errReadOnly
}

func principalPath(address string) string { return principalsPath + address + "/" }

// isBook reports whether p names the address book, with or without its trailing slash.
func isBook(p string) bool { return path.Clean(p)+"/" == bookPath }
