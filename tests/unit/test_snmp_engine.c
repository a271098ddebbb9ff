/* Unit tests for agent/snmp/snmp_engine.c, end to end: real net-snmp
 * datagrams (test_snmp_samples.h) of v1, v2c and v3 at every auth/priv
 * combination become records that match docs/schema/snmp_trap.schema.json,
 * and every failure is rejected with the right enum and counter while the
 * engine keeps serving. Informs, discovery and Reports are in
 * test_snmp_inform.c. */
#include "test_snmp_util.h"


/* ---- v1 and v2c ------------------------------------------------------------- */

static void test_v1(void **state)
{
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e = engine(&o);

	(void)state;
	assert_int_equal(process(e, v1_generic_0, sizeof(v1_generic_0)), SNMP_OK);
	assert_string_equal(str(rec, "type"), "snmp_trap");
	assert_string_equal(str(rec, "ts"), "2026-11-21T13:39:03.123456Z");
	assert_string_equal(str(rec, "peer"), "192.0.2.7:40162");
	assert_string_equal(str(rec, "agent_addr"), "192.0.2.7");
	assert_string_equal(str(rec, "version"), "1");
	assert_string_equal(str(rec, "pdu"), "trapv1");
	assert_string_equal(str(rec, "community_match"), "#1");
	assert_null(json_object_get(rec, "community"));
	assert_string_equal(str(rec, "enterprise"), "1.3.6.1.4.1.8072.3.2.10");
	assert_string_equal(str(rec, "agent_addr_v1"), "192.0.2.1");
	assert_int_equal(num(rec, "generic_trap"), 2);
	/* RFC 3584 3.1: generic-trap 2 is snmpTraps.3, linkDown */
	assert_string_equal(str(rec, "trap_oid"), "1.3.6.1.6.3.1.1.5.3");
	assert_string_equal(str(rec, "trap_name"), "linkDown");
	assert_int_equal(num(rec, "uptime"), 4242);
	assert_int_equal(num(rec, "uptime_s"), 42);
	assert_string_equal(str(varbind(0), "name"), "ifIndex.3");

	assert_int_equal(process(e, v1_specific_0, sizeof(v1_specific_0)), SNMP_OK);
	assert_string_equal(str(rec, "community_match"), "#2");
	/* enterpriseSpecific: enterprise.0.specific-trap */
	assert_string_equal(str(rec, "trap_oid"), "1.3.6.1.4.1.2011.2.23.0.17");
	assert_string_equal(str(rec, "trap_name"), "huawei.2.23.0.17");
	assert_string_equal(str(varbind(0), "value"), "board 1 removed");
	snmp_engine_destroy(e);

	/* record_community: the community is written */
	o.record_community = true;
	e = engine(&o);
	assert_int_equal(process(e, v1_specific_0, sizeof(v1_specific_0)), SNMP_OK);
	assert_string_equal(str(rec, "community"), "s3cret");
	snmp_engine_destroy(e);
}

static void test_v2c_types(void **state)
{
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e = engine(&o);
	json_t *v;

	(void)state;
	assert_int_equal(process(e, v2c_types_0, sizeof(v2c_types_0)), SNMP_OK);
	assert_string_equal(str(rec, "version"), "2c");
	assert_string_equal(str(rec, "pdu"), "trap");
	assert_string_equal(str(rec, "trap_oid"), "1.3.6.1.6.3.1.1.5.3");
	assert_string_equal(str(rec, "trap_name"), "linkDown");
	assert_int_equal(num(rec, "uptime"), 12345);
	assert_true(json_is_integer(json_object_get(rec, "request_id")));
	assert_int_equal(json_array_size(json_object_get(rec, "varbinds")), 17);
	assert_string_equal(str(varbind(0), "name"), "sysUpTime.0");
	assert_string_equal(str(varbind(0), "type"), "timeticks");
	assert_string_equal(str(varbind(1), "value_name"), "linkDown");
	v = varbind(2);
	assert_string_equal(str(v, "type"), "integer");
	assert_int_equal(num(v, "value"), -7);
	v = varbind(3);
	assert_string_equal(str(v, "value"), "GigabitEthernet0/3");
	assert_null(json_object_get(v, "encoding"));
	v = varbind(4);         /* a MAC address: binary, hex */
	assert_string_equal(str(v, "name"), "ifPhysAddress.3");
	assert_string_equal(str(v, "value"), "001a2b3c4d5e");
	assert_string_equal(str(v, "encoding"), "hex");
	v = varbind(5);         /* GBK bytes, decoded, raw bytes kept */
	assert_string_equal(str(v, "value"), "\xe4\xb8\xad\xe6\x96\x87");
	assert_string_equal(str(v, "encoding"), "gb18030");
	assert_string_equal(str(v, "hex"), "d6d0cec4");
	v = varbind(6);         /* UTF-8 */
	assert_string_equal(str(v, "value"), "\xe4\xb8\xad\xe6\x96\x87");
	assert_null(json_object_get(v, "encoding"));
	assert_null(json_object_get(v, "hex"));
	v = varbind(7);
	assert_string_equal(str(v, "type"), "gauge32");
	assert_true(num(v, "value") == 4294967295LL);
	assert_string_equal(str(varbind(8), "type"), "counter32");
	assert_int_equal(num(varbind(8), "value"), 42);
	assert_string_equal(str(varbind(9), "type"), "timeticks");
	assert_int_equal(num(varbind(9), "value"), 360000);
	assert_string_equal(str(varbind(10), "type"), "ipaddress");
	assert_string_equal(str(varbind(10), "value"), "10.1.2.3");
	assert_string_equal(str(varbind(11), "type"), "oid");
	assert_string_equal(str(varbind(11), "value"), "1.3.6.1.6.3.1.1.5.1");
	assert_string_equal(str(varbind(11), "value_name"), "coldStart");
	/* Counter64: above 2^53 a string, up to 2^53 a number */
	assert_string_equal(str(varbind(12), "type"), "counter64");
	assert_string_equal(str(varbind(12), "value"), "18446744073709551615");
	assert_true(num(varbind(13), "value") == 9007199254740992LL);
	assert_string_equal(str(varbind(14), "type"), "opaque");
	assert_string_equal(str(varbind(14), "encoding"), "hex");
	assert_string_equal(str(varbind(15), "type"), "null");
	assert_true(json_is_null(json_object_get(varbind(15), "value")));
	assert_string_equal(str(varbind(16), "value"), "");
	snmp_engine_destroy(e);
}

/* The three exception types (RFC 3416 3) from a hand-built trap. */
static void test_exceptions(void **state)
{
	static const uint8_t msg[] = {
		0x30, 0x59, 0x02, 0x01, 0x01, 0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c',
		0xa7, 0x4c, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x41,
		0x30, 0x0d, 0x06, 0x08, 0x2b, 6, 1, 2, 1, 1, 3, 0, 0x43, 0x01, 0x05,
		0x30, 0x0a, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x80, 0x00,
		0x30, 0x0a, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x81, 0x00,
		0x30, 0x0a, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x82, 0x00,
		0x30, 0x0c, 0x06, 0x06, 0x2b, 6, 1, 4, 1, 9, 0x44, 0x02, 0x01, 0xff,
	};
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e = engine(&o);

	(void)state;
	assert_int_equal(process(e, msg, sizeof(msg)), SNMP_OK);
	/* no snmpTrapOID.0 second: recorded, without trap_oid */
	assert_null(json_object_get(rec, "trap_oid"));
	assert_int_equal(num(rec, "uptime"), 5);
	assert_string_equal(str(varbind(1), "type"), "noSuchObject");
	assert_string_equal(str(varbind(2), "type"), "noSuchInstance");
	assert_string_equal(str(varbind(3), "type"), "endOfMibView");
	assert_true(json_is_null(json_object_get(varbind(3), "value")));
	assert_string_equal(str(varbind(4), "value"), "01ff");
	snmp_engine_destroy(e);
}

static void test_communities(void **state)
{
	static const char *const only[] = { "other" };
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e;

	(void)state;
	o.communities = only;
	o.n_communities = 1;
	e = engine(&o);
	assert_int_equal(process(e, v2c_types_0, sizeof(v2c_types_0)), SNMP_REJ_COMMUNITY);
	assert_int_equal(process(e, v1_generic_0, sizeof(v1_generic_0)), SNMP_REJ_COMMUNITY);
	check_counter(e, SNMP_REJ_COMMUNITY, 2);
	/* the detail does not repeat the (credential) community */
	assert_null(strstr(rx.detail, "public"));
	snmp_engine_destroy(e);

	o.accept_any_community = true;
	e = engine(&o);
	assert_int_equal(process(e, v2c_types_0, sizeof(v2c_types_0)), SNMP_OK);
	assert_string_equal(str(rec, "community_match"), "any");
	snmp_engine_destroy(e);
}

/* Decodes a v2c Response: its request-id and varbinds. */
static void check_v2c_response(const struct buf *resp, int64_t request_id, const struct snmp_bytes *vbl)
{
	struct snmp_ber c, in, pdu;
	struct snmp_tlv t;
	int64_t v;

	snmp_ber_init(&c, resp->data, resp->len, NULL);
	assert_int_equal(snmp_ber_expect(&c, SNMP_TAG_SEQUENCE, &t), 0);
	assert_int_equal(snmp_ber_enter(&c, &t, &in), 0);
	assert_int_equal(snmp_ber_expect(&in, SNMP_TAG_INTEGER, &t), 0);
	assert_int_equal(snmp_ber_expect(&in, SNMP_TAG_OCTET_STRING, &t), 0);
	assert_int_equal(snmp_ber_expect(&in, SNMP_PDU_RESPONSE, &t), 0);
	assert_int_equal(snmp_ber_enter(&in, &t, &pdu), 0);
	assert_int_equal(snmp_ber_expect(&pdu, SNMP_TAG_INTEGER, &t), 0);
	assert_int_equal(snmp_ber_int(&pdu, &t, &v), 0);
	assert_true(v == request_id);
	assert_int_equal(snmp_ber_expect(&pdu, SNMP_TAG_INTEGER, &t), 0);
	assert_int_equal(snmp_ber_expect(&pdu, SNMP_TAG_INTEGER, &t), 0);
	assert_int_equal(snmp_ber_expect(&pdu, SNMP_TAG_SEQUENCE, &t), 0);
	assert_int_equal(t.off + t.len - t.start, vbl->n);
	assert_memory_equal(resp->data + t.start, vbl->p, vbl->n);
}

static void test_v2c_inform(void **state)
{
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e = engine(&o);
	struct snmp_ber_diag d = { 0 };
	struct snmp_msg m;
	struct snmp_pdu pdu;
	struct snmp_counters c;

	(void)state;
	assert_int_equal(process(e, v2c_inform_0, sizeof(v2c_inform_0)), SNMP_OK);
	assert_true(rx.inform);
	assert_string_equal(str(rec, "pdu"), "inform");
	assert_int_equal(snmp_msg_decode(v2c_inform_0, sizeof(v2c_inform_0), &m, &pdu, &d), 0);
	check_v2c_response(&rx.response, pdu.request_id, &pdu.vbl_tlv);
	snmp_engine_counters(e, &c);
	assert_int_equal(c.informs, 1);
	assert_int_equal(c.traps, 0);
	assert_int_equal(c.packets, 1);
	snmp_engine_destroy(e);
}

/* ---- v3 traps --------------------------------------------------------------- */

static void test_v3_every_combination(void **state)
{
	static struct users us;
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e;
	char want[32];

	(void)state;
	us.n = 0;
	for (int a = 0; a < 6; a++)
		for (int p = 0; p < 5; p++)
			add_user(&us, a, p, NULL, NULL);
	o.users = us.u;
	o.n_users = us.n;
	e = engine(&o);
	for (int a = 0; a < 6; a++) {
		for (int p = 0; p < 5; p++) {
			snprintf(want, sizeof(want), "u_%s_%s", AUTHS[a], PRIVS[p]);
			if (process(e, V3[a][p].p, V3[a][p].n) != SNMP_OK)
				fail_msg("%s: %s: %s", want, snmp_reject_name(rx.reject), rx.detail);
			assert_string_equal(str(rec, "version"), "3");
			assert_string_equal(str(rec, "user"), want);
			assert_string_equal(str(rec, "security_level"), p == 0 ? "authNoPriv" : "authPriv");
			assert_string_equal(str(rec, "engine_id"), "80001f8880aabbccdd01");
			assert_string_equal(str(rec, "trap_name"), "linkDown");
			assert_int_equal(num(rec, "uptime"), 777);
			/* the varbind holds the user name: it decrypted right */
			assert_string_equal(str(varbind(2), "value"), want);
			assert_string_equal(str(varbind(2), "name"), "ifDescr.1");
		}
	}
	snmp_engine_destroy(e);
}

static void test_v3_noauth(void **state)
{
	static struct snmp_user anon = { .name = "anon" };
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e = engine(&o);

	(void)state;
	assert_int_equal(process(e, v3_noauth_0, sizeof(v3_noauth_0)), SNMP_REJ_UNKNOWN_USER);
	assert_string_equal(rx.detail, "unknown user 'anon'");
	check_counter(e, SNMP_REJ_UNKNOWN_USER, 1);
	snmp_engine_destroy(e);
	/* accepted as any user at noAuthNoPriv, or as a configured one */
	o.accept_any_user = true;
	e = engine(&o);
	assert_int_equal(process(e, v3_noauth_0, sizeof(v3_noauth_0)), SNMP_OK);
	assert_string_equal(str(rec, "security_level"), "noAuthNoPriv");
	assert_string_equal(str(rec, "user"), "anon");
	snmp_engine_destroy(e);
	o.accept_any_user = false;
	o.users = &anon;
	o.n_users = 1;
	e = engine(&o);
	assert_int_equal(process(e, v3_noauth_0, sizeof(v3_noauth_0)), SNMP_OK);
	snmp_engine_destroy(e);
	/* but accept_any_user never admits authenticated messages */
	o.users = NULL;
	o.n_users = 0;
	o.accept_any_user = true;
	e = engine(&o);
	assert_int_equal(process(e, V3[1][2].p, V3[1][2].n), SNMP_REJ_UNKNOWN_USER);
	snmp_engine_destroy(e);
}

/* One engine with a single user u_<AUTHS[a]>_<PRIVS[p]>; NULL passwords
 * are the ones the samples used. */
static struct snmp_engine *one_user(int a, int p, const char *apw, const char *ppw)
{
	static struct users us;
	struct snmp_engine_opts o = base_opts();

	us.n = 0;
	add_user(&us, a, p, apw, ppw);
	o.users = us.u;
	o.n_users = 1;
	return engine(&o);
}

static void test_wrong_digest(void **state)
{
	struct snmp_engine *e = one_user(1, 2, "not-the-password", NULL);
	uint8_t buf[512];

	(void)state;
	assert_int_equal(process(e, V3[1][2].p, V3[1][2].n), SNMP_REJ_WRONG_DIGEST);
	check_counter(e, SNMP_REJ_WRONG_DIGEST, 1);
	/* traps are not reportable: no Report */
	assert_int_equal(rx.response.len, 0);
	snmp_engine_destroy(e);
	/* right keys, one bit of the encrypted PDU changed */
	e = one_user(1, 2, NULL, NULL);
	memcpy(buf, V3[1][2].p, V3[1][2].n);
	buf[V3[1][2].n - 3] ^= 0x01;
	assert_int_equal(process(e, buf, V3[1][2].n), SNMP_REJ_WRONG_DIGEST);
	/* and the engine keeps serving */
	assert_int_equal(process(e, V3[1][2].p, V3[1][2].n), SNMP_OK);
	snmp_engine_destroy(e);
}

static void test_decryption_error(void **state)
{
	(void)state;
	for (int p = 1; p < 5; p++) {
		struct snmp_engine *e = one_user(3, p, NULL, "wrong-priv-pass");

		if (process(e, V3[3][p].p, V3[3][p].n) != SNMP_REJ_DECRYPTION)
			fail_msg("%s: %s", PRIVS[p], snmp_reject_name(rx.reject));
		check_counter(e, SNMP_REJ_DECRYPTION, 1);
		snmp_engine_destroy(e);
	}
}

static void test_unsupported_level(void **state)
{
	struct snmp_user *u;
	static struct users us;
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e;

	(void)state;
	/* u_SHA_none configured authPriv, message authNoPriv: a downgrade */
	us.n = 0;
	u = add_user(&us, 1, 0, NULL, "priv-none-pass");
	u->priv = SNMP_PRIV_AES128;
	/* u_SHA_AES configured authNoPriv, message authPriv */
	u = add_user(&us, 1, 2, NULL, NULL);
	u->priv = SNMP_PRIV_NONE;
	o.users = us.u;
	o.n_users = us.n;
	e = engine(&o);
	assert_int_equal(process(e, V3[1][0].p, V3[1][0].n), SNMP_REJ_UNSUPPORTED_SECLEVEL);
	assert_string_equal(rx.detail, "user 'u_SHA_none' is authPriv, message is authNoPriv");
	assert_int_equal(process(e, V3[1][2].p, V3[1][2].n), SNMP_REJ_UNSUPPORTED_SECLEVEL);
	check_counter(e, SNMP_REJ_UNSUPPORTED_SECLEVEL, 2);
	snmp_engine_destroy(e);
}

static void test_engine_binding(void **state)
{
	static const uint8_t other[] = { 0x80, 0, 0, 0, 1, 2, 3, 4 };
	static struct users us;
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e;
	struct snmp_user *u;

	(void)state;
	/* bound to another engine ID: the sample's is unknown for this user */
	us.n = 0;
	u = add_user(&us, 0, 1, NULL, NULL);
	u->engine_id = other;
	u->engine_id_len = sizeof(other);
	o.users = us.u;
	o.n_users = 1;
	e = engine(&o);
	assert_int_equal(process(e, V3[0][1].p, V3[0][1].n), SNMP_REJ_UNKNOWN_ENGINE);
	assert_non_null(strstr(rx.detail, "80001f8880aabbccdd01"));
	check_counter(e, SNMP_REJ_UNKNOWN_ENGINE, 1);
	snmp_engine_destroy(e);
	/* bound to the right one; and a second entry of the same name bound
	 * elsewhere with other passwords does not interfere */
	u->engine_id = SENDER;
	u->engine_id_len = sizeof(SENDER);
	u = add_user(&us, 0, 1, "another-password", "another-password");
	u->engine_id = other;
	u->engine_id_len = sizeof(other);
	o.n_users = 2;
	e = engine(&o);
	assert_int_equal(process(e, V3[0][1].p, V3[0][1].n), SNMP_OK);
	snmp_engine_destroy(e);
}

/* A trap whose record the spool refused is forgotten by the replay
 * check (snmp_engine_record_stored with seq 0): the same datagram again is
 * a new trap; once stored, it is a replay. */
static void test_replay_after_refusal(void **state)
{
	static struct users us;
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e;

	(void)state;
	us.n = 0;
	add_user(&us, 1, 2, NULL, NULL);        /* u_SHA_AES */
	o.users = us.u;
	o.n_users = us.n;
	e = engine(&o);
	assert_int_equal(process(e, V3[1][2].p, V3[1][2].n), SNMP_OK);
	snmp_engine_record_stored(e, &rx, 0);
	assert_int_equal(process(e, V3[1][2].p, V3[1][2].n), SNMP_OK);
	snmp_engine_record_stored(e, &rx, 1);
	assert_int_equal(process(e, V3[1][2].p, V3[1][2].n), SNMP_REJ_REPLAY);
	assert_false(rx.inform);
	assert_int_equal(rx.response.len, 0);
	snmp_engine_destroy(e);
}

/* Fills the stack below the caller with non-zero bytes, so that a field
 * the engine forgot to set would not happen to be zero. */
static __attribute__((noinline)) void dirty_stack(void)
{
	volatile uint8_t junk[32768];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = 0xa5;
}

/* Every field of a message's working state starts at zero: a v1/v2c
 * record reads the security level (noAuthNoPriv, 0) and a BER reject's
 * detail the diagnostic offset. Under valgrind (a build without ASan) the
 * old partial memset shows as a use of uninitialised memory here. */
static void test_fresh_state_per_message(void **state)
{
	static const uint8_t bad[] = { 0x30, 0x03, 0x02, 0x01 };
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e = engine(&o);
	unsigned long off = 0;
	const char *at;

	(void)state;
	dirty_stack();
	assert_int_equal(process(e, v2c_types_0, sizeof(v2c_types_0)), SNMP_OK);
	assert_null(json_object_get(rec, "security_level"));
	dirty_stack();
	assert_int_equal(process(e, v1_generic_0, sizeof(v1_generic_0)), SNMP_OK);
	assert_null(json_object_get(rec, "security_level"));
	dirty_stack();
	assert_int_equal(process(e, bad, sizeof(bad)), SNMP_REJ_BER);
	at = strstr(rx.detail, "at offset ");
	assert_non_null(at);
	off = strtoul(at + 10, NULL, 10);
	assert_true(off <= sizeof(bad));
	snmp_engine_destroy(e);
}

static void test_time_window_and_replay(void **state)
{
	static struct users us;
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e;

	(void)state;
	us.n = 0;
	for (int a = 0; a < 6; a++)
		for (int p = 0; p < 5; p++)
			add_user(&us, a, p, NULL, NULL);
	o.users = us.u;
	o.n_users = us.n;
	e = engine(&o);
	/* engine time 309256 */
	assert_int_equal(process(e, V3[0][0].p, V3[0][0].n), SNMP_OK);
	/* the very same datagram again: a replay inside the window */
	assert_int_equal(process(e, V3[0][0].p, V3[0][0].n), SNMP_REJ_REPLAY);
	assert_string_equal(rx.detail, "replayed message (same digest)");
	check_counter(e, SNMP_REJ_REPLAY, 1);
	/* 200 s later on our clock the notion of the sender's time is
	 * 309456: a message stamped 309289 is more than 150 s behind */
	clock_ms += 200000;
	assert_int_equal(process(e, V3[0][1].p, V3[0][1].n), SNMP_REJ_NOT_IN_TIME_WINDOW);
	assert_non_null(strstr(rx.detail, "150 s"));
	/* a newer one (310189) is timely and moves the notion forward... */
	assert_int_equal(process(e, V3[5][4].p, V3[5][4].n), SNMP_OK);
	/* ...after which 309417 is stale even without time passing */
	assert_int_equal(process(e, V3[1][0].p, V3[1][0].n), SNMP_REJ_NOT_IN_TIME_WINDOW);
	/* the first one, replayed after the window: the time check rejects it */
	assert_int_equal(process(e, V3[0][0].p, V3[0][0].n), SNMP_REJ_NOT_IN_TIME_WINDOW);
	check_counter(e, SNMP_REJ_NOT_IN_TIME_WINDOW, 3);
	snmp_engine_destroy(e);
}

/* Header-level rejects on real datagrams. */
static void test_header_rejects(void **state)
{
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e = engine(&o);
	uint8_t buf[512];
	size_t n = V3[1][2].n, fa = 0, hdr;

	(void)state;
	memcpy(buf, V3[1][2].p, n);
	for (size_t i = 0; i + 2 < 30; i++)
		if (buf[i] == 0x04 && buf[i + 1] == 0x01 && buf[i + 2] == 0x03)
			fa = i + 2;
	assert_true(fa > 0);
	buf[fa] = SNMP_FLAG_PRIV;
	assert_int_equal(process(e, buf, n), SNMP_REJ_INVALID);
	buf[fa] = 0x03;
	buf[fa + 3] = 2;        /* msgSecurityModel */
	assert_int_equal(process(e, buf, n), SNMP_REJ_SECURITY_MODEL);
	assert_int_equal(process(e, V3[1][2].p, n - 1), SNMP_REJ_BER);
	assert_non_null(strstr(rx.detail, "malformed BER"));
	memcpy(buf, v2c_types_0, sizeof(v2c_types_0));
	hdr = buf[1] & 0x80 ? 2 + (buf[1] & 0x7f) : 2;
	buf[hdr + 2] = 5;
	assert_int_equal(process(e, buf, sizeof(v2c_types_0)), SNMP_REJ_VERSION);
	buf[hdr + 2] = 1;
	buf[hdr + 3 + 8] = SNMP_PDU_GET;
	assert_int_equal(process(e, buf, sizeof(v2c_types_0)), SNMP_REJ_PDU_TYPE);
	memcpy(buf, v2c_types_0, sizeof(v2c_types_0));
	buf[sizeof(v2c_types_0)] = 0;
	assert_int_equal(process(e, buf, sizeof(v2c_types_0) + 1), SNMP_REJ_BER);
	assert_non_null(strstr(rx.detail, "trailing bytes"));
	/* after all that, still serving */
	assert_int_equal(process(e, v2c_types_0, sizeof(v2c_types_0)), SNMP_OK);
	check_counter(e, SNMP_REJ_BER, 2);
	snmp_engine_destroy(e);
}

/* ---- configuration and names ---------------------------------------------------- */

static void test_create_errors(void **state)
{
	static const uint8_t short_id[] = { 1, 2, 3, 4 };
	struct snmp_user u = { .name = "x", .auth = SNMP_AUTH_SHA1, .auth_password = "short" };
	struct snmp_user two[2] = {
		{ .name = "dup", .auth = SNMP_AUTH_MD5, .auth_password = "password1" },
		{ .name = "dup", .auth = SNMP_AUTH_SHA1, .auth_password = "password2" },
	};
	struct snmp_engine_opts o = base_opts();
	struct snmp_engine *e;
	char err[200];

	(void)state;
	o.engine_id = short_id;
	o.engine_id_len = sizeof(short_id);
	assert_int_equal(snmp_engine_create(&e, &o, err, sizeof(err)), -EINVAL);
	assert_null(e);
	assert_string_equal(err, "engine ID must be 5..32 bytes");
	o = base_opts();
	o.users = &u;
	o.n_users = 1;
	assert_int_equal(snmp_engine_create(&e, &o, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "user 'x': passwords must be 8..256 characters");
	u.auth = SNMP_AUTH_NONE;
	u.priv = SNMP_PRIV_DES;
	u.priv_password = "password";
	assert_int_equal(snmp_engine_create(&e, &o, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "user 'x': privacy needs authentication (authPriv)");
	o.users = two;
	o.n_users = 2;
	assert_int_equal(snmp_engine_create(&e, &o, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "user 'dup' is defined twice for one engine ID");
	o = base_opts();
	o.oid_names_file = "/nonexistent/names";
	assert_int_equal(snmp_engine_create(&e, &o, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/names: No such file or directory");
	snmp_engine_destroy(NULL);
}

static void test_parsers_and_names(void **state)
{
	static const struct { const char *s; enum snmp_auth a; } auths[] = {
		{ "none", SNMP_AUTH_NONE }, { "MD5", SNMP_AUTH_MD5 }, { "sha", SNMP_AUTH_SHA1 },
		{ "SHA1", SNMP_AUTH_SHA1 }, { "sha-224", SNMP_AUTH_SHA224 }, { "sha256", SNMP_AUTH_SHA256 },
		{ "SHA-384", SNMP_AUTH_SHA384 }, { "sha512", SNMP_AUTH_SHA512 },
	};
	static const struct { const char *s; enum snmp_priv p; } privs[] = {
		{ "none", SNMP_PRIV_NONE }, { "DES", SNMP_PRIV_DES }, { "aes", SNMP_PRIV_AES128 },
		{ "AES128", SNMP_PRIV_AES128 }, { "aes-192", SNMP_PRIV_AES192 }, { "AES256", SNMP_PRIV_AES256 },
	};
	enum snmp_auth a;
	enum snmp_priv p;

	(void)state;
	for (size_t i = 0; i < LEN(auths); i++) {
		assert_int_equal(snmp_auth_parse(auths[i].s, &a), 0);
		assert_int_equal(a, auths[i].a);
	}
	for (size_t i = 0; i < LEN(privs); i++) {
		assert_int_equal(snmp_priv_parse(privs[i].s, &p), 0);
		assert_int_equal(p, privs[i].p);
	}
	assert_int_equal(snmp_auth_parse("sha3", &a), -EINVAL);
	assert_int_equal(snmp_auth_parse(NULL, &a), -EINVAL);
	assert_int_equal(snmp_priv_parse("3des", &p), -EINVAL);
	for (int r = 0; r < SNMP_REJ__COUNT; r++)
		assert_string_not_equal(snmp_reject_name((enum snmp_reject)r), "unknown");
	assert_string_equal(snmp_reject_name(SNMP_REJ_NOT_IN_TIME_WINDOW), "not_in_time_window");
	assert_string_equal(snmp_reject_name(SNMP_REJ__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_v2c_types),
		cmocka_unit_test(test_exceptions),
		cmocka_unit_test(test_communities),
		cmocka_unit_test(test_v2c_inform),
		cmocka_unit_test(test_v3_every_combination),
		cmocka_unit_test(test_v3_noauth),
		cmocka_unit_test(test_wrong_digest),
		cmocka_unit_test(test_decryption_error),
		cmocka_unit_test(test_unsupported_level),
		cmocka_unit_test(test_engine_binding),
		cmocka_unit_test(test_time_window_and_replay),
		cmocka_unit_test(test_replay_after_refusal),
		cmocka_unit_test(test_fresh_state_per_message),
		cmocka_unit_test(test_header_rejects),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_parsers_and_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
