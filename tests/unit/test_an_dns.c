/* The DNS analyzer (an_dns.c): messages built byte by byte (RFC 1035 4.1,
 * RFC 6891 OPT, RFC 3596 AAAA) fed through the analyzer test API, and the
 * records read back with jansson and checked against
 * docs/schema/dns.schema.json (keys, types, enums, required and
 * dependentRequired: the subset the schema uses). Covers A, AAAA, MX, TXT,
 * a CNAME chain, NXDOMAIN with SOA, EDNS with DO, TCP framing split at
 * every byte, two messages in one segment, gaps, compression loops,
 * pointers out of range, long labels and names, truncation, unanswered
 * queries, replies without query, the pending-table bound, and the probe
 * against DNS and other protocols. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "analyzer.h"

#define SEC 1000000ull
#define T0 (1700000000ull * SEC)
#define MAX_RECS 64

/* ---- the sink and the weird counts ------------------------------------ */

struct sink {
	json_t *recs[MAX_RECS];
	size_t n;
};

static json_t *schema;

static void schema_load(void)
{
	json_error_t err;

	if (schema != NULL)
		return;
	schema = json_load_file("docs/schema/dns.schema.json", 0, &err);
	if (schema == NULL)
		fail_msg("docs/schema/dns.schema.json: %s (line %d); run from the tree's root",
			 err.text, err.line);
}

static bool type_ok(const char *t, const json_t *v)
{
	if (strcmp(t, "string") == 0)
		return json_is_string(v);
	if (strcmp(t, "integer") == 0)
		return json_is_integer(v);
	if (strcmp(t, "number") == 0)
		return json_is_number(v);
	if (strcmp(t, "boolean") == 0)
		return json_is_boolean(v);
	if (strcmp(t, "array") == 0)
		return json_is_array(v);
	return false;
}

static void check_value(const char *key, const json_t *prop, const json_t *v)
{
	const json_t *t = json_object_get(prop, "type"), *en = json_object_get(prop, "enum");
	const json_t *cst = json_object_get(prop, "const"), *mn = json_object_get(prop, "minimum");
	const json_t *mx = json_object_get(prop, "maximum"), *items = json_object_get(prop, "items");
	size_t i;
	json_t *x;

	if (t != NULL && !type_ok(json_string_value(t), v))
		fail_msg("%s: not a %s", key, json_string_value(t));
	if (cst != NULL && !json_equal(cst, v))
		fail_msg("%s: not the const", key);
	if (en != NULL) {
		bool found = false;

		json_array_foreach(en, i, x)
			found |= json_equal(x, v);
		if (!found)
			fail_msg("%s: not in the enum", key);
	}
	if (mn != NULL && json_is_number(v) && json_number_value(v) < json_number_value(mn))
		fail_msg("%s: below the minimum", key);
	if (mx != NULL && json_is_number(v) && json_number_value(v) > json_number_value(mx))
		fail_msg("%s: above the maximum", key);
	if (items != NULL) {
		assert_true(json_array_size(v) >= 1);
		json_array_foreach(v, i, x)
			check_value(key, items, x);
	}
}

static void schema_check(const json_t *rec)
{
	const json_t *props = json_object_get(schema, "properties");
	const json_t *req = json_object_get(schema, "required");
	const json_t *dep = json_object_get(schema, "dependentRequired");
	const char *key;
	json_t *v, *list, *x;
	size_t i;

	json_object_foreach((json_t *)rec, key, v) {
		const json_t *prop = json_object_get(props, key);

		if (prop == NULL)
			fail_msg("field %s is not in the schema", key);
		check_value(key, prop, v);
	}
	json_array_foreach(req, i, x)
		if (json_object_get(rec, json_string_value(x)) == NULL)
			fail_msg("required field %s missing", json_string_value(x));
	json_object_foreach((json_t *)dep, key, list) {
		if (json_object_get(rec, key) == NULL)
			continue;
		json_array_foreach(list, i, x)
			if (json_object_get(rec, json_string_value(x)) == NULL)
				fail_msg("%s needs %s", key, json_string_value(x));
	}
}

static void on_record(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	struct sink *k = ctx;
	json_error_t err;
	json_t *rec;

	assert_int_equal(cls, SPOOL_P2);
	rec = json_loadb(json, len, 0, &err);
	if (rec == NULL)
		fail_msg("record is not JSON: %s: %.*s", err.text, (int)len, json);
	schema_check(rec);
	assert_true(k->n < MAX_RECS);
	k->recs[k->n++] = rec;
}

struct weird_q {
	const char *name;
	uint64_t n;
};

static void on_weird(void *arg, const char *name, uint64_t n)
{
	struct weird_q *q = arg;

	if (strcmp(name, q->name) == 0)
		q->n = n;
}

/* ---- a session on a made-up conn -------------------------------------- */

struct fx {
	struct an_ctx *c;
	struct an_session *s;
	struct sink k;
};

static void fx_open(struct fx *f, uint8_t proto)
{
	struct an_config cfg = { .enabled = true, .mem_max = 16 << 20, .depth_bytes = 1 << 20,
				 .max_sessions = 16 };
	struct conn id;

	schema_load();
	memset(f, 0, sizeof(*f));
	memset(&id, 0, sizeof(id));
	id.ts_us = T0;
	strcpy(id.uid, "CdnsTest0001");
	id.ip_version = 4;
	id.proto = proto;
	inet_pton(AF_INET, "10.0.0.1", id.orig_h);
	inet_pton(AF_INET, "10.0.0.53", id.resp_h);
	id.orig_p = 53000;
	id.resp_p = 53;
	strcpy(id.community_id, "1:AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	assert_int_equal(an_ctx_create(&f->c, &cfg, NULL, on_record, &f->k), 0);
	f->s = an_test_session(f->c, &id, &an_dns);
	assert_non_null(f->s);
}

static void fx_end(struct fx *f)
{
	if (f->s != NULL)
		an_test_end(f->s, T0 + 60 * SEC);
	f->s = NULL;
}

static void fx_close(struct fx *f)
{
	size_t i;

	fx_end(f);
	an_ctx_destroy(f->c);
	for (i = 0; i < f->k.n; i++)
		json_decref(f->k.recs[i]);
}

static uint64_t weird(const struct fx *f, const char *name)
{
	struct weird_q q = { name, 0 };

	an_weirds(f->c, on_weird, &q);
	return q.n;
}

/* ---- building messages ------------------------------------------------ */

struct msg {
	uint8_t b[70000];
	size_t n;
};

static void put8(struct msg *m, unsigned v)
{
	m->b[m->n++] = (uint8_t)v;
}

static void put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void putb(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* A dotted name as labels, ending with the root (no compression). */
static void put_name(struct msg *m, const char *name)
{
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		put8(m, (unsigned)l);
		putb(m, name, l);
		name += l + (dot ? 1 : 0);
	}
	put8(m, 0);
}

static void put_ptr(struct msg *m, unsigned off)
{
	put16(m, 0xc000 | off);
}

#define F_QR 0x8000
#define F_AA 0x0400
#define F_TC 0x0200
#define F_RD 0x0100
#define F_RA 0x0080

static void put_hdr(struct msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an,
		    unsigned ns, unsigned ar)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

static void put_q(struct msg *m, const char *name, unsigned type)
{
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
}

/* An RR whose owner is a pointer to `owner_off`; rdata follows. */
static void put_rr_hdr(struct msg *m, unsigned owner_off, unsigned type, uint32_t ttl,
		       unsigned rdlen)
{
	put_ptr(m, owner_off);
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, rdlen);
}

static void put_opt(struct msg *m, unsigned udp, unsigned ext_rcode, unsigned version, bool dobit)
{
	put8(m, 0);   /* root */
	put16(m, 41);
	put16(m, udp);
	put8(m, ext_rcode);
	put8(m, version);
	put16(m, dobit ? 0x8000 : 0);
	put16(m, 0);
}

static void query(struct msg *m, unsigned id, const char *name, unsigned type)
{
	put_hdr(m, id, F_RD, 1, 0, 0, 0);
	put_q(m, name, type);
}

static void feed(struct fx *f, bool is_orig, const struct msg *m, uint64_t ts)
{
	an_test_data(f->s, is_orig, m->b, m->n, ts);
}

/* ---- reading records -------------------------------------------------- */

static const char *str(const json_t *r, const char *key)
{
	const json_t *v = json_object_get(r, key);

	if (!json_is_string(v))
		fail_msg("%s: no string", key);
	return json_string_value(v);
}

static json_int_t num(const json_t *r, const char *key)
{
	const json_t *v = json_object_get(r, key);

	if (!json_is_integer(v))
		fail_msg("%s: no integer", key);
	return json_integer_value(v);
}

static bool flag(const json_t *r, const char *key)
{
	const json_t *v = json_object_get(r, key);

	if (!json_is_boolean(v))
		fail_msg("%s: no boolean", key);
	return json_is_true(v);
}

static bool has(const json_t *r, const char *key)
{
	return json_object_get(r, key) != NULL;
}

static const char *answer(const json_t *r, size_t i)
{
	const json_t *a = json_object_get(r, "answers");

	assert_true(json_array_size(a) > i);
	return json_string_value(json_array_get(a, i));
}

static json_int_t ttl(const json_t *r, size_t i)
{
	const json_t *a = json_object_get(r, "TTLs");

	assert_true(json_array_size(a) > i);
	return json_integer_value(json_array_get(a, i));
}

/* ---- tests ------------------------------------------------------------ */

static void test_a(void **state)
{
	struct fx f;
	struct msg q, r;
	const json_t *rec;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	query(&q, 0x1234, "Www.Example.COM", 1);
	put_hdr(&r, 0x1234, F_QR | F_RD | F_RA, 1, 1, 0, 0);
	put_q(&r, "www.example.com", 1);
	put_rr_hdr(&r, 12, 1, 300, 4);
	putb(&r, "\x5d\xb8\xd8\x22", 4);
	feed(&f, true, &q, T0);
	assert_int_equal(f.k.n, 0);
	feed(&f, false, &r, T0 + 12345);
	assert_int_equal(f.k.n, 1);
	rec = f.k.recs[0];
	assert_string_equal(str(rec, "type"), "dns");
	assert_string_equal(str(rec, "ts"), "2023-11-14T22:13:20.000000Z");
	assert_string_equal(str(rec, "uid"), "CdnsTest0001");
	assert_string_equal(str(rec, "proto"), "udp");
	assert_int_equal(num(rec, "trans_id"), 0x1234);
	assert_true(json_is_real(json_object_get(rec, "rtt")));
	assert_true(json_real_value(json_object_get(rec, "rtt")) == 0.012345);
	assert_string_equal(str(rec, "query"), "www.example.com");
	assert_int_equal(num(rec, "qclass"), 1);
	assert_string_equal(str(rec, "qclass_name"), "C_INTERNET");
	assert_int_equal(num(rec, "qtype"), 1);
	assert_string_equal(str(rec, "qtype_name"), "A");
	assert_int_equal(num(rec, "rcode"), 0);
	assert_string_equal(str(rec, "rcode_name"), "NOERROR");
	assert_false(flag(rec, "AA"));
	assert_false(flag(rec, "TC"));
	assert_true(flag(rec, "RD"));
	assert_true(flag(rec, "RA"));
	assert_int_equal(num(rec, "Z"), 0);
	assert_string_equal(answer(rec, 0), "93.184.216.34");
	assert_int_equal(ttl(rec, 0), 300);
	assert_int_equal(json_array_size(json_object_get(rec, "answers")), 1);
	assert_false(flag(rec, "rejected"));
	assert_false(has(rec, "edns_udp_size"));
	fx_end(&f);
	assert_int_equal(f.k.n, 1);   /* nothing left pending */
	fx_close(&f);
}

static void test_aaaa(void **state)
{
	struct fx f;
	struct msg q, r;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	query(&q, 7, "v6.example", 28);
	put_hdr(&r, 7, F_QR | F_AA | F_RD | F_RA, 1, 2, 0, 0);
	put_q(&r, "v6.example", 28);
	put_rr_hdr(&r, 12, 28, 60, 16);
	putb(&r, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	put_rr_hdr(&r, 12, 28, 61, 16);
	putb(&r, "\xfe\x80\0\0\0\0\0\0\x02\x11\x22\xff\xfe\x33\x44\x55", 16);
	feed(&f, true, &q, T0);
	feed(&f, false, &r, T0 + SEC);
	assert_int_equal(f.k.n, 1);
	assert_string_equal(str(f.k.recs[0], "qtype_name"), "AAAA");
	assert_string_equal(answer(f.k.recs[0], 0), "2001:db8::1");
	assert_string_equal(answer(f.k.recs[0], 1), "fe80::211:22ff:fe33:4455");
	assert_int_equal(ttl(f.k.recs[0], 1), 61);
	assert_true(flag(f.k.recs[0], "AA"));
	assert_true(json_real_value(json_object_get(f.k.recs[0], "rtt")) == 1.0);
	fx_close(&f);
}

static void test_mx_and_compression(void **state)
{
	struct fx f;
	struct msg q, r;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	query(&q, 99, "example.org", 15);
	put_hdr(&r, 99, F_QR | F_RD | F_RA, 1, 2, 0, 0);
	put_q(&r, "example.org", 15);            /* name at 12 */
	put_rr_hdr(&r, 12, 15, 3600, 2 + 7);
	put16(&r, 10);
	put8(&r, 4);
	putb(&r, "mail", 4);
	put_ptr(&r, 12);                          /* mail.example.org */
	put_rr_hdr(&r, 12, 15, 3600, 2 + 2);
	put16(&r, 20);
	put_ptr(&r, 12 + 17 + 12 + 2);            /* the first exchange name */
	feed(&f, true, &q, T0);
	feed(&f, false, &r, T0 + 5);
	assert_int_equal(f.k.n, 1);
	assert_string_equal(str(f.k.recs[0], "qtype_name"), "MX");
	assert_string_equal(answer(f.k.recs[0], 0), "mail.example.org");
	assert_string_equal(answer(f.k.recs[0], 1), "mail.example.org");
	assert_int_equal(ttl(f.k.recs[0], 0), 3600);
	fx_close(&f);
}

static void test_txt(void **state)
{
	struct fx f;
	struct msg q, r;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	query(&q, 5, "example.org", 16);
	put_hdr(&r, 5, F_QR | F_RD | F_RA, 1, 1, 0, 0);
	put_q(&r, "example.org", 16);
	put_rr_hdr(&r, 12, 16, 30, 1 + 11 + 1 + 5);
	put8(&r, 11);
	putb(&r, "v=spf1 -all", 11);
	put8(&r, 5);
	putb(&r, "a\x01" "b\"c", 5);
	feed(&f, true, &q, T0);
	feed(&f, false, &r, T0 + 5);
	assert_int_equal(f.k.n, 1);
	assert_string_equal(answer(f.k.recs[0], 0), "TXT 11 v=spf1 -all TXT 5 a\\x01b\"c");
	fx_close(&f);
}

/* The other types Zeek summarises, and one it parses but does not log. */
static void test_other_types(void **state)
{
	struct fx f;
	struct msg q, r;
	const json_t *rec;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	query(&q, 8, "example.com", 255);
	put_hdr(&r, 8, F_QR | F_RD | F_RA, 1, 9, 0, 0);
	put_q(&r, "example.com", 255);
	put_rr_hdr(&r, 12, 33, 1, 6 + 2);            /* SRV 0 5 5060 example.com */
	put16(&r, 0);
	put16(&r, 5);
	put16(&r, 5060);
	put_ptr(&r, 12);
	put_rr_hdr(&r, 12, 2, 2, 5);                  /* NS ns.example.com */
	put8(&r, 2);
	putb(&r, "ns", 2);
	put_ptr(&r, 12);
	put_rr_hdr(&r, 12, 12, 3, 2);                 /* PTR example.com */
	put_ptr(&r, 12);
	put_rr_hdr(&r, 12, 46, 4, 18 + 2);            /* RRSIG covering A, signer example.com */
	put16(&r, 1);
	put8(&r, 13);
	put8(&r, 2);
	put32(&r, 3600);
	put32(&r, 0);
	put32(&r, 0);
	put16(&r, 4242);
	put_ptr(&r, 12);
	put_rr_hdr(&r, 12, 48, 5, 4);                 /* DNSKEY alg 13 */
	putb(&r, "\x01\x01\x03\x0d", 4);
	put_rr_hdr(&r, 12, 43, 6, 4);                 /* DS key tag, alg 8, digest 2 */
	putb(&r, "\x10\x92\x08\x02", 4);
	put_rr_hdr(&r, 12, 47, 7, 2 + 2);             /* NSEC next example.com */
	put_ptr(&r, 12);
	put16(&r, 0);
	put_rr_hdr(&r, 12, 257, 8, 3);                /* CAA: parsed, not logged */
	putb(&r, "\0\0\0", 3);
	put_rr_hdr(&r, 12, 65280, 9, 0);              /* private use */
	feed(&f, true, &q, T0);
	feed(&f, false, &r, T0 + 5);
	assert_int_equal(f.k.n, 1);
	rec = f.k.recs[0];
	assert_string_equal(str(rec, "qtype_name"), "*");
	assert_int_equal(json_array_size(json_object_get(rec, "answers")), 8);
	assert_int_equal(json_array_size(json_object_get(rec, "TTLs")), 8);
	assert_string_equal(answer(rec, 0), "example.com");
	assert_string_equal(answer(rec, 1), "ns.example.com");
	assert_string_equal(answer(rec, 2), "example.com");
	assert_string_equal(answer(rec, 3), "RRSIG 1 example.com");
	assert_string_equal(answer(rec, 4), "DNSKEY 13");
	assert_string_equal(answer(rec, 5), "DS 8 2");
	assert_string_equal(answer(rec, 6), "NSEC example.com example.com");
	assert_string_equal(answer(rec, 7), "<unknown type=65280>");
	assert_int_equal(ttl(rec, 6), 7);
	assert_int_equal(ttl(rec, 7), 9);
	fx_close(&f);
}

static void test_cname_chain(void **state)
{
	struct fx f;
	struct msg q, r;
	const json_t *rec;
	size_t a_off, b_off;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	query(&q, 0xbeef, "www.example.com", 1);
	put_hdr(&r, 0xbeef, F_QR | F_RD | F_RA, 1, 3, 0, 0);
	put_q(&r, "www.example.com", 1);
	put_rr_hdr(&r, 12, 5, 100, 15);
	a_off = r.n;
	put_name(&r, "a.example.net");          /* 15 bytes */
	put_rr_hdr(&r, (unsigned)a_off, 5, 200, 4);
	b_off = r.n;
	put8(&r, 1);
	put8(&r, 'b');
	put_ptr(&r, (unsigned)a_off + 2);       /* b.example.net */
	put_rr_hdr(&r, (unsigned)b_off, 1, 300, 4);
	putb(&r, "\x01\x02\x03\x04", 4);
	feed(&f, true, &q, T0);
	feed(&f, false, &r, T0 + 5);
	assert_int_equal(f.k.n, 1);
	rec = f.k.recs[0];
	assert_int_equal(json_array_size(json_object_get(rec, "answers")), 3);
	assert_string_equal(answer(rec, 0), "a.example.net");
	assert_string_equal(answer(rec, 1), "b.example.net");
	assert_string_equal(answer(rec, 2), "1.2.3.4");
	assert_int_equal(ttl(rec, 0), 100);
	assert_int_equal(ttl(rec, 1), 200);
	assert_int_equal(ttl(rec, 2), 300);
	fx_close(&f);
}

static void test_nxdomain_soa(void **state)
{
	struct fx f;
	struct msg q, r;
	const json_t *rec;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	query(&q, 0x4242, "nope.example.com", 1);
	put_hdr(&r, 0x4242, F_QR | F_AA | F_RD | F_RA | 3, 1, 0, 1, 0);
	put_q(&r, "nope.example.com", 1);
	/* rdata: "ns" + pointer (5), "hm" + pointer (5), five counts (20) */
	put_rr_hdr(&r, 12 + 5, 6, 900, 30);      /* owner example.com */
	put8(&r, 2);
	putb(&r, "ns", 2);
	put_ptr(&r, 12 + 5);
	put8(&r, 2);
	putb(&r, "hm", 2);
	put_ptr(&r, 12 + 5);
	put32(&r, 1);
	put32(&r, 7200);
	put32(&r, 3600);
	put32(&r, 1209600);
	put32(&r, 300);
	feed(&f, true, &q, T0);
	feed(&f, false, &r, T0 + 5);
	assert_int_equal(f.k.n, 1);
	rec = f.k.recs[0];
	assert_int_equal(num(rec, "rcode"), 3);
	assert_string_equal(str(rec, "rcode_name"), "NXDOMAIN");
	assert_false(has(rec, "answers"));
	assert_false(has(rec, "TTLs"));
	assert_false(flag(rec, "rejected"));
	assert_true(flag(rec, "AA"));
	assert_int_equal(weird(&f, "DNS_truncated_RR_rdlength_lt_len"), 0);
	assert_int_equal(weird(&f, "DNS_truncated_ans_too_short"), 0);
	fx_close(&f);
}

static void test_edns(void **state)
{
	struct fx f;
	struct msg q, r;
	const json_t *rec;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	put_hdr(&q, 77, F_RD | 0x20, 1, 0, 0, 1);     /* AD set: Z counts it as Zeek does */
	put_q(&q, "example.com", 1);
	put_opt(&q, 1232, 0, 0, true);
	put_hdr(&r, 77, F_QR | F_RD | F_RA, 1, 1, 0, 1);
	put_q(&r, "example.com", 1);
	put_rr_hdr(&r, 12, 1, 5, 4);
	putb(&r, "\x0a\0\0\x01", 4);
	put_opt(&r, 4096, 0, 0, false);
	feed(&f, true, &q, T0);
	feed(&f, false, &r, T0 + 5);
	assert_int_equal(f.k.n, 1);
	rec = f.k.recs[0];
	assert_int_equal(num(rec, "edns_udp_size"), 1232);
	assert_true(flag(rec, "edns_do"));
	assert_int_equal(num(rec, "edns_version"), 0);
	assert_int_equal(num(rec, "Z"), 2);
	assert_string_equal(answer(rec, 0), "10.0.0.1");
	assert_int_equal(json_array_size(json_object_get(rec, "answers")), 1);

	/* An extended rcode (RFC 6891 6.1.3): BADVERS is 16. */
	put_hdr(&q, 78, F_RD, 1, 0, 0, 1);
	put_q(&q, "example.com", 1);
	put_opt(&q, 512, 0, 1, false);
	put_hdr(&r, 78, F_QR | F_RD, 1, 0, 0, 1);
	put_q(&r, "example.com", 1);
	put_opt(&r, 512, 1, 0, false);
	feed(&f, true, &q, T0 + 10);
	feed(&f, false, &r, T0 + 11);
	assert_int_equal(f.k.n, 2);
	assert_int_equal(num(f.k.recs[1], "rcode"), 16);
	assert_string_equal(str(f.k.recs[1], "rcode_name"), "BADVERS");
	assert_int_equal(num(f.k.recs[1], "edns_version"), 1);
	fx_close(&f);
}

/* A query and its reply over TCP, each behind its length. */
static void tcp_pair(struct msg *tq, struct msg *tr)
{
	struct msg q, r;

	query(&q, 0x0101, "tcp.example", 1);
	put_hdr(&r, 0x0101, F_QR | F_RD | F_RA, 1, 1, 0, 0);
	put_q(&r, "tcp.example", 1);
	put_rr_hdr(&r, 12, 1, 10, 4);
	putb(&r, "\xc0\xa8\x01\x01", 4);
	tq->n = tr->n = 0;
	put16(tq, (unsigned)q.n);
	putb(tq, q.b, q.n);
	put16(tr, (unsigned)r.n);
	putb(tr, r.b, r.n);
}

static void check_tcp_rec(const json_t *rec)
{
	assert_string_equal(str(rec, "proto"), "tcp");
	assert_string_equal(str(rec, "query"), "tcp.example");
	assert_string_equal(answer(rec, 0), "192.168.1.1");
	assert_true(has(rec, "rtt"));
}

static void test_tcp_split_everywhere(void **state)
{
	static struct msg tq, tr;
	size_t k;

	(void)state;
	tcp_pair(&tq, &tr);
	for (k = 0; k <= tr.n; k++) {
		struct fx f;

		fx_open(&f, IPPROTO_TCP);
		an_test_data(f.s, true, tq.b, k < tq.n ? k : tq.n, T0);
		if (k < tq.n)
			an_test_data(f.s, true, tq.b + k, tq.n - k, T0 + 1);
		an_test_data(f.s, false, tr.b, k, T0 + 2);
		assert_int_equal(f.k.n, k == tr.n ? 1 : 0);
		an_test_data(f.s, false, tr.b + k, tr.n - k, T0 + 3);
		assert_int_equal(f.k.n, 1);
		check_tcp_rec(f.k.recs[0]);
		fx_close(&f);
	}
	/* And one byte at a time. */
	{
		struct fx f;

		fx_open(&f, IPPROTO_TCP);
		for (k = 0; k < tq.n; k++)
			an_test_data(f.s, true, tq.b + k, 1, T0);
		for (k = 0; k < tr.n; k++)
			an_test_data(f.s, false, tr.b + k, 1, T0 + 7);
		assert_int_equal(f.k.n, 1);
		check_tcp_rec(f.k.recs[0]);
		fx_close(&f);
	}
}

static void test_tcp_two_in_one(void **state)
{
	static struct msg tq, tr, both_q, both_r;
	struct fx f;

	(void)state;
	tcp_pair(&tq, &tr);
	both_q.n = both_r.n = 0;
	putb(&both_q, tq.b, tq.n);
	putb(&both_q, tq.b, tq.n);
	both_q.b[tq.n + 3] = 0x02;   /* second query: trans_id 0x0102 */
	putb(&both_r, tr.b, tr.n);
	putb(&both_r, tr.b, tr.n);
	both_r.b[tr.n + 3] = 0x02;
	putb(&both_r, tr.b, 5);      /* and the start of a third */
	fx_open(&f, IPPROTO_TCP);
	feed(&f, true, &both_q, T0);
	feed(&f, false, &both_r, T0 + 2);
	assert_int_equal(f.k.n, 2);
	assert_int_equal(num(f.k.recs[0], "trans_id"), 0x0101);
	assert_int_equal(num(f.k.recs[1], "trans_id"), 0x0102);
	check_tcp_rec(f.k.recs[0]);
	check_tcp_rec(f.k.recs[1]);
	fx_close(&f);   /* the partial third is freed (the stub framework checks) */
}

static void test_tcp_gap(void **state)
{
	static struct msg tq, tr, junk;
	struct fx f;

	(void)state;
	tcp_pair(&tq, &tr);
	/* A gap inside the first reply, then a whole reply: resynced. */
	fx_open(&f, IPPROTO_TCP);
	feed(&f, true, &tq, T0);
	an_test_data(f.s, false, tr.b, 10, T0 + 1);
	an_test_gap(f.s, false, tr.n - 10);
	feed(&f, false, &tr, T0 + 2);
	assert_int_equal(f.k.n, 1);
	check_tcp_rec(f.k.recs[0]);
	assert_int_equal(weird(&f, "DNS_tcp_gap_in_message"), 1);
	fx_close(&f);

	/* A gap, then bytes from the middle of a message: the direction is
	 * given up, and the query is logged unanswered at the end. */
	fx_open(&f, IPPROTO_TCP);
	feed(&f, true, &tq, T0);
	an_test_gap(f.s, false, 100);
	junk.n = 0;
	putb(&junk, "\x00\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16);
	putb(&junk, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16);
	feed(&f, false, &junk, T0 + 1);
	feed(&f, false, &tr, T0 + 2);   /* ignored: framing is lost */
	assert_int_equal(f.k.n, 0);
	assert_int_equal(weird(&f, "DNS_tcp_resync_failed"), 1);
	fx_end(&f);
	assert_int_equal(f.k.n, 1);
	assert_false(has(f.k.recs[0], "rcode"));
	fx_close(&f);
}

/* A query whose question name is `name_bytes`, then the reply to a good
 * query carrying the same bad bytes in its answer. */
static void bad_name_case(const uint8_t *nb, size_t nlen, const char *weird_name)
{
	struct fx f;
	struct msg q;

	fx_open(&f, IPPROTO_UDP);
	put_hdr(&q, 1, F_RD, 1, 0, 0, 0);
	putb(&q, nb, nlen);
	put16(&q, 1);
	put16(&q, 1);
	feed(&f, true, &q, T0);
	fx_end(&f);
	assert_int_equal(f.k.n, 0);   /* the message was dropped */
	assert_int_equal(weird(&f, weird_name), 1);
	fx_close(&f);
}

static void test_compression_loop(void **state)
{
	struct fx f;
	struct msg q, r;

	(void)state;
	/* A pointer to itself, at offset 12. */
	bad_name_case((const uint8_t *)"\xc0\x0c", 2, "DNS_label_forward_compress_offset");
	/* A label then a pointer back to that label: a.a.a... The pointer
	 * points backwards, but not before the name it is part of. */
	bad_name_case((const uint8_t *)"\x01" "a\xc0\x0c", 4, "DNS_name_compression_loop");

	/* In an answer: the second RR's owner points at itself. */
	fx_open(&f, IPPROTO_UDP);
	query(&q, 3, "x.example", 5);
	put_hdr(&r, 3, F_QR | F_RD | F_RA, 1, 2, 0, 0);
	put_q(&r, "x.example", 5);
	put_rr_hdr(&r, 12, 5, 1, 4);
	put8(&r, 1);
	put8(&r, 'y');
	put_ptr(&r, 12);                          /* y.x.example: a good answer */
	put_ptr(&r, (unsigned)r.n);
	put16(&r, 5);
	put16(&r, 1);
	put32(&r, 1);
	put16(&r, 2);
	put_ptr(&r, 12);
	feed(&f, true, &q, T0);
	feed(&f, false, &r, T0 + 1);
	assert_int_equal(f.k.n, 1);
	/* The first answer survives; the walk stopped at the second. */
	assert_string_equal(answer(f.k.recs[0], 0), "y.x.example");
	assert_int_equal(json_array_size(json_object_get(f.k.recs[0], "answers")), 1);
	assert_int_equal(weird(&f, "DNS_label_forward_compress_offset"), 1);
	fx_close(&f);
}

/* A chain of 200 pointers, each to the one before it: all point
 * backwards, so only the hop limit stops the walk. */
static void test_pointer_chain_limit(void **state)
{
	struct fx f;
	struct msg m;
	size_t i, base;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	/* A reply without question: RR 0 (an unknown type) carries the
	 * chain as its rdata, RR 1's owner is the chain's last pointer. */
	put_hdr(&m, 9, F_QR, 0, 2, 0, 0);
	put8(&m, 0);              /* RR 0: owner root */
	put16(&m, 65280);
	put16(&m, 1);
	put32(&m, 1);
	put16(&m, 1 + 2 * 200);
	base = m.n;
	put8(&m, 0);              /* a root name at base */
	for (i = 0; i < 200; i++)
		put_ptr(&m, (unsigned)(i == 0 ? base : base + 1 + 2 * (i - 1)));
	put_ptr(&m, (unsigned)(base + 1 + 2 * 199));   /* RR 1 owner */
	put16(&m, 1);
	put16(&m, 1);
	put32(&m, 1);
	put16(&m, 4);
	put32(&m, 0x01020304);
	feed(&f, false, &m, T0);
	assert_int_equal(f.k.n, 1);
	assert_int_equal(weird(&f, "DNS_name_compression_loop"), 1);
	assert_string_equal(answer(f.k.recs[0], 0), "<unknown type=65280>");
	assert_int_equal(json_array_size(json_object_get(f.k.recs[0], "answers")), 1);
	fx_close(&f);
}

static void test_pointer_out_of_range(void **state)
{
	(void)state;
	bad_name_case((const uint8_t *)"\x01" "a\xc3\xff", 4, "DNS_name_pointer_out_of_range");
}

static void test_label_too_long(void **state)
{
	uint8_t b[80];

	(void)state;
	b[0] = 64;
	memset(b + 1, 'a', 64);
	b[65] = 0;
	bad_name_case(b, 66, "DNS_label_too_long");
	bad_name_case((const uint8_t *)"\x80" "abc\0", 5, "DNS_label_too_long");
}

static void test_name_too_long(void **state)
{
	uint8_t b[320];
	size_t n = 0;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		b[n++] = 60;
		memset(b + n, 'a' + i, 60);
		n += 60;
	}
	b[n++] = 0;   /* 5 * 61 + 1 = 306 octets */
	bad_name_case(b, n, "DNS_NAME_too_long");

	/* 255 exactly is fine: 4 labels of 62/62/62/61 + root = 4 + 247 + 1. */
	{
		struct fx f;
		struct msg q;

		fx_open(&f, IPPROTO_UDP);
		put_hdr(&q, 1, F_RD, 1, 0, 0, 0);
		for (i = 0; i < 4; i++) {
			unsigned l = i < 3 ? 62 : 61;

			put8(&q, l);
			memset(q.b + q.n, 'b', l);
			q.n += l;
		}
		put8(&q, 0);
		put16(&q, 1);
		put16(&q, 1);
		feed(&f, true, &q, T0);
		fx_end(&f);
		assert_int_equal(f.k.n, 1);
		assert_int_equal(strlen(str(f.k.recs[0], "query")), 62 * 3 + 61 + 3);
		fx_close(&f);
	}
}

static void test_truncated(void **state)
{
	struct fx f;
	struct msg q, r;
	size_t cut;

	(void)state;
	/* Short header. */
	fx_open(&f, IPPROTO_UDP);
	an_test_data(f.s, true, (const uint8_t *)"\x12\x34\x01\x00", 4, T0);
	assert_int_equal(weird(&f, "DNS_truncated_len_lt_hdr_len"), 1);
	fx_close(&f);

	/* Question without its type and class. */
	fx_open(&f, IPPROTO_UDP);
	query(&q, 2, "example.com", 1);
	q.n -= 3;
	feed(&f, true, &q, T0);
	fx_end(&f);
	assert_int_equal(f.k.n, 0);
	assert_int_equal(weird(&f, "DNS_truncated_quest_too_short"), 1);
	fx_close(&f);

	/* A reply cut at every byte of its answer: the pair is still logged,
	 * without the answer, and the cut is counted. */
	query(&q, 2, "example.com", 1);
	put_hdr(&r, 2, F_QR | F_RD | F_RA, 1, 1, 0, 0);
	put_q(&r, "example.com", 1);
	put_rr_hdr(&r, 12, 1, 5, 4);
	putb(&r, "\x01\x02\x03\x04", 4);
	for (cut = 12 + 17; cut < r.n; cut++) {
		struct msg c = { .n = 0 };

		putb(&c, r.b, cut);
		fx_open(&f, IPPROTO_UDP);
		feed(&f, true, &q, T0);
		feed(&f, false, &c, T0 + 1);
		assert_int_equal(f.k.n, 1);
		assert_false(has(f.k.recs[0], "answers"));
		assert_int_equal(num(f.k.recs[0], "rcode"), 0);
		assert_int_equal(weird(&f, "DNS_truncated_ans_too_short") +
					 weird(&f, "DNS_truncated_RR_rdlength_lt_len") +
					 weird(&f, "DNS_label_len_gt_pkt"),
				 1);
		fx_close(&f);
	}
	/* A bad A length. */
	fx_open(&f, IPPROTO_UDP);
	r.b[29 + 11] = 3;  /* the A's rdlength (low byte) */
	r.n--;
	feed(&f, true, &q, T0);
	feed(&f, false, &r, T0 + 1);
	assert_int_equal(f.k.n, 1);
	assert_false(has(f.k.recs[0], "answers"));
	assert_int_equal(weird(&f, "DNS_RR_bad_length"), 1);
	fx_close(&f);
}

static void test_unanswered(void **state)
{
	struct fx f;
	struct msg q;
	const json_t *rec;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	query(&q, 11, "lonely.example", 16);
	feed(&f, true, &q, T0 + 3);
	/* A reply with another id does not match. */
	put_hdr(&q, 12, F_QR | 5, 1, 0, 0, 0);
	put_q(&q, "lonely.example", 16);
	feed(&f, false, &q, T0 + 4);
	assert_int_equal(f.k.n, 1);   /* the stray reply, at once */
	fx_end(&f);
	assert_int_equal(f.k.n, 2);
	rec = f.k.recs[1];
	assert_int_equal(num(rec, "trans_id"), 11);
	assert_string_equal(str(rec, "ts"), "2023-11-14T22:13:20.000003Z");
	assert_string_equal(str(rec, "query"), "lonely.example");
	assert_string_equal(str(rec, "qtype_name"), "TXT");
	assert_false(has(rec, "rtt"));
	assert_false(has(rec, "rcode"));
	assert_false(has(rec, "rcode_name"));
	assert_false(has(rec, "answers"));
	assert_false(flag(rec, "rejected"));
	assert_true(flag(rec, "RD"));
	fx_close(&f);
}

static void test_reply_without_query(void **state)
{
	struct fx f;
	struct msg r;
	const json_t *rec;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	put_hdr(&r, 0x55, F_QR | F_RD | F_RA | 5, 1, 0, 0, 0);   /* REFUSED, no RRs */
	put_q(&r, "Refused.Example", 1);
	feed(&f, false, &r, T0 + 9);
	assert_int_equal(f.k.n, 1);
	rec = f.k.recs[0];
	assert_string_equal(str(rec, "ts"), "2023-11-14T22:13:20.000009Z");
	assert_int_equal(num(rec, "trans_id"), 0x55);
	assert_string_equal(str(rec, "query"), "refused.example");
	assert_string_equal(str(rec, "rcode_name"), "REFUSED");
	assert_false(has(rec, "rtt"));
	assert_true(flag(rec, "rejected"));
	/* Matching needs the same name: a query for another name and the
	 * same id stays pending. */
	fx_end(&f);
	assert_int_equal(f.k.n, 1);
	fx_close(&f);

	fx_open(&f, IPPROTO_UDP);
	query(&r, 0x66, "one.example", 1);
	feed(&f, true, &r, T0);
	put_hdr(&r, 0x66, F_QR | 3, 1, 0, 1, 0);
	put_q(&r, "two.example", 1);
	put_rr_hdr(&r, 12, 6, 1, 0);   /* an authority SOA, rdata left out */
	feed(&f, false, &r, T0 + 1);
	assert_int_equal(f.k.n, 1);
	assert_string_equal(str(f.k.recs[0], "query"), "two.example");
	fx_end(&f);
	assert_int_equal(f.k.n, 2);
	assert_string_equal(str(f.k.recs[1], "query"), "one.example");
	assert_false(has(f.k.recs[1], "rcode"));
	fx_close(&f);
}

static void test_pending_bound(void **state)
{
	struct fx f;
	struct msg q;
	unsigned i;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	for (i = 0; i < 33; i++) {
		query(&q, i, "many.example", 1);
		feed(&f, true, &q, T0 + i);
	}
	assert_int_equal(f.k.n, 1);
	assert_int_equal(num(f.k.recs[0], "trans_id"), 0);
	assert_int_equal(weird(&f, "DNS_pending_queries_overflow"), 1);
	/* The reply to id 20 matches id 20, out of order. */
	put_hdr(&q, 20, F_QR | F_RD, 1, 0, 0, 0);
	put_q(&q, "many.example", 1);
	feed(&f, false, &q, T0 + 40);
	assert_int_equal(f.k.n, 2);
	assert_int_equal(num(f.k.recs[1], "trans_id"), 20);
	assert_true(json_real_value(json_object_get(f.k.recs[1], "rtt")) == 0.00002);
	fx_end(&f);
	assert_int_equal(f.k.n, 33);
	fx_close(&f);
}

static void test_escape_and_opcode(void **state)
{
	struct fx f;
	struct msg q;

	(void)state;
	fx_open(&f, IPPROTO_UDP);
	put_hdr(&q, 1, F_RD, 1, 0, 0, 0);
	put8(&q, 3);
	putb(&q, "a\x01\xc3", 3);
	put8(&q, 0);
	put16(&q, 12345);
	put16(&q, 77);
	feed(&f, true, &q, T0);
	/* A NOTIFY (opcode 4) is not logged, as in Zeek. */
	put_hdr(&q, 2, 4 << 11, 1, 0, 0, 0);
	put_q(&q, "example.com", 6);
	feed(&f, true, &q, T0);
	/* The root. */
	put_hdr(&q, 3, 0, 1, 0, 0, 0);
	put_q(&q, "", 2);
	feed(&f, true, &q, T0);
	fx_end(&f);
	assert_int_equal(f.k.n, 2);
	assert_string_equal(str(f.k.recs[0], "query"), "a\\x01\\xc3");
	assert_string_equal(str(f.k.recs[0], "qtype_name"), "query-12345");
	assert_string_equal(str(f.k.recs[0], "qclass_name"), "qclass-77");
	assert_string_equal(str(f.k.recs[1], "query"), "");
	assert_string_equal(str(f.k.recs[1], "qtype_name"), "NS");
	fx_close(&f);
}

/* ---- probe ------------------------------------------------------------ */

static enum an_probe_result run_probe(uint8_t proto, const void *o, size_t ol, const void *r,
				      size_t rl)
{
	struct an_probe_view v = { .orig = o, .orig_len = ol, .resp = r, .resp_len = rl,
				   .proto = proto, .orig_p = 40000, .resp_p = 8053 };

	return an_dns.probe(&v);
}

static void test_probe(void **state)
{
	static struct msg q, tq, tr, big;
	static const char http[] = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
	static const char smtp[] = "220 mail.example.com ESMTP Postfix\r\n";
	static const char ehlo[] = "EHLO client.example\r\n";
	static const uint8_t tls[] = {
		0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03, 0x11, 0x22,
		0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	};
	uint8_t rnd[512];
	unsigned i, yes = 0;

	(void)state;
	query(&q, 0xabcd, "example.com", 1);
	assert_int_equal(run_probe(IPPROTO_UDP, q.b, q.n, NULL, 0), AN_PROBE_YES);
	assert_int_equal(run_probe(IPPROTO_UDP, NULL, 0, NULL, 0), AN_PROBE_MAYBE);
	tcp_pair(&tq, &tr);
	assert_int_equal(run_probe(IPPROTO_TCP, tq.b, tq.n, NULL, 0), AN_PROBE_YES);
	assert_int_equal(run_probe(IPPROTO_TCP, tq.b, tq.n, tr.b, tr.n), AN_PROBE_YES);
	assert_int_equal(run_probe(IPPROTO_TCP, tq.b, 1, NULL, 0), AN_PROBE_MAYBE);
	assert_int_equal(run_probe(IPPROTO_TCP, tq.b, 9, NULL, 0), AN_PROBE_MAYBE);
	assert_int_equal(run_probe(IPPROTO_TCP, tq.b, 20, NULL, 0), AN_PROBE_MAYBE);
	/* A reply larger than the probe's buffer, seen cut at its size. */
	put_hdr(&big, 1, F_QR | F_RD | F_RA, 1, 200, 0, 0);
	put_q(&big, "big.example", 1);
	for (i = 0; i < 200; i++) {
		put_rr_hdr(&big, 12, 1, 1, 4);
		put32(&big, i);
	}
	assert_true(big.n > AN_PROBE_MAX);
	assert_int_equal(run_probe(IPPROTO_UDP, NULL, 0, big.b, AN_PROBE_MAX), AN_PROBE_YES);
	/* UDP DNS is not TCP DNS. */
	assert_int_equal(run_probe(IPPROTO_TCP, q.b, q.n, NULL, 0), AN_PROBE_NO);

	assert_int_equal(run_probe(IPPROTO_TCP, http, strlen(http), NULL, 0), AN_PROBE_NO);
	assert_int_equal(run_probe(IPPROTO_UDP, http, strlen(http), NULL, 0), AN_PROBE_NO);
	assert_int_equal(run_probe(IPPROTO_TCP, NULL, 0, smtp, strlen(smtp)), AN_PROBE_NO);
	assert_int_equal(run_probe(IPPROTO_TCP, ehlo, strlen(ehlo), smtp, strlen(smtp)),
			 AN_PROBE_NO);
	assert_int_equal(run_probe(IPPROTO_TCP, tls, sizeof(tls), NULL, 0), AN_PROBE_NO);
	assert_int_equal(run_probe(IPPROTO_UDP, tls, sizeof(tls), NULL, 0), AN_PROBE_NO);

	/* Random bytes: a fixed LCG, so the test is the same every run. */
	{
		uint32_t x = 12345;
		unsigned t;

		for (t = 0; t < 2000; t++) {
			for (i = 0; i < sizeof(rnd); i++) {
				x = x * 1103515245u + 12345u;
				rnd[i] = (uint8_t)(x >> 16);
			}
			yes += run_probe(IPPROTO_UDP, rnd, sizeof(rnd), NULL, 0) == AN_PROBE_YES;
			yes += run_probe(IPPROTO_TCP, rnd, sizeof(rnd), NULL, 0) == AN_PROBE_YES;
		}
	}
	assert_int_equal(yes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a),
		cmocka_unit_test(test_aaaa),
		cmocka_unit_test(test_mx_and_compression),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_other_types),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_nxdomain_soa),
		cmocka_unit_test(test_edns),
		cmocka_unit_test(test_tcp_split_everywhere),
		cmocka_unit_test(test_tcp_two_in_one),
		cmocka_unit_test(test_tcp_gap),
		cmocka_unit_test(test_compression_loop),
		cmocka_unit_test(test_pointer_chain_limit),
		cmocka_unit_test(test_pointer_out_of_range),
		cmocka_unit_test(test_label_too_long),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_unanswered),
		cmocka_unit_test(test_reply_without_query),
		cmocka_unit_test(test_pending_bound),
		cmocka_unit_test(test_escape_and_opcode),
		cmocka_unit_test(test_probe),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	json_decref(schema);
	return rc;
}
