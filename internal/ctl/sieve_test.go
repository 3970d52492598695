package ctl_test

import (
	"errors"
	"strings"
	"testing"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
)

const (
	sieveUser = "an@vinhyen.gov.vn"
	// locThu files the province's circulars (Vietnamese name, folder and text) and flags urgent mail.
	locThu     = "lọc thư đến"
	locThuText = "# Lọc công văn của Sở Nội vụ\r\n" +
		"require [\"fileinto\", \"imap4flags\", \"comparator-vnd-mailserver-vi-fold\"];\r\n" +
		"if header :comparator \"vnd-mailserver-vi-fold\" :contains \"subject\" \"cong van\" {\r\n" +
		"  fileinto \"Công văn/Sở Nội vụ\";\r\n" +
		"} elsif header :contains \"subject\" \"Hỏa tốc\" {\r\n" +
		"  addflag \"\\\\Flagged\";\r\n" +
		"}\r\n"
)

// TestSieveRoundTrip runs every sieve operation on both backends the CLI uses, through the socket as OS user
// "hoa" and directly on the store: the scripts stored, listed, read back byte for byte, activated and removed, and
// each change in the audit trail.
func TestSieveRoundTrip(t *testing.T) {
	ts, _ := serverWithAccount(t)
	backends := map[string]ctl.Backend{"socket": ts.dial(t).As("hoa"), "direct": ctl.Direct{Service: admin.New(ts.store).As("hoa")}}
	for name, b := range backends {
		t.Run(name, func(t *testing.T) {
			if list, err := ctl.Call(b, ctl.SieveList, ctl.AddressArgs{Address: sieveUser}); err != nil || len(list) != 0 {
				t.Fatalf("sieve.list before any script = %+v, %v", list, err)
			}
			must(t, ctl.Do(b, ctl.SievePut, ctl.SievePutArgs{Address: "AN@vinhyen.gov.vn", Name: locThu, Script: locThuText, Activate: true}))
			wantSieveAudit(t, b, "sieve.activate", `script "lọc thư đến"`)
			// Bytes that are not UTF-8 (in a comment: the script still compiles) come back as they were.
			odd := "# \xff\xfe Latin-1: \xe9\r\nkeep;\r\n"
			must(t, ctl.Do(b, ctl.SievePut, ctl.SievePutArgs{Address: sieveUser, Name: "cũ", Script: odd}))
			wantSieveAudit(t, b, "sieve.put", `script "cũ", 24 bytes`)

			list, err := ctl.Call(b, ctl.SieveList, ctl.AddressArgs{Address: sieveUser})
			must(t, err)
			if len(list) != 2 || list[0].Name != "cũ" || list[0].Active || list[0].Size != len(odd) ||
				list[1].Name != locThu || !list[1].Active || list[1].Size != len(locThuText) || list[1].Updated.IsZero() {
				t.Errorf("sieve.list = %+v", list)
			}
			for name, want := range map[string]string{locThu: locThuText, "cũ": odd} {
				if got, err := ctl.Call(b, ctl.SieveGet, ctl.SieveArgs{Address: sieveUser, Name: name}); err != nil || string(got) != want {
					t.Errorf("sieve.get %q = %q, %v; want %q", name, got, err, want)
				}
			}

			must(t, ctl.Do(b, ctl.SieveActivate, ctl.SieveArgs{Address: sieveUser, Name: "cũ"}))
			must(t, ctl.Do(b, ctl.SieveRemove, ctl.SieveArgs{Address: sieveUser, Name: locThu}))
			wantSieveAudit(t, b, "sieve.remove", `script "lọc thư đến"`)
			must(t, ctl.Do(b, ctl.SieveActivate, ctl.SieveArgs{Address: sieveUser}))
			wantSieveAudit(t, b, "sieve.deactivate", "no script runs")
			list, err = ctl.Call(b, ctl.SieveList, ctl.AddressArgs{Address: sieveUser})
			if err != nil || len(list) != 1 || list[0].Active {
				t.Errorf("sieve.list after deactivating = %+v, %v", list, err)
			}
			must(t, ctl.Do(b, ctl.SieveRemove, ctl.SieveArgs{Address: sieveUser, Name: "cũ"}))
		})
	}
}

// wantSieveAudit checks the newest audit record: action on sieveUser by admin:hoa, with detail.
func wantSieveAudit(t *testing.T, b ctl.Backend, action, detail string) {
	t.Helper()
	log, err := ctl.Call(b, ctl.Audit, admin.AuditQuery{Limit: 1})
	if err != nil || len(log) != 1 || log[0].Action != action || log[0].Target != sieveUser || log[0].Detail != detail ||
		log[0].Actor != "admin:hoa" {
		t.Errorf("audit %+v, %v\nwant %s %s %q by admin:hoa", log, err, action, sieveUser, detail)
	}
}

// A script larger than a request line travels after it, and one over the server's limit is refused by the admin
// layer's rule, not by the socket.
func TestSievePutLargerThanARequestLine(t *testing.T) {
	ts, c := serverWithAccount(t)
	big := strings.Repeat("# Ghi chú dài về quy trình xử lý công văn đến.\n", 2*ctl.MaxRequest/40) + "keep;\n"
	must(t, ctl.Do(c, ctl.SievePut, ctl.SievePutArgs{Address: sieveUser, Name: "dài", Script: big}))
	if got, err := ctl.Call(c, ctl.SieveGet, ctl.SieveArgs{Address: sieveUser, Name: "dài"}); err != nil || string(got) != big {
		t.Errorf("sieve.get of a %d-byte script: %d bytes, %v", len(big), len(got), err)
	}
	tooBig := strings.Repeat("#", 1<<20) + "\nkeep;\n" // over the default 1 MiB
	err := ctl.Do(c, ctl.SievePut, ctl.SievePutArgs{Address: sieveUser, Name: "quá lớn", Script: tooBig})
	direct := admin.New(ts.store).PutSieveScript(sieveUser, "quá lớn", tooBig, false)
	if err == nil || direct == nil || err.Error() != direct.Error() || !errors.Is(err, admin.ErrInvalid) {
		t.Errorf("a script over the limit: through the socket %v, directly %v", err, direct)
	}
}

// TestSieveErrorsPreserved checks that the sieve operations' errors keep their text and kind across the socket:
// a script that does not compile says where, a missing script how to list them, the active one how to remove it.
func TestSieveErrorsPreserved(t *testing.T) {
	ts, c := serverWithAccount(t)
	direct := admin.New(ts.store)
	must(t, direct.PutSieveScript(sieveUser, locThu, locThuText, true))
	bad := "require \"fileinto\";\nfileinto \"Lưu trữ\"\n"
	tests := []struct {
		name          string
		remote, local error
		kind          error
		contains      string
	}{
		{"does not compile", ctl.Do(c, ctl.SievePut, ctl.SievePutArgs{Address: sieveUser, Name: "hỏng", Script: bad}),
			direct.PutSieveScript(sieveUser, "hỏng", bad, false), admin.ErrInvalid, "line 3, column 1"},
		{"missing script", second(ctl.Call(c, ctl.SieveGet, ctl.SieveArgs{Address: sieveUser, Name: "không có"})),
			second(direct.SieveScript(sieveUser, "không có")), admin.ErrNotFound, "mailserver sieve list an@vinhyen.gov.vn"},
		{"activate missing", ctl.Do(c, ctl.SieveActivate, ctl.SieveArgs{Address: sieveUser, Name: "không có"}),
			direct.ActivateSieveScript(sieveUser, "không có"), admin.ErrNotFound, `no filter script "không có"`},
		{"remove active", ctl.Do(c, ctl.SieveRemove, ctl.SieveArgs{Address: sieveUser, Name: locThu}),
			direct.RemoveSieveScript(sieveUser, locThu), admin.ErrInUse, "--none"},
		{"unknown user", second(ctl.Call(c, ctl.SieveList, ctl.AddressArgs{Address: "chi@vinhyen.gov.vn"})),
			second(direct.SieveScripts("chi@vinhyen.gov.vn")), admin.ErrNotFound, "chi@vinhyen.gov.vn"},
	}
	for _, tt := range tests {
		if tt.remote == nil || tt.local == nil {
			t.Errorf("%s: remote %v, local %v", tt.name, tt.remote, tt.local)
			continue
		}
		if tt.remote.Error() != tt.local.Error() || !strings.Contains(tt.remote.Error(), tt.contains) {
			t.Errorf("%s: remote error %q, want %q, containing %q", tt.name, tt.remote, tt.local, tt.contains)
		}
		if !errors.Is(tt.remote, tt.kind) {
			t.Errorf("%s: remote error %q lost its kind %v", tt.name, tt.remote, tt.kind)
		}
	}
}
