package admin_test

import (
	"regexp"
	"testing"

	"mailserver/internal/admin"
	"mailserver/internal/mailauth"
	"mailserver/internal/store"
)

// RFC 6376 3.1: a selector is not reused for a new key. A domain removed and added again (nothing remembers its old
// selectors) gets a new one, dated and with a random suffix.
func TestDKIMSelectorNotReusedAfterReAdd(t *testing.T) {
	svc, _ := newService(t)
	selectorOf := func() string {
		t.Helper()
		if err := svc.AddDomain("vinhyen.gov.vn"); err != nil {
			t.Fatal(err)
		}
		keys, err := svc.DKIMKeys("vinhyen.gov.vn")
		if err != nil || len(keys) != 1 {
			t.Fatalf("DKIMKeys = %+v, %v", keys, err)
		}
		if !regexp.MustCompile(`^rsa-[0-9]{6}-[0-9a-f]{4}$`).MatchString(keys[0].Selector) {
			t.Errorf("selector %q, want rsa-YYYYMM-xxxx", keys[0].Selector)
		}
		return keys[0].Selector
	}
	first := selectorOf()
	if err := svc.RemoveDomain("vinhyen.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if again := selectorOf(); again == first {
		t.Errorf("the new key of the domain added again has the old key's selector %s", first)
	}
	k, err := svc.AddDKIMKey("vinhyen.gov.vn", "ed25519")
	if err != nil || !regexp.MustCompile(`^ed-[0-9]{6}-[0-9a-f]{4}$`).MatchString(k.Selector) {
		t.Errorf("Ed25519 key %+v, %v: want selector ed-YYYYMM-xxxx", k, err)
	}
}

// A rotation: the new key is added, the old one removed (audited, naming the administrator); the last key stays.
// A key made before selectors had a random suffix is listed and removed like the others.
func TestRemoveDKIMKey(t *testing.T) {
	svc, st := newService(t)
	const d = "vinhyen.gov.vn"
	if err := svc.AddDomain(d); err != nil {
		t.Fatal(err)
	}
	old, err := mailauth.GenerateKey("ed25519", "ed-202510")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddDKIMKey(store.DKIMKey{Domain: d, Selector: old.Selector, Algorithm: old.Algorithm, Private: old.Private}); err != nil {
		t.Fatal(err)
	}
	if keys, err := svc.DKIMKeys(d); err != nil || len(keys) != 2 || keys[0].Selector != "ed-202510" {
		t.Fatalf("DKIMKeys = %+v, %v; want the old-style key listed", keys, err)
	}
	api := svc.As("hoa")
	if err := api.RemoveDKIMKey("VinhYen.gov.vn", " ED-202510 "); err != nil {
		t.Fatal(err)
	}
	keys, err := svc.DKIMKeys(d)
	if err != nil || len(keys) != 1 || keys[0].Algorithm != "rsa" {
		t.Fatalf("keys after removing ed-202510 = %+v, %v; want the RSA key alone", keys, err)
	}
	log, err := svc.AuditLog(admin.AuditQuery{Limit: 1})
	if err != nil || len(log) != 1 || log[0].Actor != "admin:hoa" || log[0].Action != "domain.dkim.remove" ||
		log[0].Target != d || log[0].Detail != "ed-202510" {
		t.Errorf("audit of the removal = %+v, %v", log, err)
	}

	last := keys[0].Selector
	wantErr(t, api.RemoveDKIMKey(d, last), admin.ErrInUse, last+" is the last DKIM key of "+d+
		": make its successor first with 'mailserver domain dkim "+d+"', publish its record, then remove this one")
	wantErr(t, api.RemoveDKIMKey(d, "ed-202510"), admin.ErrNotFound,
		`domain `+d+` has no DKIM key "ed-202510": its keys are the selectors in 'mailserver domain dns `+d+`'`)
	wantErr(t, api.RemoveDKIMKey("other.gov.vn", last), admin.ErrNotFound,
		"domain other.gov.vn does not exist: see 'mailserver domain list'")
	if keys, _ := svc.DKIMKeys(d); len(keys) != 1 {
		t.Errorf("refused removals changed the keys: %+v", keys)
	}
}
