package ctl_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailserver/internal/admin"
	"mailserver/internal/ctl"
	"mailserver/internal/store"
)

// TestBackupStream takes a backup through the socket and directly: both are complete stores with the same content.
func TestBackupStream(t *testing.T) {
	ts := newTestServer(t)
	if err := ts.store.AddDomain("vinhyen.gov.vn"); err != nil {
		t.Fatal(err)
	}
	var copies [2]bytes.Buffer
	for i, b := range []ctl.Backend{ts.dial(t), ctl.Direct{Service: admin.New(ts.store)}} {
		var announced store.BackupInfo
		err := ctl.CallStream(b, ctl.Backup, ctl.None{}, func(h store.BackupInfo, n int64) (io.Writer, error) {
			if h.Size != n {
				t.Errorf("header says %d bytes, length %d", h.Size, n)
			}
			announced = h
			return &copies[i], nil
		})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "copy.db")
		if err := os.WriteFile(path, copies[i].Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		if info, err := store.VerifyBackup(path); err != nil || info != announced {
			t.Errorf("backend %d: copy holds %+v, %v; announced %+v", i, info, err, announced)
		}
	}
}

// TestBackupStreamCutShort: a body shorter than announced, a missing trailer and a wrong digest all fail.
func TestBackupStreamCutShort(t *testing.T) {
	body := strings.Repeat("x", 1000)
	for name, c := range map[string]struct {
		answer string
		want   string
	}{
		"short body":    {`{"ok":true,"result":{"size":1000},"length":1000}` + "\n" + body[:500], "stream cut short after 500 of 1000 bytes"},
		"no trailer":    {`{"ok":true,"result":{"size":1000},"length":1000}` + "\n" + body, "stream cut short: no trailer"},
		"failed":        {`{"ok":true,"result":{"size":1000},"length":1000}` + "\n" + body + `{"ok":false,"error":"disk error"}` + "\n", "the server failed while sending: disk error"},
		"wrong digest":  {`{"ok":true,"result":{"size":1000},"length":1000}` + "\n" + body + `{"ok":true,"sha256":"00"}` + "\n", "differs from the server's 00"},
		"refused first": {`{"ok":false,"error":"no backup for you","code":"invalid"}` + "\n", "no backup for you"},
	} {
		t.Run(name, func(t *testing.T) {
			path := fakeStreamServer(t, c.answer)
			client, err := ctl.Dial(path)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			err = ctl.CallStream(client, ctl.Backup, ctl.None{}, func(store.BackupInfo, int64) (io.Writer, error) {
				return &got, nil
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("CallStream: %v, want an error containing %q", err, c.want)
			}
			if strings.Contains(c.want, "cut short") && !errors.Is(err, ctl.ErrTruncated) {
				t.Errorf("CallStream: %v is not ErrTruncated", err)
			}
		})
	}
}

// fakeStreamServer answers ping and then, to any other request, answer as it is; it closes each connection after.
func fakeStreamServer(t *testing.T, answer string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for range 10 {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			if strings.Contains(line, `"ping"`) {
				conn.Write([]byte(`{"ok":true,"result":"pong"}` + "\n"))
			} else {
				conn.Write([]byte(answer))
			}
			conn.Close()
		}
	}()
	return path
}
