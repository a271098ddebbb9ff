/* ward-pcapgen: writes a pcap of typical hospital-network sessions, built
 * packet by packet, for `make run` (scripts/run.sh replays it into the
 * spool with ward-sensor -r --spool) and for tests.
 *
 *   ward-pcapgen -o FILE [--sessions N] [--seed S] [--start-us T]
 *
 * The sessions, in this order and then again from the start (each round
 * with other client addresses) until N are written:
 *
 *    0  HTTP GET and 200 on TCP 80 (a workstation and the EHR web server)
 *    1  HL7 v2 over MLLP on TCP 2575 (ADT^A01 and its ACK)
 *    2  DICOM on TCP 104: association, C-ECHO, release (a CT and the PACS)
 *    3  TLS 1.3 on TCP 443 (ClientHello with SNI, ServerHello, records)
 *    4  DNS query and response on UDP 53
 *    5  NTP client and server on UDP 123
 *    6  a refused connection: SYN, then RST-ACK (Zeek's REJ)
 *    7  an unanswered SYN, sent again a second later (Zeek's S0)
 *    8  ICMP echo and echo reply, twice
 *    9  HTTP over IPv6
 *   10  HL7 ORU^R01 from a patient monitor gateway on 802.1Q VLAN 120
 *   11  HTTP between two VMs inside VXLAN (VNI 5010, UDP 4789)
 *   12  POP3 on TCP 110 with a cleartext USER/PASS login and a RETR (a lab
 *       instrument's mail client: a Cleartext_Credentials notice)
 *
 * Every length and checksum is correct (IPv4 header, TCP, UDP and ICMP
 * with their pseudo-headers), TCP sequence and acknowledgement numbers
 * follow the bytes sent, and the payloads are well-formed for their
 * protocols, so Wireshark reads the file without a malformed packet. The
 * output depends only on the options: the same seed and start give the
 * same bytes. The start (first packet's time, µs since the epoch) is
 * "now" by default, so the records look current; the sessions spread over
 * a few seconds from it. No real patient data: names and numbers are
 * made up.
 *
 * Startup code: the only place that exits the process is main.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <pcap/pcap.h>

#define SNAPLEN        65535
#define FRAME_MAX      2048     /* bytes; the largest frame is a VXLAN one of 1514 + 50 */
#define PAYLOAD_MAX    8192     /* one application message */
#define SESSIONS_MAX   1000000
#define NTP_UNIX_DELTA 2208988800ull   /* seconds from 1900 to 1970 (RFC 5905) */
#define VXLAN_PORT     4789
#define VXLAN_VNI      5010
#define MONITOR_VLAN   120

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

/* ---- small tools ----------------------------------------------------------- */

/* splitmix64: every random choice comes from the seed. */
struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A number in [lo, hi]. */
static uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(rng_next(r) % ((uint64_t)hi - lo + 1));
}

static void rng_fill(struct rng *r, uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rng_next(r);
}

/* A buffer a message is written into. Writes past its end are dropped
 * and remembered in `over`, which the writer of the file checks. */
struct wb {
	uint8_t d[PAYLOAD_MAX];
	size_t n;
	bool over;
};

static void wb_put(struct wb *b, const void *p, size_t n)
{
	if (b->over || n > sizeof(b->d) - b->n) {
		b->over = true;
		return;
	}
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void wb_u8(struct wb *b, unsigned v)
{
	uint8_t x = (uint8_t)v;

	wb_put(b, &x, 1);
}

static void wb_be(struct wb *b, uint64_t v, unsigned width)
{
	uint8_t x[8];
	unsigned i;

	for (i = 0; i < width; i++)
		x[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
	wb_put(b, x, width);
}

static void wb_le(struct wb *b, uint64_t v, unsigned width)
{
	uint8_t x[8];
	unsigned i;

	for (i = 0; i < width; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	wb_put(b, x, width);
}

static void wb_str(struct wb *b, const char *s)
{
	wb_put(b, s, strlen(s));
}

static void wb_fmt(struct wb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void wb_fmt(struct wb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf((char *)b->d + b->n, sizeof(b->d) - b->n, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->d) - b->n)
		b->over = true;
	else
		b->n += (size_t)n;
}

static void wb_rand(struct wb *b, struct rng *r, size_t n)
{
	if (b->over || n > sizeof(b->d) - b->n) {
		b->over = true;
		return;
	}
	rng_fill(r, b->d + b->n, n);
	b->n += n;
}

/* Reserves a big-endian length field of `width` bytes; wb_len fills it
 * with the number of bytes written after it. */
static size_t wb_mark(struct wb *b, unsigned width)
{
	size_t at = b->n;

	wb_be(b, 0, width);
	return at;
}

static void wb_len(struct wb *b, size_t at, unsigned width)
{
	size_t v = b->n - at - width;
	unsigned i;

	if (b->over)
		return;
	for (i = 0; i < width; i++)
		b->d[at + i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* The Internet checksum (RFC 1071) over several parts; each part but the
 * last has an even length. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- hosts, flows and frames ----------------------------------------------- */

struct host {
	uint8_t ver;              /* 4 or 6 */
	uint8_t ip[16];           /* network order; IPv4 in the first 4 */
	uint8_t mac[6];
	uint8_t ttl;              /* 128 for Windows, 64 for the rest */
	uint16_t ip_id;           /* next IPv4 identification */
};

struct gen;

/* One session: its two ends and ports, how its frames travel, and the
 * TCP state of each direction (0: client to server, 1: back). */
struct flow {
	struct host *h[2];
	uint16_t port[2];
	uint16_t vlan;            /* 802.1Q VID; 0: untagged */
	struct host *vtep[2];     /* VXLAN tunnel ends next to h[0], h[1]; NULL: none */
	uint16_t vx_sport;        /* outer UDP source port (a hash of the inner flow) */
	uint32_t seq[2];          /* next sequence number each side sends */
	uint16_t win[2];
	uint16_t mss;             /* the smaller MSS of the two sides */
	uint32_t rtt_us;
	uint32_t label[2];        /* IPv6 flow labels */
};

struct gen {
	pcap_dumper_t *dump;
	struct rng rng;
	uint64_t now_us;
	uint64_t last_us;         /* the last frame's time */
	uint64_t packets;
	bool over;                /* a message did not fit its buffer (a bug) */
	unsigned round;           /* how many times the session list went round */
};

static void host_v4(struct gen *g, struct host *h, unsigned a, unsigned b, unsigned c,
		    unsigned d, uint8_t ttl)
{
	memset(h, 0, sizeof(*h));
	h->ver = 4;
	h->ip[0] = (uint8_t)a;
	h->ip[1] = (uint8_t)b;
	h->ip[2] = (uint8_t)c;
	h->ip[3] = (uint8_t)d;
	/* A locally administered MAC that names the address. */
	h->mac[0] = 0x02;
	memcpy(h->mac + 2, h->ip, 4);
	h->ttl = ttl;
	h->ip_id = (uint16_t)rng_next(&g->rng);
}

/* An IPv6 host: the /64 `prefix` as four groups, interface id ::last. */
static void host_v6(struct host *h, const uint16_t prefix[4], unsigned last, uint8_t ttl)
{
	unsigned i;

	memset(h, 0, sizeof(*h));
	h->ver = 6;
	for (i = 0; i < 4; i++)
		put16(h->ip + 2 * i, prefix[i]);
	put16(h->ip + 14, (uint16_t)last);
	h->mac[0] = 0x02;
	memcpy(h->mac + 2, h->ip + 12, 4);
	h->ttl = ttl;
}

static void flow_init(struct gen *g, struct flow *f, struct host *cli, struct host *srv,
		      uint16_t sport, uint32_t rtt_us)
{
	memset(f, 0, sizeof(*f));
	f->h[0] = cli;
	f->h[1] = srv;
	/* Windows (TTL 128) picks ephemeral ports from 49152, Linux from 32768. */
	f->port[0] = (uint16_t)(cli->ttl == 128 ? rng_range(&g->rng, 49152, 65535) :
				rng_range(&g->rng, 32768, 60999));
	f->port[1] = sport;
	f->seq[0] = (uint32_t)rng_next(&g->rng);
	f->seq[1] = (uint32_t)rng_next(&g->rng);
	f->win[0] = cli->ttl == 128 ? 64240 : 64256;
	f->win[1] = 65160;
	f->mss = cli->ver == 6 ? 1440 : 1460;
	f->rtt_us = rtt_us;
	f->label[0] = (uint32_t)rng_next(&g->rng) & 0xfffff;
	f->label[1] = (uint32_t)rng_next(&g->rng) & 0xfffff;
}

static void wait_us(struct gen *g, uint64_t us)
{
	g->now_us += us;
}

/* Half a round trip, with a little jitter. */
static void half_rtt(struct gen *g, const struct flow *f)
{
	wait_us(g, f->rtt_us / 2 + rng_range(&g->rng, 0, f->rtt_us / 10 + 1));
}

static void emit(struct gen *g, const uint8_t *frame, size_t len)
{
	struct pcap_pkthdr ph;

	/* One frame per microsecond at most: no two frames share a time. */
	if (g->packets > 0 && g->now_us <= g->last_us)
		g->now_us = g->last_us + 1;
	g->last_us = g->now_us;
	memset(&ph, 0, sizeof(ph));
	ph.ts.tv_sec = (time_t)(g->now_us / 1000000);
	ph.ts.tv_usec = (suseconds_t)(g->now_us % 1000000);
	ph.caplen = (bpf_u_int32)len;
	ph.len = (bpf_u_int32)len;
	pcap_dump((u_char *)g->dump, &ph, frame);
	g->packets++;
}

/* An IP packet from `src` to `dst` around the transport segment `l4`,
 * whose checksum (TCP, UDP, ICMP, ICMPv6) is computed here unless
 * `zero_udp_csum` (RFC 7348 5: VXLAN's outer UDP checksum SHOULD be
 * zero over IPv4; RFC 768 makes zero "none"). Returns its length. */
static size_t ip_build(uint8_t *out, struct host *src, const struct host *dst, uint8_t proto,
		       uint8_t *l4, size_t l4len, uint32_t label, bool zero_udp_csum)
{
	size_t hl = src->ver == 4 ? 20 : 40, co;
	uint8_t pseudo[40];
	uint32_t sum = 0;

	co = proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
	l4[co] = l4[co + 1] = 0;
	if (src->ver == 4) {
		memcpy(pseudo, src->ip, 4);
		memcpy(pseudo + 4, dst->ip, 4);
		pseudo[8] = 0;
		pseudo[9] = proto;
		put16(pseudo + 10, (uint16_t)l4len);
		if (proto != IPPROTO_ICMP)
			sum = csum_add(0, pseudo, 12);
	} else {
		memcpy(pseudo, src->ip, 16);
		memcpy(pseudo + 16, dst->ip, 16);
		put32(pseudo + 32, (uint32_t)l4len);
		pseudo[36] = pseudo[37] = pseudo[38] = 0;
		pseudo[39] = proto;
		sum = csum_add(0, pseudo, 40);
	}
	if (!(zero_udp_csum && proto == IPPROTO_UDP)) {
		uint16_t c = csum_fold(csum_add(sum, l4, l4len));

		/* UDP sends a computed zero as all ones (RFC 768). */
		put16(l4 + co, c == 0 && proto == IPPROTO_UDP ? 0xffff : c);
	}
	if (src->ver == 4) {
		out[0] = 0x45;
		out[1] = 0;
		put16(out + 2, (uint16_t)(hl + l4len));
		put16(out + 4, src->ip_id++);
		/* Don't Fragment on TCP, as path MTU discovery sets it. */
		put16(out + 6, proto == IPPROTO_TCP ? 0x4000 : 0);
		out[8] = src->ttl;
		out[9] = proto;
		put16(out + 10, 0);
		memcpy(out + 12, src->ip, 4);
		memcpy(out + 16, dst->ip, 4);
		put16(out + 10, csum_fold(csum_add(0, out, 20)));
	} else {
		put32(out, 6u << 28 | (label & 0xfffff));
		put16(out + 4, (uint16_t)l4len);
		out[6] = proto;
		out[7] = src->ttl;
		memcpy(out + 8, src->ip, 16);
		memcpy(out + 24, dst->ip, 16);
	}
	memcpy(out + hl, l4, l4len);
	return hl + l4len;
}

/* An Ethernet II frame, tagged with `vlan` when not 0 (IEEE 802.1Q,
 * priority 0). Returns its length. */
static size_t eth_build(uint8_t *out, const uint8_t *src, const uint8_t *dst, uint16_t vlan,
			uint16_t type, const uint8_t *payload, size_t len)
{
	size_t hl = 14;

	memcpy(out, dst, 6);
	memcpy(out + 6, src, 6);
	if (vlan != 0) {
		put16(out + 12, 0x8100);
		put16(out + 14, vlan & 0x0fff);
		hl = 18;
	}
	put16(out + hl - 2, type);
	memcpy(out + hl, payload, len);
	return hl + len;
}

/* Sends the transport segment `l4` of `len` bytes in direction `dir` of
 * flow f: IP, Ethernet (tagged if the flow is), and VXLAN around it all
 * if the flow is tunnelled. */
static void flow_send(struct gen *g, struct flow *f, int dir, uint8_t proto, uint8_t *l4,
		      size_t len)
{
	uint8_t ip[FRAME_MAX], fr[FRAME_MAX], outer[FRAME_MAX], oip[FRAME_MAX];
	struct host *src = f->h[dir], *dst = f->h[!dir];
	size_t n;

	if (len + 40 + 18 > FRAME_MAX - 64) {
		g->over = true;
		return;
	}
	n = ip_build(ip, src, dst, proto, l4, len, f->label[dir], false);
	n = eth_build(fr, src->mac, dst->mac, f->vlan, src->ver == 4 ? 0x0800 : 0x86dd, ip, n);
	if (f->vtep[0] != NULL) {
		struct host *vs = f->vtep[dir], *vd = f->vtep[!dir];

		/* UDP header and VXLAN header (RFC 7348 5: I flag, VNI). */
		put16(outer, f->vx_sport);
		put16(outer + 2, VXLAN_PORT);
		put16(outer + 4, (uint16_t)(8 + 8 + n));
		put16(outer + 6, 0);
		memset(outer + 8, 0, 8);
		outer[8] = 0x08;
		outer[12] = (uint8_t)(VXLAN_VNI >> 16);
		outer[13] = (uint8_t)(VXLAN_VNI >> 8);
		outer[14] = (uint8_t)VXLAN_VNI;
		memcpy(outer + 16, fr, n);
		n = ip_build(oip, vs, vd, IPPROTO_UDP, outer, 16 + n, 0, true);
		n = eth_build(fr, vs->mac, vd->mac, 0, 0x0800, oip, n);
	}
	emit(g, fr, n);
}

/* ---- TCP --------------------------------------------------------------------- */

/* One TCP segment in direction `dir` with `flags` and `len` bytes of
 * data; the acknowledgement number is all the other side sent. A SYN
 * carries MSS and SACK-permitted options, as every stack sends. */
static void tcp_seg(struct gen *g, struct flow *f, int dir, uint8_t flags, const uint8_t *data,
		    size_t len)
{
	uint8_t seg[FRAME_MAX];
	size_t hl = 20;

	if (len > f->mss) {
		g->over = true;
		return;
	}
	put16(seg, f->port[dir]);
	put16(seg + 2, f->port[!dir]);
	put32(seg + 4, f->seq[dir]);
	put32(seg + 8, (flags & TH_ACK) ? f->seq[!dir] : 0);
	if (flags & TH_SYN) {
		seg[20] = 2;                  /* MSS */
		seg[21] = 4;
		put16(seg + 22, f->mss);
		seg[24] = 1;                  /* NOP, NOP, SACK permitted */
		seg[25] = 1;
		seg[26] = 4;
		seg[27] = 2;
		hl = 28;
	}
	seg[12] = (uint8_t)((hl / 4) << 4);
	seg[13] = flags;
	put16(seg + 14, (flags & TH_RST) ? 0 : f->win[dir]);
	put16(seg + 16, 0);
	put16(seg + 18, 0);
	if (len > 0)
		memcpy(seg + hl, data, len);
	flow_send(g, f, dir, IPPROTO_TCP, seg, hl + len);
	f->seq[dir] += (uint32_t)len + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
}

static void tcp_open(struct gen *g, struct flow *f)
{
	tcp_seg(g, f, 0, TH_SYN, NULL, 0);
	half_rtt(g, f);
	tcp_seg(g, f, 1, TH_SYN | TH_ACK, NULL, 0);
	half_rtt(g, f);
	tcp_seg(g, f, 0, TH_ACK, NULL, 0);
	wait_us(g, rng_range(&g->rng, 20, 90));   /* connect() returns, the request follows */
}

/* Sends a message in MSS-sized segments back to back (a message this
 * size fits the initial congestion window), PSH on the last; the
 * receiver acknowledges them all at once. */
static void tcp_send(struct gen *g, struct flow *f, int dir, const struct wb *m)
{
	size_t off = 0, n;

	if (m->over)
		g->over = true;
	while (off < m->n) {
		n = m->n - off < f->mss ? m->n - off : f->mss;
		tcp_seg(g, f, dir, (uint8_t)(TH_ACK | (off + n == m->n ? TH_PSH : 0)), m->d + off, n);
		off += n;
		/* 1500 bytes take 12 µs at 1 Gbit/s. */
		wait_us(g, 1 + n / 125);
	}
	half_rtt(g, f);
	tcp_seg(g, f, !dir, TH_ACK, NULL, 0);
}

/* Side `first` closes; the other answers with its own FIN at once. */
static void tcp_close(struct gen *g, struct flow *f, int first)
{
	tcp_seg(g, f, first, TH_FIN | TH_ACK, NULL, 0);
	half_rtt(g, f);
	tcp_seg(g, f, !first, TH_FIN | TH_ACK, NULL, 0);
	half_rtt(g, f);
	tcp_seg(g, f, first, TH_ACK, NULL, 0);
}

/* A request, the server's think time, its answer. */
static void tcp_exchange(struct gen *g, struct flow *f, const struct wb *req,
			 const struct wb *rsp, uint32_t think_us)
{
	tcp_send(g, f, 0, req);
	wait_us(g, think_us);
	tcp_send(g, f, 1, rsp);
	half_rtt(g, f);
}

/* ---- UDP and ICMP ------------------------------------------------------------ */

static void udp_send(struct gen *g, struct flow *f, int dir, const struct wb *m)
{
	uint8_t seg[FRAME_MAX];

	if (m->over || m->n > f->mss) {
		g->over = true;
		return;
	}
	put16(seg, f->port[dir]);
	put16(seg + 2, f->port[!dir]);
	put16(seg + 4, (uint16_t)(8 + m->n));
	put16(seg + 6, 0);
	memcpy(seg + 8, m->d, m->n);
	flow_send(g, f, dir, IPPROTO_UDP, seg, 8 + m->n);
}

/* An ICMP echo request (dir 0) or reply (dir 1), RFC 792, with the 56
 * bytes of data Linux ping sends: a timestamp, then 0x10, 0x11, ... */
static void icmp_echo(struct gen *g, struct flow *f, int dir, uint16_t id, uint16_t seq,
		      uint64_t sent_us)
{
	uint8_t m[8 + 56];
	unsigned i;

	m[0] = dir == 0 ? 8 : 0;
	m[1] = 0;
	put16(m + 2, 0);
	put16(m + 4, id);
	put16(m + 6, seq);
	for (i = 0; i < 8; i++)
		m[8 + i] = (uint8_t)((sent_us / 1000000) >> (8 * i));
	for (i = 8; i < 16; i++)
		m[8 + i] = (uint8_t)((sent_us % 1000000) >> (8 * (i - 8)));
	for (i = 16; i < 56; i++)
		m[8 + i] = (uint8_t)i;
	flow_send(g, f, dir, IPPROTO_ICMP, m, sizeof(m));
}

/* ---- application messages ------------------------------------------------------- */

static void http_request(struct wb *b, const char *host, const char *path, const char *ua)
{
	wb_fmt(b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
		  "Accept: application/json\r\nAccept-Encoding: identity\r\n"
		  "Connection: close\r\n\r\n", path, host, ua);
}

/* A 200 with a JSON body of `items` made-up worklist entries. */
static void http_response(struct gen *g, struct wb *b, unsigned items)
{
	static const char *const task[] = { "vitals", "medication", "wound care", "lab draw",
					    "imaging", "discharge" };
	struct wb body;
	struct tm tm;
	time_t t = (time_t)(g->now_us / 1000000);
	unsigned i;

	body.n = 0;
	body.over = false;
	wb_str(&body, "{\"unit\":\"ICU\",\"items\":[");
	for (i = 0; i < items; i++)
		wb_fmt(&body, "%s{\"bed\":\"ICU-%02u\",\"encounter\":\"E%07u\",\"task\":\"%s\","
			      "\"due_min\":%u}", i ? "," : "", i + 1,
		       rng_range(&g->rng, 1000000, 9999999), task[rng_next(&g->rng) % 6],
		       rng_range(&g->rng, 0, 240));
	wb_str(&body, "]}");
	gmtime_r(&t, &tm);
	wb_fmt(b, "HTTP/1.1 200 OK\r\nDate: ");
	if (!b->over) {
		size_t n = strftime((char *)b->d + b->n, sizeof(b->d) - b->n,
				    "%a, %d %b %Y %H:%M:%S GMT", &tm);

		b->n += n;
		b->over = n == 0;
	}
	wb_fmt(b, "\r\nServer: nginx\r\nContent-Type: application/json\r\n"
		  "Content-Length: %zu\r\nConnection: close\r\n\r\n", body.n);
	wb_put(b, body.d, body.n);
	if (body.over)
		b->over = true;
}

/* HL7's DTM to the second, YYYYMMDDHHMMSS. */
static void hl7_time(const struct gen *g, char *dst, size_t len)
{
	time_t t = (time_t)(g->now_us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(dst, len, "%Y%m%d%H%M%S", &tm);
}

/* MLLP framing (HL7 v2.5.1 Appendix C): 0x0b, the message, 0x1c 0x0d. */
static void mllp_open(struct wb *b)
{
	wb_u8(b, 0x0b);
}

static void mllp_close(struct wb *b)
{
	wb_u8(b, 0x1c);
	wb_u8(b, 0x0d);
}

static void hl7_adt(struct gen *g, struct wb *b, unsigned msgid)
{
	char ts[16];
	unsigned mrn = rng_range(&g->rng, 100000, 999999);

	hl7_time(g, ts, sizeof(ts));
	mllp_open(b);
	wb_fmt(b, "MSH|^~\\&|ADT|WARDHOSP|LIS|WARDHOSP|%s||ADT^A01^ADT_A01|MSG%06u|P|2.5.1\r", ts,
	       msgid);
	wb_fmt(b, "EVN|A01|%s\r", ts);
	wb_fmt(b, "PID|1||MRN%u^^^WARDHOSP^MR||TEST^PATIENT^%c||19700101|U\r", mrn,
	       'A' + (int)(mrn % 26));
	wb_fmt(b, "PV1|1|I|ICU^%02u^1^WARDHOSP||||0001^DOCTOR^TEST\r", mrn % 12 + 1);
	mllp_close(b);
}

static void hl7_oru(struct gen *g, struct wb *b, unsigned msgid)
{
	char ts[16];
	unsigned mrn = rng_range(&g->rng, 100000, 999999);

	hl7_time(g, ts, sizeof(ts));
	mllp_open(b);
	wb_fmt(b, "MSH|^~\\&|MONITOR|ICU-GW|HL7ENGINE|WARDHOSP|%s||ORU^R01^ORU_R01|MON%06u|P|2.6\r",
	       ts, msgid);
	wb_fmt(b, "PID|1||MRN%u^^^WARDHOSP^MR\r", mrn);
	wb_fmt(b, "OBR|1|||0002-4182^MDC_ECG_HEART_RATE^MDC|||%s\r", ts);
	wb_fmt(b, "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||%u|264864^/min^MDC|||||F\r",
	       rng_range(&g->rng, 55, 110));
	wb_fmt(b, "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||%u|262688^%%^MDC|||||F\r",
	       rng_range(&g->rng, 92, 100));
	mllp_close(b);
}

/* The ACK from `app` to `to` for message <prefix><msgid>. */
static void hl7_ack(struct gen *g, struct wb *b, const char *app, const char *to,
		    const char *prefix, unsigned msgid)
{
	char ts[16];

	hl7_time(g, ts, sizeof(ts));
	mllp_open(b);
	wb_fmt(b, "MSH|^~\\&|%s|WARDHOSP|%s|WARDHOSP|%s||ACK|ACK%06u|P|2.5.1\r", app, to, ts,
	       msgid);
	wb_fmt(b, "MSA|AA|%s%06u\r", prefix, msgid);
	mllp_close(b);
}

/* DICOM upper layer (PS3.8 9.3): a PDU is type, reserved, 4-byte length. */
#define DICOM_ECHO_SOP  "1.2.840.10008.1.1"      /* Verification SOP Class */
#define DICOM_APP_CTX   "1.2.840.10008.3.1.1.1"
#define DICOM_IMPLICIT  "1.2.840.10008.1.2"      /* Implicit VR Little Endian */
#define DICOM_IMPL_UID  "2.25.271828182845904523536028747135266249"

static void dicom_item(struct wb *b, unsigned type, const char *uid)
{
	wb_u8(b, type);
	wb_u8(b, 0);
	wb_be(b, strlen(uid), 2);
	wb_str(b, uid);
}

static void dicom_ae(struct wb *b, const char *ae)
{
	char pad[17];

	snprintf(pad, sizeof(pad), "%-16s", ae);
	wb_put(b, pad, 16);
}

/* A-ASSOCIATE-RQ (type 1) or -AC (type 2), PS3.8 9.3.2 and 9.3.3: one
 * presentation context, Verification in Implicit VR Little Endian. */
static void dicom_associate(struct wb *b, unsigned type)
{
	size_t pdu, pc, ui;

	wb_u8(b, type);
	wb_u8(b, 0);
	pdu = wb_mark(b, 4);
	wb_be(b, 1, 2);                   /* protocol version */
	wb_be(b, 0, 2);
	dicom_ae(b, "PACS");              /* called */
	dicom_ae(b, "CT01");              /* calling */
	wb_be(b, 0, 8); wb_be(b, 0, 8); wb_be(b, 0, 8); wb_be(b, 0, 8);
	dicom_item(b, 0x10, DICOM_APP_CTX);
	wb_u8(b, type == 1 ? 0x20 : 0x21);
	wb_u8(b, 0);
	pc = wb_mark(b, 2);
	wb_u8(b, 1);                      /* presentation context id */
	wb_u8(b, 0);
	wb_u8(b, 0);                      /* result: acceptance (AC only) */
	wb_u8(b, 0);
	if (type == 1)
		dicom_item(b, 0x30, DICOM_ECHO_SOP);
	dicom_item(b, 0x40, DICOM_IMPLICIT);
	wb_len(b, pc, 2);
	wb_u8(b, 0x50);                   /* user information */
	wb_u8(b, 0);
	ui = wb_mark(b, 2);
	wb_u8(b, 0x51);                   /* maximum length */
	wb_u8(b, 0);
	wb_be(b, 4, 2);
	wb_be(b, 16384, 4);
	dicom_item(b, 0x52, DICOM_IMPL_UID);
	dicom_item(b, 0x55, "WARD_PCAPGEN");
	wb_len(b, ui, 2);
	wb_len(b, pdu, 4);
}

/* One implicit VR little endian data element (PS3.5 7.1.3). */
static void dicom_elem(struct wb *b, unsigned group, unsigned elem, const void *v, size_t len)
{
	wb_le(b, group, 2);
	wb_le(b, elem, 2);
	wb_le(b, len, 4);
	wb_put(b, v, len);
}

static void dicom_elem_us(struct wb *b, unsigned elem, unsigned v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	dicom_elem(b, 0, elem, x, 2);
}

/* P-DATA-TF (PS3.8 9.3.5) with one PDV: a C-ECHO-RQ or -RSP command
 * (PS3.7 9.3.5), whose UID is padded to an even length with a NUL. */
static void dicom_echo(struct wb *b, bool rsp)
{
	struct wb cmd;
	uint8_t gl[4];
	size_t pdu, pdv;

	cmd.n = 0;
	cmd.over = false;
	dicom_elem(&cmd, 0, 0x0002, DICOM_ECHO_SOP, sizeof(DICOM_ECHO_SOP));
	dicom_elem_us(&cmd, 0x0100, rsp ? 0x8030 : 0x0030);
	dicom_elem_us(&cmd, rsp ? 0x0120 : 0x0110, 1);
	dicom_elem_us(&cmd, 0x0800, 0x0101);       /* no data set */
	if (rsp)
		dicom_elem_us(&cmd, 0x0900, 0);    /* status: success */
	gl[0] = (uint8_t)cmd.n;
	gl[1] = (uint8_t)(cmd.n >> 8);
	gl[2] = gl[3] = 0;

	wb_u8(b, 0x04);
	wb_u8(b, 0);
	pdu = wb_mark(b, 4);
	pdv = wb_mark(b, 4);
	wb_u8(b, 1);                      /* presentation context id */
	wb_u8(b, 0x03);                   /* command, last fragment */
	dicom_elem(b, 0, 0x0000, gl, 4);  /* command group length */
	wb_put(b, cmd.d, cmd.n);
	wb_len(b, pdv, 4);
	wb_len(b, pdu, 4);
	if (cmd.over)
		b->over = true;
}

/* A-RELEASE-RQ (5) or -RP (6), PS3.8 9.3.6 and 9.3.7. */
static void dicom_release(struct wb *b, unsigned type)
{
	wb_u8(b, type);
	wb_u8(b, 0);
	wb_be(b, 4, 4);
	wb_be(b, 0, 4);
}

/* A TLS record header (RFC 8446 5.1) whose length wb_len fills. */
static size_t tls_record(struct wb *b, unsigned type, unsigned version)
{
	wb_u8(b, type);
	wb_be(b, version, 2);
	return wb_mark(b, 2);
}

static void tls_ext(struct wb *b, unsigned type, const void *data, size_t len)
{
	wb_be(b, type, 2);
	wb_be(b, len, 2);
	wb_put(b, data, len);
}

/* ClientHello (RFC 8446 4.1.2) offering TLS 1.3 and 1.2, with SNI. */
static void tls_client_hello(struct gen *g, struct wb *b, const char *sni)
{
	static const uint8_t suites[] = { 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b,
					  0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30 };
	static const uint8_t groups[] = { 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17 };
	static const uint8_t sigalgs[] = { 0x00, 0x08, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01,
					   0x05, 0x03 };
	static const uint8_t versions[] = { 0x04, 0x03, 0x04, 0x03, 0x03 };
	uint8_t ks[2 + 4 + 32];
	size_t rec, hs, ext, sn;

	rec = tls_record(b, 22, 0x0301);
	wb_u8(b, 1);
	hs = wb_mark(b, 3);
	wb_be(b, 0x0303, 2);
	wb_rand(b, &g->rng, 32);          /* random */
	wb_u8(b, 32);
	wb_rand(b, &g->rng, 32);          /* legacy session id */
	wb_be(b, sizeof(suites), 2);
	wb_put(b, suites, sizeof(suites));
	wb_u8(b, 1);
	wb_u8(b, 0);                      /* null compression */
	ext = wb_mark(b, 2);
	wb_be(b, 0, 2);                   /* server_name (RFC 6066 3) */
	sn = wb_mark(b, 2);
	wb_be(b, strlen(sni) + 3, 2);
	wb_u8(b, 0);
	wb_be(b, strlen(sni), 2);
	wb_str(b, sni);
	wb_len(b, sn, 2);
	tls_ext(b, 10, groups, sizeof(groups));
	tls_ext(b, 13, sigalgs, sizeof(sigalgs));
	tls_ext(b, 43, versions, sizeof(versions));
	put16(ks, 36);                    /* key_share: x25519 */
	put16(ks + 2, 0x001d);
	put16(ks + 4, 32);
	rng_fill(&g->rng, ks + 6, 32);
	tls_ext(b, 51, ks, sizeof(ks));
	wb_len(b, ext, 2);
	wb_len(b, hs, 3);
	wb_len(b, rec, 2);
}

/* ServerHello choosing TLS 1.3 (RFC 8446 4.1.3), ChangeCipherSpec (the
 * middlebox compatibility record), then the encrypted handshake as
 * application data records of `enc` bytes in all. */
static void tls_server_flight(struct gen *g, struct wb *b, const uint8_t *sid, size_t enc)
{
	uint8_t ks[4 + 32];
	static const uint8_t v13[] = { 0x03, 0x04 };
	size_t rec, hs, ext;

	rec = tls_record(b, 22, 0x0303);
	wb_u8(b, 2);
	hs = wb_mark(b, 3);
	wb_be(b, 0x0303, 2);
	wb_rand(b, &g->rng, 32);
	wb_u8(b, 32);
	wb_put(b, sid, 32);               /* echoes the client's session id */
	wb_be(b, 0x1301, 2);              /* TLS_AES_128_GCM_SHA256 */
	wb_u8(b, 0);
	ext = wb_mark(b, 2);
	tls_ext(b, 43, v13, sizeof(v13));
	put16(ks, 0x001d);
	put16(ks + 2, 32);
	rng_fill(&g->rng, ks + 4, 32);
	tls_ext(b, 51, ks, sizeof(ks));
	wb_len(b, ext, 2);
	wb_len(b, hs, 3);
	wb_len(b, rec, 2);
	rec = tls_record(b, 20, 0x0303);
	wb_u8(b, 1);
	wb_len(b, rec, 2);
	rec = tls_record(b, 23, 0x0303);
	wb_rand(b, &g->rng, enc);
	wb_len(b, rec, 2);
}

/* Application data records (RFC 8446 5.2) of these sizes, preceded by a
 * ChangeCipherSpec when `ccs`. */
static void tls_app(struct gen *g, struct wb *b, bool ccs, const size_t *sizes, size_t n)
{
	size_t rec, i;

	if (ccs) {
		rec = tls_record(b, 20, 0x0303);
		wb_u8(b, 1);
		wb_len(b, rec, 2);
	}
	for (i = 0; i < n; i++) {
		rec = tls_record(b, 23, 0x0303);
		wb_rand(b, &g->rng, sizes[i]);
		wb_len(b, rec, 2);
	}
}

/* A DNS name in labels (RFC 1035 3.1). */
static void dns_name(struct wb *b, const char *name)
{
	const char *p = name, *dot;

	while (*p != '\0') {
		dot = strchr(p, '.');
		if (dot == NULL)
			dot = p + strlen(p);
		wb_u8(b, (unsigned)(dot - p));
		wb_put(b, p, (size_t)(dot - p));
		p = *dot ? dot + 1 : dot;
	}
	wb_u8(b, 0);
}

/* A query for the A record of `name` (RFC 1035 4.1), or its answer with
 * `addr`, the name compressed to a pointer at offset 12. */
static void dns_message(struct wb *b, uint16_t id, const char *name, const uint8_t *addr)
{
	wb_be(b, id, 2);
	wb_be(b, addr ? 0x8180 : 0x0100, 2);  /* response, RD, RA / query, RD */
	wb_be(b, 1, 2);
	wb_be(b, addr ? 1 : 0, 2);
	wb_be(b, 0, 2);
	wb_be(b, 0, 2);
	dns_name(b, name);
	wb_be(b, 1, 2);                   /* A */
	wb_be(b, 1, 2);                   /* IN */
	if (addr != NULL) {
		wb_be(b, 0xc00c, 2);
		wb_be(b, 1, 2);
		wb_be(b, 1, 2);
		wb_be(b, 300, 4);         /* TTL, s */
		wb_be(b, 4, 2);
		wb_put(b, addr, 4);
	}
}

static void ntp_ts(struct wb *b, uint64_t us)
{
	wb_be(b, us / 1000000 + NTP_UNIX_DELTA, 4);
	wb_be(b, ((us % 1000000) << 32) / 1000000, 4);
}

/* An NTPv4 packet (RFC 5905 7.3): mode 3 from the client, whose transmit
 * time the server's mode 4 answer echoes as its origin. */
static void ntp_packet(struct wb *b, bool server, uint64_t orig_us, uint64_t rx_us,
		       uint64_t tx_us)
{
	wb_u8(b, server ? 0x24 : 0x23);   /* LI 0, VN 4, mode */
	wb_u8(b, server ? 2 : 0);         /* stratum */
	wb_u8(b, 6);                      /* poll, log2 s */
	wb_u8(b, 0xe9);                   /* precision, 2^-23 s */
	wb_be(b, server ? 0x00000a3c : 0, 4);   /* root delay */
	wb_be(b, server ? 0x00001e2b : 0, 4);   /* root dispersion */
	wb_be(b, server ? 0xc0000201 : 0, 4);   /* reference id: its server 192.0.2.1 */
	if (server) {
		ntp_ts(b, rx_us - 17000000);      /* reference: last set 17 s ago */
		ntp_ts(b, orig_us);
		ntp_ts(b, rx_us);
	} else {
		wb_be(b, 0, 8);
		wb_be(b, 0, 8);
		wb_be(b, 0, 8);
	}
	ntp_ts(b, tx_us);
}

/* ---- the sessions ------------------------------------------------------------- */

/* Each session gets its client's last octet from the round, so that the
 * rounds are separate flows. */
static unsigned cli_octet(const struct gen *g, unsigned base)
{
	return base + (g->round * 7) % (250 - base);
}

#define MSG(name) struct wb name = { .n = 0, .over = false }

static void s_http(struct gen *g)
{
	struct host ws, ehr;
	struct flow f;
	MSG(req);
	MSG(rsp);

	host_v4(g, &ws, 10, 20, 1, cli_octet(g, 15), 128);
	host_v4(g, &ehr, 10, 30, 1, 30, 64);
	flow_init(g, &f, &ws, &ehr, 80, 400);
	tcp_open(g, &f);
	http_request(&req, "ehr.wardhosp.example", "/api/v1/worklist?unit=ICU",
		     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
		     "(KHTML, like Gecko) Chrome/120.0 Safari/537.36");
	http_response(g, &rsp, 40);
	tcp_exchange(g, &f, &req, &rsp, 3500);
	tcp_close(g, &f, 1);            /* Connection: close, the server ends */
}

static void s_hl7(struct gen *g)
{
	struct host eng, lis;
	struct flow f;
	unsigned id = rng_range(&g->rng, 1, 999999);
	MSG(req);
	MSG(rsp);

	host_v4(g, &eng, 10, 30, 2, cli_octet(g, 20), 64);
	host_v4(g, &lis, 10, 30, 2, 40, 64);
	flow_init(g, &f, &eng, &lis, 2575, 300);
	tcp_open(g, &f);
	hl7_adt(g, &req, id);
	hl7_ack(g, &rsp, "LIS", "ADT", "MSG", id);
	tcp_exchange(g, &f, &req, &rsp, 1800);
	tcp_close(g, &f, 0);
}

static void s_dicom(struct gen *g)
{
	struct host ct, pacs;
	struct flow f;
	MSG(rq);
	MSG(ac);
	MSG(erq);
	MSG(ersp);
	MSG(rrq);
	MSG(rrp);

	host_v4(g, &ct, 10, 50, 3, cli_octet(g, 21), 64);
	host_v4(g, &pacs, 10, 30, 3, 10, 64);
	flow_init(g, &f, &ct, &pacs, 104, 500);
	tcp_open(g, &f);
	dicom_associate(&rq, 1);
	dicom_associate(&ac, 2);
	tcp_exchange(g, &f, &rq, &ac, 900);
	dicom_echo(&erq, false);
	dicom_echo(&ersp, true);
	tcp_exchange(g, &f, &erq, &ersp, 300);
	dicom_release(&rrq, 5);
	dicom_release(&rrp, 6);
	tcp_exchange(g, &f, &rrq, &rrp, 200);
	tcp_close(g, &f, 0);
}

static void s_tls(struct gen *g)
{
	static const size_t fin[] = { 53, 412 }, data[] = { 1840, 31 }, alert[] = { 19 };
	struct host ws, cloud;
	struct flow f;
	MSG(ch);
	MSG(sf);
	MSG(cf);
	MSG(sd);
	MSG(al);

	host_v4(g, &ws, 10, 20, 1, cli_octet(g, 16), 128);
	host_v4(g, &cloud, 198, 51, 100, 25, 52);
	flow_init(g, &f, &ws, &cloud, 443, 18000);
	tcp_open(g, &f);
	tls_client_hello(g, &ch, "portal.imaging-cloud.example");
	/* The session id sits after record (5), handshake (4), version (2),
	 * random (32) and its length byte (1). */
	tls_server_flight(g, &sf, ch.d + 44, 2960);
	tcp_exchange(g, &f, &ch, &sf, 2500);
	tls_app(g, &cf, true, fin, 2);
	tls_app(g, &sd, false, data, 2);
	tcp_exchange(g, &f, &cf, &sd, 42000);
	tls_app(g, &al, false, alert, 1);
	tcp_send(g, &f, 0, &al);
	tcp_close(g, &f, 0);
}

static void s_dns(struct gen *g)
{
	struct host ws, ns;
	struct flow f;
	uint16_t id = (uint16_t)rng_next(&g->rng);
	MSG(q);
	MSG(r);

	host_v4(g, &ws, 10, 20, 1, cli_octet(g, 15), 128);
	host_v4(g, &ns, 10, 30, 0, 53, 64);
	flow_init(g, &f, &ws, &ns, 53, 300);
	dns_message(&q, id, "ehr.wardhosp.example", NULL);
	dns_message(&r, id, "ehr.wardhosp.example", (const uint8_t[]){ 10, 30, 1, 30 });
	udp_send(g, &f, 0, &q);
	wait_us(g, 420);
	udp_send(g, &f, 1, &r);
}

static void s_ntp(struct gen *g)
{
	struct host dev, ts;
	struct flow f;
	uint64_t t1, t2;
	MSG(q);
	MSG(r);

	host_v4(g, &dev, 10, 50, 3, cli_octet(g, 21), 64);
	host_v4(g, &ts, 10, 30, 0, 123, 64);
	flow_init(g, &f, &dev, &ts, 123, 300);
	f.port[0] = 123;                  /* ntpd sends from its own port */
	t1 = g->now_us;
	ntp_packet(&q, false, 0, 0, t1);
	udp_send(g, &f, 0, &q);
	wait_us(g, 160);
	t2 = g->now_us;
	ntp_packet(&r, true, t1, t2, t2 + 25);
	wait_us(g, 25);
	udp_send(g, &f, 1, &r);
}

static void s_refused(struct gen *g)
{
	struct host ws, srv;
	struct flow f;

	host_v4(g, &ws, 10, 20, 1, cli_octet(g, 17), 128);
	host_v4(g, &srv, 10, 30, 1, 30, 64);
	flow_init(g, &f, &ws, &srv, 3389, 400);
	tcp_seg(g, &f, 0, TH_SYN, NULL, 0);
	half_rtt(g, &f);
	f.seq[1] = 0;                     /* a closed port answers from seq 0 */
	tcp_seg(g, &f, 1, TH_RST | TH_ACK, NULL, 0);
}

static void s_unanswered(struct gen *g)
{
	struct host ws, gone;
	struct flow f;

	host_v4(g, &ws, 10, 20, 1, cli_octet(g, 18), 128);
	host_v4(g, &gone, 10, 30, 9, 99, 128);
	flow_init(g, &f, &ws, &gone, 445, 400);
	tcp_seg(g, &f, 0, TH_SYN, NULL, 0);
	wait_us(g, 1000000);              /* the retransmission timer's first 1 s */
	f.seq[0]--;                       /* the same SYN again */
	tcp_seg(g, &f, 0, TH_SYN, NULL, 0);
}

static void s_ping(struct gen *g)
{
	struct host nurse, pacs;
	struct flow f;
	uint16_t id = (uint16_t)rng_next(&g->rng);
	uint64_t t;
	unsigned i;

	host_v4(g, &nurse, 10, 20, 1, cli_octet(g, 15), 64);
	host_v4(g, &pacs, 10, 30, 3, 10, 64);
	flow_init(g, &f, &nurse, &pacs, 0, 350);
	for (i = 1; i <= 2; i++) {
		t = g->now_us;
		icmp_echo(g, &f, 0, id, (uint16_t)i, t);
		half_rtt(g, &f);
		icmp_echo(g, &f, 1, id, (uint16_t)i, t);
		if (i < 2)
			wait_us(g, 200000);   /* ping -i 0.2 */
	}
}

static void s_http6(struct gen *g)
{
	struct host ws, fhir;
	struct flow f;
	MSG(req);
	MSG(rsp);

	host_v6(&ws, (const uint16_t[]){ 0xfd00, 0x20, 0x1, 0 }, 0x100 + cli_octet(g, 15), 64);
	host_v6(&fhir, (const uint16_t[]){ 0xfd00, 0x30, 0x1, 0 }, 0x30, 64);
	flow_init(g, &f, &ws, &fhir, 80, 450);
	tcp_open(g, &f);
	http_request(&req, "fhir.wardhosp.example", "/fhir/r4/Appointment?date=today",
		     "curl/7.88.1");
	http_response(g, &rsp, 12);
	tcp_exchange(g, &f, &req, &rsp, 2200);
	tcp_close(g, &f, 1);
}

static void s_hl7_vlan(struct gen *g)
{
	struct host gw, eng;
	struct flow f;
	unsigned id = rng_range(&g->rng, 1, 999999);
	MSG(req);
	MSG(rsp);

	host_v4(g, &gw, 10, 60, 120, cli_octet(g, 5), 64);
	host_v4(g, &eng, 10, 30, 2, 20, 64);
	flow_init(g, &f, &gw, &eng, 2575, 350);
	f.vlan = MONITOR_VLAN;
	tcp_open(g, &f);
	hl7_oru(g, &req, id);
	hl7_ack(g, &rsp, "HL7ENGINE", "MONITOR", "MON", id);
	tcp_exchange(g, &f, &req, &rsp, 1200);
	tcp_close(g, &f, 0);
}

static void s_vxlan(struct gen *g)
{
	struct host app, api, vtep_a, vtep_b;
	struct flow f;
	MSG(req);
	MSG(rsp);

	host_v4(g, &app, 172, 16, 10, cli_octet(g, 5), 64);
	host_v4(g, &api, 172, 16, 10, 9, 64);
	host_v4(g, &vtep_a, 10, 40, 0, 11, 64);
	host_v4(g, &vtep_b, 10, 40, 0, 12, 64);
	flow_init(g, &f, &app, &api, 80, 250);
	f.vtep[0] = &vtep_a;
	f.vtep[1] = &vtep_b;
	f.mss = 1410;                     /* the overlay's MTU is 1450 */
	/* Linux takes the outer source port from a hash of the inner flow. */
	f.vx_sport = (uint16_t)rng_range(&g->rng, 32768, 60999);
	tcp_open(g, &f);
	http_request(&req, "api.emr.svc", "/v2/orders?status=pending", "emr-app/4.2");
	http_response(g, &rsp, 30);
	tcp_exchange(g, &f, &req, &rsp, 1500);
	tcp_close(g, &f, 1);
}

/* A line protocol's dialog: each entry is "C:" (client) or "S:" (server)
 * and one line, sent as its own segment with CRLF, the peer's think time
 * between. */
static void tcp_dialog(struct gen *g, struct flow *f, const char *const *lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		MSG(m);

		wb_fmt(&m, "%s\r\n", lines[i] + 2);
		tcp_send(g, f, lines[i][0] == 'C' ? 0 : 1, &m);
		wait_us(g, rng_range(&g->rng, 200, 900));
	}
}

/* A lab instrument's mail client fetching its queue over POP3 in the
 * clear (RFC 1939): the USER/PASS login is what the sensor must report
 * as cleartext credentials. */
static void s_pop3(struct gen *g)
{
	static const char *const dialog[] = {
		"S:+OK POP3 mail.wardhosp.example ready",
		"C:USER labanalyzer",
		"S:+OK",
		"C:PASS Winter2026!",
		"S:+OK maildrop has 1 message (412 octets)",
		"C:STAT",
		"S:+OK 1 412",
		"C:RETR 1",
		"S:+OK 412 octets\r\nFrom: lis@wardhosp.example\r\nTo: labanalyzer@wardhosp.example\r\n"
		"Subject: QC run 2026-11 accepted\r\nMessage-ID: <qc-2611@lis.wardhosp.example>\r\n"
		"\r\nQC run accepted for analyzer 3.\r\n.",
		"C:QUIT",
		"S:+OK bye",
	};
	struct host lab, mail;
	struct flow f;

	host_v4(g, &lab, 10, 30, 4, cli_octet(g, 50), 64);
	host_v4(g, &mail, 10, 30, 1, 25, 64);
	flow_init(g, &f, &lab, &mail, 110, 300);
	tcp_open(g, &f);
	tcp_dialog(g, &f, dialog, sizeof(dialog) / sizeof(dialog[0]));
	tcp_close(g, &f, 1);
}

static void (*const sessions[])(struct gen *) = {
	s_http, s_hl7, s_dicom, s_tls, s_dns, s_ntp, s_refused, s_unanswered, s_ping,
	s_http6, s_hl7_vlan, s_vxlan, s_pop3,
};
#define N_KINDS (sizeof(sessions) / sizeof(sessions[0]))

/* ---- the file ----------------------------------------------------------------- */

/* Writes `n` sessions from `start_us` to `path` (through path.tmp and a
 * rename, so a reader never sees half a file). 0 or -errno, the reason
 * in `err`. */
static int write_capture(const char *path, uint64_t n, uint64_t seed, uint64_t start_us,
			 char *err, size_t errlen)
{
	char tmp[4096];
	pcap_t *pd;
	struct gen g;
	uint64_t i;
	int rc = 0;

	memset(&g, 0, sizeof(g));
	g.rng.s = seed;
	g.now_us = start_us;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "file name too long");
		return -ENAMETOOLONG;
	}
	pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, SNAPLEN, PCAP_TSTAMP_PRECISION_MICRO);
	if (pd == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	g.dump = pcap_dump_open(pd, tmp);
	if (g.dump == NULL) {
		snprintf(err, errlen, "%s", pcap_geterr(pd));
		rc = -EIO;
		goto out;
	}
	for (i = 0; i < n; i++) {
		g.round = (unsigned)(i / N_KINDS);
		sessions[i % N_KINDS](&g);
		/* The next session starts 120 to 280 ms later. */
		wait_us(&g, rng_range(&g.rng, 120000, 280000));
	}
	if (g.over) {
		snprintf(err, errlen, "a message did not fit its buffer (a bug in ward-pcapgen)");
		rc = -EOVERFLOW;
	} else if (pcap_dump_flush(g.dump) < 0) {
		snprintf(err, errlen, "%s: write failed", tmp);
		rc = -EIO;
	}
	pcap_dump_close(g.dump);
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
	}
	if (rc < 0)
		unlink(tmp);
out:
	pcap_close(pd);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ward-pcapgen -o FILE [--sessions N] [--seed S] [--start-us T]\n"
		"\n"
		"Writes a pcap (Ethernet, µs timestamps) of hospital-network sessions, built\n"
		"packet by packet with correct lengths and checksums: HTTP, HL7 over MLLP,\n"
		"DICOM, TLS, DNS, NTP, a refused connection, an unanswered SYN, ping, HTTP\n"
		"over IPv6, HL7 on VLAN %u, HTTP inside VXLAN, POP3 with a cleartext login.\n"
		"The same options write the same bytes.\n"
		"\n"
		"  -o, --output FILE   the file to write (replaced atomically)\n"
		"      --sessions N    how many sessions, the %zu kinds in turn (default %zu,\n"
		"                      one of each; at most %u)\n"
		"      --seed S        seed for ports, sequence numbers and contents (default 1)\n"
		"      --start-us T    the first packet's time, µs since the epoch (default now);\n"
		"                      the sessions follow 120 to 280 ms apart\n"
		"  -h, --help          this text\n",
		MONITOR_VLAN, N_KINDS, N_KINDS, SESSIONS_MAX);
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return (errno != 0 || end == s || *end != '\0' || s[0] == '-') ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "sessions", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "start-us", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t sessions_n = N_KINDS, seed = 1, start_us;
	const char *out = NULL;
	struct timespec now;
	char err[4400];
	int c;

	clock_gettime(CLOCK_REALTIME, &now);
	start_us = (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'n':
			if (parse_u64(optarg, &sessions_n) < 0 || sessions_n < 1 ||
			    sessions_n > SESSIONS_MAX) {
				fprintf(stderr, "ward-pcapgen: --sessions: '%s' is not 1 to %u\n",
					optarg, SESSIONS_MAX);
				return 2;
			}
			break;
		case 's':
			if (parse_u64(optarg, &seed) < 0) {
				fprintf(stderr, "ward-pcapgen: --seed: '%s' is not a number\n", optarg);
				return 2;
			}
			break;
		case 't':
			/* pcap's seconds field is 32 bits: keep well before 2106. */
			if (parse_u64(optarg, &start_us) < 0 || start_us > 4000000000ull * 1000000) {
				fprintf(stderr, "ward-pcapgen: --start-us: '%s' is not µs since the "
					"epoch (before 2096)\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (out == NULL || optind < argc) {
		if (out == NULL)
			fprintf(stderr, "ward-pcapgen: give the output file with -o FILE\n");
		usage(stderr);
		return 2;
	}
	if (write_capture(out, sessions_n, seed, start_us, err, sizeof(err)) < 0) {
		fprintf(stderr, "ward-pcapgen: %s: %s\n", out, err);
		return 1;
	}
	return 0;
}
