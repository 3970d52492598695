"""SORT and THREAD with Python's standard imaplib, independent of the Go libraries.

Appends four messages over IMAPS, then checks imaplib's sort() (SUBJECT with Vietnamese subjects, REVERSE DATE,
UID SORT) and thread() (REFERENCES and ORDEREDSUBJECT). Prints one line per step; exits non-zero with the reason on
the first failure.
"""
import imaplib
import os
import ssl
import sys

env = os.environ
ctx = ssl.create_default_context(cafile=env["MS_CA"])
user, password = env["MS_USER"], env["MS_PASSWORD"]

# (Message-ID, References, Subject, day of March 2026)
MESSAGES = [
    ("<a@x>", "", "Kế hoạch năm", 1),
    ("<b@x>", "<a@x>", "Re: Kế hoạch năm", 3),
    ("<c@x>", "", "Đề nghị", 2),
    ("<d@x>", "", "Dự thảo", 4),
]


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


def raw(msg_id, refs, subject, day):
    refs = f"References: {refs}\r\n" if refs else ""
    return (
        f"From: {user}\r\nTo: {user}\r\nSubject: {subject}\r\nMessage-ID: {msg_id}\r\n{refs}"
        f"Date: Mon, {day} Mar 2026 08:00:00 +0700\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nx\r\n"
    ).encode("utf-8")


def expect(what, typ, data, want):
    if typ != "OK" or data != [want]:
        fail(f"{what}: {typ} {data!r}, want {want!r}")
    print("OK", what)


with imaplib.IMAP4_SSL("127.0.0.1", int(env["MS_IMAPS"]), ssl_context=ctx) as c:
    c.login(user, password)
    typ, caps = c.capability()
    for cap in (b"SORT", b"THREAD=REFERENCES", b"THREAD=ORDEREDSUBJECT"):
        if cap not in caps[0].split():
            fail(f"CAPABILITY lacks {cap!r}: {caps!r}")
    c.create("Interop")
    for m in MESSAGES:
        typ, data = c.append("Interop", None, None, raw(*m))
        if typ != "OK":
            fail(f"APPEND {typ} {data!r}")
    c.select("Interop")
    # Base subjects: ke hoach nam (1, 2), de nghi (3), du thao (4).
    expect("sort SUBJECT", *c.sort("(SUBJECT)", "UTF-8", "ALL"), b"3 4 1 2")
    expect("sort REVERSE DATE", *c.sort("(REVERSE DATE)", "UTF-8", "ALL"), b"4 2 3 1")
    expect("uid sort SUBJECT", *c.uid("SORT", "(SUBJECT)", "UTF-8", "UID", "2:4"), b"3 4 2")
    expect("thread REFERENCES", *c.thread("REFERENCES", "UTF-8", "ALL"), b"(1 2)(3)(4)")
    expect("thread ORDEREDSUBJECT", *c.thread("ORDEREDSUBJECT", "UTF-8", "ALL"), b"(1 2)(3)(4)")
