/* spool internals shared by spool.c (writer and recovery), spool_reader.c
 * (framing, reader, quarantine) and spool_budget.c. Not part of the public
 * API: only the spool files, its tests and its fuzz target include this.
 */
#ifndef WARD_SPOOL_INTERNAL_H
#define WARD_SPOOL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "generated/autoconf.h"
#include "spool.h"

/* The largest payload any part of the spool accepts (Kconfig
 * SPOOL_MAX_RECORD_KB). Scans use it rather than a lane's own
 * max_record_bytes so that records written under an older, larger setting
 * still frame; it also bounds how far a damaged length field can make the
 * scanner look ahead. */
#define SPOOL__MAX_RECORD_BYTES ((uint32_t)CONFIG_SPOOL_MAX_RECORD_KB * 1024u)

/* Segments are read whole into memory, so their size is capped; a file
 * larger than this was not written by a lane (segment_max_bytes is capped
 * to it as well). */
#define SPOOL__MAX_SEGMENT_BYTES ((uint64_t)1 << 30)

#define SPOOL__VERSION 1u
#define SPOOL__LANE_NAME_MAX 32
/* "<20 digits>.evict" + NUL, rounded up. */
#define SPOOL__FILE_NAME_SIZE 32
#define SPOOL__LANE_FILE "LANE"

/* ---- CRC-32C implementations, exposed so tests can compare them ------- */
uint32_t crc32c__sw(uint32_t crc, const void *buf, size_t len);
/* The SSE4.2 path when the CPU has it, else the software one. */
uint32_t crc32c__hw(uint32_t crc, const void *buf, size_t len);
int crc32c__hw_available(void);

/* ---- little-endian fields --------------------------------------------- */
static inline uint32_t spool__get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t spool__get_le64(const uint8_t *p)
{
	return (uint64_t)spool__get_le32(p) | (uint64_t)spool__get_le32(p + 4) << 32;
}

static inline void spool__put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void spool__put_le64(uint8_t *p, uint64_t v)
{
	spool__put_le32(p, (uint32_t)v);
	spool__put_le32(p + 4, (uint32_t)(v >> 32));
}

/* ---- segment header ----------------------------------------------------- */
struct spool__seg_hdr {
	uint32_t version;
	enum spool_class cls;
	uint64_t first_seq;
	int64_t created_us;
};

void spool__hdr_encode(uint8_t out[SPOOL_SEG_HDR_SIZE], enum spool_class cls,
		       uint64_t first_seq, int64_t created_us);
/* True when `len` >= 32 and the magic, version and class are right. The
 * seq and time fields carry no check of their own, so scans never trust
 * them (a flipped bit there must not cost the whole segment). */
bool spool__hdr_decode(const uint8_t *p, size_t len, struct spool__seg_hdr *h);

/* ---- scanning (the shared core of reader, recovery and budget) ---------- */
enum spool__scan_ev {
	SPOOL__SCAN_END = 0,
	SPOOL__SCAN_RECORD,
	SPOOL__SCAN_CORRUPT,
};

/* An iterator over one segment image. Holds no resources. */
struct spool__scan {
	const uint8_t *seg;
	size_t len;
	uint32_t max_record;
	size_t off;            /* next byte to look at */
	size_t valid_end;      /* just past the last valid record (or header) */
	size_t bad_start;      /* start of the current unframed run, or SIZE_MAX */
	uint64_t prev_seq;     /* seq of the last valid record; 0 before any */
	bool at_frame;         /* a valid frame is known to start at off */
	bool started;
};

void spool__scan_init(struct spool__scan *s, const uint8_t *seg, size_t len,
		      uint32_t max_record);
/* Steps the scan: SPOOL__SCAN_RECORD fills *rec (data points into the
 * image), SPOOL__SCAN_CORRUPT fills *bad_off and *bad_len with one maximal run
 * of bytes that did not frame, SPOOL__SCAN_END at the end. */
enum spool__scan_ev spool__scan_next(struct spool__scan *s, struct spool_record *rec,
				     size_t *bad_off, size_t *bad_len);

/* ---- names -------------------------------------------------------------- */
enum spool__file_kind {
	SPOOL__F_OTHER = 0,
	SPOOL__F_OPEN,     /* <seq:020>.open */
	SPOOL__F_SEG,      /* <seq:020>.seg */
	SPOOL__F_EVICT,    /* <seq:020>.evict: claimed by the budget, being deleted */
};

/* Classifies a directory entry; *seq gets the first seq from the name.
 * Anything but exactly 20 digits (fitting a u64) and a known suffix is
 * SPOOL__F_OTHER and is left alone. */
enum spool__file_kind spool__file_parse(const char *name, uint64_t *seq);
void spool__file_name(char out[SPOOL__FILE_NAME_SIZE], uint64_t seq,
		      enum spool__file_kind kind);

/* ---- file helpers (all return 0 or -errno) ------------------------------ */
int spool__fsync_dir(int dirfd);
int spool__pwrite_full(int fd, const void *p, size_t len, uint64_t off);
/* Reads the whole file `name` under `dirfd` into a new malloc'd buffer
 * (*data is NULL for an empty file). -EFBIG when larger than
 * SPOOL__MAX_SEGMENT_BYTES. On failure *data is NULL and *len 0. */
int spool__read_file(int dirfd, const char *name, uint8_t **data, size_t *len);
/* The same into *data, a malloc'd buffer of *cap bytes (NULL and 0 at
 * first) that is reused when large enough and replaced (freed, *cap
 * updated) when not. The buffer stays the caller's, on failure too. */
int spool__read_file_into(int dirfd, const char *name, uint8_t **data, size_t *cap,
			  size_t *len);
/* Writes S/quarantine/<lane>-<seq:020>-<off>.bad with `len` bytes and syncs
 * it. `spool_fd` is S. */
int spool__quarantine(int spool_fd, const char *lane, uint64_t seq, uint64_t off,
		      const uint8_t *data, size_t len);
/* Moves `file` (under `dirfd`) whole to
 * S/quarantine/<lane>-<seq:020>-<tag>.bad: for files that cannot be read or
 * that clash with another. */
int spool__quarantine_file(int spool_fd, int dirfd, const char *file, const char *lane,
			   uint64_t seq, const char *tag);
/* Reads S/<lane>/LANE; P1 when missing or unreadable, which neither
 * protects bulk data too much nor exposes alerts. */
enum spool_class spool__lane_class(int lane_fd);

#endif
