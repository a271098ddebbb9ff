/* an_smtp: the SMTP analyzer (RFC 5321), records "smtp" as Zeek's
 * smtp.log (base/protocols/smtp/main.zeek, SMTP::Info), one per mail
 * transaction.
 *
 * Commands and replies are matched through a queue of pending commands,
 * so pipelining (RFC 2920) keeps them paired; a multi-line reply
 * (RFC 5321 4.2.1, "250-...") counts once, at its last line. The message
 * (DATA, ended by CRLF.CRLF and dot-unstuffed per RFC 5321 4.5.2, or
 * BDAT chunks, RFC 3030) goes to mime.c: the header fields fill the
 * record, every leaf part becomes a files record (source "SMTP").
 *
 * Credentials: AUTH PLAIN (RFC 4616) and AUTH LOGIN responses, on the
 * AUTH line or the next ones (RFC 4954), give the user name for a P0
 * notice; everything typed after STARTTLS is never seen (the analyzer
 * detaches when the server accepts it: the rest is TLS), so every AUTH
 * it sees is cleartext. The password is never kept: decoded on the stack
 * and wiped, the line copy wiped by mail_line.
 *
 * A transaction's record is written when the reply to its end of data
 * (".", or BDAT LAST) arrives, on RSET after MAIL, when a new MAIL
 * starts while the previous message's reply is pending (pipelined), or
 * at the flow's end. A tail without MAIL, RCPT or data (e.g. only QUIT)
 * is not written, except that a session with no record at all gets one
 * (for helo and tls).
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "files.h"
#include "mail_util.h"
#include "mime.h"

enum field {
	F_MAILFROM = 1, F_RCPTTO, F_DATE, F_FROM, F_TO, F_CC, F_REPLY_TO, F_MSG_ID,
	F_IN_REPLY_TO, F_SUBJECT, F_XOIP, F_RCVD1, F_RCVD2, F_LAST_REPLY, F_PATH,
	F_USER_AGENT, F_FUIDS,
};

enum cmd {
	C_OTHER, C_CONNECT, C_HELO, C_MAIL, C_RCPT, C_DATA, C_DOT, C_BDAT, C_BDAT_LAST,
	C_RSET, C_QUIT, C_STARTTLS, C_AUTH,
};

enum mode { M_CMD, M_DATA, M_BDAT };
enum auth { A_NONE, A_PLAIN, A_LOGIN_USER, A_LOGIN_PASS, A_OTHER };

#define QMAX 32
#define HELO_MAX 256

struct smtp {
	struct an_session *s;
	uint64_t ts;                  /* of the data being parsed */
	struct mail_line ol, rl, bl;  /* commands, replies, BDAT content */
	uint8_t q[QMAX];              /* commands awaiting their reply */
	unsigned qh, qn;
	enum mode mode;
	enum auth auth;
	uint64_t bdat_left;
	bool bdat_last;
	bool detached;
	bool ending;
	bool cmd_skip;                /* the rest of an overlong command line */
	bool line_start;              /* message: the next piece starts a line */
	bool tls;
	/* The transaction. */
	bool open;
	bool done;                    /* its message ended; waiting for the reply */
	bool content;                 /* MAIL, RCPT, data or tls: worth a record */
	uint64_t rec_ts;
	uint32_t written;
	unsigned received;
	struct mail_rec tx;
	struct mime *mime;
	struct an_file *file;
	size_t helo_len;
	char helo[HELO_MAX];
};

/* ---- the record ------------------------------------------------------- */

static void tx_open(struct smtp *t)
{
	if (t->open)
		return;
	t->open = true;
	t->done = false;
	t->content = false;
	t->received = 0;
	t->rec_ts = t->ts;
	mail_rec_reset(&t->tx);
}

static void add(struct smtp *t, enum field f, const void *v, size_t len, bool replace)
{
	int rc = replace ? mail_rec_set(&t->tx, t->s, f, v, len) :
			   mail_rec_add(&t->tx, t->s, f, v, len);

	if (rc != 0)
		an_weird(t->s, "smtp_record_full");
}

static void addr_str(const uint8_t *a, uint8_t ver, char *out, size_t cap)
{
	if (inet_ntop(ver == 6 ? AF_INET6 : AF_INET, a, out, (socklen_t)cap) == NULL)
		out[0] = '\0';
}

static void tx_write(struct smtp *t)
{
	const struct conn *c = an_conn(t->s);
	struct jsonw *w;
	char a[64];

	w = an_record_begin(t->s, "smtp", t->rec_ts);
	if (w != NULL) {
		jsonw_kv_uint(w, "trans_depth", ++t->written);
		if (t->helo_len > 0)
			jsonw_kv_str(w, "helo", t->helo, t->helo_len);
		mail_rec_write_str(&t->tx, w, F_MAILFROM, "mailfrom");
		mail_rec_write_list(&t->tx, w, F_RCPTTO, "rcptto");
		mail_rec_write_str(&t->tx, w, F_DATE, "date");
		mail_rec_write_str(&t->tx, w, F_FROM, "from");
		mail_rec_write_list(&t->tx, w, F_TO, "to");
		mail_rec_write_list(&t->tx, w, F_CC, "cc");
		mail_rec_write_str(&t->tx, w, F_REPLY_TO, "reply_to");
		mail_rec_write_str(&t->tx, w, F_MSG_ID, "msg_id");
		mail_rec_write_str(&t->tx, w, F_IN_REPLY_TO, "in_reply_to");
		mail_rec_write_str(&t->tx, w, F_SUBJECT, "subject");
		mail_rec_write_str(&t->tx, w, F_XOIP, "x_originating_ip");
		mail_rec_write_str(&t->tx, w, F_RCVD1, "first_received");
		mail_rec_write_str(&t->tx, w, F_RCVD2, "second_received");
		mail_rec_write_str(&t->tx, w, F_LAST_REPLY, "last_reply");
		/* Zeek's path starts with the session's own hops. */
		jsonw_key(w, "path");
		jsonw_array_open(w);
		addr_str(c->resp_h, c->ip_version, a, sizeof(a));
		jsonw_cstr(w, a);
		addr_str(c->orig_h, c->ip_version, a, sizeof(a));
		jsonw_cstr(w, a);
		for (uint32_t i = 0; i < t->tx.n; i++)
			if (t->tx.items[i].field == F_PATH)
				jsonw_string(w, mail_rec_bytes(&t->tx, &t->tx.items[i]),
					     t->tx.items[i].len);
		jsonw_array_close(w);
		mail_rec_write_str(&t->tx, w, F_USER_AGENT, "user_agent");
		jsonw_kv_bool(w, "tls", t->tls);
		mail_rec_write_list(&t->tx, w, F_FUIDS, "fuids");
		an_record_end(t->s, SPOOL_P2);
	}
	t->open = false;
	t->done = false;
	mail_rec_reset(&t->tx);
}

/* ---- the message (mime callbacks) ------------------------------------- */

/* Splits an address list at commas outside quotes and angle brackets. */
static void add_list(struct smtp *t, enum field f, const uint8_t *v, size_t len)
{
	size_t i = 0, st = 0;
	bool q = false;
	int ang = 0;

	for (i = 0; i <= len; i++) {
		if (i < len) {
			if (v[i] == '"')
				q = !q;
			else if (!q && v[i] == '<')
				ang++;
			else if (!q && v[i] == '>' && ang > 0)
				ang--;
			if (q || ang > 0 || v[i] != ',')
				continue;
		}
		{
			size_t a = mail_skip_ws(v, i, st), b = i;

			while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
				b--;
			if (b > a)
				add(t, f, v + a, b - a, false);
		}
		st = i + 1;
	}
}

/* The IPs of a Received field, from its "[a.b.c.d]" parts. */
static void add_path(struct smtp *t, const uint8_t *v, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const uint8_t *o = memchr(v + i, '[', len - i), *c;
		char tmp[64];
		uint8_t bin[16];
		size_t n;

		if (o == NULL)
			return;
		c = memchr(o, ']', len - (size_t)(o - v));
		if (c == NULL)
			return;
		n = (size_t)(c - o - 1);
		i = (size_t)(c - v) + 1;
		if (n == 0 || n >= sizeof(tmp))
			continue;
		memcpy(tmp, o + 1, n);
		tmp[n] = '\0';
		if (n > 5 && strncasecmp(tmp, "IPv6:", 5) == 0)
			memmove(tmp, tmp + 5, n - 4);
		if (inet_pton(AF_INET, tmp, bin) == 1 || inet_pton(AF_INET6, tmp, bin) == 1)
			add(t, F_PATH, tmp, strlen(tmp), false);
	}
}

static void on_header(void *ctx, unsigned level, const char *name, size_t nl, const uint8_t *v,
		      size_t vl)
{
	static const struct {
		const char *name;
		enum field f;
	} simple[] = {
		{ "date", F_DATE },         { "from", F_FROM },
		{ "reply-to", F_REPLY_TO }, { "message-id", F_MSG_ID },
		{ "in-reply-to", F_IN_REPLY_TO }, { "user-agent", F_USER_AGENT },
		{ "x-mailer", F_USER_AGENT },
	};
	struct smtp *t = ctx;
	size_t i;

	if (level != 0)
		return;
	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (strlen(simple[i].name) == nl && strncasecmp(name, simple[i].name, nl) == 0) {
			add(t, simple[i].f, v, vl, true);
			return;
		}
	if (nl == 2 && strncasecmp(name, "to", 2) == 0) {
		add_list(t, F_TO, v, vl);
	} else if (nl == 2 && strncasecmp(name, "cc", 2) == 0) {
		add_list(t, F_CC, v, vl);
	} else if (nl == 7 && strncasecmp(name, "subject", 7) == 0) {
		char sub[1024];
		size_t n = mime_decode_words(v, vl, sub, sizeof(sub));

		add(t, F_SUBJECT, sub, n, true);
	} else if (nl == 8 && strncasecmp(name, "received", 8) == 0) {
		t->received++;
		if (t->received == 1)
			add(t, F_RCVD1, v, vl, true);
		else if (t->received == 2)
			add(t, F_RCVD2, v, vl, true);
		add_path(t, v, vl);
	} else if (nl == 16 && strncasecmp(name, "x-originating-ip", 16) == 0) {
		char tmp[64];
		uint8_t bin[16];
		size_t a = 0, b = vl;

		if (b > 0 && v[0] == '[')
			a = 1;
		if (b > a && v[b - 1] == ']')
			b--;
		if (b - a > 0 && b - a < sizeof(tmp)) {
			memcpy(tmp, v + a, b - a);
			tmp[b - a] = '\0';
			if (inet_pton(AF_INET, tmp, bin) == 1 || inet_pton(AF_INET6, tmp, bin) == 1)
				add(t, F_XOIP, tmp, b - a, true);
		}
	}
}

static void on_part_begin(void *ctx, const struct mime_part *p)
{
	struct smtp *t = ctx;
	const char *fuid;

	if (t->file != NULL)
		an_file_close(t->file, false, t->ts);
	t->file = an_file_open(t->s, "SMTP", true, p->index, p->filename,
			       p->content_type[0] ? p->content_type : NULL, UINT64_MAX, t->ts);
	if (t->file != NULL && (fuid = an_file_fuid(t->file)) != NULL && fuid[0] != '\0')
		add(t, F_FUIDS, fuid, strlen(fuid), false);
}

static void on_part_data(void *ctx, const uint8_t *d, size_t len)
{
	struct smtp *t = ctx;

	if (t->file != NULL)
		an_file_data(t->file, d, len);
}

static void on_part_gap(void *ctx, uint64_t len)
{
	struct smtp *t = ctx;

	if (t->file != NULL)
		an_file_gap(t->file, len);
}

static void on_part_end(void *ctx, bool complete)
{
	struct smtp *t = ctx;

	if (t->file != NULL)
		an_file_close(t->file, t->ending, t->ts);
	t->file = NULL;
}

static const struct mime_ops mime_ops = {
	.header = on_header,
	.part_begin = on_part_begin,
	.part_data = on_part_data,
	.part_gap = on_part_gap,
	.part_end = on_part_end,
};

static void msg_line(struct smtp *t, const uint8_t *line, size_t len, bool eol)
{
	if (t->mime == NULL && mime_create(&t->mime, t->s, &mime_ops, t) != 0) {
		an_weird(t->s, "smtp_no_memory");
		return;
	}
	t->content = true;
	mime_line(t->mime, line, len, eol);
}

static void msg_end(struct smtp *t)
{
	mime_finish(t->mime);
	t->mime = NULL;
	t->done = true;
	t->mode = M_CMD;
}

/* ---- commands --------------------------------------------------------- */

static void push(struct smtp *t, enum cmd c)
{
	if (t->qn == QMAX) {
		an_weird(t->s, "smtp_too_many_pending");
		t->qh = (t->qh + 1) % QMAX;
		t->qn--;
	}
	t->q[(t->qh + t->qn) % QMAX] = (uint8_t)c;
	t->qn++;
}

static void notice(struct smtp *t, const char *mech, const uint8_t *b64, size_t len, bool plain)
{
	uint8_t user[256];
	int n = mail_sasl_user(b64, len, plain, user, sizeof(user));

	if (n < 0) {
		an_weird(t->s, "smtp_bad_auth");
		return;
	}
	an_notice_cleartext(t->s, "smtp", mech, user, (size_t)n, t->ts);
	explicit_bzero(user, sizeof(user));
}

/* A line sent while an AUTH exchange is on: a SASL response, never kept. */
static void auth_line(struct smtp *t, const uint8_t *line, size_t len)
{
	bool cancel = len == 1 && line[0] == '*';   /* RFC 4954 4 */

	switch (t->auth) {
	case A_PLAIN:
		if (!cancel)
			notice(t, "AUTH PLAIN", line, len, true);
		t->auth = A_OTHER;
		break;
	case A_LOGIN_USER:
		if (!cancel)
			notice(t, "AUTH LOGIN", line, len, false);
		t->auth = cancel ? A_OTHER : A_LOGIN_PASS;
		break;
	default:
		t->auth = A_OTHER;      /* the password, or another mechanism's data */
		break;
	}
	push(t, C_AUTH);
}

static void cmd_auth(struct smtp *t, const uint8_t *line, size_t len)
{
	size_t i = mail_skip_ws(line, len, 4), m = i, e;
	bool plain, login;

	while (m < len && line[m] != ' ')
		m++;
	plain = mail_word_is(line + i, len - i, "PLAIN");
	login = mail_word_is(line + i, len - i, "LOGIN");
	e = mail_skip_ws(line, len, m);
	push(t, C_AUTH);
	if (plain && e < len) {
		if (!(len - e == 1 && line[e] == '='))
			notice(t, "AUTH PLAIN", line + e, len - e, true);
		t->auth = A_OTHER;
	} else if (plain) {
		t->auth = A_PLAIN;
	} else if (login && e < len) {
		notice(t, "AUTH LOGIN", line + e, len - e, false);
		t->auth = A_LOGIN_PASS;
	} else if (login) {
		t->auth = A_LOGIN_USER;
	} else {
		t->auth = A_OTHER;
	}
}

/* The address of "MAIL FROM:<a>" or "RCPT TO:<a>", without the brackets
 * and the parameters (as Zeek). */
static void cmd_path(struct smtp *t, const uint8_t *line, size_t len, enum field f)
{
	const uint8_t *colon = memchr(line, ':', len), *lt, *gt;
	size_t a, b;

	if (colon == NULL) {
		an_weird(t->s, "smtp_bad_path");
		return;
	}
	a = mail_skip_ws(line, len, (size_t)(colon - line) + 1);
	lt = memchr(line + a, '<', len - a);
	if (lt != NULL && (gt = memchr(lt, '>', len - (size_t)(lt - line))) != NULL) {
		a = (size_t)(lt - line) + 1;
		b = (size_t)(gt - line);
	} else {
		b = a;
		while (b < len && line[b] != ' ')
			b++;
	}
	add(t, f, line + a, b - a, f == F_MAILFROM);
}

static int bdat_line(void *ctx, const uint8_t *line, size_t len, bool eol)
{
	msg_line(ctx, line, len, eol);
	return 0;
}

static int cmd_bdat(struct smtp *t, const uint8_t *line, size_t len)
{
	size_t i = mail_skip_ws(line, len, 4);
	uint64_t n = 0;
	bool digits = false;

	while (i < len && line[i] >= '0' && line[i] <= '9' && n < (1ull << 40)) {
		n = n * 10 + (uint64_t)(line[i++] - '0');
		digits = true;
	}
	i = mail_skip_ws(line, len, i);
	t->bdat_last = mail_word_is(line + i, len - i, "LAST");
	if (!digits) {
		an_weird(t->s, "smtp_bad_bdat");
		push(t, C_OTHER);
		return 0;
	}
	push(t, t->bdat_last ? C_BDAT_LAST : C_BDAT);
	t->content = true;
	t->bdat_left = n;
	t->mode = M_BDAT;
	if (n == 0 && t->bdat_last) {
		mail_line_flush(&t->bl, bdat_line, t);
		msg_end(t);
		return 0;
	}
	return n > 0;           /* raw bytes follow this line */
}

/* While a SASL exchange of another mechanism goes on, a line is a
 * response unless it is a command (base64 has no spaces). */
static bool known_command(const uint8_t *line, size_t len)
{
	static const char *const w[] = { "MAIL", "RCPT", "DATA", "QUIT", "RSET", "NOOP",
					 "EHLO", "HELO", "AUTH", "STARTTLS", "BDAT" };
	size_t i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (mail_word_is(line, len, w[i]))
			return true;
	return false;
}

static int command(struct smtp *t, const uint8_t *line, size_t len)
{
	size_t arg;

	if (t->auth != A_NONE && (t->auth != A_OTHER || !known_command(line, len))) {
		auth_line(t, line, len);
		return 0;
	}
	t->auth = A_NONE;
	tx_open(t);
	if (mail_word_is(line, len, "HELO") || mail_word_is(line, len, "EHLO")) {
		arg = mail_skip_ws(line, len, 4);
		t->helo_len = len - arg < HELO_MAX ? len - arg : HELO_MAX;
		memcpy(t->helo, line + arg, t->helo_len);
		push(t, C_HELO);
	} else if (mail_word_is(line, len, "MAIL")) {
		if (t->done || mail_rec_get(&t->tx, F_MAILFROM) != NULL) {
			/* Pipelined past the last message's reply, or MAIL
			 * again: the previous transaction is over. */
			tx_write(t);
			tx_open(t);
		}
		cmd_path(t, line, len, F_MAILFROM);
		t->content = true;
		push(t, C_MAIL);
	} else if (mail_word_is(line, len, "RCPT")) {
		cmd_path(t, line, len, F_RCPTTO);
		t->content = true;
		push(t, C_RCPT);
	} else if (mail_word_is(line, len, "DATA")) {
		push(t, C_DATA);
		t->mode = M_DATA;
		t->line_start = true;
	} else if (mail_word_is(line, len, "BDAT")) {
		return cmd_bdat(t, line, len);
	} else if (mail_word_is(line, len, "AUTH")) {
		cmd_auth(t, line, len);
	} else if (mail_word_is(line, len, "STARTTLS")) {
		push(t, C_STARTTLS);
	} else if (mail_word_is(line, len, "RSET")) {
		push(t, C_RSET);
	} else if (mail_word_is(line, len, "QUIT")) {
		push(t, C_QUIT);
	} else {
		size_t w = mail_word_len(line, len), i;

		for (i = 0; i < w; i++)
			if (!((line[i] | 0x20) >= 'a' && (line[i] | 0x20) <= 'z'))
				break;
		if (w == 0 || i < w)
			an_weird(t->s, "smtp_bad_command");
		push(t, C_OTHER);
	}
	return 0;
}

static int orig_line(void *ctx, const uint8_t *line, size_t len, bool eol)
{
	struct smtp *t = ctx;

	if (t->mode == M_DATA) {
		if (t->line_start && eol && len == 1 && line[0] == '.') {
			msg_end(t);
			push(t, C_DOT);
			return 0;
		}
		if (t->line_start && len > 0 && line[0] == '.') {
			line++;         /* dot-stuffing, RFC 5321 4.5.2 */
			len--;
		}
		t->line_start = eol;
		msg_line(t, line, len, eol);
		return 0;
	}
	if (t->cmd_skip) {
		t->cmd_skip = !eol;
		return 0;
	}
	t->cmd_skip = !eol;
	return command(t, line, len);
}

/* ---- replies ---------------------------------------------------------- */

static int reply(struct smtp *t, const uint8_t *line, size_t len)
{
	unsigned code = 0;
	enum cmd c = C_OTHER;

	if (len < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9') {
		an_weird(t->s, "smtp_bad_reply");
		return 0;
	}
	if (len > 3 && line[3] == '-')
		return 0;       /* a multi-line reply goes on */
	code = (unsigned)(line[0] - '0') * 100 + (unsigned)(line[1] - '0') * 10 +
	       (unsigned)(line[2] - '0');
	if (t->qn > 0) {
		c = t->q[t->qh];
		t->qh = (t->qh + 1) % QMAX;
		t->qn--;
	} else {
		an_weird(t->s, "smtp_unmatched_reply");
	}
	tx_open(t);
	add(t, F_LAST_REPLY, line, len, true);
	switch (c) {
	case C_STARTTLS:
		if (code == 220) {
			/* RFC 3207: TLS from here on; nothing more to parse. */
			t->tls = true;
			t->content = true;
			t->detached = true;
			an_session_detach(t->s);
			return 1;
		}
		break;
	case C_AUTH:
		if (code != 334)
			t->auth = A_NONE;
		break;
	case C_DATA:
		if (code != 354 && t->mode == M_DATA && t->mime == NULL) {
			/* Refused: the client goes on with commands. */
			t->mode = M_CMD;
		}
		break;
	case C_DOT:
	case C_BDAT_LAST:
		if (t->done)
			tx_write(t);
		break;
	case C_RSET:
		if (mail_rec_get(&t->tx, F_MAILFROM) != NULL)
			tx_write(t);
		break;
	default:
		break;
	}
	return 0;
}

static int resp_line(void *ctx, const uint8_t *line, size_t len, bool eol)
{
	return reply(ctx, line, len);
}

/* ---- the analyzer ----------------------------------------------------- */

static int smtp_init(void *st, struct an_session *s)
{
	struct smtp *t = st;

	t->s = s;
	t->line_start = true;
	push(t, C_CONNECT);
	return 0;
}

static void orig_data(struct smtp *t, const uint8_t *d, size_t len)
{
	while (len > 0 && !t->detached) {
		size_t n;

		if (t->mode == M_BDAT) {
			n = len < t->bdat_left ? len : (size_t)t->bdat_left;
			mail_line_feed(&t->bl, t->s, d, n, bdat_line, t);
			t->bdat_left -= n;
			if (t->bdat_left == 0) {
				t->mode = M_CMD;
				if (t->bdat_last) {
					mail_line_flush(&t->bl, bdat_line, t);
					msg_end(t);
				}
			}
		} else {
			n = mail_line_feed(&t->ol, t->s, d, len, orig_line, t);
		}
		d += n;
		len -= n;
	}
}

static void smtp_data(void *st, struct an_session *s, bool is_orig, const uint8_t *d, size_t len,
		      uint64_t ts_us)
{
	struct smtp *t = st;

	t->ts = ts_us;
	if (t->detached)
		return;
	if (is_orig)
		orig_data(t, d, len);
	else
		mail_line_feed(&t->rl, s, d, len, resp_line, t);
}

static void smtp_gap(void *st, struct an_session *s, bool is_orig, uint64_t len)
{
	struct smtp *t = st;

	if (t->detached)
		return;
	an_weird(s, "smtp_content_gap");
	if (!is_orig) {
		/* The replies lost cannot be matched any more. */
		mail_line_gap(&t->rl);
		t->qn = 0;
		return;
	}
	if (t->mime != NULL)
		mime_gap(t->mime, len);
	if (t->mode == M_BDAT) {
		uint64_t n = len < t->bdat_left ? len : t->bdat_left;

		t->bdat_left -= n;
		mail_line_gap(&t->bl);
		if (t->bdat_left == 0) {
			t->mode = M_CMD;
			if (t->bdat_last)
				msg_end(t);
		}
		if (n == len)
			return;
		/* The gap ran past the chunk into the commands. */
	}
	mail_line_gap(&t->ol);
	t->line_start = true;   /* resync at the next line */
	t->auth = A_NONE;
}

static void smtp_end(void *st, struct an_session *s, uint64_t ts_us)
{
	struct smtp *t = st;

	t->ts = ts_us;
	t->ending = true;
	if (t->mime != NULL) {
		mime_finish(t->mime);
		t->mime = NULL;
		t->done = true;
	}
	if (t->file != NULL)
		an_file_close(t->file, true, ts_us);
	t->file = NULL;
	if (t->open && (t->content || t->done || (t->written == 0 && t->helo_len > 0)))
		tx_write(t);
	mail_line_free(&t->ol, s);
	mail_line_free(&t->rl, s);
	mail_line_free(&t->bl, s);
	mail_rec_free(&t->tx, s);
}

/* Detection: the server's "220" greeting and the client's EHLO/HELO
 * (RFC 5321 3.1, 4.1.1.1). FTP also greets with 220; its clients open
 * with USER, AUTH, FEAT, SYST or OPTS, so the client's first word
 * decides. */
static bool first_word(const uint8_t *d, size_t len, const char *w)
{
	size_t n = strlen(w);

	if (len < n + 1)
		return false;
	return mail_word_is(d, len, w) || (strncasecmp((const char *)d, w, n) == 0 &&
					   (d[n] == '\r' || d[n] == '\n'));
}

static enum an_probe_result smtp_probe(const struct an_probe_view *v)
{
	bool banner = false;

	if (v->resp_len > 0) {
		static const char b[] = "220";
		size_t n = v->resp_len < 3 ? v->resp_len : 3;

		if (memcmp(v->resp, b, n) != 0)
			return AN_PROBE_NO;
		if (v->resp_len > 3 && v->resp[3] != ' ' && v->resp[3] != '-')
			return AN_PROBE_NO;
		banner = v->resp_len >= 4;
	}
	if (v->orig_len == 0)
		return AN_PROBE_MAYBE;
	if (first_word(v->orig, v->orig_len, "EHLO") || first_word(v->orig, v->orig_len, "HELO"))
		return banner || v->resp_len == 0 ? AN_PROBE_YES : AN_PROBE_MAYBE;
	if (v->orig_len < 5 && memchr(v->orig, '\n', v->orig_len) == NULL)
		return AN_PROBE_MAYBE;  /* the first word is not whole yet */
	return AN_PROBE_NO;
}

const struct analyzer an_smtp = {
	.name = "smtp",
	.transports = AN_T_TCP,
	.state_size = sizeof(struct smtp),
	.probe = smtp_probe,
	.init = smtp_init,
	.data = smtp_data,
	.gap = smtp_gap,
	.end = smtp_end,
};
