/* syslog_charset: makes message text UTF-8.
 *
 * Valid UTF-8 passes as is (no copy). Otherwise the bytes are decoded as
 * GB18030 (a superset of GBK, which Chinese network devices send) with
 * iconv(3). If that fails too, the caller keeps the raw bytes as base64.
 */
#ifndef WARD_SYSLOG_CHARSET_H
#define WARD_SYSLOG_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum charset_result {
	CHARSET_UTF8 = 0,     /* input was valid UTF-8 (or ASCII) */
	CHARSET_GB18030,      /* decoded from GB18030 into out */
	CHARSET_UNDECODABLE,  /* neither; out untouched */
};

/* Holds the iconv descriptor. iconv descriptors carry state, so a
 * converter must not be shared between threads: create one per thread. */
struct charset_conv;

/* Returns NULL on ENOMEM or if iconv lacks GB18030 (then only UTF-8 is
 * recognised and everything else is UNDECODABLE). */
struct charset_conv *charset_conv_create(void);
void charset_conv_destroy(struct charset_conv *c);   /* NULL-safe */

/* True when `len` bytes are well-formed UTF-8 (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF). */
bool utf8_valid(const char *s, size_t len);

/* Classifies `len` bytes and, for CHARSET_GB18030, appends the UTF-8
 * decoding to `out` (the caller owns out; it grows as needed). c may be
 * NULL (UTF-8 check only). Out of memory while decoding yields
 * CHARSET_UNDECODABLE, so the caller falls back to keeping raw bytes; out
 * is then as it was. Cost: one pass for UTF-8; for the rest one more pass
 * through iconv. Note that short non-UTF-8 byte strings may happen to be
 * valid GB18030; only the raw bytes are authoritative. */
enum charset_result charset_to_utf8(struct charset_conv *c, const char *s, size_t len,
				    struct buf *out);

const char *charset_result_name(enum charset_result r);  /* "utf-8", "gb18030", "unknown" */

#endif
