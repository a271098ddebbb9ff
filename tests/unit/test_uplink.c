/* uplink: the pure parts -- answer classification (docs/soc-api.md),
 * full-jitter backoff bounds, Retry-After (RFC 9110 section 10.2.3), and
 * the response parser (uplink_http.h, RFC 9112) with one test per
 * malformed case, the in-flight window of pipelined requests and the
 * priority rule with aging (uplink.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "uplink.h"
#include "uplink_http.h"

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

/* ---- uplink_http ------------------------------------------------------------ */

/* Feeds `msg` in pieces of `piece` bytes (0 = whole) to a freshly armed
 * parser; returns the last result and the bytes consumed in `*taken`. */
static int resp_feed(struct uplink_resp *r, const char *msg, size_t piece, size_t *taken)
{
	size_t len = strlen(msg), off = 0, n, used;
	int rc = 0;

	*taken = 0;
	while (off < len) {
		n = piece == 0 || piece > len - off ? len - off : piece;
		rc = uplink_resp_feed(r, msg + off, n, &used);
		if (rc < 0)
			return rc;
		*taken += used;
		off += n;
		if (rc == 1)
			break;
	}
	return rc;
}

/* `msg` must give `want` (1 or an error) whole, byte by byte and in
 * 7-byte pieces, with limits of `max_header` and `max_body` bytes. */
static void resp_expect(const char *msg, size_t max_header, size_t max_body, int want,
			struct uplink_resp *out)
{
	static const size_t pieces[] = { 0, 1, 7 };
	size_t i, taken;

	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		uplink_resp_init(out, max_header, max_body);
		uplink_resp_start(out);
		assert_int_equal(resp_feed(out, msg, pieces[i], &taken), want);
		if (want == 1)
			assert_int_equal(taken, strlen(msg));
	}
}

static void resp_bad(const char *msg, int want)
{
	struct uplink_resp r;

	resp_expect(msg, 0, 0, want, &r);
}

static void test_resp_ok(void **state)
{
	struct uplink_resp r;
	uint64_t ms;

	(void)state;
	resp_expect("HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"stored\":true}",
		    0, 0, 1, &r);
	assert_int_equal(r.status, 200);
	assert_true(r.keep_alive);
	assert_string_equal(r.body, "{\"stored\":true}");
	assert_int_equal(uplink_resp_retry_after(&r, 0, &ms), -ENOENT);
	assert_int_equal(uplink_classify(r.status), UPLINK_ACKED);

	resp_expect("HTTP/1.1 409 Conflict\r\nContent-Length: 3\r\n\r\ndup", 0, 0, 1, &r);
	assert_int_equal(r.status, 409);
	assert_string_equal(r.body, "dup");

	resp_expect("HTTP/1.1 503 Busy\r\nretry-AFTER:  120 \r\nContent-Length: 0\r\n\r\n",
		    0, 0, 1, &r);
	assert_int_equal(r.status, 503);
	assert_int_equal(uplink_resp_retry_after(&r, 0, &ms), 0);
	assert_int_equal(ms, 120000);

	resp_expect("HTTP/1.1 503 Busy\r\nRetry-After: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
		    "Content-Length: 0\r\n\r\n", 0, 0, 1, &r);
	assert_int_equal(uplink_resp_retry_after(&r, 784111777 - 30, &ms), 0);
	assert_int_equal(ms, 30000);

	/* Chunked, with an extension and a trailer (which is ignored). */
	resp_expect("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "4;x=y\r\nbad \r\n5\r\nbatch\r\n0\r\nRetry-After: 9\r\n\r\n", 0, 0, 1, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(r.body, "bad batch");
	assert_true(r.keep_alive);
	assert_int_equal(uplink_resp_retry_after(&r, 0, &ms), -ENOENT);

	resp_expect("HTTP/1.1 429 Slow\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
		    0, 0, 1, &r);
	assert_false(r.keep_alive);
	resp_expect("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0, 1, &r);
	assert_false(r.keep_alive);

	/* Only the first UPLINK_RESP_BODY_KEEP bytes are kept. */
	{
		char msg[600];
		int n = snprintf(msg, sizeof(msg), "HTTP/1.1 500 Oops\r\nContent-Length: 300\r\n\r\n");

		memset(msg + n, 'e', 300);
		msg[n + 300] = '\0';
		resp_expect(msg, 0, 0, 1, &r);
		assert_int_equal(r.body_len, UPLINK_RESP_BODY_KEEP);
		assert_int_equal(strlen(r.body), UPLINK_RESP_BODY_KEEP);
	}
}

static void test_resp_retry_after_bad(void **state)
{
	struct uplink_resp r;
	uint64_t ms = 1;

	(void)state;
	resp_expect("HTTP/1.1 503 Busy\r\nRetry-After: 1\r\nRetry-After: 2\r\n"
		    "Content-Length: 0\r\n\r\n", 0, 0, 1, &r);
	assert_int_equal(uplink_resp_retry_after(&r, 0, &ms), -EINVAL);
	assert_int_equal(ms, 0);
	resp_expect("HTTP/1.1 503 Busy\r\nRetry-After: soon\r\nContent-Length: 0\r\n\r\n",
		    0, 0, 1, &r);
	assert_int_equal(uplink_resp_retry_after(&r, 0, &ms), -EINVAL);
	resp_expect("HTTP/1.1 503 Busy\r\nRetry-After: \r\nContent-Length: 0\r\n\r\n",
		    0, 0, 1, &r);
	assert_int_equal(uplink_resp_retry_after(&r, 0, &ms), -EINVAL);
	/* Longer than any valid value: refused, not cut to a valid one. */
	resp_expect("HTTP/1.1 503 Busy\r\nRetry-After: 1                                   "
		    "                                  0\r\nContent-Length: 0\r\n\r\n", 0, 0, 1, &r);
	assert_int_equal(uplink_resp_retry_after(&r, 0, &ms), -EINVAL);
	/* A longer name that starts the same is another field. */
	resp_expect("HTTP/1.1 503 Busy\r\nRetry-After-Not: 5\r\nContent-Length: 0\r\n\r\n",
		    0, 0, 1, &r);
	assert_int_equal(uplink_resp_retry_after(&r, 0, &ms), -ENOENT);
}

static void test_resp_malformed(void **state)
{
	(void)state;
	resp_bad("\x16\x03\x01\x02\x00\x01\x00", -EBADMSG);      /* TLS, not HTTP */
	resp_bad("GET / HTTP/1.1\r\n\r\n", -EBADMSG);            /* a request */
	resp_bad("HTTP/1.1 2x0 OK\r\n\r\n", -EBADMSG);
	resp_bad("HTTP/1.1 50 Oops\r\nContent-Length: 0\r\n\r\n", -EBADMSG);
	resp_bad("HTTP/1.1 1000 Oops\r\nContent-Length: 0\r\n\r\n", -EBADMSG);
	resp_bad("HTTP/9.1 200 OK\r\n\r\n", -EBADMSG);
	resp_bad("HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", -EBADMSG);
	resp_bad("XTTP/1.1 200 OK\r\n\r\n", -EBADMSG);
	resp_bad("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", -EBADMSG);
	resp_bad("HTTP/1.1 200 OK\r\nX\001: 1\r\n\r\n", -EBADMSG);
	resp_bad("HTTP/1.1 200 OK\r\nX: a\001b\r\n\r\n", -EBADMSG);
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", -EBADMSG);
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", -EBADMSG);
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		 -EBADMSG);
	resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", -EBADMSG);
	resp_bad("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "0\r\n\r\n", -EBADMSG);      /* both framings: smuggling */
	resp_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "fffffffffffffffffff\r\n", -EBADMSG);
}

static void test_resp_oversize(void **state)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody";
	struct uplink_resp r;
	char msg[9100];
	size_t head = strlen(ok) - 4;

	(void)state;
	/* The head may be as long as the limit, not longer; a head with a
	 * bad byte past the limit is too long first. */
	resp_expect(ok, head - 1, 0, 1, &r);    /* the last LF starts the body */
	resp_expect(ok, head - 2, 0, -EMSGSIZE, &r);
	resp_expect("HTTP/1.1 200 OK\r\nX-Pad: aaaaaaaaaaaa\001\r\n\r\n", 20, 0, -EMSGSIZE, &r);
	resp_expect("HTTP/1.1 200 OK\r\nX-Pad: a\001aaaaaaaaaaaa\r\n\r\n", 40, 0, -EBADMSG, &r);
	/* The body counts on the wire, from the head's last LF on. */
	resp_expect(ok, 0, 5, 1, &r);
	resp_expect(ok, 0, 4, -EMSGSIZE, &r);
	resp_expect("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nx\r\n0\r\n\r\n",
		    0, 32, -EMSGSIZE, &r);
	/* The default limits hold without being asked for. */
	snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\nX-Pad: %08999d\r\n\r\n", 0);
	resp_bad(msg, -EMSGSIZE);
}

static void test_resp_unasked(void **state)
{
	static const char two[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
				  "HTTP/1.1 409 Conflict\r\nContent-Length: 0\r\n\r\n";
	struct uplink_resp r;
	size_t used, first = strlen(two) - strlen(strstr(two + 1, "HTTP/"));

	(void)state;
	/* Nothing armed: a response to no request. */
	uplink_resp_init(&r, 0, 0);
	assert_int_equal(uplink_resp_feed(&r, "", 0, &used), 0);
	assert_int_equal(uplink_resp_feed(&r, two, strlen(two), &used), -EPROTO);
	assert_int_equal(used, 0);

	/* Two answers to one request: the first is taken, the rest refused,
	 * and the error sticks until the parser is armed again. */
	uplink_resp_start(&r);
	assert_int_equal(uplink_resp_feed(&r, two, strlen(two), &used), 1);
	assert_int_equal(used, first);
	assert_int_equal(r.status, 200);
	assert_int_equal(uplink_resp_feed(&r, two + used, strlen(two) - used, &used), -EPROTO);
	assert_int_equal(uplink_resp_feed(&r, "", 0, &used), -EPROTO);

	/* Armed again (a second request went out), the second is fine. */
	uplink_resp_start(&r);
	assert_int_equal(uplink_resp_feed(&r, two + first, strlen(two) - first, &used), 1);
	assert_int_equal(r.status, 409);
	assert_int_equal(r.body_len, 0);

	/* An error sticks too. */
	uplink_resp_start(&r);
	assert_int_equal(uplink_resp_feed(&r, "XTTP", 4, &used), -EBADMSG);
	assert_int_equal(uplink_resp_feed(&r, two, strlen(two), &used), -EBADMSG);
	assert_string_equal(uplink_resp_strerror(-EPROTO), "data nobody asked for");
}

/* ---- the in-flight window ---------------------------------------------- */

static void test_window_count_cap(void **state)
{
	struct uplink_window w;
	char name[32];
	unsigned i;

	(void)state;
	uplink_window_clear(&w);
	assert_null(uplink_window_oldest(&w));
	for (i = 0; i < 8; i++) {
		assert_true(uplink_window_may_send(&w, 8, 1u << 30, 100));
		snprintf(name, sizeof(name), "%020u.batch", i);
		assert_int_equal(uplink_window_push(&w, 1, name, 100, i), 0);
	}
	assert_int_equal(w.n, 8);
	assert_int_equal(w.bytes, 800);
	assert_false(uplink_window_may_send(&w, 8, 1u << 30, 100));
	assert_true(uplink_window_may_send(&w, 9, 1u << 30, 100));
	/* max_n above the array is cut to it. */
	for (; i < UPLINK_MAX_IN_FLIGHT; i++) {
		snprintf(name, sizeof(name), "%020u.batch", i);
		assert_int_equal(uplink_window_push(&w, 1, name, 1, i), 0);
	}
	assert_false(uplink_window_may_send(&w, 1000, UINT64_MAX, 1));
	assert_int_equal(uplink_window_push(&w, 1, "x.batch", 1, 0), -ENOSPC);
	uplink_window_clear(&w);
	assert_int_equal(w.n, 0);
	assert_int_equal(w.bytes, 0);
	assert_true(uplink_window_may_send(&w, 1, 0, 1));
}

static void test_window_bytes_cap(void **state)
{
	struct uplink_window w;

	(void)state;
	uplink_window_clear(&w);
	/* One request always may go, even one bigger than the cap. */
	assert_true(uplink_window_may_send(&w, 8, 1000, 5000));
	assert_int_equal(uplink_window_push(&w, 0, "a.batch", 600, 0), 0);
	assert_true(uplink_window_may_send(&w, 8, 1000, 400));
	assert_false(uplink_window_may_send(&w, 8, 1000, 401));
	assert_int_equal(uplink_window_push(&w, 0, "b.batch", 400, 0), 0);
	assert_false(uplink_window_may_send(&w, 8, 1000, 1));
	uplink_window_pop(&w, 10);
	assert_int_equal(w.bytes, 400);
	assert_true(uplink_window_may_send(&w, 8, 1000, 600));
	assert_false(uplink_window_may_send(&w, 8, 1000, 601));
	/* In flight above the cap (one big request): nothing more. */
	uplink_window_clear(&w);
	assert_int_equal(uplink_window_push(&w, 0, "big.batch", 5000, 0), 0);
	assert_false(uplink_window_may_send(&w, 8, 1000, 1));
}

static void test_window_order_and_once(void **state)
{
	struct uplink_window w;
	const struct uplink_sent *s;
	char name[32];
	unsigned i;

	(void)state;
	uplink_window_clear(&w);
	assert_int_equal(uplink_window_push(&w, 2, "a.batch", 10, 100), 0);
	assert_int_equal(uplink_window_push(&w, 0, "b.batch", 20, 150), 0);
	assert_int_equal(uplink_window_push(&w, 2, "c.batch", 30, 160), 0);
	/* Never the same batch twice while unanswered; the same name in
	 * another lane is another batch. */
	assert_int_equal(uplink_window_push(&w, 2, "a.batch", 10, 170), -EEXIST);
	assert_true(uplink_window_has(&w, 2, "a.batch"));
	assert_false(uplink_window_has(&w, 0, "a.batch"));
	assert_int_equal(uplink_window_push(&w, 0, "a.batch", 10, 170), 0);
	assert_int_equal(w.n, 4);
	/* Answers match requests oldest first. */
	s = uplink_window_oldest(&w);
	assert_string_equal(s->name, "a.batch");
	assert_int_equal(s->lane, 2);
	assert_int_equal(s->since_ms, 100);
	/* The response clock of the next oldest restarts at the answer. */
	uplink_window_pop(&w, 5000);
	s = uplink_window_oldest(&w);
	assert_string_equal(s->name, "b.batch");
	assert_int_equal(s->since_ms, 5000);
	assert_false(uplink_window_has(&w, 2, "a.batch"));
	/* ... but never goes back before its own send. */
	uplink_window_pop(&w, 100);
	s = uplink_window_oldest(&w);
	assert_string_equal(s->name, "c.batch");
	assert_int_equal(s->since_ms, 160);
	uplink_window_pop(&w, 200);
	uplink_window_pop(&w, 200);
	assert_null(uplink_window_oldest(&w));
	assert_int_equal(w.bytes, 0);
	uplink_window_pop(&w, 300);     /* empty: no-op */
	assert_int_equal(w.n, 0);
	/* The ring wraps: many pushes and pops keep FIFO order. */
	for (i = 0; i < 3 * UPLINK_MAX_IN_FLIGHT; i++) {
		snprintf(name, sizeof(name), "%u.batch", i);
		assert_int_equal(uplink_window_push(&w, 1, name, 1, i), 0);
		if (i >= 5) {
			snprintf(name, sizeof(name), "%u.batch", i - 5);
			assert_string_equal(uplink_window_oldest(&w)->name, name);
			uplink_window_pop(&w, i);
		}
	}
	assert_int_equal(w.n, 5);
	assert_int_equal(w.bytes, 5);
}

static void test_window_long_name(void **state)
{
	struct uplink_window w;
	char name[UPLINK_NAME_MAX + 2];

	(void)state;
	uplink_window_clear(&w);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(uplink_window_push(&w, 0, name, 1, 0), -ENAMETOOLONG);
	name[UPLINK_NAME_MAX] = '\0';
	assert_int_equal(uplink_window_push(&w, 0, name, 1, 0), 0);
	assert_true(uplink_window_has(&w, 0, name));
}

/* ---- priority with aging ------------------------------------------------ */

#define LH(r, c, w) { .ready = (r), .cls = (c), .waited_ms = (w) }

static void test_pick_strict(void **state)
{
	struct uplink_lane_head none[3] = { LH(false, 0, 0), LH(false, 1, 0), LH(false, 2, 0) };
	struct uplink_lane_head h[3] = { LH(false, 0, 0), LH(true, 1, 10), LH(true, 2, 20) };
	bool aged = true;

	(void)state;
	assert_int_equal(uplink_pick_lane(none, 3, 1000, &aged), -1);
	assert_false(aged);
	assert_int_equal(uplink_pick_lane(h, 0, 1000, NULL), -1);
	/* Nothing aged: lane order. */
	assert_int_equal(uplink_pick_lane(h, 3, 1000, &aged), 1);
	assert_false(aged);
	h[1].ready = false;
	assert_int_equal(uplink_pick_lane(h, 3, 1000, &aged), 2);
	assert_false(aged);
}

static void test_pick_p0_first(void **state)
{
	/* P0 goes first, whatever has aged, even when a lower lane is
	 * listed before it. */
	struct uplink_lane_head h[4] = {
		LH(true, 1, 999999), LH(true, 0, 0), LH(true, 0, 5), LH(true, 2, 999999)
	};
	bool aged = true;

	(void)state;
	assert_int_equal(uplink_pick_lane(h, 4, 1000, &aged), 1);
	assert_false(aged);
	h[1].ready = false;
	assert_int_equal(uplink_pick_lane(h, 4, 1000, &aged), 2);
	h[2].ready = false;
	/* Without P0, aging applies: lane 3 waited as long as lane 0, and
	 * ties go to the higher lane. */
	assert_int_equal(uplink_pick_lane(h, 4, 1000, &aged), 0);
	assert_false(aged);
}

static void test_pick_aging(void **state)
{
	struct uplink_lane_head h[3] = { LH(false, 0, 0), LH(true, 1, 50), LH(true, 2, 999) };
	bool aged = true;

	(void)state;
	/* Below the threshold: strict. */
	assert_int_equal(uplink_pick_lane(h, 3, 1000, &aged), 1);
	assert_false(aged);
	/* At the threshold the lower lane is promoted above the higher. */
	h[2].waited_ms = 1000;
	assert_int_equal(uplink_pick_lane(h, 3, 1000, &aged), 2);
	assert_true(aged);
	/* Both aged: the one that waited longer. */
	h[1].waited_ms = 1500;
	assert_int_equal(uplink_pick_lane(h, 3, 1000, &aged), 1);
	assert_false(aged);
	h[2].waited_ms = 2000;
	assert_int_equal(uplink_pick_lane(h, 3, 1000, &aged), 2);
	assert_true(aged);
}

/* A sustained P1 backlog: simulated, one batch per 100 ms, the lane's
 * wait being the time since it last sent (its batches are all old). P2
 * must still get one batch per aging period, and P1 the rest. */
static void test_pick_aging_share(void **state)
{
	uint64_t last[3] = { 0, 0, 0 }, now;
	unsigned sent[3] = { 0, 0, 0 };
	struct uplink_lane_head h[3];
	int k;

	(void)state;
	for (now = 100; now <= 60000; now += 100) {
		for (k = 0; k < 3; k++) {
			h[k].ready = k > 0;     /* no P0 */
			h[k].cls = (uint8_t)k;
			h[k].waited_ms = now - last[k];
		}
		k = uplink_pick_lane(h, 3, 1000, NULL);
		assert_true(k == 1 || k == 2);
		sent[k]++;
		last[k] = now;
	}
	/* 600 sends in 60 s: P2 about one per 1.1 s, never starved. */
	assert_in_range(sent[2], 50, 60);
	assert_int_equal(sent[1] + sent[2], 600);
	/* And with aging off (huge), strict priority starves P2. */
	memset(last, 0, sizeof(last));
	memset(sent, 0, sizeof(sent));
	for (now = 100; now <= 60000; now += 100) {
		for (k = 0; k < 3; k++) {
			h[k].ready = k > 0;
			h[k].cls = (uint8_t)k;
			h[k].waited_ms = now - last[k];
		}
		k = uplink_pick_lane(h, 3, UINT64_MAX, NULL);
		sent[k]++;
		last[k] = now;
	}
	assert_int_equal(sent[2], 0);
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
		cmocka_unit_test(test_resp_ok),
		cmocka_unit_test(test_resp_retry_after_bad),
		cmocka_unit_test(test_resp_malformed),
		cmocka_unit_test(test_resp_oversize),
		cmocka_unit_test(test_resp_unasked),
		cmocka_unit_test(test_window_count_cap),
		cmocka_unit_test(test_window_bytes_cap),
		cmocka_unit_test(test_window_order_and_once),
		cmocka_unit_test(test_window_long_name),
		cmocka_unit_test(test_pick_strict),
		cmocka_unit_test(test_pick_p0_first),
		cmocka_unit_test(test_pick_aging),
		cmocka_unit_test(test_pick_aging_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
