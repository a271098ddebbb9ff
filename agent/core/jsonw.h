/* jsonw: a streaming JSON writer for records (NDJSON, RFC 8259).
 *
 * Records are written on the hot path, so this writes straight into a
 * struct buf with no tree and no allocation beyond the buffer's growth.
 * The writer tracks whether a comma is due; it does not check that the
 * caller's calls form a valid document (keys only inside objects etc.) --
 * callers are ward's own record encoders, and tests validate their output
 * against docs/schema.
 *
 * Every function records the first error in w->err (sticky) and turns the
 * later calls into no-ops, so an encoder writes a whole record and checks
 * jsonw_finish once. After -ENOMEM the buffer content is unspecified and
 * the record must be discarded.
 *
 * Strings are taken as bytes: anything that is not well-formed UTF-8
 * (RFC 3629) is replaced by U+FFFD, one per maximal ill-formed subpart
 * (Unicode 15 section 3.9, "U+FFFD substitution of maximal subparts"), so
 * the output is always valid JSON whatever the input.
 *
 * Cost: a string of n bytes reserves 6n + 3 bytes up front (the worst case,
 * every byte written as \u00XX), then copies ASCII eight bytes at a time.
 */
#ifndef WARD_JSONW_H
#define WARD_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JSONW_MAX_DEPTH 16

struct jsonw {
	struct buf *out;        /* not owned */
	int depth;
	bool need_comma[JSONW_MAX_DEPTH + 1];
	int err;        /* sticky first error; checked by jsonw_finish */
};

/* Starts writing at the end of `out` (existing content is kept). The
 * writer borrows `out` until the caller stops using it. */
void jsonw_init(struct jsonw *w, struct buf *out);
void jsonw_object_open(struct jsonw *w);
void jsonw_object_close(struct jsonw *w);
void jsonw_array_open(struct jsonw *w);
void jsonw_array_close(struct jsonw *w);
/* Writes "key": -- the value call follows. `key` is one of ward's own
 * field names: printable ASCII that needs no escaping (it is copied as
 * is, which keeps the ~25 keys of a record cheap). The inline wrapper
 * lets the compiler fold strlen of a literal. */
void jsonw_key_ascii(struct jsonw *w, const char *key, size_t len);
static inline void jsonw_key(struct jsonw *w, const char *key)
{
	jsonw_key_ascii(w, key, __builtin_strlen(key));
}
/* A key of `len` bytes that may come from untrusted input (e.g. an RFC
 * 5424 SD-ID): escaped like a string value, so any bytes are safe. */
void jsonw_key_str(struct jsonw *w, const char *key, size_t len);
/* A string value from `len` bytes; control characters, '"' and '\\' are
 * escaped and ill-formed UTF-8 becomes U+FFFD. `s` may be NULL if len is 0. */
void jsonw_string(struct jsonw *w, const char *s, size_t len);
/* Like jsonw_string for bytes the caller has already checked to be
 * well-formed UTF-8 (jsonw_utf8_valid_len, or the output of a decoder):
 * bytes >= 0x80 are copied without decoding them a second time, which
 * makes non-ASCII text several times cheaper. Given ill-formed input the
 * output is still well-formed JSON syntax but carries the bad bytes. */
void jsonw_string_utf8(struct jsonw *w, const char *s, size_t len);
/* A string value that is one of ward's own names ("local4", "rfc5424"):
 * printable ASCII needing no escape, copied as is like a key. */
void jsonw_string_ascii(struct jsonw *w, const char *s, size_t len);
static inline void jsonw_cstr(struct jsonw *w, const char *s)
{
	jsonw_string(w, s, __builtin_strlen(s));
}
/* A string value written in pieces: open, any number of appends, close.
 * Used when the value is assembled from parts of the input (unescaping
 * RFC 5424 PARAM-VALUEs) without a copy. A UTF-8 sequence split across two
 * appends is treated as ill-formed, so split only at ASCII bytes. */
void jsonw_string_open(struct jsonw *w);
void jsonw_string_append(struct jsonw *w, const char *s, size_t len);
/* jsonw_string_append for checked UTF-8, as jsonw_string_utf8. */
void jsonw_string_append_utf8(struct jsonw *w, const char *s, size_t len);
void jsonw_string_close(struct jsonw *w);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_uint(struct jsonw *w, uint64_t v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* A string holding the RFC 4648 section 4 base64 (with padding) of `len`
 * raw bytes. */
void jsonw_base64(struct jsonw *w, const uint8_t *p, size_t len);
/* A string holding an RFC 3339 UTC time with microseconds,
 * e.g. "2026-11-21T13:39:03.123456Z". `us` is microseconds since the epoch;
 * see time_format_rfc3339_us for the range. */
void jsonw_time_us(struct jsonw *w, int64_t us);
/* Convenience: key (as for jsonw_key) + value in one call. */
static inline void jsonw_kv_str(struct jsonw *w, const char *key, const char *s, size_t len)
{
	jsonw_key(w, key);
	jsonw_string(w, s, len);
}
static inline void jsonw_kv_cstr(struct jsonw *w, const char *key, const char *s)
{
	jsonw_key(w, key);
	jsonw_cstr(w, s);
}
/* key + jsonw_string_ascii of a NUL-terminated name. */
static inline void jsonw_kv_ascii(struct jsonw *w, const char *key, const char *name)
{
	jsonw_key(w, key);
	jsonw_string_ascii(w, name, __builtin_strlen(name));
}
static inline void jsonw_kv_int(struct jsonw *w, const char *key, int64_t v)
{
	jsonw_key(w, key);
	jsonw_int(w, v);
}
static inline void jsonw_kv_uint(struct jsonw *w, const char *key, uint64_t v)
{
	jsonw_key(w, key);
	jsonw_uint(w, v);
}
static inline void jsonw_kv_bool(struct jsonw *w, const char *key, bool v)
{
	jsonw_key(w, key);
	jsonw_bool(w, v);
}
static inline void jsonw_kv_time_us(struct jsonw *w, const char *key, int64_t us)
{
	jsonw_key(w, key);
	jsonw_time_us(w, us);
}
/* 0, or the first error seen (-ENOMEM, or -EINVAL for nesting past
 * JSONW_MAX_DEPTH or unbalanced closes, or a document left open). */
int jsonw_finish(const struct jsonw *w);

/* Length in bytes of the longest prefix of `s` (`len` bytes) that is
 * well-formed UTF-8 per RFC 3629 (no overlongs, no surrogates, nothing
 * above U+10FFFF). It equals len when the whole input is valid. ASCII runs
 * are checked eight bytes at a time. */
size_t jsonw_utf8_valid_len(const char *s, size_t len);

/* ---- civil time (proleptic Gregorian, UTC) ------------------------------
 * Pure arithmetic, no gmtime/timegm: these run for every record. */

#define TIME_RFC3339_US_LEN 27   /* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" */

/* Formats `us` (µs since the epoch) as RFC 3339 UTC with microseconds into
 * `dst` (at least 28 bytes) and NUL-terminates it. Returns the length
 * written, without the NUL (always TIME_RFC3339_US_LEN). RFC 3339 has
 * four-digit years only, so times before 0000-01-01 or after
 * 9999-12-31T23:59:59.999999Z are clamped to those bounds. */
size_t time_format_rfc3339_us(char *dst, int64_t us);

/* Days since 1970-01-01 of the date y-m-d (m 1..12, d 1..31; not checked
 * against the month's length). Valid for any year an int holds. */
int64_t time_days_from_civil(int y, int m, int d);
/* The date of `days` since 1970-01-01: the inverse of the above. */
void time_civil_from_days(int64_t days, int *y, int *m, int *d);
/* Days in month m (1..12) of year y, leap years included; 0 for a bad m. */
int time_days_in_month(int y, int m);

#endif
