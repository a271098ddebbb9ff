/* snmp_ber: a strict BER decoder and a small encoder for SNMP (ITU-T X.690).
 *
 * The decoder reads untrusted datagrams. It is a cursor over one level of
 * nesting: snmp_ber_next() reads one TLV (tag, length, value) and moves
 * past it; snmp_ber_enter() opens a constructed TLV as a child cursor. It
 * allocates nothing and never reads outside [pos, end). What it accepts:
 *   - single-octet tags only (SNMP has no tag above 30; the multi-octet form
 *     is rejected);
 *   - definite lengths, short form or long form with 1..4 length octets
 *     (redundant leading zero octets are tolerated, X.690 8.1.3.5 does not
 *     forbid them in BER); the indefinite form (0x80) and lengths beyond the
 *     enclosing TLV are rejected;
 *   - a nesting depth of at most SNMP_BER_MAX_DEPTH constructed levels;
 *   - callers check snmp_ber_at_end() to reject trailing garbage.
 *
 * Offsets: every cursor of one decode shares the outermost buffer `base`,
 * so a TLV's `off` is its value's offset in the datagram. USM needs that
 * for msgAuthenticationParameters (RFC 3414 3.2 step 6).
 *
 * Errors are -EBADMSG, with a reason written to the cursor's diagnostic
 * sink (if any) as a static string and an offset, for reject details.
 *
 * The encoder writes backwards into a caller-owned array (the usual way to
 * encode BER without computing lengths first): content is prepended, then
 * its header. It is used for the Response and Report PDUs we send back.
 */
#ifndef WARD_SNMP_BER_H
#define WARD_SNMP_BER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tags used by SNMP (RFC 1157, RFC 2578 section 7.1, RFC 3416 section 3). */
enum {
	SNMP_TAG_INTEGER = 0x02,
	SNMP_TAG_OCTET_STRING = 0x04,
	SNMP_TAG_NULL = 0x05,
	SNMP_TAG_OID = 0x06,
	SNMP_TAG_SEQUENCE = 0x30,
	SNMP_TAG_IPADDRESS = 0x40,          /* [APPLICATION 0] */
	SNMP_TAG_COUNTER32 = 0x41,          /* [APPLICATION 1] */
	SNMP_TAG_GAUGE32 = 0x42,            /* [APPLICATION 2], also Unsigned32 */
	SNMP_TAG_TIMETICKS = 0x43,          /* [APPLICATION 3] */
	SNMP_TAG_OPAQUE = 0x44,             /* [APPLICATION 4] */
	SNMP_TAG_COUNTER64 = 0x46,          /* [APPLICATION 6] */
	SNMP_TAG_NO_SUCH_OBJECT = 0x80,     /* [0] IMPLICIT NULL */
	SNMP_TAG_NO_SUCH_INSTANCE = 0x81,   /* [1] IMPLICIT NULL */
	SNMP_TAG_END_OF_MIB_VIEW = 0x82,    /* [2] IMPLICIT NULL */
	SNMP_PDU_GET = 0xa0,
	SNMP_PDU_GETNEXT = 0xa1,
	SNMP_PDU_RESPONSE = 0xa2,
	SNMP_PDU_SET = 0xa3,
	SNMP_PDU_TRAP_V1 = 0xa4,
	SNMP_PDU_GETBULK = 0xa5,
	SNMP_PDU_INFORM = 0xa6,
	SNMP_PDU_TRAP_V2 = 0xa7,
	SNMP_PDU_REPORT = 0xa8,
};

/* SNMP messages nest at most 5 levels (v3 Message > ScopedPDU > PDU >
 * VarBindList > VarBind); the cap leaves room and bounds any caller. */
#define SNMP_BER_MAX_DEPTH 8
/* RFC 2578 section 3.5: at most 128 sub-identifiers, each <= 2^32-1. Two
 * more fit for the RFC 3584 v1 conversion (enterprise.0.specific-trap). */
#define SNMP_OID_MAX_ARCS 128

struct snmp_ber_diag {
	const char *what;       /* static text; NULL until an error */
	size_t off;             /* offset in base where it was found */
};

struct snmp_ber {
	const uint8_t *base;    /* the outermost buffer (not owned) */
	size_t pos, end;        /* the unread range, as offsets into base */
	unsigned depth;
	struct snmp_ber_diag *diag;   /* may be NULL */
};

struct snmp_tlv {
	uint8_t tag;
	size_t start;           /* offset of the tag octet in base */
	const uint8_t *v;       /* the value: base + off */
	size_t off;             /* offset of the value in base */
	size_t len;             /* value length in bytes */
};

struct snmp_oid {
	uint32_t n;
	uint32_t arc[SNMP_OID_MAX_ARCS + 2];
};

/* A cursor over `len` bytes of `p` (the whole of base). */
void snmp_ber_init(struct snmp_ber *c, const uint8_t *p, size_t len, struct snmp_ber_diag *d);
/* A cursor over base[off, off + len): used to parse an OCTET STRING that
 * holds BER (msgSecurityParameters) while keeping datagram offsets.
 * The caller guarantees the range lies inside base. */
void snmp_ber_init_range(struct snmp_ber *c, const uint8_t *base, size_t off, size_t len,
			 unsigned depth, struct snmp_ber_diag *d);

/* Reads the next TLV into *t and moves past it. 0, or -EBADMSG (also at
 * the end of the cursor: a missing element is malformed). */
int snmp_ber_next(struct snmp_ber *c, struct snmp_tlv *t);
/* snmp_ber_next, then checks the tag. 0 or -EBADMSG. */
int snmp_ber_expect(struct snmp_ber *c, uint8_t tag, struct snmp_tlv *t);
/* Opens constructed TLV t (read from c) as child cursor *in, one level
 * deeper. 0, or -EBADMSG for a primitive tag or past SNMP_BER_MAX_DEPTH. */
int snmp_ber_enter(const struct snmp_ber *c, const struct snmp_tlv *t, struct snmp_ber *in);
static inline bool snmp_ber_at_end(const struct snmp_ber *c) { return c->pos >= c->end; }
/* Records "trailing bytes" at the cursor unless it is at its end.
 * 0 or -EBADMSG. */
int snmp_ber_done(struct snmp_ber *c);
/* Records an error found by the caller (e.g. a value out of range) at
 * offset `off`. Returns -EBADMSG for convenience. */
int snmp_ber_fail(const struct snmp_ber *c, size_t off, const char *what);

/* INTEGER content (X.690 8.3): 1..8 octets, two's complement. A
 * redundant leading octet (not minimal, 8.3.2) is accepted: it changes
 * nothing about the value and some agents send it. 0 or -EBADMSG. */
int snmp_ber_int(const struct snmp_ber *c, const struct snmp_tlv *t, int64_t *v);
/* Unsigned application types: the content is an INTEGER that must be
 * >= 0 and <= max (UINT32_MAX for Counter32/Gauge32/TimeTicks,
 * UINT64_MAX for Counter64, whose largest values take 9 octets, the first
 * a zero). Leading zero octets are skipped, so redundant ones pass; a
 * negative encoding (some agents send 2^32-1 as ff ff ff ff) is rejected.
 * 0 or -EBADMSG. */
int snmp_ber_uint(const struct snmp_ber *c, const struct snmp_tlv *t, uint64_t max, uint64_t *v);
/* OBJECT IDENTIFIER content (X.690 8.19): at least one subidentifier,
 * base-128 with no 0x80 leading octet, the last octet complete, the first
 * subidentifier split per 8.19.4 (arcs 0 and 1 take a second arc < 40),
 * at most SNMP_OID_MAX_ARCS arcs, each <= 2^32-1. 0 or -EBADMSG. */
int snmp_ber_oid(const struct snmp_ber *c, const struct snmp_tlv *t, struct snmp_oid *o);

/* ---- OIDs ------------------------------------------------------------- */

/* Longest dotted form: 130 arcs of up to 10 digits plus dots. */
#define SNMP_OID_STR_MAX (130 * 11 + 1)
/* Writes o as "1.3.6.1..." into dst (room for SNMP_OID_STR_MAX bytes),
 * NUL-terminated; returns the length. */
size_t snmp_oid_format(const struct snmp_oid *o, char *dst);
/* Writes the decimal digits of v at dst (room for 10 bytes, no NUL) and
 * returns their count. Shared by the OID and record writers, which avoid
 * printf on their per-record paths. */
size_t snmp__put_dec(char *dst, uint32_t v);
/* Same for arcs[from, o->n) with a leading '.', for name suffixes. */
size_t snmp_oid_format_suffix(const struct snmp_oid *o, uint32_t from, char *dst);
/* Parses dotted text ("1.3.6.1", an optional leading '.'): at least two
 * arcs, each fitting 32 bits, first arc 0..2 (second < 40 under 0 and 1),
 * at most SNMP_OID_MAX_ARCS. 0 or -EINVAL. */
int snmp_oid_parse(const char *s, size_t len, struct snmp_oid *o);
bool snmp_oid_equal(const struct snmp_oid *a, const uint32_t *arcs, uint32_t n);

/* ---- encoder ---------------------------------------------------------- */

struct snmp_benc {
	uint8_t *buf;           /* caller-owned */
	size_t pos;             /* the encoding is buf[pos, cap) */
	size_t cap;
	int err;                /* sticky -ENOSPC */
};

void snmp_benc_init(struct snmp_benc *e, uint8_t *buf, size_t cap);
/* Current start: content prepended since a mark is mark - pos bytes. */
static inline size_t snmp_benc_mark(const struct snmp_benc *e) { return e->pos; }
void snmp_benc_raw(struct snmp_benc *e, const void *p, size_t n);
/* Prepends a header for `len` content bytes (minimal length form). */
void snmp_benc_hdr(struct snmp_benc *e, uint8_t tag, size_t len);
/* Prepends the header of everything added since `mark`. */
static inline void snmp_benc_wrap(struct snmp_benc *e, uint8_t tag, size_t mark)
{
	snmp_benc_hdr(e, tag, mark - e->pos);
}
void snmp_benc_int(struct snmp_benc *e, uint8_t tag, int64_t v);
void snmp_benc_uint(struct snmp_benc *e, uint8_t tag, uint64_t v);
void snmp_benc_octets(struct snmp_benc *e, uint8_t tag, const void *p, size_t n);
void snmp_benc_oid(struct snmp_benc *e, const uint32_t *arcs, uint32_t n);
/* The encoding, or -ENOSPC if it did not fit. */
int snmp_benc_finish(const struct snmp_benc *e, const uint8_t **p, size_t *len);

#endif
