#!/usr/bin/python3
"""Crafted captures for ward-sensor, with the conn records Zeek would log.

    sensor_crafted.py write DIR    writes DIR/<case>.pcap for every case and
                                   DIR/expect.json (what each must give)
    sensor_crafted.py check DIR    compares DIR/<case>.ndjson (ward-sensor
                                   --json) and DIR/<case>.stats (its --stats
                                   line) with DIR/expect.json; prints one
                                   line per case; exit 1 if any case fails

Cases (issue 4, section 5): each TCP conn_state of Zeek's
base/protocols/conn/main.zeek (S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH
SH SHR OTH) with the history Zeek's letters give (s h a d f r upper case
from the originator; a, d recorded once per direction; t counted
logarithmically); out-of-order segments; a retransmission; a zero window;
a content gap (missed_bytes); overlapping IPv4 fragments (first wins, one packet, one
flow) and plain IPv4 and IPv6 fragments; 802.1Q, QinQ (vlan, inner_vlan;
the same five-tuple in two VLANs is two flows), MPLS; VXLAN, GRE, ERSPAN
type II and III (the inner five-tuple is the flow, the tunnel is not);
a capture with a 96-byte snap length (bytes from sequence numbers and IP
lengths, not from what was captured); a SYN sent three times; an ICMP
error quoting a UDP header; UDP inactivity timeout; flow table pressure
(--flow-mem: evicted flows are counted and still recorded).

A case's "args" in expect.json are extra ward-sensor options.

Packets are made with scapy and written by a small pcap writer here, so
that the captured length can be cut below the wire length.
"""
import datetime
import json
import os
import re
import struct
import subprocess
import sys

from scapy.all import (Ether, Dot1Q, Dot1AD, IP, ICMP, IPv6, IPv6ExtHdrFragment, TCP, UDP,
                       GRE, Raw, fragment6)
from scapy.contrib.mpls import MPLS
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III
from scapy.layers.vxlan import VXLAN

T0 = 1700000000.0        # capture time of each file's first packet
STEP = 0.001             # seconds between packets
CLI, SRV = "10.1.0.1", "10.2.0.1"
CLI6, SRV6 = "fd01::1", "fd02::1"
MAC_C, MAC_S = "02:00:00:00:00:01", "02:00:00:00:00:02"


def rfc3339(ts_us):
    """ward's ts: RFC 3339 UTC with microseconds."""
    d = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=ts_us)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ts_of(index):
    """The ts of a flow whose first packet is the file's index-th."""
    return rfc3339(int(round(T0 * 1e6)) + index * int(round(STEP * 1e6)))


def pcap_bytes(frames, snaplen=65535, linktype=1):
    """frames: list of (ts, bytes, wirelen or None)."""
    out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype)]
    for ts, data, wirelen in frames:
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        cap = data[:snaplen]
        out.append(struct.pack("<IIII", sec, usec, len(cap), wirelen or len(data)))
        out.append(cap)
    return b"".join(out)


class Tcp:
    """One TCP connection between CLI:cport and SRV:sport; each call adds a
    segment from the client (c) or the server (s) with the current sequence
    numbers, and advances them as TCP does (SYN and FIN take one)."""

    def __init__(self, cport=40000, sport=80, v6=False, link=None):
        self.cport, self.sport, self.v6 = cport, sport, v6
        self.link = link or (lambda: Ether(src=MAC_C, dst=MAC_S))
        self.seq = {"c": 1000, "s": 5000}
        self.pkts = []

    def ip(self, side):
        if self.v6:
            return IPv6(src=CLI6, dst=SRV6) if side == "c" else IPv6(src=SRV6, dst=CLI6)
        return IP(src=CLI, dst=SRV) if side == "c" else IP(src=SRV, dst=CLI)

    def seg(self, side, flags, data=0, seq=None, ack=True, window=65535):
        other = "s" if side == "c" else "c"
        sp, dp = (self.cport, self.sport) if side == "c" else (self.sport, self.cport)
        s = self.seq[side] if seq is None else seq
        tcp = TCP(sport=sp, dport=dp, flags=flags, seq=s,
                  ack=self.seq[other] if "A" in flags else 0, window=window)
        p = self.link() / self.ip(side) / tcp
        if data:
            p = p / Raw(bytes([0x61 + len(self.pkts) % 26]) * data)
        self.pkts.append(p)
        if seq is None:
            self.seq[side] += data + (1 if ("S" in flags or "F" in flags) else 0)
        return p

    c = lambda self, flags, data=0, **kw: self.seg("c", flags, data, **kw)
    s = lambda self, flags, data=0, **kw: self.seg("s", flags, data, **kw)

    def handshake(self):
        self.c("S"); self.s("SA"); self.c("A")


def inner_l3(p):
    """The innermost IP or IPv6 layer: the packet the flow is made of."""
    last, l = None, p
    while l:
        if isinstance(l, (IP, IPv6)):
            last = l
        l = l.payload
    return last


def frames_of(pkts):
    return [(T0 + i * STEP, bytes(p), None) for i, p in enumerate(pkts)]


def sums(pkts, side_of):
    """Packets and IP bytes per direction (orig, resp)."""
    n = {"orig": [0, 0], "resp": [0, 0]}
    for p in pkts:
        d = side_of(p)
        n[d][0] += 1
        n[d][1] += len(bytes(inner_l3(p)))
    return n


def tcp_case(name, t, state, history, orig_bytes, resp_bytes, extra=None, orig="c", cid=False):
    """An expectation for the single flow of Tcp t."""
    cli_is_orig = orig == "c"
    oh, rh = (CLI, SRV) if not t.v6 else (CLI6, SRV6)
    op, rp = t.cport, t.sport
    if not cli_is_orig:
        oh, rh, op, rp = rh, oh, rp, op
    n = sums(t.pkts, lambda p: "orig" if (p.getlayer(TCP).sport == op) else "resp")
    rec = {"proto": "tcp", "id.orig_h": oh, "id.orig_p": op, "id.resp_h": rh, "id.resp_p": rp,
           "ts": ts_of(0), "conn_state": state, "orig_pkts": n["orig"][0], "orig_ip_bytes": n["orig"][1],
           "resp_pkts": n["resp"][0], "resp_ip_bytes": n["resp"][1],
           "orig_bytes": orig_bytes, "resp_bytes": resp_bytes, "missed_bytes": 0}
    if history is not None:
        rec["history"] = history
    rec.update(extra or {})
    return name, frames_of(t.pkts), {"records": [rec], "cid_tshark": cid}


def conn_states():
    cases = []
    # SF: handshake, a request, an ACK, a reply, FIN both ways, last ACK.
    t = Tcp(); t.handshake(); t.c("PA", 100); t.s("A"); t.s("PA", 200); t.c("A")
    t.c("FA"); t.s("FA"); t.c("A")
    cases.append(tcp_case("state_SF", t, "SF", "ShADadFf", 100, 200, cid=True))
    # S0: a SYN, no answer.
    t = Tcp(); t.c("S")
    cases.append(tcp_case("state_S0", t, "S0", "S", 0, 0))
    # REJ: SYN answered by RST+ACK.
    t = Tcp(); t.c("S"); t.s("RA")
    cases.append(tcp_case("state_REJ", t, "REJ", "Sr", 0, 0))
    # S1: established, data both ways, not closed.
    t = Tcp(); t.handshake(); t.c("PA", 10); t.s("PA", 20)
    cases.append(tcp_case("state_S1", t, "S1", "ShADd", 10, 20))
    # S2: established, the originator's FIN, no reply.
    t = Tcp(); t.handshake(); t.c("PA", 10); t.s("A"); t.c("FA")
    cases.append(tcp_case("state_S2", t, "S2", "ShADaF", 10, 0))
    # S3: established, the responder's FIN, no reply.
    t = Tcp(); t.handshake(); t.s("FA")
    cases.append(tcp_case("state_S3", t, "S3", "ShAf", 0, 0))
    # RSTO: established, the originator resets.
    t = Tcp(); t.handshake(); t.c("PA", 10); t.c("R")
    cases.append(tcp_case("state_RSTO", t, "RSTO", "ShADR", 10, 0))
    # RSTR: established, the responder resets.
    t = Tcp(); t.handshake(); t.c("PA", 10); t.s("RA")
    cases.append(tcp_case("state_RSTR", t, "RSTR", "ShADr", 10, 0))
    # RSTOS0: SYN then the originator's RST, no SYN-ACK seen.
    t = Tcp(); t.c("S"); t.c("R")
    cases.append(tcp_case("state_RSTOS0", t, "RSTOS0", "SR", 0, 0))
    # RSTRH: a SYN-ACK then RST from the responder, no SYN seen. Zeek
    # makes the SYN-ACK's receiver the originator (and may mark the flip
    # with '^').
    t = Tcp(); t.s("SA"); t.s("R")
    cases.append(tcp_case("state_RSTRH", t, "RSTRH", {"re": r"^\^?hr$"}, 0, 0))
    # SH: SYN then FIN from the originator, no SYN-ACK.
    t = Tcp(); t.c("S"); t.c("F")
    cases.append(tcp_case("state_SH", t, "SH", "SF", 0, 0))
    # SHR: SYN-ACK then FIN from the responder, no SYN.
    t = Tcp(); t.s("SA"); t.s("FA")
    cases.append(tcp_case("state_SHR", t, "SHR", {"re": r"^\^?hf$"}, 0, 0))
    # OTH: midstream, no SYN: data both ways.
    t = Tcp(); t.c("PA", 50); t.s("PA", 60); t.c("PA", 50)
    cases.append(tcp_case("state_OTH", t, "OTH", "Dd", 100, 60))
    return cases


def reordering():
    cases = []
    # Out of order: the client's second segment arrives before its first.
    t = Tcp(); t.handshake()
    s1 = t.seq["c"]
    t.c("PA", 100, seq=s1 + 100)
    t.c("PA", 100, seq=s1)
    t.seq["c"] += 200
    t.s("A"); t.s("PA", 300); t.c("A"); t.c("FA"); t.s("FA"); t.c("A")
    # Zeek counts the late first segment as a retransmission (it ends
    # below the highest sequence number seen): 'T'.
    cases.append(tcp_case("tcp_out_of_order", t, "SF", "ShADTadFf", 200, 300))
    # Retransmission: the server's reply is sent twice (same sequence
    # number): one 't', bytes counted once.
    t = Tcp(); t.handshake(); t.c("PA", 100); t.s("A")
    s1 = t.seq["s"]
    t.s("PA", 300); t.s("PA", 300, seq=s1)
    t.c("A"); t.c("FA"); t.s("FA"); t.c("A")
    cases.append(tcp_case("tcp_retransmission", t, "SF", "ShADadtFf", 100, 300))
    # Retransmitted by the client too, 12 times: T, and a second T for 10.
    t = Tcp(); t.handshake()
    s1 = t.seq["c"]
    t.c("PA", 100)
    for _ in range(12):
        t.c("PA", 100, seq=s1)
    t.s("A"); t.c("FA"); t.s("FA"); t.c("A")
    cases.append(tcp_case("tcp_retransmission_x12", t, "SF", "ShADTTaFf", 100, 0))
    # A zero window: the server's receive buffer fills once ('w', once).
    t = Tcp(); t.handshake(); t.c("PA", 100); t.s("A", window=0); t.s("A")
    t.c("PA", 100); t.s("A"); t.c("FA"); t.s("FA"); t.c("A")
    cases.append(tcp_case("tcp_zero_window", t, "SF", {"re": r"^ShAD[aw]{2}Ff$"}, 200, 0))
    # A content gap: the client's second segment was never captured, the
    # server acknowledges all three: 100 missed bytes, sizes from seq.
    t = Tcp(); t.handshake(); t.c("PA", 100)
    t.seq["c"] += 100
    t.c("PA", 100)
    t.s("A"); t.c("FA"); t.s("FA"); t.c("A")
    del_gap = {"missed_bytes": 100}
    cases.append(tcp_case("tcp_content_gap", t, "SF", {"re": r"^ShAD.*[Gg]"}, 300, 0, del_gap))
    return cases


def fragments():
    cases = []
    # Overlapping IPv4 fragments of one UDP datagram (1000 payload bytes):
    # the second starts 8 bytes before the first ends, with other bytes
    # there; first wins, one packet of the whole datagram's IP length.
    payload = bytes(range(256)) * 3 + bytes(232)          # 1000 bytes
    dgram = IP(src=CLI, dst=SRV, id=0x4242, proto=17) / UDP(sport=40000, dport=9999) / Raw(payload)
    raw = bytes(dgram)
    body = raw[20:]                                         # 1008 bytes of UDP
    f1 = IP(src=CLI, dst=SRV, id=0x4242, proto=17, flags="MF", frag=0) / Raw(body[:512])
    f2 = IP(src=CLI, dst=SRV, id=0x4242, proto=17, frag=504 // 8) / Raw(b"\xee" * 8 + body[512:])
    reply = IP(src=SRV, dst=CLI) / UDP(sport=9999, dport=40000) / Raw(b"ok")
    pk = [Ether(src=MAC_C, dst=MAC_S) / f1, Ether(src=MAC_C, dst=MAC_S) / f2,
          Ether(src=MAC_S, dst=MAC_C) / reply]
    rec = {"proto": "udp", "id.orig_h": CLI, "id.orig_p": 40000, "id.resp_h": SRV,
           "id.resp_p": 9999, "ts": ts_of(0), "orig_pkts": 1, "orig_ip_bytes": 20 + 1008,
           "orig_bytes": 1000, "resp_pkts": 1, "resp_ip_bytes": 30, "resp_bytes": 2,
           "conn_state": "SF"}
    # A reassembled datagram is seen when its last fragment arrives.
    cases.append(("frag_overlap_v4", frames_of(pk),
                  {"records": [dict(rec, ts=ts_of(1))], "stats": {"fragments": 2, "reassembled": 1},
                   "decode_errors": {"frag_overlap": 1}}))
    # The same datagram in three clean fragments, the last first.
    f = [IP(src=CLI, dst=SRV, id=0x4343, proto=17, flags="MF", frag=0) / Raw(body[:400]),
         IP(src=CLI, dst=SRV, id=0x4343, proto=17, flags="MF", frag=50) / Raw(body[400:800]),
         IP(src=CLI, dst=SRV, id=0x4343, proto=17, frag=100) / Raw(body[800:])]
    pk = [Ether(src=MAC_C, dst=MAC_S) / x for x in (f[2], f[0], f[1])] + \
         [Ether(src=MAC_S, dst=MAC_C) / reply]
    cases.append(("frag_v4", frames_of(pk),
                  {"records": [dict(rec, ts=ts_of(2))], "stats": {"fragments": 3, "reassembled": 1},
                   "decode_errors": {}, "cid_tshark": True}))
    # IPv6: a UDP datagram of 3000 bytes in 1280-byte fragments.
    d6 = IPv6(src=CLI6, dst=SRV6) / IPv6ExtHdrFragment(id=0x77) / \
        UDP(sport=40000, dport=9999) / Raw(bytes(3000))
    fr = fragment6(d6, 1280)
    pk = [Ether(src=MAC_C, dst=MAC_S) / x for x in fr]
    rec6 = {"proto": "udp", "id.orig_h": CLI6, "id.orig_p": 40000, "id.resp_h": SRV6,
            "id.resp_p": 9999, "ts": ts_of(0), "orig_pkts": 1, "orig_bytes": 3000,
            "orig_ip_bytes": 40 + 3008, "resp_pkts": 0, "conn_state": "S0"}
    cases.append(("frag_v6", frames_of(pk),
                  {"records": [dict(rec6, ts=ts_of(len(fr) - 1))], "stats": {"fragments": len(fr), "reassembled": 1},
                   "decode_errors": {}, "cid_tshark": True}))
    return cases


def sf_flow(link, cport=40000):
    t = Tcp(cport=cport, link=link); t.handshake(); t.c("PA", 100); t.s("PA", 200)
    t.c("FA"); t.s("FA"); t.c("A")
    return t


def tags_and_tunnels():
    cases = []
    # 802.1Q VID 100, and the same five-tuple again in VID 101: two flows.
    t1 = sf_flow(lambda: Ether(src=MAC_C, dst=MAC_S) / Dot1Q(vlan=100))
    t2 = sf_flow(lambda: Ether(src=MAC_C, dst=MAC_S) / Dot1Q(vlan=101))
    _, _, e1 = tcp_case("", t1, "SF", "ShADdFf", 100, 200, {"vlan": 100, "inner_vlan": None})
    _, _, e2 = tcp_case("", t2, "SF", "ShADdFf", 100, 200, {"vlan": 101, "inner_vlan": None,
                                                            "ts": ts_of(len(t1.pkts))})
    cases.append(("vlan", frames_of(t1.pkts + t2.pkts), {"records": e1["records"] + e2["records"]}))
    # QinQ: 802.1ad outer VID 200, 802.1Q inner VID 300.
    t = sf_flow(lambda: Ether(src=MAC_C, dst=MAC_S, type=0x88a8) / Dot1AD(vlan=200) / Dot1Q(vlan=300))
    cases.append(tcp_case("qinq", t, "SF", "ShADdFf", 100, 200, {"vlan": 200, "inner_vlan": 300}))
    # MPLS: two labels.
    t = sf_flow(lambda: Ether(src=MAC_C, dst=MAC_S, type=0x8847) / MPLS(label=16, s=0) / MPLS(label=17, s=1))
    cases.append(tcp_case("mpls", t, "SF", "ShADdFf", 100, 200))
    # Tunnels from a mirror at 10.9.0.1 to the probe at 10.9.0.2; only the
    # inner flow is reported (no record for the outer UDP or GRE).
    outer = lambda: Ether(src="02:00:00:00:00:09", dst="02:00:00:00:00:0a") / \
        IP(src="10.9.0.1", dst="10.9.0.2")
    tunnels = {
        "vxlan": lambda: outer() / UDP(sport=49152, dport=4789) / VXLAN(vni=42, flags=0x08),
        "gre": lambda: outer() / GRE(proto=0x6558),
        "erspan2": lambda: outer() / GRE(proto=0x88be, seqnum_present=1, sequence_number=7) /
        ERSPAN_II(ver=1, vlan=0, session_id=5, index=1),
        "erspan3": lambda: outer() / GRE(proto=0x22eb, seqnum_present=1, sequence_number=7) /
        ERSPAN_III(ver=2, vlan=0, session_id=5, timestamp=1234, sgt_other=0, gra=0, o=0),
    }
    for name, enc in tunnels.items():
        t = sf_flow(lambda enc=enc: enc() / Ether(src=MAC_C, dst=MAC_S))
        n, fr, e = tcp_case(name, t, "SF", "ShADdFf", 100, 200)
        e["no_records"] = [{"id.resp_h": "10.9.0.2"}, {"id.orig_h": "10.9.0.2"}]
        cases.append((n, fr, e))
    # GRE carrying IPv6 directly (protocol 0x86dd).
    t = Tcp(v6=True, link=lambda: outer() / GRE(proto=0x86dd))
    t.handshake(); t.c("PA", 100); t.s("PA", 200); t.c("FA"); t.s("FA"); t.c("A")
    n, fr, e = tcp_case("gre_ipv6", t, "SF", "ShADdFf", 100, 200)
    e["no_records"] = [{"id.resp_h": "10.9.0.2"}, {"id.orig_h": "10.9.0.2"}]
    cases.append((n, fr, e))
    return cases


def snaplen():
    # 96 bytes of each frame captured: 1400-byte segments are cut, yet the
    # flow's bytes come from sequence numbers and IP lengths.
    t = Tcp(); t.handshake()
    for _ in range(3):
        t.c("PA", 1400)
    t.s("A")
    for _ in range(5):
        t.s("PA", 1400)
    t.c("A"); t.c("FA"); t.s("FA"); t.c("A")
    n, fr, e = tcp_case("snaplen96", t, "SF", "ShADadFf", 4200, 7000, cid=True)
    e["snaplen"] = 96
    e["decode_errors"] = {}
    return [(n, fr, e)]


def udp_rec(orig, oport, resp, rport, ts_index, opk, obytes, rpk=0, rbytes=0):
    v6 = ":" in orig
    hdr = 48 if v6 else 28
    return {"proto": "udp", "id.orig_h": orig, "id.orig_p": oport, "id.resp_h": resp,
            "id.resp_p": rport, "ts": ts_of(ts_index), "orig_pkts": opk,
            "orig_bytes": obytes, "orig_ip_bytes": opk * hdr + obytes, "resp_pkts": rpk,
            "resp_bytes": rbytes, "resp_ip_bytes": rpk * hdr + rbytes,
            "conn_state": "SF" if rpk else "S0"}


def more():
    cases = []
    e = lambda: Ether(src=MAC_C, dst=MAC_S)
    # A SYN sent three times (same sequence number): one 'S', S0.
    t = Tcp(); t.c("S"); t.c("S", seq=1000); t.c("S", seq=1000)
    cases.append(tcp_case("syn_retries", t, "S0", "S", 0, 0))
    # A UDP query to a closed port and the ICMP port unreachable carrying
    # it back: the UDP flow (S0) and an ICMP flow of its own (Zeek: orig_p
    # type 3, resp_p code 3); the UDP header quoted in the ICMP error
    # makes no flow and counts no packet.
    q = IP(src=CLI, dst=SRV) / UDP(sport=40001, dport=9) / Raw(b"x" * 20)
    icmp = IP(src=SRV, dst=CLI) / ICMP(type=3, code=3) / bytes(q)
    cases.append(("icmp_unreachable", frames_of([e() / q, Ether(src=MAC_S, dst=MAC_C) / icmp]),
                  {"records": [udp_rec(CLI, 40001, SRV, 9, 0, 1, 20),
                               {"proto": "icmp", "id.orig_h": SRV, "id.orig_p": 3,
                                "id.resp_h": CLI, "id.resp_p": 3, "ts": ts_of(1),
                                "orig_pkts": 1, "orig_ip_bytes": len(icmp), "resp_pkts": 0,
                                "conn_state": "OTH"}]}))
    # UDP inactivity: a datagram, then the same five-tuple 2 minutes later
    # (Zeek's udp_inactivity_timeout is 1 min): two flows.
    d1 = e() / IP(src=CLI, dst=SRV) / UDP(sport=40002, dport=9999) / Raw(b"a" * 10)
    frames = [(T0, bytes(d1), None), (T0 + 120, bytes(d1), None)]
    cases.append(("udp_timeout", frames,
                  {"records": [udp_rec(CLI, 40002, SRV, 9999, 0, 1, 10),
                               dict(udp_rec(CLI, 40002, SRV, 9999, 0, 1, 10),
                                    ts=rfc3339(int(round((T0 + 120) * 1e6))))]}))
    # Memory pressure: 3000 UDP flows in a table of 64 KiB: the oldest are
    # evicted, counted, and each still gives its record.
    pk = [e() / IP(src=CLI, dst=SRV) / UDP(sport=20000 + i, dport=9999) / Raw(b"p")
          for i in range(3000)]
    cases.append(("flow_pressure", frames_of(pk),
                  {"records": [udp_rec(CLI, 20000 + i, SRV, 9999, i, 1, 1) for i in range(3000)],
                   "stats": {"evicted": {"min": 1}}, "args": ["--flow-mem", "65536"]}))
    return cases


def all_cases():
    return conn_states() + reordering() + fragments() + tags_and_tunnels() + snaplen() + more()


def write(d):
    os.makedirs(d, exist_ok=True)
    expect = {}
    for name, frames, e in all_cases():
        with open(os.path.join(d, name + ".pcap"), "wb") as f:
            f.write(pcap_bytes(frames, snaplen=e.get("snaplen", 65535)))
        e["packets"] = len(frames)
        e.setdefault("stats", {})["flows"] = len(e["records"])
        e["bytes"] = sum(len(x[1]) for x in frames)
        expect[name] = e
    with open(os.path.join(d, "expect.json"), "w") as f:
        json.dump(expect, f, indent=1, sort_keys=True)
    print("wrote %d cases to %s" % (len(expect), d))


def tshark_community_id(pcap):
    """tshark's Community ID v1 of the last frame (of a one-flow capture:
    the last frame, so a fragmented datagram's is that of the whole)."""
    try:
        r = subprocess.run(["tshark", "--enable-protocol", "communityid", "-n", "-r", pcap,
                            "-T", "fields", "-e", "communityid"],
                           capture_output=True, text=True)
    except OSError:
        return None
    ids = [l for l in r.stdout.splitlines() if l.strip()]
    return ids[-1] if ids else None


def field_ok(want, got):
    if isinstance(want, dict) and "re" in want:
        return isinstance(got, str) and re.search(want["re"], got) is not None
    if isinstance(want, dict) and "min" in want:
        return isinstance(got, int) and got >= want["min"]
    return want == got


def check_case(name, e, d):
    errs = []
    try:
        recs = [json.loads(l) for l in open(os.path.join(d, name + ".ndjson")) if l.strip()]
        # The analyzers' records (dns, http, ...) share the file.
        recs = [r for r in recs if r.get("type", "conn") == "conn"]
    except (OSError, ValueError) as x:
        return ["cannot read ward-sensor output: %s" % x]
    key = ("proto", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")
    protos = {"tcp", "udp"} | {w["proto"] for w in e["records"]}
    recs_tx = [r for r in recs if r.get("proto") in protos]
    if len(recs_tx) != len(e["records"]):
        errs.append("want %d %s record(s), got %d: %s" % (
            len(e["records"]), "/".join(sorted(protos)), len(recs_tx),
            " | ".join(json.dumps(r) for r in recs_tx[:10])))
    # Records by five-tuple, in file order (a five-tuple may repeat: VLANs,
    # a flow that ended and began again).
    left = {}
    for r in recs_tx:
        left.setdefault(tuple(r.get(k) for k in key), []).append(r)
    for w in e["records"]:
        cand = [r for r in left.get(tuple(w[k] for k in key), [])
                if "vlan" not in w or r.get("vlan") == w["vlan"]]
        if not cand:
            if len(errs) < 20:
                errs.append("no record %s %s:%s -> %s:%s%s; records: %s" % (
                    w["proto"], w["id.orig_h"], w["id.orig_p"], w["id.resp_h"], w["id.resp_p"],
                    " vlan %s" % w["vlan"] if "vlan" in w else "",
                    " | ".join("%s %s:%s -> %s:%s vlan %s" % tuple(r.get(k) for k in key + ("vlan",))
                               for r in recs_tx[:10])))
            continue
        r = cand[0]
        left[tuple(w[k] for k in key)].remove(r)
        for k, v in w.items():
            if k in key:
                continue
            if not field_ok(v, r.get(k)) and len(errs) < 20:
                errs.append("%s %s:%s -> %s:%s: %s: want %s, got %s" % (
                    w["proto"], w["id.orig_h"], w["id.orig_p"], w["id.resp_h"], w["id.resp_p"],
                    k, json.dumps(v), json.dumps(r.get(k))))
        if not re.match(r"^1:[A-Za-z0-9+/]{27}=$", r.get("community_id", "")):
            errs.append("community_id: got %s" % json.dumps(r.get("community_id")))
    if e.get("cid_tshark") and recs_tx:
        want = tshark_community_id(os.path.join(d, name + ".pcap"))
        if want is not None and recs_tx[0].get("community_id") != want:
            errs.append("community_id: tshark %s, ward %s" % (want, recs_tx[0].get("community_id")))
    for nr in e.get("no_records", []):
        bad = [r for r in recs if all(r.get(k) == v for k, v in nr.items())]
        if bad:
            errs.append("a record for the tunnel itself: %s" % json.dumps(bad[0]))
    try:
        lines = [l for l in open(os.path.join(d, name + ".stats")) if l.startswith("{")]
        st = json.loads(lines[-1])
    except (OSError, ValueError, IndexError) as x:
        return errs + ["no --stats summary: %s" % x]
    want_stats = dict(e.get("stats", {}))
    want_stats.update({"packets": e["packets"], "bytes": e["bytes"]})
    for k, v in want_stats.items():
        if not field_ok(v, st.get(k)):
            errs.append("stats %s: want %s, got %s" % (k, v, st.get(k)))
    if "decode_errors" in e:
        got = {k: v for k, v in (st.get("decode_errors") or {}).items() if v}
        if got != e["decode_errors"]:
            errs.append("decode_errors: want %s, got %s" % (e["decode_errors"], got))
    return errs


def check(d):
    expect = json.load(open(os.path.join(d, "expect.json")))
    failed = 0
    for name in sorted(expect):
        errs = check_case(name, expect[name], d)
        if errs:
            failed += 1
            print("FAIL %s" % name)
            for x in errs:
                print("     %s" % x)
        else:
            print("ok   %s" % name)
    print("%d of %d crafted cases as expected" % (len(expect) - failed, len(expect)))
    return 1 if failed else 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        sys.stderr.write(__doc__)
        return 2
    if sys.argv[1] == "write":
        write(sys.argv[2])
        return 0
    return check(sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
