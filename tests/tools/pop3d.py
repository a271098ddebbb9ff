#!/usr/bin/python3
"""A small POP3 server for the sensor's analyzer tests (python3 stdlib only).

    pop3d.py --addr 10.77.0.2 --port 110 --maildir DIR --user U --password P

POP3 (RFC 1939) with CAPA (RFC 2449): USER/PASS login in cleartext, then
STAT, LIST, UIDL, RETR, TOP, DELE (marks only), NOOP, RSET and QUIT.
The mailbox is the files DIR/*.eml in name order, read when the session
logs in; RETR sends one byte-stuffed, each line ended with CRLF. Every
connection has its own thread. Test fixture only.
"""
import argparse
import glob
import os
import socketserver

MAX_LINE = 4096


def crlf_lines(data):
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


class Session(socketserver.StreamRequestHandler):
    def send(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def multiline(self, first, lines):
        out = [first.encode()]
        for ln in lines:
            out.append(b"." + ln if ln.startswith(b".") else ln)
        out.append(b".")
        self.wfile.write(b"\r\n".join(out) + b"\r\n")
        self.wfile.flush()

    def msg(self, arg):
        try:
            n = int(arg)
        except ValueError:
            return None
        if 1 <= n <= len(self.box) and n not in self.deleted:
            return n
        return None

    def handle(self):
        o = self.server.opts
        user = None
        authed = False
        self.box = []
        self.deleted = set()
        self.send("+OK ward-test POP3 server ready")
        while True:
            raw = self.rfile.readline(MAX_LINE)
            if not raw:
                return
            verb, _, arg = raw.rstrip(b"\r\n").decode("utf-8", "replace").partition(" ")
            verb = verb.upper()
            if verb == "CAPA":
                self.multiline("+OK capability list follows", [b"USER", b"UIDL", b"TOP"])
            elif verb == "QUIT":
                self.send("+OK bye")
                return
            elif not authed:
                if verb == "USER":
                    user = arg
                    self.send("+OK send PASS")
                elif verb == "PASS" and user is not None:
                    if user == o.user and arg == o.password:
                        authed = True
                        for p in sorted(glob.glob(os.path.join(o.maildir, "*.eml"))):
                            with open(p, "rb") as f:
                                self.box.append(b"\r\n".join(crlf_lines(f.read())) + b"\r\n")
                        self.send("+OK logged in")
                    else:
                        user = None
                        self.send("-ERR invalid login")
                else:
                    self.send("-ERR log in first")
            elif verb == "STAT":
                live = [m for i, m in enumerate(self.box, 1) if i not in self.deleted]
                self.send("+OK %d %d" % (len(live), sum(len(m) for m in live)))
            elif verb in ("LIST", "UIDL"):
                what = (lambda i, m: len(m)) if verb == "LIST" else (lambda i, m: "ward-%d" % i)
                if arg:
                    n = self.msg(arg)
                    self.send("+OK %d %s" % (n, what(n, self.box[n - 1])) if n else "-ERR no such message")
                else:
                    self.multiline("+OK", [("%d %s" % (i, what(i, m))).encode()
                                           for i, m in enumerate(self.box, 1) if i not in self.deleted])
            elif verb in ("RETR", "TOP"):
                a = arg.split()
                n = self.msg(a[0]) if a else None
                if not n:
                    self.send("-ERR no such message")
                    continue
                lines = crlf_lines(self.box[n - 1])
                if verb == "TOP":
                    keep = int(a[1]) if len(a) > 1 and a[1].isdigit() else 0
                    head = lines.index(b"") if b"" in lines else len(lines)
                    lines = lines[:head + 1 + keep]
                self.multiline("+OK %d octets" % len(self.box[n - 1]), lines)
            elif verb == "DELE":
                n = self.msg(arg)
                if n:
                    self.deleted.add(n)
                self.send("+OK deleted" if n else "-ERR no such message")
            elif verb == "RSET":
                self.deleted.clear()
                self.send("+OK")
            elif verb == "NOOP":
                self.send("+OK")
            else:
                self.send("-ERR unknown command")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=110)
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    opts = ap.parse_args()
    srv = Server((opts.addr, opts.port), Session)
    srv.opts = opts
    srv.serve_forever()


if __name__ == "__main__":
    main()
