/* libFuzzer target: the Lumberjack v2 frame decoder.
 *
 * Input: byte 0 seeds the split sizes and the refusals, the rest is the
 * TCP stream. It is decoded once in a single push and again in random
 * pieces, with the event callback refusing events now and then (as a
 * full spool does); both runs must yield the same events in the same
 * order (compared by a running hash) up to the same outcome, no event may
 * exceed max_event, and every event the decoder hands out is turned into
 * a record as the relay does (check_record says what is checked). */
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

static void check_record(const uint8_t *json, size_t len);

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
	if (t->rng == 0)
		check_record(json, len);
	return 0;
}

/* The relay's record of an event: one line of valid JSON whatever the
 * bytes; when jansson takes the event, so does the relay's parser (bar
 * a NUL byte, see below), and the record's original is the same value. */
static void check_record(const uint8_t *json, size_t len)
{
	static struct edr_parser *p, *check;
	struct edr_meta m = { .recv_us = 1, .input = EDR_INPUT_LUMBERJACK };
	struct buf rec = BUF_INIT, again = BUF_INIT;
	json_error_t e;
	json_t *ev = json_loadb((const char *)json, len, JSON_DECODE_ANY, &e);
	int rc;

	if (p == NULL && (edr_parser_create(&p) < 0 || edr_parser_create(&check) < 0))
		abort();
	rc = edr_record_encode_json(p, &m, (const char *)json, len, 0, NULL, &rec);
	if (rc == -EBADMSG) {
		/* jansson reads a NUL byte as the end of the text ("2\0"
		 * parses); that is no JSON text, so the relay keeps it as a
		 * string. */
		if (ev != NULL && memchr(json, '\0', len) == NULL)
			abort();
		json_decref(ev);
		ev = NULL;
		rc = edr_record_encode_string(&m, (const char *)json, len, &rec);
	}
	if (rc != 0 || memchr(rec.data, '\n', rec.len) != NULL)
		abort();
	/* The record is well-formed JSON and UTF-8: it parses itself. */
	if (edr_record_encode_json(check, &m, (const char *)rec.data, rec.len, 0, NULL,
				   &again) != 0)
		abort();
	if (ev != NULL) {
		json_t *r = json_loadb((const char *)rec.data, rec.len, 0, &e);

		if (r == NULL || !json_equal(json_object_get(r, "original"), ev))
			abort();
		json_decref(r);
		json_decref(ev);
	}
	buf_free(&rec);
	buf_free(&again);
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
	static struct buf scratch;
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
	/* As in the relay, the decoders share one buffer for windows; b's
	 * refusals move what is left of a window to its own. */
	edr_lj_set_scratch(&a, &scratch);
	edr_lj_set_scratch(&b, &scratch);
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
	/* Every decode leaves the shared buffer empty. */
	if (scratch.len != 0)
		abort();
	return 0;
}
