#!/usr/bin/python3
"""Compares ward-sensor's conn records with tshark's conversation statistics.

    conv_compare.py [--ether-overhead 14] [--tshark tshark] PCAP CONN.ndjson

The oracle is tshark (Wireshark) reading the same capture:
  - `tshark -q -z conv,tcp` and `-z conv,udp`: the conversations and, per
    direction, their frames and frame bytes. tshark prints bytes over
    10,000 in truncated kB (MB ...), so
  - `tshark -T fields` of every TCP and UDP packet gives the exact frame
    bytes, IP bytes and payload bytes per direction; its sums must print
    as the conversation table does (checked, so both views agree).
Asserted, per TCP and UDP conversation, matched to one ward record by its
endpoint pair (tshark's A/B order is not ward's orig/resp):
  - the same set of flows: none missing, none extra, none twice;
  - packets per direction;
  - frame bytes per direction == ward's ip_bytes + OVERHEAD * packets,
    exactly (OVERHEAD = 14 for untagged Ethernet without padding: a
    capture on a veth, where short frames are not padded to 60 bytes);
  - IP bytes per direction == ward's orig_ip_bytes / resp_ip_bytes;
  - payload bytes per direction == ward's orig_bytes / resp_bytes (UDP:
    the sum of udp.length - 8; TCP: the sequence number span, the highest
    tshark relative tcp.seq + tcp.len of a segment with payload, less the
    SYN's one; every flow here starts with a SYN);
  - community_id == tshark's Community ID v1 (its communityid protocol)
    of the flow's packets; for ICMP records, one of the ICMP packets'
    between the two hosts.
Prints every disagreement with the flow and both numbers; exit 1 if any,
2 on a usage or tshark error, 0 when all agree.
"""
import argparse
import ipaddress
import json
import re
import subprocess
import sys
from collections import defaultdict

CONV_LINE = re.compile(
    r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+"
    r"(\d+)\s+(\d+)\s+(bytes|kB|MB|GB|TB)\s+"   # <- : frames, bytes B -> A
    r"(\d+)\s+(\d+)\s+(bytes|kB|MB|GB|TB)\s+"   # -> : frames, bytes A -> B
    r"(\d+)\s+(\d+)\s+(bytes|kB|MB|GB|TB)\s+"   # total
    r"(\S+)\s+(\S+)\s*$")
UNITS = {"bytes": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def addr(s):
    return ipaddress.ip_address(s.strip("[]"))


def tshark_lines(tshark, args):
    r = subprocess.run([tshark] + args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        sys.exit(2)
    return r.stdout.splitlines()


def shown_size(n):
    """How tshark 4.0 prints a byte count (format_size, SI prefixes:
    the largest unit whose value is at least 10, truncated)."""
    for unit in ("TB", "GB", "MB", "kB"):
        if n // UNITS[unit] >= 10:
            return n // UNITS[unit], unit
    return n, "bytes"


def read_conv(tshark, pcap, proto):
    """{key: [conv, ...]} with key (proto, (addrA, portA), (addrB, portB))
    sorted so that both orders give one key; conv holds A, B and per
    direction (ab, ba) frames and shown bytes."""
    convs = defaultdict(list)
    for line in tshark_lines(tshark, ["-n", "-r", pcap, "-q", "-z", "conv," + proto]):
        m = CONV_LINE.match(line)
        if not m:
            if "<->" in line:
                sys.stderr.write("conv_compare: cannot parse tshark line: %s\n" % line)
                sys.exit(2)
            continue
        a = (addr(m.group(1)), int(m.group(2)))
        b = (addr(m.group(3)), int(m.group(4)))
        conv = {
            "a": a, "b": b,
            "ba_frames": int(m.group(5)), "ba_shown": (int(m.group(6)), m.group(7)),
            "ab_frames": int(m.group(8)), "ab_shown": (int(m.group(9)), m.group(10)),
            "start": float(m.group(14)),
        }
        convs[(proto,) + tuple(sorted([a, b]))].append(conv)
    return convs


FIELDS = ["frame.len", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.len",
          "ipv6.plen", "tcp.srcport", "tcp.dstport", "tcp.len", "tcp.seq", "udp.srcport",
          "udp.dstport", "udp.length", "communityid"]


def read_packets(tshark, pcap):
    """Exact per-direction sums: {(proto, src, dst): [frames, frame bytes,
    ip bytes, payload bytes, community ids]} with src/dst (address, port);
    TCP payload bytes are the sequence number span, as Zeek counts them
    (a retransmission adds nothing). Packets inside ICMP errors are not
    flows of their own and are left out."""
    sums = defaultdict(lambda: [0, 0, 0, 0, set()])
    args = ["--enable-protocol", "communityid", "-n", "-r", pcap, "-Y", "(tcp or udp) and not icmp and not icmpv6",
            "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for f in FIELDS:
        args += ["-e", f]
    for line in tshark_lines(tshark, args):
        v = dict(zip(FIELDS, line.split("\t")))
        if v["ip.src"]:
            src, dst, ip_len = v["ip.src"], v["ip.dst"], int(v["ip.len"])
        else:
            src, dst, ip_len = v["ipv6.src"], v["ipv6.dst"], int(v["ipv6.plen"]) + 40
        if v["tcp.srcport"]:
            # tshark's relative sequence numbers: the first payload byte
            # after the SYN is 1, so the highest byte sent is the span.
            proto, sp, dp = "tcp", v["tcp.srcport"], v["tcp.dstport"]
            # Packets without payload may carry seq past a FIN.
            n = int(v["tcp.len"])
            pay = int(v["tcp.seq"]) + n - 1 if n > 0 else 0
        else:
            proto, sp, dp, pay = "udp", v["udp.srcport"], v["udp.dstport"], int(v["udp.length"]) - 8
        s = sums[(proto, (addr(src), int(sp)), (addr(dst), int(dp)))]
        s[0] += 1
        s[1] += int(v["frame.len"])
        s[2] += ip_len
        s[3] = max(s[3], pay) if proto == "tcp" else s[3] + pay
        if v["communityid"]:
            s[4].add(v["communityid"])
    return sums


def read_icmp_ids(tshark, pcap):
    """{(src, dst): {community ids}} of ICMP and ICMPv6 packets."""
    ids = defaultdict(set)
    args = ["--enable-protocol", "communityid", "-n", "-r", pcap, "-Y", "icmp or icmpv6",
            "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f",
            "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "communityid"]
    for line in tshark_lines(tshark, args):
        f = line.split("\t")
        src, dst = (f[0], f[1]) if f[0] else (f[2], f[3])
        if f[4]:
            ids[(addr(src), addr(dst))].add(f[4])
    return ids


def read_conn(path, icmp=None):
    recs = defaultdict(list)
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except ValueError as e:
                sys.stderr.write("conv_compare: %s:%d: %s\n" % (path, n, e))
                sys.exit(2)
            # The analyzers' records (dns, http, ...) share the file.
            if r.get("type", "conn") != "conn":
                continue
            if r.get("proto") == "icmp" and icmp is not None:
                icmp.append(r)
            if r.get("proto") not in ("tcp", "udp"):
                continue
            o = (addr(r["id.orig_h"]), int(r["id.orig_p"]))
            p = (addr(r["id.resp_h"]), int(r["id.resp_p"]))
            recs[(r["proto"],) + tuple(sorted([o, p]))].append(r)
    return recs


def ep(e):
    a, p = e
    return ("[%s]:%d" if a.version == 6 else "%s:%d") % (a, p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ether-overhead", type=int, default=14,
                    help="frame bytes - IP bytes per packet (default 14)")
    ap.add_argument("--tshark", default="tshark")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("pcap")
    ap.add_argument("conn")
    a = ap.parse_args()

    convs = read_conv(a.tshark, a.pcap, "tcp")
    convs.update(read_conv(a.tshark, a.pcap, "udp"))
    sums = read_packets(a.tshark, a.pcap)
    icmp_recs = []
    recs = read_conn(a.conn, icmp_recs)
    icmp_ids = read_icmp_ids(a.tshark, a.pcap)
    errors = []

    def err(msg):
        errors.append(msg)
        print("MISMATCH " + msg)

    matched = 0
    for key in sorted(set(convs) | set(recs), key=str):
        cl, rl = convs.get(key, []), recs.get(key, [])
        name = "%s %s <-> %s" % (key[0], ep(key[1]), ep(key[2]))
        if len(cl) != len(rl):
            err("%s: tshark has %d conversation(s), ward %d record(s)%s" % (
                name, len(cl), len(rl),
                "".join("\n    ward: " + json.dumps(r) for r in rl)))
            continue
        if len(cl) > 1:
            err("%s: %d flows on one endpoint pair; cannot tell them apart" % (name, len(cl)))
            continue
        c, r = cl[0], rl[0]
        matched += 1
        o = (addr(r["id.orig_h"]), int(r["id.orig_p"]))
        # tshark A -> B is ward's orig -> resp when A is the originator.
        ab_is_orig = o == c["a"]
        dirs = {
            "orig": (c["ab_frames"] if ab_is_orig else c["ba_frames"],
                     c["ab_shown"] if ab_is_orig else c["ba_shown"],
                     sums.get((key[0], o, c["b"] if ab_is_orig else c["a"]))),
            "resp": (c["ba_frames"] if ab_is_orig else c["ab_frames"],
                     c["ba_shown"] if ab_is_orig else c["ab_shown"],
                     sums.get((key[0], c["b"] if ab_is_orig else c["a"], o))),
        }
        for d, (frames, shown, s) in dirs.items():
            s = s or [0, 0, 0, 0]
            pkts, ipb, pay = r.get(d + "_pkts"), r.get(d + "_ip_bytes"), r.get(d + "_bytes")
            if s[0] != frames or shown_size(s[1]) != shown:
                err("%s %s: tshark's table (%d frames, %d %s) and its packets (%d, %d bytes) "
                    "disagree" % (name, d, frames, shown[0], shown[1], s[0], s[1]))
            if pkts != frames:
                err("%s %s_pkts: tshark %d, ward %s" % (name, d, frames, pkts))
            if not isinstance(ipb, int) or s[1] != ipb + a.ether_overhead * frames:
                err("%s %s: tshark frame bytes %d, ward %s_ip_bytes %s + %d * %d packets = %s"
                    % (name, d, s[1], d, ipb, a.ether_overhead, frames,
                       ipb + a.ether_overhead * frames if isinstance(ipb, int) else "?"))
            elif s[2] != ipb:
                err("%s %s_ip_bytes: tshark %d, ward %d" % (name, d, s[2], ipb))
            if pay != s[3]:
                err("%s %s_bytes (payload): tshark %d, ward %s (history %s)"
                    % (name, d, s[3], pay, r.get("history")))
        ids = set()
        for d in dirs.values():
            ids |= (d[2] or [0, 0, 0, 0, set()])[4]
        if ids != {r.get("community_id")}:
            err("%s community_id: tshark %s, ward %s" % (name, sorted(ids), r.get("community_id")))
        if a.verbose:
            print("ok %s: orig %d/%d resp %d/%d" % (name, r["orig_pkts"], r["orig_ip_bytes"],
                                                   r["resp_pkts"], r["resp_ip_bytes"]))

    for r in icmp_recs:
        o, p = addr(r["id.orig_h"]), addr(r["id.resp_h"])
        ids = icmp_ids.get((o, p), set()) | icmp_ids.get((p, o), set())
        # tshark 4.0 gives no Community ID to some ICMPv6 the kernel sends
        # by itself (MLD reports, type 143, behind a hop-by-hop header);
        # the echoes the tests send always get one.
        if not ids and r.get("id.orig_p") not in (0, 8, 128, 129):
            continue
        if r.get("community_id") not in ids:
            err("icmp %s -> %s type %s code %s community_id: tshark %s, ward %s" % (
                o, p, r.get("id.orig_p"), r.get("id.resp_p"), sorted(ids), r.get("community_id")))

    n_tcp = sum(len(v) for k, v in convs.items() if k[0] == "tcp")
    n_udp = sum(len(v) for k, v in convs.items() if k[0] == "udp")
    w_tcp = sum(len(v) for k, v in recs.items() if k[0] == "tcp")
    w_udp = sum(len(v) for k, v in recs.items() if k[0] == "udp")
    print("conv_compare: tshark %d TCP + %d UDP conversations, ward %d TCP + %d UDP records, "
          "%d matched, %d mismatches" % (n_tcp, n_udp, w_tcp, w_udp, matched, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
