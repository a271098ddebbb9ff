/* flow_tcp: TCP tracking for the flow table, after Zeek's TCP analyzer.
 *
 * The endpoint states, the state machine, the history letters and the
 * byte counts follow Zeek (src/packet_analysis/protocol/tcp/
 * TCPSessionAdapter.cc, src/analyzer/protocol/tcp/TCP_Endpoint.cc) so
 * conn_state and history read the same as in Zeek's conn.log; the
 * conn_state derivation is base/protocols/conn/main.zeek's conn_state().
 *
 * Where ward differs, for memory (no reassembly, 64 bytes of TCP state):
 * - Content gaps are found without reassembly. Bytes an ACK covers above
 *   the highest byte seen from its sender are a gap; below it, one hole
 *   per connection is tracked (a segment that starts beyond the highest
 *   byte seen opens it, later segments fill it) and counted if an ACK
 *   covers it unfilled. A second hole while one is pending goes unseen.
 *   As in Zeek, gaps count only while both sides are established
 *   (report_gaps_for_partial = F); they feed missed_bytes, history G/g
 *   and the capture-loss counters.
 * - The sequence numbers of the last SYN/FIN/RST, which decide whether a
 *   repeated one adds its letter again, are kept to their low 8 bits.
 * - The scaled letters' counters saturate at 65535.
 * - TCP window scaling is not tracked: only zero windows matter here, and
 *   zero scaled is zero.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "flow_internal.h"

/* Zeek's HIST_* codes (TCP_Endpoint.h); the responder's are << 8 here. */
#define HIST_SYN_PKT        0x01
#define HIST_FIN_PKT        0x02
#define HIST_RST_PKT        0x04
#define HIST_FIN_RST_PKT    0x08
#define HIST_DATA_PKT       0x10
#define HIST_ACK_PKT        0x20
#define HIST_MULTI_FLAG_PKT 0x40

/* An ACK or SYN/RST sequence jump beyond this is not believed (Zeek's
 * TOO_LARGE_SEQ_DELTA). */
#define TOO_LARGE_SEQ_DELTA 1048576

static inline int32_t seq_delta(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static inline int st(const struct flow_tcp_ep *e)
{
	return e->state & FLOW_EP_STATE;
}

static inline int prev_st(const struct flow_tcp_ep *e)
{
	return (e->state & FLOW_EP_PREV) >> 3;
}

static void set_st(struct flow_tcp_ep *e, int s)
{
	if (s != st(e))
		e->state = (uint8_t)((e->state & (FLOW_EP_FIN | FLOW_EP_CLOSED)) | (st(e) << 3) | s);
}

static inline char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Zeek's Connection::CheckHistory: records `code` the first time the
 * mask is seen; true if it was seen before. */
static bool check_hist(struct flow_slot *s, bool is_orig, uint32_t mask, char code)
{
	if (!is_orig) {
		mask <<= 8;
		code = lower(code);
	}
	if (s->u.tcp.hist_seen & mask)
		return true;
	s->u.tcp.hist_seen |= mask;
	flow__hist_add(s, code);
	return false;
}

static void add_hist(struct flow_slot *s, bool is_orig, char code)
{
	flow__hist_add(s, is_orig ? code : lower(code));
}

/* Zeek's ScaledHistoryEntry: the letter at the 1st, 10th, 100th ...
 * occurrence. */
static void scaled_hist(struct flow_slot *s, bool is_orig, char code, uint16_t *cnt)
{
	uint16_t n;

	if (*cnt == UINT16_MAX)
		return;
	n = ++*cnt;
	if (n == 1 || n == 10 || n == 100 || n == 1000 || n == 10000)
		add_hist(s, is_orig, code);
}

void flow__tcp_init(struct flow_slot *s)
{
	memset(&s->u.tcp, 0, sizeof(s->u.tcp));
}

static void update_last(struct flow_tcp_ep *e, uint32_t seq)
{
	if (seq < e->last)
		e->seq_wraps++;
	e->last = seq;
}

/* Zeek's init_endpoint: sets the sequence basis of a side on its first
 * packet, and again on a SYN that restarts it. */
static void init_endpoint(struct flow_tcp_ep *e, uint8_t fl, uint32_t seq, uint32_t last)
{
	bool syn = fl & PKT_TCP_SYN;

	switch (st(e)) {
	case FLOW_TCP_INACTIVE:
		if (syn) {
			e->start = e->ack = seq;
		} else {
			/* As though a SYN had been seen, so relative numbers
			 * stay consistent; the first packet is not a repeat. */
			e->start = e->ack = seq - 1;
			last = seq;
		}
		e->last = last;
		break;
	case FLOW_TCP_SYN_SENT:
	case FLOW_TCP_SYN_ACK_SENT:
		if (syn && seq != e->start) {
			e->start = e->ack = seq;
			e->last = last;
		}
		break;
	case FLOW_TCP_ESTABLISHED:
	case FLOW_TCP_PARTIAL:
		if (syn) {
			e->start = e->ack = seq;
			e->last = last;
		}
		break;
	case FLOW_TCP_RESET:
		/* A SYN after a RST that initialised the side: the RST was
		 * likely injected, start over. */
		if (syn && prev_st(e) == FLOW_TCP_INACTIVE) {
			e->start = e->ack = seq;
			e->last = last;
		}
		break;
	default:
		break;
	}
}

static void update_history(struct flow_slot *s, struct flow_tcp_ep *e, bool is_orig, uint8_t fl,
			   uint32_t rel, uint32_t len)
{
	int bits = !!(fl & PKT_TCP_SYN) + !!(fl & PKT_TCP_FIN) + !!(fl & PKT_TCP_RST);

	if (bits > 1) {
		if ((fl & PKT_TCP_FIN) && (fl & PKT_TCP_RST))
			check_hist(s, is_orig, HIST_FIN_RST_PKT, 'I');
		else
			check_hist(s, is_orig, HIST_MULTI_FLAG_PKT, 'Q');
	} else if (bits == 1) {
		if (fl & PKT_TCP_SYN) {
			char code = (fl & PKT_TCP_ACK) ? 'H' : 'S';

			if (check_hist(s, is_orig, HIST_SYN_PKT, code) && (uint8_t)rel != e->last_syn)
				add_hist(s, is_orig, code);
			e->last_syn = (uint8_t)rel;
		}
		if (fl & PKT_TCP_FIN) {
			/* A FIN's sequence number is after its data. */
			if (check_hist(s, is_orig, HIST_FIN_PKT, 'F') &&
			    (uint8_t)(rel + len) != e->last_fin)
				add_hist(s, is_orig, 'F');
			e->last_fin = (uint8_t)(rel + len);
		}
		if (fl & PKT_TCP_RST) {
			if (check_hist(s, is_orig, HIST_RST_PKT, 'R') && (uint8_t)rel != e->last_rst)
				add_hist(s, is_orig, 'R');
			e->last_rst = (uint8_t)rel;
		}
	} else if (len > 0) {
		check_hist(s, is_orig, HIST_DATA_PKT, 'D');
	} else if (fl & PKT_TCP_ACK) {
		check_hist(s, is_orig, HIST_ACK_PKT, 'A');
	}
}

/* Zeek's update_last_seq; returns the change of the side's highest
 * sequence number (<= 0 with payload: a retransmission). */
static void update_last_seq(struct flow_slot *s, struct flow_tcp_ep *e, bool is_orig, uint32_t last,
			    uint8_t fl, uint32_t len)
{
	int32_t d = seq_delta(last, e->last);

	if ((fl & (PKT_TCP_SYN | PKT_TCP_RST)) &&
	    (d > TOO_LARGE_SEQ_DELTA || d < -TOO_LARGE_SEQ_DELTA))
		return;
	if ((fl & PKT_TCP_FIN) && e->last == e->start + 1)
		update_last(e, last);   /* > 2 GB connections seen as SYN + FIN only */
	else if (st(e) == FLOW_TCP_RESET)
		return;
	else if (d > 0)
		update_last(e, last);
	else if (len > 0)
		scaled_hist(s, is_orig, 'T', &e->rxmit);
}

/* Keeps the one pending hole of the connection: a data segment of `len`
 * bytes at `seq` from `e` that starts beyond the highest byte seen opens
 * one (if none is pending); one that lands in it fills it from the front
 * or cuts it short. */
static void track_hole(struct flow_tcp *t, const struct flow_tcp_ep *e, bool is_orig, uint32_t seq,
		       uint32_t len)
{
	uint8_t side = is_orig ? 1 : 2;
	int32_t ahead = seq_delta(seq, e->last);

	if (st(e) == FLOW_TCP_INACTIVE || st(e) == FLOW_TCP_RESET)
		return;
	if (t->hole_side == 0) {
		if (ahead > 0 && ahead <= TOO_LARGE_SEQ_DELTA) {
			t->hole_side = side;
			t->hole_lo = e->last;
			t->hole_len = (uint32_t)ahead;
		}
		return;
	}
	if (t->hole_side == side) {
		int32_t off = seq_delta(seq, t->hole_lo);

		if (off <= 0) {
			int64_t end = (int64_t)off + len;

			if (end <= 0)
				return;
			if ((uint64_t)end >= t->hole_len) {
				t->hole_side = 0;
				return;
			}
			t->hole_lo += (uint32_t)end;
			t->hole_len -= (uint32_t)end;
		} else if ((uint32_t)off < t->hole_len) {
			t->hole_len = (uint32_t)off;
		}
	}
}

/* Zeek's UpdateStateMachine with the Update*State helpers; returns
 * do_close. */
static bool state_machine(struct flow_slot *s, struct flow_tcp_ep *e, struct flow_tcp_ep *peer,
			  bool is_orig, uint8_t fl, uint32_t seq, uint32_t len,
			  struct flow_tcp_result *r)
{
	bool do_close = false;

	switch (st(e)) {
	case FLOW_TCP_INACTIVE:
		if (fl & PKT_TCP_SYN) {
			if (is_orig) {
				set_st(e, (fl & PKT_TCP_ACK) ? FLOW_TCP_SYN_ACK_SENT : FLOW_TCP_SYN_SENT);
			} else {
				/* A SYN from the responder after the originator's
				 * SYN-ACK: the two were seen in reverse order, so
				 * the roles flip (Zeek: FlipRoles, history '^'). */
				if (!(fl & PKT_TCP_ACK) && st(peer) == FLOW_TCP_SYN_ACK_SENT &&
				    seq == e->start) {
					r->flip = true;
					set_st(peer, FLOW_TCP_ESTABLISHED);
				}
				if (st(peer) == FLOW_TCP_SYN_SENT)
					set_st(peer, FLOW_TCP_ESTABLISHED);
				set_st(e, FLOW_TCP_ESTABLISHED);
			}
		}
		if (fl & PKT_TCP_FIN) {
			set_st(e, FLOW_TCP_CLOSED);
			do_close = true;
		}
		if (fl & PKT_TCP_RST) {
			set_st(e, FLOW_TCP_RESET);
			do_close = true;
		}
		if (st(e) == FLOW_TCP_INACTIVE) {
			struct flow_tcp_ep *orig = is_orig ? e : peer;

			if (!is_orig && len == 0 && st(orig) == FLOW_TCP_SYN_SENT)
				; /* an ACK of the SYN before the SYN-ACK: not partial */
			else if ((fl & PKT_TCP_ACK) && st(peer) == FLOW_TCP_ESTABLISHED)
				set_st(e, FLOW_TCP_ESTABLISHED); /* missed SYN, saw SYN-ACK */
			else
				set_st(e, FLOW_TCP_PARTIAL);
		}
		break;
	case FLOW_TCP_SYN_SENT:
	case FLOW_TCP_SYN_ACK_SENT:
		if (fl & PKT_TCP_FIN) {
			set_st(e, FLOW_TCP_CLOSED);
			do_close = true;
		}
		if (fl & PKT_TCP_RST) {
			set_st(e, FLOW_TCP_RESET);
			do_close = true;
		}
		break;
	case FLOW_TCP_ESTABLISHED:
	case FLOW_TCP_PARTIAL:
		if ((fl & PKT_TCP_SYN) && st(e) == FLOW_TCP_PARTIAL && st(peer) == FLOW_TCP_INACTIVE &&
		    !(fl & PKT_TCP_ACK))
			set_st(e, FLOW_TCP_SYN_SENT);
		if ((fl & PKT_TCP_FIN) && !(fl & PKT_TCP_RST)) {
			set_st(e, FLOW_TCP_CLOSED);
			/* FIN then RST from the peer was a normal close. */
			if (st(peer) == FLOW_TCP_RESET && prev_st(peer) == FLOW_TCP_CLOSED)
				set_st(peer, FLOW_TCP_CLOSED);
			do_close = true;
		}
		if (fl & PKT_TCP_RST) {
			set_st(e, FLOW_TCP_RESET);
			do_close = true;
		}
		break;
	case FLOW_TCP_CLOSED:
		/* After a FIN exchange a RST changes nothing. */
		if ((fl & PKT_TCP_RST) && st(peer) != FLOW_TCP_CLOSED) {
			set_st(e, FLOW_TCP_RESET);
			if (!(e->state & FLOW_EP_CLOSED))
				do_close = true;
		}
		break;
	default:
		break;
	}
	(void)s;
	return do_close;
}

/* The ACK in a packet from `e` acknowledges `peer`'s data. Returns the
 * bytes it newly acknowledges. */
static uint32_t update_ack(struct flow_tcp_ep *peer, uint8_t fl, uint32_t ack)
{
	int32_t d;

	if (st(peer) == FLOW_TCP_INACTIVE) {
		/* Zeek's init_peer: number the peer as if its SYN was seen. */
		peer->start = peer->ack = peer->last = ack - 1;
		return 0;
	}
	/* Below the peer's initial sequence: misordered, not believed. */
	if (peer->ack_wraps == 0 && seq_delta(ack, peer->start) < 0)
		return 0;
	if (fl & PKT_TCP_RST)
		return 0;   /* ACKs in RSTs are not trusted */
	d = seq_delta(ack, peer->ack);
	if (ack == 0 && d > TOO_LARGE_SEQ_DELTA)
		return 0;   /* more likely a broken ACK than a wrap onto 0 */
	if (d <= 0)
		return 0;
	if (ack < peer->ack)
		peer->ack_wraps++;
	peer->ack = ack;
	return (uint32_t)d;
}

void flow__tcp_packet(struct flow_slot *s, bool is_orig, const struct pkt *p,
		      struct flow_tcp_result *r)
{
	struct flow_tcp *t = &s->u.tcp;
	struct flow_tcp_ep *e = &t->ep[is_orig ? 0 : 1];
	struct flow_tcp_ep *peer = &t->ep[is_orig ? 1 : 0];
	uint8_t fl = p->tcp_flags;
	uint32_t len = p->payload_wire_len;
	uint32_t seg_len = len, acked = 0;
	bool do_close;

	memset(r, 0, sizeof(*r));
	if (fl & PKT_TCP_SYN)
		seg_len++;
	if (fl & PKT_TCP_FIN)
		seg_len++;
	if (fl & PKT_TCP_RST)
		seg_len -= len;   /* a RST's data is not part of the stream */

	init_endpoint(e, fl, p->seq, p->seq + seg_len);
	update_history(s, e, is_orig, fl, p->seq - e->start, len);

	/* Zero windows matter unless they come with or after a RST, or after
	 * the peer's FIN. */
	if (p->window == 0 && !(fl & PKT_TCP_RST) && st(peer) != FLOW_TCP_CLOSED &&
	    st(e) != FLOW_TCP_RESET)
		scaled_hist(s, is_orig, 'W', &e->win0);

	if (fl & PKT_TCP_FIN)
		e->state |= FLOW_EP_FIN;
	if (fl & PKT_TCP_ACK)
		acked = update_ack(peer, fl, p->ack);

	if (len > 0 && !(fl & PKT_TCP_RST))
		track_hole(t, e, is_orig, p->seq + !!(fl & PKT_TCP_SYN), len);
	update_last_seq(s, e, is_orig, p->seq + seg_len, fl, len);
	do_close = state_machine(s, e, peer, is_orig, fl, p->seq, len, r);

	/* Gaps: the peer's data acknowledged but never seen, above the
	 * highest byte seen or in the pending hole. */
	if (acked > 0 && st(e) == FLOW_TCP_ESTABLISHED && st(peer) == FLOW_TCP_ESTABLISHED) {
		int32_t gap = seq_delta(peer->ack, peer->last);
		uint32_t missed = 0;

		r->acked = acked;
		if (gap > 0) {
			missed = (uint32_t)gap;
			update_last(peer, peer->ack);
		}
		if (t->hole_side == (is_orig ? 2 : 1) &&
		    seq_delta(peer->ack, t->hole_lo + t->hole_len) >= 0) {
			missed += t->hole_len;
			t->hole_side = 0;
		}
		if (missed > 0) {
			r->gap = missed;
			t->missed_bytes = (t->missed_bytes > UINT32_MAX - missed) ?
				UINT32_MAX : t->missed_bytes + missed;
			/* Gaps revealed by a FIN or RST are not reliable
			 * enough for the history (Zeek refrains too). */
			if (!(fl & (PKT_TCP_FIN | PKT_TCP_RST)))
				scaled_hist(s, !is_orig, 'G', &peer->gap);
		}
	}

	if (do_close)
		e->state |= FLOW_EP_CLOSED;

	/* Finished (Zeek removes it tcp_close_delay later): both sides
	 * closed, either reset, or one closed and the other never seen. */
	{
		const struct flow_tcp_ep *o = &t->ep[0], *q = &t->ep[1];
		bool oc = o->state & FLOW_EP_CLOSED, qc = q->state & FLOW_EP_CLOSED;

		if (oc && qc)
			s->flags |= FLOW_F_FROZEN;
		r->closed = (oc && qc) || st(o) == FLOW_TCP_RESET || st(q) == FLOW_TCP_RESET ||
			    (oc && st(q) == FLOW_TCP_INACTIVE) || (qc && st(o) == FLOW_TCP_INACTIVE);
	}
}

bool flow__tcp_reuse(const struct flow_slot *s, bool finished, const struct pkt *p)
{
	const struct flow_tcp_ep *o = &s->u.tcp.ep[0], *r = &s->u.tcp.ep[1];
	const struct flow_tcp_ep *first = o;
	uint8_t fl = p->tcp_flags;

	if (!(fl & PKT_TCP_SYN))
		return false;
	if (fl & PKT_TCP_ACK) {
		/* A SYN-ACK starts over only a half connection. */
		if (st(o) != FLOW_TCP_INACTIVE)
			return false;
		first = r;
	}
	if (finished)
		return true;
	if (p->seq == first->start)
		return false;   /* a retransmission */
	/* The SYN of a SYN-ACK seen first: the roles flip, same connection. */
	if (!(fl & PKT_TCP_ACK) && st(first) == FLOW_TCP_SYN_ACK_SENT && st(r) == FLOW_TCP_INACTIVE &&
	    p->seq == r->start)
		return false;
	return true;
}

void flow__tcp_flip(struct flow_slot *s)
{
	struct flow_tcp_ep tmp = s->u.tcp.ep[0];

	/* Zeek's FlipRoles swaps the endpoints but not the history bits. */
	s->u.tcp.ep[0] = s->u.tcp.ep[1];
	s->u.tcp.ep[1] = tmp;
}

/* Zeek's TCP_Endpoint::Size: payload bytes from sequence numbers. */
static uint64_t ep_size(const struct flow_tcp_ep *e, const struct flow_tcp_ep *peer)
{
	uint64_t last, ack, top, size;

	if (prev_st(e) == FLOW_TCP_SYN_SENT && st(e) == FLOW_TCP_RESET &&
	    st(peer) == FLOW_TCP_INACTIVE) {
		/* A half-open connection discovered and aborted: unless no
		 * data was acknowledged, the numbers mislead. */
		uint64_t a = ((uint64_t)e->ack_wraps << 32) + e->ack;

		if (!(a == e->start || a == (uint64_t)e->start + 1))
			return 0;
	}
	last = ((uint64_t)e->seq_wraps << 32) + e->last;
	ack = ((uint64_t)e->ack_wraps << 32) + e->ack;
	top = last > ack ? last : ack;
	if (top < e->start)
		return 0;
	size = top - e->start;
	if (size != 0)
		size--;                 /* the SYN octet */
	if ((e->state & FLOW_EP_FIN) && size != 0)
		size--;                 /* the FIN octet */
	return size;
}

/* Zeek's /^\^?S[^HAFGIQ]*R.*$/: a SYN, then a RST before any sign of a
 * handshake, ACK, FIN, gap or odd flags from the originator. */
static bool hist_rstos0(const char *h)
{
	if (*h == '^')
		h++;
	if (*h++ != 'S')
		return false;
	for (; *h != '\0' && strchr("HAFGIQ", *h) == NULL; h++)
		if (*h == 'R')
			return true;
	return false;
}

void flow__tcp_finish(const struct flow_slot *s, struct conn *c)
{
	const struct flow_tcp_ep *o = &s->u.tcp.ep[0], *r = &s->u.tcp.ep[1];
	int os = st(o), rs = st(r);
	bool o_inactive = os == FLOW_TCP_INACTIVE || os == FLOW_TCP_PARTIAL;
	bool r_inactive = rs == FLOW_TCP_INACTIVE || rs == FLOW_TCP_PARTIAL;
	enum conn_state cs;

	c->orig_bytes = ep_size(o, r);
	c->resp_bytes = ep_size(r, o);
	c->missed_bytes = s->u.tcp.missed_bytes;

	if (rs == FLOW_TCP_RESET) {
		if (os == FLOW_TCP_SYN_SENT || os == FLOW_TCP_SYN_ACK_SENT ||
		    (os == FLOW_TCP_RESET && c->orig_bytes == 0 && c->resp_bytes == 0))
			cs = CONN_REJ;
		else if (o_inactive)
			cs = CONN_RSTRH;
		else
			cs = CONN_RSTR;
	} else if (os == FLOW_TCP_RESET) {
		if (r_inactive)
			cs = hist_rstos0(c->history) ? CONN_RSTOS0 : CONN_OTH;
		else
			cs = CONN_RSTO;
	} else if (rs == FLOW_TCP_CLOSED && os == FLOW_TCP_CLOSED) {
		cs = CONN_SF;
	} else if (os == FLOW_TCP_CLOSED) {
		cs = r_inactive ? CONN_SH : CONN_S2;
	} else if (rs == FLOW_TCP_CLOSED) {
		cs = o_inactive ? CONN_SHR : CONN_S3;
	} else if (os == FLOW_TCP_SYN_SENT && rs == FLOW_TCP_INACTIVE) {
		cs = CONN_S0;
	} else if (os == FLOW_TCP_ESTABLISHED && rs == FLOW_TCP_ESTABLISHED) {
		cs = CONN_S1;
	} else {
		cs = CONN_OTH;
	}
	c->conn_state = cs;
}
