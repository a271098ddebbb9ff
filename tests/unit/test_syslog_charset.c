/* Unit tests for agent/syslog/syslog_charset.c: RFC 3629 UTF-8 checking
 * and GBK/GB18030 decoding through glibc's iconv. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "syslog/syslog_charset.h"

/* 防火墙 ("firewall") in GBK and in UTF-8. */
#define FW_GBK  "\xb7\xc0\xbb\xf0\xc7\xbd"
#define FW_UTF8 "\xe9\x98\xb2\xe7\x81\xab\xe5\xa2\x99"

static int setup(void **state)
{
	*state = charset_conv_create();
	return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	charset_conv_destroy(*state);
	charset_conv_destroy(NULL);
	return 0;
}

#define VALID(s) utf8_valid((s), sizeof(s) - 1)

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(VALID("plain ASCII, long enough for the 8-byte path"));
	assert_true(VALID(FW_UTF8));
	assert_true(VALID("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"));
	assert_true(VALID("\0 NUL is a character"));
	/* RFC 3629 section 3: no overlongs, surrogates or values > U+10FFFF. */
	assert_false(VALID("\xc0\x80"));
	assert_false(VALID("\xc1\xbf"));
	assert_false(VALID("\xe0\x80\x80"));
	assert_false(VALID("\xe0\x9f\xbf"));
	assert_false(VALID("\xed\xa0\x80"));
	assert_false(VALID("\xed\xbf\xbf"));
	assert_false(VALID("\xf0\x80\x80\x80"));
	assert_false(VALID("\xf4\x90\x80\x80"));
	assert_false(VALID("\xf5\x80\x80\x80"));
	assert_false(VALID("\xff"));
	/* Lone continuation bytes and sequences cut short. */
	assert_false(VALID("\x80"));
	assert_false(VALID("abc\xe9\x98"));
	assert_false(VALID("\xe9\x98x"));
	assert_false(VALID("0123456789abcdef0123456789abcde\xc2"));
	assert_false(VALID(FW_GBK));
}

static void test_utf8_passes_without_copy(void **state)
{
	struct buf out = BUF_INIT;

	assert_int_equal(charset_to_utf8(*state, "<13>" FW_UTF8, 13, &out), CHARSET_UTF8);
	assert_int_equal(out.len, 0);
	assert_null(out.data);
	buf_free(&out);
}

static void test_gbk(void **state)
{
	static const char in[] = "<134>Nov 21 13:39:02 localhost fwlog: " FW_GBK " ok";
	static const char want[] = "<134>Nov 21 13:39:02 localhost fwlog: " FW_UTF8 " ok";
	struct buf out = BUF_INIT;

	assert_int_equal(charset_to_utf8(*state, in, sizeof in - 1, &out), CHARSET_GB18030);
	assert_int_equal(out.len, sizeof want - 1);
	assert_memory_equal(out.data, want, out.len);
	/* The converter resets between calls: a second decode is the same. */
	buf_reset(&out);
	assert_int_equal(charset_to_utf8(*state, FW_GBK, 6, &out), CHARSET_GB18030);
	assert_int_equal(out.len, 9);
	assert_memory_equal(out.data, FW_UTF8, 9);
	buf_free(&out);
}

/* A four-byte GB18030 sequence (U+0080) and GBK's trail bytes in the ASCII
 * range ('@' 0x40 .. '~' 0x7e, which includes '[', ']' and '\'). */
static void test_gb18030_specials(void **state)
{
	struct buf out = BUF_INIT;

	assert_int_equal(charset_to_utf8(*state, "\x81\x30\x81\x30", 4, &out), CHARSET_GB18030);
	assert_int_equal(out.len, 2);
	assert_memory_equal(out.data, "\xc2\x80", 2);
	/* 乗 is GBK 81 5C: its trail byte is '\'. */
	buf_reset(&out);
	assert_int_equal(charset_to_utf8(*state, "a\x81\x5c" "b", 4, &out), CHARSET_GB18030);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "a\xe4\xb9\x97" "b", 5);
	buf_free(&out);
}

/* Output is appended; on failure what was there stays. */
static void test_appends_and_restores(void **state)
{
	struct buf out = BUF_INIT;

	buf_append_str(&out, "prefix:");
	assert_int_equal(charset_to_utf8(*state, FW_GBK, 6, &out), CHARSET_GB18030);
	assert_int_equal(out.len, 7 + 9);
	assert_memory_equal(out.data, "prefix:" FW_UTF8, 16);
	assert_int_equal(charset_to_utf8(*state, "\xff\xfe\xfd", 3, &out), CHARSET_UNDECODABLE);
	assert_int_equal(out.len, 16);
	buf_free(&out);
}

static void test_undecodable(void **state)
{
	struct buf out = BUF_INIT;

	/* 0xFF is in neither; a lead byte cut off at the end; a bad trail. */
	assert_int_equal(charset_to_utf8(*state, "\xff\xfe", 2, &out), CHARSET_UNDECODABLE);
	assert_int_equal(charset_to_utf8(*state, "ok " FW_GBK "\xb7", 10, &out),
			 CHARSET_UNDECODABLE);
	assert_int_equal(charset_to_utf8(*state, "\xb7\x20", 2, &out), CHARSET_UNDECODABLE);
	assert_int_equal(out.len, 0);
	/* Without a converter only UTF-8 is recognised. */
	assert_int_equal(charset_to_utf8(NULL, FW_GBK, 6, &out), CHARSET_UNDECODABLE);
	assert_int_equal(charset_to_utf8(NULL, FW_UTF8, 9, &out), CHARSET_UTF8);
	buf_free(&out);
}

/* Long input: the decoder's output estimate and E2BIG loop hold up. */
static void test_long_gbk(void **state)
{
	enum { N = 5000 };
	static char in[6 * N];
	struct buf out = BUF_INIT;

	for (int i = 0; i < N; i++)
		memcpy(in + 6 * i, FW_GBK, 6);
	assert_int_equal(charset_to_utf8(*state, in, sizeof in, &out), CHARSET_GB18030);
	assert_int_equal(out.len, 9 * N);
	assert_memory_equal(out.data + 9 * (N - 1), FW_UTF8, 9);
	buf_free(&out);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(charset_result_name(CHARSET_UTF8), "utf-8");
	assert_string_equal(charset_result_name(CHARSET_GB18030), "gb18030");
	assert_string_equal(charset_result_name(CHARSET_UNDECODABLE), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_passes_without_copy),
		cmocka_unit_test(test_gbk),
		cmocka_unit_test(test_gb18030_specials),
		cmocka_unit_test(test_appends_and_restores),
		cmocka_unit_test(test_undecodable),
		cmocka_unit_test(test_long_gbk),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
