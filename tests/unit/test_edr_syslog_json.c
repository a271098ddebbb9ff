/* JSON carried in syslog: a MSG that is a JSON object is also written
 * parsed under "json", the text kept in msg and raw; anything else gets no
 * "json". Chinese EDR consoles send GBK, which is decoded first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "syslog/syslog_record.h"

static json_t *encode(const char *raw)
{
	struct syslog_record_in in = { .raw = raw, .raw_len = strlen(raw), .recv_us = 1,
				       .peer = "192.0.2.1:514", .transport = "udp" };
	struct charset_conv *conv = charset_conv_create();
	struct buf out = BUF_INIT, scratch = BUF_INIT;
	json_error_t e;
	json_t *rec;

	assert_int_equal(syslog_record_encode(&in, conv, &scratch, &out, NULL), 0);
	rec = json_loadb((const char *)out.data, out.len, 0, &e);
	if (rec == NULL)
		fail_msg("record is not JSON (%s): %.*s", e.text, (int)out.len, out.data);
	buf_free(&out);
	buf_free(&scratch);
	charset_conv_destroy(conv);
	return rec;
}

static void test_json_object(void **state)
{
	json_t *rec = encode("<134>1 2024-05-01T08:00:00Z edr-console edr - - - "
			     " {\"event_id\":1,\"proc\":{\"path\":\"C:\\\\a.exe\",\"pid\":42},"
			     "\"score\":0.5,\"tags\":[\"x\"]} \n"), *j;

	(void)state;
	j = json_object_get(rec, "json");
	assert_true(json_is_object(j));
	assert_int_equal(json_integer_value(json_object_get(j, "event_id")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "proc"), "path")),
			    "C:\\a.exe");
	assert_true(json_real_value(json_object_get(j, "score")) == 0.5);
	/* The text is kept. */
	assert_non_null(strstr(json_string_value(json_object_get(rec, "msg")), "\"event_id\":1"));
	assert_non_null(strstr(json_string_value(json_object_get(rec, "raw")), "edr-console"));
	/* Keys after it are still well formed. */
	assert_string_equal(json_string_value(json_object_get(rec, "charset")), "utf-8");
	json_decref(rec);
}

static void test_gbk_json(void **state)
{
	/* {"user":"张三"} with the name in GBK (D5C5 C8FD), RFC 3164. */
	json_t *rec = encode("<13>May  1 08:00:00 host edr: {\"user\":\"\xd5\xc5\xc8\xfd\"}"), *j;

	(void)state;
	j = json_object_get(rec, "json");
	assert_true(json_is_object(j));
	assert_string_equal(json_string_value(json_object_get(j, "user")), "\xe5\xbc\xa0\xe4\xb8\x89");
	json_decref(rec);
}

static void test_not_json(void **state)
{
	static const char *const msgs[] = {
		"<13>May  1 08:00:00 host app: plain text",
		"<13>May  1 08:00:00 host app: {not json}",
		"<13>May  1 08:00:00 host app: [1,2]",
		"<13>May  1 08:00:00 host app: {\"a\":1} trailing",
		"<13>May  1 08:00:00 host app: {\"a\":1,\"a\":2}",
		"<13>May  1 08:00:00 host app: {",
		"<134>1 - - - - - -",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		json_t *rec = encode(msgs[i]);

		if (json_object_get(rec, "json") != NULL)
			fail_msg("json for: %s", msgs[i]);
		assert_non_null(json_object_get(rec, "msg"));
		json_decref(rec);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_object),
		cmocka_unit_test(test_gbk_json),
		cmocka_unit_test(test_not_json),
	};

	return cmocka_run_group_tests_name("edr_syslog_json", tests, NULL, NULL);
}
