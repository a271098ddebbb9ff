/* The analyzer framework (sensor/analyzer.c): records with the conn's
 * uid, id.* and community_id; cleartext-credential notices with the user
 * masked, cleared or omitted; weird counts; the memory cap; and the
 * packet path over a real flow table: sessions made on the first
 * payload, found again by flow id through the table's growth, ended with
 * their flows, memory returned. */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analyzer.h"
#include "flow.h"

struct sink {
	char out[65536];
	size_t len;
	unsigned records, p0;
};

static void sink_fn(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	struct sink *k = ctx;

	assert_true(k->len + len + 1 < sizeof(k->out));
	memcpy(k->out + k->len, json, len);
	k->len += len;
	k->out[k->len++] = '\n';
	k->out[k->len] = '\0';
	k->records++;
	if (cls == SPOOL_P0)
		k->p0++;
}

static struct conn make_id(void)
{
	struct conn c;

	memset(&c, 0, sizeof(c));
	c.ts_us = 1700000000000000ull;
	strcpy(c.uid, "CtestUid1");
	c.ip_version = 4;
	c.proto = IPPROTO_TCP;
	memcpy(c.orig_h, "\x0a\x00\x00\x01", 4);
	memcpy(c.resp_h, "\x0a\x00\x00\x02", 4);
	c.orig_p = 40000;
	c.resp_p = 110;
	strcpy(c.community_id, "1:test");
	return c;
}

/* A toy analyzer: each chunk becomes a record {"type":"toy","is_orig":..,
 * "text":..}; "weird" counts a weird; end writes "toy_end". */
struct toy_state {
	unsigned chunks;
	void *blob;
};

static void toy_data(void *st, struct an_session *s, bool is_orig, const uint8_t *d, size_t len,
		     uint64_t ts_us)
{
	struct toy_state *t = st;
	struct jsonw *w;

	t->chunks++;
	if (len == 5 && memcmp(d, "weird", 5) == 0) {
		an_weird(s, "toy_weird");
		return;
	}
	w = an_record_begin(s, "toy", ts_us);
	jsonw_kv_bool(w, "is_orig", is_orig);
	jsonw_kv_str(w, "text", (const char *)d, len);
	an_record_end(s, SPOOL_P2);
}

static void toy_end(void *st, struct an_session *s, uint64_t ts_us)
{
	struct toy_state *t = st;
	struct jsonw *w = an_record_begin(s, "toy_end", ts_us);

	jsonw_kv_uint(w, "chunks", t->chunks);
	an_record_end(s, SPOOL_P2);
	an_free(s, t->blob, 1000);
}

static const struct analyzer toy = {
	.name = "toy",
	.transports = AN_T_TCP,
	.state_size = sizeof(struct toy_state),
	.data = toy_data,
	.end = toy_end,
};

static void test_records(void **state)
{
	struct an_ctx *c;
	struct sink k = { .len = 0 };
	struct conn id = make_id();
	struct an_session *s;

	(void)state;
	assert_int_equal(an_ctx_create(&c, NULL, NULL, sink_fn, &k), 0);
	s = an_test_session(c, &id, &toy);
	assert_non_null(s);
	an_test_data(s, true, (const uint8_t *)"hello", 5, id.ts_us + 1000);
	an_test_data(s, false, (const uint8_t *)"w\"x", 3, id.ts_us + 2000);
	an_test_data(s, true, (const uint8_t *)"weird", 5, id.ts_us + 3000);
	an_test_end(s, id.ts_us + 4000);
	assert_int_equal(k.records, 3);
	assert_non_null(strstr(k.out,
		"{\"type\":\"toy\",\"ts\":\"2023-11-14T22:13:20.001000Z\",\"uid\":\"CtestUid1\","
		"\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":40000,\"id.resp_h\":\"10.0.0.2\","
		"\"id.resp_p\":110,\"is_orig\":true,\"text\":\"hello\",\"community_id\":\"1:test\"}\n"));
	assert_non_null(strstr(k.out, "\"is_orig\":false,\"text\":\"w\\\"x\""));
	assert_non_null(strstr(k.out, "\"type\":\"toy_end\""));
	assert_non_null(strstr(k.out, "\"chunks\":3"));
	assert_int_equal(an_ctx_stats(c)->records, 3);
	assert_int_equal(an_ctx_stats(c)->sessions_active, 0);
	assert_int_equal(an_ctx_stats(c)->mem_bytes, 0);
	an_ctx_destroy(c);
}

static void count_weird(void *arg, const char *name, uint64_t n)
{
	if (strcmp(name, "toy_weird") == 0)
		*(uint64_t *)arg = n;
}

static void test_weird(void **state)
{
	struct an_ctx *c;
	struct sink k = { .len = 0 };
	struct conn id = make_id();
	struct an_session *s;
	uint64_t n = 0;
	int i;

	(void)state;
	assert_int_equal(an_ctx_create(&c, NULL, NULL, sink_fn, &k), 0);
	s = an_test_session(c, &id, &toy);
	for (i = 0; i < 7; i++)
		an_test_data(s, true, (const uint8_t *)"weird", 5, id.ts_us);
	an_weirds(c, count_weird, &n);
	assert_int_equal(n, 7);
	an_test_end(s, id.ts_us);
	an_ctx_destroy(c);
}

static void notice_with(enum an_user_mask mask, const char *user, const char *want)
{
	struct an_config cfg;
	struct an_ctx *c;
	struct sink k = { .len = 0 };
	struct conn id = make_id();
	struct an_session *s;

	an_config_defaults(&cfg);
	cfg.user_mask = mask;
	assert_int_equal(an_ctx_create(&c, &cfg, NULL, sink_fn, &k), 0);
	s = an_test_session(c, &id, &toy);
	an_notice_cleartext(s, "pop3", "USER/PASS", (const uint8_t *)user, strlen(user),
			    id.ts_us);
	assert_int_equal(k.p0, 1);
	assert_non_null(strstr(k.out, "\"type\":\"notice\""));
	assert_non_null(strstr(k.out, "\"note\":\"Cleartext_Credentials\""));
	assert_non_null(strstr(k.out, "\"service\":\"pop3\",\"mechanism\":\"USER/PASS\""));
	assert_non_null(strstr(k.out, "\"uid\":\"CtestUid1\""));
	if (want != NULL) {
		char field[128];

		snprintf(field, sizeof(field), "\"user\":\"%s\"", want);
		if (strstr(k.out, field) == NULL)
			fail_msg("want %s in %s", field, k.out);
	} else {
		assert_null(strstr(k.out, "\"user\""));
	}
	an_test_end(s, id.ts_us);
	an_ctx_destroy(c);
}

static void test_notice(void **state)
{
	(void)state;
	notice_with(AN_USER_MASK, "alice", "a***e");
	notice_with(AN_USER_MASK, "bob", "***");
	notice_with(AN_USER_MASK, "dr.m\xc3\xbcller", "d***r");
	notice_with(AN_USER_MASK, "\xc3\xbc" "ber", "****r");
	notice_with(AN_USER_CLEAR, "alice", "alice");
	notice_with(AN_USER_OMIT, "alice", NULL);
}

static void count_no_memory(void *arg, const char *name, uint64_t n)
{
	if (strcmp(name, "analyzer_no_memory") == 0)
		*(uint64_t *)arg = n;
}

static void test_memory_cap(void **state)
{
	struct an_config cfg;
	struct an_ctx *c;
	struct sink k = { .len = 0 };
	struct conn id = make_id();
	struct an_session *s;
	uint64_t before, n = 0;
	void *p;

	(void)state;
	an_config_defaults(&cfg);
	cfg.mem_max = 64 * 1024;
	assert_int_equal(an_ctx_create(&c, &cfg, NULL, sink_fn, &k), 0);
	s = an_test_session(c, &id, &toy);
	before = an_ctx_stats(c)->mem_bytes;
	assert_null(an_alloc(s, 128 * 1024));
	assert_int_equal(an_ctx_stats(c)->mem_bytes, before);
	p = an_alloc(s, 1000);
	assert_non_null(p);
	assert_int_equal(an_ctx_stats(c)->mem_bytes, before + 1000);
	an_weirds(c, count_no_memory, &n);
	assert_int_equal(n, 1);
	an_free(s, p, 1000);
	assert_int_equal(an_ctx_stats(c)->mem_bytes, before);
	an_test_end(s, id.ts_us);
	assert_int_equal(an_ctx_stats(c)->mem_bytes, 0);
	an_ctx_destroy(c);
}

/* ---- the packet path ---------------------------------------------------- */

struct run {
	struct an_ctx *an;
	struct sink k;
	unsigned conns, with_service;
};

static void emit(void *ctx, const struct conn *c)
{
	struct run *r = ctx;

	r->conns++;
	if (an_flow_end(r->an, c) != NULL)
		r->with_service++;
}

static struct pkt udp_pkt(uint32_t n, const char *payload, uint64_t ts)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.ts_us = ts;
	p.ip_version = 4;
	p.proto = IPPROTO_UDP;
	p.src[0] = 10;
	p.src[1] = (uint8_t)(n >> 16);
	p.src[2] = (uint8_t)(n >> 8);
	p.src[3] = (uint8_t)n;
	memcpy(p.dst, "\x0a\xff\x00\x01", 4);
	p.sport = 50000;
	p.dport = 7777;
	p.payload = (const uint8_t *)payload;
	p.payload_len = p.payload_wire_len = (uint32_t)strlen(payload);
	p.ip_len = 28 + p.payload_len;
	return p;
}

static void test_packet_path(void **state)
{
	struct flow_table *ft;
	struct run r;
	struct flow_ref ref;
	uint64_t ts = 1700000000000000ull;
	uint32_t i;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(flow_table_create(&ft, NULL, emit, &r), 0);
	assert_int_equal(an_ctx_create(&r.an, NULL, ft, sink_fn, &r.k), 0);
	/* 3000 flows whose payload no probe takes: each gets a session,
	 * detection gives up, and the session stays until its flow ends. */
	for (i = 0; i < 3000; i++) {
		struct pkt p = udp_pkt(i, "zz not a protocol zz", ts + i);

		assert_int_equal(flow_table_update_ref(ft, &p, &ref), 0);
		assert_true(ref.created);
		assert_true(ref.is_orig);
		an_packet(r.an, &ref, &p);
	}
	assert_int_equal(an_ctx_stats(r.an)->sessions, 3000);
	assert_int_equal(an_ctx_stats(r.an)->sessions_active, 3000);
	assert_int_equal(an_ctx_stats(r.an)->undetected, 3000);
	/* A second packet of flow 17 finds its session, not a new one. */
	{
		struct pkt p = udp_pkt(17, "zz again", ts + 5000);

		assert_int_equal(flow_table_update_ref(ft, &p, &ref), 0);
		assert_false(ref.created);
		an_packet(r.an, &ref, &p);
		assert_int_equal(an_ctx_stats(r.an)->sessions, 3000);
	}
	/* An empty datagram makes no session. */
	{
		struct pkt p = udp_pkt(5000, "", ts + 6000);

		assert_int_equal(flow_table_update_ref(ft, &p, &ref), 0);
		an_packet(r.an, &ref, &p);
		assert_int_equal(an_ctx_stats(r.an)->sessions, 3000);
	}
	flow_table_flush(ft);
	assert_int_equal(r.conns, 3001);
	assert_int_equal(r.with_service, 0);
	assert_int_equal(an_ctx_stats(r.an)->sessions_active, 0);
	/* What is left is the session table itself and at most 64 spare
	 * detection buffers of about 4 KiB each. */
	assert_true(an_ctx_stats(r.an)->mem_bytes <= 8192 * sizeof(void *) + 64 * 4400);
	assert_int_equal(r.k.records, 0);
	an_ctx_destroy(r.an);
	flow_table_destroy(ft);
}

static void test_session_cap(void **state)
{
	struct an_config cfg;
	struct flow_table *ft;
	struct run r;
	struct flow_ref ref;
	uint32_t i;

	(void)state;
	memset(&r, 0, sizeof(r));
	an_config_defaults(&cfg);
	cfg.max_sessions = 16;
	assert_int_equal(flow_table_create(&ft, NULL, emit, &r), 0);
	assert_int_equal(an_ctx_create(&r.an, &cfg, ft, sink_fn, &r.k), 0);
	for (i = 0; i < 40; i++) {
		struct pkt p = udp_pkt(i, "zz", 1700000000000000ull + i);

		assert_int_equal(flow_table_update_ref(ft, &p, &ref), 0);
		an_packet(r.an, &ref, &p);
	}
	assert_int_equal(an_ctx_stats(r.an)->sessions, 16);
	assert_int_equal(an_ctx_stats(r.an)->sessions_denied, 24);
	flow_table_flush(ft);
	assert_int_equal(r.conns, 40);
	an_ctx_destroy(r.an);
	flow_table_destroy(ft);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_weird),
		cmocka_unit_test(test_notice),
		cmocka_unit_test(test_memory_cap),
		cmocka_unit_test(test_packet_path),
		cmocka_unit_test(test_session_cap),
	};

	return cmocka_run_group_tests_name("analyzer", tests, NULL, NULL);
}
