/* Unit tests for agent/snmp/snmp_pdu.c: v1, v2c and v3 message decoding
 * (real net-snmp datagrams and hand-built ones), every varbind type, one
 * test per malformed message, and the Response/Report encoders. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "snmp/snmp_pdu.h"
#include "test_snmp_samples.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- builders ----------------------------------------------------------- */

/* VarBinds for every type (RFC 3416 3, RFC 2578 7.1), built by hand. */
static const uint8_t all_types[] = {
	/* sysUpTime.0 = TimeTicks 360000 */
	0x30, 0x10, 0x06, 0x08, 0x2b, 6, 1, 2, 1, 1, 3, 0, 0x43, 0x04, 0x00, 0x05, 0x7e, 0x40,
	/* snmpTrapOID.0 = linkDown */
	0x30, 0x17, 0x06, 0x0a, 0x2b, 6, 1, 6, 3, 1, 1, 4, 1, 0, 0x06, 0x09, 0x2b, 6, 1, 6, 3, 1, 1, 5, 3,
	/* 1.3.6.1.4.1.9.1 INTEGER -2 */
	0x30, 0x0b, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x02, 0x01, 0xfe,
	/* .2 OCTET STRING "ok" */
	0x30, 0x0c, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x04, 0x02, 'o', 'k',
	/* .3 NULL */
	0x30, 0x0a, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x05, 0x00,
	/* .4 OID 1.3.6 */
	0x30, 0x0d, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x06, 0x03, 0x2b, 0x06, 0x00,
	/* .5 IpAddress 192.0.2.1 */
	0x30, 0x0e, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x40, 0x04, 192, 0, 2, 1,
	/* .6 Counter32 4294967295 (five octets, leading zero) */
	0x30, 0x0f, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x41, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff,
	/* .7 Gauge32 7 */
	0x30, 0x0b, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x42, 0x01, 0x07,
	/* .8 TimeTicks 100 */
	0x30, 0x0b, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x43, 0x01, 0x64,
	/* .9 Opaque (a BER-wrapped float, as net-snmp sends) */
	0x30, 0x11, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x44, 0x07, 0x9f, 0x78, 0x04, 0x3f, 0xc0, 0, 0,
	/* .10 Counter64 2^64-1 */
	0x30, 0x13, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x46, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff,
	/* .11 noSuchObject, .12 noSuchInstance, .13 endOfMibView */
	0x30, 0x0a, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x80, 0x00,
	0x30, 0x0a, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x81, 0x00,
	0x30, 0x0a, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x82, 0x00,
};

/* Message { version, "public", pdu_tag { 0x01020304, 0, 0, { vbs } } }. */
static size_t v2c_msg(uint8_t *out, size_t cap, int version, uint8_t pdu_tag, const uint8_t *vbs,
		      size_t vn)
{
	struct snmp_benc e;
	const uint8_t *p;
	size_t n, m0, m1;

	snmp_benc_init(&e, out, cap);
	m0 = snmp_benc_mark(&e);
	m1 = snmp_benc_mark(&e);
	snmp_benc_raw(&e, vbs, vn);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, m1);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, 0);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, 0);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, 0x01020304);
	snmp_benc_wrap(&e, pdu_tag, m1);
	snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, "public", 6);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, version);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, m0);
	assert_int_equal(snmp_benc_finish(&e, &p, &n), 0);
	memmove(out, p, n);
	return n;
}

static int decode(const uint8_t *p, size_t n, struct snmp_msg *m, struct snmp_pdu *pdu,
		  struct snmp_ber_diag *d)
{
	memset(d, 0, sizeof(*d));
	return snmp_msg_decode(p, n, m, pdu, d);
}

/* ---- real datagrams ------------------------------------------------------- */

static void test_v1_generic(void **state)
{
	struct snmp_ber_diag d;
	struct snmp_msg m;
	struct snmp_pdu pdu;
	struct snmp_varbind vb;
	struct snmp_ber it;

	(void)state;
	assert_int_equal(decode(v1_generic_0, sizeof(v1_generic_0), &m, &pdu, &d), 0);
	assert_int_equal(m.version, SNMP_V1);
	assert_int_equal(m.community.n, 6);
	assert_memory_equal(m.community.p, "public", 6);
	assert_int_equal(pdu.type, SNMP_PDU_TRAP_V1);
	assert_true(snmp_oid_equal(&pdu.enterprise, (const uint32_t[]){ 1, 3, 6, 1, 4, 1, 8072, 3, 2, 10 }, 10));
	assert_memory_equal(pdu.agent_addr, ((const uint8_t[]){ 192, 0, 2, 1 }), 4);
	assert_int_equal(pdu.generic_trap, 2);
	assert_int_equal(pdu.specific_trap, 0);
	assert_int_equal(pdu.time_stamp, 4242);
	assert_int_equal(pdu.n_varbinds, 1);
	snmp_vb_iter_init(&it, &pdu, v1_generic_0, NULL);
	assert_int_equal(snmp_vb_next(&it, &vb), 1);
	assert_int_equal(vb.type, SNMP_TAG_INTEGER);
	assert_int_equal(vb.i, 3);
	assert_int_equal(snmp_vb_next(&it, &vb), 0);
}

static void test_v1_specific(void **state)
{
	struct snmp_ber_diag d;
	struct snmp_msg m;
	struct snmp_pdu pdu;

	(void)state;
	assert_int_equal(decode(v1_specific_0, sizeof(v1_specific_0), &m, &pdu, &d), 0);
	assert_memory_equal(m.community.p, "s3cret", 6);
	assert_int_equal(pdu.generic_trap, 6);
	assert_int_equal(pdu.specific_trap, 17);
	assert_int_equal(pdu.time_stamp, 100);
}

static void test_v2c_inform(void **state)
{
	struct snmp_ber_diag d;
	struct snmp_msg m;
	struct snmp_pdu pdu;

	(void)state;
	assert_int_equal(decode(v2c_inform_0, sizeof(v2c_inform_0), &m, &pdu, &d), 0);
	assert_int_equal(m.version, SNMP_V2C);
	assert_int_equal(pdu.type, SNMP_PDU_INFORM);
	assert_true(pdu.has_uptime);
	assert_int_equal(pdu.uptime, 12345);
	assert_true(pdu.has_trap_oid);
	assert_true(snmp_oid_equal(&pdu.trap_oid, (const uint32_t[]){ 1, 3, 6, 1, 6, 3, 1, 1, 5, 4 }, 10));
	assert_int_equal(pdu.n_varbinds, 3);
	/* vbl_tlv is the whole VarBindList, header included, inside the datagram */
	assert_int_equal(pdu.vbl_tlv.p[0], SNMP_TAG_SEQUENCE);
	assert_ptr_equal(pdu.vbl_tlv.p + pdu.vbl_tlv.n, v2c_inform_0 + sizeof(v2c_inform_0));
}

static void test_v3_headers(void **state)
{
	struct snmp_ber_diag d;
	struct snmp_msg m;
	struct snmp_pdu pdu;

	(void)state;
	assert_int_equal(decode(v3_noauth_0, sizeof(v3_noauth_0), &m, &pdu, &d), 0);
	assert_int_equal(m.version, SNMP_V3);
	assert_int_equal(m.msg_flags, 0);
	assert_int_equal(m.security_model, 3);
	assert_int_equal(m.msg_max_size, 65507);
	assert_memory_equal(m.engine_id.p, ((const uint8_t[]){ 0x80, 0x00, 0x1f, 0x88, 0x80, 0xaa, 0xbb, 0xcc, 0xdd, 0x01 }), 10);
	assert_int_equal(m.user.n, 4);
	assert_memory_equal(m.user.p, "anon", 4);
	assert_non_null(m.scoped.p);
	assert_null(m.encrypted.p);
	assert_int_equal(snmp_scoped_pdu_decode(m.scoped.p, m.scoped.n, 0, &pdu, &d), 0);
	assert_int_equal(pdu.type, SNMP_PDU_TRAP_V2);
	assert_int_equal(pdu.uptime, 777);

	assert_int_equal(decode(v3_sha_512_aes_256_0, sizeof(v3_sha_512_aes_256_0), &m, &pdu, &d), 0);
	assert_int_equal(m.msg_flags, SNMP_FLAG_AUTH | SNMP_FLAG_PRIV);
	assert_int_equal(m.auth_params.n, 48);
	assert_ptr_equal(v3_sha_512_aes_256_0 + m.auth_params_off, m.auth_params.p);
	assert_int_equal(m.priv_params.n, 8);
	assert_non_null(m.encrypted.p);
	assert_null(m.scoped.p);

	assert_int_equal(decode(v3_inform_0, sizeof(v3_inform_0), &m, &pdu, &d), 0);
	assert_int_equal(m.msg_flags, SNMP_FLAG_AUTH | SNMP_FLAG_PRIV | SNMP_FLAG_REPORTABLE);
	assert_int_equal(m.auth_params.n, 24);
}

/* ---- every varbind type ------------------------------------------------------ */

static void test_all_types(void **state)
{
	static const uint8_t types[] = {
		SNMP_TAG_TIMETICKS, SNMP_TAG_OID, SNMP_TAG_INTEGER, SNMP_TAG_OCTET_STRING,
		SNMP_TAG_NULL, SNMP_TAG_OID, SNMP_TAG_IPADDRESS, SNMP_TAG_COUNTER32,
		SNMP_TAG_GAUGE32, SNMP_TAG_TIMETICKS, SNMP_TAG_OPAQUE, SNMP_TAG_COUNTER64,
		SNMP_TAG_NO_SUCH_OBJECT, SNMP_TAG_NO_SUCH_INSTANCE, SNMP_TAG_END_OF_MIB_VIEW,
	};
	uint8_t buf[512];
	size_t n = v2c_msg(buf, sizeof(buf), SNMP_V2C, SNMP_PDU_TRAP_V2, all_types, sizeof(all_types));
	struct snmp_ber_diag d;
	struct snmp_msg m;
	struct snmp_pdu pdu;
	struct snmp_varbind vb;
	struct snmp_ber it;
	unsigned i = 0;

	(void)state;
	assert_int_equal(decode(buf, n, &m, &pdu, &d), 0);
	assert_int_equal(pdu.request_id, 0x01020304);
	assert_int_equal(pdu.n_varbinds, LEN(types));
	assert_int_equal(pdu.uptime, 360000);
	snmp_vb_iter_init(&it, &pdu, buf, NULL);
	while (snmp_vb_next(&it, &vb) > 0) {
		assert_int_equal(vb.type, types[i]);
		switch (i) {
		case 2: assert_true(vb.i == -2); break;
		case 3: assert_int_equal(vb.raw.n, 2); break;
		case 5: assert_true(snmp_oid_equal(&vb.oid, (const uint32_t[]){ 1, 3, 6, 0 }, 4)); break;
		case 6: assert_memory_equal(vb.raw.p, ((const uint8_t[]){ 192, 0, 2, 1 }), 4); break;
		case 7: assert_true(vb.u == UINT32_MAX); break;
		case 8: assert_true(vb.u == 7); break;
		case 9: assert_true(vb.u == 100); break;
		case 10: assert_int_equal(vb.raw.n, 7); break;
		case 11: assert_true(vb.u == UINT64_MAX); break;
		default: break;
		}
		i++;
	}
	assert_int_equal(i, LEN(types));
}

/* ---- malformed messages, one case each -------------------------------------- */

struct bad {
	const char *name;
	size_t at;              /* byte to change, counted from the start */
	uint8_t to;
	int rc;
};

static void check_mutations(const uint8_t *base, size_t n, const struct bad *cases, size_t k)
{
	uint8_t buf[1024];
	struct snmp_ber_diag d;
	struct snmp_msg m;
	struct snmp_pdu pdu;

	for (size_t i = 0; i < k; i++) {
		memcpy(buf, base, n);
		buf[cases[i].at] = cases[i].to;
		if (decode(buf, n, &m, &pdu, &d) != cases[i].rc)
			fail_msg("%s: expected %d", cases[i].name, cases[i].rc);
		if (cases[i].rc == -EBADMSG && d.what == NULL)
			fail_msg("%s: no reason", cases[i].name);
	}
}

static void test_malformed_v2c(void **state)
{
	static const uint8_t vb[] = {
		0x30, 0x0d, 0x06, 0x08, 0x2b, 6, 1, 2, 1, 1, 3, 0, 0x43, 0x01, 0x05,   /* 0..14 */
		0x30, 0x0e, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x40, 0x04, 1, 2, 3, 4,    /* 15.. */
		0x30, 0x0a, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x05, 0x00,                /* 31.. */
	};
	uint8_t base[256];
	size_t n = v2c_msg(base, sizeof(base), SNMP_V2C, SNMP_PDU_TRAP_V2, vb, sizeof(vb));
	/* Layout: 30 L | 02 01 01 | 04 06 public | a7 L | 02 04 reqid | 02 01 00 | 02 01 00 |
	 * 30 L | varbinds at 29 */
	const size_t V = 29;
	const struct bad cases[] = {
		{ "outer tag not SEQUENCE", 0, 0x31, -EBADMSG },
		{ "outer length too long", 1, (uint8_t)(n - 1), -EBADMSG },
		{ "indefinite outer length", 1, 0x80, -EBADMSG },
		{ "version not INTEGER", 2, 0x04, -EBADMSG },
		{ "unknown version 2", 4, 0x02, -EPROTONOSUPPORT },
		{ "community not OCTET STRING", 5, 0x02, -EBADMSG },
		{ "GetRequest", 13, SNMP_PDU_GET, -EOPNOTSUPP },
		{ "Response", 13, SNMP_PDU_RESPONSE, -EOPNOTSUPP },
		{ "SetRequest", 13, SNMP_PDU_SET, -EOPNOTSUPP },
		{ "Report", 13, SNMP_PDU_REPORT, -EOPNOTSUPP },
		{ "v1 Trap-PDU in v2c", 13, SNMP_PDU_TRAP_V1, -EOPNOTSUPP },
		{ "not a PDU tag", 13, 0x30, -EBADMSG },
		{ "request-id not INTEGER", 15, 0x04, -EBADMSG },
		{ "error-status 19", 23, 19, -EBADMSG },
		{ "VarBindList not SEQUENCE", 27, 0x31, -EBADMSG },
		{ "VarBind not SEQUENCE", V, 0x04, -EBADMSG },
		{ "name not OID", V + 2, 0x04, -EBADMSG },
		{ "name OID non-minimal", V + 5, 0x80, -EBADMSG },
		{ "name OID truncated", V + 11, 0x80, -EBADMSG },
		{ "varbind length short", V + 1, 0x0c, -EBADMSG },
		{ "TimeTicks negative", V + 14, 0x85, -EBADMSG },
		{ "unknown value type", V + 12, 0x45, -EBADMSG },
		{ "constructed OCTET STRING", V + 12, 0x24, -EBADMSG },
		{ "IpAddress of 5 octets", V + 15 + 11, 0x05, -EBADMSG },
		{ "NULL with content", V + 31 + 11, 0x01, -EBADMSG },
		{ "multi-octet tag", V + 31 + 10, 0x5f, -EBADMSG },
	};
	uint8_t buf[300];
	struct snmp_ber_diag d;
	struct snmp_msg m;
	struct snmp_pdu pdu;

	(void)state;
	assert_int_equal(decode(base, n, &m, &pdu, &d), 0);
	check_mutations(base, n, cases, LEN(cases));

	/* trailing garbage after the message */
	memcpy(buf, base, n);
	buf[n] = 0;
	assert_int_equal(decode(buf, n + 1, &m, &pdu, &d), -EBADMSG);
	assert_string_equal(d.what, "trailing bytes");
	/* truncated datagram */
	assert_int_equal(decode(base, n - 1, &m, &pdu, &d), -EBADMSG);
	assert_int_equal(decode(base, 0, &m, &pdu, &d), -EBADMSG);
	/* request-id over 32 bits */
	memcpy(buf, base, n);
	buf[16] = 0x05;
	assert_int_equal(decode(buf, n, &m, &pdu, &d), -EBADMSG);
	/* a varbind with a third element */
	{
		static const uint8_t three[] = { 0x30, 0x0c, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x05, 0x00,
						 0x05, 0x00 };
		n = v2c_msg(buf, sizeof(buf), SNMP_V2C, SNMP_PDU_TRAP_V2, three, sizeof(three));
		assert_int_equal(decode(buf, n, &m, &pdu, &d), -EBADMSG);
		assert_string_equal(d.what, "trailing bytes");
	}
	/* a varbind with no value */
	{
		static const uint8_t none[] = { 0x30, 0x08, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9 };
		n = v2c_msg(buf, sizeof(buf), SNMP_V2C, SNMP_PDU_TRAP_V2, none, sizeof(none));
		assert_int_equal(decode(buf, n, &m, &pdu, &d), -EBADMSG);
		assert_string_equal(d.what, "missing element");
	}
}

static void test_malformed_v1(void **state)
{
	/* v1_generic_0: 30 3c | 02 01 00 | 04 06 public | a4 2f | 06 0a enterprise at 15 |
	 * 40 04 agent-addr at 27 | 02 01 generic-trap at 33 | ... */
	const struct bad cases[] = {
		{ "GetRequest in v1", 13, SNMP_PDU_GET, -EOPNOTSUPP },
		{ "SNMPv2-Trap in v1", 13, SNMP_PDU_TRAP_V2, -EOPNOTSUPP },
		{ "enterprise not OID", 15, 0x04, -EBADMSG },
		{ "agent-addr not IpAddress", 27, 0x04, -EBADMSG },
		{ "agent-addr of 3 octets", 28, 0x03, -EBADMSG },
		{ "generic-trap 7", 35, 0x07, -EBADMSG },
		{ "generic-trap -1", 35, 0xff, -EBADMSG },
		{ "time-stamp not TimeTicks", 39, 0x02, -EBADMSG },
	};

	(void)state;
	assert_int_equal(v1_generic_0[13], SNMP_PDU_TRAP_V1);
	assert_int_equal(v1_generic_0[27], SNMP_TAG_IPADDRESS);
	assert_int_equal(v1_generic_0[33], SNMP_TAG_INTEGER);
	assert_int_equal(v1_generic_0[39], SNMP_TAG_TIMETICKS);
	check_mutations(v1_generic_0, sizeof(v1_generic_0), cases, LEN(cases));
}

/* v3 header cases: a message built with our own encoder, then altered. */
static size_t v3_msg(uint8_t *out, uint8_t flags, const char *user, size_t *flags_at)
{
	static const uint8_t scoped[] = { 0x30, 0x16, 0x04, 0x05, 1, 2, 3, 4, 5, 0x04, 0x00,
					  0xa7, 0x0b, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00,
					  0x02, 0x01, 0x00, 0x30, 0x00 };
	static const uint8_t eid[] = { 0x80, 0, 0, 0, 1, 2, 3 };
	struct snmp_v3_out o = {
		.msg_id = 7, .flags = flags, .engine_id = { eid, sizeof(eid) },
		.user = { (const uint8_t *)user, strlen(user) }, .data = { scoped, sizeof(scoped) },
		.boots = 1, .time = 2, .mac_len = (flags & SNMP_FLAG_AUTH) ? 12 : 0,
	};
	struct buf b = BUF_INIT;
	size_t mac_off, n;

	assert_int_equal(snmp_encode_v3(&b, &o, &mac_off), 0);
	n = b.len;
	memcpy(out, b.data, n);
	buf_free(&b);
	/* msgFlags: the only OCTET STRING of one octet in msgGlobalData */
	for (size_t i = 0; i + 2 < n; i++)
		if (out[i] == 0x04 && out[i + 1] == 0x01 && out[i + 2] == flags) {
			*flags_at = i + 2;
			break;
		}
	return n;
}

static void test_malformed_v3(void **state)
{
	uint8_t buf[512], b2[512];
	struct snmp_ber_diag d;
	struct snmp_msg m;
	struct snmp_pdu pdu;
	size_t fa = 0, n = v3_msg(buf, 0, "alice", &fa);

	(void)state;
	assert_int_equal(decode(buf, n, &m, &pdu, &d), 0);
	assert_int_equal(m.msg_id, 7);
	assert_int_equal(snmp_scoped_pdu_decode(m.scoped.p, m.scoped.n, 0, &pdu, &d), 0);
	/* privacy without authentication: snmpInvalidMsgs */
	memcpy(b2, buf, n);
	b2[fa] = SNMP_FLAG_PRIV;
	assert_int_equal(decode(b2, n, &m, &pdu, &d), -EPROTO);
	/* the privacy flag with a plaintext ScopedPDU */
	b2[fa] = SNMP_FLAG_AUTH | SNMP_FLAG_PRIV;
	assert_int_equal(decode(b2, n, &m, &pdu, &d), -EPROTO);
	/* msgSecurityModel 2 (not USM) */
	memcpy(b2, buf, n);
	assert_int_equal(b2[fa + 1], 0x02);
	b2[fa + 3] = 2;
	assert_int_equal(decode(b2, n, &m, &pdu, &d), -ESOCKTNOSUPPORT);
	/* msgSecurityModel 0: out of its range */
	b2[fa + 3] = 0;
	assert_int_equal(decode(b2, n, &m, &pdu, &d), -EBADMSG);
	/* msgFlags of zero octets */
	memcpy(b2, buf, n);
	b2[fa - 1] = 0;
	assert_int_equal(decode(b2, n, &m, &pdu, &d), -EBADMSG);
	/* msgMaxSize under 484: 02 03 00 ff e3 before the flags */
	memcpy(b2, buf, n);
	assert_int_equal(b2[fa - 4], 0xff);
	b2[fa - 4] = 0x00;
	b2[fa - 3] = 0x10;
	assert_int_equal(decode(b2, n, &m, &pdu, &d), -EBADMSG);
	assert_string_equal(d.what, "msgMaxSize out of range");
	/* a user name over 32 octets */
	n = v3_msg(b2, 0, "a-user-name-of-thirty-three-bytes", &fa);
	assert_int_equal(decode(b2, n, &m, &pdu, &d), -EBADMSG);
	assert_string_equal(d.what, "msgUserName over 32 octets");
	/* a ScopedPDU holding a GetRequest */
	n = v3_msg(buf, 0, "alice", &fa);
	assert_int_equal(decode(buf, n, &m, &pdu, &d), 0);
	memcpy(b2, m.scoped.p, m.scoped.n);
	b2[11] = SNMP_PDU_GET;
	assert_int_equal(snmp_scoped_pdu_decode(b2, m.scoped.n, 0, &pdu, &d), -EOPNOTSUPP);
	/* padding after a ScopedPDU: allowed up to max_pad */
	b2[11] = SNMP_PDU_TRAP_V2;
	memset(b2 + m.scoped.n, 0, 7);
	assert_int_equal(snmp_scoped_pdu_decode(b2, m.scoped.n + 7, 7, &pdu, &d), 0);
	assert_int_equal(snmp_scoped_pdu_decode(b2, m.scoped.n + 7, 0, &pdu, &d), -EBADMSG);
	/* the request-id of any PDU, for Reports */
	int64_t rid = 0;
	b2[11] = SNMP_PDU_GET;
	assert_int_equal(snmp_scoped_request_id(b2, m.scoped.n, &rid), 0);
	assert_int_equal(rid, 1);
}

/* ---- encoders ----------------------------------------------------------------- */

static void test_v2c_response(void **state)
{
	struct snmp_ber_diag d;
	struct snmp_msg m;
	struct snmp_pdu pdu;
	struct buf out = BUF_INIT;
	struct snmp_ber c, in;
	struct snmp_tlv t;
	int64_t v;

	(void)state;
	assert_int_equal(decode(v2c_inform_0, sizeof(v2c_inform_0), &m, &pdu, &d), 0);
	assert_int_equal(snmp_encode_v2c_response(&out, &m.community, pdu.request_id, &pdu.vbl_tlv), 0);
	/* Same message with the PDU retagged: a Response echoes everything. */
	assert_int_equal(out.len, sizeof(v2c_inform_0));
	snmp_ber_init(&c, out.data, out.len, NULL);
	assert_int_equal(snmp_ber_expect(&c, SNMP_TAG_SEQUENCE, &t), 0);
	assert_int_equal(snmp_ber_enter(&c, &t, &in), 0);
	assert_int_equal(snmp_ber_expect(&in, SNMP_TAG_INTEGER, &t), 0);
	assert_int_equal(snmp_ber_int(&in, &t, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(snmp_ber_expect(&in, SNMP_TAG_OCTET_STRING, &t), 0);
	assert_int_equal(snmp_ber_expect(&in, SNMP_PDU_RESPONSE, &t), 0);
	for (size_t i = 0; i < out.len; i++)
		if (i != t.start)
			assert_int_equal(out.data[i], v2c_inform_0[i]);
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_generic),
		cmocka_unit_test(test_v1_specific),
		cmocka_unit_test(test_v2c_inform),
		cmocka_unit_test(test_v3_headers),
		cmocka_unit_test(test_all_types),
		cmocka_unit_test(test_malformed_v2c),
		cmocka_unit_test(test_malformed_v1),
		cmocka_unit_test(test_malformed_v3),
		cmocka_unit_test(test_v2c_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
