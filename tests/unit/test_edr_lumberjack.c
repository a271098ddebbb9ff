/* The Lumberjack v2 decoder: windows, JSON frames split anywhere,
 * compressed frames, resuming after a refused event (also with windows
 * inflated into a buffer decoders share), each malformed
 * frame, and the ACK frame. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "edr/edr_lumberjack.h"

struct seen {
	uint32_t seqs[64];
	char text[64][32];
	unsigned n;
	int refuse_at;      /* refuse the event with this seq once; 0 = never */
};

static int on_event(void *arg, uint32_t seq, const uint8_t *json, size_t len)
{
	struct seen *s = arg;

	if (s->refuse_at != 0 && (int)seq == s->refuse_at) {
		s->refuse_at = 0;
		return -ENOSPC;
	}
	assert_true(s->n < 64 && len < 32);
	s->seqs[s->n] = seq;
	memcpy(s->text[s->n], json, len);
	s->text[s->n][len] = '\0';
	s->n++;
	return 0;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 4;
}

static size_t window(uint8_t *p, uint32_t n)
{
	p[0] = '2';
	p[1] = 'W';
	return 2 + put32(p + 2, n);
}

static size_t jframe(uint8_t *p, uint32_t seq, const char *json)
{
	size_t n = strlen(json);

	p[0] = '2';
	p[1] = 'J';
	put32(p + 2, seq);
	put32(p + 6, (uint32_t)n);
	memcpy(p + 10, json, n);
	return 10 + n;
}

static size_t cframe(uint8_t *p, const uint8_t *inner, size_t n)
{
	uLongf zl = 4096;

	assert_int_equal(compress(p + 6, &zl, inner, n), Z_OK);
	p[0] = '2';
	p[1] = 'C';
	put32(p + 2, (uint32_t)zl);
	return 6 + zl;
}

static void test_split_anywhere(void **state)
{
	uint8_t s[256];
	size_t n = 0, cut;

	(void)state;
	n += window(s + n, 2);
	n += jframe(s + n, 1, "{\"a\":1}");
	n += jframe(s + n, 2, "{\"b\":2}");
	for (cut = 0; cut <= n; cut++) {
		struct edr_lj d;
		struct seen seen = { 0 };

		edr_lj_init(&d, 1024, 65536);
		assert_int_equal(edr_lj_push(&d, s, cut), 0);
		assert_int_equal(edr_lj_decode(&d, on_event, &seen), 0);
		assert_int_equal(edr_lj_push(&d, s + cut, n - cut), 0);
		assert_int_equal(edr_lj_decode(&d, on_event, &seen), 0);
		assert_int_equal(seen.n, 2);
		assert_int_equal(seen.seqs[1], 2);
		assert_string_equal(seen.text[1], "{\"b\":2}");
		assert_int_equal(d.window, 2);
		assert_int_equal(edr_lj_buffered(&d), 0);
		edr_lj_free(&d);
	}
}

static void test_compressed_and_refused(void **state)
{
	uint8_t inner[256], s[4096];
	size_t in = 0, n = 0;
	struct edr_lj d;
	struct seen seen = { .refuse_at = 2 };

	(void)state;
	in += window(inner + in, 3);
	in += jframe(inner + in, 1, "1");
	in += jframe(inner + in, 2, "2");
	in += jframe(inner + in, 3, "3");
	n += cframe(s, inner, in);
	n += jframe(s + n, 4, "4");
	edr_lj_init(&d, 1024, 65536);
	assert_int_equal(edr_lj_push(&d, s, n), 0);
	/* Event 2 is refused: decoding stops before it, inside the 'C'. */
	assert_int_equal(edr_lj_decode(&d, on_event, &seen), -ENOSPC);
	assert_int_equal(seen.n, 1);
	assert_int_equal(edr_lj_decode(&d, on_event, &seen), 0);
	assert_int_equal(seen.n, 4);
	assert_string_equal(seen.text[1], "2");
	assert_string_equal(seen.text[3], "4");
	assert_int_equal(d.compressed_frames, 1);
	edr_lj_free(&d);
}

static void expect_error(const uint8_t *s, size_t n, int rc, size_t max_body)
{
	struct edr_lj d;
	struct seen seen = { 0 };

	edr_lj_init(&d, 16, max_body);
	assert_int_equal(edr_lj_push(&d, s, n), 0);
	assert_int_equal(edr_lj_decode(&d, on_event, &seen), rc);
	assert_non_null(d.error);
	edr_lj_free(&d);
}

/* Two connections' decoders inflating into one shared buffer, as the
 * relay's do: the first refuses an event inside its window, the second
 * decodes a whole window meanwhile, and the first then resumes with the
 * rest of its own window, which moved to its own buffer. */
static void test_shared_window(void **state)
{
	uint8_t inner[256], sa[512], sb[512];
	struct seen a = { .refuse_at = 2 }, b = { 0 };
	struct edr_lj da, db;
	struct buf scratch = BUF_INIT;
	size_t n, la, lb;

	(void)state;
	n = jframe(inner, 1, "{\"a\":1}");
	n += jframe(inner + n, 2, "{\"a\":2}");
	n += jframe(inner + n, 3, "{\"a\":3}");
	la = window(sa, 3);
	la += cframe(sa + la, inner, n);
	n = jframe(inner, 1, "{\"b\":1}");
	n += jframe(inner + n, 2, "{\"b\":2}");
	lb = window(sb, 2);
	lb += cframe(sb + lb, inner, n);
	edr_lj_init(&da, 1024, 65536);
	edr_lj_init(&db, 1024, 65536);
	edr_lj_set_scratch(&da, &scratch);
	edr_lj_set_scratch(&db, &scratch);
	assert_int_equal(edr_lj_push(&da, sa, la), 0);
	assert_int_equal(edr_lj_push(&db, sb, lb), 0);
	assert_int_equal(edr_lj_decode(&da, on_event, &a), -ENOSPC);
	assert_int_equal(a.n, 1);
	assert_int_equal(scratch.len, 0);
	assert_int_equal(edr_lj_decode(&db, on_event, &b), 0);
	assert_int_equal(b.n, 2);
	assert_string_equal(b.text[1], "{\"b\":2}");
	assert_int_equal(scratch.len, 0);
	assert_int_equal(edr_lj_decode(&da, on_event, &a), 0);
	assert_int_equal(a.n, 3);
	assert_string_equal(a.text[1], "{\"a\":2}");
	assert_string_equal(a.text[2], "{\"a\":3}");
	assert_int_equal(a.seqs[2], 3);
	assert_int_equal(scratch.len, 0);
	/* The next window of the first goes through the shared buffer again. */
	assert_int_equal(edr_lj_push(&da, sb, lb), 0);
	assert_int_equal(edr_lj_decode(&da, on_event, &a), 0);
	assert_int_equal(a.n, 5);
	assert_int_equal(da.inner.cap, 0);
	edr_lj_free(&da);
	edr_lj_free(&db);
	buf_free(&scratch);
}

static void test_malformed(void **state)
{
	static uint8_t zeros[100000];
	uint8_t s[4096], inner[256];
	size_t n;

	(void)state;
	expect_error((const uint8_t *)"1W\0\0\0\1", 6, -EBADMSG, 65536);
	expect_error((const uint8_t *)"2D\0\0\0\1\0\0\0\0", 10, -EBADMSG, 65536);
	expect_error((const uint8_t *)"2Z", 2, -EBADMSG, 65536);
	expect_error((const uint8_t *)"xx", 2, -EBADMSG, 65536);
	/* A JSON frame over max_event (16 here), refused from its header. */
	expect_error((const uint8_t *)"2J\0\0\0\1\0\0\0\x11", 10, -EMSGSIZE, 65536);
	/* A 'C' frame longer than max_body as sent. */
	expect_error((const uint8_t *)"2C\0\1\0\1", 6, -EMSGSIZE, 65536);
	/* Not zlib inside. */
	expect_error((const uint8_t *)"2C\0\0\0\3abc", 9, -EBADMSG, 65536);
	/* A 'C' inside a 'C'. */
	n = cframe(inner, (const uint8_t *)"2W\0\0\0\1", 6);
	n = cframe(s, inner, n);
	expect_error(s, n, -EBADMSG, 65536);
	/* A 'C' whose content ends inside a frame. */
	n = cframe(s, (const uint8_t *)"2J\0\0\0\1\0\0\0\5ab", 12);
	expect_error(s, n, -EBADMSG, 65536);
	/* A bomb: 100000 bytes decompressed from a small frame, max_body 65536. */
	n = cframe(s, zeros, sizeof(zeros));
	assert_true(n < 4096);
	expect_error(s, n, -EMSGSIZE, 65536);
}

static void test_ack(void **state)
{
	uint8_t a[6];

	(void)state;
	edr_lj_format_ack(a, 0x01020304);
	assert_memory_equal(a, "2A\x01\x02\x03\x04", 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_anywhere),
		cmocka_unit_test(test_compressed_and_refused),
		cmocka_unit_test(test_shared_window),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_ack),
	};

	return cmocka_run_group_tests_name("edr_lumberjack", tests, NULL, NULL);
}
