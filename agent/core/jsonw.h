/* jsonw: a streaming JSON writer for records (NDJSON, RFC 8259).
 *
 * Records are written on the hot path, so this writes straight into a
 * struct buf with no tree and no allocation beyond the buffer's growth.
 * The writer tracks whether a comma is due; it does not check that the
 * caller's calls form a valid document (keys only inside objects etc.) --
 * callers are ward's own record encoders, and tests validate their output
 * against docs/schema.
 *
 * Every function returns 0 or -ENOMEM. After -ENOMEM the buffer content is
 * unspecified and the record must be discarded.
 */
#ifndef WARD_JSONW_H
#define WARD_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JSONW_MAX_DEPTH 16

struct jsonw {
	struct buf *out;
	int depth;
	bool need_comma[JSONW_MAX_DEPTH + 1];
	int err;        /* sticky first error; checked by jsonw_finish */
};

/* Starts writing at the end of `out` (existing content is kept). */
void jsonw_init(struct jsonw *w, struct buf *out);
void jsonw_object_open(struct jsonw *w);
void jsonw_object_close(struct jsonw *w);
void jsonw_array_open(struct jsonw *w);
void jsonw_array_close(struct jsonw *w);
/* Writes "key": -- the value call follows. `key` is NUL-terminated ASCII. */
void jsonw_key(struct jsonw *w, const char *key);
/* A string value from `len` bytes that must be valid UTF-8; control
 * characters, '"' and '\\' are escaped. Invalid UTF-8 sequences are
 * replaced by U+FFFD so the output is always valid JSON. */
void jsonw_string(struct jsonw *w, const char *s, size_t len);
void jsonw_cstr(struct jsonw *w, const char *s);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_uint(struct jsonw *w, uint64_t v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* A string holding the RFC 4648 base64 of `len` raw bytes. */
void jsonw_base64(struct jsonw *w, const uint8_t *p, size_t len);
/* A string holding an RFC 3339 UTC time with microseconds,
 * e.g. "2026-11-21T13:39:03.123456Z". `us` is microseconds since the epoch. */
void jsonw_time_us(struct jsonw *w, int64_t us);
/* Convenience: key + value in one call. */
void jsonw_kv_str(struct jsonw *w, const char *key, const char *s, size_t len);
void jsonw_kv_cstr(struct jsonw *w, const char *key, const char *s);
void jsonw_kv_int(struct jsonw *w, const char *key, int64_t v);
void jsonw_kv_uint(struct jsonw *w, const char *key, uint64_t v);
void jsonw_kv_bool(struct jsonw *w, const char *key, bool v);
/* 0, or the first error seen (-ENOMEM, or -EINVAL for nesting past
 * JSONW_MAX_DEPTH or unbalanced closes). */
int jsonw_finish(const struct jsonw *w);

/* Formats `us` (µs since the epoch) as RFC 3339 UTC with microseconds into
 * `dst` (at least 28 bytes). Returns the length written, without the NUL. */
size_t time_format_rfc3339_us(char *dst, int64_t us);

#endif
