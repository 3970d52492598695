package metrics

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mailserver/internal/store"
)

// storeRefreshPeriod bounds how often scrapes read the store's counts: store.Stats walks every body record, which
// takes seconds on a large store, and scrapes come every 15 to 60 seconds, from more than one scraper at times.
const storeRefreshPeriod = time.Minute

// Store is what the scrape-time gauges read; *store.Store is one.
type Store interface {
	QueueSummary() (store.QueueSummary, error)
	Stats() (store.Stats, error)
	LastBackupNote() (b store.LastBackup, ok bool, err error)
	SearchIndexSize() (store.IndexSize, error)
	Path() string
}

// WatchStore adds the gauges read from st when a scrape comes: the queue's at every scrape (one pass over the
// queue's records, no bodies), the store's at most once every storeRefreshPeriod.
func (m *Metrics) WatchStore(st Store) error {
	if m == nil {
		return nil
	}
	queue := readings{
		descs: []*prometheus.Desc{
			gaugeDesc("mailserver_queue_messages", "Messages in the outbound queue."),
			gaugeDesc("mailserver_queue_oldest_message_age_seconds", "Age of the oldest message in the outbound queue; 0 when it is empty."),
		},
		read: func() ([]float64, error) { return m.readQueue(st) },
	}
	stored := readings{
		descs: []*prometheus.Desc{
			gaugeDesc("mailserver_store_file_size_bytes", "Size of the store file (it never shrinks by itself: see mailserver compact)."),
			gaugeDesc("mailserver_store_bodies", "Distinct message bodies stored (each stored once, however many mailboxes hold it)."),
			gaugeDesc("mailserver_store_body_references", "Mailbox entries and queued messages pointing at the stored bodies."),
			gaugeDesc("mailserver_store_last_backup_timestamp_seconds", "When the last successful backup was made (Unix time); 0 if none was."),
			gaugeDesc("mailserver_search_index_bytes", "Size of the search index's postings, dictionaries and records."),
			gaugeDesc("mailserver_search_index_unindexed_messages", "Messages the background indexer has not indexed yet (searches read their text instead)."),
		},
		read: cached(m.now, storeRefreshPeriod, storeReadWait, func() ([]float64, error) { return readStore(st) }),
	}
	for _, c := range []prometheus.Collector{queue, stored} {
		if err := m.registry.Register(c); err != nil {
			return fmt.Errorf("metrics: watch the store: %w", err)
		}
	}
	return nil
}

func (m *Metrics) readQueue(st Store) ([]float64, error) {
	sum, err := st.QueueSummary()
	if err != nil {
		return nil, err
	}
	age := 0.0
	if sum.Messages > 0 {
		age = max(m.now().Sub(sum.Oldest).Seconds(), 0)
	}
	return []float64{float64(sum.Messages), age}, nil
}

func readStore(st Store) ([]float64, error) {
	fi, err := os.Stat(st.Path())
	if err != nil {
		return nil, err
	}
	stats, err := st.Stats()
	if err != nil {
		return nil, err
	}
	backup, ok, err := st.LastBackupNote()
	if err != nil {
		return nil, err
	}
	lastBackup := 0.0
	if ok {
		lastBackup = unixSeconds(backup.Time)
	}
	index, err := st.SearchIndexSize()
	if err != nil {
		return nil, err
	}
	return []float64{float64(fi.Size()), float64(stats.Bodies), float64(stats.BodyRefs), lastBackup,
		float64(index.Bytes), float64(index.Unindexed)}, nil
}

// WatchCertificate adds the expiry time of the certificate notAfter reports: the one served now, so that a renewal
// shows without a restart.
func (m *Metrics) WatchCertificate(notAfter func() (time.Time, error)) error {
	if m == nil {
		return nil
	}
	expiry := readings{
		descs: []*prometheus.Desc{gaugeDesc("mailserver_tls_certificate_expiry_timestamp_seconds",
			"When the served TLS certificate expires (Unix time).")},
		read: func() ([]float64, error) {
			t, err := notAfter()
			if err != nil {
				return nil, err
			}
			return []float64{unixSeconds(t)}, nil
		},
	}
	if err := m.registry.Register(expiry); err != nil {
		return fmt.Errorf("metrics: watch the certificate: %w", err)
	}
	return nil
}

func gaugeDesc(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// readings is a collector of gauges read when a scrape comes: read returns one value per desc, in order. When it
// fails, the scrape reports the error for these gauges and serves the rest.
type readings struct {
	descs []*prometheus.Desc
	read  func() ([]float64, error)
}

func (r readings) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range r.descs {
		ch <- d
	}
}

func (r readings) Collect(ch chan<- prometheus.Metric) {
	values, err := r.read()
	if errors.Is(err, errStillReading) {
		return // not an error: the gauges come with a later scrape
	}
	for i, d := range r.descs {
		if err != nil {
			ch <- prometheus.NewInvalidMetric(d, err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, values[i])
	}
}

// storeReadWait bounds how long a scrape waits for a fresh reading of the store's counts. On a province-size store
// the walk takes tens of seconds with a cold page cache, longer than a scraper waits (and than the listener's
// write timeout): past this bound the read goes on in the background and the scrape serves the last values.
var storeReadWait = 2 * time.Second

// errStillReading leaves the store's gauges out of the scrapes that come before their first reading ends, quietly.
var errStillReading = errors.New("the store's counts are still being read; they are served once the first reading ends")

// cached returns read's values, reading again at most once per period (a failed read is not kept). Scrapes that
// come together share one read; a scrape waits for it at most wait, then serves the values of the last reading
// (or none before the first), and the read goes on without it.
func cached(now func() time.Time, period, wait time.Duration, read func() ([]float64, error)) func() ([]float64, error) {
	var (
		mu       sync.Mutex
		values   []float64
		readAt   time.Time
		inFlight chan struct{} // closed when the running read ends; nil when none runs
		lastErr  error
	)
	start := func() chan struct{} {
		done := make(chan struct{})
		go func() {
			v, err := read()
			mu.Lock()
			if lastErr = err; err == nil {
				values, readAt = v, now()
			}
			inFlight = nil
			mu.Unlock()
			close(done)
		}()
		return done
	}
	return func() ([]float64, error) {
		mu.Lock()
		if values != nil && now().Sub(readAt) < period {
			defer mu.Unlock()
			return values, nil
		}
		if inFlight == nil {
			inFlight = start()
		}
		done := inFlight
		mu.Unlock()

		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-done:
			mu.Lock()
			defer mu.Unlock()
			if lastErr != nil {
				return nil, lastErr
			}
			return values, nil
		case <-timer.C:
			mu.Lock()
			defer mu.Unlock()
			if values == nil {
				return nil, errStillReading
			}
			return values, nil
		}
	}
}

// Handler serves the metrics in Prometheus's text format (or its protobuf format to a scraper that asks for it).
// With token set, a request must carry "Authorization: Bearer <token>" (RFC 6750 section 2.1) or is answered 401.
// A gauge that cannot be read is logged and left out; the rest is served.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:            scrapeLog{m},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	})
	return Protect(token, h)
}

// Protect lets through to next only the requests that carry token, as the metrics handler does; an empty token
// lets every request through.
func Protect(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	return requireBearer(token, next)
}

// requireBearer lets through requests that carry token. The tokens are compared as SHA-256 digests in constant
// time, so that neither the comparison's time nor its early end tells how much of a guess was right.
func requireBearer(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(bearerToken(r)))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			// RFC 6750 section 3: a request without valid credentials is told the scheme.
			w.Header().Set("WWW-Authenticate", `Bearer realm="mailserver metrics"`)
			http.Error(w, "a bearer token is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken is the token of the request's Authorization field, "" if it has none. The scheme name is
// case-insensitive (RFC 9110 section 11.1).
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// scrapeLog sends promhttp's reports (a gauge that could not be read) to the logger.
type scrapeLog struct{ m *Metrics }

func (l scrapeLog) Println(v ...any) { l.m.log.Warn("metrics scrape: " + fmt.Sprint(v...)) }
