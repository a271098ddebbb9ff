/* libFuzzer target: the uplink's HTTP response parser (uplink_http over
 * http-parser), as the SOC's plaintext reaches it through TLS.
 *
 * Input: byte 0 picks the limits and whether several requests are in
 * flight (bit 7; then 2 to 9 of them, from the top bits of byte 2, as the
 * uplink pipelines them and re-arms the parser after each answer), bytes
 * 1-2 pick a split point, the rest is the stream from the server. The stream is fed three times to fresh parsers: whole, in two
 * pieces cut at the split point, and (when short) one byte at a time.
 * All three must give the same answers (status, keep-alive, kept body,
 * Retry-After) and stop with the same error at the same byte, whatever
 * the cut. Bytes after the last expected answer must be refused as a
 * response to nothing, an error must stick, and no answer may break the
 * limits.
 *
 *   make VARIANT=fuzz build/fuzz/fuzz_uplink_http
 *   build/fuzz/fuzz_uplink_http -max_total_time=60 tests/fuzz/corpus/uplink_http
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uplink_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_S 784111777     /* RFC 9110's example date */

struct answer {
	int status;
	bool keep_alive;
	size_t body_len;
	char body[UPLINK_RESP_BODY_KEEP + 1];
	int ra_rc;
	uint64_t ra_ms;
};

struct run {
	struct uplink_resp r;
	int expected;           /* answers the client waits for */
	int n;
	struct answer a[9];
	int err;
	size_t consumed;        /* bytes taken before the end or the error */
};

static void run_init(struct run *x, size_t max_header, size_t max_body, int expected)
{
	memset(x, 0, sizeof(*x));
	x->expected = expected;
	uplink_resp_init(&x->r, max_header, max_body);
	uplink_resp_start(&x->r);
}

static void feed(struct run *x, const uint8_t *p, size_t len)
{
	struct answer *a;
	size_t used;
	int rc;

	for (;;) {
		rc = uplink_resp_feed(&x->r, p, len, &used);
		if (used > len)
			abort();
		if (rc < 0) {
			if (used != 0 || (rc != -EPROTO && rc != -EMSGSIZE && rc != -EBADMSG))
				abort();
			if (x->err == 0)
				x->err = rc;
			else if (x->err != rc)
				abort();   /* an error sticks */
			return;
		}
		x->consumed += used;
		if (rc == 0) {
			if (used != len)
				abort();
			return;
		}
		if (rc != 1 || x->n >= x->expected)
			abort();
		a = &x->a[x->n++];
		a->status = x->r.status;
		a->keep_alive = x->r.keep_alive;
		a->body_len = x->r.body_len;
		if (a->status < 100 || a->status > 999 || a->body_len > UPLINK_RESP_BODY_KEEP ||
		    x->r.body[a->body_len] != '\0')
			abort();
		memcpy(a->body, x->r.body, a->body_len);
		a->ra_rc = uplink_resp_retry_after(&x->r, NOW_S, &a->ra_ms);
		if (a->ra_rc < 0 && a->ra_ms != 0)
			abort();
		if (x->n < x->expected && a->keep_alive)
			uplink_resp_start(&x->r);
		p += used;
		len -= used;
		if (len == 0)
			return;
	}
}

static void same(const struct run *x, const struct run *y)
{
	int i;

	/* Where an error is found depends on the cut (a limit is checked at
	 * the end of each piece), so only clean runs compare their bytes. */
	if (x->n != y->n || x->err != y->err || (x->err == 0 && x->consumed != y->consumed))
		abort();
	for (i = 0; i < x->n; i++) {
		const struct answer *a = &x->a[i], *b = &y->a[i];

		if (a->status != b->status || a->keep_alive != b->keep_alive ||
		    a->body_len != b->body_len || memcmp(a->body, b->body, a->body_len) != 0 ||
		    a->ra_rc != b->ra_rc || a->ra_ms != b->ra_ms)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, halves, bytes;
	size_t max_header, max_body, cut, i;
	int expected;

	if (size < 3)
		return 0;
	/* 0 picks the parser's defaults. */
	max_header = (data[0] & 0x0f) == 0x0f ? 0 : 64 + (size_t)(data[0] & 0x0f) * 256;
	max_body = ((data[0] >> 4) & 7) == 7 ? 0 : 1 + (size_t)((data[0] >> 4) & 7) * 512;
	expected = data[0] & 0x80 ? 2 + (data[2] >> 5) : 1;
	cut = (size_t)data[1] | (size_t)data[2] << 8;
	data += 3;
	size -= 3;
	cut %= size + 1;

	run_init(&whole, max_header, max_body, expected);
	feed(&whole, data, size);
	/* Past the answers we wait for, any byte is a response to nothing. */
	if (whole.err == 0 && whole.consumed != size)
		abort();

	run_init(&halves, max_header, max_body, expected);
	feed(&halves, data, cut);
	feed(&halves, data + cut, size - cut);
	same(&whole, &halves);

	if (size <= 4096) {
		run_init(&bytes, max_header, max_body, expected);
		for (i = 0; i < size; i++)
			feed(&bytes, data + i, 1);
		same(&whole, &bytes);
	}
	return 0;
}
