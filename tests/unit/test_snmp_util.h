/* Shared by the engine tests (test_snmp_engine.c, test_snmp_inform.c): a
 * validator for the keywords docs/schema/snmp_trap.schema.json uses, the
 * users the captured samples were sent as, and processing helpers that
 * check every record against the schema. Full draft 2020-12 validation is
 * done with python3-jsonschema in tests/integration. */
#ifndef WARD_TEST_SNMP_UTIL_H
#define WARD_TEST_SNMP_UTIL_H

#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "snmp/snmp.h"
#include "snmp/snmp_pdu.h"
#include "snmp/snmp_usm.h"
#include "test_snmp_samples.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define RECV 1795268343123456LL         /* 2026-11-21T13:39:03.123456Z */
#define MAYBE_UNUSED __attribute__((unused))

static json_t *schema, *rec;
static struct snmp_rx rx;
static struct sockaddr_in from;
static uint64_t clock_ms;

static inline uint64_t fake_clock(void *arg)
{
	(void)arg;
	return clock_ms;
}

/* ---- a validator for the keywords the schema uses ------------------------ */

static inline bool valid(json_t *s, json_t *v, const char *where);

static inline bool type_is(json_t *v, const char *t)
{
	if (strcmp(t, "string") == 0) return json_is_string(v);
	if (strcmp(t, "integer") == 0) return json_is_integer(v);
	if (strcmp(t, "object") == 0) return json_is_object(v);
	if (strcmp(t, "array") == 0) return json_is_array(v);
	if (strcmp(t, "null") == 0) return json_is_null(v);
	if (strcmp(t, "boolean") == 0) return json_is_boolean(v);
	fail_msg("schema type '%s' unknown to this validator", t);
	return false;
}

static inline json_t *resolve(json_t *s)
{
	json_t *ref = json_object_get(s, "$ref");

	if (ref == NULL)
		return s;
	assert_int_equal(strncmp(json_string_value(ref), "#/$defs/", 8), 0);
	return json_object_get(json_object_get(schema, "$defs"), json_string_value(ref) + 8);
}

static int quiet;

static inline bool valid(json_t *s, json_t *v, const char *where)
{
	json_t *x, *k;
	const char *key;
	size_t i;

	s = resolve(s);
	assert_non_null(s);
	if ((x = json_object_get(s, "type")) != NULL && !type_is(v, json_string_value(x))) {
		if (!quiet)
			print_error("%s: not a %s\n", where, json_string_value(x));
		return false;
	}
	if ((x = json_object_get(s, "enum")) != NULL) {
		bool hit = false;

		json_array_foreach(x, i, k)
			hit = hit || json_equal(k, v);
		if (!hit) {
			if (!quiet)
				print_error("%s: not in enum\n", where);
			return false;
		}
	}
	if ((x = json_object_get(s, "pattern")) != NULL && json_is_string(v)) {
		regex_t re;
		int rc;

		assert_int_equal(regcomp(&re, json_string_value(x), REG_EXTENDED | REG_NOSUB), 0);
		rc = regexec(&re, json_string_value(v), 0, NULL, 0);
		regfree(&re);
		if (rc != 0) {
			if (!quiet)
				print_error("%s: '%s' !~ %s\n", where, json_string_value(v), json_string_value(x));
			return false;
		}
	}
	if (json_is_integer(v) && (x = json_object_get(s, "minimum")) != NULL &&
	    json_integer_value(v) < json_integer_value(x))
		return false;
	if (json_is_integer(v) && (x = json_object_get(s, "maximum")) != NULL &&
	    json_integer_value(v) > json_integer_value(x))
		return false;
	if (json_is_object(v)) {
		json_t *props = json_object_get(s, "properties"), *add = json_object_get(s, "additionalProperties");

		json_array_foreach(json_object_get(s, "required"), i, k) {
			if (json_object_get(v, json_string_value(k)) == NULL) {
				if (!quiet)
					print_error("%s: missing '%s'\n", where, json_string_value(k));
				return false;
			}
		}
		json_object_foreach(v, key, x) {
			json_t *sub = props ? json_object_get(props, key) : NULL;

			if (sub == NULL && json_is_false(add)) {
				if (!quiet)
					print_error("%s: '%s' not in the schema\n", where, key);
				return false;
			}
			if (sub != NULL && !valid(sub, x, key))
				return false;
		}
	}
	if (json_is_array(v) && (x = json_object_get(s, "items")) != NULL) {
		json_array_foreach(v, i, k)
			if (!valid(x, k, where))
				return false;
	}
	if ((x = json_object_get(s, "anyOf")) != NULL) {
		bool hit = false;

		quiet++;
		json_array_foreach(x, i, k)
			hit = hit || valid(k, v, where);
		quiet--;
		if (!hit)
			return false;
	}
	if ((x = json_object_get(s, "oneOf")) != NULL) {
		int hits = 0;

		quiet++;
		json_array_foreach(x, i, k)
			hits += valid(k, v, where);
		quiet--;
		if (hits != 1) {
			if (!quiet)
				print_error("%s: %d oneOf branches match\n", where, hits);
			return false;
		}
	}
	return true;
}

/* ---- engines and processing -------------------------------------------- */

MAYBE_UNUSED static const char *const AUTHS[] = { "MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512" };
MAYBE_UNUSED static const char *const PRIVS[] = { "none", "DES", "AES", "AES-192", "AES-256" };
MAYBE_UNUSED static const uint8_t SENDER[] = { 0x80, 0x00, 0x1f, 0x88, 0x80, 0xaa, 0xbb, 0xcc, 0xdd, 0x01 };
MAYBE_UNUSED static const uint8_t OURS[] = { 0x80, 0x00, 0xed, 0x57, 0x03, 0x77, 0x61, 0x72, 0x64, 0x00, 0x01 };

MAYBE_UNUSED static const struct { const uint8_t *p; size_t n; } V3[6][5] = {
#define S(x) { x, sizeof(x) }
	{ S(v3_md5_none_0), S(v3_md5_des_0), S(v3_md5_aes_0), S(v3_md5_aes_192_0), S(v3_md5_aes_256_0) },
	{ S(v3_sha_none_0), S(v3_sha_des_0), S(v3_sha_aes_0), S(v3_sha_aes_192_0), S(v3_sha_aes_256_0) },
	{ S(v3_sha_224_none_0), S(v3_sha_224_des_0), S(v3_sha_224_aes_0), S(v3_sha_224_aes_192_0), S(v3_sha_224_aes_256_0) },
	{ S(v3_sha_256_none_0), S(v3_sha_256_des_0), S(v3_sha_256_aes_0), S(v3_sha_256_aes_192_0), S(v3_sha_256_aes_256_0) },
	{ S(v3_sha_384_none_0), S(v3_sha_384_des_0), S(v3_sha_384_aes_0), S(v3_sha_384_aes_192_0), S(v3_sha_384_aes_256_0) },
	{ S(v3_sha_512_none_0), S(v3_sha_512_des_0), S(v3_sha_512_aes_0), S(v3_sha_512_aes_192_0), S(v3_sha_512_aes_256_0) },
#undef S
};

/* The users the samples were sent as: u_<AUTH>_<PRIV>, with passwords
 * auth-<AUTH>-pass and priv-<PRIV>-pass. */
struct users {
	struct snmp_user u[40];
	char names[40][32], apw[40][32], ppw[40][32];
	unsigned n;
};

static inline struct snmp_user *add_user(struct users *us, int a, int p, const char *apw, const char *ppw)
{
	struct snmp_user *u = &us->u[us->n];

	snprintf(us->names[us->n], 32, "u_%s_%s", AUTHS[a], PRIVS[p]);
	snprintf(us->apw[us->n], 32, "%s", apw ? apw : "");
	snprintf(us->ppw[us->n], 32, "%s", ppw ? ppw : "");
	if (apw == NULL)
		snprintf(us->apw[us->n], 32, "auth-%s-pass", AUTHS[a]);
	if (ppw == NULL)
		snprintf(us->ppw[us->n], 32, "priv-%s-pass", PRIVS[p]);
	memset(u, 0, sizeof(*u));
	u->name = us->names[us->n];
	assert_int_equal(snmp_auth_parse(AUTHS[a], &u->auth), 0);
	assert_int_equal(snmp_priv_parse(PRIVS[p], &u->priv), 0);
	u->auth_password = us->apw[us->n];
	u->priv_password = us->ppw[us->n];
	us->n++;
	return u;
}

static inline struct snmp_engine_opts base_opts(void)
{
	static const char *const comm[] = { "public", "s3cret" };

	return (struct snmp_engine_opts){
		.engine_id = OURS, .engine_id_len = sizeof(OURS), .boots = 1,
		.communities = comm, .n_communities = 2, .mono_ms = fake_clock,
	};
}

static inline struct snmp_engine *engine(const struct snmp_engine_opts *o)
{
	struct snmp_engine *e;
	char err[200];

	clock_ms = 1000000;
	if (snmp_engine_create(&e, o, err, sizeof(err)) != 0)
		fail_msg("create: %s", err);
	return e;
}

static inline void check_counter(struct snmp_engine *e, enum snmp_reject r, uint64_t want)
{
	struct snmp_counters c;

	snmp_engine_counters(e, &c);
	if (c.rejects[r] != want)
		fail_msg("counter %s: %llu, want %llu", snmp_reject_name(r),
			 (unsigned long long)c.rejects[r], (unsigned long long)want);
}

/* Processes one datagram; for a record, parses it into rec and checks it
 * against the schema. Returns the reject. */
static inline enum snmp_reject process(struct snmp_engine *e, const uint8_t *p, size_t n)
{
	json_error_t err;

	json_decref(rec);
	rec = NULL;
	assert_int_equal(snmp_engine_process(e, p, n, (struct sockaddr *)&from, RECV, &rx), 0);
	if (rx.reject != SNMP_OK) {
		assert_int_equal(rx.record.len, 0);
		assert_true(rx.detail[0] != '\0');
		return rx.reject;
	}
	rec = json_loadb((const char *)rx.record.data, rx.record.len, JSON_ALLOW_NUL, &err);
	if (rec == NULL)
		fail_msg("record is not JSON: %s: %.*s", err.text, (int)rx.record.len, rx.record.data);
	if (!valid(schema, rec, "record"))
		fail_msg("record does not match the schema: %.*s", (int)rx.record.len, rx.record.data);
	return SNMP_OK;
}

static inline const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("'%s' is not a string", key);
	return json_string_value(v);
}

static inline json_int_t num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("'%s' is not an integer", key);
	return json_integer_value(v);
}

static inline json_t *varbind(unsigned i)
{
	json_t *v = json_array_get(json_object_get(rec, "varbinds"), i);

	assert_non_null(v);
	return v;
}


/* Builds a v3 message as a sender would, with our own encoder. */
struct v3b {
	enum snmp_auth a;
	enum snmp_priv p;
	const char *user, *apw, *ppw;
	const uint8_t *eid;
	size_t eid_len, salt_len;
	uint8_t pdu, flags;
	uint32_t boots, time;
};

static inline size_t build_v3(const struct v3b *b, uint8_t *out)
{
	/* sysUpTime.0 = 5, snmpTrapOID.0 = coldStart */
	static const uint8_t vbl[] = { 0x30, 0x28, 0x30, 0x0d, 0x06, 0x08, 0x2b, 6, 1, 2, 1, 1, 3, 0,
				       0x43, 0x01, 0x05, 0x30, 0x17, 0x06, 0x0a, 0x2b, 6, 1, 6, 3, 1,
				       1, 4, 1, 0, 0x06, 0x09, 0x2b, 6, 1, 6, 3, 1, 1, 5, 1 };
	static const uint8_t salt[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct buf scoped = BUF_INIT, msg = BUF_INIT;
	struct snmp_bytes eid = { b->eid, b->eid_len }, empty = { NULL, 0 }, v = { vbl, sizeof(vbl) };
	struct snmp_usm_keys k = { 0 };
	uint8_t ku[64], pku[64], cipher[256];
	size_t n = 0, mac_off;

	assert_int_equal(snmp_encode_scoped(&scoped, &eid, &empty, b->pdu, 99, &v), 0);
	if (b->a != SNMP_AUTH_NONE) {
		assert_int_equal(snmp_usm_password_to_key(b->a, b->apw, strlen(b->apw), ku), 0);
		if (b->p != SNMP_PRIV_NONE)
			assert_int_equal(snmp_usm_password_to_key(b->a, b->ppw, strlen(b->ppw), pku), 0);
		assert_int_equal(snmp_usm_keys_setup(&k, b->a, b->p, ku, pku, b->eid, b->eid_len), 0);
	}
	struct snmp_v3_out o = {
		.msg_id = 4242, .flags = b->flags, .engine_id = eid,
		.user = { (const uint8_t *)b->user, strlen(b->user) },
		.data = { scoped.data, scoped.len }, .boots = b->boots, .time = b->time,
		.mac_len = snmp_usm_mac_len(b->a),
	};
	if (b->flags & SNMP_FLAG_PRIV) {
		assert_int_equal(snmp_usm_encrypt(&k, b->boots, b->time, salt, scoped.data, scoped.len,
						  cipher, &n), 0);
		o.data = (struct snmp_bytes){ cipher, n };
		o.priv_params = (struct snmp_bytes){ salt, b->salt_len };
	}
	assert_int_equal(snmp_encode_v3(&msg, &o, &mac_off), 0);
	if (b->flags & SNMP_FLAG_AUTH)
		assert_int_equal(snmp_usm_auth_sign(&k, msg.data, msg.len, mac_off), 0);
	n = msg.len;
	memcpy(out, msg.data, n);
	snmp_usm_keys_release(&k);
	buf_free(&scoped);
	buf_free(&msg);
	return n;
}

static inline int setup(void **state)
{
	const char *root = getenv("WARD_ROOT");
	char path[4096];
	json_error_t err;

	(void)state;
	snprintf(path, sizeof path, "%s/docs/schema/snmp_trap.schema.json", root ? root : ".");
	schema = json_load_file(path, 0, &err);
	if (schema == NULL) {
		fprintf(stderr, "%s: %s (run from the source tree or set WARD_ROOT)\n", path, err.text);
		return -1;
	}
	from.sin_family = AF_INET;
	from.sin_port = htons(40162);
	from.sin_addr.s_addr = htonl(0xc0000207);      /* 192.0.2.7 */
	snmp_rx_init(&rx);
	return 0;
}

static inline int teardown(void **state)
{
	(void)state;
	json_decref(rec);
	json_decref(schema);
	snmp_rx_free(&rx);
	return 0;
}

#endif
