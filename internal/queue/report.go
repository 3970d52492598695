package queue

import (
	"context"
	"log/slog"
	"time"

	"mailserver/internal/delivery"
	"mailserver/internal/dsn"
	"mailserver/internal/metrics"
	"mailserver/internal/store"
)

// reportTimeout bounds the delivery of one report. It does not derive from the worker's context: a report owed
// when the server shuts down is still delivered.
const reportTimeout = time.Minute

// report tells the sender of m what became of recipients: a bounce for failed ones, a warning for delayed ones.
// Nothing is sent for the null sender (a report about a report would loop, RFC 5321 section 4.5.5). A report
// that cannot be delivered is logged: there is nobody left to tell.
func (w *Worker) report(log *slog.Logger, m store.QueuedMessage, recipients []dsn.Recipient, now time.Time) {
	if m.From == "" {
		log.Info("no report for the null sender", "recipients", len(recipients))
		return
	}
	var header []byte
	if body, err := w.opts.Store.QueuedBody(m.ID); err == nil {
		header = headerOf(body[len(m.Trace):])
	}
	msg, err := dsn.Build(dsn.Report{ReportingMTA: w.opts.Hostname, From: "MAILER-DAEMON@" + w.opts.Hostname,
		To: m.From, QueueID: m.ID, ArrivalDate: m.Created, Recipients: recipients, OriginalHeader: header, Now: now})
	if err != nil {
		log.Error("build delivery report", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	// The report's lines join the message's story under its ID; the report has its own sender and ID.
	res, err := w.opts.Deliverer.Report(ctx, w.log.With(delivery.MessageAttr, m.ID), m.From, msg)
	if err != nil {
		log.Error("deliver report to sender", "to", m.From, "action", recipients[0].Action, "err", err)
		return
	}
	log.Info("report sent", "to", m.From, "action", recipients[0].Action, "recipients", len(recipients),
		delivery.ReportAttr, res.ID)
	kind := metrics.DSNDelay
	if recipients[0].Action == dsn.Failed {
		kind = metrics.DSNFailure
	}
	w.opts.Metrics.DSNSent(kind)
}

// headerOf returns the header block at the start of msg, blank line included, or nil if there is none.
func headerOf(msg []byte) []byte {
	for i := 0; i+3 < len(msg); i++ {
		if msg[i] == '\r' && msg[i+1] == '\n' && msg[i+2] == '\r' && msg[i+3] == '\n' {
			return msg[:i+4]
		}
	}
	return nil
}
