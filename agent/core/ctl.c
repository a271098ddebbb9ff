#include "ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

struct ctl_conn {
	uv_pipe_t pipe;
	struct ctl_server *cs;
	struct buf in;
	struct buf out;
	uv_write_t wr;
	int answered;
};

static void conn_closed_cb(uv_handle_t *h)
{
	struct ctl_conn *c = h->data;

	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

static void conn_close(struct ctl_conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->pipe))
		uv_close((uv_handle_t *)&c->pipe, conn_closed_cb);
}

static void conn_written_cb(uv_write_t *req, int status)
{
	conn_close(req->data);
	(void)status;
}

static void conn_answer(struct ctl_conn *c)
{
	uv_buf_t b;
	char *nl;

	c->answered = 1;
	uv_read_stop((uv_stream_t *)&c->pipe);
	buf_append_byte(&c->in, 0);
	nl = strchr((char *)c->in.data, '\n');
	if (nl != NULL)
		*nl = '\0';
	c->cs->handler(c->cs->arg, (char *)c->in.data, &c->out);
	buf_append_byte(&c->out, '\n');
	b = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->pipe, &b, 1, conn_written_cb) < 0)
		conn_close(c);
}

static void conn_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct ctl_conn *c = h->data;

	(void)hint;
	if (buf_reserve(&c->in, 512) < 0) {
		b->base = NULL;
		b->len = 0;
		return;
	}
	b->base = (char *)c->in.data + c->in.len;
	b->len = c->in.cap - c->in.len;
}

static void conn_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct ctl_conn *c = st->data;

	(void)b;
	if (c->answered)
		return;
	if (nread < 0) {
		/* A client that half-closes after its request still gets an answer. */
		if (nread == UV_EOF && c->in.len > 0)
			conn_answer(c);
		else
			conn_close(c);
		return;
	}
	c->in.len += (size_t)nread;
	if (memchr(c->in.data, '\n', c->in.len) != NULL)
		conn_answer(c);
	else if (c->in.len > CTL_MAX_REQUEST)
		conn_close(c);
}

static void ctl_connection_cb(uv_stream_t *server, int status)
{
	struct ctl_server *cs = server->data;
	struct ctl_conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->cs = cs;
	buf_init(&c->in);
	buf_init(&c->out);
	uv_pipe_init(server->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&c->pipe, conn_alloc_cb, conn_read_cb) < 0)
		conn_close(c);
}

/* True when an agent answers on `path`. */
static int ctl_socket_live(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, live;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return live;
}

int ctl_server_start(struct ctl_server *cs, uv_loop_t *loop, const char *path,
		     ctl_handler handler, void *arg)
{
	int rc;

	if (strlen(path) >= sizeof(cs->path))
		return -ENAMETOOLONG;
	snprintf(cs->path, sizeof(cs->path), "%s", path);
	cs->handler = handler;
	cs->arg = arg;
	cs->listening = 0;
	if (ctl_socket_live(path))
		return -EADDRINUSE;
	(void)unlink(path);
	rc = uv_pipe_init(loop, &cs->pipe, 0);
	if (rc < 0)
		return rc;
	cs->pipe.data = cs;
	rc = uv_pipe_bind(&cs->pipe, path);
	if (rc == 0) {
		(void)chmod(path, 0660);
		rc = uv_listen((uv_stream_t *)&cs->pipe, 16, ctl_connection_cb);
	}
	if (rc < 0) {
		uv_close((uv_handle_t *)&cs->pipe, NULL);
		return rc;
	}
	cs->listening = 1;
	return 0;
}

void ctl_server_stop(struct ctl_server *cs)
{
	if (!cs->listening)
		return;
	cs->listening = 0;
	uv_close((uv_handle_t *)&cs->pipe, NULL);
	(void)unlink(cs->path);
}

int ctl_request(const char *path, const char *request, struct buf *reply, int timeout_ms)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	char tmp[4096];
	size_t len = strlen(request);
	ssize_t n;
	int fd, rc = 0;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    write(fd, request, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		rc = -errno;
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		int pr = poll(&pfd, 1, timeout_ms);

		if (pr == 0) {
			rc = -ETIMEDOUT;
			goto out;
		}
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		n = read(fd, tmp, sizeof(tmp));
		if (n == 0)
			break;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (buf_append(reply, tmp, (size_t)n) < 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}
