/* frag: IPv4 and IPv6 fragment reassembly (see frag.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "frag.h"

#define FRAG_BUCKETS    4096     /* power of two */
#define FRAG_MAX_BYTES  65536u   /* fragmentable part, rounded up to a block */
#define FRAG_BLOCKS     (FRAG_MAX_BYTES / 8)
#define FRAG_DONE_MAX   8        /* handed-out buffers per frame (nested IP) */
#define FRAG_EVICT_MAX  64       /* datagrams dropped for room per insert */
#define FRAG_MIN_BUF    1024u

struct frag_entry {
	struct frag_entry *hnext;        /* hash chain */
	struct frag_entry **hpprev;
	struct frag_entry *older, *newer; /* age list, by arrival of the first fragment */
	struct frag_key key;
	uint64_t first_us;
	uint8_t *buf;
	uint32_t cap;            /* bytes allocated at buf */
	uint32_t max_end;        /* highest end offset held */
	uint32_t total;          /* fragmentable length, once the last fragment came */
	uint32_t covered;        /* bytes held below max_end */
	uint32_t hdr_len;
	uint8_t ttl;
	uint8_t proto;
	bool has_total;
	bool has_proto;
	uint64_t map[FRAG_BLOCKS / 64]; /* held 8-byte blocks */
};

struct frag_table {
	struct frag_entry *buckets[FRAG_BUCKETS];
	struct frag_entry *oldest, *newest;
	size_t mem_used, mem_max;
	size_t count;
	uint64_t timeout_us;
	uint64_t seed;
	uint8_t *done[FRAG_DONE_MAX];
	unsigned n_done;
};

static uint64_t key_hash(const struct frag_table *t, const struct frag_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = t->seed ^ 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

int frag__create(struct frag_table **out, size_t mem_max, uint32_t timeout_ms)
{
	struct frag_table *t;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->mem_max = mem_max;
	t->timeout_us = (uint64_t)timeout_ms * 1000;
	/* A seeded hash keeps crafted fragment ids from piling into one chain. */
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uintptr_t)t;
	*out = t;
	return 0;
}

static void entry_unlink(struct frag_table *t, struct frag_entry *e)
{
	*e->hpprev = e->hnext;
	if (e->hnext != NULL)
		e->hnext->hpprev = e->hpprev;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	t->mem_used -= sizeof(*e) + e->cap;
	t->count--;
}

static void entry_drop(struct frag_table *t, struct frag_entry *e)
{
	entry_unlink(t, e);
	free(e->buf);
	free(e);
}

void frag__release(struct frag_table *t)
{
	unsigned i;

	for (i = 0; i < t->n_done; i++)
		free(t->done[i]);
	t->n_done = 0;
}

void frag__destroy(struct frag_table *t)
{
	if (t == NULL)
		return;
	while (t->oldest != NULL)
		entry_drop(t, t->oldest);
	frag__release(t);
	free(t);
}

size_t frag__mem_used(const struct frag_table *t)
{
	return t->mem_used;
}

size_t frag__count(const struct frag_table *t)
{
	return t->count;
}

void frag__expire(struct frag_table *t, uint64_t now_us, struct decode_stats *stats)
{
	unsigned n;

	for (n = 0; n < DECODE_FRAG_EXPIRE_MAX && t->oldest != NULL; n++) {
		struct frag_entry *e = t->oldest;

		if (now_us < e->first_us || now_us - e->first_us < t->timeout_us)
			break;
		entry_drop(t, e);
		stats->rejects[DECODE_R_FRAG_TIMEOUT]++;
	}
}

/* Drops the oldest datagrams other than `keep` until `need` more bytes fit
 * under the cap. False when they cannot be made to fit in bounded work. */
static bool make_room(struct frag_table *t, size_t need, const struct frag_entry *keep,
		      struct decode_stats *stats)
{
	unsigned n = 0;

	if (need > t->mem_max)
		return false;
	while (t->mem_used + need > t->mem_max) {
		struct frag_entry *e = t->oldest;

		if (e == keep)
			e = e->newer;
		if (e == NULL || n++ == FRAG_EVICT_MAX)
			return false;
		entry_drop(t, e);
		stats->rejects[DECODE_R_FRAG_MEMORY]++;
	}
	return true;
}

static struct frag_entry *entry_find(struct frag_table *t, const struct frag_key *k,
				     struct frag_entry ***bucket)
{
	struct frag_entry **b = &t->buckets[key_hash(t, k) & (FRAG_BUCKETS - 1)];
	struct frag_entry *e;

	*bucket = b;
	for (e = *b; e != NULL; e = e->hnext)
		if (memcmp(&e->key, k, sizeof(*k)) == 0)
			return e;
	return NULL;
}

static struct frag_entry *entry_new(struct frag_table *t, const struct frag_in *in,
				    struct frag_entry **bucket, struct decode_stats *stats)
{
	struct frag_entry *e;

	if (!make_room(t, sizeof(*e), NULL, stats))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->key = in->key;
	e->first_us = in->ts_us;
	e->hdr_len = in->hdr_len;
	e->ttl = in->ttl;
	e->hnext = *bucket;
	e->hpprev = bucket;
	if (*bucket != NULL)
		(*bucket)->hpprev = &e->hnext;
	*bucket = e;
	e->older = t->newest;
	if (t->newest != NULL)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
	t->mem_used += sizeof(*e);
	t->count++;
	return e;
}

/* Grows e->buf to hold `end` bytes (rounded up to a block). */
static bool entry_grow(struct frag_table *t, struct frag_entry *e, uint32_t end,
		       struct decode_stats *stats)
{
	uint32_t want = (end + 7) & ~7u, cap = e->cap ? e->cap : FRAG_MIN_BUF;
	uint8_t *buf;

	if (want <= e->cap)
		return true;
	while (cap < want)
		cap *= 2;
	if (cap > FRAG_MAX_BYTES)
		cap = FRAG_MAX_BYTES;
	if (!make_room(t, cap - e->cap, e, stats))
		return false;
	buf = realloc(e->buf, cap);
	if (buf == NULL)
		return false;
	t->mem_used += cap - e->cap;
	e->buf = buf;
	e->cap = cap;
	return true;
}

/* Copies [off, end) into the blocks not yet held; true if any was held. */
static bool entry_fill(struct frag_entry *e, const uint8_t *data, uint32_t off, uint32_t end)
{
	bool overlap = false;
	uint32_t b;

	for (b = off / 8; b * 8 < end; b++) {
		uint64_t bit = 1ull << (b % 64);
		uint32_t from = b * 8, to = from + 8 < end ? from + 8 : end;

		if (e->map[b / 64] & bit) {
			overlap = true;
			continue;
		}
		e->map[b / 64] |= bit;
		memcpy(e->buf + from, data + (from - off), to - from);
		e->covered += to - from;
	}
	if (end > e->max_end)
		e->max_end = end;
	return overlap;
}

static int drop(struct frag_out *out, enum decode_reject r)
{
	out->reason = (uint8_t)r;
	return FRAG_DROPPED;
}

int frag__insert(struct frag_table *t, const struct frag_in *in, struct frag_out *out,
		 struct decode_stats *stats)
{
	struct frag_entry **bucket, *e;
	uint32_t end = in->offset + in->len;
	bool overlap = false;

	if (end > FRAG_MAX_BYTES - 1)
		return drop(out, DECODE_R_FRAG_TOO_BIG);
	e = entry_find(t, &in->key, &bucket);
	if (e == NULL) {
		e = entry_new(t, in, bucket, stats);
		if (e == NULL)
			return drop(out, DECODE_R_FRAG_MEMORY);
	}
	/* IPv4's total length counts its header; IPv6's payload length
	 * counts the extension headers but not the fixed 40 bytes. */
	if (end + e->hdr_len - (e->key.version == 6 ? 40 : 0) > FRAG_MAX_BYTES - 1) {
		entry_drop(t, e);
		return drop(out, DECODE_R_FRAG_TOO_BIG);
	}
	if (!in->more) {
		/* The first last fragment fixes the length; a later one that
		 * disagrees, or one ending below bytes already held, is an
		 * overlap and only lends its bytes. */
		if (e->has_total || end < e->max_end)
			overlap = true;
		else {
			e->has_total = true;
			e->total = end;
		}
	}
	if (e->has_total && end > e->total) {
		overlap = true;
		end = e->total;
	}
	if (in->offset == 0 && !e->has_proto) {
		e->has_proto = true;
		e->proto = in->proto;
	}
	if (end > in->offset) {
		if (!entry_grow(t, e, end, stats)) {
			entry_drop(t, e);
			return drop(out, DECODE_R_FRAG_MEMORY);
		}
		overlap |= entry_fill(e, in->data, in->offset, end);
	}
	if (overlap)
		stats->rejects[DECODE_R_FRAG_OVERLAP]++;
	if (!e->has_total || e->covered != e->total)
		return FRAG_HELD;
	if (t->n_done == FRAG_DONE_MAX) {
		entry_drop(t, e);
		return drop(out, DECODE_R_FRAG_MEMORY);
	}
	/* Complete: the buffer leaves the table and is freed on release. */
	out->data = e->buf;
	out->len = e->total;
	out->hdr_len = e->hdr_len;
	out->ttl = e->ttl;
	out->proto = e->proto;
	t->done[t->n_done++] = e->buf;
	e->buf = NULL;
	entry_drop(t, e);
	stats->reassembled++;
	return FRAG_DONE;
}
