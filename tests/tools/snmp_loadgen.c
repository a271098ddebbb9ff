/* snmp_loadgen: an SNMP trap load generator for `make bench`.
 *
 *   snmp_loadgen v2c|v3 HOST PORT COUNT [options]
 *
 * Sends COUNT distinct SNMPv2-Trap-PDUs (RFC 3416 4.2.6) over UDP to
 * HOST:PORT, as SNMPv2c messages (RFC 1901) or as SNMPv3 authPriv
 * messages (RFC 3412, USM of RFC 3414 with HMAC-SHA-96 and CFB128-AES-128
 * of RFC 3826). A v3 trap sender is the authoritative engine: each message
 * carries the sender's own engine ID, boots and time, and keys are
 * localised to that engine ID, as net-snmp's `snmptrap -v3 -e` does.
 *
 * The traps are those a hospital's network sends: IF-MIB linkDown and
 * linkUp with ifIndex, ifAdminStatus, ifOperStatus, ifDescr and a UTF-8
 * Chinese ifAlias; UPS-MIB upsTrapOnBattery; ENTITY-MIB entConfigChange;
 * coldStart; and a vendor trap with an IpAddress, a Gauge32, a Counter64
 * and a GBK text, one eighth of the load. Every trap differs from the
 * others: request-id (v3: also msgID and the privacy salt), sysUpTime and
 * most values change with its number, so no receiver can take one for a
 * replay of another.
 *
 * Every message is built before the first datagram is sent, with the
 * project's own encoders (snmp_ber.h, snmp_pdu.h, snmp_usm.h), so building
 * is never part of the timing.
 *
 * UDP has no flow control: a sender faster than its receiver only fills
 * the receiver's socket buffer, then the kernel drops. A comparison of two
 * receivers at one fixed rate says little (either both keep up, or the
 * slower one loses most of the load), so by default the generator sends
 * in windows: it reads the receiver socket's queue (rx_queue, in bytes of
 * kernel memory) from /proc/net/udp and sends the next burst only while
 * that queue holds less than --window bytes. The receiver then always has
 * work queued and never overflows, whatever its speed, and the run
 * measures how fast it drains the load. --rate paces bursts at a fixed
 * rate instead, with no look at the receiver (a peer on another host).
 *
 * Options:
 *   --window BYTES     send while the receiver's queue is below BYTES
 *                      (default 65536, safe with the kernel's default
 *                      receive buffer; it must stay under the receiver's
 *                      SO_RCVBUF less one burst)
 *   --rate N           instead, send N traps per second in bursts
 *   --burst N          datagrams per sendmmsg() call (default 64)
 *   --community TEXT   v2c community (default "public")
 *   --user NAME        v3 user (default "bench")
 *   --auth-password P  v3 SHA password (default "bench-auth-pass")
 *   --priv-password P  v3 AES password (default "bench-priv-pass")
 *   --engine-id HEX    v3 sender's snmpEngineID (default 80001f8804776172642d62656e6368)
 *   --boots N          v3 sender's snmpEngineBoots (default 1)
 *   --wait             build, connect, print "ready", and send once a line
 *                      (or end of file) arrives on stdin
 *
 * On success it prints one line on stdout:
 *
 *   traps=200000 bytes=41234567 elapsed_s=0.912345 start_unix=1700574312.123456789 drained_s=0.923456 drops=0
 *
 * bytes is the UDP payload sent; elapsed_s runs from the first datagram to
 * the last one handed to the kernel; start_unix is the wall clock at the
 * first datagram, the origin of the caller's timing. After the last
 * datagram the generator waits (up to DRAIN_LIMIT_S) until the receiver
 * has read its socket's queue empty: drained_s is that moment, from the
 * first datagram. drops is how many datagrams the kernel dropped at the
 * receiver's socket meanwhile (the drops column of /proc/net/udp). Both
 * are "-" when that socket was not found, as for a remote receiver. Exit
 * status: 0, 1 on a build or send error, 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "snmp/snmp.h"
#include "snmp/snmp_ber.h"
#include "snmp/snmp_pdu.h"
#include "snmp/snmp_usm.h"

#define BURST_MAX 1024
/* How long to wait for the receiver to empty its queue after the last
 * datagram: a receiver that reads nothing for this long is stuck. */
#define DRAIN_LIMIT_S 120

struct opts {
	const char *host, *port;
	bool v3, wait_go;
	unsigned long count, window, rate, burst, boots;
	const char *community, *user, *auth_pw, *priv_pw, *engine_hex;
};

/* ---- the traps ---------------------------------------------------------- */

static const uint32_t oid_link_down[] = { 1, 3, 6, 1, 6, 3, 1, 1, 5, 3 };
static const uint32_t oid_link_up[] = { 1, 3, 6, 1, 6, 3, 1, 1, 5, 4 };
static const uint32_t oid_cold_start[] = { 1, 3, 6, 1, 6, 3, 1, 1, 5, 1 };
static const uint32_t oid_ups_on_battery[] = { 1, 3, 6, 1, 2, 1, 33, 2, 0, 1 };
static const uint32_t oid_ent_config_change[] = { 1, 3, 6, 1, 2, 1, 47, 2, 0, 1 };
/* A vendor's board alarm (Huawei's enterprise arc; the rest is made up). */
static const uint32_t oid_vendor_alarm[] = { 1, 3, 6, 1, 4, 1, 2011, 5, 25, 219, 2, 1, 5 };

/* "板卡CPU利用率过高" (board CPU usage too high) in GBK, as such devices send it. */
static const char gbk_text[] = "\xb0\xe5\xbf\xa8" "CPU" "\xc0\xfb\xd3\xc3\xc2\xca\xb9\xfd\xb8\xdf";

/* Varbinds are prepended, so each helper is called in reverse order. */
static void vb_int(struct snmp_benc *e, const uint32_t *oid, uint32_t n, int64_t v)
{
	size_t m = snmp_benc_mark(e);

	snmp_benc_int(e, SNMP_TAG_INTEGER, v);
	snmp_benc_oid(e, oid, n);
	snmp_benc_wrap(e, SNMP_TAG_SEQUENCE, m);
}

static void vb_uint(struct snmp_benc *e, uint8_t tag, const uint32_t *oid, uint32_t n, uint64_t v)
{
	size_t m = snmp_benc_mark(e);

	snmp_benc_uint(e, tag, v);
	snmp_benc_oid(e, oid, n);
	snmp_benc_wrap(e, SNMP_TAG_SEQUENCE, m);
}

static void vb_octets(struct snmp_benc *e, uint8_t tag, const uint32_t *oid, uint32_t n,
		      const void *p, size_t len)
{
	size_t m = snmp_benc_mark(e);

	snmp_benc_octets(e, tag, p, len);
	snmp_benc_oid(e, oid, n);
	snmp_benc_wrap(e, SNMP_TAG_SEQUENCE, m);
}

static void vb_oid(struct snmp_benc *e, const uint32_t *oid, uint32_t n, const uint32_t *v,
		   uint32_t vn)
{
	size_t m = snmp_benc_mark(e);

	snmp_benc_oid(e, v, vn);
	snmp_benc_oid(e, oid, n);
	snmp_benc_wrap(e, SNMP_TAG_SEQUENCE, m);
}

#define NARCS(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

/* The trap-specific varbinds of trap number i; returns its snmpTrapOID. */
static const uint32_t *trap_body(struct snmp_benc *e, uint32_t i, uint32_t *trap_n)
{
	uint32_t if_oid[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 0, 0 };
	uint32_t alias_oid[] = { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18, 0 };
	uint32_t ifindex = 1 + i % 48, up;
	char text[64];
	int len;

	switch (i % 8) {
	case 0: case 1: case 2: case 3:         /* linkDown, linkUp (RFC 2863) */
		up = i % 2;
		alias_oid[11] = ifindex;
		len = snprintf(text, sizeof(text), "ICU 重症监护室%u楼 护士站-%u", 1 + i % 9, ifindex);
		vb_octets(e, SNMP_TAG_OCTET_STRING, alias_oid, NARCS(alias_oid), text, (size_t)len);
		if_oid[10] = ifindex;
		len = snprintf(text, sizeof(text), "GigabitEthernet%u/0/%u", 1 + i / 48 % 4, ifindex);
		if_oid[9] = 2;
		vb_octets(e, SNMP_TAG_OCTET_STRING, if_oid, NARCS(if_oid), text, (size_t)len);
		if_oid[9] = 8;
		vb_int(e, if_oid, NARCS(if_oid), up ? 1 : 2);
		if_oid[9] = 7;
		vb_int(e, if_oid, NARCS(if_oid), 1);
		if_oid[9] = 1;
		vb_int(e, if_oid, NARCS(if_oid), ifindex);
		*trap_n = NARCS(oid_link_down);
		return up ? oid_link_up : oid_link_down;
	case 4: {                               /* upsTrapOnBattery (RFC 1628) */
		static const uint32_t on_batt_s[] = { 1, 3, 6, 1, 2, 1, 33, 1, 2, 2, 0 };
		static const uint32_t minutes[] = { 1, 3, 6, 1, 2, 1, 33, 1, 2, 3, 0 };
		static const uint32_t low_batt[] = { 1, 3, 6, 1, 2, 1, 33, 1, 9, 7, 0 };

		vb_int(e, low_batt, NARCS(low_batt), 2);
		vb_int(e, minutes, NARCS(minutes), 5 + i % 90);
		vb_int(e, on_batt_s, NARCS(on_batt_s), i % 3600);
		*trap_n = NARCS(oid_ups_on_battery);
		return oid_ups_on_battery;
	}
	case 5: {                               /* entConfigChange (RFC 6933) */
		static const uint32_t last_change[] = { 1, 3, 6, 1, 2, 1, 47, 1, 4, 1, 0 };

		vb_uint(e, SNMP_TAG_TIMETICKS, last_change, NARCS(last_change), 360000u + i);
		*trap_n = NARCS(oid_ent_config_change);
		return oid_ent_config_change;
	}
	case 6: {                               /* a vendor alarm with GBK text */
		uint32_t col[] = { 1, 3, 6, 1, 4, 1, 2011, 5, 25, 219, 1, 1, 0, 0 };
		uint8_t addr[4] = { 10, 20, (uint8_t)(i >> 8), (uint8_t)i };
		uint64_t octets = 0x1234567890ULL + (uint64_t)i * 1500;

		col[13] = 16842753 + i % 16;    /* entPhysicalIndex of a board */
		col[12] = 5;
		vb_octets(e, SNMP_TAG_OCTET_STRING, col, NARCS(col), gbk_text, sizeof(gbk_text) - 1);
		col[12] = 4;
		vb_uint(e, SNMP_TAG_COUNTER64, col, NARCS(col), octets);
		col[12] = 3;
		vb_uint(e, SNMP_TAG_GAUGE32, col, NARCS(col), 80 + i % 20);
		col[12] = 2;
		vb_octets(e, SNMP_TAG_IPADDRESS, col, NARCS(col), addr, 4);
		*trap_n = NARCS(oid_vendor_alarm);
		return oid_vendor_alarm;
	}
	default:                                /* coldStart */
		*trap_n = NARCS(oid_cold_start);
		return oid_cold_start;
	}
}

/* The VarBindList TLV of trap number i (RFC 3416 4.2.6: sysUpTime.0 and
 * snmpTrapOID.0 first) into the tail of buf; *p points at it. */
static int trap_vbl(uint8_t *buf, size_t cap, uint32_t i, const uint8_t **p, size_t *len)
{
	struct snmp_benc e;
	const uint32_t *trap;
	uint32_t trap_n;
	size_t m;

	snmp_benc_init(&e, buf, cap);
	m = snmp_benc_mark(&e);
	trap = trap_body(&e, i, &trap_n);
	vb_oid(&e, snmp_oid_snmptrapoid0, NARCS(snmp_oid_snmptrapoid0), trap, trap_n);
	vb_uint(&e, SNMP_TAG_TIMETICKS, snmp_oid_sysuptime0, NARCS(snmp_oid_sysuptime0),
		8640000u + i);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, m);
	return snmp_benc_finish(&e, p, len);
}

/* v2c: Message { version 1, community, SNMPv2-Trap-PDU { request-id, 0, 0,
 * varbinds } } (RFC 1901, RFC 3416 3). snmp_pdu.h only encodes what the
 * receiver sends back, so the message is put together here. */
static int build_v2c(const struct opts *o, uint32_t i, struct buf *out)
{
	uint8_t vbuf[1024], mbuf[1280];
	const uint8_t *vbl, *msg;
	size_t vn, mn, m;
	struct snmp_benc e;

	if (trap_vbl(vbuf, sizeof(vbuf), i, &vbl, &vn) < 0)
		return -ENOSPC;
	snmp_benc_init(&e, mbuf, sizeof(mbuf));
	m = snmp_benc_mark(&e);
	snmp_benc_raw(&e, vbl, vn);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, 0);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, 0);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, (int64_t)i + 1);
	snmp_benc_wrap(&e, SNMP_PDU_TRAP_V2, m);
	snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, o->community, strlen(o->community));
	snmp_benc_int(&e, SNMP_TAG_INTEGER, SNMP_V2C);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, m);
	if (snmp_benc_finish(&e, &msg, &mn) < 0)
		return -ENOSPC;
	return buf_append(out, msg, mn);
}

/* The v3 sender: its engine and the user's keys localised to it. */
struct v3_sender {
	struct snmp_usm_keys keys;
	struct buf scoped, cipher, msg;
	uint8_t eid[SNMP_USM_MAX_ENGINE_ID];
	size_t eid_len;
	uint32_t boots;
	uint64_t salt0;               /* random: salts never repeat across runs */
};

static int hex_parse(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = 0;
	unsigned v;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; s[0] && s[1]; s += 2) {
		if (n >= cap || sscanf(s, "%2x", &v) != 1)
			return -EINVAL;
		out[n++] = (uint8_t)v;
	}
	*len = n;
	return *s ? -EINVAL : 0;
}

static int v3_setup(struct v3_sender *s, const struct opts *o)
{
	uint8_t ku[SNMP_USM_MAX_KEY], pku[SNMP_USM_MAX_KEY];
	int rc;

	memset(s, 0, sizeof(*s));
	if (hex_parse(o->engine_hex, s->eid, sizeof(s->eid), &s->eid_len) < 0 || s->eid_len < 5)
		return -EINVAL;
	s->boots = (uint32_t)o->boots;
	if (getrandom(&s->salt0, sizeof(s->salt0), 0) != sizeof(s->salt0))
		s->salt0 = (uint64_t)time(NULL) << 32;
	rc = snmp_usm_password_to_key(SNMP_AUTH_SHA1, o->auth_pw, strlen(o->auth_pw), ku);
	if (rc == 0)
		rc = snmp_usm_password_to_key(SNMP_AUTH_SHA1, o->priv_pw, strlen(o->priv_pw), pku);
	if (rc == 0)
		rc = snmp_usm_keys_setup(&s->keys, SNMP_AUTH_SHA1, SNMP_PRIV_AES128, ku, pku,
					 s->eid, s->eid_len);
	explicit_bzero(ku, sizeof(ku));
	explicit_bzero(pku, sizeof(pku));
	return rc;
}

static void v3_release(struct v3_sender *s)
{
	snmp_usm_keys_release(&s->keys);
	buf_free(&s->scoped);
	buf_free(&s->cipher);
	buf_free(&s->msg);
}

/* v3 authPriv: ScopedPDU (contextEngineID = the sender's), encrypted with
 * a fresh salt, wrapped in an SNMPv3Message with msgID = request-id = i + 1
 * and signed (RFC 3414 3.1). snmpEngineTime moves one second every 1000
 * traps, as a busy sender's clock would across a burst. */
static int build_v3(const struct opts *o, struct v3_sender *s, uint32_t i, struct buf *out)
{
	uint8_t vbuf[1024], salt[SNMP_USM_SALT_LEN];
	const uint8_t *vbl;
	size_t vn, cn = 0, mac_off;
	uint64_t sv = s->salt0 + i;
	uint32_t t = 86400 + i / 1000;
	struct snmp_bytes eid = { s->eid, s->eid_len }, ctx = { NULL, 0 }, v;
	struct snmp_v3_out m;
	int rc;

	if (trap_vbl(vbuf, sizeof(vbuf), i, &vbl, &vn) < 0)
		return -ENOSPC;
	v = (struct snmp_bytes){ vbl, vn };
	for (int k = 0; k < SNMP_USM_SALT_LEN; k++)
		salt[k] = (uint8_t)(sv >> (56 - 8 * k));
	rc = snmp_encode_scoped(&s->scoped, &eid, &ctx, SNMP_PDU_TRAP_V2, (int64_t)i + 1, &v);
	if (rc == 0)
		rc = buf_reserve(&s->cipher, s->scoped.len + 8);
	if (rc == 0)
		rc = snmp_usm_encrypt(&s->keys, s->boots, t, salt, s->scoped.data, s->scoped.len,
				      s->cipher.data, &cn);
	if (rc < 0)
		return rc;
	m = (struct snmp_v3_out){
		.msg_id = (int64_t)i + 1, .flags = SNMP_FLAG_AUTH | SNMP_FLAG_PRIV,
		.engine_id = eid, .user = { (const uint8_t *)o->user, strlen(o->user) },
		.priv_params = { salt, sizeof(salt) }, .data = { s->cipher.data, cn },
		.boots = s->boots, .time = t, .mac_len = snmp_usm_mac_len(SNMP_AUTH_SHA1),
	};
	rc = snmp_encode_v3(&s->msg, &m, &mac_off);
	if (rc == 0)
		rc = snmp_usm_auth_sign(&s->keys, s->msg.data, s->msg.len, mac_off);
	if (rc == 0)
		rc = buf_append(out, s->msg.data, s->msg.len);
	return rc;
}

/* All traps back to back in data; trap i is data[off[i], off[i + 1]). */
struct load {
	struct buf data;
	size_t *off;
	unsigned long n;
};

static void load_free(struct load *l)
{
	buf_free(&l->data);
	free(l->off);
	memset(l, 0, sizeof(*l));
}

static int load_build(struct load *l, const struct opts *o)
{
	struct v3_sender s;
	unsigned long i;
	int rc = 0;

	memset(l, 0, sizeof(*l));
	l->off = calloc(o->count + 1, sizeof(*l->off));
	if (l->off == NULL)
		return -ENOMEM;
	if (o->v3 && (rc = v3_setup(&s, o)) < 0) {
		fprintf(stderr, "snmp_loadgen: v3 keys: %s\n", strerror(-rc));
		return rc;
	}
	for (i = 0; i < o->count && rc == 0; i++) {
		l->off[i] = l->data.len;
		rc = o->v3 ? build_v3(o, &s, (uint32_t)i, &l->data) : build_v2c(o, (uint32_t)i, &l->data);
	}
	l->off[i] = l->data.len;
	l->n = i;
	if (o->v3)
		v3_release(&s);
	if (rc < 0)
		fprintf(stderr, "snmp_loadgen: building trap %lu: %s\n", i, strerror(-rc));
	return rc;
}

/* ---- the receiver's queue ----------------------------------------------- */

/* The line of /proc/net/udp whose local address is `addr` (as the kernel
 * prints it: host byte order, hex) and port `port`: its rx_queue (bytes of
 * kernel memory held by queued datagrams) and drops. Reading the file
 * costs a few microseconds with the handful of sockets of a test machine.
 * 0, or -ENOENT when no such socket is bound. */
static int rxq_read(int fd, uint32_t addr, unsigned port, unsigned long *queue,
		    unsigned long *drops)
{
	static char text[1 << 16];
	size_t have = 0;
	ssize_t r;
	char *line, *nl;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	while (have < sizeof(text) - 1 && (r = read(fd, text + have, sizeof(text) - 1 - have)) > 0)
		have += (size_t)r;
	text[have] = '\0';
	for (line = strchr(text, '\n'); line != NULL; line = nl) {
		unsigned long la, lp, rxq, dr;

		nl = strchr(line + 1, '\n');
		/* sl: local rem st tx_queue:rx_queue tr:tm retrnsmt uid timeout
		 * inode ref pointer drops */
		if (sscanf(line + 1, " %*u: %lx:%lx %*s %*x %*x:%lx %*s %*s %*u %*u %*u %*u %*s %lu",
			   &la, &lp, &rxq, &dr) == 4 && la == addr && lp == port) {
			*queue = rxq;
			*drops = dr;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- sending ------------------------------------------------------------ */

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sends traps [first, last) in one or more sendmmsg() calls. A datagram is
 * sent whole or not at all, so a short count only means "call again". */
static int send_burst(int fd, const struct load *l, unsigned long first, unsigned long last)
{
	struct mmsghdr mm[BURST_MAX];
	struct iovec iov[BURST_MAX];
	unsigned long k, n;
	int r;

	while (first < last) {
		n = last - first > BURST_MAX ? BURST_MAX : last - first;
		memset(mm, 0, n * sizeof(mm[0]));
		for (k = 0; k < n; k++) {
			iov[k].iov_base = l->data.data + l->off[first + k];
			iov[k].iov_len = l->off[first + k + 1] - l->off[first + k];
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(fd, mm, (unsigned)n, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS)
				continue;
			return -errno;
		}
		first += (unsigned long)r;
	}
	return 0;
}

/* Waits about `us` microseconds: pacing, not a wait for a condition. */
static void pause_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

static int open_socket(const struct opts *o, uint32_t *addr, unsigned *port)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *res = NULL;
	struct sockaddr_in *sin;
	int fd, rc;

	rc = getaddrinfo(o->host, o->port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "snmp_loadgen: %s:%s: %s\n", o->host, o->port, gai_strerror(rc));
		return -1;
	}
	sin = (struct sockaddr_in *)res->ai_addr;
	/* /proc/net/udp prints the address as the kernel holds it (network
	 * order read as a host integer) and the port in host order. */
	*addr = sin->sin_addr.s_addr;
	*port = ntohs(sin->sin_port);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		fprintf(stderr, "snmp_loadgen: connect %s:%s: %s\n", o->host, o->port,
			strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Sends the whole load, in windows or at a rate, and prints the report. */
static int run(const struct opts *o, const struct load *l)
{
	unsigned long next = 0, queue = 0, drops0 = 0, drops1 = 0, n;
	struct timespec wall;
	bool watch;
	double start, elapsed, due, drained = 0;
	uint32_t addr;
	unsigned port;
	char line[64];
	int fd, proc = -1, rc = 1;

	fd = open_socket(o, &addr, &port);
	if (fd < 0)
		return 1;
	proc = open("/proc/net/udp", O_RDONLY | O_CLOEXEC);
	watch = proc >= 0 && rxq_read(proc, addr, port, &queue, &drops0) == 0;
	if (!watch && o->rate == 0) {
		fprintf(stderr, "snmp_loadgen: no socket bound to %s:%s in /proc/net/udp; "
			"use --rate for a remote receiver\n", o->host, o->port);
		goto out;
	}
	if (o->wait_go) {
		printf("ready\n");
		fflush(stdout);
		if (fgets(line, sizeof(line), stdin) == NULL && ferror(stdin)) {
			perror("snmp_loadgen: stdin");
			goto out;
		}
	}
	clock_gettime(CLOCK_REALTIME, &wall);
	start = now_mono();
	due = start;
	while (next < l->n) {
		if (o->rate > 0) {
			/* Bursts on an absolute schedule, so a late wake-up is
			 * caught up rather than lost. */
			double wait = due - now_mono();

			if (wait > 0)
				pause_us((long)(wait * 1e6));
			due += (double)o->burst / (double)o->rate;
		} else if (rxq_read(proc, addr, port, &queue, &drops1) < 0) {
			fprintf(stderr, "snmp_loadgen: the receiver's socket went away after %lu traps\n",
				next);
			goto out;
		} else if (queue >= o->window) {
			/* Short enough that a window of a few hundred KiB or
			 * more (each queued datagram of ours takes 0.8 to 1.3
			 * KiB of it: over 1 ms of work even for a receiver
			 * that takes 200,000 a second) never runs dry; long
			 * enough to leave the CPU to the receiver. */
			pause_us(200);
			continue;
		}
		n = l->n - next < o->burst ? l->n - next : o->burst;
		if ((rc = send_burst(fd, l, next, next + n)) < 0) {
			fprintf(stderr, "snmp_loadgen: send: %s\n", strerror(-rc));
			rc = 1;
			goto out;
		}
		next += n;
	}
	elapsed = now_mono() - start;
	/* On loopback a datagram is queued or dropped inside sendmmsg(), so
	 * the drop count is final once the last call has returned. Then wait
	 * for the receiver to read its queue empty, so that the caller's first
	 * look at the receiver's output comes when it can be complete. */
	if (watch) {
		double limit = now_mono() + DRAIN_LIMIT_S;

		while (rxq_read(proc, addr, port, &queue, &drops1) == 0 && queue > 0 &&
		       now_mono() < limit)
			pause_us(50);
		drained = now_mono() - start;
		watch = rxq_read(proc, addr, port, &queue, &drops1) == 0;
	}
	printf("traps=%lu bytes=%zu elapsed_s=%.6f start_unix=%lld.%09ld", l->n, l->data.len,
	       elapsed, (long long)wall.tv_sec, wall.tv_nsec);
	if (watch)
		printf(" drained_s=%.6f drops=%lu\n", drained, drops1 - drops0);
	else
		printf(" drained_s=- drops=-\n");
	rc = 0;
out:
	if (proc >= 0)
		close(proc);
	close(fd);
	return rc;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: snmp_loadgen v2c|v3 HOST PORT COUNT [--window BYTES | --rate N] [--burst N]\n"
		"       [--community TEXT] [--user NAME] [--auth-password P] [--priv-password P]\n"
		"       [--engine-id HEX] [--boots N] [--wait]\n");
	exit(2);
}

static unsigned long num_arg(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || *s == '-')
		usage();
	return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	int i;

	if (argc < 5 || (strcmp(argv[1], "v2c") != 0 && strcmp(argv[1], "v3") != 0))
		usage();
	*o = (struct opts){
		.v3 = strcmp(argv[1], "v3") == 0, .host = argv[2], .port = argv[3],
		.count = num_arg(argv[4]), .window = 65536, .burst = 64, .boots = 1,
		.community = "public", .user = "bench", .auth_pw = "bench-auth-pass",
		.priv_pw = "bench-priv-pass", .engine_hex = "80001f8804776172642d62656e6368",
	};
	for (i = 5; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--wait") == 0) {
			o->wait_go = true;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--window") == 0)
			o->window = num_arg(v);
		else if (strcmp(a, "--rate") == 0)
			o->rate = num_arg(v);
		else if (strcmp(a, "--burst") == 0)
			o->burst = num_arg(v);
		else if (strcmp(a, "--boots") == 0)
			o->boots = num_arg(v);
		else if (strcmp(a, "--community") == 0)
			o->community = v;
		else if (strcmp(a, "--user") == 0)
			o->user = v;
		else if (strcmp(a, "--auth-password") == 0)
			o->auth_pw = v;
		else if (strcmp(a, "--priv-password") == 0)
			o->priv_pw = v;
		else if (strcmp(a, "--engine-id") == 0)
			o->engine_hex = v;
		else
			usage();
	}
	/* request-id and msgID are INTEGER (0..2^31-1) */
	if (o->count == 0 || o->count > INT32_MAX - 1 || o->burst == 0 || o->burst > BURST_MAX ||
	    o->window == 0 || o->boots > INT32_MAX)
		usage();
}

int main(int argc, char **argv)
{
	struct load l;
	struct opts o;
	int rc;

	parse_args(argc, argv, &o);
	if (load_build(&l, &o) < 0) {
		load_free(&l);
		return 1;
	}
	rc = run(&o, &l);
	load_free(&l);
	return rc;
}
