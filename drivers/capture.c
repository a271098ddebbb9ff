/* capture: the backend-independent part. Picks the backend (each compiled
 * in by its CONFIG_CAPTURE_*), wakes workers on capture_break, and reads
 * the interface's counters and offloads, which do not depend on how the
 * frames are captured. */
#include "capture_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kconfig.h"

void capture_config_defaults(struct capture_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->backend = CAPTURE_FILE;
	cfg->snaplen = CAPTURE_DEFAULT_SNAPLEN;
	cfg->promisc = true;
	cfg->workers = 1;
	cfg->block_size = CAPTURE_DEFAULT_BLOCK_SIZE;
	cfg->block_count = CAPTURE_DEFAULT_BLOCK_COUNT;
	cfg->block_timeout_ms = CAPTURE_DEFAULT_BLOCK_TIMEOUT_MS;
}

static const char *const backend_names[] = {
	[CAPTURE_FILE] = "file",
	[CAPTURE_PCAP] = "pcap",
	[CAPTURE_AF_PACKET] = "afpacket",
};

const char *capture_backend_name(enum capture_backend b)
{
	if ((unsigned)b >= sizeof(backend_names) / sizeof(backend_names[0]))
		return "unknown";
	return backend_names[b];
}

int capture_backend_parse(const char *name, enum capture_backend *out)
{
	size_t i;

	for (i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++) {
		if (strcmp(name, backend_names[i]) == 0) {
			*out = (enum capture_backend)i;
			return 0;
		}
	}
	if (strcmp(name, "af_packet") == 0) {
		*out = CAPTURE_AF_PACKET;
		return 0;
	}
	return -EINVAL;
}

void capture__errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int capture__base_init(struct capture *c, const struct capture_ops *ops,
		       const struct capture_config *cfg, uint32_t workers)
{
	uint32_t i;

	c->ops = ops;
	c->backend = cfg->backend;
	c->workers = workers;
	c->linktype = DLT_EN10MB;
	c->error[0] = '\0';
	if (cfg->backend != CAPTURE_FILE)
		snprintf(c->ifname, sizeof(c->ifname), "%s", cfg->source);
	c->wake = malloc(workers * sizeof(*c->wake));
	if (c->wake == NULL)
		return -ENOMEM;
	for (i = 0; i < workers; i++)
		c->wake[i] = -1;
	for (i = 0; i < workers; i++) {
		c->wake[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->wake[i] < 0)
			return -errno;
	}
	return 0;
}

void capture__base_fini(struct capture *c)
{
	uint32_t i;

	if (c->wake == NULL)
		return;
	for (i = 0; i < c->workers; i++)
		if (c->wake[i] >= 0)
			close(c->wake[i]);
	free(c->wake);
	c->wake = NULL;
}

bool capture__woken(struct capture *c, uint32_t worker)
{
	uint64_t v;

	return read(c->wake[worker], &v, sizeof(v)) == (ssize_t)sizeof(v);
}

int capture__bpf_compile(pcap_t *p, const char *expr, struct bpf_program *prog,
			 char *err, size_t errlen)
{
	static const char noise[] = "can't parse filter expression: ";

	if (pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		const char *why = pcap_geterr(p);

		/* libpcap 1.10 puts this before its parser's own words. */
		if (strncmp(why, noise, sizeof(noise) - 1) == 0)
			why += sizeof(noise) - 1;
		capture__errf(err, errlen, "bad BPF filter '%s': %s", expr, why);
		return -EINVAL;
	}
	return 0;
}

static bool source_ok(const struct capture_config *cfg, char *err, size_t errlen)
{
	if (cfg->source == NULL || cfg->source[0] == '\0') {
		capture__errf(err, errlen, "no capture %s given",
			      cfg->backend == CAPTURE_FILE ? "file" : "interface");
		return false;
	}
	if (cfg->backend != CAPTURE_FILE &&
	    (strlen(cfg->source) >= IF_NAMESIZE || strchr(cfg->source, '/') != NULL)) {
		capture__errf(err, errlen, "%s: no such interface (not a valid interface name)",
			      cfg->source);
		return false;
	}
	return true;
}

int capture_open(struct capture **out, const struct capture_config *cfg, char *err,
		 size_t errlen)
{
	int rc = -ENOTSUP;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (!source_ok(cfg, err, errlen))
		return cfg->source == NULL || cfg->source[0] == '\0' ? -EINVAL : -ENOENT;
	switch (cfg->backend) {
	case CAPTURE_FILE:
		if (IS_ENABLED(CONFIG_CAPTURE_FILE))
			rc = capture__file_open(out, cfg, err, errlen);
		break;
	case CAPTURE_PCAP:
		if (IS_ENABLED(CONFIG_CAPTURE_PCAP))
			rc = capture__pcap_open(out, cfg, err, errlen);
		break;
	case CAPTURE_AF_PACKET:
		if (IS_ENABLED(CONFIG_CAPTURE_AF_PACKET))
			rc = capture__afpacket_open(out, cfg, err, errlen);
		break;
	default:
		capture__errf(err, errlen, "unknown capture backend %d", (int)cfg->backend);
		return -EINVAL;
	}
	if (rc == -ENOTSUP && (err == NULL || errlen == 0 || err[0] == '\0'))
		capture__errf(err, errlen, "capture backend '%s' is not compiled in (CONFIG_CAPTURE_%s)",
			      capture_backend_name(cfg->backend),
			      cfg->backend == CAPTURE_FILE ? "FILE" :
			      cfg->backend == CAPTURE_PCAP ? "PCAP" : "AF_PACKET");
	return rc;
}

void capture_close(struct capture *c)
{
	if (c == NULL)
		return;
	c->ops->close(c);
}

int capture_linktype(const struct capture *c)
{
	return c->linktype;
}

uint32_t capture_workers(const struct capture *c)
{
	return c->workers;
}

const char *capture_last_error(const struct capture *c)
{
	return c->error;
}

int capture_dispatch(struct capture *c, uint32_t worker, capture_frame_fn fn, void *ctx,
		     int timeout_ms)
{
	if (worker >= c->workers)
		return -EINVAL;
	return c->ops->dispatch(c, worker, fn, ctx, timeout_ms);
}

void capture_break(struct capture *c)
{
	uint64_t one = 1;
	uint32_t i;

	/* write(2) is async-signal-safe; a full counter (EAGAIN) still wakes. */
	for (i = 0; i < c->workers; i++) {
		ssize_t n = write(c->wake[i], &one, sizeof(one));

		(void)n;
	}
	if (c->ops->brk != NULL)
		c->ops->brk(c);
}

/* Reads one decimal counter from /sys/class/net/IF/statistics/NAME. */
static int read_if_counter(const char *ifname, const char *name, uint64_t *out)
{
	char path[96], buf[32];
	ssize_t n;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0) {
		rc = n < 0 ? -errno : -EIO;
		goto out;
	}
	buf[n] = '\0';
	if (sscanf(buf, "%" SCNu64, out) != 1)
		rc = -EIO;
out:
	close(fd);
	return rc;
}

int capture_stats(struct capture *c, struct capture_stats *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = c->ops->stats(c, out);
	if (rc < 0)
		return rc;
	if (c->ifname[0] == '\0')
		return 0;
	/* The interface's counters are best effort: a virtual interface may
	 * lack one, and the capture's own counters are still right. */
	(void)read_if_counter(c->ifname, "rx_packets", &out->if_rx_packets);
	(void)read_if_counter(c->ifname, "rx_dropped", &out->if_rx_dropped);
	(void)read_if_counter(c->ifname, "rx_errors", &out->if_rx_errors);
	return 0;
}

static int ethtool_get(int fd, const char *ifname, uint32_t cmd, uint32_t *val)
{
	struct ethtool_value ev = { .cmd = cmd };
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		return -errno;
	*val = ev.data;
	return 0;
}

int capture_offload_check(const char *ifname, struct capture_offload *out)
{
	uint32_t gro = 0, flags = 0;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if (ifname == NULL || strlen(ifname) >= IF_NAMESIZE)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The legacy commands are enough: the kernel answers them from the
	 * device's feature bits (NETIF_F_GRO, NETIF_F_LRO) for every driver,
	 * and reading needs no privilege. Hardware GRO (rx-gro-hw) needs
	 * NETIF_F_GRO on (netdev_fix_features), so GRO off covers it too. */
	rc = ethtool_get(fd, ifname, ETHTOOL_GGRO, &gro);
	if (rc == 0)
		rc = ethtool_get(fd, ifname, ETHTOOL_GFLAGS, &flags);
	close(fd);
	if (rc < 0)
		return rc;
	out->gro = gro != 0;
	out->lro = (flags & ETH_FLAG_LRO) != 0;
	out->known = true;
	return 0;
}

int capture_offload_advice(const char *ifname, const struct capture_offload *o, char *buf,
			   size_t len)
{
	bool both = o->gro && o->lro;

	if (len > 0)
		buf[0] = '\0';
	if (!o->known || (!o->gro && !o->lro))
		return 0;
	return snprintf(buf, len, "%s: %s %s on: %s analysis; turn %s off with: "
			"ethtool -K %s%s%s", ifname,
			both ? "GRO and LRO" : o->gro ? "GRO" : "LRO", both ? "are" : "is",
			both ? "they merge frames and break" : "it merges frames and breaks",
			both ? "them" : "it", ifname, o->gro ? " gro off" : "",
			o->lro ? " lro off" : "");
}
