#!/usr/bin/python3
"""A tiny Telnet login, server and client, for the sensor's analyzer tests
(python3 stdlib only; Debian's telnetd needs inetd and a PAM login).

    telnetd.py serve --addr 10.77.0.2 --port 23 --user U --password P
    telnetd.py login --addr 10.77.0.2 --port 23 --user U --password P

serve: per connection, Telnet option negotiation (RFC 854/857/858: the
server offers WILL ECHO and WILL SUPPRESS-GO-AHEAD), then the prompts a
Unix login prints, "<host> login: " and "Password: ", a shell prompt "$ "
when the credentials match ("Login incorrect" otherwise), and it closes
on "exit".
login: the client side: answers the options (DO), types the user name,
the password and "exit" each after its prompt, and exits 0 once the
server closed after a successful login.
"""
import argparse
import socket
import socketserver
import sys

IAC, DONT, DO, WONT, WILL = 255, 254, 253, 252, 251
ECHO, SGA = 1, 3


def strip_iac(data):
    """The text of `data` without Telnet commands, and the commands."""
    out, cmds, i = bytearray(), [], 0
    while i < len(data):
        b = data[i]
        if b == IAC and i + 1 < len(data):
            c = data[i + 1]
            if c == IAC:
                out.append(IAC)
                i += 2
            elif c in (DO, DONT, WILL, WONT) and i + 2 < len(data):
                cmds.append((c, data[i + 2]))
                i += 3
            else:
                i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out), cmds


class Session(socketserver.BaseRequestHandler):
    def readline(self):
        buf = b""
        while b"\r" not in buf and b"\n" not in buf:
            d = self.request.recv(512)
            if not d:
                return None
            text, _ = strip_iac(d)
            buf += text
        return buf.split(b"\r")[0].split(b"\n")[0].replace(b"\0", b"").decode("utf-8", "replace")

    def handle(self):
        o = self.server.opts
        s = self.request
        s.sendall(bytes([IAC, WILL, ECHO, IAC, WILL, SGA]))
        for _ in range(3):
            s.sendall(b"\r\nward-test login: ")
            user = self.readline()
            if user is None:
                return
            s.sendall(b"Password: ")
            password = self.readline()
            if password is None:
                return
            if user == o.user and password == o.password:
                break
            s.sendall(b"\r\nLogin incorrect\r\n")
        else:
            return
        s.sendall(b"\r\nWelcome to ward-test\r\n$ ")
        while True:
            cmd = self.readline()
            if cmd is None or cmd.strip() == "exit":
                s.sendall(b"logout\r\n")
                return
            s.sendall(b"\r\n$ ")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def login(o):
    s = socket.create_connection((o.addr, o.port), timeout=10)
    seen = b""

    def until(prompt):
        nonlocal seen
        while prompt not in seen:
            d = s.recv(512)
            if not d:
                sys.exit("telnet: closed before %r (got %r)" % (prompt, seen))
            text, cmds = strip_iac(d)
            for c, opt in cmds:
                if c == WILL:
                    s.sendall(bytes([IAC, DO, opt]))
                elif c == DO:
                    s.sendall(bytes([IAC, WONT, opt]))
            seen += text
        seen = seen[seen.index(prompt) + len(prompt):]

    until(b"login: ")
    s.sendall(o.user.encode() + b"\r\n")
    until(b"Password: ")
    s.sendall(o.password.encode() + b"\r\n")
    until(b"$ ")
    s.sendall(b"exit\r\n")
    until(b"logout")
    s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["serve", "login"])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=23)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    o = ap.parse_args()
    if o.mode == "login":
        login(o)
        return
    srv = Server((o.addr, o.port), Session)
    srv.opts = o
    srv.serve_forever()


if __name__ == "__main__":
    main()
