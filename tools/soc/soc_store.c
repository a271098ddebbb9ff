#include "soc_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct soc_store {
	char dir[4096];
	struct soc_lane *lanes;
	uint64_t quarantined;           /* names quarantine files uniquely */
};

/* Version 2 appends <dropped> <epochs> <epoch hash hex> to version 1. */
#define STATE_FMT "ward-soc-lane %u %" SCNu64 " %" SCNu64 " %64s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
#define STATE_FMT2 " %" SCNu64 " %" SCNu64 " %64s"

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int mkdir_durable(const char *path, const char *parent)
{
	if (mkdir(path, 0750) == 0)
		return fsync_dir(parent);
	return errno == EEXIST ? 0 : -errno;
}

/* snprintf that reports truncation as -ENAMETOOLONG. */
static int path_of(char *dst, size_t cap, const char *fmt, const char *a, const char *b,
		   const char *c)
{
	int n = snprintf(dst, cap, fmt, a, b, c);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int soc_store_create(struct soc_store **out, const char *dir)
{
	struct soc_store *st;
	char q[4200];
	int rc;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	rc = path_of(st->dir, sizeof(st->dir), "%s%s%s", dir, "", "");
	if (rc < 0)
		goto out;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		rc = -errno;
		goto out;
	}
	rc = path_of(q, sizeof(q), "%s/%s%s", dir, "quarantine", "");
	if (rc == 0)
		rc = mkdir_durable(q, dir);
	if (rc < 0)
		goto out;
	*out = st;
	return 0;
out:
	free(st);
	return rc;
}

void soc_store_destroy(struct soc_store *st)
{
	struct soc_lane *l, *next;

	if (st == NULL)
		return;
	for (l = st->lanes; l != NULL; l = next) {
		next = l->next;
		free(l);
	}
	free(st);
}

static int hex_decode(const char *hex, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	if (strlen(hex) != 2 * n)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* Reads the holes of a version 3 state: "<filled> <n> {f-l-hex-broke}". */
static int read_holes(FILE *f, struct soc_lane *l)
{
	char hex[65];
	unsigned n, i;
	struct soc_hole *h;

	if (fscanf(f, " %" SCNu64 " %u", &l->filled, &n) != 2 || n > SOC_HOLES_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		h = &l->holes[i];
		if (fscanf(f, " %" SCNu64 "-%" SCNu64 "-%64[0-9a-f]-%d", &h->first, &h->last, hex,
			   &h->broke) != 4 || h->first > h->last ||
		    (i > 0 && h->first <= l->holes[i - 1].last) ||
		    hex_decode(hex, h->next_prev, BATCH_HASH_SIZE) < 0)
			return -EINVAL;
	}
	l->n_holes = n;
	return 0;
}

int soc_store_read_state(const char *dir, const char *device, const char *lane,
			 struct soc_lane *l)
{
	char path[4300], hex[65], ehex[65];
	unsigned version = 0;
	FILE *f;
	int rc = 0;

	memset(l, 0, sizeof(*l));
	if (strlen(device) > BATCH_NAME_MAX || strlen(lane) > BATCH_NAME_MAX)
		return -EINVAL;
	strcpy(l->device, device);
	strcpy(l->lane, lane);
	rc = path_of(path, sizeof(path), "%s/%s/%s/state", dir, device, lane);
	if (rc < 0)
		return rc;
	f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	if (fscanf(f, STATE_FMT, &version, &l->first_seq, &l->last_seq, hex, &l->bytes,
		   &l->records, &l->gaps, &l->dups) != 8 || version < 1 || version > 3 ||
	    hex_decode(hex, l->last_hash, BATCH_HASH_SIZE) < 0)
		rc = -EINVAL;
	else if (version >= 2 &&
		 (fscanf(f, STATE_FMT2, &l->dropped, &l->epochs, ehex) != 3 ||
		  hex_decode(ehex, l->epoch_hash, BATCH_HASH_SIZE) < 0))
		rc = -EINVAL;
	else if (version == 3)
		rc = read_holes(f, l);
	fclose(f);
	return rc;
}

int soc_lane_in_hole(const struct soc_lane *l, uint64_t seq)
{
	return soc_lane_meets_hole(l, seq, seq);
}

int soc_lane_meets_hole(const struct soc_lane *l, uint64_t first, uint64_t last)
{
	unsigned i;

	for (i = 0; i < l->n_holes; i++)
		if (l->holes[i].first <= last && first <= l->holes[i].last)
			return 1;
	return 0;
}

uint64_t soc_lane_missing(const struct soc_lane *l)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < l->n_holes; i++)
		n += l->holes[i].last - l->holes[i].first + 1;
	return n;
}

int soc_lane_hole_open(struct soc_lane *l, uint64_t first, uint64_t last,
		       const uint8_t next_prev[BATCH_HASH_SIZE], int broke)
{
	struct soc_hole *h;
	int forgot = 0;

	/* Holes open above the last seq, so they come in ascending order; a
	 * batch resent after a failed store finds its hole open already. */
	if (l->n_holes > 0 && l->holes[l->n_holes - 1].last >= first)
		return 0;
	if (l->n_holes == SOC_HOLES_MAX) {
		memmove(&l->holes[0], &l->holes[1], (SOC_HOLES_MAX - 1) * sizeof(l->holes[0]));
		l->n_holes--;
		forgot = 1;
	}
	h = &l->holes[l->n_holes++];
	h->first = first;
	h->last = last;
	memcpy(h->next_prev, next_prev, BATCH_HASH_SIZE);
	h->broke = broke;
	return forgot;
}

/* Takes [first, last] out of the lane's holes. A hole emptied by it no
 * longer counts as a gap, nor its chain break when `hash` (the batch's)
 * is the prev hash of the batch after the hole: the chain is whole. A
 * hole split in two with no room left forgets the lowest hole. */
static void holes_fill(struct soc_lane *l, uint64_t first, uint64_t last,
		       const uint8_t hash[BATCH_HASH_SIZE])
{
	struct soc_hole out[SOC_HOLES_MAX + 1], *h;
	unsigned i, n = 0;

	for (i = 0; i < l->n_holes; i++) {
		h = &l->holes[i];
		if (h->last < first || last < h->first) {
			out[n++] = *h;
			continue;
		}
		if (first <= h->first && last >= h->last) {
			/* Filled whole. */
			if (l->gaps > 0)
				l->gaps--;
			if (h->broke && last == h->last && l->gaps > 0 &&
			    memcmp(hash, h->next_prev, BATCH_HASH_SIZE) == 0)
				l->gaps--;
			continue;
		}
		if (first > h->first) {
			out[n] = *h;
			out[n++].last = first - 1;
		}
		if (last < h->last) {
			out[n] = *h;
			out[n++].first = last + 1;
		}
	}
	if (n > SOC_HOLES_MAX) {
		memmove(&out[0], &out[1], (n - 1) * sizeof(out[0]));
		n--;
	}
	memcpy(l->holes, out, n * sizeof(out[0]));
	l->n_holes = n;
}

/* Reads the state file, if any, and cuts the NDJSON file back to the
 * length it records: bytes past it were never acknowledged. */
static int lane_load(struct soc_store *st, struct soc_lane *l)
{
	char path[4300];
	struct stat sb;
	int rc = 0;
	char device[BATCH_NAME_MAX + 1], lane[BATCH_NAME_MAX + 1];

	/* soc_store_read_state() zeroes *l, names included. */
	memcpy(device, l->device, sizeof(device));
	memcpy(lane, l->lane, sizeof(lane));
	rc = soc_store_read_state(st->dir, device, lane, l);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	rc = path_of(path, sizeof(path), "%s/%s/%s/records.ndjson", st->dir, l->device, l->lane);
	if (rc < 0)
		return rc;
	if (stat(path, &sb) < 0)
		return -errno;
	if ((uint64_t)sb.st_size > l->bytes && truncate(path, (off_t)l->bytes) < 0)
		return -errno;
	if ((uint64_t)sb.st_size < l->bytes)
		return -EIO;  /* acknowledged records are missing */
	return 0;
}

int soc_store_lane(struct soc_store *st, const char *device, const char *lane,
		   struct soc_lane **out)
{
	struct soc_lane *l;
	char dir[4200], ldir[4300];
	int rc;

	*out = NULL;
	/* Both name directories: batch_parse_header allows '.' in ids, and
	 * "." and ".." must not be one; "quarantine" is the store's own. */
	if (device[0] == '\0' || device[0] == '.' || lane[0] == '\0' || lane[0] == '.' ||
	    strcmp(device, "quarantine") == 0 ||
	    strlen(device) > BATCH_NAME_MAX || strlen(lane) > BATCH_NAME_MAX ||
	    strchr(device, '/') != NULL || strchr(lane, '/') != NULL)
		return -EINVAL;
	for (l = st->lanes; l != NULL; l = l->next) {
		if (strcmp(l->device, device) == 0 && strcmp(l->lane, lane) == 0) {
			*out = l;
			return 0;
		}
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	strcpy(l->device, device);
	strcpy(l->lane, lane);
	rc = path_of(dir, sizeof(dir), "%s/%s%s", st->dir, device, "");
	if (rc == 0)
		rc = path_of(ldir, sizeof(ldir), "%s/%s/%s", st->dir, device, lane);
	if (rc == 0)
		rc = mkdir_durable(dir, st->dir);
	if (rc == 0)
		rc = mkdir_durable(ldir, dir);
	if (rc == 0)
		rc = lane_load(st, l);
	if (rc < 0) {
		free(l);
		return rc;
	}
	l->next = st->lanes;
	st->lanes = l;
	*out = l;
	return 0;
}

static int write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;
	ssize_t n;

	while (len > 0) {
		n = write(fd, b, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static void hex_encode(char *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(dst + 2 * i, 3, "%02x", src[i]);
}

static int state_write(struct soc_store *st, const struct soc_lane *l)
{
	char path[4300], tmp[4300], dir[4200], hex[2 * BATCH_HASH_SIZE + 1];
	char ehex[2 * BATCH_HASH_SIZE + 1], line[512 + SOC_HOLES_MAX * 128];
	int fd = -1, rc, n, k;
	unsigned i;

	hex_encode(hex, l->last_hash, BATCH_HASH_SIZE);
	hex_encode(ehex, l->epoch_hash, BATCH_HASH_SIZE);
	n = snprintf(line, sizeof(line), "ward-soc-lane 3 %" PRIu64 " %" PRIu64 " %s %" PRIu64
		     " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s %" PRIu64
		     " %u", l->first_seq, l->last_seq, hex, l->bytes, l->records, l->gaps, l->dups,
		     l->dropped, l->epochs, ehex, l->filled, l->n_holes);
	for (i = 0; i < l->n_holes; i++) {
		hex_encode(hex, l->holes[i].next_prev, BATCH_HASH_SIZE);
		k = snprintf(line + n, sizeof(line) - (size_t)n, " %" PRIu64 "-%" PRIu64 "-%s-%d",
			     l->holes[i].first, l->holes[i].last, hex, l->holes[i].broke ? 1 : 0);
		n += k;
	}
	line[n++] = '\n';
	rc = path_of(path, sizeof(path), "%s/%s/%s/state", st->dir, l->device, l->lane);
	if (rc == 0)
		rc = path_of(tmp, sizeof(tmp), "%s/%s/%s/.state.tmp", st->dir, l->device, l->lane);
	if (rc == 0)
		rc = path_of(dir, sizeof(dir), "%s/%s/%s", st->dir, l->device, l->lane);
	if (rc < 0)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, line, (size_t)n);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = fsync_dir(dir);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static int append_file(const char *path, const void *data, size_t len, int sync)
{
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, data, len);
	if (rc == 0 && sync && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int soc_store_append(struct soc_store *st, struct soc_lane *l, const struct soc_append *a)
{
	struct soc_lane next = *l;
	char path[4300];
	int rc;

	rc = path_of(path, sizeof(path), "%s/%s/%s/records.ndjson", st->dir, l->device, l->lane);
	if (rc == 0)
		rc = append_file(path, a->ndjson, a->len, 1);
	if (rc < 0)
		goto out;
	next.bytes += a->len;
	next.records += a->records;
	next.dropped += a->dropped;
	if (a->new_epoch) {
		next.epochs++;
		next.n_holes = 0;
	}
	if (next.last_seq == 0 || a->new_epoch) {
		next.first_seq = a->first_seq;
		memcpy(next.epoch_hash, a->hash, BATCH_HASH_SIZE);
	}
	holes_fill(&next, a->first_seq, a->last_seq, a->hash);
	if (a->late) {
		next.filled++;
	} else {
		next.last_seq = a->last_seq;
		memcpy(next.last_hash, a->hash, BATCH_HASH_SIZE);
	}
	rc = state_write(st, &next);
	if (rc < 0)
		goto out;
	*l = next;
out:
	return rc;
}

int soc_store_note_gap(struct soc_store *st, struct soc_lane *l, const char *what)
{
	l->gaps++;
	return soc_store_note(st, l, what);
}

int soc_store_note(struct soc_store *st, const struct soc_lane *l, const char *what)
{
	char path[4300], line[512];
	int n, rc;

	rc = path_of(path, sizeof(path), "%s/%s/%s/gaps", st->dir, l->device, l->lane);
	if (rc < 0)
		return rc;
	n = snprintf(line, sizeof(line), "%s\n", what);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	return append_file(path, line, (size_t)n, 0);
}

int soc_store_quarantine(struct soc_store *st, const void *data, size_t len,
			 const char *reason)
{
	char path[4300], stamp[64];
	struct timespec ts;
	size_t n;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(stamp, sizeof(stamp), "%lld-%09ld-%" PRIu64, (long long)ts.tv_sec,
		 ts.tv_nsec, st->quarantined++);
	rc = path_of(path, sizeof(path), "%s/quarantine/%s.batch", st->dir, stamp, "");
	if (rc == 0)
		rc = append_file(path, data, len, 1);
	if (rc < 0)
		return rc;
	rc = path_of(path, sizeof(path), "%s/quarantine/%s.reason", st->dir, stamp, "");
	if (rc < 0)
		return rc;
	n = strlen(reason);
	rc = append_file(path, reason, n, 0);
	if (rc == 0)
		rc = append_file(path, "\n", 1, 1);
	return rc;
}

int soc_store_save(struct soc_store *st, const struct soc_lane *l)
{
	return state_write(st, l);
}
