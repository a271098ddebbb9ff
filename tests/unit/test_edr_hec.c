/* The HEC protocol without I/O: HTTP framing with pipelining, routes,
 * tokens, query parameters, bodies (concatenated events, raw lines, gzip,
 * the decompression cap) and each malformed case with its HEC answer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "edr/edr_hec.h"
#include "edr/edr_record.h"

static const struct edr_hec_limits lim = { .max_body = 65536, .max_event = 1024 };
static const struct edr_meta meta = { .recv_us = 1714551600000000LL, .peer = "192.0.2.7:1",
				      .input = EDR_INPUT_HEC, .auth = EDR_AUTH_TOKEN,
				      .group = "g" };

/* The relay's way with a body: each event straight into its record.
 * Returns what edr_hec_encode_body does; *n is the number of records. */
static int encode(enum edr_hec_route r, const void *body, size_t len, int gz, size_t *n,
		  struct edr_hec_result *res)
{
	struct edr_hec_records recs;
	struct edr_parser *p;
	struct edr_meta m = meta;
	int rc;

	m.input = r == EDR_HEC_ROUTE_RAW ? EDR_INPUT_HEC_RAW : EDR_INPUT_HEC;
	assert_int_equal(edr_parser_create(&p), 0);
	edr_hec_records_init(&recs);
	rc = edr_hec_encode_body(p, &m, r, body, len, gz, &lim, &recs, res);
	*n = recs.n;
	if (rc == 0) {
		size_t i, start = 0;

		/* Each record is one JSON object on one line. */
		for (i = 0; i < recs.n; i++) {
			json_error_t e;
			json_t *v = json_loadb((const char *)recs.recs.data + start,
					       recs.end[i] - start, JSON_ALLOW_NUL, &e);

			if (!json_is_object(v) || memchr(recs.recs.data + start, '\n',
							 recs.end[i] - start) != NULL)
				fail_msg("record %zu: %s", i, e.text);
			json_decref(v);
			start = recs.end[i];
		}
	}
	edr_hec_records_free(&recs);
	edr_parser_destroy(p);
	return rc;
}

static size_t gz(const void *in, size_t n, uint8_t *out, size_t cap);

static int parse(enum edr_hec_route r, const char *body, int gz, json_t **ev,
		 struct edr_hec_result *res)
{
	return edr_hec_parse_body(r, (const uint8_t *)body, strlen(body), gz, &lim, ev, res);
}

static void expect_refused(enum edr_hec_route r, const char *body, enum edr_hec_code code,
			   int has_bad, size_t bad)
{
	struct edr_hec_result res;
	json_t *ev = (json_t *)&ev;

	size_t n;

	assert_int_equal(parse(r, body, 0, &ev, &res), -EBADMSG);
	assert_null(ev);
	if (res.code != code)
		fail_msg("'%s': code %d, expected %d", body, res.code, code);
	assert_int_equal(res.has_bad_event, has_bad);
	if (has_bad)
		assert_int_equal(res.bad_event, bad);
	/* The relay's path answers the same. */
	assert_int_equal(encode(r, body, strlen(body), 0, &n, &res), -EBADMSG);
	assert_int_equal(n, 0);
	if (res.code != code)
		fail_msg("'%s': relay code %d, expected %d", body, res.code, code);
	assert_int_equal(res.has_bad_event, has_bad);
	if (has_bad)
		assert_int_equal(res.bad_event, bad);
}

static void test_events(void **state)
{
	struct edr_hec_result res;
	json_t *ev;

	(void)state;
	assert_int_equal(parse(EDR_HEC_ROUTE_EVENT, " {\"event\":1}{\"event\":{\"a\":2}}\n"
			       "\t{\"event\":\"x\",\"time\":1}  ", 0, &ev, &res), 0);
	assert_int_equal(json_array_size(ev), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ev, 0), "event")), 1);
	json_decref(ev);
	{
		static const char body[] = " {\"event\":1}{\"event\":{\"a\":2}}\n"
					   "\t{\"event\":\"x\",\"time\":1}  ";
		size_t n;

		assert_int_equal(encode(EDR_HEC_ROUTE_EVENT, body, strlen(body), 0, &n, &res), 0);
		assert_int_equal(n, 3);
		assert_int_equal(encode(EDR_HEC_ROUTE_RAW, "a\r\n\nb\nc", 7, 0, &n, &res), 0);
		assert_int_equal(n, 3);
		/* Duplicates inside the event are kept as sent. */
		assert_int_equal(encode(EDR_HEC_ROUTE_EVENT, "{\"event\":{\"a\":1,\"a\":2}}", 23, 0,
					&n, &res), 0);
	}
	assert_int_equal(parse(EDR_HEC_ROUTE_RAW, "a\r\n\nb\nc", 0, &ev, &res), 0);
	assert_int_equal(json_array_size(ev), 3);
	assert_string_equal(json_string_value(json_array_get(ev, 0)), "a");
	assert_string_equal(json_string_value(json_array_get(ev, 2)), "c");
	json_decref(ev);
}

/* Each event's text span, plain and from a gzip body. */
static void test_spans(void **state)
{
	static const char body[] = " {\"event\":1}\n{\"event\":{\"a\":[1,2]},\"time\":5}  {\"event\":\"}\"}";
	static const char *const want[] = { "{\"event\":1}", "{\"event\":{\"a\":[1,2]},\"time\":5}",
					    "{\"event\":\"}\"}" };
	struct edr_hec_result res;
	struct edr_hec_text t = { 0 };
	uint8_t gzbody[256];
	size_t i, gzn;
	json_t *ev;
	int round;

	(void)state;
	for (round = 0; round < 2; round++) {
		const uint8_t *in = (const uint8_t *)body;
		size_t n = strlen(body);

		if (round == 1) {
			gzn = gz(body, n, gzbody, sizeof(gzbody));
			in = gzbody;
			n = gzn;
		}
		assert_int_equal(edr_hec_parse_body_text(EDR_HEC_ROUTE_EVENT, in, n, round, &lim, &ev,
							 &res, &t), 0);
		assert_int_equal(t.n, 3);
		for (i = 0; i < 3; i++) {
			assert_int_equal(t.len[i], strlen(want[i]));
			assert_memory_equal(t.base + t.off[i], want[i], t.len[i]);
		}
		json_decref(ev);
		edr_hec_text_free(&t);
	}
}

static void test_malformed_bodies(void **state)
{
	char big[1200];

	(void)state;
	expect_refused(EDR_HEC_ROUTE_EVENT, "", EDR_HEC_NO_DATA, 0, 0);
	expect_refused(EDR_HEC_ROUTE_EVENT, " \n ", EDR_HEC_NO_DATA, 0, 0);
	expect_refused(EDR_HEC_ROUTE_RAW, "\n\r\n", EDR_HEC_NO_DATA, 0, 0);
	expect_refused(EDR_HEC_ROUTE_EVENT, "{\"event\":1} {", EDR_HEC_INVALID_DATA_FORMAT, 1, 1);
	expect_refused(EDR_HEC_ROUTE_EVENT, "[1,2]", EDR_HEC_INVALID_DATA_FORMAT, 1, 0);
	expect_refused(EDR_HEC_ROUTE_EVENT, "\"text\"", EDR_HEC_INVALID_DATA_FORMAT, 1, 0);
	expect_refused(EDR_HEC_ROUTE_EVENT, "{\"event\":1,\"event\":2}", EDR_HEC_INVALID_DATA_FORMAT,
		       1, 0);
	expect_refused(EDR_HEC_ROUTE_EVENT, "{\"event\":1}{\"host\":\"h\"}", EDR_HEC_EVENT_REQUIRED,
		       1, 1);
	expect_refused(EDR_HEC_ROUTE_EVENT, "{\"event\":null}", EDR_HEC_EVENT_BLANK, 1, 0);
	expect_refused(EDR_HEC_ROUTE_EVENT, "{\"event\":\"\"}", EDR_HEC_EVENT_BLANK, 1, 0);
	expect_refused(EDR_HEC_ROUTE_RAW, "ok\n\xff\xfe\n", EDR_HEC_INVALID_DATA_FORMAT, 1, 1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_refused(EDR_HEC_ROUTE_RAW, big, EDR_HEC_TOO_LARGE, 1, 0);
	memcpy(big, "{\"event\":\"", 10);
	memcpy(big + sizeof(big) - 3, "\"}", 2);
	expect_refused(EDR_HEC_ROUTE_EVENT, big, EDR_HEC_TOO_LARGE, 1, 0);
}

static size_t gz(const void *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	n = z.total_out;
	deflateEnd(&z);
	return n;
}

static void test_gzip(void **state)
{
	static uint8_t zeros[200000], out[4096];
	struct edr_hec_result res;
	uint8_t two[256];
	json_t *ev;
	size_t n, m, en;

	(void)state;
	n = gz("{\"event\":\"a\"}", 13, two, sizeof(two));
	/* Two gzip members back to back are one body (RFC 1952 2.2). */
	m = gz("{\"event\":\"b\"}", 13, two + n, sizeof(two) - n);
	assert_int_equal(edr_hec_parse_body(EDR_HEC_ROUTE_EVENT, two, n + m, 1, &lim, &ev, &res), 0);
	assert_int_equal(json_array_size(ev), 2);
	assert_int_equal(res.decompressed, 26);
	json_decref(ev);
	assert_int_equal(encode(EDR_HEC_ROUTE_EVENT, two, n + m, 1, &en, &res), 0);
	assert_int_equal(en, 2);
	assert_int_equal(res.decompressed, 26);
	assert_int_equal(encode(EDR_HEC_ROUTE_EVENT, two, n - 4, 1, &en, &res), -EBADMSG);
	assert_int_equal(res.code, EDR_HEC_INVALID_DATA_FORMAT);
	/* Cut short. */
	assert_int_equal(edr_hec_parse_body(EDR_HEC_ROUTE_EVENT, two, n - 4, 1, &lim, &ev, &res),
			 -EBADMSG);
	assert_int_equal(res.code, EDR_HEC_INVALID_DATA_FORMAT);
	assert_int_equal(res.has_bad_event, 0);
	/* Not gzip at all. */
	assert_int_equal(edr_hec_parse_body(EDR_HEC_ROUTE_RAW, (const uint8_t *)"plain", 5, 1, &lim,
					    &ev, &res), -EBADMSG);
	assert_int_equal(res.code, EDR_HEC_INVALID_DATA_FORMAT);
	/* A bomb: 200000 zero bytes in a few hundred, over max_body. */
	n = gz(zeros, sizeof(zeros), out, sizeof(out));
	assert_true(n < 1024);
	assert_int_equal(edr_hec_parse_body(EDR_HEC_ROUTE_RAW, out, n, 1, &lim, &ev, &res), -EBADMSG);
	assert_int_equal(res.code, EDR_HEC_TOO_LARGE);
	assert_null(ev);
	assert_int_equal(encode(EDR_HEC_ROUTE_RAW, out, n, 1, &en, &res), -EBADMSG);
	assert_int_equal(res.code, EDR_HEC_TOO_LARGE);
}

static size_t feed_all(struct edr_hec_http *h, const char *s)
{
	return edr_hec_http_feed(h, (const uint8_t *)s, strlen(s));
}

/* Connections sharing a pool of body bytes: a body past the pool's cap
 * fails with 503; answering a request gives its bytes back. */
static void test_body_pool(void **state)
{
	static const char req[] = "POST /services/collector/event HTTP/1.1\r\n"
				  "Content-Length: 58\r\n\r\n"
				  "{\"event\":\"0123456789012345678901234567890123456789012345\"}";
	struct edr_hec_http a, b;
	size_t used = 0;

	(void)state;
	assert_int_equal(strlen(req) - (size_t)(strchr(req, '{') - req), 58);
	edr_hec_http_init(&a, 1024);
	edr_hec_http_init(&b, 1024);
	edr_hec_http_set_pool(&a, &used, 100);
	edr_hec_http_set_pool(&b, &used, 100);
	assert_int_equal(feed_all(&a, req), strlen(req));
	assert_int_equal(a.state, EDR_HEC_REQUEST);
	assert_int_equal(used, 58);
	feed_all(&b, req);
	assert_int_equal(b.state, EDR_HEC_FAILED);
	assert_int_equal(b.error_status, 503);
	edr_hec_http_next(&a);
	assert_int_equal(used, 0);
	edr_hec_http_free(&b);
	edr_hec_http_init(&b, 1024);
	edr_hec_http_set_pool(&b, &used, 100);
	assert_int_equal(feed_all(&b, req), strlen(req));
	assert_int_equal(b.state, EDR_HEC_REQUEST);
	edr_hec_http_free(&a);
	edr_hec_http_free(&b);
	assert_int_equal(used, 0);
}

static void test_http_pipelining(void **state)
{
	static const char two[] =
		"POST /services/collector/event/1.0?channel=x HTTP/1.1\r\nHost: a\r\n"
		"authorization: Splunk  tok\r\nContent-Length: 13\r\nExpect: 100-continue\r\n\r\n"
		"{\"event\":\"x\"}"
		"POST /services/collector/raw/?host=h%2D1&sourcetype=a+b HTTP/1.1\r\n"
		"Content-Encoding: gzip\r\nConnection: close\r\nContent-Length: 2\r\n\r\nab";
	struct edr_hec_http h;
	enum edr_hec_code code;
	const char *q, *t;
	char v[32];
	size_t n;

	(void)state;
	edr_hec_http_init(&h, 1024);
	n = feed_all(&h, two);
	assert_int_equal(h.state, EDR_HEC_REQUEST);
	assert_true(n < strlen(two));
	assert_int_equal(edr_hec_route(&h, &q), EDR_HEC_ROUTE_EVENT);
	assert_string_equal(q, "channel=x");
	assert_true(h.expect_continue);
	t = edr_hec_token(h.auth, &code);
	assert_string_equal(t, "tok");
	assert_int_equal(h.body.len, 13);
	assert_true(h.keep_alive);
	/* Paused: nothing more is taken until the answer. */
	assert_int_equal(edr_hec_http_feed(&h, (const uint8_t *)two + n, 5), 0);
	edr_hec_http_next(&h);
	assert_int_equal(edr_hec_http_feed(&h, (const uint8_t *)two + n, strlen(two) - n),
			 strlen(two) - n);
	assert_int_equal(h.state, EDR_HEC_REQUEST);
	assert_int_equal(edr_hec_route(&h, &q), EDR_HEC_ROUTE_RAW);
	assert_true(h.gzip);
	assert_false(h.keep_alive);
	assert_string_equal(edr_hec_query_param(q, "host", v, sizeof(v)), "h-1");
	assert_string_equal(edr_hec_query_param(q, "sourcetype", v, sizeof(v)), "a b");
	assert_null(edr_hec_query_param(q, "source", v, sizeof(v)));
	assert_null(edr_hec_query_param("a=%zz", "a", v, sizeof(v)));
	assert_null(edr_hec_query_param("a=%00", "a", v, sizeof(v)));
	assert_null(edr_hec_query_param("a=123456", "a", v, 4));
	edr_hec_http_free(&h);
}

static void test_http_failures(void **state)
{
	struct edr_hec_http h;
	char hdr[EDR_HEC_HEADER_MAX + 64];

	(void)state;
	edr_hec_http_init(&h, 100);
	feed_all(&h, "POST /services/collector HTTP/1.1\r\nContent-Length: 101\r\n\r\n");
	assert_int_equal(h.state, EDR_HEC_FAILED);
	assert_int_equal(h.error_status, 413);
	edr_hec_http_free(&h);

	edr_hec_http_init(&h, 10);
	feed_all(&h, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n0123456789a\r\n");
	assert_int_equal(h.state, EDR_HEC_FAILED);
	assert_int_equal(h.error_status, 413);
	edr_hec_http_free(&h);

	edr_hec_http_init(&h, 100);
	feed_all(&h, "GARBAGE\r\n\r\n");
	assert_int_equal(h.state, EDR_HEC_FAILED);
	assert_int_equal(h.error_status, 400);
	edr_hec_http_free(&h);

	edr_hec_http_init(&h, 100);
	memset(hdr, 'a', sizeof(hdr));
	memcpy(hdr, "POST / HTTP/1.1\r\nX: ", 20);
	edr_hec_http_feed(&h, (const uint8_t *)hdr, sizeof(hdr));
	assert_int_equal(h.state, EDR_HEC_FAILED);
	assert_int_equal(h.error_status, 431);
	edr_hec_http_free(&h);

	edr_hec_http_init(&h, 100);
	feed_all(&h, "POST / HTTP/1.1\r\nContent-Encoding: br\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(h.state, EDR_HEC_REQUEST);
	assert_true(h.bad_encoding);
	edr_hec_http_free(&h);
}

static void test_tokens_and_routes(void **state)
{
	enum edr_hec_code code;
	struct edr_hec_http h;
	const char *q;

	(void)state;
	assert_null(edr_hec_token("", &code));
	assert_int_equal(code, EDR_HEC_TOKEN_REQUIRED);
	assert_null(edr_hec_token("Bearer x", &code));
	assert_int_equal(code, EDR_HEC_INVALID_AUTHORIZATION);
	assert_null(edr_hec_token("Splunk   ", &code));
	assert_int_equal(code, EDR_HEC_INVALID_AUTHORIZATION);
	assert_string_equal(edr_hec_token("SPLUNK abc", &code), "abc");
	edr_hec_http_init(&h, 10);
	strcpy(h.url, "/services/collector/health");
	assert_int_equal(edr_hec_route(&h, &q), EDR_HEC_ROUTE_HEALTH);
	strcpy(h.url, "/services/collector");
	assert_int_equal(edr_hec_route(&h, &q), EDR_HEC_ROUTE_EVENT);
	strcpy(h.url, "/services/collectorx");
	assert_int_equal(edr_hec_route(&h, &q), EDR_HEC_ROUTE_NONE);
	strcpy(h.url, "");
	assert_int_equal(edr_hec_route(&h, &q), EDR_HEC_ROUTE_NONE);
	edr_hec_http_free(&h);
}

static void test_answers(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(edr_hec_format_answer(&b, EDR_HEC_SERVER_BUSY, -1, 5, 1), 0);
	assert_int_equal(buf_append_byte(&b, 0), 0);
	assert_non_null(strstr((char *)b.data, "HTTP/1.1 503 Service Unavailable\r\n"));
	assert_non_null(strstr((char *)b.data, "Retry-After: 5\r\n"));
	assert_non_null(strstr((char *)b.data, "\r\n\r\n{\"text\":\"Server is busy\",\"code\":9}"));
	buf_reset(&b);
	assert_int_equal(edr_hec_format_answer(&b, EDR_HEC_INVALID_DATA_FORMAT, 3, 0, 0), 0);
	assert_int_equal(buf_append_byte(&b, 0), 0);
	assert_non_null(strstr((char *)b.data, "Connection: close"));
	assert_non_null(strstr((char *)b.data, "{\"text\":\"Invalid data format\",\"code\":6,"
			       "\"invalid-event-number\":3}"));
	buf_free(&b);
	assert_int_equal(edr_hec_http_status(EDR_HEC_INVALID_TOKEN), 401);
	assert_int_equal(edr_hec_http_status(EDR_HEC_HEALTHY), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_spans),
		cmocka_unit_test(test_malformed_bodies),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_http_pipelining),
		cmocka_unit_test(test_body_pool),
		cmocka_unit_test(test_http_failures),
		cmocka_unit_test(test_tokens_and_routes),
		cmocka_unit_test(test_answers),
	};

	return cmocka_run_group_tests_name("edr_hec", tests, NULL, NULL);
}
