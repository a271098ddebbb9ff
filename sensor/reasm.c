/* reasm: placeholder until the reassembler lands (issue 5): delivers
 * only segments that arrive exactly in order. */
#include "reasm.h"

#include <string.h>

#include "pkt.h"

void reasm_stream_init(struct reasm_stream *s)
{
	memset(s, 0, sizeof(*s));
}

void reasm_segment(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
		   uint32_t seq, uint8_t flags, const uint8_t *d, uint32_t len, uint32_t wire_len,
		   uint64_t ts_us)
{
	if (flags & PKT_TCP_SYN) {
		s->next = seq + 1;
		s->started = true;
		return;
	}
	if (!s->started) {
		s->next = seq;
		s->started = true;
	}
	if (seq != s->next || len == 0)
		return;
	o->deliver(o->ctx, o->is_orig, d, len, ts_us);
	s->next += len;
	s->offset += len;
	c->st.delivered_bytes += len;
}

void reasm_ack(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
	       uint32_t ack, uint64_t ts_us)
{
}

void reasm_stream_flush(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
			uint64_t ts_us)
{
}

void reasm_stream_free(struct reasm_ctx *c, struct reasm_stream *s)
{
}
