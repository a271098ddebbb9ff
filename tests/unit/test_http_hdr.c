/* http_hdr: headers collected from http-parser's pieces, fed whole and
 * cut in every place, come out once each, in order; a name or value
 * longer than its buffer comes out flagged, with its length, never as a
 * header of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http_hdr.h"

struct seen {
	int n;
	char field[4][HTTP_HDR_FIELD_MAX];
	char value[4][HTTP_HDR_VALUE_MAX];
	bool field_ok[4], value_ok[4];
	size_t value_len[4];
};

static void on_hdr(void *arg, const struct http_hdr *h, bool field_ok, bool value_ok)
{
	struct seen *s = arg;

	assert_true(s->n < 4);
	strcpy(s->field[s->n], h->field);
	strcpy(s->value[s->n], h->value);
	s->field_ok[s->n] = field_ok;
	s->value_ok[s->n] = value_ok;
	s->value_len[s->n] = h->value_len;
	s->n++;
}

/* Feeds name/value pairs, each cut into pieces of `step` bytes. */
static void feed(struct seen *s, const char *const *pairs, int n, size_t step)
{
	struct http_hdr h;
	int i;

	memset(s, 0, sizeof(*s));
	http_hdr_reset(&h);
	for (i = 0; i < n; i++) {
		const char *f = pairs[2 * i], *v = pairs[2 * i + 1];
		size_t off;

		for (off = 0; off < strlen(f); off += step)
			http_hdr_on_field(&h, f + off, strlen(f) - off < step ? strlen(f) - off : step,
					  on_hdr, s);
		for (off = 0; off < strlen(v); off += step)
			http_hdr_on_value(&h, v + off, strlen(v) - off < step ? strlen(v) - off : step);
	}
	http_hdr_finish(&h, on_hdr, s);
	/* A second finish has nothing left to complete. */
	http_hdr_finish(&h, on_hdr, s);
}

static void test_pieces(void **state)
{
	static const char *const pairs[] = {
		"Authorization", "Splunk 0123", "Content-Encoding", "gzip", "Expect", "100-continue",
	};
	size_t step;

	(void)state;
	for (step = 1; step <= 20; step++) {
		struct seen s;

		feed(&s, pairs, 3, step);
		assert_int_equal(s.n, 3);
		assert_string_equal(s.field[0], "Authorization");
		assert_string_equal(s.value[0], "Splunk 0123");
		assert_string_equal(s.field[1], "Content-Encoding");
		assert_string_equal(s.value[1], "gzip");
		assert_string_equal(s.field[2], "Expect");
		assert_string_equal(s.value[2], "100-continue");
		assert_true(s.field_ok[2] && s.value_ok[2]);
		assert_int_equal(s.value_len[0], strlen("Splunk 0123"));
	}
}

static void test_too_long(void **state)
{
	char longv[HTTP_HDR_VALUE_MAX + 10], longf[HTTP_HDR_FIELD_MAX + 1];
	const char *pairs[4];
	struct seen s;

	(void)state;
	memset(longv, 'v', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	memset(longf, 'f', sizeof(longf) - 1);
	longf[sizeof(longf) - 1] = '\0';
	pairs[0] = "Authorization";
	pairs[1] = longv;
	pairs[2] = longf;
	pairs[3] = "x";
	feed(&s, pairs, 2, 7);
	assert_int_equal(s.n, 2);
	assert_true(s.field_ok[0]);
	assert_false(s.value_ok[0]);
	assert_int_equal(s.value_len[0], strlen(longv));
	assert_int_equal(strlen(s.value[0]), HTTP_HDR_VALUE_MAX - 1);
	/* A name of exactly the buffer's size does not fit with its NUL. */
	assert_false(s.field_ok[1]);
	assert_true(s.value_ok[1]);
	assert_string_equal(s.value[1], "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
