/* ipc: framed messages between ward-agent and the processes it supervises
 * (the receivers, and one ward-sensor per capture interface), over an
 * inherited socketpair. ward-sensor sends 'S' and takes 'F'; it reads
 * the configuration file named on its command line, and a change to its
 * section restarts it.
 *
 * A frame is a 4-byte little-endian payload length, one type byte, and
 * the payload. The parent treats the child as untrusted (it parses
 * network input): lengths above IPC_MAX_FRAME end the channel.
 *
 *   child -> parent   'S' status JSON (every 500 ms)
 *                     'R' reload result: "ok" or the reason it failed
 *   parent -> child   'C' configuration: the YAML document, already validated
 *                     'F' flush: close the open segments now
 */
#ifndef WARD_IPC_H
#define WARD_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"

#define IPC_MAX_FRAME (16u * 1024 * 1024)

enum ipc_type {
	IPC_STATUS = 'S',
	IPC_RELOAD_RESULT = 'R',
	IPC_CONFIG = 'C',
	IPC_FLUSH = 'F',
};

struct ipc;
/* Called for each complete frame; `data` is valid during the call. */
typedef void (*ipc_frame_cb)(struct ipc *ch, uint8_t type, const uint8_t *data, size_t len);
/* Called once when the channel closes (EOF, error or oversized frame). */
typedef void (*ipc_close_cb)(struct ipc *ch);

struct ipc {
	uv_pipe_t pipe;
	struct buf in;
	ipc_frame_cb on_frame;
	ipc_close_cb on_close;
	void *data;          /* the owner's */
	int closed;
};

/* Opens the channel on `fd` (which it then owns) and starts reading.
 * 0 or a negative libuv error. */
int ipc_open(struct ipc *ch, uv_loop_t *loop, int fd, ipc_frame_cb on_frame,
	     ipc_close_cb on_close);
/* Queues one frame. 0, -ENOMEM, -EPIPE (closed) or -EMSGSIZE. */
int ipc_send(struct ipc *ch, uint8_t type, const void *data, size_t len);
/* Closes the handle; on_close runs once the handle is closed. */
void ipc_close(struct ipc *ch);

#endif
