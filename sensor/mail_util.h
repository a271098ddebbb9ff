/* mail_util: pieces shared by the line protocols' analyzers (an_smtp.c,
 * an_pop3.c, an_ftp.c; an_telnet.c uses mail_rec): a line splitter with a
 * length cap, a small store of record fields, and base64 (RFC 4648
 * section 4) for SASL responses.
 *
 * Memory comes from the session (an_alloc), so it is charged to the
 * analyzer context's cap; every allocation failure is counted as a weird
 * by the caller's session and the input is skipped, never fatal.
 */
#ifndef WARD_SENSOR_MAIL_UTIL_H
#define WARD_SENSOR_MAIL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer.h"

/* The longest line kept whole (bytes, without the line end). A longer
 * line is handed out in pieces of this size and counted as weird
 * "line_too_long". RFC 5321 4.5.3.1.6 allows 1000 bytes for a text line;
 * Zeek's line analyzers allow more before complaining. */
#define MAIL_LINE_MAX 8192

/* Called for each line: `len` bytes without the CRLF (or bare LF); `eol`
 * is false for a piece of an overlong line (more of the same line
 * follows). The bytes are valid during the call only. Returns 0 to go on,
 * or non-zero to stop feeding after this line (the caller switches mode,
 * e.g. to BDAT's raw bytes, or detached the session). */
typedef int (*mail_line_fn)(void *ctx, const uint8_t *line, size_t len, bool eol);

/* A line splitter for one direction. Zeroed is the initial state. */
struct mail_line {
	uint8_t *buf;                 /* MAIL_LINE_MAX bytes, allocated on first need */
	size_t len;                   /* bytes of a partial line held */
	bool resync;                  /* after a gap: drop bytes up to the next LF */
};

/* Splits `len` bytes into lines and calls fn for each complete one (the
 * rest is held for the next call). Lines that fit the input are handed
 * out in place, without a copy; a held line's copy is wiped (zeroed) after
 * its callback, so a secret on it does not linger. Returns the bytes
 * consumed: `len`, or fewer when fn asked to stop. */
size_t mail_line_feed(struct mail_line *l, struct an_session *s, const uint8_t *d, size_t len,
		      mail_line_fn fn, void *ctx);
/* The direction's content ended without a final line end (BDAT's last
 * chunk): hands out the held partial line, if any, as a whole line. */
void mail_line_flush(struct mail_line *l, mail_line_fn fn, void *ctx);
/* Bytes of the direction were lost: drops the held partial line and skips
 * input up to the next LF (resynchronizes at the next line). */
void mail_line_gap(struct mail_line *l);
/* Wipes and frees the buffer; the struct is zeroed and reusable. */
void mail_line_free(struct mail_line *l, struct an_session *s);

/* A record's fields as (field id, bytes) items in one growing arena, so a
 * transaction's strings and lists cost one allocation. A field id is the
 * analyzer's own small number; a scalar field is its last item, a list
 * all its items in order. */
struct mail_item {
	uint8_t field;
	uint32_t off, len;
};

#define MAIL_REC_BYTES_MAX (32u << 10)  /* arena cap per record */
#define MAIL_REC_ITEMS_MAX 512

struct mail_rec {
	uint8_t *arena;
	uint32_t used, cap;
	struct mail_item *items;
	uint32_t n, ncap;
};

/* Appends an item of `len` bytes (copied). A value longer than 1 KiB is
 * cut there. 0, or -ENOBUFS when the caps above are reached (the caller
 * counts a weird), or -ENOMEM. */
int mail_rec_add(struct mail_rec *r, struct an_session *s, uint8_t field, const void *v, size_t len);
/* Replaces the field's value: drops its earlier items (their bytes stay in
 * the arena until reset), then adds. */
int mail_rec_set(struct mail_rec *r, struct an_session *s, uint8_t field, const void *v, size_t len);
/* The field's last item, or NULL. */
const struct mail_item *mail_rec_get(const struct mail_rec *r, uint8_t field);
/* The bytes of an item (never NULL, also for an empty one). */
static inline const char *mail_rec_bytes(const struct mail_rec *r, const struct mail_item *it)
{
	return r->arena != NULL ? (const char *)r->arena + it->off : "";
}
/* Number of items of the field. */
uint32_t mail_rec_count(const struct mail_rec *r, uint8_t field);
/* Writes "key": string of the field's last item, if any. */
void mail_rec_write_str(const struct mail_rec *r, struct jsonw *w, uint8_t field, const char *key);
/* Writes "key": [strings] of all the field's items, if any. */
void mail_rec_write_list(const struct mail_rec *r, struct jsonw *w, uint8_t field,
			 const char *key);
/* Forgets all items; keeps the memory for the next record. */
void mail_rec_reset(struct mail_rec *r);
/* Frees the memory; the struct is zeroed and reusable. */
void mail_rec_free(struct mail_rec *r, struct an_session *s);

/* Decodes base64 (RFC 4648 section 4, padding optional, whitespace
 * skipped) of `len` bytes into `out` (at most `cap` bytes). Returns the
 * decoded length, or -EINVAL on a character outside the alphabet, or
 * -ENOBUFS when `out` is too small. */
int mail_b64_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);
/* The value of one base64 character, or -1. */
int mail_b64_value(uint8_t c);

/* The user name of a SASL response (base64, RFC 4954 4 and RFC 5034 4):
 * PLAIN (RFC 4616: authzid NUL authcid NUL passwd) gives authcid, or
 * authzid when authcid is empty; LOGIN's first response is the name
 * itself. The decoded bytes, password included, are wiped before the
 * return. Writes the name into user (cap bytes); returns its length, or
 * -EINVAL (bad base64, no NUL separators), -ENOBUFS (too long). */
int mail_sasl_user(const uint8_t *b64, size_t len, bool plain, uint8_t *user, size_t cap);

/* Case-insensitive: does line[0..len) start with the word `w` followed by
 * the end, a space or a tab? */
bool mail_word_is(const uint8_t *line, size_t len, const char *w);
/* The command word of a line: its length up to the first space (at most
 * 15 bytes are considered). */
size_t mail_word_len(const uint8_t *line, size_t len);
/* Skips spaces and tabs from `*p`; returns the rest's start. */
size_t mail_skip_ws(const uint8_t *line, size_t len, size_t i);

#endif
