// Package metricstest reads metrics the way a scraper does, for tests: from a Metrics' registry or from the text
// an HTTP scrape returned.
package metricstest

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"mailserver/internal/metrics"
)

// Snapshot is the samples of one scrape. A histogram is read as its _count and _sum.
type Snapshot struct {
	values      map[string]float64 // by Key
	labelValues []string           // every label value seen, with repeats
}

// Gather reads m's metrics without HTTP.
func Gather(t testing.TB, m *metrics.Metrics) Snapshot {
	t.Helper()
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	return snapshot(families)
}

// Parse reads a scrape's text.
func Parse(t testing.TB, r io.Reader) Snapshot {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := parser.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse the metrics text: %v", err)
	}
	var families []*dto.MetricFamily
	for _, f := range byName {
		families = append(families, f)
	}
	return snapshot(families)
}

func snapshot(families []*dto.MetricFamily) Snapshot {
	s := Snapshot{values: map[string]float64{}}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName(), l.GetValue())
				s.labelValues = append(s.labelValues, l.GetValue())
			}
			name := f.GetName()
			switch {
			case m.GetCounter() != nil:
				s.values[Key(name, labels...)] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				s.values[Key(name, labels...)] = m.GetGauge().GetValue()
			case m.GetUntyped() != nil:
				s.values[Key(name, labels...)] = m.GetUntyped().GetValue()
			case m.GetHistogram() != nil:
				s.values[Key(name+"_count", labels...)] = float64(m.GetHistogram().GetSampleCount())
				s.values[Key(name+"_sum", labels...)] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return s
}

// Key names one series: name{label="value",...} with the labels (given as name, value pairs) in name order.
func Key(name string, labels ...string) string {
	var pairs []string
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, labels[i]+"="+`"`+labels[i+1]+`"`)
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// Value is the value of one series (labels as name, value pairs), 0 if the scrape did not have it.
func (s Snapshot) Value(name string, labels ...string) float64 { return s.values[Key(name, labels...)] }

// Want fails the test, going on, unless the series has the value want.
func (s Snapshot) Want(t testing.TB, want float64, name string, labels ...string) {
	t.Helper()
	if got := s.Value(name, labels...); got != want {
		t.Errorf("%s = %v, want %v", Key(name, labels...), got, want)
	}
}

// Has reports whether the scrape had the series.
func (s Snapshot) Has(name string, labels ...string) bool {
	_, ok := s.values[Key(name, labels...)]
	return ok
}

// Series lists the keys (Key) of every series of the scrape, sorted.
func (s Snapshot) Series() []string {
	keys := make([]string, 0, len(s.values))
	for k := range s.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ValueOf is the value of the series with the given key (Key), 0 if the scrape did not have it.
func (s Snapshot) ValueOf(key string) float64 { return s.values[key] }

// LabelValues lists every label value of the scrape.
func (s Snapshot) LabelValues() []string { return s.labelValues }

// WaitFor reads with read until the series has the value want, every 10 ms for at most 10 seconds, and fails the
// test if it never does: for what is counted after the reply a client waits for (a queue attempt, a closed session).
func WaitFor(t testing.TB, read func() Snapshot, want float64, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := read().Value(name, labels...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after 10 s, want %v", Key(name, labels...), got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
