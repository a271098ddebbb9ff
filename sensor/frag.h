/* frag: IPv4 and IPv6 fragment reassembly for the decoder (private).
 *
 * A table of datagrams under reassembly, keyed by struct frag_key, bounded
 * by a memory cap and a timeout in capture time. Each datagram keeps its
 * fragmentable part in one buffer that grows as fragments arrive, and a
 * bitmap of the 8-byte blocks it holds: a fragment's bytes are copied only
 * into blocks not yet held, so overlaps resolve first-wins and a datagram
 * is complete when the last fragment's end is known and every byte before
 * it is held. RFC 791 3.2 (IPv4) and RFC 8200 4.5 (IPv6) define the
 * fragment fields; RFC 5722's rule to drop overlapping IPv6 datagrams is
 * not followed, on purpose: a monitor must see what the receiver may have
 * accepted, and Zeek keeps the first copy too.
 *
 * Completed datagrams are handed out in buffers the table owns until the
 * next frag__release (the decoder calls it at the start of each frame).
 */
#ifndef WARD_SENSOR_FRAG_H
#define WARD_SENSOR_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* Identifies one datagram. Zero it before filling: it is compared and
 * hashed as bytes. */
struct frag_key {
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t id;             /* IPv4 identification or IPv6 fragment id */
	uint16_t vlan;
	uint16_t inner_vlan;
	uint8_t version;         /* 4 or 6 */
	uint8_t proto;           /* IPv4 protocol; 0 for IPv6 */
	uint8_t pad[2];
};

/* One arriving fragment. */
struct frag_in {
	struct frag_key key;
	uint64_t ts_us;
	const uint8_t *data;     /* the fragment's share of the fragmentable part */
	uint32_t offset;         /* bytes into the fragmentable part (multiple of 8) */
	uint32_t len;            /* bytes at data */
	bool more;               /* MF / M flag: not the last fragment */
	uint32_t hdr_len;        /* bytes of IP header before the fragmentable part
				  * (IPv6: 40 + unfragmentable extension headers) */
	uint8_t ttl;
	uint8_t proto;           /* IPv4 protocol; IPv6 fragment header's next header */
};

/* A completed datagram. */
struct frag_out {
	const uint8_t *data;     /* the fragmentable part; owned by the table */
	uint32_t len;
	uint32_t hdr_len;        /* of the first-arrived fragment */
	uint8_t ttl;             /* of the first-arrived fragment */
	uint8_t proto;           /* IPv4 protocol; IPv6: offset-0 fragment's next header */
	uint8_t reason;          /* FRAG_DROPPED: an enum decode_reject */
};

enum {
	FRAG_HELD = 0,           /* stored; the datagram is not complete */
	FRAG_DONE = 1,           /* `out` holds the datagram */
	FRAG_DROPPED = 2,        /* not kept; out->reason says why */
};

struct frag_table;

/* Creates a table holding at most `mem_max` bytes of datagrams, each for
 * at most `timeout_ms` of capture time. 0 or -ENOMEM. */
int frag__create(struct frag_table **out, size_t mem_max, uint32_t timeout_ms);
/* Frees the table, its datagrams and handed-out buffers. NULL is accepted. */
void frag__destroy(struct frag_table *t);

/* Adds one fragment. Returns FRAG_HELD, FRAG_DONE (stats->reassembled
 * counted) or FRAG_DROPPED (the fragment was not kept, and its datagram
 * may have been dropped too; out->reason is not counted here). Overlaps, timeouts and memory
 * evictions of other datagrams are counted into `stats->rejects`. */
int frag__insert(struct frag_table *t, const struct frag_in *in, struct frag_out *out,
		 struct decode_stats *stats);

/* Drops up to DECODE_FRAG_EXPIRE_MAX datagrams whose first fragment is
 * older than the timeout at `now_us`, counting each as frag_timeout. */
void frag__expire(struct frag_table *t, uint64_t now_us, struct decode_stats *stats);

/* Frees the buffers handed out since the last call. */
void frag__release(struct frag_table *t);

/* Bytes held now (datagrams and their buffers), for tests. */
size_t frag__mem_used(const struct frag_table *t);
/* Datagrams under reassembly, for tests. */
size_t frag__count(const struct frag_table *t);

#endif
