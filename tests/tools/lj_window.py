#!/usr/bin/env python3
"""lj_window: sends a Lumberjack v2 window and reports every ACK with its time.

    lj_window.py PORT [--host H] [--count N] [--first-seq S] [--prefix P]
                 [--pad BYTES] [--compress] [--windows K] [--timeout SECONDS]

Writes a window frame '2W' (N), then N JSON frames '2J' (seq, len, payload),
sequence numbers S .. S+N-1 (S is 1 by default, as Beats numbers each window),
either plain or all wrapped in one zlib-compressed frame '2C' (--compress).
With --windows K, K such windows are written back to back on the connection
without waiting for ACKs (Beats' `pipelining`), each numbered S .. S+N-1
again, as go-lumber does. Event i (1-based, counting on across the windows)
is {"message": "P-i", "n": i, "pad": "x" * BYTES}.

The window is written by a second thread, so ACK frames ('2A' + 4-byte
big-endian seq) are read and stamped as they arrive even while the relay
holds back reading and the write is blocked. Output, one line each, times in
seconds since the connection was made (monotonic clock):

    sent T          the whole window was handed to the kernel
    ack SEQ T       an ACK frame (SEQ 0 is a keep-alive)
    final T         the ACK of the last sequence number of the K-th window

A window is acknowledged by an ACK of its last sequence number, the windows
in the order they were sent. Exits 0 after the final ACK; 1 when the connection closes, an ACK is
malformed or names a sequence number outside the window, or nothing arrives
for --timeout seconds (default 30).
"""
import argparse
import json
import socket
import struct
import sys
import threading
import time
import zlib


def frames(count, first, prefix, pad, base):
    out = []
    for i in range(1, count + 1):
        n = base + i
        body = json.dumps({"message": f"{prefix}-{n}", "n": n, "pad": "x" * pad}).encode()
        out.append(b"2J" + struct.pack(">II", first + i - 1, len(body)) + body)
    return b"".join(out)


def window(count, first, prefix, pad, base, compress):
    data = frames(count, first, prefix, pad, base)
    if compress:
        z = zlib.compress(data, 3)
        data = b"2C" + struct.pack(">I", len(z)) + z
    return b"2W" + struct.pack(">I", count) + data


def main():
    ap = argparse.ArgumentParser(description="one Lumberjack v2 window, ACKs with times")
    ap.add_argument("port", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--first-seq", type=int, default=1)
    ap.add_argument("--prefix", default="lj")
    ap.add_argument("--pad", type=int, default=0)
    ap.add_argument("--compress", action="store_true")
    ap.add_argument("--windows", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()
    if a.count < 1 or a.first_seq < 1 or a.first_seq + a.count - 1 > 0xFFFFFFFF:
        ap.error("count and first-seq must give sequence numbers 1 .. 2^32-1")
    if a.windows < 1:
        ap.error("--windows must be at least 1")

    data = b"".join(window(a.count, a.first_seq, a.prefix, a.pad, w * a.count, a.compress)
                    for w in range(a.windows))
    last = a.first_seq + a.count - 1
    acked = 0                   # windows acknowledged

    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    t0 = time.monotonic()

    def stamp():
        return f"{time.monotonic() - t0:.3f}"

    def out(line):
        # One write per line: the sender thread prints too.
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    send_error = []

    def sender():
        try:
            s.sendall(data)
            out(f"sent {stamp()}")
        except OSError as e:
            send_error.append(e)

    th = threading.Thread(target=sender, daemon=True)
    th.start()

    buf = b""
    while True:
        try:
            d = s.recv(4096)
        except socket.timeout:
            print(f"lj_window: nothing for {a.timeout:g} s", file=sys.stderr)
            return 1
        except OSError as e:
            print(f"lj_window: {e}", file=sys.stderr)
            return 1
        if not d:
            why = f" (sending: {send_error[0]})" if send_error else ""
            print(f"lj_window: connection closed before the final ACK{why}", file=sys.stderr)
            return 1
        buf += d
        while len(buf) >= 6:
            if buf[:2] != b"2A":
                print(f"lj_window: not an ACK frame: {buf[:6]!r}", file=sys.stderr)
                return 1
            seq = struct.unpack(">I", buf[2:6])[0]
            buf = buf[6:]
            out(f"ack {seq} {stamp()}")
            if seq != 0 and not a.first_seq <= seq <= last:
                print(f"lj_window: ACK {seq} outside the window {a.first_seq}..{last}",
                      file=sys.stderr)
                return 1
            if seq == last:
                acked += 1
                if acked == a.windows:
                    out(f"final {stamp()}")
                    s.close()
                    return 0


if __name__ == "__main__":
    sys.exit(main())
