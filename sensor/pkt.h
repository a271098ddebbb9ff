/* pkt: one decoded packet, the hand-off from the decoder to the flow table.
 *
 * The decoder (decode.h) fills a struct pkt from a captured frame; the flow
 * table (flow.h) and, later, the analyzers read it. Nothing in it is owned:
 * `payload` points into the captured frame or into the decoder's reassembly
 * buffer, and is valid only until the next decoder call on the same decoder.
 *
 * Addresses and ports are those of the innermost IP packet: when a frame
 * arrives in a tunnel (GRE, VXLAN, ERSPAN), the outer layers only set
 * `tunnel` and the VLAN tags seen on the way are kept.
 *
 * Byte orders: ports, seq/ack and lengths are in host order; addresses are
 * in network order as on the wire.
 */
#ifndef WARD_SENSOR_PKT_H
#define WARD_SENSOR_PKT_H

#include <stdbool.h>
#include <stdint.h>

/* How the innermost packet was carried (outermost tunnel kind wins). */
enum pkt_tunnel {
	PKT_TUNNEL_NONE = 0,
	PKT_TUNNEL_GRE,         /* RFC 2784/2890, transparent Ethernet bridging or IP */
	PKT_TUNNEL_VXLAN,       /* RFC 7348, UDP 4789 */
	PKT_TUNNEL_ERSPAN2,     /* ERSPAN type II (GRE protocol 0x88be) */
	PKT_TUNNEL_ERSPAN3,     /* ERSPAN type III (GRE protocol 0x22eb) */
};

/* TCP flag bits as in the TCP header's flags octet (RFC 9293 3.1). */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20

struct pkt {
	uint64_t ts_us;          /* capture time, µs since the epoch */
	uint32_t caplen;         /* bytes captured of the frame */
	uint32_t wirelen;        /* bytes of the frame on the wire */

	uint16_t vlan;           /* outer 802.1Q VID (12 bits); 0 = untagged */
	uint16_t inner_vlan;     /* second tag (QinQ); 0 = none */
	uint8_t tunnel;          /* enum pkt_tunnel */

	uint8_t ip_version;      /* 4 or 6 */
	uint8_t proto;           /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 or other */
	uint8_t ttl;             /* IPv4 TTL or IPv6 hop limit */
	uint8_t src[16];         /* IPv4 in the first 4 bytes, rest zero */
	uint8_t dst[16];
	/* TCP/UDP ports. For ICMP and ICMPv6: sport = type, dport = code, as
	 * Zeek's conn.log and Community ID v1 do. 0 for other protocols. */
	uint16_t sport;
	uint16_t dport;
	/* IP length in bytes as the header states it: IPv4 total length, or
	 * IPv6 payload length + 40. For a reassembled datagram, the whole
	 * datagram's. Zeek's orig_ip_bytes/resp_ip_bytes sum this. */
	uint32_t ip_len;
	bool fragmented;         /* reassembled from IP fragments */

	/* TCP only (zero otherwise). */
	uint8_t tcp_flags;       /* PKT_TCP_* */
	uint32_t seq;
	uint32_t ack;
	uint16_t window;

	/* The transport payload: `payload_len` bytes captured, of
	 * `payload_wire_len` that the IP/transport lengths say were sent
	 * (larger when the snap length cut the frame). */
	const uint8_t *payload;
	uint32_t payload_len;
	uint32_t payload_wire_len;
};

#endif
