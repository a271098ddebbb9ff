/* spool budget: measuring the spool and the outbox, and evicting closed
 * segments and sealed batches when together they outgrow their disk
 * budget.
 *
 * Eviction is loss, and loss is never silent (DESIGN.md): every evicted
 * segment or batch is described to the caller, which turns it into a P0
 * `loss` record, before the file goes. The order is fixed by priority
 * class (P2, then P1, then P0) and age, so alerts are the last thing a
 * full disk costs. The outbox layout is the sealer's (sealer.h); the
 * budget reads batch names, batch headers and CHAIN, and never writes
 * there except to claim and delete a batch.
 */
#include "spool.h"
#include "spool_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "log.h"

/* The sealer's names (sealer.h): "<first:020>-<last:020>.batch", and the
 * budget's claim of one, "<first:020>-<last:020>.evict". */
#define BATCH_NAME_LEN 47
#define BATCH_NAME_SIZE 48
#define CHAIN_FILE "CHAIN"

struct bud_seg {
	uint64_t seq;
	uint64_t bytes;
	int64_t mtime_ns;
	enum spool__file_kind kind;
	bool gone;
};

struct bud_batch {
	uint64_t first, last;
	uint64_t bytes;
	int64_t mtime_ns;
	bool claimed;               /* <first>-<last>.evict */
	bool gone;
};

struct bud_lane {
	char name[SPOOL__LANE_NAME_MAX + 1];
	enum spool_class cls;
	bool in_spool;
	struct bud_seg *segs;       /* sorted by seq */
	size_t n, cap;
	struct bud_batch *batches;  /* sorted by first seq */
	size_t nb, capb;
	uint64_t spool_bytes;       /* S/<lane> */
	uint64_t outbox_bytes;      /* O/<lane>, every file */
	uint64_t chain_last;        /* CHAIN's last sealed seq; 0 = none */
};

struct bud_spool {
	int spool_fd;
	int outbox_fd;              /* -1 without an outbox */
	struct bud_lane *lanes;     /* sorted by name */
	size_t n, cap;
	uint64_t total, quarantine;
	uint64_t outbox, outbox_quarantine;
};

const char *spool_class_name(enum spool_class c)
{
	switch (c) {
	case SPOOL_P0: return "P0";
	case SPOOL_P1: return "P1";
	case SPOOL_P2: return "P2";
	}
	return "P?";
}

const char *spool_evict_kind_name(enum spool_evict_kind k)
{
	return k == SPOOL_EVICT_BATCH ? "outbox" : "spool";
}

static void bud_free(struct bud_spool *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->lanes[i].segs);
		free(b->lanes[i].batches);
	}
	free(b->lanes);
	if (b->spool_fd >= 0)
		close(b->spool_fd);
	if (b->outbox_fd >= 0)
		close(b->outbox_fd);
	memset(b, 0, sizeof(*b));
	b->spool_fd = b->outbox_fd = -1;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(*v, ncap * size);
	if (p == NULL)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

/* Opens `name` under `at` as a directory listing; NULL with errno set. */
static DIR *open_listing(int at, const char *name)
{
	DIR *d;
	int fd;

	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (d == NULL)
		close(fd);
	return d;
}

/* The bytes of the regular files in `at`/`name` (a quarantine). */
static uint64_t sum_dir(int at, const char *name)
{
	struct dirent *de;
	struct stat sb;
	uint64_t sum = 0;
	DIR *d;

	d = open_listing(at, name);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(sb.st_mode))
			sum += (uint64_t)sb.st_size;
	closedir(d);
	return sum;
}

static int seg_cmp(const void *a, const void *b)
{
	const struct bud_seg *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int batch_cmp(const void *a, const void *b)
{
	const struct bud_batch *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

static int lane_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bud_lane *)a)->name, ((const struct bud_lane *)b)->name);
}

static int64_t mtime_ns(const struct stat *sb)
{
	return (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
}

/* Exactly 20 digits that fit a u64. */
static bool parse_u64_20(const char *p, uint64_t *v)
{
	uint64_t x = 0;
	int i;

	for (i = 0; i < 20; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		if (x > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return true;
}

/* "<first:020>-<last:020>.batch" or ".evict"; false for any other name. */
static bool batch_name_parse(const char *name, uint64_t *first, uint64_t *last, bool *claimed)
{
	if (strlen(name) != BATCH_NAME_LEN || name[20] != '-' ||
	    !parse_u64_20(name, first) || !parse_u64_20(name + 21, last) || *last < *first)
		return false;
	if (strcmp(name + 41, ".batch") == 0)
		*claimed = false;
	else if (strcmp(name + 41, ".evict") == 0)
		*claimed = true;
	else
		return false;
	return true;
}

static void batch_name(char out[BATCH_NAME_SIZE], const struct bud_batch *bt, bool claimed)
{
	snprintf(out, BATCH_NAME_SIZE, "%020" PRIu64 "-%020" PRIu64 ".%s", bt->first, bt->last,
		 claimed ? "evict" : "batch");
}

/* The lane named `name`, added (P1, empty) when new. NULL on -ENOMEM. */
static struct bud_lane *lane_get(struct bud_spool *b, const char *name)
{
	struct bud_lane *ln;
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->lanes[i].name, name) == 0)
			return &b->lanes[i];
	if (grow((void **)&b->lanes, &b->cap, b->n, sizeof(*b->lanes)) < 0)
		return NULL;
	ln = &b->lanes[b->n++];
	memset(ln, 0, sizeof(*ln));
	strcpy(ln->name, name);    /* validated by the caller */
	ln->cls = SPOOL_P1;        /* as spool__lane_class without a LANE file */
	return ln;
}

static int scan_lane(struct bud_spool *b, const char *name)
{
	struct bud_lane *ln;
	struct dirent *de;
	struct stat sb;
	enum spool__file_kind k;
	uint64_t seq;
	DIR *d;
	int rc = 0;

	d = open_listing(b->spool_fd, name);
	if (d == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	ln = lane_get(b, name);
	if (ln == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	ln->in_spool = true;
	ln->cls = spool__lane_class(dirfd(d));
	while ((de = readdir(d)) != NULL) {
		k = spool__file_parse(de->d_name, &seq);
		if (k == SPOOL__F_OTHER)
			continue;
		/* Deleted since readdir: a reader consumed it. */
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		rc = grow((void **)&ln->segs, &ln->cap, ln->n, sizeof(*ln->segs));
		if (rc < 0)
			goto out;
		ln->segs[ln->n++] = (struct bud_seg){
			.seq = seq,
			.bytes = (uint64_t)sb.st_size,
			.mtime_ns = mtime_ns(&sb),
			.kind = k,
		};
		ln->spool_bytes += (uint64_t)sb.st_size;
		b->total += (uint64_t)sb.st_size;
	}
	if (ln->n > 0)
		qsort(ln->segs, ln->n, sizeof(*ln->segs), seg_cmp);
out:
	closedir(d);
	return rc;
}

/* CHAIN's last sealed seq (sealer.h: "ward-chain 1 <last> <hash>"); 0 when
 * there is none or it does not read, so that nothing is taken as sealed
 * that may not be. */
static uint64_t chain_last(int lane_fd)
{
	unsigned long long last;
	char text[128];
	ssize_t n;
	int fd;

	fd = openat(lane_fd, CHAIN_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	if (sscanf(text, "ward-chain 1 %llu ", &last) != 1)
		return 0;
	return (uint64_t)last;
}

/* Measures O/<lane>: every regular file counts; batches are listed. */
static int scan_outbox_lane(struct bud_spool *b, const char *name)
{
	struct bud_lane *ln;
	struct bud_batch bt;
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int rc = 0;

	d = open_listing(b->outbox_fd, name);
	if (d == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	ln = lane_get(b, name);
	if (ln == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	ln->chain_last = chain_last(dirfd(d));
	while ((de = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		ln->outbox_bytes += (uint64_t)sb.st_size;
		b->outbox += (uint64_t)sb.st_size;
		b->total += (uint64_t)sb.st_size;
		memset(&bt, 0, sizeof(bt));
		if (!batch_name_parse(de->d_name, &bt.first, &bt.last, &bt.claimed))
			continue;
		bt.bytes = (uint64_t)sb.st_size;
		bt.mtime_ns = mtime_ns(&sb);
		rc = grow((void **)&ln->batches, &ln->capb, ln->nb, sizeof(*ln->batches));
		if (rc < 0)
			goto out;
		ln->batches[ln->nb++] = bt;
	}
	if (ln->nb > 0)
		qsort(ln->batches, ln->nb, sizeof(*ln->batches), batch_cmp);
out:
	closedir(d);
	return rc;
}

/* One readdir of O and of each O/<lane>, one stat per file. A missing
 * outbox is an empty one (nothing sealed yet). */
static int scan_outbox(struct bud_spool *b, const char *outbox_dir)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	b->outbox_fd = open(outbox_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->outbox_fd < 0)
		return errno == ENOENT ? 0 : -errno;
	d = open_listing(b->outbox_fd, ".");
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, SPOOL_QUARANTINE_DIR) == 0) {
			/* The uplink's quarantine: batches the SOC refused. */
			b->outbox_quarantine = sum_dir(b->outbox_fd, de->d_name);
			b->outbox += b->outbox_quarantine;
			b->total += b->outbox_quarantine;
		} else if (spool_lane_name_valid(de->d_name) &&
			   (rc = scan_outbox_lane(b, de->d_name)) < 0) {
			break;
		}
	}
	closedir(d);
	return rc;
}

/* One readdir of S, one of each lane, and one stat per segment file; the
 * same for the outbox when given. */
static int bud_scan(const char *spool_dir, const char *outbox_dir, struct bud_spool *b)
{
	struct dirent *de;
	DIR *d = NULL;
	int rc = 0;

	memset(b, 0, sizeof(*b));
	b->outbox_fd = -1;
	b->spool_fd = open(spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->spool_fd < 0)
		return -errno;
	d = open_listing(b->spool_fd, ".");
	if (d == NULL) {
		rc = -errno;
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, SPOOL_QUARANTINE_DIR) == 0)
			b->quarantine = sum_dir(b->spool_fd, de->d_name);
		else if (spool_lane_name_valid(de->d_name) && (rc = scan_lane(b, de->d_name)) < 0)
			goto out;
	}
	b->total += b->quarantine;
	if (outbox_dir != NULL) {
		rc = scan_outbox(b, outbox_dir);
		if (rc < 0)
			goto out;
	}
	if (b->n > 0)
		qsort(b->lanes, b->n, sizeof(*b->lanes), lane_cmp);
out:
	if (d != NULL)
		closedir(d);
	if (rc < 0)
		bud_free(b);
	return rc;
}

static int64_t seg_created_us(int spool_fd, const struct bud_lane *ln, const struct bud_seg *s)
{
	char path[SPOOL__LANE_NAME_MAX + SPOOL__FILE_NAME_SIZE + 2];
	char file[SPOOL__FILE_NAME_SIZE];
	uint8_t hdr[SPOOL_SEG_HDR_SIZE];
	struct spool__seg_hdr h;
	ssize_t n;
	int fd;

	spool__file_name(file, s->seq, s->kind);
	strcpy(path, ln->name);
	strcat(path, "/");
	strcat(path, file);
	fd = openat(spool_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (n != (ssize_t)sizeof(hdr) || !spool__hdr_decode(hdr, sizeof(hdr), &h))
		return 0;
	return h.created_us;
}

static void bud_fill(const struct bud_spool *b, struct spool_usage *u)
{
	const struct bud_lane *ln;
	struct spool_lane_usage *lu;
	size_t i, j;

	memset(u, 0, sizeof(*u));
	u->total_bytes = b->total;
	u->quarantine_bytes = b->quarantine;
	u->outbox_bytes = b->outbox;
	u->outbox_quarantine_bytes = b->outbox_quarantine;
	for (i = 0; i < b->n && u->nlanes < SPOOL_MAX_LANES; i++) {
		ln = &b->lanes[i];
		lu = &u->lanes[u->nlanes++];
		memcpy(lu->name, ln->name, sizeof(lu->name));
		lu->cls = ln->cls;
		lu->bytes = ln->spool_bytes;
		lu->outbox_bytes = ln->outbox_bytes;
		for (j = 0; j < ln->n; j++) {
			if (ln->segs[j].gone || ln->segs[j].kind == SPOOL__F_EVICT)
				continue;
			if (lu->segments++ == 0) {
				lu->first_seq = ln->segs[j].seq;
				lu->oldest_us = seg_created_us(b->spool_fd, ln, &ln->segs[j]);
			}
		}
		for (j = 0; j < ln->nb; j++)
			if (!ln->batches[j].gone && !ln->batches[j].claimed)
				lu->batches++;
	}
}

int spool_budget_scan(const char *spool_dir, const char *outbox_dir, struct spool_usage *u)
{
	struct bud_spool b;
	int rc;

	if (spool_dir == NULL || u == NULL)
		return -EINVAL;
	rc = bud_scan(spool_dir, outbox_dir, &b);
	if (rc < 0)
		return rc;
	bud_fill(&b, u);
	bud_free(&b);
	return 0;
}

int spool_usage_scan(const char *spool_dir, struct spool_usage *u)
{
	return spool_budget_scan(spool_dir, NULL, u);
}

/* ---- eviction ------------------------------------------------------------- */

/* Takes `bytes` off the lane's and the whole's totals (never below 0). */
static void bud_sub(struct bud_spool *b, uint64_t *lane_bytes, uint64_t *part, uint64_t bytes)
{
	*lane_bytes -= bytes < *lane_bytes ? bytes : *lane_bytes;
	if (part != NULL)
		*part -= bytes < *part ? bytes : *part;
	b->total -= bytes < b->total ? bytes : b->total;
}

struct evict_count {
	uint64_t above;             /* records above it are not sealed yet */
	uint64_t records, first_seq, last_seq;
	uint64_t sealed;            /* records at or below `above` */
};

static void evict_count_rec(const struct spool_record *rec, void *arg)
{
	struct evict_count *c = arg;

	if (rec->seq <= c->above) {
		c->sealed++;
		return;
	}
	if (c->records++ == 0)
		c->first_seq = rec->seq;
	c->last_seq = rec->seq;
}

static void log_eviction(const struct spool_eviction *ev, const char *file)
{
	log_warn("budget: evicted %s %s/%s (%s, seqs %" PRIu64 "-%" PRIu64 ", %" PRIu64
		 " records, %" PRIu64 " bytes) over the disk budget",
		 ev->kind == SPOOL_EVICT_BATCH ? "sealed batch" : "segment", ev->lane, file,
		 spool_class_name(ev->cls), ev->first_seq, ev->last_seq, ev->records, ev->bytes);
}

/* Reports and deletes a claimed (<seq>.evict) segment. Only its records
 * above the lane's CHAIN are lost: the others are in sealed batches. */
static int evict_seg_finish(struct bud_spool *b, struct bud_lane *ln, struct bud_seg *s,
			    void (*on_evict)(const struct spool_eviction *ev, void *arg),
			    void *arg)
{
	char file[SPOOL__FILE_NAME_SIZE];
	struct evict_count c = { .above = ln->chain_last };
	struct spool_eviction ev;
	uint8_t *data = NULL;
	size_t len = 0;
	int lane_fd, rc = 0;

	lane_fd = openat(b->spool_fd, ln->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lane_fd < 0)
		return -errno;
	spool__file_name(file, s->seq, SPOOL__F_EVICT);
	/* Counting needs a read; an unreadable file is still reported, with
	 * what its name tells. */
	if (spool__read_file(lane_fd, file, &data, &len) == 0)
		spool_scan(data, len, SPOOL__MAX_RECORD_BYTES, evict_count_rec, NULL, &c);
	free(data);
	if (c.records == 0)
		c.first_seq = s->seq > ln->chain_last ? s->seq : ln->chain_last + 1;
	ev = (struct spool_eviction){
		.lane = ln->name,
		.cls = ln->cls,
		.kind = SPOOL_EVICT_SEGMENT,
		.first_seq = c.first_seq,
		.last_seq = c.records > 0 ? c.last_seq : c.first_seq - 1,
		.records = c.records,
		.bytes = s->bytes,
		.reason = "disk_budget",
	};
	/* All of it was sealed (a crash before the sealer consumed it): it
	 * is in the outbox, and deleting it loses nothing. */
	if (c.records == 0 && c.sealed > 0) {
		log_info("budget: deleted %s/%s, sealed already", ln->name, file);
	} else {
		if (on_evict != NULL)
			on_evict(&ev, arg);
		log_eviction(&ev, file);
	}
	if (unlinkat(lane_fd, file, 0) < 0 && errno != ENOENT)
		rc = -errno;
	close(lane_fd);
	s->gone = true;
	if (rc == 0)
		bud_sub(b, &ln->spool_bytes, NULL, s->bytes);
	return rc;
}

/* Reports and deletes a claimed (<first>-<last>.evict) batch. */
static int evict_batch_finish(struct bud_spool *b, struct bud_lane *ln, struct bud_batch *bt,
			      void (*on_evict)(const struct spool_eviction *ev, void *arg),
			      void *arg)
{
	char path[SPOOL__LANE_NAME_MAX + BATCH_NAME_SIZE + 2];
	uint8_t hdr[BATCH_HDR_SIZE];
	struct spool_eviction ev;
	struct batch_hdr h;
	ssize_t n = -1;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/", ln->name);
	batch_name(path + strlen(path), bt, true);
	ev = (struct spool_eviction){
		.lane = ln->name,
		.cls = ln->cls,
		.kind = SPOOL_EVICT_BATCH,
		.first_seq = bt->first,
		.last_seq = bt->last,
		.records = bt->last - bt->first + 1,
		.bytes = bt->bytes,
		.reason = "disk_budget",
	};
	/* The header is signed but not encrypted: the count needs no key. */
	fd = openat(b->outbox_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = pread(fd, hdr, sizeof(hdr), 0);
		close(fd);
	}
	if (n == (ssize_t)sizeof(hdr) && batch_parse_header(hdr, sizeof(hdr), &h) == 0 &&
	    h.first_seq == bt->first && h.last_seq == bt->last) {
		ev.records = h.records;
	}
	if (on_evict != NULL)
		on_evict(&ev, arg);
	log_eviction(&ev, path + strlen(ln->name) + 1);
	if (unlinkat(b->outbox_fd, path, 0) < 0 && errno != ENOENT)
		rc = -errno;
	bt->gone = true;
	if (rc == 0)
		bud_sub(b, &ln->outbox_bytes, &b->outbox, bt->bytes);
	return rc;
}

/* The lane's outbox directory, opened and locked (flock, exclusive), or
 * -1 when there is none. The sealer commits CHAIN under the same lock,
 * once it has checked that the segments it sealed from are all still
 * there (sealer.c, commit_group). */
static int outbox_lock(struct bud_spool *b, const char *lane)
{
	int fd;

	if (b->outbox_fd < 0)
		return -1;
	fd = openat(b->outbox_fd, lane, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Claims a closed segment by renaming it to .evict. Returns 1 when claimed,
 * 0 when a reader consumed it first, or -errno. The claim and a new read
 * of CHAIN are made under the outbox lock: a record of the segment is
 * then either in a batch CHAIN commits (and not counted lost) or in none
 * (the sealer finds the segment gone and does not commit it). */
static int evict_seg_claim(struct bud_spool *b, struct bud_lane *ln, struct bud_seg *s)
{
	char from[SPOOL__FILE_NAME_SIZE], to[SPOOL__FILE_NAME_SIZE];
	int lane_fd, ofd, rc = 1;

	lane_fd = openat(b->spool_fd, ln->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lane_fd < 0)
		return -errno;
	spool__file_name(from, s->seq, SPOOL__F_SEG);
	spool__file_name(to, s->seq, SPOOL__F_EVICT);
	ofd = outbox_lock(b, ln->name);
	if (renameat(lane_fd, from, lane_fd, to) < 0) {
		rc = errno == ENOENT ? 0 : -errno;
		if (rc == 0) {
			s->gone = true;
			bud_sub(b, &ln->spool_bytes, NULL, s->bytes);
		}
	}
	if (rc == 1 && ofd >= 0)
		ln->chain_last = chain_last(ofd);
	if (ofd >= 0)
		close(ofd);          /* and with it the lock */
	close(lane_fd);
	if (rc == 1)
		s->kind = SPOOL__F_EVICT;
	return rc;
}

/* Claims a sealed batch by renaming it to .evict, which the uplink does
 * not send. Returns 1 when claimed, 0 when it was acknowledged (deleted)
 * first, or -errno. A batch the uplink has read already may still be
 * acknowledged: its delete then finds no file, which it takes as done. */
static int evict_batch_claim(struct bud_spool *b, struct bud_lane *ln, struct bud_batch *bt)
{
	char from[SPOOL__LANE_NAME_MAX + BATCH_NAME_SIZE + 2];
	char to[SPOOL__LANE_NAME_MAX + BATCH_NAME_SIZE + 2];
	int rc = 1;

	snprintf(from, sizeof(from), "%s/", ln->name);
	snprintf(to, sizeof(to), "%s/", ln->name);
	batch_name(from + strlen(from), bt, false);
	batch_name(to + strlen(to), bt, true);
	if (renameat(b->outbox_fd, from, b->outbox_fd, to) < 0) {
		rc = errno == ENOENT ? 0 : -errno;
		if (rc == 0) {
			bt->gone = true;
			bud_sub(b, &ln->outbox_bytes, &b->outbox, bt->bytes);
		}
	}
	if (rc == 1)
		bt->claimed = true;
	return rc;
}

/* A lane's oldest evictable data: its first sealed batch, else its first
 * closed segment. */
struct victim {
	struct bud_lane *ln;
	struct bud_batch *bt;       /* or */
	struct bud_seg *seg;
	int64_t mtime_ns;
};

static bool lane_oldest(struct bud_lane *ln, struct victim *v)
{
	size_t j;

	memset(v, 0, sizeof(*v));
	v->ln = ln;
	for (j = 0; j < ln->nb; j++) {
		if (ln->batches[j].gone || ln->batches[j].claimed)
			continue;
		v->bt = &ln->batches[j];
		v->mtime_ns = v->bt->mtime_ns;
		return true;
	}
	for (j = 0; j < ln->n; j++) {
		if (ln->segs[j].gone || ln->segs[j].kind != SPOOL__F_SEG)
			continue;
		v->seg = &ln->segs[j];
		v->mtime_ns = v->seg->mtime_ns;
		return true;
	}
	return false;
}

/* The next victim: the lowest class with evictable data; within it, the
 * lane whose oldest data was written longest ago. */
static bool pick_victim(struct bud_spool *b, struct victim *best)
{
	struct victim v;
	size_t i;
	int cls;
	bool found = false;

	for (cls = SPOOL_NCLASS - 1; cls >= 0 && !found; cls--) {
		for (i = 0; i < b->n; i++) {
			if ((int)b->lanes[i].cls != cls || !lane_oldest(&b->lanes[i], &v))
				continue;
			if (!found || v.mtime_ns < best->mtime_ns) {
				*best = v;
				found = true;
			}
		}
	}
	return found;
}

/* Claims left by a crash between rename and delete: their loss may not
 * have been reported yet, so report them now whatever the size. Returns
 * how many, or -errno. */
static int finish_leftovers(struct bud_spool *b,
			    void (*on_evict)(const struct spool_eviction *ev, void *arg),
			    void *arg)
{
	struct bud_lane *ln;
	size_t i, j;
	int rc, n = 0;

	for (i = 0; i < b->n; i++) {
		ln = &b->lanes[i];
		for (j = 0; j < ln->nb; j++) {
			if (!ln->batches[j].claimed)
				continue;
			rc = evict_batch_finish(b, ln, &ln->batches[j], on_evict, arg);
			if (rc < 0)
				return rc;
			n++;
		}
		for (j = 0; j < ln->n; j++) {
			if (ln->segs[j].kind != SPOOL__F_EVICT)
				continue;
			rc = evict_seg_finish(b, ln, &ln->segs[j], on_evict, arg);
			if (rc < 0)
				return rc;
			n++;
		}
	}
	return n;
}

int spool_budget_enforce(const char *spool_dir, const char *outbox_dir, uint64_t budget_bytes,
			 void (*on_evict)(const struct spool_eviction *ev, void *arg),
			 void *arg, struct spool_usage *u)
{
	struct bud_spool b;
	struct victim v = { 0 };
	int rc, evicted;

	if (spool_dir == NULL)
		return -EINVAL;
	rc = bud_scan(spool_dir, outbox_dir, &b);
	if (rc < 0)
		return rc;
	rc = finish_leftovers(&b, on_evict, arg);
	if (rc < 0)
		goto out;
	evicted = rc;
	while (b.total > budget_bytes && pick_victim(&b, &v)) {
		rc = v.bt != NULL ? evict_batch_claim(&b, v.ln, v.bt)
				  : evict_seg_claim(&b, v.ln, v.seg);
		if (rc < 0)
			goto out;
		if (rc == 0)
			continue;       /* consumed or acknowledged meanwhile */
		rc = v.bt != NULL ? evict_batch_finish(&b, v.ln, v.bt, on_evict, arg)
				  : evict_seg_finish(&b, v.ln, v.seg, on_evict, arg);
		if (rc < 0)
			goto out;
		evicted++;
	}
	rc = evicted;
out:
	if (u != NULL)
		bud_fill(&b, u);
	bud_free(&b);
	return rc;
}
