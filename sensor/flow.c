/* flow: the flow table (flow.h).
 *
 * Layout: one array of fixed-size slots (struct flow_slot, flow_internal.h)
 * allocated once from mem_max, a chained hash index of u32 buckets (one
 * bucket per slot, chains through the slots' hnext), and five intrusive
 * LRU lists (TCP, UDP, other, TCP attempts, closed TCP), each ordered by
 * last packet so a timeout only ever looks at list heads. Slots are linked
 * by u32 index, 0 meaning none. Nothing is allocated after create: calloc
 * hands out zero pages the kernel maps on first touch, so an idle table
 * costs little resident memory until flows arrive.
 *
 * Per packet: a symmetric hash of the five-tuple and VLANs (one bucket for
 * both directions), a short chain walk, a move to the LRU tail, the
 * protocol's counters. Expiry looks at no more than FLOW_EXPIRE_BATCH list
 * heads per list and packet.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "flow.h"
#include "flow_internal.h"

#define FLOW_MEM_DEFAULT      (256u * 1024 * 1024)
#define FLOW_EXPIRE_BATCH     2
#define NIL                   0u

_Static_assert(sizeof(struct flow_slot) <= 192, "flow slot over its memory budget");

struct flow_list_head {
	uint32_t head, tail;         /* head = least recently seen */
};

struct flow_table {
	struct flow_config cfg;
	flow_emit_fn emit;
	void *ctx;
	struct flow_slot *slots;     /* [0] unused */
	uint32_t *buckets;
	uint32_t capacity;           /* usable slots: 1..capacity */
	uint32_t nbuckets;
	uint32_t hw;                 /* slots 1..hw have been used once */
	uint32_t free_head;          /* freed slots, through hnext */
	struct flow_list_head lists[FLOW_L_COUNT];
	uint64_t timeout_us[FLOW_L_COUNT];
	uint64_t next_expiry;        /* no list head is due before this (µs) */
	uint64_t active_us;
	uint64_t hash_k0, hash_k1;
	uint64_t uid_k0, uid_k1, uid_k2;
	uint64_t serial;
	struct flow_stats stats;
};

/* ---- small helpers ------------------------------------------------------ */

/* splitmix64's finaliser: a bijection on 64 bits. */
static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t random64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)(uintptr_t)&v ^ 0x5851f42d4c957f2dull;
	return v;
}

static const char hist_alpha[] = "SHADFRTWIQGC^shadfrtwiqgc";

/* The history's 5-bit codes are packed little-endian into two 64-bit
 * words (hist[16]); a code may straddle the two. */
void flow__hist_add(struct flow_slot *s, char c)
{
	const char *p = strchr(hist_alpha, c);
	uint64_t w[2];
	unsigned bit, code;

	if (p == NULL || c == '\0' || s->hist_len >= FLOW_HIST_MAX)
		return;
	code = (unsigned)(p - hist_alpha) + 1;
	bit = 5u * s->hist_len;
	memcpy(w, s->hist, sizeof(w));
	w[bit / 64] |= (uint64_t)code << (bit % 64);
	if (bit % 64 > 59)
		w[1] |= (uint64_t)code >> (64 - bit % 64);
	memcpy(s->hist, w, sizeof(w));
	s->hist_len++;
}

void flow__hist_str(const struct flow_slot *s, char *out, size_t outlen)
{
	uint64_t w[2];
	size_t i;

	memcpy(w, s->hist, sizeof(w));
	for (i = 0; i < s->hist_len && i + 1 < outlen; i++) {
		unsigned bit = 5u * (unsigned)i, code = (unsigned)(w[bit / 64] >> (bit % 64));

		if (bit % 64 > 59)
			code |= (unsigned)(w[1] << (64 - bit % 64));
		code &= 31;
		out[i] = code >= 1 && code < sizeof(hist_alpha) ? hist_alpha[code - 1] : '?';
	}
	if (outlen > 0)
		out[i] = '\0';
}

/* ---- lists and index ---------------------------------------------------- */

static void list_unlink(struct flow_table *t, uint32_t i)
{
	struct flow_slot *s = &t->slots[i];
	struct flow_list_head *l = &t->lists[s->list];

	if (s->lprev != NIL)
		t->slots[s->lprev].lnext = s->lnext;
	else
		l->head = s->lnext;
	if (s->lnext != NIL)
		t->slots[s->lnext].lprev = s->lprev;
	else
		l->tail = s->lprev;
	s->lprev = s->lnext = NIL;
}

static inline uint64_t deadline(const struct flow_table *t, enum flow_list which,
				const struct flow_slot *s)
{
	/* An attempt's timer runs from its first SYN, as Zeek's does. */
	return (which == FLOW_L_ATTEMPT ? s->first_us : s->last_us) + t->timeout_us[which];
}

static void list_append(struct flow_table *t, uint32_t i, enum flow_list which)
{
	struct flow_slot *s = &t->slots[i];
	struct flow_list_head *l = &t->lists[which];

	s->list = (uint8_t)which;
	s->lnext = NIL;
	s->lprev = l->tail;
	if (l->tail != NIL) {
		t->slots[l->tail].lnext = i;
	} else {
		/* A new head: lists are in deadline order, so only this can
		 * bring the next expiry forward. */
		uint64_t d = deadline(t, which, s);

		l->head = i;
		if (d < t->next_expiry)
			t->next_expiry = d;
	}
	l->tail = i;
}

static void list_touch(struct flow_table *t, uint32_t i, enum flow_list which)
{
	if (t->slots[i].list == which && t->lists[which].tail == i)
		return;
	list_unlink(t, i);
	list_append(t, i, which);
}

/* Hash of one endpoint; the two endpoints' are added, so both directions
 * of a flow land in one bucket. */
static inline uint64_t ep_hash(const struct flow_table *t, const uint8_t *a, uint16_t port)
{
	return mix64((load64(a) ^ t->hash_k0) + load64(a + 8) * 0x9e3779b97f4a7c15ull + port);
}

static inline uint32_t bucket_of(const struct flow_table *t, const uint8_t *a, uint16_t pa,
				 const uint8_t *b, uint16_t pb, uint8_t proto, uint16_t vlan,
				 uint16_t inner)
{
	uint64_t h = ep_hash(t, a, pa) + ep_hash(t, b, pb);

	h ^= ((uint64_t)proto << 48 | (uint64_t)vlan << 24 | inner) * 0xff51afd7ed558ccdull ^ t->hash_k1;
	h = mix64(h);
	/* Lemire's multiply-shift range reduction: any bucket count. */
	return (uint32_t)(((h >> 32) * (uint64_t)t->nbuckets) >> 32);
}

static uint32_t slot_bucket(const struct flow_table *t, const struct flow_slot *s)
{
	return bucket_of(t, s->orig_h, s->orig_p, s->resp_h, s->resp_p, s->proto, s->vlan,
			 s->inner_vlan);
}

static void index_remove(struct flow_table *t, uint32_t i)
{
	uint32_t *pp = &t->buckets[slot_bucket(t, &t->slots[i])];

	while (*pp != NIL && *pp != i)
		pp = &t->slots[*pp].hnext;
	if (*pp == i)
		*pp = t->slots[i].hnext;
	t->slots[i].hnext = NIL;
}

/* ---- records ------------------------------------------------------------ */

static bool in_net(const struct flow_net *n, uint8_t ver, const uint8_t *a)
{
	unsigned full, rem;

	if (n->ip_version != ver || n->prefix_len > (ver == 4 ? 32 : 128))
		return false;
	full = n->prefix_len / 8;
	rem = n->prefix_len % 8;
	if (memcmp(n->addr, a, full) != 0)
		return false;
	if (rem == 0)
		return true;
	return ((n->addr[full] ^ a[full]) & (uint8_t)(0xff00 >> rem)) == 0;
}

static bool is_local(const struct flow_table *t, uint8_t ver, const uint8_t *a)
{
	size_t i;

	for (i = 0; i < t->cfg.n_local_nets; i++)
		if (in_net(&t->cfg.local_nets[i], ver, a))
			return true;
	return false;
}

/* Zeek-style uid: 'C' and 96 bits in base62. The 96 bits are a keyed
 * bijection of (first packet time, flow serial), so two flows never share
 * a uid and interim records keep their flow's. */
static void make_uid(const struct flow_table *t, const struct flow_slot *s, char *out)
{
	static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint64_t x = mix64(s->first_us ^ t->uid_k0 ^ mix64(s->serial ^ t->uid_k1));
	uint32_t y = (uint32_t)(s->serial ^ mix64(x ^ t->uid_k2));
	uint32_t limb[3] = { (uint32_t)(x >> 32), (uint32_t)x, y }; /* big-endian */
	char tmp[24];
	size_t n = 0, i;

	/* Base 62 by long division of the 96-bit number. */
	do {
		uint64_t r = 0;

		for (i = 0; i < 3; i++) {
			uint64_t cur = (r << 32) | limb[i];

			limb[i] = (uint32_t)(cur / 62);
			r = cur % 62;
		}
		tmp[n++] = b62[r];
	} while ((limb[0] | limb[1] | limb[2]) != 0 && n < sizeof(tmp));
	out[0] = 'C';
	for (i = 0; i < n; i++)
		out[1 + i] = tmp[n - 1 - i];
	out[1 + n] = '\0';
}

/* The identity fields of a flow's record: everything but the counters. */
static void conn_ident(const struct flow_table *t, const struct flow_slot *s, struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->ts_us = s->first_us;
	make_uid(t, s, c->uid);
	c->ip_version = s->ip_version;
	c->proto = s->proto;
	memcpy(c->orig_h, s->orig_h, 16);
	memcpy(c->resp_h, s->resp_h, 16);
	c->orig_p = s->orig_p;
	c->resp_p = s->resp_p;
	c->vlan = s->vlan;
	c->inner_vlan = s->inner_vlan;
	c->flow_id = (uint32_t)(s - t->slots);
	if (t->cfg.n_local_nets > 0) {
		c->local_orig = is_local(t, s->ip_version, s->orig_h);
		c->local_resp = is_local(t, s->ip_version, s->resp_h);
	}
	if (community_id_v1(t->cfg.community_id_seed, s->ip_version, s->proto, s->orig_h, s->resp_h,
			    s->orig_p, s->resp_p, c->community_id, sizeof(c->community_id)) != 0)
		c->community_id[0] = '\0';
}

static void emit_flow(struct flow_table *t, struct flow_slot *s, bool interim, bool evicted)
{
	struct conn c;

	conn_ident(t, s, &c);
	c.duration_us = s->last_us - s->first_us;
	c.bytes_known = true;
	c.orig_pkts = s->orig_pkts;
	c.resp_pkts = s->resp_pkts;
	c.orig_ip_bytes = s->orig_ip_bytes;
	c.resp_ip_bytes = s->resp_ip_bytes;
	flow__hist_str(s, c.history, sizeof(c.history));
	if (s->proto == IPPROTO_TCP) {
		flow__tcp_finish(s, &c);
	} else {
		bool o = s->flags & FLOW_F_ORIG_SEEN, r = s->flags & FLOW_F_RESP_SEEN;

		c.orig_bytes = s->u.dgram.orig_bytes;
		c.resp_bytes = s->u.dgram.resp_bytes;
		/* Zeek: UDP by which sides sent; ICMP and the rest OTH. */
		if (s->proto == IPPROTO_UDP)
			c.conn_state = o ? (r ? CONN_SF : CONN_S0) : (r ? CONN_SHR : CONN_OTH);
		else
			c.conn_state = CONN_OTH;
	}
	c.interim = interim;
	c.evicted = evicted;
	c.service = NULL;
	t->emit(t->ctx, &c);
}

/* Emits the flow's final record and frees its slot. */
static void end_flow(struct flow_table *t, uint32_t i, bool evicted)
{
	struct flow_slot *s = &t->slots[i];

	emit_flow(t, s, false, evicted);
	index_remove(t, i);
	list_unlink(t, i);
	s->hnext = t->free_head;
	t->free_head = i;
	t->stats.flows_active--;
}

/* ---- expiry ------------------------------------------------------------- */

/* Ends up to `batch` due flows per list. The heads are only read once
 * the earliest deadline has passed, so most packets cost one compare. */
static void expire_some(struct flow_table *t, uint64_t now, unsigned batch)
{
	uint64_t next = UINT64_MAX;
	int l;

	if (now < t->next_expiry)
		return;
	for (l = 0; l < FLOW_L_COUNT; l++) {
		unsigned n;

		for (n = 0;; n++) {
			uint32_t i = t->lists[l].head;
			uint64_t d;

			if (i == NIL)
				break;
			d = deadline(t, (enum flow_list)l, &t->slots[i]);
			if (now < d || n == batch) {
				if (d < next)
					next = d;
				break;
			}
			t->stats.expired++;
			end_flow(t, i, false);
		}
	}
	t->next_expiry = next;
}

/* The flow to evict when the table is full: a finished TCP flow first,
 * then an attempt, then the least recently seen. */
static uint32_t pick_victim(const struct flow_table *t)
{
	uint32_t best = NIL;
	int l;

	if (t->lists[FLOW_L_CLOSED].head != NIL)
		return t->lists[FLOW_L_CLOSED].head;
	if (t->lists[FLOW_L_ATTEMPT].head != NIL)
		return t->lists[FLOW_L_ATTEMPT].head;
	for (l = FLOW_L_TCP; l <= FLOW_L_OTHER; l++) {
		uint32_t i = t->lists[l].head;

		if (i != NIL && (best == NIL || t->slots[i].last_us < t->slots[best].last_us))
			best = i;
	}
	return best;
}

static uint32_t alloc_slot(struct flow_table *t)
{
	uint32_t i;

	if (t->free_head != NIL) {
		i = t->free_head;
		t->free_head = t->slots[i].hnext;
	} else if (t->hw < t->capacity) {
		i = ++t->hw;
	} else {
		i = pick_victim(t);
		t->stats.evicted_pressure++;
		end_flow(t, i, true);
		i = t->free_head;
		t->free_head = t->slots[i].hnext;
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	return i;
}

/* ---- create and destroy ------------------------------------------------- */

size_t flow_state_bytes(void)
{
	return sizeof(struct flow_slot) + sizeof(uint32_t);
}

int flow_table_create(struct flow_table **out, const struct flow_config *cfg,
		      flow_emit_fn emit, void *ctx)
{
	struct flow_table *t;
	size_t cap;
	uint64_t seed;
	int rc = -ENOMEM;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (emit == NULL)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	if (cfg != NULL)
		t->cfg = *cfg;
	if (t->cfg.mem_max == 0)
		t->cfg.mem_max = FLOW_MEM_DEFAULT;
	if (t->cfg.tcp_timeout_ms == 0)
		t->cfg.tcp_timeout_ms = 300000;
	if (t->cfg.udp_timeout_ms == 0)
		t->cfg.udp_timeout_ms = 60000;
	if (t->cfg.icmp_timeout_ms == 0)
		t->cfg.icmp_timeout_ms = 60000;
	if (cfg == NULL)
		t->cfg.active_timeout_ms = 600000;
	if (t->cfg.local_nets == NULL)
		t->cfg.n_local_nets = 0;

	cap = t->cfg.mem_max / flow_state_bytes();
	if (cap < 1) {
		rc = -EINVAL;
		goto out;
	}
	if (cap > UINT32_MAX - 1)
		cap = UINT32_MAX - 1;
	t->capacity = (uint32_t)cap;
	t->nbuckets = (uint32_t)cap;
	t->slots = calloc(cap + 1, sizeof(*t->slots));
	t->buckets = calloc(cap, sizeof(*t->buckets));
	if (t->slots == NULL || t->buckets == NULL)
		goto out;

	t->timeout_us[FLOW_L_TCP] = (uint64_t)t->cfg.tcp_timeout_ms * 1000;
	t->timeout_us[FLOW_L_UDP] = (uint64_t)t->cfg.udp_timeout_ms * 1000;
	t->timeout_us[FLOW_L_OTHER] = (uint64_t)t->cfg.icmp_timeout_ms * 1000;
	t->timeout_us[FLOW_L_ATTEMPT] = FLOW_TCP_ATTEMPT_US;
	t->timeout_us[FLOW_L_CLOSED] = FLOW_TCP_CLOSE_US;
	t->active_us = (uint64_t)t->cfg.active_timeout_ms * 1000;
	t->next_expiry = UINT64_MAX;
	t->hash_k0 = random64();
	t->hash_k1 = random64();
	seed = t->cfg.uid_seed != 0 ? t->cfg.uid_seed : random64();
	t->uid_k0 = mix64(seed);
	t->uid_k1 = mix64(seed + 1);
	t->uid_k2 = mix64(seed + 2);
	t->emit = emit;
	t->ctx = ctx;
	t->stats.flows_capacity = cap;
	*out = t;
	return 0;
out:
	flow_table_destroy(t);
	return rc;
}

void flow_table_destroy(struct flow_table *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t->buckets);
	free(t);
}

const struct flow_stats *flow_table_stats(const struct flow_table *t)
{
	return &t->stats;
}

const char *conn_state_name(enum conn_state s)
{
	static const char *const names[] = {
		"S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH",
		"SHR", "OTH",
	};

	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "OTH";
	return names[s];
}

/* ---- the packet path ---------------------------------------------------- */

static inline bool server_port(uint16_t p)
{
	return p != 0 && p < 1024;
}

/* Zeek's WantConnection: whether a flow's first packet came from its
 * responder, judged by the ports (Zeek's likely_server_ports; here, any
 * port below 1024). */
static bool first_from_responder(const struct pkt *p, uint16_t sport, uint16_t dport)
{
	if (p->proto == IPPROTO_TCP) {
		uint8_t fl = p->tcp_flags;

		if ((fl & PKT_TCP_SYN) && !(fl & PKT_TCP_ACK))
			return false;
		if (!server_port(sport))
			return false;
		/* Both plausible: the lower port is the server's, but a
		 * SYN-ACK is not flipped (stealth scans send them). */
		if (server_port(dport))
			return !(fl & PKT_TCP_SYN) && sport < dport;
		return true;
	}
	if (p->proto == IPPROTO_UDP)
		return server_port(sport) && !server_port(dport);
	return false;
}

static uint32_t create_flow(struct flow_table *t, const struct pkt *p, uint16_t sport,
			    uint16_t dport, uint32_t bucket, bool *flipped)
{
	uint32_t i = alloc_slot(t);
	struct flow_slot *s = &t->slots[i];
	bool flip = first_from_responder(p, sport, dport);

	memcpy(s->orig_h, flip ? p->dst : p->src, 16);
	memcpy(s->resp_h, flip ? p->src : p->dst, 16);
	s->orig_p = flip ? dport : sport;
	s->resp_p = flip ? sport : dport;
	s->proto = p->proto;
	s->ip_version = p->ip_version;
	s->vlan = p->vlan;
	s->inner_vlan = p->inner_vlan;
	s->first_us = s->last_us = p->ts_us;
	s->serial = (uint32_t)++t->serial;
	if (flip) {
		s->flags |= FLOW_F_FLIPPED;
		flow__hist_add(s, '^');
	}
	if (s->proto == IPPROTO_TCP)
		flow__tcp_init(s);
	/* Re-hash: the bucket was computed for the packet's orientation, and
	 * the hash is symmetric, so it is the same bucket. */
	s->hnext = t->buckets[bucket];
	t->buckets[bucket] = i;
	list_append(t, i, s->proto == IPPROTO_TCP ? FLOW_L_TCP :
			  s->proto == IPPROTO_UDP ? FLOW_L_UDP : FLOW_L_OTHER);
	t->stats.flows_created++;
	t->stats.flows_active++;
	*flipped = flip;
	return i;
}

/* Swaps originator and responder of a flow (TCP SYN/SYN-ACK reversal). */
static void flip_flow(struct flow_slot *s)
{
	uint8_t a[16];
	uint16_t pt;
	uint64_t v;
	uint8_t f = s->flags;

	memcpy(a, s->orig_h, 16);
	memcpy(s->orig_h, s->resp_h, 16);
	memcpy(s->resp_h, a, 16);
	pt = s->orig_p;
	s->orig_p = s->resp_p;
	s->resp_p = pt;
	v = s->orig_pkts;
	s->orig_pkts = s->resp_pkts;
	s->resp_pkts = v;
	v = s->orig_ip_bytes;
	s->orig_ip_bytes = s->resp_ip_bytes;
	s->resp_ip_bytes = v;
	s->flags = (uint8_t)((f & ~(FLOW_F_ORIG_SEEN | FLOW_F_RESP_SEEN)) |
			     ((f & FLOW_F_ORIG_SEEN) ? FLOW_F_RESP_SEEN : 0) |
			     ((f & FLOW_F_RESP_SEEN) ? FLOW_F_ORIG_SEEN : 0));
	flow__tcp_flip(s);
	flow__hist_add(s, '^');
}

static void account_tcp(struct flow_table *t, uint32_t i, bool is_orig, const struct pkt *p)
{
	struct flow_slot *s = &t->slots[i];
	struct flow_tcp_result r;
	bool attempt;
	int ost;

	flow__tcp_packet(s, is_orig, p, &r);
	if (r.flip)
		flip_flow(s);
	t->stats.acked_bytes += r.acked;
	t->stats.ack_gap_bytes += r.gap;

	if (r.closed) {
		/* Zeek removes a finished connection tcp_close_delay after
		 * it finished; later packets do not extend that. */
		if (s->list != FLOW_L_CLOSED) {
			list_unlink(t, i);
			list_append(t, i, FLOW_L_CLOSED);
		}
		return;
	}
	ost = s->u.tcp.ep[0].state & FLOW_EP_STATE;
	attempt = !(s->flags & FLOW_F_RESP_SEEN) &&
		  (ost == FLOW_TCP_SYN_SENT || ost == FLOW_TCP_SYN_ACK_SENT);
	/* A connection opened by a SYN waits on Zeek's attempt timer, from
	 * that SYN, until the responder answers. */
	if (attempt && s->orig_pkts + s->resp_pkts == 1) {
		list_unlink(t, i);
		list_append(t, i, FLOW_L_ATTEMPT);
		return;
	}
	if (attempt && s->list == FLOW_L_ATTEMPT)
		return;
	list_touch(t, i, FLOW_L_TCP);
}

static void maybe_interim(struct flow_table *t, struct flow_slot *s, uint64_t now)
{
	uint64_t due;

	/* Interim n+1 is due at first + (n+1) * active timeout. */
	if (t->active_us == 0 || s->interims == UINT8_MAX || now < s->first_us ||
	    now - s->first_us < (uint64_t)(s->interims + 1) * t->active_us)
		return;
	due = (now - s->first_us) / t->active_us;
	s->interims = (uint8_t)(due > UINT8_MAX ? UINT8_MAX : due);
	t->stats.interim++;
	emit_flow(t, s, true, false);
}

/* The flow of a packet in bucket b, NIL if none; *is_orig says which
 * side sent it. */
static uint32_t lookup(const struct flow_table *t, const struct pkt *p, uint16_t sport,
		       uint16_t dport, uint32_t b, bool *is_orig)
{
	uint32_t i;

	for (i = t->buckets[b]; i != NIL; i = t->slots[i].hnext) {
		const struct flow_slot *s = &t->slots[i];

		if (s->proto != p->proto || s->ip_version != p->ip_version || s->vlan != p->vlan ||
		    s->inner_vlan != p->inner_vlan)
			continue;
		if (s->orig_p == sport && s->resp_p == dport && memcmp(s->orig_h, p->src, 16) == 0 &&
		    memcmp(s->resp_h, p->dst, 16) == 0) {
			*is_orig = true;
			return i;
		}
		if (s->orig_p == dport && s->resp_p == sport && memcmp(s->orig_h, p->dst, 16) == 0 &&
		    memcmp(s->resp_h, p->src, 16) == 0) {
			*is_orig = false;
			return i;
		}
	}
	return NIL;
}

/* UDP, ICMP and other protocols: payload sums; UDP's history D/d. */
static void account_dgram(struct flow_table *t, uint32_t i, bool is_orig, const struct pkt *p)
{
	struct flow_slot *s = &t->slots[i];
	uint8_t seen = is_orig ? FLOW_F_HIST_D : FLOW_F_HIST_d;

	if (is_orig)
		s->u.dgram.orig_bytes += p->payload_wire_len;
	else
		s->u.dgram.resp_bytes += p->payload_wire_len;
	if (p->proto != IPPROTO_UDP) {
		list_touch(t, i, FLOW_L_OTHER);
		return;
	}
	if (!(s->flags & seen)) {
		s->flags |= seen;
		flow__hist_add(s, is_orig ? 'D' : 'd');
	}
	list_touch(t, i, FLOW_L_UDP);
}

int flow_table_update(struct flow_table *t, const struct pkt *p)
{
	struct flow_ref ref;

	return flow_table_update_ref(t, p, &ref);
}

int flow_table_conn_ident(const struct flow_table *t, uint32_t id, struct conn *c)
{
	if (id == NIL || id > t->hw)
		return -ENOENT;
	conn_ident(t, &t->slots[id], c);
	return 0;
}

bool flow_table_tcp_first_seq(const struct flow_table *t, uint32_t id, bool is_orig,
			      uint32_t *seq)
{
	const struct flow_slot *s;
	const struct flow_tcp_ep *e;

	if (id == NIL || id > t->hw)
		return false;
	s = &t->slots[id];
	if (s->proto != IPPROTO_TCP)
		return false;
	e = &s->u.tcp.ep[is_orig ? 0 : 1];
	if ((e->state & FLOW_EP_STATE) == FLOW_TCP_INACTIVE && e->start == 0 && e->last == 0)
		return false;
	*seq = e->start + 1;
	return true;
}

int flow_table_update_ref(struct flow_table *t, const struct pkt *p, struct flow_ref *ref)
{
	uint16_t sport = p->sport, dport = p->dport;
	struct flow_slot *s;
	bool is_orig = true;
	uint32_t b, i;

	if (p->ip_version != 4 && p->ip_version != 6)
		return -EINVAL;
	t->stats.packets++;
	expire_some(t, p->ts_us, FLOW_EXPIRE_BATCH);

	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
		bool one_way;

		dport = flow__icmp_counterpart(p->proto == IPPROTO_ICMP ? 4 : 6, (uint8_t)sport,
					       (uint8_t)dport, &one_way);
	} else if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) {
		sport = dport = 0;
	}

	b = bucket_of(t, p->src, sport, p->dst, dport, p->proto, p->vlan, p->inner_vlan);
	i = lookup(t, p, sport, dport, b, &is_orig);
	/* A new SYN on the five-tuple starts a new connection (Zeek's
	 * IsReuse). */
	if (i != NIL && p->proto == IPPROTO_TCP && (p->tcp_flags & PKT_TCP_SYN) &&
	    flow__tcp_reuse(&t->slots[i], t->slots[i].list == FLOW_L_CLOSED, p)) {
		t->stats.expired++;
		end_flow(t, i, false);
		i = NIL;
	}
	if (i == NIL) {
		bool flipped;

		i = create_flow(t, p, sport, dport, b, &flipped);
		is_orig = !flipped;
		ref->created = true;
	} else {
		ref->created = false;
	}
	s = &t->slots[i];
	ref->id = i;
	ref->flipped = false;

	if (is_orig) {
		s->orig_pkts++;
		s->orig_ip_bytes += p->ip_len;
		s->flags |= FLOW_F_ORIG_SEEN;
	} else {
		s->resp_pkts++;
		s->resp_ip_bytes += p->ip_len;
		s->flags |= FLOW_F_RESP_SEEN;
	}
	/* Zeek stops a TCP connection's clock once both sides closed. */
	if (!(s->flags & FLOW_F_FROZEN) && p->ts_us > s->last_us)
		s->last_us = p->ts_us;

	if (p->proto == IPPROTO_TCP) {
		uint8_t before = s->flags & FLOW_F_FLIPPED;

		account_tcp(t, i, is_orig, p);
		if ((s->flags & FLOW_F_FLIPPED) != before) {
			is_orig = !is_orig;
			ref->flipped = true;
		}
	} else {
		account_dgram(t, i, is_orig, p);
	}
	ref->is_orig = is_orig;
	maybe_interim(t, s, p->ts_us);
	return 0;
}

void flow_table_expire(struct flow_table *t, uint64_t now_us)
{
	expire_some(t, now_us, UINT32_MAX);
}

void flow_table_flush(struct flow_table *t)
{
	int l;

	/* Oldest first within each list. */
	for (l = 0; l < FLOW_L_COUNT; l++)
		while (t->lists[l].head != NIL)
			end_flow(t, t->lists[l].head, false);
}
