/* edr_loadgen: an EDR event load generator for `make bench` (bench/edr.sh).
 *
 *   edr_loadgen lumberjack|hec HOST PORT COUNT [--batch N] [--in-flight K]
 *               [--connections C] [--token T] [--seed S] [--timeout S] [--wait]
 *
 * Sends COUNT Winlogbeat-shaped Sysmon events (event IDs 1 process create,
 * 3 network connection, 11 file create and 22 DNS query, in turn), about
 * 1.2 KiB of JSON each. Host, user, process, addresses, ports, file names,
 * queries, GUIDs and hashes vary from event to event, drawn from a
 * xorshift generator seeded with --seed, so a given seed always gives the
 * same load.
 *
 *   lumberjack  Lumberjack v2 (the Beats protocol): per batch of N events
 *               (default 2048, Beats' bulk_max_size) a window frame '2W'
 *               and one zlib-compressed frame '2C' (level 3, Beats'
 *               default) holding the N '2J' JSON frames. Sequence numbers
 *               run on across a connection's windows, so that K windows
 *               may be in flight (default 2, Beats' pipelining); a window
 *               counts as acknowledged when an ACK '2A' with its last
 *               sequence number or a later one has arrived.
 *   hec         HTTP Event Collector: HTTP/1.1 keep-alive POST
 *               /services/collector/event with Authorization: Splunk T
 *               (default the development token) and Content-Encoding:
 *               gzip; the body is N (default 1000) concatenated
 *               {"event":{...},"host":...} objects, gzip level 6. Up to
 *               K requests are pipelined (default 1). A 200 counts the
 *               request's events as acknowledged; a 503 (the relay's
 *               spool is busy) is counted and the request sent again
 *               after 10 ms.
 *
 * The relay acknowledges only what is durable in its spool, so the time
 * until the last acknowledgement is the time until every event is durable.
 *
 * Every request is built and compressed before the first byte is sent
 * (the generator must not be the bottleneck; building is not timed).
 * With --connections C the requests are split into C contiguous runs sent
 * in parallel, one thread per connection. Each socket read and write
 * gives up after --timeout seconds (default 120).
 *
 * With --wait it builds, connects, prints "ready" and starts only when a
 * line (or end of file) arrives on stdin (bench/lib.sh, loadgen_run).
 * On success it prints one line on stdout:
 *
 *   mode=hec events=200000 sent=200000 acked=200000 requests=200 busy=0
 *   json_bytes=215000000 wire_bytes=30000000 elapsed_s=2.345678
 *   start_unix=1700574312.123456789
 *
 * (one line). json_bytes is the events' JSON alone; wire_bytes what went
 * on the wire (compressed, with framing or HTTP headers, retries
 * included). elapsed_s runs from the go line to the last acknowledgement.
 * Exit status: 0 when every event was acknowledged, 1 otherwise, 2 on bad
 * usage.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define DEV_TOKEN "ward-dev-token-0000-0000-000000000000"
#define EVENT_MAX 4096
#define MAX_CONNS 256
#define MAX_IN_FLIGHT 64
#define MAX_BATCH 100000
#define MAX_BUSY 100000
/* 2026-01-01T00:00:00Z: event times start here, one millisecond apart. */
#define BASE_UNIX 1767225600LL

enum mode { LUMBERJACK, HEC };

struct opts {
	enum mode mode;
	const char *host, *port, *token;
	unsigned long long count, seed;
	unsigned batch, in_flight, nconn, timeout_s;
	int wait_go;
};

/* One request: a Lumberjack window or a HEC POST, ready to write. */
struct req {
	size_t off, len;     /* in the load's data */
	uint32_t events;
	uint32_t last_seq;   /* Lumberjack: the window's last sequence number */
};

struct load {
	uint8_t *data;
	size_t len, cap;
	struct req *reqs;
	size_t nreqs;
	unsigned long long json_bytes;
};

struct conn {
	pthread_t thread;
	int started, fd, err;
	const char *what;               /* set with err */
	const struct opts *o;
	const struct load *ld;
	size_t first, last;             /* requests [first, last) */
	unsigned long long sent, acked, busy, wire;
};

/* ---- event generation ------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rng() % n);
}

static const char *const depts[] = { "rad", "icu", "er", "lab", "pharm", "adm", "onc", "ped" };
static const char *const users[] = { "jdoe", "mchen", "lwang", "szhang", "akumar", "nurse07",
				     "radtech2", "pacs-svc", "his-admin", "lyang" };
static const char *const images[] = {
	"C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0\\\\powershell.exe",
	"C:\\\\Windows\\\\System32\\\\cmd.exe",
	"C:\\\\Program Files\\\\Google\\\\Chrome\\\\Application\\\\chrome.exe",
	"C:\\\\Windows\\\\System32\\\\svchost.exe",
	"C:\\\\Program Files (x86)\\\\PACS Viewer\\\\pacsview.exe",
	"C:\\\\Windows\\\\explorer.exe",
	"C:\\\\Program Files\\\\HIS Client\\\\hisclient.exe",
	"C:\\\\Windows\\\\System32\\\\rundll32.exe",
};
static const char *const cmdlines[] = {
	"powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\\\ProgramData\\\\it\\\\inventory.ps1",
	"cmd.exe /c ipconfig /all > C:\\\\Users\\\\Public\\\\net.txt",
	"\\\"chrome.exe\\\" --type=renderer --lang=zh-CN --enable-auto-reload --num-raster-threads=2",
	"svchost.exe -k netsvcs -p -s Schedule",
	"\\\"pacsview.exe\\\" /study 1.2.840.113619.2.55.3.604688119.971.1714550400.123",
	"C:\\\\Windows\\\\explorer.exe",
	"\\\"hisclient.exe\\\" --server his01.hosp.example --port 7001",
	"rundll32.exe C:\\\\Windows\\\\System32\\\\shell32.dll,Control_RunDLL",
};
static const char *const domains[] = { "his01.hosp.example", "pacs.hosp.example",
				       "update.microsoft.com", "www.baidu.com", "login.live.com",
				       "api.weixin.qq.com", "edr-console.hosp.example",
				       "time.windows.com" };
static const char *const files[] = { "Temp\\\\~DF%04X.tmp", "Downloads\\\\report-%04X.pdf",
				     "AppData\\\\Local\\\\Temp\\\\setup-%04X.exe",
				     "Documents\\\\dicom\\\\IM%04X.dcm" };

static void guid(char out[40])
{
	uint64_t a = rng(), b = rng();

	snprintf(out, 40, "{%08x-%04x-%04x-%04x-%012llx}", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff, (unsigned)(b >> 48),
		 (unsigned long long)(b & 0xffffffffffffULL));
}

static void hexstr(char *out, unsigned nbytes)
{
	static const char hx[] = "0123456789ABCDEF";
	unsigned i;

	for (i = 0; i < nbytes; i++) {
		unsigned v = (unsigned)rng() & 0xff;

		out[2 * i] = hx[v >> 4];
		out[2 * i + 1] = hx[v & 15];
	}
	out[2 * nbytes] = '\0';
}

/* The event_data of Sysmon event `id` (the field names of Microsoft's
 * Sysmon event schema), into out. Returns the length, or -1 when it does not fit. */
static int event_data(char *out, size_t cap, unsigned id, const char *utc, const char *user,
		      unsigned img)
{
	char pg[40], g2[40], md5[33], sha[65], name[64];
	unsigned pid = 1000 + pick(60000);
	int n;

	guid(pg);
	switch (id) {
	case 1:
		guid(g2);
		hexstr(md5, 16);
		hexstr(sha, 32);
		n = snprintf(out, cap,
			     "\"RuleName\":\"-\",\"UtcTime\":\"%s\",\"ProcessGuid\":\"%s\","
			     "\"ProcessId\":\"%u\",\"Image\":\"%s\",\"FileVersion\":\"10.0.19041.%u\","
			     "\"Description\":\"Windows Command Processor\",\"Product\":\"Microsoft Windows\","
			     "\"Company\":\"Microsoft Corporation\",\"OriginalFileName\":\"Cmd.Exe\","
			     "\"CommandLine\":\"%s\",\"CurrentDirectory\":\"C:\\\\Users\\\\%s\\\\\","
			     "\"User\":\"HOSP\\\\%s\",\"LogonGuid\":\"%s\",\"LogonId\":\"0x%x\","
			     "\"TerminalSessionId\":\"1\",\"IntegrityLevel\":\"Medium\","
			     "\"Hashes\":\"MD5=%s,SHA256=%s\",\"ParentProcessGuid\":\"%s\","
			     "\"ParentProcessId\":\"%u\",\"ParentImage\":\"C:\\\\Windows\\\\explorer.exe\","
			     "\"ParentCommandLine\":\"C:\\\\Windows\\\\Explorer.EXE\",\"ParentUser\":\"HOSP\\\\%s\"",
			     utc, pg, pid, images[img], pick(5000), cmdlines[img], user, user, g2,
			     0x10000 + pick(0xfffff), md5, sha, pg, 500 + pick(9000), user);
		break;
	case 3:
		n = snprintf(out, cap,
			     "\"RuleName\":\"technique_id=T1071,technique_name=Application Layer Protocol\","
			     "\"UtcTime\":\"%s\",\"ProcessGuid\":\"%s\",\"ProcessId\":\"%u\",\"Image\":\"%s\","
			     "\"User\":\"HOSP\\\\%s\",\"Protocol\":\"tcp\",\"Initiated\":\"true\","
			     "\"SourceIsIpv6\":\"false\",\"SourceIp\":\"10.%u.%u.%u\",\"SourceHostname\":\"-\","
			     "\"SourcePort\":\"%u\",\"SourcePortName\":\"-\",\"DestinationIsIpv6\":\"false\","
			     "\"DestinationIp\":\"%u.%u.%u.%u\",\"DestinationHostname\":\"%s\","
			     "\"DestinationPort\":\"%u\",\"DestinationPortName\":\"%s\"",
			     utc, pg, pid, images[img], user, 20 + pick(40), pick(256), 1 + pick(254),
			     49152 + pick(16384), 203, 0, 113, 1 + pick(254), domains[pick(8)],
			     pick(2) ? 443 : 8080, pick(2) ? "https" : "-");
		break;
	case 11:
		if (snprintf(name, sizeof(name), files[pick(4)], pick(0x10000)) >= (int)sizeof(name))
			return -1;
		n = snprintf(out, cap,
			     "\"RuleName\":\"EXE\",\"UtcTime\":\"%s\",\"ProcessGuid\":\"%s\","
			     "\"ProcessId\":\"%u\",\"Image\":\"%s\","
			     "\"TargetFilename\":\"C:\\\\Users\\\\%s\\\\%s\",\"CreationUtcTime\":\"%s\","
			     "\"User\":\"HOSP\\\\%s\"",
			     utc, pg, pid, images[img], user, name, utc, user);
		break;
	default:
		n = snprintf(out, cap,
			     "\"RuleName\":\"-\",\"UtcTime\":\"%s\",\"ProcessGuid\":\"%s\","
			     "\"ProcessId\":\"%u\",\"QueryName\":\"%s\",\"QueryStatus\":\"0\","
			     "\"QueryResults\":\"::ffff:203.0.113.%u;::ffff:198.51.100.%u;\","
			     "\"Image\":\"%s\",\"User\":\"HOSP\\\\%s\"",
			     utc, pg, pid, domains[pick(8)], 1 + pick(254), 1 + pick(254),
			     images[img], user);
		break;
	}
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Event i as Winlogbeat 8 ships it (ECS top-level fields, winlog.*), into
 * out[EVENT_MAX]. Sets *host to its host name. Returns the length or -1. */
static int event_json(char *out, unsigned long long i, char host[64], char ts[64])
{
	static const unsigned ids[] = { 1, 3, 11, 22 };
	static const char *const tasks[] = { "Process Create (rule: ProcessCreate)",
					     "Network connection detected (rule: NetworkConnect)",
					     "File created (rule: FileCreate)",
					     "Dns query (rule: DnsQuery)" };
	char data[2048], utc[64], agent_id[64];
	unsigned k = (unsigned)(i % 4), id = ids[k], hn = pick(400), img = pick(8);
	const char *user = users[pick(10)];
	long long ms = BASE_UNIX * 1000 + (long long)i;
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	int n;

	gmtime_r(&t, &tm);
	snprintf(host, 64, "ws-%s-%03u", depts[hn % 8], hn);
	snprintf(ts, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	snprintf(utc, sizeof(utc), "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	snprintf(agent_id, sizeof(agent_id), "%08x-51c4-4a6e-9b0e-%012x", hn * 2654435761u, hn);
	if (event_data(data, sizeof(data), id, utc, user, img) < 0)
		return -1;
	n = snprintf(out, EVENT_MAX,
		     "{\"@timestamp\":\"%s\",\"host\":{\"name\":\"%s\",\"hostname\":\"%s\","
		     "\"os\":{\"family\":\"windows\"}},"
		     "\"agent\":{\"type\":\"winlogbeat\",\"version\":\"8.12.0\",\"name\":\"%s\",\"id\":\"%s\"},"
		     "\"ecs\":{\"version\":\"8.0.0\"},\"log\":{\"level\":\"information\"},"
		     "\"event\":{\"code\":\"%u\",\"kind\":\"event\",\"provider\":\"Microsoft-Windows-Sysmon\"},"
		     "\"winlog\":{\"channel\":\"Microsoft-Windows-Sysmon/Operational\","
		     "\"provider_name\":\"Microsoft-Windows-Sysmon\","
		     "\"event_id\":\"%u\","
		     "\"record_id\":%llu,\"computer_name\":\"%s.hosp.example\","
		     "\"process\":{\"pid\":3140,\"thread\":{\"id\":%u}},\"version\":5,"
		     "\"opcode\":\"Info\",\"task\":\"%s\",\"event_data\":{%s}}}",
		     ts, host, host, host, agent_id, id, id, 100000 + i, host, 4000 + pick(4000),
		     tasks[k], data);
	return n < 0 || n >= EVENT_MAX ? -1 : n;
}

/* ---- building the requests -------------------------------------------------- */

static int load_reserve(struct load *ld, size_t more)
{
	size_t cap = ld->cap ? ld->cap : 1 << 20;
	uint8_t *p;

	while (cap - ld->len < more)
		cap *= 2;
	if (cap == ld->cap)
		return 0;
	p = realloc(ld->data, cap);
	if (p == NULL)
		return -ENOMEM;
	ld->data = p;
	ld->cap = cap;
	return 0;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Compresses src into the load at its end: zlib (windowBits 15) or gzip
 * (31). Returns the compressed length or -1. */
static long compress_into(struct load *ld, const uint8_t *src, size_t len, int level, int gzip)
{
	z_stream z;
	uLong bound;
	long out = -1;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, level, Z_DEFLATED, gzip ? 31 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	bound = deflateBound(&z, (uLong)len) + 32;
	if (load_reserve(ld, bound) < 0)
		goto done;
	z.next_in = (Bytef *)src;
	z.avail_in = (uInt)len;
	z.next_out = ld->data + ld->len;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) == Z_STREAM_END)
		out = (long)z.total_out;
done:
	deflateEnd(&z);
	return out;
}

/* The plain content of one request: nev events from event index *i on,
 * as '2J' frames (sequence numbers from *seq on) or HEC objects. */
static int batch_plain(const struct opts *o, struct load *ld, uint8_t **plain, size_t *plen,
		       size_t *pcap, unsigned long long *i, uint32_t nev, uint32_t *seq)
{
	char ev[EVENT_MAX], host[64], ts[64];
	uint32_t k;

	*plen = 0;
	for (k = 0; k < nev; k++, (*i)++) {
		int n = event_json(ev, *i, host, ts);
		size_t need;

		if (n < 0)
			return -1;
		ld->json_bytes += (unsigned long long)n;
		need = (size_t)n + 256;
		if (*pcap - *plen < need) {
			size_t cap = (*pcap ? *pcap : 1 << 20);
			uint8_t *p;

			while (cap - *plen < need)
				cap *= 2;
			p = realloc(*plain, cap);
			if (p == NULL)
				return -1;
			*plain = p;
			*pcap = cap;
		}
		if (o->mode == LUMBERJACK) {
			uint8_t *f = *plain + *plen;

			f[0] = '2';
			f[1] = 'J';
			be32(f + 2, ++*seq);
			be32(f + 6, (uint32_t)n);
			memcpy(f + 10, ev, (size_t)n);
			*plen += 10 + (size_t)n;
		} else {
			int m = snprintf((char *)*plain + *plen, *pcap - *plen, "{\"event\":%s,\"host\":\"%s\","
					 "\"source\":\"WinEventLog:Microsoft-Windows-Sysmon/Operational\","
					 "\"sourcetype\":\"XmlWinEventLog\",\"time\":%lld.%03lld}",
					 ev, host, BASE_UNIX + (long long)(*i / 1000),
					 (long long)(*i % 1000));

			if (m < 0 || (size_t)m >= *pcap - *plen)
				return -1;
			*plen += (size_t)m;
		}
	}
	return 0;
}

/* Builds every request of the load. Sequence numbers restart at 1 on each
 * connection's first window. Returns 0 or -1. */
static int load_build(const struct opts *o, struct load *ld)
{
	unsigned long long i = 0;
	uint8_t *plain = NULL;
	size_t plen = 0, pcap = 0, r, nreqs = (size_t)((o->count + o->batch - 1) / o->batch);
	uint32_t seq = 0;
	unsigned c = 0;
	int rc = -1;

	ld->reqs = calloc(nreqs, sizeof(*ld->reqs));
	if (ld->reqs == NULL)
		return -1;
	ld->nreqs = nreqs;
	for (r = 0; r < nreqs; r++) {
		uint32_t nev = (uint32_t)(o->count - i < o->batch ? o->count - i : o->batch);
		struct req *q = &ld->reqs[r];
		size_t hdr;
		long z;

		/* Connection c sends requests [nreqs*c/C, nreqs*(c+1)/C). */
		while (c < o->nconn && r >= nreqs * (c + 1) / o->nconn)
			c++;
		if (r == nreqs * c / o->nconn)
			seq = 0;
		if (batch_plain(o, ld, &plain, &plen, &pcap, &i, nev, &seq) < 0)
			goto out;
		q->off = ld->len;
		q->events = nev;
		q->last_seq = seq;
		if (o->mode == LUMBERJACK) {
			if (load_reserve(ld, 12) < 0)
				goto out;
			memcpy(ld->data + ld->len, "2W", 2);
			be32(ld->data + ld->len + 2, nev);
			memcpy(ld->data + ld->len + 6, "2C", 2);
			hdr = 12;
			ld->len += hdr;
			z = compress_into(ld, plain, plen, 3, 0);
			if (z < 0)
				goto out;
			be32(ld->data + q->off + 8, (uint32_t)z);
			ld->len += (size_t)z;
		} else {
			char h[512];
			int n;

			/* The body goes first into place after room for the
			 * header, which needs its length. */
			if (load_reserve(ld, sizeof(h)) < 0)
				goto out;
			ld->len += sizeof(h);
			z = compress_into(ld, plain, plen, 6, 1);
			if (z < 0)
				goto out;
			n = snprintf(h, sizeof(h), "POST /services/collector/event HTTP/1.1\r\n"
				     "Host: %s:%s\r\nUser-Agent: edr_loadgen\r\n"
				     "Authorization: Splunk %s\r\nContent-Type: application/json\r\n"
				     "Content-Encoding: gzip\r\nContent-Length: %ld\r\n\r\n",
				     o->host, o->port, o->token, z);
			if (n < 0 || (size_t)n >= sizeof(h))
				goto out;
			memmove(ld->data + q->off + (size_t)n, ld->data + q->off + sizeof(h), (size_t)z);
			memcpy(ld->data + q->off, h, (size_t)n);
			ld->len = q->off + (size_t)n + (size_t)z;
		}
		q->len = ld->len - q->off;
	}
	rc = 0;
out:
	free(plain);
	return rc;
}

/* ---- sending ---------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? ETIMEDOUT : errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads more into buf[*have..cap). Returns 0, or an errno (EPIPE when the
 * peer closed the connection). */
static int read_more(int fd, uint8_t *buf, size_t *have, size_t cap)
{
	ssize_t n;

	if (*have >= cap)
		return EMSGSIZE;
	do
		n = recv(fd, buf + *have, cap - *have, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? ETIMEDOUT : errno;
	if (n == 0)
		return EPIPE;
	*have += (size_t)n;
	return 0;
}

/* One HEC answer from buf[0..*have): its status in *status, consumed.
 * Returns 1 with an answer, 0 when more bytes are needed, -1 when it is
 * not HTTP. */
static int hec_answer(uint8_t *buf, size_t *have, int *status)
{
	char head[4096];
	const char *cl;
	size_t hlen, body = 0;
	uint8_t *end;

	end = memmem(buf, *have, "\r\n\r\n", 4);
	if (end == NULL)
		return *have >= sizeof(head) ? -1 : 0;
	hlen = (size_t)(end - buf) + 4;
	if (hlen >= sizeof(head) || hlen < 12 || memcmp(buf, "HTTP/1.1 ", 9) != 0)
		return -1;
	memcpy(head, buf, hlen);
	head[hlen] = '\0';
	*status = atoi(head + 9);
	cl = strcasestr(head, "\r\nContent-Length:");
	if (cl != NULL)
		body = strtoul(cl + 17, NULL, 10);
	if (body > 65536)
		return -1;
	if (*have < hlen + body)
		return 0;
	memmove(buf, buf + hlen + body, *have - hlen - body);
	*have -= hlen + body;
	return 1;
}

/* Reads until at least one request of the ring is settled: acknowledged
 * (acked), or for HEC refused with 503 (pushed onto retry). */
static int settle(struct conn *c, uint8_t *buf, size_t *have, size_t *ring, size_t *head,
		  size_t *nout, size_t *retry, size_t *nretry)
{
	const struct load *ld = c->ld;
	size_t before = *nout;
	int rc;

	while (*nout == before) {
		if (c->o->mode == LUMBERJACK) {
			while (*have >= 6) {
				uint32_t ack;

				if (buf[0] != '2' || buf[1] != 'A')
					return c->what = "not an ACK frame", EPROTO;
				ack = (uint32_t)buf[2] << 24 | (uint32_t)buf[3] << 16 |
				      (uint32_t)buf[4] << 8 | buf[5];
				memmove(buf, buf + 6, *have - 6);
				*have -= 6;
				while (*nout > 0 && ld->reqs[ring[*head]].last_seq <= ack) {
					c->acked += ld->reqs[ring[*head]].events;
					*head = (*head + 1) % MAX_IN_FLIGHT;
					(*nout)--;
				}
			}
		} else {
			int status, a;

			while (*nout > 0 && (a = hec_answer(buf, have, &status)) != 0) {
				size_t q = ring[*head];

				if (a < 0)
					return c->what = "not an HTTP/1.1 answer", EPROTO;
				if (status == 200)
					c->acked += ld->reqs[q].events;
				else if (status == 503 && c->busy < MAX_BUSY) {
					c->busy++;
					retry[(*nretry)++] = q;
				} else {
					fprintf(stderr, "edr_loadgen: HEC answered %d\n", status);
					return c->what = "HEC refused a request", EPROTO;
				}
				*head = (*head + 1) % MAX_IN_FLIGHT;
				(*nout)--;
			}
		}
		if (*nout < before)
			break;
		rc = read_more(c->fd, buf, have, 65536);
		if (rc != 0)
			return c->what = "reading acknowledgements", rc;
	}
	return 0;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	const struct load *ld = c->ld;
	size_t ring[MAX_IN_FLIGHT], retry[MAX_IN_FLIGHT];
	size_t head = 0, nout = 0, nretry = 0, next = c->first;
	size_t have = 0;
	uint8_t *buf = malloc(65536);

	if (buf == NULL) {
		c->err = ENOMEM;
		c->what = "allocating";
		return NULL;
	}
	while (next < c->last || nout > 0 || nretry > 0) {
		if ((next < c->last || nretry > 0) && nout < c->o->in_flight) {
			size_t q;

			if (nretry > 0) {
				struct timespec ts = { 0, 10 * 1000 * 1000 };

				q = retry[--nretry];
				nanosleep(&ts, NULL);
			} else {
				q = next++;
				c->sent += ld->reqs[q].events;
			}
			c->err = write_all(c->fd, ld->data + ld->reqs[q].off, ld->reqs[q].len);
			if (c->err != 0) {
				c->what = "sending";
				break;
			}
			c->wire += ld->reqs[q].len;
			ring[(head + nout) % MAX_IN_FLIGHT] = q;
			nout++;
			continue;
		}
		c->err = settle(c, buf, &have, ring, &head, &nout, retry, &nretry);
		if (c->err != 0)
			break;
	}
	free(buf);
	return NULL;
}

static int open_socket(const char *host, const char *port, unsigned timeout_s)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = { (time_t)timeout_s, 0 };
	int fd = -1, rc, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "edr_loadgen: %s:%s: %s\n", host, port, gai_strerror(rc));
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
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "edr_loadgen: connect %s:%s: %s\n", host, port, strerror(err));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Connects, waits for the go line if asked, runs the connections and
 * prints the report. Returns 0 or 1. */
static int run(const struct opts *o, const struct load *ld)
{
	struct conn *cs = calloc(o->nconn, sizeof(*cs));
	unsigned long long sent = 0, acked = 0, busy = 0, wire = 0;
	struct timespec wall;
	double start, elapsed;
	char line[64];
	unsigned c;
	int rc = 1;

	if (cs == NULL)
		return 1;
	for (c = 0; c < o->nconn; c++)
		cs[c].fd = -1;
	for (c = 0; c < o->nconn; c++) {
		cs[c].fd = open_socket(o->host, o->port, o->timeout_s);
		if (cs[c].fd < 0)
			goto out;
		cs[c].o = o;
		cs[c].ld = ld;
		cs[c].first = ld->nreqs * c / o->nconn;
		cs[c].last = ld->nreqs * (c + 1) / o->nconn;
	}
	if (o->wait_go) {
		printf("ready\n");
		fflush(stdout);
		if (fgets(line, sizeof(line), stdin) == NULL && ferror(stdin)) {
			perror("edr_loadgen: stdin");
			goto out;
		}
	}
	clock_gettime(CLOCK_REALTIME, &wall);
	start = now_mono();
	for (c = 0; c < o->nconn; c++) {
		cs[c].started = pthread_create(&cs[c].thread, NULL, conn_main, &cs[c]) == 0;
		if (!cs[c].started) {
			cs[c].err = EAGAIN;
			cs[c].what = "starting a thread";
		}
	}
	rc = 0;
	for (c = 0; c < o->nconn; c++) {
		if (cs[c].started)
			pthread_join(cs[c].thread, NULL);
		if (cs[c].err != 0) {
			fprintf(stderr, "edr_loadgen: connection %u: %s: %s\n", c, cs[c].what,
				strerror(cs[c].err));
			rc = 1;
		}
		sent += cs[c].sent;
		acked += cs[c].acked;
		busy += cs[c].busy;
		wire += cs[c].wire;
	}
	elapsed = now_mono() - start;
	if (acked != o->count)
		rc = 1;
	printf("mode=%s events=%llu sent=%llu acked=%llu requests=%zu busy=%llu json_bytes=%llu "
	       "wire_bytes=%llu elapsed_s=%.6f start_unix=%lld.%09ld\n",
	       o->mode == LUMBERJACK ? "lumberjack" : "hec", o->count, sent, acked, ld->nreqs, busy,
	       ld->json_bytes, wire, elapsed, (long long)wall.tv_sec, wall.tv_nsec);
out:
	for (c = 0; c < o->nconn; c++)
		if (cs[c].fd >= 0)
			close(cs[c].fd);
	free(cs);
	return rc;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: edr_loadgen lumberjack|hec HOST PORT COUNT [--batch N] [--in-flight K]\n"
		"                   [--connections C] [--token T] [--seed S] [--timeout S] [--wait]\n");
	exit(2);
}

static unsigned long long num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0')
		usage();
	return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	int i, batch_set = 0, inflight_set = 0;

	if (argc < 5)
		usage();
	memset(o, 0, sizeof(*o));
	if (strcmp(argv[1], "lumberjack") == 0)
		o->mode = LUMBERJACK;
	else if (strcmp(argv[1], "hec") == 0)
		o->mode = HEC;
	else
		usage();
	o->host = argv[2];
	o->port = argv[3];
	o->count = num(argv[4]);
	o->token = DEV_TOKEN;
	o->seed = 0x5eed5eedULL;
	o->nconn = 1;
	o->timeout_s = 120;
	for (i = 5; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0)
			o->wait_go = 1;
		else if (i + 1 >= argc)
			usage();
		else if (strcmp(argv[i], "--batch") == 0)
			o->batch = (unsigned)num(argv[++i]), batch_set = 1;
		else if (strcmp(argv[i], "--in-flight") == 0)
			o->in_flight = (unsigned)num(argv[++i]), inflight_set = 1;
		else if (strcmp(argv[i], "--connections") == 0)
			o->nconn = (unsigned)num(argv[++i]);
		else if (strcmp(argv[i], "--token") == 0)
			o->token = argv[++i];
		else if (strcmp(argv[i], "--seed") == 0)
			o->seed = num(argv[++i]);
		else if (strcmp(argv[i], "--timeout") == 0)
			o->timeout_s = (unsigned)num(argv[++i]);
		else
			usage();
	}
	if (!batch_set)
		o->batch = o->mode == LUMBERJACK ? 2048 : 1000;
	if (!inflight_set)
		o->in_flight = o->mode == LUMBERJACK ? 2 : 1;
	if (o->count == 0 || o->count > 100000000ULL || o->batch == 0 || o->batch > MAX_BATCH ||
	    o->in_flight == 0 || o->in_flight > MAX_IN_FLIGHT || o->nconn == 0 ||
	    o->nconn > MAX_CONNS || o->timeout_s == 0 || strpbrk(o->token, " \r\n") != NULL)
		usage();
	if (o->nconn > (o->count + o->batch - 1) / o->batch)
		o->nconn = (unsigned)((o->count + o->batch - 1) / o->batch);
}

int main(int argc, char **argv)
{
	struct load ld;
	struct opts o;
	int rc;

	parse_args(argc, argv, &o);
	rng_state = o.seed ? o.seed : 1;
	signal(SIGPIPE, SIG_IGN);
	memset(&ld, 0, sizeof(ld));
	if (load_build(&o, &ld) < 0) {
		fprintf(stderr, "edr_loadgen: out of memory building %llu events\n", o.count);
		rc = 1;
	} else {
		rc = run(&o, &ld);
	}
	free(ld.data);
	free(ld.reqs);
	return rc;
}
