/* udp_rx: a UDP socket read in batches, with the kernel's drop count.
 *
 * libuv's uv_udp_t hides ancillary data, so the kernel's count of
 * datagrams dropped for lack of receive buffer (SO_RXQ_OVFL, socket(7))
 * would be lost. udp_rx watches the socket with a uv_poll_t and reads
 * with recvmmsg(2), up to UDP_RX_BATCH datagrams per call, which also
 * saves a system call per datagram under load.
 *
 * Life cycle: the caller allocates struct udp_rx (usually inside its own
 * listener struct), udp_rx_open binds and starts reading, udp_rx_close
 * stops and closes; `closed` runs once the handle is closed, after which
 * the struct may be freed.
 */
#ifndef WARD_UDP_RX_H
#define WARD_UDP_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define UDP_RX_BATCH 8

struct udp_rx;

/* One datagram: `len` bytes (at most max_datagram; `truncated` when the
 * datagram was longer), received at `now_us` (µs since the epoch). */
typedef void (*udp_rx_cb)(struct udp_rx *u, const uint8_t *data, size_t len, bool truncated,
			  const struct sockaddr *from, int64_t now_us);

struct udp_rx {
	uv_poll_t poll;
	int fd;
	udp_rx_cb on_datagram;
	void (*closed)(struct udp_rx *u);
	void *data;                 /* the owner's */
	uint8_t *bufs;              /* UDP_RX_BATCH buffers of buf_len bytes */
	size_t buf_len;
	uint32_t ovfl_last;         /* the kernel's running SO_RXQ_OVFL total */
	uint64_t drops_kernel;      /* datagrams the kernel dropped since open */
	uint64_t datagrams;
	int open;
};

/* Binds `addr` (IPv6 sockets are v6-only), sets SO_RCVBUF to `rcvbuf`
 * bytes (SO_RCVBUFFORCE when permitted), and starts delivering datagrams of
 * up to `max_datagram` bytes to `cb`. Returns 0 or a negative errno
 * (-EADDRINUSE, -EACCES for a privileged port, ...). On failure nothing is
 * left open and `closed` is not called. */
int udp_rx_open(struct udp_rx *u, uv_loop_t *loop, const struct sockaddr_storage *addr,
		uint32_t rcvbuf, size_t max_datagram, udp_rx_cb cb);

/* Sends one datagram to `to` without blocking. A datagram is sent whole
 * or not at all. Returns 0 or a negative errno (-EAGAIN when the socket
 * buffer is full: the caller counts it, UDP has no retry). */
int udp_rx_send(struct udp_rx *u, const void *data, size_t len, const struct sockaddr *to);

/* Stops reading and closes; `closed(u)` runs when done. */
void udp_rx_close(struct udp_rx *u, void (*closed)(struct udp_rx *u));

#endif
