"""Interoperability check with Python's standard smtplib and imaplib, independent of the Go libraries.

Sends a Vietnamese message through submissions (465, implicit TLS, AUTH PLAIN) and submission (587, STARTTLS,
AUTH LOGIN), then reads both back over IMAPS, searches without diacritics and checks bytes. Prints one line per
step; exits non-zero with the reason on the first failure.
"""
import email.utils
import imaplib
import os
import smtplib
import ssl
import sys
from email.header import Header

env = os.environ
host = "127.0.0.1"
ctx = ssl.create_default_context(cafile=env["MS_CA"])
user, password, rcpt = env["MS_USER"], env["MS_PASSWORD"], env["MS_RCPT"]


def message(tag):
    subject = Header("Báo cáo tuần " + tag, "utf-8").encode()
    return (
        f"From: {user}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
        f"Date: {email.utils.formatdate(localtime=True)}\r\nMessage-ID: <{tag}@example.gov.vn>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"Kính gửi Phòng Nội vụ, đây là báo cáo {tag}.\r\n"
    ).encode("utf-8")


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


sent = {}
with smtplib.SMTP_SSL(host, int(env["MS_SUBMISSIONS"]), context=ctx) as s:
    s.login(user, password)
    sent["implicit"] = message("implicit")
    refused = s.sendmail(user, [rcpt], sent["implicit"])
    if refused:
        fail(f"465 refused {refused}")
print("OK smtplib 465 AUTH PLAIN")

with smtplib.SMTP(host, int(env["MS_SUBMISSION"])) as s:
    s.starttls(context=ctx)
    s.ehlo()
    s.user, s.password = user, password
    code, resp = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    if code != 235:
        fail(f"AUTH LOGIN {code} {resp}")
    sent["starttls"] = message("starttls")
    s.sendmail(user, [rcpt], sent["starttls"])
print("OK smtplib 587 STARTTLS AUTH LOGIN")

try:
    with smtplib.SMTP(host, int(env["MS_SUBMISSION"])) as s:
        s.starttls(context=ctx)
        s.login(user, "wrong-password-123")
    fail("wrong password accepted")
except smtplib.SMTPAuthenticationError as e:
    if e.smtp_code != 535:
        fail(f"wrong password gave {e.smtp_code}")
print("OK smtplib wrong password 535")

imap = imaplib.IMAP4_SSL(host, int(env["MS_IMAPS"]), ssl_context=ctx)
imap.login(rcpt, password)
typ, data = imap.select("INBOX")
if typ != "OK":
    fail(f"select {data}")
typ, data = imap.search(None, "SUBJECT", '"bao cao tuan"')
found = data[0].split()
if len(found) != 2:
    fail(f"SEARCH SUBJECT without diacritics found {found}")
print("OK imaplib SEARCH finds 'Báo cáo' from 'bao cao'")
for num, tag in zip(found, ["implicit", "starttls"]):
    typ, data = imap.fetch(num, "(BODY.PEEK[])")
    raw = data[0][1]
    if not raw.endswith(sent[tag]):
        fail(f"message {tag} differs after fetch")
typ, data = imap.fetch(found[0], "(FLAGS)")
if b"\\Seen" in data[0]:
    fail("BODY.PEEK set \\Seen")
typ, data = imap.store(found[0], "+FLAGS", "(\\Flagged)")
if typ != "OK" or b"\\Flagged" not in data[0]:
    fail(f"STORE {typ} {data}")
typ, data = imap.list()
names = b" ".join(data)
for want in [b"Drafts", b"Sent", b"Trash", b"\\Sent"]:
    if want not in names:
        fail(f"LIST lacks {want}: {names}")
imap.logout()
print("OK imaplib FETCH bytes, STORE, LIST")
