/* uplink_http: one HTTP/1.1 response from the SOC (RFC 9112), parsed from
 * bytes that arrive in arbitrary pieces, with no connection state.
 *
 * The uplink arms a response when its request has gone out
 * (uplink_resp_start), feeds whatever plaintext TLS hands it, and acts on
 * the response once it is complete: its status code, Retry-After, the
 * first bytes of its body (for words in the logs) and whether the
 * connection stays open. The bytes are untrusted, so every size is
 * bounded and every fault is an error, never a guess:
 *
 *   -EPROTO     bytes while nothing is armed: a response to no request
 *               (the previous one is complete, or none was ever asked for)
 *   -EMSGSIZE   the status line and fields, or the body, passed its limit
 *   -EBADMSG    not HTTP/1.x as http-parser reads it
 *
 * The outcome does not depend on how the stream is cut: the same bytes in
 * one piece or in many give the same status, Retry-After, body and error
 * (tests/fuzz/fuzz_uplink_http.c checks this). The caller allocates the
 * struct; it owns no memory, so there is nothing to free.
 */
#ifndef WARD_UPLINK_HTTP_H
#define WARD_UPLINK_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#define UPLINK_RESP_HEADER_MAX_DEFAULT 8192u  /* bytes: status line + fields */
#define UPLINK_RESP_BODY_MAX_DEFAULT 65536u   /* bytes on the wire */
#define UPLINK_RESP_BODY_KEEP 200             /* body bytes kept for words */
#define UPLINK_RESP_RETRY_AFTER_MAX 64        /* longer values are not valid */

struct uplink_resp {
	/* Results: valid once uplink_resp_feed() returned 1. */
	int status;             /* 100..999 */
	bool keep_alive;        /* false: the server closes (or must be closed) */
	char body[UPLINK_RESP_BODY_KEEP + 1];   /* NUL-terminated prefix */
	size_t body_len;        /* bytes in body[] */

	/* Private. */
	http_parser parser;
	size_t max_header, max_body;
	size_t phase_bytes;     /* wire bytes of the head or of the body so far */
	bool armed, in_body, done;
	int error;              /* sticky: 0 or the first error */
	char name[12];          /* the field name being read, if short */
	size_t name_len;        /* SIZE_MAX: longer than name[] */
	bool in_value, in_retry_after;
	unsigned retry_after_fields;
	char retry_after[UPLINK_RESP_RETRY_AFTER_MAX];
	size_t retry_after_len; /* SIZE_MAX: too long */
};

/* Sets up `r` with limits in bytes: `max_header` for the status line and
 * header fields, `max_body` for the body as it is on the wire (chunk
 * framing and trailers included, so no input is unbounded). 0 picks the
 * defaults above. Nothing is armed yet. */
void uplink_resp_init(struct uplink_resp *r, size_t max_header, size_t max_body);

/* Arms `r` for the response to a request that has just gone out,
 * forgetting any previous response and error. */
void uplink_resp_start(struct uplink_resp *r);

/* Feeds `len` bytes of the stream from the server. Returns 1 when the
 * response is complete (its results are then set and `r` is no longer
 * armed), 0 when more bytes are needed, or a negative error (see above)
 * that stays until the next uplink_resp_start. `*used` is set to the bytes
 * consumed: all of them unless the response completed, in which case the
 * rest belongs to no request. */
int uplink_resp_feed(struct uplink_resp *r, const void *data, size_t len, size_t *used);

/* The delay the complete response asks for in its Retry-After field
 * (RFC 9110 section 10.2.3), in ms, as uplink_parse_retry_after reads it
 * with `now_s` (seconds since the epoch). Returns 0, or -ENOENT (no such
 * field) or -EINVAL (several, too long, or neither form); `*out_ms` is 0
 * then, and the caller uses its own backoff. */
int uplink_resp_retry_after(const struct uplink_resp *r, int64_t now_s, uint64_t *out_ms);

/* Words for an error from uplink_resp_feed. */
const char *uplink_resp_strerror(int err);

#endif
