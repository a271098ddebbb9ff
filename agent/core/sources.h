/* sources: the per-source table of senders (syslog, SNMP).
 *
 * One entry per sending IP address (ports are ignored: a device's source
 * port changes with every TCP connection). Hospitals' log-audit rules ask
 * which assets are sending logs and since when; this table is that asset
 * state, shown by `wardctl status`.
 *
 * The table is bounded: past `max` sources, new senders are counted in
 * `overflow_messages` only. Lookups are O(1) (open addressing on the
 * address bytes).
 */
#ifndef WARD_SOURCES_H
#define WARD_SOURCES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum { SOURCE_UDP = 1, SOURCE_TCP = 2, SOURCE_TLS = 4 };
#define SOURCE_MAX_REJECTS 16

struct source {
	uint8_t family;          /* AF_INET or AF_INET6; 0 = free slot */
	uint8_t addr[16];
	uint8_t transports;      /* SOURCE_* bits seen */
	char name[48];           /* printable address */
	uint64_t messages;
	uint64_t bytes;          /* raw message bytes */
	uint64_t parse_errors;   /* messages not fully parsed */
	uint64_t truncated;
	/* Rejected messages by reason; the meaning of each index is the
	 * receiver's (e.g. enum snmp_reject). */
	uint64_t rejects[SOURCE_MAX_REJECTS];
	int64_t first_us, last_us;   /* µs since the epoch */
};

struct source_table {
	struct source *slots;
	size_t cap;              /* power of two, 2 * max */
	size_t max, n;
	uint64_t overflow_messages;
};

/* Allocates room for `max` sources. 0, -EINVAL (max 0) or -ENOMEM. */
int sources_init(struct source_table *t, size_t max);
/* NULL-safe; the struct may be re-initialised afterwards. */
void sources_free(struct source_table *t);

/* Finds or adds the entry for the address in `sa` (sockaddr_in or
 * sockaddr_in6; a v4-mapped v6 address counts as v4). Returns NULL when the
 * table is full (overflow_messages is then incremented) or the family is
 * unknown. The pointer is valid until sources_free. */
struct source *sources_get(struct source_table *t, const struct sockaddr *sa,
					 int64_t now_us);

/* Formats "192.0.2.7:514" or "[2001:db8::1]:514" into dst (>= 56 bytes). */
void sockaddr_format(const struct sockaddr *sa, char *dst, size_t len);

#endif
