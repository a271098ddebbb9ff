/* syslog_frame: RFC 6587 octet-counting and non-transparent framing.
 *
 * A state machine over the byte stream. Each state consumes what it can of
 * the chunk and the loop moves on, so a frame split at any byte boundary
 * gives the same messages as one fed whole (the fuzz target checks this).
 */
#include "syslog_frame.h"

#include <errno.h>
#include <string.h>

enum {
	FS_START = 0,   /* at a frame's first byte */
	FS_DIGITS,      /* reading MSG-LEN */
	FS_OCTET,       /* reading MSG-LEN bytes of message */
	FS_LF,          /* reading up to the LF or NUL trailer */
};

void syslog_framer_init(struct syslog_framer *f, uint32_t max_msg_bytes)
{
	memset(f, 0, sizeof *f);
	f->max_msg_bytes = max_msg_bytes != 0 ? max_msg_bytes : SYSLOG_FRAME_DEFAULT_MAX;
	buf_init(&f->acc);
}

void syslog_framer_free(struct syslog_framer *f)
{
	if (f == NULL)
		return;
	buf_free(&f->acc);
}

const char *syslog_framing_name(enum syslog_framing fr)
{
	switch (fr) {
	case SYSLOG_FRAMING_OCTET: return "octet-counting";
	case SYSLOG_FRAMING_LF: return "non-transparent";
	default: return "unknown";
	}
}

/* Appends what fits under max_msg_bytes; the rest is counted, not kept. */
static int acc_add(struct syslog_framer *f, const void *p, size_t n)
{
	size_t room = f->max_msg_bytes > f->acc.len ? f->max_msg_bytes - f->acc.len : 0;
	size_t take = n < room ? n : room;

	if (take > 0 && buf_append(&f->acc, p, take) < 0)
		return -ENOMEM;
	if (take < n) {
		f->truncating = true;
		f->dropped += n - take;
	}
	return 0;
}

/* Hands one message to cb and puts the framer at the next frame start. */
static int deliver(struct syslog_framer *f, syslog_frame_cb cb, void *arg, const void *p,
		   size_t n, bool truncated)
{
	f->state = FS_START;
	f->frames++;
	if (truncated)
		f->truncated++;
	f->last = f->framing;
	int rc = cb(arg, p, n, truncated);
	return rc < 0 ? rc : 0;   /* only a negative value stops the feed */
}

/* Delivers the LF frame assembled in acc, without a CR that preceded its
 * trailer. Once acc is full every later byte is dropped, so a final CR is
 * the last dropped byte if any were dropped. */
static int deliver_lf_acc(struct syslog_framer *f, syslog_frame_cb cb, void *arg)
{
	int rc;

	if (f->last_cr) {
		if (f->dropped > 0)
			f->dropped--;
		else
			f->acc.len--;
	}
	if (f->acc.len == 0 && f->dropped == 0) {
		f->state = FS_START;   /* an empty frame carries no message */
		return 0;
	}
	rc = deliver(f, cb, arg, f->acc.data, f->acc.len, f->dropped > 0);
	f->acc.len = 0;
	return rc;
}

static void frame_start(struct syslog_framer *f, uint8_t c)
{
	f->acc.len = 0;
	f->want = 0;
	f->ndigits = 0;
	f->truncating = false;
	f->dropped = 0;
	f->last_cr = false;
	/* RFC 6587 3.4.1: MSG-LEN = NONZERO-DIGIT *DIGIT. Anything else (in
	 * practice '<') starts a non-transparent frame. */
	if (c >= '1' && c <= '9') {
		f->state = FS_DIGITS;
		f->framing = SYSLOG_FRAMING_OCTET;
	} else {
		f->state = FS_LF;
		f->framing = SYSLOG_FRAMING_LF;
	}
}

/* Consumes MSG-LEN digits and the SP after them. Returns bytes used. */
static size_t read_digits(struct syslog_framer *f, const uint8_t *p, size_t n, int *rc)
{
	size_t i = 0;

	while (i < n && f->ndigits < SYSLOG_FRAME_MAX_DIGITS && p[i] >= '0' && p[i] <= '9') {
		f->digits[f->ndigits++] = (char)p[i];
		f->want = f->want * 10 + (uint64_t)(p[i] - '0');
		i++;
	}
	if (i == n)
		return i;   /* the count may go on in the next read */
	if (p[i] == ' ') {
		f->state = FS_OCTET;
		return i + 1;
	}
	/* Not a count after all: resynchronise on LF framing with the digits
	 * as the message's first bytes. */
	f->bad_length++;
	f->state = FS_LF;
	f->framing = SYSLOG_FRAMING_LF;
	*rc = acc_add(f, f->digits, f->ndigits);
	return i;
}

static size_t read_octets(struct syslog_framer *f, const uint8_t *p, size_t n,
			  syslog_frame_cb cb, void *arg, int *rc)
{
	size_t take;

	if (f->acc.len == 0 && !f->truncating && f->want <= n && f->want <= f->max_msg_bytes) {
		/* The whole frame is in this read: no copy. */
		take = (size_t)f->want;
		f->want = 0;
		*rc = deliver(f, cb, arg, p, take, false);
		return take;
	}
	take = f->want < n ? (size_t)f->want : n;
	*rc = acc_add(f, p, take);
	if (*rc < 0)
		return 0;
	f->want -= take;
	if (f->want == 0) {
		*rc = deliver(f, cb, arg, f->acc.data, f->acc.len, f->truncating);
		f->acc.len = 0;
	}
	return take;
}

static size_t read_line(struct syslog_framer *f, const uint8_t *p, size_t n,
			syslog_frame_cb cb, void *arg, int *rc)
{
	const uint8_t *lf = memchr(p, '\n', n);
	size_t seg = lf != NULL ? (size_t)(lf - p) : n;
	const uint8_t *nul = memchr(p, '\0', seg);
	bool found = lf != NULL || nul != NULL;

	if (nul != NULL)
		seg = (size_t)(nul - p);
	if (found && f->acc.len == 0 && f->dropped == 0 && !f->last_cr) {
		size_t len = seg > 0 && p[seg - 1] == '\r' ? seg - 1 : seg;

		if (len == 0) {
			f->state = FS_START;
			return seg + 1;
		}
		if (len <= f->max_msg_bytes) {
			/* The whole frame is in this read: no copy. */
			*rc = deliver(f, cb, arg, p, len, false);
			return seg + 1;
		}
	}
	if (seg > 0) {
		*rc = acc_add(f, p, seg);
		if (*rc < 0)
			return 0;
		f->last_cr = p[seg - 1] == '\r';
	}
	if (!found)
		return seg;
	*rc = deliver_lf_acc(f, cb, arg);
	return seg + 1;
}

int syslog_framer_feed(struct syslog_framer *f, const uint8_t *data, size_t len,
		       syslog_frame_cb cb, void *arg, size_t *consumed)
{
	size_t i = 0;
	int rc = 0;

	while (i < len && rc == 0) {
		switch (f->state) {
		case FS_START:
			frame_start(f, data[i]);
			break;
		case FS_DIGITS:
			i += read_digits(f, data + i, len - i, &rc);
			break;
		case FS_OCTET:
			i += read_octets(f, data + i, len - i, cb, arg, &rc);
			break;
		default:
			i += read_line(f, data + i, len - i, cb, arg, &rc);
			break;
		}
	}
	*consumed = i;
	return rc < 0 ? rc : 0;
}

int syslog_framer_finish(struct syslog_framer *f, syslog_frame_cb cb, void *arg)
{
	int rc = 0;

	switch (f->state) {
	case FS_DIGITS:
		/* Digits and then the end: an LF message without its LF (cut
		 * like any other when max_msg_bytes is tiny). */
		f->framing = SYSLOG_FRAMING_LF;
		if (f->ndigits > f->max_msg_bytes)
			rc = deliver(f, cb, arg, f->digits, f->max_msg_bytes, true);
		else
			rc = deliver(f, cb, arg, f->digits, f->ndigits, false);
		break;
	case FS_OCTET:
		/* The sender promised more than it sent. */
		if (f->acc.len > 0)
			rc = deliver(f, cb, arg, f->acc.data, f->acc.len, true);
		break;
	case FS_LF:
		rc = deliver_lf_acc(f, cb, arg);
		break;
	default:
		break;
	}
	f->state = FS_START;
	f->acc.len = 0;
	return rc;
}
