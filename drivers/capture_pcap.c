/* capture_pcap: the libpcap backends, a file (CAPTURE_FILE) and a live
 * interface (CAPTURE_PCAP). Both hand libpcap's buffer to the callback
 * as it is; libpcap owns every byte. */
#include "capture_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

/* A file hands at most this many frames per capture_dispatch, so a
 * capture_break is seen within one batch. */
#define CAPTURE_FILE_BATCH 1024

#define CAPTURE_FILE_IOBUF (1u << 20)   /* bytes */

struct capture_pcap {
	struct capture base;
	pcap_t *p;
	bool live;
	int pending;                 /* an error to return on the next call */
	uint64_t received;           /* written by the one worker, read by stats */
	char source[256];            /* for error sentences */
	char *iobuf;                 /* the file's stdio buffer (file backend) */
};

struct pcap_cb_ctx {
	capture_frame_fn fn;
	void *ctx;
	int n;
};

static void pcap_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct pcap_cb_ctx *cc = (struct pcap_cb_ctx *)user;
	struct capture_frame f = {
		.data = bytes,
		.caplen = h->caplen,
		.wirelen = h->len,
		.ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec,
	};

	cc->fn(cc->ctx, &f);
	cc->n++;
}

/* Runs one pcap_dispatch and turns its result into ours. */
static int run_dispatch(struct capture_pcap *cp, int cnt, capture_frame_fn fn, void *ctx)
{
	struct pcap_cb_ctx cc = { .fn = fn, .ctx = ctx, .n = 0 };
	int n;

	n = pcap_dispatch(cp->p, cnt, pcap_cb, (u_char *)&cc);
	__atomic_add_fetch(&cp->received, (uint64_t)cc.n, __ATOMIC_RELAXED);
	if (n >= 0 || n == PCAP_ERROR_BREAK) {
		if (n == 0 && cc.n == 0 && !cp->live)
			return -ENODATA;
		return cc.n;
	}
	snprintf(cp->base.error, sizeof(cp->base.error), "%s: %s", cp->source,
		 pcap_geterr(cp->p));
	/* The frames before the damage were handed: report them now, and the
	 * error on this call or the next and every one after. */
	cp->pending = cp->live ? -ENETDOWN : -EIO;
	return cc.n > 0 ? cc.n : cp->pending;
}

static int file_dispatch(struct capture *c, uint32_t worker, capture_frame_fn fn, void *ctx,
			 int timeout_ms)
{
	struct capture_pcap *cp = (struct capture_pcap *)c;

	if (cp->pending < 0)
		return cp->pending;
	if (capture__woken(c, worker))
		return 0;
	return run_dispatch(cp, CAPTURE_FILE_BATCH, fn, ctx);
}

static int live_dispatch(struct capture *c, uint32_t worker, capture_frame_fn fn, void *ctx,
			 int timeout_ms)
{
	struct capture_pcap *cp = (struct capture_pcap *)c;
	struct pollfd pfd[2] = {
		{ .fd = pcap_get_selectable_fd(cp->p), .events = POLLIN },
		{ .fd = c->wake[worker], .events = POLLIN },
	};
	int n;

	if (cp->pending < 0)
		return cp->pending;
	/* The handle is non-blocking: frames already in libpcap's buffer go
	 * out at once, and only an empty buffer waits in poll(). */
	n = run_dispatch(cp, -1, fn, ctx);
	if (n != 0)
		return n;
	if (poll(pfd, 2, timeout_ms) < 0)
		return errno == EINTR ? 0 : -errno;
	if (pfd[1].revents & POLLIN) {
		(void)capture__woken(c, worker);
		return 0;
	}
	if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
		snprintf(c->error, sizeof(c->error), "%s: interface went down or away",
			 cp->source);
		return -ENETDOWN;
	}
	if (!(pfd[0].revents & POLLIN))
		return 0;
	return run_dispatch(cp, -1, fn, ctx);
}

static int pcap_backend_stats(struct capture *c, struct capture_stats *out)
{
	struct capture_pcap *cp = (struct capture_pcap *)c;
	struct pcap_stat ps;

	out->received = __atomic_load_n(&cp->received, __ATOMIC_RELAXED);
	/* pcap_stats' counters are cumulative since activation (libpcap
	 * keeps the running sum of the kernel's reset-on-read figures). */
	if (cp->live && pcap_stats(cp->p, &ps) == 0)
		out->kernel_drops = ps.ps_drop;
	return 0;
}

static void pcap_backend_brk(struct capture *c)
{
	pcap_breakloop(((struct capture_pcap *)c)->p);
}

static void pcap_backend_close(struct capture *c)
{
	struct capture_pcap *cp = (struct capture_pcap *)c;

	if (cp->p != NULL)
		pcap_close(cp->p);
	free(cp->iobuf);      /* after pcap_close, which fcloses the file */
	capture__base_fini(c);
	free(cp);
}

static const struct capture_ops file_ops = {
	.dispatch = file_dispatch,
	.stats = pcap_backend_stats,
	.brk = pcap_backend_brk,
	.close = pcap_backend_close,
};

static const struct capture_ops live_ops = {
	.dispatch = live_dispatch,
	.stats = pcap_backend_stats,
	.brk = pcap_backend_brk,
	.close = pcap_backend_close,
};

static int set_filter(struct capture_pcap *cp, const char *expr, char *err, size_t errlen)
{
	struct bpf_program prog;
	int rc;

	if (expr == NULL || expr[0] == '\0')
		return 0;
	rc = capture__bpf_compile(cp->p, expr, &prog, err, errlen);
	if (rc < 0)
		return rc;
	if (pcap_setfilter(cp->p, &prog) < 0) {
		capture__errf(err, errlen, "%s: cannot set BPF filter '%s': %s", cp->source, expr,
			      pcap_geterr(cp->p));
		rc = -EINVAL;
	}
	pcap_freecode(&prog);
	return rc;
}

static struct capture_pcap *pcap_alloc(const struct capture_config *cfg,
				       const struct capture_ops *ops, int *rc)
{
	struct capture_pcap *cp = calloc(1, sizeof(*cp));

	if (cp == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	snprintf(cp->source, sizeof(cp->source), "%s", cfg->source);
	*rc = capture__base_init(&cp->base, ops, cfg, 1);
	return cp;
}

int capture__file_open(struct capture **out, const struct capture_config *cfg, char *err,
		       size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture_pcap *cp;
	FILE *fp;
	int rc;

	cp = pcap_alloc(cfg, &file_ops, &rc);
	if (rc < 0)
		goto out;
	/* fopen first: libpcap's message for a missing file does not carry
	 * the errno, and the caller needs -ENOENT apart from damage. */
	fp = fopen(cfg->source, "rbe");
	if (fp == NULL) {
		rc = -errno;
		capture__errf(err, errlen, "%s: %s", cfg->source, strerror(errno));
		goto out;
	}
	/* libpcap reads a file through stdio, 4 KiB a read() by default: on
	 * a capture of full-size frames that was half of ward-sensor's CPU
	 * time (docs/performance.md, "Packet sensor"). glibc honours the
	 * size only with a buffer of the caller's; without one, stdio's. */
	cp->iobuf = malloc(CAPTURE_FILE_IOBUF);
	if (cp->iobuf != NULL)
		setvbuf(fp, cp->iobuf, _IOFBF, CAPTURE_FILE_IOBUF);
	cp->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (cp->p == NULL) {
		fclose(fp);
		capture__errf(err, errlen, "%s: not a pcap or pcapng file (%s)", cfg->source, ebuf);
		rc = -EINVAL;
		goto out;
	}
	cp->base.linktype = pcap_datalink(cp->p);
	rc = set_filter(cp, cfg->bpf, err, errlen);
out:
	if (rc < 0 && cp != NULL) {
		pcap_backend_close(&cp->base);
		cp = NULL;
	}
	*out = cp != NULL ? &cp->base : NULL;
	return rc;
}

/* Maps pcap_activate's result to an errno and a sentence. */
static int activate_error(struct capture_pcap *cp, int st, char *err, size_t errlen)
{
	const char *why = pcap_geterr(cp->p);

	switch (st) {
	case PCAP_ERROR_NO_SUCH_DEVICE:
		capture__errf(err, errlen, "%s: no such interface", cp->source);
		return -ENOENT;
	case PCAP_ERROR_PERM_DENIED:
	case PCAP_ERROR_PROMISC_PERM_DENIED:
		capture__errf(err, errlen, "%s: capture needs root or CAP_NET_RAW (%s)",
			      cp->source, why);
		return -EPERM;
	case PCAP_ERROR_IFACE_NOT_UP:
		capture__errf(err, errlen, "%s: interface is down", cp->source);
		return -ENETDOWN;
	default:
		capture__errf(err, errlen, "%s: cannot capture: %s", cp->source, why);
		return -EIO;
	}
}

int capture__pcap_open(struct capture **out, const struct capture_config *cfg, char *err,
		       size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	uint32_t snaplen = cfg->snaplen ? cfg->snaplen : CAPTURE_DEFAULT_SNAPLEN;
	uint32_t bs = cfg->block_size ? cfg->block_size : CAPTURE_DEFAULT_BLOCK_SIZE;
	uint32_t bn = cfg->block_count ? cfg->block_count : CAPTURE_DEFAULT_BLOCK_COUNT;
	uint32_t tmo = cfg->block_timeout_ms ? cfg->block_timeout_ms :
		       CAPTURE_DEFAULT_BLOCK_TIMEOUT_MS;
	struct capture_pcap *cp;
	int rc, st;

	cp = pcap_alloc(cfg, &live_ops, &rc);
	if (rc < 0)
		goto out;
	cp->live = true;
	cp->p = pcap_create(cfg->source, ebuf);
	if (cp->p == NULL) {
		capture__errf(err, errlen, "%s: %s", cfg->source, ebuf);
		rc = -ENOMEM;
		goto out;
	}
	/* libpcap's ring is the same size as the AF_PACKET backend's total
	 * for one worker; its read timeout is the block retire timeout. */
	if (pcap_set_snaplen(cp->p, (int)snaplen) != 0 ||
	    pcap_set_promisc(cp->p, cfg->promisc) != 0 ||
	    pcap_set_timeout(cp->p, (int)tmo) != 0 ||
	    pcap_set_buffer_size(cp->p, (int)((uint64_t)bs * bn > INT32_MAX ? INT32_MAX :
					       bs * bn)) != 0 ||
	    pcap_set_tstamp_precision(cp->p, PCAP_TSTAMP_PRECISION_MICRO) != 0) {
		capture__errf(err, errlen, "%s: cannot set capture options", cfg->source);
		rc = -EINVAL;
		goto out;
	}
	st = pcap_activate(cp->p);
	if (st < 0) {
		rc = activate_error(cp, st, err, errlen);
		goto out;
	}
	cp->base.linktype = pcap_datalink(cp->p);
	if (pcap_setnonblock(cp->p, 1, ebuf) < 0 || pcap_get_selectable_fd(cp->p) < 0) {
		capture__errf(err, errlen, "%s: cannot poll the capture: %s", cfg->source, ebuf);
		rc = -EIO;
		goto out;
	}
	rc = set_filter(cp, cfg->bpf, err, errlen);
out:
	if (rc < 0 && cp != NULL) {
		pcap_backend_close(&cp->base);
		cp = NULL;
	}
	*out = cp != NULL ? &cp->base : NULL;
	return rc;
}
