/* decode: captured frames to struct pkt (see decode.h).
 *
 * The frame is walked once, outermost layer first, by functions that each
 * take the bytes captured (`cap`) and the bytes the layers above say were
 * sent (`wire`) from their header on, and check `cap` before every read.
 * Tunnels recurse into the same functions with the depth bounded, so the
 * inner packet is decoded exactly like an outer one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "frag.h"

#define DEFAULT_FRAG_MEM      (16u << 20)
#define DEFAULT_FRAG_TIMEOUT  30000u

#define ETH_HLEN        14
#define SNAP_HLEN       8       /* LLC (3) + SNAP OUI (3) + type (2) */
#define SLL_HLEN        16
#define SLL2_HLEN       20
#define IPV4_HLEN       20
#define IPV6_HLEN       40
#define TCP_HLEN        20
#define UDP_HLEN        8
#define ICMP_HLEN       8
#define VXLAN_HLEN      8
#define ERSPAN2_HLEN    8
#define ERSPAN3_HLEN    12
#define ERSPAN3_SUBHLEN 8
#define IPV6_MAX_EXT    16      /* extension headers walked per packet */

#define ETHERTYPE_IPV4   0x0800
#define ETHERTYPE_VLAN   0x8100
#define ETHERTYPE_QINQ   0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_IPV6   0x86dd
#define ETHERTYPE_MPLS   0x8847
#define ETHERTYPE_MPLS_MC 0x8848
#define ETHERTYPE_TEB    0x6558 /* transparent Ethernet bridging (GRE) */
#define ETHERTYPE_ERSPAN2 0x88be
#define ETHERTYPE_ERSPAN3 0x22eb
#define ETHERTYPE_PPPOE  0x8864 /* PPPoE session stage, RFC 2516 */
#define PPPOE_HLEN       8      /* with the 2-byte PPP protocol */
#define PPP_IPV4         0x0021
#define PPP_IPV6         0x0057

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ICMP_    1
#define IPPROTO_TCP_     6
#define IPPROTO_UDP_     17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_GRE_     47
#define IPPROTO_AH_      51
#define IPPROTO_ICMPV6_  58
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_MH_      135
#define IPPROTO_HIP_     139
#define IPPROTO_SHIM6_   140

#define GRE_C    0x8000
#define GRE_R    0x4000
#define GRE_K    0x2000
#define GRE_S    0x1000
#define GRE_VER  0x0007

struct decoder {
	struct decode_stats stats;
	struct frag_table *frag;
	/* The table holds datagrams or handed-out buffers: only then does a
	 * frame pay for the calls into it. */
	bool frag_busy;
};

/* One frame's walk. */
struct walk {
	struct decoder *d;
	struct pkt *out;
	unsigned depth;          /* tunnels entered */
	enum decode_reject reason;
};

static const char *const reject_names[DECODE_R_MAX] = {
	[DECODE_R_TRUNCATED_LINK] = "truncated_link",
	[DECODE_R_UNSUPPORTED_LINKTYPE] = "unsupported_linktype",
	[DECODE_R_UNSUPPORTED_ETHERTYPE] = "unsupported_ethertype",
	[DECODE_R_TOO_MANY_TAGS] = "too_many_tags",
	[DECODE_R_TRUNCATED_IP] = "truncated_ip",
	[DECODE_R_BAD_IP_VERSION] = "bad_ip_version",
	[DECODE_R_BAD_IP_HEADER] = "bad_ip_header",
	[DECODE_R_BAD_IPV6_EXT] = "bad_ipv6_ext",
	[DECODE_R_FRAG_OVERLAP] = "frag_overlap",
	[DECODE_R_FRAG_MEMORY] = "frag_memory",
	[DECODE_R_FRAG_TIMEOUT] = "frag_timeout",
	[DECODE_R_FRAG_TOO_BIG] = "frag_too_big",
	[DECODE_R_TRUNCATED_L4] = "truncated_l4",
	[DECODE_R_BAD_TCP_HEADER] = "bad_tcp_header",
	[DECODE_R_BAD_UDP_LENGTH] = "bad_udp_length",
	[DECODE_R_BAD_TUNNEL] = "bad_tunnel",
	[DECODE_R_TUNNEL_DEPTH] = "tunnel_depth",
};

const char *decode_reject_name(enum decode_reject r)
{
	if ((unsigned)r >= DECODE_R_MAX)
		return "unknown";
	return reject_names[r];
}

int decoder_create(struct decoder **out, const struct decode_config *cfg)
{
	size_t mem = DEFAULT_FRAG_MEM;
	uint32_t timeout = DEFAULT_FRAG_TIMEOUT;
	struct decoder *d;

	*out = NULL;
	if (cfg != NULL && cfg->frag_mem_max != 0)
		mem = cfg->frag_mem_max;
	if (cfg != NULL && cfg->frag_timeout_ms != 0)
		timeout = cfg->frag_timeout_ms;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	if (frag__create(&d->frag, mem, timeout) != 0) {
		free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void decoder_destroy(struct decoder *d)
{
	if (d == NULL)
		return;
	frag__destroy(d->frag);
	free(d);
}

const struct decode_stats *decoder_stats(const struct decoder *d)
{
	return &d->stats;
}

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static int reject(struct walk *w, enum decode_reject r)
{
	w->reason = r;
	return DECODE_REJECTED;
}

static int decode_ethertype(struct walk *w, uint16_t type, const uint8_t *p,
			    uint32_t cap, uint32_t wire);
static int decode_ip_nibble(struct walk *w, const uint8_t *p, uint32_t cap, uint32_t wire,
			    enum decode_reject otherwise);

/* ---- transport and tunnels ------------------------------------------------ */

static int decode_ether(struct walk *w, const uint8_t *p, uint32_t cap, uint32_t wire)
{
	uint16_t type;

	if (cap < ETH_HLEN)
		return reject(w, DECODE_R_TRUNCATED_LINK);
	type = be16(p + 12);
	/* An 802.3 length instead of a type: IP only in an LLC SNAP header
	 * with a zero OUI (RFC 1042); STP, CDP and the like are not IP. */
	if (type < 0x0600) {
		if (cap < ETH_HLEN + SNAP_HLEN)
			return reject(w, DECODE_R_TRUNCATED_LINK);
		if (be32(p + ETH_HLEN) != 0xaaaa0300 || p[ETH_HLEN + 4] || p[ETH_HLEN + 5])
			return reject(w, DECODE_R_UNSUPPORTED_ETHERTYPE);
		return decode_ethertype(w, be16(p + ETH_HLEN + 6), p + ETH_HLEN + SNAP_HLEN,
					cap - ETH_HLEN - SNAP_HLEN, wire - ETH_HLEN - SNAP_HLEN);
	}
	return decode_ethertype(w, type, p + ETH_HLEN, cap - ETH_HLEN, wire - ETH_HLEN);
}

static int tunnel_enter(struct walk *w, enum pkt_tunnel kind)
{
	if (w->depth == DECODE_MAX_TUNNEL_DEPTH)
		return reject(w, DECODE_R_TUNNEL_DEPTH);
	if (w->depth++ == 0)
		w->out->tunnel = (uint8_t)kind;
	return DECODE_OK;
}

/* ERSPAN type II (8-byte header, version 1 or 0) and type III (12 bytes,
 * version 2, then an 8-byte platform-specific sub-header when its O bit is
 * set); the mirrored frame follows (type III frame type 2: an IP packet). */
static int decode_erspan(struct walk *w, uint16_t type, const uint8_t *p, uint32_t cap,
			 uint32_t wire)
{
	uint32_t hl = ERSPAN2_HLEN;
	unsigned ver;

	if (cap < ERSPAN2_HLEN)
		return reject(w, DECODE_R_BAD_TUNNEL);
	ver = p[0] >> 4;
	if (type == ETHERTYPE_ERSPAN2) {
		/* Version 1; 0 is taken too, as scapy writes it by default
		 * and the header is laid out the same. */
		if (ver > 1)
			return reject(w, DECODE_R_BAD_TUNNEL);
		return decode_ether(w, p + hl, cap - hl, wire - hl);
	}
	if (ver != 2 || cap < ERSPAN3_HLEN)
		return reject(w, DECODE_R_BAD_TUNNEL);
	hl = ERSPAN3_HLEN;
	if (p[11] & 0x01) {
		hl += ERSPAN3_SUBHLEN;
		if (cap < hl)
			return reject(w, DECODE_R_BAD_TUNNEL);
	}
	switch ((p[10] >> 2) & 0x1f) { /* frame type */
	case 0:
		return decode_ether(w, p + hl, cap - hl, wire - hl);
	case 2:
		return decode_ip_nibble(w, p + hl, cap - hl, wire - hl, DECODE_R_BAD_TUNNEL);
	default:
		return reject(w, DECODE_R_BAD_TUNNEL);
	}
}

/* GRE, RFC 2784 with RFC 2890's key and sequence number. */
static int decode_gre(struct walk *w, const uint8_t *p, uint32_t cap, uint32_t wire)
{
	uint16_t flags, type;
	uint32_t hl = 4;
	enum pkt_tunnel kind = PKT_TUNNEL_GRE;
	int rc;

	if (cap < 4)
		return reject(w, DECODE_R_BAD_TUNNEL);
	flags = be16(p);
	type = be16(p + 2);
	if ((flags & GRE_VER) == 1)
		return reject(w, DECODE_R_UNSUPPORTED_ETHERTYPE); /* PPTP */
	if ((flags & GRE_VER) != 0 || (flags & GRE_R))
		return reject(w, DECODE_R_BAD_TUNNEL);
	hl += (flags & GRE_C ? 4 : 0) + (flags & GRE_K ? 4 : 0) + (flags & GRE_S ? 4 : 0);
	if (cap < hl || wire < hl)
		return reject(w, DECODE_R_BAD_TUNNEL);
	if (type == ETHERTYPE_ERSPAN2)
		kind = PKT_TUNNEL_ERSPAN2;
	else if (type == ETHERTYPE_ERSPAN3)
		kind = PKT_TUNNEL_ERSPAN3;
	rc = tunnel_enter(w, kind);
	if (rc != DECODE_OK)
		return rc;
	p += hl;
	cap -= hl;
	wire -= hl;
	switch (type) {
	case ETHERTYPE_TEB:
		return decode_ether(w, p, cap, wire);
	case ETHERTYPE_ERSPAN2:
		/* Type I has no sequence number and no ERSPAN header. */
		if (!(flags & GRE_S))
			return decode_ether(w, p, cap, wire);
		return decode_erspan(w, type, p, cap, wire);
	case ETHERTYPE_ERSPAN3:
		return decode_erspan(w, type, p, cap, wire);
	default:
		/* IPv4, IPv6, MPLS; VLAN tags are odd here but harmless. */
		return decode_ethertype(w, type, p, cap, wire);
	}
}

/* VXLAN, RFC 7348 5: flags (I = 0x08), 24 reserved bits, VNI, reserved. */
static int decode_vxlan(struct walk *w, const uint8_t *p, uint32_t cap, uint32_t wire)
{
	int rc;

	if (cap < VXLAN_HLEN || !(p[0] & 0x08))
		return reject(w, DECODE_R_BAD_TUNNEL);
	rc = tunnel_enter(w, PKT_TUNNEL_VXLAN);
	if (rc != DECODE_OK)
		return rc;
	return decode_ether(w, p + VXLAN_HLEN, cap - VXLAN_HLEN, wire - VXLAN_HLEN);
}

static void set_payload(struct pkt *out, const uint8_t *p, uint32_t cap, uint32_t wire)
{
	out->payload = p;
	out->payload_len = cap;
	out->payload_wire_len = wire;
}

/* The transport header at `p`: `cap` bytes captured of the `wire` bytes
 * the IP header says follow it. */
static int decode_l4(struct walk *w, uint8_t proto, const uint8_t *p, uint32_t cap,
		     uint32_t wire)
{
	struct pkt *out = w->out;
	uint32_t hl;

	out->proto = proto;
	out->sport = out->dport = 0;
	out->tcp_flags = 0;
	out->seq = out->ack = 0;
	out->window = 0;
	switch (proto) {
	case IPPROTO_TCP_:
		if (wire < TCP_HLEN)
			return reject(w, DECODE_R_BAD_TCP_HEADER);
		if (cap < TCP_HLEN)
			return reject(w, DECODE_R_TRUNCATED_L4);
		hl = (uint32_t)(p[12] >> 4) * 4;
		if (hl < TCP_HLEN || hl > wire)
			return reject(w, DECODE_R_BAD_TCP_HEADER);
		if (hl > cap)
			return reject(w, DECODE_R_TRUNCATED_L4);
		out->sport = be16(p);
		out->dport = be16(p + 2);
		out->seq = be32(p + 4);
		out->ack = be32(p + 8);
		out->tcp_flags = p[13];
		out->window = be16(p + 14);
		set_payload(out, p + hl, cap - hl, wire - hl);
		return DECODE_OK;
	case IPPROTO_UDP_: {
		uint32_t ulen;

		if (cap < UDP_HLEN)
			return reject(w, wire < UDP_HLEN ? DECODE_R_BAD_UDP_LENGTH
							 : DECODE_R_TRUNCATED_L4);
		ulen = be16(p + 4);
		if (ulen < UDP_HLEN || ulen > wire)
			return reject(w, DECODE_R_BAD_UDP_LENGTH);
		out->sport = be16(p);
		out->dport = be16(p + 2);
		cap = min32(cap, ulen);
		set_payload(out, p + UDP_HLEN, cap - UDP_HLEN, ulen - UDP_HLEN);
		if (out->dport == DECODE_VXLAN_PORT)
			return decode_vxlan(w, p + UDP_HLEN, cap - UDP_HLEN, ulen - UDP_HLEN);
		return DECODE_OK;
	}
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		if (cap < ICMP_HLEN)
			return reject(w, DECODE_R_TRUNCATED_L4);
		out->sport = p[0];
		out->dport = p[1];
		set_payload(out, p + ICMP_HLEN, cap - ICMP_HLEN,
			    wire >= ICMP_HLEN ? wire - ICMP_HLEN : 0);
		return DECODE_OK;
	case IPPROTO_GRE_:
		set_payload(out, p, cap, wire);
		return decode_gre(w, p, cap, wire);
	default:
		set_payload(out, p, cap, wire);
		return DECODE_OK;
	}
}

/* ---- IPv4 ------------------------------------------------------------------ */

static void fill_key(struct frag_key *k, const struct pkt *out, uint32_t id, uint8_t proto)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->src, out->src, 16);
	memcpy(k->dst, out->dst, 16);
	k->id = id;
	k->vlan = out->vlan;
	k->inner_vlan = out->inner_vlan;
	k->version = out->ip_version;
	k->proto = proto;
}

static int frag_result(struct walk *w, int rc, const struct frag_out *fo)
{
	w->d->frag_busy = true;
	if (rc == FRAG_HELD)
		return DECODE_HELD;
	if (rc == FRAG_DROPPED)
		return reject(w, (enum decode_reject)fo->reason);
	w->out->fragmented = true;
	w->out->ttl = fo->ttl;
	w->out->ip_len = (uint32_t)fo->hdr_len + fo->len;
	return DECODE_OK;
}

static int decode_ipv4(struct walk *w, const uint8_t *p, uint32_t cap, uint32_t wire)
{
	struct pkt *out = w->out;
	uint32_t hl, tot, off;
	uint16_t fo;

	if (cap < IPV4_HLEN)
		return reject(w, DECODE_R_TRUNCATED_IP);
	if (p[0] >> 4 != 4)
		return reject(w, DECODE_R_BAD_IP_VERSION);
	hl = (uint32_t)(p[0] & 0x0f) * 4;
	tot = be16(p + 2);
	/* Segmentation offload leaves 0 in frames captured on the sender. */
	if (tot == 0)
		tot = min32(wire, 0xffff);
	if (hl < IPV4_HLEN || tot < hl || tot > wire)
		return reject(w, DECODE_R_BAD_IP_HEADER);
	if (hl > cap)
		return reject(w, DECODE_R_TRUNCATED_IP);
	cap = min32(cap, tot); /* Ethernet padding is not part of the packet */
	out->ip_version = 4;
	out->ttl = p[8];
	memcpy(out->src, p + 12, 4);
	memset(out->src + 4, 0, 12);
	memcpy(out->dst, p + 16, 4);
	memset(out->dst + 4, 0, 12);
	out->ip_len = tot;
	fo = be16(p + 6);
	off = (uint32_t)(fo & 0x1fff) * 8;
	if (off != 0 || (fo & 0x2000)) {
		struct frag_in in;
		struct frag_out fout;
		int rc;

		w->d->stats.fragments++;
		out->proto = p[9];
		if (cap < tot)
			return reject(w, DECODE_R_TRUNCATED_IP);
		if ((fo & 0x2000) && (tot - hl) % 8 != 0)
			return reject(w, DECODE_R_BAD_IP_HEADER);
		if (hl + off + (tot - hl) > 0xffff)
			return reject(w, DECODE_R_FRAG_TOO_BIG);
		fill_key(&in.key, out, be16(p + 4), p[9]);
		in.ts_us = out->ts_us;
		in.data = p + hl;
		in.offset = off;
		in.len = tot - hl;
		in.more = (fo & 0x2000) != 0;
		in.hdr_len = hl;
		in.ttl = p[8];
		in.proto = p[9];
		rc = frag_result(w, frag__insert(w->d->frag, &in, &fout, &w->d->stats), &fout);
		if (rc != DECODE_OK)
			return rc;
		return decode_l4(w, fout.proto, fout.data, fout.len, fout.len);
	}
	return decode_l4(w, p[9], p + hl, cap - hl, tot - hl);
}

/* ---- IPv6 ------------------------------------------------------------------ */

static bool ipv6_ext(uint8_t nh)
{
	switch (nh) {
	case IPPROTO_HOPOPTS_:
	case IPPROTO_ROUTING_:
	case IPPROTO_FRAGMENT_:
	case IPPROTO_AH_:
	case IPPROTO_DSTOPTS_:
	case IPPROTO_MH_:
	case IPPROTO_HIP_:
	case IPPROTO_SHIM6_:
		return true;
	default:
		return false;
	}
}

/* Walks the extension headers from `*off` while they are ones this
 * decoder skips (not the fragment header); leaves *nh at the next header
 * and *off past the walked ones. `first` says whether a hop-by-hop header
 * may come (only right after the fixed header, RFC 8200 4.3). */
static int ipv6_skip_ext(struct walk *w, const uint8_t *p, uint32_t cap, uint32_t wire,
			 uint8_t *nh, uint32_t *off, bool first, unsigned *n)
{
	while (ipv6_ext(*nh) && *nh != IPPROTO_FRAGMENT_) {
		uint32_t hl;

		if (*nh == IPPROTO_HOPOPTS_ && !(first && *off == IPV6_HLEN))
			return reject(w, DECODE_R_BAD_IPV6_EXT);
		if (++*n > IPV6_MAX_EXT || wire - *off < 2)
			return reject(w, DECODE_R_BAD_IPV6_EXT);
		if (cap - *off < 2)
			return reject(w, DECODE_R_TRUNCATED_IP);
		if (*nh == IPPROTO_AH_)
			hl = ((uint32_t)p[*off + 1] + 2) * 4; /* RFC 4302 2.2 */
		else
			hl = ((uint32_t)p[*off + 1] + 1) * 8;
		if (hl > wire - *off)
			return reject(w, DECODE_R_BAD_IPV6_EXT);
		if (hl > cap - *off)
			return reject(w, DECODE_R_TRUNCATED_IP);
		*nh = p[*off];
		*off += hl;
	}
	return DECODE_OK;
}

static int decode_frag6(struct walk *w, const uint8_t *p, uint32_t off, uint32_t cap,
			uint32_t tot)
{
	struct pkt *out = w->out;
	const uint8_t *fh = p + off;
	uint32_t foff = be16(fh + 2) & 0xfff8, len;
	bool more = fh[3] & 0x01;
	struct frag_in in;
	struct frag_out fout;
	uint32_t o = 0;
	unsigned n = 0;
	uint8_t nh;
	int rc;

	w->d->stats.fragments++;
	out->proto = fh[0];
	if (cap < tot)
		return reject(w, DECODE_R_TRUNCATED_IP);
	len = tot - off - 8;
	if (more && len % 8 != 0)
		return reject(w, DECODE_R_BAD_IPV6_EXT);
	if ((off - IPV6_HLEN) + foff + len > 0xffff)
		return reject(w, DECODE_R_FRAG_TOO_BIG);
	fill_key(&in.key, out, be32(fh + 4), 0);
	in.ts_us = out->ts_us;
	in.data = fh + 8;
	in.offset = foff;
	in.len = len;
	in.more = more;
	in.hdr_len = off;
	in.ttl = p[7];
	in.proto = fh[0];
	rc = frag_result(w, frag__insert(w->d->frag, &in, &fout, &w->d->stats), &fout);
	if (rc != DECODE_OK)
		return rc;
	/* The fragmentable part may open with more extension headers; a
	 * second fragment header in it is not followed. */
	nh = fout.proto;
	rc = ipv6_skip_ext(w, fout.data, fout.len, fout.len, &nh, &o, false, &n);
	if (rc != DECODE_OK)
		return rc;
	if (nh == IPPROTO_FRAGMENT_)
		return reject(w, DECODE_R_BAD_IPV6_EXT);
	return decode_l4(w, nh, fout.data + o, fout.len - o, fout.len - o);
}

static int decode_ipv6(struct walk *w, const uint8_t *p, uint32_t cap, uint32_t wire)
{
	struct pkt *out = w->out;
	uint32_t tot, off = IPV6_HLEN;
	unsigned n = 0;
	uint8_t nh;
	int rc;

	if (cap < IPV6_HLEN)
		return reject(w, DECODE_R_TRUNCATED_IP);
	if (p[0] >> 4 != 6)
		return reject(w, DECODE_R_BAD_IP_VERSION);
	tot = be16(p + 4);
	/* A jumbogram (RFC 2675), which Linux's BIG TCP offload also makes,
	 * says 0 and carries a hop-by-hop header: trust the frame. An empty
	 * payload without one is just that. */
	if (tot == 0 && p[6] == IPPROTO_HOPOPTS_)
		tot = min32(wire - IPV6_HLEN, 0xffff);
	tot += IPV6_HLEN;
	if (tot > wire)
		return reject(w, DECODE_R_BAD_IP_HEADER);
	cap = min32(cap, tot);
	out->ip_version = 6;
	out->ttl = p[7];
	memcpy(out->src, p + 8, 16);
	memcpy(out->dst, p + 24, 16);
	out->ip_len = tot;
	nh = p[6];
	for (;;) {
		rc = ipv6_skip_ext(w, p, cap, tot, &nh, &off, true, &n);
		if (rc != DECODE_OK)
			return rc;
		if (nh != IPPROTO_FRAGMENT_)
			break;
		if (++n > IPV6_MAX_EXT || tot - off < 8)
			return reject(w, DECODE_R_BAD_IPV6_EXT);
		if (cap - off < 8)
			return reject(w, DECODE_R_TRUNCATED_IP);
		/* An atomic fragment (RFC 6946) is an ordinary packet. */
		if ((be16(p + off + 2) & 0xfff9) != 0)
			return decode_frag6(w, p, off, cap, tot);
		nh = p[off];
		off += 8;
	}
	return decode_l4(w, nh, p + off, cap - off, tot - off);
}

/* ---- link layers ---------------------------------------------------------- */

/* An IP packet whose version nibble picks IPv4 or IPv6 (raw IP, MPLS,
 * ERSPAN III IP frames); anything else is `otherwise`. */
static int decode_ip_nibble(struct walk *w, const uint8_t *p, uint32_t cap, uint32_t wire,
			    enum decode_reject otherwise)
{
	if (cap < 1)
		return reject(w, DECODE_R_TRUNCATED_IP);
	switch (p[0] >> 4) {
	case 4:
		return decode_ipv4(w, p, cap, wire);
	case 6:
		return decode_ipv6(w, p, cap, wire);
	default:
		return reject(w, otherwise);
	}
}

static int decode_mpls(struct walk *w, const uint8_t *p, uint32_t cap, uint32_t wire)
{
	unsigned n;

	for (n = 0; n < DECODE_MAX_MPLS_LABELS; n++) {
		bool bottom;

		if (cap < 4)
			return reject(w, DECODE_R_TRUNCATED_LINK);
		bottom = p[2] & 0x01;
		p += 4;
		cap -= 4;
		wire -= 4;
		if (bottom)
			return decode_ip_nibble(w, p, cap, wire, DECODE_R_UNSUPPORTED_ETHERTYPE);
	}
	return reject(w, DECODE_R_TOO_MANY_TAGS);
}

/* PPPoE session stage (RFC 2516 4): version and type 0x11, code 0, then
 * PPP's protocol field (RFC 1661 2) naming IPv4 or IPv6. */
static int decode_pppoe(struct walk *w, const uint8_t *p, uint32_t cap, uint32_t wire)
{
	if (cap < PPPOE_HLEN)
		return reject(w, DECODE_R_TRUNCATED_LINK);
	if (p[0] != 0x11 || p[1] != 0)
		return reject(w, DECODE_R_UNSUPPORTED_ETHERTYPE);
	switch (be16(p + 6)) {
	case PPP_IPV4:
		return decode_ipv4(w, p + PPPOE_HLEN, cap - PPPOE_HLEN, wire - PPPOE_HLEN);
	case PPP_IPV6:
		return decode_ipv6(w, p + PPPOE_HLEN, cap - PPPOE_HLEN, wire - PPPOE_HLEN);
	default:
		return reject(w, DECODE_R_UNSUPPORTED_ETHERTYPE);
	}
}

/* The payload of a link header whose type field said `type`: VLAN tags,
 * MPLS, PPPoE or IP. */
static int decode_ethertype(struct walk *w, uint16_t type, const uint8_t *p,
			    uint32_t cap, uint32_t wire)
{
	unsigned tags = 0;

	for (;;) {
		switch (type) {
		case ETHERTYPE_IPV4:
			return decode_ipv4(w, p, cap, wire);
		case ETHERTYPE_IPV6:
			return decode_ipv6(w, p, cap, wire);
		case ETHERTYPE_VLAN:
		case ETHERTYPE_QINQ:
		case ETHERTYPE_QINQ_OLD: {
			uint16_t vid;

			if (cap < 4)
				return reject(w, DECODE_R_TRUNCATED_LINK);
			if (++tags > DECODE_MAX_VLAN_TAGS)
				return reject(w, DECODE_R_TOO_MANY_TAGS);
			vid = be16(p) & 0x0fff;
			if (w->out->vlan == 0)
				w->out->vlan = vid;
			else if (w->out->inner_vlan == 0)
				w->out->inner_vlan = vid;
			type = be16(p + 2);
			p += 4;
			cap -= 4;
			wire -= 4;
			break;
		}
		case ETHERTYPE_MPLS:
		case ETHERTYPE_MPLS_MC:
			return decode_mpls(w, p, cap, wire);
		case ETHERTYPE_PPPOE:
			return decode_pppoe(w, p, cap, wire);
		default:
			return reject(w, DECODE_R_UNSUPPORTED_ETHERTYPE);
		}
	}
}

/* DLT_NULL and DLT_LOOP: a 4-byte address family (BSD's AF_INET6 differs
 * per system); DLT_NULL's is in the writer's byte order, so both are tried. */
static int decode_null(struct walk *w, const uint8_t *p, uint32_t cap, uint32_t wire)
{
	uint32_t be, le;

	if (cap < 4)
		return reject(w, DECODE_R_TRUNCATED_LINK);
	be = be32(p);
	le = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
	if (be == 2 || le == 2)
		return decode_ipv4(w, p + 4, cap - 4, wire - 4);
	if (be == 10 || be == 24 || be == 28 || be == 30 ||
	    le == 10 || le == 24 || le == 28 || le == 30)
		return decode_ipv6(w, p + 4, cap - 4, wire - 4);
	return reject(w, DECODE_R_UNSUPPORTED_ETHERTYPE);
}

static int decode_link(struct walk *w, int linktype, const uint8_t *p, uint32_t cap,
		       uint32_t wire)
{
	switch (linktype) {
	case DECODE_DLT_EN10MB:
		return decode_ether(w, p, cap, wire);
	case DECODE_DLT_LINUX_SLL:
		/* packet type, ARPHRD type, address length, 8 address bytes,
		 * protocol: an Ethertype for Ethernet-like devices. */
		if (cap < SLL_HLEN)
			return reject(w, DECODE_R_TRUNCATED_LINK);
		return decode_ethertype(w, be16(p + 14), p + SLL_HLEN, cap - SLL_HLEN,
					wire - SLL_HLEN);
	case DECODE_DLT_LINUX_SLL2:
		/* protocol, reserved, interface index, ARPHRD type, packet
		 * type, address length, 8 address bytes. */
		if (cap < SLL2_HLEN)
			return reject(w, DECODE_R_TRUNCATED_LINK);
		return decode_ethertype(w, be16(p), p + SLL2_HLEN, cap - SLL2_HLEN,
					wire - SLL2_HLEN);
	case DECODE_DLT_RAW:
	case DECODE_DLT_RAW_FILE:
		return decode_ip_nibble(w, p, cap, wire, DECODE_R_BAD_IP_VERSION);
	case DECODE_DLT_IPV4:
		return decode_ipv4(w, p, cap, wire);
	case DECODE_DLT_IPV6:
		return decode_ipv6(w, p, cap, wire);
	case DECODE_DLT_NULL:
	case DECODE_DLT_LOOP:
		return decode_null(w, p, cap, wire);
	default:
		return reject(w, DECODE_R_UNSUPPORTED_LINKTYPE);
	}
}

int decoder_decode(struct decoder *d, int linktype, const uint8_t *frame,
		   uint32_t caplen, uint32_t wirelen, uint64_t ts_us, struct pkt *out)
{
	struct walk w = { .d = d, .out = out };
	int rc;

	d->stats.frames++;
	d->stats.bytes += wirelen;
	if (d->frag_busy) {
		frag__release(d->frag);
		frag__expire(d->frag, ts_us, &d->stats);
		d->frag_busy = frag__count(d->frag) > 0;
	}
	memset(out, 0, sizeof(*out));
	out->ts_us = ts_us;
	out->caplen = caplen;
	out->wirelen = wirelen;
	if (frame == NULL)
		caplen = 0;
	rc = decode_link(&w, linktype, frame, caplen, wirelen > caplen ? wirelen : caplen);
	if (rc == DECODE_OK)
		d->stats.decoded++;
	else if (rc == DECODE_REJECTED)
		d->stats.rejects[w.reason]++;
	return rc;
}
