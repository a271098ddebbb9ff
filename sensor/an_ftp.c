/* an_ftp: the FTP control channel (RFC 959), for cleartext credentials
 * and records "ftp" as Zeek's ftp.log (base/protocols/ftp/main.zeek,
 * FTP::Info) for the commands Zeek logs by default
 * (FTP::logged_commands: APPE DELE RETR STOR STOU ACCT PORT PASV EPRT
 * EPSV): ts, user (masked as the notices), command, arg, reply_code,
 * reply_msg. The record is written at the command's final reply (a 1xx
 * reply is preliminary, RFC 959 4.2); multi-line replies ("123-" up to
 * "123 ", RFC 959 4.2) count once.
 *
 * Credentials: USER then PASS raise the P0 cleartext notice, except for
 * the anonymous users "anonymous" and "ftp" (RFC 1635), whose password is
 * by convention an e-mail address, not a secret. The PASS argument is
 * never kept. AUTH TLS/SSL accepted (234, RFC 4217 4): the rest is TLS,
 * the analyzer detaches. The data channels are not followed.
 */
#include <string.h>
#include <strings.h>

#include "mail_util.h"

#define QMAX 16
#define ARG_MAX 256
#define USER_MAX 256

struct pending {
	uint64_t ts;
	char cmd[8];
	bool logged;
	bool auth;
	uint16_t arg_len;
	char arg[ARG_MAX];
};

struct ftp {
	struct an_session *s;
	uint64_t ts;
	struct mail_line ol, rl;
	struct pending q[QMAX];
	unsigned qh, qn;
	bool detached, cmd_skip, resp_skip;
	unsigned ml_code;             /* inside a multi-line reply with this code */
	size_t user_len;
	uint8_t user[USER_MAX];
	int masked_len;
	char masked[USER_MAX];
};

static bool logged(const char *cmd)
{
	static const char *const set[] = { "APPE", "DELE", "RETR", "STOR", "STOU",
					   "ACCT", "PORT", "PASV", "EPRT", "EPSV" };
	size_t i;

	for (i = 0; i < sizeof(set) / sizeof(set[0]); i++)
		if (!strcmp(cmd, set[i]))
			return true;
	return false;
}

static bool anonymous(const uint8_t *u, size_t len)
{
	return (len == 9 && strncasecmp((const char *)u, "anonymous", 9) == 0) ||
	       (len == 3 && strncasecmp((const char *)u, "ftp", 3) == 0);
}

static void write_rec(struct ftp *f, const struct pending *e, unsigned code,
		      const uint8_t *msg, size_t msg_len)
{
	struct jsonw *w = an_record_begin(f->s, "ftp", e->ts);

	if (w == NULL)
		return;
	if (f->user_len > 0 && f->masked_len >= 0)
		jsonw_kv_str(w, "user", f->masked, (size_t)f->masked_len);
	jsonw_kv_str(w, "command", e->cmd, strlen(e->cmd));
	if (e->arg_len > 0)
		jsonw_kv_str(w, "arg", e->arg, e->arg_len);
	jsonw_kv_uint(w, "reply_code", code);
	if (msg_len > 0)
		jsonw_kv_str(w, "reply_msg", (const char *)msg, msg_len);
	an_record_end(f->s, SPOOL_P2);
}

static int reply(struct ftp *f, const uint8_t *line, size_t len)
{
	struct pending *e;
	unsigned code;
	size_t i;

	if (len < 3 || line[0] < '1' || line[0] > '6' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9') {
		if (f->ml_code == 0)
			an_weird(f->s, "ftp_bad_reply");
		return 0;       /* or a line inside a multi-line reply */
	}
	code = (unsigned)(line[0] - '0') * 100 + (unsigned)(line[1] - '0') * 10 +
	       (unsigned)(line[2] - '0');
	if (f->ml_code != 0) {
		if (code != f->ml_code || (len > 3 && line[3] != ' '))
			return 0;
		f->ml_code = 0;
	} else if (len > 3 && line[3] == '-') {
		f->ml_code = code;
		return 0;
	}
	if (code < 200)
		return 0;       /* preliminary: the final reply follows */
	if (f->qn == 0)
		return 0;       /* the greeting, or unsolicited (421) */
	e = &f->q[f->qh];
	f->qh = (f->qh + 1) % QMAX;
	f->qn--;
	i = mail_skip_ws(line, len, 3);
	if (e->logged)
		write_rec(f, e, code, line + i, len - i);
	if (e->auth && code == 234) {
		f->detached = true;
		an_session_detach(f->s);
		return 1;
	}
	return 0;
}

static int resp_line(void *ctx, const uint8_t *line, size_t len, bool eol)
{
	struct ftp *f = ctx;
	bool skip = f->resp_skip;

	f->resp_skip = !eol;
	return skip ? 0 : reply(f, line, len);
}

static int command(struct ftp *f, const uint8_t *line, size_t len)
{
	struct pending *e;
	size_t w = mail_word_len(line, len), i, arg;

	if (f->qn == QMAX) {
		an_weird(f->s, "ftp_too_many_pending");
		f->qh = (f->qh + 1) % QMAX;
		f->qn--;
	}
	e = &f->q[(f->qh + f->qn) % QMAX];
	memset(e, 0, sizeof(*e));
	f->qn++;
	e->ts = f->ts;
	for (i = 0; i < w && i < sizeof(e->cmd) - 1; i++) {
		uint8_t c = line[i];

		if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
			break;
		e->cmd[i] = (char)(c >= 'a' ? c - 32 : c);
	}
	e->cmd[i] = '\0';
	if (w == 0 || i < w || w > 4) {
		an_weird(f->s, "ftp_bad_command");
		e->cmd[0] = '\0';
		return 0;
	}
	arg = mail_skip_ws(line, len, w);
	if (!strcmp(e->cmd, "USER")) {
		f->user_len = len - arg < USER_MAX ? len - arg : USER_MAX;
		memcpy(f->user, line + arg, f->user_len);
		f->masked_len = an_user_format(an_session_config(f->s)->user_mask, f->user,
					       f->user_len, f->masked, sizeof(f->masked));
		return 0;
	}
	if (!strcmp(e->cmd, "PASS")) {
		if (f->user_len > 0 && !anonymous(f->user, f->user_len))
			an_notice_cleartext(f->s, "ftp", "USER/PASS", f->user, f->user_len, f->ts);
		return 0;       /* the password is not looked at */
	}
	e->auth = !strcmp(e->cmd, "AUTH");
	e->logged = logged(e->cmd);
	e->arg_len = (uint16_t)(len - arg < ARG_MAX ? len - arg : ARG_MAX);
	memcpy(e->arg, line + arg, e->arg_len);
	return 0;
}

static int orig_line(void *ctx, const uint8_t *line, size_t len, bool eol)
{
	struct ftp *f = ctx;
	bool skip = f->cmd_skip;

	f->cmd_skip = !eol;
	return skip ? 0 : command(f, line, len);
}

static int ftp_init(void *st, struct an_session *s)
{
	struct ftp *f = st;

	f->s = s;
	f->masked_len = -1;
	return 0;
}

static void ftp_data(void *st, struct an_session *s, bool is_orig, const uint8_t *d, size_t len,
		     uint64_t ts_us)
{
	struct ftp *f = st;

	f->ts = ts_us;
	if (f->detached)
		return;
	if (is_orig)
		mail_line_feed(&f->ol, s, d, len, orig_line, f);
	else
		mail_line_feed(&f->rl, s, d, len, resp_line, f);
}

static void ftp_gap(void *st, struct an_session *s, bool is_orig, uint64_t len)
{
	struct ftp *f = st;

	if (f->detached)
		return;
	an_weird(s, "ftp_content_gap");
	if (is_orig) {
		mail_line_gap(&f->ol);
		f->cmd_skip = false;
	} else {
		mail_line_gap(&f->rl);
		f->resp_skip = false;
		f->ml_code = 0;
		f->qn = 0;      /* the lost replies cannot be paired any more */
	}
}

static void ftp_end(void *st, struct an_session *s, uint64_t ts_us)
{
	struct ftp *f = st;

	mail_line_free(&f->ol, s);
	mail_line_free(&f->rl, s);
	explicit_bzero(f->user, sizeof(f->user));
}

/* Detection: the "220" greeting (RFC 959 5.4) and a client's first word
 * that SMTP does not use; EHLO/HELO is SMTP's. */
static enum an_probe_result ftp_probe(const struct an_probe_view *v)
{
	static const char *const words[] = { "USER", "AUTH", "FEAT", "SYST", "OPTS", "HOST" };
	size_t i;

	if (v->resp_len > 0) {
		size_t n = v->resp_len < 3 ? v->resp_len : 3;

		if (memcmp(v->resp, "220", n) != 0)
			return AN_PROBE_NO;
		if (v->resp_len > 3 && v->resp[3] != ' ' && v->resp[3] != '-')
			return AN_PROBE_NO;
	}
	if (v->orig_len < 5)
		return v->orig_len > 0 && memchr(v->orig, '\n', v->orig_len) ? AN_PROBE_NO :
									       AN_PROBE_MAYBE;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strncasecmp((const char *)v->orig, words[i], 4) == 0 &&
		    (v->orig[4] == ' ' || v->orig[4] == '\r' || v->orig[4] == '\n'))
			return v->resp_len >= 4 ? AN_PROBE_YES : AN_PROBE_MAYBE;
	return AN_PROBE_NO;
}

const struct analyzer an_ftp = {
	.name = "ftp",
	.transports = AN_T_TCP,
	.state_size = sizeof(struct ftp),
	.probe = ftp_probe,
	.init = ftp_init,
	.data = ftp_data,
	.gap = ftp_gap,
	.end = ftp_end,
};
