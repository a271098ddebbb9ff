/* edr_hec: see edr_hec.h. */
#include "edr_hec.h"
#include "edr_zlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "jsonw.h"
#include "edr_record.h"

/* ---- HTTP framing ----------------------------------------------------------- */

static struct edr_hec_http *of(http_parser *p)
{
	return p->data;
}

/* Gives the body's bytes back to the shared pool, and its buffer back to
 * malloc when a large body made it large: an idle keep-alive connection
 * keeps at most BODY_KEEP_BYTES. */
#define BODY_KEEP_BYTES (64 * 1024)
static void body_release(struct edr_hec_http *h)
{
	if (h->pool_used != NULL)
		*h->pool_used -= h->body.len;
	if (h->body.cap > BODY_KEEP_BYTES)
		buf_free(&h->body);
	else
		buf_reset(&h->body);
}

static int on_message_begin(http_parser *p)
{
	struct edr_hec_http *h = of(p);

	h->url_len = 0;
	h->url_too_long = 0;
	http_hdr_reset(&h->hdr);
	h->auth[0] = '\0';
	h->auth_too_long = 0;
	h->gzip = h->bad_encoding = h->expect_continue = 0;
	body_release(h);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct edr_hec_http *h = of(p);

	if (h->url_too_long)
		return 0;
	if (len > EDR_HEC_URL_MAX - h->url_len) {
		h->url_too_long = 1;   /* no route is that long: 404 */
		return 0;
	}
	memcpy(h->url + h->url_len, at, len);
	h->url_len += len;
	return 0;
}

/* The headers a collector acts on. An Authorization value longer than a
 * token can be is refused later (auth_too_long), not cut. */
static void header_done(void *arg, const struct http_hdr *hd, bool field_ok, bool value_ok)
{
	struct edr_hec_http *h = arg;

	if (!field_ok)
		return;
	if (strcasecmp(hd->field, "authorization") == 0) {
		if (value_ok && hd->value_len <= EDR_HEC_TOKEN_MAX)
			memcpy(h->auth, hd->value, hd->value_len + 1);
		else
			h->auth_too_long = 1;
	} else if (strcasecmp(hd->field, "content-encoding") == 0) {
		if (value_ok && strcasecmp(hd->value, "gzip") == 0)
			h->gzip = 1;
		else if (!value_ok || strcasecmp(hd->value, "identity") != 0)
			h->bad_encoding = 1;
	} else if (strcasecmp(hd->field, "expect") == 0) {
		h->expect_continue = value_ok && strcasecmp(hd->value, "100-continue") == 0;
	}
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct edr_hec_http *h = of(p);

	http_hdr_on_field(&h->hdr, at, len, header_done, h);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	http_hdr_on_value(&of(p)->hdr, at, len);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct edr_hec_http *h = of(p);

	http_hdr_finish(&h->hdr, header_done, h);
	/* content_length is ULLONG_MAX when the header is absent. */
	if (p->content_length != (uint64_t)-1 && p->content_length > h->max_wire) {
		h->error_status = 413;
		return -1;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct edr_hec_http *h = of(p);

	if (len > h->max_wire - h->body.len) {
		h->error_status = 413;
		return -1;
	}
	if (h->pool_used != NULL) {
		/* The cap may have shrunk below what is held (a reload). */
		if (*h->pool_used >= h->pool_cap || len > h->pool_cap - *h->pool_used) {
			h->error_status = 503;
			return -1;
		}
		*h->pool_used += len;
	}
	if (buf_append(&h->body, at, len) < 0) {
		if (h->pool_used != NULL)
			*h->pool_used -= len;
		return -1;
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct edr_hec_http *h = of(p);

	h->url[h->url_len] = '\0';
	if (h->url_too_long)
		h->url[0] = '\0';
	h->method = (enum http_method)p->method;
	h->keep_alive = http_should_keep_alive(p);
	h->state = EDR_HEC_REQUEST;
	h->requests++;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

void edr_hec_http_init(struct edr_hec_http *h, size_t max_wire_bytes)
{
	memset(h, 0, sizeof(*h));
	/* Process-wide in http-parser; every caller uses the same bound. */
	http_parser_set_max_header_size(EDR_HEC_HEADER_MAX);
	http_parser_init(&h->parser, HTTP_REQUEST);
	h->parser.data = h;
	h->max_wire = max_wire_bytes;
	buf_init(&h->body);
}

void edr_hec_http_set_pool(struct edr_hec_http *h, size_t *used, size_t cap)
{
	h->pool_used = used;
	h->pool_cap = cap;
}

void edr_hec_http_free(struct edr_hec_http *h)
{
	if (h == NULL)
		return;
	if (h->pool_used != NULL)
		*h->pool_used -= h->body.len;
	buf_free(&h->body);
}

size_t edr_hec_http_feed(struct edr_hec_http *h, const uint8_t *data, size_t len)
{
	enum http_errno e;
	size_t n;

	if (h->state != EDR_HEC_READING || len == 0)
		return 0;
	n = http_parser_execute(&h->parser, &settings, (const char *)data, len);
	e = HTTP_PARSER_ERRNO(&h->parser);
	if (e == HPE_PAUSED) {
		/* The request ends at n; on_message_complete's byte counts. */
		return n;
	}
	if (e == HPE_OK && !h->parser.upgrade)
		return len;
	/* CONNECT or Upgrade belong to no protocol we speak. */
	h->state = EDR_HEC_FAILED;
	if (h->error_status == 0)
		h->error_status = e == HPE_HEADER_OVERFLOW ? 431 : 400;
	return n;
}

void edr_hec_http_next(struct edr_hec_http *h)
{
	if (h->state != EDR_HEC_REQUEST)
		return;
	body_release(h);
	h->state = EDR_HEC_READING;
	http_parser_pause(&h->parser, 0);
}

/* ---- routes and headers ------------------------------------------------------- */

enum edr_hec_route edr_hec_route(const struct edr_hec_http *h, const char **query)
{
	static const struct { const char *path; enum edr_hec_route r; } routes[] = {
		{ "/services/collector", EDR_HEC_ROUTE_EVENT },
		{ "/services/collector/event", EDR_HEC_ROUTE_EVENT },
		{ "/services/collector/event/1.0", EDR_HEC_ROUTE_EVENT },
		{ "/services/collector/raw", EDR_HEC_ROUTE_RAW },
		{ "/services/collector/raw/1.0", EDR_HEC_ROUTE_RAW },
		{ "/services/collector/health", EDR_HEC_ROUTE_HEALTH },
		{ "/services/collector/health/1.0", EDR_HEC_ROUTE_HEALTH },
	};
	const char *q = strchr(h->url, '?');
	size_t n = q != NULL ? (size_t)(q - h->url) : strlen(h->url), i;

	*query = q != NULL ? q + 1 : "";
	/* A trailing slash is the same route. */
	if (n > 1 && h->url[n - 1] == '/')
		n--;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strlen(routes[i].path) == n && memcmp(routes[i].path, h->url, n) == 0)
			return routes[i].r;
	return EDR_HEC_ROUTE_NONE;
}

const char *edr_hec_token(const char *authorization, enum edr_hec_code *code)
{
	const char *t;

	*code = EDR_HEC_SUCCESS;
	if (authorization == NULL || authorization[0] == '\0') {
		*code = EDR_HEC_TOKEN_REQUIRED;
		return NULL;
	}
	if (strncasecmp(authorization, "Splunk ", 7) != 0) {
		*code = EDR_HEC_INVALID_AUTHORIZATION;
		return NULL;
	}
	for (t = authorization + 7; *t == ' '; t++)
		;
	if (*t == '\0') {
		*code = EDR_HEC_INVALID_AUTHORIZATION;
		return NULL;
	}
	return t;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

const char *edr_hec_query_param(const char *query, const char *name, char *dst,
				size_t dstlen)
{
	size_t nl = strlen(name), o;
	const char *p = query;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			p += nl + 1;
			for (o = 0; *p != '\0' && *p != '&'; p++) {
				int c = (unsigned char)*p;

				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					if (hexval(p[1]) < 0 || hexval(p[2]) < 0)
						return NULL;
					c = hexval(p[1]) << 4 | hexval(p[2]);
					p += 2;
				}
				if (c == 0 || o + 1 >= dstlen)
					return NULL;
				dst[o++] = (char)c;
			}
			dst[o] = '\0';
			return dst;
		}
		p = strchr(p, '&');
		if (p != NULL)
			p++;
	}
	return NULL;
}

/* ---- bodies ------------------------------------------------------------------- */

int edr_hec_gunzip(const uint8_t *in, size_t len, size_t cap, struct buf *out)
{
	z_stream z;
	int zr, rc = 0;

	memset(&z, 0, sizeof(z));
	/* 15 + 32: a window of 32 KiB, gzip or zlib header detected. */
	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	if (len > UINT32_MAX) {
		rc = -EMSGSIZE;
		goto out;
	}
	for (;;) {
		/* Straight into out, which a caller reuses from body to body. */
		zr = edr_inflate_step(&z, out, cap);
		if (zr == -ENOMEM || zr == Z_MEM_ERROR) {
			rc = -ENOMEM;
			goto out;
		}
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			rc = -EBADMSG;
			goto out;
		}
		if (out->len > cap) {
			rc = -EMSGSIZE;
			goto out;
		}
		if (zr == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			if (inflateReset(&z) != Z_OK) {
				rc = -EBADMSG;
				goto out;
			}
			continue;
		}
		/* No progress possible: the stream is cut short. */
		if (zr == Z_BUF_ERROR || (z.avail_in == 0 && z.avail_out != 0)) {
			rc = -EBADMSG;
			goto out;
		}
	}
out:
	inflateEnd(&z);
	return rc;
}

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Splunk's JSON event protocol: "event" is required and not blank. */
static enum edr_hec_code check_envelope(json_t *v)
{
	json_t *ev;

	if (!json_is_object(v))
		return EDR_HEC_INVALID_DATA_FORMAT;
	ev = json_object_get(v, "event");
	if (ev == NULL)
		return EDR_HEC_EVENT_REQUIRED;
	if (json_is_null(ev) || (json_is_string(ev) && json_string_length(ev) == 0))
		return EDR_HEC_EVENT_BLANK;
	return EDR_HEC_SUCCESS;
}

/* Records event n's span; the arrays grow by doubling. */
static int note_span(struct edr_hec_text *t, size_t n, size_t off, size_t len)
{
	if (t == NULL)
		return 0;
	if ((n & (n - 1)) == 0 || n == 0) {
		size_t cap = n == 0 ? 16 : n * 2;
		size_t *o = realloc(t->off, cap * sizeof(*o)), *l;

		if (o == NULL)
			return -ENOMEM;
		t->off = o;
		l = realloc(t->len, cap * sizeof(*l));
		if (l == NULL)
			return -ENOMEM;
		t->len = l;
	}
	t->off[n] = off;
	t->len[n] = len;
	t->n = n + 1;
	return 0;
}

static int parse_events(const uint8_t *p, size_t len, const struct edr_hec_limits *lim,
			json_t *arr, struct edr_hec_result *res, struct edr_hec_text *text)
{
	size_t off = 0, n = 0;
	json_error_t e;
	json_t *v;

	for (;;) {
		while (off < len && is_space(p[off]))
			off++;
		if (off == len)
			break;
		/* One value; with the EOF check off, e.position is how many
		 * bytes it took. */
		v = json_loadb((const char *)p + off, len - off,
			       JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &e);
		if (v == NULL) {
			res->code = EDR_HEC_INVALID_DATA_FORMAT;
			res->bad_event = n;
			res->has_bad_event = 1;
			return -EBADMSG;
		}
		res->code = (size_t)e.position > lim->max_event ? EDR_HEC_TOO_LARGE :
			    check_envelope(v);
		if (res->code != EDR_HEC_SUCCESS || e.position <= 0) {
			if (res->code == EDR_HEC_SUCCESS)
				res->code = EDR_HEC_INVALID_DATA_FORMAT;
			res->bad_event = n;
			res->has_bad_event = 1;
			json_decref(v);
			return -EBADMSG;
		}
		if (json_array_append_new(arr, v) < 0 ||
		    note_span(text, n, off, (size_t)e.position) < 0)
			return -ENOMEM;
		off += (size_t)e.position;
		n++;
	}
	if (n == 0) {
		res->code = EDR_HEC_NO_DATA;
		return -EBADMSG;
	}
	return 0;
}

/* Calls line() for each non-empty line of a raw body (a trailing CR cut),
 * after checking its size and UTF-8. line() returns 0 or -ENOMEM. */
static int for_lines(const uint8_t *p, size_t len, const struct edr_hec_limits *lim,
		     struct edr_hec_result *res,
		     int (*line)(void *arg, const uint8_t *s, size_t n), void *arg)
{
	size_t off = 0, n = 0;

	while (off < len) {
		const uint8_t *nl = memchr(p + off, '\n', len - off);
		size_t end = nl != NULL ? (size_t)(nl - p) : len, l = end - off;

		if (l > 0 && p[off + l - 1] == '\r')
			l--;
		if (l > 0) {
			if (l > lim->max_event || jsonw_utf8_valid_len((const char *)p + off, l) != l) {
				res->code = l > lim->max_event ? EDR_HEC_TOO_LARGE :
					    EDR_HEC_INVALID_DATA_FORMAT;
				res->bad_event = n;
				res->has_bad_event = 1;
				return -EBADMSG;
			}
			if (line(arg, p + off, l) < 0)
				return -ENOMEM;
			n++;
		}
		off = end + 1;
	}
	if (n == 0) {
		res->code = EDR_HEC_NO_DATA;
		return -EBADMSG;
	}
	return 0;
}

static int line_to_array(void *arg, const uint8_t *s, size_t n)
{
	json_t *v = json_stringn((const char *)s, n);

	return v == NULL || json_array_append_new(arg, v) < 0 ? -ENOMEM : 0;
}

static int parse_lines(const uint8_t *p, size_t len, const struct edr_hec_limits *lim,
		       json_t *arr, struct edr_hec_result *res)
{
	return for_lines(p, len, lim, res, line_to_array, arr);
}

void edr_hec_text_free(struct edr_hec_text *t)
{
	if (t == NULL)
		return;
	buf_free(&t->plain);
	free(t->off);
	free(t->len);
	memset(t, 0, sizeof(*t));
}

int edr_hec_parse_body(enum edr_hec_route route, const uint8_t *body, size_t len, int gzip,
		       const struct edr_hec_limits *lim, json_t **events,
		       struct edr_hec_result *res)
{
	return edr_hec_parse_body_text(route, body, len, gzip, lim, events, res, NULL);
}

int edr_hec_parse_body_text(enum edr_hec_route route, const uint8_t *body, size_t len,
			    int gzip, const struct edr_hec_limits *lim, json_t **events,
			    struct edr_hec_result *res, struct edr_hec_text *text)
{
	struct buf plain = BUF_INIT;
	json_t *arr = NULL;
	int rc;

	*events = NULL;
	memset(res, 0, sizeof(*res));
	if (gzip) {
		rc = edr_hec_gunzip(body, len, lim->max_body, &plain);
		if (rc < 0) {
			res->code = rc == -EMSGSIZE ? EDR_HEC_TOO_LARGE :
				    rc == -EBADMSG ? EDR_HEC_INVALID_DATA_FORMAT : EDR_HEC_INTERNAL_ERROR;
			rc = rc == -ENOMEM ? -ENOMEM : -EBADMSG;
			goto out;
		}
		body = plain.data;
		len = plain.len;
	} else if (len > lim->max_body) {
		res->code = EDR_HEC_TOO_LARGE;
		rc = -EBADMSG;
		goto out;
	}
	res->decompressed = len;
	arr = json_array();
	if (arr == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (len == 0) {
		res->code = EDR_HEC_NO_DATA;
		rc = -EBADMSG;
		goto out;
	}
	if (text != NULL)
		text->base = body;
	rc = route == EDR_HEC_ROUTE_RAW ? parse_lines(body, len, lim, arr, res) :
	     parse_events(body, len, lim, arr, res, text);
	if (rc == 0) {
		*events = arr;
		arr = NULL;
		if (text != NULL && gzip) {
			/* base points into plain: hand it over. */
			text->plain = plain;
			buf_init(&plain);
		}
	}
out:
	if (rc == -ENOMEM)
		res->code = EDR_HEC_INTERNAL_ERROR;
	json_decref(arr);
	buf_free(&plain);
	return rc;
}

/* ---- bodies into records ------------------------------------------------------ */

void edr_hec_records_init(struct edr_hec_records *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->plain);
	buf_init(&r->recs);
}

void edr_hec_records_free(struct edr_hec_records *r)
{
	if (r == NULL)
		return;
	buf_free(&r->plain);
	buf_free(&r->recs);
	free(r->end);
	memset(r, 0, sizeof(*r));
}

static int records_note(struct edr_hec_records *r)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		size_t *e = realloc(r->end, cap * sizeof(*e));

		if (e == NULL)
			return -ENOMEM;
		r->end = e;
		r->cap = cap;
	}
	r->end[r->n++] = r->recs.len;
	return 0;
}

struct line_ctx {
	struct edr_hec_records *r;
	const struct edr_meta *m;
};

static int line_to_record(void *arg, const uint8_t *s, size_t n)
{
	struct line_ctx *lc = arg;

	if (edr_record_encode_string(lc->m, (const char *)s, n, &lc->r->recs) < 0)
		return -ENOMEM;
	return records_note(lc->r);
}

/* The envelopes of an EVENT body, each parsed once into its record. */
static int events_to_records(struct edr_parser *parser, const struct edr_meta *m,
			     const uint8_t *p, size_t len, const struct edr_hec_limits *lim,
			     struct edr_hec_records *r, struct edr_hec_result *res)
{
	size_t off = 0, used;
	int rc;

	for (;;) {
		while (off < len && is_space(p[off]))
			off++;
		if (off == len)
			break;
		rc = edr_record_encode_json(parser, m, (const char *)p + off, len - off,
					    EDR_TEXT_PREFIX | EDR_TEXT_ENVELOPE, &used, &r->recs);
		if (rc == 0 && used > lim->max_event)
			rc = -EMSGSIZE;
		if (rc == 0)
			rc = records_note(r);
		if (rc < 0) {
			res->code = rc == -EMSGSIZE ? EDR_HEC_TOO_LARGE :
				    rc == -ENOENT ? EDR_HEC_EVENT_REQUIRED :
				    rc == -ENODATA ? EDR_HEC_EVENT_BLANK :
				    rc == -ENOMEM ? EDR_HEC_INTERNAL_ERROR : EDR_HEC_INVALID_DATA_FORMAT;
			res->bad_event = r->n;
			res->has_bad_event = 1;
			return rc == -ENOMEM ? -ENOMEM : -EBADMSG;
		}
		off += used;
	}
	if (r->n == 0) {
		res->code = EDR_HEC_NO_DATA;
		return -EBADMSG;
	}
	return 0;
}

int edr_hec_encode_body(struct edr_parser *parser, const struct edr_meta *m,
			enum edr_hec_route route, const uint8_t *body, size_t len, int gzip,
			const struct edr_hec_limits *lim, struct edr_hec_records *r,
			struct edr_hec_result *res)
{
	struct line_ctx lc = { .r = r, .m = m };
	int rc;

	memset(res, 0, sizeof(*res));
	buf_reset(&r->plain);
	buf_reset(&r->recs);
	r->n = 0;
	if (gzip) {
		rc = edr_hec_gunzip(body, len, lim->max_body, &r->plain);
		if (rc < 0) {
			res->code = rc == -EMSGSIZE ? EDR_HEC_TOO_LARGE :
				    rc == -EBADMSG ? EDR_HEC_INVALID_DATA_FORMAT : EDR_HEC_INTERNAL_ERROR;
			rc = rc == -ENOMEM ? -ENOMEM : -EBADMSG;
			goto out;
		}
		body = r->plain.data;
		len = r->plain.len;
	} else if (len > lim->max_body) {
		res->code = EDR_HEC_TOO_LARGE;
		rc = -EBADMSG;
		goto out;
	}
	res->decompressed = len;
	if (len == 0) {
		res->code = EDR_HEC_NO_DATA;
		rc = -EBADMSG;
		goto out;
	}
	rc = route == EDR_HEC_ROUTE_RAW ? for_lines(body, len, lim, res, line_to_record, &lc) :
	     events_to_records(parser, m, body, len, lim, r, res);
out:
	if (rc == -ENOMEM)
		res->code = EDR_HEC_INTERNAL_ERROR;
	if (rc < 0) {
		buf_reset(&r->recs);
		r->n = 0;
	}
	return rc;
}

void edr_hec_records_trim(struct edr_hec_records *r, size_t keep_bytes)
{
	if (r->plain.cap > keep_bytes)
		buf_free(&r->plain);
	if (r->recs.cap > keep_bytes)
		buf_free(&r->recs);
	r->n = 0;
}

/* ---- answers ------------------------------------------------------------------ */

int edr_hec_http_status(enum edr_hec_code code)
{
	switch (code) {
	case EDR_HEC_SUCCESS:
	case EDR_HEC_HEALTHY:
		return 200;
	case EDR_HEC_TOKEN_REQUIRED:
	case EDR_HEC_INVALID_AUTHORIZATION:
	case EDR_HEC_INVALID_TOKEN:
		return 401;
	case EDR_HEC_INTERNAL_ERROR:
		return 500;
	case EDR_HEC_SERVER_BUSY:
		return 503;
	case EDR_HEC_NOT_FOUND:
		return 404;
	case EDR_HEC_TOO_LARGE:
		return 413;
	default:
		return 400;
	}
}

static const char *code_text(enum edr_hec_code code)
{
	switch (code) {
	case EDR_HEC_SUCCESS: return "Success";
	case EDR_HEC_TOKEN_REQUIRED: return "Token is required";
	case EDR_HEC_INVALID_AUTHORIZATION: return "Invalid authorization";
	case EDR_HEC_INVALID_TOKEN: return "Invalid token";
	case EDR_HEC_NO_DATA: return "No data";
	case EDR_HEC_INVALID_DATA_FORMAT: return "Invalid data format";
	case EDR_HEC_INTERNAL_ERROR: return "Internal server error";
	case EDR_HEC_SERVER_BUSY: return "Server is busy";
	case EDR_HEC_EVENT_REQUIRED: return "Event field is required";
	case EDR_HEC_EVENT_BLANK: return "Event field cannot be blank";
	case EDR_HEC_HEALTHY: return "HEC is healthy";
	case EDR_HEC_NOT_FOUND: return "The requested URL was not found on this server.";
	case EDR_HEC_TOO_LARGE: return "Content too large";
	case EDR_HEC_BAD_REQUEST: return "Bad request";
	}
	return "Error";
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return "Error";
}

int edr_hec_format_answer(struct buf *out, enum edr_hec_code code, long bad_event,
			  unsigned retry_after_s, int keep_alive)
{
	char body[192];
	int status = edr_hec_http_status(code), n, rc;

	if (bad_event >= 0)
		n = snprintf(body, sizeof(body), "{\"text\":\"%s\",\"code\":%d,"
			     "\"invalid-event-number\":%ld}", code_text(code), (int)code, bad_event);
	else
		n = snprintf(body, sizeof(body), "{\"text\":\"%s\",\"code\":%d}", code_text(code),
			     (int)code);
	rc = buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=UTF-8\r\n"
			"Content-Length: %d\r\n", status, reason(status), n);
	if (rc == 0 && retry_after_s > 0)
		rc = buf_printf(out, "Retry-After: %u\r\n", retry_after_s);
	if (rc == 0)
		rc = buf_printf(out, "Connection: %s\r\n\r\n%s", keep_alive ? "keep-alive" : "close",
				body);
	return rc;
}
