/* Unit tests for agent/syslog/syslog_frame.c: RFC 6587 octet-counting and
 * non-transparent framing, detection per frame, truncation, bad counts and
 * the stream being cut at any byte. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "syslog/syslog_frame.h"

/* What the callback saw, as "msg|" per message ("msg!|" when truncated). */
struct seen {
	char text[8192];
	size_t len;
	int count;
	int stop_after;        /* return -ECANCELED after this many; 0: never */
	const uint8_t *lo, *hi; /* the fed chunk, to tell zero-copy deliveries */
	int zero_copy;
};

static int on_msg(void *arg, const char *msg, size_t len, bool truncated)
{
	struct seen *s = arg;

	assert_true(s->len + len + 2 < sizeof s->text);
	memcpy(s->text + s->len, msg, len);
	s->len += len;
	if (truncated)
		s->text[s->len++] = '!';
	s->text[s->len++] = '|';
	s->text[s->len] = '\0';
	s->count++;
	if (s->lo != NULL && (const uint8_t *)msg >= s->lo && (const uint8_t *)msg < s->hi)
		s->zero_copy++;
	if (s->stop_after != 0 && s->count == s->stop_after)
		return -ECANCELED;
	return 0;
}

/* Feeds the whole input in pieces of `step` bytes (0: in one piece), then
 * finishes the stream. */
static void run(struct syslog_framer *f, const char *in, size_t len, size_t step,
		struct seen *s)
{
	size_t off = 0;

	while (off < len) {
		size_t n = step == 0 || len - off < step ? len - off : step, used = 0;

		s->lo = (const uint8_t *)in + off;
		s->hi = s->lo + n;
		assert_int_equal(syslog_framer_feed(f, (const uint8_t *)in + off, n, on_msg, s, &used),
				 0);
		assert_int_equal(used, n);
		off += n;
	}
	assert_int_equal(syslog_framer_finish(f, on_msg, s), 0);
}

static const char *frame(const char *in, size_t len, uint32_t max, size_t step,
			 struct syslog_framer *f)
{
	static struct seen s;

	memset(&s, 0, sizeof s);
	syslog_framer_free(f);   /* f starts zeroed or from an earlier call */
	syslog_framer_init(f, max);
	run(f, in, len, step, &s);
	return s.text;
}

#define FRAME(in, max) frame((in), sizeof(in) - 1, (max), 0, &f)

static void test_lf(void **state)
{
	struct syslog_framer f = { 0 };

	(void)state;
	assert_string_equal(FRAME("<13>a\n<13>b\n", 0), "<13>a|<13>b|");
	assert_int_equal(f.frames, 2);
	assert_int_equal(f.last, SYSLOG_FRAMING_LF);
	/* CR LF, a NUL trailer, and Hillstone's LF NUL. */
	assert_string_equal(FRAME("<13>a\r\n<13>b\0<13>c\n\0", 0), "<13>a|<13>b|<13>c|");
	/* A lone CR is content. */
	assert_string_equal(FRAME("<13>a\rb\n", 0), "<13>a\rb|");
	/* Empty frames carry nothing. */
	assert_string_equal(FRAME("\n\n\r\n\0\n", 0), "");
	assert_int_equal(f.frames, 0);
	/* The last line without its LF is delivered at the end. */
	assert_string_equal(FRAME("<13>a\n<13>tail", 0), "<13>a|<13>tail|");
	syslog_framer_free(&f);
}

static void test_octet(void **state)
{
	struct syslog_framer f = { 0 };

	(void)state;
	assert_string_equal(FRAME("5 hello3 abc", 0), "hello|abc|");
	assert_int_equal(f.last, SYSLOG_FRAMING_OCTET);
	/* The MSG may hold LF and NUL: only the count matters. */
	assert_string_equal(frame("11 hello\n\0orld", 14, 0, 0, &f), "hello\n\0orld|");
	/* Some senders add LF after each frame: an empty LF frame. */
	assert_string_equal(FRAME("3 abc\n3 def\n", 0), "abc|def|");
	assert_int_equal(f.frames, 2);
	syslog_framer_free(&f);
}

/* Detection is per frame, so mixed senders are understood. */
static void test_mixed(void **state)
{
	struct syslog_framer f = { 0 };

	(void)state;
	assert_string_equal(FRAME("5 hello<13>x\n7 abcdefg<13>y\n", 0),
			    "hello|<13>x|abcdefg|<13>y|");
	assert_int_equal(f.last, SYSLOG_FRAMING_LF);
	syslog_framer_free(&f);
}

/* The same stream cut at every possible step gives the same messages. */
static void test_any_split(void **state)
{
	static const char in[] = "5 hello<13>x\r\n12 0123456789\r\n\n<13>line two\0"
				 "12x bad count\n<14>last";
	const char *want = "hello|<13>x|0123456789\r\n|<13>line two|12x bad count|<14>last|";
	struct syslog_framer f = { 0 };

	(void)state;
	for (size_t step = 0; step < sizeof in; step++) {
		assert_string_equal(frame(in, sizeof in - 1, 0, step, &f), want);
		assert_int_equal(f.bad_length, 1);
		syslog_framer_free(&f);
	}
}

/* Whole frames inside one read reach the callback without a copy. */
static void test_zero_copy(void **state)
{
	static const char in[] = "<13>a\n5 hello<13>b\r\n";
	struct syslog_framer f = { 0 };
	struct seen s;

	(void)state;
	memset(&s, 0, sizeof s);
	syslog_framer_init(&f, 0);
	run(&f, in, sizeof in - 1, 0, &s);
	assert_int_equal(s.count, 3);
	assert_int_equal(s.zero_copy, 3);
	assert_null(f.acc.data);   /* nothing was ever assembled */
	syslog_framer_free(&f);
}

static void test_truncation_lf(void **state)
{
	struct syslog_framer f = { 0 };

	(void)state;
	assert_string_equal(FRAME("0123456789abc\n<13>ok\n", 8), "01234567!|<13>ok|");
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.frames, 2);
	/* Exactly max bytes plus CR LF is not truncated. */
	assert_string_equal(FRAME("abcd\r\n", 4), "abcd|");
	assert_int_equal(f.truncated, 0);
	/* The same when the CR arrives in a later read than the text. */
	for (size_t step = 1; step < 6; step++) {
		assert_string_equal(frame("abcd\r\n", 6, 4, step, &f), "abcd|");
		assert_string_equal(frame("abcde\r\n", 7, 4, step, &f), "abcd!|");
		syslog_framer_free(&f);
	}
	/* Truncated split across reads. */
	assert_string_equal(frame("0123456789abc\nx\n", 16, 8, 3, &f), "01234567!|x|");
	syslog_framer_free(&f);
}

static void test_truncation_octet(void **state)
{
	struct syslog_framer f = { 0 };

	(void)state;
	assert_string_equal(FRAME("14 0123456789abcd3 xyz", 8), "01234567!|xyz|");
	assert_int_equal(f.truncated, 1);
	for (size_t step = 1; step < 10; step++) {
		assert_string_equal(frame("14 0123456789abcd3 xyz", 22, 8, step, &f),
				    "01234567!|xyz|");
		syslog_framer_free(&f);
	}
}

/* Memory stays bounded by max_msg_bytes however long the frame. */
static void test_memory_bound(void **state)
{
	size_t big = 1 << 20;
	char *in = malloc(big + 1);
	struct syslog_framer f = { 0 };
	struct seen s;

	(void)state;
	assert_non_null(in);
	memset(in, 'x', big);
	in[big] = '\n';
	memset(&s, 0, sizeof s);
	syslog_framer_init(&f, 1024);
	run(&f, in, big + 1, 4096, &s);
	assert_int_equal(s.count, 1);
	assert_true(f.acc.cap <= 2 * 1024);
	syslog_framer_free(&f);

	/* An octet count of a billion bytes is skipped, never stored. */
	memset(&s, 0, sizeof s);
	syslog_framer_init(&f, 64);
	memcpy(in, "1000000000 ", 11);
	run(&f, in, big, 4096, &s);
	assert_int_equal(s.count, 1);   /* delivered short at the end */
	assert_true(f.acc.cap <= 256);
	syslog_framer_free(&f);
	free(in);
}

static void test_bad_length(void **state)
{
	struct syslog_framer f = { 0 };

	(void)state;
	/* Digits not followed by SP: LF framing, digits kept. */
	assert_string_equal(FRAME("12x hello\n", 0), "12x hello|");
	assert_int_equal(f.bad_length, 1);
	assert_int_equal(f.last, SYSLOG_FRAMING_LF);
	/* More digits than a count may have. */
	assert_string_equal(FRAME("12345678901 x\n", 0), "12345678901 x|");
	assert_int_equal(f.bad_length, 1);
	/* A message that happens to begin with digits and a newline. */
	assert_string_equal(FRAME("42\n", 0), "42|");
	assert_int_equal(f.bad_length, 1);
	/* Digits at the very end of the stream. */
	assert_string_equal(FRAME("<13>a\n123", 0), "<13>a|123|");
	/* ... and longer than max_msg_bytes. */
	assert_string_equal(FRAME("<13>a\n12345678", 5), "<13>a|12345!|");
	/* A leading '0' is not a count (NONZERO-DIGIT). */
	assert_string_equal(FRAME("0 x\n", 0), "0 x|");
	assert_int_equal(f.bad_length, 0);
	syslog_framer_free(&f);
}

/* A stream that ends before the count is satisfied: what came is kept,
 * flagged as truncated. */
static void test_short_octet_frame(void **state)
{
	struct syslog_framer f = { 0 };

	(void)state;
	assert_string_equal(FRAME("10 abc", 0), "abc!|");
	assert_int_equal(f.truncated, 1);
	assert_string_equal(FRAME("10 ", 0), "");
	syslog_framer_free(&f);
}

/* The callback can stop the feed; the rest is fed again later. */
static void test_stop(void **state)
{
	static const char in[] = "3 abc<13>x\n3 def";
	struct syslog_framer f = { 0 };
	struct seen s;
	size_t used = 0;

	(void)state;
	memset(&s, 0, sizeof s);
	s.stop_after = 1;
	syslog_framer_init(&f, 0);
	assert_int_equal(syslog_framer_feed(&f, (const uint8_t *)in, sizeof in - 1, on_msg, &s,
					    &used), -ECANCELED);
	assert_int_equal(used, 5);
	s.stop_after = 0;
	run(&f, in + used, sizeof in - 1 - used, 0, &s);
	assert_string_equal(s.text, "abc|<13>x|def|");
	syslog_framer_free(&f);
	syslog_framer_free(NULL);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(syslog_framing_name(SYSLOG_FRAMING_OCTET), "octet-counting");
	assert_string_equal(syslog_framing_name(SYSLOG_FRAMING_LF), "non-transparent");
	assert_string_equal(syslog_framing_name(SYSLOG_FRAMING_UNKNOWN), "unknown");
}

static void test_default_max(void **state)
{
	struct syslog_framer f = { 0 };

	(void)state;
	syslog_framer_init(&f, 0);
	assert_int_equal(f.max_msg_bytes, SYSLOG_FRAME_DEFAULT_MAX);
	syslog_framer_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lf),
		cmocka_unit_test(test_octet),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_any_split),
		cmocka_unit_test(test_zero_copy),
		cmocka_unit_test(test_truncation_lf),
		cmocka_unit_test(test_truncation_octet),
		cmocka_unit_test(test_memory_bound),
		cmocka_unit_test(test_bad_length),
		cmocka_unit_test(test_short_octet_frame),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_default_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
