#include "http_connect.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

enum {
	HTTP_CONNECT__READING,     /* the answer's head is not complete yet */
	HTTP_CONNECT__HEAD_DONE,   /* on_headers_complete saw the final head */
	HTTP_CONNECT__ESTABLISHED, /* a 2xx: the rest of the stream is TLS */
	HTTP_CONNECT__FAILED,      /* error and why are set */
};

/* ---- the request ----------------------------------------------------------- */

static bool reg_name_byte(unsigned char c)
{
	/* RFC 3986 unreserved: what a DNS name or IPv4 literal may hold. The
	 * sub-delims and pct-encoding are allowed in a reg-name too, but no
	 * SOC host needs them and they would only widen what reaches a
	 * proxy's request line. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static bool ipv6_byte(unsigned char c)
{
	/* Hex digits, ':' and '.' for an embedded IPv4 (RFC 3986 3.2.2). */
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '.';
}

/* Checks `host` and says how to write it: `*inner` and `*inner_len` are
 * the part between brackets for an IPv6 literal, or the whole name. */
static int host_check(const char *host, const char **inner, size_t *inner_len, bool *ipv6)
{
	size_t len = strlen(host), i;
	bool (*ok)(unsigned char);

	*inner = host;
	*inner_len = len;
	*ipv6 = memchr(host, ':', len) != NULL || (len > 0 && host[0] == '[');
	if (*ipv6 && host[0] == '[') {
		if (len < 2 || host[len - 1] != ']')
			return -EINVAL;
		*inner = host + 1;
		*inner_len = len - 2;
	}
	if (*inner_len == 0)
		return -EINVAL;
	ok = *ipv6 ? ipv6_byte : reg_name_byte;
	for (i = 0; i < *inner_len; i++)
		if (!ok((unsigned char)(*inner)[i]))
			return -EINVAL;
	if (*ipv6 && memchr(*inner, ':', *inner_len) == NULL)
		return -EINVAL;   /* "[1.2.3.4]" is no IPv6 literal */
	return 0;
}

static int auth_check(const char *auth)
{
	const unsigned char *p = (const unsigned char *)auth;

	if (strchr(auth, ':') == NULL)
		return -EINVAL;   /* RFC 7617 section 2: user-id ":" password */
	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	return 0;
}

/* Appends the printf result at dst + *pos; -ENOSPC if it (and its NUL)
 * does not fit in cap. */
static int put(char *dst, size_t cap, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int put(char *dst, size_t cap, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst + *pos, cap - *pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *pos)
		return -ENOSPC;
	*pos += (size_t)n;
	return 0;
}

int http_connect_request(char *dst, size_t cap, const char *host, uint16_t port,
			 const char *basic_auth)
{
	const char *inner, *lb, *rb;
	size_t inner_len, pos = 0, b64_len = 0;
	bool ipv6;
	int rc;

	if (cap > 0)
		dst[0] = '\0';
	rc = host_check(host, &inner, &inner_len, &ipv6);
	if (rc < 0 || port == 0 || (basic_auth != NULL && auth_check(basic_auth) < 0))
		return -EINVAL;
	if (cap == 0)
		return -ENOSPC;
	lb = ipv6 ? "[" : "";
	rb = ipv6 ? "]" : "";
	/* RFC 9110 9.3.6: the target is authority-form, and the Host field
	 * names the same authority (RFC 9112 3.2.3). */
	rc = put(dst, cap, &pos, "CONNECT %s%.*s%s:%u HTTP/1.1\r\nHost: %s%.*s%s:%u\r\n",
		 lb, (int)inner_len, inner, rb, (unsigned)port,
		 lb, (int)inner_len, inner, rb, (unsigned)port);
	if (rc < 0)
		goto out;
	if (basic_auth != NULL) {
		rc = put(dst, cap, &pos, "Proxy-Authorization: Basic ");
		if (rc < 0)
			goto out;
		/* mbedtls writes the encoding and a NUL, or nothing. */
		if (mbedtls_base64_encode((unsigned char *)dst + pos, cap - pos, &b64_len,
					  (const unsigned char *)basic_auth,
					  strlen(basic_auth)) != 0) {
			rc = -ENOSPC;
			goto out;
		}
		pos += b64_len;
		rc = put(dst, cap, &pos, "\r\n");
		if (rc < 0)
			goto out;
	}
	rc = put(dst, cap, &pos, "\r\n");
	if (rc == 0 && pos > INT_MAX)
		rc = -ENOSPC;   /* no length to return */
out:
	if (rc < 0) {
		/* What was written may hold the credential: leave none of it. */
		mbedtls_platform_zeroize(dst, pos < cap ? pos + 1 : cap);
		return rc;
	}
	return (int)pos;
}

/* ---- the answer -------------------------------------------------------------- */

static int on_msg_begin(http_parser *p)
{
	struct http_connect *hc = p->data;

	hc->reason_len = 0;     /* a new answer after an interim 1xx */
	hc->reason[0] = '\0';
	return 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
	struct http_connect *hc = p->data;
	size_t i;
	unsigned char c;

	/* Kept for the words in `why`: printable ASCII only, as the bytes
	 * end up in logs and in wardctl's status. */
	for (i = 0; i < len && hc->reason_len < sizeof(hc->reason) - 1; i++) {
		c = (unsigned char)at[i];
		hc->reason[hc->reason_len++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	hc->reason[hc->reason_len] = '\0';
	return 0;
}

static int on_hdrs_done(http_parser *p)
{
	struct http_connect *hc = p->data;

	/* RFC 9110 15.2: a client parses 1xx interim answers it did not ask
	 * for and waits for the final one; 1 tells http-parser that this
	 * answer has no body and another one follows. A 101 is final. */
	if (p->http_major == 1 && p->status_code >= 100 && p->status_code < 200 &&
	    p->status_code != 101)
		return 1;
	/* 2: no body and nothing more in HTTP on this connection. That is
	 * what a 2xx to CONNECT means (RFC 9110 9.3.6), and any other answer
	 * ends the attempt, so its body is of no interest. http-parser then
	 * returns the offset just past the head's final LF. */
	hc->state = HTTP_CONNECT__HEAD_DONE;
	return 2;
}

static const http_parser_settings connect_cbs = {
	.on_message_begin = on_msg_begin,
	.on_status = on_status,
	.on_headers_complete = on_hdrs_done,
};

void http_connect_init(struct http_connect *hc)
{
	memset(hc, 0, sizeof(*hc));
	http_parser_init(&hc->parser, HTTP_RESPONSE);
	hc->parser.data = hc;
	hc->state = HTTP_CONNECT__READING;
}

static const char *standard_reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 407: return "Proxy Authentication Required";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

static int fail(struct http_connect *hc, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct http_connect *hc, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hc->why, sizeof(hc->why), fmt, ap);
	va_end(ap);
	hc->error = err;
	hc->state = HTTP_CONNECT__FAILED;
	return err;
}

/* The final answer's head is complete: tunnel or refusal. */
static int classify(struct http_connect *hc)
{
	const http_parser *p = &hc->parser;
	int status = (int)p->status_code;

	if (p->http_major != 1)
		return fail(hc, -EPROTO, "proxy answered in HTTP/%u.%u, not HTTP/1.x",
			    (unsigned)p->http_major, (unsigned)p->http_minor);
	/* http-parser takes a status of fewer than three digits; RFC 9112
	 * section 4 wants three. */
	if (status < 100)
		return fail(hc, -EPROTO, "malformed answer from proxy: status code %d", status);
	hc->status = status;
	if (status == 101)
		return fail(hc, -EPROTO, "proxy answered CONNECT with 101 Switching Protocols");
	if (status >= 200 && status < 300) {
		hc->state = HTTP_CONNECT__ESTABLISHED;
		return 1;
	}
	return fail(hc, -ECONNREFUSED, "proxy refused CONNECT: %d %s", status,
		    hc->reason_len > 0 ? hc->reason : standard_reason(status));
}

int http_connect_feed(struct http_connect *hc, const uint8_t *data, size_t len, size_t *used)
{
	size_t off = 0, chunk, n;
	enum http_errno e;
	int rc;

	*used = 0;
	if (hc->state == HTTP_CONNECT__FAILED)
		return hc->error;
	if (hc->state == HTTP_CONNECT__ESTABLISHED)
		return 1;
	while (off < len) {
		/* The parser never sees more than one byte past the limit, so
		 * a head that is too long is found at the same byte however
		 * the stream was cut, and before a later malformed byte. */
		chunk = HTTP_CONNECT_HEADER_MAX + 1 - hc->head_bytes;
		if (chunk > len - off)
			chunk = len - off;
		n = http_parser_execute(&hc->parser, &connect_cbs, (const char *)data + off, chunk);
		e = HTTP_PARSER_ERRNO(&hc->parser);
		if (hc->state != HTTP_CONNECT__HEAD_DONE && e != HPE_OK)
			return fail(hc, -EPROTO, "malformed answer from proxy: %s",
				    http_errno_description(e));
		if (hc->state != HTTP_CONNECT__HEAD_DONE && n != chunk)
			return fail(hc, -EPROTO, "malformed answer from proxy");
		hc->head_bytes += n;
		off += n;
		if (hc->head_bytes > HTTP_CONNECT_HEADER_MAX)
			return fail(hc, -EMSGSIZE, "proxy's answer to CONNECT is longer than %u bytes",
				    HTTP_CONNECT_HEADER_MAX);
		if (hc->state == HTTP_CONNECT__HEAD_DONE) {
			rc = classify(hc);
			if (rc == 1)
				*used = off;
			return rc;
		}
	}
	*used = off;
	return 0;
}
