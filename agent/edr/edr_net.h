/* edr_net: the EDR relay's listeners and connections, in the receivers
 * process (untrusted input, no key material).
 *
 * Two inputs, each one TCP listener, TLS when a certificate is configured
 * (mbedtls, optionally requiring a client certificate):
 *   - Lumberjack v2 (edr_lumberjack.h): events are appended as they are
 *     decoded; the ACK for the last one goes out once the spool has made
 *     it durable. While the spool cannot take more, decoding stops and the
 *     ACK waits, which is the Beats protocol's own backpressure.
 *   - HTTP Event Collector (edr_hec.h): a request's events are appended
 *     together and its answer goes out once they are durable. While the
 *     spool is over its pending bound or full, requests get 503 with
 *     Retry-After and nothing is appended.
 *
 * Every event becomes one record on the edr lane (P1, edr_record.h).
 * Credentials: a HEC token must belong to an agent group; with a client
 * CA, a client certificate's CN must be listed by a group when any group
 * lists CNs. Unknown credentials get 401 (HEC) or a closed connection
 * (Lumberjack), and are counted per source.
 *
 * Life cycle: create, configure (and re-configure on reload), stop with a
 * callback once every handle is closed, destroy.
 */
#ifndef WARD_EDR_NET_H
#define WARD_EDR_NET_H

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "kconfig.h"
#include "spool.h"

struct edr_server;

/* Reasons a source's input was refused, counted per source
 * (struct source.rejects[]) and per listener. */
enum edr_reject {
	EDR_REJECT_AUTH = 0,      /* unknown token or certificate */
	EDR_REJECT_FORMAT,        /* malformed HTTP, JSON or frame */
	EDR_REJECT_TOO_LARGE,     /* event or body over its limit */
	EDR_REJECT_BUSY,          /* 503: the spool could not take it */
	EDR_REJECT_TLS,           /* failed handshake */
	EDR_REJECT_CONNS,         /* over max_connections */
	EDR_REJECT_COUNT
};

#if IS_ENABLED(CONFIG_EDR)

/* Creates a server appending to `lane` (owned by the caller, which must
 * outlive the server). 0 or -ENOMEM. */
int edr_server_create(struct edr_server **out, uv_loop_t *loop, struct spool_lane *lane);

/* Applies the edr section: limits and groups at once; each input is kept
 * when its address and TLS files are unchanged, else re-bound (its open
 * connections run on). Returns the number of inputs that failed to
 * start; the reason is in the status. */
int edr_server_configure(struct edr_server *s, const struct ward_config *cfg);

/* Call after each spool commit: sends the answers and ACKs that were
 * waiting for durability, and resumes paused connections. */
void edr_server_on_commit(struct edr_server *s);

/* Call when the spool's size was re-measured; `full`: appends are refused. */
void edr_server_on_spool_usage(struct edr_server *s, int full);

/* The status object: inputs with address and counters, per-source
 * counters, connections. The caller owns the reference; NULL on ENOMEM. */
json_t *edr_server_status(struct edr_server *s);

/* Stops accepting and reading, closes every handle, then done(arg). */
void edr_server_stop(struct edr_server *s, void (*done)(void *arg), void *arg);

/* Frees a stopped server. NULL-safe. */
void edr_server_destroy(struct edr_server *s);

#else

static inline int edr_server_create(struct edr_server **out, uv_loop_t *loop,
				    struct spool_lane *lane)
{
	(void)loop;
	(void)lane;
	*out = NULL;
	return 0;
}
static inline int edr_server_configure(struct edr_server *s, const struct ward_config *cfg)
{
	(void)s;
	(void)cfg;
	return 0;
}
static inline void edr_server_on_commit(struct edr_server *s) { (void)s; }
static inline void edr_server_on_spool_usage(struct edr_server *s, int full)
{
	(void)s;
	(void)full;
}
static inline json_t *edr_server_status(struct edr_server *s)
{
	(void)s;
	return NULL;
}
static inline void edr_server_stop(struct edr_server *s, void (*done)(void *arg), void *arg)
{
	(void)s;
	done(arg);
}
static inline void edr_server_destroy(struct edr_server *s) { (void)s; }

#endif

#endif
