#include "uplink_http.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "uplink.h"

/* http-parser is paused at the end of the head and at the end of the
 * message, so uplink_resp_feed sees both boundaries at their exact byte
 * offsets whatever the chunking: that keeps the size checks (and so the
 * outcome) independent of how the stream was cut. */

static int on_hdr_field(http_parser *p, const char *at, size_t len)
{
	struct uplink_resp *r = p->data;

	if (r->in_body)
		return 0;       /* a trailer: nothing the uplink acts on */
	/* A name may come in pieces; a value ends the previous name. */
	if (r->in_value) {
		r->in_value = false;
		r->in_retry_after = false;
		r->name_len = 0;
	}
	if (r->name_len != SIZE_MAX && len <= sizeof(r->name) - r->name_len) {
		memcpy(r->name + r->name_len, at, len);
		r->name_len += len;
	} else {
		r->name_len = SIZE_MAX;   /* longer than any name we look for */
	}
	return 0;
}

static int on_hdr_value(http_parser *p, const char *at, size_t len)
{
	struct uplink_resp *r = p->data;

	if (r->in_body)
		return 0;
	if (!r->in_value) {
		r->in_value = true;
		r->in_retry_after = r->name_len == 11 &&
				    strncasecmp(r->name, "retry-after", 11) == 0;
		if (r->in_retry_after) {
			r->retry_after_fields++;
			r->retry_after_len = 0;
		}
	}
	if (!r->in_retry_after || r->retry_after_len == SIZE_MAX)
		return 0;
	if (len <= sizeof(r->retry_after) - r->retry_after_len) {
		memcpy(r->retry_after + r->retry_after_len, at, len);
		r->retry_after_len += len;
	} else {
		r->retry_after_len = SIZE_MAX;
	}
	return 0;
}

static int on_hdrs_done(http_parser *p)
{
	/* http-parser takes any one-digit major version and a status of
	 * fewer than three digits; the SOC speaks HTTP/1.x with a 3-digit
	 * status (RFC 9112 sections 2.3 and 4), and anything else is no
	 * answer we understand. */
	if (p->http_major != 1 || p->status_code < 100)
		return -1;
	http_parser_pause(p, 1);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct uplink_resp *r = p->data;
	size_t room = UPLINK_RESP_BODY_KEEP - r->body_len;

	if (len > room)
		len = room;
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return 0;
}

static int on_msg_done(http_parser *p)
{
	struct uplink_resp *r = p->data;

	r->done = true;
	r->status = (int)p->status_code;
	r->keep_alive = http_should_keep_alive(p) != 0;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings resp_cbs = {
	.on_header_field = on_hdr_field,
	.on_header_value = on_hdr_value,
	.on_headers_complete = on_hdrs_done,
	.on_body = on_body,
	.on_message_complete = on_msg_done,
};

void uplink_resp_init(struct uplink_resp *r, size_t max_header, size_t max_body)
{
	memset(r, 0, sizeof(*r));
	r->max_header = max_header != 0 ? max_header : UPLINK_RESP_HEADER_MAX_DEFAULT;
	r->max_body = max_body != 0 ? max_body : UPLINK_RESP_BODY_MAX_DEFAULT;
}

void uplink_resp_start(struct uplink_resp *r)
{
	size_t max_header = r->max_header, max_body = r->max_body;

	uplink_resp_init(r, max_header, max_body);
	http_parser_init(&r->parser, HTTP_RESPONSE);
	r->parser.data = r;
	r->armed = true;
}

static int fail(struct uplink_resp *r, int err)
{
	r->error = err;
	r->armed = false;
	return err;
}

int uplink_resp_feed(struct uplink_resp *r, const void *data, size_t len, size_t *used)
{
	const char *p = data;
	size_t off = 0, n, limit;
	enum http_errno e;

	*used = 0;
	if (r->error != 0)
		return r->error;
	if (len == 0)
		return 0;
	if (!r->armed)
		return fail(r, -EPROTO);
	while (off < len) {
		n = http_parser_execute(&r->parser, &resp_cbs, p + off, len - off);
		e = HTTP_PARSER_ERRNO(&r->parser);
		limit = r->in_body ? r->max_body : r->max_header;
		if (e != HPE_OK && e != HPE_PAUSED) {
			/* The bad byte at p[off + n] counts too: a head (or
			 * body) that is both too long and broken is called
			 * too long iff the limit falls at or before that
			 * byte, as a cut stream would have seen it. */
			if (e == HPE_HEADER_OVERFLOW || r->phase_bytes + n >= limit)
				return fail(r, -EMSGSIZE);
			return fail(r, -EBADMSG);
		}
		if (e == HPE_OK && n != len - off)
			return fail(r, -EBADMSG);   /* stopped without a reason */
		r->phase_bytes += n;
		off += n;
		if (r->phase_bytes > limit)
			return fail(r, -EMSGSIZE);
		if (e != HPE_PAUSED)
			continue;
		http_parser_pause(&r->parser, 0);
		if (r->done) {
			r->armed = false;
			*used = off;
			return 1;
		}
		r->in_body = true;      /* paused at the end of the head */
		r->phase_bytes = 0;
	}
	*used = off;
	return 0;
}

int uplink_resp_retry_after(const struct uplink_resp *r, int64_t now_s, uint64_t *out_ms)
{
	*out_ms = 0;
	if (r->retry_after_fields == 0)
		return -ENOENT;
	if (r->retry_after_fields > 1 || r->retry_after_len == SIZE_MAX)
		return -EINVAL;
	return uplink_parse_retry_after(r->retry_after, r->retry_after_len, now_s, out_ms);
}

const char *uplink_resp_strerror(int err)
{
	switch (err) {
	case 0:
		return "no error";
	case -EPROTO:
		return "data nobody asked for";
	case -EMSGSIZE:
		return "answer too large";
	case -EBADMSG:
		return "malformed HTTP answer";
	default:
		return "unknown error";
	}
}
