/* libFuzzer target: the DNS analyzer (an_dns.c) through the analyzer test
 * API.
 *
 * Input: one byte whose low bit picks the transport (0 UDP: each chunk is
 * one datagram; 1 TCP: chunks are stream bytes, framed by RFC 1035 4.2.2
 * lengths), then records of
 *   length (2 bytes, big-endian) | control (1 byte) | `length` bytes
 * The control byte's bit 0 is the direction (1 = originator); bit 1 on TCP
 * makes the record a gap of `length` bytes instead of data; its high
 * nibble advances capture time by that many milliseconds. A short last
 * record takes what is left.
 *
 * Beyond ASan/UBSan's checks: every record must parse as JSON (jansson),
 * be an object of type "dns", and the session's memory must all come back
 * (the framework counts it; a leak shows at an_ctx_destroy under ASan). */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analyzer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_record(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	json_t *rec, *type;

	(void)ctx;
	if (cls != SPOOL_P2)
		abort();
	rec = json_loadb(json, len, 0, NULL);
	if (rec == NULL || !json_is_object(rec))
		abort();
	type = json_object_get(rec, "type");
	if (!json_is_string(type) || strcmp(json_string_value(type), "dns") != 0)
		abort();
	json_decref(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct an_config cfg = { .enabled = true, .mem_max = 4 << 20, .depth_bytes = 1 << 20,
				 .max_sessions = 4 };
	uint64_t ts = 1700000000000000ull;
	struct an_session *s;
	struct an_ctx *c;
	struct conn id;
	bool tcp;

	if (size < 1)
		return 0;
	tcp = data[0] & 1;
	data++;
	size--;
	memset(&id, 0, sizeof(id));
	id.ts_us = ts;
	strcpy(id.uid, "CFuzzDns");
	id.ip_version = 4;
	id.proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
	memcpy(id.orig_h, "\x0a\x00\x00\x01", 4);
	memcpy(id.resp_h, "\x0a\x00\x00\x35", 4);
	id.orig_p = 40000;
	id.resp_p = 53;
	strcpy(id.community_id, "1:AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	if (an_ctx_create(&c, &cfg, NULL, on_record, NULL) < 0)
		abort();
	s = an_test_session(c, &id, &an_dns);
	if (s == NULL)
		abort();
	while (size >= 3) {
		size_t len = (size_t)data[0] << 8 | data[1];
		uint8_t ctl = data[2];

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		ts += (uint64_t)(ctl >> 4) * 1000;
		if (tcp && (ctl & 2))
			an_test_gap(s, ctl & 1, len);
		else
			an_test_data(s, ctl & 1, data, len, ts);
		if (!(tcp && (ctl & 2))) {
			data += len;
			size -= len;
		}
	}
	an_test_end(s, ts);
	an_ctx_destroy(c);
	return 0;
}
