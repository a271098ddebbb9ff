/* snmp_ber: strict BER decoding and prepend-style encoding (X.690). */
#include "snmp_ber.h"

#include <errno.h>
#include <string.h>

static int fail(struct snmp_ber_diag *d, size_t off, const char *what)
{
	if (d != NULL && d->what == NULL) {
		d->what = what;
		d->off = off;
	}
	return -EBADMSG;
}

void snmp_ber_init(struct snmp_ber *c, const uint8_t *p, size_t len, struct snmp_ber_diag *d)
{
	snmp_ber_init_range(c, p, 0, len, 0, d);
}

void snmp_ber_init_range(struct snmp_ber *c, const uint8_t *base, size_t off, size_t len,
			 unsigned depth, struct snmp_ber_diag *d)
{
	c->base = base;
	c->pos = off;
	c->end = off + len;
	c->depth = depth;
	c->diag = d;
}

int snmp_ber_fail(const struct snmp_ber *c, size_t off, const char *what)
{
	return fail(c->diag, off, what);
}

int snmp_ber_next(struct snmp_ber *c, struct snmp_tlv *t)
{
	size_t p = c->pos, avail, len;
	uint8_t tag, l;

	if (p >= c->end)
		return fail(c->diag, p, "missing element");
	avail = c->end - p;
	if (avail < 2)
		return fail(c->diag, p, "truncated header");
	tag = c->base[p];
	if ((tag & 0x1f) == 0x1f)
		return fail(c->diag, p, "multi-octet tag");
	l = c->base[p + 1];
	p += 2;
	avail -= 2;
	if (l < 0x80) {
		len = l;
	} else if (l == 0x80) {
		return fail(c->diag, p - 1, "indefinite length");
	} else {
		unsigned n = l & 0x7f;

		/* Four length octets already allow 4 GiB, far beyond a UDP
		 * datagram; more would only serve to overflow size_t. */
		if (n > 4)
			return fail(c->diag, p - 1, "length of length over 4 octets");
		if (avail < n)
			return fail(c->diag, p - 1, "truncated length");
		len = 0;
		for (unsigned i = 0; i < n; i++)
			len = (len << 8) | c->base[p + i];
		p += n;
		avail -= n;
	}
	if (len > avail)
		return fail(c->diag, p, "length beyond the enclosing data");
	t->tag = tag;
	t->start = c->pos;
	t->off = p;
	t->len = len;
	t->v = c->base + p;
	c->pos = p + len;
	return 0;
}

int snmp_ber_expect(struct snmp_ber *c, uint8_t tag, struct snmp_tlv *t)
{
	size_t at = c->pos;
	int rc = snmp_ber_next(c, t);

	if (rc < 0)
		return rc;
	if (t->tag != tag)
		return fail(c->diag, at, "unexpected tag");
	return 0;
}

int snmp_ber_enter(const struct snmp_ber *c, const struct snmp_tlv *t, struct snmp_ber *in)
{
	if ((t->tag & 0x20) == 0)
		return fail(c->diag, t->off, "primitive where constructed expected");
	if (c->depth + 1 > SNMP_BER_MAX_DEPTH)
		return fail(c->diag, t->off, "nested too deep");
	snmp_ber_init_range(in, c->base, t->off, t->len, c->depth + 1, c->diag);
	return 0;
}

int snmp_ber_done(struct snmp_ber *c)
{
	if (c->pos < c->end)
		return fail(c->diag, c->pos, "trailing bytes");
	return 0;
}

int snmp_ber_int(const struct snmp_ber *c, const struct snmp_tlv *t, int64_t *v)
{
	uint64_t u;

	if (t->len == 0)
		return fail(c->diag, t->off, "empty integer");
	if (t->len > 8)
		return fail(c->diag, t->off, "integer over 8 octets");
	/* Sign-extend from the first octet, then shift the rest in. */
	u = (t->v[0] & 0x80) ? UINT64_MAX : 0;
	for (size_t i = 0; i < t->len; i++)
		u = (u << 8) | t->v[i];
	*v = (int64_t)u;
	return 0;
}

int snmp_ber_uint(const struct snmp_ber *c, const struct snmp_tlv *t, uint64_t max, uint64_t *v)
{
	const uint8_t *p = t->v;
	size_t n = t->len;
	uint64_t u = 0;

	if (n == 0)
		return fail(c->diag, t->off, "empty integer");
	if (p[0] & 0x80)
		return fail(c->diag, t->off, "negative value for an unsigned type");
	/* A leading zero octet carries the sign of a value whose top bit
	 * is set; skip zero octets so 9-octet Counter64s fit. */
	while (n > 1 && p[0] == 0) {
		p++;
		n--;
	}
	if (n > 8)
		return fail(c->diag, t->off, "unsigned value over 64 bits");
	for (size_t i = 0; i < n; i++)
		u = (u << 8) | p[i];
	if (u > max)
		return fail(c->diag, t->off, "unsigned value out of range");
	*v = u;
	return 0;
}

int snmp_ber_oid(const struct snmp_ber *c, const struct snmp_tlv *t, struct snmp_oid *o)
{
	const uint8_t *p = t->v;
	size_t n = t->len, i = 0;
	bool first = true;

	o->n = 0;
	if (n == 0)
		return fail(c->diag, t->off, "empty OID");
	while (i < n) {
		uint64_t sub = 0;

		if (p[i] == 0x80)
			return fail(c->diag, t->off + i, "OID subidentifier not minimal");
		do {
			if (i >= n)
				return fail(c->diag, t->off + i, "OID subidentifier truncated");
			/* The first subidentifier holds two arcs, so it may
			 * reach 2^32-1 + 80; 35 bits bounds both cases. */
			if (sub >> 28)
				return fail(c->diag, t->off + i, "OID arc over 32 bits");
			sub = (sub << 7) | (p[i] & 0x7f);
		} while (p[i++] & 0x80);
		if (first) {
			uint64_t x = sub < 40 ? 0 : sub < 80 ? 1 : 2;

			sub -= x * 40;
			if (sub > UINT32_MAX)
				return fail(c->diag, t->off, "OID arc over 32 bits");
			o->arc[0] = (uint32_t)x;
			o->arc[1] = (uint32_t)sub;
			o->n = 2;
			first = false;
			continue;
		}
		if (sub > UINT32_MAX)
			return fail(c->diag, t->off + i - 1, "OID arc over 32 bits");
		if (o->n >= SNMP_OID_MAX_ARCS)
			return fail(c->diag, t->off, "OID over 128 arcs");
		o->arc[o->n++] = (uint32_t)sub;
	}
	return 0;
}

/* ---- OIDs ------------------------------------------------------------- */

size_t snmp__put_dec(char *dst, uint32_t v)
{
	char tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

size_t snmp_oid_format(const struct snmp_oid *o, char *dst)
{
	size_t len = 0;

	for (uint32_t i = 0; i < o->n; i++) {
		if (i > 0)
			dst[len++] = '.';
		len += snmp__put_dec(dst + len, o->arc[i]);
	}
	dst[len] = '\0';
	return len;
}

size_t snmp_oid_format_suffix(const struct snmp_oid *o, uint32_t from, char *dst)
{
	size_t len = 0;

	for (uint32_t i = from; i < o->n; i++) {
		dst[len++] = '.';
		len += snmp__put_dec(dst + len, o->arc[i]);
	}
	dst[len] = '\0';
	return len;
}

int snmp_oid_parse(const char *s, size_t len, struct snmp_oid *o)
{
	size_t i = 0;

	o->n = 0;
	if (len > 0 && s[0] == '.')
		i = 1;
	while (i < len) {
		uint64_t v = 0;
		size_t start = i;

		while (i < len && s[i] >= '0' && s[i] <= '9') {
			v = v * 10 + (uint64_t)(s[i] - '0');
			if (v > UINT32_MAX)
				return -EINVAL;
			i++;
		}
		if (i == start || o->n >= SNMP_OID_MAX_ARCS)
			return -EINVAL;
		o->arc[o->n++] = (uint32_t)v;
		if (i < len) {
			if (s[i] != '.' || i + 1 == len)
				return -EINVAL;
			i++;
		}
	}
	if (o->n < 2 || o->arc[0] > 2 || (o->arc[0] < 2 && o->arc[1] >= 40))
		return -EINVAL;
	/* The first two arcs share one subidentifier (X.690 8.19.4). */
	if (o->arc[0] == 2 && o->arc[1] > UINT32_MAX - 80)
		return -EINVAL;
	return 0;
}

bool snmp_oid_equal(const struct snmp_oid *a, const uint32_t *arcs, uint32_t n)
{
	return a->n == n && memcmp(a->arc, arcs, n * sizeof(*arcs)) == 0;
}

/* ---- encoder ---------------------------------------------------------- */

void snmp_benc_init(struct snmp_benc *e, uint8_t *buf, size_t cap)
{
	e->buf = buf;
	e->pos = cap;
	e->cap = cap;
	e->err = 0;
}

void snmp_benc_raw(struct snmp_benc *e, const void *p, size_t n)
{
	if (e->err != 0)
		return;
	if (n > e->pos) {
		e->err = -ENOSPC;
		return;
	}
	e->pos -= n;
	if (n > 0)
		memcpy(e->buf + e->pos, p, n);
}

void snmp_benc_hdr(struct snmp_benc *e, uint8_t tag, size_t len)
{
	uint8_t h[6];
	size_t n = 0;

	if (len < 0x80) {
		h[5] = (uint8_t)len;
		n = 1;
	} else {
		while (len > 0 && n < 4) {
			h[5 - n++] = (uint8_t)len;
			len >>= 8;
		}
		h[5 - n] = (uint8_t)(0x80 | n);
		n++;
	}
	h[5 - n] = tag;
	n++;
	snmp_benc_raw(e, h + 6 - n, n);
}

void snmp_benc_int(struct snmp_benc *e, uint8_t tag, int64_t v)
{
	uint8_t b[8];
	size_t n = 8;
	uint64_t u = (uint64_t)v;

	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)u;
		u >>= 8;
	}
	/* Minimal two's complement (X.690 8.3.2): drop a leading octet
	 * while the next one's top bit repeats it. */
	size_t s = 0;
	while (s < 7 && ((b[s] == 0x00 && !(b[s + 1] & 0x80)) ||
			 (b[s] == 0xff && (b[s + 1] & 0x80))))
		s++;
	n -= s;
	snmp_benc_raw(e, b + s, n);
	snmp_benc_hdr(e, tag, n);
}

void snmp_benc_uint(struct snmp_benc *e, uint8_t tag, uint64_t v)
{
	uint8_t b[9];
	size_t s = 1;

	b[0] = 0;
	for (int i = 8; i >= 1; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
	while (s < 8 && b[s] == 0)
		s++;
	if (b[s] & 0x80)
		s--;            /* keep a zero so the value stays positive */
	snmp_benc_raw(e, b + s, 9 - s);
	snmp_benc_hdr(e, tag, 9 - s);
}

void snmp_benc_octets(struct snmp_benc *e, uint8_t tag, const void *p, size_t n)
{
	snmp_benc_raw(e, p, n);
	snmp_benc_hdr(e, tag, n);
}

static void benc_subid(struct snmp_benc *e, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;

	do {
		b[9 - n] = (uint8_t)((v & 0x7f) | (n > 0 ? 0x80 : 0));
		v >>= 7;
		n++;
	} while (v != 0);
	snmp_benc_raw(e, b + 10 - n, n);
}

void snmp_benc_oid(struct snmp_benc *e, const uint32_t *arcs, uint32_t n)
{
	size_t mark = snmp_benc_mark(e);

	for (uint32_t i = n; i > 2; i--)
		benc_subid(e, arcs[i - 1]);
	if (n >= 2)
		benc_subid(e, (uint64_t)arcs[0] * 40 + arcs[1]);
	snmp_benc_wrap(e, SNMP_TAG_OID, mark);
}

int snmp_benc_finish(const struct snmp_benc *e, const uint8_t **p, size_t *len)
{
	if (e->err != 0) {
		*p = NULL;
		*len = 0;
		return e->err;
	}
	*p = e->buf + e->pos;
	*len = e->cap - e->pos;
	return 0;
}
