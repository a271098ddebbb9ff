/* uplink: the pure parts -- answer classification (docs/soc-api.md),
 * full-jitter backoff bounds, and Retry-After (RFC 9110 section 10.2.3). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "uplink.h"

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(uplink_classify(200), UPLINK_ACKED);
	assert_int_equal(uplink_classify(201), UPLINK_ACKED);
	assert_int_equal(uplink_classify(299), UPLINK_ACKED);
	assert_int_equal(uplink_classify(409), UPLINK_ACKED);
	assert_int_equal(uplink_classify(429), UPLINK_BACK_OFF);
	assert_int_equal(uplink_classify(503), UPLINK_BACK_OFF);
	assert_int_equal(uplink_classify(400), UPLINK_QUARANTINE);
	assert_int_equal(uplink_classify(403), UPLINK_QUARANTINE);
	assert_int_equal(uplink_classify(413), UPLINK_QUARANTINE);
	assert_int_equal(uplink_classify(499), UPLINK_QUARANTINE);
	assert_int_equal(uplink_classify(500), UPLINK_FAILED);
	assert_int_equal(uplink_classify(502), UPLINK_FAILED);
	assert_int_equal(uplink_classify(504), UPLINK_FAILED);
	assert_int_equal(uplink_classify(100), UPLINK_FAILED);
	assert_int_equal(uplink_classify(301), UPLINK_FAILED);
	assert_int_equal(uplink_classify(0), UPLINK_FAILED);
	assert_int_equal(uplink_classify(999), UPLINK_FAILED);
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_backoff_bounds(void **state)
{
	uint64_t seed = 88172645463325252ULL, ceil, v, max_seen;
	unsigned a, i;

	(void)state;
	for (a = 0; a < 70; a++) {
		ceil = a < 20 ? 1000ull << a : 300000;
		if (ceil > 300000)
			ceil = 300000;
		max_seen = 0;
		for (i = 0; i < 2000; i++) {
			v = uplink_backoff_ms(a, 1000, 300000, xs(&seed));
			assert_true(v <= ceil);
			if (v > max_seen)
				max_seen = v;
		}
		/* Full jitter spreads over the whole range, not just its top. */
		assert_true(max_seen > ceil / 2);
	}
	/* The extremes of the draw reach both ends. */
	assert_int_equal(uplink_backoff_ms(0, 1000, 300000, 0), 0);
	assert_int_equal(uplink_backoff_ms(0, 1000, 300000, 1000), 1000);
	assert_int_equal(uplink_backoff_ms(3, 1000, 300000, 8000), 8000);
	assert_int_equal(uplink_backoff_ms(3, 1000, 300000, 8001), 0);
	assert_int_equal(uplink_backoff_ms(1000, 1000, 300000, 300000), 300000);
	assert_int_equal(uplink_backoff_ms(UINT32_MAX, 1, UINT64_MAX, 5), 5);
	/* A base above the cap is cut to the cap. */
	assert_true(uplink_backoff_ms(0, 5000, 100, UINT64_MAX) <= 100);
	assert_int_equal(uplink_backoff_ms(5, 0, 100, 12345), 0);
}

static void ra_ok(const char *v, int64_t now, uint64_t want_ms)
{
	uint64_t ms = 12345;

	assert_int_equal(uplink_parse_retry_after(v, strlen(v), now, &ms), 0);
	assert_int_equal(ms, want_ms);
}

static void ra_bad(const char *v)
{
	uint64_t ms = 12345;

	assert_int_equal(uplink_parse_retry_after(v, strlen(v), 0, &ms), -EINVAL);
	assert_int_equal(ms, 0);
}

static void test_retry_after(void **state)
{
	(void)state;
	ra_ok("0", 0, 0);
	ra_ok("1", 0, 1000);
	ra_ok(" 120 ", 0, 120000);
	ra_ok("\t7", 0, 7000);
	ra_ok("3600", 0, UPLINK_RETRY_AFTER_MAX);
	ra_ok("86400", 0, UPLINK_RETRY_AFTER_MAX);
	ra_ok("99999999999999999999999999", 0, UPLINK_RETRY_AFTER_MAX);
	/* RFC 9110's example date is 784111777 s after the epoch. */
	ra_ok("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30, 30000);
	ra_ok("Sun, 06 Nov 1994 08:49:37 GMT", 784111777, 0);
	ra_ok("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 99, 0);   /* past */
	ra_ok("Thu, 29 Feb 2024 23:59:59 GMT", 1709251199 - 2, 2000);
	ra_bad("");
	ra_bad("   ");
	ra_bad("-1");
	ra_bad("1.5");
	ra_bad("12s");
	ra_bad("soon");
	ra_bad("Sun, 06 Nov 1994 08:49:37 UTC");
	ra_bad("Sunday, 06-Nov-94 08:49:37 GMT");   /* obsolete forms: own backoff */
	ra_bad("Sun Nov  6 08:49:37 1994");
	ra_bad("Sun, 31 Nov 1994 08:49:37 GMT");
	ra_bad("Sun, 06 Nox 1994 08:49:37 GMT");
	ra_bad("Sun, 06 Nov 1994 24:49:37 GMT");
	ra_bad("Sun, 06 Nov 1994 08:4a:37 GMT");
	ra_bad("Thu, 29 Feb 2023 00:00:00 GMT");
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(uplink_state_name(UPLINK_IDLE), "idle");
	assert_string_equal(uplink_state_name(UPLINK_WAITING), "waiting");
	assert_string_equal(uplink_state_name((enum uplink_state)42), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_backoff_bounds),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
