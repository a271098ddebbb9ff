#include "udp_rx.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

/* Bounds the work done per wakeup so one busy socket cannot starve the
 * loop's other handles (TCP peers, timers, the control socket). */
#define UDP_RX_MAX_BATCHES_PER_WAKEUP 64

static void account_drops(struct udp_rx *u, struct msghdr *mh)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
			uint32_t v;

			memcpy(&v, CMSG_DATA(cm), sizeof(v));
			/* A running total per socket; unsigned arithmetic
			 * handles its wrap. */
			u->drops_kernel += (uint32_t)(v - u->ovfl_last);
			u->ovfl_last = v;
		}
	}
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct udp_rx *u = h->data;
	struct mmsghdr mm[UDP_RX_BATCH];
	struct iovec iov[UDP_RX_BATCH];
	struct sockaddr_storage from[UDP_RX_BATCH];
	char ctrl[UDP_RX_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	int batch, n, i;

	(void)events;
	if (status < 0)
		return;
	for (batch = 0; batch < UDP_RX_MAX_BATCHES_PER_WAKEUP && u->open; batch++) {
		int64_t now_us;

		for (i = 0; i < UDP_RX_BATCH; i++) {
			iov[i].iov_base = u->bufs + (size_t)i * u->buf_len;
			iov[i].iov_len = u->buf_len;
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_name = &from[i];
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
			mm[i].msg_hdr.msg_control = ctrl[i];
			mm[i].msg_hdr.msg_controllen = sizeof(ctrl[i]);
		}
		n = recvmmsg(u->fd, mm, UDP_RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		now_us = clock_wall_us();
		for (i = 0; i < n && u->open; i++) {
			size_t len = mm[i].msg_len;
			/* One spare byte per buffer tells a datagram of exactly
			 * the maximum from a longer one. */
			bool trunc = (mm[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 || len >= u->buf_len;

			if (len >= u->buf_len)
				len = u->buf_len - 1;
			account_drops(u, &mm[i].msg_hdr);
			u->datagrams++;
			u->on_datagram(u, iov[i].iov_base, len, trunc, (struct sockaddr *)&from[i], now_us);
		}
		if (n < UDP_RX_BATCH)
			break;
	}
}

int udp_rx_open(struct udp_rx *u, uv_loop_t *loop, const struct sockaddr_storage *addr,
		uint32_t rcvbuf, size_t max_datagram, udp_rx_cb cb)
{
	socklen_t sl = addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						    sizeof(struct sockaddr_in);
	int one = 1, fd, rc, rb = (int)rcvbuf;

	u->fd = -1;
	u->open = 0;
	u->on_datagram = cb;
	u->drops_kernel = u->datagrams = 0;
	u->ovfl_last = 0;
	u->buf_len = max_datagram + 1;
	u->bufs = malloc(u->buf_len * UDP_RX_BATCH);
	if (u->bufs == NULL)
		return -ENOMEM;
	fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	/* No SO_REUSEADDR: on UDP it would let a second socket share the
	 * port and take a share of the datagrams. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
	if (addr->ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, sl) < 0) {
		rc = -errno;
		goto out;
	}
	rc = uv_poll_init(loop, &u->poll, fd);
	if (rc < 0)
		goto out;
	u->poll.data = u;
	u->fd = fd;
	u->open = 1;
	rc = uv_poll_start(&u->poll, UV_READABLE, poll_cb);
	if (rc < 0) {
		/* The handle exists now; it must be closed through libuv. */
		udp_rx_close(u, NULL);
		return rc;
	}
	return 0;
out:
	if (fd >= 0)
		close(fd);
	free(u->bufs);
	u->bufs = NULL;
	return rc;
}

int udp_rx_send(struct udp_rx *u, const void *data, size_t len, const struct sockaddr *to)
{
	socklen_t sl = to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						  sizeof(struct sockaddr_in);

	if (!u->open)
		return -EBADF;
	if (sendto(u->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL, to, sl) < 0)
		return -errno;
	return 0;
}

static void closed_cb(uv_handle_t *h)
{
	struct udp_rx *u = h->data;

	close(u->fd);
	u->fd = -1;
	free(u->bufs);
	u->bufs = NULL;
	if (u->closed != NULL)
		u->closed(u);
}

void udp_rx_close(struct udp_rx *u, void (*closed)(struct udp_rx *u))
{
	if (!u->open)
		return;
	u->open = 0;
	u->closed = closed;
	uv_close((uv_handle_t *)&u->poll, closed_cb);
}
