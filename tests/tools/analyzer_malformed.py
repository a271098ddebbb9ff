#!/usr/bin/python3
"""Malformed traffic for ward-sensor's protocol analyzers, made with scapy.

    analyzer_malformed.py write DIR    one DIR/<case>.pcap per case and
                                       DIR/expect.json
    analyzer_malformed.py check DIR    reads DIR/<case>.ndjson (records)
                                       and DIR/<case>.stats (the --stats
                                       JSON, stderr) of each case

Used by tests/integration/sensor_malformed.sh, which runs ward-sensor -r
--json --stats on each capture in between. Each case is one or a few
complete flows (handshake, payload both ways, FIN both ways) whose
payload is broken in one way:
  DNS (UDP 53)    a compression loop, a pointer past the message, a label
                  longer than 63 (label type 01) in an answer, an answer
                  cut short;
                  over TCP a length prefix past the end of the flow
  HTTP (TCP 80)   a 20 KB URI, a 10 KB header line, a bad chunk size,
                  garbage instead of a status line
  TLS (TCP 443)   a ClientHello cut short, a record longer than TLS
                  allows (after a valid ClientHello), an extension length past the ClientHello's
                  end, a Certificate whose DER is random bytes
  SMTP (TCP 25)   a 20 KB command line, AUTH PLAIN and AUTH LOGIN with
                  bad base64, DATA without its end
  POP3 (110), FTP (21)   binary garbage after a valid start
  TCP (80)        overlapping segments with different content (first
                  wins), over delivered bytes and over held ones (the
                  latter counted as weird rexmit_inconsistency), segments
                  out of order, a content gap (a segment never sent, the
                  ACK past it)
check asserts per case: every flow of the capture has a conn record;
the cases marked so count at least one weird ("weird":{name:n} in the
stats); the reassembly counters the TCP cases must raise; the records a
case must still give (e.g. the http record of the first-wins request);
and per protocol, that its cases counted weirds at all. Prints each
case's weirds. Exit 1 on a failed assertion.
"""
import base64
import json
import os
import struct
import sys

from scapy.all import IP, TCP, UDP, Ether, Raw, wrpcap  # noqa: E402

CLI, SRV = "10.1.0.1", "10.2.0.1"
T0 = 1700000000.0


class Flow:
    """A TCP flow between CLI:cport and SRV:sport, built segment by segment."""

    def __init__(self, sport, cport):
        self.sport, self.cport = sport, cport
        self.seq = {"c": 1000, "s": 50000}
        self.pkts = []

    def seg(self, side, flags, data=b"", seq=None, ack=None):
        other = "s" if side == "c" else "c"
        ip = IP(src=CLI, dst=SRV) if side == "c" else IP(src=SRV, dst=CLI)
        sp, dp = (self.cport, self.sport) if side == "c" else (self.sport, self.cport)
        s = self.seq[side] if seq is None else seq
        a = self.seq[other] if ack is None else ack
        p = Ether() / ip / TCP(sport=sp, dport=dp, flags=flags, seq=s, ack=a if "A" in flags else 0,
                                window=65535)
        if data:
            p = p / Raw(data)
        self.pkts.append(p)
        if seq is None:
            self.seq[side] += len(data) + (1 if ("S" in flags or "F" in flags) else 0)
        return p

    def open(self):
        self.seg("c", "S")
        self.seg("s", "SA")
        self.seg("c", "A")
        return self

    def send(self, side, data, mss=1400):
        """data from side in MSS-sized segments, each ACKed by the other."""
        for i in range(0, len(data), mss):
            self.seg(side, "PA", data[i:i + mss])
            self.seg("s" if side == "c" else "c", "A")
        return self

    def close(self):
        self.seg("c", "FA")
        self.seg("s", "FA")
        self.seg("c", "A")
        return self


def udp(sport, cport, query, answer):
    q = Ether() / IP(src=CLI, dst=SRV) / UDP(sport=cport, dport=sport) / Raw(query)
    r = Ether() / IP(src=SRV, dst=CLI) / UDP(sport=sport, dport=cport) / Raw(answer)
    return [q, r]


# ---- DNS -----------------------------------------------------------------

def qname(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"


def dns_query(tid, name="www.ward.test", qtype=1):
    return struct.pack(">HHHHHH", tid, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack(">HH", qtype, 1)


def dns_response(tid, question, answers, ancount=None):
    n = ancount if ancount is not None else len(answers)
    return struct.pack(">HHHHHH", tid, 0x8180, 1, n, 0, 0) + question + b"".join(answers)


def rr(name, rtype, rdata, ttl=60):
    return name + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def dns_cases():
    q = qname("www.ward.test") + struct.pack(">HH", 1, 1)
    a_off = 12 + len(q)                      # where the answer's name starts
    cases = {}
    # The answer's name is a pointer to itself.
    loop = dns_response(0x1001, q, [rr(struct.pack(">H", 0xC000 | a_off), 1, bytes([10, 2, 0, 1]))])
    cases["dns_compression_loop"] = udp(53, 40001, dns_query(0x1001), loop)
    # Two pointers to each other: a label, then a pointer back to it.
    two = dns_response(0x1002, q, [rr(b"\x01a" + struct.pack(">H", 0xC000 | a_off), 1, bytes([10, 2, 0, 1]))])
    cases["dns_compression_loop2"] = udp(53, 40002, dns_query(0x1002), two)
    # A pointer past the end of the message.
    oob = dns_response(0x1003, q, [rr(struct.pack(">H", 0xC000 | 0x3FF0), 1, bytes([10, 2, 0, 1]))])
    cases["dns_pointer_out_of_range"] = udp(53, 40003, dns_query(0x1003), oob)
    # A label length byte of 0x50 (types 01 and 10 are not lengths: over
    # 63) in the answer's name; the query is valid, so DNS is detected.
    bad = dns_response(0x1004, q, [rr(b"\x50" + b"x" * 80 + b"\0", 1, bytes([10, 2, 0, 1]))])
    cases["dns_label_gt_63"] = udp(53, 40004, dns_query(0x1004), bad)
    # ANCOUNT 2, the second answer's RDATA cut short.
    cut = dns_response(0x1005, q, [rr(b"\xc0\x0c", 1, bytes([10, 2, 0, 1])),
                                   (b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + b"\x0a\x02")])
    cases["dns_truncated_answer"] = udp(53, 40005, dns_query(0x1005), cut)
    # DNS over TCP: the length prefix says 400, 40 bytes follow, then FIN.
    f = Flow(53, 40006).open()
    qq = dns_query(0x1006)
    f.send("c", struct.pack(">H", len(qq)) + qq)
    f.send("s", struct.pack(">H", 400) + dns_response(0x1006, q, [])[:40])
    cases["dns_tcp_length_past_end"] = f.close().pkts
    return cases


# ---- HTTP ----------------------------------------------------------------

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


def http_flow(cport, req, resp=OK, sport=80):
    return Flow(sport, cport).open().send("c", req).send("s", resp).close().pkts


def http_cases():
    return {
        "http_overlong_uri": http_flow(41001, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        "http_header_over_8k": http_flow(41002, b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"b" * 10000 +
                                         b"\r\n\r\n"),
        "http_bad_chunk_size": http_flow(41003, b"GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n",
                                         b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                         b"zz\r\nhello\r\n0\r\n\r\n"),
        "http_garbage_reply": http_flow(41004, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                                        bytes(range(256)) * 4),
        "http_garbage_after_request": http_flow(41005, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" +
                                                b"\x00\x01\x02\xfe\xff" * 200, OK),
    }


# ---- TLS -----------------------------------------------------------------

def tls_record(ctype, body, version=0x0303, length=None):
    return struct.pack(">BHH", ctype, version, len(body) if length is None else length) + body


def handshake(htype, body, length=None):
    n = len(body) if length is None else length
    return struct.pack(">B", htype) + n.to_bytes(3, "big") + body


def ext(etype, data):
    return struct.pack(">HH", etype, len(data)) + data


def client_hello(extensions=None, ext_len=None):
    sni = b"bad.ward.test"
    if extensions is None:
        extensions = ext(0, struct.pack(">HBH", len(sni) + 3, 0, len(sni)) + sni) + \
            ext(10, struct.pack(">HHH", 4, 0x001d, 0x0017)) + ext(11, b"\x01\x00")
    body = struct.pack(">H", 0x0303) + os.urandom(32) + b"\x00" + struct.pack(">HHH", 4, 0xc02f, 0x009c) + \
        b"\x01\x00" + struct.pack(">H", len(extensions) if ext_len is None else ext_len) + extensions
    return handshake(1, body)


def server_hello():
    body = struct.pack(">H", 0x0303) + os.urandom(32) + b"\x00" + struct.pack(">H", 0xc02f) + b"\x00" + \
        struct.pack(">H", 0)
    return handshake(2, body)


def tls_flow(cport, c, s):
    return Flow(443, cport).open().send("c", c).send("s", s).close().pkts


def tls_cases():
    alert = tls_record(21, b"\x02\x28")
    ch = client_hello()
    cases = {
        # The record and handshake headers promise 512 bytes; 60 come.
        "tls_truncated_client_hello": tls_flow(42001, tls_record(22, ch, length=512)[:65], alert),
        # After a valid ClientHello record, one of 65535 bytes: TLS allows
        # 2^14 + 2048 at most.
        "tls_record_len_too_long": tls_flow(42002, tls_record(22, ch) + tls_record(22, b"", length=0xFFFF) +
                                            os.urandom(3000), alert),
        # The extensions' length runs 200 bytes past the ClientHello.
        "tls_extension_length_overflow": tls_flow(42003, tls_record(22, client_hello(
            ext_len=len(ext(0, b"")) + 200, extensions=ext(0, b""))), alert),
        # An SNI extension whose inner name length passes the extension's.
        "tls_sni_length_overflow": tls_flow(42004, tls_record(22, client_hello(
            extensions=ext(0, struct.pack(">HBH", 40, 0, 300) + b"short.example"))), alert),
    }
    # A full TLS 1.2 start with a Certificate of random bytes for DER.
    bogus = os.urandom(300)
    certs = handshake(11, (len(bogus) + 3).to_bytes(3, "big") + len(bogus).to_bytes(3, "big") + bogus)
    cases["tls_bogus_certificate_der"] = tls_flow(
        42005, tls_record(22, ch), tls_record(22, server_hello() + certs + handshake(14, b"")))
    # A DER that starts right (SEQUENCE) but whose length runs past it.
    der = b"\x30\x82\x04\x00\x30\x82\x03\xf0" + os.urandom(100)
    certs = handshake(11, (len(der) + 3).to_bytes(3, "big") + len(der).to_bytes(3, "big") + der)
    cases["tls_certificate_der_length_past_end"] = tls_flow(
        42006, tls_record(22, ch), tls_record(22, server_hello() + certs + handshake(14, b"")))
    return cases


# ---- SMTP, POP3, FTP -----------------------------------------------------

def dialog(sport, cport, turns):
    """turns: (side, bytes) in order; the server speaks first if it is first."""
    f = Flow(sport, cport).open()
    for side, data in turns:
        f.send(side, data)
    return f.close().pkts


def mail_cases():
    ehlo = [("s", b"220 mail.ward.test ESMTP\r\n"), ("c", b"EHLO client.ward.test\r\n"),
            ("s", b"250-mail.ward.test\r\n250 AUTH PLAIN LOGIN\r\n")]
    return {
        "smtp_overlong_line": dialog(25, 43001, ehlo + [
            ("c", b"MAIL FROM:<" + b"a" * 20000 + b"@ward.test>\r\n"), ("s", b"500 5.5.2 line too long\r\n"),
            ("c", b"QUIT\r\n"), ("s", b"221 bye\r\n")]),
        "smtp_auth_plain_bad_base64": dialog(25, 43002, ehlo + [
            ("c", b"AUTH PLAIN !!!not*base64###\r\n"), ("s", b"501 5.5.2 cannot decode\r\n"),
            ("c", b"QUIT\r\n"), ("s", b"221 bye\r\n")]),
        "smtp_auth_login_bad_base64": dialog(25, 43003, ehlo + [
            ("c", b"AUTH LOGIN\r\n"), ("s", b"334 VXNlcm5hbWU6\r\n"), ("c", b"@@@%%%\r\n"),
            ("s", b"334 UGFzc3dvcmQ6\r\n"), ("c", b"c2VjcmV0\r\n"), ("s", b"501 5.5.2 cannot decode\r\n")]),
        "smtp_data_without_end": dialog(25, 43004, ehlo + [
            ("c", b"MAIL FROM:<a@ward.test>\r\n"), ("s", b"250 ok\r\n"), ("c", b"RCPT TO:<b@ward.test>\r\n"),
            ("s", b"250 ok\r\n"), ("c", b"DATA\r\n"), ("s", b"354 go on\r\n"),
            ("c", b"Subject: never ends\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\n"
                  b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(os.urandom(3000)) + b"\r\n")]),
        "pop3_garbage": dialog(110, 44001, [
            ("s", b"+OK POP3 ready\r\n"), ("c", b"USER bob\r\n"), ("s", b"+OK\r\n"),
            ("c", bytes(range(256)) * 2), ("s", b"-ERR what\r\n"), ("c", b"RETR 1\r\n"),
            ("s", b"+OK 999 octets\r\n" + b"\xff\x00garbage without the end\r\n" * 20)]),
        "ftp_garbage": dialog(21, 45001, [
            ("s", b"220 FTP ready\r\n"), ("c", b"USER bob\r\n"), ("s", b"331 password please\r\n"),
            ("c", bytes(range(256)) * 2), ("s", b"xyz not a reply code\r\n\x00\xff\r\n"),
            ("c", b"PASV\r\n"), ("s", b"227 Entering Passive Mode (1,2,3)\r\n")]),
    }


# ---- TCP reassembly ------------------------------------------------------

def tcp_cases():
    cases = {}
    # Overlap with conflicting content: the first copy of bytes 0-19 says
    # /first, a second copy of the same sequence numbers says /OTHER.
    f = Flow(80, 46001).open()
    first = b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
    other = b"GET /OTHER HTTP/1.1\r\nHost: x\r\n\r\n"
    s0 = f.seq["c"]
    f.seg("c", "PA", first[:20], seq=s0)
    f.seg("c", "PA", other[:20], seq=s0)          # a conflicting retransmission
    f.seg("c", "PA", other[10:], seq=s0 + 10)     # overlaps 10-19, then the rest
    f.seq["c"] = s0 + len(first)
    f.seg("s", "A")
    f.send("s", OK)
    cases["tcp_overlap_conflict"] = f.close().pkts
    # The same while the first copy is still held (out of order, so its
    # bytes can be compared): the URI's bytes come twice, differently,
    # before the hole in front of them fills.
    f = Flow(80, 46004).open()
    first = b"GET /held-first HTTP/1.1\r\nHost: x\r\n\r\n"
    other = b"GET /held-other HTTP/1.1\r\nHost: x\r\n\r\n"
    s0 = f.seq["c"]
    f.seg("c", "PA", first[4:], seq=s0 + 4)
    f.seg("c", "PA", other[4:], seq=s0 + 4)
    f.seg("c", "PA", first[:4], seq=s0)
    f.seq["c"] = s0 + len(first)
    f.seg("s", "A")
    f.send("s", OK)
    cases["tcp_overlap_conflict_held"] = f.close().pkts
    # Out of order: the request in 3 segments, sent 3, 1, 2.
    f = Flow(80, 46002).open()
    req = b"GET /reordered HTTP/1.1\r\nHost: x\r\nUser-Agent: ward-malformed\r\n\r\n"
    s0, parts = f.seq["c"], [(0, 20), (20, 40), (40, len(req))]
    for a, b in (parts[2], parts[0], parts[1]):
        f.seg("c", "PA", req[a:b], seq=s0 + a)
    f.seq["c"] = s0 + len(req)
    f.seg("s", "A")
    f.send("s", OK)
    cases["tcp_out_of_order"] = f.close().pkts
    # A gap: the response body's second segment never sent, the client's
    # ACK covers it.
    f = Flow(80, 46003).open()
    f.send("c", b"GET /gap.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    body = os.urandom(3000)
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 3000\r\nContent-Type: application/octet-stream\r\n\r\n" + body
    s0 = f.seq["s"]
    f.seg("s", "PA", resp[:1000], seq=s0)
    f.seg("s", "PA", resp[2000:], seq=s0 + 2000)          # 1000-1999 missing
    f.seq["s"] = s0 + len(resp)
    f.seg("c", "A")
    f.send("c", b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
    f.send("s", OK)
    cases["tcp_gap"] = f.close().pkts
    return cases


# What each case must give. weird: the case must count a weird itself
# (for the others the protocol's cases together must). stats: counters of
# the --stats JSON that must be above 0. records: records it must still
# give (a subset of fields).
EXPECT = {
    "dns_compression_loop": {"proto": "dns", "weird": True},
    "dns_compression_loop2": {"proto": "dns", "weird": True},
    "dns_pointer_out_of_range": {"proto": "dns", "weird": True},
    "dns_label_gt_63": {"proto": "dns", "weird": True},
    "dns_truncated_answer": {"proto": "dns", "weird": True},
    "dns_tcp_length_past_end": {"proto": "dns"},
    "http_overlong_uri": {"proto": "http", "weird": True},
    "http_header_over_8k": {"proto": "http", "weird": True},
    "http_bad_chunk_size": {"proto": "http", "weird": True},
    "http_garbage_reply": {"proto": "http", "weird": True},
    "http_garbage_after_request": {"proto": "http", "weird": True},
    "tls_truncated_client_hello": {"proto": "ssl"},
    "tls_record_len_too_long": {"proto": "ssl", "weird": True},
    "tls_extension_length_overflow": {"proto": "ssl", "weird": True},
    "tls_sni_length_overflow": {"proto": "ssl", "weird": True},
    "tls_bogus_certificate_der": {"proto": "ssl", "weird": True},
    "tls_certificate_der_length_past_end": {"proto": "ssl", "weird": True},
    "smtp_overlong_line": {"proto": "smtp", "weird": True},
    "smtp_auth_plain_bad_base64": {"proto": "smtp", "weird": True},
    "smtp_auth_login_bad_base64": {"proto": "smtp", "weird": True},
    "smtp_data_without_end": {"proto": "smtp"},
    "pop3_garbage": {"proto": "pop3"},
    "ftp_garbage": {"proto": "ftp"},
    "tcp_overlap_conflict": {"proto": "tcp", "stats": ["analyzers.reasm.overlap_bytes"],
                             "records": [{"type": "http", "uri": "/first"}],
                             "no_records": [{"type": "http", "uri": "/OTHER"}]},
    "tcp_overlap_conflict_held": {"proto": "tcp", "weird": True,
                                  "stats": ["analyzers.reasm.overlap_bytes", "analyzers.reasm.ooo_segments"],
                                  "records": [{"type": "http", "uri": "/held-first"}],
                                  "no_records": [{"type": "http", "uri": "/held-other"}]},
    "tcp_out_of_order": {"proto": "tcp", "stats": ["analyzers.reasm.ooo_segments"],
                         "records": [{"type": "http", "uri": "/reordered", "user_agent": "ward-malformed"}]},
    "tcp_gap": {"proto": "tcp", "stats": ["analyzers.reasm.gap_bytes"],
                "records": [{"type": "http", "uri": "/gap.bin"}]},
}


def all_cases():
    c = {}
    for f in (dns_cases, http_cases, tls_cases, mail_cases, tcp_cases):
        c.update(f())
    return c


def write(d):
    os.makedirs(d, exist_ok=True)
    cases = all_cases()
    assert set(cases) == set(EXPECT), set(cases) ^ set(EXPECT)
    expect = {}
    for name, pkts in cases.items():
        for i, p in enumerate(pkts):
            p.time = T0 + i * 0.001
        wrpcap(os.path.join(d, name + ".pcap"), pkts)
        flows = set()
        for p in pkts:
            l4 = p[TCP] if TCP in p else p[UDP]
            a, b = (p[IP].src, l4.sport), (p[IP].dst, l4.dport)
            flows.add(("tcp" if TCP in p else "udp",) + tuple(sorted([a, b])))
        expect[name] = dict(EXPECT[name], flows=sorted(list(f) for f in flows))
    json.dump(expect, open(os.path.join(d, "expect.json"), "w"), indent=1)


def stat(stats, path):
    v = stats
    for k in path.split("."):
        v = v.get(k, {}) if isinstance(v, dict) else {}
    return v if isinstance(v, int) else 0


def check(d):
    expect = json.load(open(os.path.join(d, "expect.json")))
    bad = []
    per_proto = {}
    for name, e in sorted(expect.items()):
        recs = [json.loads(l) for l in open(os.path.join(d, name + ".ndjson")) if l.strip()]
        lines = [l for l in open(os.path.join(d, name + ".stats")) if l.startswith("{")]
        stats = json.loads(lines[-1]) if lines else {}
        weird = stats.get("weird", {})
        nw = sum(weird.values())
        per_proto[e["proto"]] = per_proto.get(e["proto"], 0) + nw
        det = {k: v for k, v in stats.get("analyzers", {}).get("detected", {}).items() if v}
        print("%-38s weird %s; detected %s; records %s" % (name, weird or "{}", det or "{}",
              sorted({r.get("type") for r in recs})))
        if not stats:
            bad.append("%s: no --stats JSON on stderr" % name)
        conns = [r for r in recs if r.get("type") == "conn"]
        for proto, a, b in e["flows"]:
            ends = sorted([tuple(a), tuple(b)])
            if not any(r.get("proto") == proto and sorted([(r["id.orig_h"], r["id.orig_p"]),
                       (r["id.resp_h"], r["id.resp_p"])]) == ends for r in conns):
                bad.append("%s: no conn record for the %s flow %s" % (name, proto, ends))
        if e.get("weird") and nw == 0:
            bad.append("%s: no weird counted (%s analyzer%s)" % (name, e["proto"], "" if det.get(e["proto"]) else
                       "; the flow was not even detected as %s, so no analyzer saw it" % e["proto"]))
        for s in e.get("stats", []):
            if stat(stats, s) <= 0:
                bad.append("%s: %s is %r, want > 0" % (name, s, stat(stats, s)))
        for want in e.get("records", []):
            if not any(all(r.get(k) == v for k, v in want.items()) for r in recs):
                bad.append("%s: no record with %s; records: %s" % (name, want,
                           [json.dumps(r)[:200] for r in recs if r.get("type") != "conn"]))
        for nope in e.get("no_records", []):
            for r in recs:
                if all(r.get(k) == v for k, v in nope.items()):
                    bad.append("%s: a record with %s (must not be): %s" % (name, nope, json.dumps(r)[:300]))
    for proto, n in sorted(per_proto.items()):
        print("weirds of the %s cases: %d" % (proto, n))
        if proto != "tcp" and n == 0:
            bad.append("the %s cases counted no weird at all" % proto)
    for b in bad:
        print("MISMATCH: " + b)
    return 1 if bad else 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.exit(__doc__)
    if sys.argv[1] == "write":
        write(sys.argv[2])
        return 0
    return check(sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
