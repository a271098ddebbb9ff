/* spool budget: measuring the spool and evicting closed segments when it
 * outgrows its disk budget.
 *
 * Eviction is loss, and loss is never silent (DESIGN.md): every evicted
 * segment is described to the caller, which turns it into a P0 `loss`
 * record, before the file goes. The order is fixed by priority class (P2,
 * then P1, then P0) and age, so alerts are the last thing a full disk
 * costs.
 */
#include "spool.h"
#include "spool_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

struct bud_seg {
	uint64_t seq;
	uint64_t bytes;
	int64_t mtime_ns;
	enum spool__file_kind kind;
	bool gone;
};

struct bud_lane {
	char name[SPOOL__LANE_NAME_MAX + 1];
	enum spool_class cls;
	struct bud_seg *segs;       /* sorted by seq */
	size_t n, cap;
};

struct bud_spool {
	int spool_fd;
	struct bud_lane *lanes;     /* sorted by name */
	size_t n, cap;
	uint64_t total, quarantine;
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

static void bud_free(struct bud_spool *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->lanes[i].segs);
	free(b->lanes);
	if (b->spool_fd >= 0)
		close(b->spool_fd);
	memset(b, 0, sizeof(*b));
	b->spool_fd = -1;
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

static uint64_t sum_quarantine(int spool_fd)
{
	struct dirent *de;
	struct stat sb;
	uint64_t sum = 0;
	DIR *d;

	d = open_listing(spool_fd, SPOOL_QUARANTINE_DIR);
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

static int lane_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bud_lane *)a)->name, ((const struct bud_lane *)b)->name);
}

static int scan_lane(struct bud_spool *b, const char *name)
{
	struct bud_lane *ln;
	struct dirent *de;
	struct stat sb;
	enum spool__file_kind k;
	uint64_t seq;
	DIR *d;
	int rc;

	d = open_listing(b->spool_fd, name);
	if (d == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	rc = grow((void **)&b->lanes, &b->cap, b->n, sizeof(*b->lanes));
	if (rc < 0)
		goto out;
	ln = &b->lanes[b->n++];
	memset(ln, 0, sizeof(*ln));
	strcpy(ln->name, name);    /* validated by the caller */
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
			.mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec,
			.kind = k,
		};
		b->total += (uint64_t)sb.st_size;
	}
	if (ln->n > 0)
		qsort(ln->segs, ln->n, sizeof(*ln->segs), seg_cmp);
out:
	closedir(d);
	return rc;
}

/* One readdir of S, one of each lane, and one stat per segment file. */
static int bud_scan(const char *spool_dir, struct bud_spool *b)
{
	struct dirent *de;
	DIR *d = NULL;
	int rc = 0;

	memset(b, 0, sizeof(*b));
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
			b->quarantine = sum_quarantine(b->spool_fd);
		else if (spool_lane_name_valid(de->d_name) && (rc = scan_lane(b, de->d_name)) < 0)
			goto out;
	}
	b->total += b->quarantine;
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
	for (i = 0; i < b->n && u->nlanes < SPOOL_MAX_LANES; i++) {
		ln = &b->lanes[i];
		lu = &u->lanes[u->nlanes++];
		memcpy(lu->name, ln->name, sizeof(lu->name));
		lu->cls = ln->cls;
		for (j = 0; j < ln->n; j++) {
			if (ln->segs[j].gone)
				continue;
			lu->bytes += ln->segs[j].bytes;
			if (ln->segs[j].kind == SPOOL__F_EVICT)
				continue;
			if (lu->segments++ == 0) {
				lu->first_seq = ln->segs[j].seq;
				lu->oldest_us = seg_created_us(b->spool_fd, ln, &ln->segs[j]);
			}
		}
	}
}

int spool_usage_scan(const char *spool_dir, struct spool_usage *u)
{
	struct bud_spool b;
	int rc;

	if (spool_dir == NULL || u == NULL)
		return -EINVAL;
	rc = bud_scan(spool_dir, &b);
	if (rc < 0)
		return rc;
	bud_fill(&b, u);
	bud_free(&b);
	return 0;
}

struct evict_count {
	uint64_t records, last_seq;
};

static void evict_count_rec(const struct spool_record *rec, void *arg)
{
	struct evict_count *c = arg;

	c->records++;
	c->last_seq = rec->seq;
}

/* Reports and deletes a claimed (<seq>.evict) segment. */
static int evict_finish(struct bud_spool *b, struct bud_lane *ln, struct bud_seg *s,
			void (*on_evict)(const struct spool_eviction *ev, void *arg),
			void *arg)
{
	char file[SPOOL__FILE_NAME_SIZE];
	struct evict_count c = { 0, 0 };
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
	ev = (struct spool_eviction){
		.lane = ln->name,
		.cls = ln->cls,
		.first_seq = s->seq,
		.last_seq = c.records > 0 ? c.last_seq : s->seq - 1,
		.records = c.records,
		.bytes = s->bytes,
		.reason = "disk_budget",
	};
	if (on_evict != NULL)
		on_evict(&ev, arg);
	log_warn("spool: evicted %s/%s (%s, %llu records, %llu bytes) over disk budget",
		 ln->name, file, spool_class_name(ln->cls), (unsigned long long)c.records,
		 (unsigned long long)s->bytes);
	if (unlinkat(lane_fd, file, 0) < 0 && errno != ENOENT)
		rc = -errno;
	close(lane_fd);
	s->gone = true;
	if (rc == 0)
		b->total -= s->bytes < b->total ? s->bytes : b->total;
	return rc;
}

/* Claims a closed segment by renaming it to .evict. Returns 1 when claimed,
 * 0 when a reader consumed it first, or -errno. */
static int evict_claim(struct bud_spool *b, struct bud_lane *ln, struct bud_seg *s)
{
	char from[SPOOL__FILE_NAME_SIZE], to[SPOOL__FILE_NAME_SIZE];
	int lane_fd, rc = 1;

	lane_fd = openat(b->spool_fd, ln->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lane_fd < 0)
		return -errno;
	spool__file_name(from, s->seq, SPOOL__F_SEG);
	spool__file_name(to, s->seq, SPOOL__F_EVICT);
	if (renameat(lane_fd, from, lane_fd, to) < 0) {
		rc = errno == ENOENT ? 0 : -errno;
		if (rc == 0) {
			s->gone = true;
			b->total -= s->bytes < b->total ? s->bytes : b->total;
		}
	}
	close(lane_fd);
	if (rc == 1)
		s->kind = SPOOL__F_EVICT;
	return rc;
}

/* The next victim: the lowest class with a closed segment; within it, the
 * lane whose oldest closed segment was written longest ago. */
static bool pick_victim(struct bud_spool *b, struct bud_lane **vl, struct bud_seg **vs)
{
	struct bud_seg *s;
	size_t i, j;
	int cls;

	*vl = NULL;
	*vs = NULL;
	for (cls = SPOOL_NCLASS - 1; cls >= 0 && *vs == NULL; cls--) {
		for (i = 0; i < b->n; i++) {
			if ((int)b->lanes[i].cls != cls)
				continue;
			for (j = 0; j < b->lanes[i].n; j++) {
				s = &b->lanes[i].segs[j];
				if (s->gone || s->kind != SPOOL__F_SEG)
					continue;
				if (*vs == NULL || s->mtime_ns < (*vs)->mtime_ns) {
					*vl = &b->lanes[i];
					*vs = s;
				}
				break;      /* only each lane's oldest competes */
			}
		}
	}
	return *vs != NULL;
}

int spool_budget_enforce(const char *spool_dir, uint64_t budget_bytes,
			 void (*on_evict)(const struct spool_eviction *ev, void *arg),
			 void *arg, struct spool_usage *u)
{
	struct bud_spool b;
	struct bud_lane *vl;
	struct bud_seg *vs;
	size_t i, j;
	int rc, evicted = 0;

	if (spool_dir == NULL)
		return -EINVAL;
	rc = bud_scan(spool_dir, &b);
	if (rc < 0)
		return rc;
	/* Claims left by a crash between rename and delete: their loss may
	 * not have been reported yet, so report them now whatever the size. */
	for (i = 0; i < b.n; i++) {
		for (j = 0; j < b.lanes[i].n; j++) {
			if (b.lanes[i].segs[j].kind != SPOOL__F_EVICT)
				continue;
			rc = evict_finish(&b, &b.lanes[i], &b.lanes[i].segs[j], on_evict, arg);
			if (rc < 0)
				goto out;
			evicted++;
		}
	}
	while (b.total > budget_bytes && pick_victim(&b, &vl, &vs)) {
		rc = evict_claim(&b, vl, vs);
		if (rc < 0)
			goto out;
		if (rc == 0)
			continue;
		rc = evict_finish(&b, vl, vs, on_evict, arg);
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
