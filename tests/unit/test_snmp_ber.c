/* Unit tests for agent/snmp/snmp_ber.c: the strict BER decoder (one test
 * per malformed case: lengths, tags, indefinite form, depth, trailing
 * bytes, integers, OIDs), the encoder, and OID text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "snmp/snmp_ber.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Decodes one TLV from bytes; returns snmp_ber_next's result. */
static int one(const uint8_t *p, size_t n, struct snmp_tlv *t, struct snmp_ber_diag *d)
{
	struct snmp_ber c;

	memset(d, 0, sizeof(*d));
	snmp_ber_init(&c, p, n, d);
	return snmp_ber_next(&c, t);
}

static void test_lengths(void **state)
{
	static const uint8_t short_form[] = { 0x04, 0x03, 'a', 'b', 'c' };
	static const uint8_t long_form[] = { 0x04, 0x81, 0x03, 'a', 'b', 'c' };
	static const uint8_t long_padded[] = { 0x04, 0x83, 0x00, 0x00, 0x03, 'a', 'b', 'c' };
	static const uint8_t empty[] = { 0x05, 0x00 };
	struct snmp_ber_diag d;
	struct snmp_tlv t;

	(void)state;
	assert_int_equal(one(short_form, sizeof(short_form), &t, &d), 0);
	assert_int_equal(t.tag, 0x04);
	assert_int_equal(t.len, 3);
	assert_int_equal(t.off, 2);
	assert_int_equal(t.start, 0);
	assert_memory_equal(t.v, "abc", 3);
	assert_int_equal(one(long_form, sizeof(long_form), &t, &d), 0);
	assert_int_equal(t.off, 3);
	assert_int_equal(t.len, 3);
	/* Minimal long form is not required by BER. */
	assert_int_equal(one(long_padded, sizeof(long_padded), &t, &d), 0);
	assert_int_equal(t.len, 3);
	assert_int_equal(one(empty, sizeof(empty), &t, &d), 0);
	assert_int_equal(t.len, 0);
}

static void test_bad_lengths(void **state)
{
	static const struct {
		uint8_t b[8];
		size_t n;
		const char *why;
	} cases[] = {
		{ { 0x04, 0x04, 'a', 'b', 'c' }, 5, "length beyond the enclosing data" },
		{ { 0x04, 0x81, 0x04, 'a', 'b', 'c' }, 6, "length beyond the enclosing data" },
		{ { 0x30, 0x80, 0x05, 0x00, 0x00, 0x00 }, 6, "indefinite length" },
		{ { 0x04, 0x85, 0, 0, 0, 0, 1, 'a' }, 8, "length of length over 4 octets" },
		{ { 0x04, 0xff, 0, 0 }, 4, "length of length over 4 octets" },
		{ { 0x04, 0x82, 0x00 }, 3, "truncated length" },
		{ { 0x04 }, 1, "truncated header" },
		{ { 0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 'a' }, 7, "length beyond the enclosing data" },
		{ { 0x1f, 0x81, 0x01, 0x00 }, 4, "multi-octet tag" },
		{ { 0 }, 0, "missing element" },
	};
	struct snmp_ber_diag d;
	struct snmp_tlv t;

	(void)state;
	for (size_t i = 0; i < LEN(cases); i++) {
		assert_int_equal(one(cases[i].b, cases[i].n, &t, &d), -EBADMSG);
		assert_non_null(d.what);
		assert_string_equal(d.what, cases[i].why);
	}
}

/* A child may not reach past its parent: the inner length is checked
 * against the enclosing TLV, not the datagram. */
static void test_nested_bounds(void **state)
{
	static const uint8_t b[] = { 0x30, 0x03, 0x04, 0x03, 'a', 'b', 'c' };
	struct snmp_ber c, in;
	struct snmp_ber_diag d = { 0 };
	struct snmp_tlv t;

	(void)state;
	snmp_ber_init(&c, b, sizeof(b), &d);
	assert_int_equal(snmp_ber_next(&c, &t), 0);
	assert_int_equal(snmp_ber_done(&c), -EBADMSG);     /* 'a' 'b' 'c' trail */
	assert_string_equal(d.what, "trailing bytes");
	assert_int_equal(snmp_ber_enter(&c, &t, &in), 0);
	assert_int_equal(snmp_ber_next(&in, &t), -EBADMSG);
}

static void test_enter_rules(void **state)
{
	static const uint8_t prim[] = { 0x04, 0x00 };
	uint8_t deep[2 * (SNMP_BER_MAX_DEPTH + 2)];
	struct snmp_ber c[SNMP_BER_MAX_DEPTH + 3];
	struct snmp_ber_diag d = { 0 };
	struct snmp_tlv t;
	size_t n = sizeof(deep) / 2;
	int k;

	(void)state;
	snmp_ber_init(&c[0], prim, sizeof(prim), &d);
	assert_int_equal(snmp_ber_next(&c[0], &t), 0);
	assert_int_equal(snmp_ber_enter(&c[0], &t, &c[1]), -EBADMSG);
	assert_string_equal(d.what, "primitive where constructed expected");

	/* SNMP_BER_MAX_DEPTH + 2 nested SEQUENCEs: entering stops at the cap. */
	for (size_t i = 0; i < n; i++) {
		deep[2 * i] = 0x30;
		deep[2 * i + 1] = (uint8_t)(2 * (n - i - 1));
	}
	memset(&d, 0, sizeof(d));
	snmp_ber_init(&c[0], deep, sizeof(deep), &d);
	for (k = 0; k < (int)n; k++) {
		assert_int_equal(snmp_ber_next(&c[k], &t), 0);
		if (snmp_ber_enter(&c[k], &t, &c[k + 1]) < 0)
			break;
	}
	assert_int_equal(k, SNMP_BER_MAX_DEPTH);
	assert_string_equal(d.what, "nested too deep");
}

static void test_expect(void **state)
{
	static const uint8_t b[] = { 0x02, 0x01, 0x05 };
	struct snmp_ber c;
	struct snmp_ber_diag d = { 0 };
	struct snmp_tlv t;

	(void)state;
	snmp_ber_init(&c, b, sizeof(b), &d);
	assert_int_equal(snmp_ber_expect(&c, SNMP_TAG_OCTET_STRING, &t), -EBADMSG);
	assert_string_equal(d.what, "unexpected tag");
	assert_int_equal(d.off, 0);
}

static int int_of(const uint8_t *v, size_t n, int64_t *out)
{
	struct snmp_tlv t = { .tag = SNMP_TAG_INTEGER, .v = v, .len = n };
	struct snmp_ber c;

	snmp_ber_init(&c, v, n, NULL);
	return snmp_ber_int(&c, &t, out);
}

static int uint_of(const uint8_t *v, size_t n, uint64_t max, uint64_t *out)
{
	struct snmp_tlv t = { .tag = SNMP_TAG_COUNTER64, .v = v, .len = n };
	struct snmp_ber c;

	snmp_ber_init(&c, v, n, NULL);
	return snmp_ber_uint(&c, &t, max, out);
}

static void test_integers(void **state)
{
	static const struct {
		uint8_t b[8];
		size_t n;
		int64_t v;
	} ok[] = {
		{ { 0x00 }, 1, 0 },
		{ { 0x7f }, 1, 127 },
		{ { 0x00, 0x80 }, 2, 128 },
		{ { 0xff }, 1, -1 },
		{ { 0x80 }, 1, -128 },
		{ { 0xff, 0x7f }, 2, -129 },
		{ { 0x7f, 0xff, 0xff, 0xff }, 4, INT32_MAX },
		{ { 0x80, 0, 0, 0 }, 4, INT32_MIN },
		{ { 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 8, INT64_MAX },
		{ { 0x80, 0, 0, 0, 0, 0, 0, 0 }, 8, INT64_MIN },
	};
	static const uint8_t nine[9] = { 0 };
	int64_t v;

	(void)state;
	for (size_t i = 0; i < LEN(ok); i++) {
		assert_int_equal(int_of(ok[i].b, ok[i].n, &v), 0);
		assert_true(v == ok[i].v);
	}
	assert_int_equal(int_of(nine, 0, &v), -EBADMSG);
	assert_int_equal(int_of(nine, 9, &v), -EBADMSG);
}

static void test_unsigned(void **state)
{
	static const uint8_t u32max[] = { 0x00, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t neg[] = { 0xff, 0xff, 0xff, 0xff };
	static const uint8_t over32[] = { 0x01, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t u64max[] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t over64[] = { 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint64_t v;

	(void)state;
	assert_int_equal(uint_of(u32max, sizeof(u32max), UINT32_MAX, &v), 0);
	assert_true(v == UINT32_MAX);
	assert_int_equal(uint_of(neg, sizeof(neg), UINT32_MAX, &v), -EBADMSG);
	assert_int_equal(uint_of(over32, sizeof(over32), UINT32_MAX, &v), -EBADMSG);
	assert_int_equal(uint_of(u64max, sizeof(u64max), UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(uint_of(over64, sizeof(over64), UINT64_MAX, &v), -EBADMSG);
	assert_int_equal(uint_of(u64max, 0, UINT64_MAX, &v), -EBADMSG);
}

static int oid_of(const uint8_t *v, size_t n, struct snmp_oid *o, struct snmp_ber_diag *d)
{
	struct snmp_tlv t = { .tag = SNMP_TAG_OID, .v = v, .len = n };
	struct snmp_ber c;

	memset(d, 0, sizeof(*d));
	snmp_ber_init(&c, v, n, d);
	return snmp_ber_oid(&c, &t, o);
}

static void test_oids(void **state)
{
	static const uint8_t sysuptime[] = { 0x2b, 6, 1, 2, 1, 1, 3, 0 };
	static const uint8_t big_arc[] = { 0x2b, 0x8f, 0xff, 0xff, 0xff, 0x7f };  /* 2^32-1 */
	static const uint8_t joint[] = { 0x88, 0x37, 0x03 };     /* 2.999.3 (X.690 8.19.5) */
	static const uint8_t zero[] = { 0x00 };                  /* 0.0 */
	static const uint8_t first_max[] = { 0x90, 0x80, 0x80, 0x80, 0x4f };   /* 2.(2^32-1) */
	struct snmp_ber_diag d;
	struct snmp_oid o;
	char s[SNMP_OID_STR_MAX];

	(void)state;
	assert_int_equal(oid_of(sysuptime, sizeof(sysuptime), &o, &d), 0);
	assert_true(snmp_oid_equal(&o, (const uint32_t[]){ 1, 3, 6, 1, 2, 1, 1, 3, 0 }, 9));
	snmp_oid_format(&o, s);
	assert_string_equal(s, "1.3.6.1.2.1.1.3.0");
	snmp_oid_format_suffix(&o, 7, s);
	assert_string_equal(s, ".3.0");
	assert_int_equal(oid_of(big_arc, sizeof(big_arc), &o, &d), 0);
	assert_int_equal(o.arc[2], UINT32_MAX);
	assert_int_equal(oid_of(joint, sizeof(joint), &o, &d), 0);
	snmp_oid_format(&o, s);
	assert_string_equal(s, "2.999.3");
	assert_int_equal(oid_of(zero, sizeof(zero), &o, &d), 0);
	snmp_oid_format(&o, s);
	assert_string_equal(s, "0.0");
	assert_int_equal(oid_of(first_max, sizeof(first_max), &o, &d), 0);
	assert_int_equal(o.arc[1], UINT32_MAX - 0);
}

static void test_bad_oids(void **state)
{
	static const uint8_t leading_80[] = { 0x2b, 0x80, 0x01 };
	static const uint8_t truncated[] = { 0x2b, 0x06, 0x81 };
	static const uint8_t arc_over[] = { 0x2b, 0x90, 0x80, 0x80, 0x80, 0x00 };     /* 2^32 */
	static const uint8_t first_over[] = { 0x90, 0x80, 0x80, 0x80, 0x50 };        /* 2.2^32 */
	static const uint8_t huge[] = { 0x2b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };
	uint8_t many[SNMP_OID_MAX_ARCS + 1];
	struct snmp_ber_diag d;
	struct snmp_oid o;

	(void)state;
	assert_int_equal(oid_of(leading_80, 0, &o, &d), -EBADMSG);
	assert_string_equal(d.what, "empty OID");
	assert_int_equal(oid_of(leading_80, sizeof(leading_80), &o, &d), -EBADMSG);
	assert_string_equal(d.what, "OID subidentifier not minimal");
	assert_int_equal(oid_of(truncated, sizeof(truncated), &o, &d), -EBADMSG);
	assert_string_equal(d.what, "OID subidentifier truncated");
	assert_int_equal(oid_of(arc_over, sizeof(arc_over), &o, &d), -EBADMSG);
	assert_string_equal(d.what, "OID arc over 32 bits");
	assert_int_equal(oid_of(first_over, sizeof(first_over), &o, &d), -EBADMSG);
	assert_string_equal(d.what, "OID arc over 32 bits");
	assert_int_equal(oid_of(huge, sizeof(huge), &o, &d), -EBADMSG);
	/* 128 arcs pass (1.3 + 126), 129 do not. */
	memset(many, 1, sizeof(many));
	many[0] = 0x2b;
	assert_int_equal(oid_of(many, SNMP_OID_MAX_ARCS - 1, &o, &d), 0);
	assert_int_equal(o.n, SNMP_OID_MAX_ARCS);
	assert_int_equal(oid_of(many, SNMP_OID_MAX_ARCS, &o, &d), -EBADMSG);
	assert_string_equal(d.what, "OID over 128 arcs");
}

static void test_oid_text(void **state)
{
	static const char *const bad[] = { "", "1", "3.1", "1.40", "0.40", "1..3", "1.3.", "1.3.x",
					   "1.3.4294967296", "-1.3", "1.3 .6" };
	struct snmp_oid o;
	char s[SNMP_OID_STR_MAX];

	(void)state;
	assert_int_equal(snmp_oid_parse("1.3.6.1.4.1.2011", 16, &o), 0);
	assert_int_equal(o.n, 7);
	assert_int_equal(snmp_oid_parse(".1.3.6", 6, &o), 0);
	snmp_oid_format(&o, s);
	assert_string_equal(s, "1.3.6");
	assert_int_equal(snmp_oid_parse("2.1000.4294967295", 17, &o), 0);
	for (size_t i = 0; i < LEN(bad); i++)
		assert_int_equal(snmp_oid_parse(bad[i], strlen(bad[i]), &o), -EINVAL);
}

/* What the encoder writes, the decoder reads back, minimally encoded. */
static void test_encoder_roundtrip(void **state)
{
	static const int64_t ints[] = { 0, 1, -1, 127, 128, -128, -129, 255, 256, INT32_MAX,
					INT32_MIN, INT64_MAX, INT64_MIN };
	static const uint64_t uints[] = { 0, 127, 128, 255, UINT32_MAX, 1ULL << 53, UINT64_MAX };
	static const uint32_t arcs[] = { 1, 3, 6, 1, 4, 1, 4294967295u, 0, 128 };
	uint8_t buf[600], big[300];
	struct snmp_benc e;
	struct snmp_ber c;
	struct snmp_tlv t;
	struct snmp_oid o;
	const uint8_t *p;
	size_t n;

	(void)state;
	for (size_t i = 0; i < LEN(ints); i++) {
		int64_t v;

		snmp_benc_init(&e, buf, sizeof(buf));
		snmp_benc_int(&e, SNMP_TAG_INTEGER, ints[i]);
		assert_int_equal(snmp_benc_finish(&e, &p, &n), 0);
		snmp_ber_init(&c, p, n, NULL);
		assert_int_equal(snmp_ber_expect(&c, SNMP_TAG_INTEGER, &t), 0);
		assert_int_equal(snmp_ber_int(&c, &t, &v), 0);
		assert_true(v == ints[i]);
		/* minimal: the first 9 bits are never all equal */
		if (t.len > 1)
			assert_false((t.v[0] == 0 && !(t.v[1] & 0x80)) ||
				     (t.v[0] == 0xff && (t.v[1] & 0x80)));
	}
	for (size_t i = 0; i < LEN(uints); i++) {
		uint64_t v;

		snmp_benc_init(&e, buf, sizeof(buf));
		snmp_benc_uint(&e, SNMP_TAG_COUNTER64, uints[i]);
		assert_int_equal(snmp_benc_finish(&e, &p, &n), 0);
		snmp_ber_init(&c, p, n, NULL);
		assert_int_equal(snmp_ber_expect(&c, SNMP_TAG_COUNTER64, &t), 0);
		assert_int_equal(snmp_ber_uint(&c, &t, UINT64_MAX, &v), 0);
		assert_true(v == uints[i]);
	}
	snmp_benc_init(&e, buf, sizeof(buf));
	snmp_benc_oid(&e, arcs, LEN(arcs));
	assert_int_equal(snmp_benc_finish(&e, &p, &n), 0);
	snmp_ber_init(&c, p, n, NULL);
	assert_int_equal(snmp_ber_expect(&c, SNMP_TAG_OID, &t), 0);
	assert_int_equal(snmp_ber_oid(&c, &t, &o), 0);
	assert_true(snmp_oid_equal(&o, arcs, LEN(arcs)));
	/* Long-form lengths: 300 bytes take 0x82 0x01 0x2c. */
	memset(big, 'x', sizeof(big));
	snmp_benc_init(&e, buf, sizeof(buf));
	snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, big, sizeof(big));
	assert_int_equal(snmp_benc_finish(&e, &p, &n), 0);
	assert_int_equal(n, 304);
	assert_memory_equal(p, ((const uint8_t[]){ 0x04, 0x82, 0x01, 0x2c }), 4);
	/* Out of room: sticky -ENOSPC, no partial result. */
	snmp_benc_init(&e, buf, 10);
	snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, big, 20);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, 1);
	assert_int_equal(snmp_benc_finish(&e, &p, &n), -ENOSPC);
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_nested_bounds),
		cmocka_unit_test(test_enter_rules),
		cmocka_unit_test(test_expect),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_oids),
		cmocka_unit_test(test_bad_oids),
		cmocka_unit_test(test_oid_text),
		cmocka_unit_test(test_encoder_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
