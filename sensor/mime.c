/* mime: streaming MIME parser (mime.h). */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "mail_util.h"
#include "mime.h"

enum cte { CTE_IDENTITY, CTE_BASE64, CTE_QP };
enum mstate { ST_HDR, ST_BODY, ST_DEAD };

#define BND_MAX 70     /* RFC 2046 5.1.1: 1 to 70 characters */

struct mime {
	struct an_session *s;
	const struct mime_ops *ops;
	void *ctx;
	enum mstate st;
	unsigned nb;                          /* boundaries open */
	char bnd[MIME_DEPTH_MAX][BND_MAX];
	uint8_t bnd_len[MIME_DEPTH_MAX];
	uint32_t parts;
	/* The entity whose header is being read, or whose body is open. */
	char ctype[80];
	char filename[256];
	bool fn_from_disp;
	char boundary[BND_MAX];
	uint8_t boundary_len;
	enum cte cte;
	/* The header field being unfolded. */
	uint8_t hdr[MIME_HEADER_MAX];
	size_t hdr_len;
	bool hdr_cut;
	/* Body. */
	bool leaf;                            /* body lines go to the open part */
	bool line_start;                      /* the next piece starts a line */
	bool pending_crlf;                    /* a line end not yet known to be content */
	bool b64_bad;                         /* counted once per part */
	uint32_t b64_acc;
	int b64_n;
	size_t out_len;
	uint8_t out[2048];
};

static void flush(struct mime *m)
{
	if (m->out_len > 0 && m->leaf)
		m->ops->part_data(m->ctx, m->out, m->out_len);
	m->out_len = 0;
}

static void emit(struct mime *m, const uint8_t *d, size_t len)
{
	while (len > 0) {
		size_t room = sizeof(m->out) - m->out_len, take = len < room ? len : room;

		memcpy(m->out + m->out_len, d, take);
		m->out_len += take;
		d += take;
		len -= take;
		if (m->out_len == sizeof(m->out))
			flush(m);
	}
}

static void emit_byte(struct mime *m, uint8_t c)
{
	emit(m, &c, 1);
}

/* ---- header fields and their parameters (RFC 2045 5.1) ---------------- */

static bool is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies a parameter value starting at v[i] into out (cap bytes,
 * NUL-terminated) and returns its length: a quoted string loses its
 * quotes and backslashes; an extended value (RFC 2231 "key*") loses its
 * charset'language' prefix and has its %XX decoded. */
static int param_value(const uint8_t *v, size_t len, size_t i, bool ext, char *out, size_t cap)
{
	size_t o = 0, j, st = i, q = 0;

	if (i < len && v[i] == '"') {
		for (i++; i < len && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < len)
				i++;
			if (o + 1 < cap)
				out[o++] = (char)v[i];
		}
		out[o] = '\0';
		return (int)o;
	}
	while (i < len && v[i] != ';' && !is_ws(v[i])) {
		if (ext && v[i] == '\'' && ++q == 2)
			st = i + 1;
		i++;
	}
	for (j = st; j < i; j++) {
		uint8_t c = v[j];

		if (ext && c == '%' && j + 2 < i && hexval(v[j + 1]) >= 0 && hexval(v[j + 2]) >= 0) {
			c = (uint8_t)(hexval(v[j + 1]) << 4 | hexval(v[j + 2]));
			j += 2;
		}
		if (c != 0 && o + 1 < cap)
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

/* Copies the value of parameter `key` of a header value (RFC 2045 5.1:
 * "; key=value" after the type) into out (cap bytes, NUL-terminated).
 * Returns its length or -1 when absent. */
static int param(const uint8_t *v, size_t len, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key), i = 0, ks, ke;
	bool q, ext;

	while (i < len) {
		/* The next ';' outside quotes. */
		for (q = false; i < len && (q || v[i] != ';'); i++) {
			if (v[i] == '"')
				q = !q;
			else if (q && v[i] == '\\')
				i++;
		}
		if (i >= len)
			return -1;
		i = mail_skip_ws(v, len, i + 1);
		ks = i;
		while (i < len && v[i] != '=' && v[i] != ';' && !is_ws(v[i]))
			i++;
		ke = i;
		i = mail_skip_ws(v, len, i);
		if (i >= len || v[i] != '=')
			continue;
		i = mail_skip_ws(v, len, i + 1);
		ext = ke > ks && v[ke - 1] == '*';
		if (ext)
			ke--;
		if (ke - ks == klen && strncasecmp((const char *)v + ks, key, klen) == 0)
			return param_value(v, len, i, ext, out, cap);
	}
	return -1;
}

static bool name_is(const uint8_t *n, size_t len, const char *w)
{
	return strlen(w) == len && strncasecmp((const char *)n, w, len) == 0;
}

static void entity_reset(struct mime *m)
{
	m->ctype[0] = '\0';
	m->filename[0] = '\0';
	m->fn_from_disp = false;
	m->boundary_len = 0;
	m->cte = CTE_IDENTITY;
	m->hdr_len = 0;
	m->hdr_cut = false;
}

static void header_field(struct mime *m)
{
	const uint8_t *h = m->hdr, *v;
	size_t len = m->hdr_len, nl, vl;
	const uint8_t *colon;
	char tmp[256];
	int n;

	if (len == 0)
		return;
	colon = memchr(h, ':', len);
	m->hdr_len = 0;
	m->hdr_cut = false;
	if (colon == NULL) {
		an_weird(m->s, "mime_bad_header");
		return;
	}
	nl = (size_t)(colon - h);
	while (nl > 0 && is_ws(h[nl - 1]))
		nl--;
	v = colon + 1;
	vl = len - (size_t)(v - h);
	while (vl > 0 && is_ws(*v)) {
		v++;
		vl--;
	}
	while (vl > 0 && is_ws(v[vl - 1]))
		vl--;
	if (m->ops->header != NULL)
		m->ops->header(m->ctx, m->nb, (const char *)h, nl, v, vl);
	if (name_is(h, nl, "content-type")) {
		size_t i = 0, o = 0;

		while (i < vl && v[i] != ';' && !is_ws(v[i])) {
			if (o + 1 < sizeof(m->ctype)) {
				uint8_t c = v[i];

				m->ctype[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			}
			i++;
		}
		m->ctype[o] = '\0';
		n = param(v, vl, "boundary", tmp, sizeof(tmp));
		if (n > 0) {
			if (n > BND_MAX) {
				an_weird(m->s, "mime_boundary_too_long");
				n = BND_MAX;
			}
			memcpy(m->boundary, tmp, (size_t)n);
			m->boundary_len = (uint8_t)n;
		}
		if (!m->fn_from_disp && param(v, vl, "name", tmp, sizeof(tmp)) > 0)
			mime_decode_words((const uint8_t *)tmp, strlen(tmp), m->filename,
					  sizeof(m->filename));
	} else if (name_is(h, nl, "content-transfer-encoding")) {
		if (vl >= 6 && strncasecmp((const char *)v, "base64", 6) == 0)
			m->cte = CTE_BASE64;
		else if (vl >= 16 && strncasecmp((const char *)v, "quoted-printable", 16) == 0)
			m->cte = CTE_QP;
		else
			m->cte = CTE_IDENTITY;
	} else if (name_is(h, nl, "content-disposition")) {
		if (param(v, vl, "filename", tmp, sizeof(tmp)) > 0) {
			mime_decode_words((const uint8_t *)tmp, strlen(tmp), m->filename,
					  sizeof(m->filename));
			m->fn_from_disp = true;
		}
	}
}

static void part_open(struct mime *m)
{
	struct mime_part p = {
		.index = ++m->parts,
		.level = m->nb,
		.content_type = m->ctype,
		.filename = m->filename[0] ? m->filename : NULL,
	};

	m->leaf = true;
	m->pending_crlf = false;
	m->b64_acc = 0;
	m->b64_n = 0;
	m->b64_bad = false;
	m->out_len = 0;
	m->ops->part_begin(m->ctx, &p);
}

static void b64_tail(struct mime *m)
{
	if (m->b64_n >= 2) {
		uint32_t acc = m->b64_acc << (6 * (4 - m->b64_n));

		emit_byte(m, (uint8_t)(acc >> 16));
		if (m->b64_n == 3)
			emit_byte(m, (uint8_t)(acc >> 8));
	}
	m->b64_acc = 0;
	m->b64_n = 0;
}

static void part_close(struct mime *m, bool complete)
{
	if (!m->leaf)
		return;
	if (m->cte == CTE_BASE64)
		b64_tail(m);
	flush(m);
	m->leaf = false;
	m->ops->part_end(m->ctx, complete);
}

static void headers_done(struct mime *m)
{
	header_field(m);
	if (strncmp(m->ctype, "multipart/", 10) == 0 && m->boundary_len > 0) {
		if (m->nb < MIME_DEPTH_MAX) {
			memcpy(m->bnd[m->nb], m->boundary, m->boundary_len);
			m->bnd_len[m->nb] = m->boundary_len;
			m->nb++;
			m->st = ST_BODY;
			m->leaf = false;        /* the preamble is dropped */
			return;
		}
		an_weird(m->s, "mime_too_deep");
	}
	m->st = ST_BODY;
	part_open(m);
}

static void hdr_append(struct mime *m, const uint8_t *d, size_t len)
{
	size_t room = sizeof(m->hdr) - m->hdr_len;

	if (len > room) {
		if (!m->hdr_cut)
			an_weird(m->s, "mime_header_too_long");
		m->hdr_cut = true;
		len = room;
	}
	memcpy(m->hdr + m->hdr_len, d, len);
	m->hdr_len += len;
}

static void header_line(struct mime *m, const uint8_t *line, size_t len, bool eol)
{
	if (!m->line_start) {
		hdr_append(m, line, len);
	} else if (len == 0 && eol) {
		headers_done(m);
	} else if (line[0] == ' ' || line[0] == '\t') {
		hdr_append(m, line, len);       /* folded: the CRLF goes, the blank stays */
	} else {
		header_field(m);
		hdr_append(m, line, len);
	}
}

/* ---- body ------------------------------------------------------------- */

static void decode_b64(struct mime *m, const uint8_t *d, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int v = mail_b64_value(d[i]);

		if (v < 0) {
			if (d[i] == '=') {
				b64_tail(m);
			} else if (!is_ws(d[i]) && !m->b64_bad) {
				an_weird(m->s, "mime_bad_base64");
				m->b64_bad = true;
			}
			continue;
		}
		m->b64_acc = m->b64_acc << 6 | (uint32_t)v;
		if (++m->b64_n == 4) {
			uint8_t o[3] = { (uint8_t)(m->b64_acc >> 16), (uint8_t)(m->b64_acc >> 8),
					 (uint8_t)m->b64_acc };

			emit(m, o, 3);
			m->b64_acc = 0;
			m->b64_n = 0;
		}
	}
}

static void decode_qp(struct mime *m, const uint8_t *d, size_t len, bool eol)
{
	bool soft = false;
	size_t i;

	if (m->pending_crlf)
		emit(m, (const uint8_t *)"\r\n", 2);
	m->pending_crlf = false;
	if (eol) {
		/* Transport padding (RFC 2045 6.7 rule 3) goes. */
		while (len > 0 && (d[len - 1] == ' ' || d[len - 1] == '\t'))
			len--;
		if (len > 0 && d[len - 1] == '=') {
			soft = true;
			len--;
		}
	}
	for (i = 0; i < len; i++) {
		if (d[i] == '=' && i + 2 < len && hexval(d[i + 1]) >= 0 &&
		    hexval(d[i + 2]) >= 0) {
			emit_byte(m, (uint8_t)(hexval(d[i + 1]) << 4 | hexval(d[i + 2])));
			i += 2;
		} else {
			emit_byte(m, d[i]);
		}
	}
	m->pending_crlf = eol && !soft;
}

static void decode_identity(struct mime *m, const uint8_t *d, size_t len, bool eol)
{
	if (m->pending_crlf)
		emit(m, (const uint8_t *)"\r\n", 2);
	emit(m, d, len);
	m->pending_crlf = eol;
}

/* A delimiter line "--boundary" or "--boundary--" of an open multipart?
 * Returns its level + 1 (0: none); *close for the close delimiter. */
static unsigned delimiter(const struct mime *m, const uint8_t *line, size_t len, bool *close)
{
	unsigned k;

	if (len < 3 || line[0] != '-' || line[1] != '-')
		return 0;
	for (k = m->nb; k > 0; k--) {
		size_t bl = m->bnd_len[k - 1], i;

		if (len - 2 < bl || memcmp(line + 2, m->bnd[k - 1], bl) != 0)
			continue;
		i = 2 + bl;
		*close = len - i >= 2 && line[i] == '-' && line[i + 1] == '-';
		if (*close)
			i += 2;
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			return k;
	}
	return 0;
}

static void body_line(struct mime *m, const uint8_t *line, size_t len, bool eol)
{
	bool close = false;
	unsigned k = m->line_start && eol ? delimiter(m, line, len, &close) : 0;

	if (k > 0) {
		part_close(m, true);
		if (k < m->nb) {
			an_weird(m->s, "mime_boundary_missing");
			m->nb = k;
		}
		if (close) {
			m->nb = k - 1;  /* the epilogue follows: dropped */
		} else {
			m->st = ST_HDR;
			entity_reset(m);
		}
		return;
	}
	if (!m->leaf)
		return;
	switch (m->cte) {
	case CTE_BASE64:
		decode_b64(m, line, len);
		break;
	case CTE_QP:
		decode_qp(m, line, len, eol);
		break;
	default:
		decode_identity(m, line, len, eol);
		break;
	}
	flush(m);
}

/* ---- API -------------------------------------------------------------- */

int mime_create(struct mime **out, struct an_session *s, const struct mime_ops *ops, void *ctx)
{
	struct mime *m = an_alloc(s, sizeof(*m));

	*out = NULL;
	if (m == NULL)
		return -ENOMEM;
	memset(m, 0, sizeof(*m));
	m->s = s;
	m->ops = ops;
	m->ctx = ctx;
	m->st = ST_HDR;
	m->line_start = true;
	*out = m;
	return 0;
}

void mime_line(struct mime *m, const uint8_t *line, size_t len, bool eol)
{
	switch (m->st) {
	case ST_HDR:
		header_line(m, line, len, eol);
		break;
	case ST_BODY:
		body_line(m, line, len, eol);
		break;
	case ST_DEAD:
		break;
	}
	m->line_start = eol;
}

void mime_gap(struct mime *m, uint64_t len)
{
	if (m->leaf) {
		flush(m);
		m->ops->part_gap(m->ctx, len);
		part_close(m, false);
	}
	m->st = ST_DEAD;
}

void mime_finish(struct mime *m)
{
	if (m == NULL)
		return;
	if (m->st == ST_HDR) {
		/* A message that ended inside a header has no body: its leaf
		 * is still a (empty) part, as for a header-only message. */
		if (m->nb == 0 && m->parts == 0)
			headers_done(m);
		else
			header_field(m);
	}
	if (m->nb > 0 && m->st != ST_DEAD)
		an_weird(m->s, "mime_boundary_missing");
	if (m->nb == 0 && m->leaf && m->pending_crlf)
		emit(m, (const uint8_t *)"\r\n", 2);  /* a single part's last line end is its own */
	part_close(m, m->nb == 0);
	memset(m->hdr, 0, sizeof(m->hdr));
	an_free(m->s, m, sizeof(*m));
}

uint32_t mime_parts(const struct mime *m)
{
	return m->parts;
}

/* ---- RFC 2047 encoded-words ------------------------------------------- */

static size_t put(char *out, size_t o, size_t cap, uint8_t c)
{
	if (c != 0 && o + 1 < cap)
		out[o++] = (char)c;
	return o;
}

/* Decodes one encoded-word at in[0..len) ("=?cs?E?text?="); returns the
 * bytes it spans (0: not a word we decode) and appends its text. */
static size_t word(const uint8_t *in, size_t len, char *out, size_t *o, size_t cap)
{
	const uint8_t *q1, *q2, *end;
	size_t cl, i;
	bool latin1;
	uint8_t enc;

	if (len < 8 || in[0] != '=' || in[1] != '?')
		return 0;
	q1 = memchr(in + 2, '?', len - 2);
	if (q1 == NULL || (size_t)(q1 - in) + 3 >= len || q1[2] != '?')
		return 0;
	enc = q1[1] | 0x20;
	q2 = q1 + 2;
	end = NULL;
	for (i = (size_t)(q2 - in) + 1; i + 1 < len; i++)
		if (in[i] == '?' && in[i + 1] == '=') {
			end = in + i;
			break;
		}
	if (end == NULL || (enc != 'b' && enc != 'q'))
		return 0;
	cl = (size_t)(q1 - (in + 2));
	{
		const uint8_t *star = memchr(in + 2, '*', cl);   /* RFC 2231 language */

		if (star != NULL)
			cl = (size_t)(star - (in + 2));
	}
	latin1 = (cl == 10 && strncasecmp((const char *)in + 2, "iso-8859-1", 10) == 0);
	if (!latin1 && !(cl == 5 && strncasecmp((const char *)in + 2, "utf-8", 5) == 0) &&
	    !(cl == 8 && strncasecmp((const char *)in + 2, "us-ascii", 8) == 0))
		return 0;
	{
		const uint8_t *t = q2 + 1;
		size_t tl = (size_t)(end - t), j;
		uint8_t dec[256];
		int n = 0;

		if (enc == 'b') {
			n = tl <= 340 ? mail_b64_decode(t, tl, dec, sizeof(dec)) : -1;
			if (n < 0)
				return 0;
		} else {
			for (j = 0; j < tl && (size_t)n < sizeof(dec); j++) {
				if (t[j] == '_') {
					dec[n++] = ' ';
				} else if (t[j] == '=' && j + 2 < tl && hexval(t[j + 1]) >= 0 &&
					   hexval(t[j + 2]) >= 0) {
					dec[n++] = (uint8_t)(hexval(t[j + 1]) << 4 | hexval(t[j + 2]));
					j += 2;
				} else {
					dec[n++] = t[j];
				}
			}
		}
		for (j = 0; j < (size_t)n; j++) {
			if (latin1 && dec[j] >= 0x80) {
				*o = put(out, *o, cap, (uint8_t)(0xc0 | dec[j] >> 6));
				*o = put(out, *o, cap, (uint8_t)(0x80 | (dec[j] & 0x3f)));
			} else {
				*o = put(out, *o, cap, dec[j]);
			}
		}
	}
	return (size_t)(end - in) + 2;
}

size_t mime_decode_words(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t i = 0, o = 0;
	bool after_word = false;

	if (cap == 0)
		return 0;
	while (i < len) {
		size_t n = word(in + i, len - i, out, &o, cap), j;

		if (n > 0) {
			i += n;
			after_word = true;
			continue;
		}
		if (after_word && (in[i] == ' ' || in[i] == '\t')) {
			/* Blanks between two encoded-words go (RFC 2047 6.2). */
			j = i;
			while (j < len && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (j + 1 < len && in[j] == '=' && in[j + 1] == '?') {
				i = j;
				continue;
			}
		}
		after_word = false;
		o = put(out, o, cap, in[i]);
		i++;
	}
	out[o] = '\0';
	return o;
}
