package store

import (
	"errors"
	"testing"
)

// A rotation retires the old key; the last key of a domain stays, and another domain's key of the same selector is
// not touched.
func TestRemoveDKIMKey(t *testing.T) {
	s := newTestStore(t)
	for _, d := range []string{"a.gov.vn", "b.gov.vn"} {
		if err := s.AddDomain(d); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []DKIMKey{{Domain: "a.gov.vn", Selector: "rsa-1", Algorithm: "rsa"},
		{Domain: "a.gov.vn", Selector: "rsa-2", Algorithm: "rsa"}, {Domain: "b.gov.vn", Selector: "rsa-1", Algorithm: "rsa"}} {
		if err := s.AddDKIMKey(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveDKIMKey("a.gov.vn", "rsa-3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown selector = %v, want ErrNotFound", err)
	}
	if err := s.RemoveDKIMKey("c.gov.vn", "rsa-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown domain = %v, want ErrNotFound", err)
	}
	audited := s.WithAudit(AuditRecord{Actor: "admin", Action: "domain.dkim.remove", Target: "a.gov.vn", Detail: "rsa-1"})
	if err := audited.RemoveDKIMKey("A.gov.vn", "rsa-1"); err != nil {
		t.Fatal(err)
	}
	if keys, err := s.DKIMKeys("a.gov.vn"); err != nil || len(keys) != 1 || keys[0].Selector != "rsa-2" {
		t.Errorf("a.gov.vn keys after removing rsa-1 = %+v, %v; want rsa-2 alone", keys, err)
	}
	if keys, err := s.DKIMKeys("b.gov.vn"); err != nil || len(keys) != 1 || keys[0].Selector != "rsa-1" {
		t.Errorf("b.gov.vn keys = %+v, %v; want its rsa-1 untouched", keys, err)
	}
	if log, _ := s.AuditLog(AuditFilter{}); len(log) != 1 || log[0].Detail != "rsa-1" {
		t.Errorf("audit trail = %+v, want the one removal", log)
	}
	if err := s.RemoveDKIMKey("a.gov.vn", "rsa-2"); !errors.Is(err, ErrLastDKIMKey) {
		t.Errorf("removing the last key = %v, want ErrLastDKIMKey", err)
	}
	if keys, _ := s.DKIMKeys("a.gov.vn"); len(keys) != 1 {
		t.Errorf("the last key went: %+v", keys)
	}
}
