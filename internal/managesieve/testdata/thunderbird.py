"""A ManageSieve session as Thunderbird's sieve add-on runs it, written against RFC 5804 alone (socket + ssl).

Environment: MS_ADDR (host:port), MS_CA (the server's certificate), MS_USER, MS_PASSWORD, MS_SCRIPT (a file).
Exits 0 after the whole session went as expected; otherwise prints what went wrong and exits 1.
"""
import base64
import os
import re
import socket
import ssl
import sys


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, data):
        self.sock.sendall(data)

    def response(self):
        """Reads up to OK/NO/BYE; returns (data lines with literals inlined, final line)."""
        lines = []
        while True:
            line = self.line()
            m = re.search(rb"\{(\d+)\}$", line)
            while m:
                literal = self.exactly(int(m.group(1)))
                line = line[: m.start()] + b'"' + literal + b'"' + self.line()
                m = re.search(rb"\{(\d+)\}$", line)
            if re.match(rb"^(OK|NO|BYE)\b", line):
                return lines, line.decode("utf-8")
            lines.append(line.decode("utf-8"))


def expect_ok(what, final):
    if not final.startswith("OK"):
        sys.exit("%s: %s" % (what, final))


def command(conn, what, data):
    conn.send(data)
    lines, final = conn.response()
    expect_ok(what, final)
    return lines


def main():
    host, port = os.environ["MS_ADDR"].rsplit(":", 1)
    user, password = os.environ["MS_USER"], os.environ["MS_PASSWORD"]
    with open(os.environ["MS_SCRIPT"], "rb") as f:
        script = f.read()
    name = "Lọc thư đến"

    conn = Conn(socket.create_connection((host, int(port)), timeout=20))
    caps, final = conn.response()  # the greeting is the capability list
    expect_ok("greeting", final)
    if '"STARTTLS"' not in caps:
        sys.exit("no STARTTLS in %r" % caps)

    command(conn, "CAPABILITY", b"CAPABILITY\r\n")
    command(conn, "STARTTLS", b"STARTTLS\r\n")
    ctx = ssl.create_default_context(cafile=os.environ["MS_CA"])
    conn.sock = ctx.wrap_socket(conn.sock, server_hostname="localhost")
    caps, final = conn.response()  # RFC 5804 2.2: the capabilities again after TLS
    expect_ok("capabilities after STARTTLS", final)
    sasl = [c for c in caps if c.startswith('"SASL"')]
    if not sasl or "PLAIN" not in sasl[0]:
        sys.exit("no PLAIN after STARTTLS: %r" % caps)

    token = base64.b64encode(("\0%s\0%s" % (user, password)).encode("utf-8")).decode("ascii")
    command(conn, "AUTHENTICATE", ('AUTHENTICATE "PLAIN" "%s"\r\n' % token).encode("ascii"))
    command(conn, "CAPABILITY after login", b"CAPABILITY\r\n")
    quoted = ('"%s"' % name).encode("utf-8")
    command(conn, "HAVESPACE", b"HAVESPACE " + quoted + b" %d\r\n" % len(script))
    command(conn, "CHECKSCRIPT", b"CHECKSCRIPT {%d+}\r\n" % len(script) + script + b"\r\n")
    command(conn, "PUTSCRIPT", b"PUTSCRIPT " + quoted + b" {%d+}\r\n" % len(script) + script + b"\r\n")
    command(conn, "SETACTIVE", b"SETACTIVE " + quoted + b"\r\n")
    listed = command(conn, "LISTSCRIPTS", b"LISTSCRIPTS\r\n")
    if listed != ['"%s" ACTIVE' % name]:
        sys.exit("LISTSCRIPTS: %r" % listed)
    got = command(conn, "GETSCRIPT", b"GETSCRIPT " + quoted + b"\r\n")
    if got != ['"%s"' % script.decode("utf-8")]:
        sys.exit("GETSCRIPT: %r" % got)
    command(conn, "LOGOUT", b"LOGOUT\r\n")
    print("session ok")


if __name__ == "__main__":
    main()
