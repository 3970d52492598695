package queue

import (
	"testing"
	"time"

	"mailserver/internal/metrics"
	"mailserver/internal/metrics/metricstest"
	"mailserver/internal/outbound"
)

// Each recipient an attempt tries is counted by its result and by how its destination was found, a routing failure
// too; the bounce and the delay warning the sender gets are counted by kind.
func TestAttemptsAndReportsCounted(t *testing.T) {
	down := &outbound.Error{Status: "4.4.4", Text: "smarthost host relay.test does not exist", Via: "smarthost"}
	e := newEnv(t, fakeRouter{fail: map[string]error{"down.gov.vn": down}})
	m := metrics.New(nil)
	e.worker.opts.Metrics = m
	e.transport.replies["nobody@other.gov.vn"] = outbound.Reply{Code: 550, Enhanced: "5.1.1", Text: "no such user", Host: "mx.other.gov.vn"}
	e.transport.replies["later@other.gov.vn"] = outbound.Reply{Code: 451, Enhanced: "4.3.0", Text: "try later", Host: "mx.other.gov.vn"}
	e.submit(t, "x@other.gov.vn", "nobody@other.gov.vn", "later@other.gov.vn", "y@down.gov.vn")
	e.runDue(t)
	e.clock = e.clock.Add(2 * time.Hour) // a retry is due, and the sender is owed a delay warning
	e.runDue(t)

	s := metricstest.Gather(t, m)
	s.Want(t, 1, "mailserver_outbound_attempts_total", "result", "delivered", "destination", "mx")
	s.Want(t, 1, "mailserver_outbound_attempts_total", "result", "failed", "destination", "mx")
	s.Want(t, 2, "mailserver_outbound_attempts_total", "result", "deferred", "destination", "mx")
	s.Want(t, 2, "mailserver_outbound_attempts_total", "result", "deferred", "destination", "smarthost")
	s.Want(t, 0, "mailserver_outbound_attempts_total", "result", "delivered", "destination", "smarthost")
	s.Want(t, 1, "mailserver_dsn_sent_total", "kind", "failure")
	s.Want(t, 1, "mailserver_dsn_sent_total", "kind", "delay")
}
