/* snmp_net: the SNMP notification receiver's sockets and its spool lane.
 *
 * UDP listeners (RFC 3417: traps to port 162; 127.0.0.1:10162 in the
 * compiled-in defaults) feed each datagram to the protocol engine
 * (snmp.h). Traps become records on the `snmp` lane (P1). An inform's
 * Response is held until its record is durable, so a sender that saw its
 * inform acknowledged can rely on it being on disk; if the spool refuses
 * the record, no Response is sent and the sender retries. A retransmitted
 * v3 inform (a replay) is answered too, but only once the first copy's
 * record is durable. Reports (engine discovery, USM errors) are answered
 * at once.
 *
 * The engine's ID and its boots counter live in `snmp-engine` (and a copy,
 * `snmp-engine.bak`) in the state directory, the working directory: the
 * ID is generated once (unless configured), and boots rises at every
 * start and every reconfiguration, as RFC 3414 2.2.2 requires whenever
 * snmpEngineTime starts again from zero. Boots never goes back, not for a
 * damaged file nor a new engine ID (snmp_net.c, docs/config.md).
 *
 * Life cycle: create, configure (and re-configure on reload), on_commit
 * after each spool commit, stop with a callback, destroy.
 */
#ifndef WARD_SNMP_NET_H
#define WARD_SNMP_NET_H

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "kconfig.h"
#include "spool.h"

#define SNMP_ENGINE_STATE_FILE "snmp-engine"

struct snmp_server;

#if IS_ENABLED(CONFIG_SNMP)

/* Creates a server appending to `lane` (owned by the caller, which must
 * outlive the server). 0 or -ENOMEM. */
int snmp_server_create(struct snmp_server **out, uv_loop_t *loop, struct spool_lane *lane);

/* Applies the snmp section: creates a new engine (with the next boots)
 * and binds/unbinds listeners. When the new engine cannot be created or
 * its state not persisted, the previous one goes on answering and status
 * keeps its engine ID and boots, with the reason. Returns the number of
 * listeners that failed to bind, or a negative errno when there is no
 * engine at all (the reason is in status). */
int snmp_server_configure(struct snmp_server *s, const struct ward_config *cfg);

/* Sends the held inform Responses whose records are now durable. */
void snmp_server_on_commit(struct snmp_server *s);

/* Listeners, the engine (ID, boots, error), counters (usmStats, rejects,
 * informs, datagrams dropped for the spool, for memory and for crypto
 * failures), the replay cache's figures, per-source table. The caller
 * owns the reference; NULL on ENOMEM. */
json_t *snmp_server_status(struct snmp_server *s);

/* Closes every handle, then calls done(arg). */
void snmp_server_stop(struct snmp_server *s, void (*done)(void *arg), void *arg);

/* Frees a stopped server. NULL-safe. */
void snmp_server_destroy(struct snmp_server *s);

#else /* the receiver is configured out */

static inline int snmp_server_create(struct snmp_server **out, uv_loop_t *loop,
				     struct spool_lane *lane)
{
	(void)loop;
	(void)lane;
	*out = NULL;
	return 0;
}
static inline int snmp_server_configure(struct snmp_server *s, const struct ward_config *cfg)
{
	(void)s;
	(void)cfg;
	return 0;
}
static inline void snmp_server_on_commit(struct snmp_server *s) { (void)s; }
static inline json_t *snmp_server_status(struct snmp_server *s)
{
	(void)s;
	return json_pack("{s:[], s:[]}", "listeners", "sources");
}
static inline void snmp_server_stop(struct snmp_server *s, void (*done)(void *arg), void *arg)
{
	(void)s;
	done(arg);
}
static inline void snmp_server_destroy(struct snmp_server *s) { (void)s; }

#endif
#endif
