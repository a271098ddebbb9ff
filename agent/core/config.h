/* config: the run-time configuration, one YAML file (docs/config.md).
 *
 * The file is parsed with libcyaml against a schema. An empty or missing
 * file means the compiled-in defaults, which run on one machine with no
 * setup: syslog on 127.0.0.1:5514 (UDP and TCP), SNMP notifications on
 * 127.0.0.1:10162 (UDP), spool and control socket in the working
 * directory, and no uplink to a SOC. Every key may be omitted; omitted keys keep their default. Unknown keys, wrong types and out-of-range values are
 * errors reported as "file:line:col: message".
 *
 * Ownership: config_load*() returns a struct the caller owns and frees with
 * config_free(). Strings and arrays inside belong to the struct.
 */
#ifndef WARD_CONFIG_H
#define WARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "snmp/snmp.h"     /* enum snmp_auth, enum snmp_priv only */

enum listener_proto { LISTEN_UDP = 0, LISTEN_TCP, LISTEN_TLS };

struct listener_conf {
	enum listener_proto proto;
	char *address;        /* "127.0.0.1:5514", "[::1]:5514", "0.0.0.0:514" */
	/* TLS only (RFC 5425). */
	char *cert;           /* PEM server certificate chain, required for tls */
	char *key;            /* PEM private key, required for tls */
	char *client_ca;      /* PEM CA bundle; when set, clients must present a
	                       * certificate that chains to it */
};

/* One SNMPv3 USM user (RFC 3414). priv is never set without auth. */
struct snmp_user_conf {
	char *name;           /* msgUserName, 1..32 bytes; unique in the list */
	enum snmp_auth auth;  /* default SNMP_AUTH_NONE */
	char *auth_password;  /* >= 8 bytes when auth != NONE, else NULL */
	enum snmp_priv priv;  /* default SNMP_PRIV_NONE */
	char *priv_password;  /* >= 8 bytes when priv != NONE, else NULL */
	uint8_t engine_id[32];    /* the trap sender's SnmpEngineID (RFC 3411) */
	size_t engine_id_len;     /* 5..32; 0 = any engine */
};

/* One SOC endpoint of the uplink, from a URL "https://host[:port][/]". */
struct uplink_endpoint_conf {
	char *url;            /* as written in the file */
	char *host;           /* DNS name, IPv4 or IPv6 literal (no brackets) */
	uint16_t port;        /* 1..65535; default 443 */
	char *sni;            /* server name to send and verify; NULL = host */
};

/* One time-of-day window of the uplink's rate limit, local time. from and
 * to are minutes since midnight, 0..1439, never equal; from > to wraps
 * midnight. The window is [from, to). */
struct uplink_window_conf {
	uint16_t from_min, to_min;
	uint64_t bytes_per_second;   /* 0 = unlimited, else >= 1024 */
};

/* One input of the EDR relay (a TCP listener): plain on loopback, TLS
 * when cert and key are given. */
struct edr_input_conf {
	bool enabled;         /* default true */
	char *address;        /* "127.0.0.1:5044" (lumberjack), "127.0.0.1:8088" (hec) */
	char *cert;           /* PEM server certificate chain; NULL = plain TCP,
	                       * allowed only on a loopback address */
	char *key;            /* PEM private key; set exactly when cert is */
	char *client_ca;      /* PEM CA bundle; when set, clients must present a
	                       * certificate that chains to it. Needs cert. */
};

/* One agent group of the EDR relay: the credentials its shippers present.
 * The group's name is the authenticated identity in records. */
struct edr_group_conf {
	char *name;           /* device_id alphabet, 1..64; unique */
	char **tokens;        /* HEC tokens ("Authorization: Splunk <token>");
	                       * 1..128 bytes of printable ASCII without spaces,
	                       * unique across groups */
	unsigned n_tokens;
	char **client_cns;    /* client certificate subject CNs, unique across
	                       * groups */
	unsigned n_client_cns;
};

/* The HEC token of the compiled-in defaults (README.md, docs/config.md).
 * For trying the relay on one machine only: a listener outside loopback
 * refuses to start with it. */
#define EDR_DEV_TOKEN "ward-dev-token-0000-0000-000000000000"

/* The capture backend of ward-sensor's live mode (drivers/capture.h). */
enum sensor_backend_conf { SENSOR_BACKEND_AF_PACKET = 0, SENSOR_BACKEND_PCAP };
/* How cleartext-credential notices write user names (sensor/analyzer.h). */
enum sensor_user_names_conf { SENSOR_USER_MASK = 0, SENSOR_USER_CLEAR, SENSOR_USER_OMIT };

struct ward_config {
	struct {
		char *device_id;       /* default: the host name */
		char *user;            /* user to run as when started as root;
		                        * default "nobody" */
		char *state_dir;       /* default "." */
		char *control_socket;  /* relative to state_dir; default "ward.sock" */
		enum log_level log_level;  /* default info */
		uint32_t status_interval_ms;  /* P0 status heartbeat; default 60000 */
	} agent;
	struct {
		char *dir;                    /* relative to state_dir; default "spool" */
		uint64_t segment_max_bytes;   /* default 4194304 (4 MiB) */
		uint32_t segment_max_age_ms;  /* default 1000 */
		uint32_t fsync_interval_ms;   /* group commit; default 100 */
		uint64_t budget_bytes;        /* whole spool; default 1073741824 (1 GiB) */
		uint32_t budget_check_ms;     /* default 1000 */
	} spool;
	struct {
		bool enabled;                 /* default true */
		uint32_t max_message_bytes;   /* default 65536 */
		uint32_t udp_rcvbuf_bytes;    /* SO_RCVBUF; default 4194304 */
		uint32_t max_connections;     /* default 1024 */
		uint32_t idle_timeout_ms;     /* close idle TCP/TLS peers; default 600000 */
		uint32_t max_pending_bytes;   /* pause TCP reads above this many
		                               * uncommitted spool bytes; default 8388608 */
		struct listener_conf *listeners;   /* default: udp and tcp on 127.0.0.1:5514 */
		unsigned n_listeners;
		/* listeners is NULL with n_listeners 0 only when enabled is
		 * false and the file gives "listeners: []"; when enabled,
		 * there is always at least one. Addresses have been checked
		 * with config_parse_address, tls entries have cert and key,
		 * other entries have no cert, key or client_ca, and no two
		 * entries bind the same socket. */
	} syslog;
	struct {
		bool enabled;                 /* default true */
		char **listeners;             /* UDP addresses; default "127.0.0.1:10162" */
		unsigned n_listeners;
		/* As syslog.listeners: NULL with 0 only when disabled and the
		 * file says "listeners: []"; checked with
		 * config_parse_address; no duplicates, and when both
		 * receivers are enabled none is a syslog UDP address. */
		uint8_t engine_id[32];        /* ours (RFC 3411 SnmpEngineID) */
		size_t engine_id_len;         /* 5..32; 0 = not set: the agent
		                               * generates one and keeps it in
		                               * its state directory */
		char **communities;           /* accepted v1/v2c communities;
		                               * default "public"; may be empty */
		unsigned n_communities;
		bool accept_any_community;    /* default false */
		bool accept_any_user;         /* v3 noAuthNoPriv from unknown
		                               * users; default false */
		bool record_community;        /* the community (a credential) in
		                               * records; default false */
		uint32_t udp_rcvbuf_bytes;    /* SO_RCVBUF; default 4194304 */
		char *oid_names;              /* "OID name" lines; NULL = none */
		struct snmp_user_conf *users; /* default none (NULL, 0) */
		unsigned n_users;
	} snmp;
	struct {
		bool enabled;                 /* default true */
		struct edr_input_conf lumberjack;  /* default 127.0.0.1:5044, plain */
		struct edr_input_conf hec;         /* default 127.0.0.1:8088, plain */
		struct edr_group_conf *groups;     /* default one group "dev" with
		                                    * the token EDR_DEV_TOKEN */
		unsigned n_groups;                 /* 0..64 */
		uint32_t max_event_bytes;     /* one event, as received (after
		                               * decompression); default 65536 */
		uint32_t max_body_bytes;      /* one HEC body or Lumberjack window
		                               * after decompression; default 4194304 */
		uint32_t max_connections;     /* both inputs together; default 1024 */
		uint32_t idle_timeout_ms;     /* default 600000 */
		uint32_t max_pending_bytes;   /* stop reading above this many
		                               * uncommitted spool bytes; default 8388608 */
	} edr;
	struct {
		bool enabled;                 /* default false: no SOC, batches
		                               * are neither sealed nor sent */
		/* When enabled, device_key, soc_public_key, ca, client_cert
		 * and client_key are set and there is at least one endpoint.
		 * Paths are as written; relative ones are taken from
		 * agent.state_dir. */
		char *device_key;             /* PEM, P-256 private key that signs
		                               * batches; default NULL */
		char *soc_public_key;         /* PEM, SOC P-256 public key batches
		                               * are sealed to; default NULL */
		char *outbox;                 /* sealed batches; relative to
		                               * state_dir; default "outbox" */
		uint32_t batch_max_bytes;     /* NDJSON bytes per batch,
		                               * SEALER_MAX_BATCH_MIN..64 MiB;
		                               * default 1048576 (1 MiB) */
		int zstd_level;               /* 1..19; default 3 */
		uint32_t seal_interval_ms;    /* default 1000 */
		struct uplink_endpoint_conf *endpoints;  /* in preference order;
		                                          * default none (NULL, 0) */
		unsigned n_endpoints;         /* 0..8 */
		char *ca;                     /* PEM, pinned SOC CA bundle; default NULL */
		char *client_cert;            /* PEM, device TLS certificate chain;
		                               * default NULL */
		char *client_key;             /* PEM, its private key; default NULL */
		char *proxy;                  /* "http://host:port" for HTTP CONNECT,
		                               * as written; default NULL (direct) */
		char *proxy_credentials;      /* file holding "user:pass" for Basic
		                               * proxy auth; default NULL (none) */
		char *proxy_host;             /* parsed from proxy; NULL without one */
		uint16_t proxy_port;          /* parsed from proxy; 0 without one */
		uint32_t connect_timeout_ms;  /* TCP connect; default 10000 */
		uint32_t handshake_timeout_ms;  /* TLS handshake; default 10000 */
		uint32_t response_timeout_ms; /* request sent to answer complete;
		                               * default 30000 */
		uint32_t backoff_min_ms;      /* first retry ceiling; default 1000 */
		uint32_t backoff_max_ms;      /* >= backoff_min_ms; default 300000 */
		struct uplink_window_conf *rate_limit;  /* no two overlap; default
		                                         * none (NULL, 0) */
		unsigned n_rate_limit;        /* 0..32 */
		uint64_t default_bytes_per_second;  /* outside every window;
		                                     * 0 = unlimited; default 0 */
		char **lanes;                 /* lane names, highest priority first,
		                               * unique, spool_lane_name_valid;
		                               * default none (NULL, 0): by class,
		                               * P0 > P1 > P2 */
		unsigned n_lanes;             /* 0..16 */
		uint32_t max_in_flight;       /* requests pipelined on the
		                               * connection, 1..64; default 8 */
		uint64_t max_bytes_in_flight; /* no new request while this many
		                               * request bytes are unanswered,
		                               * 65536..1 GiB; default 4 MiB */
		uint32_t aging_ms;            /* a lane that waited this long is
		                               * sent ahead of higher non-P0 lanes
		                               * for one batch, 100..86400000;
		                               * default 10000 */
		uint32_t failback_ms;         /* on a later endpoint, probe the
		                               * primary again after this long,
		                               * 1000..86400000; default 300000 */
	} uplink;
	struct {
		/* The mirror (SPAN) ports; one ward-sensor runs per entry.
		 * Default none (NULL, 0): the sensor is off. Names are
		 * 1..15 bytes (IFNAMSIZ - 1) without '/', ':' or blanks,
		 * unique. */
		char **interfaces;
		unsigned n_interfaces;        /* 0..6 */
		enum sensor_backend_conf backend;  /* default afpacket */
		uint32_t workers;             /* threads (AF_PACKET fanout
		                               * sockets), 1..64; default 1 */
		uint32_t snaplen;             /* bytes per frame, 64..262144;
		                               * default 65535 */
		bool promisc;                 /* default true */
		char *bpf;                    /* pcap-filter(7); default NULL */
		uint32_t block_size;          /* AF_PACKET ring block, bytes, a
		                               * power of two 4096..1 GiB;
		                               * default 1048576 */
		uint32_t block_count;         /* ring blocks per worker,
		                               * 2..65536; default 64 */
		uint64_t flow_memory_bytes;   /* flow table state per interface,
		                               * split over the workers,
		                               * 1 MiB..64 GiB; default 256 MiB */
		uint32_t tcp_timeout_ms;      /* inactivity; default 300000 */
		uint32_t udp_timeout_ms;      /* default 60000 */
		uint32_t icmp_timeout_ms;     /* and other protocols; default 60000 */
		uint32_t active_timeout_ms;   /* interim records of long flows;
		                               * 0 = off; default 600000 */
		char **local_nets;            /* "10.0.0.0/8", "fd00::/8": the
		                               * hospital's networks; checked
		                               * with config_parse_prefix. Default
		                               * the private ranges: 10/8,
		                               * 172.16/12, 192.168/16, fc00::/7 */
		unsigned n_local_nets;        /* 0..256 */
		uint32_t stats_interval_ms;   /* stats records; default 10000 */
		char *user;                   /* after opening the capture;
		                               * default "nobody" */
		/* The protocol analyzers (issue 5), per interface. */
		struct {
			bool enabled;             /* default true */
			uint64_t memory_bytes;    /* sessions, reassembly and
			                           * analyzer state, split over the
			                           * workers, 4 MiB..16 GiB;
			                           * default 64 MiB */
			uint32_t depth_bytes;     /* reassembly per direction,
			                           * 0 (none)..1 GiB; default 1 MiB */
			uint32_t max_sessions;    /* per worker, 16..16777216;
			                           * default 262144 */
			enum sensor_user_names_conf user_names; /* default mask */
			uint32_t max_uri_bytes;   /* 256..65536; default 8192 */
			uint32_t max_header_bytes;/* 256..65536; default 8192 */
			uint32_t file_depth_bytes;/* hashed per file, 0 = all;
			                           * default 0 */
			bool file_hashes;         /* MD5, SHA-1 and SHA-256 of
			                           * files; default true */
		} analyzers;
	} sensor;
};

struct config_error {
	char file[256];
	unsigned line, col;     /* 1-based; 0 when unknown (e.g. open failed) */
	char msg[256];
};

/* Files larger than this are refused (-EFBIG); a real one is a few KiB. */
#define CONFIG_FILE_MAX_BYTES (1024 * 1024)

/* Loads `path`. A missing file (ENOENT) or an empty document yields the
 * defaults. Returns 0 and sets *out, or a negative errno with *out NULL and
 * *err filled: -EINVAL for any content error (syntax, unknown key, wrong
 * type, bad value), -ENOMEM, or the -errno of reading the file. */
int config_load(const char *path, struct ward_config **out, struct config_error *err);
/* Also -EFBIG for more than CONFIG_FILE_MAX_BYTES. err may be NULL. After
 * any failure err->msg says what went wrong; err->line/col are set when
 * the problem is at one spot in the file. The loader is reentrant: no
 * global state, so a reload may run on any thread. */

/* As config_load, from `len` bytes in memory; `name` is used in errors. */
int config_load_buf(const char *name, const uint8_t *buf, size_t len,
		    struct ward_config **out, struct config_error *err);

/* The compiled-in defaults, as a new struct the caller frees. NULL on ENOMEM. */
struct ward_config *config_defaults(void);

/* Formats err as "file:line:col: message" (or "file: message" without a
 * position) into dst of dstlen bytes. Returns dst. */
const char *config_error_str(const struct config_error *err, char *dst, size_t dstlen);

/* Parses a listener address "host:port" / "[v6]:port" into a sockaddr
 * (struct sockaddr_storage). Returns 0 or -EINVAL. */
/* Numeric addresses only (inet_pton; no DNS), port 1..65535 in decimal,
 * no IPv6 scope id. ss may be NULL to only check; on failure it is zeroed. */
struct sockaddr_storage;
int config_parse_address(const char *addr, struct sockaddr_storage *ss);

const char *listener_proto_name(enum listener_proto p);

/* Parses an IP prefix "10.0.0.0/8", "fd00::/8" or a bare address (a host:
 * /32 or /128). `addr` (16 bytes, network order, IPv4 in the first 4)
 * gets the address with the bits past the prefix cleared. 0, or -EINVAL
 * (then *why, if not NULL, says why in a phrase). */
int config_parse_prefix(const char *s, uint8_t *ip_version, uint8_t addr[16],
			uint8_t *prefix_len, const char **why);

/* "afpacket" or "pcap". */
const char *sensor_backend_name(enum sensor_backend_conf b);

/* NULL-safe. */
void config_free(struct ward_config *c);

#endif
