/* The HTTP analyzer (an_http.c) with files (files.c): HTTP/1.x exchanges
 * fed straight to the analyzer (an_test_session), checked in the http,
 * files and notice records it writes: a GET with a body and its hashes,
 * keep-alive, pipelining, chunked bodies cut at every chunk boundary and
 * at random bytes, gzip and deflate bodies (made with zlib here), 404,
 * HEAD, 100-continue, CONNECT, a body ended by the close, Basic auth (the
 * password in no record), the URI and header caps, gaps in a body and in
 * headers, garbage after a response, and the probe. The records are
 * validated against docs/schema when python3-jsonschema is installed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>

#include "analyzer.h"
#include "files.h"

#define MAX_RECS 1024
#define T0 1700000000000000ull

struct sink {
	char *rec[MAX_RECS];
	enum spool_class cls[MAX_RECS];
	size_t n;
};

static struct sink *all_sink;   /* every record of the run, for the schema check */

static void on_record(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	struct sink *k = ctx;
	char *c = malloc(len + 1);

	assert_non_null(c);
	memcpy(c, json, len);
	c[len] = '\0';
	if (getenv("WARD_TEST_VERBOSE") != NULL)   /* to read the records */
		fprintf(stderr, "%s\n", c);
	if (k->n < MAX_RECS) {
		k->cls[k->n] = cls;
		k->rec[k->n++] = c;
	} else {
		free(c);
	}
	if (all_sink != NULL && all_sink->n < MAX_RECS) {
		all_sink->rec[all_sink->n] = strndup(json, len);
		all_sink->cls[all_sink->n++] = cls;
	}
}

static void sink_free(struct sink *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->rec[i]);
	k->n = 0;
}

struct t {
	struct sink k;
	struct an_ctx *c;
	struct an_session *s;
	uint64_t ts;
};

static void t_open_cfg(struct t *t, const struct an_config *cfg)
{
	struct conn id;

	memset(t, 0, sizeof(*t));
	memset(&id, 0, sizeof(id));
	strcpy(id.uid, "CHttpTest1");
	id.ip_version = 4;
	id.proto = IPPROTO_TCP;
	inet_pton(AF_INET, "10.0.0.1", id.orig_h);
	inet_pton(AF_INET, "192.168.1.2", id.resp_h);
	id.orig_p = 40000;
	id.resp_p = 8080;
	id.ts_us = T0;
	id.local_resp = true;
	strcpy(id.community_id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	assert_int_equal(an_ctx_create(&t->c, cfg, NULL, on_record, &t->k), 0);
	t->s = an_test_session(t->c, &id, &an_http);
	assert_non_null(t->s);
	t->ts = T0;
}

static void t_open(struct t *t)
{
	struct an_config cfg;

	an_config_defaults(&cfg);
	t_open_cfg(t, &cfg);
}

static void feed(struct t *t, bool is_orig, const void *d, size_t len)
{
	t->ts += 1000;
	an_test_data(t->s, is_orig, d, len, t->ts);
}

static void cli(struct t *t, const char *s)
{
	feed(t, true, s, strlen(s));
}

static void srv(struct t *t, const char *s)
{
	feed(t, false, s, strlen(s));
}

static void t_end(struct t *t)
{
	if (t->s != NULL)
		an_test_end(t->s, t->ts + 1000);
	t->s = NULL;
}

static void t_close(struct t *t)
{
	t_end(t);
	/* Everything the analyzer and its files took is given back. */
	assert_int_equal(an_ctx_stats(t->c)->mem_bytes, 0);
	an_ctx_destroy(t->c);
	sink_free(&t->k);
}

static struct {
	const char *name;
	uint64_t n;
} weirds[32];
static size_t n_weirds;

static void on_weird(void *arg, const char *name, uint64_t n)
{
	(void)arg;
	if (n_weirds < 32) {
		weirds[n_weirds].name = name;
		weirds[n_weirds++].n = n;
	}
}

static uint64_t weird(struct t *t, const char *name)
{
	size_t i;

	n_weirds = 0;
	an_weirds(t->c, on_weird, NULL);
	for (i = 0; i < n_weirds; i++)
		if (strcmp(weirds[i].name, name) == 0)
			return weirds[i].n;
	return 0;
}

/* The idx-th record (from 0) of `type`, parsed; NULL when there is none. */
static json_t *rec(struct t *t, const char *type, size_t idx)
{
	size_t i;

	for (i = 0; i < t->k.n; i++) {
		json_t *j = json_loads(t->k.rec[i], 0, NULL);

		assert_non_null(j);
		if (strcmp(json_string_value(json_object_get(j, "type")), type) == 0 && idx-- == 0)
			return j;
		json_decref(j);
	}
	return NULL;
}

static size_t count(struct t *t, const char *type)
{
	size_t n = 0;
	json_t *j;

	while ((j = rec(t, type, n)) != NULL) {
		json_decref(j);
		n++;
	}
	return n;
}

static const char *str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static int64_t num(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	assert_non_null(v);
	return json_integer_value(v);
}

static void assert_str(json_t *j, const char *key, const char *want)
{
	const char *v = str(j, key);

	if (v == NULL || strcmp(v, want) != 0)
		fail_msg("%s: \"%s\", want \"%s\"", key, v ? v : "(absent)", want);
}

static const char *first(json_t *j, const char *key)
{
	json_t *a = json_object_get(j, key);

	if (a == NULL || json_array_size(a) != 1)
		return NULL;
	return json_string_value(json_array_get(a, 0));
}

#define BODY "Hello, ward!\n"
#define BODY_MD5 "5ac2f124edc8b9e30b3342539c88a29f"
#define BODY_SHA1 "3bbffbf4d44633aea410771e7e951bade322ba5d"
#define BODY_SHA256 "4eeb60a90dd42c4d9bd997d20f10ae04934ee13b68f38282c24ec4da2e778e89"

static const char get_req[] =
	"GET /index.txt?x=1 HTTP/1.1\r\nHost: example.org:8080\r\nUser-Agent: curl/7.88.1\r\n"
	"Referer: http://example.org/\r\nOrigin: http://example.org\r\nAccept: */*\r\n\r\n";
static const char ok_resp[] =
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n"
	"\r\n" BODY;

static void test_get_200(void **state)
{
	struct t t;
	json_t *h, *f;

	(void)state;
	t_open(&t);
	cli(&t, get_req);
	srv(&t, ok_resp);
	assert_int_equal(count(&t, "http"), 1);   /* written when the response completed */
	t_end(&t);
	h = rec(&t, "http", 0);
	f = rec(&t, "files", 0);
	assert_non_null(h);
	assert_non_null(f);
	assert_str(h, "uid", "CHttpTest1");
	assert_int_equal(num(h, "trans_depth"), 1);
	assert_str(h, "method", "GET");
	assert_str(h, "host", "example.org:8080");
	assert_str(h, "uri", "/index.txt?x=1");
	assert_str(h, "referrer", "http://example.org/");
	assert_str(h, "origin", "http://example.org");
	assert_str(h, "user_agent", "curl/7.88.1");
	assert_str(h, "version", "1.1");
	assert_int_equal(num(h, "request_body_len"), 0);
	assert_int_equal(num(h, "response_body_len"), 13);
	assert_int_equal(num(h, "status_code"), 200);
	assert_str(h, "status_msg", "OK");
	assert_null(json_object_get(h, "orig_fuids"));
	assert_non_null(first(h, "resp_fuids"));
	assert_string_equal(first(h, "resp_mime_types"), "text/plain");
	assert_str(h, "community_id", "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	/* The file. */
	assert_str(f, "fuid", first(h, "resp_fuids"));
	assert_str(f, "uid", "CHttpTest1");
	assert_str(f, "source", "HTTP");
	assert_int_equal(num(f, "depth"), 1);
	assert_false(json_is_true(json_object_get(f, "is_orig")));
	assert_true(json_is_true(json_object_get(f, "local_orig")));   /* the server is local */
	assert_int_equal(num(f, "seen_bytes"), 13);
	assert_int_equal(num(f, "total_bytes"), 13);
	assert_int_equal(num(f, "missing_bytes"), 0);
	assert_false(json_is_true(json_object_get(f, "timedout")));
	assert_str(f, "mime_type", "text/plain");
	assert_str(f, "md5", BODY_MD5);
	assert_str(f, "sha1", BODY_SHA1);
	assert_str(f, "sha256", BODY_SHA256);
	json_decref(h);
	json_decref(f);
	assert_int_equal(weird(&t, "bad_HTTP_reply"), 0);
	t_close(&t);
}

static void test_keepalive(void **state)
{
	struct t t;
	int i;

	(void)state;
	t_open(&t);
	for (i = 0; i < 3; i++) {
		char req[128];

		snprintf(req, sizeof(req), "GET /k%d HTTP/1.1\r\nHost: h\r\n\r\n", i);
		cli(&t, req);
		srv(&t, ok_resp);
		assert_int_equal(count(&t, "http"), (size_t)i + 1);
	}
	t_end(&t);
	assert_int_equal(count(&t, "http"), 3);
	assert_int_equal(count(&t, "files"), 3);
	for (i = 0; i < 3; i++) {
		json_t *h = rec(&t, "http", (size_t)i);
		char uri[16];

		snprintf(uri, sizeof(uri), "/k%d", i);
		assert_int_equal(num(h, "trans_depth"), i + 1);
		assert_str(h, "uri", uri);
		assert_int_equal(num(h, "response_body_len"), 13);
		json_decref(h);
	}
	t_close(&t);
}

static void test_pipelining(void **state)
{
	struct t t;
	json_t *h;

	(void)state;
	t_open(&t);
	cli(&t, "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
		"GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(count(&t, "http"), 0);
	srv(&t, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
		"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nBB");
	assert_int_equal(count(&t, "http"), 2);
	srv(&t, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nCCC");
	t_end(&t);
	assert_int_equal(count(&t, "http"), 3);
	h = rec(&t, "http", 0);
	assert_str(h, "uri", "/a");
	assert_int_equal(num(h, "status_code"), 200);
	assert_int_equal(num(h, "response_body_len"), 1);
	json_decref(h);
	h = rec(&t, "http", 1);
	assert_str(h, "uri", "/b");
	assert_int_equal(num(h, "trans_depth"), 2);
	assert_int_equal(num(h, "status_code"), 404);
	assert_str(h, "status_msg", "Not Found");
	assert_int_equal(num(h, "response_body_len"), 2);
	json_decref(h);
	h = rec(&t, "http", 2);
	assert_str(h, "uri", "/c");
	assert_int_equal(num(h, "trans_depth"), 3);
	assert_int_equal(num(h, "response_body_len"), 3);
	json_decref(h);
	t_close(&t);
}

/* A chunked response whose content is BODY repeated, in chunks of the
 * sizes given; returns its length, and in *cuts the chunk boundaries. */
static size_t chunked(char *out, size_t outsz, const size_t *sizes, size_t n, size_t *cuts,
		      char *content, size_t *clen)
{
	static const char fill[] = "The quick brown fox jumps over the lazy dog. ";
	size_t o, i, c = 0;

	o = (size_t)snprintf(out, outsz, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
				     "Content-Type: text/plain\r\n\r\n");
	cuts[0] = o;
	for (i = 0; i < n; i++) {
		size_t j;

		o += (size_t)snprintf(out + o, outsz - o, "%zx\r\n", sizes[i]);
		for (j = 0; j < sizes[i]; j++) {
			out[o++] = fill[c % (sizeof(fill) - 1)];
			content[c] = fill[c % (sizeof(fill) - 1)];
			c++;
		}
		o += (size_t)snprintf(out + o, outsz - o, "\r\n");
		cuts[i + 1] = o;
	}
	o += (size_t)snprintf(out + o, outsz - o, "0\r\nX-Trailer: 1\r\n\r\n");
	cuts[n + 1] = o;
	*clen = c;
	return o;
}

static void sha256_hex(const void *d, size_t len, char out[65]);

static void check_chunked(const char *resp, size_t len, const size_t *cuts, size_t ncuts,
			  const char *want_sha, size_t want_len)
{
	struct t t;
	json_t *h, *f;
	size_t i, prev = 0;

	t_open(&t);
	cli(&t, "GET /chunked HTTP/1.1\r\nHost: h\r\n\r\n");
	for (i = 0; i < ncuts; i++) {
		feed(&t, false, resp + prev, cuts[i] - prev);
		prev = cuts[i];
	}
	feed(&t, false, resp + prev, len - prev);
	assert_int_equal(count(&t, "http"), 1);
	t_end(&t);
	h = rec(&t, "http", 0);
	f = rec(&t, "files", 0);
	assert_int_equal(num(h, "response_body_len"), (int64_t)want_len);
	assert_int_equal(num(f, "seen_bytes"), (int64_t)want_len);
	assert_null(json_object_get(f, "total_bytes"));
	assert_str(f, "sha256", want_sha);
	json_decref(h);
	json_decref(f);
	assert_int_equal(weird(&t, "bad_HTTP_reply"), 0);
	t_close(&t);
}

static void test_chunked(void **state)
{
	static const size_t sizes[] = { 1, 16, 255, 4096, 7, 1000 };
	char resp[8192], content[8192], sha[65];
	size_t cuts[8], clen, len, i, *rnd;
	unsigned seed = 12345;

	(void)state;
	len = chunked(resp, sizeof(resp), sizes, 6, cuts, content, &clen);
	sha256_hex(content, clen, sha);
	check_chunked(resp, len, cuts, 8, sha, clen);           /* at every chunk boundary */
	check_chunked(resp, len, NULL, 0, sha, clen);           /* whole */
	rnd = calloc(len, sizeof(*rnd));
	assert_non_null(rnd);
	for (i = 0; i < len; i++)
		rnd[i] = i + 1;
	check_chunked(resp, len, rnd, len - 1, sha, clen);      /* byte by byte */
	for (i = 0; i < 20; i++) {                              /* random cuts */
		size_t n = 0, at = 0;

		while (at < len) {
			seed = seed * 1103515245u + 12345u;
			at += 1 + (seed >> 16) % 97;
			if (at < len)
				rnd[n++] = at;
		}
		check_chunked(resp, len, rnd, n, sha, clen);
	}
	free(rnd);
}

static size_t zcompress(const void *in, size_t len, uint8_t *out, size_t outsz, int bits)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)outsz;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return outsz - z.avail_out;
}

static void check_coded(const char *coding, int bits, bool chunks)
{
	char content[20000], sha[65], hdr[256];
	uint8_t z[30000];
	size_t i, zlen, n;
	struct t t;
	json_t *h, *f;

	for (i = 0; i < sizeof(content); i++)
		content[i] = "<html><body>ward gzip test</body></html>\n"[i % 41];
	sha256_hex(content, sizeof(content), sha);
	zlen = zcompress(content, sizeof(content), z, sizeof(z), bits);
	t_open(&t);
	cli(&t, "GET /z HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip, deflate\r\n\r\n");
	if (chunks) {
		snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
			 "Transfer-Encoding: chunked\r\nContent-Type: text/html\r\n\r\n", coding);
		srv(&t, hdr);
		for (i = 0; i < zlen; i += n) {
			char sz[16];

			n = zlen - i < 100 ? zlen - i : 100;
			snprintf(sz, sizeof(sz), "%zx\r\n", n);
			srv(&t, sz);
			feed(&t, false, z + i, n);
			srv(&t, "\r\n");
		}
		srv(&t, "0\r\n\r\n");
	} else {
		snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
			 "Content-Length: %zu\r\nContent-Type: text/html\r\n\r\n", coding, zlen);
		srv(&t, hdr);
		for (i = 0; i < zlen; i += 333)
			feed(&t, false, z + i, zlen - i < 333 ? zlen - i : 333);
	}
	assert_int_equal(count(&t, "http"), 1);
	t_end(&t);
	h = rec(&t, "http", 0);
	f = rec(&t, "files", 0);
	/* Zeek's response_body_len is the inflated length. */
	assert_int_equal(num(h, "response_body_len"), (int64_t)sizeof(content));
	assert_string_equal(first(h, "resp_mime_types"), "text/html");
	assert_int_equal(num(f, "seen_bytes"), (int64_t)sizeof(content));
	assert_null(json_object_get(f, "total_bytes"));   /* the coded length is not the file's */
	assert_str(f, "sha256", sha);
	json_decref(h);
	json_decref(f);
	assert_int_equal(weird(&t, "HTTP_inflate_error"), 0);
	t_close(&t);
}

static void test_gzip(void **state)
{
	(void)state;
	check_coded("gzip", 15 + 16, false);
	check_coded("gzip", 15 + 16, true);
	check_coded("deflate", 15, false);     /* zlib wrapper, as RFC 9110 says */
	check_coded("deflate", -15, true);     /* raw deflate, as some servers send */
}

static void test_bad_gzip(void **state)
{
	struct t t;
	json_t *f;

	(void)state;
	t_open(&t);
	cli(&t, "GET /z HTTP/1.1\r\nHost: h\r\n\r\n");
	srv(&t, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n"
		"0123456789");
	t_end(&t);
	assert_int_equal(weird(&t, "HTTP_inflate_error"), 1);
	f = rec(&t, "files", 0);
	assert_null(json_object_get(f, "sha256"));
	assert_true(num(f, "overflow_bytes") > 0);
	json_decref(f);
	t_close(&t);
}

static void test_404_head(void **state)
{
	struct t t;
	json_t *h;

	(void)state;
	t_open(&t);
	cli(&t, "HEAD /big.iso HTTP/1.1\r\nHost: h\r\n\r\n");
	/* A HEAD response declares a length it does not send (RFC 9110 9.3.2). */
	srv(&t, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nContent-Type: application/x-iso9660-image\r\n\r\n");
	cli(&t, "GET /missing HTTP/1.1\r\nHost: h\r\n\r\n");
	srv(&t, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
	cli(&t, "DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n");
	srv(&t, "HTTP/1.1 204 No Content\r\n\r\n");
	cli(&t, "GET /cached HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\"\r\n\r\n");
	srv(&t, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
	t_end(&t);
	assert_int_equal(count(&t, "http"), 4);
	assert_int_equal(count(&t, "files"), 1);
	h = rec(&t, "http", 0);
	assert_str(h, "method", "HEAD");
	assert_int_equal(num(h, "status_code"), 200);
	assert_int_equal(num(h, "response_body_len"), 0);
	assert_null(json_object_get(h, "resp_fuids"));
	json_decref(h);
	h = rec(&t, "http", 1);
	assert_int_equal(num(h, "trans_depth"), 2);
	assert_int_equal(num(h, "status_code"), 404);
	assert_str(h, "status_msg", "Not Found");
	assert_int_equal(num(h, "response_body_len"), 9);
	json_decref(h);
	h = rec(&t, "http", 2);
	assert_int_equal(num(h, "status_code"), 204);
	json_decref(h);
	h = rec(&t, "http", 3);
	assert_int_equal(num(h, "status_code"), 304);
	assert_int_equal(num(h, "response_body_len"), 0);
	json_decref(h);
	assert_int_equal(weird(&t, "bad_HTTP_reply"), 0);
	t_close(&t);
}

static void test_continue_post(void **state)
{
	struct t t;
	json_t *h, *f;

	(void)state;
	t_open(&t);
	cli(&t, "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Type: application/pdf\r\n"
		"Content-Disposition: attachment; filename=\"scan 1.pdf\"\r\n"
		"Content-Length: 20\r\nExpect: 100-continue\r\n\r\n");
	srv(&t, "HTTP/1.1 100 Continue\r\n\r\n");
	assert_int_equal(count(&t, "http"), 0);
	cli(&t, "%PDF-1.7\n0123456789A");
	srv(&t, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	t_end(&t);
	assert_int_equal(count(&t, "http"), 1);
	h = rec(&t, "http", 0);
	assert_str(h, "method", "POST");
	assert_int_equal(num(h, "info_code"), 100);
	assert_str(h, "info_msg", "Continue");
	assert_int_equal(num(h, "status_code"), 201);
	assert_str(h, "status_msg", "Created");
	assert_int_equal(num(h, "request_body_len"), 20);
	assert_int_equal(num(h, "response_body_len"), 0);
	assert_string_equal(first(h, "orig_mime_types"), "application/pdf");
	assert_string_equal(first(h, "orig_filenames"), "scan 1.pdf");
	assert_null(json_object_get(h, "resp_filenames"));
	f = rec(&t, "files", 0);
	assert_str(f, "fuid", first(h, "orig_fuids"));
	assert_true(json_is_true(json_object_get(f, "is_orig")));
	assert_false(json_is_true(json_object_get(f, "local_orig")));
	assert_str(f, "filename", "scan 1.pdf");
	assert_str(f, "mime_type", "application/pdf");
	assert_int_equal(num(f, "total_bytes"), 20);
	json_decref(h);
	json_decref(f);
	t_close(&t);
}

static void test_basic_auth(void **state)
{
	static const char pass[] = "s3cr3t-Passw0rd";
	struct t t;
	json_t *h, *n;
	size_t i;

	(void)state;
	t_open(&t);
	/* base64("alice:s3cr3t-Passw0rd") */
	cli(&t, "GET /private HTTP/1.1\r\nHost: h\r\n"
		"Authorization: Basic YWxpY2U6czNjcjN0LVBhc3N3MHJk\r\n\r\n");
	srv(&t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	cli(&t, "GET /a HTTP/1.1\r\nAuthorization: Basic YWRtaW5pc3RyYXRvcjpwdw==\r\n\r\n"
		"GET /b HTTP/1.1\r\nAuthorization: Basic Ym9iOnB3\r\n\r\n");
	srv(&t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	t_end(&t);
	/* The http record's username is masked exactly as the notice's user. */
	for (i = 0; i < 3; i++) {
		static const char *const want[] = { "a***e", "a***r", "***" };

		n = rec(&t, "notice", i);
		h = rec(&t, "http", i);
		assert_str(n, "user", want[i]);
		assert_str(h, "username", want[i]);
		json_decref(n);
		json_decref(h);
	}
	n = rec(&t, "notice", 0);
	assert_non_null(n);
	assert_str(n, "note", "Cleartext_Credentials");
	assert_str(n, "mechanism", "basic");
	assert_str(n, "user", "a***e");
	json_decref(n);
	h = rec(&t, "http", 0);
	assert_str(h, "username", "a***e");
	json_decref(h);
	for (i = 0; i < t.k.n; i++) {
		assert_null(strstr(t.k.rec[i], pass));
		assert_null(strstr(t.k.rec[i], "czNjcjN0"));
		assert_null(strstr(t.k.rec[i], "alice"));
		if (strstr(t.k.rec[i], "\"notice\"") != NULL)
			assert_int_equal(t.k.cls[i], SPOOL_P0);
	}
	t_close(&t);
}

static void test_basic_auth_clear(void **state)
{
	struct an_config cfg;
	struct t t;
	json_t *h;
	size_t i;

	(void)state;
	an_config_defaults(&cfg);
	cfg.user_mask = AN_USER_CLEAR;
	t_open_cfg(&t, &cfg);
	cli(&t, "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: basic   Ym9iOnB3\r\n\r\n");
	srv(&t, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
	t_end(&t);
	h = rec(&t, "http", 0);
	assert_str(h, "username", "bob");
	json_decref(h);
	for (i = 0; i < t.k.n; i++)
		assert_null(strstr(t.k.rec[i], "bob:"));
	t_close(&t);
}

static void test_uri_cap(void **state)
{
	struct an_config cfg;
	char req[2048];
	struct t t;
	json_t *h;

	(void)state;
	an_config_defaults(&cfg);
	cfg.max_uri_bytes = 64;
	t_open_cfg(&t, &cfg);
	memset(req, 0, sizeof(req));
	strcpy(req, "GET /");
	memset(req + 5, 'a', 1000);
	strcat(req, " HTTP/1.1\r\nHost: h\r\n\r\n");
	cli(&t, req);
	srv(&t, "HTTP/1.1 414 URI Too Long\r\nContent-Length: 0\r\n\r\n");
	t_end(&t);
	assert_int_equal(weird(&t, "HTTP_uri_too_long"), 1);
	h = rec(&t, "http", 0);
	assert_int_equal(strlen(str(h, "uri")), 64);
	assert_int_equal(num(h, "status_code"), 414);
	json_decref(h);
	t_close(&t);
}

static void test_header_cap(void **state)
{
	struct an_config cfg;
	char req[4096];
	struct t t;
	json_t *h;
	size_t at;

	(void)state;
	an_config_defaults(&cfg);
	cfg.max_header_bytes = 100;
	t_open_cfg(&t, &cfg);

	strcpy(req, "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: ");
	at = strlen(req);
	memset(req + at, 'U', 2000);
	req[at + 2000] = '\0';
	strcat(req, "\r\n\r\n");
	cli(&t, req);
	srv(&t, ok_resp);
	t_end(&t);
	assert_int_equal(weird(&t, "HTTP_header_too_long"), 1);
	h = rec(&t, "http", 0);
	assert_non_null(h);
	assert_int_equal(num(h, "status_code"), 200);
	assert_non_null(str(h, "user_agent"));    /* kept, truncated at 1 KiB */
	assert_true(strlen(str(h, "user_agent")) <= 1024);
	json_decref(h);
	t_close(&t);
}

static void test_body_gap(void **state)
{
	char body[100];
	struct t t;
	json_t *h, *f;

	(void)state;
	memset(body, 'x', sizeof(body));
	t_open(&t);
	cli(&t, "GET /gap HTTP/1.1\r\nHost: h\r\n\r\n");
	srv(&t, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
	feed(&t, false, body, 30);
	an_test_gap(t.s, false, 40);
	feed(&t, false, body, 30);
	assert_int_equal(count(&t, "http"), 1);
	/* The connection goes on after the gap. */
	cli(&t, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
	srv(&t, ok_resp);
	/* A gap that ends a body exactly. */
	cli(&t, "GET /gap2 HTTP/1.1\r\nHost: h\r\n\r\n");
	srv(&t, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345");
	an_test_gap(t.s, false, 5);
	/* And one in a body that ends with the connection. */
	cli(&t, "GET /gap3 HTTP/1.0\r\n\r\n");
	srv(&t, "HTTP/1.0 200 OK\r\n\r\nabc");
	an_test_gap(t.s, false, 1000);
	srv(&t, "def");
	t_end(&t);
	assert_int_equal(count(&t, "http"), 4);
	h = rec(&t, "http", 0);
	f = rec(&t, "files", 0);
	assert_int_equal(num(h, "response_body_len"), 100);
	assert_int_equal(num(f, "missing_bytes"), 40);
	assert_int_equal(num(f, "seen_bytes"), 60);
	assert_null(json_object_get(f, "sha256"));
	assert_null(json_object_get(f, "md5"));
	json_decref(h);
	json_decref(f);
	f = rec(&t, "files", 1);
	assert_str(f, "sha256", BODY_SHA256);
	json_decref(f);
	f = rec(&t, "files", 2);
	assert_int_equal(num(f, "missing_bytes"), 5);
	json_decref(f);
	h = rec(&t, "http", 3);
	assert_str(h, "uri", "/gap3");
	assert_int_equal(num(h, "response_body_len"), 1006);
	json_decref(h);
	f = rec(&t, "files", 3);
	assert_int_equal(num(f, "missing_bytes"), 1000);
	assert_int_equal(num(f, "seen_bytes"), 6);
	json_decref(f);
	assert_int_equal(weird(&t, "HTTP_content_gap"), 0);
	t_close(&t);
}

static void test_header_gap(void **state)
{
	struct t t;
	json_t *h;

	(void)state;
	t_open(&t);
	cli(&t, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
	srv(&t, "HTTP/1.1 200 OK\r\nContent-Le");
	an_test_gap(t.s, false, 10);
	assert_int_equal(weird(&t, "HTTP_content_gap"), 1);
	/* Detached: the rest is not parsed. */
	srv(&t, "garbage\r\n\r\n");
	cli(&t, "GET /b HTTP/1.1\r\n\r\n");
	t_end(&t);
	assert_int_equal(count(&t, "http"), 1);
	h = rec(&t, "http", 0);
	assert_str(h, "uri", "/a");
	assert_null(json_object_get(h, "status_code"));
	json_decref(h);
	assert_int_equal(weird(&t, "bad_HTTP_reply"), 0);
	t_close(&t);

	/* A gap in a chunk-size line. */
	t_open(&t);
	cli(&t, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
	srv(&t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n");
	an_test_gap(t.s, false, 3);
	assert_int_equal(weird(&t, "HTTP_content_gap"), 1);
	t_close(&t);

	/* A gap longer than the rest of the body: the framing is lost. */
	t_open(&t);
	cli(&t, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
	srv(&t, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
	an_test_gap(t.s, false, 30);
	assert_int_equal(weird(&t, "HTTP_content_gap"), 1);
	t_end(&t);
	h = rec(&t, "files", 0);
	assert_true(json_is_true(json_object_get(h, "timedout")));
	json_decref(h);
	t_close(&t);
}

static void test_garbage_after_response(void **state)
{
	struct t t;

	(void)state;
	t_open(&t);
	cli(&t, get_req);
	srv(&t, ok_resp);
	feed(&t, false, "\x00\x01\x02garbage\xff", 11);
	assert_int_equal(weird(&t, "bad_HTTP_reply"), 1);
	cli(&t, get_req);    /* ignored after giving up */
	t_end(&t);
	assert_int_equal(count(&t, "http"), 1);
	t_close(&t);

	/* Garbage from the client. */
	t_open(&t);
	cli(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n\x16\x03\x01 nonsense\r\n\r\n");
	assert_int_equal(weird(&t, "bad_HTTP_request"), 1);
	t_end(&t);
	assert_int_equal(count(&t, "http"), 1);
	t_close(&t);
}

static void test_unmatched_reply(void **state)
{
	struct t t;
	json_t *h;

	(void)state;
	t_open(&t);
	srv(&t, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
	t_end(&t);
	assert_int_equal(weird(&t, "unmatched_HTTP_reply"), 1);
	h = rec(&t, "http", 0);
	assert_int_equal(num(h, "status_code"), 200);
	assert_null(json_object_get(h, "method"));
	json_decref(h);
	t_close(&t);
}

static void test_connect(void **state)
{
	struct t t;
	json_t *h;

	(void)state;
	t_open(&t);
	cli(&t, "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
	srv(&t, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00\x5a\x02\x00");
	cli(&t, "\x17\x03\x03\x00\x20 tls application data");
	t_end(&t);
	assert_int_equal(count(&t, "http"), 1);
	h = rec(&t, "http", 0);
	assert_str(h, "method", "CONNECT");
	assert_str(h, "uri", "example.org:443");
	assert_int_equal(num(h, "status_code"), 200);
	json_decref(h);
	assert_int_equal(weird(&t, "bad_HTTP_request"), 0);
	assert_int_equal(weird(&t, "bad_HTTP_reply"), 0);
	t_close(&t);

	/* A proxy that says no: HTTP goes on. */
	t_open(&t);
	cli(&t, "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n");
	srv(&t, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
	cli(&t, "CONNECT example.org:443 HTTP/1.1\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n");
	srv(&t, "HTTP/1.1 200 OK\r\n\r\n");
	t_end(&t);
	assert_int_equal(count(&t, "http"), 2);
	assert_int_equal(count(&t, "notice"), 1);
	t_close(&t);
}

static void test_close_delimited(void **state)
{
	struct t t;
	json_t *h, *f;

	(void)state;
	t_open(&t);
	cli(&t, "GET /old HTTP/1.0\r\n\r\n");
	srv(&t, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nHello, ");
	srv(&t, "ward!\n");
	assert_int_equal(count(&t, "http"), 0);
	t_end(&t);
	h = rec(&t, "http", 0);
	f = rec(&t, "files", 0);
	assert_str(h, "version", "1.0");
	assert_int_equal(num(h, "response_body_len"), 13);
	assert_str(f, "sha256", BODY_SHA256);
	assert_false(json_is_true(json_object_get(f, "timedout")));
	json_decref(h);
	json_decref(f);
	t_close(&t);
}

static void test_cut_short(void **state)
{
	struct t t;
	json_t *h, *f;

	(void)state;
	t_open(&t);
	cli(&t, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n");
	srv(&t, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n%PDF-1.4\n");
	t_end(&t);
	h = rec(&t, "http", 0);
	f = rec(&t, "files", 0);
	assert_int_equal(num(h, "response_body_len"), 9);
	assert_true(json_is_true(json_object_get(f, "timedout")));
	assert_int_equal(num(f, "total_bytes"), 1000);
	assert_str(f, "mime_type", "application/pdf");
	json_decref(h);
	json_decref(f);
	t_close(&t);
}

static void test_pending_cap(void **state)
{
	struct t t;
	int i;

	(void)state;
	t_open(&t);
	for (i = 0; i < 100; i++)
		cli(&t, "GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_true(weird(&t, "HTTP_too_many_pending") > 0);
	t_end(&t);
	assert_int_equal(count(&t, "http"), 100);
	t_close(&t);
}

/* Every memory cap from too small for the session to enough for all:
 * never a crash, the charge comes back to zero, and some cap gives the
 * http record without its file (weird file_no_memory). */
static void test_memory_cap(void **state)
{
	bool record_without_file = false;
	struct an_config cfg;
	size_t cap;

	(void)state;
	for (cap = 1024; cap <= 64 * 1024; cap += 256) {
		struct conn id;
		struct t t;

		an_config_defaults(&cfg);
		cfg.mem_max = cap;
		memset(&t, 0, sizeof(t));
		memset(&id, 0, sizeof(id));
		strcpy(id.uid, "CCap");
		strcpy(id.community_id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
		id.ip_version = 4;
		id.proto = IPPROTO_TCP;
		assert_int_equal(an_ctx_create(&t.c, &cfg, NULL, on_record, &t.k), 0);
		t.s = an_test_session(t.c, &id, &an_http);
		if (t.s == NULL) {
			an_ctx_destroy(t.c);
			continue;
		}
		cli(&t, "GET /a HTTP/1.1\r\nHost: h\r\nAuthorization: Basic YTpi\r\n\r\n");
		srv(&t, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd");
		cli(&t, get_req);
		srv(&t, ok_resp);
		t_end(&t);
		if (count(&t, "http") > 0 && count(&t, "files") == 0 && weird(&t, "file_no_memory") > 0)
			record_without_file = true;
		t_close(&t);
	}
	assert_true(record_without_file);
}

static enum an_probe_result probe2(const char *orig, const char *resp, uint16_t port)
{
	struct an_probe_view v = {
		.orig = (const uint8_t *)orig, .orig_len = orig ? strlen(orig) : 0,
		.resp = (const uint8_t *)resp, .resp_len = resp ? strlen(resp) : 0,
		.proto = IPPROTO_TCP, .orig_p = 40000, .resp_p = port,
	};

	return an_http.probe(&v);
}

static void test_probe(void **state)
{
	struct an_probe_view udp = { .orig = (const uint8_t *)"GET / HTTP/1.1\r\n", .orig_len = 16,
				     .proto = IPPROTO_UDP };
	char longreq[AN_PROBE_MAX + 1];

	(void)state;
	assert_int_equal(probe2("GET / HTTP/1.1\r\n", NULL, 8080), AN_PROBE_YES);
	assert_int_equal(probe2("PROPFIND /dav/ HTTP/1.1\r\nHost: x\r\n", NULL, 5000), AN_PROBE_YES);
	assert_int_equal(probe2("VERSION-CONTROL /x HTTP/1.0\n", NULL, 1), AN_PROBE_YES);
	assert_int_equal(probe2("GE", NULL, 80), AN_PROBE_MAYBE);
	assert_int_equal(probe2("GET /very/long/uri", NULL, 80), AN_PROBE_MAYBE);
	assert_int_equal(probe2(NULL, NULL, 80), AN_PROBE_MAYBE);
	assert_int_equal(probe2(NULL, "HTTP/1.1 200 OK\r\n", 9999), AN_PROBE_YES);
	assert_int_equal(probe2(NULL, "HTTP/", 9999), AN_PROBE_MAYBE);
	assert_int_equal(probe2("GET / HTTP/2.0\r\n", NULL, 80), AN_PROBE_NO);
	assert_int_equal(probe2("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", NULL, 80), AN_PROBE_NO);
	assert_int_equal(probe2("get / HTTP/1.1\r\n", NULL, 80), AN_PROBE_NO);
	assert_int_equal(probe2("GET /\x01 HTTP/1.1\r\n", NULL, 80), AN_PROBE_NO);
	assert_int_equal(probe2("GET / HTTP/1.1 extra\r\n", NULL, 80), AN_PROBE_NO);
	assert_int_equal(probe2("\x16\x03\x01\x02\x00", NULL, 80), AN_PROBE_NO);
	assert_int_equal(probe2("SSH-2.0-OpenSSH_9.2\r\n", NULL, 80), AN_PROBE_NO);
	assert_int_equal(probe2("EHLO x\r\n", "220 mail ESMTP\r\n", 25), AN_PROBE_NO);
	assert_int_equal(probe2(NULL, "220 mail ESMTP\r\n", 80), AN_PROBE_NO);
	assert_int_equal(probe2(NULL, "+OK POP3 ready\r\n", 110), AN_PROBE_NO);
	assert_int_equal(an_http.probe(&udp), AN_PROBE_NO);
	/* A request line longer than detection keeps. */
	memset(longreq, 'q', sizeof(longreq) - 1);
	longreq[sizeof(longreq) - 1] = '\0';
	memcpy(longreq, "GET /?", 6);
	assert_int_equal(probe2(longreq, NULL, 80), AN_PROBE_YES);
	longreq[100] = ' ';
	assert_int_equal(probe2(longreq, NULL, 80), AN_PROBE_NO);
	longreq[1500] = '\0';
	assert_int_equal(probe2(longreq, NULL, 80), AN_PROBE_MAYBE);
}

/* ---- schema ---------------------------------------------------------- */

static void test_schema(void **state)
{
	static const char *const types[] = { "http", "files" };
	char path[] = "/tmp/ward-test-http-XXXXXX";
	char cmd[512];
	size_t i, n = 0;
	FILE *fp;
	int fd, rc, j;

	(void)state;
	if (system("python3 -c 'import jsonschema' 2>/dev/null") != 0) {
		print_message("python3-jsonschema not installed: schema check skipped\n");
		return;
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	for (i = 0; i < all_sink->n; i++) {
		for (j = 0; j < 2; j++) {
			char want[32];

			snprintf(want, sizeof(want), "{\"type\":\"%s\"", types[j]);
			if (strncmp(all_sink->rec[i], want, strlen(want)) == 0) {
				fprintf(fp, "%s\n", all_sink->rec[i]);
				n++;
			}
		}
	}
	fclose(fp);
	assert_true(n > 50);
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys,jsonschema\n"
		 "s={t:json.load(open(\"docs/schema/%%s.schema.json\" %% t)) for t in (\"http\",\"files\")}\n"
		 "v={t:jsonschema.Draft202012Validator(s[t],format_checker=jsonschema.FormatChecker()) for t in s}\n"
		 "[jsonschema.Draft202012Validator.check_schema(x) for x in s.values()]\n"
		 "for l in open(sys.argv[1]):\n r=json.loads(l); v[r[\"type\"]].validate(r)\n' %s",
		 path);
	rc = system(cmd);
	unlink(path);
	assert_int_equal(rc, 0);
}

/* SHA-256 with zlib's neighbour, mbedtls, as files.c uses it. */
#include <mbedtls/md.h>

static void sha256_hex(const void *d, size_t len, char out[65])
{
	uint8_t h[32];
	size_t i;

	assert_int_equal(mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), d, len, h), 0);
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

int main(void)
{
	static struct sink everything;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_200),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_bad_gzip),
		cmocka_unit_test(test_404_head),
		cmocka_unit_test(test_continue_post),
		cmocka_unit_test(test_basic_auth),
		cmocka_unit_test(test_basic_auth_clear),
		cmocka_unit_test(test_uri_cap),
		cmocka_unit_test(test_header_cap),
		cmocka_unit_test(test_body_gap),
		cmocka_unit_test(test_header_gap),
		cmocka_unit_test(test_garbage_after_response),
		cmocka_unit_test(test_unmatched_reply),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_close_delimited),
		cmocka_unit_test(test_cut_short),
		cmocka_unit_test(test_pending_cap),
		cmocka_unit_test(test_memory_cap),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_schema),
	};
	int rc;

	all_sink = &everything;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	all_sink = NULL;
	sink_free(&everything);
	return rc;
}
