// Package config reads the server's TOML configuration file.
//
// Every key is optional: Default holds the one set of defaults (the dev
// setup, listening on loopback only) and a file overrides them key by key.
// default.toml, returned by DefaultTOML, documents every key; a test keeps
// it equal to Default.
package config

import (
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration file. Field comments give the TOML key
// and what an empty value means; defaults live in Default only.
type Config struct {
	DataDir   string `toml:"data_dir"`   // bbolt file, certificates, ctl.sock
	Hostname  string `toml:"hostname"`   // HELO name, Received headers, certificate name
	LogFormat string `toml:"log_format"` // "text" or "json"
	LogLevel  string `toml:"log_level"`  // "debug", "info", "warn" or "error"

	// MessageMemory bounds the bytes of messages being received (SMTP DATA/BDAT, IMAP APPEND) held in memory at
	// once; a message that would go over gets a temporary refusal. At least smtp.max_message_size.
	MessageMemory Size `toml:"message_memory"`

	// ShutdownTimeout bounds a graceful stop (SIGTERM): SMTP transactions under way may finish within it, then
	// whatever is still open is closed. A service manager's stop timeout must be longer.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`

	SMTP    SMTPConfig    `toml:"smtp"`
	IMAP    IMAPConfig    `toml:"imap"`
	HTTP    HTTPConfig    `toml:"http"`
	TLS     TLSConfig     `toml:"tls"`
	Metrics MetricsConfig `toml:"metrics"`
	Sieve   SieveConfig   `toml:"sieve"`

	// The gateway to other servers (gateway.go).
	Routes    []RouteConfig   `toml:"route"`
	Smarthost SmarthostConfig `toml:"smarthost"`
	Queue     QueueConfig     `toml:"queue"`
	DNS       DNSConfig       `toml:"dns"`
	Inbound   InboundConfig   `toml:"inbound"`
}

// SMTPConfig is the [smtp] table. An empty listen address disables that
// listener.
type SMTPConfig struct {
	MX          string `toml:"mx"`          // inbound from other servers, no AUTH
	Submission  string `toml:"submission"`  // STARTTLS + AUTH
	Submissions string `toml:"submissions"` // implicit TLS + AUTH

	MaxMessageSize Size     `toml:"max_message_size"`
	MaxRecipients  int      `toml:"max_recipients"`
	ReadTimeout    Duration `toml:"read_timeout"` // per read, while reading commands and message data
	WriteTimeout   Duration `toml:"write_timeout"`

	// MaxConnectionsPerIP bounds simultaneous connections from one client address (IPv6: one /64) across the
	// SMTP listeners; further connections get 421 and are closed.
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`

	// AllowInsecureAuth permits AUTH without TLS, but only from loopback
	// clients; remote clients always need TLS first.
	AllowInsecureAuth bool `toml:"allow_insecure_auth"`
}

// IMAPConfig is the [imap] table. An empty listen address disables that
// listener.
type IMAPConfig struct {
	Listen    string `toml:"listen"`     // STARTTLS
	ListenTLS string `toml:"listen_tls"` // implicit TLS

	// AllowInsecureAuth permits LOGIN/AUTHENTICATE without TLS, but only
	// from loopback clients.
	AllowInsecureAuth bool `toml:"allow_insecure_auth"`

	// MaxConnectionsPerIP bounds simultaneous IMAP connections from one
	// client address. A whole office behind one NAT address, each client
	// opening several connections, must fit.
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`
}

// HTTPConfig is the [http] table: /healthz and the CardDAV address book.
type HTTPConfig struct {
	Listen    string `toml:"listen"`     // plain HTTP; empty disables it
	ListenTLS string `toml:"listen_tls"` // HTTPS; empty disables it

	// AllowInsecureAuth permits CardDAV logins over plain HTTP, but only
	// from loopback clients; otherwise the address book is HTTPS only.
	AllowInsecureAuth bool `toml:"allow_insecure_auth"`
}

// MetricsConfig is the [metrics] table: Prometheus metrics at /metrics, on a listener of their own.
type MetricsConfig struct {
	Listen string `toml:"listen"` // plain HTTP; empty disables it
	// BearerTokenFile holds the token scrapers must send ("Authorization: Bearer <token>"); empty: none needed,
	// which suits only a loopback listen address.
	BearerTokenFile string `toml:"bearer_token_file"`
	// Profiling also serves Go's runtime profiles at /debug/pprof/ (behind the same token), for finding where a
	// busy server spends its CPU; off by default.
	Profiling bool `toml:"profiling"`
}

// SieveConfig is the [sieve] table: users' server-side filters (Sieve, RFC 5228), the ManageSieve listener
// (RFC 5804) that mail clients' filter editors use, and the organisation's forwarding policy.
type SieveConfig struct {
	ManageSieve       string `toml:"managesieve"` // STARTTLS; empty disables it
	AllowInsecureAuth bool   `toml:"allow_insecure_auth"`
	MaxScriptSize     Size   `toml:"max_script_size"` // per script
	MaxScripts        int    `toml:"max_scripts"`     // per account
	// A filter may forward mail automatically (redirect) only to the organisation's own domains, to
	// ForwardDomains ("*.gov.vn" matches every subdomain of gov.vn), or anywhere if the user belongs to one of
	// ForwardUnits (or to a unit below one).
	ForwardDomains []string `toml:"forward_domains"`
	ForwardUnits   []string `toml:"forward_units"`
}

// TLSConfig is the [tls] table. With both empty, a self-signed pair is
// generated in <data_dir>/tls; relative paths are relative to the config
// file's folder.
type TLSConfig struct {
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
}

//go:embed default.toml
var defaultTOML string

// DefaultTOML returns a config file that documents every key with its
// default value.
func DefaultTOML() string { return defaultTOML }

// Default returns the built-in dev configuration: every listener on
// loopback, data in ./data.
func Default() Config {
	return Config{
		DataDir:         "./data",
		Hostname:        "localhost",
		LogFormat:       "text",
		LogLevel:        "info",
		MessageMemory:   2 * GB,
		ShutdownTimeout: Duration(30 * time.Second),
		SMTP: SMTPConfig{
			MX:                  "127.0.0.1:2525",
			Submission:          "127.0.0.1:2587",
			Submissions:         "127.0.0.1:2465",
			MaxMessageSize:      50 * MB,
			MaxRecipients:       1000,
			ReadTimeout:         Duration(10 * time.Minute),
			WriteTimeout:        Duration(time.Minute),
			AllowInsecureAuth:   true,
			MaxConnectionsPerIP: 100,
		},
		IMAP: IMAPConfig{
			Listen:              "127.0.0.1:1143",
			ListenTLS:           "127.0.0.1:1993",
			AllowInsecureAuth:   true,
			MaxConnectionsPerIP: 500,
		},
		HTTP:    HTTPConfig{Listen: "127.0.0.1:8080", ListenTLS: "127.0.0.1:8443", AllowInsecureAuth: true},
		Metrics: MetricsConfig{Listen: "127.0.0.1:9725"},
		Sieve: SieveConfig{ManageSieve: "127.0.0.1:4190", AllowInsecureAuth: true, MaxScriptSize: MB, MaxScripts: 32,
			ForwardDomains: []string{}, ForwardUnits: []string{}},
		Queue:   defaultQueue(),
		DNS:     DNSConfig{System: true},
		Inbound: InboundConfig{Verify: true, DMARCReject: "reject", DisplayNameSpoof: "junk"},
	}
}

// Load reads the file at path over Default and validates the result. An
// empty path returns Default. Unknown keys are an error, so that a typo
// never silently falls back to a default. Relative data_dir, tls.cert and
// tls.key are resolved against the file's folder, so the server behaves
// the same whatever folder it is started from.
func Load(path string) (Config, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	// Plaintext authentication, even from loopback, is a convenience of the embedded dev default only: a config
	// file has to ask for it explicitly.
	c.SMTP.AllowInsecureAuth, c.IMAP.AllowInsecureAuth, c.HTTP.AllowInsecureAuth = false, false, false
	c.Sieve.AllowInsecureAuth = false
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return Config{}, fmt.Errorf("config %s: unknown key %s", path, unknownKeys(undecoded))
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	c.DataDir = resolve(dir, c.DataDir)
	c.TLS.Cert = resolve(dir, c.TLS.Cert)
	c.TLS.Key = resolve(dir, c.TLS.Key)
	c.DNS.Records = resolve(dir, c.DNS.Records)
	c.Smarthost.PasswordFile = resolve(dir, c.Smarthost.PasswordFile)
	c.Metrics.BearerTokenFile = resolve(dir, c.Metrics.BearerTokenFile)
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// unknownKeys lists keys for an error message, leaving out those inside an
// unknown table already listed.
func unknownKeys(keys []toml.Key) string {
	var out []string
	var last toml.Key
	for _, k := range keys {
		if last != nil && len(k) > len(last) && slices.Equal(k[:len(last)], last) {
			continue
		}
		out, last = append(out, fmt.Sprintf("%q", k.String())), k
	}
	return strings.Join(out, ", ")
}

// resolve makes p absolute relative to dir; empty stays empty (it means
// "not set").
func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// Encode writes c as TOML; Load reads the output back to an equal Config.
func (c Config) Encode(w io.Writer) error {
	if err := toml.NewEncoder(w).Encode(c); err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	return nil
}

// DBPath is the bbolt file.
func (c Config) DBPath() string { return filepath.Join(c.DataDir, "mail.db") }

// SocketPath is the control socket the CLI uses while the server runs.
func (c Config) SocketPath() string { return filepath.Join(c.DataDir, "ctl.sock") }

// Level returns log_level as a slog.Level; call it on a validated Config.
func (c Config) Level() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.LogLevel)) // Validate has checked it
	return l
}

// LogHandler returns a slog handler writing to w in log_format at
// log_level.
func (c Config) LogHandler(w io.Writer) slog.Handler {
	opts := &slog.HandlerOptions{Level: c.Level()}
	if strings.EqualFold(c.LogFormat, "json") {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}
