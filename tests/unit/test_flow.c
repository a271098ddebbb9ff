/* The flow table (flow.c, flow_tcp.c): hand-built packet sequences for
 * every conn_state, history strings and their repeat scaling, byte counts
 * from sequence numbers (with wraparound), missed_bytes from ACK gaps,
 * direction by SYN and by well-known port, UDP and ICMP, VLAN keying,
 * timeouts per protocol, the active timeout, pressure eviction and the
 * per-flow memory figure. Expected values follow Zeek's conn.log. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow.h"
#include "flow_internal.h"

#define MAX_RECS 64
#define SEC 1000000ull
#define T0 (1700000000ull * SEC)

struct sink {
	struct conn recs[MAX_RECS];
	size_t n;
	size_t total;
};

static void on_emit(void *ctx, const struct conn *c)
{
	struct sink *k = ctx;

	if (k->n < MAX_RECS)
		k->recs[k->n++] = *c;
	k->total++;
}

static struct flow_table *table(struct sink *k, const struct flow_config *cfg)
{
	struct flow_table *t = NULL;
	struct flow_config def = { .mem_max = 1 << 20, .active_timeout_ms = 0, .uid_seed = 42 };

	memset(k, 0, sizeof(*k));
	assert_int_equal(flow_table_create(&t, cfg ? cfg : &def, on_emit, k), 0);
	return t;
}

/* Client 10.0.0.1:40000, server 192.168.1.2:80 unless changed. */
struct ep {
	const char *h;
	uint16_t p;
};
static const struct ep CLI = { "10.0.0.1", 40000 }, SRV = { "192.168.1.2", 80 };

static void addr(const char *s, uint8_t *out, uint8_t *ver)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*ver = 4;
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
	*ver = 6;
}

static struct pkt mk(uint64_t ts, struct ep from, struct ep to, uint8_t proto, uint32_t len)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.ts_us = ts;
	addr(from.h, p.src, &p.ip_version);
	addr(to.h, p.dst, &p.ip_version);
	p.proto = proto;
	p.sport = from.p;
	p.dport = to.p;
	p.payload_len = p.payload_wire_len = len;
	p.ip_len = (p.ip_version == 4 ? 20 : 40) + (proto == IPPROTO_TCP ? 20 : 8) + len;
	p.window = 1000;
	return p;
}

static void tcp(struct flow_table *t, uint64_t ts, struct ep from, struct ep to, uint8_t fl,
		uint32_t seq, uint32_t ack, uint32_t len)
{
	struct pkt p = mk(ts, from, to, IPPROTO_TCP, len);

	p.tcp_flags = fl;
	p.seq = seq;
	p.ack = ack;
	assert_int_equal(flow_table_update(t, &p), 0);
}

static void udp(struct flow_table *t, uint64_t ts, struct ep from, struct ep to, uint32_t len)
{
	struct pkt p = mk(ts, from, to, IPPROTO_UDP, len);

	assert_int_equal(flow_table_update(t, &p), 0);
}

#define S PKT_TCP_SYN
#define A PKT_TCP_ACK
#define F PKT_TCP_FIN
#define R PKT_TCP_RST
#define P PKT_TCP_PSH

/* Client ISN 1000, server ISN 5000. */
static void handshake(struct flow_table *t, uint64_t ts)
{
	tcp(t, ts, CLI, SRV, S, 1000, 0, 0);
	tcp(t, ts + 1000, SRV, CLI, S | A, 5000, 1001, 0);
	tcp(t, ts + 2000, CLI, SRV, A, 1001, 5001, 0);
}

static const struct conn *only(struct sink *k)
{
	assert_int_equal(k->n, 1);
	return &k->recs[0];
}

static void assert_tuple(const struct conn *c, struct ep o, struct ep r)
{
	uint8_t a[16], b[16], v;

	addr(o.h, a, &v);
	addr(r.h, b, &v);
	assert_memory_equal(c->orig_h, a, 16);
	assert_memory_equal(c->resp_h, b, 16);
	assert_int_equal(c->orig_p, o.p);
	assert_int_equal(c->resp_p, r.p);
}

static void test_sf_full(void **state)
{
	struct sink k;
	struct flow_table *t = table(&k, NULL);
	const struct conn *c;

	(void)state;
	handshake(t, T0);
	tcp(t, T0 + 3000, CLI, SRV, P | A, 1001, 5001, 100);
	tcp(t, T0 + 4000, SRV, CLI, A, 5001, 1101, 0);
	tcp(t, T0 + 5000, SRV, CLI, P | A, 5001, 1101, 200);
	tcp(t, T0 + 6000, CLI, SRV, A, 1101, 5201, 0);
	tcp(t, T0 + 7000, CLI, SRV, F | A, 1101, 5201, 0);
	tcp(t, T0 + 8000, SRV, CLI, F | A, 5201, 1102, 0);
	tcp(t, T0 + 9000, CLI, SRV, A, 1102, 5202, 0);
	assert_int_equal(k.n, 0);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(c->history, "ShADadFf");
	assert_string_equal(conn_state_name(c->conn_state), "SF");
	assert_int_equal(c->orig_bytes, 100);
	assert_int_equal(c->resp_bytes, 200);
	assert_int_equal(c->orig_pkts, 6);
	assert_int_equal(c->resp_pkts, 4);
	assert_int_equal(c->orig_ip_bytes, 6 * 40 + 100);
	assert_int_equal(c->resp_ip_bytes, 4 * 40 + 200);
	assert_int_equal(c->missed_bytes, 0);
	assert_int_equal(c->ts_us, T0);
	/* The last ACK after both FINs does not extend the duration. */
	assert_int_equal(c->duration_us, 8000);
	assert_true(c->bytes_known);
	assert_tuple(c, CLI, SRV);
	assert_int_equal(c->proto, IPPROTO_TCP);
	assert_false(c->interim);
	assert_false(c->evicted);
	assert_int_equal(c->community_id[0], '1');
	assert_int_equal(c->uid[0], 'C');
	flow_table_destroy(t);
}

struct state_case {
	const char *name, *history;
};

static void run_states(void **state)
{
	struct sink k;
	struct flow_table *t;
	const struct conn *c;

	(void)state;
	/* S0: a SYN alone. */
	t = table(&k, NULL);
	tcp(t, T0, CLI, SRV, S, 1000, 0, 0);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "S0");
	assert_string_equal(c->history, "S");
	flow_table_destroy(t);

	/* REJ: SYN answered by RST-ACK. */
	t = table(&k, NULL);
	tcp(t, T0, CLI, SRV, S, 1000, 0, 0);
	tcp(t, T0 + 100, SRV, CLI, R | A, 0, 1001, 0);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "REJ");
	assert_string_equal(c->history, "Sr");
	assert_int_equal(c->orig_bytes, 0);
	assert_int_equal(c->resp_bytes, 0);
	flow_table_destroy(t);

	/* S1: established, not closed. */
	t = table(&k, NULL);
	handshake(t, T0);
	tcp(t, T0 + 3000, CLI, SRV, P | A, 1001, 5001, 10);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "S1");
	assert_string_equal(c->history, "ShAD");
	flow_table_destroy(t);

	/* S2: the originator's FIN only. */
	t = table(&k, NULL);
	handshake(t, T0);
	tcp(t, T0 + 3000, CLI, SRV, F | A, 1001, 5001, 0);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "S2");
	assert_string_equal(c->history, "ShAF");
	flow_table_destroy(t);

	/* S3: the responder's FIN only. */
	t = table(&k, NULL);
	handshake(t, T0);
	tcp(t, T0 + 3000, SRV, CLI, F | A, 5001, 1001, 0);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "S3");
	assert_string_equal(c->history, "ShAf");
	flow_table_destroy(t);

	/* RSTO: established, the originator aborts. */
	t = table(&k, NULL);
	handshake(t, T0);
	tcp(t, T0 + 3000, CLI, SRV, R | A, 1001, 5001, 0);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "RSTO");
	assert_string_equal(c->history, "ShAR");
	flow_table_destroy(t);

	/* RSTR: established, the responder aborts. */
	t = table(&k, NULL);
	handshake(t, T0);
	tcp(t, T0 + 3000, SRV, CLI, R, 5001, 0, 0);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "RSTR");
	assert_string_equal(c->history, "ShAr");
	flow_table_destroy(t);

	/* RSTOS0: SYN then the originator's RST, no SYN-ACK. */
	t = table(&k, NULL);
	tcp(t, T0, CLI, SRV, S, 1000, 0, 0);
	tcp(t, T0 + 100, CLI, SRV, R, 1001, 0, 0);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "RSTOS0");
	assert_string_equal(c->history, "SR");
	flow_table_destroy(t);

	/* RSTRH: the responder's SYN-ACK then RST, no SYN seen; the SYN-ACK
	 * from port 80 makes its receiver the originator. */
	t = table(&k, NULL);
	tcp(t, T0, SRV, CLI, S | A, 5000, 1001, 0);
	tcp(t, T0 + 100, SRV, CLI, R, 5001, 0, 0);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "RSTRH");
	assert_string_equal(c->history, "^hr");
	assert_tuple(c, CLI, SRV);
	flow_table_destroy(t);

	/* SH: SYN then FIN from the originator, no SYN-ACK. */
	t = table(&k, NULL);
	tcp(t, T0, CLI, SRV, S, 1000, 0, 0);
	tcp(t, T0 + 100, CLI, SRV, F, 1001, 0, 0);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "SH");
	assert_string_equal(c->history, "SF");
	flow_table_destroy(t);

	/* SHR: the responder's SYN-ACK then FIN, no SYN. */
	t = table(&k, NULL);
	tcp(t, T0, SRV, CLI, S | A, 5000, 1001, 0);
	tcp(t, T0 + 100, SRV, CLI, F | A, 5001, 1001, 0);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "SHR");
	assert_string_equal(c->history, "^hf");
	flow_table_destroy(t);

	/* OTH: midstream data, no SYN. */
	t = table(&k, NULL);
	tcp(t, T0, CLI, SRV, P | A, 777, 888, 50);
	tcp(t, T0 + 100, SRV, CLI, A, 888, 827, 0);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "OTH");
	assert_string_equal(c->history, "Da");
	assert_int_equal(c->orig_bytes, 50);
	assert_tuple(c, CLI, SRV);
	flow_table_destroy(t);
}

/* Retransmitted payload: 'T' at the 1st, 10th and 100th. */
static void test_history_scaling(void **state)
{
	struct sink k;
	struct flow_table *t = table(&k, NULL);
	int i;

	(void)state;
	handshake(t, T0);
	tcp(t, T0 + 3000, CLI, SRV, P | A, 1001, 5001, 100);
	for (i = 0; i < 11; i++)
		tcp(t, T0 + 4000 + (uint64_t)i, CLI, SRV, P | A, 1001, 5001, 100);
	flow_table_flush(t);
	assert_string_equal(only(&k)->history, "ShADTT");
	assert_int_equal(only(&k)->orig_bytes, 100);
	flow_table_destroy(t);

	t = table(&k, NULL);
	handshake(t, T0);
	tcp(t, T0 + 3000, CLI, SRV, P | A, 1001, 5001, 100);
	for (i = 0; i < 100; i++)
		tcp(t, T0 + 4000 + (uint64_t)i, CLI, SRV, P | A, 1001, 5001, 100);
	/* Zero windows from the responder: 'w' once, then at the 10th. */
	for (i = 0; i < 10; i++) {
		struct pkt p = mk(T0 + 9000 + (uint64_t)i, SRV, CLI, IPPROTO_TCP, 0);

		p.tcp_flags = A;
		p.seq = 5001;
		p.ack = 1101;
		p.window = 0;
		assert_int_equal(flow_table_update(t, &p), 0);
	}
	flow_table_flush(t);
	/* Order: S h A D, T x3 (1, 10, 100), then the ACKs: 'w' comes before
	 * 'a' because the zero window is checked after the history letter. */
	assert_string_equal(only(&k)->history, "ShADTTTaww");
	flow_table_destroy(t);
}

/* ISN just below 2^32: 600 bytes across the wrap. */
static void test_seq_wrap(void **state)
{
	struct sink k;
	struct flow_table *t = table(&k, NULL);
	uint32_t isn = 0xFFFFFF00u, s = isn + 1;
	int i;

	(void)state;
	tcp(t, T0, CLI, SRV, S, isn, 0, 0);
	tcp(t, T0 + 1, SRV, CLI, S | A, 5000, s, 0);
	tcp(t, T0 + 2, CLI, SRV, A, s, 5001, 0);
	for (i = 0; i < 3; i++) {
		tcp(t, T0 + 10 + (uint64_t)i, CLI, SRV, P | A, s, 5001, 200);
		s += 200;
		tcp(t, T0 + 20 + (uint64_t)i, SRV, CLI, A, 5001, s, 0);
	}
	tcp(t, T0 + 30, CLI, SRV, F | A, s, 5001, 0);
	tcp(t, T0 + 31, SRV, CLI, F | A, 5001, s + 1, 0);
	flow_table_flush(t);
	assert_int_equal(only(&k)->orig_bytes, 600);
	assert_int_equal(only(&k)->resp_bytes, 0);
	assert_string_equal(conn_state_name(only(&k)->conn_state), "SF");
	flow_table_destroy(t);
}

/* The last segment is lost: the responder's ACK covers 100 bytes never
 * seen. */
static void test_missed_bytes(void **state)
{
	struct sink k;
	struct flow_table *t = table(&k, NULL);
	const struct flow_stats *st;

	(void)state;
	handshake(t, T0);
	tcp(t, T0 + 3000, CLI, SRV, P | A, 1001, 5001, 100);
	tcp(t, T0 + 3001, CLI, SRV, P | A, 1101, 5001, 100);
	/* 1201..1300 not captured */
	tcp(t, T0 + 4000, SRV, CLI, A, 5001, 1301, 0);
	flow_table_flush(t);
	assert_int_equal(only(&k)->missed_bytes, 100);
	assert_int_equal(only(&k)->orig_bytes, 300);
	assert_string_equal(only(&k)->history, "ShADaG");
	st = flow_table_stats(t);
	assert_int_equal(st->ack_gap_bytes, 100);
	assert_true(st->acked_bytes >= 300);
	flow_table_destroy(t);

	/* A segment in the middle is lost: the hole is counted once an ACK
	 * covers it. */
	t = table(&k, NULL);
	handshake(t, T0);
	tcp(t, T0 + 3000, CLI, SRV, P | A, 1001, 5001, 100);
	/* 1101..1200 not captured */
	tcp(t, T0 + 3002, CLI, SRV, P | A, 1201, 5001, 100);
	tcp(t, T0 + 3003, CLI, SRV, P | A, 1301, 5001, 100);
	tcp(t, T0 + 4000, SRV, CLI, A, 5001, 1401, 0);
	tcp(t, T0 + 5000, SRV, CLI, P | A, 5001, 1401, 50);
	/* 5051..5100 not captured, then acknowledged */
	tcp(t, T0 + 5001, CLI, SRV, A, 1401, 5101, 0);
	flow_table_flush(t);
	assert_int_equal(only(&k)->missed_bytes, 150);
	assert_int_equal(only(&k)->orig_bytes, 400);
	assert_int_equal(only(&k)->resp_bytes, 100);
	assert_string_equal(only(&k)->history, "ShADaGdg");
	flow_table_destroy(t);

	/* Reordered, not lost: no gap (Zeek counts the late one as a
	 * retransmission, 'T'). */
	t = table(&k, NULL);
	handshake(t, T0);
	tcp(t, T0 + 3000, CLI, SRV, P | A, 1001, 5001, 100);
	tcp(t, T0 + 3001, CLI, SRV, P | A, 1201, 5001, 100);
	tcp(t, T0 + 3002, CLI, SRV, P | A, 1101, 5001, 100);
	tcp(t, T0 + 4000, SRV, CLI, A, 5001, 1301, 0);
	flow_table_flush(t);
	assert_int_equal(only(&k)->missed_bytes, 0);
	assert_string_equal(only(&k)->history, "ShADTa");
	flow_table_destroy(t);
}

static void test_direction(void **state)
{
	struct sink k;
	struct flow_table *t;
	const struct conn *c;

	(void)state;
	/* Midstream from the well-known port: the receiver is the originator. */
	t = table(&k, NULL);
	tcp(t, T0, SRV, CLI, P | A, 5001, 1001, 30);
	flow_table_flush(t);
	c = only(&k);
	assert_tuple(c, CLI, SRV);
	assert_string_equal(c->history, "^d");
	assert_int_equal(c->orig_pkts, 0);
	assert_int_equal(c->resp_pkts, 1);
	assert_int_equal(c->resp_bytes, 30);
	flow_table_destroy(t);

	/* A SYN decides whatever the ports. */
	t = table(&k, NULL);
	tcp(t, T0, SRV, CLI, S, 1, 0, 0);
	flow_table_flush(t);
	assert_tuple(only(&k), SRV, CLI);
	assert_string_equal(only(&k)->history, "S");
	flow_table_destroy(t);

	/* Both ports well known, no SYN: towards the lower port (Zeek). */
	t = table(&k, NULL);
	{
		struct ep a = { "10.0.0.1", 25 }, b = { "10.0.0.2", 443 };

		tcp(t, T0, a, b, P | A, 1, 1, 10);
		flow_table_flush(t);
		assert_tuple(only(&k), b, a);
		assert_string_equal(only(&k)->history, "^d");
	}
	flow_table_destroy(t);

	/* Both ports high: the first sender. */
	t = table(&k, NULL);
	{
		struct ep a = { "10.0.0.1", 5000 }, b = { "10.0.0.2", 6000 };

		tcp(t, T0, b, a, P | A, 1, 1, 10);
		flow_table_flush(t);
		assert_tuple(only(&k), b, a);
	}
	flow_table_destroy(t);

	/* SYN-ACK seen before the SYN (both ports high): roles flip. */
	t = table(&k, NULL);
	{
		struct ep a = { "10.0.0.1", 5000 }, b = { "10.0.0.2", 6000 };

		tcp(t, T0, b, a, S | A, 9000, 101, 0);
		tcp(t, T0 + 1, a, b, S, 100, 0, 0);
		tcp(t, T0 + 2, a, b, A, 101, 9001, 0);
		flow_table_flush(t);
		c = only(&k);
		assert_tuple(c, a, b);
		assert_non_null(strchr(c->history, '^'));
		assert_string_equal(conn_state_name(c->conn_state), "S1");
		assert_int_equal(c->orig_pkts, 2);
		assert_int_equal(c->resp_pkts, 1);
	}
	flow_table_destroy(t);
}

static void test_udp_icmp(void **state)
{
	struct sink k;
	struct flow_table *t;
	struct ep dns = { "192.168.1.53", 53 }, cl = { "10.0.0.1", 50000 };
	struct pkt p;
	const struct conn *c;

	(void)state;
	t = table(&k, NULL);
	udp(t, T0, cl, dns, 40);
	udp(t, T0 + 500, dns, cl, 120);
	udp(t, T0 + 600, cl, dns, 40);
	flow_table_flush(t);
	c = only(&k);
	assert_string_equal(conn_state_name(c->conn_state), "SF");
	assert_string_equal(c->history, "Dd");
	assert_int_equal(c->orig_bytes, 80);
	assert_int_equal(c->resp_bytes, 120);
	assert_int_equal(c->orig_pkts, 2);
	assert_int_equal(c->orig_ip_bytes, 2 * 28 + 80);
	assert_int_equal(c->duration_us, 600);
	assert_int_equal(c->proto, IPPROTO_UDP);
	flow_table_destroy(t);

	t = table(&k, NULL);
	udp(t, T0, cl, dns, 40);
	flow_table_flush(t);
	assert_string_equal(conn_state_name(only(&k)->conn_state), "S0");
	assert_string_equal(only(&k)->history, "D");
	flow_table_destroy(t);

	/* A response alone: flipped by the port, only the responder spoke. */
	t = table(&k, NULL);
	udp(t, T0, dns, cl, 40);
	flow_table_flush(t);
	assert_string_equal(conn_state_name(only(&k)->conn_state), "SHR");
	assert_string_equal(only(&k)->history, "^d");
	assert_tuple(only(&k), cl, dns);
	flow_table_destroy(t);

	/* ICMP echo request and reply are one flow: type 8, "port" 0. */
	t = table(&k, NULL);
	{
		struct ep a = { "1.2.3.4", 8 }, b = { "5.6.7.8", 0 };
		struct ep ra = { "5.6.7.8", 0 }, rb = { "1.2.3.4", 0 };

		p = mk(T0, a, b, IPPROTO_ICMP, 56);
		assert_int_equal(flow_table_update(t, &p), 0);
		p = mk(T0 + 10, ra, rb, IPPROTO_ICMP, 56);
		assert_int_equal(flow_table_update(t, &p), 0);
		/* Destination unreachable, code 3: one-way, its own flow. */
		p = mk(T0 + 20, (struct ep){ "5.6.7.8", 3 }, (struct ep){ "1.2.3.4", 3 },
		       IPPROTO_ICMP, 28);
		assert_int_equal(flow_table_update(t, &p), 0);
		flow_table_flush(t);
		assert_int_equal(k.n, 2);
		c = &k.recs[0];
		assert_int_equal(c->orig_p, 8);
		assert_int_equal(c->resp_p, 0);
		assert_int_equal(c->orig_pkts, 1);
		assert_int_equal(c->resp_pkts, 1);
		assert_int_equal(c->orig_bytes, 56);
		assert_int_equal(c->resp_bytes, 56);
		assert_string_equal(conn_state_name(c->conn_state), "OTH");
		assert_string_equal(c->history, "");
		/* pycommunityid's published vector for this echo flow. */
		assert_string_equal(c->community_id, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=");
		assert_int_equal(k.recs[1].orig_p, 3);
		assert_int_equal(k.recs[1].resp_p, 3);
	}
	flow_table_destroy(t);

	/* ICMPv6 echo. */
	t = table(&k, NULL);
	p = mk(T0, (struct ep){ "fd00::1", 128 }, (struct ep){ "fd00::2", 0 }, IPPROTO_ICMPV6, 8);
	assert_int_equal(flow_table_update(t, &p), 0);
	p = mk(T0 + 1, (struct ep){ "fd00::2", 129 }, (struct ep){ "fd00::1", 0 }, IPPROTO_ICMPV6, 8);
	assert_int_equal(flow_table_update(t, &p), 0);
	flow_table_flush(t);
	assert_int_equal(only(&k)->resp_pkts, 1);
	assert_int_equal(only(&k)->resp_p, 129);
	assert_int_equal(only(&k)->ip_version, 6);
	flow_table_destroy(t);
}

static void test_vlan_keys(void **state)
{
	struct sink k;
	struct flow_table *t = table(&k, NULL);
	struct pkt p;

	(void)state;
	p = mk(T0, CLI, SRV, IPPROTO_UDP, 1);
	assert_int_equal(flow_table_update(t, &p), 0);
	p.vlan = 10;
	assert_int_equal(flow_table_update(t, &p), 0);
	p.inner_vlan = 20;
	assert_int_equal(flow_table_update(t, &p), 0);
	p = mk(T0 + 1, SRV, CLI, IPPROTO_UDP, 1);
	p.vlan = 10;
	p.inner_vlan = 20;
	assert_int_equal(flow_table_update(t, &p), 0);
	flow_table_flush(t);
	assert_int_equal(k.n, 3);
	assert_int_equal(flow_table_stats(t)->flows_created, 3);
	{
		size_t i, tagged = 0;

		for (i = 0; i < k.n; i++)
			if (k.recs[i].vlan == 10 && k.recs[i].inner_vlan == 20) {
				tagged++;
				assert_int_equal(k.recs[i].resp_pkts, 1);
				assert_string_equal(conn_state_name(k.recs[i].conn_state), "SF");
			}
		assert_int_equal(tagged, 1);
	}
	flow_table_destroy(t);
}

static void test_timeouts(void **state)
{
	struct sink k;
	struct flow_table *t = table(&k, NULL);
	struct ep other = { "10.9.9.9", 1234 }, o2 = { "10.9.9.8", 1234 };

	(void)state;
	udp(t, T0, CLI, SRV, 10);
	handshake(t, T0);
	{
		struct pkt p = mk(T0, (struct ep){ "10.0.0.1", 8 }, (struct ep){ "10.0.0.2", 0 },
				  IPPROTO_ICMP, 8);

		assert_int_equal(flow_table_update(t, &p), 0);
	}
	/* 59 s: nothing due. */
	udp(t, T0 + 59 * SEC, other, o2, 1);
	assert_int_equal(k.n, 0);
	/* 61 s: UDP and ICMP expire, TCP stays. */
	udp(t, T0 + 61 * SEC, other, o2, 1);
	assert_int_equal(k.n, 2);
	assert_int_equal(flow_table_stats(t)->expired, 2);
	/* 301 s: TCP and the other UDP flow too. */
	flow_table_expire(t, T0 + 301 * SEC);
	assert_int_equal(k.n, 4);
	assert_string_equal(conn_state_name(k.recs[2].conn_state), "S1");
	assert_int_equal(flow_table_stats(t)->flows_active, 0);
	flow_table_destroy(t);

	/* Configured timeouts; a SYN alone ends 5 s after it (Zeek's
	 * tcp_attempt_delay), a closed connection 5 s after its close. */
	{
		struct flow_config cfg = { .mem_max = 1 << 20, .tcp_timeout_ms = 2000,
					   .udp_timeout_ms = 1000, .uid_seed = 1 };

		t = table(&k, &cfg);
		udp(t, T0, CLI, SRV, 10);
		flow_table_expire(t, T0 + 999999);
		assert_int_equal(k.n, 0);
		flow_table_expire(t, T0 + SEC);
		assert_int_equal(k.n, 1);
		handshake(t, T0 + 2 * SEC);
		flow_table_expire(t, T0 + 4 * SEC - 1);
		assert_int_equal(k.n, 1);
		flow_table_expire(t, T0 + 4 * SEC + 2000);
		assert_int_equal(k.n, 2);
		tcp(t, T0 + 10 * SEC, CLI, SRV, S, 1, 0, 0);
		tcp(t, T0 + 11 * SEC, CLI, SRV, S, 1, 0, 0);
		tcp(t, T0 + 13 * SEC, CLI, SRV, S, 1, 0, 0);
		flow_table_expire(t, T0 + 15 * SEC - 1);
		assert_int_equal(k.n, 2);
		flow_table_expire(t, T0 + 15 * SEC);
		assert_int_equal(k.n, 3);
		assert_string_equal(conn_state_name(k.recs[2].conn_state), "S0");
		assert_int_equal(k.recs[2].orig_pkts, 3);
		flow_table_destroy(t);
	}

	/* A closed connection lingers 5 s; a new SYN in that time starts a
	 * new one. */
	t = table(&k, NULL);
	handshake(t, T0);
	tcp(t, T0 + 3000, CLI, SRV, F | A, 1001, 5001, 0);
	tcp(t, T0 + 4000, SRV, CLI, F | A, 5001, 1002, 0);
	tcp(t, T0 + 5000, CLI, SRV, A, 1002, 5002, 0);
	assert_int_equal(k.n, 0);
	tcp(t, T0 + SEC, CLI, SRV, S, 90000, 0, 0);
	assert_int_equal(k.n, 1);
	assert_string_equal(conn_state_name(k.recs[0].conn_state), "SF");
	flow_table_expire(t, T0 + 7 * SEC);
	assert_int_equal(k.n, 2);
	assert_string_equal(conn_state_name(k.recs[1].conn_state), "S0");
	assert_string_not_equal(k.recs[0].uid, k.recs[1].uid);
	flow_table_destroy(t);

	/* A SYN with a new initial sequence number while an attempt is
	 * pending: a new connection; the same one again: a retransmission. */
	t = table(&k, NULL);
	tcp(t, T0, CLI, SRV, S, 1000, 0, 0);
	tcp(t, T0 + 1000, CLI, SRV, S, 1000, 0, 0);
	assert_int_equal(k.n, 0);
	tcp(t, T0 + 2000, CLI, SRV, S, 2000, 0, 0);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.recs[0].orig_pkts, 2);
	flow_table_flush(t);
	assert_int_equal(k.n, 2);
	assert_int_equal(k.recs[1].orig_pkts, 1);
	flow_table_destroy(t);
}

static void test_active_timeout(void **state)
{
	struct sink k;
	struct flow_config cfg = { .mem_max = 1 << 20, .active_timeout_ms = 10000, .uid_seed = 7 };
	struct flow_table *t = table(&k, &cfg);
	int i;

	(void)state;
	for (i = 0; i <= 6; i++)
		udp(t, T0 + (uint64_t)i * 4 * SEC, CLI, SRV, 10);
	assert_int_equal(k.n, 2);
	assert_true(k.recs[0].interim);
	assert_true(k.recs[1].interim);
	assert_int_equal(k.recs[0].orig_pkts, 4);   /* at 12 s */
	assert_int_equal(k.recs[1].orig_pkts, 6);   /* at 20 s */
	flow_table_flush(t);
	assert_int_equal(k.n, 3);
	assert_false(k.recs[2].interim);
	assert_int_equal(k.recs[2].orig_pkts, 7);
	assert_int_equal(k.recs[2].orig_bytes, 70);
	assert_string_equal(k.recs[0].uid, k.recs[2].uid);
	assert_int_equal(flow_table_stats(t)->interim, 2);
	flow_table_destroy(t);
}

static void test_pressure(void **state)
{
	struct sink k;
	struct flow_config cfg = { .mem_max = 3 * flow_state_bytes() + 10, .uid_seed = 3 };
	struct flow_table *t = table(&k, &cfg);
	int i;

	(void)state;
	assert_int_equal(flow_table_stats(t)->flows_capacity, 3);
	for (i = 0; i < 5; i++) {
		struct ep e = { "10.1.1.1", (uint16_t)(2000 + i) };

		udp(t, T0 + (uint64_t)i, e, SRV, 1);
	}
	assert_int_equal(k.n, 2);
	assert_true(k.recs[0].evicted);
	assert_true(k.recs[1].evicted);
	assert_int_equal(k.recs[0].orig_p, 2000);   /* least recently seen first */
	assert_int_equal(k.recs[1].orig_p, 2001);
	assert_int_equal(flow_table_stats(t)->evicted_pressure, 2);
	flow_table_flush(t);
	assert_int_equal(k.n, 5);
	for (i = 2; i < 5; i++)
		assert_false(k.recs[i].evicted);
	flow_table_destroy(t);

	/* Too small for one flow. */
	{
		struct flow_table *t2 = (struct flow_table *)&k;
		struct flow_config tiny = { .mem_max = 10 };

		assert_int_equal(flow_table_create(&t2, &tiny, on_emit, &k), -EINVAL);
		assert_null(t2);
	}
}

static void test_local_nets_uid(void **state)
{
	struct sink k;
	struct flow_net nets[2] = { { .ip_version = 4, .prefix_len = 12 },
				    { .ip_version = 6, .prefix_len = 8 } };
	struct flow_config cfg = { .mem_max = 1 << 20, .local_nets = nets, .n_local_nets = 2 };
	struct flow_table *t;
	struct pkt p;
	size_t i, j;

	(void)state;
	nets[0].addr[0] = 10;
	nets[0].addr[1] = 0;
	nets[1].addr[0] = 0xfd;
	t = table(&k, &cfg);
	udp(t, T0, (struct ep){ "10.15.0.1", 1000 }, (struct ep){ "10.16.0.1", 2000 }, 1);
	udp(t, T0, (struct ep){ "8.8.8.8", 1000 }, (struct ep){ "10.0.0.1", 2000 }, 1);
	p = mk(T0, (struct ep){ "fd00::1", 1000 }, (struct ep){ "fe80::1", 2000 }, IPPROTO_UDP, 1);
	assert_int_equal(flow_table_update(t, &p), 0);
	flow_table_flush(t);
	assert_int_equal(k.n, 3);
	for (i = 0; i < k.n; i++) {
		const struct conn *c = &k.recs[i];

		if (c->orig_p != 1000)
			continue;
		if (c->orig_h[0] == 10) {
			assert_true(c->local_orig);
			assert_false(c->local_resp);
		} else if (c->orig_h[0] == 8) {
			assert_false(c->local_orig);
			assert_true(c->local_resp);
		} else {
			assert_true(c->local_orig);
			assert_false(c->local_resp);
		}
		/* uid: 'C' + base62, up to 17 characters, all distinct. */
		assert_int_equal(c->uid[0], 'C');
		assert_true(strlen(c->uid) >= 2 && strlen(c->uid) <= 18);
		assert_int_equal(strspn(c->uid + 1, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
				 strlen(c->uid) - 1);
		for (j = 0; j < i; j++)
			assert_string_not_equal(c->uid, k.recs[j].uid);
	}
	flow_table_destroy(t);

	/* No local_nets: both false (Zeek leaves them unset). */
	t = table(&k, NULL);
	udp(t, T0, (struct ep){ "10.15.0.1", 1000 }, (struct ep){ "10.16.0.1", 2000 }, 1);
	flow_table_flush(t);
	assert_false(only(&k)->local_orig);
	assert_false(only(&k)->local_resp);
	flow_table_destroy(t);
}

static void test_errors(void **state)
{
	struct sink k;
	struct flow_table *t = table(&k, NULL);
	struct pkt p = mk(T0, CLI, SRV, IPPROTO_UDP, 1);

	(void)state;
	p.ip_version = 0;
	assert_int_equal(flow_table_update(t, &p), -EINVAL);
	assert_int_equal(flow_table_create(NULL, NULL, on_emit, &k), -EINVAL);
	flow_table_destroy(t);
	flow_table_destroy(NULL);
	assert_string_equal(conn_state_name(CONN_RSTOS0), "RSTOS0");
	assert_string_equal(conn_state_name((enum conn_state)99), "OTH");
}

/* The packed history: every letter, across the two words, cut at 25. */
static void test_history_packing(void **state)
{
	static const char all[] = "SHADFRTWIQGC^shadfrtwiqgcSHADF";
	struct flow_slot s;
	char out[40];
	size_t i;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (i = 0; i < sizeof(all) - 1; i++)
		flow__hist_add(&s, all[i]);
	flow__hist_add(&s, 'x');
	flow__hist_str(&s, out, sizeof(out));
	assert_int_equal(strlen(out), FLOW_HIST_MAX);
	assert_memory_equal(out, all, FLOW_HIST_MAX);
	flow__hist_str(&s, out, 5);
	assert_string_equal(out, "SHAD");
}

static void count_only(void *ctx, const struct conn *c)
{
	(void)c;
	(*(size_t *)ctx)++;
}

/* Issue 4: at most 200 bytes per idle flow with 1,000,000 flows. */
static void test_million_flows(void **state)
{
	struct flow_table *t = NULL;
	struct flow_config cfg = { .mem_max = 1000000 * flow_state_bytes(), .uid_seed = 9 };
	size_t emitted = 0;
	uint32_t i;

	(void)state;
	assert_true(flow_state_bytes() <= 200);
	assert_int_equal(flow_table_create(&t, &cfg, count_only, &emitted), 0);
	assert_int_equal(flow_table_stats(t)->flows_capacity, 1000000);
	for (i = 0; i < 1000000; i++) {
		struct pkt p = mk(T0 + i, CLI, SRV, IPPROTO_UDP, 1);

		p.src[2] = (uint8_t)(i >> 16);
		p.src[3] = (uint8_t)(i >> 8);
		p.sport = (uint16_t)(1024 + (i & 0xff));
		assert_int_equal(flow_table_update(t, &p), 0);
	}
	assert_int_equal(flow_table_stats(t)->flows_active, 1000000);
	assert_int_equal(flow_table_stats(t)->evicted_pressure, 0);
	assert_int_equal(emitted, 0);
	flow_table_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sf_full),
		cmocka_unit_test(run_states),
		cmocka_unit_test(test_history_scaling),
		cmocka_unit_test(test_seq_wrap),
		cmocka_unit_test(test_missed_bytes),
		cmocka_unit_test(test_direction),
		cmocka_unit_test(test_udp_icmp),
		cmocka_unit_test(test_vlan_keys),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_active_timeout),
		cmocka_unit_test(test_pressure),
		cmocka_unit_test(test_local_nets_uid),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_history_packing),
		cmocka_unit_test(test_million_flows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
