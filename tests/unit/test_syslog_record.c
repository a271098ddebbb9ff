/* Unit tests for agent/syslog/syslog_record.c: the record of each sample
 * and each special case is read back with jansson and checked against
 * docs/schema/syslog.schema.json by a small validator for the keywords
 * the schema uses (type, enum, required, properties, additionalProperties,
 * items, oneOf, anyOf, minimum, maximum, pattern). A full draft 2020-12
 * validation with python3-jsonschema runs in tests/integration. */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "syslog/syslog_record.h"
#include "syslog_samples.h"

/* 2026-11-21T13:39:03.123456Z */
#define RECV 1795268343123456LL

struct fixture {
	struct charset_conv *conv;
	struct buf scratch, out;
	json_t *schema;
};

static struct fixture fx;
/* Inside anyOf/oneOf a failing branch is expected: say nothing there. */
static int quiet;
#define why(...) do { if (quiet == 0) print_error(__VA_ARGS__); } while (0)

/* ---- a validator for the subset of JSON Schema the schema uses ---------- */

static bool type_is(json_t *v, const char *t)
{
	if (strcmp(t, "string") == 0)
		return json_is_string(v);
	if (strcmp(t, "integer") == 0)
		return json_is_integer(v);
	if (strcmp(t, "boolean") == 0)
		return json_is_boolean(v);
	if (strcmp(t, "object") == 0)
		return json_is_object(v);
	if (strcmp(t, "array") == 0)
		return json_is_array(v);
	fail_msg("schema uses type '%s', unknown to this validator", t);
	return false;
}

static bool valid(json_t *s, json_t *v, const char *where);

static bool valid_object(json_t *s, json_t *v, const char *where)
{
	json_t *props = json_object_get(s, "properties"), *add = json_object_get(s, "additionalProperties");
	json_t *req = json_object_get(s, "required"), *x;
	const char *key;
	size_t i;

	json_array_foreach(req, i, x) {
		if (json_object_get(v, json_string_value(x)) == NULL) {
			why("%s: missing required '%s'\n", where, json_string_value(x));
			return false;
		}
	}
	json_object_foreach(v, key, x) {
		json_t *sub = props ? json_object_get(props, key) : NULL;

		if (sub == NULL && json_is_false(add)) {
			why("%s: key '%s' is not in the schema\n", where, key);
			return false;
		}
		if (sub == NULL && json_is_object(add))
			sub = add;
		if (sub != NULL && !valid(sub, x, key))
			return false;
	}
	return true;
}

static bool valid(json_t *s, json_t *v, const char *where)
{
	static const char *const known[] = {
		"$schema", "$id", "title", "description", "type", "enum", "required",
		"properties", "additionalProperties", "items", "oneOf", "anyOf", "minimum",
		"maximum", "pattern",
	};
	const char *key;
	json_t *kw, *x;
	size_t i;

	json_object_foreach(s, key, kw) {
		size_t k;

		for (k = 0; k < sizeof known / sizeof known[0] && strcmp(known[k], key) != 0; k++)
			;
		if (k == sizeof known / sizeof known[0])
			fail_msg("schema keyword '%s' is unknown to this validator", key);
	}
	if ((kw = json_object_get(s, "type")) != NULL && !type_is(v, json_string_value(kw))) {
		why("%s: not a %s\n", where, json_string_value(kw));
		return false;
	}
	if ((kw = json_object_get(s, "enum")) != NULL) {
		bool found = false;

		json_array_foreach(kw, i, x)
			found |= json_equal(x, v) != 0;
		if (!found) {
			why("%s: value not in enum\n", where);
			return false;
		}
	}
	if ((kw = json_object_get(s, "minimum")) != NULL && json_is_integer(v) &&
	    json_integer_value(v) < json_integer_value(kw))
		return false;
	if ((kw = json_object_get(s, "maximum")) != NULL && json_is_integer(v) &&
	    json_integer_value(v) > json_integer_value(kw))
		return false;
	if ((kw = json_object_get(s, "pattern")) != NULL && json_is_string(v)) {
		regex_t re;
		int rc;

		assert_int_equal(regcomp(&re, json_string_value(kw), REG_EXTENDED | REG_NOSUB), 0);
		rc = regexec(&re, json_string_value(v), 0, NULL, 0);
		regfree(&re);
		if (rc != 0) {
			why("%s: '%s' does not match %s\n", where, json_string_value(v),
				    json_string_value(kw));
			return false;
		}
	}
	if (json_is_object(v) && !valid_object(s, v, where))
		return false;
	if ((kw = json_object_get(s, "items")) != NULL && json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (!valid(kw, x, where))
				return false;
	}
	if ((kw = json_object_get(s, "anyOf")) != NULL) {
		bool any = false;

		quiet++;
		json_array_foreach(kw, i, x)
			any |= valid(x, v, where);
		quiet--;
		if (!any)
			return false;
	}
	if ((kw = json_object_get(s, "oneOf")) != NULL) {
		int n = 0;

		quiet++;
		json_array_foreach(kw, i, x)
			n += valid(x, v, where);
		quiet--;
		if (n != 1) {
			why("%s: %d of oneOf match\n", where, n);
			return false;
		}
	}
	return true;
}

static int setup(void **state)
{
	const char *root = getenv("WARD_ROOT");
	char path[4096];
	json_error_t err;

	(void)state;
	snprintf(path, sizeof path, "%s/docs/schema/syslog.schema.json", root ? root : ".");
	fx.schema = json_load_file(path, 0, &err);
	if (fx.schema == NULL) {
		fprintf(stderr, "%s: %s (run from the source tree or set WARD_ROOT)\n", path,
			err.text);
		return -1;
	}
	fx.conv = charset_conv_create();
	buf_init(&fx.scratch);
	buf_init(&fx.out);
	return fx.conv == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(fx.schema);
	charset_conv_destroy(fx.conv);
	buf_free(&fx.scratch);
	buf_free(&fx.out);
	return 0;
}

/* Encodes a message and returns its record, checked against the schema. */
static json_t *encode_in(const struct syslog_record_in *in, struct syslog_record_out *res)
{
	json_error_t err;
	json_t *j;

	buf_reset(&fx.out);
	assert_int_equal(syslog_record_encode(in, fx.conv, &fx.scratch, &fx.out, res), 0);
	j = json_loadb((const char *)fx.out.data, fx.out.len, JSON_ALLOW_NUL, &err);
	if (j == NULL)
		fail_msg("not JSON (%s): %.*s", err.text, (int)fx.out.len, fx.out.data);
	if (!valid(fx.schema, j, "record"))
		fail_msg("record does not match the schema: %.*s", (int)fx.out.len, fx.out.data);
	return j;
}

static json_t *encode(const char *raw, size_t len)
{
	struct syslog_record_in in = { raw, len, false, RECV, "192.0.2.7:51514", "tcp", NULL };

	return encode_in(&in, NULL);
}

static json_t *encode_s(const char *raw)
{
	return encode(raw, strlen(raw));
}

static const char *get(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

/* ---- tests -------------------------------------------------------------------- */

/* The example in syslog_record.h, byte for byte. */
static void test_header_example(void **state)
{
	static const char raw[] = "<164>Nov 21 13:39:02 fw01 sshd[812]: Failed password for root "
				  "from 203.0.113.9 port 22 ssh2";
	struct syslog_record_out res;
	json_t *j;

	(void)state;
	struct syslog_record_in in = { raw, sizeof raw - 1, false, RECV, "192.0.2.7:51514", "tcp",
				       NULL };
	j = encode_in(&in, &res);
	json_decref(j);
	assert_int_equal(res.charset, CHARSET_UTF8);
	assert_int_equal(res.parse_status, 0);
	buf_append_byte(&fx.out, 0);
	assert_string_equal((const char *)fx.out.data,
		"{\"type\":\"syslog\",\"ts\":\"2026-11-21T13:39:03.123456Z\","
		"\"peer\":\"192.0.2.7:51514\",\"transport\":\"tcp\",\"format\":\"rfc3164\","
		"\"parse\":\"ok\",\"facility\":\"local4\",\"severity\":\"warning\",\"pri\":164,"
		"\"timestamp\":\"2026-11-21T13:39:02.000000Z\",\"ts_zone\":false,"
		"\"timestamp_raw\":\"Nov 21 13:39:02\",\"hostname\":\"fw01\",\"app_name\":\"sshd\","
		"\"procid\":\"812\",\"msg\":\"Failed password for root from 203.0.113.9 port 22 "
		"ssh2\",\"charset\":\"utf-8\",\"raw\":\"<164>Nov 21 13:39:02 fw01 sshd[812]: "
		"Failed password for root from 203.0.113.9 port 22 ssh2\"}");
}

static void test_all_samples(void **state)
{
	(void)state;
	for (size_t i = 0; i < SYSLOG_SAMPLES_COUNT; i++) {
		const struct syslog_sample *s = &syslog_samples[i];
		json_t *j = encode_s(s->line);

		assert_string_equal(get(j, "parse"), "ok");
		assert_string_equal(get(j, "charset"), s->gbk ? "gb18030" : "utf-8");
		assert_non_null(get(j, "raw"));
		if (s->hostname != NULL)
			assert_string_equal(get(j, "hostname"), s->hostname);
		else
			assert_null(json_object_get(j, "hostname"));
		if (s->app_name != NULL)
			assert_string_equal(get(j, "app_name"), s->app_name);
		if (!s->gbk)
			assert_string_equal(get(j, "raw"), s->line);
		json_decref(j);
	}
}

/* GBK text comes out as UTF-8 in msg and raw, and the fields found after
 * decoding are right even though GBK trail bytes look like ASCII. */
static void test_gbk(void **state)
{
	json_t *j;

	(void)state;
	assert_true(syslog_samples[2].gbk);
	j = encode_s(syslog_samples[2].line);
	assert_string_equal(get(j, "charset"), "gb18030");
	assert_non_null(strstr(get(j, "msg"), "\xe9\x98\xb2\xe7\x81\xab\xe5\xa2\x99"));   /* 防火墙 */
	assert_non_null(strstr(get(j, "raw"), "\xe5\xbc\xa0\xe4\xbc\x9f"));                /* 张伟 */
	json_decref(j);

	/* 乗 (GBK 81 5C) hides a '\\' and 乚 (81 5D) a ']' inside SD. */
	j = encode_s("<13>1 - h a - - [x@1 k=\"\x81\x5c\x81\x5d\"] m");
	assert_string_equal(get(j, "parse"), "ok");
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(json_object_get(j, "sd"), "x@1"), "k")),
		"\xe4\xb9\x97\xe4\xb9\x9a");
	json_decref(j);
}

static void test_undecodable(void **state)
{
	static const char raw[] = "<13>Nov 21 13:39:02 h t: caf\xe9 \xff";
	json_t *j;

	(void)state;
	j = encode(raw, sizeof raw - 1);
	assert_string_equal(get(j, "charset"), "unknown");
	assert_null(json_object_get(j, "raw"));
	assert_string_equal(get(j, "raw_b64"), "PDEzPk5vdiAyMSAxMzozOTowMiBoIHQ6IGNhZukg/w==");
	assert_string_equal(get(j, "msg"), "caf\xef\xbf\xbd \xef\xbf\xbd");
	json_decref(j);
}

static void test_structured_data(void **state)
{
	json_t *j, *sd;

	(void)state;
	j = encode_s("<165>1 2026-11-21T13:39:06.003Z web01 nginx 5012 ACCESS "
		     "[origin ip=\"10.0.0.1\" ip=\"10.0.0.2\"][meta q=\"a\\\"b\\\\c\\]d\\x\" e=\"\"] "
		     "GET /");
	assert_string_equal(get(j, "format"), "rfc5424");
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	assert_string_equal(get(j, "msgid"), "ACCESS");
	assert_string_equal(get(j, "procid"), "5012");
	assert_null(json_object_get(j, "ts_zone"));
	assert_string_equal(get(j, "timestamp"), "2026-11-21T13:39:06.003000Z");
	sd = json_object_get(j, "sd");
	assert_true(json_is_object(sd));
	/* A repeated PARAM-NAME becomes an array, in order. */
	json_t *ip = json_object_get(json_object_get(sd, "origin"), "ip");
	assert_true(json_is_array(ip));
	assert_string_equal(json_string_value(json_array_get(ip, 0)), "10.0.0.1");
	assert_string_equal(json_string_value(json_array_get(ip, 1)), "10.0.0.2");
	/* Values are unescaped; '\' before another byte stays. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(sd, "meta"), "q")),
			    "a\"b\\c]d\\x");
	assert_string_equal(json_string_value(json_object_get(json_object_get(sd, "meta"), "e")),
			    "");
	assert_string_equal(get(j, "sd_raw"),
			    "[origin ip=\"10.0.0.1\" ip=\"10.0.0.2\"][meta q=\"a\\\"b\\\\c\\]d\\x\" "
			    "e=\"\"]");
	assert_string_equal(get(j, "msg"), "GET /");
	json_decref(j);
}

/* Malformed SD is not expanded; the record says why and keeps it in msg. */
static void test_bad_sd(void **state)
{
	json_t *j;

	(void)state;
	j = encode_s("<13>1 - h a - - [x@1 k=\"v] rest");
	assert_string_equal(get(j, "parse"), "partial");
	assert_string_equal(get(j, "parse_error"), "STRUCTURED-DATA is not terminated");
	assert_null(json_object_get(j, "sd"));
	assert_null(json_object_get(j, "sd_raw"));
	assert_string_equal(get(j, "msg"), "[x@1 k=\"v] rest");
	json_decref(j);

	j = encode_s("<13>1 - h a - - [a][a] rest");   /* duplicate SD-ID */
	assert_null(json_object_get(j, "sd"));
	assert_string_equal(get(j, "sd_raw"), "[a][a]");
	assert_string_equal(get(j, "parse"), "partial");
	json_decref(j);
}

/* A MSG that is a JSON object stays a string: parsing it is another stage's
 * job, and keeping it whole keeps the record's shape fixed. */
static void test_json_msg_kept(void **state)
{
	json_t *j;

	(void)state;
	j = encode_s("<14>1 2026-11-21T13:39:06Z edr01 agent 77 - - {\"event\":\"login\",\"user\":\"a\"}");
	assert_true(json_is_string(json_object_get(j, "msg")));
	assert_string_equal(get(j, "msg"), "{\"event\":\"login\",\"user\":\"a\"}");
	json_decref(j);
}

static void test_optional_keys(void **state)
{
	struct syslog_record_in in = { "Use the BFG!", 12, true, RECV, NULL, NULL, "client.example" };
	json_t *j;

	(void)state;
	j = encode_in(&in, NULL);
	assert_null(json_object_get(j, "peer"));
	assert_null(json_object_get(j, "transport"));
	assert_string_equal(get(j, "tls_peer"), "client.example");
	assert_true(json_is_true(json_object_get(j, "truncated")));
	assert_true(json_is_false(json_object_get(j, "pri_present")));
	assert_string_equal(get(j, "format"), "unknown");
	assert_string_equal(get(j, "parse"), "no_header");
	assert_string_equal(get(j, "parse_error"), "no PRI and no timestamp");
	assert_int_equal(json_integer_value(json_object_get(j, "pri")), 13);
	assert_null(json_object_get(j, "timestamp"));
	json_decref(j);

	j = encode_s("<189>4711: *Nov 21 13:39:05.123 UTC: %SYS-5-CONFIG_I: x");
	assert_string_equal(get(j, "cisco_seq"), "4711");
	assert_null(json_object_get(j, "ts_zone"));   /* UTC is a zone */
	assert_null(json_object_get(j, "pri_present"));
	assert_null(json_object_get(j, "truncated"));
	assert_null(json_object_get(j, "parse_error"));
	json_decref(j);

	j = encode_s("<34>1 2003-10-11T22:14:15.003Z m su - ID47 - \xef\xbb\xbf'su root' failed");
	assert_true(json_is_true(json_object_get(j, "msg_bom")));
	assert_string_equal(get(j, "msg"), "'su root' failed");
	json_decref(j);
}

/* An invalid timestamp is named, kept raw, and not converted. */
static void test_bad_timestamp(void **state)
{
	json_t *j;

	(void)state;
	j = encode_s("<13>Oct 32 22:14:15 h t: x");
	assert_string_equal(get(j, "parse"), "partial");
	assert_string_equal(get(j, "timestamp_raw"), "Oct 32 22:14:15");
	assert_null(json_object_get(j, "timestamp"));
	json_decref(j);
}

static void test_nul_cr_and_framing_bytes(void **state)
{
	static const char raw[] = "<13>Nov 21 13:39:02 h t: a\0b\rc\r\n";
	json_t *j;

	(void)state;
	j = encode(raw, sizeof raw - 1);
	assert_int_equal(json_string_length(json_object_get(j, "msg")), 5);
	assert_memory_equal(get(j, "msg"), "a\0b\rc", 5);
	/* The trailing CR LF is framing, not part of raw. */
	assert_int_equal(json_string_length(json_object_get(j, "raw")), sizeof raw - 3);
	json_decref(j);

	j = encode("", 0);
	assert_string_equal(get(j, "parse_error"), "empty message");
	assert_string_equal(get(j, "msg"), "");
	assert_string_equal(get(j, "raw"), "");
	json_decref(j);
}

/* Records are appended after what out already holds (NDJSON batches). */
static void test_appends(void **state)
{
	struct syslog_record_in in = { "<13>x", 5, false, RECV, NULL, NULL, NULL };

	(void)state;
	buf_reset(&fx.out);
	buf_append_str(&fx.out, "{}\n");
	assert_int_equal(syslog_record_encode(&in, NULL, &fx.scratch, &fx.out, NULL), 0);
	assert_true(fx.out.len > 3 && memcmp(fx.out.data, "{}\n{\"type\":\"syslog\"", 19) == 0);
}

/* Arbitrary bytes always give a valid record. */
static void test_random_bytes(void **state)
{
	static const char alphabet[] = "<>0123456789 -[]=\"\\:.TZ+*%abcAZ\n\r\t\0\x81\xb7\xe9\xff";
	char raw[160];
	uint32_t x = 2463534242u;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		size_t n;
		json_t *j;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		n = x % sizeof raw;
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			raw[i] = alphabet[x % (sizeof alphabet - 1)];
		}
		if (round % 3 == 0 && n > 6)
			memcpy(raw, "<13>1 ", 6);
		j = encode(raw, n);
		json_decref(j);
	}
}

/* The validator itself rejects what the schema forbids, so the tests
 * above prove something. */
static void test_validator_rejects(void **state)
{
	static const char *const bad[] = {
		/* missing msg */
		"{\"type\":\"syslog\",\"ts\":\"2026-11-21T13:39:03.123456Z\",\"format\":\"unknown\","
		"\"parse\":\"ok\",\"facility\":\"user\",\"severity\":\"notice\",\"pri\":13,"
		"\"charset\":\"utf-8\",\"raw\":\"\"}",
		/* an unknown key */
		"{\"type\":\"syslog\",\"ts\":\"2026-11-21T13:39:03.123456Z\",\"format\":\"unknown\","
		"\"parse\":\"ok\",\"facility\":\"user\",\"severity\":\"notice\",\"pri\":13,"
		"\"msg\":\"\",\"charset\":\"utf-8\",\"raw\":\"\",\"extra\":1}",
		/* a time without microseconds, raw and raw_b64 both, pri 192 */
		"{\"type\":\"syslog\",\"ts\":\"2026-11-21T13:39:03Z\",\"format\":\"unknown\","
		"\"parse\":\"ok\",\"facility\":\"user\",\"severity\":\"notice\",\"pri\":13,"
		"\"msg\":\"\",\"charset\":\"utf-8\",\"raw\":\"\"}",
		"{\"type\":\"syslog\",\"ts\":\"2026-11-21T13:39:03.123456Z\",\"format\":\"unknown\","
		"\"parse\":\"ok\",\"facility\":\"user\",\"severity\":\"notice\",\"pri\":13,"
		"\"msg\":\"\",\"charset\":\"utf-8\",\"raw\":\"\",\"raw_b64\":\"\"}",
		"{\"type\":\"syslog\",\"ts\":\"2026-11-21T13:39:03.123456Z\",\"format\":\"unknown\","
		"\"parse\":\"ok\",\"facility\":\"user\",\"severity\":\"notice\",\"pri\":192,"
		"\"msg\":\"\",\"charset\":\"utf-8\",\"raw\":\"\"}",
	};

	(void)state;
	quiet++;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *j = json_loads(bad[i], 0, NULL);

		assert_non_null(j);
		assert_false(valid(fx.schema, j, "bad"));
		json_decref(j);
	}
	quiet--;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validator_rejects),
		cmocka_unit_test(test_header_example),
		cmocka_unit_test(test_all_samples),
		cmocka_unit_test(test_gbk),
		cmocka_unit_test(test_undecodable),
		cmocka_unit_test(test_structured_data),
		cmocka_unit_test(test_bad_sd),
		cmocka_unit_test(test_json_msg_kept),
		cmocka_unit_test(test_optional_keys),
		cmocka_unit_test(test_bad_timestamp),
		cmocka_unit_test(test_nul_cr_and_framing_bytes),
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_random_bytes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
