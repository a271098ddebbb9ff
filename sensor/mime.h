/* mime: a streaming MIME message parser (RFC 5322 header fields, RFC 2045
 * and RFC 2046), shared by the SMTP and POP3 analyzers to find a message's
 * header fields and to cut its body into parts, decoded, for the files
 * records.
 *
 * The message goes in line by line (the analyzer has already removed the
 * SMTP/POP3 framing: the CRLF of each line and the dot-stuffing). Out
 * come, through the callbacks:
 *   - every header field of every entity, unfolded (RFC 5322 2.2.3), with
 *     its nesting level (0: the message's own header);
 *   - each leaf entity (a part that is not multipart/...) as part_begin,
 *     its content decoded from Content-Transfer-Encoding base64 (RFC 2045
 *     6.8) or quoted-printable (RFC 2045 6.7) in pieces, and part_end.
 * Multipart bodies (RFC 2046 5.1) nest up to MIME_DEPTH_MAX levels; their
 * preambles and epilogues are dropped; the CRLF before a boundary
 * belongs to the boundary. A part's filename is Content-Disposition's
 * filename parameter, else Content-Type's name parameter; RFC 2047
 * encoded-words in it are decoded when their charset is UTF-8 or
 * US-ASCII (others are kept as written).
 *
 * Malformed input is counted as weirds on the session and parsed on as
 * well as can be: "mime_bad_base64" (characters outside the alphabet are
 * skipped), "mime_boundary_missing" (an outer boundary closed inner parts,
 * or the message ended inside a multipart), "mime_too_deep",
 * "mime_header_too_long" (a header field is cut at MIME_HEADER_MAX).
 *
 * Memory: one block of about 9 KiB per message from an_alloc.
 */
#ifndef WARD_SENSOR_MIME_H
#define WARD_SENSOR_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer.h"

#define MIME_DEPTH_MAX 8
#define MIME_HEADER_MAX 4096   /* bytes of one unfolded header field */

/* A leaf part as part_begin shows it; the strings are NUL-terminated and
 * valid during the call. */
struct mime_part {
	uint32_t index;               /* 1, 2, ... in the message's order */
	unsigned level;               /* multipart nesting: 0 for a single-part message */
	const char *content_type;     /* "type/subtype" lowercased; "" when none (text/plain by RFC 2045 5.2) */
	const char *filename;         /* NULL when none */
};

struct mime_ops {
	/* A header field of an entity at nesting `level`: name as sent
	 * (without the colon), value with leading blanks removed and the
	 * folding undone. May be NULL. */
	void (*header)(void *ctx, unsigned level, const char *name, size_t name_len,
		       const uint8_t *value, size_t value_len);
	void (*part_begin)(void *ctx, const struct mime_part *p);
	/* Decoded content bytes of the open part. */
	void (*part_data)(void *ctx, const uint8_t *d, size_t len);
	/* `len` bytes of the message were lost inside the open part. */
	void (*part_gap)(void *ctx, uint64_t len);
	/* The open part ended: complete (its closing boundary or the
	 * message's end was seen) or not (truncated: a gap, or a missing
	 * boundary). */
	void (*part_end)(void *ctx, bool complete);
};

struct mime;

/* Starts a message. `ops` and `ctx` are borrowed for the parser's life.
 * 0 or -ENOMEM (an_alloc's cap). */
int mime_create(struct mime **out, struct an_session *s, const struct mime_ops *ops, void *ctx);
/* One line of the message, `len` bytes without its CRLF; eol false: a
 * piece of an overlong line, more of the same line follows. */
void mime_line(struct mime *m, const uint8_t *line, size_t len, bool eol);
/* `len` bytes of the message were lost: the open part is told (part_gap)
 * and ended as truncated; the parser then ignores the rest of the
 * message (it cannot know where the lost bytes left it). */
void mime_gap(struct mime *m, uint64_t len);
/* The message ended (SMTP's "." or POP3's end of the multi-line reply):
 * ends any open part; frees the parser. NULL is accepted. */
void mime_finish(struct mime *m);
/* Leaf parts begun so far. */
uint32_t mime_parts(const struct mime *m);

/* Decodes RFC 2047 encoded-words ("=?utf-8?B?...?=", "=?us-ascii?Q?...?=")
 * in `in` (len bytes) into `out` (cap bytes, NUL-terminated, cut to fit).
 * Words of other charsets, and malformed ones, are copied as written.
 * Returns the output length. */
size_t mime_decode_words(const uint8_t *in, size_t len, char *out, size_t cap);

#endif
