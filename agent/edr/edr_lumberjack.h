/* edr_lumberjack: the Lumberjack v2 frame decoder (the Beats protocol
 * towards Logstash), without I/O.
 *
 * Frames (elastic/go-lumber, "protocol v2"; integers are unsigned 32-bit
 * big-endian):
 *   '2' 'W' window                 the number of data frames the client
 *                                  sends before it waits for an ACK
 *   '2' 'J' seq len payload[len]   one event as a JSON document
 *   '2' 'C' len zlib[len]          a zlib stream (RFC 1950) whose
 *                                  content is more frames ('W' or 'J')
 *   '2' 'A' seq                    ACK, server to client: every event up
 *                                  to seq is taken (edr_lj_format_ack)
 *
 * The decoder keeps the bytes it has not used; it is restartable at any
 * event: when the consumer refuses an event (the spool is full), decoding
 * stops before it, and the next edr_lj_decode starts with that event
 * again, also inside a compressed frame. Limits: a 'J' payload at most
 * max_event bytes, a 'C' frame at most max_body bytes both as sent and
 * decompressed (the decompression-bomb guard). Anything else ('1' frames,
 * 'D' key/value frames, unknown types, a 'C' inside a 'C', a bad zlib
 * stream) is a protocol error: the connection is closed.
 */
#ifndef WARD_EDR_LUMBERJACK_H
#define WARD_EDR_LUMBERJACK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Called for each event, in order. json is not NUL-terminated and is
 * valid during the call only. Return 0 to go on, or a negative code to
 * stop before this event (it is offered again by the next decode). */
typedef int (*edr_lj_event_fn)(void *arg, uint32_t seq, const uint8_t *json, size_t len);

struct edr_lj {
	size_t max_event, max_body;     /* bytes */
	struct buf in;                  /* received, not yet decoded */
	struct buf inner;               /* frames of the current 'C' frame */
	struct buf *scratch;            /* shared, see edr_lj_set_scratch */
	struct buf *cur;                /* &inner or scratch: the window */
	size_t inner_off;               /* decoded up to here */
	uint32_t window;                /* from the last 'W'; 0 = none yet */
	uint64_t frames, events, compressed_frames;
	const char *error;              /* the protocol error, for logs */
};

/* Sets up a decoder for one connection: events (a 'J' payload) of at most
 * max_event bytes, 'C' frames of at most max_body bytes, compressed and
 * inflated. Nothing is allocated until data is pushed. The decoder points
 * into itself (cur): it must not be moved after this call. */
void edr_lj_init(struct edr_lj *d, size_t max_event, size_t max_body);
/* NULL-safe. */
void edr_lj_free(struct edr_lj *d);

/* Lets the decoder inflate windows into `scratch` (borrowed; NULL: its
 * own buffer), a buffer that decoders of several connections share when
 * they run on one thread one after another: a window decoded at once
 * leaves nothing in it, and one whose event was refused moves what is
 * left to the decoder's own buffer. This saves allocating and touching a
 * window's worth of memory (megabytes) per window. */
void edr_lj_set_scratch(struct edr_lj *d, struct buf *scratch);

/* Appends `len` received bytes. 0 or -ENOMEM. */
int edr_lj_push(struct edr_lj *d, const uint8_t *data, size_t len);

/* Decodes what has been pushed, calling cb for each event. Returns 0 when
 * every whole frame was used (a partial one waits for more bytes), the
 * callback's negative code when it refused an event, -EBADMSG on a
 * protocol error (d->error says which; the connection must close),
 * -EMSGSIZE for a frame over the limits, or -ENOMEM. */
int edr_lj_decode(struct edr_lj *d, edr_lj_event_fn cb, void *arg);

/* Bytes pushed but not yet decoded (for the caller's read bound). */
size_t edr_lj_buffered(const struct edr_lj *d);

/* Writes the 6-byte ACK frame for `seq` into out. */
void edr_lj_format_ack(uint8_t out[6], uint32_t seq);

#endif
