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

		// Message actions and search (actions.go, search.go).
		"search":            "Tìm",
		"search_label":      "Tìm trong thư mục",
		"search_results":    "Kết quả tìm",
		"found":             "thư tìm thấy",
		"no_results":        "Không tìm thấy thư nào.",
		"select_message":    "Chọn thư",
		"mark_read":         "Đánh dấu đã đọc",
		"mark_unread":       "Đánh dấu chưa đọc",
		"flag":              "Gắn cờ",
		"unflag":            "Bỏ cờ",
		"move_to":           "Chuyển đến thư mục",
		"move":              "Chuyển",
		"delete":            "Xoá",
		"delete_forever":    "Xoá vĩnh viễn",
		"confirm_expunge":   "Xoá vĩnh viễn %d thư? Không thể hoàn tác.",
		"cancel":            "Huỷ",
		"no_trash":          "Không có thư mục Thùng rác để chuyển thư vào.",
		"error_bad_request": "Yêu cầu không hợp lệ.",
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

		// Message actions and search (actions.go, search.go).
		"search":            "Search",
		"search_label":      "Search in this folder",
		"search_results":    "Search results",
		"found":             "messages found",
		"no_results":        "No message found.",
		"select_message":    "Select message",
		"mark_read":         "Mark as read",
		"mark_unread":       "Mark as unread",
		"flag":              "Flag",
		"unflag":            "Unflag",
		"move_to":           "Move to folder",
		"move":              "Move",
		"delete":            "Delete",
		"delete_forever":    "Delete forever",
		"confirm_expunge":   "Delete %d messages forever? This cannot be undone.",
		"cancel":            "Cancel",
		"no_trash":          "There is no Trash folder to move the messages to.",
		"error_bad_request": "Invalid request.",
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
