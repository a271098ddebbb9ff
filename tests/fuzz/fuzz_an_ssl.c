/* libFuzzer target: the TLS analyzer (an_ssl.c, an_ssl_fp.c,
 * an_ssl_x509.c) fed through the analyzer test API.
 *
 * Input: chunks of
 *   control (1 byte) | length (2 bytes, big-endian) | `length` bytes
 * The control byte's bit 0 is the direction (1 = originator), bit 1 puts
 * a gap of 100 bytes in that direction first; bit 2 ends the session
 * after the chunk and starts a new one on the same context, so state
 * reuse is exercised. Each chunk is copied to a buffer of exactly its
 * size, so ASan sees reads past it.
 *
 * Beyond ASan/UBSan's checks it asserts that every record the analyzer
 * writes is one JSON object of type "ssl" or "x509", and that all
 * analyzer memory is given back when the session ends (mem_bytes).
 *
 * The seed corpus (tests/fuzz/corpus/an_ssl/) holds real handshakes
 * between openssl s_client and s_server on 127.0.0.1 (TLS 1.2 and 1.3,
 * HelloRetryRequest, resumption, client certificates), captured with
 * tcpdump on lo and cut into this format at their TCP segments.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "analyzer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_record(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	(void)ctx;
	if (cls != SPOOL_P2 || len < 2 || json[0] != '{' || json[len - 1] != '}')
		abort();
	if (memmem(json, len, "\"type\":\"ssl\"", 12) == NULL &&
	    memmem(json, len, "\"type\":\"x509\"", 13) == NULL)
		abort();
}

static struct an_session *session(struct an_ctx *c)
{
	struct conn id;

	memset(&id, 0, sizeof(id));
	memcpy(id.uid, "CFuzz", 6);
	id.ip_version = 4;
	id.proto = IPPROTO_TCP;
	id.orig_h[0] = 10;
	id.resp_h[0] = 10;
	id.resp_h[3] = 2;
	id.orig_p = 40000;
	id.resp_p = 443;
	id.ts_us = 1700000000000000ull;
	return an_test_session(c, &id, &an_ssl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct an_config cfg;
	uint64_t ts = 1700000000000000ull, base;
	struct an_session *s;
	struct an_ctx *c;

	an_config_defaults(&cfg);
	cfg.mem_max = 8 << 20;
	if (an_ctx_create(&c, &cfg, NULL, on_record, NULL) != 0)
		abort();
	base = an_ctx_stats(c)->mem_bytes;
	s = session(c);
	if (s == NULL)
		abort();
	while (size >= 3) {
		uint8_t ctl = data[0];
		size_t len = (size_t)data[1] << 8 | data[2];
		uint8_t *chunk;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		chunk = malloc(len ? len : 1);
		if (chunk == NULL)
			abort();
		memcpy(chunk, data, len);
		if (ctl & 2)
			an_test_gap(s, ctl & 1, 100);
		an_test_data(s, ctl & 1, chunk, len, ts);
		free(chunk);
		data += len;
		size -= len;
		ts += 1000;
		if (ctl & 4) {
			an_test_end(s, ts);
			if (an_ctx_stats(c)->mem_bytes != base)
				abort();
			s = session(c);
			if (s == NULL)
				abort();
		}
	}
	an_test_end(s, ts);
	if (an_ctx_stats(c)->mem_bytes != base)
		abort();
	an_ctx_destroy(c);
	return 0;
}
