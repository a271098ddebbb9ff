/* libFuzzer target: the flow table's update path (flow.c, flow_tcp.c).
 *
 * Each 10 bytes of input become one struct pkt between few endpoints (so
 * flows collide, reverse and reuse): TCP with arbitrary flags, sequence and
 * acknowledgement numbers near a few bases or anywhere, UDP, ICMP and
 * another protocol, IPv4 and IPv6, VLAN tags, and a clock that mostly
 * moves forward in small steps and sometimes jumps past every timeout. The
 * table is small (eviction under pressure), its timeouts short and its
 * active timeout on. Beyond ASan/UBSan it checks each record's invariants
 * and that a flush leaves no flow behind. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(void *ctx, const struct conn *c)
{
	size_t n;

	(void)ctx;
	if ((unsigned)c->conn_state > CONN_OTH)
		abort();
	if (strcmp(conn_state_name(c->conn_state), "") == 0)
		abort();
	n = strnlen(c->history, sizeof(c->history));
	if (n >= sizeof(c->history) || strspn(c->history, "SHADFRTWIQGC^shadfrtwiqgc") != n)
		abort();
	if (c->uid[0] != 'C' || strnlen(c->uid, sizeof(c->uid)) >= sizeof(c->uid))
		abort();
	if (strncmp(c->community_id, "1:", 2) != 0 || strlen(c->community_id) != 30)
		abort();
	if (c->orig_pkts + c->resp_pkts == 0)
		abort();
	if (c->ip_version != 4 && c->ip_version != 6)
		abort();
	if (c->interim && c->evicted)
		abort();
}

static const uint32_t bases[4] = { 1000, 0x7ffffff0u, 0xfffffff0u, 123456789u };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flow_config cfg = {
		.mem_max = 8 * flow_state_bytes(), .tcp_timeout_ms = 3000, .udp_timeout_ms = 2000,
		.icmp_timeout_ms = 1000, .active_timeout_ms = 1500, .uid_seed = 1,
	};
	struct flow_net net = { .ip_version = 4, .prefix_len = 30, .addr = { 10, 0, 0, 0 } };
	struct flow_table *t = NULL;
	uint64_t ts = 1700000000000000ull;
	size_t off;

	cfg.local_nets = &net;
	cfg.n_local_nets = 1;
	if (flow_table_create(&t, &cfg, check, NULL) != 0)
		abort();
	for (off = 0; off + 10 <= size; off += 10) {
		const uint8_t *b = data + off;
		struct pkt p;
		int si = b[0] & 3, di = (b[0] >> 2) & 3;

		memset(&p, 0, sizeof(p));
		p.ip_version = (b[0] & 0x80) ? 6 : 4;
		if (p.ip_version == 4) {
			p.src[0] = p.dst[0] = 10;
			p.src[3] = (uint8_t)(1 + si);
			p.dst[3] = (uint8_t)(1 + di);
		} else {
			p.src[0] = p.dst[0] = 0xfd;
			p.src[15] = (uint8_t)(1 + si);
			p.dst[15] = (uint8_t)(1 + di);
		}
		switch (b[1] & 7) {
		case 0: case 1: case 2: case 3:
			p.proto = IPPROTO_TCP;
			break;
		case 4: case 5:
			p.proto = IPPROTO_UDP;
			break;
		case 6:
			p.proto = p.ip_version == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
			break;
		default:
			p.proto = 47;
			break;
		}
		{
			static const uint16_t ports[4] = { 80, 53, 40000, 50000 };

			p.sport = ports[(b[0] >> 4) & 3];
			p.dport = ports[(b[1] >> 3) & 3];
		}
		if (p.proto == IPPROTO_ICMP || p.proto == IPPROTO_ICMPV6) {
			p.sport = b[6];
			p.dport = b[7] & 15;
		} else if (p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP) {
			p.sport = p.dport = 0;
		}
		p.vlan = (b[1] & 0x20) ? 100 : 0;
		p.inner_vlan = (b[1] & 0x40) ? 200 : 0;
		p.tcp_flags = p.proto == IPPROTO_TCP ? (uint8_t)(b[2] & 0x3f) : 0;
		if (b[3] & 0x80) {
			memcpy(&p.seq, b + 3, 4);
			memcpy(&p.ack, b + 5, 4);
		} else {
			p.seq = bases[b[3] & 3] + (uint32_t)b[4] * 100;
			p.ack = bases[(b[3] >> 2) & 3] + (uint32_t)b[5] * 100;
		}
		p.window = (b[9] & 0x80) ? 0 : 512;
		p.payload_wire_len = (uint32_t)(b[8] & 0x7f) * 10;
		p.payload_len = p.payload_wire_len;
		p.ip_len = 40 + p.payload_wire_len;
		if (b[9] == 0xff)
			ts += 400000000ull;          /* past every timeout */
		else if (b[9] & 0x40)
			ts -= (uint64_t)(b[9] & 0x3f) * 1000; /* slightly out of order */
		else
			ts += (uint64_t)(b[9] & 0x3f) * 50000;
		p.ts_us = ts;
		if (flow_table_update(t, &p) != 0)
			abort();
		if (b[8] & 0x80)
			flow_table_expire(t, ts);
	}
	flow_table_flush(t);
	if (flow_table_stats(t)->flows_active != 0)
		abort();
	flow_table_destroy(t);
	return 0;
}
