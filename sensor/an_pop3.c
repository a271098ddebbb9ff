/* an_pop3: the POP3 analyzer (RFC 1939; CAPA and pipelining RFC 2449,
 * AUTH RFC 5034, STLS RFC 2595), records "pop3".
 *
 * Zeek has no stock pop3.log; its POP3 analyzer raises pop3_request
 * (command, arg) and pop3_reply (cmd, msg) events, and ward writes one
 * record per command/reply pair with those names (docs/records.md):
 *   ts, trans_depth (the command's number), user (masked as the notices),
 *   command, arg (never for PASS, APOP's digest or AUTH responses),
 *   status ("+OK"/"-ERR"), msg (the status line's text), fuids (RETR,
 *   TOP: the message and its MIME parts).
 * The record is written when the reply is complete: the status line, or
 * for a multi-line reply (RETR, TOP, CAPA, LIST and UIDL without an
 * argument) its terminating ".". Pipelined commands wait in a queue.
 *
 * A retrieved message (RETR, TOP), dot-unstuffed, becomes one files
 * record (source "POP3", is_orig false, depth = trans_depth) and each of
 * its MIME leaf parts another (depth = the part's number).
 *
 * Credentials: USER then PASS, AUTH PLAIN and AUTH LOGIN raise the P0
 * cleartext notice (APOP sends a digest: no notice). STLS accepted: the
 * rest is TLS, the analyzer detaches.
 */
#include <string.h>
#include <strings.h>

#include "files.h"
#include "mail_util.h"
#include "mime.h"

#define QMAX 16
#define ARG_MAX 64
#define USER_MAX 256

enum auth { A_NONE, A_PLAIN, A_LOGIN_USER, A_LOGIN_PASS, A_OTHER };

struct pending {
	uint64_t ts;
	char cmd[8];
	uint8_t arg_len;
	bool multi;                   /* a +OK reply is multi-line */
	bool message;                 /* the multi-line reply is a message (RETR, TOP) */
	bool stls;
	char arg[ARG_MAX];
};

struct pop3 {
	struct an_session *s;
	uint64_t ts;
	struct mail_line ol, rl;
	struct pending q[QMAX];
	unsigned qh, qn;
	uint32_t depth;               /* commands so far */
	enum auth auth;
	bool detached, ending, cmd_skip, resp_skip;
	/* The reply being read. */
	bool in_multi;                /* inside a multi-line reply */
	bool line_start;
	bool status_ok;
	size_t msg_len;
	char msg[256];
	struct mail_rec fuids;
	struct mime *mime;
	struct an_file *whole, *part;
	/* The session's user. */
	size_t user_len;
	uint8_t user[USER_MAX];
	int masked_len;               /* -1: omitted */
	char masked[USER_MAX];
};

static void set_user(struct pop3 *p, const uint8_t *u, size_t len)
{
	if (len > USER_MAX)
		len = USER_MAX;
	memcpy(p->user, u, len);
	p->user_len = len;
	p->masked_len = an_user_format(an_session_config(p->s)->user_mask, u, len, p->masked,
				       sizeof(p->masked));
}

/* ---- records ---------------------------------------------------------- */

static void write_rec(struct pop3 *p, const struct pending *e)
{
	struct jsonw *w = an_record_begin(p->s, "pop3", e->ts);

	if (w != NULL) {
		jsonw_kv_uint(w, "trans_depth", ++p->depth);
		if (p->user_len > 0 && p->masked_len >= 0)
			jsonw_kv_str(w, "user", p->masked, (size_t)p->masked_len);
		if (e->cmd[0] != '\0')
			jsonw_kv_str(w, "command", e->cmd, strlen(e->cmd));
		if (e->arg_len > 0)
			jsonw_kv_str(w, "arg", e->arg, e->arg_len);
		jsonw_kv_cstr(w, "status", p->status_ok ? "+OK" : "-ERR");
		if (p->msg_len > 0)
			jsonw_kv_str(w, "msg", p->msg, p->msg_len);
		mail_rec_write_list(&p->fuids, w, 0, "fuids");
		an_record_end(p->s, SPOOL_P2);
	}
	mail_rec_reset(&p->fuids);
}

static void add_fuid(struct pop3 *p, const struct an_file *f)
{
	const char *fuid = f ? an_file_fuid(f) : NULL;

	if (fuid != NULL && fuid[0] != '\0' &&
	    mail_rec_add(&p->fuids, p->s, 0, fuid, strlen(fuid)) != 0)
		an_weird(p->s, "pop3_record_full");
}

/* ---- the retrieved message -------------------------------------------- */

static void on_part_begin(void *ctx, const struct mime_part *mp)
{
	struct pop3 *p = ctx;

	if (p->part != NULL)
		an_file_close(p->part, false, p->ts);
	p->part = an_file_open(p->s, "POP3", false, mp->index, mp->filename,
			       mp->content_type[0] ? mp->content_type : NULL, UINT64_MAX, p->ts);
	add_fuid(p, p->part);
}

static void on_part_data(void *ctx, const uint8_t *d, size_t len)
{
	struct pop3 *p = ctx;

	if (p->part != NULL)
		an_file_data(p->part, d, len);
}

static void on_part_gap(void *ctx, uint64_t len)
{
	struct pop3 *p = ctx;

	if (p->part != NULL)
		an_file_gap(p->part, len);
}

static void on_part_end(void *ctx, bool complete)
{
	struct pop3 *p = ctx;

	if (p->part != NULL)
		an_file_close(p->part, p->ending, p->ts);
	p->part = NULL;
}

static const struct mime_ops mime_ops = {
	.part_begin = on_part_begin,
	.part_data = on_part_data,
	.part_gap = on_part_gap,
	.part_end = on_part_end,
};

static void message_begin(struct pop3 *p)
{
	p->whole = an_file_open(p->s, "POP3", false, p->depth + 1, NULL, "message/rfc822",
				UINT64_MAX, p->ts);
	add_fuid(p, p->whole);
	if (mime_create(&p->mime, p->s, &mime_ops, p) != 0)
		an_weird(p->s, "pop3_no_memory");
}

static void message_line(struct pop3 *p, const uint8_t *line, size_t len, bool eol)
{
	if (p->whole != NULL) {
		an_file_data(p->whole, line, len);
		if (eol)
			an_file_data(p->whole, (const uint8_t *)"\r\n", 2);
	}
	if (p->mime != NULL)
		mime_line(p->mime, line, len, eol);
}

static void message_end(struct pop3 *p)
{
	mime_finish(p->mime);
	p->mime = NULL;
	if (p->whole != NULL)
		an_file_close(p->whole, p->ending, p->ts);
	p->whole = NULL;
}

/* ---- replies ---------------------------------------------------------- */

static struct pending *head(struct pop3 *p)
{
	return p->qn > 0 ? &p->q[p->qh] : NULL;
}

static void pop(struct pop3 *p)
{
	const struct pending none = { .ts = p->ts };
	const struct pending *e = head(p);

	if (p->in_multi)
		message_end(p);
	write_rec(p, e ? e : &none);
	if (p->qn > 0) {
		p->qh = (p->qh + 1) % QMAX;
		p->qn--;
	}
	p->in_multi = false;
}

static int status_line(struct pop3 *p, const uint8_t *line, size_t len)
{
	struct pending *e = head(p);
	size_t i;

	if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' ') && p->auth != A_NONE)
		return 0;       /* an AUTH challenge (RFC 5034 4): the exchange goes on */
	if (len >= 3 && strncmp((const char *)line, "+OK", 3) == 0) {
		p->status_ok = true;
		i = 3;
	} else if (len >= 4 && strncmp((const char *)line, "-ERR", 4) == 0) {
		p->status_ok = false;
		i = 4;
	} else {
		an_weird(p->s, "pop3_bad_reply");
		return 0;
	}
	i = mail_skip_ws(line, len, i);
	p->msg_len = len - i < sizeof(p->msg) ? len - i : sizeof(p->msg);
	memcpy(p->msg, line + i, p->msg_len);
	p->auth = A_NONE;
	if (e == NULL) {
		/* The greeting, or a reply to nothing seen: no record for
		 * the greeting; others are counted. */
		if (p->depth > 0 || p->ol.len > 0)
			an_weird(p->s, "pop3_unmatched_reply");
		return 0;
	}
	if (e->stls && p->status_ok) {
		pop(p);
		p->detached = true;
		an_session_detach(p->s);
		return 1;
	}
	if (e->multi && p->status_ok) {
		p->in_multi = true;
		p->line_start = true;
		if (e->message)
			message_begin(p);
		return 0;
	}
	pop(p);
	return 0;
}

static int resp_line(void *ctx, const uint8_t *line, size_t len, bool eol)
{
	struct pop3 *p = ctx;

	if (!p->in_multi) {
		bool skip = p->resp_skip;

		p->resp_skip = !eol;    /* the rest of an overlong status line */
		return skip ? 0 : status_line(p, line, len);
	}
	if (p->line_start && eol && len == 1 && line[0] == '.') {
		message_end(p);
		p->line_start = true;
		pop(p);
		return 0;
	}
	if (p->line_start && len > 0 && line[0] == '.') {
		line++;         /* RFC 1939 3: byte-stuffing */
		len--;
	}
	p->line_start = eol;
	if (head(p) != NULL && head(p)->message)
		message_line(p, line, len, eol);
	return 0;
}

/* ---- commands --------------------------------------------------------- */

static void notice(struct pop3 *p, const char *mech, const uint8_t *b64, size_t len, bool plain)
{
	uint8_t user[USER_MAX];
	int n = mail_sasl_user(b64, len, plain, user, sizeof(user));

	if (n < 0) {
		an_weird(p->s, "pop3_bad_auth");
		return;
	}
	set_user(p, user, (size_t)n);
	an_notice_cleartext(p->s, "pop3", mech, user, (size_t)n, p->ts);
	explicit_bzero(user, sizeof(user));
}

static void auth_line(struct pop3 *p, const uint8_t *line, size_t len)
{
	bool cancel = len == 1 && line[0] == '*';

	if (p->auth == A_PLAIN && !cancel)
		notice(p, "AUTH PLAIN", line, len, true);
	else if (p->auth == A_LOGIN_USER && !cancel)
		notice(p, "AUTH LOGIN", line, len, false);
	p->auth = p->auth == A_LOGIN_USER && !cancel ? A_LOGIN_PASS : A_OTHER;
}

static void cmd_auth(struct pop3 *p, struct pending *e, const uint8_t *line, size_t len,
		     size_t arg)
{
	size_t m = arg, r;
	bool plain = mail_word_is(line + arg, len - arg, "PLAIN");
	bool login = mail_word_is(line + arg, len - arg, "LOGIN");

	while (m < len && line[m] != ' ')
		m++;
	/* The arg is the mechanism only; the initial response is secret. */
	e->arg_len = (uint8_t)(m - arg < ARG_MAX ? m - arg : ARG_MAX);
	memcpy(e->arg, line + arg, e->arg_len);
	r = mail_skip_ws(line, len, m);
	if (m == arg) {
		e->multi = true;        /* the mechanism list (RFC 1734 style) */
		return;
	}
	if (plain && r < len) {
		if (!(len - r == 1 && line[r] == '='))
			notice(p, "AUTH PLAIN", line + r, len - r, true);
		p->auth = A_OTHER;
	} else if (login && r < len) {
		notice(p, "AUTH LOGIN", line + r, len - r, false);
		p->auth = A_LOGIN_PASS;
	} else {
		p->auth = plain ? A_PLAIN : login ? A_LOGIN_USER : A_OTHER;
	}
}

static int command(struct pop3 *p, const uint8_t *line, size_t len)
{
	struct pending *e;
	size_t w, i, arg;

	if (p->auth != A_NONE) {
		auth_line(p, line, len);
		return 0;
	}
	if (p->qn == QMAX) {
		/* The oldest may be a reply being read: the new one goes. */
		an_weird(p->s, "pop3_too_many_pending");
		return 0;
	}
	e = &p->q[(p->qh + p->qn) % QMAX];
	memset(e, 0, sizeof(*e));
	p->qn++;
	e->ts = p->ts;
	w = mail_word_len(line, len);
	for (i = 0; i < w && i < sizeof(e->cmd) - 1; i++) {
		uint8_t c = line[i];

		if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
			break;
		e->cmd[i] = (char)(c >= 'a' ? c - 32 : c);
	}
	e->cmd[i] = '\0';
	if (i < w || w == 0 || w > 4) {
		an_weird(p->s, "pop3_bad_command");
		e->cmd[0] = '\0';
	}
	arg = mail_skip_ws(line, len, w);
	if (!strcmp(e->cmd, "USER")) {
		set_user(p, line + arg, len - arg);
		return 0;       /* the arg is the user field, masked */
	}
	if (!strcmp(e->cmd, "PASS")) {
		if (p->user_len > 0)
			an_notice_cleartext(p->s, "pop3", "USER/PASS", p->user, p->user_len, p->ts);
		else
			an_weird(p->s, "pop3_pass_without_user");
		return 0;
	}
	if (!strcmp(e->cmd, "APOP")) {
		size_t m = arg;

		while (m < len && line[m] != ' ')
			m++;
		set_user(p, line + arg, m - arg);
		return 0;
	}
	if (!strcmp(e->cmd, "AUTH")) {
		cmd_auth(p, e, line, len, arg);
		return 0;
	}
	e->arg_len = (uint8_t)(len - arg < ARG_MAX ? len - arg : ARG_MAX);
	memcpy(e->arg, line + arg, e->arg_len);
	if (!strcmp(e->cmd, "RETR") || !strcmp(e->cmd, "TOP")) {
		e->multi = true;
		e->message = true;
	} else if (!strcmp(e->cmd, "CAPA")) {
		e->multi = true;
	} else if (!strcmp(e->cmd, "LIST") || !strcmp(e->cmd, "UIDL")) {
		e->multi = e->arg_len == 0;
	} else if (!strcmp(e->cmd, "STLS")) {
		e->stls = true;
	}
	return 0;
}

static int orig_line(void *ctx, const uint8_t *line, size_t len, bool eol)
{
	struct pop3 *p = ctx;

	if (p->cmd_skip) {
		p->cmd_skip = !eol;
		return 0;
	}
	p->cmd_skip = !eol;
	return command(p, line, len);
}

/* ---- the analyzer ----------------------------------------------------- */

static int pop3_init(void *st, struct an_session *s)
{
	struct pop3 *p = st;

	p->s = s;
	p->line_start = true;
	p->masked_len = -1;
	return 0;
}

static void pop3_data(void *st, struct an_session *s, bool is_orig, const uint8_t *d, size_t len,
		      uint64_t ts_us)
{
	struct pop3 *p = st;

	p->ts = ts_us;
	if (p->detached)
		return;
	if (is_orig)
		mail_line_feed(&p->ol, s, d, len, orig_line, p);
	else
		mail_line_feed(&p->rl, s, d, len, resp_line, p);
}

static void pop3_gap(void *st, struct an_session *s, bool is_orig, uint64_t len)
{
	struct pop3 *p = st;

	if (p->detached)
		return;
	an_weird(s, "pop3_content_gap");
	if (is_orig) {
		mail_line_gap(&p->ol);
		p->cmd_skip = false;
		p->auth = A_NONE;
		return;
	}
	mail_line_gap(&p->rl);
	p->line_start = true;
	if (p->whole != NULL)
		an_file_gap(p->whole, len);
	if (p->mime != NULL)
		mime_gap(p->mime, len);
	if (p->in_multi) {
		message_end(p);
		/* The reply's end may have been lost too: the record is
		 * written now and the queue forgotten, replies resync at the
		 * next status line. */
		pop(p);
		p->qn = 0;
	}
}

static void pop3_end(void *st, struct an_session *s, uint64_t ts_us)
{
	struct pop3 *p = st;

	p->ts = ts_us;
	p->ending = true;
	if (p->in_multi) {
		message_end(p);
		pop(p);
	}
	mail_line_free(&p->ol, s);
	mail_line_free(&p->rl, s);
	mail_rec_free(&p->fuids, s);
	explicit_bzero(p->user, sizeof(p->user));
}

/* Detection: the "+OK" greeting (RFC 1939 4), or before it a client
 * command only POP3 has. */
static enum an_probe_result pop3_probe(const struct an_probe_view *v)
{
	static const char *const only[] = { "CAPA", "APOP", "STLS" };
	static const char *const shared[] = { "USER", "AUTH" };
	size_t i;

	if (v->resp_len > 0) {
		size_t n = v->resp_len < 3 ? v->resp_len : 3;

		if (memcmp(v->resp, "+OK", n) != 0)
			return AN_PROBE_NO;
		return n == 3 ? AN_PROBE_YES : AN_PROBE_MAYBE;
	}
	if (v->orig_len < 5)
		return AN_PROBE_MAYBE;
	for (i = 0; i < 3; i++)
		if (strncasecmp((const char *)v->orig, only[i], 4) == 0 &&
		    (v->orig[4] == ' ' || v->orig[4] == '\r' || v->orig[4] == '\n'))
			return AN_PROBE_MAYBE;
	for (i = 0; i < 2; i++)
		if (strncasecmp((const char *)v->orig, shared[i], 4) == 0 && v->orig[4] == ' ')
			return AN_PROBE_MAYBE;
	return AN_PROBE_NO;
}

const struct analyzer an_pop3 = {
	.name = "pop3",
	.transports = AN_T_TCP,
	.state_size = sizeof(struct pop3),
	.probe = pop3_probe,
	.init = pop3_init,
	.data = pop3_data,
	.gap = pop3_gap,
	.end = pop3_end,
};
