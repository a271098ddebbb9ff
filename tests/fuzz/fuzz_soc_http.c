/* libFuzzer target: ward-soc's HTTP request handling (soc_http over
 * http-parser, routed by soc_api without an ingest, test hooks on).
 *
 * Input: byte 0 picks the size limits, byte 1 seeds the chunk splits, the
 * rest is the plaintext a TLS client sent. The stream is fed once whole
 * and once in random pieces to two fresh parsers; both must write the
 * same responses byte for byte (requests answered in order, whatever the
 * segmentation), every request handed on must respect the limits, and
 * after an error or "Connection: close" nothing more may be answered.
 * One allowance: a request that breaks two rules (say an oversized header
 * that also holds a bad byte) may be refused for either, depending on the
 * split, so the final error answer itself is not compared, only that both
 * runs failed at the same point.
 *
 *   make VARIANT=fuzz build/fuzz/fuzz_soc_http
 *   build/fuzz/fuzz_soc_http -max_total_time=60 tests/fuzz/corpus/soc_http
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "soc/soc_api.h"
#include "soc/soc_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct soc_api api;
	struct soc_http http;
	struct buf out;
	size_t max_body;
	int failed;
	size_t failed_at;       /* out.len before the error answer */
};

static void handler(void *arg, const struct soc_http_req *req, struct soc_http_resp *resp)
{
	struct run *r = arg;

	if (req->body_len > r->max_body || strlen(req->path) >= 2 * SOC_HTTP_PATH_MAX)
		abort();
	soc_api_handle(&r->api, req, resp);
}

static void run_init(struct run *r, size_t max_header, size_t max_body)
{
	memset(r, 0, sizeof(*r));
	r->api.test_hooks = 1;
	r->max_body = max_body;
	soc_http_init(&r->http, max_header, max_body, handler, r);
	buf_init(&r->out);
}

/* Feeds and collects the answers, as soc_server does. */
static void feed(struct run *r, const uint8_t *p, size_t n)
{
	int closing = soc_http_closing(&r->http);
	size_t before = r->out.len;
	const uint8_t *err;

	if (soc_http_feed(&r->http, p, n) < 0) {
		/* The error answer is the last one in this feed's output. */
		err = memmem(r->http.out.data, r->http.out.len, "HTTP/1.1 4", 10);
		while (err != NULL) {
			const uint8_t *next = memmem(err + 1, r->http.out.len -
						     (size_t)(err + 1 - r->http.out.data),
						     "HTTP/1.1 4", 10);
			if (next == NULL)
				break;
			err = next;
		}
		if (err == NULL)
			abort();
		r->failed = 1;
		r->failed_at = before + (size_t)(err - r->http.out.data);
	}
	if (closing && r->http.out.len > 0)
		abort();  /* answered after the connection was done */
	if (buf_append(&r->out, r->http.out.data, r->http.out.len) < 0)
		abort();
	buf_reset(&r->http.out);
}

static void run_free(struct run *r)
{
	soc_http_free(&r->http);
	buf_free(&r->out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, parts;
	size_t max_header, max_body, off = 0, n;
	uint32_t x;

	if (size < 2)
		return 0;
	max_header = 64 + (size_t)(data[0] & 0x0f) * 256;
	max_body = 1 + (size_t)(data[0] >> 4) * 512;
	x = data[1] * 2654435761u + 1;
	data += 2;
	size -= 2;
	run_init(&whole, max_header, max_body);
	run_init(&parts, max_header, max_body);
	feed(&whole, data, size);
	while (off < size) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		n = 1 + x % 64;
		if (n > size - off)
			n = size - off;
		feed(&parts, data + off, n);
		off += n;
	}
	if (whole.failed != parts.failed)
		abort();
	if (whole.failed) {
		whole.out.len = whole.failed_at;
		parts.out.len = parts.failed_at;
	}
	if (whole.out.len != parts.out.len ||
	    (whole.out.len > 0 && memcmp(whole.out.data, parts.out.data, whole.out.len) != 0))
		abort();
	run_free(&whole);
	run_free(&parts);
	return 0;
}
