#!/usr/bin/python3
"""A small FTP server for the sensor's analyzer tests (python3 stdlib only).

    ftpd.py --addr 10.77.0.2 --port 21 --root DIR --user U --password P

FTP (RFC 959) with USER/PASS in cleartext, SYST, FEAT, PWD, CWD (to "/"
only), TYPE, PASV, EPSV (RFC 2428), SIZE and MDTM (RFC 3659), RETR and
LIST of the regular files in DIR (no subdirectories), NOOP and QUIT. The
data connection is passive only: a listener on an ephemeral port of
--addr, accepted once. Each control connection has its own thread. Test
fixture only: no upload.
"""
import argparse
import os
import socket
import socketserver
import time

MAX_LINE = 4096


class Session(socketserver.StreamRequestHandler):
    def send(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def path(self, name):
        name = name.lstrip("/")
        if not name or "/" in name or name in (".", ".."):
            return None
        p = os.path.join(self.server.opts.root, name)
        return p if os.path.isfile(p) else None

    def passive(self):
        if self.pasv is not None:
            self.pasv.close()
        self.pasv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.pasv.bind((self.server.opts.addr, 0))
        self.pasv.listen(1)
        self.pasv.settimeout(20)
        return self.pasv.getsockname()[1]

    def transfer(self, data):
        if self.pasv is None:
            return self.send("425 use PASV or EPSV first")
        self.send("150 opening BINARY mode data connection (%d bytes)" % len(data))
        try:
            conn, _ = self.pasv.accept()
        except OSError:
            self.send("425 no data connection")
        else:
            with conn:
                conn.sendall(data)
            self.send("226 transfer complete")
        self.pasv.close()
        self.pasv = None

    def handle(self):
        o = self.server.opts
        self.pasv = None
        user = None
        authed = False
        self.send("220 ward-test FTP server ready")
        try:
            self.loop(o, user, authed)
        finally:
            if self.pasv is not None:
                self.pasv.close()

    def loop(self, o, user, authed):
        while True:
            raw = self.rfile.readline(MAX_LINE)
            if not raw:
                return
            verb, _, arg = raw.rstrip(b"\r\n").decode("utf-8", "replace").partition(" ")
            verb = verb.upper()
            if verb == "QUIT":
                self.send("221 goodbye")
                return
            if verb == "USER":
                user, authed = arg, False
                self.send("331 password required for %s" % arg)
            elif verb == "PASS":
                if user == o.user and arg == o.password:
                    authed = True
                    self.send("230 user logged in")
                else:
                    self.send("530 login incorrect")
            elif verb == "FEAT":
                self.wfile.write(b"211-Features:\r\n EPSV\r\n PASV\r\n SIZE\r\n MDTM\r\n")
                self.send("211 End")
            elif verb == "SYST":
                self.send("215 UNIX Type: L8")
            elif verb == "NOOP":
                self.send("200 ok")
            elif not authed:
                self.send("530 please log in with USER and PASS")
            elif verb == "PWD":
                self.send('257 "/" is the current directory')
            elif verb == "CWD":
                self.send("250 ok" if arg in ("/", "") else "550 no such directory")
            elif verb == "TYPE":
                self.send("200 type set to %s" % arg)
            elif verb == "EPSV":
                self.send("229 Entering Extended Passive Mode (|||%d|)" % self.passive())
            elif verb == "PASV":
                port = self.passive()
                h = o.addr.replace(".", ",")
                self.send("227 Entering Passive Mode (%s,%d,%d)" % (h, port >> 8, port & 255))
            elif verb in ("SIZE", "MDTM"):
                p = self.path(arg)
                if p is None:
                    self.send("550 no such file")
                elif verb == "SIZE":
                    self.send("213 %d" % os.path.getsize(p))
                else:
                    self.send("213 " + time.strftime("%Y%m%d%H%M%S", time.gmtime(os.path.getmtime(p))))
            elif verb == "RETR":
                p = self.path(arg)
                if p is None:
                    self.send("550 no such file")
                    continue
                with open(p, "rb") as f:
                    self.transfer(f.read())
            elif verb in ("LIST", "NLST"):
                names = sorted(n for n in os.listdir(o.root) if os.path.isfile(os.path.join(o.root, n)))
                if verb == "LIST":
                    lines = ["-rw-r--r-- 1 ftp ftp %d Jan 01 00:00 %s" % (
                        os.path.getsize(os.path.join(o.root, n)), n) for n in names]
                else:
                    lines = names
                self.transfer("".join(ln + "\r\n" for ln in lines).encode())
            else:
                self.send("502 command not implemented")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=21)
    ap.add_argument("--root", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    opts = ap.parse_args()
    srv = Server((opts.addr, opts.port), Session)
    srv.opts = opts
    srv.serve_forever()


if __name__ == "__main__":
    main()
