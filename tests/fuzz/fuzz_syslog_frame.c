/* libFuzzer target: the RFC 6587 framer fed in random chunk splits.
 *
 * Input: byte 0 picks max_msg_bytes, byte 1 seeds the split sizes and the
 * early stops, the rest is the TCP stream. The stream is framed once in a
 * single feed and again in random pieces, with the callback stopping the
 * feed now and then; both must yield the same messages (compared by a
 * running hash), each at most max_msg_bytes long and never empty, and the
 * framer's buffer must stay bounded. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "syslog/syslog_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	uint64_t hash;
	uint64_t count;
	uint32_t max;
	uint32_t rng;      /* 0: never stop */
};

static uint32_t next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static int on_msg(void *arg, const char *msg, size_t len, bool truncated)
{
	struct tally *t = arg;

	if (len == 0 || len > t->max)
		abort();
	t->hash = (t->hash ^ len ^ (truncated ? 0x100000000ULL : 0)) * 0x100000001b3ULL;
	for (size_t i = 0; i < len; i++)
		t->hash = (t->hash ^ (uint8_t)msg[i]) * 0x100000001b3ULL;
	t->count++;
	if (t->rng != 0 && next(&t->rng) % 7 == 0)
		return -1;   /* stop; the caller feeds the rest again */
	return 0;
}

static void frame(const uint8_t *p, size_t len, uint32_t max, uint32_t seed, struct tally *t)
{
	struct syslog_framer f;
	uint32_t rng = seed | 1;
	size_t off = 0;

	memset(t, 0, sizeof *t);
	t->hash = 0xcbf29ce484222325ULL;
	t->max = max;
	t->rng = seed ? seed * 2654435761u | 1 : 0;
	syslog_framer_init(&f, max);
	while (off < len) {
		size_t n = seed ? 1 + next(&rng) % 64 : len;
		size_t used = 0;
		int rc;

		if (n > len - off)
			n = len - off;
		rc = syslog_framer_feed(&f, p + off, n, on_msg, t, &used);
		if (used > n || (rc == 0 && used != n) || (rc != 0 && rc != -1))
			abort();
		off += used;
		if (f.acc.cap > 2 * (size_t)max + 256)
			abort();
	}
	if (syslog_framer_finish(&f, on_msg, t) < -1)
		abort();
	syslog_framer_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t maxes[8] = { 1, 2, 5, 16, 64, 300, 8192, 0 };
	struct tally whole, split;
	uint32_t max;

	if (size < 2)
		return 0;
	max = maxes[data[0] & 7];
	if (max == 0)
		max = SYSLOG_FRAME_DEFAULT_MAX;
	frame(data + 2, size - 2, max, 0, &whole);
	frame(data + 2, size - 2, max, data[1] + 1u, &split);
	if (whole.hash != split.hash || whole.count != split.count)
		abort();
	return 0;
}
