/* capture_afpacket: AF_PACKET TPACKET_V3 rings, one socket per worker,
 * joined in one PACKET_FANOUT_HASH group.
 *
 * The kernel fills a ring of blocks; a block holds many frames and is
 * handed to user space whole (when full, or after tp_retire_blk_tov ms).
 * The worker walks the frames in place and hands the block back by
 * writing TP_STATUS_KERNEL to its status word. The fanout hash is the
 * flow hash of the five-tuple, symmetric in both directions, so a flow
 * stays on one worker (Linux net/packet/af_packet.c, fanout_demux_hash);
 * FLAG_DEFRAG reassembles IPv4 fragments first so that they hash as their
 * datagram does: the worker gets the datagram whole, never a fragment.
 */
#include "capture_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* TPACKET_V3 packs frames of any length into a block, so tp_frame_size
 * means nothing for the ring's layout; it only has to pass the kernel's
 * checks (at least the frame header, TPACKET_ALIGNMENT-aligned). */
#define AFP_FRAME_SIZE 2048u
/* The 802.1Q tag the kernel strips and reports in tp_vlan_tci. */
#define AFP_VLAN_TAG_LEN 4u

struct afp_worker {
	int fd;
	uint8_t *ring;
	uint32_t cur;                /* the next block to read */
	uint8_t *scratch;            /* snaplen + 4: frames whose tag is put back */
	uint64_t received;           /* worker writes, stats reads (atomics) */
	uint64_t drops;              /* summed tp_drops, under the capture's lock */
};

struct capture_afp {
	struct capture base;
	uint32_t block_size, block_count, snaplen;
	int ifindex;
	bool loopback;
	pthread_mutex_t stats_lock;  /* PACKET_STATISTICS resets on read */
	struct afp_worker *w;
};

static void afp_frame(struct capture_afp *a, struct afp_worker *w,
		      const struct tpacket3_hdr *h, capture_frame_fn fn, void *ctx)
{
	const uint8_t *data = (const uint8_t *)h + h->tp_mac;
	struct capture_frame f = {
		.data = data,
		.caplen = h->tp_snaplen < a->snaplen ? h->tp_snaplen : a->snaplen,
		.wirelen = h->tp_len,
		.ts_us = (uint64_t)h->tp_sec * 1000000u + h->tp_nsec / 1000u,
	};

	/* The kernel takes the outer 802.1Q tag out of the frame (VLAN
	 * acceleration) and reports it beside it. Put it back, so that
	 * AF_PACKET frames look like libpcap's (which does the same). Only
	 * these frames are copied. */
	if ((h->tp_status & TP_STATUS_VLAN_VALID) && f.caplen >= 2 * ETH_ALEN) {
		uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) && h->hv1.tp_vlan_tpid ?
				h->hv1.tp_vlan_tpid : ETH_P_8021Q;
		uint16_t tag[2] = { htons(tpid), htons(h->hv1.tp_vlan_tci) };
		uint32_t n = f.caplen;

		if (n > a->snaplen - AFP_VLAN_TAG_LEN)
			n = a->snaplen - AFP_VLAN_TAG_LEN;
		memcpy(w->scratch, data, 2 * ETH_ALEN);
		memcpy(w->scratch + 2 * ETH_ALEN, tag, sizeof(tag));
		memcpy(w->scratch + 2 * ETH_ALEN + AFP_VLAN_TAG_LEN, data + 2 * ETH_ALEN,
		       n - 2 * ETH_ALEN);
		f.data = w->scratch;
		f.caplen = n + AFP_VLAN_TAG_LEN;
		f.wirelen += AFP_VLAN_TAG_LEN;
	}
	fn(ctx, &f);
}

static struct tpacket_block_desc *afp_block(struct capture_afp *a, struct afp_worker *w)
{
	return (struct tpacket_block_desc *)(w->ring + (size_t)w->cur * a->block_size);
}

static bool afp_block_ready(struct tpacket_block_desc *bd)
{
	return (__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
		TP_STATUS_USER) != 0;
}

/* On loopback every frame passes the taps twice, going out and coming
 * in; only the incoming copy is kept, as libpcap does. (The socket option
 * PACKET_IGNORE_OUTGOING is lost when the socket joins a fanout group.)
 * The frame's sockaddr_ll follows its header in the ring. */
static bool afp_outgoing(const struct tpacket3_hdr *h)
{
	const struct sockaddr_ll *sll = (const struct sockaddr_ll *)
		((const uint8_t *)h + TPACKET_ALIGN(sizeof(*h)));

	return sll->sll_pkttype == PACKET_OUTGOING;
}

/* Walks the ready blocks, at most one ring's worth, and hands them back. */
static int afp_drain(struct capture_afp *a, struct afp_worker *w, capture_frame_fn fn,
		     void *ctx)
{
	uint32_t blocks;
	int n = 0;

	for (blocks = 0; blocks < a->block_count; blocks++) {
		struct tpacket_block_desc *bd = afp_block(a, w);
		const uint8_t *p;
		uint32_t i, num;

		if (!afp_block_ready(bd))
			break;
		num = bd->hdr.bh1.num_pkts;
		p = (const uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt;
		for (i = 0; i < num; i++) {
			const struct tpacket3_hdr *h = (const struct tpacket3_hdr *)p;

			p += h->tp_next_offset;
			if (a->loopback && afp_outgoing(h))
				continue;
			afp_frame(a, w, h, fn, ctx);
			n++;
		}
		__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		w->cur = (w->cur + 1) % a->block_count;
	}
	__atomic_add_fetch(&w->received, (uint64_t)n, __ATOMIC_RELAXED);
	return n;
}

static int afp_dispatch(struct capture *c, uint32_t worker, capture_frame_fn fn, void *ctx,
			int timeout_ms)
{
	struct capture_afp *a = (struct capture_afp *)c;
	struct afp_worker *w = &a->w[worker];
	struct pollfd pfd[2] = {
		{ .fd = w->fd, .events = POLLIN },
		{ .fd = c->wake[worker], .events = POLLIN },
	};

	if (!afp_block_ready(afp_block(a, w))) {
		if (poll(pfd, 2, timeout_ms) < 0)
			return errno == EINTR ? 0 : -errno;
		if (pfd[1].revents & POLLIN) {
			(void)capture__woken(c, worker);
			return 0;
		}
		if (pfd[0].revents & (POLLERR | POLLNVAL)) {
			int e = 0;
			socklen_t len = sizeof(e);

			(void)getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &e, &len);
			snprintf(c->error, sizeof(c->error), "%s: capture failed: %s", c->ifname,
				 strerror(e ? e : ENETDOWN));
			return -(e ? e : ENETDOWN);
		}
	}
	return afp_drain(a, w, fn, ctx);
}

/* Adds what the kernel counted since the last read to each worker's sum. */
static void afp_collect(struct capture_afp *a)
{
	uint32_t i;

	for (i = 0; i < a->base.workers; i++) {
		struct tpacket_stats_v3 st;
		socklen_t len = sizeof(st);

		if (a->w[i].fd >= 0 &&
		    getsockopt(a->w[i].fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
			a->w[i].drops += st.tp_drops;
	}
}

static int afp_stats(struct capture *c, struct capture_stats *out)
{
	struct capture_afp *a = (struct capture_afp *)c;
	uint32_t i;

	pthread_mutex_lock(&a->stats_lock);
	afp_collect(a);
	for (i = 0; i < c->workers; i++) {
		out->received += __atomic_load_n(&a->w[i].received, __ATOMIC_RELAXED);
		out->kernel_drops += a->w[i].drops;
	}
	pthread_mutex_unlock(&a->stats_lock);
	return 0;
}

static void afp_close(struct capture *c)
{
	struct capture_afp *a = (struct capture_afp *)c;
	uint32_t i;

	if (a->w != NULL) {
		for (i = 0; i < c->workers; i++) {
			struct afp_worker *w = &a->w[i];

			if (w->ring != NULL && w->ring != MAP_FAILED)
				munmap(w->ring, (size_t)a->block_size * a->block_count);
			if (w->fd >= 0)
				close(w->fd);
			free(w->scratch);
		}
		free(a->w);
	}
	pthread_mutex_destroy(&a->stats_lock);
	capture__base_fini(c);
	free(a);
}

static const struct capture_ops afp_ops = {
	.dispatch = afp_dispatch,
	.stats = afp_stats,
	.close = afp_close,
};

/* The filter a socket has until it joined the fanout group: drop all.
 * Otherwise frames arriving between bind and the join would reach every
 * worker's socket, and a flow's first frames would be seen twice. */
static int afp_filter_none(int fd)
{
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = 1, .filter = &drop };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

/* Compiles cfg->bpf for Ethernet with libpcap. The accept value of the
 * compiled program is the snaplen, so the kernel truncates too. */
static int afp_compile(const struct capture_config *cfg, uint32_t snaplen,
		       struct bpf_program *prog, char *err, size_t errlen)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, (int)snaplen);
	int rc;

	if (dead == NULL)
		return -ENOMEM;
	rc = capture__bpf_compile(dead, cfg->bpf, prog, err, errlen);
	pcap_close(dead);
	return rc;
}

/* Makes worker w's socket: TPACKET_V3, the drop-all filter, the ring,
 * mapped, bound to the interface, promiscuous if asked. The fanout join
 * and the real filter come after, in capture__afpacket_open. */
static int afp_open_worker(struct capture_afp *a, struct afp_worker *w,
			   const struct capture_config *cfg, uint32_t retire_ms,
			   char *err, size_t errlen)
{
	struct tpacket_req3 req = {
		.tp_block_size = a->block_size,
		.tp_block_nr = a->block_count,
		.tp_frame_size = AFP_FRAME_SIZE,
		.tp_frame_nr = (a->block_size / AFP_FRAME_SIZE) * a->block_count,
		.tp_retire_blk_tov = retire_ms,
	};
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = a->ifindex,
	};
	const char *ifname = cfg->source;
	int ver = TPACKET_V3, rc;

	w->scratch = malloc(a->snaplen + AFP_VLAN_TAG_LEN);
	if (w->scratch == NULL)
		return -ENOMEM;
	/* Protocol 0: the socket receives nothing before bind. */
	w->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (w->fd < 0) {
		rc = errno == EACCES ? -EPERM : -errno;
		if (rc == -EPERM)
			capture__errf(err, errlen, "%s: capture needs root or CAP_NET_RAW", ifname);
		else
			capture__errf(err, errlen, "%s: AF_PACKET socket: %s", ifname,
				      strerror(-rc));
		return rc;
	}
	if (setsockopt(w->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) < 0 ||
	    afp_filter_none(w->fd) < 0) {
		rc = -errno;
		capture__errf(err, errlen, "%s: TPACKET_V3 not available: %s", ifname,
			      strerror(errno));
		return rc;
	}
	if (setsockopt(w->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		rc = -errno;
		capture__errf(err, errlen, "%s: the kernel refused a ring of %u blocks of %u bytes: %s",
			      ifname, a->block_count, a->block_size, strerror(errno));
		return rc;
	}
	w->ring = mmap(NULL, (size_t)a->block_size * a->block_count, PROT_READ | PROT_WRITE,
		       MAP_SHARED, w->fd, 0);
	if (w->ring == MAP_FAILED) {
		rc = -errno;
		w->ring = NULL;
		capture__errf(err, errlen, "%s: cannot map the ring (%u x %u bytes): %s", ifname,
			      a->block_count, a->block_size, strerror(errno));
		return rc;
	}
	if (bind(w->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		rc = -errno;
		capture__errf(err, errlen, "%s: cannot bind: %s", ifname, strerror(errno));
		return rc;
	}
	if (cfg->promisc) {
		struct packet_mreq mr = { .mr_ifindex = a->ifindex, .mr_type = PACKET_MR_PROMISC };

		/* A membership, unlike setting IFF_PROMISC, is counted by the
		 * kernel and undone when the socket closes, even after a crash. */
		if (setsockopt(w->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
			rc = -errno;
			capture__errf(err, errlen, "%s: cannot set promiscuous mode: %s", ifname,
				      strerror(errno));
			return rc;
		}
	}
	return 0;
}

/* Joins every socket to the fanout group, then swaps the drop-all filter
 * for the real one (or none). */
static int afp_join(struct capture_afp *a, const struct capture_config *cfg,
		    const struct bpf_program *prog, char *err, size_t errlen)
{
	static unsigned opened;
	/* Derived ids differ per process and per capture within one. */
	uint16_t group = cfg->fanout_group ? cfg->fanout_group :
			 (uint16_t)((unsigned)getpid() +
				    40503u * __atomic_fetch_add(&opened, 1, __ATOMIC_RELAXED));
	uint32_t arg = group | (uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16;
	struct sock_fprog fprog = {
		.len = prog != NULL ? (unsigned short)prog->bf_len : 0,
		.filter = prog != NULL ? (struct sock_filter *)prog->bf_insns : NULL,
	};
	uint32_t i;
	int rc;

	for (i = 0; i < a->base.workers; i++) {
		if (setsockopt(a->w[i].fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0) {
			rc = -errno;
			capture__errf(err, errlen, "%s: cannot join fanout group %u: %s%s",
				      cfg->source, group, strerror(errno),
				      errno == EINVAL || errno == EALREADY ?
				      " (another capture uses the group id: set another)" : "");
			return rc;
		}
	}
	for (i = 0; i < a->base.workers; i++) {
		/* The kernel's setsockopt wants an int-sized value even for
		 * SO_DETACH_FILTER, which ignores it (EINVAL otherwise). */
		int unused = 0;
		int r = prog != NULL ?
			setsockopt(a->w[i].fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) :
			setsockopt(a->w[i].fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused));

		if (r < 0) {
			rc = -errno;
			capture__errf(err, errlen, "%s: cannot attach BPF filter '%s': %s",
				      cfg->source, cfg->bpf ? cfg->bpf : "", strerror(errno));
			return rc;
		}
	}
	return 0;
}

static bool afp_is_loopback(const char *ifname)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool lo = false;

	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
		lo = (ifr.ifr_flags & IFF_LOOPBACK) != 0;
	close(fd);
	return lo;
}

static bool pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

int capture__afpacket_open(struct capture **out, const struct capture_config *cfg, char *err,
			   size_t errlen)
{
	uint32_t workers = cfg->workers ? cfg->workers : 1;
	uint32_t retire = cfg->block_timeout_ms ? cfg->block_timeout_ms :
			  CAPTURE_DEFAULT_BLOCK_TIMEOUT_MS;
	long page = sysconf(_SC_PAGESIZE);
	struct bpf_program prog = { 0 };
	bool have_prog = false;
	struct capture_afp *a;
	uint32_t i;
	int rc;

	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	pthread_mutex_init(&a->stats_lock, NULL);
	a->block_size = cfg->block_size ? cfg->block_size : CAPTURE_DEFAULT_BLOCK_SIZE;
	a->block_count = cfg->block_count ? cfg->block_count : CAPTURE_DEFAULT_BLOCK_COUNT;
	a->snaplen = cfg->snaplen ? cfg->snaplen : CAPTURE_DEFAULT_SNAPLEN;
	rc = capture__base_init(&a->base, &afp_ops, cfg, workers);
	if (rc < 0)
		goto out;
	a->w = calloc(workers, sizeof(*a->w));
	if (a->w == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < workers; i++)
		a->w[i].fd = -1;
	if (!pow2(a->block_size) || a->block_size < (uint32_t)page || workers > 1024 ||
	    a->snaplen < 2 * ETH_ALEN + AFP_VLAN_TAG_LEN) {
		capture__errf(err, errlen, "%s: bad ring geometry: block_size %u must be a power "
			      "of two of at least %ld bytes, workers at most 1024, snaplen at "
			      "least 16", cfg->source, a->block_size, page);
		rc = -EINVAL;
		goto out;
	}
	a->ifindex = (int)if_nametoindex(cfg->source);
	if (a->ifindex == 0) {
		capture__errf(err, errlen, "%s: no such interface", cfg->source);
		rc = -ENOENT;
		goto out;
	}
	a->loopback = afp_is_loopback(cfg->source);
	if (cfg->bpf != NULL && cfg->bpf[0] != '\0') {
		rc = afp_compile(cfg, a->snaplen, &prog, err, errlen);
		if (rc < 0)
			goto out;
		have_prog = true;
	}
	for (i = 0; i < workers; i++) {
		rc = afp_open_worker(a, &a->w[i], cfg, retire, err, errlen);
		if (rc < 0)
			goto out;
	}
	rc = afp_join(a, cfg, have_prog ? &prog : NULL, err, errlen);
out:
	if (have_prog)
		pcap_freecode(&prog);
	if (rc < 0) {
		afp_close(&a->base);
		a = NULL;
	}
	*out = a != NULL ? &a->base : NULL;
	return rc;
}
