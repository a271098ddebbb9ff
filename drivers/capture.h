/* capture: the packet sources of ward-sensor.
 *
 * Three backends, each compiled in by Kconfig and chosen by config:
 *   - CAPTURE_FILE: a pcap or pcapng file read with libpcap (offline);
 *   - CAPTURE_PCAP: a live interface through libpcap;
 *   - CAPTURE_AF_PACKET: a live interface through AF_PACKET TPACKET_V3
 *     rings, one socket per worker joined in a PACKET_FANOUT_HASH group,
 *     so the kernel keeps both directions of a flow on one worker.
 *
 * The life cycle: capture_open (with privilege: it opens sockets and sets
 * promiscuous mode), then the caller drops privilege, then each worker
 * calls capture_dispatch with its index until it returns -ENODATA (end of
 * a file) or the caller stops; capture_close last, after every worker has
 * returned.
 */
#ifndef WARD_DRIVERS_CAPTURE_H
#define WARD_DRIVERS_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum capture_backend {
	CAPTURE_FILE = 0,
	CAPTURE_PCAP,
	CAPTURE_AF_PACKET,
};

struct capture_config {
	enum capture_backend backend;
	const char *source;          /* interface name, or file path (borrowed) */
	uint32_t snaplen;            /* bytes per frame; default 65535 */
	bool promisc;                /* default true */
	const char *bpf;             /* filter expression (pcap-filter(7)); NULL = none.
	                              * AF_PACKET runs it in the kernel on the frame as
	                              * received, after the outer 802.1Q tag was taken
	                              * out: "vlan" matches nothing there, and "tcp"
	                              * matches tagged TCP too. libpcap live rewrites
	                              * "vlan" for the kernel itself. */
	uint32_t workers;            /* AF_PACKET fanout sockets; others use 1 */
	uint32_t block_size;         /* AF_PACKET ring block, bytes (power of 2 pages); default 1 MiB */
	uint32_t block_count;        /* AF_PACKET ring blocks per worker; default 64 */
	uint32_t block_timeout_ms;   /* AF_PACKET block retire timeout; default 10 */
	uint16_t fanout_group;       /* AF_PACKET group id; 0 = derived from pid */
};

/* One captured frame; `data` is valid during the callback only. */
struct capture_frame {
	const uint8_t *data;
	uint32_t caplen;             /* bytes in data */
	uint32_t wirelen;            /* bytes on the wire */
	uint64_t ts_us;              /* µs since the epoch */
};

typedef void (*capture_frame_fn)(void *ctx, const struct capture_frame *f);

struct capture_stats {
	uint64_t received;           /* frames handed to callbacks */
	uint64_t kernel_drops;       /* PACKET_STATISTICS tp_drops / pcap_stats ps_drop */
	uint64_t if_rx_packets;      /* the interface's own counters (sysfs); 0 for files */
	uint64_t if_rx_dropped;
	uint64_t if_rx_errors;
};

/* Offload features that merge frames and break analysis. */
struct capture_offload {
	bool gro, lro;
	bool known;                  /* false when ethtool could not tell */
};

struct capture;

/* The defaults the field comments above name. */
#define CAPTURE_DEFAULT_SNAPLEN          65535u
#define CAPTURE_DEFAULT_BLOCK_SIZE       (1u << 20)
#define CAPTURE_DEFAULT_BLOCK_COUNT      64u
#define CAPTURE_DEFAULT_BLOCK_TIMEOUT_MS 10u

/* Fills cfg with the defaults (backend CAPTURE_FILE, source NULL, no
 * filter, promiscuous, one worker, fanout group 0). A zero snaplen,
 * workers, block_size, block_count or block_timeout_ms given to
 * capture_open also means the default. */
void capture_config_defaults(struct capture_config *cfg);

/* "file", "pcap", "afpacket"; capture_backend_parse also takes
 * "af_packet". Parse: 0 or -EINVAL. */
const char *capture_backend_name(enum capture_backend b);
int capture_backend_parse(const char *name, enum capture_backend *out);

/* Opens the source. `err` (errlen bytes) receives a sentence for the
 * operator on failure, e.g. "eth1: no such interface" or "bad BPF filter
 * 'tcp port': syntax error". 0, -ENOENT (no such file or interface),
 * -EPERM (no privilege), -EINVAL (bad filter or ring geometry),
 * -ENOTSUP (backend not compiled in) or another negative errno. */
int capture_open(struct capture **out, const struct capture_config *cfg,
		 char *err, size_t errlen);
/* Closes every socket or file and frees the rings. NULL is accepted. */
void capture_close(struct capture *c);

/* The DLT_ link type of the frames (DLT_EN10MB for AF_PACKET). */
int capture_linktype(const struct capture *c);
/* Workers to run (cfg->workers for AF_PACKET, else 1). */
uint32_t capture_workers(const struct capture *c);

/* Hands the frames available to `worker` (0 .. workers-1) to `fn`,
 * waiting at most `timeout_ms` for the first. Returns the number of
 * frames (0 on timeout), -ENODATA at the end of a file, or a negative
 * errno: -EIO for a damaged file (capture_last_error says how; the frames
 * before the damage were handed first), -ENETDOWN when the interface
 * went away. Safe to call from one thread per worker at once.
 *
 * Frames go to `fn` in arrival order. AF_PACKET hands them straight from
 * the mmap'ed ring (no copy), except frames whose 802.1Q tag the kernel
 * stripped: the tag is put back in a per-worker buffer, so the decoder
 * sees VLANs on every backend. IPv4 fragments reach AF_PACKET workers
 * already reassembled by the kernel (PACKET_FANOUT_FLAG_DEFRAG, so that
 * they hash with their flow): one frame, longer than the MTU, with
 * wirelen the datagram's length. A file hands at most 1024 frames a
 * call. */
int capture_dispatch(struct capture *c, uint32_t worker, capture_frame_fn fn,
		     void *ctx, int timeout_ms);
/* Makes every worker's capture_dispatch return soon (async-signal-safe):
 * a dispatch in progress, or else the next one, of each worker returns
 * the frames it handed so far (0 or more) once. The caller checks its own
 * stop flag after each return. */
void capture_break(struct capture *c);

/* The sentence for the operator behind the last negative return of
 * capture_dispatch, e.g. "trace.pcap: truncated dump file; tried to read
 * 1514 captured bytes, only got 200"; "" when none. Owned by c. */
const char *capture_last_error(const struct capture *c);

/* Counters summed over workers. 0 or a negative errno. May run on
 * another thread while the workers dispatch (a stats timer). AF_PACKET's
 * PACKET_STATISTICS resets on each read; the sums are kept here, so
 * kernel_drops only grows. The if_rx_* counters come from
 * /sys/class/net/IF/statistics (the netns whose sysfs is mounted). */
int capture_stats(struct capture *c, struct capture_stats *out);

/* Reads GRO/LRO of interface `ifname` with the ethtool ioctl. 0 or a
 * negative errno (then out->known is false). */
int capture_offload_check(const char *ifname, struct capture_offload *out);

/* The status warning for `o`, with the fix, into buf (len bytes), e.g.
 * "eth1: GRO and LRO are on: they merge frames and break analysis; turn
 * them off with: ethtool -K eth1 gro off lro off". "" when both are off
 * or unknown. Returns the length snprintf would write. */
int capture_offload_advice(const char *ifname, const struct capture_offload *o, char *buf,
			   size_t len);

#endif
