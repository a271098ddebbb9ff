/* edr_hec: the HTTP Event Collector protocol, without I/O.
 *
 * Two parts, both fed from memory so that tests and fuzzers drive them:
 *
 *  - edr_hec_http: the request side of one HTTP/1.1 connection (RFC 9112)
 *    over http-parser. It assembles one request at a time: method, path,
 *    query, the Authorization and Content-Encoding headers, and the body
 *    as sent (at most max_wire_bytes). Once a request is complete it stops
 *    parsing (http-parser pause), so that pipelined requests wait until
 *    the connection has answered this one: a HEC answer goes out only
 *    when the events are durable, and answers must keep request order.
 *
 *  - edr_hec_parse_body: the body of a request into events. For
 *    /services/collector/event (and /services/collector, its old name)
 *    the body is one or more JSON objects, concatenated with optional
 *    white space between them, each with an "event" member (Splunk's
 *    "JSON event protocol"). For /services/collector/raw each non-empty
 *    line is one event. A gzip body (Content-Encoding: gzip) is
 *    decompressed first, with a cap on the decompressed size, which
 *    guards against decompression bombs. A body is taken whole or not at
 *    all: one bad event refuses the request, so that a client that
 *    retries it creates no duplicates. The relay itself uses
 *    edr_hec_encode_body, which turns each event straight into its record
 *    (one parse, no jansson tree); edr_hec_parse_body, with jansson, is
 *    the reference that tests and the fuzz target hold it to.
 *
 * Answers are HEC's: a JSON body {"text":...,"code":N} with the HTTP
 * status Splunk uses for the code, except that an unknown token is 401
 * here (Splunk answers 403), as the relay's credential rule says.
 */
#ifndef WARD_EDR_HEC_H
#define WARD_EDR_HEC_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>
#include <jansson.h>

#include "buf.h"
#include "http_hdr.h"

/* HEC answer codes (Splunk "Troubleshoot HTTP Event Collector"). */
enum edr_hec_code {
	EDR_HEC_SUCCESS = 0,              /* 200 */
	EDR_HEC_TOKEN_REQUIRED = 2,       /* 401 */
	EDR_HEC_INVALID_AUTHORIZATION = 3,/* 401 */
	EDR_HEC_INVALID_TOKEN = 4,        /* 401 here, 403 in Splunk */
	EDR_HEC_NO_DATA = 5,              /* 400 */
	EDR_HEC_INVALID_DATA_FORMAT = 6,  /* 400 */
	EDR_HEC_INTERNAL_ERROR = 8,       /* 500 */
	EDR_HEC_SERVER_BUSY = 9,          /* 503, with Retry-After */
	EDR_HEC_EVENT_REQUIRED = 12,      /* 400 */
	EDR_HEC_EVENT_BLANK = 13,         /* 400 */
	EDR_HEC_HEALTHY = 17,             /* 200 */
	/* Not Splunk's: plain HTTP answers the relay gives with the same body
	 * shape. */
	EDR_HEC_NOT_FOUND = 404,
	EDR_HEC_TOO_LARGE = 413,
	EDR_HEC_BAD_REQUEST = 400,
};

enum edr_hec_route {
	EDR_HEC_ROUTE_NONE = 0,           /* unknown path: 404 */
	EDR_HEC_ROUTE_EVENT,              /* /services/collector[/event][/1.0] */
	EDR_HEC_ROUTE_RAW,                /* /services/collector/raw[/1.0] */
	EDR_HEC_ROUTE_HEALTH,             /* /services/collector/health[/1.0] */
};

#define EDR_HEC_URL_MAX   1024        /* bytes of path and query */
#define EDR_HEC_TOKEN_MAX 160         /* bytes of Authorization value kept */
#define EDR_HEC_HEADER_MAX (16 * 1024)/* request line and headers */

enum edr_hec_state {
	EDR_HEC_READING = 0,              /* feed more */
	EDR_HEC_REQUEST,                  /* a request is complete: answer it,
	                                   * then edr_hec_http_next() */
	EDR_HEC_FAILED,                   /* malformed or too large: send
	                                   * edr_hec_http.error_status's answer
	                                   * and close */
};

struct edr_hec_http {
	http_parser parser;
	enum edr_hec_state state;
	size_t max_wire;                  /* body bytes as sent */
	char url[EDR_HEC_URL_MAX + 1];
	size_t url_len;
	int url_too_long;
	struct http_hdr hdr;              /* the header being read */
	/* the request */
	char auth[EDR_HEC_TOKEN_MAX + 1]; /* the Authorization value, "" = none */
	int auth_too_long;
	int gzip;                         /* Content-Encoding: gzip */
	int bad_encoding;                 /* another Content-Encoding */
	int expect_continue;
	int keep_alive;
	enum http_method method;
	struct buf body;
	int error_status;                 /* 400, 413, 431, 503 when FAILED */
	size_t *pool_used, pool_cap;      /* see edr_hec_http_set_pool */
	uint64_t requests;
};

/* Prepares h for a new connection. max_wire_bytes >= 1 bounds a body as
 * sent (compressed or not). */
void edr_hec_http_init(struct edr_hec_http *h, size_t max_wire_bytes);
/* Makes the bodies of every connection given the same `used` counter
 * share `cap` bytes: a body that would take the sum past cap fails the
 * stream with error_status 503 (the relay answers "Server is busy" with
 * Retry-After and closes), which bounds the memory of many connections
 * sending large bodies at once. *used counts the bytes of bodies held;
 * it goes down as requests are answered (edr_hec_http_next) and
 * connections freed. Without a pool (the default) only max_wire_bytes
 * bounds a body. */
void edr_hec_http_set_pool(struct edr_hec_http *h, size_t *used, size_t cap);
/* Frees the body buffer. NULL-safe. */
void edr_hec_http_free(struct edr_hec_http *h);

/* Parses up to `len` bytes and returns how many it consumed: all of them
 * while READING, fewer once a request is complete (the rest belongs to the
 * next request: feed it again after edr_hec_http_next) or the stream
 * FAILED. "Expect: 100-continue" sets expect_continue once the headers are
 * in; the caller sends "HTTP/1.1 100 Continue" and clears it. */
size_t edr_hec_http_feed(struct edr_hec_http *h, const uint8_t *data, size_t len);

/* After a request was answered: forgets it and resumes parsing. */
void edr_hec_http_next(struct edr_hec_http *h);

/* The route of the current request's path, and its query string (after
 * '?', "" when none). */
enum edr_hec_route edr_hec_route(const struct edr_hec_http *h, const char **query);

/* The token of an Authorization value "Splunk <token>" (the scheme is
 * matched without regard to case). Returns the token, or NULL with *code
 * set: EDR_HEC_TOKEN_REQUIRED for an empty value, else
 * EDR_HEC_INVALID_AUTHORIZATION. */
const char *edr_hec_token(const char *authorization, enum edr_hec_code *code);

/* The value of `name` in a query string ("a=1&host=x"), copied into dst
 * (dstlen bytes, NUL-terminated, %XX and '+' decoded; a decoded NUL or a
 * value that does not fit gives no value). Returns dst or NULL. */
const char *edr_hec_query_param(const char *query, const char *name, char *dst,
				size_t dstlen);

struct edr_hec_limits {
	size_t max_body;                  /* bytes after decompression */
	size_t max_event;                 /* bytes of one event as sent */
};

/* The outcome of parsing a body. */
struct edr_hec_result {
	enum edr_hec_code code;           /* SUCCESS, or why not */
	int has_bad_event;                /* one event is at fault: */
	size_t bad_event;                 /* its 0-based index, for
	                                   * "invalid-event-number" */
	size_t decompressed;              /* body bytes after decompression */
};

/* Decodes `body` (`len` bytes; gzip-compressed when `gzip`) for `route`
 * (EVENT or RAW) into *events, a new JSON array the caller owns: for EVENT
 * the envelopes as objects, for RAW each line as a string (a trailing CR
 * cut; lines that are not UTF-8 are refused). Returns 0 with res->code
 * SUCCESS, -EBADMSG with res->code saying why (NO_DATA, INVALID_DATA_FORMAT,
 * EVENT_REQUIRED, EVENT_BLANK, TOO_LARGE for a body past max_body after
 * decompression, or an event past max_event), or -ENOMEM. *events is NULL
 * unless 0 is returned. */
int edr_hec_parse_body(enum edr_hec_route route, const uint8_t *body, size_t len, int gzip,
		       const struct edr_hec_limits *lim, json_t **events,
		       struct edr_hec_result *res);

/* Where each event of an EVENT body is in its text, for records that
 * copy the text rather than print the parsed event again
 * (edr_record_encode_text). base points into the body given to the parser
 * or, for a gzip body, into `plain`, which this struct owns. */
struct edr_hec_text {
	const uint8_t *base;
	struct buf plain;                 /* the decompressed body (gzip only) */
	size_t *off, *len;                /* per event, bytes from base */
	size_t n;
};

/* As edr_hec_parse_body, and for the EVENT route also fills *text (the
 * caller frees it with edr_hec_text_free, after any return). The spans are
 * valid while `body` is, and the events' order is the array's. */
int edr_hec_parse_body_text(enum edr_hec_route route, const uint8_t *body, size_t len,
			    int gzip, const struct edr_hec_limits *lim, json_t **events,
			    struct edr_hec_result *res, struct edr_hec_text *text);
/* NULL-safe; leaves *t empty. */
void edr_hec_text_free(struct edr_hec_text *t);

/* Inflates a gzip (or zlib: the header is detected) body of `len` bytes,
 * appending to out, which should start empty: out->len never goes past
 * `cap` bytes, the decompression-bomb guard, enforced as the output grows
 * rather than trusting the gzip trailer's size. Concatenated gzip members
 * (RFC 1952 section 2.2) are all decoded. Returns 0, -EMSGSIZE (over
 * cap), -EBADMSG (not gzip, or cut short) or -ENOMEM. */
int edr_hec_gunzip(const uint8_t *in, size_t len, size_t cap, struct buf *out);

/* A body's records, for the relay (edr_hec_encode_body). The buffers are
 * kept from request to request, so a steady stream of requests allocates
 * nothing. */
struct edr_hec_records {
	struct buf plain;                 /* the decompressed body (gzip) */
	struct buf recs;                  /* the records, one after another */
	size_t *end;                      /* record i is recs[end[i-1]..end[i]) */
	size_t n, cap;
};

struct edr_parser;
struct edr_meta;

void edr_hec_records_init(struct edr_hec_records *r);
/* NULL-safe. */
void edr_hec_records_free(struct edr_hec_records *r);
/* Frees the buffers whose capacity is over keep_bytes (a large body once
 * must not keep its memory for good). */
void edr_hec_records_trim(struct edr_hec_records *r, size_t keep_bytes);

/* As edr_hec_parse_body, but straight into records: each event of `body`
 * becomes the record edr_record_encode_json (EVENT: the envelope, parsed
 * once with `parser`) or edr_record_encode_string (RAW, with m's host,
 * source and sourcetype) makes of it with the metadata `m`. The body is
 * taken whole or not at all, with the same codes as edr_hec_parse_body;
 * on success r holds r->n records. Returns 0, -EBADMSG (res->code
 * says why, r holds no record) or -ENOMEM. */
int edr_hec_encode_body(struct edr_parser *parser, const struct edr_meta *m,
			enum edr_hec_route route, const uint8_t *body, size_t len, int gzip,
			const struct edr_hec_limits *lim, struct edr_hec_records *r,
			struct edr_hec_result *res);

/* The HTTP status of a code (200, 400, 401, 404, 413, 500, 503). */
int edr_hec_http_status(enum edr_hec_code code);

/* Appends a complete HTTP/1.1 answer for `code` to out: status line,
 * Content-Type: application/json, Content-Length, Retry-After when
 * retry_after_s > 0, Connection: close or keep-alive, and the body
 * {"text":...,"code":N} (with "invalid-event-number" when bad_event >= 0).
 * 0 or -ENOMEM. */
int edr_hec_format_answer(struct buf *out, enum edr_hec_code code, long bad_event,
			  unsigned retry_after_s, int keep_alive);

#endif
