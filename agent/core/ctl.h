/* ctl: the local control socket that wardctl talks to.
 *
 * A Unix stream socket. A client sends one request line ("status\n",
 * "flush\n", "reload\n"); the server answers with one JSON document and
 * closes the connection. The socket is local only: ward exposes no
 * remote-maintenance port (DESIGN.md). Access is by file mode (0660).
 *
 * Life cycle: the caller allocates struct ctl_server, ctl_server_start
 * binds and listens, ctl_server_stop closes (asynchronously; the struct
 * must stay valid until the loop has run the close callbacks).
 */
#ifndef WARD_CTL_H
#define WARD_CTL_H

#include <uv.h>

#include "buf.h"

#define CTL_MAX_REQUEST 4096

/* Handles one request line (without its LF) and appends the reply to
 * `reply`. The return value is ignored; errors belong in the reply. */
typedef void (*ctl_handler)(void *arg, const char *request, struct buf *reply);

struct ctl_server {
	uv_pipe_t pipe;
	ctl_handler handler;
	void *arg;
	char path[108];
	int listening;
};

/* Binds `path` and listens. A stale socket left by a dead agent is
 * replaced; a live one (something answers on it) is not: -EADDRINUSE.
 * Other errors: -ENAMETOOLONG, or the libuv error of bind/listen. */
int ctl_server_start(struct ctl_server *cs, uv_loop_t *loop, const char *path,
		     ctl_handler handler, void *arg);
/* Stops listening and unlinks the socket. */
void ctl_server_stop(struct ctl_server *cs);

/* Client side (wardctl): sends `request` and reads the whole reply into
 * `reply`, waiting at most `timeout_ms`. 0 or -errno (-ENOENT/-ECONNREFUSED
 * when no agent runs there, -ETIMEDOUT). */
int ctl_request(const char *path, const char *request, struct buf *reply, int timeout_ms);

#endif
