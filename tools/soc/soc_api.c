#include "soc_api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The value of `key` in a query string "a=1&b=2" as an unsigned number
 * up to `max`, or `def` when absent. -1 when present but not a number in
 * range. */
static long long query_num(const char *q, const char *key, long long def, long long max)
{
	size_t klen = strlen(key);
	const char *p = q;
	char *end;
	long long v;

	while (*p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			p += klen + 1;
			if (*p < '0' || *p > '9')
				return -1;
			v = strtoll(p, &end, 10);
			if ((*end != '\0' && *end != '&') || v > max)
				return -1;
			return v;
		}
		p = strchr(p, '&');
		if (p == NULL)
			break;
		p++;
	}
	return def;
}

static void health(struct soc_api *a, struct soc_http_resp *r)
{
	static const struct soc_counters none;
	const struct soc_counters *c = a->ingest ? soc_ingest_counters(a->ingest) : &none;

	r->status = 200;
	(void)buf_printf(&r->body, "{\"status\":\"ok\",\"connections\":%" PRIu64
			 ",\"tls_failures\":%" PRIu64 ",\"requests\":%" PRIu64
			 ",\"http_errors\":%" PRIu64 ",\"batches_ok\":%" PRIu64
			 ",\"records\":%" PRIu64 ",\"duplicates\":%" PRIu64
			 ",\"rejected\":%" PRIu64 ",\"unknown_device\":%" PRIu64
			 ",\"store_errors\":%" PRIu64 ",\"gaps\":%" PRIu64
			 ",\"chain_breaks\":%" PRIu64 ",\"overlaps\":%" PRIu64
			 ",\"duplicates_dropped\":%" PRIu64 ",\"lines_without_seq\":%" PRIu64
			 ",\"epochs\":%" PRIu64 ",\"late_batches\":%" PRIu64 ",\"failed_on_purpose\":%" PRIu64 ",\"fail_next\":%" PRIu64 "}",
			 a->connections, a->tls_failures, a->requests, a->http_errors,
			 c->batches_ok, c->records, c->duplicates, c->rejected,
			 c->unknown_device, c->store_errors, c->gaps, c->chain_breaks,
			 c->overlaps, c->duplicates_dropped, c->seqless_lines, c->epochs,
			 c->late_batches, a->failed_on_purpose, a->fail_next);
}

static void test_fail(struct soc_api *a, const char *query, struct soc_http_resp *r)
{
	long long n = query_num(query, "n", 1, 1000000);
	long long code = query_num(query, "code", 503, 599);
	long long ra = query_num(query, "retry_after", 1, 86400);

	if (n < 0 || ra < 0 || (code != 429 && code != 503)) {
		r->status = 400;
		(void)buf_printf(&r->body, "{\"error\":\"want n=N&code=429|503&retry_after=S\"}");
		return;
	}
	a->fail_next = (uint64_t)n;
	a->fail_code = (int)code;
	a->fail_retry_after = (unsigned)ra;
	log_info("test hook: the next %lld batch POSTs answer %lld, Retry-After %lld", n, code,
		 ra);
	r->status = 200;
	(void)buf_printf(&r->body, "{\"status\":\"ok\",\"fail_next\":%lld}", n);
}

static void batches(struct soc_api *a, const struct soc_http_req *req,
		    struct soc_http_resp *r)
{
	if (a->fail_next > 0) {
		a->fail_next--;
		a->failed_on_purpose++;
		r->status = a->fail_code;
		r->retry_after_s = a->fail_retry_after;
		(void)buf_printf(&r->body, "{\"error\":\"refused by test hook\"}");
		return;
	}
	if (a->ingest == NULL) {
		r->status = 503;
		r->retry_after_s = 1;
		(void)buf_printf(&r->body, "{\"error\":\"not ready\"}");
		return;
	}
	r->status = soc_ingest_batch(a->ingest, req->body, req->body_len,
				     a->peer ? a->peer : "?", &r->body);
}

void soc_api_handle(void *arg, const struct soc_http_req *req, struct soc_http_resp *r)
{
	struct soc_api *a = arg;
	int want;

	a->requests++;
	if (strcmp(req->path, "/v1/batches") == 0) {
		want = HTTP_POST;
	} else if (strcmp(req->path, "/v1/health") == 0) {
		want = HTTP_GET;
	} else if (a->test_hooks && strcmp(req->path, "/v1/test/fail") == 0) {
		want = HTTP_POST;
	} else {
		r->status = 404;
		(void)buf_printf(&r->body, "{\"error\":\"no such endpoint\"}");
		return;
	}
	if ((int)req->method != want) {
		r->status = 405;
		(void)buf_printf(&r->body, "{\"error\":\"method not allowed\"}");
		return;
	}
	if (want == HTTP_GET)
		health(a, r);
	else if (req->path[4] == 'b')
		batches(a, req, r);
	else
		test_fail(a, req->query, r);
}
