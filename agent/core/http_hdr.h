/* http_hdr: one HTTP/1.1 header at a time, from http-parser's pieces.
 *
 * http-parser hands a header's name and value to on_header_field and
 * on_header_value in as many pieces as the reads cut them into, and says
 * a header is complete only by starting the next name (or by
 * on_headers_complete). This collects the pieces of the current header
 * into bounded buffers and calls the caller back once per complete header
 * (RFC 9112 section 5). A name or value longer than its buffer is kept
 * truncated and flagged, so a server can refuse it (or ignore it) rather
 * than act on a prefix.
 */
#ifndef WARD_HTTP_HDR_H
#define WARD_HTTP_HDR_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_HDR_FIELD_MAX 32    /* bytes kept of a name, NUL included */
#define HTTP_HDR_VALUE_MAX 256   /* bytes kept of a value, NUL included */

struct http_hdr {
	char field[HTTP_HDR_FIELD_MAX];
	char value[HTTP_HDR_VALUE_MAX];
	size_t field_len, value_len; /* bytes sent (saturating at SIZE_MAX) */
	int in_value;
};

/* Called once per complete header. h->field and h->value are
 * NUL-terminated; field_ok/value_ok are false when the name or value was
 * longer than its buffer (then it holds only a prefix, and h->*_len says
 * how long it was). */
typedef void (*http_hdr_fn)(void *arg, const struct http_hdr *h, bool field_ok,
			    bool value_ok);

/* Forgets any header in progress (at a message's start). */
void http_hdr_reset(struct http_hdr *h);
/* A piece of a name, `len` bytes. A value before it completes the
 * previous header, which goes to fn(arg, ...) first. */
void http_hdr_on_field(struct http_hdr *h, const char *at, size_t len, http_hdr_fn fn,
		       void *arg);
/* A piece of a value, `len` bytes. */
void http_hdr_on_value(struct http_hdr *h, const char *at, size_t len);
/* The end of the headers: completes the last one, if any. */
void http_hdr_finish(struct http_hdr *h, http_hdr_fn fn, void *arg);

#endif
