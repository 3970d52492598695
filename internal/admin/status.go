package admin

import (
	"fmt"
	"os"
	"time"

	"mailserver/internal/version"
)

// Status is what 'mailserver status' reports: the running server's own facts (nil when the CLI opened the store
// file itself, because no server runs), and what the store holds.
type Status struct {
	Server     *ServerInfo  `json:"server,omitempty"`
	Domains    int          `json:"domains"`
	Accounts   int          `json:"accounts"` // shared mailboxes included
	Shared     int          `json:"shared"`   // of which shared mailboxes
	Queue      QueueSummary `json:"queue"`
	StoreFile  string       `json:"store_file"`
	StoreSize  int64        `json:"store_size"` // bytes
	LastBackup *BackupNote  `json:"last_backup,omitempty"`
}

// ServerInfo is what only the running server knows about itself.
type ServerInfo struct {
	Version   version.Info `json:"version"`
	Started   time.Time    `json:"started"`
	Listeners []Listener   `json:"listeners"` // in the order they were bound
}

// Listener is one listening socket of the running server.
type Listener struct {
	Name string `json:"name"` // mx, submission, submissions, imap, imaps, http, https
	Addr string `json:"addr"` // the bound address, e.g. 0.0.0.0:25
}

// QueueSummary counts the outbound queue.
type QueueSummary struct {
	Messages int       `json:"messages"`
	Oldest   time.Time `json:"oldest,omitzero"` // when the oldest queued message was accepted
}

// WithServerInfo lets Status describe the running server (asking it with info); without it, Status describes the
// store alone, as when the CLI opens the file because no server runs.
func WithServerInfo(info func() ServerInfo) Option {
	return func(s *Service) { s.serverInfo = info }
}

// Status reads the counts, the queue and the last backup, and the server's facts when it runs.
func (s *Service) Status() (Status, error) {
	var st Status
	if s.serverInfo != nil {
		info := s.serverInfo()
		st.Server = &info
	}
	domains, err := s.st.Domains()
	if err != nil {
		return st, err
	}
	st.Domains = len(domains)
	accounts, err := s.st.Accounts()
	if err != nil {
		return st, err
	}
	st.Accounts = len(accounts)
	for _, a := range accounts {
		if a.Shared {
			st.Shared++
		}
	}
	queue, err := s.st.QueueSummary()
	if err != nil {
		return st, err
	}
	st.Queue = QueueSummary{Messages: queue.Messages, Oldest: queue.Oldest}
	st.StoreFile = s.st.Path()
	fi, err := os.Stat(st.StoreFile)
	if err != nil {
		return st, fmt.Errorf("store file: %w", err)
	}
	st.StoreSize = fi.Size()
	st.LastBackup, err = s.LastBackup()
	return st, err
}
