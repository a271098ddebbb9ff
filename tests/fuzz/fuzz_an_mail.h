/* The libFuzzer harness the line-protocol analyzers share (fuzz_an_smtp.c,
 * fuzz_an_pop3.c, fuzz_an_ftp.c, fuzz_an_telnet.c): one session on one
 * analyzer, fed through the analyzer test API.
 *
 * Input: one byte of settings (low two bits: the user-name mask), then
 * records of
 *   control (1 byte) | length (1 byte) | `length` bytes
 * Control bit 0 picks the direction (1: originator); bit 1 makes the
 * record a gap of `length` * 16 bytes instead of data (no bytes follow);
 * bits 2-7 advance capture time by that many milliseconds. At the end
 * the session ends (its records are written) and the context is freed.
 *
 * Beyond ASan/UBSan it checks that every record the sink gets is one
 * well-formed JSON object with a "type". */
#ifndef WARD_FUZZ_AN_MAIL_H
#define WARD_FUZZ_AN_MAIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyzer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_sink(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	json_error_t e;
	json_t *v = json_loadb(json, len, JSON_ALLOW_NUL, &e);

	if (v == NULL || !json_is_object(v) || !json_is_string(json_object_get(v, "type")))
		abort();
	json_decref(v);
	(void)ctx;
	(void)cls;
}

static int fuzz_an_stream(const struct analyzer *a, const uint8_t *data, size_t size)
{
	struct an_config cfg = {
		.enabled = true, .mem_max = 4 << 20, .depth_bytes = 1 << 20, .max_sessions = 16,
		.max_uri_bytes = 8192, .max_header_bytes = 8192, .file_hashes = true,
	};
	struct conn id = { .ts_us = 1700000000000000ull, .ip_version = 4, .proto = 6,
			   .orig_p = 40000, .resp_p = 25 };
	uint64_t ts = id.ts_us;
	struct an_session *s;
	struct an_ctx *c;

	if (size < 1)
		return 0;
	cfg.user_mask = (enum an_user_mask)(data[0] % 3);
	data++;
	size--;
	strcpy(id.uid, "CfuzzFuzzFuzz01");
	strcpy(id.community_id, "1:fuzzfuzzfuzzfuzzfuzzfuzzfuzz=");
	id.orig_h[0] = 10, id.orig_h[3] = 1, id.resp_h[0] = 10, id.resp_h[3] = 2;
	if (an_ctx_create(&c, &cfg, NULL, fuzz_sink, NULL) != 0)
		abort();
	s = an_test_session(c, &id, a);
	if (s == NULL)
		abort();
	while (size >= 2) {
		uint8_t ctl = data[0];
		size_t len = data[1];

		data += 2;
		size -= 2;
		ts += (uint64_t)(ctl >> 2) * 1000;
		if (ctl & 2) {
			an_test_gap(s, ctl & 1, len * 16);
			continue;
		}
		if (len > size)
			len = size;
		{
			/* A copy of exactly `len` bytes, so ASan sees reads past it. */
			uint8_t *chunk = malloc(len ? len : 1);

			if (chunk == NULL)
				abort();
			memcpy(chunk, data, len);
			an_test_data(s, ctl & 1, chunk, len, ts);
			free(chunk);
		}
		data += len;
		size -= len;
	}
	an_test_end(s, ts + 1000);
	an_ctx_destroy(c);
	return 0;
}

#endif
