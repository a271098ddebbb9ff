/* config_sections: what the configuration file holds, section by section:
 * the raw structs libcyaml loads, the schema, the ranges of the numbers,
 * the defaults, and the checks that turn a raw section into its part of
 * struct ward_config. The snmp, uplink, edr and sensor sections' parts are
 * in config_snmp.c, config_uplink.c, config_edr.c and config_sensor.c; the
 * machinery these checks use (errors with positions, number and boolean
 * text, addresses) is in config.c.
 */
#include "config.h"
#include "config_internal.h"
#include "sealer.h"       /* SEALER_MAX_BATCH_MIN only */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Limits; docs/config.md states each of them. */
#define USER_MAX_LEN      32    /* the Linux user name limit */
#define SOCKET_PATH_MAX   107   /* sizeof(sockaddr_un.sun_path) - 1 */

/* Short names for the schema tables below. */
#define OPT        CONFIG__OPT
#define ENUM_FLAGS CONFIG__ENUM_FLAGS

/* ---- what the file says ---------------------------------------------------
 * Every scalar is a pointer so that "not set" (NULL) is told apart from any
 * value. With CYAML_FLAG_POINTER_NULL_STR an empty value, "~" or "null"
 * loads as NULL too, so "spool:" with nothing under it, or a key left
 * empty, means the default. Numbers load as uint64_t whatever the field's
 * width: the range check below decides, so cyaml never truncates. */
struct raw_agent {
	char *device_id;
	char *user;
	char *state_dir;
	char *control_socket;
	enum log_level *log_level;
	uint64_t *status_interval_ms;
};

struct raw_spool {
	char *dir;
	uint64_t *segment_max_bytes;
	uint64_t *segment_max_age_ms;
	uint64_t *fsync_interval_ms;
	uint64_t *budget_bytes;
	uint64_t *budget_check_ms;
};

struct raw_listener {
	enum listener_proto proto;     /* required */
	char *address;                 /* required */
	char *cert;
	char *key;
	char *client_ca;
};

struct raw_syslog {
	bool *enabled;
	uint64_t *max_message_bytes;
	uint64_t *udp_rcvbuf_bytes;
	uint64_t *max_connections;
	uint64_t *idle_timeout_ms;
	uint64_t *max_pending_bytes;
	struct raw_listener *listeners;
	unsigned n_listeners;
};

struct raw_config {
	struct raw_agent *agent;
	struct raw_spool *spool;
	struct raw_syslog *syslog;
	struct config__raw_snmp *snmp;
	struct config__raw_uplink *uplink;
	struct config__raw_edr *edr;
	struct config__raw_sensor *sensor;
};

/* ---- the schema ---------------------------------------------------------- */

static const cyaml_strval_t proto_names[] = {
	{ "udp", LISTEN_UDP },
	{ "tcp", LISTEN_TCP },
	{ "tls", LISTEN_TLS },
};

static const cyaml_strval_t level_names[] = {
	{ "error", LOG_LVL_ERROR },
	{ "warning", LOG_LVL_WARN },
	{ "info", LOG_LVL_INFO },
	{ "debug", LOG_LVL_DEBUG },
};

static const cyaml_schema_field_t agent_fields[] = {
	CYAML_FIELD_STRING_PTR("device_id", OPT, struct raw_agent, device_id,
			       0, CONFIG__NAME_MAX_LEN),
	CYAML_FIELD_STRING_PTR("user", OPT, struct raw_agent, user, 0, USER_MAX_LEN),
	CYAML_FIELD_STRING_PTR("state_dir", OPT, struct raw_agent, state_dir,
			       0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_STRING_PTR("control_socket", OPT, struct raw_agent, control_socket,
			       0, SOCKET_PATH_MAX),
	CYAML_FIELD_ENUM_PTR("log_level", OPT | ENUM_FLAGS, struct raw_agent, log_level,
			     level_names, CYAML_ARRAY_LEN(level_names)),
	CYAML_FIELD_UINT_PTR("status_interval_ms", OPT, struct raw_agent, status_interval_ms),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t spool_fields[] = {
	CYAML_FIELD_STRING_PTR("dir", OPT, struct raw_spool, dir, 0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_UINT_PTR("segment_max_bytes", OPT, struct raw_spool, segment_max_bytes),
	CYAML_FIELD_UINT_PTR("segment_max_age_ms", OPT, struct raw_spool, segment_max_age_ms),
	CYAML_FIELD_UINT_PTR("fsync_interval_ms", OPT, struct raw_spool, fsync_interval_ms),
	CYAML_FIELD_UINT_PTR("budget_bytes", OPT, struct raw_spool, budget_bytes),
	CYAML_FIELD_UINT_PTR("budget_check_ms", OPT, struct raw_spool, budget_check_ms),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t listener_fields[] = {
	CYAML_FIELD_ENUM("proto", ENUM_FLAGS, struct raw_listener, proto,
			 proto_names, CYAML_ARRAY_LEN(proto_names)),
	CYAML_FIELD_STRING_PTR("address", CYAML_FLAG_DEFAULT, struct raw_listener, address,
			       1, CONFIG__ADDRESS_MAX_LEN),
	CYAML_FIELD_STRING_PTR("cert", OPT, struct raw_listener, cert, 0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_STRING_PTR("key", OPT, struct raw_listener, key, 0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_STRING_PTR("client_ca", OPT, struct raw_listener, client_ca,
			       0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t listener_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct raw_listener, listener_fields),
};

static const cyaml_schema_field_t syslog_fields[] = {
	CYAML_FIELD_BOOL_PTR("enabled", OPT, struct raw_syslog, enabled),
	CYAML_FIELD_UINT_PTR("max_message_bytes", OPT, struct raw_syslog, max_message_bytes),
	CYAML_FIELD_UINT_PTR("udp_rcvbuf_bytes", OPT, struct raw_syslog, udp_rcvbuf_bytes),
	CYAML_FIELD_UINT_PTR("max_connections", OPT, struct raw_syslog, max_connections),
	CYAML_FIELD_UINT_PTR("idle_timeout_ms", OPT, struct raw_syslog, idle_timeout_ms),
	CYAML_FIELD_UINT_PTR("max_pending_bytes", OPT, struct raw_syslog, max_pending_bytes),
	CYAML_FIELD_SEQUENCE_COUNT("listeners", OPT, struct raw_syslog, listeners, n_listeners,
				   &listener_schema, 0, CONFIG__LISTENERS_MAX),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t top_fields[] = {
	CYAML_FIELD_MAPPING_PTR("agent", OPT, struct raw_config, agent, agent_fields),
	CYAML_FIELD_MAPPING_PTR("spool", OPT, struct raw_config, spool, spool_fields),
	CYAML_FIELD_MAPPING_PTR("syslog", OPT, struct raw_config, syslog, syslog_fields),
	CYAML_FIELD_MAPPING_PTR("snmp", OPT, struct raw_config, snmp, config__snmp_fields),
	CYAML_FIELD_MAPPING_PTR("uplink", OPT, struct raw_config, uplink, config__uplink_fields),
	CYAML_FIELD_MAPPING_PTR("edr", OPT, struct raw_config, edr, config__edr_fields),
	CYAML_FIELD_MAPPING_PTR("sensor", OPT, struct raw_config, sensor, config__sensor_fields),
	CYAML_FIELD_END
};

const cyaml_schema_value_t config__top_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_config, top_fields),
};

/* Ranges of the numbers, by path. All maxima of 32-bit fields fit in 32
 * bits, so a value that passes its range can be stored without a cast
 * losing anything. */
static const struct config__num_rule num_rules[] = {
	{ "agent.status_interval_ms", 1000, 86400000 },
	{ "spool.segment_max_bytes", 65536, 268435456 },
	{ "spool.segment_max_age_ms", 10, 3600000 },
	{ "spool.fsync_interval_ms", 1, 10000 },
	{ "spool.budget_bytes", 16777216, UINT64_MAX },
	{ "spool.budget_check_ms", 10, 60000 },
	/* RFC 3164 4.1 caps a message at 1024 bytes and RFC 5424 6.1 asks
	 * receivers for at least 480 and recommends 2048; 480 is the floor
	 * every sender may assume. */
	{ "syslog.max_message_bytes", 480, 16777216 },
	{ "syslog.udp_rcvbuf_bytes", 65536, 268435456 },
	{ "syslog.max_connections", 1, 65536 },
	{ "syslog.idle_timeout_ms", 1000, 86400000 },
	{ "syslog.max_pending_bytes", 65536, 1073741824 },
	{ "snmp.udp_rcvbuf_bytes", 65536, 268435456 },
	/* The sealer's own bounds; 64 MiB is the batch format's cap on a
	 * body (BATCH_BODY_MAX). */
	{ "uplink.batch_max_bytes", SEALER_MAX_BATCH_MIN, 67108864 },
	{ "uplink.zstd_level", 1, 19 },
	{ "uplink.seal_interval_ms", 10, 3600000 },
	{ "uplink.connect_timeout_ms", 100, 600000 },
	{ "uplink.handshake_timeout_ms", 100, 600000 },
	{ "uplink.response_timeout_ms", 1000, 3600000 },
	{ "uplink.backoff_min_ms", 100, 3600000 },
	{ "uplink.backoff_max_ms", 1000, 86400000 },
	/* 125000000000 bytes/s is 1 Tbit/s: anything above is a typo. */
	{ "uplink.default_bytes_per_second", 0, 125000000000ULL },
	{ "uplink.rate_limit[].bytes_per_second", 0, 125000000000ULL },
	/* An event becomes one spool record with its extracted fields; the
	 * record (at most about twice the event) must fit the lane's cap. */
	{ "edr.max_event_bytes", 1024, 393216 },
	{ "edr.max_body_bytes", 65536, 268435456 },
	{ "edr.max_connections", 1, 65536 },
	{ "edr.idle_timeout_ms", 1000, 86400000 },
	{ "edr.max_pending_bytes", 65536, 1073741824 },
	{ "sensor.workers", 1, 64 },
	/* 64 bytes hold every header the decoder reads in a plain frame;
	 * 262144 is libpcap's MAXIMUM_SNAPLEN. */
	{ "sensor.snaplen", 64, 262144 },
	{ "sensor.block_size", 4096, 1073741824 },
	{ "sensor.block_count", 2, 65536 },
	{ "sensor.flow_memory_bytes", 1048576, 68719476736ULL },
	{ "sensor.tcp_timeout_ms", 1000, 86400000 },
	{ "sensor.udp_timeout_ms", 1000, 86400000 },
	{ "sensor.icmp_timeout_ms", 1000, 86400000 },
	{ "sensor.active_timeout_ms", 0, 86400000 },
	{ "sensor.stats_interval_ms", 1000, 3600000 },
	{ "sensor.analyzers.memory_bytes", 4194304, 17179869184ULL },
	{ "sensor.analyzers.depth_bytes", 0, 1073741824 },
	{ "sensor.analyzers.max_sessions", 16, 16777216 },
	{ "sensor.analyzers.max_uri_bytes", 256, 65536 },
	{ "sensor.analyzers.max_header_bytes", 256, 65536 },
	{ "sensor.analyzers.file_depth_bytes", 0, 1073741824 },
};

/* True when `path` is `rule`, where "[]" in the rule stands for any
 * decimal index. */
static bool rule_matches(const char *rule, const char *path)
{
	while (*rule != '\0') {
		if (rule[0] == '[' && rule[1] == ']' && *path == '[') {
			path++;
			if (*path < '0' || *path > '9')
				return false;
			while (*path >= '0' && *path <= '9')
				path++;
			if (*path != ']')
				return false;
			rule += 2;
			path++;
			continue;
		}
		if (*rule++ != *path++)
			return false;
	}
	return *path == '\0';
}

const struct config__num_rule *config__num_rule_for(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(num_rules) / sizeof(num_rules[0]); i++)
		if (rule_matches(num_rules[i].path, path))
			return &num_rules[i];
	return NULL;
}

/* ---- defaults and ownership ---------------------------------------------- */

const char *listener_proto_name(enum listener_proto p)
{
	switch (p) {
	case LISTEN_UDP: return "udp";
	case LISTEN_TCP: return "tcp";
	case LISTEN_TLS: return "tls";
	}
	return "?";
}

static void free_listeners(struct listener_conf *ls, unsigned n)
{
	unsigned i;

	if (ls == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(ls[i].address);
		free(ls[i].cert);
		free(ls[i].key);
		free(ls[i].client_ca);
	}
	free(ls);
}

void config_free(struct ward_config *c)
{
	if (c == NULL)
		return;
	free(c->agent.device_id);
	free(c->agent.user);
	free(c->agent.state_dir);
	free(c->agent.control_socket);
	free(c->spool.dir);
	free_listeners(c->syslog.listeners, c->syslog.n_listeners);
	config__snmp_free(c);
	config__uplink_free(c);
	config__edr_free(c);
	config__sensor_free(c);
	free(c);
}

/* The host name, bent into the device_id alphabet so that the default
 * always passes the same check as a configured value. */
static char *default_device_id(void)
{
	char host[CONFIG__NAME_MAX_LEN + 1];
	size_t i;

	memset(host, 0, sizeof(host));
	/* gethostname may leave a truncated name unterminated; the last byte
	 * stays 0 because only sizeof - 1 bytes are offered. */
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	for (i = 0; host[i] != '\0'; i++)
		if (!config__name_char_ok(host[i], i == 0))
			host[i] = i == 0 ? 'x' : '-';
	return strdup(host[0] != '\0' ? host : "ward");
}

static int default_listeners(struct ward_config *c)
{
	static const enum listener_proto protos[] = { LISTEN_UDP, LISTEN_TCP };
	unsigned i;

	c->syslog.listeners = calloc(2, sizeof(*c->syslog.listeners));
	if (c->syslog.listeners == NULL)
		return -ENOMEM;
	c->syslog.n_listeners = 2;
	for (i = 0; i < 2; i++) {
		c->syslog.listeners[i].proto = protos[i];
		c->syslog.listeners[i].address = strdup("127.0.0.1:5514");
		if (c->syslog.listeners[i].address == NULL)
			return -ENOMEM;
	}
	return 0;
}

struct ward_config *config_defaults(void)
{
	struct ward_config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->agent.device_id = default_device_id();
	c->agent.user = strdup("nobody");
	c->agent.state_dir = strdup(".");
	c->agent.control_socket = strdup("ward.sock");
	c->agent.log_level = LOG_LVL_INFO;
	c->agent.status_interval_ms = 60000;
	c->spool.dir = strdup("spool");
	c->spool.segment_max_bytes = 4194304;
	c->spool.segment_max_age_ms = 1000;
	c->spool.fsync_interval_ms = 100;
	c->spool.budget_bytes = 1073741824;
	c->spool.budget_check_ms = 1000;
	c->syslog.enabled = true;
	c->syslog.max_message_bytes = 65536;
	c->syslog.udp_rcvbuf_bytes = 4194304;
	c->syslog.max_connections = 1024;
	c->syslog.idle_timeout_ms = 600000;
	c->syslog.max_pending_bytes = 8388608;
	if (c->agent.device_id == NULL || c->agent.user == NULL || c->agent.state_dir == NULL ||
	    c->agent.control_socket == NULL || c->spool.dir == NULL || default_listeners(c) < 0 ||
	    config__snmp_defaults(c) < 0 || config__uplink_defaults(c) < 0 ||
	    config__edr_defaults(c) < 0 || config__sensor_defaults(c) < 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

/* ---- applying the file --------------------------------------------------- */

static int apply_agent(struct config__load *ld, struct ward_config *c, const struct raw_agent *r)
{
	int rc;

	if (r == NULL)
		return 0;
	if ((rc = config__set_str(ld, "agent.device_id", r->device_id,
				  &c->agent.device_id, true)) < 0 ||
	    (rc = config__set_str(ld, "agent.user", r->user, &c->agent.user, true)) < 0 ||
	    (rc = config__set_str(ld, "agent.state_dir", r->state_dir,
				  &c->agent.state_dir, false)) < 0 ||
	    (rc = config__set_str(ld, "agent.control_socket", r->control_socket,
				  &c->agent.control_socket, false)) < 0 ||
	    (rc = config__set_u32(ld, "agent.status_interval_ms", r->status_interval_ms,
				  &c->agent.status_interval_ms)) < 0)
		return rc;
	if (r->log_level != NULL)
		c->agent.log_level = *r->log_level;
	return 0;
}

static int apply_spool(struct config__load *ld, struct ward_config *c, const struct raw_spool *r)
{
	int rc;

	if (r == NULL)
		return 0;
	if ((rc = config__set_str(ld, "spool.dir", r->dir, &c->spool.dir, false)) < 0 ||
	    (rc = config__set_u64(ld, "spool.segment_max_bytes", r->segment_max_bytes,
				  &c->spool.segment_max_bytes)) < 0 ||
	    (rc = config__set_u32(ld, "spool.segment_max_age_ms", r->segment_max_age_ms,
				  &c->spool.segment_max_age_ms)) < 0 ||
	    (rc = config__set_u32(ld, "spool.fsync_interval_ms", r->fsync_interval_ms,
				  &c->spool.fsync_interval_ms)) < 0 ||
	    (rc = config__set_u64(ld, "spool.budget_bytes", r->budget_bytes,
				  &c->spool.budget_bytes)) < 0 ||
	    (rc = config__set_u32(ld, "spool.budget_check_ms", r->budget_check_ms,
				  &c->spool.budget_check_ms)) < 0)
		return rc;
	return 0;
}

/* Checks listener i and copies it into *out (which the caller frees, also
 * after a failure). */
static int take_listener(struct config__load *ld, const struct raw_listener *r, unsigned i,
			 struct listener_conf *out)
{
	static const char *const tls_keys[] = { "cert", "key", "client_ca" };
	const char *const tls_vals[] = { r->cert, r->key, r->client_ca };
	struct sockaddr_storage ss;
	struct config__mark m;
	char path[64], text[CONFIG__SHOW_MAX];
	const char *why;
	size_t k;
	int rc;

	snprintf(path, sizeof(path), "syslog.listeners[%u]", i);
	if (config__parse_address(r->address, &ss, &why) < 0) {
		char apath[80];

		snprintf(apath, sizeof(apath), "%s.address", path);
		return config__fail_at(ld, apath, "%s: '%s' %s", apath,
				       config__show(text, sizeof(text), r->address), why);
	}
	if (r->proto == LISTEN_TLS && (r->cert == NULL || r->key == NULL))
		return config__fail_at(ld, path, "%s: a tls listener needs %s (PEM file paths)",
				       path, r->cert == NULL && r->key == NULL ?
				       "'cert' and 'key'" : r->cert == NULL ? "'cert'" : "'key'");
	/* A certificate on a plain listener usually means proto was meant to
	 * be tls; running it in clear text would be the wrong failure. */
	for (k = 0; r->proto != LISTEN_TLS && k < 3; k++) {
		if (tls_vals[k] == NULL)
			continue;
		config__find_key(&ld->doc, path, tls_keys[k], 0, &m);
		return config__fail_mark(ld, &m, "%s.%s: only tls listeners take '%s'; "
					 "this one is %s", path, tls_keys[k], tls_keys[k],
					 listener_proto_name(r->proto));
	}
	out->proto = r->proto;
	if ((rc = config__dup_opt(r->address, &out->address)) < 0 ||
	    (rc = config__dup_opt(r->cert, &out->cert)) < 0 ||
	    (rc = config__dup_opt(r->key, &out->key)) < 0 ||
	    (rc = config__dup_opt(r->client_ca, &out->client_ca)) < 0)
		return rc;
	return 0;
}

/* Two listeners clash when they would bind the same socket: same address
 * and port, and both UDP or both TCP (tcp and tls are both TCP). O(n^2)
 * over at most CONFIG__LISTENERS_MAX entries. */
static int check_clashes(struct config__load *ld, const struct listener_conf *ls, unsigned n)
{
	struct sockaddr_storage ss[CONFIG__LISTENERS_MAX];
	struct config__mark first;
	char path[64], apath[80], fpath[80];
	const char *why;
	unsigned i, j;

	for (i = 0; i < n; i++)
		config__parse_address(ls[i].address, &ss[i], &why);   /* checked already */
	for (j = 1; j < n; j++) {
		for (i = 0; i < j; i++) {
			if ((ls[i].proto == LISTEN_UDP) != (ls[j].proto == LISTEN_UDP) ||
			    !config__same_socket(&ss[i], &ss[j]))
				continue;
			snprintf(path, sizeof(path), "syslog.listeners[%u]", j);
			snprintf(apath, sizeof(apath), "%s.address", path);
			snprintf(fpath, sizeof(fpath), "syslog.listeners[%u].address", i);
			config__find(&ld->doc, fpath, &first);
			if (ls[i].proto == ls[j].proto)
				return config__fail_at(ld, apath, "%s: duplicate listener: "
						       "%s %s is already syslog.listeners[%u] "
						       "(line %u)",
						       path, listener_proto_name(ls[j].proto),
						       ls[j].address, i, first.line);
			return config__fail_at(ld, apath, "%s: %s and syslog.listeners[%u] (%s, "
					       "line %u) cannot share the TCP address %s", path,
					       listener_proto_name(ls[j].proto), i,
					       listener_proto_name(ls[i].proto), first.line,
					       ls[j].address);
		}
	}
	return 0;
}

static int apply_listeners(struct config__load *ld, struct ward_config *c,
			   const struct raw_syslog *r)
{
	struct listener_conf *ls = NULL;
	struct config__mark m;
	yaml_node_t *n;
	unsigned i, count = r->n_listeners;
	int rc = 0;

	/* A null "listeners:" keeps the defaults, like any other key left
	 * empty; only a list (even an empty one) replaces them. */
	n = config__find(&ld->doc, "syslog.listeners", &m);
	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return 0;
	if (count == 0 && c->syslog.enabled)
		return config__fail_mark(ld, &m, "syslog.listeners: the list is empty; syslog "
					 "needs at least one listener (or set syslog.enabled: "
					 "false)");
	if (count > 0) {
		ls = calloc(count, sizeof(*ls));
		if (ls == NULL)
			return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		rc = take_listener(ld, &r->listeners[i], i, &ls[i]);
		if (rc < 0)
			goto out;
	}
	rc = check_clashes(ld, ls, count);
	if (rc < 0)
		goto out;
	free_listeners(c->syslog.listeners, c->syslog.n_listeners);
	c->syslog.listeners = ls;
	c->syslog.n_listeners = count;
	ls = NULL;
out:
	free_listeners(ls, count);
	return rc;
}

static int apply_syslog(struct config__load *ld, struct ward_config *c,
			const struct raw_syslog *r)
{
	int rc;

	if (r == NULL)
		return 0;
	if ((rc = config__set_bool(ld, "syslog.enabled", r->enabled, &c->syslog.enabled)) < 0 ||
	    (rc = config__set_u32(ld, "syslog.max_message_bytes", r->max_message_bytes,
				  &c->syslog.max_message_bytes)) < 0 ||
	    (rc = config__set_u32(ld, "syslog.udp_rcvbuf_bytes", r->udp_rcvbuf_bytes,
				  &c->syslog.udp_rcvbuf_bytes)) < 0 ||
	    (rc = config__set_u32(ld, "syslog.max_connections", r->max_connections,
				  &c->syslog.max_connections)) < 0 ||
	    (rc = config__set_u32(ld, "syslog.idle_timeout_ms", r->idle_timeout_ms,
				  &c->syslog.idle_timeout_ms)) < 0 ||
	    (rc = config__set_u32(ld, "syslog.max_pending_bytes", r->max_pending_bytes,
				  &c->syslog.max_pending_bytes)) < 0)
		return rc;
	return apply_listeners(ld, c, r);
}

/* The path to blame for a rule between two values: the first if the file
 * sets it, else the second (one of them is set, or the defaults would be
 * broken). */
static const char *blame(struct config__load *ld, const char *a, const char *b)
{
	struct config__mark m;

	return config__find(&ld->doc, a, &m) != NULL ? a : b;
}

static int check_relations(struct config__load *ld, const struct ward_config *c)
{
	const char *p;
	int rc;

	/* Eviction and sealing work on whole segments; a budget of fewer
	 * than four leaves no room to evict one while others fill. */
	if (c->spool.budget_bytes / 4 < c->spool.segment_max_bytes) {
		p = blame(ld, "spool.budget_bytes", "spool.segment_max_bytes");
		return config__fail_at(ld, p, "%s: spool.budget_bytes (%llu) must be at least "
				       "4 times spool.segment_max_bytes (%llu)", p,
				       (unsigned long long)c->spool.budget_bytes,
				       (unsigned long long)c->spool.segment_max_bytes);
	}
	/* Reads pause above max_pending_bytes; if one message is larger, a
	 * paused peer could never complete it. */
	if (c->syslog.max_pending_bytes < c->syslog.max_message_bytes) {
		p = blame(ld, "syslog.max_pending_bytes", "syslog.max_message_bytes");
		return config__fail_at(ld, p, "%s: syslog.max_pending_bytes (%u) must be at "
				       "least syslog.max_message_bytes (%u)", p,
				       c->syslog.max_pending_bytes, c->syslog.max_message_bytes);
	}
	if ((rc = config__snmp_check(ld, c)) < 0 ||
	    (rc = config__edr_check(ld, c)) < 0)
		return rc;
	return config__uplink_check(ld, c);
}

int config__apply(struct config__load *ld, struct ward_config *c, const void *raw)
{
	const struct raw_config *r = raw;
	int rc;

	if ((rc = apply_agent(ld, c, r->agent)) < 0 ||
	    (rc = apply_spool(ld, c, r->spool)) < 0 ||
	    (rc = apply_syslog(ld, c, r->syslog)) < 0 ||
	    (rc = config__snmp_apply(ld, c, r->snmp)) < 0 ||
	    (rc = config__uplink_apply(ld, c, r->uplink)) < 0 ||
	    (rc = config__edr_apply(ld, c, r->edr)) < 0 ||
	    (rc = config__sensor_apply(ld, c, r->sensor)) < 0 ||
	    (rc = check_relations(ld, c)) < 0)
		return rc;
	return 0;
}
