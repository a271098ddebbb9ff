/* an_telnet: Telnet (RFC 854) logins, for the cleartext-credential
 * notice; it writes no record of its own.
 *
 * Both directions lose their command sequences first (IAC, option
 * negotiation WILL/WONT/DO/DONT + option, subnegotiation SB ... IAC SE;
 * IAC IAC is a data byte 0xff). Then a small state machine follows the
 * login dialogue:
 *   - the server prints a prompt ending in "login:" or "username:"
 *     (case-insensitive): the client's next line is the user name
 *     (backspace and DEL edit it; CR, LF end it);
 *   - the server prints "password:": the client's next line is the
 *     password. Its bytes are only counted, never kept; at its end the
 *     P0 notice ("telnet", "login", user) is raised.
 * A "password:" prompt with no user prompt before (a device's line
 * password) raises the notice without a user. At most NOTICE_MAX notices
 * per session (repeated failed logins); then the analyzer detaches.
 */
#include <string.h>

#include "analyzer.h"

#define IAC 255
#define SE 240
#define SB 250
#define WILL 251
#define DONT 254
#define PROMPT_MAX 64
#define USER_MAX 128
#define NOTICE_MAX 8
#define SB_MAX 512         /* subnegotiation bytes before giving up on its SE */

enum tstate { T_DATA, T_IAC, T_OPT, T_SB, T_SB_IAC };
enum login { L_IDLE, L_USER, L_PASS_PROMPT, L_PASS };

struct telnet {
	struct an_session *s;
	uint64_t ts;
	enum tstate ts_orig, ts_resp;
	enum login login;
	bool detached;
	unsigned notices;
	size_t sb_len[2];             /* per direction: 0 responder, 1 originator */
	size_t pass_bytes;
	size_t prompt_len;
	char prompt[PROMPT_MAX];      /* the server's current line, lowercased */
	size_t user_len;
	uint8_t user[USER_MAX];
};

static bool ends_with(const struct telnet *t, const char *w)
{
	size_t n = strlen(w);

	return t->prompt_len >= n && memcmp(t->prompt + t->prompt_len - n, w, n) == 0;
}

static void server_byte(struct telnet *t, uint8_t c)
{
	if (c == '\r' || c == '\n') {
		t->prompt_len = 0;
		return;
	}
	if (c == 0)
		return;
	if (t->prompt_len == PROMPT_MAX) {
		memmove(t->prompt, t->prompt + PROMPT_MAX / 2, PROMPT_MAX / 2);
		t->prompt_len = PROMPT_MAX / 2;
	}
	t->prompt[t->prompt_len++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	if (c != ':')
		return;
	if (ends_with(t, "login:") || ends_with(t, "username:")) {
		t->login = L_USER;
		t->user_len = 0;
	} else if (ends_with(t, "password:") && t->login != L_PASS) {
		if (t->login != L_PASS_PROMPT)
			t->user_len = 0;        /* no user prompt before */
		t->login = L_PASS;
		t->pass_bytes = 0;
	}
}

static void client_byte(struct telnet *t, uint8_t c)
{
	bool eol = c == '\r' || c == '\n';

	switch (t->login) {
	case L_USER:
		if (eol) {
			if (t->user_len > 0)
				t->login = L_PASS_PROMPT;
		} else if (c == 0x08 || c == 0x7f) {
			if (t->user_len > 0)
				t->user_len--;
		} else if (c != 0 && t->user_len < USER_MAX) {
			t->user[t->user_len++] = c;
		}
		break;
	case L_PASS:
		if (!eol) {
			if (c != 0)
				t->pass_bytes++;    /* counted, never kept */
			break;
		}
		if (t->pass_bytes == 0)
			break;
		an_notice_cleartext(t->s, "telnet", "login", t->user, t->user_len, t->ts);
		memset(t->user, 0, sizeof(t->user));
		t->user_len = 0;
		t->login = L_IDLE;
		if (++t->notices == NOTICE_MAX) {
			t->detached = true;
			an_session_detach(t->s);
		}
		break;
	default:
		break;
	}
}

/* One direction's bytes through the IAC state machine (RFC 854 "The
 * Telnet command structure"). */
static void feed(struct telnet *t, bool is_orig, const uint8_t *d, size_t len)
{
	enum tstate *st = is_orig ? &t->ts_orig : &t->ts_resp;
	size_t i;

	for (i = 0; i < len && !t->detached; i++) {
		uint8_t c = d[i];

		switch (*st) {
		case T_DATA:
			if (c == IAC) {
				*st = T_IAC;
				continue;
			}
			break;
		case T_IAC:
			if (c == IAC) {
				*st = T_DATA;
				break;          /* IAC IAC: a data byte 255 */
			}
			*st = c >= WILL && c <= DONT ? T_OPT : c == SB ? T_SB : T_DATA;
			t->sb_len[is_orig] = 0;
			continue;
		case T_OPT:
			*st = T_DATA;
			continue;
		case T_SB:
			if (c == IAC) {
				*st = T_SB_IAC;
			} else if (++t->sb_len[is_orig] > SB_MAX) {
				/* No real option is this long: data resumes, so
				 * an unterminated SB cannot hide a login. */
				an_weird(t->s, "telnet_sb_too_long");
				*st = T_DATA;
			}
			continue;
		case T_SB_IAC:
			*st = c == SE ? T_DATA : T_SB;
			continue;
		}
		if (is_orig)
			client_byte(t, c);
		else
			server_byte(t, c);
	}
}

static int telnet_init(void *st, struct an_session *s)
{
	struct telnet *t = st;

	t->s = s;
	return 0;
}

static void telnet_data(void *st, struct an_session *s, bool is_orig, const uint8_t *d, size_t len,
			uint64_t ts_us)
{
	struct telnet *t = st;

	t->ts = ts_us;
	if (!t->detached)
		feed(t, is_orig, d, len);
}

static void telnet_gap(void *st, struct an_session *s, bool is_orig, uint64_t len)
{
	struct telnet *t = st;

	an_weird(s, "telnet_content_gap");
	/* Where the lost bytes left the dialogue is unknown: start over. */
	*(is_orig ? &t->ts_orig : &t->ts_resp) = T_DATA;
	t->prompt_len = 0;
	t->login = L_IDLE;
	t->user_len = 0;
}

static void telnet_end(void *st, struct an_session *s, uint64_t ts_us)
{
	struct telnet *t = st;

	memset(t->user, 0, sizeof(t->user));
}

/* Detection: option negotiation (IAC WILL/WONT/DO/DONT or IAC SB) at the
 * start of either direction, as telnet clients and servers open with. */
static enum an_probe_result one(const uint8_t *d, size_t len)
{
	if (len == 0)
		return AN_PROBE_MAYBE;
	if (d[0] != IAC)
		return AN_PROBE_NO;
	if (len == 1)
		return AN_PROBE_MAYBE;
	return (d[1] >= WILL && d[1] <= DONT) || d[1] == SB ? AN_PROBE_YES : AN_PROBE_NO;
}

static enum an_probe_result telnet_probe(const struct an_probe_view *v)
{
	enum an_probe_result o = one(v->orig, v->orig_len), r = one(v->resp, v->resp_len);

	if (o == AN_PROBE_YES || r == AN_PROBE_YES)
		return AN_PROBE_YES;
	/* Both sides negotiate from their first byte; one that opens with
	 * data says it is something else (probed earlier or unknown). */
	if (o == AN_PROBE_NO || r == AN_PROBE_NO)
		return AN_PROBE_NO;
	return AN_PROBE_MAYBE;
}

const struct analyzer an_telnet = {
	.name = "telnet",
	.transports = AN_T_TCP,
	.state_size = sizeof(struct telnet),
	.probe = telnet_probe,
	.init = telnet_init,
	.data = telnet_data,
	.gap = telnet_gap,
	.end = telnet_end,
};
