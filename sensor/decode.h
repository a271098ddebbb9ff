/* decode: captured frames to struct pkt (link, network, transport, tunnels).
 *
 * Link layers: Ethernet II (DLT_EN10MB) with 802.1Q, 802.1ad/QinQ and MPLS
 * label stacks; Linux cooked capture v1 (DLT_LINUX_SLL) and v2
 * (DLT_LINUX_SLL2) for files; raw IP (DLT_RAW). Network: IPv4 with options
 * and fragments (RFC 791), IPv6 with extension headers and fragments
 * (RFC 8200). Transport: TCP (RFC 9293), UDP (RFC 768), ICMP (RFC 792),
 * ICMPv6 (RFC 4443). Tunnels, decoded to the inner packet: GRE (RFC
 * 2784/2890), VXLAN (RFC 7348), ERSPAN type II and III.
 *
 * Every read is bounds-checked against the captured length. A frame that
 * cannot be decoded is rejected with a reason, counted in the decoder's
 * stats, and otherwise ignored.
 *
 * Fragments are reassembled in a table bounded by a memory cap and a
 * timeout; overlapping fragments are resolved first-wins, and a datagram
 * whose fragments do not fit the cap is dropped and counted.
 *
 * A decoder is used by one thread.
 */
#ifndef WARD_SENSOR_DECODE_H
#define WARD_SENSOR_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

/* Why a frame was not decoded. Names (decode_reject_name) are the keys of
 * the sensor's "decode_errors" counters. */
enum decode_reject {
	DECODE_R_TRUNCATED_LINK = 0, /* frame shorter than its link header */
	DECODE_R_UNSUPPORTED_LINKTYPE,
	DECODE_R_UNSUPPORTED_ETHERTYPE, /* not IP after the link and tags */
	DECODE_R_TOO_MANY_TAGS,      /* VLAN/MPLS stack deeper than supported */
	DECODE_R_TRUNCATED_IP,       /* IP header not captured whole */
	DECODE_R_BAD_IP_VERSION,
	DECODE_R_BAD_IP_HEADER,      /* IHL < 5, total length < header, ... */
	DECODE_R_BAD_IPV6_EXT,       /* extension header chain malformed */
	DECODE_R_FRAG_OVERLAP,       /* an overlapping fragment (first wins; counted) */
	DECODE_R_FRAG_MEMORY,        /* reassembly over its memory cap */
	DECODE_R_FRAG_TIMEOUT,       /* a datagram never completed */
	DECODE_R_FRAG_TOO_BIG,       /* reassembled length over 65535 */
	DECODE_R_TRUNCATED_L4,       /* TCP/UDP/ICMP header not captured whole */
	DECODE_R_BAD_TCP_HEADER,     /* data offset < 5 or past the segment */
	DECODE_R_BAD_UDP_LENGTH,
	DECODE_R_BAD_TUNNEL,         /* GRE/VXLAN/ERSPAN header malformed */
	DECODE_R_TUNNEL_DEPTH,       /* tunnels nested deeper than supported */
	DECODE_R_MAX
};

struct decode_config {
	size_t frag_mem_max;         /* bytes held for reassembly; default 16 MiB */
	uint32_t frag_timeout_ms;    /* incomplete datagram lifetime; default 30000 */
};

struct decode_stats {
	uint64_t frames;             /* frames given to decoder_decode */
	uint64_t bytes;              /* their wire bytes */
	uint64_t decoded;            /* packets handed out (incl. reassembled) */
	uint64_t fragments;          /* IP fragments received */
	uint64_t reassembled;        /* datagrams completed */
	uint64_t rejects[DECODE_R_MAX];
};

/* The decoder's result for one frame. */
enum decode_result {
	DECODE_OK = 0,       /* `out` holds a packet */
	DECODE_HELD = 1,     /* a fragment was stored; no packet yet */
	DECODE_REJECTED = 2, /* counted under a reason; `out` is unspecified */
};

struct decoder;

/* Creates a decoder; `cfg` may be NULL for the defaults. 0 or -ENOMEM. */
int decoder_create(struct decoder **out, const struct decode_config *cfg);
/* Frees the decoder and its reassembly table. NULL is accepted. */
void decoder_destroy(struct decoder *d);

/* Decodes one frame of link type `linktype` (a DLT_ value), `caplen` bytes
 * captured of `wirelen`, taken at `ts_us` (µs since the epoch). Returns an
 * enum decode_result. On DECODE_OK, out->payload may point into `frame`
 * or into the decoder's reassembly buffer; both are valid until the next
 * call on this decoder. Also expires reassembly state older than the
 * timeout, relative to `ts_us` (capture time, so files replay alike). */
int decoder_decode(struct decoder *d, int linktype, const uint8_t *frame,
		   uint32_t caplen, uint32_t wirelen, uint64_t ts_us, struct pkt *out);

/* Counters since creation. The pointer is the decoder's. */
const struct decode_stats *decoder_stats(const struct decoder *d);

/* A stable snake_case name for a reject reason, e.g. "truncated_ip". */
const char *decode_reject_name(enum decode_reject r);

#endif
