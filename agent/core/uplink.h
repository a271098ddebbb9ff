/* uplink: sealed batches from the outbox to the SOC (DESIGN.md, "Device
 * <-> SOC contract"; docs/soc-api.md).
 *
 * One HTTP/1.1 keep-alive connection (RFC 9112) over mutual TLS
 * (tls_client), driven by a libuv loop. The uplink takes the oldest batch
 * of the highest-priority lane that has one (strict priority: lanes are
 * given in priority order, P0 first), POSTs it to /v1/batches, and acts
 * on the answer (uplink_classify; the answer itself is parsed, with
 * bounded sizes, by uplink_http.h):
 *
 *   2xx, 409      acknowledged: the batch file is deleted
 *   429, 503      back off for Retry-After (RFC 9110 section 10.2.3), or
 *                 the exponential backoff when absent; same endpoint
 *   other 4xx     the batch is moved to O/quarantine/<lane>-<name> with a
 *                 .reason file next to it, and counted; the SOC will never
 *                 take it, so sending it again would block its lane
 *   5xx, other    the endpoint failed (as do connect, TLS and timeouts)
 *
 * On an endpoint failure the connection is dropped and the next endpoint
 * in the list is tried at once; once every endpoint has failed in a row,
 * the uplink waits an exponential backoff with full jitter (base * 2^n,
 * capped, then a uniform draw in [0, that]) before the next round. While
 * a later endpoint is in use, the primary (the first) is probed again
 * before a batch once failback_ms have passed: if it answers, traffic
 * fails back to it; if not, the probe costs one failed connect and the
 * uplink goes on with the next endpoint at once.
 * Delivery is at least once: a batch is deleted only after its
 * acknowledgement, so a crash or a lost answer means a resend, which the
 * SOC answers 409.
 *
 * An optional token bucket limits the request bytes per second. The
 * bucket holds one second of rate; a batch is sent whenever the bucket is
 * not in debt, and its size is then taken out, possibly into debt, so a
 * batch larger than the bucket still goes and the average rate holds.
 *
 * One request is in flight at a time. Not yet: pipelining or several
 * connections, the time-of-day rate schedule (uplink_set_rate is the
 * hook for it) and HTTP CONNECT proxies.
 *
 * Life cycle (as libuv's handles): the caller allocates the loop;
 * uplink_create, uplink_start, uplink_stop, then uv_run until the loop
 * has closed the uplink's handles (uplink_closed), then uplink_destroy.
 * Threading: everything runs on the loop's thread.
 */
#ifndef WARD_UPLINK_H
#define WARD_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"

#define UPLINK_MAX_ENDPOINTS 8
#define UPLINK_MAX_LANES 16
#define UPLINK_BACKOFF_BASE_DEFAULT 1000u      /* ms */
#define UPLINK_BACKOFF_CAP_DEFAULT 300000u     /* ms: 5 min */
#define UPLINK_CONNECT_TIMEOUT_DEFAULT 10000u  /* ms */
#define UPLINK_HANDSHAKE_TIMEOUT_DEFAULT 10000u/* ms */
#define UPLINK_RESPONSE_TIMEOUT_DEFAULT 30000u /* ms */
#define UPLINK_RESCAN_DEFAULT 1000u            /* ms */
#define UPLINK_FAILBACK_DEFAULT 300000u        /* ms: 5 min */
#define UPLINK_RETRY_AFTER_MAX 3600000u        /* ms: a longer one is cut */

struct uplink_endpoint {
	const char *host;     /* DNS name or IP literal to connect to */
	uint16_t port;
	const char *sni;      /* name the certificate must carry; NULL = host */
};

struct uplink_opts {
	const struct uplink_endpoint *endpoints;  /* in preference order */
	size_t n_endpoints;                       /* 1..UPLINK_MAX_ENDPOINTS */
	const char *ca_file;      /* the pinned SOC CA bundle, PEM */
	const char *cert_file;    /* device certificate chain, PEM */
	const char *key_file;     /* device private key, PEM */
	const char *outbox_dir;   /* O, as in sealer.h */
	const char *const *lanes; /* lane names, highest priority first */
	size_t n_lanes;           /* 1..UPLINK_MAX_LANES */
	uint32_t connect_timeout_ms;    /* 0 = default, each of these */
	uint32_t handshake_timeout_ms;
	uint32_t response_timeout_ms;   /* request sent -> answer complete */
	uint32_t backoff_base_ms;       /* first backoff ceiling; 0 = 1 s */
	uint32_t backoff_cap_ms;        /* 0 = 5 min */
	uint32_t rescan_ms;             /* outbox poll while idle; 0 = 1 s */
	uint32_t failback_ms;           /* probe the primary after this long
	                                 * on another endpoint; 0 = 5 min */
	uint64_t rate_bytes_per_s;      /* token bucket on request bytes;
	                                 * 0 = unlimited */
};

/* What the pure classification makes of a POST /v1/batches answer. */
enum uplink_verdict {
	UPLINK_ACKED,        /* 2xx, 409: delete the batch */
	UPLINK_BACK_OFF,     /* 429, 503: wait, same endpoint */
	UPLINK_QUARANTINE,   /* any other 4xx */
	UPLINK_FAILED,       /* 5xx and anything else: fail over */
};

enum uplink_state {
	UPLINK_STOPPED,
	UPLINK_IDLE,         /* the outbox was empty at the last scan */
	UPLINK_CONNECTING,   /* resolving, connecting or in the handshake */
	UPLINK_SENDING,      /* a request in flight */
	UPLINK_WAITING,      /* backing off */
};

struct uplink_ep_stats {
	const char *state;          /* "idle", "connecting", "handshake",
	                             * "connected", "failed" */
	char last_error[256];       /* plain words; "" if none yet */
	uint64_t connects;          /* TLS sessions established */
	uint64_t failures;          /* connect/TLS/timeout/5xx failures */
	uint64_t batches_sent;      /* POSTs whose request went out */
	uint64_t batches_acked;
	uint64_t batches_quarantined;
	uint64_t backoffs;          /* 429/503 answers */
	uint64_t bytes_out;         /* TLS bytes written */
	uint64_t bytes_in;          /* TLS bytes read */
	uint64_t bad_answers;       /* malformed, oversized or unsolicited
	                             * answers (uplink_http.h) */
};

struct uplink_stats {
	enum uplink_state state;
	int active;                 /* endpoint index in use, -1 if none */
	char active_reason[320];    /* why that endpoint, in words */
	uint64_t batches_acked;     /* totals over the endpoints */
	uint64_t batches_quarantined;
	uint64_t local_errors;      /* outbox read/delete/rename failures */
	uint64_t rate_waits;        /* sends held back by the rate limit */
	uint64_t rate_bytes_per_s;  /* current limit; 0 = unlimited */
	uint32_t next_attempt_ms;   /* backoff left when WAITING */
	size_t n_endpoints;
	struct uplink_ep_stats ep[UPLINK_MAX_ENDPOINTS];
};

struct uplink;

/* Creates an uplink on `loop` (borrowed, must outlive it). Strings and
 * arrays in `o` are copied. Loads the TLS material now, so a bad CA,
 * certificate or key is reported at once: on failure returns -EINVAL
 * (options, TLS files), -EIO or -ENOMEM, with a reason in err[errlen].
 * `*out` is NULL on failure. */
int uplink_create(struct uplink **out, uv_loop_t *loop, const struct uplink_opts *o,
		  char *err, size_t errlen);

/* Starts scanning the outbox and sending. 0, or -EALREADY. */
int uplink_start(struct uplink *u);

/* Scans the outbox now rather than at the next rescan (after the sealer
 * committed a batch). No-op unless idle. */
void uplink_kick(struct uplink *u);

/* Sets the rate limit, in request bytes per second (0 = unlimited), from
 * the next batch on: for the agent's time-of-day schedule. */
void uplink_set_rate(struct uplink *u, uint64_t bytes_per_s);

/* Drops the connection (a request in flight stays in the outbox, to be
 * resent) and closes the handles; the loop must then run until
 * uplink_closed() is true. */
void uplink_stop(struct uplink *u);
bool uplink_closed(const struct uplink *u);

/* Frees the uplink; only once uplink_closed() (or never started). NULL-safe. */
void uplink_destroy(struct uplink *u);

void uplink_get_stats(const struct uplink *u, struct uplink_stats *st);

/* Appends the stats as one JSON object to `out`. 0 or -ENOMEM. */
int uplink_stats_json(const struct uplink *u, struct buf *out);

/* ---- pure parts, exposed for tests ---------------------------------------- */

/* Maps an HTTP status of POST /v1/batches to what the uplink does. */
enum uplink_verdict uplink_classify(int status);

/* Full-jitter exponential backoff (the AWS Architecture Blog's "full
 * jitter"): ceiling = min(cap_ms, base_ms * 2^attempt), then a uniform
 * value in [0, ceiling] drawn from `rnd` (any 64 random bits). attempt 0
 * is the first retry. In ms. */
uint64_t uplink_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t rnd);

/* Parses a Retry-After field value (RFC 9110 section 10.2.3): delay-seconds
 * or an HTTP-date in IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT"),
 * `len` bytes, surrounding blanks allowed. `now_s` (seconds since the
 * epoch) turns a date into a delay; a date in the past is 0. The result is
 * in ms, cut at UPLINK_RETRY_AFTER_MAX. Returns 0, or -EINVAL when the
 * value is neither form (the caller then uses its own backoff). */
int uplink_parse_retry_after(const char *v, size_t len, int64_t now_s, uint64_t *out_ms);

/* "stopped", "idle", "connecting", "sending", "waiting". */
const char *uplink_state_name(enum uplink_state s);

#endif
