/* config internals shared by the loader's files. Not installed, not for
 * other modules:
 *   config.c          the public API, the loading pipeline and the generic
 *                     helpers (errors, value checks, addresses);
 *   config_locate.c   positions: the libyaml document and cyaml's log;
 *   config_sections.c the schema, the defaults and the checks of the
 *                     agent, spool and syslog sections, and the top level;
 *   config_snmp.c     the same for the snmp section;
 *   config_uplink.c   the same for the uplink section;
 *   config_edr.c      the same for the edr section;
 *   config_sensor.c   the same for the sensor section.
 *
 * libcyaml 1.3.1 checks the file against the schema but reports a failure
 * only as log lines: a message and a backtrace of the path it was loading
 * ("in mapping field 'syslog'", "in sequence entry '2'"), with no position
 * for the offending node. So the loader keeps a second view of the same
 * bytes, a libyaml document, and finds positions there by walking a path.
 * The same path walk places the errors of the semantic checks that run
 * after a successful load.
 *
 * Paths are written the way the messages show them: dotted keys and
 * 0-based sequence indexes, "syslog.listeners[1].address". The empty path
 * is the document's root. Schema keys never contain '.' or '[', so this
 * syntax is unambiguous for every path the loader builds.
 */
#ifndef WARD_CONFIG_INTERNAL_H
#define WARD_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cyaml/cyaml.h>
#include <yaml.h>

#include "config.h"

/* A position in the file, 1-based; 0:0 when unknown. */
struct config__mark {
	unsigned line, col;
};

/* The libyaml document of one config file. The caller owns the struct;
 * config__doc_free releases what config__doc_load allocated. */
struct config__doc {
	yaml_document_t doc;
	bool loaded;
};

/* Parses `len` bytes as YAML into d. Returns 0, -ENOMEM, or -EINVAL with
 * err->line/col/msg filled (err->file is left to the caller) for:
 * a syntax or encoding error, more than one document, a key that is not a
 * plain scalar, or a scalar that contains a NUL character. After any
 * return, config__doc_free(d) is safe. */
int config__doc_load(struct config__doc *d, const uint8_t *buf, size_t len,
		     struct config_error *err);
/* NULL-safe; d may be reused after it. */
void config__doc_free(struct config__doc *d);
/* True when the document has no content: an empty stream, only comments,
 * or a lone null ("---", "~", "null"). Such a file means the defaults. */
bool config__doc_empty(const struct config__doc *d);

/* Resolves `path` to a node. Returns it, or NULL when the path does not
 * resolve; either way *m is set to the position of the deepest node that
 * did resolve (the root at worst, 0:0 for an empty document). */
yaml_node_t *config__find(const struct config__doc *d, const char *path,
			  struct config__mark *m);
/* Finds the nth (0-based) occurrence of key `key` in the mapping at `path`
 * and returns the key node, setting *m to its position. On failure returns
 * NULL with *m set as config__find would for `path`. */
yaml_node_t *config__find_key(const struct config__doc *d, const char *path,
			      const char *key, unsigned nth, struct config__mark *m);
/* The value of a scalar node, or NULL when n is not a scalar. */
const char *config__scalar(const yaml_node_t *n);
/* Scans the raw bytes for the first alias ("*name") and sets *m to it.
 * Returns 0, or -ENOENT when there is none (or the scan fails). */
int config__find_alias(const uint8_t *buf, size_t len, struct config__mark *m);

/* What libcyaml said while loading: its first error message (without the
 * "Load: " prefix and the newline) and the backtrace, innermost frame
 * first. A key frame is "in mapping field 'k'", an index frame "in
 * sequence entry 'n'" (stored 0-based), a bare frame "in mapping". */
#define CONFIG__MAX_FRAMES 8
enum config__frame_kind { CONFIG__FRAME_MAPPING, CONFIG__FRAME_KEY, CONFIG__FRAME_INDEX };
struct config__frame {
	enum config__frame_kind kind;
	char key[64];
	unsigned index;
};
struct config__cylog {
	char msg[256];
	unsigned n_frames;
	bool frames_lost;       /* deeper than CONFIG__MAX_FRAMES */
	struct config__frame frames[CONFIG__MAX_FRAMES];
};

/* A cyaml_log_fn_t; ctx is a zeroed struct config__cylog. */
void config__cylog_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list args);
/* Writes the backtrace as a path into dst. Returns 0, or -E2BIG when the
 * backtrace was cut short or dst is too small (dst then holds the empty
 * path). */
int config__cylog_path(const struct config__cylog *l, char *dst, size_t dstlen);

/* Splits the next component off the path at *p: a key, copied into key
 * (keylen bytes), or an index, stored in *index with *is_index set.
 * Returns 1 and advances *p, 0 at the end of the path, or -EINVAL for a
 * malformed path or a key longer than keylen - 1. */
int config__path_next(const char **p, char *key, size_t keylen,
		      unsigned *index, bool *is_index);

/* ---- the loader's shared helpers (config.c) ------------------------------- */

/* Limits shared by several sections; docs/config.md states each of them. */
#define CONFIG__LISTENERS_MAX   64
#define CONFIG__NAME_MAX_LEN    64    /* device_id; a host name is at most 64 too */
#define CONFIG__PATH_MAX_LEN    4095
#define CONFIG__ADDRESS_MAX_LEN 64    /* "[" + 45-char IPv6 + "]:" + port fits */
#define CONFIG__SHOW_MAX        48    /* bytes of the user's text quoted in a message */

/* Schema flags of an optional value: with CYAML_FLAG_POINTER_NULL_STR an
 * empty value, "~" or "null" loads as NULL, the same as leaving it out. */
#define CONFIG__OPT (CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER_NULL_STR)
/* Enum values must be names, not numbers; "UDP" is as good as "udp". */
#define CONFIG__ENUM_FLAGS (CYAML_FLAG_STRICT | CYAML_FLAG_CASE_INSENSITIVE)

/* One load in progress: where errors go and the libyaml view of the bytes
 * that places them. */
struct config__load {
	struct config_error *err;
	struct config__doc doc;
	const uint8_t *buf;
	size_t len;
};

/* Both fill ld->err with the message and a position and return -EINVAL.
 * fail_mark uses *m; fail_at the value of `path`, or its nearest ancestor
 * in the file. */
int config__fail_mark(struct config__load *ld, const struct config__mark *m,
		      const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int config__fail_at(struct config__load *ld, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Copies user text into dst (dstlen bytes) for a message: control
 * characters become '?', and long text is cut and marked "...". Returns
 * dst. Never pass a credential: a message must not carry one. */
const char *config__show(char *dst, size_t dstlen, const char *s);

/* The setters check the value the file gives at `path` and store it in
 * *dst. `given` is the raw value, NULL when the file does not set it (dst
 * is then left alone). Numbers must be plain decimal text inside the
 * path's config__num_rule; booleans one of the words in docs/config.md.
 * set_str replaces *dst with a copy, after checking the device_id
 * alphabet when is_name is set. Each returns 0, -EINVAL (ld->err filled)
 * or -ENOMEM. */
int config__set_u64(struct config__load *ld, const char *path, const uint64_t *given,
		    uint64_t *dst);
int config__set_u32(struct config__load *ld, const char *path, const uint64_t *given,
		    uint32_t *dst);
int config__set_bool(struct config__load *ld, const char *path, const bool *given, bool *dst);
int config__set_str(struct config__load *ld, const char *path, const char *given, char **dst,
		    bool is_name);
/* *dst = a copy of s, or NULL when s is NULL. 0 or -ENOMEM. */
int config__dup_opt(const char *s, char **dst);

/* One character of the device_id alphabet: letters, digits, and '.', '_'
 * or '-' when not first. */
bool config__name_char_ok(char ch, bool first);
/* config_parse_address, saying on failure why: *why is a phrase that
 * follows the quoted address, "has no port (expected host:port or
 * [v6]:port)". ss is required and zeroed on failure. */
int config__parse_address(const char *addr, struct sockaddr_storage *ss, const char **why);
/* True when two parsed addresses name the same socket address: family,
 * address and port (so "[::1]:5" and "[0::1]:5" are the same). */
bool config__same_socket(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* ---- the sections (config_sections.c) ------------------------------------ */

/* The schema of the whole file. */
extern const cyaml_schema_value_t config__top_schema;

/* The range of the number at `path`, or NULL when there is no rule. All
 * maxima of 32-bit fields fit in 32 bits. A rule for the entries of a list
 * writes the index as "[]" ("uplink.rate_limit[].bytes_per_second") and
 * matches every index. */
struct config__num_rule {
	const char *path;
	uint64_t min, max;
};
const struct config__num_rule *config__num_rule_for(const char *path);

/* Checks what cyaml loaded (`raw`, of config__top_schema) and copies it
 * over the defaults in c, then runs the checks across values. 0, -EINVAL
 * with ld->err filled, or -ENOMEM; on failure c is still whole (the caller
 * frees it) but may hold some of the file's values. */
int config__apply(struct config__load *ld, struct ward_config *c, const void *raw);

/* ---- the snmp section (config_snmp.c) ------------------------------------ */

/* What the file says, as cyaml loads it: NULL for what it does not set.
 * Shared because the top-level schema in config_sections.c needs the
 * size of the section's struct. */
struct config__raw_snmp_user {
	char *name;                   /* required */
	enum snmp_auth *auth;
	char *auth_password;
	enum snmp_priv *priv;
	char *priv_password;
	char *engine_id;
};

struct config__raw_snmp {
	bool *enabled;
	char **listeners;
	unsigned n_listeners;
	char *engine_id;
	char **communities;
	unsigned n_communities;
	bool *accept_any_community;
	bool *accept_any_user;
	bool *record_community;
	uint64_t *udp_rcvbuf_bytes;
	char *oid_names;
	struct config__raw_snmp_user *users;
	unsigned n_users;
};

extern const cyaml_schema_field_t config__snmp_fields[];

/* Sets c->snmp to the defaults. 0 or -ENOMEM (c->snmp is then still safe
 * for config__snmp_free). */
int config__snmp_defaults(struct ward_config *c);
/* Frees what c->snmp owns and zeroes it. */
void config__snmp_free(struct ward_config *c);
/* Checks r (NULL: the file has no snmp section) and copies it over
 * c->snmp. 0, -EINVAL or -ENOMEM. */
int config__snmp_apply(struct config__load *ld, struct ward_config *c,
		       const struct config__raw_snmp *r);
/* The checks between snmp and the other sections, on the merged result:
 * while both receivers are enabled, no SNMP listener may take the UDP port
 * of a syslog UDP listener. 0 or -EINVAL. */
int config__snmp_check(struct config__load *ld, const struct ward_config *c);

/* ---- the uplink section (config_uplink.c) -------------------------------- */

struct config__raw_uplink_endpoint;
struct config__raw_uplink_window;

/* As for snmp: what the file says, NULL for what it does not set. */
struct config__raw_uplink {
	bool *enabled;
	char *device_key;
	char *soc_public_key;
	char *outbox;
	uint64_t *batch_max_bytes;
	uint64_t *zstd_level;
	uint64_t *seal_interval_ms;
	struct config__raw_uplink_endpoint *endpoints;
	unsigned n_endpoints;
	char *ca;
	char *client_cert;
	char *client_key;
	char *proxy;
	char *proxy_credentials;
	uint64_t *connect_timeout_ms;
	uint64_t *handshake_timeout_ms;
	uint64_t *response_timeout_ms;
	uint64_t *backoff_min_ms;
	uint64_t *backoff_max_ms;
	struct config__raw_uplink_window *rate_limit;
	unsigned n_rate_limit;
	uint64_t *default_bytes_per_second;
	char **lanes;
	unsigned n_lanes;
	uint64_t *max_in_flight;
	uint64_t *max_bytes_in_flight;
	uint64_t *aging_ms;
	uint64_t *failback_ms;
};

extern const cyaml_schema_field_t config__uplink_fields[];

/* Sets c->uplink to the defaults. 0 or -ENOMEM (c->uplink is then still
 * safe for config__uplink_free). */
int config__uplink_defaults(struct ward_config *c);
/* Frees what c->uplink owns and zeroes it. */
void config__uplink_free(struct ward_config *c);
/* Checks r (NULL: the file has no uplink section) and copies it over
 * c->uplink, including the keys required when enabled. 0, -EINVAL or
 * -ENOMEM. */
int config__uplink_apply(struct config__load *ld, struct ward_config *c,
			 const struct config__raw_uplink *r);
/* The checks between values, on the merged result: backoff_min_ms <=
 * backoff_max_ms, and the outbox is not the spool directory. 0 or
 * -EINVAL. */
int config__uplink_check(struct config__load *ld, const struct ward_config *c);

/* ---- the edr section (config_edr.c) -------------------------------------- */

struct config__raw_edr_input;
struct config__raw_edr_group;

/* As for snmp: what the file says, NULL for what it does not set. */
struct config__raw_edr {
	bool *enabled;
	struct config__raw_edr_input *lumberjack;
	struct config__raw_edr_input *hec;
	struct config__raw_edr_group *groups;
	unsigned n_groups;
	uint64_t *max_event_bytes;
	uint64_t *max_body_bytes;
	uint64_t *max_connections;
	uint64_t *idle_timeout_ms;
	uint64_t *max_pending_bytes;
};

extern const cyaml_schema_field_t config__edr_fields[];

/* Sets c->edr to the defaults. 0 or -ENOMEM (c->edr is then still safe
 * for config__edr_free). */
int config__edr_defaults(struct ward_config *c);
/* Frees what c->edr owns (wiping the tokens) and zeroes it. */
void config__edr_free(struct ward_config *c);
/* Checks r (NULL: the file has no edr section) and copies it over c->edr.
 * 0, -EINVAL or -ENOMEM. */
int config__edr_apply(struct config__load *ld, struct ward_config *c,
		      const struct config__raw_edr *r);
/* The checks between values, on the merged result: max_event_bytes <=
 * max_body_bytes <= ..., max_pending_bytes >= max_event_bytes, the two
 * inputs do not share a TCP address with each other or with a syslog
 * TCP/TLS listener, and the development token is not accepted outside
 * loopback. 0 or -EINVAL. */
int config__edr_check(struct config__load *ld, const struct ward_config *c);

/* ---- the sensor section (config_sensor.c) -------------------------------- */

/* As for snmp: what the file says, NULL for what it does not set. */
struct config__raw_sensor {
	char **interfaces;
	unsigned n_interfaces;
	enum sensor_backend_conf *backend;
	uint64_t *workers;
	uint64_t *snaplen;
	bool *promisc;
	char *bpf;
	uint64_t *block_size;
	uint64_t *block_count;
	uint64_t *flow_memory_bytes;
	uint64_t *tcp_timeout_ms;
	uint64_t *udp_timeout_ms;
	uint64_t *icmp_timeout_ms;
	uint64_t *active_timeout_ms;
	char **local_nets;
	unsigned n_local_nets;
	uint64_t *stats_interval_ms;
	char *user;
	struct config__raw_analyzers *analyzers;
};

struct config__raw_analyzers {
	bool *enabled;
	uint64_t *memory_bytes;
	uint64_t *depth_bytes;
	uint64_t *max_sessions;
	enum sensor_user_names_conf *user_names;
	uint64_t *max_uri_bytes;
	uint64_t *max_header_bytes;
	uint64_t *file_depth_bytes;
	bool *file_hashes;
};

extern const cyaml_schema_field_t config__sensor_fields[];

/* Sets c->sensor to the defaults. 0 or -ENOMEM (c->sensor is then still
 * safe for config__sensor_free). */
int config__sensor_defaults(struct ward_config *c);
/* Frees what c->sensor owns and zeroes it. */
void config__sensor_free(struct ward_config *c);
/* Checks r (NULL: the file has no sensor section) and copies it over
 * c->sensor. 0, -EINVAL or -ENOMEM. */
int config__sensor_apply(struct config__load *ld, struct ward_config *c,
			 const struct config__raw_sensor *r);

#endif
