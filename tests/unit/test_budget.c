/* The disk budget over the spool and the outbox together (spool.h,
 * "budget"): eviction order across sealed batches and closed segments
 * (class, then age, then a lane's batches before its segments), loss
 * ranges that neither overlap the sealed data nor leave a hole, claims
 * left by a crash, a batch acknowledged while the budget runs, and what
 * is never evicted. Batches are real ones, made by the sealer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "log.h"
#include "sealer.h"
#include "spool.h"

#define REC_PER_LANE 60
#define MAX_EV 256

struct fixture {
	char base[200];
	char spool[256];
	char outbox[256];
	struct batch_key *dev, *soc;
};

struct ev {
	char lane[33];
	enum spool_class cls;
	enum spool_evict_kind kind;
	uint64_t first, last, records, bytes;
};

struct evict_log {
	struct ev ev[MAX_EV];
	size_t n;
	/* Deleted by the callback of the first eviction, as an uplink's
	 * acknowledgement would. */
	const char *ack_path;
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");
	uint8_t d[32];
	unsigned i;

	if (fx == NULL)
		return -1;
	snprintf(fx->base, sizeof(fx->base), "%s/ward-budget-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(fx->base) == NULL)
		return -1;
	snprintf(fx->spool, sizeof(fx->spool), "%s/spool", fx->base);
	snprintf(fx->outbox, sizeof(fx->outbox), "%s/outbox", fx->base);
	for (i = 0; i < 32; i++)
		d[i] = (uint8_t)(1 + i);
	if (batch_key_from_scalar(&fx->dev, d) != 0)
		return -1;
	for (i = 0; i < 32; i++)
		d[i] = (uint8_t)(0x21 + i);
	if (batch_key_from_scalar(&fx->soc, d) != 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	nftw(fx->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	batch_key_destroy(fx->dev);
	batch_key_destroy(fx->soc);
	free(fx);
	return 0;
}

static void on_evict(const struct spool_eviction *ev, void *arg)
{
	struct evict_log *el = arg;
	struct ev *e;

	assert_true(el->n < MAX_EV);
	e = &el->ev[el->n++];
	snprintf(e->lane, sizeof(e->lane), "%s", ev->lane);
	e->cls = ev->cls;
	e->kind = ev->kind;
	e->first = ev->first_seq;
	e->last = ev->last_seq;
	e->records = ev->records;
	e->bytes = ev->bytes;
	assert_string_equal(ev->reason, "disk_budget");
	if (el->ack_path != NULL) {
		assert_int_equal(unlink(el->ack_path), 0);
		el->ack_path = NULL;
	}
}

/* Appends `count` records of about 200 bytes to lane `name` (segments of
 * 1 KiB, so several records each) and closes it. */
static void write_lane(struct fixture *fx, const char *name, enum spool_class cls, int count)
{
	struct spool_lane_opts o;
	struct spool_lane *l = NULL;
	char rec[256];
	int i, n;

	memset(&o, 0, sizeof(o));
	o.spool_dir = fx->spool;
	o.name = name;
	o.cls = cls;
	o.segment_max_bytes = 1024;
	assert_int_equal(spool_lane_open(&l, &o), 0);
	for (i = 0; i < count; i++) {
		n = snprintf(rec, sizeof(rec), "{\"lane\":\"%s\",\"i\":%d,\"pad\":\"%0180d\"}",
			     name, i, i);
		assert_int_equal(spool_lane_append(l, 1, rec, (size_t)n, NULL), 0);
	}
	assert_int_equal(spool_lane_flush(l), 0);
	spool_lane_close(l);
}

/* Seals full batches of at most 4 KiB of NDJSON (about 20 records), as the
 * agent does during an outage: the rest waits in the spool, and a segment
 * whose first records went into a batch stays there too. */
static void seal_lane(struct fixture *fx, const char *name)
{
	struct sealer_opts o;
	struct sealer *s = NULL;

	memset(&o, 0, sizeof(o));
	o.spool_dir = fx->spool;
	o.lane = name;
	o.outbox_dir = fx->outbox;
	o.device_id = "probe-1";
	o.device = fx->dev;
	o.soc = fx->soc;
	o.max_batch_bytes = SEALER_MAX_BATCH_MIN;
	assert_int_equal(sealer_create(&s, &o), 0);
	assert_true(sealer_run(s, false, 1000000) >= 2);
	sealer_destroy(s);
}

static void make_backlog(struct fixture *fx)
{
	/* Written oldest first: within a class, age decides. */
	write_lane(fx, "alerts", SPOOL_P0, REC_PER_LANE);
	write_lane(fx, "logs", SPOOL_P1, REC_PER_LANE);
	write_lane(fx, "flows", SPOOL_P2, REC_PER_LANE);
	write_lane(fx, "dns", SPOOL_P2, REC_PER_LANE);
	seal_lane(fx, "alerts");
	seal_lane(fx, "logs");
	seal_lane(fx, "flows");
	seal_lane(fx, "dns");
}

static const struct spool_lane_usage *usage_lane(const struct spool_usage *u, const char *name)
{
	unsigned i;

	for (i = 0; i < u->nlanes; i++)
		if (strcmp(u->lanes[i].name, name) == 0)
			return &u->lanes[i];
	fail_msg("lane %s not in the usage", name);
	return NULL;
}

static uint64_t file_bytes(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (uint64_t)sb.st_size;
}

/* Evictions of one lane, in order: its batches first, then its segments;
 * ranges rising without overlap and, with `all`, covering 1..REC_PER_LANE
 * without a hole. Returns how many of them were batches. */
static size_t check_lane_ranges(const struct evict_log *el, const char *lane, bool all)
{
	uint64_t next = 1, records = 0;
	size_t i, batches = 0;
	bool seg_seen = false;

	for (i = 0; i < el->n; i++) {
		const struct ev *e = &el->ev[i];

		if (strcmp(e->lane, lane) != 0)
			continue;
		if (e->kind == SPOOL_EVICT_SEGMENT)
			seg_seen = true;
		else
			assert_false(seg_seen);   /* no batch after a segment */
		batches += e->kind == SPOOL_EVICT_BATCH;
		assert_int_equal(e->first, next);
		assert_int_equal(e->records, e->last - e->first + 1);
		assert_true(e->bytes > 0);
		next = e->last + 1;
		records += e->records;
	}
	if (all)
		assert_int_equal(records, REC_PER_LANE);
	return batches;
}

static void test_order_over_spool_and_outbox(void **state)
{
	struct fixture *fx = *state;
	struct evict_log *el = calloc(1, sizeof(*el));
	struct spool_usage before, after;
	char path[600];
	size_t i, first_p1 = SIZE_MAX, last_p2 = 0, first_p0 = SIZE_MAX, last_p1 = 0;
	int n;

	assert_non_null(el);
	make_backlog(fx);
	assert_int_equal(spool_budget_scan(fx->spool, fx->outbox, &before), 0);
	assert_int_equal(before.nlanes, 4);
	assert_true(usage_lane(&before, "flows")->batches >= 2);
	assert_true(usage_lane(&before, "flows")->outbox_bytes > 0);
	assert_true(before.outbox_bytes > 0);
	assert_int_equal(usage_lane(&before, "flows")->cls, SPOOL_P2);
	/* The spool alone is the old measure; the outbox comes on top. */
	{
		struct spool_usage sp;

		assert_int_equal(spool_usage_scan(fx->spool, &sp), 0);
		assert_int_equal(sp.total_bytes + before.outbox_bytes, before.total_bytes);
		assert_int_equal(sp.outbox_bytes, 0);
	}

	/* Within budget: nothing goes. */
	assert_int_equal(spool_budget_enforce(fx->spool, fx->outbox, before.total_bytes, on_evict,
					      el, NULL), 0);
	assert_int_equal(el->n, 0);

	/* A zero budget takes everything evictable, in order. */
	n = spool_budget_enforce(fx->spool, fx->outbox, 0, on_evict, el, &after);
	assert_int_equal(n, (int)el->n);
	for (i = 0; i < el->n; i++) {
		if (el->ev[i].cls == SPOOL_P2)
			last_p2 = i;
		if (el->ev[i].cls == SPOOL_P1) {
			if (first_p1 == SIZE_MAX)
				first_p1 = i;
			last_p1 = i;
		}
		if (el->ev[i].cls == SPOOL_P0 && first_p0 == SIZE_MAX)
			first_p0 = i;
	}
	assert_true(first_p1 != SIZE_MAX && first_p0 != SIZE_MAX);
	assert_true(last_p2 < first_p1);
	assert_true(last_p1 < first_p0);
	/* Within P2, flows was written first: its oldest batch goes first. */
	assert_string_equal(el->ev[0].lane, "flows");
	assert_int_equal(el->ev[0].kind, SPOOL_EVICT_BATCH);
	assert_int_equal(el->ev[0].first, 1);
	/* Every lane: batches first, then segments, and every record once. */
	assert_true(check_lane_ranges(el, "flows", true) >= 2);
	assert_true(check_lane_ranges(el, "dns", true) >= 2);
	assert_true(check_lane_ranges(el, "logs", true) >= 2);
	assert_true(check_lane_ranges(el, "alerts", true) >= 2);

	/* What is never evicted: the hash chain goes on from CHAIN. */
	snprintf(path, sizeof(path), "%s/flows/CHAIN", fx->outbox);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(usage_lane(&after, "flows")->batches, 0);
	/* Only the four CHAIN files are left in the outbox. */
	assert_int_equal(after.outbox_bytes, 4 * file_bytes(path));
	for (i = 0; i < after.nlanes; i++)
		assert_int_equal(after.lanes[i].batches, 0);
	free(el);
}

static void test_stops_at_budget(void **state)
{
	struct fixture *fx = *state;
	struct evict_log el;
	struct spool_usage before, after;
	char path[600];

	memset(&el, 0, sizeof(el));
	make_backlog(fx);
	assert_int_equal(spool_budget_scan(fx->spool, fx->outbox, &before), 0);
	/* One byte over: exactly one victim, the oldest P2 batch, and the
	 * usage after it is exact. */
	assert_int_equal(spool_budget_enforce(fx->spool, fx->outbox, before.total_bytes - 1,
					      on_evict, &el, &after), 1);
	assert_string_equal(el.ev[0].lane, "flows");
	assert_int_equal(el.ev[0].kind, SPOOL_EVICT_BATCH);
	assert_int_equal(el.ev[0].first, 1);
	assert_int_equal(after.total_bytes, before.total_bytes - el.ev[0].bytes);
	assert_int_equal(after.outbox_bytes, before.outbox_bytes - el.ev[0].bytes);
	assert_int_equal(usage_lane(&after, "flows")->batches,
			 usage_lane(&before, "flows")->batches - 1);
	snprintf(path, sizeof(path), "%s/flows/%020d-%020" PRIu64 ".batch", fx->outbox, 1,
		 el.ev[0].last);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/flows/%020d-%020" PRIu64 ".evict", fx->outbox, 1,
		 el.ev[0].last);
	assert_int_equal(access(path, F_OK), -1);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lane's sealed batches by name (oldest first), as full paths into
 * paths[]; each batch's first and last seq into f[] and l[]. */
static size_t list_batches(struct fixture *fx, const char *lane, char paths[][600],
			   uint64_t *f, uint64_t *l, size_t max)
{
	char dir[400], *names[256];
	struct dirent *de;
	size_t n = 0, i, len;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", fx->outbox, lane);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len > 6 && strcmp(de->d_name + len - 6, ".batch") == 0 && n < 256)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		if (i < max) {
			snprintf(paths[i], 600, "%s/%s", dir, names[i]);
			assert_int_equal(sscanf(names[i], "%20" SCNu64 "-%20" SCNu64, &f[i], &l[i]),
					 2);
		}
		free(names[i]);
	}
	return n < max ? n : max;
}

static void test_leftover_claim_and_ack(void **state)
{
	struct fixture *fx = *state;
	struct evict_log el;
	struct spool_usage u;
	char paths[3][600], claimed[600];
	uint64_t f[3], l[3];

	memset(&el, 0, sizeof(el));
	write_lane(fx, "logs", SPOOL_P1, REC_PER_LANE);
	seal_lane(fx, "logs");
	assert_int_equal(list_batches(fx, "logs", paths, f, l, 3), 3);

	/* A crash after claiming the first batch: it is reported on the next
	 * pass whatever the size, with the count from its header. */
	snprintf(claimed, sizeof(claimed), "%s/logs/%020" PRIu64 "-%020" PRIu64 ".evict",
		 fx->outbox, f[0], l[0]);
	assert_int_equal(rename(paths[0], claimed), 0);
	assert_int_equal(spool_budget_enforce(fx->spool, fx->outbox, UINT64_MAX, on_evict, &el,
					      NULL), 1);
	assert_int_equal(el.n, 1);
	assert_int_equal(el.ev[0].kind, SPOOL_EVICT_BATCH);
	assert_int_equal(el.ev[0].first, f[0]);
	assert_int_equal(el.ev[0].last, l[0]);
	assert_int_equal(el.ev[0].records, l[0] - f[0] + 1);
	assert_int_equal(access(claimed, F_OK), -1);

	/* A budget that needs the second and third batches gone. While the
	 * second is being reported, the uplink has the third acknowledged
	 * and deletes it: the third is then not reported as lost, and the
	 * budget is met without more evictions. */
	el.n = 0;
	el.ack_path = paths[2];
	assert_int_equal(spool_budget_scan(fx->spool, fx->outbox, &u), 0);
	assert_int_equal(spool_budget_enforce(fx->spool, fx->outbox,
					      u.total_bytes - file_bytes(paths[1]) -
					      file_bytes(paths[2]), on_evict, &el, &u), 1);
	assert_int_equal(el.n, 1);
	assert_int_equal(el.ev[0].first, f[1]);
	assert_int_equal(el.ev[0].last, l[1]);
	assert_int_equal(access(paths[1], F_OK), -1);
	assert_int_equal(access(paths[2], F_OK), -1);
}

static void test_unreadable_and_foreign_files(void **state)
{
	struct fixture *fx = *state;
	struct evict_log el;
	struct spool_usage u;
	char dir[400], path[600];
	FILE *f;

	memset(&el, 0, sizeof(el));
	/* A lane known only from the outbox (its spool directory is gone):
	 * class P1. A damaged batch: seqs from its name. A file that is no
	 * batch, and the uplink's quarantine: counted, never evicted. */
	snprintf(dir, sizeof(dir), "%s/old", fx->outbox);
	assert_int_equal(mkdir(fx->outbox, 0750), 0);
	assert_int_equal(mkdir(dir, 0750), 0);
	snprintf(path, sizeof(path), "%s/%020d-%020d.batch", dir, 5, 9);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a batch at all", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/notes.batch", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("0123456789", f);
	fclose(f);
	snprintf(dir, sizeof(dir), "%s/quarantine", fx->outbox);
	assert_int_equal(mkdir(dir, 0750), 0);
	snprintf(path, sizeof(path), "%s/old-%020d-%020d.batch", dir, 1, 4);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("refused", f);
	fclose(f);
	write_lane(fx, "logs", SPOOL_P1, 3);   /* closed segments, unsealed */

	assert_int_equal(spool_budget_scan(fx->spool, fx->outbox, &u), 0);
	assert_int_equal(u.outbox_quarantine_bytes, 7);
	assert_int_equal(u.outbox_bytes, 18 + 10 + 7);
	assert_int_equal(usage_lane(&u, "old")->cls, SPOOL_P1);
	assert_int_equal(usage_lane(&u, "old")->batches, 1);

	assert_true(spool_budget_enforce(fx->spool, fx->outbox, 0, on_evict, &el, &u) >= 2);
	/* "old" wrote first: its batch goes before logs' segments. */
	assert_string_equal(el.ev[0].lane, "old");
	assert_int_equal(el.ev[0].kind, SPOOL_EVICT_BATCH);
	assert_int_equal(el.ev[0].first, 5);
	assert_int_equal(el.ev[0].last, 9);
	assert_int_equal(el.ev[0].records, 5);
	assert_int_equal(el.ev[0].bytes, 18);
	assert_string_equal(el.ev[1].lane, "logs");
	assert_int_equal(el.ev[1].kind, SPOOL_EVICT_SEGMENT);
	assert_int_equal(el.ev[1].first, 1);
	assert_int_equal(u.outbox_bytes, 10 + 7);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/old/notes.batch", fx->outbox);
	assert_int_equal(access(path, F_OK), 0);
	/* No outbox at all is an empty one. */
	assert_int_equal(spool_budget_scan(fx->spool, "/nonexistent/outbox", &u), 0);
	assert_int_equal(u.outbox_bytes, 0);
	assert_string_equal(spool_evict_kind_name(SPOOL_EVICT_BATCH), "outbox");
	assert_string_equal(spool_evict_kind_name(SPOOL_EVICT_SEGMENT), "spool");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_over_spool_and_outbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stops_at_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftover_claim_and_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_and_foreign_files, setup, teardown),
	};

	log_setup("test_budget", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
