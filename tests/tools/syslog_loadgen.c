/* syslog_loadgen: a syslog load generator for `make bench`.
 *
 *   syslog_loadgen HOST PORT COUNT [--udp] [--connections N] [--seed S] [--wait]
 *   syslog_loadgen - 0 COUNT            (writes the TCP stream to stdout)
 *
 * Sends COUNT syslog messages drawn evenly from the vendor lines of
 * tests/unit/syslog_samples.h (Huawei USG, H3C, Sangfor AF, Hillstone,
 * Cisco ASA and IOS, FortiGate, Linux sshd/sudo/kernel, Windows events
 * through Snare and NXLog, RFC 5424 from rsyslog), a tenth of which are
 * GBK. Each message varies its sample: IPv4 addresses, ephemeral ports,
 * the time of day and long counters (record numbers, session ids, event
 * times) change from message to message, so a receiver never sees one
 * line repeated (see tmpl_compile for the exact rules).
 *
 * Over TCP the messages are framed by octet counting (RFC 6587, 3.4.1:
 * "LEN SP MSG"); with --connections N they are split into N contiguous
 * runs sent in parallel, one thread per connection. With --udp each message
 * is one datagram (RFC 5426), sent in batches with sendmmsg(); a receiver
 * that cannot keep up loses datagrams, which is what UDP does.
 *
 * The generator must never be the bottleneck of a benchmark, so every
 * message is built into one buffer before the first byte is sent, and the
 * buffer goes out in large write() calls. Building takes under half a
 * second per million messages and is not part of the timing.
 *
 * With --wait it builds the messages and connects, prints "ready" on
 * stdout, and starts sending only when a line (or end of file) arrives on
 * stdin, so that a caller can prepare the machine in between (bench/run.sh
 * warms the page cache there).
 *
 * On success it prints one line on stdout:
 *
 *   messages=1000000 bytes=205000000 payload=201000000 gbk=100000 elapsed_s=0.912345 start_unix=1700574312.123456789
 *
 * bytes is what went on the wire; payload is the messages alone, without
 * octet-count prefixes, so a peer that writes each message plus a newline
 * has written payload + messages bytes when it is done. elapsed_s runs
 * from the moment every connection is established (and, with --wait, the
 * go line has arrived) to the moment the last byte was handed to the
 * kernel; start_unix is the wall clock at that first moment, so a caller
 * can time the receiver's side from the same origin. Exit status: 0, 1 on
 * a send or connect error, 2 on bad usage.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../unit/syslog_samples.h"

/* ---- templates ------------------------------------------------------------
 *
 * A sample line is compiled once into parts: literal bytes (GBK or UTF-8,
 * copied as they are) and variable fields, which are:
 *
 *   P_IP       an IPv4 address. A 10/8 address keeps its first two octets,
 *              any other (the documentation ranges the samples use) its
 *              first three, so inside stays inside and outside outside.
 *              The same address twice in a line (Cisco's "ip/port (ip/port)")
 *              is one slot and gets one value.
 *   P_PORT     a number of PORT_VARY_MIN or more that follows an address and
 *              ':' or '/', or a port keyword ("port", "srcport=",
 *              "SrcPort(1004)=", "SPT=", Chinese "端口:" in UTF-8 or GBK):
 *              a client's ephemeral port, which becomes a random one. Service
 *              ports (443, 3389, 8080) stay as they are.
 *   P_CLOCK    "hh:mm:ss" with an optional fraction: the message's time of
 *              day (UTC+8, as a Chinese hospital's devices log it). Dates
 *              stay as the sample has them.
 *   P_COUNTER  a free-standing number of 5 to 19 digits (Snare record
 *              numbers, FortiGate eventtime, kernel uptime; see counter_at):
 *              the sample's value plus the message number, so counters
 *              rise through a run as they do on a device.
 */
enum part_kind { P_LIT, P_IP, P_PORT, P_CLOCK, P_COUNTER };

#define MAX_SLOTS 8
#define PORT_VARY_MIN 10000

struct part {
	enum part_kind kind;
	const char *lit;      /* P_LIT: bytes in the sample line */
	size_t len;           /* P_LIT: their count; P_CLOCK: fraction digits */
	unsigned slot;        /* P_IP, P_PORT */
	uint64_t base;        /* P_COUNTER */
};

struct tmpl {
	struct part parts[64];
	size_t nparts;
	/* P_IP slots: the octets kept ("10.20." or "198.51.100.") */
	char ip_prefix[MAX_SLOTS][16];
	unsigned ip_keep[MAX_SLOTS];    /* octets kept: 2 or 3 */
	char ip_orig[MAX_SLOTS][16];
	unsigned nip;
	unsigned port_orig[MAX_SLOTS];
	unsigned nport;
	int gbk;
};

static uint64_t rng_state;

/* xorshift64*: fast, and a fixed seed makes a run reproducible. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)((rnd() >> 32) % n);
}

/* Decimal formatting without snprintf: the build loop formats a dozen
 * numbers per message. Returns the digits written (no terminator). */
static size_t fmt_u64(char *dst, uint64_t v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

static int is_alnum(unsigned char c)
{
	return isascii(c) && isalnum(c);
}

static size_t digits_at(const char *s, size_t i, size_t n)
{
	size_t j = i;

	while (j < n && s[j] >= '0' && s[j] <= '9')
		j++;
	return j - i;
}

/* A dotted quad at s[i..n): returns its length, or 0. */
static size_t ipv4_at(const char *s, size_t i, size_t n)
{
	size_t j = i, d;
	unsigned k, v;

	for (k = 0; k < 4; k++) {
		d = digits_at(s, j, n);
		if (d == 0 || d > 3)
			return 0;
		v = (unsigned)strtoul(s + j, NULL, 10);
		if (v > 255)
			return 0;
		j += d;
		if (k < 3) {
			if (j >= n || s[j] != '.')
				return 0;
			j++;
		}
	}
	/* "1.2.3.4.5" or "1.2.3.4x" is not an address. */
	if (j < n && (is_alnum((unsigned char)s[j]) ||
		      (s[j] == '.' && j + 1 < n && s[j + 1] >= '0' && s[j + 1] <= '9')))
		return 0;
	return j - i;
}

/* "hh:mm:ss" at s[i..n), not inside a colon-separated run such as a MAC
 * address (a trailing ':' before a space is fine: Cisco ASA writes
 * "13:39:04: %ASA-..."). Returns its length with any ".fraction", and the
 * fraction's digits in *frac. */
static size_t clock_at(const char *s, size_t i, size_t n, size_t *frac)
{
	size_t j = i + 8;

	*frac = 0;
	if (j > n || digits_at(s, i, n) != 2 || s[i + 2] != ':' || digits_at(s, i + 3, n) != 2 ||
	    s[i + 5] != ':' || digits_at(s, i + 6, n) != 2)
		return 0;
	if ((i > 0 && s[i - 1] == ':') ||
	    (j + 1 < n && s[j] == ':' && isascii((unsigned char)s[j + 1]) && isxdigit((unsigned char)s[j + 1])))
		return 0;
	if (j + 1 < n && s[j] == '.' && s[j + 1] >= '0' && s[j + 1] <= '9') {
		*frac = digits_at(s, j + 1, n);
		j += 1 + *frac;
	}
	return j - i;
}

/* A counter: 5 to 19 digits without a leading zero (those are
 * identifiers: FortiGate's logid="0000000013"), standing alone between
 * blanks, '=', '[' before and blanks, ',', '.', ']' after. Message ids
 * ("%ASA-6-302013"), enterprise numbers ("NXLOG@14506") and serial numbers
 * ("2812345678901234(root)") do not qualify. */
static int counter_at(const char *s, size_t i, size_t n, size_t d)
{
	char before = i > 0 ? s[i - 1] : ' ', after = i + d < n ? s[i + d] : ' ';

	return d >= 5 && d <= 19 && s[i] != '0' && strchr(" \t=[", before) != NULL &&
	       strchr(" \t,.]", after) != NULL;
}

static int ends_with(const char *s, size_t end, const char *suffix, int nocase)
{
	size_t k = strlen(suffix);

	if (end < k)
		return 0;
	return nocase ? strncasecmp(s + end - k, suffix, k) == 0 : memcmp(s + end - k, suffix, k) == 0;
}

/* Whether the number at s[i] is a port by the words before it. */
static int port_keyword_before(const char *s, size_t i)
{
	size_t e = i;

	if (e > 0 && (s[e - 1] == '=' || s[e - 1] == ':' || s[e - 1] == ' ')) {
		e--;
		/* H3C: "SrcPort(1004)=" */
		if (e > 0 && s[e - 1] == ')') {
			size_t b = e - 1;

			while (b > 0 && s[b - 1] >= '0' && s[b - 1] <= '9')
				b--;
			if (b > 0 && s[b - 1] == '(')
				e = b - 1;
		}
		if (ends_with(s, e, "port", 1) || ends_with(s, e, "SPT", 0) || ends_with(s, e, "DPT", 0) ||
		    ends_with(s, e, "\xe7\xab\xaf\xe5\x8f\xa3", 0) ||  /* 端口, UTF-8 */
		    ends_with(s, e, "\xb6\xcb\xbf\xda", 0))            /* 端口, GBK */
			return 1;
	}
	return 0;
}

static int part_add(struct tmpl *t, struct part p)
{
	if (t->nparts == sizeof(t->parts) / sizeof(t->parts[0]))
		return -ENOSPC;
	t->parts[t->nparts++] = p;
	return 0;
}

static int lit_add(struct tmpl *t, const char *s, size_t from, size_t to)
{
	if (to == from)
		return 0;
	return part_add(t, (struct part){ .kind = P_LIT, .lit = s + from, .len = to - from });
}

static int ip_slot(struct tmpl *t, const char *s, size_t len)
{
	char ip[16];
	unsigned k, dots = 0, keep;
	size_t j;

	if (len >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, len);
	ip[len] = '\0';
	for (k = 0; k < t->nip; k++)
		if (strcmp(t->ip_orig[k], ip) == 0)
			return (int)k;
	if (t->nip == MAX_SLOTS)
		return -ENOSPC;
	keep = strncmp(ip, "10.", 3) == 0 ? 2 : 3;
	for (j = 0; j < len; j++)
		if (ip[j] == '.' && ++dots == keep)
			break;
	memcpy(t->ip_orig[t->nip], ip, len + 1);
	memcpy(t->ip_prefix[t->nip], ip, j + 1);
	t->ip_prefix[t->nip][j + 1] = '\0';
	t->ip_keep[t->nip] = keep;
	return (int)t->nip++;
}

static int port_slot(struct tmpl *t, unsigned port)
{
	unsigned k;

	for (k = 0; k < t->nport; k++)
		if (t->port_orig[k] == port)
			return (int)k;
	if (t->nport == MAX_SLOTS)
		return -ENOSPC;
	t->port_orig[t->nport] = port;
	return (int)t->nport++;
}

/* Splits one sample line into literal runs and fields (see above). */
static int tmpl_compile(struct tmpl *t, const struct syslog_sample *smp)
{
	const char *s = smp->line;
	size_t n = strlen(s), i = 0, lit = 0, len, frac, d;
	int prev_ip_end = -1, slot, rc;

	memset(t, 0, sizeof(*t));
	t->gbk = smp->gbk;
	while (i < n) {
		int start = s[i] >= '0' && s[i] <= '9' &&
			    (i == 0 || (!is_alnum((unsigned char)s[i - 1]) && s[i - 1] != '.') ||
			     (s[i - 1] == 'T' && i >= 2 && s[i - 2] >= '0' && s[i - 2] <= '9'));

		if (!start) {
			i++;
			continue;
		}
		d = digits_at(s, i, n);
		if ((len = ipv4_at(s, i, n)) > 0) {
			if ((slot = ip_slot(t, s + i, len)) < 0)
				return slot;
			if ((rc = lit_add(t, s, lit, i)) < 0 ||
			    (rc = part_add(t, (struct part){ .kind = P_IP, .slot = (unsigned)slot })) < 0)
				return rc;
			i += len;
			lit = i;
			prev_ip_end = (int)i;
			continue;
		}
		if ((len = clock_at(s, i, n, &frac)) > 0) {
			if ((rc = lit_add(t, s, lit, i)) < 0 ||
			    (rc = part_add(t, (struct part){ .kind = P_CLOCK, .len = frac })) < 0)
				return rc;
			i += len;
			lit = i;
			continue;
		}
		if (d == 5 && (i + d >= n || !is_alnum((unsigned char)s[i + d])) &&
		    strtoul(s + i, NULL, 10) >= PORT_VARY_MIN && strtoul(s + i, NULL, 10) <= 65535 &&
		    (((int)i == prev_ip_end + 1 && (s[i - 1] == ':' || s[i - 1] == '/')) ||
		     port_keyword_before(s, i))) {
			if ((slot = port_slot(t, (unsigned)strtoul(s + i, NULL, 10))) < 0)
				return slot;
			if ((rc = lit_add(t, s, lit, i)) < 0 ||
			    (rc = part_add(t, (struct part){ .kind = P_PORT, .slot = (unsigned)slot })) < 0)
				return rc;
			i += d;
			lit = i;
			continue;
		}
		if (counter_at(s, i, n, d)) {
			if ((rc = lit_add(t, s, lit, i)) < 0 ||
			    (rc = part_add(t, (struct part){ .kind = P_COUNTER,
							     .base = strtoull(s + i, NULL, 10) })) < 0)
				return rc;
			i += d;
			lit = i;
			continue;
		}
		i += d;
	}
	return lit_add(t, s, lit, n);
}

/* ---- building the stream ------------------------------------------------- */

struct stream {
	char *data;
	size_t len, cap;
	size_t *off;       /* off[i]: where message i's frame starts; off[count] = len */
	uint64_t count;
	uint64_t gbk;
	uint64_t payload;  /* message bytes, without the octet-count prefixes */
};

static int stream_reserve(struct stream *st, size_t more)
{
	size_t cap = st->cap ? st->cap : 1 << 20;
	char *d;

	if (st->len + more <= st->cap)
		return 0;
	while (cap < st->len + more)
		cap *= 2;
	d = realloc(st->data, cap);
	if (d == NULL)
		return -ENOMEM;
	st->data = d;
	st->cap = cap;
	return 0;
}

/* The per-message values of one template's slots. */
struct values {
	char ip[MAX_SLOTS][16];
	size_t ip_len[MAX_SLOTS];
	char port[MAX_SLOTS][8];
	size_t port_len[MAX_SLOTS];
	char clock[16];        /* "hh:mm:ss.uuuuuu" */
};

static void values_set(struct values *v, const struct tmpl *t, int64_t us)
{
	time_t local = (time_t)(us / 1000000) + 8 * 3600;
	unsigned k, sod = (unsigned)(local % 86400), frac = (unsigned)(us % 1000000), i;
	size_t n;

	for (k = 0; k < t->nip; k++) {
		n = strlen(t->ip_prefix[k]);
		memcpy(v->ip[k], t->ip_prefix[k], n);
		if (t->ip_keep[k] == 2) {
			n += fmt_u64(v->ip[k] + n, rnd_below(256));
			v->ip[k][n++] = '.';
		}
		n += fmt_u64(v->ip[k] + n, 1 + rnd_below(254));
		v->ip_len[k] = n;
	}
	for (k = 0; k < t->nport; k++) {
		unsigned p = t->port_orig[k];

		if (p >= PORT_VARY_MIN)
			p = PORT_VARY_MIN + rnd_below(65536 - PORT_VARY_MIN);
		v->port_len[k] = fmt_u64(v->port[k], p);
	}
	snprintf(v->clock, sizeof(v->clock), "%02u:%02u:%02u.", sod / 3600, sod / 60 % 60, sod % 60);
	for (i = 0; i < 6; i++) {
		v->clock[14 - i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	v->clock[15] = '\0';
}

/* Renders message number `seq` from template t into msg (cap bytes;
 * truncated beyond, which the samples never reach). */
static size_t render(const struct tmpl *t, const struct values *v, uint64_t seq,
		     char *msg, size_t cap)
{
	char num[24];
	const char *src;
	size_t n = 0, i, len;

	for (i = 0; i < t->nparts; i++) {
		const struct part *p = &t->parts[i];

		switch (p->kind) {
		case P_LIT:
			src = p->lit;
			len = p->len;
			break;
		case P_IP:
			src = v->ip[p->slot];
			len = v->ip_len[p->slot];
			break;
		case P_PORT:
			src = v->port[p->slot];
			len = v->port_len[p->slot];
			break;
		case P_CLOCK:
			src = v->clock;
			len = p->len == 0 ? 8 : 9 + (p->len > 6 ? 6 : p->len);
			break;
		default:
			src = num;
			len = fmt_u64(num, p->base + seq);
			break;
		}
		if (len > cap - n)
			len = cap - n;
		memcpy(msg + n, src, len);
		n += len;
	}
	return n;
}

/* Builds `count` frames, "LEN SP MSG", into st. Message times advance
 * 20 µs per message from `start_us`, like a busy firewall's. */
static int stream_build(struct stream *st, const struct tmpl *tmpls, size_t ntmpl,
			uint64_t count, int64_t start_us)
{
	static char msg[16384];
	struct values v;
	uint64_t n;
	size_t len, hl;
	char hdr[24];

	st->off = malloc((count + 1) * sizeof(*st->off));
	if (st->off == NULL)
		return -ENOMEM;
	for (n = 0; n < count; n++) {
		const struct tmpl *t = &tmpls[rnd_below((unsigned)ntmpl)];

		values_set(&v, t, start_us + (int64_t)n * 20);
		len = render(t, &v, n + 1, msg, sizeof(msg));
		hl = fmt_u64(hdr, len);
		hdr[hl++] = ' ';
		if (stream_reserve(st, hl + len) < 0)
			return -ENOMEM;
		st->off[n] = st->len;
		memcpy(st->data + st->len, hdr, hl);
		memcpy(st->data + st->len + hl, msg, len);
		st->len += hl + len;
		st->payload += len;
		st->gbk += (uint64_t)t->gbk;
	}
	st->off[count] = st->len;
	st->count = count;
	return 0;
}

/* ---- sending --------------------------------------------------------------- */

struct sender {
	pthread_t thread;
	int started;
	int fd;
	int udp;
	const struct stream *st;
	uint64_t first, last;    /* messages [first, last) */
	int err;                 /* 0 or an errno */
};

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		/* 4 MiB per call: large enough that the syscall count does not
		 * matter, small enough not to pin the kernel in one copy. */
		w = write(fd, p, n > (4u << 20) ? (4u << 20) : n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

#define UDP_BATCH 256

/* Sends messages [first, last) as datagrams, without the octet-count
 * prefix (RFC 5426: one message per datagram). */
static int send_udp(int fd, const struct stream *st, uint64_t first, uint64_t last)
{
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	uint64_t i = first;
	unsigned k;
	int r;

	memset(mm, 0, sizeof(mm));
	while (i < last) {
		for (k = 0; k < UDP_BATCH && i + k < last; k++) {
			const char *f = st->data + st->off[i + k];
			const char *sp = memchr(f, ' ', 12);

			iov[k].iov_base = (void *)(sp + 1);
			iov[k].iov_len = (size_t)(st->data + st->off[i + k + 1] - (sp + 1));
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(fd, mm, k, 0);
		if (r < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			/* A receiver not yet bound answers with ICMP port
			 * unreachable; that datagram is lost, like any other. */
			if (errno == ECONNREFUSED)
				continue;
			return errno;
		}
		i += (uint64_t)r;
	}
	return 0;
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	const struct stream *st = s->st;

	if (s->udp)
		s->err = send_udp(s->fd, st, s->first, s->last);
	else
		s->err = write_all(s->fd, st->data + st->off[s->first],
				   st->off[s->last] - st->off[s->first]);
	if (!s->udp)
		(void)shutdown(s->fd, SHUT_WR);
	return NULL;
}

static int open_socket(const char *host, const char *port, int udp)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "syslog_loadgen: %s:%s: %s\n", host, port, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		fprintf(stderr, "syslog_loadgen: connect %s:%s: %s\n", host, port, strerror(err));
	freeaddrinfo(res);
	return fd;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: syslog_loadgen HOST PORT COUNT [--udp] [--connections N] [--seed S] [--wait]\n"
		"       syslog_loadgen - 0 COUNT   (octet-counted stream to stdout)\n");
	exit(2);
}

static void stream_free(struct stream *st)
{
	free(st->data);
	free(st->off);
	memset(st, 0, sizeof(*st));
}

struct opts {
	const char *host, *port;
	unsigned long long count, nconn, seed;
	int udp, wait_go;
};

static void parse_args(int argc, char **argv, struct opts *o)
{
	int i;

	if (argc < 4)
		usage();
	memset(o, 0, sizeof(*o));
	o->host = argv[1];
	o->port = argv[2];
	o->count = strtoull(argv[3], NULL, 10);
	o->nconn = 1;
	o->seed = 0x5eed5eedULL;
	for (i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--udp") == 0)
			o->udp = 1;
		else if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc)
			o->nconn = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--wait") == 0)
			o->wait_go = 1;
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			o->seed = strtoull(argv[++i], NULL, 0);
		else
			usage();
	}
	if (o->count == 0 || o->nconn == 0 || o->nconn > 1024)
		usage();
	if (o->nconn > o->count)
		o->nconn = o->count;
}

/* Connects, waits for the go line if asked, sends the stream over
 * o->nconn connections and prints the report. Returns 0 or 1. */
static int send_stream(const struct opts *o, const struct stream *st)
{
	struct sender *snd;
	struct timespec wall;
	double start, elapsed;
	char line[64];
	unsigned c;
	int rc = 1;

	snd = calloc(o->nconn, sizeof(*snd));
	if (snd == NULL)
		return 1;
	for (c = 0; c < o->nconn; c++)
		snd[c].fd = -1;
	for (c = 0; c < o->nconn; c++) {
		snd[c].fd = open_socket(o->host, o->port, o->udp);
		if (snd[c].fd < 0)
			goto out;
		snd[c].udp = o->udp;
		snd[c].st = st;
		snd[c].first = o->count * c / o->nconn;
		snd[c].last = o->count * (c + 1) / o->nconn;
	}
	if (o->wait_go) {
		printf("ready\n");
		fflush(stdout);
		/* End of file starts the run as well; only a read error stops it. */
		if (fgets(line, sizeof(line), stdin) == NULL && ferror(stdin)) {
			perror("syslog_loadgen: stdin");
			goto out;
		}
	}
	clock_gettime(CLOCK_REALTIME, &wall);
	start = now_mono();
	for (c = 0; c < o->nconn; c++) {
		snd[c].started = pthread_create(&snd[c].thread, NULL, sender_main, &snd[c]) == 0;
		if (!snd[c].started)
			snd[c].err = EAGAIN;
	}
	rc = 0;
	for (c = 0; c < o->nconn; c++) {
		if (snd[c].started)
			pthread_join(snd[c].thread, NULL);
		if (snd[c].err != 0) {
			fprintf(stderr, "syslog_loadgen: connection %u: %s\n", c, strerror(snd[c].err));
			rc = 1;
		}
	}
	elapsed = now_mono() - start;
	printf("messages=%llu bytes=%zu payload=%llu gbk=%llu elapsed_s=%.6f start_unix=%lld.%09ld\n",
	       o->count, st->len, (unsigned long long)st->payload, (unsigned long long)st->gbk,
	       elapsed, (long long)wall.tv_sec, wall.tv_nsec);
out:
	for (c = 0; c < o->nconn; c++)
		if (snd[c].fd >= 0)
			close(snd[c].fd);
	free(snd);
	return rc;
}

int main(int argc, char **argv)
{
	static struct tmpl tmpls[SYSLOG_SAMPLES_COUNT];
	struct stream st;
	struct timespec t0;
	struct opts o;
	unsigned c;
	int rc;

	parse_args(argc, argv, &o);
	rng_state = o.seed ? o.seed : 1;
	signal(SIGPIPE, SIG_IGN);
	for (c = 0; c < SYSLOG_SAMPLES_COUNT; c++) {
		if (tmpl_compile(&tmpls[c], &syslog_samples[c]) < 0) {
			fprintf(stderr, "syslog_loadgen: sample %u (%s) has too many fields\n",
				c, syslog_samples[c].vendor);
			return 1;
		}
	}
	memset(&st, 0, sizeof(st));
	clock_gettime(CLOCK_REALTIME, &t0);
	if (stream_build(&st, tmpls, SYSLOG_SAMPLES_COUNT, o.count,
			 (int64_t)t0.tv_sec * 1000000 + t0.tv_nsec / 1000) < 0) {
		fprintf(stderr, "syslog_loadgen: out of memory building %llu messages\n", o.count);
		stream_free(&st);
		return 1;
	}
	if (strcmp(o.host, "-") == 0)
		rc = write_all(STDOUT_FILENO, st.data, st.len) == 0 ? 0 : 1;
	else
		rc = send_stream(&o, &st);
	stream_free(&st);
	return rc;
}
