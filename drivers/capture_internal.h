/* capture internals shared by capture.c and the backends. Not for callers. */
#ifndef WARD_DRIVERS_CAPTURE_INTERNAL_H
#define WARD_DRIVERS_CAPTURE_INTERNAL_H

#include <net/if.h>
#include <pcap/pcap.h>
#include <stdarg.h>

#include "capture.h"

struct capture_ops {
	int (*dispatch)(struct capture *c, uint32_t worker, capture_frame_fn fn, void *ctx,
			int timeout_ms);
	/* Adds the backend's own counters (received, kernel_drops) to out. */
	int (*stats)(struct capture *c, struct capture_stats *out);
	/* Called by capture_break after the eventfds are written; must be
	 * async-signal-safe. May be NULL. */
	void (*brk)(struct capture *c);
	void (*close)(struct capture *c);
};

/* The part every backend shares; each backend's struct starts with it. */
struct capture {
	const struct capture_ops *ops;
	enum capture_backend backend;
	uint32_t workers;
	int linktype;
	char ifname[IF_NAMESIZE];    /* "" for files */
	/* One eventfd per worker: capture_break writes them all, each worker
	 * drains its own, so one break wakes every worker once. */
	int *wake;
	char error[PCAP_ERRBUF_SIZE + 128];  /* the last dispatch error */
};

/* Fills the shared part and makes the wake eventfds. 0 or -errno. */
int capture__base_init(struct capture *c, const struct capture_ops *ops,
		       const struct capture_config *cfg, uint32_t workers);
/* Closes the wake eventfds. */
void capture__base_fini(struct capture *c);
/* Reads (drains) worker's wake eventfd; true when a break was pending. */
bool capture__woken(struct capture *c, uint32_t worker);

void capture__errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Compiles expr for linktype/snaplen with libpcap into prog, or fills err
 * with "bad BPF filter 'EXPR': <libpcap's reason>". 0 or -EINVAL. */
int capture__bpf_compile(pcap_t *p, const char *expr, struct bpf_program *prog,
			 char *err, size_t errlen);

int capture__file_open(struct capture **out, const struct capture_config *cfg, char *err,
		       size_t errlen);
int capture__pcap_open(struct capture **out, const struct capture_config *cfg, char *err,
		       size_t errlen);
int capture__afpacket_open(struct capture **out, const struct capture_config *cfg, char *err,
			   size_t errlen);

#endif
