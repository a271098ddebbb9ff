#include "soc_http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *soc_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static struct soc_http *of(http_parser *p)
{
	return p->data;
}

static int on_message_begin(http_parser *p)
{
	struct soc_http *h = of(p);

	h->url_len = 0;
	h->url_too_long = 0;
	http_hdr_reset(&h->hdr);
	h->expect_continue = 0;
	buf_reset(&h->body);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct soc_http *h = of(p);

	if (h->url_too_long)
		return 0;
	if (len >= sizeof(h->url) - h->url_len) {
		/* No route is that long: remember it and answer 404. */
		h->url_too_long = 1;
		return 0;
	}
	memcpy(h->url + h->url_len, at, len);
	h->url_len += len;
	return 0;
}

/* Acts on the header just completed; only Expect matters to us. */
static void header_done(void *arg, const struct http_hdr *hd, bool field_ok, bool value_ok)
{
	struct soc_http *h = arg;

	if (field_ok && value_ok && strcasecmp(hd->field, "expect") == 0 &&
	    strcasecmp(hd->value, "100-continue") == 0)
		h->expect_continue = 1;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct soc_http *h = of(p);

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
	struct soc_http *h = of(p);

	http_hdr_finish(&h->hdr, header_done, h);
	/* content_length is ULLONG_MAX when the header is absent. */
	if (p->content_length != (uint64_t)-1 && p->content_length > h->max_body) {
		h->error_status = 413;
		return -1;
	}
	if (h->expect_continue && p->http_major == 1 && p->http_minor >= 1 &&
	    buf_append_str(&h->out, "HTTP/1.1 100 Continue\r\n\r\n") < 0)
		return -1;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct soc_http *h = of(p);

	if (len > h->max_body - h->body.len) {
		h->error_status = 413;
		return -1;
	}
	return buf_append(&h->body, at, len) < 0 ? -1 : 0;
}

static int respond(struct soc_http *h, int status, unsigned retry_after, int close,
		   const void *body, size_t body_len)
{
	int rc;

	rc = buf_printf(&h->out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
			"Content-Length: %zu\r\n", status, soc_http_reason(status), body_len);
	if (rc == 0 && retry_after > 0)
		rc = buf_printf(&h->out, "Retry-After: %u\r\n", retry_after);
	if (rc == 0)
		rc = buf_printf(&h->out, "Connection: %s\r\n\r\n", close ? "close" : "keep-alive");
	if (rc == 0)
		rc = buf_append(&h->out, body, body_len);
	return rc;
}

static int on_message_complete(http_parser *p)
{
	struct soc_http *h = of(p);
	struct soc_http_req req;
	char *q;
	int close = !http_should_keep_alive(p);

	h->url[h->url_len] = '\0';
	if (h->url_too_long)
		h->url[0] = '\0';
	q = strchr(h->url, '?');
	if (q != NULL)
		*q++ = '\0';
	req.method = (enum http_method)p->method;
	req.path = h->url;
	req.query = q != NULL ? q : "";
	req.body = h->body.data;
	req.body_len = h->body.len;
	h->resp.status = 500;
	h->resp.retry_after_s = 0;
	buf_reset(&h->resp.body);
	h->handler(h->handler_arg, &req, &h->resp);
	h->requests++;
	if (respond(h, h->resp.status, h->resp.retry_after_s, close, h->resp.body.data,
		    h->resp.body.len) < 0)
		return -1;
	buf_reset(&h->body);
	if (close) {
		/* Whatever follows a "Connection: close" request is not read. */
		h->closing = 1;
		http_parser_pause(p, 1);
	}
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

void soc_http_init(struct soc_http *h, size_t max_header, size_t max_body,
		   soc_http_handler_fn handler, void *arg)
{
	memset(h, 0, sizeof(*h));
	/* http-parser counts header bytes itself, byte by byte, so where the
	 * limit trips does not depend on how TCP split the stream. The bound
	 * is process-wide in http-parser: the last init wins. */
	http_parser_set_max_header_size((uint32_t)max_header);
	http_parser_init(&h->parser, HTTP_REQUEST);
	h->parser.data = h;
	h->max_header = max_header;
	h->max_body = max_body;
	h->handler = handler;
	h->handler_arg = arg;
	buf_init(&h->body);
	buf_init(&h->out);
	buf_init(&h->resp.body);
}

void soc_http_free(struct soc_http *h)
{
	if (h == NULL)
		return;
	buf_free(&h->body);
	buf_free(&h->out);
	buf_free(&h->resp.body);
}

int soc_http_closing(const struct soc_http *h)
{
	return h->closing;
}

int soc_http_feed(struct soc_http *h, const uint8_t *data, size_t len)
{
	enum http_errno e;
	int status;
	static const char bad[] = "{\"error\":\"malformed HTTP request\"}";
	static const char big[] = "{\"error\":\"request body too large\"}";
	static const char hdr[] = "{\"error\":\"request header fields too large\"}";

	if (h->closing || len == 0)
		return 0;
	(void)http_parser_execute(&h->parser, &settings, (const char *)data, len);
	e = HTTP_PARSER_ERRNO(&h->parser);
	if (e == HPE_OK && h->parser.upgrade) {
		/* CONNECT or Upgrade: the request was answered (404/405); the
		 * bytes after it belong to no protocol we speak. */
		h->closing = 1;
		return 0;
	}
	if (e == HPE_OK || e == HPE_PAUSED)
		return 0;
	h->closing = 1;
	status = h->error_status ? h->error_status : e == HPE_HEADER_OVERFLOW ? 431 : 400;
	/* A callback that failed without a status ran out of memory. */
	if (h->error_status == 0 && e >= HPE_CB_message_begin && e <= HPE_CB_chunk_complete)
		return -ENOMEM;
	if (status == 413)
		(void)respond(h, 413, 0, 1, big, sizeof(big) - 1);
	else if (status == 431)
		(void)respond(h, 431, 0, 1, hdr, sizeof(hdr) - 1);
	else
		(void)respond(h, 400, 0, 1, bad, sizeof(bad) - 1);
	return status == 400 ? -EBADMSG : -EMSGSIZE;
}
