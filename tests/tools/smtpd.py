#!/usr/bin/python3
"""A small SMTP server for the sensor's analyzer tests (python3 stdlib only).

    smtpd.py --addr 10.77.0.2 --port 25 --spool DIR [--cert C --key K]
             [--user U --password P]

ESMTP (RFC 5321) with PIPELINING, 8BITMIME, SIZE, STARTTLS (RFC 3207)
when given a certificate, and AUTH PLAIN (RFC 4616) and AUTH LOGIN
(draft-murchison-sasl-login) in cleartext (RFC 4954), with or without an
initial response. A message accepted by DATA is written, dot-unstuffed,
to DIR/<n>.eml. With --user, AUTH checks the credentials (535 if wrong);
without, any are accepted. Each connection is served by its own thread
until QUIT or EOF. Test fixture only: no relaying, no queue.
"""
import argparse
import base64
import binascii
import os
import socketserver
import ssl
import threading

MAX_LINE = 65536
counter_lock = threading.Lock()
counter = [0]


class Session(socketserver.StreamRequestHandler):
    def setup(self):
        super().setup()
        self.tls = False

    def send(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def line(self):
        raw = self.rfile.readline(MAX_LINE)
        if not raw:
            return None
        return raw.rstrip(b"\r\n").decode("utf-8", "replace")

    def auth_ok(self, user, password):
        o = self.server.opts
        return o.user is None or (user == o.user and password == o.password)

    def b64(self, s):
        try:
            return base64.b64decode(s, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None

    def auth(self, args):
        mech = args[0].upper() if args else ""
        ir = args[1] if len(args) > 1 else None
        if mech == "PLAIN":
            if ir is None:
                self.send("334 ")
                ir = self.line()
            dec = self.b64(ir or "")
            if dec is None or dec.count("\0") != 2:
                return self.send("501 5.5.2 cannot decode the AUTH PLAIN response")
            _, user, password = dec.split("\0")
        elif mech == "LOGIN":
            if ir is None:
                self.send("334 VXNlcm5hbWU6")          # "Username:"
                ir = self.line()
            user = self.b64(ir or "")
            self.send("334 UGFzc3dvcmQ6")              # "Password:"
            password = self.b64(self.line() or "")
            if user is None or password is None:
                return self.send("501 5.5.2 cannot decode the AUTH LOGIN response")
        else:
            return self.send("504 5.5.4 unrecognized authentication type")
        if self.auth_ok(user, password):
            self.send("235 2.7.0 Authentication successful")
        else:
            self.send("535 5.7.8 Authentication credentials invalid")

    def data(self):
        self.send("354 End data with <CR><LF>.<CR><LF>")
        body = []
        while True:
            raw = self.rfile.readline(MAX_LINE)
            if not raw:
                return
            if raw in (b".\r\n", b".\n"):
                break
            if raw.startswith(b"."):
                raw = raw[1:]
            body.append(raw)
        with counter_lock:
            counter[0] += 1
            n = counter[0]
        path = os.path.join(self.server.opts.spool, "%d.eml" % n)
        with open(path + ".tmp", "wb") as f:
            f.write(b"".join(body))
        os.rename(path + ".tmp", path)
        self.send("250 2.0.0 Ok: queued as %d" % n)

    def starttls(self):
        self.send("220 2.0.0 Ready to start TLS")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server.opts.cert, self.server.opts.key)
        self.wfile.flush()
        self.connection = ctx.wrap_socket(self.request, server_side=True)
        self.request = self.connection
        self.rfile = self.connection.makefile("rb")
        self.wfile = self.connection.makefile("wb")
        self.tls = True

    def handle(self):
        o = self.server.opts
        self.send("220 mail.ward.test ESMTP ward-test")
        while True:
            ln = self.line()
            if ln is None:
                return
            verb, _, rest = ln.partition(" ")
            verb = verb.upper()
            args = rest.split()
            if verb == "EHLO":
                ext = ["mail.ward.test", "PIPELINING", "8BITMIME", "SIZE 10485760"]
                if o.cert and not self.tls:
                    ext.append("STARTTLS")
                ext.append("AUTH PLAIN LOGIN")
                for e in ext[:-1]:
                    self.wfile.write(("250-%s\r\n" % e).encode())
                self.send("250 " + ext[-1])
            elif verb == "HELO":
                self.send("250 mail.ward.test")
            elif verb == "STARTTLS" and o.cert and not self.tls:
                self.starttls()
            elif verb == "AUTH":
                self.auth(args)
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.send("250 2.1.0 Ok")
            elif verb == "DATA":
                self.data()
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 Error: command not recognized")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=25)
    ap.add_argument("--spool", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--user")
    ap.add_argument("--password")
    opts = ap.parse_args()
    os.makedirs(opts.spool, exist_ok=True)
    srv = Server((opts.addr, opts.port), Session)
    srv.opts = opts
    srv.serve_forever()


if __name__ == "__main__":
    main()
