/* uplink: sealed batches from the outbox to the SOC (DESIGN.md, "Device
 * <-> SOC contract"; docs/soc-api.md).
 *
 * One HTTP/1.1 keep-alive connection (RFC 9112) over mutual TLS
 * (tls_client), driven by a libuv loop, optionally through an HTTP CONNECT
 * proxy. The uplink POSTs batches to /v1/batches and acts on each answer
 * (uplink_classify; the answer itself is parsed, with bounded sizes, by
 * uplink_http.h):
 *
 *   2xx, 409      acknowledged: the batch file is deleted
 *   429, 503      back off for Retry-After (RFC 9110 section 10.2.3), or
 *                 the exponential backoff when absent; same endpoint. No
 *                 new request goes out until then; the requests already
 *                 in flight are still answered and acted on
 *   other 4xx     the batch is moved to O/quarantine/<lane>-<name> with a
 *                 .reason file next to it, and counted; the SOC will never
 *                 take it, so sending it again would block its lane. The
 *                 other batches in flight are not disturbed
 *   5xx, other    the endpoint failed (as do connect, TLS and timeouts)
 *
 * Pipelining (RFC 9112 section 9.3.2). A thin uplink has a long
 * bandwidth-delay product (5 Mbit/s at 100 ms RTT is 62.5 kB), which one
 * request at a time cannot fill with small batches. So up to
 * max_in_flight requests (and none while max_bytes_in_flight request
 * bytes or more are unanswered; one request always may go) are written on
 * the one connection without waiting; the answers come back in request
 * order and are matched to the oldest unanswered request (struct
 * uplink_window). The response
 * timeout runs for the oldest unanswered request only, from when it
 * became the oldest (its send, or the previous answer, whichever is
 * later), so requests queued behind big ones on a thin link are not timed
 * out for the time the earlier ones took. A batch is in flight at most
 * once per connection: the picker skips batches in the window. When the
 * connection fails or times out, every unanswered request is forgotten
 * and its batch, still in the outbox, is sent again later; delivery is at
 * least once and the SOC answers 409 for a batch it holds already. The
 * token bucket applies to every request.
 *
 * For the SOC side: pipelining keeps each lane's order on the wire, but
 * when a batch is answered 429, 503 or 5xx and a later batch of the same
 * lane that was already in flight is stored, the earlier one is re-sent
 * after the later one. A SOC must de-duplicate by seq, keeping gaps open
 * for such late batches, as ward-soc does (docs/soc-api.md, "Gaps").
 *
 * Priority with aging. Each lane has a class (lane_class: 0 = P0, 1 = P1,
 * 2 = P2). Which batch goes next among those not yet sent
 * (uplink_pick_lane):
 *  1. P0 first: the first P0 lane, in lane order, that has a batch. So P0
 *     is never queued behind P1 or P2; with pipelining, at most the
 *     requests already in flight are ahead of it.
 *  2. Else aging: a non-P0 lane's wait is the shorter of the age of its
 *     oldest batch (by the file's mtime) and the time since the lane last
 *     sent a batch (or since the uplink started). A lane that has
 *     waited at least aging_ms is promoted above every lane that has not,
 *     for one batch (sending resets its wait). Among several such lanes
 *     the one that waited longest goes first. So under a sustained
 *     backlog of higher lanes each lower lane still sends at least one
 *     batch per aging_ms (default 10 s).
 *  3. Else strict order: the first lane, in lane order, with a batch.
 * Within a lane batches go oldest first (the lowest name, as the sealer's
 * zero-padded seqs sort).
 *
 * Endpoints. On an endpoint failure the connection is dropped and the
 * next endpoint in the list is tried at once; once every endpoint has
 * failed in a row, the uplink waits an exponential backoff with full
 * jitter (base * 2^n, capped, then a uniform draw in [0, that]) before the
 * next round. While a later endpoint is in use, the primary (the first) is
 * probed again once failback_ms have passed (no new request goes out
 * then until the answers in flight are in): if it answers, traffic fails
 * back to it; if not, the probe costs one
 * failed connect and the uplink goes on with the next endpoint at once.
 *
 * Proxy. With proxy_host set, the TCP connection goes to the proxy, which
 * is asked with CONNECT (RFC 9110 section 9.3.6) for the endpoint's
 * host:port; TLS (with the endpoint's SNI) runs through the tunnel. A
 * proxy that cannot be reached or refuses counts as a failure of the
 * endpoint, with the proxy named in the reason.
 *
 * An optional token bucket limits the request bytes per second. The
 * bucket holds one second of rate; a request is sent whenever the bucket
 * is not in debt, and its size is then taken out, possibly into debt, so
 * a batch larger than the bucket still goes and the average rate holds.
 * uplink_set_rate changes the rate (the agent's time-of-day schedule).
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
#define UPLINK_PROXY_AUTH_MAX 256   /* bytes of "user:pass", NUL included */
#define UPLINK_BACKOFF_BASE_DEFAULT 1000u      /* ms */
#define UPLINK_BACKOFF_CAP_DEFAULT 300000u     /* ms: 5 min */
#define UPLINK_CONNECT_TIMEOUT_DEFAULT 10000u  /* ms */
#define UPLINK_HANDSHAKE_TIMEOUT_DEFAULT 10000u/* ms */
#define UPLINK_RESPONSE_TIMEOUT_DEFAULT 30000u /* ms */
#define UPLINK_RESCAN_DEFAULT 1000u            /* ms */
#define UPLINK_FAILBACK_DEFAULT 300000u        /* ms: 5 min */
#define UPLINK_RETRY_AFTER_MAX 3600000u        /* ms: a longer one is cut */
#define UPLINK_MAX_IN_FLIGHT 64                /* requests, the upper bound */
#define UPLINK_IN_FLIGHT_DEFAULT 8u            /* requests */
#define UPLINK_BYTES_IN_FLIGHT_DEFAULT 4194304u/* bytes: 4 MiB */
#define UPLINK_AGING_DEFAULT 10000u            /* ms */
#define UPLINK_NAME_MAX 255                    /* bytes of a batch file name */

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
	const uint8_t *lane_class;/* n_lanes classes, 0 = P0, 1 = P1, 2 = P2;
	                           * NULL: lane i has class min(i, 2) */
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
	uint32_t max_in_flight;         /* requests pipelined on the
	                                 * connection, 1..UPLINK_MAX_IN_FLIGHT;
	                                 * 0 = UPLINK_IN_FLIGHT_DEFAULT */
	uint64_t max_bytes_in_flight;   /* request bytes unanswered; one
	                                 * request always may go; 0 = default */
	uint32_t aging_ms;              /* see "Priority with aging"; 0 =
	                                 * UPLINK_AGING_DEFAULT */
	const char *proxy_host;         /* HTTP CONNECT proxy; NULL = direct */
	uint16_t proxy_port;
	const char *proxy_auth;         /* "user:pass" for Basic proxy
	                                 * credentials (RFC 7617), or NULL; a
	                                 * credential: copied, wiped on
	                                 * destroy, never shown in status */
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
	UPLINK_SENDING,      /* requests in flight */
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
	unsigned in_flight;         /* requests sent and not yet answered */
	uint64_t in_flight_bytes;   /* their bytes */
	unsigned max_in_flight;
	uint64_t max_bytes_in_flight;
	unsigned in_flight_peak;    /* the most requests ever in flight */
	uint64_t aged_picks;        /* batches sent ahead of their lane order
	                             * because their lane had aged */
	int64_t last_success_s;     /* wall clock of the last acknowledgement,
	                             * s since the epoch; 0 = none yet */
	char last_error[256];       /* the latest endpoint error, any endpoint */
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
 * the next request on: for the agent's time-of-day schedule. */
void uplink_set_rate(struct uplink *u, uint64_t bytes_per_s);

/* Drops the connection (requests in flight stay in the outbox, to be
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

/* The in-flight window of one connection: the requests sent and not yet
 * answered, oldest first. Answers arrive in request order (RFC 9112
 * section 9.3.2), so each complete answer belongs to the oldest entry.
 * The caller allocates it; it owns no memory. */
struct uplink_sent {
	uint8_t lane;                   /* index into the uplink's lanes */
	char name[UPLINK_NAME_MAX + 1]; /* batch file name in the lane */
	uint64_t bytes;                 /* request bytes */
	uint64_t since_ms;              /* send time, then (once it is the
	                                 * oldest) when it became the oldest */
};

struct uplink_window {
	struct uplink_sent e[UPLINK_MAX_IN_FLIGHT];
	unsigned head, n;               /* ring: oldest at e[head] */
	uint64_t bytes;                 /* sum of e[].bytes */
};

/* Empties `w` (after a connection is gone: nothing in it is answered). */
void uplink_window_clear(struct uplink_window *w);

/* Whether one more request of `bytes` may go: fewer than `max_n` in
 * flight (itself at most UPLINK_MAX_IN_FLIGHT) and, unless the window is
 * empty, the bytes in flight plus `bytes` at most `max_bytes`. */
bool uplink_window_may_send(const struct uplink_window *w, unsigned max_n, uint64_t max_bytes,
			    uint64_t bytes);

/* Whether batch `name` of lane `lane` is in flight. O(n). */
bool uplink_window_has(const struct uplink_window *w, unsigned lane, const char *name);

/* Appends a request just sent at `now_ms`. Returns 0, -ENOSPC (full),
 * -ENAMETOOLONG, or -EEXIST (that batch is in flight already: a batch is
 * never sent twice on one connection while unanswered). */
int uplink_window_push(struct uplink_window *w, unsigned lane, const char *name,
		       uint64_t bytes, uint64_t now_ms);

/* The oldest unanswered request, or NULL when the window is empty. */
const struct uplink_sent *uplink_window_oldest(const struct uplink_window *w);

/* Removes the oldest request (its answer arrived); the next one becomes
 * the oldest, and its clock restarts at `now_ms` unless it was sent
 * later. No-op when empty. */
void uplink_window_pop(struct uplink_window *w, uint64_t now_ms);

/* What the picker knows of one lane (see "Priority with aging"). */
struct uplink_lane_head {
	bool ready;             /* has a batch not yet in flight */
	uint8_t cls;            /* 0 = P0, 1 = P1, 2 = P2 */
	uint64_t waited_ms;     /* min(age of its oldest batch, time since
	                         * the lane last sent) */
};

/* The lane to send from next, by the rule above, among `n` lanes in
 * priority order; -1 when none is ready. `*aged` (may be NULL) is set to
 * true when aging, not order, chose it. */
int uplink_pick_lane(const struct uplink_lane_head *h, size_t n, uint64_t aging_ms, bool *aged);

/* "stopped", "idle", "connecting", "sending", "waiting". */
const char *uplink_state_name(enum uplink_state s);

#endif
