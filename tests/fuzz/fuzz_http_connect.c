/* libFuzzer target: the HTTP CONNECT handshake (agent/core/http_connect),
 * the proxy's answer as it reaches the uplink in clear before TLS, and
 * the request built from a host and credentials.
 *
 * Input: byte 0 picks the mode. Bit 7 clear: bytes 1-2 pick a split
 * point and the rest is the stream from the proxy. It is fed to fresh
 * parsers whole, in two pieces cut at the split point, and one byte at a
 * time; all three must give the same result, status, words and bytes
 * consumed. A tunnel must come from a 2xx and consume no more than the
 * stream, an error must be one of the documented ones with words and
 * stick, and no answer may pass HTTP_CONNECT_HEADER_MAX.
 *
 * Bit 7 set: bytes 1-2 are the port, byte 3 the capacity of the output,
 * and the rest is "host\0user:pass" (no NUL: no credentials). Either the
 * request is refused (-EINVAL, -ENOSPC with "" left) or it is exactly
 * the documented lines, and the credentials decode back from base64.
 *
 *   make VARIANT=fuzz build/fuzz/fuzz_http_connect
 *   build/fuzz/fuzz_http_connect -max_total_time=60 tests/fuzz/corpus/http_connect
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "http_connect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct http_connect hc;
	int rc;
	size_t consumed;
};

static void run_init(struct run *x)
{
	memset(x, 0, sizeof(*x));
	http_connect_init(&x->hc);
}

static void feed(struct run *x, const uint8_t *p, size_t len)
{
	size_t used = 12345;
	int rc;

	if (x->rc != 0) {
		/* An outcome sticks and takes no more bytes. */
		rc = http_connect_feed(&x->hc, p, len, &used);
		if (rc != x->rc || used != 0)
			abort();
		return;
	}
	rc = http_connect_feed(&x->hc, p, len, &used);
	if (used > len)
		abort();
	if (rc < 0) {
		if (used != 0 || (rc != -EPROTO && rc != -ECONNREFUSED && rc != -EMSGSIZE) ||
		    x->hc.why[0] == '\0' || memchr(x->hc.why, '\0', sizeof(x->hc.why)) == NULL)
			abort();
		if (rc == -ECONNREFUSED && (x->hc.status < 100 || x->hc.status > 999 ||
					    (x->hc.status >= 200 && x->hc.status < 300)))
			abort();
	} else if (rc == 1) {
		if (x->hc.status < 200 || x->hc.status > 299 || x->hc.why[0] != '\0')
			abort();
	} else if (rc != 0 || used != len || x->hc.status != 0) {
		abort();
	}
	x->rc = rc;
	x->consumed += used;
	if (x->consumed > HTTP_CONNECT_HEADER_MAX)
		abort();
}

static void same(const struct run *x, const struct run *y)
{
	/* Pieces before an error were taken whole, so only runs without
	 * one compare the bytes they consumed. */
	if (x->rc != y->rc || x->hc.status != y->hc.status ||
	    strcmp(x->hc.why, y->hc.why) != 0 || (x->rc >= 0 && x->consumed != y->consumed))
		abort();
}

static void answer(const uint8_t *data, size_t size)
{
	struct run whole, halves, bytes;
	size_t cut, i;

	if (size < 2)
		return;
	cut = (size_t)data[0] | (size_t)data[1] << 8;
	data += 2;
	size -= 2;
	cut %= size + 1;

	run_init(&whole);
	feed(&whole, data, size);
	if (whole.rc == 0 && whole.consumed != size)
		abort();

	run_init(&halves);
	feed(&halves, data, cut);
	feed(&halves, data + cut, size - cut);
	same(&whole, &halves);

	run_init(&bytes);
	for (i = 0; i < size; i++)
		feed(&bytes, data + i, 1);
	same(&whole, &bytes);
}

/* The request in `out` (`n` bytes) must be exactly what the header says
 * for `host`, `port` and `auth`. */
static void check_request(const char *out, int n, const char *host, uint16_t port,
			  const char *auth)
{
	char authority[600], want[1300], decoded[600];
	const char *p, *eol;
	size_t olen;
	int k;

	if (n <= 0 || strlen(out) != (size_t)n)
		abort();
	if (host[0] != '[' && strchr(host, ':') != NULL)
		k = snprintf(authority, sizeof(authority), "[%s]:%u", host, port);
	else
		k = snprintf(authority, sizeof(authority), "%s:%u", host, port);
	if (k < 0 || (size_t)k >= sizeof(authority))
		abort();
	k = snprintf(want, sizeof(want), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", authority,
		     authority);
	if (k < 0 || (size_t)k >= sizeof(want) || strncmp(out, want, (size_t)k) != 0)
		abort();
	p = out + k;
	if (auth != NULL) {
		if (strncmp(p, "Proxy-Authorization: Basic ", 27) != 0)
			abort();
		p += 27;
		eol = strstr(p, "\r\n");
		if (eol == NULL ||
		    mbedtls_base64_decode((unsigned char *)decoded, sizeof(decoded) - 1, &olen,
					  (const unsigned char *)p, (size_t)(eol - p)) != 0 ||
		    olen != strlen(auth) || memcmp(decoded, auth, olen) != 0)
			abort();
		p = eol + 2;
	}
	if (strcmp(p, "\r\n") != 0)
		abort();
}

static void request(const uint8_t *data, size_t size)
{
	char text[512], out[1300];
	const char *host, *auth;
	uint16_t port;
	size_t cap;
	int n;

	if (size < 3 || size - 3 >= sizeof(text))
		return;
	port = (uint16_t)(data[0] | data[1] << 8);
	cap = data[2] == 0xff ? sizeof(out) : data[2];
	memcpy(text, data + 3, size - 3);
	text[size - 3] = '\0';
	host = text;
	auth = strlen(text) < size - 3 ? text + strlen(text) + 1 : NULL;

	memset(out, 'x', sizeof(out));
	n = http_connect_request(out, cap, host, port, auth);
	if (n == -EINVAL || n == -ENOSPC) {
		if (cap > 0 && out[0] != '\0')
			abort();
		if (cap < sizeof(out) && out[cap] != 'x')
			abort();   /* written past cap */
		/* Refused for the bytes, it is refused at any capacity. */
		if (n == -EINVAL && http_connect_request(out, sizeof(out), host, port, auth) != -EINVAL)
			abort();
		return;
	}
	if (n < 0 || (size_t)n >= cap)
		abort();
	check_request(out, n, host, port, auth);
	/* A valid host and port need no more than hex, names, ':' and '.'. */
	if (strpbrk(host, "\r\n /@?#%") != NULL || port == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 0x80)
		request(data + 1, size - 1);
	else
		answer(data + 1, size - 1);
	return 0;
}
