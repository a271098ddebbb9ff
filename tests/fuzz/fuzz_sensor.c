/* libFuzzer target: the whole offline pipeline of ward-sensor on frames:
 * the decoder, the flow table and every protocol analyzer behind TCP
 * reassembly and detection (decode.c, flow.c, analyzer.c, reasm.c,
 * an_*.c, files.c).
 *
 * The input is a sequence of Ethernet frames, each preceded by a 4-byte
 * header: its length (u16, big-endian) and the time since the previous
 * frame in ms (u16, big-endian). The seed corpus is real sessions
 * (tests/fuzz/corpus/sensor/, from ward-pcapgen's sample and the
 * analyzers' own exchanges), so mutations keep most headers valid and
 * reach the analyzers with odd sequence numbers, overlaps, gaps and
 * truncations. The caps are small (memory, sessions, depth) so that the
 * pressure paths run too. Beyond ASan/UBSan it checks that every record
 * is one JSON object with a "type", and that nothing stays allocated
 * after the flush. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "decode.h"
#include "flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct an_ctx *an;
};

static void sink(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	(void)ctx;
	(void)cls;
	if (len < 10 || json[0] != '{' || json[len - 1] != '}' ||
	    memmem(json, len, "\"type\":", 7) == NULL)
		abort();
}

static void emit(void *ctx, const struct conn *c)
{
	struct run *r = ctx;

	(void)an_flow_end(r->an, c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flow_config fc = {
		.mem_max = 64 * flow_state_bytes(), .tcp_timeout_ms = 60000,
		.udp_timeout_ms = 30000, .icmp_timeout_ms = 10000, .uid_seed = 1,
	};
	struct an_config ac;
	struct decoder *dec = NULL;
	struct flow_table *ft = NULL;
	struct run r = { NULL };
	uint64_t ts = 1700000000000000ull;
	size_t off = 0;

	an_config_defaults(&ac);
	ac.mem_max = 4u * 1024 * 1024;
	ac.max_sessions = 32;
	ac.depth_bytes = 64 * 1024;
	if (decoder_create(&dec, NULL) != 0 || flow_table_create(&ft, &fc, emit, &r) != 0 ||
	    an_ctx_create(&r.an, &ac, ft, sink, NULL) != 0)
		abort();
	while (off + 4 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		struct flow_ref ref;
		struct pkt p;

		ts += ((uint64_t)data[off + 2] << 8 | data[off + 3]) * 1000;
		off += 4;
		if (len > size - off)
			len = size - off;
		if (decoder_decode(dec, 1 /* DLT_EN10MB */, data + off, (uint32_t)len,
				   (uint32_t)len, ts, &p) == DECODE_OK &&
		    flow_table_update_ref(ft, &p, &ref) == 0)
			an_packet(r.an, &ref, &p);
		off += len;
	}
	flow_table_flush(ft);
	if (an_ctx_stats(r.an)->sessions_active != 0 || an_ctx_stats(r.an)->reasm_buffered != 0)
		abort();
	an_ctx_destroy(r.an);
	flow_table_destroy(ft);
	decoder_destroy(dec);
	return 0;
}
