"""QRESYNC resynchronisation (RFC 7162) with Python's standard imaplib, independent of the Go libraries.

A client caches INBOX (UIDVALIDITY, HIGHESTMODSEQ, every UID's flags) and logs out; another session changes flags
and expunges; the client comes back with SELECT INBOX (QRESYNC ...), applies the VANISHED (EARLIER) and FETCH
responses to its cache, and the cache must then equal the mailbox as a full FETCH reads it. imaplib has no
QRESYNC support, so the extension's commands go through _simple_command. Prints one line per step; exits non-zero
with the reason on the first failure.
"""
import imaplib
import os
import re
import ssl
import sys

env = os.environ
ctx = ssl.create_default_context(cafile=env["MS_CA"])
user, password = env["MS_USER"], env["MS_PASSWORD"]


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


def connect():
    imap = imaplib.IMAP4_SSL("127.0.0.1", int(env["MS_IMAPS"]), ssl_context=ctx)
    imap.login(user, password)
    return imap


def enable_qresync(imap):
    # imaplib.enable checks the capabilities read before login, which do not list ENABLE yet
    check(*imap._simple_command("ENABLE", "QRESYNC"), "ENABLE QRESYNC")
    if b"QRESYNC" not in b" ".join(imap.untagged_responses.pop("ENABLED", [b""])):
        fail("QRESYNC not enabled")


def check(typ, dat, what):
    if typ != "OK":
        fail(f"{what}: {typ} {dat}")
    return dat


fetch_line = re.compile(rb"\d+ \(.*?UID (\d+) .*?FLAGS \(([^)]*)\)")


def flags_by_uid(lines):
    out = {}
    for line in lines:
        if isinstance(line, tuple):
            line = line[0]
        m = fetch_line.match(line)
        if m:
            # \Recent belongs to one session (RFC 3501 2.3.2): a client never caches it
            out[int(m.group(1))] = sorted(f for f in m.group(2).split() if f != b"\\Recent")
    return out


def uids_of(text):
    out = set()
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


imap = connect()
for n in range(1, 6):
    body = f"From: {user}\r\nSubject: Công văn số {n}\r\n\r\nNội dung {n}.\r\n".encode("utf-8")
    check(*imap.append("INBOX", None, None, body), "APPEND")
enable_qresync(imap)
check(*imap.select("INBOX"), "SELECT")
uidvalidity = int(imap.response("UIDVALIDITY")[1][0])
modseq = int(imap.response("HIGHESTMODSEQ")[1][0])
cache = flags_by_uid(check(*imap.uid("FETCH", "1:*", "(FLAGS)"), "UID FETCH"))
imap.logout()
if sorted(cache) != [1, 2, 3, 4, 5]:
    fail(f"cached UIDs {sorted(cache)}")
print(f"OK cached UIDVALIDITY {uidvalidity} HIGHESTMODSEQ {modseq}")

other = connect()
check(*other.select("INBOX"), "SELECT (other)")
check(*other.uid("STORE", "2", "+FLAGS", r"(\Seen)"), "STORE")
check(*other.uid("STORE", "5", "+FLAGS", r"(\Flagged $Label1)"), "STORE")
check(*other.uid("STORE", "3:4", "+FLAGS", r"(\Deleted)"), "STORE")
check(*other.expunge(), "EXPUNGE")
other.logout()
print("OK another session changed flags of 2 and 5 and expunged 3 and 4")

imap = connect()
enable_qresync(imap)
typ, dat = imap._simple_command("SELECT", "INBOX", f"(QRESYNC ({uidvalidity} {modseq} 1:5))")
check(typ, dat, "SELECT (QRESYNC)")
imap.state = "SELECTED"  # imaplib's select() would have set it
vanished = imap.untagged_responses.pop("VANISHED", [])
changed = imap.untagged_responses.pop("FETCH", [])
if len(vanished) != 1 or not vanished[0].startswith(b"(EARLIER) "):
    fail(f"VANISHED responses {vanished}")
gone = uids_of(vanished[0][len(b"(EARLIER) "):].decode())
if gone != {3, 4}:
    fail(f"VANISHED (EARLIER) {gone}, want 3 and 4")
updates = flags_by_uid(changed)
if sorted(updates) != [2, 5]:
    fail(f"FETCH responses for {sorted(updates)}, want 2 and 5 only: {changed}")
print(f"OK resync: VANISHED (EARLIER) {sorted(gone)}, FETCH of {sorted(updates)}")

for uid in gone:
    cache.pop(uid, None)
cache.update(updates)
truth = flags_by_uid(check(*imap.uid("FETCH", "1:*", "(FLAGS)"), "UID FETCH"))
if cache != truth:
    fail(f"cache after resync {cache}, mailbox {truth}")
imap.logout()
print("OK cache equals the mailbox after resync")
