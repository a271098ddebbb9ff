/* flow_state_bench: the flow table's memory per idle flow (issue 4: at
 * most 200 bytes, reported with 1,000,000 concurrent flows).
 *
 *   flow_state_bench [FLOWS]     default 1000000
 *
 * Creates a table sized for FLOWS flows, inserts FLOWS distinct idle UDP
 * flows of one packet each, and prints one JSON object:
 *   {"flows":N,"bytes_per_flow":B,"rss_growth_bytes_per_flow":R,
 *    "insert_ns_per_flow":T,"update_ns_per_packet":U,"capacity":C,"active":A,
 *    "evicted":E}
 * bytes_per_flow is flow_state_bytes() (slot + hash bucket);
 * rss_growth_bytes_per_flow is VmRSS after the inserts minus VmRSS before
 * the table was created, over FLOWS; update_ns_per_packet is a second
 * packet to each flow, in another order (every lookup a cache miss, the
 * table's worst case). Exit 1 on a failure. */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow.h"

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

static void on_emit(void *ctx, const struct conn *c)
{
	(void)c;
	(*(uint64_t *)ctx)++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One UDP packet of flow number n at time offset `at` (µs). */
static int insert(struct flow_table *t, uint64_t n, uint64_t at)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.ts_us = 1700000000000000ull + at;
	p.ip_version = 4;
	p.proto = IPPROTO_UDP;
	p.src[0] = 10;
	p.src[1] = (uint8_t)(n >> 16);
	p.src[2] = (uint8_t)(n >> 8);
	p.src[3] = (uint8_t)n;
	p.dst[0] = 192;
	p.dst[1] = 168;
	p.dst[3] = 1;
	p.sport = (uint16_t)(1024 + (n >> 24));
	p.dport = 53;
	p.ip_len = 60;
	p.payload_len = p.payload_wire_len = 32;
	if (flow_table_update(t, &p) != 0) {
		fprintf(stderr, "flow_state_bench: update failed\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t flows = 1000000, emitted = 0, i, t0, t1, t2;
	struct flow_config cfg = { .uid_seed = 1 };
	struct flow_table *t = NULL;
	const struct flow_stats *st;
	long before, after;
	int rc;

	if (argc > 1) {
		char *end;

		flows = strtoull(argv[1], &end, 10);
		if (*end != '\0' || flows == 0 || flows > 100000000) {
			fprintf(stderr, "usage: flow_state_bench [FLOWS]\n");
			return 2;
		}
	}
	cfg.mem_max = flows * flow_state_bytes();
	before = rss_kib();
	rc = flow_table_create(&t, &cfg, on_emit, &emitted);
	if (rc != 0) {
		fprintf(stderr, "flow_state_bench: flow_table_create: %s\n", strerror(-rc));
		return 1;
	}
	t0 = now_ns();
	for (i = 0; i < flows; i++) {
		if (insert(t, i, 0) != 0)
			return 1;
	}
	t1 = now_ns();
	after = rss_kib();
	for (i = 0; i < flows; i++) {
		/* A stride coprime with FLOWS visits every flow once. */
		if (insert(t, flows % 7919 ? (i * 7919) % flows : i, flows + i) != 0)
			return 1;
	}
	t2 = now_ns();
	st = flow_table_stats(t);
	printf("{\"flows\":%" PRIu64 ",\"bytes_per_flow\":%zu,\"rss_growth_bytes_per_flow\":%.1f,"
	       "\"insert_ns_per_flow\":%.1f,\"update_ns_per_packet\":%.1f,\"capacity\":%" PRIu64
	       ",\"active\":%" PRIu64
	       ",\"evicted\":%" PRIu64 "}\n",
	       flows, flow_state_bytes(),
	       before >= 0 && after >= 0 ? (double)(after - before) * 1024.0 / (double)flows : -1.0,
	       (double)(t1 - t0) / (double)flows, (double)(t2 - t1) / (double)flows, st->flows_capacity, st->flows_active,
	       st->evicted_pressure);
	flow_table_destroy(t);
	return emitted == 0 ? 0 : 1;
}
