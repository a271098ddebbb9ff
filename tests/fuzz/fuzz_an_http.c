/* libFuzzer target: the HTTP analyzer (an_http.c) and files (files.c,
 * files_magic.c), both directions of one connection interleaved.
 *
 * Input: one configuration byte, then records of
 *   control (1 byte) | length (2 bytes, big-endian) | `length` bytes
 * The control byte's bit 0 is the direction (1: originator); bits 1-2
 * pick the operation: 3 is a gap of `length` bytes (no bytes follow),
 * anything else delivers the bytes. The configuration byte sets small
 * URI and header caps (bit 0), a file depth (bit 1), the user mask
 * (bits 2-3) and a small memory cap (bit 4), so every limit is reached.
 * The probe also sees the first bytes of each direction.
 *
 * Beyond ASan/UBSan's checks: every record must be valid JSON (jansson)
 * with a known "type", and the context's memory charge must be back to
 * zero once the session has ended (nothing leaked from the cap).
 *
 * The seed corpus (corpus/an_http/) holds real exchanges, curl against
 * python3 -m http.server on 127.0.0.1 through a byte-recording relay,
 * and hand-made ones for chunked, gzip, 100-continue, Basic auth,
 * pipelining, HEAD, CONNECT and gaps, in this format. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyzer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_record(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	json_t *j = json_loadb(json, len, JSON_ALLOW_NUL, NULL);
	const char *type;

	(void)ctx;
	if (j == NULL) {
		fprintf(stderr, "invalid JSON record: %.*s\n", (int)len, json);
		abort();
	}
	type = json_string_value(json_object_get(j, "type"));
	if (type == NULL)
		abort();
	if (strcmp(type, "http") != 0 && strcmp(type, "files") != 0 &&
	    !(strcmp(type, "notice") == 0 && cls == SPOOL_P0))
		abort();
	json_decref(j);
}

static void probe(const uint8_t *o, size_t olen, const uint8_t *r, size_t rlen)
{
	struct an_probe_view v = {
		.orig = o, .orig_len = olen, .resp = r, .resp_len = rlen,
		.proto = IPPROTO_TCP, .orig_p = 40000, .resp_p = 80,
	};
	enum an_probe_result res = an_http.probe(&v);

	if (res != AN_PROBE_NO && res != AN_PROBE_MAYBE && res != AN_PROBE_YES)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t ts = 1700000000000000ull;
	const uint8_t *first[2] = { NULL, NULL };
	size_t first_len[2] = { 0, 0 };
	struct an_config cfg;
	struct an_session *s;
	struct an_ctx *c;
	struct conn id;
	uint8_t conf;

	if (size < 1)
		return 0;
	conf = data[0];
	data++;
	size--;
	an_config_defaults(&cfg);
	if (conf & 1) {
		cfg.max_uri_bytes = 16;
		cfg.max_header_bytes = 32;
	}
	if (conf & 2)
		cfg.file_depth_bytes = 100;
	cfg.user_mask = (enum an_user_mask)((conf >> 2) % 3);
	if (conf & 16)
		cfg.mem_max = 16 << 10;
	memset(&id, 0, sizeof(id));
	strcpy(id.uid, "CFuzz");
	id.ip_version = 4;
	id.proto = IPPROTO_TCP;
	id.orig_h[0] = 10;
	id.resp_h[0] = 10;
	id.resp_h[3] = 2;
	id.orig_p = 40000;
	id.resp_p = 80;
	id.ts_us = ts;
	strcpy(id.community_id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	if (an_ctx_create(&c, &cfg, NULL, on_record, NULL) != 0)
		abort();
	s = an_test_session(c, &id, &an_http);
	if (s == NULL) {
		an_ctx_destroy(c);
		return 0;
	}
	while (size >= 3) {
		uint8_t ctl = data[0];
		size_t len = (size_t)data[1] << 8 | data[2];
		bool is_orig = ctl & 1;

		data += 3;
		size -= 3;
		ts += 1000;
		if (((ctl >> 1) & 3) == 3) {
			an_test_gap(s, is_orig, len);
			continue;
		}
		if (len > size)
			len = size;
		{
			/* A copy of exactly `len` bytes, so ASan sees reads past it. */
			uint8_t *copy = malloc(len ? len : 1);

			if (copy == NULL)
				abort();
			memcpy(copy, data, len);
			an_test_data(s, is_orig, copy, len, ts);
			free(copy);
		}
		if (first[is_orig] == NULL) {
			first[is_orig] = data;
			first_len[is_orig] = len;
		}
		data += len;
		size -= len;
	}
	probe(first[1], first_len[1], first[0], first_len[0]);
	an_test_end(s, ts + 1000);
	if (an_ctx_stats(c)->mem_bytes != 0)
		abort();
	an_ctx_destroy(c);
	return 0;
}
