/* flow: the flow table, from decoded packets to Zeek conn records.
 *
 * Flows are keyed by five-tuple plus VLAN (outer and inner tag), both
 * directions to one flow. The table preallocates its flow slots up to a
 * memory cap (default 256 MiB) and never allocates per packet. A flow ends
 * by inactivity timeout (per protocol; Zeek's defaults: TCP 5 min, UDP and
 * ICMP 1 min), by TCP close, or by pressure (the table is full: the least
 * recently seen flow is evicted, counted, and its record still emitted).
 * Long flows emit an interim record every active timeout (default 10 min).
 *
 * TCP tracking yields Zeek's conn_state (S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0
 * RSTRH SH SHR OTH) and history string (letters ShADadFfRrTtWwIiQqGg^...,
 * with the repeat scaling of Zeek's base/protocols/conn: T, W and G are
 * repeated after 10, 100, 1000 ... occurrences; S, H, F, R again when
 * their sequence number differs), orig/resp payload bytes from sequence
 * numbers, and missed_bytes from ACK gaps. Field definitions: Zeek's
 * base/protocols/conn/main.zeek (Conn::Info). As in Zeek, UDP's
 * conn_state is S0 (originator only), SF (both), SHR (responder only) and
 * its history D/d; ICMP and other protocols are OTH with no history.
 *
 * Direction: the SYN's sender is the originator; without a SYN, the first
 * packet's sender is, unless only the other side uses a well-known port
 * (below 1024) and this side does not. For TCP, as in Zeek, when both
 * ports are well known and the packet has no SYN, the lower port is taken
 * as the responder's.
 * Such a flip, and Zeek's flip of a SYN-ACK seen before its SYN, add '^'
 * to the history. ICMP "ports" are the type and, as in Zeek and Community
 * ID, the counterpart type of a request/reply type (echo 8 <-> 0 ...) or
 * else the code, so an echo and its reply are one flow.
 *
 * Timers as in Zeek: a TCP attempt (SYN, no answer) ends 5 s after its
 * SYN (tcp_attempt_delay); a finished TCP connection (both FINs, a RST,
 * or a FIN with the other side silent) lingers 5 s (tcp_close_delay), so
 * its last ACK joins it, and a new SYN in that time starts a new flow.
 * The duration stops at the second FIN, as Zeek's does.
 *
 * Interim records carry the counters so far (cumulative, interim = true,
 * the flow's uid); the final record has the totals. An interim record is
 * emitted by the first packet after each multiple of active_timeout_ms of
 * flow age (Zeek has no such record; NetFlow's active timeout works
 * alike).
 *
 * Time is the packets' capture time, so a file replays like live traffic.
 * A table is used by one thread.
 */
#ifndef WARD_SENSOR_FLOW_H
#define WARD_SENSOR_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

/* Zeek's conn_state values. */
enum conn_state {
	CONN_S0 = 0, CONN_S1, CONN_SF, CONN_REJ, CONN_S2, CONN_S3, CONN_RSTO,
	CONN_RSTR, CONN_RSTOS0, CONN_RSTRH, CONN_SH, CONN_SHR, CONN_OTH,
};

/* One IP prefix of the hospital's own networks (local_orig/local_resp). */
struct flow_net {
	uint8_t ip_version;      /* 4 or 6 */
	uint8_t prefix_len;      /* bits */
	uint8_t addr[16];        /* network order; IPv4 in the first 4 bytes */
};

struct flow_config {
	size_t mem_max;              /* bytes for flow state; default 256 MiB */
	uint32_t tcp_timeout_ms;     /* inactivity; default 300000 */
	uint32_t udp_timeout_ms;     /* default 60000 */
	uint32_t icmp_timeout_ms;    /* default 60000 (also other protocols) */
	uint32_t active_timeout_ms;  /* interim records; default 600000; 0 = off */
	const struct flow_net *local_nets; /* borrowed for the table's life */
	size_t n_local_nets;
	uint64_t uid_seed;           /* mixes into uids; 0 = random */
	uint16_t community_id_seed;  /* Community ID v1 seed; default 0 */
};

/* A conn record as it leaves the table. Strings are NUL-terminated and
 * owned by the table; they are valid during the emit callback only. */
struct conn {
	uint64_t ts_us;              /* first packet */
	char uid[24];                /* Zeek-style: 'C' + base62 */
	uint8_t ip_version;
	uint8_t proto;               /* IPPROTO_* */
	uint8_t orig_h[16], resp_h[16];
	uint16_t orig_p, resp_p;     /* ICMP: type, code */
	uint16_t vlan, inner_vlan;
	uint64_t duration_us;        /* last packet - first packet */
	uint64_t orig_bytes, resp_bytes;   /* payload, from seq numbers (TCP) or lengths */
	bool bytes_known;            /* always true now: every TCP packet has a
				      * sequence number (Zeek omits the byte
				      * counts and duration when duration is 0) */
	enum conn_state conn_state;
	bool local_orig, local_resp;
	uint64_t missed_bytes;       /* saturates at 2^32 - 1 per flow */
	char history[40];            /* at most 25 letters are kept */
	uint64_t orig_pkts, resp_pkts;
	uint64_t orig_ip_bytes, resp_ip_bytes;
	char community_id[40];       /* "1:" + base64 of SHA-1 (Community ID v1) */
	bool interim;                /* emitted by the active timeout; flow goes on */
	bool evicted;                /* emitted because the table was full */
	const char *service;         /* analyzer-detected service; NULL = none */
	uint32_t flow_id;            /* the flow's id while it lives (flow_ref.id) */
};

/* Where a packet went: flow_table_update_ref fills it. */
struct flow_ref {
	uint32_t id;                 /* the flow's id, unique among live flows; it
	                              * is reused after the flow's final record */
	bool is_orig;                /* sent by the originator (after any flip) */
	bool created;                /* this packet started the flow */
	bool flipped;                /* this packet swapped the roles */
};

/* Called for each record; `c` is valid during the call only. */
typedef void (*flow_emit_fn)(void *ctx, const struct conn *c);

struct flow_stats {
	uint64_t flows_created;
	uint64_t flows_active;       /* now */
	uint64_t flows_capacity;     /* slots preallocated from mem_max */
	uint64_t evicted_pressure;   /* ended because the table was full */
	uint64_t expired;            /* ended by inactivity */
	uint64_t interim;            /* interim records by the active timeout */
	uint64_t packets;            /* packets given to flow_table_update */
	/* Capture-loss estimate (as Zeek's capture-loss, in bytes): bytes
	 * acknowledged between established endpoints, and of those the ones
	 * never seen; both counted as packets arrive. loss = gap / acked. */
	uint64_t ack_gap_bytes;
	uint64_t acked_bytes;
};

struct flow_table;

/* Creates a table and preallocates its slots (mem_max bytes at most; see
 * flow_state_bytes). `cfg` may be NULL for the defaults. `emit` receives
 * every record. 0, -EINVAL (mem_max too small for one flow) or -ENOMEM. */
int flow_table_create(struct flow_table **out, const struct flow_config *cfg,
		      flow_emit_fn emit, void *ctx);
/* Frees the table without emitting. NULL is accepted. */
void flow_table_destroy(struct flow_table *t);

/* Accounts one packet to its flow, creating the flow if needed (and
 * evicting under pressure). Also expires flows idle past their timeout
 * relative to p->ts_us, a bounded amount of work per call. 0 or -EINVAL
 * for a packet of an unknown IP version. */
int flow_table_update(struct flow_table *t, const struct pkt *p);
/* flow_table_update, and fills *ref with the packet's flow and side. */
int flow_table_update_ref(struct flow_table *t, const struct pkt *p, struct flow_ref *ref);
/* The sequence number of the first payload byte of one side of live TCP
 * flow `id` (its ISN + 1, or when its SYN was missed, what the first
 * packet or the peer's first ACK implies), for a reassembler that starts
 * late. false when that side has sent nothing and was never
 * acknowledged, or the flow is not TCP. */
bool flow_table_tcp_first_seq(const struct flow_table *t, uint32_t id, bool is_orig,
			      uint32_t *seq);
/* Fills the identity fields of *c for live flow `id` (from a flow_ref of
 * a flow that has not ended): ts_us, uid, ip_version, proto, orig_h/p,
 * resp_h/p, vlan, inner_vlan, local_orig, local_resp, community_id,
 * flow_id; the rest zero. 0, or -ENOENT when `id` was never a flow's. */
int flow_table_conn_ident(const struct flow_table *t, uint32_t id, struct conn *c);
/* Expires every flow idle at `now_us` (µs since the epoch), for a live
 * capture's idle moments. Interim records are left to the flows' next
 * packets. */
void flow_table_expire(struct flow_table *t, uint64_t now_us);
/* Ends and emits every flow (end of a file, or shutdown). */
void flow_table_flush(struct flow_table *t);

const struct flow_stats *flow_table_stats(const struct flow_table *t);
/* Bytes of state per flow slot, including its hash bucket (at most 200,
 * issue 4); mem_max / flow_state_bytes() is the table's capacity. */
size_t flow_state_bytes(void);

/* Zeek's name for a conn_state, e.g. "SF". */
const char *conn_state_name(enum conn_state s);

/* Community ID v1 (https://github.com/corelight/community-id-spec) of a
 * five-tuple, written NUL-terminated into `out` ("1:" + base64, 31 bytes
 * with the NUL). `seed` is the spec's 16-bit seed (0 by default). For
 * ICMP/ICMPv6, sport/dport are type/code and the spec's type mapping is
 * applied. 0, or -EINVAL for an unknown IP version or an `out` under 31
 * bytes. */
int community_id_v1(uint16_t seed, uint8_t ip_version, uint8_t proto,
		    const uint8_t *src, const uint8_t *dst, uint16_t sport,
		    uint16_t dport, char *out, size_t outlen);

#endif
