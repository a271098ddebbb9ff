/* jsonw: streaming JSON writer, UTF-8 checking and civil time.
 *
 * Everything here runs once or more per record, so the writer reserves the
 * worst case once per call and then writes through a raw pointer instead of
 * checking the buffer per byte.
 */
#include "jsonw.h"

#include <errno.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- UTF-8 ---------------------------------------------------------------- */

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, sizeof x);
	return x;
}

/* Checks one sequence starting with a byte >= 0x80 at s (n bytes left).
 * Returns its length (2..4) when well-formed, else minus the length of its
 * maximal ill-formed subpart (at least 1): the bytes that one U+FFFD
 * replaces. The second-byte ranges are those of RFC 3629 section 4, which
 * exclude overlongs (E0, F0), surrogates (ED) and values past U+10FFFF (F4). */
static int utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xBF;
	int need;

	if (c < 0xC2)
		return -1;   /* a continuation byte, or a C0/C1 overlong lead */
	if (c < 0xE0) {
		need = 2;
	} else if (c < 0xF0) {
		need = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c < 0xF5) {
		need = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return -1;
	}
	if (n < 2 || s[1] < lo || s[1] > hi)
		return -1;
	for (int i = 2; i < need; i++)
		if ((size_t)i >= n || (s[i] & 0xC0) != 0x80)
			return -i;
	return need;
}

size_t jsonw_utf8_valid_len(const char *str, size_t len)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0;

	while (i < len) {
		while (i + 8 <= len && (load64(s + i) & HIGHS) == 0)
			i += 8;
		if (i >= len)
			break;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		int k = utf8_seq(s + i, len - i);
		if (k < 0)
			return i;
		i += (size_t)k;
	}
	return len;
}

/* ---- the writer ------------------------------------------------------------ */

static const char hexdig[] = "0123456789abcdef";

/* Makes room for n more bytes and returns where to write, or NULL once an
 * error is set. */
static inline uint8_t *room(struct jsonw *w, size_t n)
{
	struct buf *b = w->out;

	if (w->err)
		return NULL;
	if (b->cap - b->len < n) {
		int rc = buf_reserve(b, n);
		if (rc < 0) {
			w->err = rc;
			return NULL;
		}
	}
	return b->data + b->len;
}

static inline void commit(struct jsonw *w, uint8_t *end)
{
	w->out->len = (size_t)(end - w->out->data);
}

/* Reserves n bytes plus a comma and writes the comma if one is due. */
static inline uint8_t *value_begin(struct jsonw *w, size_t n)
{
	uint8_t *d = room(w, n + 1);

	if (d != NULL && w->need_comma[w->depth])
		*d++ = ',';
	return d;
}

static inline void value_end(struct jsonw *w, uint8_t *end)
{
	commit(w, end);
	w->need_comma[w->depth] = true;
}

/* Worst case of an escaped string of len bytes: every byte as \u00XX. */
static size_t escaped_max(struct jsonw *w, size_t len)
{
	if (len > (SIZE_MAX - 16) / 6) {
		if (!w->err)
			w->err = -ENOMEM;
		return 0;
	}
	return len * 6;
}

#if !defined(__SSE2__)
/* Nonzero when one of the eight bytes of x needs more than a plain copy in
 * a JSON string: < 0x20, '"', '\\' or, unless utf8_ok, >= 0x80. Each test is
 * the classic "has a byte less than n" bit trick, exact for the question
 * "is there any such byte" as long as n <= 0x80; a byte >= 0x80 never
 * trips the three tests by itself, as ~x clears its top bit. */
static inline uint64_t needs_care(uint64_t x, bool utf8_ok)
{
	uint64_t q = x ^ (ONES * '"');
	uint64_t b = x ^ (ONES * '\\');

	return ((utf8_ok ? 0 : x) | ((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) |
		((b - ONES) & ~b)) & HIGHS;
}
#endif

static inline bool plain(uint8_t c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Writes the one byte or UTF-8 sequence at *sp that is not plain. */
static uint8_t *escape_one(uint8_t *d, const uint8_t **sp, const uint8_t *end)
{
	const uint8_t *s = *sp;
	uint8_t c = *s;

	if (c >= 0x80) {
		int k = utf8_seq(s, (size_t)(end - s));
		if (k > 0) {
			memcpy(d, s, (size_t)k);
			d += k;
			*sp = s + k;
		} else {
			*d++ = 0xEF;   /* U+FFFD */
			*d++ = 0xBF;
			*d++ = 0xBD;
			*sp = s - k;
		}
		return d;
	}
	*sp = s + 1;
	*d++ = '\\';
	switch (c) {
	case '"': *d++ = '"'; break;
	case '\\': *d++ = '\\'; break;
	case '\b': *d++ = 'b'; break;
	case '\f': *d++ = 'f'; break;
	case '\n': *d++ = 'n'; break;
	case '\r': *d++ = 'r'; break;
	case '\t': *d++ = 't'; break;
	default:
		*d++ = 'u';
		*d++ = '0';
		*d++ = '0';
		*d++ = (uint8_t)hexdig[c >> 4];
		*d++ = (uint8_t)hexdig[c & 15];
	}
	return d;
}

/* Escapes len bytes of s into d (room for 6 * len reserved). With
 * `utf8_ok` the caller has checked that s is well-formed UTF-8, so bytes
 * >= 0x80 are copied without decoding them again. Plain ASCII is copied
 * a block at a time: the block is stored whole, then the output pointer
 * advances only past its plain prefix. Whole-block stores stay inside the
 * reservation because the output so far is at most six times the input
 * so far and a block is only taken when 8 or 16 input bytes remain. */
static inline __attribute__((always_inline)) uint8_t *
escape_(uint8_t *d, const uint8_t *s, size_t len, const bool utf8_ok)
{
	if (len == 0)
		return d;   /* s may be NULL then; NULL + 0 is not defined C */

	const uint8_t *end = s + len;

	while (s < end) {
#if defined(__SSE2__)
		const __m128i c1f = _mm_set1_epi8(0x1f);
		const __m128i qu = _mm_set1_epi8('"');
		const __m128i bs = _mm_set1_epi8('\\');
		while (end - s >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
			/* Control bytes: max(v, 0x1f) == 0x1f, unsigned. Without
			 * utf8_ok, a signed "less than 0x20" also catches every
			 * byte >= 0x80 for decoding. */
			__m128i ctl = utf8_ok ? _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f)
					      : _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
			__m128i hit = _mm_or_si128(ctl, _mm_or_si128(_mm_cmpeq_epi8(v, qu),
								      _mm_cmpeq_epi8(v, bs)));
			unsigned mask = (unsigned)_mm_movemask_epi8(hit);

			_mm_storeu_si128((__m128i *)(void *)d, v);
			if (mask == 0) {
				s += 16;
				d += 16;
				continue;
			}
			unsigned k = (unsigned)__builtin_ctz(mask);
			s += k;
			d += k;
			break;
		}
#elif __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		while (end - s >= 8) {
			uint64_t x = load64(s), care = needs_care(x, utf8_ok);

			memcpy(d, &x, 8);
			if (care == 0) {
				s += 8;
				d += 8;
				continue;
			}
			/* The lowest flagged byte is a true one: the tricks'
			 * false positives come from borrows, which run upwards. */
			size_t k = (size_t)__builtin_ctzll(care) / 8;
			s += k;
			d += k;
			break;
		}
#endif
		while (s < end && (plain(*s) || (utf8_ok && *s >= 0x80)))
			*d++ = *s++;
		/* Runs of non-ASCII text (e.g. Chinese) stay in this loop rather
		 * than paying a block test per character. */
		while (s < end && !plain(*s) && !(utf8_ok && *s >= 0x80))
			d = escape_one(d, &s, end);
	}
	return d;
}

static uint8_t *escape(uint8_t *d, const uint8_t *s, size_t len)
{
	return escape_(d, s, len, false);
}

static uint8_t *escape_utf8(uint8_t *d, const uint8_t *s, size_t len)
{
	return escape_(d, s, len, true);
}

void jsonw_init(struct jsonw *w, struct buf *out)
{
	memset(w, 0, sizeof *w);
	w->out = out;
}

static void open_(struct jsonw *w, uint8_t ch)
{
	uint8_t *d = value_begin(w, 1);

	if (d == NULL)
		return;
	if (w->depth >= JSONW_MAX_DEPTH) {
		w->err = -EINVAL;
		return;
	}
	*d++ = ch;
	commit(w, d);
	w->need_comma[w->depth] = true;   /* for the container's next sibling */
	w->depth++;
	w->need_comma[w->depth] = false;
}

static void close_(struct jsonw *w, uint8_t ch)
{
	uint8_t *d = room(w, 1);

	if (d == NULL)
		return;
	if (w->depth <= 0) {
		w->err = -EINVAL;
		return;
	}
	*d++ = ch;
	commit(w, d);
	w->depth--;
}

void jsonw_object_open(struct jsonw *w) { open_(w, '{'); }
void jsonw_object_close(struct jsonw *w) { close_(w, '}'); }
void jsonw_array_open(struct jsonw *w) { open_(w, '['); }
void jsonw_array_close(struct jsonw *w) { close_(w, ']'); }

void jsonw_key_str(struct jsonw *w, const char *key, size_t len)
{
	size_t max = escaped_max(w, len);
	uint8_t *d = value_begin(w, max + 3);

	if (d == NULL)
		return;
	*d++ = '"';
	d = escape(d, (const uint8_t *)key, len);
	*d++ = '"';
	*d++ = ':';
	commit(w, d);
	/* The value that follows must not write a comma. */
	w->need_comma[w->depth] = false;
}

void jsonw_key_ascii(struct jsonw *w, const char *key, size_t len)
{
	uint8_t *d = value_begin(w, len + 3);

	if (d == NULL)
		return;
	*d++ = '"';
	memcpy(d, key, len);
	d += len;
	*d++ = '"';
	*d++ = ':';
	commit(w, d);
	w->need_comma[w->depth] = false;
}

void jsonw_string(struct jsonw *w, const char *s, size_t len)
{
	size_t max = escaped_max(w, len);
	uint8_t *d = value_begin(w, max + 2);

	if (d == NULL)
		return;
	*d++ = '"';
	d = escape(d, (const uint8_t *)s, len);
	*d++ = '"';
	value_end(w, d);
}

void jsonw_string_ascii(struct jsonw *w, const char *s, size_t len)
{
	uint8_t *d = value_begin(w, len + 2);

	if (d == NULL)
		return;
	*d++ = '"';
	memcpy(d, s, len);
	d += len;
	*d++ = '"';
	value_end(w, d);
}

void jsonw_string_utf8(struct jsonw *w, const char *s, size_t len)
{
	size_t max = escaped_max(w, len);
	uint8_t *d = value_begin(w, max + 2);

	if (d == NULL)
		return;
	*d++ = '"';
	d = escape_utf8(d, (const uint8_t *)s, len);
	*d++ = '"';
	value_end(w, d);
}

void jsonw_string_open(struct jsonw *w)
{
	uint8_t *d = value_begin(w, 1);

	if (d == NULL)
		return;
	*d++ = '"';
	commit(w, d);
}

void jsonw_string_append(struct jsonw *w, const char *s, size_t len)
{
	size_t max = escaped_max(w, len);
	uint8_t *d = room(w, max);

	if (d == NULL)
		return;
	commit(w, escape(d, (const uint8_t *)s, len));
}

void jsonw_string_append_utf8(struct jsonw *w, const char *s, size_t len)
{
	size_t max = escaped_max(w, len);
	uint8_t *d = room(w, max);

	if (d == NULL)
		return;
	commit(w, escape_utf8(d, (const uint8_t *)s, len));
}

void jsonw_string_close(struct jsonw *w)
{
	uint8_t *d = room(w, 1);

	if (d == NULL)
		return;
	*d++ = '"';
	value_end(w, d);
}

/* Writes v in decimal at d; returns the end. */
static uint8_t *put_u64(uint8_t *d, uint64_t v)
{
	uint8_t tmp[20];
	int n = 0;

	do {
		tmp[n++] = (uint8_t)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*d++ = tmp[--n];
	return d;
}

void jsonw_uint(struct jsonw *w, uint64_t v)
{
	uint8_t *d = value_begin(w, 20);

	if (d == NULL)
		return;
	value_end(w, put_u64(d, v));
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	uint8_t *d = value_begin(w, 21);

	if (d == NULL)
		return;
	if (v < 0) {
		*d++ = '-';
		/* Negate in unsigned arithmetic: -INT64_MIN overflows int64_t. */
		value_end(w, put_u64(d, 0 - (uint64_t)v));
		return;
	}
	value_end(w, put_u64(d, (uint64_t)v));
}

static void literal(struct jsonw *w, const char *s, size_t n)
{
	uint8_t *d = value_begin(w, n);

	if (d == NULL)
		return;
	memcpy(d, s, n);
	value_end(w, d + n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	if (v)
		literal(w, "true", 4);
	else
		literal(w, "false", 5);
}

void jsonw_null(struct jsonw *w)
{
	literal(w, "null", 4);
}

void jsonw_base64(struct jsonw *w, const uint8_t *p, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i = 0, max;
	uint8_t *d;

	if (len > (SIZE_MAX - 16) / 4 * 3) {
		if (!w->err)
			w->err = -ENOMEM;
		return;
	}
	max = (len + 2) / 3 * 4;
	d = value_begin(w, max + 2);
	if (d == NULL)
		return;
	*d++ = '"';
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*d++ = (uint8_t)tab[v >> 18];
		*d++ = (uint8_t)tab[(v >> 12) & 63];
		*d++ = (uint8_t)tab[(v >> 6) & 63];
		*d++ = (uint8_t)tab[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*d++ = (uint8_t)tab[v >> 18];
		*d++ = (uint8_t)tab[(v >> 12) & 63];
		*d++ = '=';
		*d++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*d++ = (uint8_t)tab[v >> 18];
		*d++ = (uint8_t)tab[(v >> 12) & 63];
		*d++ = (uint8_t)tab[(v >> 6) & 63];
		*d++ = '=';
	}
	*d++ = '"';
	value_end(w, d);
}

void jsonw_time_us(struct jsonw *w, int64_t us)
{
	uint8_t *d = value_begin(w, TIME_RFC3339_US_LEN + 3);

	if (d == NULL)
		return;
	*d++ = '"';
	/* Formats in place; the NUL lands on the byte the closing quote
	 * then overwrites, which room() reserved. */
	d += time_format_rfc3339_us((char *)d, us);
	*d++ = '"';
	value_end(w, d);
}

int jsonw_finish(const struct jsonw *w)
{
	if (w->err)
		return w->err;
	return w->depth == 0 ? 0 : -EINVAL;
}

/* ---- civil time -------------------------------------------------------------
 * The day counting works in 400-year eras starting on March 1st, so that
 * the leap day is the last day of the shifted year and every other month
 * length follows from (153 * month + 2) / 5. */

int64_t time_days_from_civil(int y, int m, int d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;                                 /* [0, 399] */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */

	return era * 146097 + doe - 719468;
}

void time_civil_from_days(int64_t days, int *y, int *m, int *d)
{
	/* Nearly every call of a receiver asks for today: remember the last
	 * answer (per thread, so no locking). */
	static _Thread_local int64_t last_days = INT64_MIN;
	static _Thread_local int last_y, last_m, last_d;

	if (days == last_days) {
		*y = last_y;
		*m = last_m;
		*d = last_d;
		return;
	}
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int mon = (int)(mp < 10 ? mp + 3 : mp - 9);

	*d = last_d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = last_m = mon;
	*y = last_y = (int)(yoe + era * 400 + (mon <= 2));
	last_days = days;
}

int time_days_in_month(int y, int m)
{
	static const uint8_t len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m < 1 || m > 12)
		return 0;
	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return len[m - 1];
}

static const char digits2[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static inline char *put2(char *d, int v)
{
	memcpy(d, digits2 + 2 * v, 2);
	return d + 2;
}

size_t time_format_rfc3339_us(char *dst, int64_t us)
{
	/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in µs. */
	const int64_t min_us = -62167219200LL * 1000000;
	const int64_t max_us = 253402300799LL * 1000000 + 999999;
	int64_t secs, frac, days, sod;
	int y, m, d;
	char *p = dst;

	if (us < min_us)
		us = min_us;
	else if (us > max_us)
		us = max_us;
	secs = us / 1000000;
	frac = us % 1000000;
	if (frac < 0) {   /* C division truncates; we want the floor */
		frac += 1000000;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	time_civil_from_days(days, &y, &m, &d);
	p = put2(p, y / 100);
	p = put2(p, y % 100);
	*p++ = '-';
	p = put2(p, m);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, (int)(sod / 3600));
	*p++ = ':';
	p = put2(p, (int)(sod / 60 % 60));
	*p++ = ':';
	p = put2(p, (int)(sod % 60));
	*p++ = '.';
	p = put2(p, (int)(frac / 10000));
	p = put2(p, (int)(frac / 100 % 100));
	p = put2(p, (int)(frac % 100));
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - dst);
}
