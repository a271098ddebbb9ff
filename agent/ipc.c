#include "ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void ipc_closed_cb(uv_handle_t *h)
{
	struct ipc *ch = h->data;

	buf_free(&ch->in);
	if (ch->on_close != NULL)
		ch->on_close(ch);
}

void ipc_close(struct ipc *ch)
{
	if (ch->closed)
		return;
	ch->closed = 1;
	uv_close((uv_handle_t *)&ch->pipe, ipc_closed_cb);
}

static void ipc_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct ipc *ch = h->data;

	if (buf_reserve(&ch->in, 65536) < 0) {
		b->base = NULL;
		b->len = 0;
		return;
	}
	b->base = (char *)ch->in.data + ch->in.len;
	b->len = ch->in.cap - ch->in.len;
	(void)hint;
}

static void ipc_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct ipc *ch = st->data;
	size_t off = 0;

	(void)b;
	if (nread < 0) {
		ipc_close(ch);
		return;
	}
	ch->in.len += (size_t)nread;
	while (ch->in.len - off >= 5 && !ch->closed) {
		const uint8_t *p = ch->in.data + off;
		uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			       (uint32_t)p[3] << 24;

		if (len > IPC_MAX_FRAME) {
			log_error("ipc: frame of %u bytes exceeds the limit; closing", len);
			ipc_close(ch);
			return;
		}
		if (ch->in.len - off - 5 < len)
			break;
		ch->on_frame(ch, p[4], p + 5, len);
		off += 5 + (size_t)len;
	}
	if (!ch->closed)
		buf_consume(&ch->in, off);
}

int ipc_open(struct ipc *ch, uv_loop_t *loop, int fd, ipc_frame_cb on_frame,
	     ipc_close_cb on_close)
{
	int rc;

	buf_init(&ch->in);
	ch->on_frame = on_frame;
	ch->on_close = on_close;
	ch->closed = 0;
	rc = uv_pipe_init(loop, &ch->pipe, 0);
	if (rc < 0)
		return rc;
	ch->pipe.data = ch;
	rc = uv_pipe_open(&ch->pipe, fd);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&ch->pipe, ipc_alloc_cb, ipc_read_cb);
	if (rc < 0)
		ipc_close(ch);
	return rc;
}

static void ipc_write_cb(uv_write_t *req, int status)
{
	free(req);
	(void)status;
}

int ipc_send(struct ipc *ch, uint8_t type, const void *data, size_t len)
{
	uv_write_t *req;
	uint8_t *p;
	uv_buf_t b;

	if (ch->closed)
		return -EPIPE;
	if (len > IPC_MAX_FRAME)
		return -EMSGSIZE;
	req = malloc(sizeof(*req) + 5 + len);
	if (req == NULL)
		return -ENOMEM;
	p = (uint8_t *)(req + 1);
	p[0] = (uint8_t)len;
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)(len >> 16);
	p[3] = (uint8_t)(len >> 24);
	p[4] = type;
	if (len > 0)
		memcpy(p + 5, data, len);
	b = uv_buf_init((char *)p, (unsigned)(5 + len));
	if (uv_write(req, (uv_stream_t *)&ch->pipe, &b, 1, ipc_write_cb) < 0) {
		free(req);
		return -EPIPE;
	}
	return 0;
}
