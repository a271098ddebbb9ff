/* snmp_trapd: the SNMP engine (agent/snmp/snmp.h) behind a plain UDP
 * socket, for interoperability tests with net-snmp and for measuring the
 * decode rate. No spool: records go to stdout, one per line.
 *
 *   snmp_trapd [options] listen PORT     receive until -n datagrams (or
 *                                        forever), answer informs and
 *                                        reports, print records / rejects
 *   snmp_trapd capture PORT N NAME       print the next N datagrams as C
 *                                        arrays NAME_0..NAME_N-1
 *   snmp_trapd [options] bench-file FILE SECONDS
 *                                        time snmp_engine_process on one
 *                                        datagram (raw bytes in FILE), again
 *                                        and again (v1/v2c: v3 copies would be
 *                                        replays)
 *   snmp_trapd [options] bench v2c|v3 SECONDS
 *                                        build traps in memory (v3: authPriv
 *                                        SHA/AES as the first -u user, as a
 *                                        sender with engine ID -s) and time
 *                                        snmp_engine_process on one core
 * Options:
 *   -e HEX        our engine ID (default 8000ed5703776172640001)
 *   -b N          our boots (default 1)
 *   -c COMMUNITY  accept this community (repeatable; default "public")
 *   -A            accept any community
 *   -u NAME:AUTH:AUTHPW:PRIV:PRIVPW[:ENGINEHEX]   a USM user (repeatable);
 *                 AUTH/PRIV as snmp_auth_parse / snmp_priv_parse
 *   -s HEX        bench: the sender's engine ID
 *   -n N          listen: stop after N datagrams
 *   -q            listen: print rejects only
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "snmp/snmp.h"
#include "snmp/snmp_ber.h"
#include "snmp/snmp_pdu.h"
#include "snmp/snmp_usm.h"

#define MAX_USERS 32
#define MAX_COMM 8

static int hex_parse(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	while (s[0] && s[1]) {
		unsigned v;

		if (n >= cap || sscanf(s, "%2x", &v) != 1)
			return -EINVAL;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	*len = n;
	return *s ? -EINVAL : 0;
}

struct cfg {
	uint8_t eid[32], sender[32];
	size_t eid_len, sender_len;
	struct snmp_user users[MAX_USERS];
	uint8_t user_eid[MAX_USERS][32];
	unsigned n_users;
	const char *comm[MAX_COMM];
	unsigned n_comm;
	struct snmp_engine_opts o;
	long limit;
	int quiet;
};

static int parse_user(struct cfg *c, char *spec)
{
	struct snmp_user *u = &c->users[c->n_users];
	char *f[6] = { 0 };
	int n = 0;

	if (c->n_users >= MAX_USERS)
		return -EINVAL;
	for (char *tok = strtok(spec, ":"); tok && n < 6; tok = strtok(NULL, ":"))
		f[n++] = tok;
	if (n < 5 || snmp_auth_parse(f[1], &u->auth) < 0 || snmp_priv_parse(f[3], &u->priv) < 0)
		return -EINVAL;
	u->name = f[0];
	u->auth_password = f[2];
	u->priv_password = f[4];
	if (n == 6) {
		if (hex_parse(f[5], c->user_eid[c->n_users], 32, &u->engine_id_len) < 0)
			return -EINVAL;
		u->engine_id = c->user_eid[c->n_users];
	}
	c->n_users++;
	return 0;
}

static void print_c_array(const char *name, unsigned i, const uint8_t *p, size_t n)
{
	printf("static const uint8_t %s_%u[%zu] = {", name, i, n);
	for (size_t k = 0; k < n; k++)
		printf("%s0x%02x,", k % 12 ? " " : "\n\t", p[k]);
	printf("\n};\n");
}

static int open_udp(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("bind");
		exit(1);
	}
	return fd;
}

static int run_capture(int port, long n, const char *name)
{
	static uint8_t pkt[65536];
	int fd = open_udp(port);

	fprintf(stderr, "capturing on 127.0.0.1:%d\n", port);
	for (long i = 0; i < n; i++) {
		ssize_t len = recv(fd, pkt, sizeof(pkt), 0);

		if (len < 0)
			return 1;
		print_c_array(name, (unsigned)i, pkt, (size_t)len);
		fflush(stdout);
	}
	close(fd);
	return 0;
}

static int run_listen(struct cfg *c, int port)
{
	static uint8_t pkt[65536];
	struct snmp_engine *e;
	struct snmp_rx rx;
	char err[256];
	int fd = open_udp(port);

	if (snmp_engine_create(&e, &c->o, err, sizeof(err)) < 0) {
		fprintf(stderr, "engine: %s\n", err);
		return 1;
	}
	snmp_rx_init(&rx);
	fprintf(stderr, "listening on 127.0.0.1:%d\n", port);
	for (long i = 0; c->limit == 0 || i < c->limit; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&from, &fl);

		if (len < 0)
			break;
		if (snmp_engine_process(e, pkt, (size_t)len, (struct sockaddr *)&from, clock_wall_us(),
					&rx) < 0) {
			fprintf(stderr, "process: out of memory\n");
			continue;
		}
		if (rx.reject != SNMP_OK)
			printf("{\"reject\":\"%s\",\"detail\":\"%s\",\"response\":%zu}\n",
			       snmp_reject_name(rx.reject), rx.detail, rx.response.len);
		else if (!c->quiet)
			printf("%.*s\n", (int)rx.record.len, (const char *)rx.record.data);
		fflush(stdout);
		if (rx.response.len > 0)
			sendto(fd, rx.response.data, rx.response.len, 0, (struct sockaddr *)&from, fl);
	}
	snmp_rx_free(&rx);
	snmp_engine_destroy(e);
	close(fd);
	return 0;
}

/* ---- bench ----------------------------------------------------------------- */

/* A linkDown trap like those switches send: sysUpTime.0, snmpTrapOID.0,
 * ifIndex, ifAdminStatus, ifOperStatus, ifDescr. */
static size_t bench_vbl(uint8_t *buf, size_t cap, uint32_t uptime, const uint8_t **p)
{
	static const uint32_t uptime_oid[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
	static const uint32_t trap_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };
	static const uint32_t link_down[] = { 1, 3, 6, 1, 6, 3, 1, 1, 5, 3 };
	uint32_t if_oid[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 7 };
	struct snmp_benc e;
	size_t mark, vb;

	snmp_benc_init(&e, buf, cap);
	mark = snmp_benc_mark(&e);
	vb = snmp_benc_mark(&e);
	snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, "GigabitEthernet1/0/7", 20);
	if_oid[9] = 2;
	snmp_benc_oid(&e, if_oid, 11);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, vb);
	for (uint32_t col = 8; col >= 7; col--) {
		vb = snmp_benc_mark(&e);
		snmp_benc_int(&e, SNMP_TAG_INTEGER, 2);
		if_oid[9] = col;
		snmp_benc_oid(&e, if_oid, 11);
		snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, vb);
	}
	vb = snmp_benc_mark(&e);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, 7);
	if_oid[9] = 1;
	snmp_benc_oid(&e, if_oid, 11);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, vb);
	vb = snmp_benc_mark(&e);
	snmp_benc_oid(&e, link_down, 10);
	snmp_benc_oid(&e, trap_oid, 11);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, vb);
	vb = snmp_benc_mark(&e);
	snmp_benc_uint(&e, SNMP_TAG_TIMETICKS, uptime);
	snmp_benc_oid(&e, uptime_oid, 9);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, vb);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, mark);
	size_t n;
	if (snmp_benc_finish(&e, p, &n) < 0)
		exit(1);
	return n;
}

static void build_v2c(struct buf *out, uint32_t i)
{
	uint8_t vbuf[512];
	const uint8_t *vbl;
	size_t vn = bench_vbl(vbuf, sizeof(vbuf), i, &vbl);
	struct snmp_bytes comm = { (const uint8_t *)"public", 6 }, v = { vbl, vn };

	size_t hdr;

	/* A Response-shaped message, retagged as an SNMPv2-Trap: after the
	 * outer header come version (3 bytes) and community (8 bytes). */
	if (snmp_encode_v2c_response(out, &comm, (int32_t)i, &v) < 0)
		exit(1);
	hdr = (out->data[1] & 0x80) ? 2 + (out->data[1] & 0x7f) : 2;
	out->data[hdr + 3 + 8] = SNMP_PDU_TRAP_V2;
}

struct v3_sender {
	struct snmp_usm_keys keys;
	struct buf scoped, cipher;
	uint8_t eid[32];
	size_t eid_len;
	const char *user;
};

static void build_v3(struct v3_sender *s, struct buf *out, uint32_t i)
{
	uint8_t vbuf[512], salt[8];
	const uint8_t *vbl;
	size_t vn = bench_vbl(vbuf, sizeof(vbuf), i, &vbl), n = 0, mac_off;
	struct snmp_bytes eid = { s->eid, s->eid_len }, ctx = { NULL, 0 }, v = { vbl, vn };
	struct snmp_v3_out o;

	if (snmp_encode_scoped(&s->scoped, &eid, &ctx, SNMP_PDU_TRAP_V2, (int32_t)i, &v) < 0 ||
	    buf_reserve(&s->cipher, s->scoped.len + 8) < 0)
		exit(1);
	for (int k = 0; k < 8; k++)
		salt[k] = (uint8_t)((uint64_t)i >> (56 - 8 * k));
	/* time advances one second per 1000 traps, as a busy sender's would */
	if (snmp_usm_encrypt(&s->keys, 1, 1000 + i / 1000, salt, s->scoped.data, s->scoped.len,
			     s->cipher.data, &n) < 0)
		exit(1);
	o = (struct snmp_v3_out){
		.msg_id = (int32_t)i, .flags = SNMP_FLAG_AUTH | SNMP_FLAG_PRIV, .engine_id = eid,
		.user = { (const uint8_t *)s->user, strlen(s->user) },
		.priv_params = { salt, 8 }, .data = { s->cipher.data, n },
		.boots = 1, .time = 1000 + i / 1000, .mac_len = snmp_usm_mac_len(s->keys.auth),
	};
	if (snmp_encode_v3(out, &o, &mac_off) < 0 ||
	    snmp_usm_auth_sign(&s->keys, out->data, out->len, mac_off) < 0)
		exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_bench(struct cfg *c, const char *kind, double seconds)
{
	enum { BATCH = 20000 };
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(40000) };
	struct buf *pkts = calloc(BATCH, sizeof(*pkts));
	struct v3_sender s = { 0 };
	struct snmp_engine *e;
	struct snmp_rx rx;
	uint64_t done = 0, bytes = 0, rejects = 0;
	char err[256];
	bool v3 = strcmp(kind, "v3") == 0;
	double t0, t;

	from.sin_addr.s_addr = htonl(0xc0000207);
	if (v3) {
		uint8_t ku[64], pku[64];
		const struct snmp_user *u = &c->users[0];

		if (c->n_users == 0 || c->sender_len == 0) {
			fprintf(stderr, "bench v3 needs -u and -s\n");
			return 2;
		}
		memcpy(s.eid, c->sender, c->sender_len);
		s.eid_len = c->sender_len;
		s.user = u->name;
		if (snmp_usm_password_to_key(u->auth, u->auth_password, strlen(u->auth_password), ku) < 0 ||
		    snmp_usm_password_to_key(u->auth, u->priv_password, strlen(u->priv_password), pku) < 0 ||
		    snmp_usm_keys_setup(&s.keys, u->auth, u->priv, ku, pku, s.eid, s.eid_len) < 0)
			return 1;
	}
	if (snmp_engine_create(&e, &c->o, err, sizeof(err)) < 0) {
		fprintf(stderr, "engine: %s\n", err);
		return 1;
	}
	snmp_rx_init(&rx);
	t0 = now_s();
	/* Messages are built in batches outside the timed part; each one is
	 * distinct (v3: new msgID, salt and digest) so the replay cache
	 * does not short-cut anything. */
	double busy = 0;
	for (uint32_t base = 0; (t = now_s()) - t0 < seconds; base += BATCH) {
		for (uint32_t k = 0; k < BATCH; k++) {
			buf_init(&pkts[k]);
			if (v3)
				build_v3(&s, &pkts[k], base + k);
			else
				build_v2c(&pkts[k], base + k);
		}
		double b0 = now_s();
		for (uint32_t k = 0; k < BATCH; k++) {
			if (snmp_engine_process(e, pkts[k].data, pkts[k].len, (struct sockaddr *)&from,
						clock_wall_us(), &rx) < 0)
				return 1;
			rejects += rx.reject != SNMP_OK;
			if (rx.reject != SNMP_OK && rejects == 1)
				fprintf(stderr, "reject: %s: %s\n", snmp_reject_name(rx.reject), rx.detail);
			bytes += rx.record.len;
		}
		busy += now_s() - b0;
		done += BATCH;
		for (uint32_t k = 0; k < BATCH; k++)
			buf_free(&pkts[k]);
	}
	printf("%s: %llu messages in %.2f s of processing: %.0f per second, %llu rejects, "
	       "%.0f bytes per record\n", kind, (unsigned long long)done, busy, done / busy,
	       (unsigned long long)rejects, (double)bytes / (double)done);
	snmp_rx_free(&rx);
	snmp_engine_destroy(e);
	snmp_usm_keys_release(&s.keys);
	buf_free(&s.scoped);
	buf_free(&s.cipher);
	free(pkts);
	return rejects ? 1 : 0;
}

static int run_bench_file(struct cfg *c, const char *file, double seconds)
{
	static uint8_t pkt[65536];
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(40000) };
	struct snmp_engine *e;
	struct snmp_rx rx;
	uint64_t done = 0, rejects = 0;
	char err[256];
	FILE *f = fopen(file, "rb");
	size_t n;
	double t0, t;

	if (f == NULL) {
		perror(file);
		return 1;
	}
	n = fread(pkt, 1, sizeof(pkt), f);
	fclose(f);
	if (snmp_engine_create(&e, &c->o, err, sizeof(err)) < 0) {
		fprintf(stderr, "engine: %s\n", err);
		return 1;
	}
	snmp_rx_init(&rx);
	t0 = now_s();
	do {
		for (int k = 0; k < 10000; k++) {
			if (snmp_engine_process(e, pkt, n, (struct sockaddr *)&from, clock_wall_us(), &rx) < 0)
				return 1;
			rejects += rx.reject != SNMP_OK;
		}
		done += 10000;
	} while ((t = now_s()) - t0 < seconds);
	printf("%s: %llu messages in %.2f s: %.0f per second, %llu rejects, %zu bytes per record\n",
	       file, (unsigned long long)done, t - t0, done / (t - t0), (unsigned long long)rejects,
	       rx.record.len);
	snmp_rx_free(&rx);
	snmp_engine_destroy(e);
	return rejects ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct cfg c;
	int opt;

	hex_parse("8000ed5703776172640001", c.eid, 32, &c.eid_len);
	c.o.boots = 1;
	while ((opt = getopt(argc, argv, "e:b:c:Au:s:n:q")) != -1) {
		switch (opt) {
		case 'e':
			if (hex_parse(optarg, c.eid, 32, &c.eid_len) < 0)
				return 2;
			break;
		case 'b': c.o.boots = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'c':
			if (c.n_comm < MAX_COMM)
				c.comm[c.n_comm++] = optarg;
			break;
		case 'A': c.o.accept_any_community = true; break;
		case 'u':
			if (parse_user(&c, optarg) < 0) {
				fprintf(stderr, "bad -u %s\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (hex_parse(optarg, c.sender, 32, &c.sender_len) < 0)
				return 2;
			break;
		case 'n': c.limit = strtol(optarg, NULL, 10); break;
		case 'q': c.quiet = 1; break;
		default: return 2;
		}
	}
	if (c.n_comm == 0)
		c.comm[c.n_comm++] = "public";
	c.o.engine_id = c.eid;
	c.o.engine_id_len = c.eid_len;
	c.o.users = c.users;
	c.o.n_users = c.n_users;
	c.o.communities = c.comm;
	c.o.n_communities = c.n_comm;
	if (optind + 2 <= argc && strcmp(argv[optind], "listen") == 0)
		return run_listen(&c, atoi(argv[optind + 1]));
	if (optind + 4 <= argc && strcmp(argv[optind], "capture") == 0)
		return run_capture(atoi(argv[optind + 1]), atol(argv[optind + 2]), argv[optind + 3]);
	if (optind + 3 <= argc && strcmp(argv[optind], "bench-file") == 0)
		return run_bench_file(&c, argv[optind + 1], atof(argv[optind + 2]));
	if (optind + 3 <= argc && strcmp(argv[optind], "bench") == 0)
		return run_bench(&c, argv[optind + 1], atof(argv[optind + 2]));
	fprintf(stderr, "usage: snmp_trapd [options] listen PORT | capture PORT N NAME | "
		"bench-file FILE SECONDS | bench v2c|v3 SECONDS\n");
	return 2;
}
