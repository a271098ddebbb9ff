/* mail_util: line splitting, record fields and base64 for the line
 * protocols' analyzers (mail_util.h). */
#include <errno.h>
#include <string.h>

#include "mail_util.h"

size_t mail_line_feed(struct mail_line *l, struct an_session *s, const uint8_t *d, size_t len,
		      mail_line_fn fn, void *ctx)
{
	size_t i = 0;

	while (i < len) {
		const uint8_t *lf = memchr(d + i, '\n', len - i);
		size_t n = lf ? (size_t)(lf - (d + i)) : len - i;
		int stop = 0;

		if (l->resync) {
			if (lf == NULL)
				return len;
			l->resync = false;
			i += n + 1;
			continue;
		}
		if (l->len == 0 && lf != NULL && n <= MAIL_LINE_MAX) {
			/* The whole line is in the input: no copy. */
			size_t ln = n;

			if (ln > 0 && d[i + ln - 1] == '\r')
				ln--;
			stop = fn(ctx, d + i, ln, true);
			i += n + 1;
			if (stop)
				return i;
			continue;
		}
		if (l->buf == NULL) {
			l->buf = an_alloc(s, MAIL_LINE_MAX);
			if (l->buf == NULL) {
				/* No memory: lose this line, pick up at the next. */
				an_weird(s, "line_no_memory");
				l->resync = true;
				continue;
			}
		}
		while (n > 0) {
			size_t room = MAIL_LINE_MAX - l->len, take = n < room ? n : room;

			memcpy(l->buf + l->len, d + i, take);
			l->len += take;
			i += take;
			n -= take;
			if (l->len == MAIL_LINE_MAX && (n > 0 || lf == NULL)) {
				/* Full and the line goes on: hand out a piece. A
				 * final CR may belong to the CRLF; it is kept with
				 * the piece, an accepted inaccuracy for a line this
				 * long. */
				an_weird(s, "line_too_long");
				stop = fn(ctx, l->buf, l->len, false);
				memset(l->buf, 0, l->len);
				l->len = 0;
				if (stop)
					return i;
			}
		}
		if (lf == NULL)
			return len;
		{
			size_t ln = l->len;

			if (ln > 0 && l->buf[ln - 1] == '\r')
				ln--;
			i++;    /* the LF */
			stop = fn(ctx, l->buf, ln, true);
			memset(l->buf, 0, l->len);
			l->len = 0;
			if (stop)
				return i;
		}
	}
	return len;
}

void mail_line_flush(struct mail_line *l, mail_line_fn fn, void *ctx)
{
	if (l->len == 0 || l->buf == NULL)
		return;
	fn(ctx, l->buf, l->len, true);
	memset(l->buf, 0, l->len);
	l->len = 0;
}

void mail_line_gap(struct mail_line *l)
{
	if (l->buf != NULL)
		memset(l->buf, 0, l->len);
	l->len = 0;
	l->resync = true;
}

void mail_line_free(struct mail_line *l, struct an_session *s)
{
	if (l->buf != NULL) {
		memset(l->buf, 0, MAIL_LINE_MAX);
		an_free(s, l->buf, MAIL_LINE_MAX);
	}
	memset(l, 0, sizeof(*l));
}

/* ---- record fields ---------------------------------------------------- */

static int rec_grow(struct mail_rec *r, struct an_session *s, size_t len)
{
	if (r->n == r->ncap) {
		uint32_t nc = r->ncap ? r->ncap * 2 : 16;
		void *p;

		if (nc > MAIL_REC_ITEMS_MAX)
			nc = MAIL_REC_ITEMS_MAX;
		if (r->n >= nc)
			return -ENOBUFS;
		p = an_realloc(s, r->items, r->ncap * sizeof(*r->items), nc * sizeof(*r->items));
		if (p == NULL)
			return -ENOMEM;
		r->items = p;
		r->ncap = nc;
	}
	if (r->used + len > r->cap) {
		size_t nc = r->cap ? r->cap : 512;
		void *p;

		while (nc < r->used + len)
			nc *= 2;
		if (nc > MAIL_REC_BYTES_MAX)
			nc = MAIL_REC_BYTES_MAX;
		if (r->used + len > nc)
			return -ENOBUFS;
		p = an_realloc(s, r->arena, r->cap, nc);
		if (p == NULL)
			return -ENOMEM;
		r->arena = p;
		r->cap = (uint32_t)nc;
	}
	return 0;
}

int mail_rec_add(struct mail_rec *r, struct an_session *s, uint8_t field, const void *v, size_t len)
{
	int rc;

	if (len > 1024)
		len = 1024;
	rc = rec_grow(r, s, len);
	if (rc != 0)
		return rc;
	if (len > 0)
		memcpy(r->arena + r->used, v, len);     /* arena is allocated: len > 0 */
	r->items[r->n].field = field;
	r->items[r->n].off = r->used;
	r->items[r->n].len = (uint32_t)len;
	r->n++;
	r->used += (uint32_t)len;
	return 0;
}

int mail_rec_set(struct mail_rec *r, struct an_session *s, uint8_t field, const void *v, size_t len)
{
	uint32_t i, j = 0;

	for (i = 0; i < r->n; i++)
		if (r->items[i].field != field)
			r->items[j++] = r->items[i];
	r->n = j;
	return mail_rec_add(r, s, field, v, len);
}

const struct mail_item *mail_rec_get(const struct mail_rec *r, uint8_t field)
{
	uint32_t i;

	for (i = r->n; i > 0; i--)
		if (r->items[i - 1].field == field)
			return &r->items[i - 1];
	return NULL;
}

uint32_t mail_rec_count(const struct mail_rec *r, uint8_t field)
{
	uint32_t i, c = 0;

	for (i = 0; i < r->n; i++)
		c += r->items[i].field == field;
	return c;
}

void mail_rec_write_str(const struct mail_rec *r, struct jsonw *w, uint8_t field, const char *key)
{
	const struct mail_item *it = mail_rec_get(r, field);

	if (it != NULL)
		jsonw_kv_str(w, key, mail_rec_bytes(r, it), it->len);
}

void mail_rec_write_list(const struct mail_rec *r, struct jsonw *w, uint8_t field,
			 const char *key)
{
	uint32_t i;

	if (mail_rec_get(r, field) == NULL)
		return;
	jsonw_key(w, key);
	jsonw_array_open(w);
	for (i = 0; i < r->n; i++)
		if (r->items[i].field == field)
			jsonw_string(w, mail_rec_bytes(r, &r->items[i]), r->items[i].len);
	jsonw_array_close(w);
}

void mail_rec_reset(struct mail_rec *r)
{
	r->n = 0;
	r->used = 0;
}

void mail_rec_free(struct mail_rec *r, struct an_session *s)
{
	if (r->arena != NULL)
		an_free(s, r->arena, r->cap);
	if (r->items != NULL)
		an_free(s, r->items, r->ncap * sizeof(*r->items));
	memset(r, 0, sizeof(*r));
}

/* ---- base64 and words ------------------------------------------------- */

int mail_b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int mail_b64_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int n = 0;
	bool pad = false;

	for (i = 0; i < len; i++) {
		int v;

		if (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n')
			continue;
		if (in[i] == '=') {
			pad = true;
			continue;
		}
		v = mail_b64_value(in[i]);
		if (v < 0 || pad)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		if (++n == 4) {
			if (o + 3 > cap)
				return -ENOBUFS;
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
			out[o++] = (uint8_t)acc;
			acc = 0;
			n = 0;
		}
	}
	if (n == 1)
		return -EINVAL;
	if (n > 1) {
		if (o + (size_t)(n - 1) > cap)
			return -ENOBUFS;
		acc <<= 6 * (4 - n);
		out[o++] = (uint8_t)(acc >> 16);
		if (n == 3)
			out[o++] = (uint8_t)(acc >> 8);
	}
	return (int)o;
}

int mail_sasl_user(const uint8_t *b64, size_t len, bool plain, uint8_t *user, size_t cap)
{
	uint8_t dec[1536];
	const uint8_t *u = dec, *nul1, *nul2;
	int n = mail_b64_decode(b64, len, dec, sizeof(dec)), rc;
	size_t ulen;

	if (n < 0)
		return n;
	ulen = (size_t)n;
	if (plain) {
		nul1 = memchr(dec, 0, (size_t)n);
		nul2 = nul1 ? memchr(nul1 + 1, 0, (size_t)n - (size_t)(nul1 + 1 - dec)) : NULL;
		if (nul2 == NULL) {
			rc = -EINVAL;
			goto out;
		}
		u = nul1 + 1;
		ulen = (size_t)(nul2 - u);
		if (ulen == 0) {
			u = dec;
			ulen = (size_t)(nul1 - dec);
		}
	}
	if (ulen > cap) {
		rc = -ENOBUFS;
		goto out;
	}
	memcpy(user, u, ulen);
	rc = (int)ulen;
out:
	explicit_bzero(dec, sizeof(dec));
	return rc;
}

static uint8_t upper(uint8_t c)
{
	return c >= 'a' && c <= 'z' ? (uint8_t)(c - 32) : c;
}

bool mail_word_is(const uint8_t *line, size_t len, const char *w)
{
	size_t n = strlen(w), i;

	if (len < n)
		return false;
	for (i = 0; i < n; i++)
		if (upper(line[i]) != (uint8_t)w[i])
			return false;
	return len == n || line[n] == ' ' || line[n] == '\t';
}

size_t mail_word_len(const uint8_t *line, size_t len)
{
	size_t i = 0;

	while (i < len && i < 16 && line[i] != ' ' && line[i] != '\t')
		i++;
	return i;
}

size_t mail_skip_ws(const uint8_t *line, size_t len, size_t i)
{
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i;
}
