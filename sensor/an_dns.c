/* an_dns: the DNS analyzer (issue 5), over UDP and TCP.
 *
 * Wire format: RFC 1035 section 4.1 (header, question, resource records),
 * 4.1.4 (name compression), 4.2.2 (TCP: each message behind a two-byte
 * length); RFC 6891 section 6 (the EDNS OPT pseudo-RR); RFC 3596 (AAAA).
 *
 * Records follow Zeek's dns.log (base/protocols/dns/main.zeek, DNS::Info):
 * one record per query/reply pair. A query waits in a small table per
 * session until a reply with the same transaction id (and, when the reply
 * carries a question, the same name, type and class) comes; the pair is
 * then written at once. Queries never answered are written at end()
 * without rtt and rcode; a reply with no pending query is written at once,
 * alone (Zeek holds it for a later query; on one flow that order does not
 * happen, and holding it would mean copying its answers). See
 * docs/records.md for every field and where ward differs from Zeek.
 *
 * A message is parsed twice, which keeps no copy of its answers: a first
 * pass checks the header, the question and every RR (names, lengths) and
 * finds the OPT RR; the record writer walks the answer section again and
 * formats each answer straight into the JSON. Both passes share
 * rr_next(), so they agree on where the valid part ends.
 *
 * Cost: a name takes at most 255 octets and 127 pointer hops to decode,
 * and every question or RR takes at least 2 bytes of the message, so one
 * message costs O(len) name steps with a constant of a few hundred; the
 * answers are walked once more to write them.
 *
 * Malformed input is counted with an_weird (Zeek's weird names where one
 * exists) and never read out of bounds: a bad header or question drops
 * the message; a bad RR ends the walk there, and what came before it is
 * kept.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "analyzer.h"
#include "buf.h"
#include "jsonw.h"

/* RFC 1035 4.1.1. */
#define DNS_HDR_LEN 12
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_AA 0x0400
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080

#define DNS_TYPE_A 1
#define DNS_TYPE_NS 2
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_SOA 6
#define DNS_TYPE_WKS 11
#define DNS_TYPE_PTR 12
#define DNS_TYPE_HINFO 13
#define DNS_TYPE_MX 15
#define DNS_TYPE_TXT 16
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_LOC 29
#define DNS_TYPE_SRV 33
#define DNS_TYPE_DNAME 39
#define DNS_TYPE_OPT 41
#define DNS_TYPE_DS 43
#define DNS_TYPE_SSHFP 44
#define DNS_TYPE_RRSIG 46
#define DNS_TYPE_NSEC 47
#define DNS_TYPE_DNSKEY 48
#define DNS_TYPE_NSEC3 50
#define DNS_TYPE_NSEC3PARAM 51
#define DNS_TYPE_SVCB 64
#define DNS_TYPE_HTTPS 65
#define DNS_TYPE_SPF 99
#define DNS_TYPE_TSIG 250
#define DNS_TYPE_CAA 257
#define DNS_TYPE_BINDS 65534

/* RFC 1035 2.3.4: 255 octets of wire name. A name of 127 labels needs at
 * most 127 pointers when each hop lands on a label; more hops than that is
 * a chain made to waste time (name_decode's rule already rules out
 * loops). */
#define DNS_NAME_WIRE_MAX 255
#define DNS_PTR_HOPS_MAX 127
/* The text of a name: at most 253 label octets, each at most 4 characters
 * ("\xNN"), and the dots. */
#define DNS_NAME_TEXT_MAX 1280
/* The text of one answer: room for NSEC's two names. */
#define DNS_ANSWER_TEXT_MAX (2 * DNS_NAME_TEXT_MAX + 16)

/* Queries waiting for a reply, per session (Zeek allows 50 per id). */
#define DNS_PENDING_MAX 32
/* TCP messages: RFC 1035 4.2.2's 16-bit length. */
#define DNS_TCP_MSG_MAX 65535u

struct dns_hdr {
	uint16_t id, flags, qd, an, ns, ar;
};

/* What the first pass learns about one message. */
struct dns_msg {
	const uint8_t *p;
	size_t len;
	struct dns_hdr h;
	bool has_q;
	size_t qname_len;
	uint16_t qtype, qclass;
	size_t an_off;                     /* first answer RR */
	uint16_t an_valid;                 /* answer RRs that parsed */
	bool edns;
	uint16_t edns_udp_size;
	uint8_t edns_version, edns_ext_rcode;
	bool edns_do;
	char qname[DNS_NAME_TEXT_MAX];     /* lowercased, escaped; last, not zeroed */
};

/* One query waiting for its reply. */
struct dns_pending {
	uint64_t ts_us;
	uint16_t id, flags, qtype, qclass;
	bool has_q;
	bool edns, edns_do;
	uint16_t edns_udp_size;
	uint8_t edns_version;
	uint16_t qname_len;
	char qname[];                      /* qname_len bytes, no NUL */
};

enum dns_tcp_mode {
	DNS_TCP_SYNC = 0,  /* at a length prefix we trust */
	DNS_TCP_RESYNC,    /* after a gap: the next message must look like DNS */
	DNS_TCP_DEAD,      /* lost the framing: ignore this direction */
};

/* RFC 1035 4.2.2 framing, one per TCP direction. */
struct dns_tcp_dir {
	enum dns_tcp_mode mode;
	uint8_t lenb[2];
	uint8_t nlenb;     /* length bytes held (0..2) */
	uint32_t want;     /* message length once known, else 0 */
	uint32_t have;     /* bytes of it in buf */
	uint32_t skip;     /* bytes of a message being dropped */
	uint8_t *buf;      /* want bytes, an_alloc'd; NULL when unused */
};

/* Per session: about 350 bytes, and 40 more per waiting query. A busy
 * resolver has a flow per client port, so the message scratch (2.5 KiB)
 * is not kept per session but per thread: one context belongs to one
 * thread, and the callbacks never nest. */
struct dns_state {
	struct dns_pending *pending[DNS_PENDING_MAX];   /* oldest first */
	unsigned npending;
	struct dns_tcp_dir tcp[2];                      /* [is_orig] */
};

static _Thread_local struct dns_scratch {
	struct dns_msg msg;
	char text[DNS_ANSWER_TEXT_MAX];  /* names stepped over, answer texts */
} dns_scratch;

/* an_weird, or nothing when s is NULL (a second walk over the same RRs). */
static void dns_weird(struct an_session *s, const char *name)
{
	if (s != NULL)
		an_weird(s, name);
}

/* ---- names and numbers ---------------------------------------------- */

struct name_entry {
	uint16_t v;
	const char *name;
};

/* Zeek's DNS::query_types (base/protocols/dns/consts.zeek), which follow
 * the IANA registry; unknown ones are "query-N" as there. */
static const struct name_entry qtypes[] = {
	{ 1, "A" }, { 2, "NS" }, { 3, "MD" }, { 4, "MF" }, { 5, "CNAME" }, { 6, "SOA" },
	{ 7, "MB" }, { 8, "MG" }, { 9, "MR" }, { 10, "NULL" }, { 11, "WKS" }, { 12, "PTR" },
	{ 13, "HINFO" }, { 14, "MINFO" }, { 15, "MX" }, { 16, "TXT" }, { 17, "RP" },
	{ 18, "AFSDB" }, { 19, "X25" }, { 20, "ISDN" }, { 21, "RT" }, { 22, "NSAP" },
	{ 23, "NSAP-PTR" }, { 24, "SIG" }, { 25, "KEY" }, { 26, "PX" }, { 27, "GPOS" },
	{ 28, "AAAA" }, { 29, "LOC" }, { 30, "NXT" }, { 31, "EID" }, { 32, "NIMLOC" },
	{ 33, "SRV" }, { 34, "ATMA" }, { 35, "NAPTR" }, { 36, "KX" }, { 37, "CERT" },
	{ 38, "A6" }, { 39, "DNAME" }, { 40, "SINK" }, { 41, "OPT" }, { 42, "APL" },
	{ 43, "DS" }, { 44, "SSHFP" }, { 45, "IPSECKEY" }, { 46, "RRSIG" }, { 47, "NSEC" },
	{ 48, "DNSKEY" }, { 49, "DHCID" }, { 50, "NSEC3" }, { 51, "NSEC3PARAM" },
	{ 52, "TLSA" }, { 53, "SMIMEA" }, { 55, "HIP" }, { 56, "NINFO" }, { 57, "RKEY" },
	{ 58, "TALINK" }, { 59, "CDS" }, { 60, "CDNSKEY" }, { 61, "OPENPGPKEY" },
	{ 62, "CSYNC" }, { 63, "ZONEMD" }, { 64, "SVCB" }, { 65, "HTTPS" }, { 99, "SPF" },
	{ 100, "UINFO" }, { 101, "UID" }, { 102, "GID" }, { 103, "UNSPEC" }, { 104, "NID" },
	{ 105, "L32" }, { 106, "L64" }, { 107, "LP" }, { 108, "EUI48" }, { 109, "EUI64" },
	{ 249, "TKEY" }, { 250, "TSIG" }, { 251, "IXFR" }, { 252, "AXFR" }, { 253, "MAILB" },
	{ 254, "MAILA" }, { 255, "*" }, { 256, "URI" }, { 257, "CAA" }, { 32768, "TA" },
	{ 32769, "DLV" }, { 65281, "WINS" }, { 65282, "WINS-R" }, { 65422, "XPF" },
	{ 65521, "INTEGRITY" },
};

/* Zeek's DNS::base_errors; unknown ones are "rcode-N". */
static const struct name_entry rcodes[] = {
	{ 0, "NOERROR" }, { 1, "FORMERR" }, { 2, "SERVFAIL" }, { 3, "NXDOMAIN" },
	{ 4, "NOTIMP" }, { 5, "REFUSED" }, { 6, "YXDOMAIN" }, { 7, "YXRRSET" },
	{ 8, "NXRRSet" }, { 9, "NOTAUTH" }, { 10, "NOTZONE" }, { 11, "unassigned-11" },
	{ 12, "unassigned-12" }, { 13, "unassigned-13" }, { 14, "unassigned-14" },
	{ 15, "unassigned-15" }, { 16, "BADVERS" }, { 17, "BADKEY" }, { 18, "BADTIME" },
	{ 19, "BADMODE" }, { 20, "BADNAME" }, { 21, "BADALG" }, { 22, "BADTRUNC" },
	{ 23, "BADCOOKIE" }, { 3842, "BADSIG" },
};

/* Zeek's DNS::classes; unknown ones are "qclass-N". */
static const struct name_entry qclasses[] = {
	{ 1, "C_INTERNET" }, { 2, "C_CSNET" }, { 3, "C_CHAOS" }, { 4, "C_HESIOD" },
	{ 254, "C_NONE" }, { 255, "C_ANY" },
};

static const char *name_find(const struct name_entry *t, size_t n, uint16_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].name;
	return NULL;
}

#define NAME_OF(t, v) name_find(t, sizeof(t) / sizeof(t[0]), v)

/* Writes key: the table's name for v, or "<prefix>-v" as Zeek's &default. */
static void kv_code_name(struct jsonw *w, const char *key, const struct name_entry *t, size_t n,
			 const char *prefix, unsigned v)
{
	const char *name = name_find(t, n, (uint16_t)v);
	char tmp[32];

	if (name == NULL || v > 0xffff) {
		snprintf(tmp, sizeof(tmp), "%s-%u", prefix, v);
		name = tmp;
	}
	jsonw_kv_cstr(w, key, name);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Appends `len` label or text bytes with Zeek's escape for what is not
 * printable ASCII (\xNN, as its log writers print bytes). Returns the new
 * length; `out` has room for 4 * len more. */
static size_t escape_bytes(char *out, size_t at, const uint8_t *p, size_t len, bool lower)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (c < 0x20 || c >= 0x7f) {
			out[at++] = '\\';
			out[at++] = 'x';
			out[at++] = hex[c >> 4];
			out[at++] = hex[c & 15];
		} else {
			out[at++] = (char)(lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
	}
	return at;
}

/* ---- names (RFC 1035 3.1, 4.1.4) -------------------------------------- */

/* Decodes the name at `off` of message m (len bytes) into `out` (text,
 * labels joined by '.', the root as ""; DNS_NAME_TEXT_MAX bytes, not
 * NUL-terminated) and *out_len; *end gets the offset after the name's
 * bytes in place. RFC 1035 4.1.4 has pointers refer to "a prior
 * occurrence of the same name", so each pointer must land before the
 * start of the run of labels it ends (the name itself, or where the
 * previous pointer landed): targets strictly decrease and no loop is
 * possible. A chain is also cut at DNS_PTR_HOPS_MAX hops. Returns 0, or
 * -EBADMSG with *weird set. */
static int name_decode(const uint8_t *m, size_t len, size_t off, size_t *end, char *out,
		       size_t *out_len, bool lower, const char **weird)
{
	size_t pos = off, low = off, at = 0, wire = 1;
	unsigned hops = 0;
	bool jumped = false;

	for (;;) {
		uint8_t c;

		if (pos >= len) {
			*weird = "DNS_label_len_gt_pkt";
			return -EBADMSG;
		}
		c = m[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= len) {
				*weird = "DNS_label_len_gt_pkt";
				return -EBADMSG;
			}
			target = (size_t)(c & 0x3f) << 8 | m[pos + 1];
			if (!jumped)
				*end = pos + 2;
			if (target >= len) {
				*weird = "DNS_name_pointer_out_of_range";
				return -EBADMSG;
			}
			if (target >= pos) {
				*weird = "DNS_label_forward_compress_offset";
				return -EBADMSG;
			}
			if (target >= low || ++hops > DNS_PTR_HOPS_MAX) {
				*weird = "DNS_name_compression_loop";
				return -EBADMSG;
			}
			pos = low = target;
			jumped = true;
			continue;
		}
		if (c > 63) {   /* 0x40 and 0x80: RFC 6891's retired label types */
			*weird = "DNS_label_too_long";
			return -EBADMSG;
		}
		if (c == 0) {
			if (!jumped)
				*end = pos + 1;
			*out_len = at;
			return 0;
		}
		wire += (size_t)c + 1;
		if (wire > DNS_NAME_WIRE_MAX) {
			*weird = "DNS_NAME_too_long";
			return -EBADMSG;
		}
		if (c > len - pos - 1) {
			*weird = "DNS_label_len_gt_pkt";
			return -EBADMSG;
		}
		if (at > 0)
			out[at++] = '.';
		at = escape_bytes(out, at, m + pos + 1, c, lower);
		pos += (size_t)c + 1;
	}
}

/* ---- messages (RFC 1035 4.1) ------------------------------------------ */

struct dns_rr {
	size_t name_off;
	uint16_t type, cls;
	uint32_t ttl;
	size_t rdata_off;
	uint16_t rdlen;
};

/* Reads the RR at *off; *off moves past it. 0 or -EBADMSG (*weird set). */
static int rr_next(const uint8_t *m, size_t len, size_t *off, struct dns_rr *rr, char *scratch,
		   const char **weird)
{
	size_t end = 0, n;

	rr->name_off = *off;
	if (name_decode(m, len, *off, &end, scratch, &n, false, weird) < 0)
		return -EBADMSG;
	if (len - end < 10) {
		*weird = "DNS_truncated_ans_too_short";
		return -EBADMSG;
	}
	rr->type = rd16(m + end);
	rr->cls = rd16(m + end + 2);
	rr->ttl = rd32(m + end + 4);
	rr->rdlen = rd16(m + end + 8);
	rr->rdata_off = end + 10;
	if (rr->rdlen > len - rr->rdata_off) {
		*weird = "DNS_truncated_RR_rdlength_lt_len";
		return -EBADMSG;
	}
	*off = rr->rdata_off + rr->rdlen;
	return 0;
}

static void hdr_read(const uint8_t *p, struct dns_hdr *h)
{
	h->id = rd16(p);
	h->flags = rd16(p + 2);
	h->qd = rd16(p + 4);
	h->an = rd16(p + 6);
	h->ns = rd16(p + 8);
	h->ar = rd16(p + 10);
}

static unsigned hdr_opcode(const struct dns_hdr *h)
{
	return (h->flags >> 11) & 0xf;
}

/* First pass over a message. Returns 0 when the header and the question
 * are sound (RRs may have been cut short: m->an_valid says how many
 * answers to write), -EBADMSG otherwise. Weirds are counted on `s`. */
static int msg_parse(struct an_session *s, struct dns_msg *m,
		     const uint8_t *p, size_t len)
{
	const char *weird = NULL;
	size_t off = DNS_HDR_LEN, end = 0;
	struct dns_rr rr;
	unsigned i, total;

	memset(m, 0, offsetof(struct dns_msg, qname));
	m->p = p;
	m->len = len;
	if (len < DNS_HDR_LEN) {
		an_weird(s, "DNS_truncated_len_lt_hdr_len");
		return -EBADMSG;
	}
	hdr_read(p, &m->h);
	/* Only the first question is kept, as one record per message; Zeek
	 * keeps the last. The others are stepped over. */
	for (i = 0; i < m->h.qd; i++) {
		char *dst = i == 0 ? m->qname : dns_scratch.text;
		size_t n;

		if (name_decode(p, len, off, &end, dst, &n, true, &weird) < 0) {
			an_weird(s, weird);
			return -EBADMSG;
		}
		if (len - end < 4) {
			an_weird(s, "DNS_truncated_quest_too_short");
			return -EBADMSG;
		}
		if (i == 0) {
			m->has_q = true;
			m->qname_len = n;
			m->qtype = rd16(p + end);
			m->qclass = rd16(p + end + 2);
		}
		off = end + 4;
	}
	m->an_off = off;
	total = (unsigned)m->h.an + m->h.ns + m->h.ar;
	for (i = 0; i < total; i++) {
		if (off >= len) {
			an_weird(s, "DNS_truncated_ans_too_short");
			break;
		}
		if (rr_next(p, len, &off, &rr, dns_scratch.text, &weird) < 0) {
			an_weird(s, weird);
			break;
		}
		if (i < m->h.an) {
			m->an_valid++;
		} else if (rr.type == DNS_TYPE_OPT && i >= (unsigned)m->h.an + m->h.ns) {
			/* RFC 6891 6.1.2-6.1.3: CLASS is the UDP payload size,
			 * TTL holds EXTENDED-RCODE, VERSION and the DO bit. */
			if (m->edns) {
				an_weird(s, "DNS_multiple_OPT");
				continue;
			}
			m->edns = true;
			m->edns_udp_size = rr.cls;
			m->edns_ext_rcode = (uint8_t)(rr.ttl >> 24);
			m->edns_version = (uint8_t)(rr.ttl >> 16);
			m->edns_do = (rr.ttl & 0x8000) != 0;
		}
	}
	return 0;
}

/* ---- answers, as Zeek's dns_*_reply handlers summarise them ----------- */

/* The text of one answer RR into dns_scratch.text; returns its length, 0 when
 * Zeek logs no answer for the type (the RR then adds no TTL either), or
 * -EBADMSG for rdata that does not fit its type. */
static int answer_text(struct an_session *s, const struct dns_msg *m,
		       const struct dns_rr *rr)
{
	const uint8_t *d = m->p + rr->rdata_off;
	const char *weird = NULL;
	char *out = dns_scratch.text;
	size_t n = 0, end = 0, skip = 0, at;
	char owner[DNS_NAME_TEXT_MAX];

	switch (rr->type) {
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA: {
		size_t want = rr->type == DNS_TYPE_A ? 4 : 16;

		if (rr->rdlen != want) {
			dns_weird(s, "DNS_RR_bad_length");
			return -EBADMSG;
		}
		if (inet_ntop(want == 4 ? AF_INET : AF_INET6, d, out, DNS_ANSWER_TEXT_MAX) == NULL)
			return -EBADMSG;
		return (int)strlen(out);
	}
	case DNS_TYPE_MX:
		skip = 2;              /* preference; Zeek logs the exchange */
		goto name;
	case DNS_TYPE_SRV:
		skip = 6;              /* priority, weight, port; Zeek logs the target */
		goto name;
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
	case DNS_TYPE_DNAME:
	case DNS_TYPE_SOA:     /* Zeek logs SOA's mname */
	name:
		if (rr->rdlen < skip + 1)
			goto bad_len;
		/* Names in rdata may point anywhere before them in the message. */
		if (name_decode(m->p, rr->rdata_off + rr->rdlen, rr->rdata_off + skip, &end, out,
				&n, false, &weird) < 0) {
			dns_weird(s, weird);
			return -EBADMSG;
		}
		return (int)n;
	case DNS_TYPE_TXT:
	case DNS_TYPE_SPF: {
		/* "TXT <len> <text>" per character-string, joined by spaces.
		 * A 65535-byte rdata escapes to at most 4x plus the prefixes,
		 * more than dns_scratch.text holds: stop at its size, counted. */
		size_t pos = 0;
		const char *tag = rr->type == DNS_TYPE_TXT ? "TXT" : "SPF";

		while (pos < rr->rdlen) {
			size_t sl = d[pos];
			int k;

			if (sl > rr->rdlen - pos - 1)
				goto bad_len;
			if (n + 16 + 4 * sl > DNS_ANSWER_TEXT_MAX) {
				dns_weird(s, "DNS_TXT_truncated_in_log");
				break;
			}
			k = snprintf(out + n, DNS_ANSWER_TEXT_MAX - n, "%s%s %zu ", n ? " " : "", tag, sl);
			n += (size_t)k;
			n = escape_bytes(out, n, d + pos + 1, sl, false);
			pos += sl + 1;
		}
		return (int)n;
	}
	case DNS_TYPE_RRSIG:
		/* type covered(2) alg(1) labels(1) orig TTL(4) expiration(4)
		 * inception(4) key tag(2), then the signer's name. */
		if (rr->rdlen < 19)
			goto bad_len;
		if (name_decode(m->p, rr->rdata_off + rr->rdlen, rr->rdata_off + 18, &end, owner, &n,
				false, &weird) < 0) {
			dns_weird(s, weird);
			return -EBADMSG;
		}
		at = (size_t)snprintf(out, DNS_ANSWER_TEXT_MAX, "RRSIG %u ", rd16(d));
		if (n == 0) {
			memcpy(out + at, "<Root>", 6);
			return (int)(at + 6);
		}
		memcpy(out + at, owner, n < DNS_ANSWER_TEXT_MAX - at ? n : DNS_ANSWER_TEXT_MAX - at);
		return (int)(at + n < DNS_ANSWER_TEXT_MAX ? at + n : DNS_ANSWER_TEXT_MAX);
	case DNS_TYPE_DNSKEY:
		if (rr->rdlen < 4)
			goto bad_len;
		return snprintf(out, DNS_ANSWER_TEXT_MAX, "DNSKEY %u", d[3]);
	case DNS_TYPE_DS:
		if (rr->rdlen < 4)
			goto bad_len;
		return snprintf(out, DNS_ANSWER_TEXT_MAX, "DS %u %u", d[2], d[3]);
	case DNS_TYPE_NSEC: {
		size_t on = 0;

		if (name_decode(m->p, m->len, rr->name_off, &end, owner, &on, false, &weird) < 0 ||
		    name_decode(m->p, rr->rdata_off + rr->rdlen, rr->rdata_off, &end, out + 0, &n,
				false, &weird) < 0) {
			dns_weird(s, weird ? weird : "DNS_RR_bad_length");
			return -EBADMSG;
		}
		/* "NSEC <owner> <next>": both names fit twice over. */
		if (5 + on + 1 + n > DNS_ANSWER_TEXT_MAX)
			return -EBADMSG;
		memmove(out + 5 + on + 1, out, n);
		memcpy(out, "NSEC ", 5);
		memcpy(out + 5, owner, on);
		out[5 + on] = ' ';
		return (int)(5 + on + 1 + n);
	}
	case DNS_TYPE_NSEC3:
		return snprintf(out, DNS_ANSWER_TEXT_MAX, "NSEC3");
	case DNS_TYPE_NSEC3PARAM:
		return snprintf(out, DNS_ANSWER_TEXT_MAX, "NSEC3PARAM");
	case DNS_TYPE_BINDS:
		return snprintf(out, DNS_ANSWER_TEXT_MAX, "BIND9 signing signal");
	case DNS_TYPE_SSHFP: {
		size_t i;

		if (rr->rdlen < 2)
			goto bad_len;
		n = (size_t)snprintf(out, DNS_ANSWER_TEXT_MAX, "SSHFP: ");
		for (i = 2; i < rr->rdlen && n + 3 <= DNS_ANSWER_TEXT_MAX; i++)
			n += (size_t)snprintf(out + n, DNS_ANSWER_TEXT_MAX - n, "%02x", d[i]);
		return (int)n;
	}
	case DNS_TYPE_LOC:
		if (rr->rdlen < 4)
			goto bad_len;
		return snprintf(out, DNS_ANSWER_TEXT_MAX, "LOC:  %u %u %u", d[1], d[2], d[3]);
	/* Zeek parses these but base/protocols/dns/main.zeek logs nothing. */
	case DNS_TYPE_WKS:
	case DNS_TYPE_HINFO:
	case DNS_TYPE_OPT:
	case DNS_TYPE_TSIG:
	case DNS_TYPE_CAA:
	case DNS_TYPE_SVCB:
	case DNS_TYPE_HTTPS:
		return 0;
	default:
		return snprintf(out, DNS_ANSWER_TEXT_MAX, "<unknown type=%u>", rr->type);
	}
bad_len:
	dns_weird(s, "DNS_RR_bad_length");
	return -EBADMSG;
}

/* Writes "answers" and "TTLs" for the answer section of reply m, if any
 * answer has a text. Two walks (one per array) over bytes already checked
 * by msg_parse; answer_text's weirds are counted on the first walk only. */
static void write_answers(struct an_session *s, struct jsonw *w,
			  const struct dns_msg *m)
{
	struct dns_rr rr;
	const char *weird;
	size_t off;
	unsigned i, n = 0;
	int pass, k;

	for (pass = 0; pass < 2; pass++) {
		off = m->an_off;
		for (i = 0; i < m->an_valid; i++) {
			if (rr_next(m->p, m->len, &off, &rr, dns_scratch.text, &weird) < 0)
				break;   /* cannot happen: msg_parse walked the same bytes */
			if (pass == 0) {
				k = answer_text(s, m, &rr);
				if (k <= 0)
					continue;
				if (n++ == 0) {
					jsonw_key(w, "answers");
					jsonw_array_open(w);
				}
				jsonw_string(w, dns_scratch.text, (size_t)k);
			} else {
				/* The same verdict as the first walk; its
				 * weirds are not counted twice. */
				k = answer_text(NULL, m, &rr);
				if (k <= 0)
					continue;
				if (n++ == 0) {
					jsonw_key(w, "TTLs");
					jsonw_array_open(w);
				}
				jsonw_uint(w, rr.ttl);
			}
		}
		if (n > 0)
			jsonw_array_close(w);
		n = 0;
	}
}

/* ---- records ----------------------------------------------------------- */

/* Seconds with six decimals, exact (as conn's duration). */
static void kv_seconds(struct jsonw *w, const char *key, uint64_t us)
{
	jsonw_key(w, key);
	jsonw_uint(w, us / 1000000);
	if (w->err == 0 && buf_printf(w->out, ".%06u", (unsigned)(us % 1000000)) < 0)
		w->err = -ENOMEM;
}

static void kv_edns(struct jsonw *w, uint16_t udp_size, bool dobit, uint8_t version)
{
	jsonw_kv_uint(w, "edns_udp_size", udp_size);
	jsonw_kv_bool(w, "edns_do", dobit);
	jsonw_kv_uint(w, "edns_version", version);
}

/* One dns record: the query `q` (or NULL), the reply `r` (or NULL), at
 * least one of them. */
static void record_write(struct an_session *s, const struct dns_pending *q,
			 const struct dns_msg *r, uint64_t reply_ts_us)
{
	const struct conn *c = an_conn(s);
	uint64_t ts = q != NULL ? q->ts_us : reply_ts_us;
	/* Query-side fields come from the query when seen (as Zeek's
	 * dns_request), else from the reply's copy of the question. */
	uint16_t qflags = q != NULL ? q->flags : r->h.flags;
	bool has_q = q != NULL ? q->has_q : r->has_q;
	const char *qname = q != NULL ? q->qname : r->qname;
	size_t qname_len = q != NULL ? q->qname_len : r->qname_len;
	uint16_t qtype = q != NULL ? q->qtype : r->qtype;
	uint16_t qclass = q != NULL ? q->qclass : r->qclass;
	struct jsonw *w;

	w = an_record_begin(s, "dns", ts);
	if (w == NULL)
		return;
	jsonw_kv_ascii(w, "proto", c->proto == IPPROTO_TCP ? "tcp" : "udp");
	jsonw_kv_uint(w, "trans_id", q != NULL ? q->id : r->h.id);
	if (q != NULL && r != NULL)
		kv_seconds(w, "rtt", reply_ts_us > q->ts_us ? reply_ts_us - q->ts_us : 0);
	if (has_q) {
		jsonw_kv_str(w, "query", qname, qname_len);
		jsonw_kv_uint(w, "qclass", qclass);
		kv_code_name(w, "qclass_name", qclasses, sizeof(qclasses) / sizeof(qclasses[0]),
			     "qclass", qclass);
		jsonw_kv_uint(w, "qtype", qtype);
		kv_code_name(w, "qtype_name", qtypes, sizeof(qtypes) / sizeof(qtypes[0]), "query",
			     qtype);
	}
	if (r != NULL) {
		/* RFC 6891 6.1.3: the OPT RR's upper 8 bits make a 12-bit rcode. */
		unsigned rcode = (unsigned)r->edns_ext_rcode << 4 | (r->h.flags & 0xf);

		jsonw_kv_uint(w, "rcode", rcode);
		kv_code_name(w, "rcode_name", rcodes, sizeof(rcodes) / sizeof(rcodes[0]), "rcode",
			     rcode);
	}
	jsonw_kv_bool(w, "AA", r != NULL && (r->h.flags & DNS_FLAG_AA));
	jsonw_kv_bool(w, "TC", (qflags & DNS_FLAG_TC) || (r != NULL && (r->h.flags & DNS_FLAG_TC)));
	jsonw_kv_bool(w, "RD", qflags & DNS_FLAG_RD);
	jsonw_kv_bool(w, "RA", r != NULL && (r->h.flags & DNS_FLAG_RA));
	jsonw_kv_uint(w, "Z", (qflags >> 4) & 7);
	if (r != NULL)
		write_answers(s, w, r);
	/* Zeek: dns_rejected for a reply with no RR in any section, and
	 * main.zeek's rcode != 0 with no question. */
	jsonw_kv_bool(w, "rejected",
		      r != NULL && ((r->h.qd > 0 && r->h.an == 0 && r->h.ns == 0 && r->h.ar == 0) ||
				    ((r->h.flags & 0xf) != 0 && r->h.qd == 0)));
	if (q != NULL && q->edns)
		kv_edns(w, q->edns_udp_size, q->edns_do, q->edns_version);
	else if (r != NULL && r->edns)
		kv_edns(w, r->edns_udp_size, r->edns_do, r->edns_version);
	an_record_end(s, SPOOL_P2);
}

/* ---- matching queries and replies -------------------------------------- */

static void pending_free(struct an_session *s, struct dns_pending *p)
{
	an_free(s, p, sizeof(*p) + p->qname_len);
}

static void pending_remove(struct an_session *s, struct dns_state *st, unsigned i)
{
	pending_free(s, st->pending[i]);
	memmove(&st->pending[i], &st->pending[i + 1],
		(st->npending - i - 1) * sizeof(st->pending[0]));
	st->npending--;
}

static void pending_fill(struct dns_pending *p, const struct dns_msg *m, uint64_t ts_us)
{
	p->ts_us = ts_us;
	p->id = m->h.id;
	p->flags = m->h.flags;
	p->has_q = m->has_q;
	p->qtype = m->qtype;
	p->qclass = m->qclass;
	p->edns = m->edns;
	p->edns_do = m->edns_do;
	p->edns_udp_size = m->edns_udp_size;
	p->edns_version = m->edns_version;
	p->qname_len = (uint16_t)m->qname_len;
	memcpy(p->qname, m->qname, m->qname_len);
}

static void on_query(struct an_session *s, struct dns_state *st, const struct dns_msg *m,
		     uint64_t ts_us)
{
	struct dns_pending *p;

	if (st->npending == DNS_PENDING_MAX) {
		/* Written now without its reply, as Zeek does past
		 * max_pending_msgs: the oldest is the least likely to be
		 * answered. */
		an_weird(s, "DNS_pending_queries_overflow");
		record_write(s, st->pending[0], NULL, 0);
		pending_remove(s, st, 0);
	}
	p = an_alloc(s, sizeof(*p) + m->qname_len);
	if (p == NULL) {
		/* Log the query now, unanswered, rather than lose it. */
		union {
			struct dns_pending p;
			char b[sizeof(struct dns_pending) + DNS_NAME_TEXT_MAX];
		} tmp;

		an_weird(s, "DNS_pending_query_no_memory");
		pending_fill(&tmp.p, m, ts_us);
		record_write(s, &tmp.p, NULL, 0);
		return;
	}
	pending_fill(p, m, ts_us);
	st->pending[st->npending++] = p;
}

static bool pending_matches(const struct dns_pending *p, const struct dns_msg *r)
{
	if (p->id != r->h.id)
		return false;
	if (!r->has_q || !p->has_q)
		return true;
	return p->qtype == r->qtype && p->qclass == r->qclass && p->qname_len == r->qname_len &&
	       memcmp(p->qname, r->qname, r->qname_len) == 0;
}

static void on_reply(struct an_session *s, struct dns_state *st, const struct dns_msg *m,
		     uint64_t ts_us)
{
	unsigned i;

	for (i = 0; i < st->npending; i++) {
		if (pending_matches(st->pending[i], m)) {
			record_write(s, st->pending[i], m, ts_us);
			pending_remove(s, st, i);
			return;
		}
	}
	record_write(s, NULL, m, ts_us);
}

/* One whole message from either transport. Returns 0, or -EBADMSG when
 * the header or question did not parse. */
static int on_message(struct an_session *s, struct dns_state *st, const uint8_t *p, size_t len,
		      uint64_t ts_us)
{
	struct dns_msg *m = &dns_scratch.msg;

	if (msg_parse(s, m, p, len) < 0)
		return -EBADMSG;
	/* Like Zeek, only standard queries (opcode 0) are logged. */
	if (hdr_opcode(&m->h) != 0)
		return 0;
	if (m->h.flags & DNS_FLAG_QR)
		on_reply(s, st, m, ts_us);
	else
		on_query(s, st, m, ts_us);
	return 0;
}

/* ---- detection --------------------------------------------------------- */

/* Whether the first `avail` bytes of a message of `len` bytes (avail <=
 * len: the rest was not seen yet) look like DNS: a sane header and a
 * first question that parses. Returns YES, NO, or MAYBE when the bytes
 * end before the question does. */
static enum an_probe_result msg_plausible(const uint8_t *p, size_t avail, size_t len)
{
	struct dns_hdr h;
	const char *weird;
	char text[DNS_NAME_TEXT_MAX];
	size_t end = 0, n;
	unsigned op, qc;

	if (len < DNS_HDR_LEN + 5)
		return AN_PROBE_NO;
	if (avail < DNS_HDR_LEN)
		return AN_PROBE_MAYBE;
	hdr_read(p, &h);
	op = hdr_opcode(&h);
	/* Opcodes in use: 0 query, 1 iquery, 2 status, 4 notify, 5 update;
	 * one question, a handful at most; RR counts that fit the length. */
	if (op > 5 || op == 3 || h.qd == 0 || h.qd > 4)
		return AN_PROBE_NO;
	if (!(h.flags & DNS_FLAG_QR) && ((h.flags & 0xf) != 0 || h.an > 16))
		return AN_PROBE_NO;
	if ((size_t)h.qd * 5 + ((size_t)h.an + h.ns + h.ar) * 11 > len - DNS_HDR_LEN)
		return AN_PROBE_NO;
	if (name_decode(p, avail, DNS_HDR_LEN, &end, text, &n, false, &weird) < 0)
		return avail < len && strcmp(weird, "DNS_label_len_gt_pkt") == 0 ? AN_PROBE_MAYBE
										 : AN_PROBE_NO;
	if (avail - end < 4)
		return avail < len ? AN_PROBE_MAYBE : AN_PROBE_NO;
	/* QCLASS: the registered ones; mDNS sets the top bit. */
	qc = rd16(p + end + 2) & 0x7fff;
	if (qc != 1 && qc != 3 && qc != 4 && qc != 254 && qc != 255)
		return AN_PROBE_NO;
	return AN_PROBE_YES;
}

static enum an_probe_result side_probe(const uint8_t *p, size_t len, bool tcp)
{
	size_t mlen;

	if (len == 0)
		return AN_PROBE_MAYBE;
	/* UDP: the first datagram; a view that filled the probe buffer may
	 * have been cut, so its counts are not held against its length. */
	if (!tcp)
		return msg_plausible(p, len, len >= AN_PROBE_MAX ? DNS_TCP_MSG_MAX : len);
	if (len < 2)
		return AN_PROBE_MAYBE;
	mlen = rd16(p);
	return msg_plausible(p + 2, len - 2 < mlen ? len - 2 : mlen, mlen);
}

static enum an_probe_result probe(const struct an_probe_view *v)
{
	bool tcp = v->proto == IPPROTO_TCP;
	enum an_probe_result o = side_probe(v->orig, v->orig_len, tcp);
	enum an_probe_result r = side_probe(v->resp, v->resp_len, tcp);

	if (o == AN_PROBE_NO || r == AN_PROBE_NO)
		return AN_PROBE_NO;
	if (o == AN_PROBE_YES || r == AN_PROBE_YES)
		return AN_PROBE_YES;
	return AN_PROBE_MAYBE;
}

/* ---- TCP framing (RFC 1035 4.2.2) -------------------------------------- */

static void tcp_dir_reset(struct an_session *s, struct dns_tcp_dir *t)
{
	if (t->buf != NULL)
		an_free(s, t->buf, t->want);
	t->buf = NULL;
	t->nlenb = 0;
	t->want = t->have = t->skip = 0;
}

/* A whole framed message. After a gap (RESYNC) the first message decides:
 * if it does not look like DNS, the framing is lost for good. */
static void tcp_message(struct an_session *s, struct dns_state *st, struct dns_tcp_dir *t,
			const uint8_t *p, size_t len, uint64_t ts_us)
{
	if (t->mode == DNS_TCP_RESYNC) {
		if (msg_plausible(p, len, len) != AN_PROBE_YES) {
			an_weird(s, "DNS_tcp_resync_failed");
			t->mode = DNS_TCP_DEAD;
			return;
		}
		t->mode = DNS_TCP_SYNC;
	}
	on_message(s, st, p, len, ts_us);
}

static void tcp_data(struct an_session *s, struct dns_state *st, struct dns_tcp_dir *t,
		     const uint8_t *d, size_t len, uint64_t ts_us)
{
	while (len > 0 && t->mode != DNS_TCP_DEAD) {
		size_t n;

		if (t->skip > 0) {
			n = len < t->skip ? len : t->skip;
			t->skip -= (uint32_t)n;
			d += n;
			len -= n;
			continue;
		}
		if (t->want == 0) {
			t->lenb[t->nlenb++] = *d++;
			len--;
			if (t->nlenb < 2)
				continue;
			t->nlenb = 0;
			t->want = rd16(t->lenb);
			if (t->want < DNS_HDR_LEN) {
				an_weird(s, "DNS_truncated_len_lt_hdr_len");
				if (t->mode == DNS_TCP_RESYNC) {
					an_weird(s, "DNS_tcp_resync_failed");
					t->mode = DNS_TCP_DEAD;
				}
				t->skip = t->want;
				t->want = 0;
			}
			continue;
		}
		if (t->buf == NULL && len >= t->want) {
			/* The whole message is here: parse it in place. */
			n = t->want;
			t->want = 0;
			tcp_message(s, st, t, d, n, ts_us);
			d += n;
			len -= n;
			continue;
		}
		if (t->buf == NULL) {
			t->buf = an_alloc(s, t->want);
			t->have = 0;
			if (t->buf == NULL) {
				an_weird(s, "DNS_tcp_buffer_no_memory");
				t->skip = t->want;
				t->want = 0;
				continue;
			}
		}
		n = t->want - t->have;
		if (n > len)
			n = len;
		memcpy(t->buf + t->have, d, n);
		t->have += (uint32_t)n;
		d += n;
		len -= n;
		if (t->have == t->want) {
			uint8_t *buf = t->buf;
			uint32_t mlen = t->want;

			t->buf = NULL;
			t->want = t->have = 0;
			tcp_message(s, st, t, buf, mlen, ts_us);
			an_free(s, buf, mlen);
		}
	}
}

/* ---- the analyzer ------------------------------------------------------ */

static int dns_init(void *vst, struct an_session *s)
{
	(void)vst;
	(void)s;
	return 0;
}

static void dns_data(void *vst, struct an_session *s, bool is_orig, const uint8_t *d, size_t len,
		     uint64_t ts_us)
{
	struct dns_state *st = vst;

	if (an_conn(s)->proto == IPPROTO_TCP)
		tcp_data(s, st, &st->tcp[is_orig], d, len, ts_us);
	else
		on_message(s, st, d, len, ts_us);   /* one datagram, one message */
}

/* A hole in one TCP direction: the message being framed is lost, and the
 * next byte after the hole is taken for a length prefix. That is right
 * when the hole ends on a segment that starts a message (the common case:
 * a lost segment of a reply, then the next reply); when it is not, the
 * first message framed must pass the probe's checks, or the direction is
 * given up (DNS_TCP_DEAD) rather than parse garbage for the rest of the
 * flow. */
static void dns_gap(void *vst, struct an_session *s, bool is_orig, uint64_t len)
{
	struct dns_state *st = vst;
	struct dns_tcp_dir *t = &st->tcp[is_orig];

	(void)len;
	if (t->mode == DNS_TCP_DEAD)
		return;
	if (t->want != 0 || t->nlenb != 0 || t->skip != 0)
		an_weird(s, "DNS_tcp_gap_in_message");
	tcp_dir_reset(s, t);
	t->mode = DNS_TCP_RESYNC;
}

static void dns_end(void *vst, struct an_session *s, uint64_t ts_us)
{
	struct dns_state *st = vst;

	(void)ts_us;
	while (st->npending > 0) {
		record_write(s, st->pending[0], NULL, 0);
		pending_remove(s, st, 0);
	}
	tcp_dir_reset(s, &st->tcp[0]);
	tcp_dir_reset(s, &st->tcp[1]);
}

const struct analyzer an_dns = {
	.name = "dns",
	.transports = AN_T_UDP | AN_T_TCP,
	.state_size = sizeof(struct dns_state),
	.probe = probe,
	.init = dns_init,
	.data = dns_data,
	.gap = dns_gap,
	.end = dns_end,
};
