/* decode: captured frames to struct pkt (link, network, transport, tunnels).
 *
 * Link layers: Ethernet II (DLT_EN10MB) with 802.1Q, 802.1ad/QinQ, MPLS
 * label stacks and PPPoE; Linux cooked capture v1 (DLT_LINUX_SLL) and v2
 * (DLT_LINUX_SLL2) for files; raw IP (DLT_RAW, LINKTYPE_IPV4/IPV6); BSD
 * loopback (DLT_NULL, DLT_LOOP). Network: IPv4 with options
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
 *
 * Decisions the header's readers code against:
 * - VLAN tags: pkt.vlan is the first 802.1Q/802.1ad tag seen on the way in
 *   (outermost first), pkt.inner_vlan the second; later tags are skipped.
 *   So a tunnelled packet keeps the outer frame's tags, as Zeek keys a
 *   connection by the VLANs of the captured frame; the inner frame's tags
 *   fill only the slots the outer frame left empty (an ERSPAN session
 *   from an untagged port then still yields the mirrored frame's VLAN). Tag TPIDs
 *   0x8100, 0x88a8 and 0x9100; at most DECODE_MAX_VLAN_TAGS per frame.
 * - PPPoE sessions (0x8864, RFC 2516) carrying IPv4 or IPv6 are decoded,
 *   and so are 802.3 frames with an LLC SNAP header (RFC 1042); other
 *   802.3 frames (STP, CDP) are unsupported_ethertype.
 * - MPLS (0x8847, 0x8848): up to DECODE_MAX_MPLS_LABELS labels; after the
 *   bottom of stack the first nibble picks IPv4 (4) or IPv6 (6); anything
 *   else (pseudowires with a control word) is unsupported_ethertype.
 * - Tunnels (depth at most DECODE_MAX_TUNNEL_DEPTH): GRE version 0 with
 *   the C, K and S bits (RFC 2784, RFC 2890; the R bit of RFC 1701 is
 *   bad_tunnel) carrying IPv4, IPv6, MPLS, 0x6558 (transparent Ethernet
 *   bridging), 0x88be (ERSPAN type II, or type I when the S bit is clear:
 *   no ERSPAN header, reported as PKT_TUNNEL_ERSPAN2) or 0x22eb (ERSPAN
 *   type III with its optional 8-byte platform sub-header, frame type
 *   Ethernet or IP); VXLAN on UDP destination port 4789 with the I flag
 *   set (RFC 7348 5), inner Ethernet. pkt.tunnel is the outermost kind.
 *   ERSPAN II wants version 1 (0 is taken too: scapy's default), III
 *   version 2. The ERSPAN header's own VLAN field is not used. Other GRE
 *   payload types and GRE version 1 (PPTP) are unsupported_ethertype.
 * - IP-in-IP (protocols 4 and 41) is not decapsulated: the packet is
 *   handed out as protocol 4 or 41 with no ports.
 * - Lengths: pkt.ip_len is the IPv4 total length or the IPv6 payload
 *   length + 40 (for a reassembled datagram: the first-arrived fragment's
 *   header length, with IPv6's unfragmentable headers but without the
 *   fragment header, plus the reassembled payload, as Zeek counts it). A
 *   zero IPv4 total length (segmentation offload on the sender) or a zero
 *   IPv6 payload length before a hop-by-hop header (a jumbogram) is taken
 *   from the frame's wire length, at most 65535. Bytes
 *   after the IP length (Ethernet padding) are ignored; an IP length past
 *   the frame's wire length is bad_ip_header (a frame that was cut on the
 *   wire, not by the snap length; Zeek's truncated_IP). payload_wire_len
 *   comes from the IP and UDP lengths and TCP's data offset; a frame cut
 *   by the snap length decodes as long as its transport header is whole.
 * - Reassembly: keyed by (source, destination, identification, IPv4
 *   protocol or IPv6, vlan, inner_vlan); a fragment not captured whole is
 *   truncated_ip; a non-last fragment whose length is not a multiple of 8
 *   is bad_ip_header (IPv4) or bad_ipv6_ext (IPv6); overlapping or
 *   duplicate bytes keep the first copy and count frag_overlap once per
 *   fragment; a datagram over 65535 bytes is dropped as frag_too_big; the
 *   oldest datagrams are dropped (frag_memory) to make room under
 *   frag_mem_max, and one not completed within frag_timeout_ms of its
 *   first fragment is dropped (frag_timeout). Work per call is bounded:
 *   at most DECODE_FRAG_EXPIRE_MAX datagrams expire per call.
 *   Fragment (reassembly) memory is allocated as fragments arrive; the
 *   unfragmented path allocates nothing and copies no payload.
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

/* Link types decoder_decode accepts (DLT_ values of pcap/dlt.h; 101 is
 * LINKTYPE_RAW as pcap file headers spell it, 228/229 LINKTYPE_IPV4/6). */
#define DECODE_DLT_NULL       0    /* BSD loopback: 4-byte host-order family */
#define DECODE_DLT_EN10MB     1    /* Ethernet II */
#define DECODE_DLT_RAW        12   /* raw IPv4 or IPv6 */
#define DECODE_DLT_RAW_FILE   101  /* LINKTYPE_RAW */
#define DECODE_DLT_LOOP       108  /* OpenBSD loopback: network-order family */
#define DECODE_DLT_LINUX_SLL  113  /* Linux cooked capture v1 (16-byte header) */
#define DECODE_DLT_IPV4       228
#define DECODE_DLT_IPV6       229
#define DECODE_DLT_LINUX_SLL2 276  /* Linux cooked capture v2 (20-byte header) */

#define DECODE_MAX_VLAN_TAGS    4  /* per link frame; more is too_many_tags */
#define DECODE_MAX_MPLS_LABELS  8
#define DECODE_MAX_TUNNEL_DEPTH 3  /* nested tunnels; more is tunnel_depth */
#define DECODE_VXLAN_PORT       4789
#define DECODE_FRAG_EXPIRE_MAX  16 /* datagrams expired per decoder_decode */

/* A zero field takes its default. */
struct decode_config {
	size_t frag_mem_max;         /* bytes held for reassembly; default 16 MiB */
	uint32_t frag_timeout_ms;    /* incomplete datagram lifetime; default 30000 */
};

/* rejects[] counts each DECODE_REJECTED frame under its reason, and also
 * reassembly events that did not reject the frame at hand: frag_overlap
 * (the datagram may still complete), frag_timeout and frag_memory for
 * other datagrams dropped while this frame was decoded. */
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

/* A stable snake_case name for a reject reason, e.g. "truncated_ip";
 * "unknown" for a value out of range. */
const char *decode_reject_name(enum decode_reject r);

#endif
