/* delayline: a point-to-point IP link with a fixed one-way delay, and
 * optionally random loss, between two network namespaces, for `make bench`
 * and the namespace tests on kernels built without sch_netem.
 *
 *   delayline NETNS_A DEV_A NETNS_B DEV_B DELAY_MS [LOSS_PERCENT]
 *
 * Creates the TUN device DEV_A (IFF_TUN | IFF_NO_PI: bare IP packets) in
 * the named namespace NETNS_A (/run/netns/NETNS_A, as `ip netns add` makes
 * it) and DEV_B in NETNS_B, prints "ready" on stdout, and from then on
 * writes every packet read from one device into the other DELAY_MS
 * milliseconds later, in order, in both directions: the round trip gets
 * twice DELAY_MS. The caller gives the devices their addresses and brings
 * them up (`ip netns exec NETNS_A ip addr add A peer B dev DEV_A`, ...).
 *
 * Rate limiting is left to the kernel: a `tc qdisc ... tbf` on each device
 * shapes what leaves that namespace before this program reads it, so the
 * delay comes after the bottleneck, as on a real thin uplink. With
 * LOSS_PERCENT (0 to 100, decimals allowed; default 0), each packet of
 * either direction is dropped with that probability (counted in "lost").
 *
 * Both devices go away when the program exits (they are not persistent).
 * It runs until SIGTERM or SIGINT and then prints one line of counters:
 * "packets_ab=N packets_ba=N dropped=N lost=N". A direction holding more than
 * QUEUE_MAX packets drops the newest one (and counts it); at 5 Mbit/s and
 * 50 ms there are a few dozen in flight. Packets longer than SLOT_MAX are
 * dropped and counted too: leave the devices' MTU at its default, 1500. Exit status: 0, 1 on a system
 * error (named on stderr), 2 on bad usage.
 *
 * Test tool only: needs CAP_NET_ADMIN and CAP_SYS_ADMIN (setns).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_MAX 4096
#define PKT_MAX 65536 /* a TUN read never returns more than the MTU, at most 64 KiB */
#define SLOT_MAX 2048 /* queued packets: the devices keep the default MTU of 1500 */

struct pkt {
	int64_t due_us;
	size_t len;
	uint8_t *data;
};

/* One direction: packets read from fd_in, written to fd_out when due. */
struct dir {
	int fd_in, fd_out;
	struct pkt q[QUEUE_MAX];
	unsigned head, n;
	uint64_t forwarded, dropped, lost;
};

/* The loss draw: xorshift64*, seeded from the clock; no secrecy needed. */
static uint64_t rng_state;
static uint32_t loss_below;     /* drop when a 32-bit draw is below this */

static uint32_t rng32(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Creates the TUN device NAME in the namespace /run/netns/NETNS. The
 * process stays in that namespace afterwards, which is harmless: the
 * device belongs to the namespace it was created in. Returns the
 * non-blocking fd, or -1 with the reason on stderr. */
static int tun_open(const char *netns, const char *name)
{
	char path[4096];
	struct ifreq ifr;
	int nsfd, fd;

	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "delayline: %s: %s\n", path, strerror(errno));
		if (nsfd >= 0)
			close(nsfd);
		return -1;
	}
	close(nsfd);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "delayline: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		fprintf(stderr, "delayline: device name %s longer than %zu bytes\n", name,
			sizeof(ifr.ifr_name) - 1);
		close(fd);
		return -1;
	}
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "delayline: TUNSETIFF %s in %s: %s\n", name, netns, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads every packet waiting on d->fd_in into the queue. */
static void dir_read(struct dir *d, int64_t due_us)
{
	static uint8_t tmp[PKT_MAX];
	struct pkt *p;
	ssize_t n;

	for (;;) {
		n = read(d->fd_in, tmp, sizeof(tmp));
		if (n <= 0)
			return; /* EAGAIN: drained; other errors show on the next poll */
		if (d->n == QUEUE_MAX || n > SLOT_MAX) {
			d->dropped++;
			continue;
		}
		if (loss_below > 0 && rng32() < loss_below) {
			d->lost++;
			continue;
		}
		p = &d->q[(d->head + d->n) % QUEUE_MAX];
		/* A slot's buffer is allocated on first use and kept. */
		if (p->data == NULL)
			p->data = malloc(SLOT_MAX);
		if (p->data == NULL) {
			d->dropped++;
			continue;
		}
		memcpy(p->data, tmp, (size_t)n);
		p->len = (size_t)n;
		p->due_us = due_us;
		d->n++;
	}
}

/* Writes the packets that are due; returns microseconds until the next
 * one is, or -1 when the queue is empty. */
static int64_t dir_write(struct dir *d, int64_t now)
{
	struct pkt *p;

	while (d->n > 0) {
		p = &d->q[d->head];
		if (p->due_us > now)
			return p->due_us - now;
		/* A TUN write hands the packet to the stack at once; a failure
		 * (the device went down) loses this one packet, as a wire would. */
		if (write(d->fd_out, p->data, p->len) < 0)
			d->dropped++;
		else
			d->forwarded++;
		d->head = (d->head + 1) % QUEUE_MAX;
		d->n--;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static struct dir ab, ba;
	struct pollfd pfd[2];
	int64_t delay_us, now, wait_ab, wait_ba, wait;
	char *end;
	double loss = 0;
	long ms;
	int fa, fb;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: delayline NETNS_A DEV_A NETNS_B DEV_B DELAY_MS "
			"[LOSS_PERCENT]\n");
		return 2;
	}
	if (argc == 7) {
		loss = strtod(argv[6], &end);
		if (*end != '\0' || end == argv[6] || !(loss >= 0 && loss <= 100)) {
			fprintf(stderr, "delayline: LOSS_PERCENT %s: want 0 to 100\n", argv[6]);
			return 2;
		}
	}
	loss_below = (uint32_t)(loss / 100.0 * 4294967295.0);
	rng_state = (uint64_t)mono_us() * 2654435761u | 1;
	ms = strtol(argv[5], &end, 10);
	if (*end != '\0' || end == argv[5] || ms < 0 || ms > 10000) {
		fprintf(stderr, "delayline: DELAY_MS %s: want 0 to 10000\n", argv[5]);
		return 2;
	}
	delay_us = (int64_t)ms * 1000;
	fa = tun_open(argv[1], argv[2]);
	if (fa < 0)
		return 1;
	fb = tun_open(argv[3], argv[4]);
	if (fb < 0)
		return 1;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	ab.fd_in = fa;
	ab.fd_out = fb;
	ba.fd_in = fb;
	ba.fd_out = fa;
	printf("ready\n");
	fflush(stdout);
	pfd[0].fd = fa;
	pfd[1].fd = fb;
	pfd[0].events = pfd[1].events = POLLIN;
	while (!stop) {
		now = mono_us();
		wait_ab = dir_write(&ab, now);
		wait_ba = dir_write(&ba, now);
		wait = wait_ab < 0 ? wait_ba : (wait_ba < 0 || wait_ab < wait_ba ? wait_ab : wait_ba);
		/* poll() counts in milliseconds: round up, so a packet is never
		 * sent early, and at most a millisecond late. */
		if (poll(pfd, 2, wait < 0 ? 1000 : (int)((wait + 999) / 1000)) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "delayline: poll: %s\n", strerror(errno));
			return 1;
		}
		now = mono_us();
		if (pfd[0].revents & POLLIN)
			dir_read(&ab, now + delay_us);
		if (pfd[1].revents & POLLIN)
			dir_read(&ba, now + delay_us);
	}
	printf("packets_ab=%llu packets_ba=%llu dropped=%llu lost=%llu\n",
	       (unsigned long long)ab.forwarded, (unsigned long long)ba.forwarded,
	       (unsigned long long)(ab.dropped + ba.dropped),
	       (unsigned long long)(ab.lost + ba.lost));
	return 0;
}
