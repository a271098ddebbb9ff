#!/usr/bin/python3
"""Checks ward-sensor's analyzer records on a capture of real traffic.

    analyzer_compare.py --pcap P --records R.ndjson --expect E.json
                        [--output FILE]... [--tshark tshark] CHECK

Used by tests/integration/sensor_analyzers.sh, which writes E.json from
the traffic it made. One CHECK per run; each prints what it compares
("compare: ...") and every disagreement ("MISMATCH: ..." with the record
and the expected or tshark value), and exits 1 if there was one, 2 on a
usage or tshark error, 0 otherwise. The checks:

  links     every record that is not conn has a uid of a conn record, and
            the same community_id and id.orig_h/orig_p/resp_h/resp_p
  services  conn records of the flows to each expected port name the
            expected service (Zeek's `service`, a comma list)
  dns       oracle tshark: each DNS response (dns.id, dns.qry.name,
            dns.flags.rcode) of the capture is one dns record (trans_id,
            query, rcode) of the same flow, with tshark's AA, TC, RD, RA,
            answers (A, AAAA, MX, TXT) and TTLs, and no dns record is not
            in the capture; also the expected qtype_name, rcode_name, proto
            and an answer per query
  http      oracle tshark: per TCP flow, the requests' http.request.uri
            and the responses' http.response.code, in order, equal the
            http records' uri and status_code in trans_depth order; plus
            the expected method, host and trans_depth; `username` (Basic
            auth), when written, masked
  files     a files record with each expected SHA-256, MD5 and SHA-1 (and
            size when present), on a flow to the expected port, whose fuid
            a record of that flow names (http resp_fuids, smtp or pop3
            fuids)
  ssl       oracle tshark: per TLS flow to the expected TLS ports, the
            ClientHello's SNI and JA3 (tls.handshake.ja3), the
            ServerHello's JA3S, version (supported_versions when present)
            and cipher suite equal ssl's server_name, ja3, ja3s, version,
            cipher; ALPN: next_protocol when tshark sees the server's
            choice (TLS 1.2); ja4 equals the JA4 computed here from
            tshark's ClientHello fields (tshark 4.0 has no JA4)
  x509      an x509 record with the server certificate's SHA-256
            fingerprint, subject and SAN, on each expected flow; its ssl
            record's cert_chain_fps names it
  smtp      the expected smtp records (helo, mailfrom, rcptto, subject;
            tls for the STARTTLS session)
  pop3      pop3 records (one per command) on the POP3 flow: USER, STAT,
            RETR 1 and QUIT with +OK; `user`, when written, masked
  ftp       ftp records (one per command) on the FTP flow: RETR of the
            file with reply_code 226; `user`, when written, masked
  notices   one Cleartext_Credentials notice per expected login, on the
            flow to its port, with its service and mechanism, the user
            masked ("a***e"), never the user in clear; no other notice on
            those ports (none for the AUTH inside STARTTLS)
  stats     the --stats JSON (last JSON line of --stats-file): sessions
            detected per analyzer at least the expected flows, none
            denied, no reassembly gap (nothing was lost on the veth);
            prints the weirds counted on this clean traffic
  secrets   no password of the traffic, nor its base64 forms (Basic
            "user:pass", AUTH PLAIN "\\0user\\0pass", AUTH LOGIN), in any
            --output file
"""
import argparse
import base64
import hashlib
import json
import subprocess
import sys
from collections import defaultdict

TLS_VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv10", 0x0302: "TLSv11", 0x0303: "TLSv12", 0x0304: "TLSv13"}
# IANA TLS cipher suite names (Zeek's) of the suites this traffic can pick.
CIPHERS = {0x1301: "TLS_AES_128_GCM_SHA256", 0x1302: "TLS_AES_256_GCM_SHA384",
           0x1303: "TLS_CHACHA20_POLY1305_SHA256",
           0xc02b: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xc02c: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
           0xc02f: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xc030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
           0xcca9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def hexes(s):
    return [int(x, 16) for x in s.split("|") if x]


def grease(v):
    return (v & 0x0f0f) == 0x0a0a and (v >> 8) == (v & 0xff)


def ja4(c):
    """JA4 (TLS client, FoxIO's JA4 specification) of a ClientHello from
    tshark's fields: an oracle independent of ward's code. None when the
    hello also has signature_algorithms_cert (tshark then mixes both
    lists into tls.handshake.sig_hash_alg)."""
    ciphers = [v for v in hexes(c["tls.handshake.ciphersuite"]) if not grease(v)]
    exts = [int(x) for x in c["tls.handshake.extension.type"].split("|") if x]
    exts = [v for v in exts if not grease(v)]
    if 50 in exts:
        return None
    sv = [v for v in hexes(c["tls.handshake.extensions.supported_version"]) if not grease(v)]
    ver = max(sv) if sv else int(c["tls.handshake.version"].split("|")[0], 16)
    ver = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}.get(ver, "00")
    alpn = c["tls.handshake.extensions_alpn_str"].split("|")[0]
    alpn = alpn[0] + alpn[-1] if alpn else "00"
    a = "t%s%s%02d%02d%s" % (ver, "d" if 0 in exts else "i", min(len(ciphers), 99), min(len(exts), 99), alpn)

    def h(text):
        return hashlib.sha256(text.encode()).hexdigest()[:12] if text else "000000000000"
    b = h(",".join("%04x" % v for v in sorted(ciphers)))
    e = ",".join("%04x" % v for v in sorted(v for v in exts if v not in (0, 16)))
    sig = hexes(c["tls.handshake.sig_hash_alg"])
    if sig and e:
        e += "_" + ",".join("%04x" % v for v in sig)
    return "%s_%s_%s" % (a, b, h(e))


class Check:
    def __init__(self, args):
        self.args = args
        self.records = [json.loads(l) for l in open(args.records) if l.strip()]
        self.expect = json.load(open(args.expect))
        self.conns = {r["uid"]: r for r in self.records if r.get("type") == "conn" and "uid" in r}
        self.bad = 0

    def of(self, t):
        return [r for r in self.records if r.get("type") == t]

    def mismatch(self, msg, rec=None):
        self.bad += 1
        if rec is not None:
            msg += "\n    record: " + json.dumps(rec)[:600]
        print("MISMATCH: " + msg)

    def say(self, msg):
        print("compare: " + msg)

    def tshark(self, filt, fields):
        cmd = [self.args.tshark, "-r", self.args.pcap, "-n"]
        for d in self.expect.get("decode_as", []):
            cmd += ["-d", d]
        cmd += ["-Y", filt, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
                "-E", "aggregator=|"]
        for f in fields:
            cmd += ["-e", f]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            sys.exit(2)
        rows = []
        for line in r.stdout.splitlines():
            cols = line.split("\t")
            cols += [""] * (len(fields) - len(cols))
            rows.append(dict(zip(fields, cols)))
        return rows

    def conn_of(self, rec):
        return self.conns.get(rec.get("uid"))

    def port_of(self, rec):
        c = self.conn_of(rec)
        return c.get("id.resp_p") if c else rec.get("id.resp_p")

    @staticmethod
    def flow(rec):
        return (rec.get("id.orig_h"), rec.get("id.orig_p"), rec.get("id.resp_h"), rec.get("id.resp_p"))

    def need(self, t, what):
        recs = self.of(t)
        if not recs:
            self.mismatch("no %s records at all (%s)" % (t, what))
        return recs

    # ---- checks -------------------------------------------------------

    def links(self):
        others = [r for r in self.records if r.get("type") != "conn"]
        self.say("%d conn records, %d other records: uid, community_id, id.* of each" %
                 (len(self.conns), len(others)))
        for r in others:
            c = self.conns.get(r.get("uid"))
            if c is None:
                self.mismatch("%s record with uid %r: no conn record has it" % (r.get("type"), r.get("uid")), r)
                continue
            if r.get("community_id") != c.get("community_id"):
                self.mismatch("%s record community_id %r, its conn's %r" %
                              (r.get("type"), r.get("community_id"), c.get("community_id")), r)
            if self.flow(r) != self.flow(c):
                self.mismatch("%s record id.* %s, its conn's %s" % (r.get("type"), self.flow(r), self.flow(c)), r)

    def services(self):
        srv = self.expect["server"]
        for e in self.expect["services"]:
            cs = [c for c in self.conns.values() if c.get("proto") == e["proto"] and
                  c.get("id.resp_h") == srv and c.get("id.resp_p") == e["port"]]
            self.say("%s/%d: %d conn records, service wanted %r, got %s" %
                     (e["proto"], e["port"], len(cs), e["service"], sorted({c.get("service", "-") for c in cs})))
            if not cs:
                self.mismatch("no conn record for %s port %d" % (e["proto"], e["port"]))
            bad = [c for c in cs if e["service"] not in (c.get("service") or "").split(",")]
            if bad:
                self.mismatch("%d of %d conn records to %s/%d: service %r, want %r (the first below)" %
                              (len(bad), len(cs), e["proto"], e["port"], bad[0].get("service"), e["service"]),
                              bad[0])

    def dns(self):
        flags = {"AA": "dns.flags.authoritative", "TC": "dns.flags.truncated", "RD": "dns.flags.recdesired",
                 "RA": "dns.flags.recavail"}
        rows = self.tshark("dns.flags.response == 1",
                           ["ip.dst", "ipv6.dst", "udp.dstport", "tcp.dstport", "dns.id", "dns.qry.name",
                            "dns.flags.rcode", "dns.a", "dns.aaaa", "dns.mx.mail_exchange", "dns.txt",
                            "dns.resp.ttl", "dns.resp.type", "dns.count.answers"] + list(flags.values()))
        want, extra = {}, {}
        for r in rows:
            key = (r["ip.dst"] or r["ipv6.dst"], int(r["udp.dstport"] or r["tcp.dstport"]), int(r["dns.id"], 16),
                   "udp" if r["udp.dstport"] else "tcp")
            want[key] = (r["dns.qry.name"], int(r["dns.flags.rcode"]))
            extra[key] = {f: r[t] in ("1", "True") for f, t in flags.items()}
            # tshark lists the RRs of every section; Zeek's answers and
            # TTLs are the answer section's, which comes first: of each
            # type, as many as the answer section has.
            n = int(r["dns.count.answers"] or 0)
            types = [int(t) for t in r["dns.resp.type"].split("|") if t][:n]
            extra[key]["answers"] = [a for t, f in ((1, "dns.a"), (28, "dns.aaaa"), (15, "dns.mx.mail_exchange"),
                                                    (16, "dns.txt"))
                                     for a in [x for x in r[f].split("|") if x][:types.count(t)]]
            extra[key]["TTLs"] = [int(t) for t in r["dns.resp.ttl"].split("|") if t][:n]
        recs = self.need("dns", "tshark sees %d DNS responses" % len(want))
        got = {}
        for d in recs:
            c = self.conn_of(d) or {}
            key = (d.get("id.orig_h"), d.get("id.orig_p"), d.get("trans_id"), c.get("proto", d.get("proto")))
            if key in got:
                self.mismatch("two dns records for flow/trans_id %s" % (key,), d)
            got[key] = d
        self.say("tshark: %d DNS responses; ward: %d dns records" % (len(want), len(recs)))
        for key, (name, rcode) in sorted(want.items()):
            d = got.get(key)
            self.say("  %s:%d id %d %s: tshark %s rcode %d; ward %s" % (
                key[0], key[1], key[2], key[3], name, rcode,
                "-" if d is None else "%s rcode %s" % (d.get("query"), d.get("rcode"))))
            if d is None:
                self.mismatch("tshark's DNS response %s (%s, rcode %d) has no dns record" % (key, name, rcode))
                continue
            if d.get("query") != name or d.get("rcode") != rcode:
                self.mismatch("dns %s: query %r rcode %r, tshark %r rcode %d" %
                              (key, d.get("query"), d.get("rcode"), name, rcode), d)
            for f in ("AA", "TC", "RD", "RA"):
                if d.get(f) != extra[key][f]:
                    self.mismatch("dns %s %s: %s %r, tshark %r" % (key, name, f, d.get(f), extra[key][f]), d)
            ga, wa = d.get("answers", []), extra[key]["answers"]
            if len(ga) != len(wa) or not all(any(w in g for g in ga) for w in wa):
                self.mismatch("dns %s %s: answers %s, tshark %s" % (key, name, ga, wa), d)
            if d.get("TTLs", []) != extra[key]["TTLs"]:
                self.mismatch("dns %s %s: TTLs %s, tshark %s" % (key, name, d.get("TTLs"), extra[key]["TTLs"]), d)
            if d.get("rcode_name") != RCODES.get(rcode):
                self.mismatch("dns %s: rcode_name %r, want %r" % (key, d.get("rcode_name"), RCODES.get(rcode)), d)
        for key, d in got.items():
            if key not in want:
                self.mismatch("dns record %s not among tshark's responses" % (key,), d)
        for e in self.expect["dns"]:
            ms = [d for d in recs if d.get("query") == e["query"] and d.get("qtype_name") == e["qtype_name"] and
                  (self.conn_of(d) or {}).get("proto", d.get("proto")) == e["proto"]]
            self.say("expected %s %s over %s: %d records" % (e["query"], e["qtype_name"], e["proto"], len(ms)))
            if len(ms) != 1:
                self.mismatch("want one dns record for %s %s over %s, got %d" %
                              (e["query"], e["qtype_name"], e["proto"], len(ms)))
                continue
            d = ms[0]
            if d.get("rcode_name") != e["rcode_name"]:
                self.mismatch("dns %s %s: rcode_name %r, want %r" %
                              (e["query"], e["qtype_name"], d.get("rcode_name"), e["rcode_name"]), d)
            if "answer" in e and not any(e["answer"] in str(a) for a in d.get("answers", [])):
                self.mismatch("dns %s %s: no answer with %r" % (e["query"], e["qtype_name"], e["answer"]), d)
            if d.get("proto", e["proto"]) != e["proto"]:
                self.mismatch("dns %s %s: proto %r, want %r" % (e["query"], e["qtype_name"], d.get("proto"), e["proto"]), d)

    def http(self):
        req = self.tshark("http.request", ["ip.src", "tcp.srcport", "tcp.dstport", "http.request.uri"])
        resp = self.tshark("http.response", ["ip.dst", "tcp.dstport", "tcp.srcport", "http.response.code"])
        want_uri, want_code = defaultdict(list), defaultdict(list)
        for r in req:
            want_uri[(r["ip.src"], int(r["tcp.srcport"]), int(r["tcp.dstport"]))] += r["http.request.uri"].split("|")
        for r in resp:
            want_code[(r["ip.dst"], int(r["tcp.dstport"]), int(r["tcp.srcport"]))] += \
                [int(x) for x in r["http.response.code"].split("|")]
        recs = self.need("http", "tshark sees %d requests" % sum(len(v) for v in want_uri.values()))
        got = defaultdict(list)
        for h in recs:
            got[(h.get("id.orig_h"), h.get("id.orig_p"), h.get("id.resp_p"))].append(h)
        for k in got:
            got[k].sort(key=lambda h: h.get("trans_depth", 0))
        self.say("tshark: %d flows with HTTP requests; ward: %d flows with http records" % (len(want_uri), len(got)))
        for k in sorted(set(want_uri) | set(got)):
            hs = got.get(k, [])
            wu, wc = want_uri.get(k, []), want_code.get(k, [])
            gu = [h.get("uri") for h in hs]
            gc = [h.get("status_code") for h in hs if "status_code" in h]
            self.say("  %s:%d -> :%d: tshark uris %s codes %s; ward uris %s codes %s" % (k + (wu, wc, gu, gc)))
            if gu != wu:
                self.mismatch("http flow %s: uris %s, tshark %s" % (k, gu, wu), hs[0] if hs else None)
            if gc != wc:
                self.mismatch("http flow %s: status codes %s, tshark %s" % (k, gc, wc), hs[0] if hs else None)
            depths = [h.get("trans_depth") for h in hs]
            if depths != list(range(1, len(hs) + 1)):
                self.mismatch("http flow %s: trans_depth %s, want 1..%d" % (k, depths, len(hs)))
        # Basic auth: Zeek's username, when written, masked; never the clear one.
        self.user_fields([dict(h, user=h["username"]) for h in recs if "username" in h], self.expect["http_user"])
        for e in self.expect["http"]:
            ms = [h for h in recs if h.get("uri") == e["uri"] and h.get("id.resp_p") == e["port"]]
            if len(ms) != 1:
                self.mismatch("want one http record for %s on port %d, got %d" % (e["uri"], e["port"], len(ms)))
                continue
            for f in ("status_code", "method", "host", "trans_depth", "request_body_len"):
                if f in e and ms[0].get(f) != e[f]:
                    self.mismatch("http %s: %s %r, want %r" % (e["uri"], f, ms[0].get(f), e[f]), ms[0])

    def files(self):
        recs = self.need("files", "HTTP bodies and attachments")
        self.say("ward: %d files records: %s" % (len(recs), sorted((f.get("source"), f.get("sha256"),
                 f.get("seen_bytes", f.get("total_bytes"))) for f in recs)))
        for e in self.expect["files"]:
            ms = [f for f in recs if f.get("sha256") == e["sha256"]]
            self.say("%s: sha256 %s size %d: %d records" % (e["what"], e["sha256"], e["size"], len(ms)))
            if not ms:
                self.mismatch("no files record with the sha256 of %s (%s)" % (e["what"], e["sha256"]))
                continue
            f = ms[0]
            if self.port_of(f) != e["port"]:
                self.mismatch("files %s: on a flow to port %s, want %d" % (e["what"], self.port_of(f), e["port"]), f)
            for k in ("seen_bytes", "total_bytes"):
                if k in f and f[k] != e["size"]:
                    self.mismatch("files %s: %s %r, want %d" % (e["what"], k, f[k], e["size"]), f)
            if "is_orig" in e and f.get("is_orig") != e["is_orig"]:
                self.mismatch("files %s: is_orig %r, want %r" % (e["what"], f.get("is_orig"), e["is_orig"]), f)
            for k in ("md5", "sha1"):
                if f.get(k) != e[k]:
                    self.mismatch("files %s: %s %r, want %s" % (e["what"], k, f.get(k), e[k]), f)
            links = [r for r in self.records if r.get("uid") == f.get("uid") and r.get("type") != "files" and
                     f.get("fuid") in (r.get("resp_fuids", []) + r.get("orig_fuids", []) + r.get("fuids", []))]
            if f.get("fuid") is None or not links:
                self.mismatch("files %s: fuid %r is in no record of its flow (resp_fuids, fuids)" %
                              (e["what"], f.get("fuid")), f)
            if f.get("missing_bytes", 0) != 0:
                self.mismatch("files %s: missing_bytes %r" % (e["what"], f.get("missing_bytes")), f)

    def ssl(self):
        ports = set(self.expect["tls_ports"])
        ch = self.tshark("tls.handshake.type == 1", ["ip.src", "tcp.srcport", "tcp.dstport",
                         "tls.handshake.extensions_server_name", "tls.handshake.ja3",
                         "tls.handshake.extensions_alpn_str", "tls.handshake.ciphersuite",
                         "tls.handshake.extension.type", "tls.handshake.sig_hash_alg",
                         "tls.handshake.extensions.supported_version", "tls.handshake.version"])
        sh = self.tshark("tls.handshake.type == 2", ["ip.dst", "tcp.dstport", "tcp.srcport", "tls.handshake.ja3s",
                         "tls.handshake.version", "tls.handshake.extensions.supported_version",
                         "tls.handshake.extensions_alpn_str", "tls.handshake.ciphersuite"])
        want = {}
        for r in ch:
            k = (r["ip.src"], int(r["tcp.srcport"]), int(r["tcp.dstport"]))
            want.setdefault(k, {})["client"] = r
        for r in sh:
            k = (r["ip.dst"], int(r["tcp.dstport"]), int(r["tcp.srcport"]))
            want.setdefault(k, {})["server"] = r
        other = [k for k in want if k[2] not in ports]
        if other:
            self.say("TLS seen by tshark on other ports, not compared: %s (STARTTLS)" % other)
        want = {k: v for k, v in want.items() if k[2] in ports}
        recs = self.need("ssl", "tshark sees %d TLS handshakes" % len(want))
        got = defaultdict(list)
        for s in recs:
            got[(s.get("id.orig_h"), s.get("id.orig_p"), s.get("id.resp_p"))].append(s)
        self.say("tshark: %d TLS flows on ports %s; ward: %d ssl records" % (len(want), sorted(ports), len(recs)))
        for k in sorted(want):
            c, s = want[k].get("client", {}), want[k].get("server", {})
            ver = s.get("tls.handshake.extensions.supported_version") or s.get("tls.handshake.version") or ""
            ver = TLS_VERSIONS.get(int(ver.split("|")[0], 16)) if ver else None
            w = {"server_name": c.get("tls.handshake.extensions_server_name"),
                 "ja3": c.get("tls.handshake.ja3"), "ja3s": s.get("tls.handshake.ja3s"), "version": ver}
            if s.get("tls.handshake.extensions_alpn_str"):
                w["next_protocol"] = s["tls.handshake.extensions_alpn_str"]
            cs = hexes(s.get("tls.handshake.ciphersuite", ""))
            if cs and cs[0] in CIPHERS:
                w["cipher"] = CIPHERS[cs[0]]
            if c:
                w["ja4"] = ja4(c)
            gs = got.get(k, [])
            self.say("  %s:%d -> :%d: tshark %s; ward %s" % (k + (w, [{f: g.get(f) for f in
                     ("server_name", "ja3", "ja3s", "ja4", "version", "cipher", "next_protocol", "established")}
                     for g in gs])))
            if len(gs) != 1:
                self.mismatch("TLS flow %s: want one ssl record, got %d" % (k, len(gs)))
                continue
            g = gs[0]
            for f, v in w.items():
                if v and g.get(f) != v:
                    self.mismatch("ssl %s: %s %r, tshark %r" % (k, f, g.get(f), v), g)
            if g.get("established") is not True:
                self.mismatch("ssl %s: established %r, want true" % (k, g.get("established")), g)
            if not str(g.get("cipher", "")).startswith("TLS_"):
                self.mismatch("ssl %s: cipher %r, want a TLS_ name" % (k, g.get("cipher")), g)
        for k, gs in got.items():
            if k not in want and k[2] in ports:
                self.mismatch("ssl record on %s, not a TLS flow of tshark's" % (k,), gs[0])

    def x509(self):
        recs = self.need("x509", "TLS 1.2 certificates")
        ssl = {s.get("uid"): s for s in self.of("ssl")}
        for e in self.expect["x509"]:
            ms = [x for x in recs if self.port_of(x) == e["port"] and
                  ("tls_version" not in e or ssl.get(x.get("uid"), {}).get("version") == e["tls_version"])]
            self.say("port %d%s: %d x509 records, fingerprints %s (want %s)" % (
                e["port"], " (%s)" % e["tls_version"] if "tls_version" in e else "", len(ms),
                [x.get("fingerprint") for x in ms], e["fingerprint"]))
            if not ms:
                self.mismatch("no x509 record on a flow to port %d" % e["port"])
                continue
            x = ms[0]
            if (x.get("fingerprint") or "").replace(":", "").lower() != e["fingerprint"]:
                self.mismatch("x509 port %d: fingerprint %r, want the certificate's SHA-256 %s" %
                              (e["port"], x.get("fingerprint"), e["fingerprint"]), x)
            if "CN=" + e["subject_cn"] not in str(x.get("certificate.subject")):
                self.mismatch("x509 port %d: certificate.subject %r, want CN=%s" %
                              (e["port"], x.get("certificate.subject"), e["subject_cn"]), x)
            fps = ssl.get(x.get("uid"), {}).get("cert_chain_fps")
            if fps != [e["fingerprint"]]:
                self.mismatch("ssl record of the x509 on port %d: cert_chain_fps %r, want [%s]" %
                              (e["port"], fps, e["fingerprint"]), ssl.get(x.get("uid")))
            if e["subject_cn"] not in (x.get("san.dns") or []):
                self.mismatch("x509 port %d: san.dns %r, want %s in it" % (e["port"], x.get("san.dns"), e["subject_cn"]), x)

    def smtp(self):
        recs = self.need("smtp", "3 swaks sessions")
        self.say("ward: %s" % [{f: s.get(f) for f in ("helo", "mailfrom", "rcptto", "subject", "tls", "last_reply")}
                               for s in recs])
        for e in self.expect["smtp"]:
            ms = [s for s in recs if all(s.get(f) == v for f, v in e.items())]
            self.say("want %s: %d records" % (e, len(ms)))
            if len(ms) != 1:
                self.mismatch("want one smtp record with %s, got %d" % (e, len(ms)))
        for s in recs:
            if self.port_of(s) != 25:
                self.mismatch("smtp record on a flow to port %s" % self.port_of(s), s)

    def user_fields(self, recs, user):
        """Records' `user`, when written, is the masked user, never the clear one."""
        m = self.mask(user)
        for r in recs:
            if "user" in r and r["user"] != m:
                self.mismatch("%s record: user %r, want the masked %r" % (r.get("type"), r["user"], m), r)

    def commands(self, recs, proto, port, want):
        """recs are one session's records on `port`, with each (command,
        arg, field, value) of `want` among them."""
        self.say("ward: %d %s records: %s" % (len(recs), proto, [
            {k: r.get(k) for k in ("trans_depth", "user", "command", "arg", "status", "reply_code")} for r in recs]))
        for r in recs:
            if self.port_of(r) != port:
                self.mismatch("%s record on a flow to port %s" % (proto, self.port_of(r)), r)
        for cmd, arg, field, value in want:
            ms = [r for r in recs if r.get("command") == cmd and (arg is None or arg in str(r.get("arg", "")))]
            self.say("want %s %s with %s %r: %s" % (cmd, arg or "", field, value, [r.get(field) for r in ms]))
            if not any(r.get(field) == value for r in ms):
                self.mismatch("no %s record for %s%s with %s %r" % (proto, cmd, " " + arg if arg else "", field, value))

    def pop3(self):
        recs = self.need("pop3", "one POP3 session")
        self.commands(recs, "pop3", 110, [("USER", None, "status", "+OK"), ("STAT", None, "status", "+OK"),
                                         ("RETR", "1", "status", "+OK"), ("QUIT", None, "status", "+OK")])
        self.user_fields(recs, self.expect["pop3_user"])

    def ftp(self):
        recs = self.need("ftp", "one FTP session")
        conns = [c for c in self.conns.values() if c.get("id.resp_p") == 21]
        if len(conns) != 1:
            self.mismatch("want one conn record to port 21, got %d" % len(conns))
        self.commands(recs, "ftp", 21, [("RETR", "ftp-file.bin", "reply_code", 226)])
        self.user_fields(recs, self.expect["ftp_user"])

    @staticmethod
    def mask(u):
        # analyzer.c: first and last character, "***" between (the
        # length hidden); "***" alone under 4 bytes.
        return u[0] + "***" + u[-1] if len(u) >= 4 else "***"

    @staticmethod
    def strings(rec):
        return [v for v in rec.values() if isinstance(v, str)]

    def notices(self):
        recs = [n for n in self.of("notice") if n.get("note") == "Cleartext_Credentials"]
        self.say("ward: %d Cleartext_Credentials notices: %s" % (len(recs), [json.dumps(n) for n in recs]))
        for e in self.expect["notices"]:
            ms = [n for n in recs if self.port_of(n) == e["port"] and
                  n.get("service") == e["proto"] and n.get("mechanism") == e["mechanism"]]
            m = self.mask(e["user"])
            self.say("want %s %s on port %d, user %s: %d notices" % (e["proto"], e["mechanism"], e["port"], m, len(ms)))
            if len(ms) != 1:
                self.mismatch("want one notice for %s %s (port %d), got %d" %
                              (e["proto"], e["mechanism"], e["port"], len(ms)))
                continue
            if ms[0].get("user") != m:
                self.mismatch("notice %s %s: user %r, want the masked %r" %
                              (e["proto"], e["mechanism"], ms[0].get("user"), m), ms[0])
        for n in self.of("notice"):
            for e in self.expect["notices"]:
                if any(e["user"] in s for s in self.strings(n)):
                    self.mismatch("notice with the user %r in clear" % e["user"], n)
        # No other notice on those flows: none for the AUTH inside STARTTLS.
        for port in sorted({e["port"] for e in self.expect["notices"]}):
            n = [x for x in self.of("notice") if self.port_of(x) == port]
            w = [e for e in self.expect["notices"] if e["port"] == port]
            if len(n) != len(w):
                self.mismatch("%d notices on flows to port %d, want %d (%s)%s" % (
                    len(n), port, len(w), ", ".join(e["mechanism"] for e in w),
                    "; none for the AUTH inside STARTTLS" if port == 25 else ""))

    def stats(self):
        lines = [l for l in open(self.args.stats_file) if l.startswith("{")]
        if not lines:
            return self.mismatch("no --stats JSON in %s" % self.args.stats_file)
        st = json.loads(lines[-1])
        an = st.get("analyzers", {})
        self.say("analyzers: %s" % json.dumps(an))
        self.say("weird: %s" % json.dumps(st.get("weird")))
        if not an:
            return self.mismatch("no \"analyzers\" in the --stats JSON")
        det = an.get("detected", {})
        for name, n in sorted(self.expect["detected"].items()):
            self.say("detected %s: %s, want at least %d" % (name, det.get(name), n))
            if det.get(name, 0) < n:
                self.mismatch("--stats analyzers.detected.%s is %r, want at least %d" % (name, det.get(name), n))
        if an.get("sessions_denied", 0) != 0:
            self.mismatch("--stats analyzers.sessions_denied is %r, want 0" % an.get("sessions_denied"))
        if an.get("reasm", {}).get("gap_bytes", 0) != 0:
            self.mismatch("--stats analyzers.reasm.gap_bytes is %r, want 0 (no loss on a veth)" %
                          an["reasm"]["gap_bytes"])

    def secrets(self):
        forms = []
        for s in self.expect["secrets"]:
            forms.append((s["name"], s["text"]))
            forms.append((s["name"] + " (base64)", base64.b64encode(s["text"].encode()).decode()))
            if s["kind"] == "basic":
                forms.append((s["name"] + " (Basic user:pass)",
                              base64.b64encode(("%s:%s" % (s["user"], s["text"])).encode()).decode()))
            if s["kind"] == "plain":
                forms.append((s["name"] + " (PLAIN)",
                              base64.b64encode(("\0%s\0%s" % (s["user"], s["text"])).encode()).decode()))
        for path in self.args.output:
            data = open(path, "rb").read()
            self.say("%s (%d bytes): %d password forms" % (path, len(data), len(forms)))
            for name, text in forms:
                if text.encode() in data:
                    i = data.index(text.encode())
                    self.mismatch("%s found in %s: ...%s..." % (name, path, data[max(0, i - 200):i + 50]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--records", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--output", action="append", default=[])
    ap.add_argument("--stats-file")
    ap.add_argument("--tshark", default="tshark")
    ap.add_argument("check", choices=["links", "services", "dns", "http", "files", "ssl", "x509", "smtp",
                                      "pop3", "ftp", "notices", "stats", "secrets"])
    a = ap.parse_args()
    c = Check(a)
    getattr(c, a.check)()
    sys.exit(1 if c.bad else 0)


if __name__ == "__main__":
    main()
