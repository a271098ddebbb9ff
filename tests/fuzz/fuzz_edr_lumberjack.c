/* libFuzzer target: the Lumberjack v2 frame decoder.
 *
 * Input: byte 0 seeds the split sizes and the refusals, the rest is the
 * TCP stream. It is decoded once in a single push and again in random
 * pieces, with the event callback refusing events now and then (as a
 * full spool does); both runs must yield the same events in the same
 * order (compared by a running hash) up to the same outcome, no event may
 * exceed max_event, and every event the decoder hands out is turned into
 * a record as the relay does. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "edr/edr_lumberjack.h"
#include "edr/edr_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENT 4096
#define MAX_BODY 65536

struct tally {
	uint64_t hash, count;
	uint32_t rng;             /* 0: never refuse */
	int refused_last;
};

static uint32_t next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static int on_event(void *arg, uint32_t seq, const uint8_t *json, size_t len)
{
	struct tally *t = arg;
	size_t i;

	if (len > MAX_EVENT)
		abort();
	/* Refuse now and then, but never the same event twice in a row, so
	 * the retry below always makes progress. */
	if (t->rng != 0 && !t->refused_last && next(&t->rng) % 5 == 0) {
		t->refused_last = 1;
		return -ENOSPC;
	}
	t->refused_last = 0;
	t->hash = (t->hash ^ seq) * 0x100000001b3ULL;
	for (i = 0; i < len; i++)
		t->hash = (t->hash ^ json[i]) * 0x100000001b3ULL;
	t->count++;
	if (t->rng == 0) {
		struct edr_meta m = { .recv_us = 1, .input = EDR_INPUT_LUMBERJACK };
		json_error_t e;
		json_t *ev = json_loadb((const char *)json, len, JSON_DECODE_ANY, &e);
		char *text;
		size_t n;

		if (ev != NULL) {
			if (edr_record_encode(&m, ev, &text, &n) != 0)
				abort();
			free(text);
			json_decref(ev);
		}
	}
	return 0;
}

/* Decodes until done or failed, retrying after refusals. */
static int run(struct edr_lj *d, struct tally *t)
{
	int rc;

	while ((rc = edr_lj_decode(d, on_event, t)) == -ENOSPC)
		;
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally whole = { 0 }, split = { 0 };
	struct edr_lj a, b;
	uint32_t rng;
	size_t off;
	int ra, rb = 0;

	if (size < 1)
		return 0;
	rng = data[0] | 0x100u;
	data++;
	size--;
	edr_lj_init(&a, MAX_EVENT, MAX_BODY);
	edr_lj_init(&b, MAX_EVENT, MAX_BODY);
	if (edr_lj_push(&a, data, size) < 0)
		abort();
	ra = run(&a, &whole);
	split.rng = rng;
	for (off = 0; off < size && rb == 0;) {
		size_t take = 1 + next(&rng) % 97;

		if (take > size - off)
			take = size - off;
		if (edr_lj_push(&b, data + off, take) < 0)
			abort();
		off += take;
		rb = run(&b, &split);
	}
	/* The same stream gives the same events and the same end. */
	if (whole.count != split.count || whole.hash != split.hash || ra != rb)
		abort();
	if (ra == 0 && edr_lj_buffered(&a) != edr_lj_buffered(&b))
		abort();
	edr_lj_free(&a);
	edr_lj_free(&b);
	return 0;
}
