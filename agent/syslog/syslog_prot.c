/* syslog_prot: RFC 5424 and RFC 3164 message parsing.
 *
 * Every read goes through a (p, end) pair and is preceded by a check
 * against end; nothing here writes to the input or allocates. Errors are
 * static strings so that a record can name what was malformed without the
 * parser owning any memory.
 */
#include "syslog_prot.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "jsonw.h"   /* civil time arithmetic */

enum ts_result { TS_NONE = 0, TS_OK, TS_BAD };

struct ts {
	int y, mon, d, h, mi, s, frac_us, off_s;
	bool has_year, has_zone;
};

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* True when the n bytes at p (which the caller has checked exist) are
 * digits; their value goes to *v. */
static bool digits(const char *p, int n, int *v)
{
	int x = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return false;
		x = x * 10 + (p[i] - '0');
	}
	*v = x;
	return true;
}

/* Records the first problem found; later ones would only repeat it. */
static void flag(struct syslog_msg *m, const char *err)
{
	if (m->status == SYSLOG_PARSE_OK)
		m->status = SYSLOG_PARSE_PARTIAL;
	if (m->error == NULL)
		m->error = err;
}

static void set_msg(struct syslog_msg *m, const char *p, const char *end)
{
	m->msg.p = p;
	m->msg.n = (size_t)(end - p);
}

static int64_t to_us(const struct ts *t)
{
	int64_t days = time_days_from_civil(t->y, t->mon, t->d);
	int64_t secs = days * 86400 + t->h * 3600 + t->mi * 60 + t->s - t->off_s;

	return secs * 1000000 + t->frac_us;
}

/* ---- pieces of timestamps --------------------------------------------------- */

/* '.' followed by one or more digits at p: returns the end and the value in
 * microseconds (digits past the sixth are dropped), or NULL. */
static const char *parse_frac(const char *p, const char *end, int *us)
{
	const char *q = p + 1;
	int v = 0, n = 0;

	if (p >= end || *p != '.' || q >= end || !is_digit(*q))
		return NULL;
	for (; q < end && is_digit(*q); q++, n++)
		if (n < 6)
			v = v * 10 + (*q - '0');
	for (; n < 6; n++)
		v *= 10;
	*us = v;
	return q;
}

/* A numeric UTC offset at p: "+hh:mm", or with `lenient` also "+hhmm" and
 * "+hh". Returns the end, or NULL; *bad is set when the form is right but
 * the values are out of range (RFC 3339 allows hours up to 23). */
static const char *parse_offset(const char *p, const char *end, bool lenient, int *off_s,
				bool *bad)
{
	const char *q = p + 1;
	int hh, mm = 0;

	if (p >= end || (*p != '+' && *p != '-'))
		return NULL;
	if (end - q < 2 || !digits(q, 2, &hh))
		return NULL;
	q += 2;
	if (q < end && *q == ':') {
		if (end - q < 3 || !digits(q + 1, 2, &mm))
			return NULL;
		q += 3;
	} else if (lenient && end - q >= 2 && digits(q, 2, &mm)) {
		q += 2;
	} else if (!lenient) {
		return NULL;
	}
	if (hh > 23 || mm > 59)
		*bad = true;
	*off_s = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
	return q;
}

/* "hh:mm:ss" at p (8 bytes checked by the caller). */
static bool parse_hms(const char *p, struct ts *t)
{
	return digits(p, 2, &t->h) && p[2] == ':' && digits(p + 3, 2, &t->mi) &&
	       p[5] == ':' && digits(p + 6, 2, &t->s);
}

static bool time_in_range(const struct ts *t)
{
	return t->h <= 23 && t->mi <= 59 && t->s <= 59;
}

/* An RFC 3164 timestamp ends at SP, ':' (Cisco) or the end of the message. */
static inline bool ends_field(const char *p, const char *end)
{
	return p == end || *p == ' ' || *p == ':';
}

/* ---- RFC 3339 / ISO 8601 timestamps ------------------------------------------
 * strict (RFC 5424 6.2.3): FULL-DATE "T" PARTIAL-TIME TIME-OFFSET with
 * TIME-OFFSET "Z" or "+hh:mm". Lenient (RFC 3164 senders): 'T' or SP
 * between date and time, an optional offset that may lack the colon. */
static enum ts_result parse_iso(const char *p, const char *end, bool strict, struct ts *t,
				const char **out)
{
	const char *q;
	bool bad = false;

	memset(t, 0, sizeof *t);
	if (end - p < 10 || !digits(p, 4, &t->y) || p[4] != '-' || !digits(p + 5, 2, &t->mon) ||
	    p[7] != '-' || !digits(p + 8, 2, &t->d))
		return strict ? TS_BAD : TS_NONE;
	q = p + 10;
	if (end - q < 9 || !(*q == 'T' || (!strict && *q == ' ')) || !parse_hms(q + 1, t))
		return strict ? TS_BAD : TS_NONE;
	q += 9;
	t->has_year = true;
	if (q < end && *q == '.') {
		q = parse_frac(q, end, &t->frac_us);
		if (q == NULL)
			return strict ? TS_BAD : TS_NONE;
	}
	if (q < end && *q == 'Z') {
		t->has_zone = true;
		q++;
	} else if (q < end && (*q == '+' || *q == '-')) {
		const char *r = parse_offset(q, end, !strict, &t->off_s, &bad);
		if (r == NULL)
			return strict ? TS_BAD : TS_NONE;
		t->has_zone = true;
		q = r;
	} else if (strict) {
		return TS_BAD;   /* TIME-OFFSET is not optional in RFC 5424 */
	}
	*out = q;
	if (strict ? (q != end && *q != ' ') : !ends_field(q, end))
		return strict ? TS_BAD : TS_NONE;
	if (bad || t->mon < 1 || t->mon > 12 || t->d < 1 ||
	    t->d > time_days_in_month(t->y, t->mon) || !time_in_range(t))
		return TS_BAD;
	return TS_OK;
}

/* ---- BSD timestamps: "Mmm dd hh:mm:ss" and the variants real devices send -- */

static int month_index(const char *p)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	/* ASCII letters differ from their capitals only in bit 0x20. */
	char a = (char)(p[0] | 0x20), b = (char)(p[1] | 0x20), c = (char)(p[2] | 0x20);

	for (int i = 0; i < 12; i++)
		if (names[3 * i] == a && names[3 * i + 1] == b && names[3 * i + 2] == c)
			return i + 1;
	return 0;
}

/* A zone offset at p ("+08:00", "+0800", "+08") that ends a field. Only
 * then are *off_s and *bad touched, so a failed attempt changes nothing. */
static const char *zone_offset(const char *p, const char *end, struct ts *t, bool *bad)
{
	bool b = false;
	int off;
	const char *q = parse_offset(p, end, true, &off, &b);

	if (q == NULL || !ends_field(q, end))
		return NULL;
	t->off_s = off;
	t->has_zone = true;
	*bad |= b;
	return q;
}

/* The optional items after "hh:mm:ss[.frac]": an attached offset
 * ("+08:00"), a year (" 2026"), a zone name (" UTC", " GMT", " +08:00") or
 * an abbreviation that is provably a zone (" CST: %", " CST 1987"). Each is
 * taken only when a field boundary follows, so a hostname is never eaten. */
static const char *bsd_tail(const char *q, const char *end, struct ts *t, bool *bad)
{
	const char *r, *s;
	int y;

	if ((s = zone_offset(q, end, t, bad)) != NULL)
		q = s;
	for (int round = 0; round < 2 && q < end && *q == ' '; round++) {
		r = q + 1;
		if (!t->has_year && end - r >= 4 && digits(r, 4, &y) && y >= 1900 &&
		    ends_field(r + 4, end)) {
			t->y = y;
			t->has_year = true;
			q = r + 4;
			continue;
		}
		if (t->has_zone)
			break;
		if (end - r >= 3 && (memcmp(r, "UTC", 3) == 0 || memcmp(r, "GMT", 3) == 0)) {
			if (ends_field(r + 3, end)) {
				t->has_zone = true;
				q = r + 3;
				continue;
			}
			if ((s = zone_offset(r + 3, end, t, bad)) != NULL) {   /* "UTC+08:00" */
				q = s;
				continue;
			}
		}
		if ((s = zone_offset(r, end, t, bad)) != NULL) {
			q = s;
			continue;
		}
		for (s = r; s < end && s - r < 6 && *s >= 'A' && *s <= 'Z'; s++)
			;
		if (s - r < 3 || s - r > 5)
			break;
		if (end - s >= 3 && s[0] == ':' && s[1] == ' ' && s[2] == '%') {
			q = s;   /* Cisco "... CST: %SYS-...": a zone, offset unknown */
			break;
		}
		if (!t->has_year && end - s >= 5 && s[0] == ' ' && digits(s + 1, 4, &y) &&
		    ends_field(s + 5, end)) {
			t->y = y;   /* RFC 3164 5.4 example 3: "CST 1987" */
			t->has_year = true;
			q = s + 5;
		}
		break;
	}
	return q;
}

/* Picks the year that puts month/day closest to the receive time: a
 * message from Dec 31 received on Jan 1 belongs to the year before. */
static bool infer_year(struct ts *t, int64_t recv_us)
{
	int64_t days = recv_us / 86400000000LL, best_diff = 0;
	int ry, rm, rd, best = 0;

	if (recv_us < 0 && recv_us % 86400000000LL != 0)
		days--;
	time_civil_from_days(days, &ry, &rm, &rd);
	/* Keep the candidates inside four-digit years, where to_us cannot
	 * overflow whatever recv_us the caller passed. */
	if (ry < 1)
		ry = 1;
	if (ry > 9998)
		ry = 9998;
	for (int y = ry - 1; y <= ry + 1; y++) {
		if (t->d > time_days_in_month(y, t->mon))
			continue;
		t->y = y;
		int64_t diff = to_us(t) - recv_us;
		if (diff < 0)
			diff = -diff;
		if (best == 0 || diff < best_diff) {
			best = y;
			best_diff = diff;
		}
	}
	t->y = best;
	return best != 0;
}

static enum ts_result parse_bsd(const char *p, const char *end, int64_t recv_us, struct ts *t,
				const char **out)
{
	const char *q = p;
	bool bad = false;
	int y;

	memset(t, 0, sizeof *t);
	if (end - q < 4 || (t->mon = month_index(q)) == 0 || q[3] != ' ')
		return TS_NONE;
	q += 4;
	if (q < end && *q == ' ')
		q++;   /* "Feb  5": the day is space-padded */
	if (q < end && is_digit(*q)) {
		t->d = *q++ - '0';
		if (q < end && is_digit(*q))
			t->d = t->d * 10 + (*q++ - '0');
	} else {
		return TS_NONE;
	}
	if (q >= end || *q != ' ')
		return TS_NONE;
	q++;
	if (end - q >= 5 && digits(q, 4, &y) && q[4] == ' ') {
		t->y = y;            /* "Oct 11 2026 22:14:15" (Cisco, Huawei) */
		t->has_year = true;
		q += 5;
	}
	if (end - q < 8 || !parse_hms(q, t))
		return TS_NONE;
	q += 8;
	if (q < end && *q == '.') {
		const char *r = parse_frac(q, end, &t->frac_us);
		if (r == NULL)
			return TS_NONE;
		q = r;
	}
	q = bsd_tail(q, end, t, &bad);
	if (!ends_field(q, end))
		return TS_NONE;
	*out = q;
	if (bad || t->d < 1 || t->d > 31 || !time_in_range(t))
		return TS_BAD;
	if (t->has_year)
		return t->d <= time_days_in_month(t->y, t->mon) ? TS_OK : TS_BAD;
	return infer_year(t, recv_us) ? TS_OK : TS_BAD;
}

static void set_ts(struct syslog_msg *m, const struct ts *t, const char *p, const char *q)
{
	m->timestamp.p = p;
	m->timestamp.n = (size_t)(q - p);
	m->ts_valid = true;
	m->ts_us = to_us(t);
	m->ts_has_zone = t->has_zone;
	m->ts_has_year = t->has_year;
}

/* ---- PRI ---------------------------------------------------------------------- */

/* PRI = "<" 1*3DIGIT ">" with a value of 0..191 (RFC 5424 6.2.1). p is at
 * '<'. Leading zeros are tolerated: they change nothing. */
static const char *parse_pri(const char **pp, const char *end, int *pri)
{
	const char *p = *pp + 1;
	int v = 0, n = 0;

	for (; p < end && is_digit(*p); p++, n++) {
		if (n == 3)
			return "PRI is longer than 3 digits";
		v = v * 10 + (*p - '0');
	}
	if (p == end)
		return "PRI is not closed by '>'";
	if (*p != '>')
		return "PRI is not a number";
	if (n == 0)
		return "PRI is empty";
	if (v > 191)
		return "PRI is above 191";
	*pri = v;
	*pp = p + 1;
	return NULL;
}

/* ---- STRUCTURED-DATA (RFC 5424 6.3) --------------------------------------------- */

static inline bool sd_name_char(char c)
{
	unsigned char u = (unsigned char)c;

	return u >= 33 && u <= 126 && u != '=' && u != ']' && u != '"';
}

/* Returns the end of the SD-NAME at p; at most 33 bytes are looked at, so
 * a name longer than 32 shows as such without scanning further. */
static const char *sd_name(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && q - p <= 32 && sd_name_char(*q))
		q++;
	return q;
}

void syslog_sd_iter_init(struct syslog_sd_iter *it, struct syslog_slice sd)
{
	it->p = sd.p;
	/* No arithmetic on a NULL pointer: a nil SD iterates as empty. */
	it->end = sd.p != NULL ? sd.p + sd.n : NULL;
	it->in_element = false;
}

int syslog_sd_next_param(struct syslog_sd_iter *it, struct syslog_sd_param *param)
{
	const char *p = it->p, *end = it->end, *q, *v;

	if (!it->in_element)
		return 0;
	if (p == end)
		return -EINVAL;
	if (*p == ']') {
		it->p = p + 1;
		it->in_element = false;
		return 0;
	}
	if (*p != ' ')
		return -EINVAL;
	p++;
	q = sd_name(p, end);
	/* On failure it->p is left where the grammar broke, so a caller can
	 * tell an unterminated SD (it->p == end) from a malformed one. */
	if (q == p || q - p > 32 || q == end || *q != '=')
		goto bad;
	q++;
	if (q == end || *q != '"')
		goto bad;
	v = ++q;
	for (;;) {
		if (q == end)
			goto bad;
		if (*q == '"')
			break;
		if (*q == '\\' && end - q >= 2 && (q[1] == '"' || q[1] == '\\' || q[1] == ']'))
			q++;
		q++;
	}
	param->name.p = p;
	param->name.n = (size_t)(v - 2 - p);
	param->value.p = v;
	param->value.n = (size_t)(q - v);
	it->p = q + 1;
	return 1;
bad:
	it->p = q;
	return -EINVAL;
}

int syslog_sd_next_element(struct syslog_sd_iter *it, struct syslog_slice *id)
{
	const char *p, *q;

	if (it->in_element) {
		struct syslog_sd_param skip;
		int rc;

		while ((rc = syslog_sd_next_param(it, &skip)) > 0)
			;
		if (rc < 0)
			return rc;
	}
	p = it->p;
	if (p == it->end)
		return 0;
	if (*p != '[')
		return -EINVAL;
	q = sd_name(p + 1, it->end);
	if (q == p + 1 || q - (p + 1) > 32 || q == it->end || (*q != ' ' && *q != ']')) {
		it->p = q;
		return -EINVAL;
	}
	id->p = p + 1;
	id->n = (size_t)(q - (p + 1));
	it->p = q;
	it->in_element = true;
	return 1;
}

/* Scans the SD-ELEMENTs starting at p ('['). Returns NULL and the end in
 * *out when the grammar holds (then *valid says whether the SD is within
 * ward's bounds and has no duplicate SD-ID, and *dup whether the latter
 * failed), else an error. */
static const char *scan_sd(const char *p, const char *end, const char **out, bool *valid,
			   bool *dup)
{
	struct syslog_slice ids[SYSLOG_SD_MAX_ELEMENTS], id;
	struct syslog_sd_param param;
	struct syslog_sd_iter it = { p, end, false };
	size_t nel = 0;
	int rc;

	*valid = true;
	*dup = false;
	while (it.p < end && *it.p == '[') {
		size_t nparam = 0;

		rc = syslog_sd_next_element(&it, &id);
		if (rc < 0)
			goto bad;
		while ((rc = syslog_sd_next_param(&it, &param)) > 0)
			nparam++;
		if (rc < 0)
			goto bad;
		if (nparam > SYSLOG_SD_MAX_PARAMS || nel >= SYSLOG_SD_MAX_ELEMENTS) {
			*valid = false;
			continue;
		}
		/* RFC 5424 6.3.2: an SD-ID must not repeat. O(n^2) in at most
		 * SYSLOG_SD_MAX_ELEMENTS ids, and n is 1 or 2 in practice. */
		for (size_t i = 0; i < nel; i++)
			if (ids[i].n == id.n && memcmp(ids[i].p, id.p, id.n) == 0)
				*dup = true;
		ids[nel++] = id;
	}
	if (*dup)
		*valid = false;
	*out = it.p;
	return NULL;
bad:
	return it.p >= end ? "STRUCTURED-DATA is not terminated" : "STRUCTURED-DATA is malformed";
}

/* ---- RFC 5424 ---------------------------------------------------------------------- */

/* "<PRI>" is followed by VERSION SP and then either a nil or a full-date
 * timestamp. Requiring the date's "dddd-" keeps RFC 3164 content such as
 * "<13>1 packet dropped" out of the RFC 5424 path. */
static bool looks_5424(const char *p, const char *end)
{
	const char *q = p;
	int y;

	if (q >= end || *q < '1' || *q > '9')
		return false;
	for (q++; q < end && is_digit(*q) && q - p < 3; q++)
		;
	if (q >= end || *q != ' ')
		return false;
	q++;
	if (q < end && *q == '-' && (q + 1 == end || q[1] == ' '))
		return true;
	return end - q >= 5 && digits(q, 4, &y) && q[4] == '-';
}

struct hdr_field {
	size_t off;          /* of the slice in struct syslog_msg */
	size_t max;          /* RFC 5424 6.1 ABNF maximum */
	const char *too_long;
	const char *bad_char;
};

static const struct hdr_field hdr_fields[] = {
	{ offsetof(struct syslog_msg, hostname), 255, "HOSTNAME is longer than 255 bytes",
	  "HOSTNAME has a byte outside PRINTUSASCII" },
	{ offsetof(struct syslog_msg, app_name), 48, "APP-NAME is longer than 48 bytes",
	  "APP-NAME has a byte outside PRINTUSASCII" },
	{ offsetof(struct syslog_msg, procid), 128, "PROCID is longer than 128 bytes",
	  "PROCID has a byte outside PRINTUSASCII" },
	{ offsetof(struct syslog_msg, msgid), 32, "MSGID is longer than 32 bytes",
	  "MSGID has a byte outside PRINTUSASCII" },
};

/* Reads one SP-terminated header field. Returns the position after its SP,
 * or NULL when the message ended inside the header. */
static const char *hdr_field(const char *p, const char *end, const struct hdr_field *f,
			     struct syslog_msg *m)
{
	struct syslog_slice *s = (struct syslog_slice *)((char *)m + f->off);
	const char *q = p;
	bool bad = false;

	for (; q < end && *q != ' '; q++)
		if ((unsigned char)*q < 33 || (unsigned char)*q > 126)
			bad = true;
	if (q == p) {
		flag(m, "empty header field");
	} else if (!(q - p == 1 && *p == '-')) {
		s->p = p;
		s->n = (size_t)(q - p);
		if (s->n > f->max)
			flag(m, f->too_long);
		if (bad)
			flag(m, f->bad_char);
	}
	if (q == end) {
		flag(m, "message ends inside the header");
		return NULL;
	}
	return q + 1;
}

static void parse_5424(const char *p, const char *end, struct syslog_msg *m)
{
	const char *q = p, *r;
	struct ts t;
	bool valid, dup;
	const char *err;

	m->format = SYSLOG_FMT_RFC5424;
	for (m->version = 0; q < end && is_digit(*q); q++)
		m->version = m->version * 10 + (*q - '0');
	if (m->version != 1)
		flag(m, "unsupported VERSION");
	p = q + 1;   /* looks_5424 saw the SP */

	if (p < end && *p == '-' && (p + 1 == end || p[1] == ' ')) {
		q = p + 1;
	} else if (parse_iso(p, end, true, &t, &q) == TS_OK) {
		set_ts(m, &t, p, q);
	} else {
		r = memchr(p, ' ', (size_t)(end - p));
		m->timestamp.p = p;
		m->timestamp.n = (size_t)((r != NULL ? r : end) - p);
		flag(m, "TIMESTAMP is malformed");
		set_msg(m, p, end);
		return;
	}
	if (q == end) {
		flag(m, "message ends inside the header");
		return;
	}
	p = q + 1;
	for (size_t i = 0; i < sizeof hdr_fields / sizeof hdr_fields[0]; i++) {
		p = hdr_field(p, end, &hdr_fields[i], m);
		if (p == NULL)
			return;
	}

	if (p == end) {
		flag(m, "message ends inside the header");
		return;
	}
	if (*p == '-' && (p + 1 == end || p[1] == ' ')) {
		p++;
	} else if (*p == '[') {
		err = scan_sd(p, end, &q, &valid, &dup);
		if (err != NULL) {
			/* The SD's extent is unknown, so everything from it on is
			 * kept as msg. */
			flag(m, err);
			set_msg(m, p, end);
			return;
		}
		m->sd.p = p;
		m->sd.n = (size_t)(q - p);
		m->sd_valid = valid;
		if (dup)
			flag(m, "STRUCTURED-DATA repeats an SD-ID");
		p = q;
	} else {
		flag(m, "STRUCTURED-DATA is neither '-' nor '['");
		set_msg(m, p, end);
		return;
	}

	if (p == end)
		return;   /* MSG is optional */
	if (*p != ' ') {
		flag(m, "no SP after STRUCTURED-DATA");
		set_msg(m, p, end);
		return;
	}
	p++;
	if (end - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
		m->msg_bom = true;
		p += 3;
	}
	set_msg(m, p, end);
}

/* ---- RFC 3164 ---------------------------------------------------------------------- */

static inline bool is_tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
	       c == '_' || c == '.' || c == '/';
}

/* TAG ":" or TAG "[" PID "]" [":"], then one SP, at p. Returns where
 * CONTENT starts (p itself when there is no TAG). */
static const char *parse_tag(const char *p, const char *end, struct syslog_msg *m)
{
	const char *t = p, *u;

	while (t < end && t - p < 48 && is_tag_char(*t))
		t++;
	if (t == p || t == end)
		return p;
	if (*t == ':') {
		u = t + 1;
	} else if (*t == '[') {
		for (u = t + 1; u < end && u - t <= 128 && *u > ' ' && *u != ']' && *u != '['; u++)
			;
		if (u == end || *u != ']' || u == t + 1)
			return p;
		m->procid.p = t + 1;
		m->procid.n = (size_t)(u - t - 1);
		u++;
		if (u < end && *u == ':')
			u++;
		else if (u < end && *u != ' ') {
			m->procid.p = NULL;
			m->procid.n = 0;
			return p;
		}
	} else {
		return p;
	}
	m->app_name.p = p;
	m->app_name.n = (size_t)(t - p);
	if (u < end && *u == ' ')
		u++;
	return u;
}

static void no_header(struct syslog_msg *m, const char *buf, size_t len, const char *err)
{
	m->format = SYSLOG_FMT_UNKNOWN;
	m->status = SYSLOG_PARSE_NO_HEADER;
	m->error = err;
	m->msg.p = buf != NULL ? buf : "";
	m->msg.n = len;
}

static enum ts_result parse_ts_3164(const char *p, const char *end, int64_t recv_us,
				    struct ts *t, const char **out)
{
	if (p < end && is_digit(*p))
		return parse_iso(p, end, false, t, out);
	return parse_bsd(p, end, recv_us, t, out);
}

static void parse_3164(const char *buf, size_t len, const char *p, const char *end,
		       int64_t recv_us, struct syslog_msg *m)
{
	const char *q, *ts_at, *sp;
	enum ts_result rc;
	struct ts t;

	m->format = SYSLOG_FMT_RFC3164;
	if (m->pri_present) {
		/* Cisco IOS "<189>123: ..." (service sequence-numbers). */
		for (q = p; q < end && is_digit(*q) && q - p < 10; q++)
			;
		if (q > p && end - q >= 2 && q[0] == ':' && q[1] == ' ') {
			m->cisco_seq.p = p;
			m->cisco_seq.n = (size_t)(q - p);
			p = q + 2;
		}
	}
	/* Cisco marks an unsynchronised clock with '*', a lost sync with '.'. */
	ts_at = p;
	if (end - p >= 2 && (*p == '*' || *p == '.') && !is_digit(p[1]))
		ts_at = p + 1;
	rc = parse_ts_3164(ts_at, end, recv_us, &t, &q);
	if (rc == TS_BAD) {
		m->timestamp.p = ts_at;
		m->timestamp.n = (size_t)(q - ts_at);
		flag(m, "TIMESTAMP is malformed");
		set_msg(m, p, end);
		return;
	}
	if (rc == TS_NONE) {
		if (!m->pri_present) {
			no_header(m, buf, len, "no PRI and no timestamp");
			return;
		}
		/* RFC 3164 4.3.2: with a PRI but no TIMESTAMP, all of it is
		 * CONTENT; a TAG may still lead it ("<13>sshd[1]: ..."). */
		set_msg(m, parse_tag(p, end, m), end);
		return;
	}
	set_ts(m, &t, ts_at, q);
	p = q;

	if (p < end && *p == ':') {
		/* "... 22:14:15: %ASA-..." -- Cisco without a hostname. */
		p++;
		if (p < end && *p == ' ')
			p++;
		set_msg(m, parse_tag(p, end, m), end);
		return;
	}
	while (p < end && *p == ' ')
		p++;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (sp != NULL && sp > p && sp[-1] != ':' && memchr(p, '[', (size_t)(sp - p)) == NULL) {
		m->hostname.p = p;
		m->hostname.n = (size_t)(sp - p);
		p = sp + 1;
		/* Cisco ASA with a device-id: "HOST : %ASA-4-106023: ..." */
		if (p < end && *p == ':' && (p + 1 == end || p[1] == ' '))
			p += p + 1 == end ? 1 : 2;
	}
	set_msg(m, parse_tag(p, end, m), end);
}

/* ---- entry point ----------------------------------------------------------------- */

void syslog_parse(const char *buf, size_t len, int64_t recv_us, struct syslog_msg *m)
{
	const char *p = buf, *end;
	int pri;

	memset(m, 0, sizeof *m);
	m->pri = 13;   /* RFC 3164 4.3.3: user.notice when there is no PRI */
	m->facility = 1;
	m->severity = 5;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == '\0'))
		len--;
	if (len == 0) {
		no_header(m, buf, 0, "empty message");
		return;
	}
	end = buf + len;
	if (*p == '<') {
		const char *err = parse_pri(&p, end, &pri);

		if (err != NULL) {
			no_header(m, buf, len, err);
			return;
		}
		m->pri_present = true;
		m->pri = pri;
		m->facility = pri / 8;
		m->severity = pri % 8;
		if (p == end) {
			m->format = SYSLOG_FMT_RFC3164;
			flag(m, "nothing after PRI");
			set_msg(m, p, end);
			return;
		}
		if (looks_5424(p, end)) {
			parse_5424(p, end, m);
			return;
		}
	}
	parse_3164(buf, len, p, end, recv_us, m);
}

/* ---- names ------------------------------------------------------------------------ */

const char *syslog_facility_name(int facility)
{
	/* RFC 5424 table 1; 13-15 use the descriptions' words since there is
	 * no traditional name for them. */
	static const char *const names[24] = {
		"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
		"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
	};

	return facility >= 0 && facility < 24 ? names[facility] : "unknown";
}

const char *syslog_severity_name(int severity)
{
	static const char *const names[8] = {
		"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
	};

	return severity >= 0 && severity < 8 ? names[severity] : "unknown";
}

const char *syslog_format_name(enum syslog_format f)
{
	switch (f) {
	case SYSLOG_FMT_RFC5424: return "rfc5424";
	case SYSLOG_FMT_RFC3164: return "rfc3164";
	default: return "unknown";
	}
}

const char *syslog_parse_status_name(enum syslog_parse_status s)
{
	switch (s) {
	case SYSLOG_PARSE_OK: return "ok";
	case SYSLOG_PARSE_PARTIAL: return "partial";
	default: return "no_header";
	}
}
