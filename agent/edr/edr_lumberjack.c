/* edr_lumberjack: see edr_lumberjack.h. */
#include "edr_lumberjack.h"
#include "edr_zlib.h"

#include <errno.h>
#include <string.h>

#include <zlib.h>

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void edr_lj_init(struct edr_lj *d, size_t max_event, size_t max_body)
{
	memset(d, 0, sizeof(*d));
	d->max_event = max_event;
	d->max_body = max_body;
	buf_init(&d->in);
	buf_init(&d->inner);
	d->cur = &d->inner;
}

void edr_lj_set_scratch(struct edr_lj *d, struct buf *scratch)
{
	/* Only between windows: a window being decoded stays where it is. */
	if (d->cur->len == 0)
		d->cur = scratch != NULL ? scratch : &d->inner;
	d->scratch = scratch;
}

void edr_lj_free(struct edr_lj *d)
{
	if (d == NULL)
		return;
	buf_free(&d->in);
	buf_free(&d->inner);
}

int edr_lj_push(struct edr_lj *d, const uint8_t *data, size_t len)
{
	return buf_append(&d->in, data, len);
}

size_t edr_lj_buffered(const struct edr_lj *d)
{
	return d->in.len;
}

void edr_lj_format_ack(uint8_t out[6], uint32_t seq)
{
	out[0] = '2';
	out[1] = 'A';
	out[2] = (uint8_t)(seq >> 24);
	out[3] = (uint8_t)(seq >> 16);
	out[4] = (uint8_t)(seq >> 8);
	out[5] = (uint8_t)seq;
}

static int fail(struct edr_lj *d, const char *why, int rc)
{
	d->error = why;
	return rc;
}

/* Inflates a 'C' payload into d->cur (the shared scratch buffer when
 * there is one), at most max_body bytes, straight into the buffer. */
static int inflate_frame(struct edr_lj *d, const uint8_t *p, size_t len)
{
	struct buf *out;
	z_stream z;
	int zr, rc = 0;

	d->cur = d->scratch != NULL ? d->scratch : &d->inner;
	out = d->cur;
	buf_reset(out);
	d->inner_off = 0;
	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)len;
	do {
		zr = edr_inflate_step(&z, out, d->max_body);
		if (zr == -ENOMEM || zr == Z_MEM_ERROR) {
			rc = -ENOMEM;
			goto out;
		}
		if (zr != Z_OK && zr != Z_STREAM_END) {
			rc = fail(d, "compressed frame: bad or truncated zlib stream", -EBADMSG);
			goto out;
		}
		if (out->len > d->max_body) {
			rc = fail(d, "compressed frame: more than max_body_bytes", -EMSGSIZE);
			goto out;
		}
	} while (zr != Z_STREAM_END);
	if (z.avail_in != 0)
		rc = fail(d, "compressed frame: bytes after the zlib stream", -EBADMSG);
out:
	inflateEnd(&z);
	if (rc < 0)
		buf_reset(out);
	return rc;
}

/* Decodes frames from p[*off..len). nested: inside a 'C' frame. Stops at a
 * partial frame (returns 0 with *off before it). */
static int decode(struct edr_lj *d, const uint8_t *p, size_t len, size_t *off, int nested,
		  edr_lj_event_fn cb, void *arg)
{
	while (len - *off >= 2) {
		const uint8_t *f = p + *off;
		size_t avail = len - *off;
		uint32_t n;
		int rc;

		if (f[0] != '2')
			return fail(d, f[0] == '1' ? "Lumberjack v1 frame; only v2 is spoken" :
				    "not a Lumberjack v2 frame", -EBADMSG);
		switch (f[1]) {
		case 'W':
			if (avail < 6)
				return 0;
			d->window = be32(f + 2);
			d->frames++;
			*off += 6;
			break;
		case 'J':
			if (avail < 10)
				return 0;
			n = be32(f + 6);
			if (n > d->max_event)
				return fail(d, "JSON frame larger than max_event_bytes", -EMSGSIZE);
			if (avail - 10 < n)
				return 0;
			rc = cb(arg, be32(f + 2), f + 10, n);
			if (rc < 0)
				return rc;
			d->frames++;
			d->events++;
			*off += 10 + (size_t)n;
			break;
		case 'C':
			if (nested)
				return fail(d, "compressed frame inside a compressed frame", -EBADMSG);
			if (avail < 6)
				return 0;
			n = be32(f + 2);
			if (n > d->max_body)
				return fail(d, "compressed frame larger than max_body_bytes", -EMSGSIZE);
			if (avail - 6 < n)
				return 0;
			rc = inflate_frame(d, f + 6, n);
			if (rc < 0)
				return rc;
			d->frames++;
			d->compressed_frames++;
			/* The 'C' frame is used up; its content is decoded from
			 * d->inner, where a refused event can wait. */
			*off += 6 + (size_t)n;
			return 1;
		default:
			return fail(d, "unknown Lumberjack v2 frame type", -EBADMSG);
		}
	}
	return 0;
}

static int drain_inner(struct edr_lj *d, edr_lj_event_fn cb, void *arg)
{
	struct buf *b = d->cur;
	int rc;

	if (d->inner_off >= b->len)
		return 0;
	rc = decode(d, b->data, b->len, &d->inner_off, 1, cb, arg);
	if (rc == 0 && d->inner_off != b->len)
		rc = fail(d, "compressed frame ends inside a frame", -EBADMSG);
	if (rc < 0 && b == d->scratch) {
		/* Other connections share the scratch buffer, so it is left
		 * empty: after a protocol error (this connection closes) the
		 * window is dropped; a refused event waits for the next decode
		 * with the rest of the window, moved to this connection's own
		 * buffer. */
		if (rc != -EBADMSG && rc != -EMSGSIZE) {
			buf_reset(&d->inner);
			if (buf_append(&d->inner, b->data + d->inner_off, b->len - d->inner_off) < 0)
				rc = -ENOMEM;
			d->cur = &d->inner;
		}
		buf_reset(b);
		d->inner_off = 0;
	}
	if (rc < 0)
		return rc;
	/* The connection's own buffer is freed, not kept: a window inflates
	 * to megabytes, and Beats shippers keep their connections open, so
	 * kept buffers would add up to one window per idle connection. The
	 * shared scratch buffer is kept for the next window. */
	if (b == &d->inner)
		buf_free(&d->inner);
	else
		buf_reset(b);
	d->cur = d->scratch != NULL ? d->scratch : &d->inner;
	d->inner_off = 0;
	return 0;
}

int edr_lj_decode(struct edr_lj *d, edr_lj_event_fn cb, void *arg)
{
	size_t off = 0;
	int rc;

	for (;;) {
		rc = drain_inner(d, cb, arg);
		if (rc < 0)
			break;
		rc = decode(d, d->in.data, d->in.len, &off, 0, cb, arg);
		if (rc != 1)
			break;
	}
	buf_consume(&d->in, off);
	return rc;
}
