package dsn

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"mailserver/internal/message"
)

// category groups the recipients that get the same explanation and advice in the text part.
type category int

const (
	catAddress     category = iota // x.1.x: no such mailbox or domain, bad address
	catMailboxFull                 // x.2.2
	catTooLarge                    // x.3.4, x.2.3
	catRefused                     // x.7.x: spam, policy, security
	catExpired                     // failed after retrying on temporary errors
	catFailed                      // any other failure
	catDelayed
	catDone // delivered, relayed, expanded
	numCategories
)

// classify picks rc's category. A failure with a temporary (4.x.x) status is one the queue gave up on after
// retrying; only a full mailbox says more than "could not get through".
func classify(rc Recipient) category {
	switch rc.Action {
	case Delayed:
		return catDelayed
	case Delivered, Relayed, Expanded:
		return catDone
	}
	class, subj, detail := statusParts(statusCode(rc))
	switch {
	case subj == "2" && detail == "2":
		return catMailboxFull
	case class == "4":
		return catExpired
	case subj == "1":
		return catAddress
	case subj == "3" && detail == "4", subj == "2" && detail == "3":
		return catTooLarge
	case subj == "7":
		return catRefused
	}
	return catFailed
}

// lang is the wording in one language, for staff who are not technical: what happened first, then what to do.
type lang struct {
	notice                              string // %s: this server
	allFailed, allDelayed, allDone      string
	mixed                               string
	yourMessage, subject, sent          string
	noSubject                           string
	replied, repliedNoHost, unreachable string // %s: remote host, reply
	code                                string // %s: status code
	todo                                string
	help, helpID                        string // %s: queue id
	titles                              [numCategories]string
	advice                              [numCategories]string
	date                                func(time.Time) string
	duration                            func(time.Duration) string // " for N days" to fill the expired title
	until                               func(time.Time) string     // " until T" to fill the delayed advice
}

var vietnamese = lang{
	notice:        "Đây là thông báo tự động của hệ thống thư điện tử %s. Xin đừng trả lời thư này.",
	allFailed:     "Thư của Anh/Chị KHÔNG gửi được đến người nhận dưới đây.",
	allDelayed:    "Thư của Anh/Chị chưa đến được người nhận dưới đây. Hệ thống vẫn đang tự động thử gửi lại.",
	allDone:       "Thư của Anh/Chị đã được chuyển đi thành công.",
	mixed:         "Thư của Anh/Chị chưa đến được một số người nhận. Xem chi tiết bên dưới.",
	yourMessage:   "Thư đã gửi:",
	subject:       "  Tiêu đề: ",
	sent:          "  Gửi lúc: ",
	noSubject:     "(không có tiêu đề)",
	replied:       "    Máy chủ bên nhận (%s) trả lời: %s",
	repliedNoHost: "    Máy chủ bên nhận trả lời: %s",
	unreachable:   "    Không kết nối được tới máy chủ thư bên nhận.",
	code:          " (mã lỗi %s)",
	todo:          "Việc cần làm: ",
	help:          "Nếu cần hỗ trợ, hãy chuyển tiếp thư này cho bộ phận công nghệ thông tin (CNTT) của cơ quan.",
	helpID:        "Nếu cần hỗ trợ, hãy chuyển tiếp thư này cho bộ phận công nghệ thông tin (CNTT) của cơ quan và báo mã thư: %s.",
	titles: [numCategories]string{
		catAddress:     "KHÔNG GỬI ĐƯỢC – địa chỉ người nhận không tồn tại hoặc bị viết sai:",
		catMailboxFull: "KHÔNG GỬI ĐƯỢC – hộp thư của người nhận đã đầy:",
		catTooLarge:    "KHÔNG GỬI ĐƯỢC – thư có dung lượng quá lớn so với giới hạn của máy chủ bên nhận:",
		catRefused:     "KHÔNG GỬI ĐƯỢC – máy chủ bên nhận từ chối thư (thư bị coi là thư rác hoặc vi phạm quy định an toàn thông tin của bên nhận):",
		catExpired:     "KHÔNG GỬI ĐƯỢC – hệ thống đã thử gửi lại nhiều lần%s nhưng không chuyển được thư tới máy chủ thư của cơ quan nhận:",
		catFailed:      "KHÔNG GỬI ĐƯỢC:",
		catDelayed:     "CHƯA GỬI ĐƯỢC – hệ thống vẫn đang thử gửi lại:",
		catDone:        "ĐÃ GỬI ĐƯỢC:",
	},
	advice: [numCategories]string{
		catAddress:     "Hãy kiểm tra lại địa chỉ xem có gõ nhầm chữ nào không (nhất là phần sau dấu @), sửa lại rồi gửi lại thư. Nếu không chắc chắn, hãy gọi điện hỏi người nhận địa chỉ chính xác.",
		catMailboxFull: "Hãy báo cho người nhận (ví dụ gọi điện thoại) để họ xóa bớt thư cũ, sau đó gửi lại thư.",
		catTooLarge:    "Hãy gửi lại với tệp đính kèm nhỏ hơn (nén tệp hoặc chia thành nhiều thư), hoặc tải tệp lên nơi lưu trữ chung của cơ quan rồi gửi đường liên kết thay cho tệp đính kèm.",
		catRefused:     "Lỗi này thường không phải do Anh/Chị. Hãy gọi điện thoại cho người nhận để thống nhất cách gửi khác, và chuyển tiếp thư này cho bộ phận CNTT của cơ quan để họ làm việc với bên nhận.",
		catExpired:     "Máy chủ thư của cơ quan nhận có thể đang gặp sự cố. Hãy chuyển tiếp thư này cho bộ phận CNTT của cơ quan. Nếu việc gấp, hãy liên hệ với người nhận bằng cách khác (điện thoại, văn bản giấy).",
		catFailed:      "Hãy kiểm tra lại địa chỉ người nhận (nhất là phần sau dấu @). Nếu địa chỉ đúng, hãy chuyển tiếp thư này cho bộ phận CNTT của cơ quan.",
		catDelayed:     "Anh/Chị không cần làm gì và không cần gửi lại thư. Hệ thống sẽ tự động thử gửi lại%s; nếu vẫn không được, Anh/Chị sẽ nhận được một thông báo khác.",
	},
	date: viDate,
	duration: func(d time.Duration) string {
		if days := int(d.Hours()/24 + 0.5); days >= 1 {
			return fmt.Sprintf(" trong %d ngày", days)
		}
		return fmt.Sprintf(" trong %d giờ", max(int(d.Hours()+0.5), 1))
	},
	until: func(t time.Time) string { return " đến " + viDate(t) },
}

var english = lang{
	notice:        "This is an automatic notice from the mail system at %s. Please do not reply to it.",
	allFailed:     "Your message could NOT be delivered to the recipients below.",
	allDelayed:    "Your message has not reached the recipients below yet. The system is still trying to deliver it.",
	allDone:       "Your message has been delivered.",
	mixed:         "Your message has not reached some of its recipients. See the details below.",
	yourMessage:   "Your message:",
	subject:       "  Subject: ",
	sent:          "  Sent:    ",
	noSubject:     "(no subject)",
	replied:       "    The receiving server (%s) replied: %s",
	repliedNoHost: "    The receiving server replied: %s",
	unreachable:   "    The receiving mail server could not be reached.",
	code:          " (error code %s)",
	todo:          "What to do: ",
	help:          "If you need help, forward this message to your IT department.",
	helpID:        "If you need help, forward this message to your IT department and give them the message ID %s.",
	titles: [numCategories]string{
		catAddress:     "NOT DELIVERED – the address does not exist or is mistyped:",
		catMailboxFull: "NOT DELIVERED – the recipient's mailbox is full:",
		catTooLarge:    "NOT DELIVERED – the message is too large for the receiving server:",
		catRefused:     "NOT DELIVERED – the receiving server refused the message (as spam or against its security rules):",
		catExpired:     "NOT DELIVERED – the system kept trying%s but could not pass the message to the receiving agency's mail server:",
		catFailed:      "NOT DELIVERED:",
		catDelayed:     "NOT DELIVERED YET – the system is still trying:",
		catDone:        "DELIVERED:",
	},
	advice: [numCategories]string{
		catAddress:     "Check the address for typing mistakes (especially the part after @), correct it and send the message again. If unsure, phone the recipient and ask for the exact address.",
		catMailboxFull: "Let the recipient know (by phone, for example) so they can delete old messages, then send the message again.",
		catTooLarge:    "Send it again with smaller attachments (compressed, or split over several messages), or upload the file to your agency's shared storage and send a link instead.",
		catRefused:     "This is usually not your fault. Phone the recipient to agree on another way to send it, and forward this message to your IT department so they can take it up with the other side.",
		catExpired:     "The receiving agency's mail server may be out of order. Forward this message to your IT department. If the matter is urgent, contact the recipient another way (by phone or on paper).",
		catFailed:      "Check the recipient address (especially the part after @). If it is correct, forward this message to your IT department.",
		catDelayed:     "You do not need to do anything, and there is no need to send the message again. The system will keep trying%s; if it still fails, you will get another notice.",
	},
	date: enDate,
	duration: func(d time.Duration) string {
		if days := int(d.Hours()/24 + 0.5); days >= 1 {
			return fmt.Sprintf(" for %d %s", days, plural(days, "day", "days"))
		}
		hours := max(int(d.Hours()+0.5), 1)
		return fmt.Sprintf(" for %d %s", hours, plural(hours, "hour", "hours"))
	},
	until: func(t time.Time) string { return " until " + enDate(t) },
}

func viDate(t time.Time) string {
	return t.Format("15:04") + " ngày " + t.Format("02/01/2006") + zone(t)
}

func enDate(t time.Time) string { return t.Format("15:04, 2 Jan 2006") + zone(t) }

func zone(t time.Time) string { return " (GMT" + t.Format("-07:00") + ")" }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// humanText returns the text part: Vietnamese first, then English, with "\n" line ends. Values from outside are
// cleaned to one line each and NFC, so they cannot fake lines of the notice.
func humanText(r Report, orig *message.Parsed) string {
	var groups [numCategories][]Recipient
	for _, rc := range r.Recipients {
		c := classify(rc)
		groups[c] = append(groups[c], rc)
	}
	var b strings.Builder
	writeText(&b, &vietnamese, r, orig, &groups)
	b.WriteString("\n" + strings.Repeat("-", 70) + "\n\n")
	writeText(&b, &english, r, orig, &groups)
	return b.String()
}

func writeText(b *strings.Builder, l *lang, r Report, orig *message.Parsed, groups *[numCategories][]Recipient) {
	local := func(t time.Time) string { return l.date(t.In(r.Now.Location())) }
	line := func(s string) { b.WriteString(s + "\n") }

	line(outcome(l, groups))
	line("")
	line(l.yourMessage)
	subj := humanValue(orig.Envelope.Subject, 300)
	if subj == "" {
		subj = l.noSubject
	}
	line(l.subject + subj)
	sent := orig.Date
	if sent.IsZero() {
		sent = r.ArrivalDate
	}
	if !sent.IsZero() {
		line(l.sent + local(sent))
	}
	line("")

	for c, rcs := range groups {
		if len(rcs) == 0 {
			continue
		}
		cat := category(c)
		title, advice := l.titles[cat], l.advice[cat]
		switch cat {
		case catExpired:
			d := ""
			if !r.ArrivalDate.IsZero() && r.Now.After(r.ArrivalDate) {
				d = l.duration(r.Now.Sub(r.ArrivalDate))
			}
			title = fmt.Sprintf(title, d)
		case catDelayed:
			u := ""
			if last := latestRetry(rcs); !last.IsZero() {
				u = l.until(last.In(r.Now.Location()))
			}
			advice = fmt.Sprintf(advice, u)
		}
		line(title)
		for _, rc := range rcs {
			addr := "  - " + humanValue(rc.Address, maxAddress)
			if cat != catDone {
				addr += fmt.Sprintf(l.code, statusCode(rc))
			}
			line(addr)
			host, diag := asciiText(rc.RemoteMTA, maxHost), humanValue(rc.Diagnostic, maxDiagnostic)
			switch {
			case diag != "" && host != "":
				line(fmt.Sprintf(l.replied, host, diag))
			case diag != "":
				line(fmt.Sprintf(l.repliedNoHost, diag))
			case host == "" && cat != catDone:
				line(l.unreachable)
			}
		}
		if advice != "" {
			line(l.todo + advice)
		}
		line("")
	}

	if id := asciiText(r.QueueID, maxQueueID); id != "" {
		line(fmt.Sprintf(l.helpID, id))
	} else {
		line(l.help)
	}
	line(fmt.Sprintf(l.notice, r.ReportingMTA))
}

// outcome is the sentence that sums up the report.
func outcome(l *lang, groups *[numCategories][]Recipient) string {
	failed, delayed, done := 0, len(groups[catDelayed]), len(groups[catDone])
	for c := range catDelayed {
		failed += len(groups[c])
	}
	switch {
	case delayed == 0 && done == 0:
		return l.allFailed
	case failed == 0 && done == 0:
		return l.allDelayed
	case failed == 0 && delayed == 0:
		return l.allDone
	}
	return l.mixed
}

func latestRetry(rcs []Recipient) time.Time {
	var last time.Time
	for _, rc := range rcs {
		if rc.WillRetryUntil.After(last) {
			last = rc.WillRetryUntil
		}
	}
	return last
}

// humanValue is a value from outside as shown to people: one clean line in NFC, like the rest of the text.
func humanValue(s string, limit int) string {
	return norm.NFC.String(cleanText(s, limit))
}
