package config

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mailserver.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if c.SMTP.MaxMessageSize != 50*MB || c.SMTP.ReadTimeout != Duration(10*time.Minute) || c.Hostname != "localhost" {
		t.Errorf("unexpected defaults: %+v", c)
	}
	if got, want := c.DBPath(), filepath.Join("data", "mail.db"); got != want {
		t.Errorf("DBPath() = %q, want %q", got, want)
	}
	if got, want := c.SocketPath(), filepath.Join("data", "ctl.sock"); got != want {
		t.Errorf("SocketPath() = %q, want %q", got, want)
	}
	got, err := Load("")
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf(`Load("") = %+v, %v; want Default()`, got, err)
	}
}

// The documented file must say exactly what Default does.
func TestDefaultTOMLMatchesDefault(t *testing.T) {
	var c Config
	md, err := toml.Decode(DefaultTOML(), &c)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Errorf("default.toml has unknown keys %v", u)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("default.toml decodes to\n%+v\nwant Default()\n%+v", c, Default())
	}
}

func TestLoadFullFile(t *testing.T) {
	path := writeFile(t, `
data_dir = "state"
hostname = "mail.example.gov.vn"
log_format = "json"
log_level = "debug"
message_memory = "512MB"
shutdown_timeout = "1m"
[smtp]
mx = ":25"
submission = ":587"
submissions = ":465"
max_message_size = "20 MiB"
max_recipients = 300
read_timeout = "5m"
write_timeout = "30s"
allow_insecure_auth = false
max_connections_per_ip = 20
[imap]
listen = ":143"
listen_tls = ""
allow_insecure_auth = false
max_connections_per_ip = 300
[http]
listen = "127.0.0.1:9090"
[metrics]
listen = ":9725"
bearer_token_file = "metrics.token"
[tls]
cert = "/etc/ssl/mail.pem"
key = "private/mail.key"
[[route]]
domain = "quangninh.gov.vn"
host = "10.0.0.5:25"
tls = "required"
[[route]]
domain = "*.gov.vn"
host = "relay.gov.vn:25"
[smarthost]
host = "smtp.example.vn:587"
username = "hanoi"
password_file = "relay.pass"
[queue]
retry = ["2m", "1h"]
max_age = "3d"
warn_after = "0s"
concurrency = 8
per_destination = 2
mx_port = 2525
[dns]
records = "dns-records.zone"
system = false
[sieve]
managesieve = ":4190"
max_script_size = "64KB"
max_scripts = 5
forward_domains = ["*.gov.vn", "doitac.vn"]
forward_units = ["tinh/so-01"]
[inbound]
verify = false
dmarc_reject = "quarantine"
display_name_spoof = "reject"
`)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	want := Config{
		DataDir: filepath.Join(dir, "state"), Hostname: "mail.example.gov.vn", LogFormat: "json", LogLevel: "debug", MessageMemory: 512 * MB,
		ShutdownTimeout: Duration(time.Minute),
		SMTP: SMTPConfig{MX: ":25", Submission: ":587", Submissions: ":465", MaxMessageSize: 20 * MB,
			MaxRecipients: 300, ReadTimeout: Duration(5 * time.Minute), WriteTimeout: Duration(30 * time.Second), MaxConnectionsPerIP: 20},
		IMAP:    IMAPConfig{Listen: ":143", MaxConnectionsPerIP: 300},
		HTTP:    HTTPConfig{Listen: "127.0.0.1:9090", ListenTLS: "127.0.0.1:8443"},
		TLS:     TLSConfig{Cert: "/etc/ssl/mail.pem", Key: filepath.Join(dir, "private/mail.key")},
		Metrics: MetricsConfig{Listen: ":9725", BearerTokenFile: filepath.Join(dir, "metrics.token")},
		Routes: []RouteConfig{{Domain: "quangninh.gov.vn", Host: "10.0.0.5:25", TLS: "required"},
			{Domain: "*.gov.vn", Host: "relay.gov.vn:25"}},
		Smarthost: SmarthostConfig{Host: "smtp.example.vn:587", Username: "hanoi", PasswordFile: filepath.Join(dir, "relay.pass")},
		Queue: QueueConfig{Retry: []Duration{Duration(2 * time.Minute), Duration(time.Hour)}, MaxAge: Duration(72 * time.Hour),
			Concurrency: 8, PerDestination: 2, MXPort: 2525},
		DNS:     DNSConfig{Records: filepath.Join(dir, "dns-records.zone")},
		Inbound: InboundConfig{DMARCReject: "quarantine", DisplayNameSpoof: "reject"},
		Sieve: SieveConfig{ManageSieve: ":4190", MaxScriptSize: 64 * KB, MaxScripts: 5,
			ForwardDomains: []string{"*.gov.vn", "doitac.vn"}, ForwardUnits: []string{"tinh/so-01"}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Load =\n%+v\nwant\n%+v", c, want)
	}

	// Round trip: encoding and loading again gives the same Config.
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	again, err := Load(writeFile(t, buf.String()))
	if err != nil {
		t.Fatalf("reload of\n%s: %v", buf.String(), err)
	}
	if !reflect.DeepEqual(again, c) {
		t.Errorf("round trip =\n%+v\nwant\n%+v\nfile:\n%s", again, c, buf.String())
	}
}

func TestLoadPartialKeepsDefaults(t *testing.T) {
	c, err := Load(writeFile(t, "[smtp]\nmax_recipients = 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.SMTP.MaxRecipients = 5
	want.DataDir = c.DataDir
	// A config file never inherits the dev default's plaintext-auth relaxation.
	want.SMTP.AllowInsecureAuth, want.IMAP.AllowInsecureAuth, want.HTTP.AllowInsecureAuth = false, false, false
	want.Sieve.AllowInsecureAuth = false
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v, want %+v", c, want)
	}
	if !filepath.IsAbs(c.DataDir) || filepath.Base(c.DataDir) != "data" {
		t.Errorf("DataDir = %q, want the file's folder + data", c.DataDir)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"unknown key", "[smtp]\nmax_size = \"1MB\"\n", `unknown key "smtp.max_size"`},
		{"unknown table", "[pop3]\nlisten = \":110\"\n", `unknown key "pop3"`},
		{"bad size", "[smtp]\nmax_message_size = \"lots\"\n", `invalid size "lots"`},
		{"bad duration", "[smtp]\nread_timeout = \"10\"\n", `invalid duration "10"`},
		{"syntax", "hostname = \n", "toml:"},
		{"small size", "[smtp]\nmax_message_size = \"512B\"\n", "smtp.max_message_size: must be at least 1KB"},
		{"huge size", "[smtp]\nmax_message_size = \"2GB\"\n", "smtp.max_message_size: must be at most 1GB"},
		{"memory below one message", "message_memory = \"10MB\"\n", "message_memory: must be at least smtp.max_message_size (50MB)"},
		{"bad listen", "[imap]\nlisten = \"x\"\n", `imap.listen: "x" is not host:port`},
		{"bad port", "[smtp]\nmx = \"127.0.0.1:99999\"\n", `smtp.mx: "127.0.0.1:99999": port must be a number from 0 to 65535`},
		{"same address", "[http]\nlisten = \"127.0.0.1:2525\"\n", `http.listen: "127.0.0.1:2525" collides with smtp.mx`},
		{"wildcard collision", "[imap]\nlisten_tls = \":2465\"\n", `imap.listen_tls: ":2465" collides with smtp.submissions`},
		{"metrics collision", "[metrics]\nlisten = \"127.0.0.1:8080\"\n", `metrics.listen: "127.0.0.1:8080" collides with http.listen`},
		{"bad metrics listen", "[metrics]\nlisten = \"9725\"\n", `metrics.listen: "9725" is not host:port`},
		{"cert without key", "[tls]\ncert = \"a.pem\"\n", "tls: set both cert and key"},
		{"key without cert", "[tls]\nkey = \"a.key\"\n", "tls: set both cert and key"},
		{"no recipients", "[smtp]\nmax_recipients = 0\n", "smtp.max_recipients: must be at least 1"},
		{"sieve script size", "[sieve]\nmax_script_size = \"100MB\"\n", "sieve.max_script_size: must be from 1KB to 16MB"},
		{"sieve scripts", "[sieve]\nmax_scripts = 0\n", "sieve.max_scripts: must be from 1 to 1000"},
		{"forward domain", "[sieve]\nforward_domains = [\"*\"]\n", `sieve.forward_domains: "*" is not a domain or *.domain`},
		{"managesieve collision", "[sieve]\nmanagesieve = \"127.0.0.1:1143\"\n", `sieve.managesieve: "127.0.0.1:1143" collides with imap.listen`},
		{"no connections", "[imap]\nmax_connections_per_ip = 0\n", "imap.max_connections_per_ip: must be at least 1"},
		{"zero timeout", "[smtp]\nwrite_timeout = \"0s\"\n", "smtp.write_timeout: must be at least 1s"},
		{"negative timeout", "[smtp]\nread_timeout = \"-5m\"\n", "smtp.read_timeout: must be at least 1s"},
		{"no shutdown time", "shutdown_timeout = \"0s\"\n", "shutdown_timeout: must be from 1s to 10m"},
		{"long shutdown", "shutdown_timeout = \"1h\"\n", "shutdown_timeout: must be from 1s to 10m"},
		{"log format", "log_format = \"xml\"\n", `log_format: "xml" is not text or json`},
		{"log level", "log_level = \"loud\"\n", `log_level: "loud" is not debug, info, warn or error`},
		{"empty hostname", "hostname = \"\"\n", "hostname: must not be empty"},
		{"bad hostname", "hostname = \"mail server\"\n", `hostname: "mail server" is not a valid host name`},
		{"long socket", "data_dir = \"/" + strings.Repeat("d", 100) + "\"\n", "data_dir: control socket path"},
		{"type", "[smtp]\nmax_recipients = \"many\"\n", "max_recipients"},
		{"route domain", "[[route]]\ndomain = \"a b\"\nhost = \"h:25\"\n", `route[0].domain: "a b" is not a domain or *.suffix`},
		{"route host", "[[route]]\ndomain = \"a.gov.vn\"\nhost = \"h\"\n", `route[0].host: "h" is not host:port`},
		{"route tls", "[[route]]\ndomain = \"a.gov.vn\"\nhost = \"h:25\"\ntls = \"always\"\n", `route[0].tls: "always" is not one of opportunistic, required, verify, none`},
		{"route twice", "[[route]]\ndomain = \"a.gov.vn\"\nhost = \"h:25\"\n[[route]]\ndomain = \"A.gov.vn\"\nhost = \"g:25\"\n", `route[1].domain: "A.gov.vn" is routed twice`},
		{"smarthost password", "[smarthost]\nhost = \"r:587\"\nusername = \"u\"\n", "smarthost.password_file: must name the file"},
		{"smarthost plain auth", "[smarthost]\nhost = \"r:587\"\nusername = \"u\"\npassword_file = \"p\"\ntls = \"none\"\n", "smarthost.tls: must not be none"},
		{"empty retry", "[queue]\nretry = []\n", "queue.retry: must list at least one wait"},
		{"short retry", "[queue]\nretry = [\"10ms\"]\n", "queue.retry[0]: must be at least 1s"},
		{"warn after max age", "[queue]\nwarn_after = \"6d\"\n", "queue.warn_after: must be 0 (never) or shorter than max_age"},
		{"per destination", "[queue]\nper_destination = 50\n", "queue.per_destination: must be from 1 to queue.concurrency"},
		{"dmarc action", "[inbound]\ndmarc_reject = \"drop\"\n", `inbound.dmarc_reject: "drop" is not reject or quarantine`},
		{"display name action", "[inbound]\ndisplay_name_spoof = \"quarantine\"\n",
			`inbound.display_name_spoof: "quarantine" is not junk (deliver into Junk), reject (refuse with 550) or off`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file)
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%q) succeeded, want error containing %q", tt.file, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error = %q, want it to name the file", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.SMTP.MaxRecipients = 0
	c.IMAP.Listen = "nope"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "smtp.max_recipients") || !strings.Contains(err.Error(), "imap.listen") {
		t.Errorf("Validate() = %v, want both problems", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("Validate() = %q, want one line", err)
	}
}

func TestEphemeralPortsMayRepeat(t *testing.T) {
	c := Default()
	c.SMTP.MX, c.SMTP.Submission, c.IMAP.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.toml"))
	if err == nil || !strings.Contains(err.Error(), "absent.toml") {
		t.Errorf("Load(missing) = %v, want an error naming the file", err)
	}
}

func TestLogHandler(t *testing.T) {
	c := Default()
	c.LogFormat, c.LogLevel = "json", "warn"
	var buf bytes.Buffer
	h := c.LogHandler(&buf)
	if h.Enabled(t.Context(), slog.LevelDebug) {
		t.Error("debug enabled at level warn")
	}
	slog.New(h).Warn("disk low", "free", "1GB")
	if !strings.HasPrefix(buf.String(), "{") || !strings.Contains(buf.String(), `"msg":"disk low"`) {
		t.Errorf("log output %q, want JSON", buf.String())
	}
}

func TestUnknownKeysListedOnce(t *testing.T) {
	path := writeFile(t, "[pop3]\nlisten = \":110\"\n[smtp]\nmax_size = 1\n")
	_, err := Load(path)
	want := "config " + path + `: unknown key "pop3", "smtp.max_size"`
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %q", err, want)
	}
}

// Metrics served beyond loopback without a token are allowed, but said at start.
func TestMetricsWarnings(t *testing.T) {
	for _, c := range []struct {
		listen, token string
		warn          bool
	}{
		{"127.0.0.1:9725", "", false},
		{"[::1]:9725", "", false},
		{"localhost:9725", "", false},
		{"", "", false},
		{":9725", "", true},
		{"0.0.0.0:9725", "", true},
		{"10.1.2.3:9725", "", true},
		{"10.1.2.3:9725", "/etc/mailserver/metrics.token", false},
	} {
		cfg := Default()
		cfg.Metrics = MetricsConfig{Listen: c.listen, BearerTokenFile: c.token}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%+v: %v; want it allowed", cfg.Metrics, err)
		}
		w := cfg.Warnings()
		if got := len(w) == 1 && strings.HasPrefix(w[0], "metrics.listen: "); got != c.warn || !c.warn && len(w) > 0 {
			t.Errorf("%+v: warnings %q, want a warning: %v", cfg.Metrics, w, c.warn)
		}
	}
}
