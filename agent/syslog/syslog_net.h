/* syslog_net: the syslog receiver's listeners and connections.
 *
 * Transports:
 *   - UDP (RFC 5426): one datagram is one message. Read with recvmmsg(2)
 *     in batches through a uv_poll_t so that the kernel's drop counter
 *     (SO_RXQ_OVFL) arrives with the data; libuv's UDP API hides it.
 *   - TCP (RFC 6587): octet-counting or LF framing, detected per frame.
 *   - TLS (RFC 5425): the same framing inside TLS (mbedtls), optionally
 *     requiring a client certificate.
 *
 * Every message becomes one record on the syslog lane (P1). Input never
 * outruns the spool: while the lane holds more than max_pending_bytes of
 * uncommitted records, or the spool refuses appends (full disk, budget),
 * TCP and TLS reading pauses; the kernel's socket buffers then push back
 * on the senders. UDP cannot be paused; what the spool refuses is dropped
 * and counted, and what the kernel drops is counted from SO_RXQ_OVFL.
 *
 * Life cycle: create, configure (and re-configure on reload), stop with a
 * callback once every handle is closed, destroy.
 */
#ifndef WARD_SYSLOG_NET_H
#define WARD_SYSLOG_NET_H

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "kconfig.h"
#include "spool.h"

struct syslog_server;

#if IS_ENABLED(CONFIG_SYSLOG)

/* Creates a server that appends to `lane` (owned by the caller, which
 * must outlive the server). 0 or -ENOMEM. */
int syslog_server_create(struct syslog_server **out, uv_loop_t *loop, struct spool_lane *lane);

/* Applies the syslog section of `cfg`: limits take effect at once;
 * listeners are compared by (proto, address, TLS files): unchanged ones
 * keep their sockets and connections, removed ones stop accepting (their
 * open connections run on until they close), new ones are bound. A
 * listener that fails to bind is reported in status with the reason and
 * does not stop the others. Returns the number of listeners that failed. */
int syslog_server_configure(struct syslog_server *s, const struct ward_config *cfg);

/* Call after each spool commit: resumes paused reading when the lane has
 * room again. */
void syslog_server_on_commit(struct syslog_server *s);

/* Call when the spool's size was re-measured; `full` says whether appends
 * are currently refused. Paused readers are retried when it clears. */
void syslog_server_on_spool_usage(struct syslog_server *s, int full);

/* A JSON object with listeners, per-listener counters and rates, and the
 * per-source table. The caller owns the reference. NULL on ENOMEM. */
json_t *syslog_server_status(struct syslog_server *s);

/* Stops accepting and reading, closes every handle, then calls done(arg).
 * Messages already received are in the lane when done runs. */
void syslog_server_stop(struct syslog_server *s, void (*done)(void *arg), void *arg);

/* Frees a stopped server. NULL-safe. */
void syslog_server_destroy(struct syslog_server *s);

#else /* the receiver is configured out: a server that does nothing */

static inline int syslog_server_create(struct syslog_server **out, uv_loop_t *loop,
				       struct spool_lane *lane)
{
	(void)loop;
	(void)lane;
	*out = NULL;
	return 0;
}
static inline int syslog_server_configure(struct syslog_server *s, const struct ward_config *cfg)
{
	(void)s;
	(void)cfg;
	return 0;
}
static inline void syslog_server_on_commit(struct syslog_server *s) { (void)s; }
static inline void syslog_server_on_spool_usage(struct syslog_server *s, int full)
{
	(void)s;
	(void)full;
}
static inline json_t *syslog_server_status(struct syslog_server *s)
{
	(void)s;
	return json_pack("{s:[], s:[]}", "listeners", "sources");
}
static inline void syslog_server_stop(struct syslog_server *s, void (*done)(void *arg), void *arg)
{
	(void)s;
	done(arg);
}
static inline void syslog_server_destroy(struct syslog_server *s) { (void)s; }

#endif

#endif
