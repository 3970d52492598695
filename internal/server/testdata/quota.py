"""QUOTA (RFC 9208) seen by Python's standard imaplib, independent of the Go libraries.

Logs in over IMAPS as MS_USER, whose quota is MS_QUOTA_KIB KiB, reads GETQUOTAROOT INBOX and GETQUOTA "", then
appends a message larger than the room left and expects NO [OVERQUOTA]. Prints one line per step; exits non-zero
with the reason on the first failure.
"""
import imaplib
import os
import re
import ssl
import sys

env = os.environ
ctx = ssl.create_default_context(cafile=env["MS_CA"])
limit = int(env["MS_QUOTA_KIB"])


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


def storage(quota_line):
    m = re.fullmatch(rb'"" \(STORAGE (\d+) (\d+)\)', quota_line)
    if not m:
        fail(f"QUOTA response {quota_line!r}")
    return int(m.group(1)), int(m.group(2))


imap = imaplib.IMAP4_SSL("127.0.0.1", int(env["MS_IMAPS"]), ssl_context=ctx)
imap.login(env["MS_USER"], env["MS_PASSWORD"])
typ, caps = imap.capability()
if b"QUOTA" not in caps[0].split() or b"QUOTA=RES-STORAGE" not in caps[0].split():
    fail(f"capabilities {caps}")

typ, data = imap.getquotaroot("INBOX")
if typ != "OK" or len(data) != 2:
    fail(f"GETQUOTAROOT {typ} {data}")
roots, quotas = data
if roots != [b'INBOX ""']:
    fail(f"QUOTAROOT {roots}")
used, got = storage(quotas[0])
if got != limit or used < 1:
    fail(f"GETQUOTAROOT STORAGE {used} {got}, want some use of {limit}")
print(f"OK imaplib GETQUOTAROOT INBOX: root \"\" STORAGE {used} of {got} KiB")

typ, data = imap.getquota('""')
if typ != "OK" or storage(data[0]) != (used, got):
    fail(f"GETQUOTA {typ} {data}")
print("OK imaplib GETQUOTA")

body = b"Subject: qua han muc\r\n\r\n" + b"x" * ((limit - used + 1) * 1024) + b"\r\n"
try:
    typ, data = imap.append("INBOX", None, None, body)
except imap.error as e:
    typ, data = "NO", [str(e).encode()]
if typ != "NO" or b"[OVERQUOTA]" not in data[0]:
    fail(f"APPEND over the quota: {typ} {data}")
imap.logout()
print("OK imaplib APPEND over the quota: NO [OVERQUOTA]")
