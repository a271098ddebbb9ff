/* capture_probe: opens a capture backend on an interface (or a file) and
 * runs one thread per worker until COUNT frames in all, a timeout, or
 * SIGINT/SIGTERM; prints one JSON object on stdout.
 *
 *   capture_probe --backend pcap|afpacket|file -i IF|FILE [--workers N]
 *                 [--bpf EXPR] [--count N] [--timeout-ms T] [--user USER]
 *                 [--seccomp] [--block-size B] [--block-count N]
 *                 [--no-promisc] [--ready FILE] [--offload-only]
 *                 [--stall-until FILE]
 *
 * --user drops privilege (sandbox_drop) after the open; --seccomp then
 * installs the sensor's allow-list. --ready creates FILE once the capture
 * is open (before the drop), so a test starts its traffic only then.
 * --stall-until makes the workers wait for FILE before reading, then
 * read until the ring is empty and stop (to make the kernel drop).
 *
 * Output:
 *   {"per_worker":[N,...],"received":N,"kernel_drops":N,"if_rx_packets":N,
 *    "linktype":N,"offload":{"known":B,"gro":B,"lro":B},"uid":N,"seccomp":N,
 *    "max_wirelen":N,
 *    "vlan_frames":N,"flows":N,"flows_split":N,"flows_per_worker":[N,...]}
 * seccomp is /proc/self/status's mode (2: a filter is installed);
 * vlan_frames counts frames with an 802.1Q/802.1ad tag at offset 12;
 * flows counts IPv4/IPv6 TCP/UDP five-tuples (both directions as one),
 * flows_split those seen by more than one worker (0 with a working
 * fanout hash).
 *
 * Exit: 0 when COUNT frames arrived (or no --count was given), 3 on the
 * timeout, 1 on a usage error, 2 when the capture or the drop failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "log.h"
#include "sandbox.h"

#define MAX_WORKERS 64
#define FLOW_SLOTS (1u << 16)  /* per worker; a probe run has far fewer */

struct worker {
	pthread_t tid;
	uint32_t index;
	uint64_t frames, vlan;
	uint32_t max_wirelen;
	uint64_t *flows;             /* open addressing on flow hashes; 0 = empty */
	uint32_t nflows;
};

static struct capture *cap;
static uint64_t want;
static uint64_t total;
static volatile sig_atomic_t stop;
static const char *stall_until;  /* --stall-until FILE */
static uint32_t running;         /* workers not yet returned */
static bool ended;               /* a file reached its end */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
	if (cap != NULL)
		capture_break(cap);
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* A hash of the five-tuple, the same for both directions; 0 when the
 * frame is not TCP/UDP over IPv4/IPv6. */
static uint64_t flow_hash(const uint8_t *d, uint32_t n, bool *vlan)
{
	uint32_t off = 12, alen, l4;
	uint16_t type;
	const uint8_t *a, *b;
	uint8_t proto, ports[4];
	uint64_t h = 0xcbf29ce484222325ull;

	if (n < 14)
		return 0;
	type = (uint16_t)(d[off] << 8 | d[off + 1]);
	while ((type == 0x8100 || type == 0x88a8) && off + 6 <= n) {
		*vlan = true;
		off += 4;
		type = (uint16_t)(d[off] << 8 | d[off + 1]);
	}
	off += 2;
	if (type == 0x0800 && off + 20 <= n) {
		proto = d[off + 9];
		a = d + off + 12, b = d + off + 16, alen = 4;
		l4 = off + (uint32_t)(d[off] & 0xf) * 4;
	} else if (type == 0x86dd && off + 40 <= n) {
		proto = d[off + 6];
		a = d + off + 8, b = d + off + 24, alen = 16;
		l4 = off + 40;
	} else {
		return 0;
	}
	if ((proto != 6 && proto != 17) || l4 + 4 > n)
		return 0;
	memcpy(ports, d + l4, 4);
	/* Order the endpoints so both directions hash alike. */
	if (memcmp(a, b, alen) > 0 || (memcmp(a, b, alen) == 0 && memcmp(ports, ports + 2, 2) > 0)) {
		const uint8_t *t = a;
		uint8_t p0 = ports[0], p1 = ports[1];

		a = b, b = t;
		ports[0] = ports[2], ports[1] = ports[3], ports[2] = p0, ports[3] = p1;
	}
	h = fnv(h, a, alen);
	h = fnv(h, ports, 2);
	h = fnv(h, b, alen);
	h = fnv(h, ports + 2, 2);
	h = fnv(h, &proto, 1);
	return h ? h : 1;
}

static bool flow_has(const struct worker *w, uint64_t h)
{
	uint32_t i = (uint32_t)h & (FLOW_SLOTS - 1);

	while (w->flows[i] != 0) {
		if (w->flows[i] == h)
			return true;
		i = (i + 1) & (FLOW_SLOTS - 1);
	}
	return false;
}

static void flow_add(struct worker *w, uint64_t h)
{
	uint32_t i = (uint32_t)h & (FLOW_SLOTS - 1);

	if (w->nflows >= FLOW_SLOTS / 2)
		return;
	while (w->flows[i] != 0) {
		if (w->flows[i] == h)
			return;
		i = (i + 1) & (FLOW_SLOTS - 1);
	}
	w->flows[i] = h;
	w->nflows++;
}

static void on_frame(void *ctx, const struct capture_frame *f)
{
	struct worker *w = ctx;
	bool vlan = false;
	uint64_t h = flow_hash(f->data, f->caplen, &vlan);

	w->frames++;
	w->vlan += vlan;
	if (f->wirelen > w->max_wirelen)
		w->max_wirelen = f->wirelen;
	if (h != 0)
		flow_add(w, h);
	if (want > 0 && __atomic_add_fetch(&total, 1, __ATOMIC_RELAXED) == want)
		stop = 1;
}

/* --stall-until: the workers read nothing until FILE exists (the ring
 * fills and the kernel drops), then drain what the ring holds: the run
 * ends at the first dispatch that waited 300 ms (30 block timeouts) in
 * vain. */
static void *run_stalled(struct worker *w)
{
	int fd = -1;

	/* open, not access: the seccomp allow-list has openat only. */
	while (!stop && (fd = open(stall_until, O_RDONLY | O_CLOEXEC)) < 0) {
		struct timespec ts = { 0, 10 * 1000000 };

		nanosleep(&ts, NULL);
	}
	if (fd >= 0)
		close(fd);
	while (!stop) {
		int n = capture_dispatch(cap, w->index, on_frame, w, 300);

		if (n <= 0)
			break;
	}
	__atomic_sub_fetch(&running, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;

	if (stall_until != NULL)
		return run_stalled(w);
	while (!stop) {
		int n = capture_dispatch(cap, w->index, on_frame, w, 50);

		if (n == -ENODATA) {
			__atomic_store_n(&ended, true, __ATOMIC_RELAXED);
			break;
		}
		if (n < 0) {
			fprintf(stderr, "capture_probe: worker %u: %s\n", w->index,
				capture_last_error(cap));
			break;
		}
	}
	if (stop)
		capture_break(cap);
	__atomic_sub_fetch(&running, 1, __ATOMIC_RELAXED);
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void usage(void)
{
	fprintf(stderr, "usage: capture_probe --backend pcap|afpacket|file -i IF|FILE "
		"[--workers N] [--bpf EXPR] [--count N] [--timeout-ms T] [--user USER] "
		"[--seccomp] [--block-size B] [--block-count N] [--no-promisc] "
		"[--ready FILE] [--offload-only] [--stall-until FILE]\n");
	exit(1);
}

static void print_offload(const char *ifname)
{
	struct capture_offload off;

	(void)capture_offload_check(ifname, &off);
	printf("{\"known\":%s,\"gro\":%s,\"lro\":%s}", off.known ? "true" : "false",
	       off.gro ? "true" : "false", off.lro ? "true" : "false");
}

/* The Seccomp: line of /proc/self/status: 0 none, 2 a filter. */
static int seccomp_mode(void)
{
	char line[128];
	int mode = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode;
}

static void print_result(const struct worker *w, uint32_t nw, const char *ifname, bool file)
{
	struct capture_stats st;
	uint64_t flows = 0, split = 0, vlan = 0;
	uint32_t max_wirelen = 0;
	uint32_t i, j, k;

	(void)capture_stats(cap, &st);
	/* Each worker's flows: counted once overall, and as split when
	 * another worker saw the same one. */
	for (i = 0; i < nw; i++) {
		vlan += w[i].vlan;
		if (w[i].max_wirelen > max_wirelen)
			max_wirelen = w[i].max_wirelen;
		for (k = 0; k < FLOW_SLOTS; k++) {
			uint64_t h = w[i].flows[k];
			bool earlier = false, other = false;

			if (h == 0)
				continue;
			for (j = 0; j < nw; j++) {
				if (j == i || !flow_has(&w[j], h))
					continue;
				other = true;
				earlier |= j < i;
			}
			if (!earlier) {
				flows++;
				split += other;
			}
		}
	}
	printf("{\"per_worker\":[");
	for (i = 0; i < nw; i++)
		printf("%s%" PRIu64, i ? "," : "", w[i].frames);
	printf("],\"received\":%" PRIu64 ",\"kernel_drops\":%" PRIu64
	       ",\"if_rx_packets\":%" PRIu64 ",\"linktype\":%d,\"offload\":",
	       st.received, st.kernel_drops, st.if_rx_packets, capture_linktype(cap));
	if (file)
		printf("null");
	else
		print_offload(ifname);
	printf(",\"uid\":%u,\"seccomp\":%d,\"max_wirelen\":%u,\"vlan_frames\":%" PRIu64 ",\"flows\":%" PRIu64
	       ",\"flows_split\":%" PRIu64 ",\"flows_per_worker\":[",
	       (unsigned)getuid(), seccomp_mode(), max_wirelen, vlan, flows, split);
	for (i = 0; i < nw; i++)
		printf("%s%u", i ? "," : "", w[i].nflows);
	printf("]}\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "interface", required_argument, NULL, 'i' },
		{ "workers", required_argument, NULL, 'w' },
		{ "bpf", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "seccomp", no_argument, NULL, 's' },
		{ "block-size", required_argument, NULL, 'B' },
		{ "block-count", required_argument, NULL, 'N' },
		{ "no-promisc", no_argument, NULL, 'P' },
		{ "ready", required_argument, NULL, 'r' },
		{ "offload-only", no_argument, NULL, 'o' },
		{ "stall-until", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct capture_config cfg;
	struct worker *w = NULL;
	const char *user = NULL, *ready = NULL;
	bool seccomp = false, offload_only = false;
	uint64_t timeout_ms = 10000, deadline;
	struct sigaction sa;
	char err[512];
	uint32_t i, nw;
	int opt, rc = 0;

	log_setup("capture_probe", LOG_LVL_INFO);
	capture_config_defaults(&cfg);
	cfg.backend = CAPTURE_PCAP;
	while ((opt = getopt_long(argc, argv, "i:", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			if (capture_backend_parse(optarg, &cfg.backend) < 0)
				usage();
			break;
		case 'i': cfg.source = optarg; break;
		case 'w': cfg.workers = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'f': cfg.bpf = optarg; break;
		case 'n': want = strtoull(optarg, NULL, 10); break;
		case 't': timeout_ms = strtoull(optarg, NULL, 10); break;
		case 'u': user = optarg; break;
		case 's': seccomp = true; break;
		case 'B': cfg.block_size = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'N': cfg.block_count = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'P': cfg.promisc = false; break;
		case 'r': ready = optarg; break;
		case 'o': offload_only = true; break;
		case 'S': stall_until = optarg; break;
		default: usage();
		}
	}
	if (cfg.source == NULL || cfg.workers == 0 || cfg.workers > MAX_WORKERS)
		usage();
	if (offload_only) {
		print_offload(cfg.source);
		printf("\n");
		return 0;
	}
	if (cfg.backend != CAPTURE_AF_PACKET)
		cfg.workers = 1;
	if (capture_open(&cap, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "capture_probe: %s\n", err);
		return 2;
	}
	/* Frames queue in the ring from here on, so traffic may start. The
	 * file is made before the drop: the new user may not write there. */
	if (ready != NULL) {
		FILE *f = fopen(ready, "w");

		if (f == NULL || fclose(f) != 0) {
			fprintf(stderr, "capture_probe: %s: %s\n", ready, strerror(errno));
			rc = 2;
			goto out;
		}
	}
	if (user != NULL && sandbox_drop(user, err, sizeof(err)) < 0) {
		fprintf(stderr, "capture_probe: %s\n", err);
		rc = 2;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	nw = capture_workers(cap);
	w = calloc(nw, sizeof(*w));
	for (i = 0; w != NULL && i < nw; i++) {
		w[i].index = i;
		w[i].flows = calloc(FLOW_SLOTS, sizeof(uint64_t));
		if (w[i].flows == NULL) {
			rc = 2;
			goto out;
		}
	}
	if (w == NULL) {
		rc = 2;
		goto out;
	}
	/* Threads first: a seccomp filter applies to all (TSYNC) anyway, and
	 * the sensor starts its workers the same way. */
	if (seccomp && sandbox_seccomp(err, sizeof(err)) < 0) {
		fprintf(stderr, "capture_probe: %s\n", err);
		rc = 2;
		goto out;
	}
	running = nw;
	for (i = 0; i < nw; i++)
		pthread_create(&w[i].tid, NULL, run_worker, &w[i]);
	deadline = now_ms() + timeout_ms;
	while (!stop && now_ms() < deadline && __atomic_load_n(&running, __ATOMIC_RELAXED) > 0) {
		struct timespec ts = { 0, 20 * 1000000 };

		nanosleep(&ts, NULL);
	}
	if (want > 0 ? __atomic_load_n(&total, __ATOMIC_RELAXED) < want :
		       !stop && !__atomic_load_n(&ended, __ATOMIC_RELAXED))
		rc = 3;
	stop = 1;
	capture_break(cap);
	for (i = 0; i < nw; i++)
		pthread_join(w[i].tid, NULL);
	print_result(w, nw, cfg.source, cfg.backend == CAPTURE_FILE);
	/* Without --count, the run is measured, not judged. */
	if (want == 0)
		rc = 0;
out:
	capture_close(cap);
	if (w != NULL)
		for (i = 0; i < nw; i++)
			free(w[i].flows);
	free(w);
	return rc;
}
