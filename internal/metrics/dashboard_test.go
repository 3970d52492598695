package metrics_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailserver/internal/metrics"
)

// The Grafana dashboard in dist/ asks only for metrics the server serves, through the data source variable.
func TestDashboardQueriesServedMetrics(t *testing.T) {
	raw, err := os.ReadFile("../../dist/grafana-mailserver.json")
	if err != nil {
		t.Fatal(err)
	}
	var dashboard struct {
		Templating struct {
			List []struct{ Name, Type string }
		}
		Panels []struct {
			Type, Title string
			Datasource  struct{ UID string }
			Targets     []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dashboard); err != nil {
		t.Fatalf("dist/grafana-mailserver.json: %v", err)
	}
	if len(dashboard.Templating.List) == 0 || dashboard.Templating.List[0].Type != "datasource" {
		t.Error("the dashboard's first variable is not the data source")
	}

	served := servedFamilies(t)
	name := regexp.MustCompile(`mailserver_[a-z_]+`)
	queried := 0
	for _, p := range dashboard.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: data source %q, want the variable", p.Title, p.Datasource.UID)
		}
		for _, target := range p.Targets {
			for _, n := range name.FindAllString(target.Expr, -1) {
				queried++
				family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")
				if !served[family] {
					t.Errorf("panel %q asks for %s, which is not served", p.Title, n)
				}
			}
		}
	}
	if queried == 0 {
		t.Error("no panel queries a mailserver metric")
	}
}

// servedFamilies names every metric family a server with its store and certificate watched serves.
func servedFamilies(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New(nil)
	if err := m.WatchStore(&fakeStore{path: "/"}); err != nil {
		t.Fatal(err)
	}
	if err := m.WatchCertificate(func() (time.Time, error) { return time.Now(), nil }); err != nil {
		t.Fatal(err)
	}
	m.SMTPMessageAccepted("mx", 1, time.Millisecond) // histograms are served once observed
	m.IMAPCommand("NOOP", time.Millisecond)
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, f := range families {
		served[f.GetName()] = true
	}
	return served
}
