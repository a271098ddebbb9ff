/* Unit tests for agent/snmp/snmp_engine.c as the authoritative engine:
 * v3 informs answered with Responses that verify and decrypt with the
 * user's keys, engine discovery and USM failures answered with Reports
 * (RFC 3414 3.2, 4), the time window, retransmissions, and messages built
 * with ward's own encoder as a sender would build them. */
#include "test_snmp_util.h"

/* ---- v3 informs, discovery, reports ------------------------------------------- */

/* The keys of bob (SHA-256/AES-256, authpass123/privpass123) at engine eid. */
static void bob_keys(struct snmp_usm_keys *k, const uint8_t *eid, size_t len)
{
	uint8_t ku[64], pku[64];

	assert_int_equal(snmp_usm_password_to_key(SNMP_AUTH_SHA256, "authpass123", 11, ku), 0);
	assert_int_equal(snmp_usm_password_to_key(SNMP_AUTH_SHA256, "privpass123", 11, pku), 0);
	assert_int_equal(snmp_usm_keys_setup(k, SNMP_AUTH_SHA256, SNMP_PRIV_AES256, ku, pku, eid, len), 0);
}

static struct snmp_engine *bob_engine(uint32_t boots)
{
	static const struct snmp_user bob = {
		.name = "bob", .auth = SNMP_AUTH_SHA256, .auth_password = "authpass123",
		.priv = SNMP_PRIV_AES256, .priv_password = "privpass123",
	};
	struct snmp_engine_opts o = base_opts();

	o.boots = boots;
	o.users = &bob;
	o.n_users = 1;
	return engine(&o);
}

/* Walks a plaintext ScopedPDU: PDU type, request-id, first varbind. */
static void scoped_parts(const uint8_t *p, size_t n, uint8_t *type, int64_t *rid,
			 struct snmp_oid *vb_oid, uint64_t *vb_u)
{
	struct snmp_ber c, s, pdu, vbl, vb;
	struct snmp_tlv t;

	snmp_ber_init(&c, p, n, NULL);
	assert_int_equal(snmp_ber_expect(&c, SNMP_TAG_SEQUENCE, &t), 0);
	assert_int_equal(snmp_ber_enter(&c, &t, &s), 0);
	assert_int_equal(snmp_ber_expect(&s, SNMP_TAG_OCTET_STRING, &t), 0);
	assert_int_equal(snmp_ber_expect(&s, SNMP_TAG_OCTET_STRING, &t), 0);
	assert_int_equal(snmp_ber_next(&s, &t), 0);
	*type = t.tag;
	assert_int_equal(snmp_ber_enter(&s, &t, &pdu), 0);
	assert_int_equal(snmp_ber_expect(&pdu, SNMP_TAG_INTEGER, &t), 0);
	assert_int_equal(snmp_ber_int(&pdu, &t, rid), 0);
	assert_int_equal(snmp_ber_expect(&pdu, SNMP_TAG_INTEGER, &t), 0);
	assert_int_equal(snmp_ber_expect(&pdu, SNMP_TAG_INTEGER, &t), 0);
	assert_int_equal(snmp_ber_expect(&pdu, SNMP_TAG_SEQUENCE, &t), 0);
	assert_int_equal(snmp_ber_enter(&pdu, &t, &vbl), 0);
	assert_int_equal(snmp_ber_expect(&vbl, SNMP_TAG_SEQUENCE, &t), 0);
	assert_int_equal(snmp_ber_enter(&vbl, &t, &vb), 0);
	assert_int_equal(snmp_ber_expect(&vb, SNMP_TAG_OID, &t), 0);
	assert_int_equal(snmp_ber_oid(&vb, &t, vb_oid), 0);
	assert_int_equal(snmp_ber_next(&vb, &t), 0);
	if (t.tag != SNMP_TAG_TIMETICKS)
		assert_int_equal(t.tag, SNMP_TAG_COUNTER32);
	assert_int_equal(snmp_ber_uint(&vb, &t, UINT32_MAX, vb_u), 0);
}

static void test_v3_inform(void **state)
{
	struct snmp_engine *e = bob_engine(0);
	struct snmp_usm_keys k;
	struct snmp_ber_diag d = { 0 };
	struct snmp_msg req, m;
	struct snmp_pdu pdu;
	struct snmp_oid oid;
	uint8_t plain[512], type;
	int64_t rid;
	uint64_t u;

	(void)state;
	/* snmpinform used our engine ID with boots 0 and time 0; our engine
	 * starts at boots 0, time 0 */
	assert_int_equal(process(e, v3_inform_0, sizeof(v3_inform_0)), SNMP_OK);
	assert_true(rx.inform);
	assert_string_equal(str(rec, "pdu"), "inform");
	assert_string_equal(str(rec, "engine_id"), "8000ed5703776172640001");
	/* The Response: same msgID, authPriv as bob, our engine ID; its
	 * digest verifies and it decrypts to a Response echoing request-id. */
	assert_int_equal(snmp_msg_decode(v3_inform_0, sizeof(v3_inform_0), &req, &pdu, &d), 0);
	assert_int_equal(snmp_msg_decode(rx.response.data, rx.response.len, &m, &pdu, &d), 0);
	assert_int_equal(m.msg_id, req.msg_id);
	assert_int_equal(m.msg_flags, SNMP_FLAG_AUTH | SNMP_FLAG_PRIV);
	assert_memory_equal(m.engine_id.p, OURS, sizeof(OURS));
	assert_int_equal(m.engine_boots, 0);
	assert_int_equal(m.user.n, 3);
	bob_keys(&k, OURS, sizeof(OURS));
	assert_int_equal(snmp_usm_auth_check(&k, rx.response.data, rx.response.len, m.auth_params_off,
					     m.auth_params.n), 0);
	assert_int_equal(m.priv_params.n, 8);
	assert_int_equal(snmp_usm_decrypt(&k, (uint32_t)m.engine_boots, (uint32_t)m.engine_time,
					  m.priv_params.p, m.encrypted.p, m.encrypted.n, plain), 0);
	scoped_parts(plain, m.encrypted.n, &type, &rid, &oid, &u);
	assert_int_equal(type, SNMP_PDU_RESPONSE);
	assert_true(rid == num(rec, "request_id"));
	assert_true(snmp_oid_equal(&oid, snmp_oid_sysuptime0, 9));
	assert_int_equal(u, 12345);

	/* A retransmission of the same datagram before the caller said where
	 * the record went: recorded once, and not answered, since nothing
	 * says the first copy's record is durable (or will be). */
	assert_int_equal(process(e, v3_inform_0, sizeof(v3_inform_0)), SNMP_REJ_REPLAY);
	assert_int_equal(rx.response.len, 0);
	assert_int_equal(rx.replay_seq, 0);
	snmp_usm_keys_release(&k);
	snmp_engine_destroy(e);
}

/* Retransmitted informs (net-snmp resends the same bytes): the answer to
 * a copy waits for the first copy's record, and a record the spool
 * refused is forgotten so that the copy is taken as new. */
static void test_v3_inform_retransmitted(void **state)
{
	struct snmp_engine *e = bob_engine(0);
	struct snmp_ber_diag d = { 0 };
	struct snmp_msg req, m;
	struct snmp_pdu pdu;
	struct snmp_counters c;

	(void)state;
	assert_int_equal(process(e, v3_inform_0, sizeof(v3_inform_0)), SNMP_OK);
	assert_true(rx.inform);
	snmp_engine_record_stored(e, &rx, 7);
	/* the copy: not recorded, answered once record 7 is durable */
	assert_int_equal(process(e, v3_inform_0, sizeof(v3_inform_0)), SNMP_REJ_REPLAY);
	assert_true(rx.inform);
	assert_int_equal(rx.replay_seq, 7);
	assert_int_equal(rx.record.len, 0);
	assert_int_equal(snmp_msg_decode(v3_inform_0, sizeof(v3_inform_0), &req, &pdu, &d), 0);
	assert_int_equal(snmp_msg_decode(rx.response.data, rx.response.len, &m, &pdu, &d), 0);
	assert_int_equal(m.msg_id, req.msg_id);
	assert_non_null(strstr(rx.detail, "record 7"));
	/* and again: still the same record (record_stored is only for records) */
	snmp_engine_record_stored(e, &rx, 8);
	assert_int_equal(process(e, v3_inform_0, sizeof(v3_inform_0)), SNMP_REJ_REPLAY);
	assert_int_equal(rx.replay_seq, 7);
	snmp_engine_counters(e, &c);
	assert_int_equal(c.informs, 1);
	check_counter(e, SNMP_REJ_REPLAY, 2);
	snmp_engine_destroy(e);

	/* The spool refused the record: the copy is a new inform, recorded
	 * and answered like the first. */
	e = bob_engine(0);
	assert_int_equal(process(e, v3_inform_0, sizeof(v3_inform_0)), SNMP_OK);
	snmp_engine_record_stored(e, &rx, 0);
	assert_int_equal(process(e, v3_inform_0, sizeof(v3_inform_0)), SNMP_OK);
	assert_true(rx.inform);
	assert_true(rx.response.len > 0);
	assert_int_equal(rx.replay_seq, 0);
	snmp_engine_record_stored(e, &rx, 3);
	assert_int_equal(process(e, v3_inform_0, sizeof(v3_inform_0)), SNMP_REJ_REPLAY);
	assert_int_equal(rx.replay_seq, 3);
	snmp_engine_destroy(e);
}

static void test_v3_inform_not_in_time(void **state)
{
	struct snmp_engine *e = bob_engine(3);
	struct snmp_usm_keys k;
	struct snmp_ber_diag d = { 0 };
	struct snmp_msg m;
	struct snmp_pdu pdu;
	struct snmp_oid oid;
	uint8_t type;
	int64_t rid;
	uint64_t u;

	(void)state;
	/* our boots are 3, the inform says 0: RFC 3414 3.2 step 7a */
	assert_int_equal(process(e, v3_inform_0, sizeof(v3_inform_0)), SNMP_REJ_NOT_IN_TIME_WINDOW);
	check_counter(e, SNMP_REJ_NOT_IN_TIME_WINDOW, 1);
	/* an authenticated (authNoPriv) Report with usmStatsNotInTimeWindows,
	 * our boots and time, so the sender can resynchronise */
	assert_int_equal(snmp_msg_decode(rx.response.data, rx.response.len, &m, &pdu, &d), 0);
	assert_int_equal(m.msg_flags, SNMP_FLAG_AUTH);
	assert_int_equal(m.engine_boots, 3);
	bob_keys(&k, OURS, sizeof(OURS));
	assert_int_equal(snmp_usm_auth_check(&k, rx.response.data, rx.response.len, m.auth_params_off,
					     m.auth_params.n), 0);
	scoped_parts(m.scoped.p, m.scoped.n, &type, &rid, &oid, &u);
	assert_int_equal(type, SNMP_PDU_REPORT);
	assert_true(snmp_oid_equal(&oid, (const uint32_t[]){ 1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0 }, 11));
	assert_int_equal(u, 1);
	snmp_usm_keys_release(&k);
	snmp_engine_destroy(e);

	/* our time runs: 151 s after start, time 0 is out of the window */
	e = bob_engine(0);
	clock_ms += 151000;
	assert_int_equal(process(e, v3_inform_0, sizeof(v3_inform_0)), SNMP_REJ_NOT_IN_TIME_WINDOW);
	snmp_engine_destroy(e);
}

static void test_discovery(void **state)
{
	struct snmp_engine *e = bob_engine(9);
	struct v3b b = { .user = "", .eid = NULL, .eid_len = 0, .pdu = SNMP_PDU_GET,
			 .flags = SNMP_FLAG_REPORTABLE };
	struct snmp_ber_diag d = { 0 };
	struct snmp_msg m;
	struct snmp_pdu pdu;
	struct snmp_oid oid;
	uint8_t buf[512], type;
	int64_t rid;
	uint64_t u;
	size_t n = build_v3(&b, buf);

	(void)state;
	clock_ms += 42000;
	assert_int_equal(process(e, buf, n), SNMP_REJ_DISCOVERY);
	check_counter(e, SNMP_REJ_DISCOVERY, 1);
	assert_int_equal(snmp_msg_decode(rx.response.data, rx.response.len, &m, &pdu, &d), 0);
	assert_int_equal(m.msg_id, 4242);
	assert_int_equal(m.msg_flags, 0);
	assert_memory_equal(m.engine_id.p, OURS, sizeof(OURS));
	assert_int_equal(m.engine_boots, 9);
	assert_int_equal(m.engine_time, 42);
	scoped_parts(m.scoped.p, m.scoped.n, &type, &rid, &oid, &u);
	assert_int_equal(type, SNMP_PDU_REPORT);
	assert_int_equal(rid, 99);
	/* usmStatsUnknownEngineIDs.0 (1.3.6.1.6.3.15.1.1.4.0) */
	assert_true(snmp_oid_equal(&oid, (const uint32_t[]){ 1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0 }, 11));
	assert_int_equal(u, 1);
	/* without the reportable flag: counted, not answered */
	b.flags = 0;
	n = build_v3(&b, buf);
	assert_int_equal(process(e, buf, n), SNMP_REJ_UNKNOWN_ENGINE);
	assert_int_equal(rx.response.len, 0);
	snmp_engine_destroy(e);
}

static void test_v3_built_rejects(void **state)
{
	static const uint8_t theirs[] = { 0x80, 0, 0x1f, 0x88, 4, 4, 4, 4 };
	struct snmp_engine *e = bob_engine(1);
	struct v3b b = { .a = SNMP_AUTH_SHA256, .p = SNMP_PRIV_AES256, .user = "bob",
			 .apw = "authpass123", .ppw = "privpass123", .eid = theirs,
			 .eid_len = sizeof(theirs), .salt_len = 8, .pdu = SNMP_PDU_TRAP_V2,
			 .flags = SNMP_FLAG_AUTH | SNMP_FLAG_PRIV, .boots = 1, .time = 10 };
	uint8_t buf[512];
	size_t n;

	(void)state;
	/* our own encoder's trap, from an engine of its own: accepted */
	n = build_v3(&b, buf);
	assert_int_equal(process(e, buf, n), SNMP_OK);
	assert_string_equal(str(rec, "engine_id"), "80001f8804040404");
	/* msgPrivacyParameters of 7 octets */
	b.salt_len = 7;
	b.time = 11;
	n = build_v3(&b, buf);
	assert_int_equal(process(e, buf, n), SNMP_REJ_DECRYPTION);
	/* an inform sent with the sender's engine ID, not ours */
	b.salt_len = 8;
	b.time = 12;
	b.pdu = SNMP_PDU_INFORM;
	b.flags |= SNMP_FLAG_REPORTABLE;
	n = build_v3(&b, buf);
	assert_int_equal(process(e, buf, n), SNMP_REJ_UNKNOWN_ENGINE);
	assert_true(rx.response.len > 0);       /* reported */
	/* an engine ID of 4 octets */
	b.eid_len = 4;
	n = build_v3(&b, buf);
	assert_int_equal(process(e, buf, n), SNMP_REJ_UNKNOWN_ENGINE);
	/* the same inform to our engine ID and time: accepted, answered */
	b.eid = OURS;
	b.eid_len = sizeof(OURS);
	b.boots = 1;
	b.time = 0;
	n = build_v3(&b, buf);
	assert_int_equal(process(e, buf, n), SNMP_OK);
	assert_true(rx.inform);
	/* a Get to us: authenticated, then not a notification */
	b.pdu = SNMP_PDU_GET;
	b.time = 1;
	n = build_v3(&b, buf);
	assert_int_equal(process(e, buf, n), SNMP_REJ_PDU_TYPE);
	/* an unknown user asking for a report */
	b.user = "mallory";
	n = build_v3(&b, buf);
	assert_int_equal(process(e, buf, n), SNMP_REJ_UNKNOWN_USER);
	assert_true(rx.response.len > 0);
	check_counter(e, SNMP_REJ_UNKNOWN_ENGINE, 2);
	check_counter(e, SNMP_REJ_DECRYPTION, 1);
	snmp_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v3_inform),
		cmocka_unit_test(test_v3_inform_retransmitted),
		cmocka_unit_test(test_v3_inform_not_in_time),
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_v3_built_rejects),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
