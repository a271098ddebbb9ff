/* soc_server: ward-soc's listener and connections, on libuv.
 *
 * Each TCP connection gets a TLS session (tls_server, mutual TLS: the
 * client certificate must chain to the configured device CA) and an
 * HTTP/1.1 request parser (soc_http) whose requests go to soc_api.
 * Requests on one connection are handled one after the other as they
 * arrive, so pipelined requests are answered in order. Connections idle
 * for SOC_SERVER_IDLE_MS are closed. After a last answer (an error, or
 * "Connection: close") the write side is shut down and the client's
 * further bytes are discarded for up to SOC_SERVER_LINGER_MS, so a
 * refusal is not lost to a TCP reset.
 *
 * Life cycle: soc_server_start(), then uv_run(); soc_server_stop() closes
 * the listener and every connection, after which uv_run() returns and the
 * server may be freed with soc_server_destroy().
 *
 * Ownership: the caller owns the server struct's storage (via create /
 * destroy), the loop, the TLS context and the api, which must outlive it.
 */
#ifndef WARD_SOC_SERVER_H
#define WARD_SOC_SERVER_H

#include <stddef.h>

#include <uv.h>

#include "soc_api.h"
#include "tls_server.h"

#define SOC_SERVER_IDLE_MS 120000   /* ms without a byte before closing */
#define SOC_SERVER_LINGER_MS 2000   /* ms to drain a client after the
                                     * last answer before closing */
#define SOC_SERVER_MAX_CONNS 1024

struct soc_server;

/* Binds and listens on `addr`, "HOST:PORT" or "[V6]:PORT". Request
 * limits in bytes. Errors: -EINVAL (bad address), libuv's negative
 * errno (-EADDRINUSE...), -ENOMEM. */
int soc_server_start(struct soc_server **out, uv_loop_t *loop, const char *addr,
		     struct tls_server_ctx *tls, struct soc_api *api, size_t max_header,
		     size_t max_body);
/* Stops listening and closes every connection; the handles finish
 * closing in the loop. NULL-safe. */
void soc_server_stop(struct soc_server *s);
/* Frees the server after uv_run() returned. NULL-safe. */
void soc_server_destroy(struct soc_server *s);

#endif
