/* an_http: HTTP/1.x (RFC 9112) to "http" records, as Zeek's http.log
 * (base/protocols/http/main.zeek, HTTP::Info), and bodies to files
 * (files.h).
 *
 * Framing is http-parser's (DESIGN.md): one parser per direction, a
 * request parser for the originator and a response parser for the
 * responder, each fed the reassembled bytes of its direction. Requests
 * queue as transactions in order; each response (after any 1xx) is
 * matched with the oldest transaction still waiting for one, which is how
 * keep-alive and pipelining work in HTTP/1.1 (RFC 9112 section 9.3.2). A
 * transaction's record is written when its request and its response are
 * both complete, oldest first, or at the flow's end.
 *
 * Bodies: http-parser removes the chunked coding; a gzip or deflate
 * Content-Encoding is inflated with zlib (at most HTTP_INFLATE_MAX bytes
 * per body) so the file's hashes are those of the content. As in Zeek,
 * request_body_len and response_body_len count the body after both
 * decodings (Zeek's HTTP_Entity::DeliverBodyClear counts the inflated
 * bytes), gap bytes included.
 *
 * Gaps (reasm.h): a gap inside a body whose length is known (the rest of
 * a Content-Length body or of a chunk, or a body that ends with the
 * connection) becomes missing_bytes of its file; the parser is advanced
 * over it. A gap anywhere else (in a start line, headers, a chunk size)
 * loses the framing: the analyzer writes what it has, counts weird
 * "HTTP_content_gap" and detaches.
 *
 * Cleartext credentials: "Authorization: Basic" (RFC 7617) raises an
 * an_notice_cleartext with the user name; the decoded password is wiped
 * and never leaves this file.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>
#include <http_parser.h>
#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>
#include <zlib.h>

#include "analyzer.h"
#include "files.h"
#include "jsonw.h"

#define HTTP_VAL_MAX 1024               /* bytes kept of a header value */
#define HTTP_NAME_MAX 32                /* bytes kept of a header name */
#define HTTP_STATUS_MAX 128             /* bytes kept of a reason phrase */
#define HTTP_HINT_MAX 64                /* bytes kept of a Content-Type */
#define HTTP_FNAME_MAX 256              /* bytes kept of a filename */
#define HTTP_MAX_PENDING 32             /* transactions waiting for a response */
#define HTTP_INFLATE_MAX (64u << 20)    /* bytes inflated per body */
#define HTTP_INFLATE_CHUNK 4096

enum http_enc { ENC_NONE, ENC_GZIP, ENC_DEFLATE };

struct hstr {
	char *p;                         /* an_alloc'd, len bytes, or NULL */
	uint32_t len;
};

struct http_tx {
	struct http_tx *next;
	uint64_t ts_us;
	uint32_t depth;                  /* trans_depth, from 1 */
	bool req_seen, req_done, resp_seen, resp_done;
	bool is_head, is_connect;
	uint16_t status_code, info_code;
	char method[24];
	char version[8];
	struct hstr uri, host, referrer, user_agent, origin, status_msg, info_msg, username;
	struct hstr filename[2];         /* [is_orig], from Content-Disposition */
	uint64_t req_body_len, resp_body_len;
	char fuid[2][24];                /* [is_orig] */
	char mime[2][HTTP_HINT_MAX];
};

/* One direction: its parser, the header being collected and the body. */
struct http_dir {
	http_parser p;
	struct http_state *st;
	bool is_orig;
	bool in_msg, in_body, in_chunk, info, upgraded, gap_feed;
	struct http_tx *tx;              /* the message's transaction, or NULL */
	/* The header being collected (pieces from http-parser). */
	bool in_value, name_cut, val_cut, line_weird;
	uint32_t name_len, val_len;
	uint64_t line_len;
	char name[HTTP_NAME_MAX];
	char val[HTTP_VAL_MAX];
	uint32_t uri_len;
	bool uri_weird;
	char status[HTTP_STATUS_MAX];
	uint32_t status_len;
	/* The body. */
	enum http_enc enc;
	char hint[HTTP_HINT_MAX];
	char filename[HTTP_FNAME_MAX];
	struct an_file *file;
	uint64_t total;                  /* declared length, or UINT64_MAX */
	z_stream *z;
	bool zdead, ztried_raw;
	bool no_file;                    /* an_file_open failed for this body */
	uint64_t decoded;
};

struct http_state {
	struct an_session *s;
	uint64_t ts_us;                  /* of the bytes being parsed */
	bool dead;                       /* detached: nothing more is parsed */
	struct http_tx *head, *tail;
	uint32_t n_tx, n_req;
	struct http_dir dir[2];          /* [is_orig] */
};

static const uint8_t zeros[1];

/* ---- small helpers --------------------------------------------------- */

static void hstr_set(struct an_session *s, struct hstr *h, const char *p, size_t len)
{
	if (h->p != NULL)
		return;              /* the first header of a name wins */
	h->p = an_alloc(s, len ? len : 1);
	if (h->p == NULL)
		return;
	memcpy(h->p, p, len);
	h->len = (uint32_t)len;
}

static void hstr_append(struct an_session *s, struct hstr *h, const char *p, size_t len)
{
	char *q = an_realloc(s, h->p, h->len ? h->len : (h->p ? 1 : 0), h->len + len);

	if (q == NULL)
		return;
	memcpy(q + h->len, p, len);
	h->p = q;
	h->len += (uint32_t)len;
}

static void hstr_free(struct an_session *s, struct hstr *h)
{
	if (h->p != NULL)
		an_free(s, h->p, h->len ? h->len : 1);
	h->p = NULL;
	h->len = 0;
}

static bool eq_nocase(const char *a, size_t alen, const char *b)
{
	size_t i;

	if (alen != strlen(b))
		return false;
	for (i = 0; i < alen; i++) {
		char c = a[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != b[i])
			return false;
	}
	return true;
}

static bool prefix_nocase(const char *a, size_t alen, const char *b)
{
	return alen >= strlen(b) && eq_nocase(a, strlen(b), b);
}

static void trim(const char **p, size_t *len)
{
	while (*len > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t' ||
			    (*p)[*len - 1] == '\r'))
		(*len)--;
}

/* ---- transactions ----------------------------------------------------- */

static struct http_tx *tx_new(struct http_state *st);

static void tx_free(struct http_state *st, struct http_tx *tx)
{
	struct an_session *s = st->s;

	hstr_free(s, &tx->uri);
	hstr_free(s, &tx->host);
	hstr_free(s, &tx->referrer);
	hstr_free(s, &tx->user_agent);
	hstr_free(s, &tx->origin);
	hstr_free(s, &tx->status_msg);
	hstr_free(s, &tx->info_msg);
	hstr_free(s, &tx->username);
	hstr_free(s, &tx->filename[0]);
	hstr_free(s, &tx->filename[1]);
	an_free(s, tx, sizeof(*tx));
}

static void kv_hstr(struct jsonw *w, const char *key, const struct hstr *h)
{
	if (h->p != NULL)
		jsonw_kv_str(w, key, h->p, h->len);
}

static void kv_list(struct jsonw *w, const char *key, const char *v)
{
	if (v[0] == '\0')
		return;
	jsonw_key(w, key);
	jsonw_array_open(w);
	jsonw_cstr(w, v);
	jsonw_array_close(w);
}

static void kv_hstr_list(struct jsonw *w, const char *key, const struct hstr *h)
{
	if (h->p == NULL || h->len == 0)
		return;
	jsonw_key(w, key);
	jsonw_array_open(w);
	jsonw_string(w, h->p, h->len);
	jsonw_array_close(w);
}

static void tx_write(struct http_state *st, struct http_tx *tx)
{
	struct jsonw *w = an_record_begin(st->s, "http", tx->ts_us);

	if (w == NULL)
		return;
	jsonw_kv_uint(w, "trans_depth", tx->depth);
	if (tx->method[0] != '\0')
		jsonw_kv_cstr(w, "method", tx->method);
	kv_hstr(w, "host", &tx->host);
	kv_hstr(w, "uri", &tx->uri);
	kv_hstr(w, "referrer", &tx->referrer);
	if (tx->version[0] != '\0')
		jsonw_kv_cstr(w, "version", tx->version);
	kv_hstr(w, "user_agent", &tx->user_agent);
	kv_hstr(w, "origin", &tx->origin);
	jsonw_kv_uint(w, "request_body_len", tx->req_body_len);
	jsonw_kv_uint(w, "response_body_len", tx->resp_body_len);
	if (tx->resp_seen && tx->status_code != 0) {
		jsonw_kv_uint(w, "status_code", tx->status_code);
		kv_hstr(w, "status_msg", &tx->status_msg);
	}
	if (tx->info_code != 0) {
		jsonw_kv_uint(w, "info_code", tx->info_code);
		kv_hstr(w, "info_msg", &tx->info_msg);
	}
	kv_hstr(w, "username", &tx->username);
	kv_list(w, "orig_fuids", tx->fuid[1]);
	kv_hstr_list(w, "orig_filenames", &tx->filename[1]);
	kv_list(w, "orig_mime_types", tx->mime[1]);
	kv_list(w, "resp_fuids", tx->fuid[0]);
	kv_hstr_list(w, "resp_filenames", &tx->filename[0]);
	kv_list(w, "resp_mime_types", tx->mime[0]);
	an_record_end(st->s, SPOOL_P2);
}

/* Writes and frees the transactions at the head that are complete (all
 * of them when `all`). */
static void tx_flush(struct http_state *st, bool all)
{
	while (st->head != NULL) {
		struct http_tx *tx = st->head;
		int i;

		if (!all && !(tx->resp_done && (tx->req_done || !tx->req_seen)))
			break;
		tx_write(st, tx);
		st->head = tx->next;
		if (st->head == NULL)
			st->tail = NULL;
		st->n_tx--;
		for (i = 0; i < 2; i++)
			if (st->dir[i].tx == tx)
				st->dir[i].tx = NULL;
		tx_free(st, tx);
	}
}

static struct http_tx *tx_new(struct http_state *st)
{
	struct http_tx *tx;

	if (st->n_tx >= HTTP_MAX_PENDING) {
		/* A client far ahead of its server: the oldest goes out as it
		 * is rather than memory growing. */
		an_weird(st->s, "HTTP_too_many_pending");
		st->head->resp_done = true;
		st->head->req_done = true;
		tx_flush(st, false);
	}
	tx = an_alloc(st->s, sizeof(*tx));
	if (tx == NULL)
		return NULL;
	memset(tx, 0, sizeof(*tx));
	tx->ts_us = st->ts_us;
	if (st->tail != NULL)
		st->tail->next = tx;
	else
		st->head = tx;
	st->tail = tx;
	st->n_tx++;
	return tx;
}

/* ---- bodies ----------------------------------------------------------- */

/* zlib's allocations, charged to the session: the size is kept in front,
 * in two size_t so the block stays 16-byte aligned as malloc's is. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	struct http_state *st = opaque;
	size_t n = (size_t)items * size;
	size_t *p;

	if (size != 0 && n / size != items)
		return Z_NULL;
	p = an_alloc(st->s, n + sizeof(size_t) * 2);
	if (p == NULL)
		return Z_NULL;
	p[0] = n;
	return p + 2;
}

static void z_free(voidpf opaque, voidpf addr)
{
	struct http_state *st = opaque;
	size_t *p = (size_t *)addr - 2;

	an_free(st->s, p, p[0] + sizeof(size_t) * 2);
}

static void body_account(struct http_dir *d, uint64_t n)
{
	if (d->tx == NULL)
		return;
	if (d->is_orig)
		d->tx->req_body_len += n;
	else
		d->tx->resp_body_len += n;
}

static void body_open(struct http_dir *d)
{
	struct http_state *st = d->st;

	if (d->file != NULL || d->no_file)
		return;
	d->file = an_file_open(st->s, "HTTP", d->is_orig, d->tx != NULL ? d->tx->depth : 0,
			       d->filename[0] ? d->filename : NULL, d->hint[0] ? d->hint : NULL,
			       d->total, st->ts_us);
	d->no_file = d->file == NULL;      /* the cap: once per body, not per piece */
	if (d->tx != NULL && d->filename[0] != '\0')
		hstr_set(st->s, &d->tx->filename[d->is_orig], d->filename, strlen(d->filename));
	if (d->file != NULL && d->tx != NULL) {
		strncpy(d->tx->fuid[d->is_orig], an_file_fuid(d->file),
			sizeof(d->tx->fuid[0]) - 1);
	}
}

static void body_out(struct http_dir *d, const uint8_t *p, size_t n)
{
	an_file_data(d->file, p, n);
	body_account(d, n);
}

/* The rest of the body is not decoded any more: counted as overflow. */
static void body_zdead(struct http_dir *d, const char *weird, uint64_t rest)
{
	if (!d->zdead && weird != NULL)
		an_weird(d->st->s, weird);
	d->zdead = true;
	an_file_overflow(d->file, rest);
	body_account(d, rest);
}

static void body_inflate(struct http_dir *d, const uint8_t *p, size_t n)
{
	uint8_t out[HTTP_INFLATE_CHUNK];
	z_stream *z = d->z;
	uLong start_in;

	if (d->zdead) {
		body_zdead(d, NULL, n);
		return;
	}
	if (z == NULL) {
		z = an_alloc(d->st->s, sizeof(*z));
		if (z == NULL) {
			body_zdead(d, "HTTP_inflate_no_memory", n);
			return;
		}
		memset(z, 0, sizeof(*z));
		z->zalloc = z_alloc;
		z->zfree = z_free;
		z->opaque = d->st;
		/* 15 + 32: a gzip or a zlib header, detected. */
		if (inflateInit2(z, 15 + 32) != Z_OK) {
			an_free(d->st->s, z, sizeof(*z));
			body_zdead(d, "HTTP_inflate_no_memory", n);
			return;
		}
		d->z = z;
	}
	start_in = z->total_in;
	z->next_in = (Bytef *)(uintptr_t)p;
	z->avail_in = (uInt)n;
	for (;;) {
		int rc;
		size_t got;

		z->next_out = out;
		z->avail_out = sizeof(out);
		rc = inflate(z, Z_NO_FLUSH);
		got = sizeof(out) - z->avail_out;
		if (got > 0) {
			if (d->decoded + got > HTTP_INFLATE_MAX) {
				body_zdead(d, "HTTP_inflate_limit", z->avail_in);
				return;
			}
			d->decoded += got;
			body_out(d, out, got);
		}
		if (rc == Z_STREAM_END) {
			if (z->avail_in == 0)
				return;
			/* Another gzip member follows (RFC 1952 section 2.2). */
			if (inflateReset(z) != Z_OK) {
				body_zdead(d, "HTTP_inflate_error", z->avail_in);
				return;
			}
			continue;
		}
		if (rc == Z_DATA_ERROR && d->enc == ENC_DEFLATE && !d->ztried_raw &&
		    z->total_out == 0 && start_in == 0) {
			/* "deflate" sent as raw deflate (RFC 1951) without the
			 * zlib wrapper RFC 9110 section 8.4.1.2 asks for, as
			 * some servers do: start again in raw mode. */
			d->ztried_raw = true;
			if (inflateReset2(z, -15) != Z_OK) {
				body_zdead(d, "HTTP_inflate_error", n);
				return;
			}
			z->next_in = (Bytef *)(uintptr_t)p;
			z->avail_in = (uInt)n;
			continue;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			body_zdead(d, "HTTP_inflate_error", z->avail_in);
			return;
		}
		/* Z_BUF_ERROR: no progress possible; room left in `out`: all
		 * the input was used. Otherwise drain more output. */
		if (rc == Z_BUF_ERROR || z->avail_out != 0)
			return;
	}
}

static void body_data(struct http_dir *d, const uint8_t *p, size_t n)
{
	body_open(d);
	if (d->enc != ENC_NONE)
		body_inflate(d, p, n);
	else
		body_out(d, p, n);
}

static void body_gap(struct http_dir *d, uint64_t n)
{
	body_open(d);
	an_file_gap(d->file, n);
	body_account(d, n);
	if (d->enc != ENC_NONE)
		d->zdead = true;     /* the compressed stream cannot go on */
}

static void body_close(struct http_dir *d, bool timedout)
{
	if (d->file != NULL) {
		const char *m = an_file_mime(d->file);

		if (m != NULL && d->tx != NULL)
			strncpy(d->tx->mime[d->is_orig], m, sizeof(d->tx->mime[0]) - 1);
		an_file_close(d->file, timedout, d->st->ts_us);
		d->file = NULL;
	}
	if (d->z != NULL) {
		inflateEnd(d->z);
		an_free(d->st->s, d->z, sizeof(*d->z));
		d->z = NULL;
	}
}

/* ---- headers ---------------------------------------------------------- */

static void value_copy(char *dst, size_t dstsz, const char *v, size_t len)
{
	if (len >= dstsz)
		len = dstsz - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

/* filename= of a Content-Disposition (RFC 6266 section 4.1), quoted or a
 * token; filename*= (RFC 8187) is left alone. */
static void disposition_filename(struct http_dir *d, const char *v, size_t len)
{
	size_t i;

	for (i = 0; i + 9 <= len; i++) {
		const char *q;
		size_t n = 0;

		if (!prefix_nocase(v + i, len - i, "filename=") ||
		    (i > 0 && v[i - 1] != ';' && v[i - 1] != ' ' && v[i - 1] != '\t'))
			continue;
		q = v + i + 9;
		if (q < v + len && *q == '"') {
			q++;
			while (q + n < v + len && q[n] != '"')
				n++;
		} else {
			while (q + n < v + len && q[n] != ';' && q[n] != ' ')
				n++;
		}
		value_copy(d->filename, sizeof(d->filename), q, n);
		return;
	}
}

static void content_type(struct http_dir *d, const char *v, size_t len)
{
	size_t n = 0, i;

	while (n < len && v[n] != ';')
		n++;
	trim(&v, &n);
	value_copy(d->hint, sizeof(d->hint), v, n);
	for (i = 0; d->hint[i] != '\0'; i++)
		if (d->hint[i] >= 'A' && d->hint[i] <= 'Z')
			d->hint[i] = (char)(d->hint[i] - 'A' + 'a');
}

static void content_encoding(struct http_dir *d, const char *v, size_t len)
{
	if (eq_nocase(v, len, "gzip") || eq_nocase(v, len, "x-gzip"))
		d->enc = ENC_GZIP;
	else if (eq_nocase(v, len, "deflate"))
		d->enc = ENC_DEFLATE;
	else if (!eq_nocase(v, len, "identity") && len > 0) {
		/* br, zstd, compress or a list: not decoded; the file is the
		 * coded bytes, as Zeek's is. */
		an_weird(d->st->s, "HTTP_unknown_content_encoding");
	}
}

/* Authorization: Basic base64(user ":" password) (RFC 7617 section 2).
 * Only the user name leaves this function; both buffers are wiped. */
static void basic_auth(struct http_dir *d, const char *v, size_t len)
{
	struct http_state *st = d->st;
	uint8_t dec[HTTP_VAL_MAX];
	size_t olen = 0, ulen = 0;
	char masked[256];
	int m;

	if (!prefix_nocase(v, len, "basic "))
		return;
	v += 6;
	len -= 6;
	trim(&v, &len);
	if (d->val_cut ||
	    mbedtls_base64_decode(dec, sizeof(dec), &olen, (const uint8_t *)v, len) != 0) {
		an_weird(st->s, "HTTP_bad_basic_auth");
		an_notice_cleartext(st->s, "http", "basic", (const uint8_t *)"", 0, st->ts_us);
		goto out;
	}
	while (ulen < olen && dec[ulen] != ':')
		ulen++;
	if (ulen == olen)
		an_weird(st->s, "HTTP_bad_basic_auth");   /* no ':': all of it may be secret */
	if (ulen == olen)
		ulen = 0;
	an_notice_cleartext(st->s, "http", "basic", dec, ulen, st->ts_us);
	m = an_user_format(an_session_config(st->s)->user_mask, dec, ulen, masked, sizeof(masked));
	if (m > 0 && d->tx != NULL)
		hstr_set(st->s, &d->tx->username, masked, (size_t)m);
	mbedtls_platform_zeroize(masked, sizeof(masked));
out:
	mbedtls_platform_zeroize(dec, sizeof(dec));
}

/* One complete header (RFC 9112 section 5). */
static void header_done(struct http_dir *d)
{
	struct an_session *s = d->st->s;
	const char *v = d->val;
	size_t len = d->val_len;
	struct http_tx *tx = d->tx;

	if (!d->in_value && d->name_len == 0)
		return;
	trim(&v, &len);
	if (d->name_cut)
		goto out;
	if (eq_nocase(d->name, d->name_len, "content-type"))
		content_type(d, v, len);
	else if (eq_nocase(d->name, d->name_len, "content-encoding"))
		content_encoding(d, v, len);
	else if (eq_nocase(d->name, d->name_len, "content-disposition"))
		disposition_filename(d, v, len);
	else if (!d->is_orig || tx == NULL)
		goto out;
	else if (eq_nocase(d->name, d->name_len, "host"))
		hstr_set(s, &tx->host, v, len);
	else if (eq_nocase(d->name, d->name_len, "referer"))
		hstr_set(s, &tx->referrer, v, len);
	else if (eq_nocase(d->name, d->name_len, "user-agent"))
		hstr_set(s, &tx->user_agent, v, len);
	else if (eq_nocase(d->name, d->name_len, "origin"))
		hstr_set(s, &tx->origin, v, len);
	else if (eq_nocase(d->name, d->name_len, "authorization") ||
		 eq_nocase(d->name, d->name_len, "proxy-authorization"))
		basic_auth(d, v, len);
out:
	/* The value may hold a credential: never leave it behind. */
	mbedtls_platform_zeroize(d->val, d->val_len);
	d->in_value = d->name_cut = d->val_cut = d->line_weird = false;
	d->name_len = d->val_len = 0;
	d->line_len = 0;
}

static void line_check(struct http_dir *d, size_t len)
{
	const struct an_config *cfg = an_session_config(d->st->s);

	d->line_len += len;
	if (!d->line_weird && cfg->max_header_bytes > 0 && d->line_len > cfg->max_header_bytes) {
		d->line_weird = true;
		an_weird(d->st->s, "HTTP_header_too_long");
	}
}

/* ---- http-parser callbacks ------------------------------------------ */

static struct http_dir *dir_of(http_parser *p)
{
	return p->data;
}

static void msg_reset(struct http_dir *d)
{
	d->in_body = d->in_chunk = d->info = false;
	d->in_value = d->name_cut = d->val_cut = d->line_weird = false;
	d->name_len = d->val_len = d->uri_len = d->status_len = 0;
	d->line_len = 0;
	d->uri_weird = false;
	d->enc = ENC_NONE;
	d->hint[0] = d->filename[0] = '\0';
	d->zdead = d->ztried_raw = d->no_file = false;
	d->decoded = 0;
	d->total = UINT64_MAX;
}

/* The transaction a response belongs to: the oldest without one. */
static struct http_tx *tx_for_response(struct http_state *st)
{
	struct http_tx *tx;

	for (tx = st->head; tx != NULL; tx = tx->next)
		if (!tx->resp_done)
			return tx;
	an_weird(st->s, "unmatched_HTTP_reply");
	tx = tx_new(st);
	if (tx != NULL)
		tx->depth = ++st->n_req;
	return tx;
}

static int on_message_begin(http_parser *p)
{
	struct http_dir *d = dir_of(p);
	struct http_state *st = d->st;

	msg_reset(d);
	d->in_msg = true;
	if (d->is_orig) {
		d->tx = tx_new(st);
		if (d->tx != NULL) {
			d->tx->req_seen = true;
			d->tx->depth = ++st->n_req;
		}
	} else {
		d->tx = tx_for_response(st);
		if (d->tx != NULL)
			d->tx->resp_seen = true;
	}
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_dir *d = dir_of(p);
	uint32_t max = an_session_config(d->st->s)->max_uri_bytes;
	size_t take = len;

	if (max > 0 && d->uri_len + len > max) {
		take = d->uri_len >= max ? 0 : max - d->uri_len;
		if (!d->uri_weird)
			an_weird(d->st->s, "HTTP_uri_too_long");
		d->uri_weird = true;
	}
	if (take > 0 && d->tx != NULL)
		hstr_append(d->st->s, &d->tx->uri, at, take);
	d->uri_len += (uint32_t)take;
	return 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
	struct http_dir *d = dir_of(p);
	size_t n = sizeof(d->status) - d->status_len;

	if (n > len)
		n = len;
	memcpy(d->status + d->status_len, at, n);
	d->status_len += (uint32_t)n;
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_dir *d = dir_of(p);
	size_t n;

	if (d->in_value)
		header_done(d);
	n = sizeof(d->name) - d->name_len;
	if (n > len)
		n = len;
	else if (len > n)
		d->name_cut = true;
	memcpy(d->name + d->name_len, at, n);
	d->name_len += (uint32_t)n;
	line_check(d, len);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_dir *d = dir_of(p);
	size_t n = sizeof(d->val) - d->val_len;

	d->in_value = true;
	if (len > n)
		d->val_cut = true;
	else
		n = len;
	memcpy(d->val + d->val_len, at, n);
	d->val_len += (uint32_t)n;
	line_check(d, len);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct http_dir *d = dir_of(p);
	struct http_state *st = d->st;
	struct http_tx *tx = d->tx;
	int rc = 0;

	if (d->in_value || d->name_len > 0)
		header_done(d);
	d->in_body = true;
	/* The file's total_bytes: a declared length of the content itself
	 * (a coded body's length is not the file's). */
	d->total = (p->flags & F_CONTENTLENGTH) && !(p->flags & F_CHUNKED) && d->enc == ENC_NONE
			   ? p->content_length : UINT64_MAX;
	if (tx == NULL)
		return 0;
	snprintf(tx->version, sizeof(tx->version), "%u.%u", p->http_major % 10, p->http_minor % 10);
	if (d->is_orig) {
		const char *m = http_method_str((enum http_method)p->method);

		value_copy(tx->method, sizeof(tx->method), m, strlen(m));
		tx->is_head = p->method == HTTP_HEAD;
		tx->is_connect = p->method == HTTP_CONNECT;
		return 0;
	}
	if (p->status_code / 100 == 1 && p->status_code != 101) {
		d->info = true;
		tx->info_code = (uint16_t)p->status_code;
		hstr_free(st->s, &tx->info_msg);
		hstr_set(st->s, &tx->info_msg, d->status, d->status_len);
		return 0;
	}
	tx->status_code = (uint16_t)p->status_code;
	hstr_free(st->s, &tx->status_msg);
	hstr_set(st->s, &tx->status_msg, d->status, d->status_len);
	if (tx->is_connect && p->status_code / 100 == 2)
		rc = 2;        /* a tunnel: no body, no more HTTP (RFC 9110 9.3.6) */
	else if (tx->is_head)
		rc = 1;        /* RFC 9110 section 9.3.2: no body */
	return rc;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_dir *d = dir_of(p);

	if (d->gap_feed)
		body_gap(d, len);
	else
		body_data(d, (const uint8_t *)at, len);
	return 0;
}

static int on_chunk_header(http_parser *p)
{
	dir_of(p)->in_chunk = p->content_length > 0;
	return 0;
}

static int on_chunk_complete(http_parser *p)
{
	dir_of(p)->in_chunk = false;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_dir *d = dir_of(p);
	struct http_tx *tx = d->tx;

	d->in_msg = d->in_body = d->in_chunk = false;
	body_close(d, false);
	if (d->info) {
		d->info = false;     /* the final response is still to come */
		return 0;
	}
	if (tx != NULL) {
		if (d->is_orig)
			tx->req_done = true;
		else
			tx->resp_done = true;
	}
	d->tx = NULL;
	tx_flush(d->st, false);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_status = on_status,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
	.on_chunk_header = on_chunk_header,
	.on_chunk_complete = on_chunk_complete,
};

/* ---- the analyzer ----------------------------------------------------- */

/* Writes everything pending, closes open bodies (cut short: timedout). */
static void finish(struct http_state *st)
{
	int i;

	for (i = 0; i < 2; i++)
		body_close(&st->dir[i], true);
	tx_flush(st, true);
}

static void give_up(struct http_state *st, const char *weird)
{
	if (weird != NULL)
		an_weird(st->s, weird);
	finish(st);
	st->dead = true;
	an_session_detach(st->s);
}

static void dir_init(struct http_state *st, bool is_orig)
{
	struct http_dir *d = &st->dir[is_orig];

	memset(d, 0, sizeof(*d));
	http_parser_init(&d->p, is_orig ? HTTP_REQUEST : HTTP_RESPONSE);
	d->p.data = d;
	d->st = st;
	d->is_orig = is_orig;
}

static int init(void *state, struct an_session *s)
{
	struct http_state *st = state;

	st->s = s;
	dir_init(st, false);
	dir_init(st, true);
	return 0;
}

/* After a run of the parser: an error or an upgrade stops it. */
static void after_parse(struct http_state *st, struct http_dir *d)
{
	if (HTTP_PARSER_ERRNO(&d->p) != HPE_OK) {
		give_up(st, d->is_orig ? "bad_HTTP_request" : "bad_HTTP_reply");
		return;
	}
	if (!d->p.upgrade)
		return;
	if (d->is_orig) {
		/* CONNECT or an Upgrade request: what follows is the tunnel's
		 * if the server agrees; wait for its response. */
		d->upgraded = true;
		return;
	}
	/* 101 Switching Protocols, or 2xx to CONNECT: no more HTTP. */
	give_up(st, NULL);
}

static void data(void *state, struct an_session *s, bool is_orig, const uint8_t *p, size_t len,
		 uint64_t ts_us)
{
	struct http_state *st = state;
	struct http_dir *d = &st->dir[is_orig];

	if (st->dead || len == 0)
		return;
	st->s = s;
	st->ts_us = ts_us;
	if (d->upgraded) {
		/* The server refused the upgrade (its final response came and
		 * it was not 101/2xx): HTTP goes on with the next request. */
		if (d->tx != NULL || st->head != NULL)
			return;
		http_parser_init(&d->p, HTTP_REQUEST);
		d->p.data = d;
		d->upgraded = false;
	}
	http_parser_execute(&d->p, &settings, (const char *)p, len);
	after_parse(st, d);
}

static void gap(void *state, struct an_session *s, bool is_orig, uint64_t len)
{
	struct http_state *st = state;
	struct http_dir *d = &st->dir[is_orig];
	uint64_t rem = d->p.content_length;

	if (st->dead || len == 0)
		return;
	st->s = s;
	if (d->upgraded)
		return;
	if (!d->in_body || ((d->p.flags & F_CHUNKED) && !d->in_chunk)) {
		give_up(st, "HTTP_content_gap");
		return;
	}
	if (!(d->p.flags & F_CHUNKED) && rem == UINT64_MAX) {
		body_gap(d, len);       /* the body ends with the connection */
		return;
	}
	if (len > rem) {
		give_up(st, "HTTP_content_gap");
		return;
	}
	if (len < rem) {
		d->p.content_length -= len;
		body_gap(d, len);
		return;
	}
	/* The gap ends the body or chunk: step the parser over it with its
	 * last byte, so it completes the message as the real byte would. */
	d->p.content_length -= len - 1;
	body_gap(d, len - 1);
	d->gap_feed = true;
	http_parser_execute(&d->p, &settings, (const char *)zeros, 1);
	d->gap_feed = false;
	after_parse(st, d);
}

static void end(void *state, struct an_session *s, uint64_t ts_us)
{
	struct http_state *st = state;
	int i;

	st->s = s;
	if (ts_us > st->ts_us)
		st->ts_us = ts_us;
	if (!st->dead) {
		/* A body that ends with the connection ends here (RFC 9112
		 * section 6.3, item 8). */
		struct http_dir *d = &st->dir[0];

		if (d->in_body && !d->upgraded)
			http_parser_execute(&d->p, &settings, NULL, 0);
	}
	finish(st);
	for (i = 0; i < 2; i++)
		st->dir[i].tx = NULL;
	st->dead = true;
}

/* ---- detection -------------------------------------------------------- */

/* The IANA HTTP Method Registry (RFC 9110 section 16.1), but PRI, which
 * starts HTTP/2's preface. */
static const char *const methods[] = {
	"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH",
	"ACL", "BASELINE-CONTROL", "BIND", "CHECKIN", "CHECKOUT", "COPY", "LABEL", "LINK",
	"LOCK", "MERGE", "MKACTIVITY", "MKCALENDAR", "MKCOL", "MKREDIRECTREF", "MKWORKSPACE",
	"MOVE", "ORDERPATCH", "PROPFIND", "PROPPATCH", "QUERY", "REBIND", "REPORT", "SEARCH",
	"UNBIND", "UNCHECKOUT", "UNLINK", "UNLOCK", "UPDATE", "UPDATEREDIRECTREF",
	"VERSION-CONTROL",
};

static enum an_probe_result probe_request(const uint8_t *d, size_t len)
{
	size_t i, m, eol;
	bool prefix = false;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		m = strlen(methods[i]);
		if (len <= m) {
			if (memcmp(d, methods[i], len) == 0)
				prefix = true;
			continue;
		}
		if (memcmp(d, methods[i], m) == 0 && d[m] == ' ')
			break;
	}
	if (i == sizeof(methods) / sizeof(methods[0]))
		return prefix ? AN_PROBE_MAYBE : AN_PROBE_NO;
	/* method SP request-target SP "HTTP/1." DIGIT CRLF (RFC 9112 3). */
	for (eol = m + 1; eol < len && d[eol] != '\n'; eol++)
		if (d[eol] < 0x20 && d[eol] != '\r' && d[eol] != '\t')
			return AN_PROBE_NO;
	if (eol == len) {
		/* A request-target longer than detection keeps (long query
		 * strings are common): a method, a space and 1 KiB of target
		 * without a space or a control byte is HTTP enough. */
		if (len < AN_PROBE_MAX / 2 || memchr(d + m + 1, ' ', len - m - 1) != NULL)
			return len < AN_PROBE_MAX ? AN_PROBE_MAYBE : AN_PROBE_NO;
		return AN_PROBE_YES;
	}
	if (eol > 0 && d[eol - 1] == '\r')
		eol--;
	if (eol < m + 2 + 8 || memcmp(d + eol - 9, " HTTP/1.", 8) != 0)
		return AN_PROBE_NO;
	return AN_PROBE_YES;
}

static enum an_probe_result probe_response(const uint8_t *d, size_t len)
{
	static const char v[] = "HTTP/1.";

	if (len < sizeof(v) - 1)
		return memcmp(d, v, len) == 0 ? AN_PROBE_MAYBE : AN_PROBE_NO;
	return memcmp(d, v, sizeof(v) - 1) == 0 ? AN_PROBE_YES : AN_PROBE_NO;
}

static enum an_probe_result probe(const struct an_probe_view *v)
{
	enum an_probe_result o = AN_PROBE_MAYBE, r = AN_PROBE_MAYBE;

	if (v->proto != IPPROTO_TCP)
		return AN_PROBE_NO;
	if (v->orig_len > 0)
		o = probe_request(v->orig, v->orig_len);
	if (v->resp_len > 0)
		r = probe_response(v->resp, v->resp_len);
	if (o == AN_PROBE_YES || r == AN_PROBE_YES)
		return AN_PROBE_YES;
	/* Either side seen and not HTTP: no (a server's banner first is not
	 * HTTP, whose client always speaks first). */
	if (o == AN_PROBE_NO || r == AN_PROBE_NO)
		return AN_PROBE_NO;
	return AN_PROBE_MAYBE;
}

const struct analyzer an_http = {
	.name = "http",
	.transports = AN_T_TCP,
	.state_size = sizeof(struct http_state),
	.probe = probe,
	.init = init,
	.data = data,
	.gap = gap,
	.end = end,
};
