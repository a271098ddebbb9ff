/* Unit tests for agent/core/jsonw.c: the NDJSON writer, its UTF-8 repair,
 * base64 and the civil time arithmetic. jansson serves as the independent
 * JSON reader that checks what the writer produced. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonw.h"

/* Runs fn on a fresh writer and returns the output as a C string (static
 * storage, valid until the next call). */
static struct buf out;

static const char *text(void)
{
	buf_append_byte(&out, 0);
	out.len--;
	return (const char *)out.data;
}

static int setup(void **state)
{
	(void)state;
	buf_init(&out);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	buf_free(&out);
	return 0;
}

static const char *str(const char *s, size_t n)
{
	struct jsonw w;

	buf_reset(&out);
	jsonw_init(&w, &out);
	jsonw_string(&w, s, n);
	assert_int_equal(jsonw_finish(&w), 0);
	return text();
}

static void test_structure(void **state)
{
	struct jsonw w;

	(void)state;
	buf_reset(&out);
	jsonw_init(&w, &out);
	jsonw_object_open(&w);
	jsonw_kv_cstr(&w, "a", "x");
	jsonw_kv_int(&w, "b", -42);
	jsonw_key(&w, "c");
	jsonw_array_open(&w);
	jsonw_int(&w, INT64_MIN);
	jsonw_uint(&w, UINT64_MAX);
	jsonw_bool(&w, true);
	jsonw_bool(&w, false);
	jsonw_null(&w);
	jsonw_object_open(&w);
	jsonw_object_close(&w);
	jsonw_array_open(&w);
	jsonw_array_close(&w);
	jsonw_array_close(&w);
	jsonw_kv_uint(&w, "d", 0);
	jsonw_kv_bool(&w, "e", true);
	jsonw_kv_time_us(&w, "f", 0);
	jsonw_object_close(&w);
	assert_int_equal(jsonw_finish(&w), 0);
	assert_string_equal(text(), "{\"a\":\"x\",\"b\":-42,\"c\":[-9223372036854775808,"
			    "18446744073709551615,true,false,null,{},[]],\"d\":0,\"e\":true,"
			    "\"f\":\"1970-01-01T00:00:00.000000Z\"}");
}

/* The writer appends: what the buffer held before is kept. */
static void test_appends(void **state)
{
	struct jsonw w;

	(void)state;
	buf_reset(&out);
	buf_append_str(&out, "{\"x\":1}\n");
	jsonw_init(&w, &out);
	jsonw_object_open(&w);
	jsonw_object_close(&w);
	assert_int_equal(jsonw_finish(&w), 0);
	assert_string_equal(text(), "{\"x\":1}\n{}");
}

static void test_depth_errors(void **state)
{
	struct jsonw w;

	(void)state;
	buf_reset(&out);
	jsonw_init(&w, &out);
	for (int i = 0; i < JSONW_MAX_DEPTH; i++)
		jsonw_array_open(&w);
	assert_int_equal(jsonw_finish(&w), -EINVAL);   /* still open */
	jsonw_array_open(&w);                            /* one too deep */
	assert_int_equal(w.err, -EINVAL);

	buf_reset(&out);
	jsonw_init(&w, &out);
	jsonw_object_close(&w);                          /* nothing open */
	assert_int_equal(jsonw_finish(&w), -EINVAL);
	/* The error is sticky: later calls write nothing. */
	size_t len = out.len;
	jsonw_cstr(&w, "ignored");
	assert_int_equal(out.len, len);
}

/* A length whose worst-case escape overflows size_t is refused before any
 * byte is read or allocated. */
static void test_enomem_on_overflow(void **state)
{
	struct jsonw w;
	char c = 'x';

	(void)state;
	buf_reset(&out);
	jsonw_init(&w, &out);
	jsonw_string(&w, &c, SIZE_MAX / 2);
	assert_int_equal(jsonw_finish(&w), -ENOMEM);
	jsonw_init(&w, &out);
	jsonw_base64(&w, (const uint8_t *)&c, SIZE_MAX - 1);
	assert_int_equal(jsonw_finish(&w), -ENOMEM);
}

static void test_escapes(void **state)
{
	(void)state;
	assert_string_equal(str("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
	assert_string_equal(str("\b\f\n\r\t", 5), "\"\\b\\f\\n\\r\\t\"");
	assert_string_equal(str("\x01\x1f", 2), "\"\\u0001\\u001f\"");
	assert_string_equal(str("\0", 1), "\"\\u0000\"");
	assert_string_equal(str("\x7f/", 2), "\"\x7f/\"");   /* DEL and '/' need no escape */
	assert_string_equal(str(NULL, 0), "\"\"");
	/* 防火墙 and an emoji pass through unchanged. */
	assert_string_equal(str("\xe9\x98\xb2\xe7\x81\xab\xe5\xa2\x99\xf0\x9f\x94\x92", 13),
			    "\"\xe9\x98\xb2\xe7\x81\xab\xe5\xa2\x99\xf0\x9f\x94\x92\"");
}

#define FFFD "\xef\xbf\xbd"

/* Ill-formed UTF-8 becomes one U+FFFD per maximal subpart (the example
 * of Unicode 15 section 3.9, table 3-8, and the classic cases). */
static void test_utf8_repair(void **state)
{
	(void)state;
	assert_string_equal(str("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64", 13),
			    "\"a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d\"");
	assert_string_equal(str("\xc0\xaf", 2), "\"" FFFD FFFD "\"");        /* overlong '/' */
	assert_string_equal(str("\xe0\x80\xaf", 3), "\"" FFFD FFFD FFFD "\""); /* overlong */
	assert_string_equal(str("\xed\xa0\x80", 3), "\"" FFFD FFFD FFFD "\""); /* surrogate */
	assert_string_equal(str("\xf4\x90\x80\x80", 4), "\"" FFFD FFFD FFFD FFFD "\"");
	assert_string_equal(str("\xf5\xff\xfe", 3), "\"" FFFD FFFD FFFD "\"");
	assert_string_equal(str("ab\xe9\x98", 4), "\"ab" FFFD "\"");          /* cut at the end */
	assert_string_equal(str("\xf0\x9f\x94", 3), "\"" FFFD "\"");
	/* GBK bytes (防火墙) are not UTF-8: each becomes U+FFFD or pairs do. */
	assert_string_equal(str("\xb7\xc0", 2), "\"" FFFD FFFD "\"");
}

/* The block paths (16 and 8 bytes at a time) must agree with a byte by
 * byte reading: put each special byte at every offset of a long string
 * and let jansson decode the result. */
static void test_blocks_all_offsets(void **state)
{
	static const char specials[] = { '"', '\\', '\n', '\x01', '\x7f' };
	char s[80];

	(void)state;
	for (size_t k = 0; k < sizeof specials; k++) {
		for (size_t len = 1; len < sizeof s; len++) {
			for (size_t at = 0; at < len; at++) {
				json_error_t err;
				json_t *j;

				memset(s, 'a' + (int)(at % 26), len);
				s[at] = specials[k];
				j = json_loads(str(s, len), JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
				assert_non_null(j);
				assert_int_equal(json_string_length(j), len);
				assert_memory_equal(json_string_value(j), s, len);
				json_decref(j);
			}
		}
	}
}

/* Random well-formed text (ASCII, controls, 2-4 byte sequences) round-trips
 * through the writer and jansson unchanged. */
static void test_random_roundtrip(void **state)
{
	static const char *pieces[] = {
		"a", "Z", " ", "\"", "\\", "\n", "\t", "\x01", "\x1f", "\x7f",
		"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xe9\x98\xb2", "\xef\xbf\xbf",
		"\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "0123456789abcdef",
	};
	char s[512];
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		size_t n = 0;
		json_error_t err;
		json_t *j;

		seed = seed * 1103515245 + 12345;
		size_t count = (seed >> 16) % 40;
		for (size_t i = 0; i < count; i++) {
			seed = seed * 1103515245 + 12345;
			const char *p = pieces[(seed >> 16) % (sizeof pieces / sizeof pieces[0])];
			size_t l = strlen(p);
			memcpy(s + n, p, l);
			n += l;
		}
		assert_int_equal(jsonw_utf8_valid_len(s, n), n);
		j = json_loads(str(s, n), JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
		assert_non_null(j);
		assert_int_equal(json_string_length(j), n);
		assert_memory_equal(json_string_value(j), s, n);
		json_decref(j);
	}
}

/* The checked-UTF-8 variant agrees with the checking one on well-formed
 * input at every offset, with non-ASCII text around the special bytes. */
static void test_string_utf8(void **state)
{
	static const char *const parts[] = { "\xe9\x98\xb2", "a", "\"", "\\", "\n", "\x01",
					     "\xf0\x9f\x94\x92", "\xc2\x80", "0123456789" };
	char s[256];
	unsigned seed = 7;
	struct buf a = BUF_INIT;
	struct jsonw w;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		size_t n = 0;

		seed = seed * 1103515245 + 12345;
		for (size_t i = (seed >> 16) % 30; i > 0; i--) {
			seed = seed * 1103515245 + 12345;
			const char *p = parts[(seed >> 16) % (sizeof parts / sizeof parts[0])];
			memcpy(s + n, p, strlen(p));
			n += strlen(p);
		}
		buf_reset(&a);
		jsonw_init(&w, &a);
		jsonw_string_utf8(&w, s, n);
		jsonw_string_open(&w);
		jsonw_string_append_utf8(&w, s, n);
		jsonw_string_close(&w);
		assert_int_equal(jsonw_finish(&w), 0);
		str(s, n);
		/* Both copies equal the checked writer's output. */
		assert_int_equal(a.len, 2 * out.len + 1);
		assert_memory_equal(a.data, out.data, out.len);
		assert_memory_equal(a.data + out.len + 1, out.data, out.len);
	}
	buf_free(&a);
}

static void test_keys_and_pieces(void **state)
{
	struct jsonw w;

	(void)state;
	buf_reset(&out);
	jsonw_init(&w, &out);
	jsonw_object_open(&w);
	jsonw_key_str(&w, "a\"b\xff", 4);   /* untrusted key: escaped */
	jsonw_string_open(&w);
	jsonw_string_append(&w, "x\"", 2);
	jsonw_string_append(&w, NULL, 0);
	jsonw_string_append(&w, "]\\", 2);
	jsonw_string_close(&w);
	jsonw_kv_str(&w, "k", "v", 1);
	jsonw_object_close(&w);
	assert_int_equal(jsonw_finish(&w), 0);
	assert_string_equal(text(), "{\"a\\\"b" FFFD "\":\"x\\\"]\\\\\",\"k\":\"v\"}");
}

/* RFC 4648 section 10 test vectors. */
static void test_base64(void **state)
{
	static const char *const vec[][2] = {
		{ "", "\"\"" }, { "f", "\"Zg==\"" }, { "fo", "\"Zm8=\"" },
		{ "foo", "\"Zm9v\"" }, { "foob", "\"Zm9vYg==\"" },
		{ "fooba", "\"Zm9vYmE=\"" }, { "foobar", "\"Zm9vYmFy\"" },
	};
	struct jsonw w;

	(void)state;
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		buf_reset(&out);
		jsonw_init(&w, &out);
		jsonw_base64(&w, (const uint8_t *)vec[i][0], strlen(vec[i][0]));
		assert_int_equal(jsonw_finish(&w), 0);
		assert_string_equal(text(), vec[i][1]);
	}
	buf_reset(&out);
	jsonw_init(&w, &out);
	jsonw_base64(&w, (const uint8_t *)"\xff\xfe\x00", 3);
	assert_string_equal(text(), "\"//4A\"");
}

static void test_time_format(void **state)
{
	char s[32];

	(void)state;
	assert_int_equal(time_format_rfc3339_us(s, 0), TIME_RFC3339_US_LEN);
	assert_string_equal(s, "1970-01-01T00:00:00.000000Z");
	time_format_rfc3339_us(s, -1);
	assert_string_equal(s, "1969-12-31T23:59:59.999999Z");
	time_format_rfc3339_us(s, 1763732343123456LL);
	assert_string_equal(s, "2025-11-21T13:39:03.123456Z");
	time_format_rfc3339_us(s, 951782400000000LL);   /* a leap day */
	assert_string_equal(s, "2000-02-29T00:00:00.000000Z");
	time_format_rfc3339_us(s, INT64_MAX);
	assert_string_equal(s, "9999-12-31T23:59:59.999999Z");
	time_format_rfc3339_us(s, INT64_MIN);
	assert_string_equal(s, "0000-01-01T00:00:00.000000Z");
}

/* The arithmetic agrees with the C library's gmtime_r over a wide range,
 * including negative times and century leap rules. */
static void test_time_vs_gmtime(void **state)
{
	char s[32], want[96];  /* room for any int the compiler imagines */
	uint64_t x = 88172645463325252ULL;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		struct tm tm;
		int64_t us;
		time_t t;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Years 1 to 9999. */
		us = (int64_t)(x % 315537897600000000ULL) - 62135596800000000LL;
		t = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
		assert_non_null(gmtime_r(&t, &tm));
		snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(us - (int64_t)t * 1000000));
		time_format_rfc3339_us(s, us);
		assert_string_equal(s, want);
	}
}

static void test_civil(void **state)
{
	int y, m, d;

	(void)state;
	assert_int_equal(time_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(time_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(time_days_from_civil(1969, 12, 31), -1);
	for (int64_t days = -800000; days <= 3000000; days += 97) {
		time_civil_from_days(days, &y, &m, &d);
		assert_true(m >= 1 && m <= 12 && d >= 1 && d <= time_days_in_month(y, m));
		assert_int_equal(time_days_from_civil(y, m, d), days);
	}
	assert_int_equal(time_days_in_month(2024, 2), 29);
	assert_int_equal(time_days_in_month(2100, 2), 28);
	assert_int_equal(time_days_in_month(2000, 2), 29);
	assert_int_equal(time_days_in_month(2026, 4), 30);
	assert_int_equal(time_days_in_month(2026, 13), 0);
	assert_int_equal(time_days_in_month(2026, 0), 0);
}

static void test_utf8_valid_len(void **state)
{
	(void)state;
	assert_int_equal(jsonw_utf8_valid_len("", 0), 0);
	assert_int_equal(jsonw_utf8_valid_len("abcdefghijklmnopq\xff", 18), 17);
	assert_int_equal(jsonw_utf8_valid_len("\xe9\x98\xb2\xe9\x98", 5), 3);
	assert_int_equal(jsonw_utf8_valid_len("\xc2\x80", 2), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_depth_errors),
		cmocka_unit_test(test_enomem_on_overflow),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_utf8_repair),
		cmocka_unit_test(test_blocks_all_offsets),
		cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_string_utf8),
		cmocka_unit_test(test_keys_and_pieces),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_time_vs_gmtime),
		cmocka_unit_test(test_civil),
		cmocka_unit_test(test_utf8_valid_len),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
