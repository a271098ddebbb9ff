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
 */
#ifndef WARD_SYSLOG_FRAME_H
#define WARD_SYSLOG_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum syslog_framing { SYSLOG_FRAMING_UNKNOWN = 0, SYSLOG_FRAMING_OCTET, SYSLOG_FRAMING_LF };

struct syslog_framer {
	uint32_t max_msg_bytes;
	enum syslog_framing framing;   /* of the frame being read */
	enum syslog_framing last;      /* of the last complete frame (for status) */
	/* internal state */
	int state;
	uint64_t want;                 /* octet-counting: bytes still to read */
	bool truncating;
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

void syslog_framer_init(struct syslog_framer *f, uint32_t max_msg_bytes);
/* Feeds `len` bytes. Calls cb for every message completed. Sets *consumed
 * to the bytes used (len unless cb stopped early). Returns 0, the cb's
 * negative value, or -ENOMEM. A malformed octet count is counted in
 * bad_length and the framer resynchronises by falling back to LF framing
 * for that frame; it never returns an error for bad input. */
int syslog_framer_feed(struct syslog_framer *f, const uint8_t *data, size_t len,
		       syslog_frame_cb cb, void *arg, size_t *consumed);
/* At end of stream: delivers a final LF-framed message that lacked its
 * trailer (if any). Returns 0 or the cb's value. */
int syslog_framer_finish(struct syslog_framer *f, syslog_frame_cb cb, void *arg);
/* NULL-safe. */
void syslog_framer_free(struct syslog_framer *f);

const char *syslog_framing_name(enum syslog_framing f);

#endif
