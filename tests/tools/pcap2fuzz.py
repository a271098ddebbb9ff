#!/usr/bin/python3
"""pcap2fuzz: turns a pcap (Ethernet) into seeds for tests/fuzz/fuzz_sensor.c.

    pcap2fuzz.py CAPTURE OUTDIR [--prefix NAME] [--max-bytes N]

Each TCP or UDP conversation (both directions, by address and port pair)
becomes one seed file, its frames in capture order, each preceded by the
target's 4-byte header: the frame length (u16, big-endian) and the ms since
the conversation's previous frame (u16, big-endian, capped). Other frames
(ICMP, ...) go to one more seed. Seeds over --max-bytes (default 65536)
keep their first frames only: the fuzzer's mutations work best on small
inputs, and the start of a conversation is what detection needs.
"""
import argparse
import os
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            sys.exit("pcap2fuzz: %s: not a pcap file" % path)
        magic = struct.unpack("<I", hdr[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            end = "<"
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            end = ">"
        else:
            sys.exit("pcap2fuzz: %s: not a pcap file (pcapng: convert with editcap -F pcap)" % path)
        nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
        if struct.unpack(end + "I", hdr[20:24])[0] != 1:
            sys.exit("pcap2fuzz: %s: not Ethernet" % path)
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                return
            sec, frac, incl, _orig = struct.unpack(end + "IIII", rh)
            yield sec * 1000000 + (frac // 1000 if nano else frac), f.read(incl)


def conv_key(fr):
    """(proto, sorted endpoints) of an Ethernet/VLAN/IPv4/IPv6 frame, or None."""
    off, et = 12, None
    while off + 2 <= len(fr):
        et = struct.unpack(">H", fr[off:off + 2])[0]
        if et in (0x8100, 0x88A8):
            off += 4
            continue
        off += 2
        break
    if et == 0x0800 and off + 20 <= len(fr):
        ihl = (fr[off] & 15) * 4
        proto, src, dst = fr[off + 9], fr[off + 12:off + 16], fr[off + 16:off + 20]
        l4 = off + ihl
    elif et == 0x86DD and off + 40 <= len(fr):
        proto, src, dst = fr[off + 6], fr[off + 8:off + 24], fr[off + 24:off + 40]
        l4 = off + 40
    else:
        return None
    if proto not in (6, 17) or l4 + 4 > len(fr):
        return None
    sp, dp = struct.unpack(">HH", fr[l4:l4 + 4])
    return (proto,) + tuple(sorted([(src, sp), (dst, dp)]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("outdir")
    ap.add_argument("--prefix", default="seed")
    ap.add_argument("--max-bytes", type=int, default=65536)
    a = ap.parse_args()
    convs, order = {}, []
    for ts, fr in frames(a.capture):
        k = conv_key(fr)
        if k not in convs:
            convs[k] = []
            order.append(k)
        convs[k].append((ts, fr))
    os.makedirs(a.outdir, exist_ok=True)
    for i, k in enumerate(order):
        out, last = bytearray(), None
        for ts, fr in convs[k]:
            fr = fr[:65535]
            dt = 0 if last is None else min(max(ts - last, 0) // 1000, 65535)
            last = ts
            if out and len(out) + 4 + len(fr) > a.max_bytes:
                break
            out += struct.pack(">HH", len(fr), dt) + fr
        name = "%s-%02d-%s" % (a.prefix, i, "other" if k is None else ("tcp" if k[0] == 6 else "udp"))
        with open(os.path.join(a.outdir, name), "wb") as f:
            f.write(out)
    print("pcap2fuzz: %d seeds in %s" % (len(order), a.outdir))


if __name__ == "__main__":
    main()
