/* http_connect: the CONNECT request's exact bytes (RFC 9110 section
 * 9.3.6, RFC 7617 Basic credentials) and the reading of the proxy's
 * answer (RFC 9112): a 2xx hands back the bytes after its head, refusals
 * carry their status and words, and one test per malformed case. Every
 * answer is fed whole, byte by byte and in 7-byte pieces, with the same
 * outcome. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_connect.h"

/* ---- the request ------------------------------------------------------------ */

static void req_ok(const char *host, uint16_t port, const char *auth, const char *want)
{
	char buf[512];
	int n;

	memset(buf, 'x', sizeof(buf));
	n = http_connect_request(buf, sizeof(buf), host, port, auth);
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

static void req_bad(const char *host, uint16_t port, const char *auth)
{
	char buf[512];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(http_connect_request(buf, sizeof(buf), host, port, auth), -EINVAL);
	assert_string_equal(buf, "");
}

static void test_request_bytes(void **state)
{
	(void)state;
	req_ok("soc.example.net", 443, NULL,
	       "CONNECT soc.example.net:443 HTTP/1.1\r\n"
	       "Host: soc.example.net:443\r\n"
	       "\r\n");
	req_ok("127.0.0.1", 8443, NULL,
	       "CONNECT 127.0.0.1:8443 HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n\r\n");
	/* RFC 7617 section 2's example: Aladdin:open sesame. */
	req_ok("soc.example.net", 443, "Aladdin:open sesame",
	       "CONNECT soc.example.net:443 HTTP/1.1\r\n"
	       "Host: soc.example.net:443\r\n"
	       "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"
	       "\r\n");
	/* RFC 7617 section 2.1: the credentials are UTF-8 ("test:123£"). */
	req_ok("a", 1, "test:123\xc2\xa3",
	       "CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n"
	       "Proxy-Authorization: Basic dGVzdDoxMjPCow==\r\n\r\n");
	/* The password may hold ':' and the user-id may be empty. */
	req_ok("a", 65535, ":a:b",
	       "CONNECT a:65535 HTTP/1.1\r\nHost: a:65535\r\n"
	       "Proxy-Authorization: Basic OmE6Yg==\r\n\r\n");
}

static void test_request_ipv6(void **state)
{
	(void)state;
	req_ok("::1", 443, NULL, "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n");
	req_ok("[2001:db8::7]", 443, NULL,
	       "CONNECT [2001:db8::7]:443 HTTP/1.1\r\nHost: [2001:db8::7]:443\r\n\r\n");
	req_ok("::ffff:192.0.2.1", 80, NULL,
	       "CONNECT [::ffff:192.0.2.1]:80 HTTP/1.1\r\nHost: [::ffff:192.0.2.1]:80\r\n\r\n");
}

static void test_request_bad(void **state)
{
	(void)state;
	req_bad("", 443, NULL);
	req_bad("soc.example.net\r\nX-Evil: 1", 443, NULL);
	req_bad("soc.example.net\n", 443, NULL);
	req_bad("soc example", 443, NULL);
	req_bad("soc/x", 443, NULL);
	req_bad("user@soc", 443, NULL);
	req_bad("soc.example.net", 0, NULL);
	req_bad("[::1", 443, NULL);
	req_bad("[]", 443, NULL);
	req_bad("[1.2.3.4]", 443, NULL);
	req_bad("[::1]x", 443, NULL);
	req_bad("fe80::1%eth0", 443, NULL);
	req_bad("::g", 443, NULL);
	req_bad("h\xc3\xa9", 443, NULL);
	req_bad("soc", 443, "no-colon");
	req_bad("soc", 443, "user:pa\r\nss");
	req_bad("soc", 443, "user:pa\x7fss");
	req_bad("soc", 443, "us\ter:pass");
}

static void test_request_nospace(void **state)
{
	static const char want[] = "CONNECT soc:443 HTTP/1.1\r\nHost: soc:443\r\n"
				   "Proxy-Authorization: Basic dTpw\r\n\r\n";
	char buf[sizeof(want)];
	size_t cap;

	(void)state;
	/* Every capacity short of the request and its NUL fails cleanly,
	 * leaving no part of it (nor of the credential) behind. */
	for (cap = 0; cap < sizeof(want); cap++) {
		memset(buf, 'x', sizeof(buf));
		assert_int_equal(http_connect_request(buf, cap, "soc", 443, "u:p"), -ENOSPC);
		assert_null(memmem(buf, sizeof(buf), "dTpw", 4));
		assert_int_equal(buf[0], cap > 0 ? '\0' : 'x');
		assert_int_equal(buf[cap], 'x');   /* nothing past cap */
	}
	assert_int_equal(http_connect_request(buf, sizeof(want), "soc", 443, "u:p"),
			 (int)sizeof(want) - 1);
	assert_string_equal(buf, want);
}

/* ---- the answer ----------------------------------------------------------- */

/* Feeds `len` bytes of `msg` in pieces of `piece` bytes (0 = whole) to a
 * fresh parser until it stops; returns the result and in `*taken` the
 * bytes consumed. */
static int feed(struct http_connect *hc, const char *msg, size_t len, size_t piece,
		size_t *taken)
{
	size_t off = 0, n, used;
	int rc = 0;

	http_connect_init(hc);
	*taken = 0;
	while (off < len) {
		n = piece == 0 || piece > len - off ? len - off : piece;
		used = 12345;
		rc = http_connect_feed(hc, (const uint8_t *)msg + off, n, &used);
		if (rc < 0) {
			assert_int_equal(used, 0);
			return rc;
		}
		assert_true(used <= n);
		*taken += used;
		if (rc == 1)
			return rc;
		assert_int_equal(used, n);
		off += n;
	}
	return rc;
}

/* `msg` (`len` bytes) must give `want` with `want_used` bytes consumed
 * (for 1), a status of `want_status`, and words holding `want_why`,
 * however it is cut. */
static void expect_len(const char *msg, size_t len, int want, size_t want_used,
		       int want_status, const char *want_why)
{
	static const size_t pieces[] = { 0, 1, 7 };
	struct http_connect hc;
	size_t i, taken, used;

	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		assert_int_equal(feed(&hc, msg, len, pieces[i], &taken), want);
		assert_int_equal(hc.status, want_status);
		if (want == 1) {
			assert_int_equal(taken, want_used);
			assert_string_equal(hc.why, "");
		}
		if (want_why != NULL && strstr(hc.why, want_why) == NULL)
			fail_msg("why is '%s', want it to hold '%s'", hc.why, want_why);
		if (want < 0)
			assert_true(hc.why[0] != '\0');
		/* An outcome sticks, and nothing more is consumed. */
		if (want == 0)
			continue;
		used = 99;
		assert_int_equal(http_connect_feed(&hc, (const uint8_t *)"HTTP", 4, &used), want);
		assert_int_equal(used, 0);
	}
}

static void expect(const char *msg, int want, size_t want_used, int want_status,
		   const char *want_why)
{
	expect_len(msg, strlen(msg), want, want_used, want_status, want_why);
}

#define OK_HEAD "HTTP/1.1 200 Connection established\r\n\r\n"

/* `msg` is one whole 2xx head, consumed to its last byte. */
#define ESTABLISHED(msg, st) expect(msg, 1, strlen(msg), st, NULL)

static void test_established(void **state)
{
	(void)state;
	ESTABLISHED(OK_HEAD, 200);
	ESTABLISHED("HTTP/1.1 200 OK\r\nProxy-Agent: tinyproxy/1.11.1\r\nVia: 1.1 p\r\n\r\n", 200);
	/* Squid and many appliances answer in HTTP/1.0. */
	ESTABLISHED("HTTP/1.0 200 Connection established\r\n\r\n", 200);
	ESTABLISHED("HTTP/1.1 204 No Content\r\n\r\n", 204);
	ESTABLISHED("HTTP/1.1 299 Whatever\r\n\r\n", 299);
	/* RFC 9110 9.3.6: Content-Length and Transfer-Encoding of a 2xx to
	 * CONNECT are ignored: the next bytes are the tunnel's. */
	ESTABLISHED("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 200);
	ESTABLISHED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200);
	/* No reason phrase at all (RFC 9112 section 4: it may be empty). */
	ESTABLISHED("HTTP/1.1 200 \r\n\r\n", 200);
	/* A bare LF ends lines too, as RFC 9112 section 2.2 allows. */
	ESTABLISHED("HTTP/1.1 200 OK\n\n", 200);
}

static void test_rest_is_tls(void **state)
{
	/* A TLS ServerHello's first bytes, sent right behind the head. */
	static const char msg[] = OK_HEAD "\x16\x03\x03\x00\x5a\x02\x00\x00";
	struct http_connect hc;
	size_t used, head = strlen(OK_HEAD);

	(void)state;
	expect_len(msg, sizeof(msg) - 1, 1, head, 200, NULL);
	http_connect_init(&hc);
	assert_int_equal(http_connect_feed(&hc, (const uint8_t *)msg, sizeof(msg) - 1, &used), 1);
	assert_int_equal(used, head);
	assert_memory_equal(msg + used, "\x16\x03\x03", 3);
	/* Bytes that look like another HTTP answer are the tunnel's too. */
	expect(OK_HEAD "HTTP/1.1 407 No\r\n\r\n", 1, head, 200, NULL);
	expect(OK_HEAD "\r\n", 1, head, 200, NULL);
}

static void test_interim(void **state)
{
	static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n"
				  "HTTP/1.1 102 Processing\r\nX: y\r\n\r\n"
				  OK_HEAD "tls";

	(void)state;
	/* RFC 9110 15.2: interim answers before the final one are skipped. */
	expect(msg, 1, strlen(msg) - 3, 200, NULL);
	expect("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 407 Auth\r\n\r\n", -ECONNREFUSED, 0, 407,
	       "proxy refused CONNECT: 407 Auth");
	expect("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n",
	       -EPROTO, 0, 101, "101");
}

static void test_refused(void **state)
{
	(void)state;
	expect("HTTP/1.1 407 Proxy Authentication Required\r\n"
	       "Proxy-Authenticate: Basic realm=\"hospital\"\r\n"
	       "Content-Length: 9\r\n\r\nlog in!\r\n",
	       -ECONNREFUSED, 0, 407, "proxy refused CONNECT: 407 Proxy Authentication Required");
	expect("HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\n\r\n<html>",
	       -ECONNREFUSED, 0, 403, "proxy refused CONNECT: 403 Forbidden");
	expect("HTTP/1.0 502 Bad Gateway\r\n\r\n", -ECONNREFUSED, 0, 502,
	       "proxy refused CONNECT: 502 Bad Gateway");
	/* An empty reason phrase is replaced by the standard one. */
	expect("HTTP/1.1 407 \r\n\r\n", -ECONNREFUSED, 0, 407,
	       "proxy refused CONNECT: 407 Proxy Authentication Required");
	expect("HTTP/1.1 599 \r\n\r\n", -ECONNREFUSED, 0, 599, "proxy refused CONNECT: 599");
	/* A redirect is no tunnel either. */
	expect("HTTP/1.1 301 Moved\r\nLocation: http://x/\r\n\r\n", -ECONNREFUSED, 0, 301,
	       "301 Moved");
	/* Bytes outside printable ASCII do not reach the words. */
	expect("HTTP/1.1 403 Nope\x80\x01x\r\n\r\n", -ECONNREFUSED, 0, 403, "403 Nope??x");
	/* A long reason is cut, not overflowed. */
	expect("HTTP/1.1 403 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	       "\r\n\r\n", -ECONNREFUSED, 0, 403, "403 aaaa");
}

static void test_folding(void **state)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n"
				 "Via: 1.1 proxy1,\r\n 1.1 proxy2\r\n"
				 "X-Note: a\r\n\tb\r\n\r\ntls";

	(void)state;
	/* RFC 9112 5.2: a client replaces obs-fold in an answer with spaces,
	 * so a folded field is no reason to drop the tunnel. */
	expect(ok, 1, sizeof(ok) - 1 - 3, 200, NULL);
	expect("HTTP/1.1 407 Auth\r\nProxy-Authenticate: Basic\r\n realm=\"x\"\r\n\r\n",
	       -ECONNREFUSED, 0, 407, "407 Auth");
}

#define NUL_FIELD "HTTP/1.1 200 OK\r\nX\0: y\r\n\r\n"

static void test_malformed(void **state)
{
	(void)state;
	expect("SSH-2.0-OpenSSH_9.2\r\n", -EPROTO, 0, 0, "malformed answer from proxy");
	expect("\x16\x03\x01\x00\x05hello", -EPROTO, 0, 0, "malformed");
	expect("HTTP/1.1 2000 OK\r\n\r\n", -EPROTO, 0, 0, "malformed");
	expect("HTTP/1.1 20 OK\r\n\r\n", -EPROTO, 0, 0, "status code 20");
	expect("HTTP/1.1 OK\r\n\r\n", -EPROTO, 0, 0, "malformed");
	expect("HTTP/2.0 200 OK\r\n\r\n", -EPROTO, 0, 0, "HTTP/2.0, not HTTP/1.x");
	expect("HTTP/0.9 200 OK\r\n\r\n", -EPROTO, 0, 0, "not HTTP/1.x");
	expect("HTTP/1.1 200 OK\r\nX(y): z\r\n\r\n", -EPROTO, 0, 0, "malformed");
	expect("HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", -EPROTO, 0, 0, "malformed");
	expect("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", -EPROTO, 0, 0, "malformed");
	expect("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", -EPROTO, 0, 0, "malformed");
	expect("HTTP/1.1 200 OK\r\n\r", 0, 0, 0, NULL);        /* incomplete: wait */
	expect("HTTP/1.1 200 OK\r\nX: y\r\n", 0, 0, 0, NULL);
	expect_len(NUL_FIELD, sizeof(NUL_FIELD) - 1, -EPROTO, 0, 0, "malformed");
}

/* An answer of exactly `size` bytes, padded with one long field. */
static char *answer_of(size_t size, const char *status_line)
{
	size_t fixed = strlen(status_line) + strlen("X-Pad: \r\n\r\n");
	char *m = malloc(size + 1);

	assert_non_null(m);
	assert_true(size > fixed);
	snprintf(m, size + 1, "%sX-Pad: ", status_line);
	memset(m + strlen(status_line) + 7, 'a', size - fixed);
	memcpy(m + size - 4, "\r\n\r\n", 5);
	assert_int_equal(strlen(m), size);
	return m;
}

static void test_oversize(void **state)
{
	char *m;

	(void)state;
	/* The bound is the whole head, its final CRLF included. */
	m = answer_of(HTTP_CONNECT_HEADER_MAX, "HTTP/1.1 200 OK\r\n");
	expect(m, 1, HTTP_CONNECT_HEADER_MAX, 200, NULL);
	free(m);
	m = answer_of(HTTP_CONNECT_HEADER_MAX + 1, "HTTP/1.1 200 OK\r\n");
	expect(m, -EMSGSIZE, 0, 0, "longer than 8192 bytes");
	free(m);
	m = answer_of(3 * HTTP_CONNECT_HEADER_MAX, "HTTP/1.1 407 Auth\r\n");
	expect(m, -EMSGSIZE, 0, 0, "longer than 8192 bytes");
	free(m);
	/* Too long is found before a malformed byte past the bound. */
	m = answer_of(HTTP_CONNECT_HEADER_MAX + 100, "HTTP/1.1 200 OK\r\n");
	m[HTTP_CONNECT_HEADER_MAX + 50] = '\r';
	expect(m, -EMSGSIZE, 0, 0, "longer than");
	free(m);
	/* Interim answers count towards the bound. */
	m = answer_of(HTTP_CONNECT_HEADER_MAX, "HTTP/1.1 100 Continue\r\n");
	m = realloc(m, HTTP_CONNECT_HEADER_MAX + sizeof(OK_HEAD));
	assert_non_null(m);
	strcat(m, OK_HEAD);
	expect(m, -EMSGSIZE, 0, 0, "longer than");
	free(m);
}

static void test_empty_feed(void **state)
{
	struct http_connect hc;
	size_t used = 7;

	(void)state;
	http_connect_init(&hc);
	assert_int_equal(http_connect_feed(&hc, NULL, 0, &used), 0);
	assert_int_equal(used, 0);
	assert_int_equal(hc.status, 0);
	assert_string_equal(hc.why, "");
	/* init makes a used struct new again. */
	assert_int_equal(http_connect_feed(&hc, (const uint8_t *)"nope\r\n", 6, &used), -EPROTO);
	http_connect_init(&hc);
	assert_int_equal(http_connect_feed(&hc, (const uint8_t *)OK_HEAD, strlen(OK_HEAD), &used),
			 1);
	assert_int_equal(used, strlen(OK_HEAD));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_bytes),
		cmocka_unit_test(test_request_ipv6),
		cmocka_unit_test(test_request_bad),
		cmocka_unit_test(test_request_nospace),
		cmocka_unit_test(test_established),
		cmocka_unit_test(test_rest_is_tls),
		cmocka_unit_test(test_interim),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_empty_feed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
