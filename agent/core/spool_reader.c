/* spool reader: framing, the resync scan, quarantine, and the reader API.
 *
 * Everything here treats segment bytes as untrusted: a segment may have
 * been torn by a crash, flipped by a bad disk, or truncated by hand. The
 * scan checks every length before it reads, and the only thing it ever
 * returns is a frame whose length is sane and whose CRC-32C matches.
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
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"

struct spool_reader {
	char *spool_dir;
	char name[SPOOL__LANE_NAME_MAX + 1];
	int spool_fd;                   /* S, opened on first use; -1 until then */
	struct spool_reader_stats st;
	/* The buffer of the last segment released, read into again by the
	 * next one (spool.h, spool_reader_trim). */
	uint8_t *spare;
	size_t spare_cap;
};

struct spool_segment {
	struct spool_reader *r;         /* must outlive the segment */
	int lane_fd;
	uint64_t first_seq;
	char file[SPOOL__FILE_NAME_SIZE];
	uint8_t *data;
	size_t len, cap;                /* cap: data's allocated size */
	struct spool__scan scan;
};

/* ---- header ---------------------------------------------------------- */

void spool__hdr_encode(uint8_t out[SPOOL_SEG_HDR_SIZE], enum spool_class cls,
		       uint64_t first_seq, int64_t created_us)
{
	memcpy(out, SPOOL_MAGIC, 8);
	spool__put_le32(out + 8, SPOOL__VERSION);
	spool__put_le32(out + 12, (uint32_t)cls);
	spool__put_le64(out + 16, first_seq);
	spool__put_le64(out + 24, (uint64_t)created_us);
}

bool spool__hdr_decode(const uint8_t *p, size_t len, struct spool__seg_hdr *h)
{
	uint32_t cls;

	if (len < SPOOL_SEG_HDR_SIZE || memcmp(p, SPOOL_MAGIC, 8) != 0)
		return false;
	if (spool__get_le32(p + 8) != SPOOL__VERSION)
		return false;
	cls = spool__get_le32(p + 12);
	if (cls >= SPOOL_NCLASS)
		return false;
	if (h != NULL) {
		h->version = SPOOL__VERSION;
		h->cls = (enum spool_class)cls;
		h->first_seq = spool__get_le64(p + 16);
		h->created_us = (int64_t)spool__get_le64(p + 24);
	}
	return true;
}

/* ---- scan -------------------------------------------------------------- */

void spool__scan_init(struct spool__scan *s, const uint8_t *seg, size_t len,
		      uint32_t max_record)
{
	memset(s, 0, sizeof(*s));
	s->seg = seg;
	s->len = seg != NULL ? len : 0;
	s->max_record = max_record;
	s->bad_start = SIZE_MAX;
}

/* Whether a valid frame starts at `off`. The cheap checks come first so a
 * resync over garbage computes a CRC only where the length fits and the
 * seq rises. */
static bool scan_frame_ok(const struct spool__scan *s, size_t off)
{
	const uint8_t *p = s->seg + off;
	size_t room = s->len - off;
	uint32_t len;

	if (room < SPOOL_REC_HDR_SIZE)
		return false;
	len = spool__get_le32(p);
	if (len > s->max_record || len > room - SPOOL_REC_HDR_SIZE)
		return false;
	if (spool__get_le64(p + 8) <= s->prev_seq)
		return false;
	return crc32c(0, p + 8, 16 + (size_t)len) == spool__get_le32(p + 4);
}

static void scan_start(struct spool__scan *s)
{
	s->started = true;
	/* Records always start at offset 32. A header that does not decode is
	 * reported as unframed bytes, but its records are still found. */
	if (spool__hdr_decode(s->seg, s->len, NULL)) {
		s->valid_end = SPOOL_SEG_HDR_SIZE;
	} else {
		s->valid_end = 0;
		if (s->len > 0)
			s->bad_start = 0;
	}
	s->off = s->len < SPOOL_SEG_HDR_SIZE ? s->len : SPOOL_SEG_HDR_SIZE;
}

enum spool__scan_ev spool__scan_next(struct spool__scan *s, struct spool_record *rec,
				     size_t *bad_off, size_t *bad_len)
{
	const uint8_t *p;

	if (!s->started)
		scan_start(s);
	/* O(len) for intact data. Over garbage the scan tries every offset,
	 * and a CRC runs only where a length fits and the seq rises, so the
	 * cost is bounded by len * max_record in the worst case; damage is
	 * rare and local, so that bound is not reached in practice. */
	while (s->off < s->len) {
		if (s->at_frame || scan_frame_ok(s, s->off)) {
			if (s->bad_start != SIZE_MAX) {
				*bad_off = s->bad_start;
				*bad_len = s->off - s->bad_start;
				s->bad_start = SIZE_MAX;
				s->at_frame = true;
				return SPOOL__SCAN_CORRUPT;
			}
			s->at_frame = false;
			p = s->seg + s->off;
			rec->len = spool__get_le32(p);
			rec->seq = spool__get_le64(p + 8);
			rec->ts_us = (int64_t)spool__get_le64(p + 16);
			rec->data = p + SPOOL_REC_HDR_SIZE;
			s->prev_seq = rec->seq;
			s->off += SPOOL_REC_HDR_SIZE + (size_t)rec->len;
			s->valid_end = s->off;
			return SPOOL__SCAN_RECORD;
		}
		if (s->bad_start == SIZE_MAX)
			s->bad_start = s->off;
		/* No frame fits in fewer than 24 bytes: the rest is one run. */
		if (s->len - s->off < SPOOL_REC_HDR_SIZE)
			s->off = s->len;
		else
			s->off++;
	}
	if (s->bad_start != SIZE_MAX) {
		*bad_off = s->bad_start;
		*bad_len = s->len - s->bad_start;
		s->bad_start = SIZE_MAX;
		return SPOOL__SCAN_CORRUPT;
	}
	return SPOOL__SCAN_END;
}

size_t spool_scan(const uint8_t *seg, size_t len, uint32_t max_record_bytes,
		  void (*on_record)(const struct spool_record *rec, void *arg),
		  void (*on_corrupt)(size_t off, size_t len, void *arg),
		  void *arg)
{
	struct spool__scan s;
	struct spool_record rec;
	enum spool__scan_ev ev;
	size_t bad_off = 0, bad_len = 0;

	spool__scan_init(&s, seg, len, max_record_bytes);
	while ((ev = spool__scan_next(&s, &rec, &bad_off, &bad_len)) != SPOOL__SCAN_END) {
		if (ev == SPOOL__SCAN_RECORD && on_record != NULL)
			on_record(&rec, arg);
		else if (ev == SPOOL__SCAN_CORRUPT && on_corrupt != NULL)
			on_corrupt(bad_off, bad_len, arg);
	}
	return s.valid_end;
}

/* ---- names ------------------------------------------------------------- */

bool spool_lane_name_valid(const char *name)
{
	size_t i;

	if (name == NULL)
		return false;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= SPOOL__LANE_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	/* The quarantine shares the spool directory with the lanes. */
	return i > 0 && strcmp(name, SPOOL_QUARANTINE_DIR) != 0;
}

enum spool__file_kind spool__file_parse(const char *name, uint64_t *seq)
{
	uint64_t v = 0;
	unsigned d;
	int i;

	for (i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return SPOOL__F_OTHER;
		d = (unsigned)(name[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return SPOOL__F_OTHER;
		v = v * 10 + d;
	}
	if (seq != NULL)
		*seq = v;
	if (strcmp(name + 20, ".open") == 0)
		return SPOOL__F_OPEN;
	if (strcmp(name + 20, ".seg") == 0)
		return SPOOL__F_SEG;
	if (strcmp(name + 20, ".evict") == 0)
		return SPOOL__F_EVICT;
	return SPOOL__F_OTHER;
}

void spool__file_name(char out[SPOOL__FILE_NAME_SIZE], uint64_t seq,
		      enum spool__file_kind kind)
{
	const char *ext = kind == SPOOL__F_OPEN ? "open" :
			  kind == SPOOL__F_EVICT ? "evict" : "seg";

	snprintf(out, SPOOL__FILE_NAME_SIZE, "%020" PRIu64 ".%s", seq, ext);
}

/* ---- file helpers ------------------------------------------------------ */

int spool__fsync_dir(int dirfd)
{
	return fsync(dirfd) < 0 ? -errno : 0;
}

int spool__pwrite_full(int fd, const void *p, size_t len, uint64_t off)
{
	const uint8_t *b = p;
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, b, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		b += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int spool__read_file_into(int dirfd, const char *name, uint8_t **data, size_t *cap,
			  size_t *len)
{
	struct stat sb;
	size_t got = 0;
	ssize_t n;
	int fd, rc = 0;

	*len = 0;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((uint64_t)sb.st_size > SPOOL__MAX_SEGMENT_BYTES) {
		rc = -EFBIG;
		goto out;
	}
	if (sb.st_size == 0)
		goto out;
	if (*cap < (size_t)sb.st_size) {
		uint8_t *p = malloc((size_t)sb.st_size);

		if (p == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		free(*data);
		*data = p;
		*cap = (size_t)sb.st_size;
	}
	/* Only the open segment changes size, and only under its writer; a
	 * short read is taken as the file's size. */
	while (got < (size_t)sb.st_size) {
		n = read(fd, *data + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
out:
	close(fd);
	return rc;
}

int spool__read_file(int dirfd, const char *name, uint8_t **data, size_t *len)
{
	size_t cap = 0;
	int rc;

	*data = NULL;
	rc = spool__read_file_into(dirfd, name, data, &cap, len);
	if (rc < 0 || *len == 0) {
		free(*data);
		*data = NULL;
	}
	return rc;
}

static int open_quarantine_dir(int spool_fd)
{
	int fd;

	if (mkdirat(spool_fd, SPOOL_QUARANTINE_DIR, 0750) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(spool_fd, SPOOL_QUARANTINE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int spool__quarantine(int spool_fd, const char *lane, uint64_t seq, uint64_t off,
		      const uint8_t *data, size_t len)
{
	char name[SPOOL__LANE_NAME_MAX + 64];
	int qfd, fd = -1, rc;

	qfd = open_quarantine_dir(spool_fd);
	if (qfd < 0)
		return qfd;
	snprintf(name, sizeof(name), "%s-%020" PRIu64 "-%" PRIu64 ".bad", lane, seq, off);
	/* O_TRUNC: a segment read twice (reader restarted before consuming
	 * it) rewrites the same file instead of piling up copies. */
	fd = openat(qfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = spool__pwrite_full(fd, data, len, 0);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (rc == 0)
		rc = spool__fsync_dir(qfd);
out:
	if (fd >= 0)
		close(fd);
	close(qfd);
	return rc;
}

/* ---- reader ------------------------------------------------------------ */

int spool_reader_open(struct spool_reader **out, const char *spool_dir,
		      const char *name)
{
	struct spool_reader *r = NULL;
	int rc = 0;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (spool_dir == NULL || !spool_lane_name_valid(name))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->spool_fd = -1;
	r->spool_dir = strdup(spool_dir);
	if (r->spool_dir == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	strcpy(r->name, name);   /* length checked by spool_lane_name_valid */
	*out = r;
	r = NULL;
out:
	spool_reader_close(r);
	return rc;
}

void spool_reader_close(struct spool_reader *r)
{
	if (r == NULL)
		return;
	if (r->spool_fd >= 0)
		close(r->spool_fd);
	free(r->spare);
	free(r->spool_dir);
	free(r);
}

void spool_reader_get_stats(const struct spool_reader *r, struct spool_reader_stats *st)
{
	*st = r->st;
}

/* Finds the closed segment with the lowest first seq >= min_seq. Returns 1
 * and fills *seq/file, 0 when there is none, or -errno. O(files in lane). */
static int find_oldest_seg(int lane_fd, uint64_t min_seq, uint64_t *seq,
			   char file[SPOOL__FILE_NAME_SIZE])
{
	struct dirent *de;
	uint64_t v, best = 0;
	bool found = false;
	DIR *d;
	int fd;

	fd = openat(lane_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		if (spool__file_parse(de->d_name, &v) != SPOOL__F_SEG || v < min_seq)
			continue;
		if (!found || v < best) {
			best = v;
			found = true;
		}
	}
	closedir(d);
	if (!found)
		return 0;
	*seq = best;
	spool__file_name(file, best, SPOOL__F_SEG);
	return 1;
}

int spool__quarantine_file(int spool_fd, int dirfd, const char *file, const char *lane,
			   uint64_t seq, const char *tag)
{
	char name[SPOOL__LANE_NAME_MAX + 64];
	int qfd, rc = 0;

	qfd = open_quarantine_dir(spool_fd);
	if (qfd < 0)
		return qfd;
	snprintf(name, sizeof(name), "%s-%020" PRIu64 "-%s.bad", lane, seq, tag);
	if (renameat(dirfd, file, qfd, name) < 0)
		rc = -errno;
	if (rc == 0)
		rc = spool__fsync_dir(qfd);
	close(qfd);
	return rc;
}

/* A segment that cannot be read at all (EIO, absurd size) would block the
 * lane forever if left in place; move it whole to the quarantine. */
static void quarantine_unreadable(struct spool_reader *r, int lane_fd, uint64_t seq,
				  const char *file, int err)
{
	int rc;

	log_warn("spool: %s/%s unreadable (%s); moving it to quarantine",
		 r->name, file, strerror(-err));
	r->st.segments_unreadable++;
	rc = spool__quarantine_file(r->spool_fd, lane_fd, file, r->name, seq, "unreadable");
	if (rc < 0 && rc != -ENOENT) {
		/* Last resort: left in place, the reader would spin on it. */
		log_error("spool: cannot quarantine %s/%s (%s); deleting it", r->name, file,
			  strerror(-rc));
		unlinkat(lane_fd, file, 0);
	}
}

int spool_reader_next_segment_from(struct spool_reader *r, uint64_t min_seq,
				   struct spool_segment **seg)
{
	struct spool_segment *s = NULL;
	char file[SPOOL__FILE_NAME_SIZE];
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;
	uint64_t seq = 0;
	int lane_fd = -1, rc, tries;

	if (seg == NULL)
		return -EINVAL;
	*seg = NULL;
	if (r->spool_fd < 0) {
		r->spool_fd = open(r->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r->spool_fd < 0)
			return errno == ENOENT ? -EAGAIN : -errno;
	}
	lane_fd = openat(r->spool_fd, r->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lane_fd < 0) {
		rc = errno == ENOENT ? -EAGAIN : -errno;
		goto out;
	}
	data = r->spare;
	cap = r->spare_cap;
	r->spare = NULL;
	r->spare_cap = 0;
	/* The budget or another consumer may delete the chosen segment
	 * between readdir and open: ENOENT just means "look again". The
	 * bound only stops a pathological churn from spinning here. */
	for (tries = 0; tries < 64; tries++) {
		rc = find_oldest_seg(lane_fd, min_seq, &seq, file);
		if (rc <= 0) {
			rc = rc == 0 ? -EAGAIN : rc;
			goto out;
		}
		rc = spool__read_file_into(lane_fd, file, &data, &cap, &len);
		if (rc == 0)
			break;
		if (rc == -ENOMEM)
			goto out;
		if (rc != -ENOENT)
			quarantine_unreadable(r, lane_fd, seq, file, rc);
	}
	if (rc != 0) {
		rc = -EAGAIN;
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	s->r = r;
	s->lane_fd = lane_fd;
	s->first_seq = seq;
	memcpy(s->file, file, sizeof(s->file));
	s->data = data;
	s->len = len;
	s->cap = cap;
	spool__scan_init(&s->scan, data, len, SPOOL__MAX_RECORD_BYTES);
	r->st.segments_read++;
	*seg = s;
	lane_fd = -1;
	data = NULL;
out:
	if (data != NULL && r->spare == NULL) {
		r->spare = data;         /* unused: keep it for the next read */
		r->spare_cap = cap;
	} else {
		free(data);
	}
	if (lane_fd >= 0)
		close(lane_fd);
	return rc;
}

int spool_reader_next_segment(struct spool_reader *r, struct spool_segment **seg)
{
	return spool_reader_next_segment_from(r, 0, seg);
}

int spool_segment_next(struct spool_segment *s, struct spool_record *rec)
{
	struct spool_reader *r = s->r;
	size_t off = 0, len = 0;
	int rc;

	for (;;) {
		switch (spool__scan_next(&s->scan, rec, &off, &len)) {
		case SPOOL__SCAN_RECORD:
			r->st.records_read++;
			return 1;
		case SPOOL__SCAN_END:
			return 0;
		case SPOOL__SCAN_CORRUPT:
			r->st.corrupt_regions++;
			r->st.corrupt_bytes += len;
			rc = spool__quarantine(r->spool_fd, r->name, s->first_seq, off,
					       s->data + off, len);
			if (rc < 0) {
				r->st.quarantine_errors++;
				log_warn("spool: %s/%s: cannot quarantine %zu bytes at %zu: %s",
					 r->name, s->file, len, off, strerror(-rc));
			} else {
				log_warn("spool: %s/%s: %zu unframed bytes at offset %zu quarantined",
					 r->name, s->file, len, off);
			}
			break;
		}
	}
}

uint64_t spool_segment_first_seq(const struct spool_segment *s)
{
	return s->first_seq;
}

const char *spool_segment_file(const struct spool_segment *s)
{
	return s->file;
}

uint64_t spool_segment_bytes(const struct spool_segment *s)
{
	return s->len;
}

int spool_segment_consume(struct spool_segment *s)
{
	int rc = 0;

	if (s == NULL)
		return 0;
	/* ENOENT: the budget evicted it while we read; it is gone either way. */
	if (unlinkat(s->lane_fd, s->file, 0) < 0 && errno != ENOENT)
		rc = -errno;
	spool_segment_release(s);
	return rc;
}

void spool_segment_release(struct spool_segment *s)
{
	if (s == NULL)
		return;
	close(s->lane_fd);
	spool_segment_drop_data(s);
	free(s);
}

void spool_segment_drop_data(struct spool_segment *s)
{
	struct spool_reader *r = s->r;

	if (s->data == NULL)
		return;
	if (r->spare == NULL) {
		r->spare = s->data;
		r->spare_cap = s->cap;
	} else {
		free(s->data);
	}
	s->data = NULL;
	s->len = s->cap = 0;
	spool__scan_init(&s->scan, NULL, 0, SPOOL__MAX_RECORD_BYTES);
}

void spool_reader_trim(struct spool_reader *r)
{
	if (r == NULL)
		return;
	free(r->spare);
	r->spare = NULL;
	r->spare_cap = 0;
}

enum spool_class spool__lane_class(int lane_fd)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = openat(lane_fd, SPOOL__LANE_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SPOOL_P1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return SPOOL_P1;
	buf[n] = '\0';
	if (strncmp(buf, "class=P", 7) == 0 && buf[7] >= '0' && buf[7] <= '2' &&
	    (buf[8] == '\n' || buf[8] == '\0'))
		return (enum spool_class)(buf[7] - '0');
	return SPOOL_P1;
}
