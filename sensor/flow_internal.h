/* flow_internal: what flow.c, flow_tcp.c and community_id.c share.
 *
 * A flow lives in one fixed-size slot of a preallocated array; slots link
 * to each other by u32 index (0 = none, slot 0 is never used), never by
 * pointer, so the index costs 4 bytes a link. Every field is sized for the
 * 200-byte-per-idle-flow budget of issue 4: flow_state_bytes() is the slot
 * plus its hash bucket.
 */
#ifndef WARD_SENSOR_FLOW_INTERNAL_H
#define WARD_SENSOR_FLOW_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"

/* Zeek's TCP endpoint states (TCP_Endpoint.h), 3 bits. */
enum flow_tcp_state {
	FLOW_TCP_INACTIVE = 0,  /* nothing seen from this side */
	FLOW_TCP_SYN_SENT,      /* SYN seen, no ACK */
	FLOW_TCP_SYN_ACK_SENT,  /* SYN-ACK seen, no initial SYN */
	FLOW_TCP_PARTIAL,       /* data seen, no SYN */
	FLOW_TCP_ESTABLISHED,
	FLOW_TCP_CLOSED,        /* FIN seen */
	FLOW_TCP_RESET,         /* RST seen */
};

/* One TCP endpoint: sequence numbers are absolute (host order). */
struct flow_tcp_ep {
	uint32_t start;          /* ISN, or first seq - 1 when no SYN was seen */
	uint32_t last;           /* one past the highest sequence sent */
	uint32_t ack;            /* highest ACK the peer sent for this side's data */
	/* Retransmissions, zero windows, content gaps: the counts behind the
	 * scaled letters T, W, G. They saturate at 65535, so the letters stop
	 * after the 10000th (Zeek would add one more at 100000). */
	uint16_t rxmit, win0, gap;
	/* Low 8 bits of the relative sequence number of the last SYN, FIN
	 * and RST: a repeated one adds its letter again when it differs. */
	uint8_t last_syn, last_fin, last_rst;
	uint8_t seq_wraps, ack_wraps;
	uint8_t state;           /* FLOW_EP_STATE/PREV bits, FLOW_EP_FIN, FLOW_EP_CLOSED */
};

#define FLOW_EP_STATE    0x07    /* enum flow_tcp_state */
#define FLOW_EP_PREV     0x38    /* the state before, << 3 */
#define FLOW_EP_FIN      0x40    /* a FIN was sent */
#define FLOW_EP_CLOSED   0x80    /* Zeek's did_close */

struct flow_tcp {
	struct flow_tcp_ep ep[2]; /* [0] originator, [1] responder */
	uint32_t missed_bytes;    /* saturates at 4 GiB */
	/* One pending hole: sequence space [hole_lo, hole_lo + hole_len) of
	 * side hole_side skipped by a later segment; if an ACK covers it
	 * before a segment fills it, it was never seen (a content gap). */
	uint32_t hole_lo, hole_len;
	uint16_t hist_seen;       /* Zeek's HIST_* bits, the responder's << 8 */
	uint8_t hole_side;        /* 0 none, 1 originator, 2 responder */
};

/* The LRU lists a flow can be on; each has its own timeout. */
enum flow_list {
	FLOW_L_TCP = 0,          /* TCP, by last packet; tcp_timeout_ms */
	FLOW_L_UDP,              /* udp_timeout_ms */
	FLOW_L_OTHER,            /* ICMP and other protocols; icmp_timeout_ms */
	FLOW_L_ATTEMPT,          /* TCP with only a SYN: Zeek's tcp_attempt_delay, from the SYN */
	FLOW_L_CLOSED,           /* TCP closed or reset: Zeek's tcp_close_delay */
	FLOW_L_COUNT,
};

/* Zeek's tcp_attempt_delay and tcp_close_delay (init-bare.zeek): 5 s. */
#define FLOW_TCP_ATTEMPT_US 5000000ull
#define FLOW_TCP_CLOSE_US   5000000ull

/* History: up to FLOW_HIST_MAX letters of 5 bits in 16 bytes. */
#define FLOW_HIST_MAX 25

struct flow_slot {
	uint64_t first_us, last_us;
	uint64_t orig_pkts, resp_pkts;
	uint64_t orig_ip_bytes, resp_ip_bytes;
	union {
		struct {
			uint64_t orig_bytes, resp_bytes;
		} dgram;                  /* UDP, ICMP, other: payload sums */
		struct flow_tcp tcp;
	} u;
	uint8_t hist[16];
	uint8_t orig_h[16], resp_h[16]; /* network order; IPv4 in the first 4 */
	uint16_t orig_p, resp_p;   /* ICMP: type and counterpart type or code */
	uint16_t vlan, inner_vlan;
	uint32_t hnext;            /* hash chain, or the free list */
	uint32_t lprev, lnext;     /* the LRU list */
	uint32_t serial;           /* low bits of the table's flow counter, for the uid */
	uint8_t proto, ip_version;
	uint8_t list;              /* enum flow_list */
	uint8_t flags;             /* FLOW_F_* */
	uint8_t hist_len;
	uint8_t interims;          /* interim records emitted so far */
};

#define FLOW_F_ORIG_SEEN 0x01    /* a packet from the originator */
#define FLOW_F_RESP_SEEN 0x02
#define FLOW_F_HIST_D    0x04    /* UDP: 'D' recorded */
#define FLOW_F_HIST_d    0x08    /* UDP: 'd' recorded */
#define FLOW_F_FROZEN    0x10    /* TCP both closed: duration no longer grows */
#define FLOW_F_FLIPPED   0x20

/* Appends one history letter (silently dropped past FLOW_HIST_MAX). */
void flow__hist_add(struct flow_slot *s, char c);
/* Writes the history NUL-terminated into out[outlen]. */
void flow__hist_str(const struct flow_slot *s, char *out, size_t outlen);

/* TCP (flow_tcp.c). */
struct flow_tcp_result {
	bool flip;                /* the roles must be swapped (SYN/SYN-ACK reversal) */
	bool closed;              /* the connection is finished: linger, then end */
	uint64_t acked;           /* bytes newly acknowledged (loss estimate) */
	uint64_t gap;             /* bytes acknowledged but never seen */
};
void flow__tcp_init(struct flow_slot *s);
/* Accounts one TCP packet; is_orig says which side sent it. */
void flow__tcp_packet(struct flow_slot *s, bool is_orig, const struct pkt *p,
		      struct flow_tcp_result *r);
/* Zeek's IsReuse: whether this SYN (or SYN-ACK) starts a new connection
 * on the flow's five-tuple: any on a finished connection, else one whose
 * sequence number is not the connection's initial one. */
bool flow__tcp_reuse(const struct flow_slot *s, bool finished, const struct pkt *p);
/* Swaps originator and responder state (flow.c swaps the tuple). */
void flow__tcp_flip(struct flow_slot *s);
/* Fills c->conn_state, orig_bytes, resp_bytes, missed_bytes. */
void flow__tcp_finish(const struct flow_slot *s, struct conn *c);

/* ICMP/ICMPv6 type mapping of Zeek and Community ID v1: the counterpart
 * type of a request/reply type, else the code. *one_way is set for the
 * latter. */
uint16_t flow__icmp_counterpart(uint8_t ip_version, uint8_t type, uint8_t code, bool *one_way);

#endif
