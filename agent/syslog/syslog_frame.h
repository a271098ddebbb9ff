/* syslog_frame: splits a TCP or TLS byte stream into syslog messages
 * (RFC 6587 section 3.4).
 *
 * Both framings are supported and detected per connection from the first
 * byte: a digit 1-9 means octet-counting ("MSG-LEN SP SYSLOG-MSG",
 * section 3.4.1), anything else means non-transparent framing with LF as
 * the trailer (section 3.4.2; a NUL trailer and CR LF are also accepted).
 * Detection is redone at every frame start, as rsyslog does, so a sender
 * that mixes them is still understood.
 *
 * Messages longer than max_msg_bytes are truncated to that size; the rest
 * is discarded up to the end of the frame and the message is flagged.
 * Memory per connection is bounded by max_msg_bytes plus one read.
 *
 * A frame that lies whole inside one fed chunk is handed to the callback
 * straight from the caller's bytes, with no copy; only frames split across
 * reads are assembled in `acc`.
 *
 * Details of the non-transparent framing: the trailer (LF or NUL) and one
 * CR right before it are not part of the message; an empty frame (a bare
 * LF, or the LF some senders add after an octet-counted frame, or the NUL
 * Hillstone sends after its LF) delivers nothing. A lone CR elsewhere is
 * content. A stream that ends inside a frame delivers what it has at
 * syslog_framer_finish: an LF frame as is, an octet-counted frame that
 * fell short of its MSG-LEN flagged as truncated.
 */
#ifndef WARD_SYSLOG_FRAME_H
#define WARD_SYSLOG_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum syslog_framing { SYSLOG_FRAMING_UNKNOWN = 0, SYSLOG_FRAMING_OCTET, SYSLOG_FRAMING_LF };

/* RFC 5425 4.3.1: receivers should handle messages up to 8192 octets. */
#define SYSLOG_FRAME_DEFAULT_MAX 8192
/* MSG-LEN digits accepted (up to 9999999999 octets; all but max_msg_bytes
 * of such a frame are skipped, never stored). */
#define SYSLOG_FRAME_MAX_DIGITS 10

struct syslog_framer {
	uint32_t max_msg_bytes;
	enum syslog_framing framing;   /* of the frame being read */
	enum syslog_framing last;      /* of the last complete frame (for status) */
	/* internal state */
	int state;
	uint64_t want;                 /* octet-counting: bytes still to read */
	bool truncating;               /* bytes of this frame were dropped */
	uint64_t dropped;              /* how many (LF framing; for CR LF) */
	bool last_cr;                  /* LF framing: the last byte seen was CR */
	uint8_t ndigits;               /* MSG-LEN digits read so far */
	char digits[SYSLOG_FRAME_MAX_DIGITS];
	struct buf acc;                /* the frame being assembled */
	/* counters */
	uint64_t frames;
	uint64_t truncated;
	uint64_t bad_length;           /* octet-count prefix malformed */
};

/* Called for each complete message; `msg` is valid during the call only.
 * Return 0 to go on, or a negative value to stop syslog_framer_feed (it
 * returns that value and keeps the unread bytes' position in *consumed). */
typedef int (*syslog_frame_cb)(void *arg, const char *msg, size_t len, bool truncated);

/* max_msg_bytes: the longest message delivered, in bytes (0 means
 * SYSLOG_FRAME_DEFAULT_MAX). Allocates nothing until a frame is split
 * across reads. */
void syslog_framer_init(struct syslog_framer *f, uint32_t max_msg_bytes);
/* Feeds `len` bytes. Calls cb for every message completed. Sets *consumed
 * to the bytes used (len unless cb stopped early; then the bytes up to the
 * end of the frame just delivered, and the framer is at a frame start).
 * Returns 0, the cb's negative value, or -ENOMEM (then the connection
 * should be closed: the frame in progress is lost). A malformed octet
 * count (digits not followed by SP, or more than SYSLOG_FRAME_MAX_DIGITS)
 * is counted in bad_length and the framer resynchronises by falling back
 * to LF framing for that frame, the digits being the message's first
 * bytes; it never returns an error for bad input. `msg` passed to cb may
 * point into `data`. */
int syslog_framer_feed(struct syslog_framer *f, const uint8_t *data, size_t len,
		       syslog_frame_cb cb, void *arg, size_t *consumed);
/* At end of stream: delivers a final message that lacked its trailer or
 * fell short of its MSG-LEN (if any) and resets the framer to a frame
 * start. Returns 0 or the cb's value. */
int syslog_framer_finish(struct syslog_framer *f, syslog_frame_cb cb, void *arg);
/* Frees acc. NULL-safe; the framer may be reused after syslog_framer_init. */
void syslog_framer_free(struct syslog_framer *f);

/* "octet-counting", "non-transparent" (RFC 6587's terms) or "unknown". */
const char *syslog_framing_name(enum syslog_framing f);

#endif
