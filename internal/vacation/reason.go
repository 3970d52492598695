package vacation

import (
	"strings"
	"time"
)

// DefaultReason is the text used when an administrator sets a vacation with no message: Vietnamese first, then
// English, naming the dates given (zero times are left out).
func DefaultReason(from, until time.Time) string {
	var vi, en string
	switch {
	case !from.IsZero() && !until.IsZero():
		vi = "Tôi đang nghỉ phép từ " + viDate(from) + " đến " + viDate(until) + "."
		en = "I am away from " + enDate(from) + " until " + enDate(until) + "."
	case !until.IsZero():
		vi = "Tôi đang nghỉ phép đến " + viDate(until) + "."
		en = "I am away until " + enDate(until) + "."
	case !from.IsZero():
		vi = "Tôi đang nghỉ phép từ " + viDate(from) + "."
		en = "I am away from " + enDate(from) + "."
	default:
		vi = "Tôi đang nghỉ phép."
		en = "I am away."
	}
	var b strings.Builder
	b.WriteString(vi + " Thư của bạn đã được nhận; tôi sẽ đọc và trả lời khi trở lại.\n")
	b.WriteString("Đây là thư trả lời tự động.\n\n")
	b.WriteString(en + " Your message has been received; I will read it and reply when I return.\n")
	b.WriteString("This is an automatic reply.\n")
	return b.String()
}

// viDate writes a day as Vietnamese readers do: 02/01/2006.
func viDate(t time.Time) string { return t.Format("02/01/2006") }

// enDate writes a day unambiguously for English readers, who may read 02/01 either way: 2 January 2006.
func enDate(t time.Time) string { return t.Format("2 January 2006") }
