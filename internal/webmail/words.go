package webmail

import "net/http"

// The words of the interface, every one of them, per language. Vietnamese is the default.
var words = map[string]map[string]string{
	"vi": {
		"title":           "Hòm thư công vụ",
		"address":         "Địa chỉ thư",
		"password":        "Mật khẩu",
		"login":           "Đăng nhập",
		"logout":          "Đăng xuất",
		"login_failed":    "Đăng nhập không thành công. Kiểm tra địa chỉ và mật khẩu.",
		"login_throttled": "Quá nhiều lần đăng nhập không thành công. Hãy thử lại sau ít phút.",
		"login_busy":      "Máy chủ đang bận. Hãy thử lại sau vài giây.",
		"login_again":     "Phiên làm việc đã hết. Hãy đăng nhập lại.",
		"folders":         "Thư mục",
		"unread":          "chưa đọc",
		"from":            "Người gửi",
		"to":              "Người nhận",
		"cc":              "Đồng gửi",
		"subject":         "Tiêu đề",
		"date":            "Ngày",
		"size":            "Dung lượng",
		"sort":            "Sắp xếp",
		"newer":           "Mới hơn",
		"older":           "Cũ hơn",
		"page":            "Trang",
		"of":              "/",
		"empty_folder":    "Thư mục trống.",
		"no_subject":      "(không có tiêu đề)",
		"attachments":     "Tệp đính kèm",
		"no_text":         "Thư này không có phần văn bản thuần.",
		"images_blocked":  "Ảnh từ Internet trong thư đã bị chặn để bảo vệ bạn.",
		"show_images":     "Hiện ảnh",
		"back":            "Quay lại",
		"read_only":       "Chỉ được đọc",
		"error_internal":  "Đã có lỗi. Hãy thử lại sau.",
		"error_not_found": "Không tìm thấy.",
		"error_forbidden": "Yêu cầu bị từ chối. Hãy tải lại trang rồi thử lại.",
		"language":        "English",
		"other_lang":      "en",
		"folder_INBOX":    "Hộp thư đến",
		"folder_Sent":     "Đã gửi",
		"folder_Drafts":   "Thư nháp",
		"folder_Trash":    "Thùng rác",
		"folder_Junk":     "Thư rác",
		"folder_Archive":  "Lưu trữ",
		"shared":          "Hòm thư dùng chung",

		// Writing (compose.go).
		"compose":                   "Soạn thư",
		"reply":                     "Trả lời",
		"reply_all":                 "Trả lời tất cả",
		"forward":                   "Chuyển tiếp",
		"forward_attach":            "Chuyển tiếp dạng tệp đính kèm",
		"bcc":                       "Gửi ẩn (Bcc)",
		"compose_to_hint":           "Nhiều địa chỉ cách nhau bằng dấu phẩy",
		"compose_body":              "Nội dung",
		"compose_attach":            "Đính kèm tệp",
		"compose_keep":              "Tệp đã đính kèm (bỏ chọn để gỡ)",
		"compose_original":          "Thư gốc được đính kèm:",
		"compose_max":               "Tổng dung lượng tối đa",
		"compose_send":              "Gửi",
		"compose_save":              "Lưu nháp",
		"compose_wrote":             "Vào {date}, {from} đã viết:",
		"compose_forwarded":         "---------- Thư chuyển tiếp ----------",
		"compose_bad_address":       "Địa chỉ không đọc được:",
		"compose_from_refused":      "Bạn không được gửi thư với địa chỉ người gửi này.",
		"compose_no_recipients":     "Hãy nhập ít nhất một người nhận.",
		"compose_unknown_recipient": "Không có người nhận này:",
		"compose_recipient_full":    "Hòm thư của người nhận đã đầy:",
		"compose_recipient_refused": "Người nhận này không nhận thư của bạn:",
		"compose_too_big":           "Thư quá lớn: tối đa {max}, kể cả tệp đính kèm. Thư chưa được gửi.",
		"compose_sent_no_copy":      "Thư đã được gửi, nhưng không lưu được bản sao vào thư mục Đã gửi.",
		"compose_draft_saved":       "Đã lưu thư nháp.",
		"compose_own_quota":         "Hòm thư của bạn đã đầy: không lưu được thư nháp.",
	},
	"en": {
		"title":           "Official mail",
		"address":         "E-mail address",
		"password":        "Password",
		"login":           "Log in",
		"logout":          "Log out",
		"login_failed":    "Login failed. Check the address and the password.",
		"login_throttled": "Too many failed logins. Try again in a few minutes.",
		"login_busy":      "The server is busy. Try again in a few seconds.",
		"login_again":     "Your session has ended. Please log in again.",
		"folders":         "Folders",
		"unread":          "unread",
		"from":            "From",
		"to":              "To",
		"cc":              "Cc",
		"subject":         "Subject",
		"date":            "Date",
		"size":            "Size",
		"sort":            "Sort",
		"newer":           "Newer",
		"older":           "Older",
		"page":            "Page",
		"of":              "of",
		"empty_folder":    "This folder is empty.",
		"no_subject":      "(no subject)",
		"attachments":     "Attachments",
		"no_text":         "This message has no plain text part.",
		"images_blocked":  "Images from the Internet in this message were blocked to protect you.",
		"show_images":     "Show images",
		"back":            "Back",
		"read_only":       "Read only",
		"error_internal":  "Something went wrong. Please try again later.",
		"error_not_found": "Not found.",
		"error_forbidden": "Request refused. Reload the page and try again.",
		"language":        "Tiếng Việt",
		"other_lang":      "vi",
		"folder_INBOX":    "Inbox",
		"folder_Sent":     "Sent",
		"folder_Drafts":   "Drafts",
		"folder_Trash":    "Trash",
		"folder_Junk":     "Junk",
		"folder_Archive":  "Archive",
		"shared":          "Shared mailboxes",

		// Writing (compose.go).
		"compose":                   "New message",
		"reply":                     "Reply",
		"reply_all":                 "Reply all",
		"forward":                   "Forward",
		"forward_attach":            "Forward as attachment",
		"bcc":                       "Bcc",
		"compose_to_hint":           "Separate several addresses with commas",
		"compose_body":              "Message",
		"compose_attach":            "Attach files",
		"compose_keep":              "Attached files (untick to remove)",
		"compose_original":          "Original message attached:",
		"compose_max":               "Total size at most",
		"compose_send":              "Send",
		"compose_save":              "Save draft",
		"compose_wrote":             "On {date}, {from} wrote:",
		"compose_forwarded":         "---------- Forwarded message ----------",
		"compose_bad_address":       "Address not understood:",
		"compose_from_refused":      "You may not send with this sender address.",
		"compose_no_recipients":     "Enter at least one recipient.",
		"compose_unknown_recipient": "No such recipient:",
		"compose_recipient_full":    "The recipient's mailbox is full:",
		"compose_recipient_refused": "This recipient does not accept your mail:",
		"compose_too_big":           "The message is too large: at most {max}, attachments included. It was not sent.",
		"compose_sent_no_copy":      "The message was sent, but its copy could not be kept in Sent.",
		"compose_draft_saved":       "Draft saved.",
		"compose_own_quota":         "Your mailbox is full: the draft could not be saved.",
	},
}

const langCookie = "__Host-mail-lang"

// language is the reader's choice from the language cookie, Vietnamese unless English was chosen.
func language(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && c.Value == "en" {
		return "en"
	}
	return "vi"
}

// setLanguage records the chosen language in a cookie and goes back to the folder list (or the login form).
// A GET: a language preference changes nothing of the mailbox, and a link needs no script.
func (h *Handler) setLanguage(w http.ResponseWriter, r *http.Request) {
	lang := "vi"
	if r.URL.Query().Get("l") == "en" {
		lang = "en"
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: 365 * 24 * 3600})
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}
