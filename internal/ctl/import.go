package ctl

import (
	"encoding/json"
	"fmt"

	"mailserver/internal/admin"
)

// importBatchHeader is import.batch's arguments on the wire: the batch with its messages' bytes taken out, and how
// long each is. The bytes follow it raw, one message after another (see rawCodec).
type importBatchHeader struct {
	admin.ImportBatch
	Lengths []int `json:"lengths"`
}

// splitImportBatch takes the messages' bytes out of b; b's own messages are left as they are.
func splitImportBatch(b admin.ImportBatch) (any, [][]byte) {
	h := importBatchHeader{ImportBatch: b}
	if b.Messages != nil {
		h.Messages = make([]admin.ImportMessage, len(b.Messages))
	}
	body := make([][]byte, len(b.Messages))
	h.Lengths = make([]int, len(b.Messages))
	for i, m := range b.Messages {
		body[i], h.Lengths[i] = m.Data, len(m.Data)
		m.Data = nil
		h.Messages[i] = m
	}
	return h, body
}

// joinImportBatch decodes the header and gives each message its bytes, cut from body without a copy.
func joinImportBatch(raw json.RawMessage, body []byte) (admin.ImportBatch, error) {
	h, err := decodeArgs[importBatchHeader](raw)
	if err != nil {
		return admin.ImportBatch{}, err
	}
	if len(h.Lengths) != len(h.Messages) {
		return admin.ImportBatch{}, fmt.Errorf("%d lengths for %d messages", len(h.Lengths), len(h.Messages))
	}
	for i, n := range h.Lengths {
		if n < 0 || n > len(body) {
			return admin.ImportBatch{}, fmt.Errorf("message %d of %d bytes, with %d bytes left", i+1, n, len(body))
		}
		if h.Messages[i].Data != nil {
			return admin.ImportBatch{}, fmt.Errorf("message %d has its bytes in the arguments", i+1)
		}
		h.Messages[i].Data, body = body[:n:n], body[n:]
	}
	if len(body) > 0 {
		return admin.ImportBatch{}, fmt.Errorf("%d bytes after the last message", len(body))
	}
	return h.ImportBatch, nil
}
