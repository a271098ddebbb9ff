/* config_sensor: the sensor section of the configuration (docs/config.md),
 * the settings of ward-sensor: the mirror ports it captures on, the
 * capture backend and its ring, the flow table's memory and timeouts, the
 * hospital's own networks (local_orig/local_resp) and the stats interval.
 *
 * The compiled-in default has no interface, so the sensor is off until a
 * file names one: a first run on one machine captures nothing.
 */
#include "config.h"
#include "config_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Limits; docs/config.md states each of them. */
/* Each interface has two lanes, and the uplink carries at most
 * UPLINK_MAX_LANES (16), four of which are the agent's and receivers'. */
#define IFACES_MAX      6
#define IFNAME_MAX      15      /* IFNAMSIZ - 1 */
#define NETS_MAX        256
#define PREFIX_MAX_LEN  64      /* "ffff:...:ffff/128" fits */
#define BPF_MAX_LEN     4096
#define USER_MAX_LEN    32

#define OPT        CONFIG__OPT
#define ENUM_FLAGS CONFIG__ENUM_FLAGS

/* ---- the schema ---------------------------------------------------------- */

static const cyaml_strval_t backend_names[] = {
	{ "afpacket", SENSOR_BACKEND_AF_PACKET },
	{ "pcap", SENSOR_BACKEND_PCAP },
};

static const cyaml_schema_value_t ifname_schema = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, IFNAME_MAX),
};

static const cyaml_schema_value_t prefix_schema = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, PREFIX_MAX_LEN),
};

static const cyaml_strval_t user_names_names[] = {
	{ "mask", SENSOR_USER_MASK },
	{ "clear", SENSOR_USER_CLEAR },
	{ "omit", SENSOR_USER_OMIT },
};

static const cyaml_schema_field_t analyzers_fields[] = {
	CYAML_FIELD_BOOL_PTR("enabled", OPT, struct config__raw_analyzers, enabled),
	CYAML_FIELD_UINT_PTR("memory_bytes", OPT, struct config__raw_analyzers, memory_bytes),
	CYAML_FIELD_UINT_PTR("depth_bytes", OPT, struct config__raw_analyzers, depth_bytes),
	CYAML_FIELD_UINT_PTR("max_sessions", OPT, struct config__raw_analyzers, max_sessions),
	CYAML_FIELD_ENUM_PTR("user_names", OPT | ENUM_FLAGS, struct config__raw_analyzers,
			     user_names, user_names_names, CYAML_ARRAY_LEN(user_names_names)),
	CYAML_FIELD_UINT_PTR("max_uri_bytes", OPT, struct config__raw_analyzers, max_uri_bytes),
	CYAML_FIELD_UINT_PTR("max_header_bytes", OPT, struct config__raw_analyzers,
			     max_header_bytes),
	CYAML_FIELD_UINT_PTR("file_depth_bytes", OPT, struct config__raw_analyzers,
			     file_depth_bytes),
	CYAML_FIELD_BOOL_PTR("file_hashes", OPT, struct config__raw_analyzers, file_hashes),
	CYAML_FIELD_END
};

const cyaml_schema_field_t config__sensor_fields[] = {
	CYAML_FIELD_SEQUENCE_COUNT("interfaces", OPT, struct config__raw_sensor, interfaces,
				   n_interfaces, &ifname_schema, 0, IFACES_MAX),
	CYAML_FIELD_ENUM_PTR("backend", OPT | ENUM_FLAGS, struct config__raw_sensor, backend,
			     backend_names, CYAML_ARRAY_LEN(backend_names)),
	CYAML_FIELD_UINT_PTR("workers", OPT, struct config__raw_sensor, workers),
	CYAML_FIELD_UINT_PTR("snaplen", OPT, struct config__raw_sensor, snaplen),
	CYAML_FIELD_BOOL_PTR("promisc", OPT, struct config__raw_sensor, promisc),
	CYAML_FIELD_STRING_PTR("bpf", OPT, struct config__raw_sensor, bpf, 0, BPF_MAX_LEN),
	CYAML_FIELD_UINT_PTR("block_size", OPT, struct config__raw_sensor, block_size),
	CYAML_FIELD_UINT_PTR("block_count", OPT, struct config__raw_sensor, block_count),
	CYAML_FIELD_UINT_PTR("flow_memory_bytes", OPT, struct config__raw_sensor,
			     flow_memory_bytes),
	CYAML_FIELD_UINT_PTR("tcp_timeout_ms", OPT, struct config__raw_sensor, tcp_timeout_ms),
	CYAML_FIELD_UINT_PTR("udp_timeout_ms", OPT, struct config__raw_sensor, udp_timeout_ms),
	CYAML_FIELD_UINT_PTR("icmp_timeout_ms", OPT, struct config__raw_sensor, icmp_timeout_ms),
	CYAML_FIELD_UINT_PTR("active_timeout_ms", OPT, struct config__raw_sensor,
			     active_timeout_ms),
	CYAML_FIELD_SEQUENCE_COUNT("local_nets", OPT, struct config__raw_sensor, local_nets,
				   n_local_nets, &prefix_schema, 0, NETS_MAX),
	CYAML_FIELD_UINT_PTR("stats_interval_ms", OPT, struct config__raw_sensor,
			     stats_interval_ms),
	CYAML_FIELD_STRING_PTR("user", OPT, struct config__raw_sensor, user, 0, USER_MAX_LEN),
	CYAML_FIELD_MAPPING_PTR("analyzers", OPT, struct config__raw_sensor, analyzers,
				analyzers_fields),
	CYAML_FIELD_END
};

/* ---- prefixes ------------------------------------------------------------ */

int config_parse_prefix(const char *s, uint8_t *ip_version, uint8_t addr[16],
			uint8_t *prefix_len, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/'), *scratch;
	unsigned long bits = 0, max;
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s), i;

	if (why == NULL)
		why = &scratch;
	memset(addr, 0, 16);
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = "is not an IP prefix (expected address/bits, e.g. 10.0.0.0/8)";
		return -EINVAL;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, addr) == 1) {
		*ip_version = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		*ip_version = 6;
		max = 128;
	} else {
		*why = "does not start with a numeric IPv4 or IPv6 address";
		return -EINVAL;
	}
	bits = max;
	if (slash != NULL) {
		bits = 0;
		for (i = 1; slash[i] != '\0'; i++) {
			if (slash[i] < '0' || slash[i] > '9' || i > 3) {
				bits = max + 1;
				break;
			}
			bits = bits * 10 + (unsigned long)(slash[i] - '0');
		}
		if (i == 1 || bits > max) {
			*why = max == 32 ? "has a prefix length that is not 0 to 32" :
			       "has a prefix length that is not 0 to 128";
			memset(addr, 0, 16);
			return -EINVAL;
		}
	}
	/* Host bits are cleared rather than refused: "10.1.2.3/8" plainly
	 * means the /8 that holds it. */
	for (i = 0; i < 16; i++) {
		if (i * 8 >= bits)
			addr[i] = 0;
		else if (i * 8 + 8 > bits)
			addr[i] &= (uint8_t)(0xff << (8 - (bits - i * 8)));
	}
	*prefix_len = (uint8_t)bits;
	return 0;
}

const char *sensor_backend_name(enum sensor_backend_conf b)
{
	return b == SENSOR_BACKEND_PCAP ? "pcap" : "afpacket";
}

/* ---- defaults and ownership ---------------------------------------------- */

static void free_strings(char **v, unsigned n)
{
	unsigned i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void config__sensor_free(struct ward_config *c)
{
	free_strings(c->sensor.interfaces, c->sensor.n_interfaces);
	free_strings(c->sensor.local_nets, c->sensor.n_local_nets);
	free(c->sensor.bpf);
	free(c->sensor.user);
	memset(&c->sensor, 0, sizeof(c->sensor));
}

/* Copies n strings into a new list *out (NULL for none). 0 or -ENOMEM;
 * either way *out holds n entries for free_strings. */
static int copy_strings(char *const *v, unsigned n, char ***out)
{
	unsigned i;

	*out = NULL;
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (((*out)[i] = strdup(v[i])) == NULL)
			return -ENOMEM;
	return 0;
}

int config__sensor_defaults(struct ward_config *c)
{
	/* RFC 1918 and RFC 4193: what a hospital network uses inside. */
	static char *const private_nets[] = {
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
	};

	memset(&c->sensor, 0, sizeof(c->sensor));
	c->sensor.backend = SENSOR_BACKEND_AF_PACKET;
	c->sensor.workers = 1;
	c->sensor.snaplen = 65535;
	c->sensor.promisc = true;
	c->sensor.block_size = 1048576;
	c->sensor.block_count = 64;
	c->sensor.flow_memory_bytes = 268435456;
	/* Zeek's defaults (tcp_inactivity_timeout, udp_, icmp_). */
	c->sensor.tcp_timeout_ms = 300000;
	c->sensor.udp_timeout_ms = 60000;
	c->sensor.icmp_timeout_ms = 60000;
	c->sensor.active_timeout_ms = 600000;
	c->sensor.stats_interval_ms = 10000;
	c->sensor.analyzers.enabled = true;
	c->sensor.analyzers.memory_bytes = 64u * 1024 * 1024;
	c->sensor.analyzers.depth_bytes = 1048576;
	c->sensor.analyzers.max_sessions = 262144;
	c->sensor.analyzers.user_names = SENSOR_USER_MASK;
	c->sensor.analyzers.max_uri_bytes = 8192;
	c->sensor.analyzers.max_header_bytes = 8192;
	c->sensor.analyzers.file_depth_bytes = 0;
	c->sensor.analyzers.file_hashes = true;
	c->sensor.n_local_nets = 4;
	if (copy_strings(private_nets, 4, &c->sensor.local_nets) < 0 ||
	    (c->sensor.user = strdup("nobody")) == NULL)
		return -ENOMEM;
	return 0;
}

/* ---- the section --------------------------------------------------------- */

static bool list_given(struct config__load *ld, const char *path)
{
	struct config__mark m;
	yaml_node_t *n = config__find(&ld->doc, path, &m);

	return n != NULL && n->type == YAML_SEQUENCE_NODE;
}

static bool ifname_ok(const char *s)
{
	size_t i;

	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= ' ' || s[i] == '/' || s[i] == ':' || s[i] == 0x7f)
			return false;
	return true;
}

static int check_interfaces(struct config__load *ld, const struct config__raw_sensor *r)
{
	struct config__mark first;
	char path[64], fpath[64], text[CONFIG__SHOW_MAX];
	unsigned i, j;

	for (j = 0; j < r->n_interfaces; j++) {
		snprintf(path, sizeof(path), "sensor.interfaces[%u]", j);
		if (!ifname_ok(r->interfaces[j]))
			return config__fail_at(ld, path, "%s: '%s' is not an interface name "
					       "(no blanks, '/' or ':')", path,
					       config__show(text, sizeof(text), r->interfaces[j]));
		for (i = 0; i < j; i++) {
			if (strcmp(r->interfaces[i], r->interfaces[j]) != 0)
				continue;
			snprintf(fpath, sizeof(fpath), "sensor.interfaces[%u]", i);
			config__find(&ld->doc, fpath, &first);
			return config__fail_at(ld, path, "%s: '%s' is already %s (line %u); one "
					       "sensor runs per interface", path,
					       config__show(text, sizeof(text), r->interfaces[j]),
					       fpath, first.line);
		}
	}
	return 0;
}

static int check_nets(struct config__load *ld, const struct config__raw_sensor *r)
{
	char path[64], text[CONFIG__SHOW_MAX];
	uint8_t v, a[16], len;
	const char *why;
	unsigned i;

	for (i = 0; i < r->n_local_nets; i++) {
		if (config_parse_prefix(r->local_nets[i], &v, a, &len, &why) == 0)
			continue;
		snprintf(path, sizeof(path), "sensor.local_nets[%u]", i);
		return config__fail_at(ld, path, "%s: '%s' %s", path,
				       config__show(text, sizeof(text), r->local_nets[i]), why);
	}
	return 0;
}

static int replace_list(char *const *v, unsigned n, char ***dst, unsigned *dst_n)
{
	char **copy;
	int rc = copy_strings(v, n, &copy);

	if (rc < 0) {
		free_strings(copy, n);
		return rc;
	}
	free_strings(*dst, *dst_n);
	*dst = copy;
	*dst_n = n;
	return 0;
}

static int apply_numbers(struct config__load *ld, struct ward_config *c,
			 const struct config__raw_sensor *r)
{
	int rc;

	if ((rc = config__set_u32(ld, "sensor.workers", r->workers, &c->sensor.workers)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.snaplen", r->snaplen, &c->sensor.snaplen)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.block_size", r->block_size,
				  &c->sensor.block_size)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.block_count", r->block_count,
				  &c->sensor.block_count)) < 0 ||
	    (rc = config__set_u64(ld, "sensor.flow_memory_bytes", r->flow_memory_bytes,
				  &c->sensor.flow_memory_bytes)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.tcp_timeout_ms", r->tcp_timeout_ms,
				  &c->sensor.tcp_timeout_ms)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.udp_timeout_ms", r->udp_timeout_ms,
				  &c->sensor.udp_timeout_ms)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.icmp_timeout_ms", r->icmp_timeout_ms,
				  &c->sensor.icmp_timeout_ms)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.active_timeout_ms", r->active_timeout_ms,
				  &c->sensor.active_timeout_ms)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.stats_interval_ms", r->stats_interval_ms,
				  &c->sensor.stats_interval_ms)) < 0)
		return rc;
	/* The kernel wants whole pages per block, and the ring's geometry in
	 * powers of two (packet_mmap.rst, "TPACKET_V3"). */
	if ((c->sensor.block_size & (c->sensor.block_size - 1)) != 0)
		return config__fail_at(ld, "sensor.block_size", "sensor.block_size: %u is not a "
				       "power of two (e.g. 1048576 for 1 MiB)",
				       c->sensor.block_size);
	return 0;
}

static int apply_analyzers(struct config__load *ld, struct ward_config *c,
			   const struct config__raw_analyzers *r)
{
	__typeof__(c->sensor.analyzers) *a = &c->sensor.analyzers;
	int rc;

	if (r == NULL)
		return 0;
	if ((rc = config__set_bool(ld, "sensor.analyzers.enabled", r->enabled, &a->enabled)) < 0 ||
	    (rc = config__set_bool(ld, "sensor.analyzers.file_hashes", r->file_hashes,
				   &a->file_hashes)) < 0 ||
	    (rc = config__set_u64(ld, "sensor.analyzers.memory_bytes", r->memory_bytes,
				  &a->memory_bytes)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.analyzers.depth_bytes", r->depth_bytes,
				  &a->depth_bytes)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.analyzers.max_sessions", r->max_sessions,
				  &a->max_sessions)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.analyzers.max_uri_bytes", r->max_uri_bytes,
				  &a->max_uri_bytes)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.analyzers.max_header_bytes", r->max_header_bytes,
				  &a->max_header_bytes)) < 0 ||
	    (rc = config__set_u32(ld, "sensor.analyzers.file_depth_bytes", r->file_depth_bytes,
				  &a->file_depth_bytes)) < 0)
		return rc;
	if (r->user_names != NULL)
		a->user_names = *r->user_names;
	return 0;
}

int config__sensor_apply(struct config__load *ld, struct ward_config *c,
			 const struct config__raw_sensor *r)
{
	int rc;

	if (r == NULL)
		return 0;
	if ((rc = apply_numbers(ld, c, r)) < 0 ||
	    (rc = config__set_bool(ld, "sensor.promisc", r->promisc, &c->sensor.promisc)) < 0 ||
	    (rc = config__set_str(ld, "sensor.user", r->user, &c->sensor.user, true)) < 0)
		return rc;
	if ((rc = apply_analyzers(ld, c, r->analyzers)) < 0)
		return rc;
	if (r->backend != NULL)
		c->sensor.backend = *r->backend;
	if (r->bpf != NULL) {
		free(c->sensor.bpf);
		c->sensor.bpf = NULL;
		/* An empty filter is no filter. */
		if (r->bpf[0] != '\0' && (c->sensor.bpf = strdup(r->bpf)) == NULL)
			return -ENOMEM;
	}
	/* A null list keeps the defaults; only a list (even an empty one)
	 * replaces them. */
	if (list_given(ld, "sensor.interfaces")) {
		if ((rc = check_interfaces(ld, r)) < 0 ||
		    (rc = replace_list(r->interfaces, r->n_interfaces, &c->sensor.interfaces,
				       &c->sensor.n_interfaces)) < 0)
			return rc;
	}
	if (list_given(ld, "sensor.local_nets")) {
		if ((rc = check_nets(ld, r)) < 0 ||
		    (rc = replace_list(r->local_nets, r->n_local_nets, &c->sensor.local_nets,
				       &c->sensor.n_local_nets)) < 0)
			return rc;
	}
	return 0;
}
