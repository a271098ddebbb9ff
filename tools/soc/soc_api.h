/* soc_api: ward-soc's routes (docs/soc-api.md).
 *
 *   POST /v1/batches          a sealed batch (soc_ingest_batch)
 *   GET  /v1/health           counters, JSON
 *   POST /v1/test/fail?n=N&code=C&retry_after=S
 *                             with test hooks only: the next N batch
 *                             POSTs answer C (429 or 503, default 503)
 *                             with Retry-After S (seconds, default 1)
 *
 * Ownership: the caller owns the api and everything it points to.
 */
#ifndef WARD_SOC_API_H
#define WARD_SOC_API_H

#include <stdint.h>

#include "soc_http.h"
#include "soc_ingest.h"

struct soc_api {
	struct soc_ingest *ingest;      /* borrowed; NULL answers 503 */
	int test_hooks;                 /* 1 enables /v1/test/ */
	uint64_t fail_next;             /* batch POSTs still to refuse */
	int fail_code;                  /* 429 or 503 */
	unsigned fail_retry_after;      /* seconds */
	uint64_t failed_on_purpose;     /* batch POSTs refused by the hook */
	uint64_t connections;           /* TLS sessions established */
	uint64_t tls_failures;          /* handshakes and records that failed */
	uint64_t requests;              /* HTTP requests answered */
	uint64_t http_errors;           /* malformed or oversized requests */
	const char *peer;               /* for logs, set per connection */
};

/* A soc_http_handler_fn: `arg` is the struct soc_api. */
void soc_api_handle(void *arg, const struct soc_http_req *req, struct soc_http_resp *resp);

#endif
