/* soc_http: ward-soc's HTTP/1.1 request side, over http-parser.
 *
 * One soc_http per connection. The connection code feeds it the plaintext
 * it read (soc_http_feed); each complete request is handed to the
 * handler at once, in arrival order, and the handler's response is
 * formatted into `out`, so pipelined requests (RFC 9112 section 9.3.2)
 * are answered in order. The caller writes `out` to the peer after each
 * feed and empties it.
 *
 * Limits: the request line and header fields together at most
 * `max_header` bytes (431, RFC 6585 section 5; http-parser keeps this
 * bound process-wide, so every soc_http must use the same); a body at most
 * `max_body` bytes (413, RFC 9110 section 15.5.14), checked against
 * Content-Length before any body byte is read, and again while a chunked
 * body arrives. Malformed requests get 400. After any of those, or a
 * request without keep-alive, the connection must close once `out` has
 * been written: soc_http_closing() says so, and further input is ignored.
 *
 * "Expect: 100-continue" is answered with "100 Continue" as soon as the
 * headers are accepted (curl waits for it before sending larger bodies).
 *
 * Ownership: the caller owns the struct; soc_http owns `out` and the
 * request it assembles. The request passed to the handler is valid only
 * during the call.
 */
#ifndef WARD_SOC_HTTP_H
#define WARD_SOC_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#include "buf.h"
#include "http_hdr.h"

#define SOC_HTTP_PATH_MAX 256       /* bytes of path, and of query */

struct soc_http_req {
	enum http_method method;
	const char *path;               /* NUL-terminated, without query */
	const char *query;              /* after '?', "" when none */
	const uint8_t *body;
	size_t body_len;                /* bytes */
};

struct soc_http_resp {
	int status;                     /* 100..599 */
	unsigned retry_after_s;         /* seconds; 0 = no Retry-After */
	struct buf body;                /* JSON, owned by soc_http */
};

/* Fills `resp` (status and JSON body) for `req`. */
typedef void (*soc_http_handler_fn)(void *arg, const struct soc_http_req *req,
				    struct soc_http_resp *resp);

struct soc_http {
	http_parser parser;
	size_t max_header, max_body;    /* bytes */
	char url[2 * SOC_HTTP_PATH_MAX];
	size_t url_len;
	int url_too_long;
	struct http_hdr hdr;            /* the header being read */
	int expect_continue;
	int error_status;               /* set by a callback: 400, 413, 431 */
	int closing;
	struct buf body;
	struct buf out;                 /* formatted responses, to be sent */
	struct soc_http_resp resp;
	soc_http_handler_fn handler;
	void *handler_arg;
	uint64_t requests;              /* requests answered by the handler */
};

/* Prepares `h` for a new connection. Sizes in bytes, both at least 1;
 * `max_header` is also set as http-parser's process-wide header bound. */
void soc_http_init(struct soc_http *h, size_t max_header, size_t max_body,
		   soc_http_handler_fn handler, void *arg);
/* Frees the buffers. NULL-safe. */
void soc_http_free(struct soc_http *h);

/* Parses `len` plaintext bytes, answering each complete request into
 * h->out. Returns 0, or -EBADMSG (malformed: a 400 is queued) or
 * -EMSGSIZE (over a limit: 413 or 431 queued), or -ENOMEM. After an
 * error, or once soc_http_closing() is 1, input is ignored. */
int soc_http_feed(struct soc_http *h, const uint8_t *data, size_t len);

/* 1 when the connection must close after h->out is written. */
int soc_http_closing(const struct soc_http *h);

/* "OK", "Bad Request", ... for the status codes ward-soc uses. */
const char *soc_http_reason(int status);

#endif
