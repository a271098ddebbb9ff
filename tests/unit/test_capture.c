/* capture: pcap files written with libpcap's own pcap_dump and read back
 * through CAPTURE_FILE (counts, timestamps, lengths, BPF, damaged and
 * missing files); the live backends' open errors; AF_PACKET fanout on
 * loopback when run as root; the ethtool offload check on "lo". */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "sandbox.h"
#include "test_tmpdir.h"

static char dir[256];

/* An Ethernet + IPv4 + UDP frame of `len` bytes (>= 42) from port sport
 * to port dport. */
static size_t make_udp(uint8_t *b, size_t len, uint16_t sport, uint16_t dport)
{
	static const uint8_t eth[14] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00 };
	uint16_t ip_len = (uint16_t)(len - 14), udp_len = (uint16_t)(len - 34);

	memset(b, 0xab, len);
	memcpy(b, eth, sizeof(eth));
	b[14] = 0x45;
	b[15] = 0;
	b[16] = (uint8_t)(ip_len >> 8);
	b[17] = (uint8_t)ip_len;
	memset(b + 18, 0, 4);
	b[22] = 64;
	b[23] = 17;
	b[24] = b[25] = 0;
	memcpy(b + 26, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	b[34] = (uint8_t)(sport >> 8);
	b[35] = (uint8_t)sport;
	b[36] = (uint8_t)(dport >> 8);
	b[37] = (uint8_t)dport;
	b[38] = (uint8_t)(udp_len >> 8);
	b[39] = (uint8_t)udp_len;
	b[40] = b[41] = 0;
	return len;
}

/* Frame i: UDP to port 53 when i % 3 == 0 (else 9999), wire length
 * 100 + i, captured whole except frame 4 (cut to 60 bytes), stamped
 * 1700000000 + i s and i * 1000 + 7 µs. */
#define N_FRAMES 10
static uint32_t frame_wirelen(int i) { return 100u + (uint32_t)i; }
static uint32_t frame_caplen(int i) { return i == 4 ? 60u : frame_wirelen(i); }
static uint64_t frame_ts(int i) { return (1700000000ull + (uint64_t)i) * 1000000ull + (uint64_t)i * 1000u + 7u; }

static void write_pcap(const char *path, int n)
{
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
							    PCAP_TSTAMP_PRECISION_MICRO);
	pcap_dumper_t *d;
	uint8_t buf[256];
	int i;

	assert_non_null(dead);
	d = pcap_dump_open(dead, path);
	assert_non_null(d);
	for (i = 0; i < n; i++) {
		struct pcap_pkthdr h;

		make_udp(buf, frame_wirelen(i), (uint16_t)(40000 + i), i % 3 == 0 ? 53 : 9999);
		h.ts.tv_sec = (time_t)(frame_ts(i) / 1000000u);
		h.ts.tv_usec = (suseconds_t)(frame_ts(i) % 1000000u);
		h.caplen = frame_caplen(i);
		h.len = frame_wirelen(i);
		pcap_dump((u_char *)d, &h, buf);
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

struct seen {
	int n;
	uint64_t ts[64];
	uint32_t caplen[64], wirelen[64];
	uint16_t sport[64];
};

static void on_frame(void *ctx, const struct capture_frame *f)
{
	struct seen *s = ctx;

	if (s->n < 64) {
		s->ts[s->n] = f->ts_us;
		s->caplen[s->n] = f->caplen;
		s->wirelen[s->n] = f->wirelen;
		s->sport[s->n] = f->caplen >= 36 ? (uint16_t)(f->data[34] << 8 | f->data[35]) : 0;
	}
	s->n++;
}

static int open_file(struct capture **c, const char *path, const char *bpf, char *err,
		     size_t errlen)
{
	struct capture_config cfg;

	capture_config_defaults(&cfg);
	cfg.backend = CAPTURE_FILE;
	cfg.source = path;
	cfg.bpf = bpf;
	return capture_open(c, &cfg, err, errlen);
}

/* Reads the whole file; returns the last dispatch result (-ENODATA). */
static int read_all(struct capture *c, struct seen *s)
{
	int rc;

	while ((rc = capture_dispatch(c, 0, on_frame, s, 100)) >= 0)
		;
	return rc;
}

static void path_of(char *dst, size_t cap, const char *name)
{
	snprintf(dst, cap, "%s/%s", dir, name);
}

static void test_file_frames(void **state)
{
	char path[300], err[256];
	struct capture *c;
	struct capture_stats st;
	struct seen s = { 0 };
	int i;

	(void)state;
	path_of(path, sizeof(path), "ten.pcap");
	write_pcap(path, N_FRAMES);
	assert_int_equal(open_file(&c, path, NULL, err, sizeof(err)), 0);
	assert_int_equal(capture_linktype(c), DLT_EN10MB);
	assert_int_equal(capture_workers(c), 1);
	assert_int_equal(read_all(c, &s), -ENODATA);
	assert_int_equal(s.n, N_FRAMES);
	for (i = 0; i < N_FRAMES; i++) {
		assert_int_equal(s.ts[i], frame_ts(i));
		assert_int_equal(s.caplen[i], frame_caplen(i));
		assert_int_equal(s.wirelen[i], frame_wirelen(i));
		assert_int_equal(s.sport[i], 40000 + i);
	}
	/* The end stays the end. */
	assert_int_equal(capture_dispatch(c, 0, on_frame, &s, 0), -ENODATA);
	assert_int_equal(capture_dispatch(c, 1, on_frame, &s, 0), -EINVAL);
	assert_int_equal(capture_stats(c, &st), 0);
	assert_int_equal(st.received, N_FRAMES);
	assert_int_equal(st.kernel_drops, 0);
	assert_int_equal(st.if_rx_packets, 0);
	capture_close(c);
	capture_close(NULL);
}

static void test_file_bpf(void **state)
{
	char path[300], err[256];
	struct capture *c;
	struct seen s = { 0 };

	(void)state;
	path_of(path, sizeof(path), "bpf.pcap");
	write_pcap(path, N_FRAMES);
	assert_int_equal(open_file(&c, path, "udp dst port 53", err, sizeof(err)), 0);
	assert_int_equal(read_all(c, &s), -ENODATA);
	/* Frames 0, 3, 6, 9. */
	assert_int_equal(s.n, 4);
	assert_int_equal(s.sport[0], 40000);
	assert_int_equal(s.sport[3], 40009);
	capture_close(c);
}

static void test_file_bad_bpf(void **state)
{
	char path[300], err[256] = "";
	struct capture *c = (struct capture *)&c;

	(void)state;
	path_of(path, sizeof(path), "badbpf.pcap");
	write_pcap(path, 1);
	assert_int_equal(open_file(&c, path, "tcp port", err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_string_equal(err, "bad BPF filter 'tcp port': syntax error");
	assert_int_equal(open_file(&c, path, "udp port 99999", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad BPF filter 'udp port 99999': "));
	assert_non_null(strstr(err, "99999"));
}

static void test_file_missing(void **state)
{
	char path[300], err[512] = "";
	struct capture *c;

	(void)state;
	path_of(path, sizeof(path), "nope.pcap");
	assert_int_equal(open_file(&c, path, NULL, err, sizeof(err)), -ENOENT);
	assert_null(c);
	assert_non_null(strstr(err, "nope.pcap: No such file or directory"));
}

static void write_bytes(const char *path, const void *b, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	fclose(f);
}

static void test_file_garbage(void **state)
{
	static const char junk[] = "this is not a capture file, just text\n";
	char path[300], err[512] = "";
	struct capture *c;

	(void)state;
	path_of(path, sizeof(path), "junk.pcap");
	write_bytes(path, junk, sizeof(junk));
	assert_int_equal(open_file(&c, path, NULL, err, sizeof(err)), -EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, "junk.pcap: not a pcap or pcapng file ("));
	/* Shorter than a file header. */
	write_bytes(path, "\xd4\xc3\xb2", 3);
	assert_int_equal(open_file(&c, path, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a pcap or pcapng file"));
	/* Empty. */
	write_bytes(path, "", 0);
	assert_int_equal(open_file(&c, path, NULL, err, sizeof(err)), -EINVAL);
}

static void test_file_truncated(void **state)
{
	char path[300], err[512] = "";
	struct capture *c;
	struct seen s = { 0 };
	uint8_t buf[4096];
	size_t n;
	FILE *f;

	(void)state;
	path_of(path, sizeof(path), "cut.pcap");
	write_pcap(path, 3);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* 24-byte file header, then 16 + 100, 16 + 101, 16 + 102: cut the
	 * third frame's data short. */
	assert_int_equal(n, 24 + 16 * 3 + 100 + 101 + 102);
	write_bytes(path, buf, n - 50);
	assert_int_equal(open_file(&c, path, NULL, err, sizeof(err)), 0);
	assert_int_equal(capture_dispatch(c, 0, on_frame, &s, 0), 2);
	assert_int_equal(capture_dispatch(c, 0, on_frame, &s, 0), -EIO);
	assert_int_equal(capture_dispatch(c, 0, on_frame, &s, 0), -EIO);
	assert_int_equal(s.n, 2);
	assert_non_null(strstr(capture_last_error(c), "cut.pcap: truncated"));
	capture_close(c);
}

/* A nanosecond pcap file comes out in µs (libpcap scales it). */
static void test_file_nanosecond(void **state)
{
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
							    PCAP_TSTAMP_PRECISION_NANO);
	char path[300], err[256];
	struct pcap_pkthdr h = { .caplen = 60, .len = 60 };
	struct capture *c;
	struct seen s = { 0 };
	pcap_dumper_t *d;
	uint8_t buf[60];

	(void)state;
	path_of(path, sizeof(path), "nano.pcap");
	d = pcap_dump_open(dead, path);
	assert_non_null(d);
	make_udp(buf, sizeof(buf), 1, 2);
	h.ts.tv_sec = 1700000000;
	h.ts.tv_usec = 123456789;    /* ns in a nanosecond file */
	pcap_dump((u_char *)d, &h, buf);
	pcap_dump_close(d);
	pcap_close(dead);
	assert_int_equal(open_file(&c, path, NULL, err, sizeof(err)), 0);
	assert_int_equal(read_all(c, &s), -ENODATA);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ts[0], 1700000000ull * 1000000u + 123456u);
	capture_close(c);
}

/* pcapng, written by hand (libpcap writes only pcap): a section header,
 * one Ethernet interface with the default µs resolution, and two enhanced
 * packet blocks (pcapng draft, sections 4.1, 4.2, 4.3). */
static void put32(uint8_t **p, uint32_t v)
{
	memcpy(*p, &v, 4);
	*p += 4;
}

static void test_file_pcapng(void **state)
{
	uint8_t file[512], *p = file, frame[64];
	char path[300], err[256];
	struct capture *c;
	struct seen s = { 0 };
	int i;

	(void)state;
	put32(&p, 0x0A0D0D0A);       /* SHB */
	put32(&p, 28);
	put32(&p, 0x1A2B3C4D);
	put32(&p, 1);                /* version 1.0 */
	put32(&p, 0xffffffff);       /* section length unknown */
	put32(&p, 0xffffffff);
	put32(&p, 28);
	put32(&p, 1);                /* IDB */
	put32(&p, 20);
	put32(&p, DLT_EN10MB);       /* linktype 1, reserved 0 */
	put32(&p, 0);                /* snaplen: none */
	put32(&p, 20);
	make_udp(frame, sizeof(frame), 7, 53);
	for (i = 0; i < 2; i++) {
		uint64_t ts = 1700000000123456ull + (uint64_t)i;

		put32(&p, 6);        /* EPB */
		put32(&p, 32 + sizeof(frame));
		put32(&p, 0);        /* interface 0 */
		put32(&p, (uint32_t)(ts >> 32));
		put32(&p, (uint32_t)ts);
		put32(&p, sizeof(frame));
		put32(&p, 1500);     /* original length */
		memcpy(p, frame, sizeof(frame));
		p += sizeof(frame);
		put32(&p, 32 + sizeof(frame));
	}
	path_of(path, sizeof(path), "two.pcapng");
	write_bytes(path, file, (size_t)(p - file));
	assert_int_equal(open_file(&c, path, "udp port 53", err, sizeof(err)), 0);
	assert_int_equal(capture_linktype(c), DLT_EN10MB);
	assert_int_equal(read_all(c, &s), -ENODATA);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ts[0], 1700000000123456ull);
	assert_int_equal(s.ts[1], 1700000000123457ull);
	assert_int_equal(s.caplen[1], sizeof(frame));
	assert_int_equal(s.wirelen[1], 1500);
	capture_close(c);
}

static void test_file_break(void **state)
{
	char path[300], err[256];
	struct capture *c;
	struct seen s = { 0 };

	(void)state;
	path_of(path, sizeof(path), "brk.pcap");
	write_pcap(path, N_FRAMES);
	assert_int_equal(open_file(&c, path, NULL, err, sizeof(err)), 0);
	capture_break(c);
	/* One return for the break, then the frames as usual. */
	assert_int_equal(capture_dispatch(c, 0, on_frame, &s, 0), 0);
	assert_int_equal(read_all(c, &s), -ENODATA);
	assert_int_equal(s.n, N_FRAMES);
	capture_close(c);
}

static void test_backend_names(void **state)
{
	enum capture_backend b;

	(void)state;
	assert_int_equal(capture_backend_parse("afpacket", &b), 0);
	assert_int_equal(b, CAPTURE_AF_PACKET);
	assert_int_equal(capture_backend_parse("af_packet", &b), 0);
	assert_int_equal(capture_backend_parse("pcap", &b), 0);
	assert_int_equal(b, CAPTURE_PCAP);
	assert_int_equal(capture_backend_parse("file", &b), 0);
	assert_int_equal(b, CAPTURE_FILE);
	assert_int_equal(capture_backend_parse("dpdk", &b), -EINVAL);
	assert_string_equal(capture_backend_name(CAPTURE_AF_PACKET), "afpacket");
	assert_string_equal(capture_backend_name((enum capture_backend)7), "unknown");
}

static void test_live_open_errors(void **state)
{
	struct capture_config cfg;
	struct capture *c;
	char err[256];

	(void)state;
	capture_config_defaults(&cfg);
	cfg.source = "nosuchif0";
	cfg.backend = CAPTURE_AF_PACKET;
	assert_int_equal(capture_open(&c, &cfg, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "nosuchif0: no such interface");
	cfg.backend = CAPTURE_PCAP;
	if (geteuid() == 0) {
		assert_int_equal(capture_open(&c, &cfg, err, sizeof(err)), -ENOENT);
		assert_string_equal(err, "nosuchif0: no such interface");
	}
	cfg.source = "../../etc";
	assert_int_equal(capture_open(&c, &cfg, err, sizeof(err)), -ENOENT);
	cfg.source = "lo";
	cfg.backend = CAPTURE_AF_PACKET;
	cfg.block_size = 3000;
	assert_int_equal(capture_open(&c, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad ring geometry"));
	cfg.block_size = 0;
	cfg.bpf = "udp port";
	assert_int_equal(capture_open(&c, &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bad BPF filter 'udp port': syntax error");
	cfg.source = NULL;
	assert_int_equal(capture_open(&c, &cfg, err, sizeof(err)), -EINVAL);
}

static void test_offload_lo(void **state)
{
	struct capture_offload off;

	(void)state;
	assert_int_equal(capture_offload_check("lo", &off), 0);
	assert_true(off.known);
	assert_false(off.lro);
	assert_true(capture_offload_check("nosuchif0", &off) < 0);
	assert_false(off.known);
}

static void test_offload_advice(void **state)
{
	struct capture_offload off = { .gro = true, .lro = true, .known = true };
	char buf[256];

	(void)state;
	capture_offload_advice("eth1", &off, buf, sizeof(buf));
	assert_string_equal(buf, "eth1: GRO and LRO are on: they merge frames and break "
			    "analysis; turn them off with: ethtool -K eth1 gro off lro off");
	off.lro = false;
	capture_offload_advice("eth1", &off, buf, sizeof(buf));
	assert_string_equal(buf, "eth1: GRO is on: it merges frames and breaks analysis; turn it "
			    "off with: ethtool -K eth1 gro off");
	off.gro = false;
	assert_int_equal(capture_offload_advice("eth1", &off, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	off.gro = true;
	off.known = false;
	assert_int_equal(capture_offload_advice("eth1", &off, buf, sizeof(buf)), 0);
}

/* AF_PACKET on loopback, as root: 2 fanout workers, two datagrams from
 * each of 40 source ports; every one is seen once, and each flow on one
 * worker. */
struct afp_seen {
	int n;
	uint16_t port;
	uint16_t sport[64];          /* the flows seen, and on which worker */
	int worker[64], nflows;
	int split;
	int cur;
};

static void on_afp(void *ctx, const struct capture_frame *f)
{
	struct afp_seen *s = ctx;
	uint16_t sport, dport;
	int i;

	/* lo frames: 14-byte zero Ethernet header, IPv4 without options. */
	if (f->caplen < 42 || f->data[12] != 0x08 || f->data[13] != 0x00)
		return;
	sport = (uint16_t)(f->data[34] << 8 | f->data[35]);
	dport = (uint16_t)(f->data[36] << 8 | f->data[37]);
	if (dport != s->port)
		return;
	s->n++;
	for (i = 0; i < s->nflows; i++) {
		if (s->sport[i] == sport) {
			s->split += s->worker[i] != s->cur;
			return;
		}
	}
	if (s->nflows < 64) {
		s->sport[s->nflows] = sport;
		s->worker[s->nflows++] = s->cur;
	}
}

static void test_afpacket_lo(void **state)
{
	struct capture_config cfg;
	struct capture *c;
	struct capture_stats st;
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct afp_seen s;
	char err[256], bpf[64];
	int rx, tx[40], i, rounds, used[2] = { 0, 0 };
	socklen_t len = sizeof(to);

	(void)state;
	if (geteuid() != 0)
		skip();
	memset(&s, 0, sizeof(s));
	rx = socket(AF_INET, SOCK_DGRAM, 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(rx, (struct sockaddr *)&to, sizeof(to)), 0);
	assert_int_equal(getsockname(rx, (struct sockaddr *)&to, &len), 0);
	s.port = ntohs(to.sin_port);
	snprintf(bpf, sizeof(bpf), "udp dst port %u", s.port);
	capture_config_defaults(&cfg);
	cfg.backend = CAPTURE_AF_PACKET;
	cfg.source = "lo";
	cfg.bpf = bpf;
	cfg.workers = 2;
	cfg.block_size = 1 << 16;
	cfg.block_count = 8;
	cfg.block_timeout_ms = 5;
	assert_int_equal(capture_open(&c, &cfg, err, sizeof(err)), 0);
	assert_int_equal(capture_workers(c), 2);
	assert_int_equal(capture_linktype(c), DLT_EN10MB);
	/* All open at once, so that no two share a source port. */
	for (i = 0; i < 40; i++) {
		tx[i] = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(sendto(tx[i], "ward", 4, 0, (struct sockaddr *)&to, sizeof(to)) == 4);
		assert_true(sendto(tx[i], "ward", 4, 0, (struct sockaddr *)&to, sizeof(to)) == 4);
	}
	for (rounds = 0; rounds < 200 && s.n < 80; rounds++) {
		for (s.cur = 0; s.cur < 2; s.cur++) {
			int n = capture_dispatch(c, (uint32_t)s.cur, on_afp, &s, 10);

			assert_true(n >= 0);
			used[s.cur] += n;
		}
	}
	assert_int_equal(s.n, 80);
	assert_int_equal(s.nflows, 40);
	assert_int_equal(s.split, 0);
	/* 40 flows over 2 workers: all on one has odds 2^-39. */
	assert_true(used[0] > 0 && used[1] > 0);
	assert_int_equal(capture_stats(c, &st), 0);
	assert_int_equal(st.received, 80);
	assert_true(st.if_rx_packets > 0);
	/* A break returns at once, even with a long timeout. */
	capture_break(c);
	assert_int_equal(capture_dispatch(c, 0, on_afp, &s, 60000), 0);
	assert_int_equal(capture_dispatch(c, 1, on_afp, &s, 60000), 0);
	capture_close(c);
	close(rx);
	for (i = 0; i < 40; i++)
		close(tx[i]);
}

struct blocked {
	struct capture *c;
	int rc;
};

static void on_nothing(void *ctx, const struct capture_frame *f)
{
	(void)ctx;
	(void)f;
}

static void *dispatch_long(void *arg)
{
	struct blocked *b = arg;

	b->rc = capture_dispatch(b->c, 0, on_nothing, NULL, 600000);
	return NULL;
}

/* A worker waiting on a quiet live capture returns on capture_break
 * from another thread (whether the break lands before or during its
 * poll), well before its 10-minute timeout. */
static void test_live_break(void **state)
{
	static const enum capture_backend backends[] = { CAPTURE_PCAP, CAPTURE_AF_PACKET };
	struct capture_config cfg;
	struct blocked b;
	pthread_t t;
	char err[256];
	size_t i;

	(void)state;
	if (geteuid() != 0)
		skip();
	for (i = 0; i < 2; i++) {
		capture_config_defaults(&cfg);
		cfg.backend = backends[i];
		cfg.source = "lo";
		cfg.bpf = "udp dst port 9 and udp src port 9";
		cfg.block_size = 1 << 16;
		cfg.block_count = 4;
		assert_int_equal(capture_open(&b.c, &cfg, err, sizeof(err)), 0);
		b.rc = -1;
		assert_int_equal(pthread_create(&t, NULL, dispatch_long, &b), 0);
		capture_break(b.c);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(b.rc, 0);
		capture_close(b.c);
	}
}

/* Runs fn in a child; returns its wait status. */
static int in_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

/* Each check its own exit code, so a failure says which. */
static int drop_child(void *arg)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	char err[256];

	(void)arg;
	if (sandbox_drop("nobody", err, sizeof(err)) != 0)
		return 10;
	if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534)
		return 11;
	if (setuid(0) == 0 || setgid(0) == 0)
		return 12;
	if (syscall(SYS_capget, &hdr, data) != 0 || data[0].permitted || data[0].effective ||
	    data[1].permitted || data[1].inheritable)
		return 13;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 14;
	if (prctl(PR_CAPBSET_READ, 0 /* CAP_CHOWN */, 0, 0, 0) != 0 ||
	    prctl(PR_CAPBSET_READ, 21 /* CAP_SYS_ADMIN */, 0, 0, 0) != 0)
		return 15;
	if (getgroups(0, NULL) != 0)
		return 16;
	return 0;
}

static void test_sandbox_drop(void **state)
{
	char err[256];
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	st = in_child(drop_child, NULL);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(sandbox_drop("no-such-user-ward", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "user 'no-such-user-ward' does not exist"));
	assert_int_equal(sandbox_drop("root", err, sizeof(err)), -EPERM);
	assert_string_equal(sandbox_default_user(), getpwnam("ward") ? "ward" : "nobody");
}

/* Under the filter: what the sensor's loop does must work. The capture
 * (a file) is opened before, as ward-sensor opens it before the filter. */
static int seccomp_ok_child(void *arg)
{
	const char *path = arg;
	struct capture_offload off;
	struct capture_stats st;
	struct capture *c;
	struct seen s = { 0 };
	char err[256], spool[320];
	int fd, rc;

	if (open_file(&c, path, NULL, err, sizeof(err)) != 0)
		return 10;
	if (sandbox_seccomp(err, sizeof(err)) != 0)
		return 11;
	while ((rc = capture_dispatch(c, 0, on_frame, &s, 10)) >= 0)
		;
	if (rc != -ENODATA || s.n != N_FRAMES)
		return 12;
	if (capture_stats(c, &st) != 0 || st.received != N_FRAMES)
		return 13;
	if (capture_offload_check("lo", &off) != 0 || !off.known)
		return 14;
	/* A spool segment's life: create, write, fsync, rename, unlink. */
	snprintf(spool, sizeof(spool), "%s.seg", path);
	fd = open(spool, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "x", 1) != 1 || fsync(fd) != 0 || close(fd) != 0)
		return 15;
	if (rename(spool, path) != 0 || unlink(path) != 0)
		return 16;
	capture_close(c);
	return 0;
}

static int seccomp_denied_child(void *arg)
{
	char err[256];

	(void)arg;
	if (sandbox_seccomp(err, sizeof(err)) != 0)
		return 10;
	/* Not on the list: a listening socket, or running a program. */
	(void)syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	return 20;
}

static void test_sandbox_seccomp(void **state)
{
	char path[300];
	int st;

	(void)state;
	/* The filter is skipped in ASan builds unless the test asks: these
	 * children leave with _exit, so no sanitizer work follows. */
	setenv("WARD_SECCOMP_UNDER_ASAN", "1", 1);
	path_of(path, sizeof(path), "seccomp.pcap");
	write_pcap(path, N_FRAMES);
	st = in_child(seccomp_ok_child, path);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	st = in_child(seccomp_denied_child, NULL);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
	unsetenv("WARD_SECCOMP_UNDER_ASAN");
}

static int setup(void **state)
{
	(void)state;
	return test_mkdtemp(dir, sizeof(dir), "capture");
}

static int teardown(void **state)
{
	(void)state;
	return test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_frames),
		cmocka_unit_test(test_file_bpf),
		cmocka_unit_test(test_file_bad_bpf),
		cmocka_unit_test(test_file_missing),
		cmocka_unit_test(test_file_garbage),
		cmocka_unit_test(test_file_truncated),
		cmocka_unit_test(test_file_nanosecond),
		cmocka_unit_test(test_file_pcapng),
		cmocka_unit_test(test_file_break),
		cmocka_unit_test(test_backend_names),
		cmocka_unit_test(test_live_open_errors),
		cmocka_unit_test(test_offload_lo),
		cmocka_unit_test(test_offload_advice),
		cmocka_unit_test(test_afpacket_lo),
		cmocka_unit_test(test_live_break),
		cmocka_unit_test(test_sandbox_drop),
		cmocka_unit_test(test_sandbox_seccomp),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
