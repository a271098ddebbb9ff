/* decode: frames built here byte by byte, through every link layer, tag,
 * tunnel and extension header the decoder knows; one test per reject
 * reason; IPv4 and IPv6 reassembly in order, out of order, overlapping,
 * timed out and over the memory cap; snaplen-truncated frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"
#include "frag.h"

#define HEADROOM 512
#define BUF_MAX  (HEADROOM + 4096)
#define TS       1700000000000000ull

/* A frame grown from the payload outwards: headers are pushed in front. */
struct buf {
	uint8_t b[BUF_MAX];
	size_t start, n;
};

static void b_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
	b->start = HEADROOM;
}

static uint8_t *b_data(struct buf *b)
{
	return b->b + b->start;
}

static void b_append(struct buf *b, const void *p, size_t n)
{
	assert_true(b->start + b->n + n <= BUF_MAX);
	memcpy(b->b + b->start + b->n, p, n);
	b->n += n;
}

/* Appends `n` bytes of a pattern that differs per `seed`. */
static void b_fill(struct buf *b, size_t n, uint8_t seed)
{
	size_t i;

	assert_true(b->start + b->n + n <= BUF_MAX);
	for (i = 0; i < n; i++)
		b->b[b->start + b->n + i] = (uint8_t)(seed + i * 7);
	b->n += n;
}

static uint8_t *b_push(struct buf *b, size_t n)
{
	assert_true(b->start >= n);
	b->start -= n;
	b->n += n;
	memset(b->b + b->start, 0, n);
	return b->b + b->start;
}

static void w16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void w32(uint8_t *p, uint32_t v)
{
	w16(p, (uint16_t)(v >> 16));
	w16(p + 2, (uint16_t)v);
}

#define A4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define SRC4 A4(10, 1, 2, 3)
#define DST4 A4(192, 168, 7, 9)

static void tcp_hdr(struct buf *b, uint16_t sport, uint16_t dport, uint32_t seq,
		    uint32_t ack, uint8_t flags)
{
	uint8_t *p = b_push(b, 20);

	w16(p, sport);
	w16(p + 2, dport);
	w32(p + 4, seq);
	w32(p + 8, ack);
	p[12] = 5 << 4;
	p[13] = flags;
	w16(p + 14, 29200);
}

static void udp_hdr(struct buf *b, uint16_t sport, uint16_t dport)
{
	uint8_t *p = b_push(b, 8);

	w16(p, sport);
	w16(p + 2, dport);
	w16(p + 4, (uint16_t)b->n);
}

static void icmp_hdr(struct buf *b, uint8_t type, uint8_t code)
{
	uint8_t *p = b_push(b, 8);

	p[0] = type;
	p[1] = code;
}

/* IPv4 header with `opts` bytes of options (NOPs and an EOL), `frag` the
 * flags-and-offset field. */
static void ip4_full(struct buf *b, uint8_t proto, uint32_t src, uint32_t dst,
		     size_t opts, uint16_t id, uint16_t frag)
{
	size_t hl = 20 + opts;
	uint8_t *p = b_push(b, hl);

	p[0] = (uint8_t)(0x40 | hl / 4);
	w16(p + 2, (uint16_t)b->n);
	w16(p + 4, id);
	w16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	w32(p + 12, src);
	w32(p + 16, dst);
	memset(p + 20, 1, opts);
	if (opts > 0)
		p[hl - 1] = 0;
}

static void ip4_hdr(struct buf *b, uint8_t proto)
{
	ip4_full(b, proto, SRC4, DST4, 0, 0x1234, 0x4000);
}

static const uint8_t src6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 2 };

static void ip6_hdr(struct buf *b, uint8_t nh)
{
	uint8_t *p = b_push(b, 40);

	p[0] = 0x60;
	w16(p + 4, (uint16_t)(b->n - 40));
	p[6] = nh;
	p[7] = 55;
	memcpy(p + 8, src6, 16);
	memcpy(p + 24, dst6, 16);
}

/* A generic extension header of (len8 + 1) * 8 bytes. */
static void ip6_ext(struct buf *b, uint8_t nh, uint8_t len8)
{
	uint8_t *p = b_push(b, ((size_t)len8 + 1) * 8);

	p[0] = nh;
	p[1] = len8;
}

static void ip6_frag_hdr(struct buf *b, uint8_t nh, uint32_t off, bool more, uint32_t id)
{
	uint8_t *p = b_push(b, 8);

	p[0] = nh;
	w16(p + 2, (uint16_t)(off | (more ? 1 : 0)));
	w32(p + 4, id);
}

static void eth_hdr(struct buf *b, uint16_t type)
{
	uint8_t *p = b_push(b, 14);

	memset(p, 0x02, 6);
	memset(p + 6, 0x04, 6);
	w16(p + 12, type);
}

static void vlan_tag(struct buf *b, uint16_t vid, uint16_t type)
{
	uint8_t *p = b_push(b, 4);

	w16(p, (uint16_t)(0x2000 | vid)); /* PCP 1 must not leak into the VID */
	w16(p + 2, type);
}

static void mpls_label(struct buf *b, uint32_t label, bool bottom)
{
	uint8_t *p = b_push(b, 4);

	w32(p, label << 12 | (bottom ? 0x100 : 0) | 64);
}

static void gre_hdr(struct buf *b, uint16_t flags, uint16_t proto)
{
	size_t n = 4 + (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) +
		   (flags & 0x1000 ? 4 : 0);
	uint8_t *p = b_push(b, n);

	w16(p, flags);
	w16(p + 2, proto);
	memset(p + 4, 0xee, n - 4);
}

static void vxlan_hdr(struct buf *b, uint8_t flags, uint32_t vni)
{
	uint8_t *p = b_push(b, 8);

	p[0] = flags;
	w32(p + 4, vni << 8);
}

static void erspan2_hdr(struct buf *b)
{
	uint8_t *p = b_push(b, 8);

	w16(p, 0x1000 | 77);  /* version 1, VLAN 77 (not used) */
	w16(p + 2, 0x0123);   /* session */
}

static void erspan3_hdr(struct buf *b, bool sub, unsigned ft)
{
	uint8_t *p;

	if (sub)
		memset(b_push(b, 8), 0xaa, 8);
	p = b_push(b, 12);
	w16(p, 0x2000 | 77);
	w16(p + 2, 0x0123);
	w32(p + 4, 0xdeadbeef);  /* timestamp */
	w16(p + 8, 0x1111);      /* SGT */
	p[10] = (uint8_t)(ft << 2);
	p[11] = sub ? 1 : 0;
}

/* TCP 40000 -> 443 with `plen` payload bytes in IPv4. */
static void tcp4(struct buf *b, size_t plen)
{
	b_init(b);
	b_fill(b, plen, 1);
	tcp_hdr(b, 40000, 443, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH);
	ip4_hdr(b, 6);
}

static int dec_ts(struct decoder *d, int dlt, struct buf *b, uint64_t ts, struct pkt *p)
{
	return decoder_decode(d, dlt, b_data(b), (uint32_t)b->n, (uint32_t)b->n, ts, p);
}

static int dec(struct decoder *d, int dlt, struct buf *b, struct pkt *p)
{
	return dec_ts(d, dlt, b, TS, p);
}

static int setup(void **state)
{
	struct decoder *d;

	assert_int_equal(decoder_create(&d, NULL), 0);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	decoder_destroy(*state);
	return 0;
}

static uint64_t rejects(struct decoder *d, enum decode_reject r)
{
	return decoder_stats(d)->rejects[r];
}

/* Decodes `b` expecting a reject for `r`, counted once. */
static void expect_reject(struct decoder *d, int dlt, struct buf *b, enum decode_reject r)
{
	struct pkt p;
	uint64_t before = rejects(d, r);

	assert_int_equal(dec(d, dlt, b, &p), DECODE_REJECTED);
	assert_int_equal(rejects(d, r), before + 1);
}

static void assert_tcp4(const struct pkt *p, size_t plen)
{
	static const uint8_t s[4] = { 10, 1, 2, 3 }, t[4] = { 192, 168, 7, 9 };
	static const uint8_t zero[12];

	assert_int_equal(p->ip_version, 4);
	assert_int_equal(p->proto, 6);
	assert_memory_equal(p->src, s, 4);
	assert_memory_equal(p->dst, t, 4);
	assert_memory_equal(p->src + 4, zero, 12);
	assert_int_equal(p->sport, 40000);
	assert_int_equal(p->dport, 443);
	assert_int_equal(p->seq, 1000);
	assert_int_equal(p->ack, 2000);
	assert_int_equal(p->tcp_flags, PKT_TCP_ACK | PKT_TCP_PSH);
	assert_int_equal(p->window, 29200);
	assert_int_equal(p->ip_len, 40 + plen);
	assert_int_equal(p->payload_len, plen);
	assert_int_equal(p->payload_wire_len, plen);
	if (plen > 0)
		assert_int_equal(p->payload[0], 1);
}

/* ---- link layers ---------------------------------------------------------- */

static void test_ethernet_tcp(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	tcp4(&b, 100);
	eth_hdr(&b, 0x0800);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_tcp4(&p, 100);
	assert_int_equal(p.ttl, 64);
	assert_int_equal(p.ts_us, TS);
	assert_int_equal(p.caplen, b.n);
	assert_int_equal(p.vlan, 0);
	assert_int_equal(p.tunnel, PKT_TUNNEL_NONE);
	assert_false(p.fragmented);
	/* No copy: the payload is the frame's own bytes. */
	assert_ptr_equal(p.payload, b_data(&b) + 14 + 20 + 20);
	assert_int_equal(decoder_stats(d)->frames, 1);
	assert_int_equal(decoder_stats(d)->decoded, 1);
	assert_int_equal(decoder_stats(d)->bytes, b.n);
}

static void test_ethernet_padding(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	tcp4(&b, 2);
	eth_hdr(&b, 0x0800);
	b_fill(&b, 60 - b.n, 0x55); /* padded to the 60-byte minimum */
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_tcp4(&p, 2);
}

static void test_ipv4_options(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	b_init(&b);
	b_fill(&b, 10, 1);
	tcp_hdr(&b, 40000, 443, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH);
	ip4_full(&b, 6, SRC4, DST4, 12, 1, 0);
	eth_hdr(&b, 0x0800);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.ip_len, 32 + 20 + 10);
	assert_int_equal(p.payload_len, 10);
	assert_ptr_equal(p.payload, b_data(&b) + 14 + 32 + 20);
}

static void test_udp_icmp(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	b_init(&b);
	b_fill(&b, 30, 1);
	udp_hdr(&b, 5353, 53);
	ip4_hdr(&b, 17);
	eth_hdr(&b, 0x0800);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.sport, 5353);
	assert_int_equal(p.dport, 53);
	assert_int_equal(p.payload_len, 30);
	assert_int_equal(p.payload_wire_len, 30);
	assert_int_equal(p.ip_len, 58);

	b_init(&b);
	b_fill(&b, 56, 1);
	icmp_hdr(&b, 8, 0);
	ip4_hdr(&b, 1);
	eth_hdr(&b, 0x0800);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.proto, 1);
	assert_int_equal(p.sport, 8);
	assert_int_equal(p.dport, 0);
	assert_int_equal(p.payload_len, 56);

	b_init(&b);
	b_fill(&b, 16, 1);
	icmp_hdr(&b, 1, 4); /* destination unreachable, port */
	ip6_hdr(&b, 58);
	eth_hdr(&b, 0x86dd);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.ip_version, 6);
	assert_int_equal(p.proto, 58);
	assert_int_equal(p.sport, 1);
	assert_int_equal(p.dport, 4);
	assert_int_equal(p.ttl, 55);
	assert_memory_equal(p.src, src6, 16);
	assert_memory_equal(p.dst, dst6, 16);
	assert_int_equal(p.ip_len, 40 + 8 + 16);
}

static void test_other_protocol(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	b_init(&b);
	b_fill(&b, 24, 1);
	ip4_hdr(&b, 50); /* ESP */
	eth_hdr(&b, 0x0800);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.proto, 50);
	assert_int_equal(p.sport, 0);
	assert_int_equal(p.payload_len, 24);
}

static void test_vlan(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	tcp4(&b, 10);
	vlan_tag(&b, 100, 0x0800);
	eth_hdr(&b, 0x8100);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);
	assert_int_equal(p.vlan, 100);
	assert_int_equal(p.inner_vlan, 0);
}

static void test_qinq(void **state)
{
	static const uint16_t outer[] = { 0x88a8, 0x9100, 0x8100 };
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;
	size_t i;

	for (i = 0; i < 3; i++) {
		tcp4(&b, 10);
		vlan_tag(&b, 200, 0x0800);
		vlan_tag(&b, 4000, 0x8100);
		eth_hdr(&b, outer[i]);
		assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
		assert_tcp4(&p, 10);
		assert_int_equal(p.vlan, 4000);
		assert_int_equal(p.inner_vlan, 200);
	}
	/* A third tag is skipped; the first two stay. */
	tcp4(&b, 10);
	vlan_tag(&b, 300, 0x0800);
	vlan_tag(&b, 200, 0x8100);
	vlan_tag(&b, 100, 0x8100);
	eth_hdr(&b, 0x88a8);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.vlan, 100);
	assert_int_equal(p.inner_vlan, 200);
}

static void test_mpls(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	tcp4(&b, 10);
	mpls_label(&b, 1002, true);
	mpls_label(&b, 1001, false);
	eth_hdr(&b, 0x8847);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);

	b_init(&b);
	b_fill(&b, 8, 1);
	udp_hdr(&b, 1, 2);
	ip6_hdr(&b, 17);
	mpls_label(&b, 16, true);
	vlan_tag(&b, 5, 0x8847);
	eth_hdr(&b, 0x8100);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.ip_version, 6);
	assert_int_equal(p.vlan, 5);
	assert_int_equal(p.dport, 2);
}

static void test_pppoe(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;
	uint8_t *h;

	tcp4(&b, 10);
	h = b_push(&b, 8);
	h[0] = 0x11;
	w16(h + 2, 0x0042);              /* session */
	w16(h + 4, (uint16_t)(b.n - 6));
	w16(h + 6, 0x0021);
	vlan_tag(&b, 8, 0x8864);
	eth_hdr(&b, 0x8100);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);
	assert_int_equal(p.vlan, 8);
	/* LCP is not IP. */
	w16(b_data(&b) + 18 + 6, 0xc021);
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_UNSUPPORTED_ETHERTYPE);
}

static void test_llc_snap(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;
	uint8_t *h;

	tcp4(&b, 10);
	h = b_push(&b, 8);
	h[0] = 0xaa;
	h[1] = 0xaa;
	h[2] = 0x03;
	w16(h + 6, 0x0800);
	eth_hdr(&b, (uint16_t)(b.n));
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);
	/* Spanning tree: LLC 42 42 03. */
	b_init(&b);
	b_fill(&b, 35, 0);
	memset(b_data(&b), 0x42, 2);
	eth_hdr(&b, 38);
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_UNSUPPORTED_ETHERTYPE);
	b.n = 14 + 4;
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_TRUNCATED_LINK);
}

static void test_sll(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;
	uint8_t *h;

	tcp4(&b, 10);
	h = b_push(&b, 16);
	w16(h + 2, 1);       /* ARPHRD_ETHER */
	w16(h + 4, 6);
	w16(h + 14, 0x0800);
	assert_int_equal(dec(d, DECODE_DLT_LINUX_SLL, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);

	/* libpcap puts a stripped VLAN tag back after the SLL header. */
	tcp4(&b, 10);
	vlan_tag(&b, 42, 0x0800);
	h = b_push(&b, 16);
	w16(h + 14, 0x8100);
	assert_int_equal(dec(d, DECODE_DLT_LINUX_SLL, &b, &p), DECODE_OK);
	assert_int_equal(p.vlan, 42);
	assert_tcp4(&p, 10);
}

static void test_sll2(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;
	uint8_t *h;

	b_init(&b);
	b_fill(&b, 10, 1);
	tcp_hdr(&b, 40000, 443, 1000, 2000, PKT_TCP_ACK | PKT_TCP_PSH);
	ip6_hdr(&b, 6);
	h = b_push(&b, 20);
	w16(h, 0x86dd);
	w32(h + 4, 3);       /* interface index */
	w16(h + 8, 1);
	h[11] = 6;
	assert_int_equal(dec(d, DECODE_DLT_LINUX_SLL2, &b, &p), DECODE_OK);
	assert_int_equal(p.ip_version, 6);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.payload_len, 10);
	assert_int_equal(p.ip_len, 70);
}

static void test_raw_and_null(void **state)
{
	static const int raw[] = { DECODE_DLT_RAW, DECODE_DLT_RAW_FILE, DECODE_DLT_IPV4 };
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;
	uint8_t *h;
	size_t i;

	for (i = 0; i < 3; i++) {
		tcp4(&b, 10);
		assert_int_equal(dec(d, raw[i], &b, &p), DECODE_OK);
		assert_tcp4(&p, 10);
	}
	b_init(&b);
	b_fill(&b, 8, 1);
	udp_hdr(&b, 1, 2);
	ip6_hdr(&b, 17);
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &p), DECODE_OK);
	assert_int_equal(p.ip_version, 6);
	assert_int_equal(dec(d, DECODE_DLT_IPV6, &b, &p), DECODE_OK);
	h = b_push(&b, 4);
	h[0] = 30;           /* Darwin's AF_INET6, little-endian */
	assert_int_equal(dec(d, DECODE_DLT_NULL, &b, &p), DECODE_OK);
	assert_int_equal(p.ip_version, 6);

	tcp4(&b, 10);
	h = b_push(&b, 4);
	h[3] = 2;            /* AF_INET, network order (DLT_LOOP) */
	assert_int_equal(dec(d, DECODE_DLT_LOOP, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);
}

/* ---- tunnels -------------------------------------------------------------- */

static void test_gre(void **state)
{
	static const uint16_t flags[] = { 0, 0x8000, 0x2000, 0x1000, 0xb000 };
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;
	size_t i;

	for (i = 0; i < 5; i++) {
		tcp4(&b, 10);
		gre_hdr(&b, flags[i], 0x0800);
		ip4_full(&b, 47, A4(172, 16, 0, 1), A4(172, 16, 0, 2), 0, 9, 0);
		eth_hdr(&b, 0x0800);
		assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
		assert_tcp4(&p, 10);
		assert_int_equal(p.tunnel, PKT_TUNNEL_GRE);
	}
}

static void test_gre_teb_vlans(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	/* Untagged outer frame: the inner frame's tag counts. */
	tcp4(&b, 10);
	vlan_tag(&b, 33, 0x0800);
	eth_hdr(&b, 0x8100);
	gre_hdr(&b, 0x2000, 0x6558);
	ip6_hdr(&b, 47);
	eth_hdr(&b, 0x86dd);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);
	assert_int_equal(p.tunnel, PKT_TUNNEL_GRE);
	assert_int_equal(p.vlan, 33);
	assert_int_equal(p.inner_vlan, 0);

	/* Tagged outer frame: its tag stays first. */
	tcp4(&b, 10);
	vlan_tag(&b, 33, 0x0800);
	eth_hdr(&b, 0x8100);
	gre_hdr(&b, 0, 0x6558);
	ip4_hdr(&b, 47);
	vlan_tag(&b, 7, 0x0800);
	eth_hdr(&b, 0x8100);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.vlan, 7);
	assert_int_equal(p.inner_vlan, 33);
}

static void test_vxlan(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	tcp4(&b, 10);
	eth_hdr(&b, 0x0800);
	vxlan_hdr(&b, 0x08, 5001);
	udp_hdr(&b, 51000, 4789);
	ip4_full(&b, 17, A4(172, 16, 0, 1), A4(172, 16, 0, 2), 0, 9, 0);
	vlan_tag(&b, 12, 0x0800);
	eth_hdr(&b, 0x8100);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);
	assert_int_equal(p.tunnel, PKT_TUNNEL_VXLAN);
	assert_int_equal(p.vlan, 12);
}

static void test_erspan2(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	tcp4(&b, 10);
	eth_hdr(&b, 0x0800);
	erspan2_hdr(&b);
	gre_hdr(&b, 0x1000, 0x88be);
	ip4_hdr(&b, 47);
	eth_hdr(&b, 0x0800);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);
	assert_int_equal(p.tunnel, PKT_TUNNEL_ERSPAN2);

	/* Version 0, as scapy writes it, is laid out the same. */
	tcp4(&b, 10);
	eth_hdr(&b, 0x0800);
	erspan2_hdr(&b);
	b_data(&b)[0] &= 0x0f;
	gre_hdr(&b, 0x1000, 0x88be);
	ip4_hdr(&b, 47);
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);

	/* Type I: no sequence number, no ERSPAN header. */
	tcp4(&b, 10);
	eth_hdr(&b, 0x0800);
	gre_hdr(&b, 0, 0x88be);
	ip4_hdr(&b, 47);
	eth_hdr(&b, 0x0800);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);
	assert_int_equal(p.tunnel, PKT_TUNNEL_ERSPAN2);
}

static void test_erspan3(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;
	int sub;

	for (sub = 0; sub < 2; sub++) {
		tcp4(&b, 10);
		vlan_tag(&b, 900, 0x0800);
		eth_hdr(&b, 0x8100);
		erspan3_hdr(&b, sub, 0);
		gre_hdr(&b, 0x1000, 0x22eb);
		ip4_hdr(&b, 47);
		eth_hdr(&b, 0x0800);
		assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
		assert_tcp4(&p, 10);
		assert_int_equal(p.tunnel, PKT_TUNNEL_ERSPAN3);
		assert_int_equal(p.vlan, 900);
	}
	/* Frame type 2: the mirrored packet is IP. */
	tcp4(&b, 10);
	erspan3_hdr(&b, true, 2);
	gre_hdr(&b, 0x1000, 0x22eb);
	ip4_hdr(&b, 47);
	eth_hdr(&b, 0x0800);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);
}

static void test_tunnel_depth(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;
	int i;

	tcp4(&b, 10);
	for (i = 0; i < DECODE_MAX_TUNNEL_DEPTH; i++) {
		gre_hdr(&b, 0, 0x0800);
		ip4_hdr(&b, 47);
	}
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &p), DECODE_OK);
	assert_tcp4(&p, 10);
	gre_hdr(&b, 0, 0x0800);
	ip4_hdr(&b, 47);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_TUNNEL_DEPTH);
}

/* ---- IPv6 extension headers ----------------------------------------------- */

static void test_ipv6_ext(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;
	uint8_t *ah;

	b_init(&b);
	b_fill(&b, 10, 1);
	tcp_hdr(&b, 40000, 443, 1000, 2000, PKT_TCP_ACK);
	ip6_ext(&b, 6, 1);    /* destination options, 16 bytes */
	ah = b_push(&b, 24);  /* AH: (4 + 2) * 4 bytes */
	ah[0] = 60;
	ah[1] = 4;
	ip6_ext(&b, 51, 0);   /* routing */
	ip6_ext(&b, 43, 2);   /* hop-by-hop */
	ip6_hdr(&b, 0);
	eth_hdr(&b, 0x86dd);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.proto, 6);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.payload_len, 10);
	assert_int_equal(p.ip_len, 40 + 24 + 8 + 24 + 16 + 20 + 10);

	/* An atomic fragment (offset 0, M clear) is no fragment. */
	b_init(&b);
	b_fill(&b, 4, 1);
	udp_hdr(&b, 7, 9);
	ip6_frag_hdr(&b, 17, 0, false, 77);
	ip6_hdr(&b, 44);
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &p), DECODE_OK);
	assert_false(p.fragmented);
	assert_int_equal(p.dport, 9);

	/* ESP ends the walk. */
	b_init(&b);
	b_fill(&b, 32, 1);
	ip6_ext(&b, 50, 0);
	ip6_hdr(&b, 60);
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &p), DECODE_OK);
	assert_int_equal(p.proto, 50);
	assert_int_equal(p.payload_len, 32);
}

/* Zero lengths: IPv4 from a sender's segmentation offload, an IPv6
 * jumbogram; an IPv6 packet with an empty payload is no jumbogram. */
static void test_zero_ip_length(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	tcp4(&b, 100);
	w16(b_data(&b) + 2, 0);
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &p), DECODE_OK);
	assert_tcp4(&p, 100);

	b_init(&b);
	b_fill(&b, 100, 1);
	tcp_hdr(&b, 40000, 443, 1000, 2000, PKT_TCP_ACK);
	ip6_ext(&b, 6, 0);
	ip6_hdr(&b, 0);
	w16(b_data(&b) + 4, 0);
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &p), DECODE_OK);
	assert_int_equal(p.ip_len, 40 + 8 + 20 + 100);
	assert_int_equal(p.payload_len, 100);

	b_init(&b);
	ip6_hdr(&b, 59);
	eth_hdr(&b, 0x86dd);
	b_fill(&b, 6, 0); /* padding to 60 bytes */
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.proto, 59);
	assert_int_equal(p.ip_len, 40);
	assert_int_equal(p.payload_len, 0);
}

/* ---- snaplen -------------------------------------------------------------- */

static void test_snaplen_truncated(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	tcp4(&b, 1400);
	eth_hdr(&b, 0x0800);
	assert_int_equal(decoder_decode(d, DECODE_DLT_EN10MB, b_data(&b), 96, (uint32_t)b.n,
					TS, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 96 - 54);
	assert_int_equal(p.payload_wire_len, 1400);
	assert_int_equal(p.ip_len, 1440);
	assert_int_equal(p.caplen, 96);
	assert_int_equal(p.wirelen, b.n);

	b_init(&b);
	b_fill(&b, 1000, 1);
	udp_hdr(&b, 1, 2);
	ip4_hdr(&b, 17);
	eth_hdr(&b, 0x0800);
	assert_int_equal(decoder_decode(d, DECODE_DLT_EN10MB, b_data(&b), 14 + 28, (uint32_t)b.n,
					TS, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.payload_wire_len, 1000);

	/* Cut inside the TCP header: truncated_l4. */
	tcp4(&b, 1400);
	eth_hdr(&b, 0x0800);
	assert_int_equal(decoder_decode(d, DECODE_DLT_EN10MB, b_data(&b), 14 + 20 + 10,
					(uint32_t)b.n, TS, &p), DECODE_REJECTED);
	assert_int_equal(rejects(d, DECODE_R_TRUNCATED_L4), 1);
}

/* ---- one test per reject reason ------------------------------------------- */

static void test_reject_truncated_link(void **state)
{
	struct decoder *d = *state;
	struct buf b;

	b_init(&b);
	b_fill(&b, 10, 0);
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_TRUNCATED_LINK);
	expect_reject(d, DECODE_DLT_LINUX_SLL, &b, DECODE_R_TRUNCATED_LINK);
	expect_reject(d, DECODE_DLT_LINUX_SLL2, &b, DECODE_R_TRUNCATED_LINK);
	b_init(&b);
	vlan_tag(&b, 1, 0x0800);
	b.n -= 2;
	eth_hdr(&b, 0x8100);
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_TRUNCATED_LINK);
	b_init(&b);
	mpls_label(&b, 1, false);
	eth_hdr(&b, 0x8847);
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_TRUNCATED_LINK);
}

static void test_reject_unsupported_linktype(void **state)
{
	struct decoder *d = *state;
	struct buf b;

	tcp4(&b, 0);
	expect_reject(d, 147, &b, DECODE_R_UNSUPPORTED_LINKTYPE);
	expect_reject(d, -1, &b, DECODE_R_UNSUPPORTED_LINKTYPE);
}

static void test_reject_unsupported_ethertype(void **state)
{
	struct decoder *d = *state;
	struct buf b;

	b_init(&b);
	b_fill(&b, 28, 0);
	eth_hdr(&b, 0x0806); /* ARP */
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_UNSUPPORTED_ETHERTYPE);
	/* MPLS pseudowire with a control word (first nibble 0). */
	b_init(&b);
	b_fill(&b, 28, 0);
	b_data(&b)[0] = 0;
	mpls_label(&b, 1, true);
	eth_hdr(&b, 0x8847);
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_UNSUPPORTED_ETHERTYPE);
	/* GRE carrying PPP (PPTP, version 1). */
	tcp4(&b, 0);
	gre_hdr(&b, 0x0001, 0x880b);
	ip4_hdr(&b, 47);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_UNSUPPORTED_ETHERTYPE);
}

static void test_reject_too_many_tags(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	int i;

	tcp4(&b, 0);
	vlan_tag(&b, 1, 0x0800);
	for (i = 0; i < DECODE_MAX_VLAN_TAGS; i++)
		vlan_tag(&b, 1, 0x8100);
	eth_hdr(&b, 0x8100);
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_TOO_MANY_TAGS);

	tcp4(&b, 0);
	mpls_label(&b, 1, true);
	for (i = 0; i < DECODE_MAX_MPLS_LABELS; i++)
		mpls_label(&b, 1, false);
	eth_hdr(&b, 0x8847);
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_TOO_MANY_TAGS);
}

static void test_reject_truncated_ip(void **state)
{
	struct decoder *d = *state;
	struct buf b;

	tcp4(&b, 0);
	b.n = 19;
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_TRUNCATED_IP);
	b_init(&b);
	b_fill(&b, 20, 0);
	ip6_hdr(&b, 6);
	b.n = 39;
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_TRUNCATED_IP);
	/* Options cut by the snap length. */
	b_init(&b);
	b_fill(&b, 20, 0);
	ip4_full(&b, 6, SRC4, DST4, 20, 1, 0);
	assert_int_equal(decoder_decode(d, DECODE_DLT_RAW, b_data(&b), 30, (uint32_t)b.n, TS,
					&(struct pkt){ 0 }), DECODE_REJECTED);
	assert_int_equal(rejects(d, DECODE_R_TRUNCATED_IP), 3);
	b_init(&b);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_TRUNCATED_IP);
}

static void test_reject_bad_ip_version(void **state)
{
	struct decoder *d = *state;
	struct buf b;

	tcp4(&b, 0);
	b_data(&b)[0] = 0x65;
	eth_hdr(&b, 0x0800);
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_BAD_IP_VERSION);
	tcp4(&b, 0);
	b_fill(&b, 40, 0);
	eth_hdr(&b, 0x86dd);
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_BAD_IP_VERSION);
	tcp4(&b, 0);
	b_data(&b)[0] = 0x55;
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_IP_VERSION);
}

static void test_reject_bad_ip_header(void **state)
{
	struct decoder *d = *state;
	struct buf b;

	tcp4(&b, 0);
	b_data(&b)[0] = 0x44;          /* IHL 4 */
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_IP_HEADER);
	tcp4(&b, 0);
	w16(b_data(&b) + 2, 19);       /* total length below the header */
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_IP_HEADER);
	tcp4(&b, 0);
	w16(b_data(&b) + 2, 41);       /* past the frame's wire length */
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_IP_HEADER);
	b_init(&b);
	b_fill(&b, 20, 0);
	ip6_hdr(&b, 6);
	w16(b_data(&b) + 4, 21);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_IP_HEADER);
	/* A non-last fragment whose length is not a multiple of 8. */
	b_init(&b);
	b_fill(&b, 12, 0);
	ip4_full(&b, 17, SRC4, DST4, 0, 1, 0x2000);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_IP_HEADER);
}

static void test_reject_bad_ipv6_ext(void **state)
{
	struct decoder *d = *state;
	struct buf b;

	/* Hop-by-hop after another header. */
	b_init(&b);
	b_fill(&b, 8, 0);
	udp_hdr(&b, 1, 2);
	ip6_ext(&b, 17, 0);
	ip6_ext(&b, 0, 0);
	ip6_hdr(&b, 60);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_IPV6_EXT);
	/* A header longer than the payload length. */
	b_init(&b);
	b_fill(&b, 8, 0);
	ip6_ext(&b, 17, 0);
	b_data(&b)[1] = 3;
	ip6_hdr(&b, 60);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_IPV6_EXT);
	/* A chain too long. */
	b_init(&b);
	{
		int i;

		ip6_ext(&b, 59, 0);
		for (i = 0; i < 20; i++)
			ip6_ext(&b, 60, 0);
	}
	ip6_hdr(&b, 60);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_IPV6_EXT);
	/* A fragment header cut short by the payload length. */
	b_init(&b);
	b_fill(&b, 4, 0);
	ip6_hdr(&b, 44);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_IPV6_EXT);
	/* A non-last fragment whose length is not a multiple of 8. */
	b_init(&b);
	b_fill(&b, 12, 0);
	ip6_frag_hdr(&b, 17, 0, true, 5);
	ip6_hdr(&b, 44);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_IPV6_EXT);
}

static void test_reject_truncated_l4(void **state)
{
	struct decoder *d = *state;
	struct buf b;
	struct pkt p;

	tcp4(&b, 100);
	assert_int_equal(decoder_decode(d, DECODE_DLT_RAW, b_data(&b), 30, (uint32_t)b.n, TS, &p),
			 DECODE_REJECTED);
	b_init(&b);
	b_fill(&b, 100, 0);
	udp_hdr(&b, 1, 2);
	ip4_hdr(&b, 17);
	assert_int_equal(decoder_decode(d, DECODE_DLT_RAW, b_data(&b), 24, (uint32_t)b.n, TS, &p),
			 DECODE_REJECTED);
	b_init(&b);
	b_fill(&b, 4, 0);
	ip4_hdr(&b, 1);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_TRUNCATED_L4);
	/* Options cut off: the TCP header is not whole. */
	tcp4(&b, 100);
	b_data(&b)[20 + 12] = 0xf0;
	assert_int_equal(decoder_decode(d, DECODE_DLT_RAW, b_data(&b), 60, (uint32_t)b.n, TS, &p),
			 DECODE_REJECTED);
	assert_int_equal(rejects(d, DECODE_R_TRUNCATED_L4), 4);
}

static void test_reject_bad_tcp_header(void **state)
{
	struct decoder *d = *state;
	struct buf b;

	tcp4(&b, 10);
	b_data(&b)[20 + 12] = 0x40;  /* data offset 4 */
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_TCP_HEADER);
	tcp4(&b, 10);
	b_data(&b)[20 + 12] = 0xf0;  /* 60 bytes, segment has 30 */
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_TCP_HEADER);
	b_init(&b);
	b_fill(&b, 12, 0);
	ip4_hdr(&b, 6);              /* 12 bytes cannot hold a TCP header */
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_TCP_HEADER);
}

static void test_reject_bad_udp_length(void **state)
{
	struct decoder *d = *state;
	struct buf b;

	b_init(&b);
	b_fill(&b, 10, 0);
	udp_hdr(&b, 1, 2);
	w16(b_data(&b) + 4, 7);
	ip4_hdr(&b, 17);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_UDP_LENGTH);
	b_init(&b);
	b_fill(&b, 10, 0);
	udp_hdr(&b, 1, 2);
	w16(b_data(&b) + 4, 19);
	ip4_hdr(&b, 17);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_UDP_LENGTH);
	b_init(&b);
	b_fill(&b, 6, 0);
	ip4_hdr(&b, 17);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_UDP_LENGTH);
}

static void test_reject_bad_tunnel(void **state)
{
	struct decoder *d = *state;
	struct buf b;

	tcp4(&b, 0);
	gre_hdr(&b, 0x4000, 0x0800);     /* RFC 1701 routing */
	ip4_hdr(&b, 47);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_TUNNEL);
	tcp4(&b, 0);
	gre_hdr(&b, 0x0002, 0x0800);     /* version 2 */
	ip4_hdr(&b, 47);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_TUNNEL);
	b_init(&b);
	b_fill(&b, 2, 0);
	ip4_hdr(&b, 47);                 /* GRE header cut */
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_TUNNEL);
	b_init(&b);
	b_fill(&b, 4, 0);
	w16(b_data(&b), 0x9000);         /* checksum and sequence, missing */
	ip4_hdr(&b, 47);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_TUNNEL);
	/* VXLAN without the I flag. */
	tcp4(&b, 0);
	eth_hdr(&b, 0x0800);
	vxlan_hdr(&b, 0x00, 1);
	udp_hdr(&b, 1, 4789);
	ip4_hdr(&b, 17);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_TUNNEL);
	/* ERSPAN II with the wrong version, III with the wrong frame type. */
	tcp4(&b, 0);
	eth_hdr(&b, 0x0800);
	erspan2_hdr(&b);
	b_data(&b)[0] = 0x20;
	gre_hdr(&b, 0x1000, 0x88be);
	ip4_hdr(&b, 47);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_TUNNEL);
	tcp4(&b, 0);
	erspan3_hdr(&b, false, 5);
	gre_hdr(&b, 0x1000, 0x22eb);
	ip4_hdr(&b, 47);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_TUNNEL);
	/* ERSPAN III whose sub-header is missing. */
	b_init(&b);
	erspan3_hdr(&b, false, 0);
	b_data(&b)[11] = 1;
	gre_hdr(&b, 0x1000, 0x22eb);
	ip4_hdr(&b, 47);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_BAD_TUNNEL);
}

static void test_reject_names(void **state)
{
	int i, j;

	(void)state;
	for (i = 0; i < DECODE_R_MAX; i++) {
		const char *n = decode_reject_name((enum decode_reject)i);

		assert_non_null(n);
		assert_true(strlen(n) > 3);
		assert_null(strchr(n, ' '));
		for (j = 0; j < i; j++)
			assert_string_not_equal(n, decode_reject_name((enum decode_reject)j));
	}
	assert_string_equal(decode_reject_name(DECODE_R_TRUNCATED_IP), "truncated_ip");
	assert_string_equal(decode_reject_name(DECODE_R_MAX), "unknown");
}

/* ---- reassembly ----------------------------------------------------------- */

/* A UDP datagram 1 -> 2 of `n` bytes with its header: the fragmentable part. */
static void udp_dgram(uint8_t *out, size_t n)
{
	struct buf b;

	b_init(&b);
	b_fill(&b, n - 8, 9);
	udp_hdr(&b, 1111, 2222);
	memcpy(out, b_data(&b), n);
}

static void frag4(struct buf *b, const uint8_t *dg, size_t off, size_t len, bool more,
		  uint16_t id)
{
	b_init(b);
	b_append(b, dg + off, len);
	ip4_full(b, 17, SRC4, DST4, 0, id, (uint16_t)(off / 8 | (more ? 0x2000 : 0)));
	eth_hdr(b, 0x0800);
}

static void frag6(struct buf *b, const uint8_t *dg, size_t off, size_t len, bool more,
		  uint32_t id)
{
	b_init(b);
	b_append(b, dg + off, len);
	ip6_frag_hdr(b, 17, (uint32_t)off, more, id);
	ip6_ext(b, 44, 0);   /* an unfragmentable destination options header */
	ip6_hdr(b, 60);
	eth_hdr(b, 0x86dd);
}

/* Sends the fragments of `dg` (n bytes) split at 8-byte multiples, in the
 * order `order` names them, and checks the datagram comes out whole with
 * the last one. */
static void frag_run(struct decoder *d, int v6, const uint8_t *dg, size_t n,
		     const size_t *cuts, const int *order, int nfrag)
{
	struct buf b;
	struct pkt p;
	int i;

	for (i = 0; i < nfrag; i++) {
		int k = order[i];
		size_t off = cuts[k], end = k + 1 < nfrag ? cuts[k + 1] : n;
		int rc;

		if (v6)
			frag6(&b, dg, off, end - off, k + 1 < nfrag, 0xabcdef);
		else
			frag4(&b, dg, off, end - off, k + 1 < nfrag, 0x4242);
		rc = dec(d, DECODE_DLT_EN10MB, &b, &p);
		if (i + 1 < nfrag) {
			assert_int_equal(rc, DECODE_HELD);
			continue;
		}
		assert_int_equal(rc, DECODE_OK);
		assert_true(p.fragmented);
		assert_int_equal(p.proto, 17);
		assert_int_equal(p.sport, 1111);
		assert_int_equal(p.dport, 2222);
		assert_int_equal(p.payload_len, n - 8);
		assert_int_equal(p.payload_wire_len, n - 8);
		assert_memory_equal(p.payload, dg + 8, n - 8);
		assert_int_equal(p.ip_len, v6 ? 40 + 8 + n : 20 + n);
	}
}

static void test_frag4_in_order(void **state)
{
	static const size_t cuts[] = { 0, 504, 1008 };
	static const int order[] = { 0, 1, 2 };
	struct decoder *d = *state;
	uint8_t dg[1200];

	udp_dgram(dg, sizeof(dg));
	frag_run(d, 0, dg, sizeof(dg), cuts, order, 3);
	assert_int_equal(decoder_stats(d)->fragments, 3);
	assert_int_equal(decoder_stats(d)->reassembled, 1);
	assert_int_equal(decoder_stats(d)->decoded, 1);
}

static void test_frag4_out_of_order(void **state)
{
	static const size_t cuts[] = { 0, 8, 400, 800 };
	static const int order[] = { 3, 1, 2, 0 };
	struct decoder *d = *state;
	uint8_t dg[1000];

	udp_dgram(dg, sizeof(dg));
	frag_run(d, 0, dg, sizeof(dg), cuts, order, 4);
	assert_int_equal(rejects(d, DECODE_R_FRAG_OVERLAP), 0);
}

/* Fragments that overlap: the first copy of each byte wins, each
 * overlapping fragment is counted, and the datagram still completes. */
static void test_frag4_overlap(void **state)
{
	struct decoder *d = *state;
	uint8_t dg[800], evil[800];
	struct buf b;
	struct pkt p;

	udp_dgram(dg, sizeof(dg));
	memset(evil, 0xee, sizeof(evil));
	frag4(&b, dg, 0, 400, true, 7);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	frag4(&b, evil, 200, 400, true, 7);  /* half over the first */
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	frag4(&b, dg, 0, 400, true, 7);      /* a duplicate */
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	frag4(&b, evil, 600, 200, false, 7);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(rejects(d, DECODE_R_FRAG_OVERLAP), 2);
	assert_memory_equal(p.payload, dg + 8, 392);
	assert_int_equal(p.payload[392], 0xee);
	assert_int_equal(p.payload_len, 792);

	/* A second last fragment disagreeing on the end changes nothing. */
	frag4(&b, dg, 400, 400, false, 8);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	frag4(&b, dg, 400, 200, false, 8);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	frag4(&b, dg, 0, 400, true, 8);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 792);
	assert_int_equal(rejects(d, DECODE_R_FRAG_OVERLAP), 3);

	/* A middle fragment reaching past the known end is cut there. */
	frag4(&b, dg, 600, 200, false, 9);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	memcpy(evil, dg, 600);               /* ends 8 bytes past 800 */
	b_init(&b);
	b_append(&b, evil, 800);
	b_fill(&b, 8, 0xee);
	ip4_full(&b, 17, SRC4, DST4, 0, 9, 0x2000);
	eth_hdr(&b, 0x0800);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 792);
	assert_memory_equal(p.payload + 592, dg + 600, 200);
	assert_int_equal(rejects(d, DECODE_R_FRAG_OVERLAP), 4);
}

static void test_frag_keys(void **state)
{
	struct decoder *d = *state;
	uint8_t dg[400];
	struct buf b;
	struct pkt p;

	udp_dgram(dg, sizeof(dg));
	/* Same id on another VLAN is another datagram. */
	frag4(&b, dg, 0, 200, true, 9);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	b_init(&b);
	b_append(&b, dg + 200, 200);
	ip4_full(&b, 17, SRC4, DST4, 0, 9, 200 / 8);
	vlan_tag(&b, 10, 0x0800);
	eth_hdr(&b, 0x8100);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	frag4(&b, dg, 200, 200, false, 9);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
}

static void test_frag4_timeout(void **state)
{
	struct decode_config cfg = { .frag_timeout_ms = 1000 };
	struct decoder *d;
	uint8_t dg[400];
	struct buf b;
	struct pkt p;

	(void)state;
	assert_int_equal(decoder_create(&d, &cfg), 0);
	udp_dgram(dg, sizeof(dg));
	frag4(&b, dg, 0, 200, true, 1);
	assert_int_equal(dec_ts(d, DECODE_DLT_EN10MB, &b, TS, &p), DECODE_HELD);
	/* Within the timeout the datagram completes... */
	frag4(&b, dg, 200, 200, false, 1);
	assert_int_equal(dec_ts(d, DECODE_DLT_EN10MB, &b, TS + 999999, &p), DECODE_OK);
	/* ...past it, the first fragment is gone and counted. */
	frag4(&b, dg, 0, 200, true, 2);
	assert_int_equal(dec_ts(d, DECODE_DLT_EN10MB, &b, TS, &p), DECODE_HELD);
	frag4(&b, dg, 200, 200, false, 2);
	assert_int_equal(dec_ts(d, DECODE_DLT_EN10MB, &b, TS + 1000000, &p), DECODE_HELD);
	assert_int_equal(rejects(d, DECODE_R_FRAG_TIMEOUT), 1);
	/* Any frame advances the clock. */
	tcp4(&b, 0);
	assert_int_equal(dec_ts(d, DECODE_DLT_RAW, &b, TS + 2000000, &p), DECODE_OK);
	assert_int_equal(rejects(d, DECODE_R_FRAG_TIMEOUT), 2);
	decoder_destroy(d);
}

static void test_frag_memory(void **state)
{
	struct decode_config cfg = { .frag_mem_max = 8192 };
	struct decoder *d;
	uint8_t dg[1400];
	struct buf b;
	struct pkt p;
	uint16_t id;

	(void)state;
	assert_int_equal(decoder_create(&d, &cfg), 0);
	udp_dgram(dg, sizeof(dg));
	/* A datagram that cannot fit: its buffer would pass the cap. */
	frag4(&b, dg, 0, 8, true, 1);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	b_init(&b);
	b_fill(&b, 1000, 0);
	ip4_full(&b, 17, SRC4, DST4, 0, 1, 0x2000 | (60000 / 8));
	eth_hdr(&b, 0x0800);
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_FRAG_MEMORY);
	/* Many datagrams: the oldest make room and are counted. */
	for (id = 100; id < 120; id++) {
		frag4(&b, dg, 0, 1000, true, id);
		assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	}
	assert_true(rejects(d, DECODE_R_FRAG_MEMORY) >= 10);
	/* The newest still completes. */
	frag4(&b, dg, 1000, 400, false, 119);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 1392);
	/* The oldest datagram growing makes room from the newer ones. */
	frag4(&b, dg, 0, 8, true, 200);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	frag4(&b, dg, 0, 1000, true, 201);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	frag4(&b, dg, 0, 1000, true, 202);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_HELD);
	frag4(&b, dg, 8, 1392, false, 200);
	assert_int_equal(dec(d, DECODE_DLT_EN10MB, &b, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 1392);
	decoder_destroy(d);

	/* A cap below one datagram's bookkeeping holds nothing. */
	cfg.frag_mem_max = 100;
	assert_int_equal(decoder_create(&d, &cfg), 0);
	frag4(&b, dg, 0, 8, true, 1);
	expect_reject(d, DECODE_DLT_EN10MB, &b, DECODE_R_FRAG_MEMORY);
	decoder_destroy(d);
}

static void test_frag_too_big(void **state)
{
	struct decoder *d = *state;
	struct buf b;

	b_init(&b);
	b_fill(&b, 64, 0);
	ip4_full(&b, 17, SRC4, DST4, 0, 3, 65480 / 8);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_FRAG_TOO_BIG);
	b_init(&b);
	b_fill(&b, 64, 0);
	ip6_frag_hdr(&b, 17, 65480, false, 3);
	ip6_hdr(&b, 44);
	expect_reject(d, DECODE_DLT_RAW, &b, DECODE_R_FRAG_TOO_BIG);
	/* Just fits: offset 65472 + 56 bytes. */
	b_init(&b);
	b_fill(&b, 56, 0);
	ip6_frag_hdr(&b, 17, 65472, false, 4);
	ip6_hdr(&b, 44);
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &(struct pkt){ 0 }), DECODE_HELD);
}

static void test_frag4_truncated(void **state)
{
	struct decoder *d = *state;
	uint8_t dg[400];
	struct buf b;
	struct pkt p;

	udp_dgram(dg, sizeof(dg));
	frag4(&b, dg, 0, 200, true, 1);
	assert_int_equal(decoder_decode(d, DECODE_DLT_EN10MB, b_data(&b), 100, (uint32_t)b.n, TS,
					&p), DECODE_REJECTED);
	assert_int_equal(rejects(d, DECODE_R_TRUNCATED_IP), 1);
}

static void test_frag6(void **state)
{
	static const size_t cuts[] = { 0, 512, 1024 };
	static const int in_order[] = { 0, 1, 2 }, out_of_order[] = { 2, 0, 1 };
	struct decoder *d = *state;
	uint8_t dg[1300];

	udp_dgram(dg, sizeof(dg));
	frag_run(d, 1, dg, sizeof(dg), cuts, in_order, 3);
	frag_run(d, 1, dg, sizeof(dg), cuts, out_of_order, 3);
	assert_int_equal(decoder_stats(d)->reassembled, 2);
}

static void test_frag6_overlap_and_ext(void **state)
{
	struct decoder *d = *state;
	uint8_t dg[600], evil[600];
	struct buf b;
	struct pkt p;

	/* The fragmentable part opens with a destination options header. */
	memset(dg, 0, 8);
	dg[0] = 17;
	udp_dgram(dg + 8, sizeof(dg) - 8);
	memset(evil, 0xee, sizeof(evil));
	b_init(&b);
	b_append(&b, dg, 304);
	ip6_frag_hdr(&b, 60, 0, true, 99);
	ip6_hdr(&b, 44);
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &p), DECODE_HELD);
	b_init(&b);
	b_append(&b, evil + 296, 104);       /* 8 bytes over the first */
	ip6_frag_hdr(&b, 60, 296, true, 99);
	ip6_hdr(&b, 44);
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &p), DECODE_HELD);
	b_init(&b);
	b_append(&b, dg + 400, 200);
	ip6_frag_hdr(&b, 60, 400, false, 99);
	ip6_hdr(&b, 44);
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &p), DECODE_OK);
	assert_int_equal(rejects(d, DECODE_R_FRAG_OVERLAP), 1);
	assert_true(p.fragmented);
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.sport, 1111);
	assert_int_equal(p.ip_len, 640);
	assert_int_equal(p.payload_len, 600 - 16);
	assert_memory_equal(p.payload, dg + 16, 304 - 16);
	assert_int_equal(p.payload[304 - 16], 0xee);
	assert_int_equal(p.payload[400 - 16], dg[400]);
}

static void test_frag6_timeout_and_memory(void **state)
{
	struct decode_config cfg = { .frag_timeout_ms = 500, .frag_mem_max = 8192 };
	struct decoder *d;
	uint8_t dg[1000];
	struct buf b;
	struct pkt p;
	uint32_t id;

	(void)state;
	assert_int_equal(decoder_create(&d, &cfg), 0);
	udp_dgram(dg, sizeof(dg));
	frag6(&b, dg, 0, 504, true, 1);
	assert_int_equal(dec_ts(d, DECODE_DLT_EN10MB, &b, TS, &p), DECODE_HELD);
	frag6(&b, dg, 504, 496, false, 1);
	assert_int_equal(dec_ts(d, DECODE_DLT_EN10MB, &b, TS + 500000, &p), DECODE_HELD);
	assert_int_equal(rejects(d, DECODE_R_FRAG_TIMEOUT), 1);
	for (id = 10; id < 20; id++) {
		frag6(&b, dg, 0, 504, true, id);
		assert_int_equal(dec_ts(d, DECODE_DLT_EN10MB, &b, TS + 500000, &p), DECODE_HELD);
	}
	assert_true(rejects(d, DECODE_R_FRAG_MEMORY) >= 6);
	frag6(&b, dg, 504, 496, false, 19);
	assert_int_equal(dec_ts(d, DECODE_DLT_EN10MB, &b, TS + 500000, &p), DECODE_OK);
	assert_int_equal(p.payload_len, 992);
	decoder_destroy(d);
}

/* A tunnel whose outer packet was fragmented: the inner packet is decoded
 * from the reassembled buffer. */
static void test_frag_outer_tunnel(void **state)
{
	struct decoder *d = *state;
	struct buf inner, b;
	struct pkt p;
	uint8_t dg[600];

	tcp4(&inner, 400);
	gre_hdr(&inner, 0, 0x0800);
	assert_true(inner.n <= sizeof(dg));
	memcpy(dg, b_data(&inner), inner.n);
	b_init(&b);
	b_append(&b, dg + 256, inner.n - 256);
	ip4_full(&b, 47, SRC4, DST4, 0, 5, 256 / 8);
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &p), DECODE_HELD);
	b_init(&b);
	b_append(&b, dg, 256);
	ip4_full(&b, 47, SRC4, DST4, 0, 5, 0x2000);
	assert_int_equal(dec(d, DECODE_DLT_RAW, &b, &p), DECODE_OK);
	assert_tcp4(&p, 400);
	assert_int_equal(p.tunnel, PKT_TUNNEL_GRE);
	assert_true(p.fragmented);
	assert_int_equal(p.ip_len, 440); /* the inner packet's */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_ethernet_tcp),
		T(test_ethernet_padding),
		T(test_ipv4_options),
		T(test_udp_icmp),
		T(test_other_protocol),
		T(test_vlan),
		T(test_qinq),
		T(test_mpls),
		T(test_pppoe),
		T(test_llc_snap),
		T(test_sll),
		T(test_sll2),
		T(test_raw_and_null),
		T(test_gre),
		T(test_gre_teb_vlans),
		T(test_vxlan),
		T(test_erspan2),
		T(test_erspan3),
		T(test_tunnel_depth),
		T(test_ipv6_ext),
		T(test_zero_ip_length),
		T(test_snaplen_truncated),
		T(test_reject_truncated_link),
		T(test_reject_unsupported_linktype),
		T(test_reject_unsupported_ethertype),
		T(test_reject_too_many_tags),
		T(test_reject_truncated_ip),
		T(test_reject_bad_ip_version),
		T(test_reject_bad_ip_header),
		T(test_reject_bad_ipv6_ext),
		T(test_reject_truncated_l4),
		T(test_reject_bad_tcp_header),
		T(test_reject_bad_udp_length),
		T(test_reject_bad_tunnel),
		T(test_reject_names),
		T(test_frag4_in_order),
		T(test_frag4_out_of_order),
		T(test_frag4_overlap),
		T(test_frag_keys),
		T(test_frag4_timeout),
		T(test_frag_memory),
		T(test_frag_too_big),
		T(test_frag4_truncated),
		T(test_frag6),
		T(test_frag6_overlap_and_ext),
		T(test_frag6_timeout_and_memory),
		T(test_frag_outer_tunnel),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
