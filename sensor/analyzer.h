/* analyzer: protocol analyzers on top of the flow table (issue 5).
 *
 * The sensor gives every decoded packet to the flow table (flow.h), then
 * to the analyzer context of the same worker thread (an_packet). The
 * context keeps a session for each TCP or UDP flow that has carried
 * payload, and in it:
 *   - for TCP, a reassembler per direction (reasm.h), which turns
 *     segments into in-order bytes and gaps, up to a depth per direction;
 *   - protocol detection by content, not port (Zeek's dynamic protocol
 *     detection): the first bytes of both directions are kept (at most
 *     AN_PROBE_MAX bytes) and shown to every analyzer's probe until one
 *     says yes; they are then replayed to it in their order of arrival;
 *   - the attached analyzer and its state.
 * When the flow ends, the analyzer is told (end), its pending records are
 * written, and the conn record gets the analyzer's name as `service`.
 *
 * Records: every analyzer record carries the conn's `uid`, its id.*
 * fields and `community_id`, with Zeek's field names (an_record_begin
 * writes the common part). The context's sink receives each record as
 * one JSON object with its spool class: P2 for protocol records (dns,
 * http, ssl, x509, files, smtp, pop3, ftp), P0 for notices.
 *
 * Malformed input is counted and skipped: an analyzer calls an_weird with
 * a static name (Zeek's weird.log names where one exists, e.g.
 * "DNS_label_len_gt_pkt"); the counts appear in the sensor's stats.
 *
 * Memory: sessions, reassembly buffers and analyzer state are bounded by
 * an_config.mem_max; when it is reached, new sessions are not created and
 * the degradation is counted (an_stats). One context belongs to one
 * thread.
 */
#ifndef WARD_SENSOR_ANALYZER_H
#define WARD_SENSOR_ANALYZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "jsonw.h"
#include "pkt.h"
#include "spool.h"

/* Bytes of each direction kept for detection before giving up. */
#define AN_PROBE_MAX 2048

enum an_probe_result {
	AN_PROBE_NO = 0,     /* not this protocol */
	AN_PROBE_MAYBE,      /* cannot tell yet: show me more */
	AN_PROBE_YES,
};

struct an_session;

/* What detection shows a probe: the first bytes of each direction so far
 * (TCP: in order, from the reassembler; UDP: the first datagram of each
 * side). `orig_len` or `resp_len` may be 0. */
struct an_probe_view {
	const uint8_t *orig;
	size_t orig_len;
	const uint8_t *resp;
	size_t resp_len;
	uint8_t proto;                /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t orig_p, resp_p;      /* for tie-breaks only, never alone */
};

/* One protocol analyzer. All callbacks but probe get the state block of
 * state_size bytes, zeroed, that the framework allocates per session. */
struct analyzer {
	const char *name;             /* conn's service: "dns", "http", "ssl", ... */
	uint8_t transports;           /* AN_T_TCP | AN_T_UDP */
	size_t state_size;            /* bytes */
	/* Content detection; pure, no state. */
	enum an_probe_result (*probe)(const struct an_probe_view *v);
	/* The session now belongs to this analyzer. 0, or -ENOMEM (the
	 * session is then left without analyzer and counted). */
	int (*init)(void *st, struct an_session *s);
	/* In-order bytes of one direction (TCP), or one whole datagram
	 * (UDP); ts_us is the capture time of the packet that completed
	 * them. */
	void (*data)(void *st, struct an_session *s, bool is_orig, const uint8_t *d, size_t len,
		     uint64_t ts_us);
	/* TCP: `len` bytes of this direction were never seen (a content gap,
	 * or the reassembler gave up on them); data resumes after them. May
	 * be NULL: the framework then detaches the analyzer. */
	void (*gap)(void *st, struct an_session *s, bool is_orig, uint64_t len);
	/* The flow ended (or the session is torn down): write pending
	 * records, free what the state owns. Always called once after
	 * init. */
	void (*end)(void *st, struct an_session *s, uint64_t ts_us);
};

#define AN_T_TCP 0x01
#define AN_T_UDP 0x02

/* The analyzers, in probe order (analyzers.c). */
extern const struct analyzer an_dns, an_http, an_ssl, an_smtp, an_pop3, an_ftp, an_telnet;

/* How user names in cleartext-credential notices are written. */
enum an_user_mask {
	AN_USER_MASK = 0,             /* first and last byte around three stars:
	                               * "j***e" ("***" under 4 bytes) */
	AN_USER_CLEAR,                /* as sent */
	AN_USER_OMIT,                 /* not written */
};

struct an_config {
	bool enabled;                 /* false: no sessions at all (part 1's sensor) */
	size_t mem_max;               /* bytes: sessions + reassembly + state; default 64 MiB */
	uint32_t depth_bytes;         /* reassembly depth per direction; default 1 MiB */
	uint32_t max_sessions;        /* default 262144 */
	enum an_user_mask user_mask;
	/* Limits the analyzers apply (Zeek's http uses 8 KiB/ 64 KiB lines). */
	uint32_t max_uri_bytes;       /* default 8192 */
	uint32_t max_header_bytes;    /* one header line; default 8192 */
	uint32_t file_depth_bytes;    /* hashed per file; default 0 = whole file */
	bool file_hashes;             /* MD5, SHA-1, SHA-256 of files; default true */
};

/* Receives each record: `json` (len bytes, no newline) and its class:
 * SPOOL_P2 for protocol records, SPOOL_P0 for notices. The bytes are
 * valid during the call only. */
typedef void (*an_sink_fn)(void *ctx, enum spool_class cls, const char *json, size_t len);

struct an_stats {
	uint64_t sessions;            /* created */
	uint64_t sessions_active;
	uint64_t sessions_denied;     /* not created: mem_max or max_sessions reached */
	uint64_t detected[8];         /* per analyzer, in an_all order */
	uint64_t undetected;          /* sessions whose probes all said no */
	uint64_t records;             /* records given to the sink */
	uint64_t notices;
	uint64_t mem_bytes;           /* now */
	uint64_t mem_peak;
	/* Reassembly (reasm.h). */
	uint64_t reasm_bytes;         /* delivered in order */
	uint64_t reasm_ooo;           /* segments that arrived out of order */
	uint64_t reasm_overlap_bytes; /* resolved first-wins */
	uint64_t reasm_overlap_conflicts; /* overlaps whose bytes differed */
	uint64_t reasm_bad_seq;       /* segments or ACKs far outside the window */
	uint64_t reasm_gap_bytes;     /* never seen, skipped */
	uint64_t reasm_depth_cut;     /* directions that reached the depth */
	uint64_t reasm_mem_drops;     /* out-of-order segments dropped for memory */
	uint64_t reasm_buffered;      /* bytes held out of order now */
	uint64_t reasm_buffered_peak;
};

struct an_ctx;

/* Fills *cfg with the defaults above (enabled). */
void an_config_defaults(struct an_config *cfg);

/* The analyzers compiled in, NULL-terminated, in probe order. */
extern const struct analyzer *const an_all[];

/* Creates a context. `ft` is the worker's flow table (for uids and
 * Community IDs); `sink` gets every record. 0, -EINVAL or -ENOMEM. */
int an_ctx_create(struct an_ctx **out, const struct an_config *cfg, struct flow_table *ft,
		  an_sink_fn sink, void *sink_ctx);
/* Ends every session (their records are written) and frees the context.
 * NULL is accepted. */
void an_ctx_destroy(struct an_ctx *c);

/* After flow_table_update(ft, p) returned 0 with *ref filled: gives the
 * packet's payload to its session (creating it on the first payload). */
void an_packet(struct an_ctx *c, const struct flow_ref *ref, const struct pkt *p);

/* From the flow table's emit callback, before the conn record is written:
 * for a final record, ends the flow's session (its analyzer writes its
 * pending records); for both, returns the detected service name (static)
 * or NULL, for c->service. */
const char *an_flow_end(struct an_ctx *c, const struct conn *conn);

const struct an_stats *an_ctx_stats(const struct an_ctx *c);
/* Adds src's counters to *dst (the workers' sum); peaks add too, which
 * bounds the sum of the peaks from above. */
void an_stats_add(struct an_stats *dst, const struct an_stats *src);
/* Writes *st as one JSON object value (after a key, or alone):
 * {"sessions","sessions_denied","detected":{name:N},"undetected",
 * "records","notices","mem_peak_bytes","reasm":{"bytes","ooo_segments",
 * "overlap_bytes","gap_bytes","depth_cut","mem_drops","buffered_peak_bytes"}}. */
void an_stats_write(struct jsonw *w, const struct an_stats *st);
/* Calls fn for each weird name counted so far. */
void an_weirds(const struct an_ctx *c, void (*fn)(void *arg, const char *name, uint64_t n),
	       void *arg);

/* ---- for analyzers --------------------------------------------------- */

/* The conn identity of the session: uid, id.*, community_id, ts_us (first
 * packet), local_orig/local_resp. Valid for the session's life. */
const struct conn *an_conn(const struct an_session *s);
const struct an_config *an_session_config(const struct an_session *s);

/* Starts a record of `type` ("dns", "http", ...) at ts_us: writes
 * {"type":..,"ts":..,"uid":..,"id.orig_h":..,"id.orig_p":..,
 * "id.resp_h":..,"id.resp_p":.. and returns the writer to add fields to.
 * One record at a time per context. */
struct jsonw *an_record_begin(struct an_session *s, const char *type, uint64_t ts_us);
/* Writes "community_id", closes the object and gives the record to the
 * sink with class `cls`. A record whose writer failed (-ENOMEM) is
 * dropped and counted as weird "record_too_large". */
void an_record_end(struct an_session *s, enum spool_class cls);

/* Raises the P0 notice of a cleartext credential (the hospital's duty to
 * report plaintext transmission): note "Cleartext_Credentials", the
 * protocol ("http", "ftp", "pop3", "smtp", "telnet"), the mechanism
 * ("basic", "USER/PASS", "AUTH PLAIN", "AUTH LOGIN", "login"), and the
 * user name masked per an_config.user_mask. The secret is never passed
 * here, so it cannot be stored. Schema: docs/schema/notice.schema.json. */
void an_notice_cleartext(struct an_session *s, const char *proto, const char *mechanism,
			 const uint8_t *user, size_t user_len, uint64_t ts_us);

/* Writes user name u (len bytes) into out (outsz bytes, at least 5) as
 * `mode` says: AN_USER_MASK, the first and last byte around three stars
 * ("j***e"; "***" under 4 bytes; a byte that is not printable ASCII is a
 * star too), so neither the name nor its length is given away;
 * AN_USER_CLEAR, as sent (cut at outsz). Returns the length written, or
 * -1 when the name is to be left out (AN_USER_OMIT, an empty name). The
 * notices use it; an analyzer that writes a user field (http's username)
 * must too, so that its records and the notice agree. */
int an_user_format(enum an_user_mask mode, const uint8_t *u, size_t len, char *out,
		   size_t outsz);

/* Counts one malformed or unexpected input under a static name. */
void an_weird(struct an_session *s, const char *name);

/* Allocates/frees analyzer memory charged to the context's mem_max.
 * an_alloc returns NULL (and counts) when the cap would be passed. */
void *an_alloc(struct an_session *s, size_t len);
void *an_realloc(struct an_session *s, void *p, size_t old_len, size_t new_len);
void an_free(struct an_session *s, void *p, size_t len);

/* Stops analysis of the session's flow (the analyzer gave up: the rest is
 * not its protocol, or it is encrypted from here). `end` is still called
 * at flow end; no more data. */
void an_session_detach(struct an_session *s);

/* ---- for unit tests and fuzz targets -------------------------------- */

/* A session on a made-up conn `id` (uid, tuple, community_id as given),
 * attached to analyzer `a` without detection, for feeding a protocol's
 * bytes straight to it. `ft` may be NULL in the context. */
struct an_session *an_test_session(struct an_ctx *c, const struct conn *id,
				   const struct analyzer *a);
/* Feeds bytes as if reassembled (TCP) or one datagram (UDP). */
void an_test_data(struct an_session *s, bool is_orig, const uint8_t *d, size_t len,
		  uint64_t ts_us);
void an_test_gap(struct an_session *s, bool is_orig, uint64_t len);
/* Ends and frees the session (the analyzer's end runs). */
void an_test_end(struct an_session *s, uint64_t ts_us);

#endif
