/* config_uplink: the uplink section of the configuration (docs/config.md),
 * the settings of the sealer and the uplink to the SOC (DESIGN.md, "Device
 * <-> SOC contract"): the keys that seal batches, the outbox, the ordered
 * list of SOC endpoints, the TLS files, an optional HTTP CONNECT proxy,
 * the timeouts and backoff, and the time-of-day rate limit.
 *
 * The section is off by default, so the compiled-in defaults run with no
 * SOC. Once it is enabled, the keys and certificates and at least one
 * endpoint are required. The files are only named here; they are opened
 * when the sealer and the uplink start, not by the configuration check.
 *
 * URLs are parsed strictly and without DNS: a config check must not depend
 * on the network. A name is checked for its form only (RFC 1123 2.1).
 */
#include "config.h"
#include "config_internal.h"
#include "sealer.h"       /* SEALER_MAX_BATCH_DEFAULT only */
#include "spool.h"        /* spool_lane_name_valid only */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Limits; docs/config.md states each of them. */
#define ENDPOINTS_MAX   8       /* the uplink's UPLINK_MAX_ENDPOINTS */
#define WINDOWS_MAX     32
#define LANES_MAX       16      /* the uplink's UPLINK_MAX_LANES */
#define LANE_NAME_MAX   32      /* spool.h */
#define URL_MAX_LEN     300     /* "https://" + a 253-byte name + ":65535/" fits */
#define HOST_MAX_LEN    253     /* RFC 1035 2.3.4, without the final dot */
#define LABEL_MAX_LEN   63
#define TIME_TEXT_MAX   32      /* "HH:MM" is 5; longer text gets our message */
#define RATE_MIN        1024    /* bytes per second, when not 0 (unlimited) */
#define MINUTES_PER_DAY 1440

/* Short names for the schema tables below. */
#define OPT CONFIG__OPT

/* ---- what the file says -------------------------------------------------- */

struct config__raw_uplink_endpoint {
	char *url;                     /* required */
	char *sni;
};

struct config__raw_uplink_window {
	char *from;                    /* required */
	char *to;                      /* required */
	uint64_t *bytes_per_second;    /* required */
};

/* ---- the schema ---------------------------------------------------------- */

static const cyaml_schema_field_t endpoint_fields[] = {
	CYAML_FIELD_STRING_PTR("url", CYAML_FLAG_DEFAULT, struct config__raw_uplink_endpoint, url,
			       1, URL_MAX_LEN),
	CYAML_FIELD_STRING_PTR("sni", OPT, struct config__raw_uplink_endpoint, sni,
			       0, HOST_MAX_LEN),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t endpoint_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct config__raw_uplink_endpoint,
			    endpoint_fields),
};

static const cyaml_schema_field_t window_fields[] = {
	CYAML_FIELD_STRING_PTR("from", CYAML_FLAG_DEFAULT, struct config__raw_uplink_window, from,
			       1, TIME_TEXT_MAX),
	CYAML_FIELD_STRING_PTR("to", CYAML_FLAG_DEFAULT, struct config__raw_uplink_window, to,
			       1, TIME_TEXT_MAX),
	CYAML_FIELD_UINT_PTR("bytes_per_second", CYAML_FLAG_DEFAULT,
			     struct config__raw_uplink_window, bytes_per_second),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t window_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct config__raw_uplink_window, window_fields),
};

static const cyaml_schema_value_t lane_schema = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, LANE_NAME_MAX),
};

const cyaml_schema_field_t config__uplink_fields[] = {
	CYAML_FIELD_BOOL_PTR("enabled", OPT, struct config__raw_uplink, enabled),
	CYAML_FIELD_STRING_PTR("device_key", OPT, struct config__raw_uplink, device_key,
			       0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_STRING_PTR("soc_public_key", OPT, struct config__raw_uplink, soc_public_key,
			       0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_STRING_PTR("outbox", OPT, struct config__raw_uplink, outbox,
			       0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_UINT_PTR("batch_max_bytes", OPT, struct config__raw_uplink, batch_max_bytes),
	CYAML_FIELD_UINT_PTR("zstd_level", OPT, struct config__raw_uplink, zstd_level),
	CYAML_FIELD_UINT_PTR("seal_interval_ms", OPT, struct config__raw_uplink, seal_interval_ms),
	CYAML_FIELD_SEQUENCE_COUNT("endpoints", OPT, struct config__raw_uplink, endpoints,
				   n_endpoints, &endpoint_schema, 0, ENDPOINTS_MAX),
	CYAML_FIELD_STRING_PTR("ca", OPT, struct config__raw_uplink, ca, 0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_STRING_PTR("client_cert", OPT, struct config__raw_uplink, client_cert,
			       0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_STRING_PTR("client_key", OPT, struct config__raw_uplink, client_key,
			       0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_STRING_PTR("proxy", OPT, struct config__raw_uplink, proxy, 0, URL_MAX_LEN),
	CYAML_FIELD_STRING_PTR("proxy_credentials", OPT, struct config__raw_uplink,
			       proxy_credentials, 0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_UINT_PTR("connect_timeout_ms", OPT, struct config__raw_uplink,
			     connect_timeout_ms),
	CYAML_FIELD_UINT_PTR("handshake_timeout_ms", OPT, struct config__raw_uplink,
			     handshake_timeout_ms),
	CYAML_FIELD_UINT_PTR("response_timeout_ms", OPT, struct config__raw_uplink,
			     response_timeout_ms),
	CYAML_FIELD_UINT_PTR("backoff_min_ms", OPT, struct config__raw_uplink, backoff_min_ms),
	CYAML_FIELD_UINT_PTR("backoff_max_ms", OPT, struct config__raw_uplink, backoff_max_ms),
	CYAML_FIELD_SEQUENCE_COUNT("rate_limit", OPT, struct config__raw_uplink, rate_limit,
				   n_rate_limit, &window_schema, 0, WINDOWS_MAX),
	CYAML_FIELD_UINT_PTR("default_bytes_per_second", OPT, struct config__raw_uplink,
			     default_bytes_per_second),
	CYAML_FIELD_SEQUENCE_COUNT("lanes", OPT, struct config__raw_uplink, lanes, n_lanes,
				   &lane_schema, 0, LANES_MAX),
	CYAML_FIELD_UINT_PTR("max_in_flight", OPT, struct config__raw_uplink, max_in_flight),
	CYAML_FIELD_UINT_PTR("max_bytes_in_flight", OPT, struct config__raw_uplink,
			     max_bytes_in_flight),
	CYAML_FIELD_UINT_PTR("aging_ms", OPT, struct config__raw_uplink, aging_ms),
	CYAML_FIELD_END
};

/* ---- defaults and ownership ---------------------------------------------- */

static void free_endpoints(struct uplink_endpoint_conf *e, unsigned n)
{
	unsigned i;

	if (e == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(e[i].url);
		free(e[i].host);
		free(e[i].sni);
	}
	free(e);
}

static void free_strings(char **v, unsigned n)
{
	unsigned i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void config__uplink_free(struct ward_config *c)
{
	free(c->uplink.device_key);
	free(c->uplink.soc_public_key);
	free(c->uplink.outbox);
	free_endpoints(c->uplink.endpoints, c->uplink.n_endpoints);
	free(c->uplink.ca);
	free(c->uplink.client_cert);
	free(c->uplink.client_key);
	free(c->uplink.proxy);
	free(c->uplink.proxy_credentials);
	free(c->uplink.proxy_host);
	free(c->uplink.rate_limit);
	free_strings(c->uplink.lanes, c->uplink.n_lanes);
	memset(&c->uplink, 0, sizeof(c->uplink));
}

int config__uplink_defaults(struct ward_config *c)
{
	memset(&c->uplink, 0, sizeof(c->uplink));
	c->uplink.enabled = false;
	c->uplink.batch_max_bytes = SEALER_MAX_BATCH_DEFAULT;
	c->uplink.zstd_level = 3;
	c->uplink.seal_interval_ms = 1000;
	c->uplink.connect_timeout_ms = 10000;
	c->uplink.handshake_timeout_ms = 10000;
	c->uplink.response_timeout_ms = 30000;
	/* Full-jitter exponential backoff from 1 s up to 5 min (issue 3). */
	c->uplink.backoff_min_ms = 1000;
	c->uplink.backoff_max_ms = 300000;
	c->uplink.default_bytes_per_second = 0;
	/* Pipelining: 8 small batches fill 5 Mbit/s at 100 ms RTT (62.5 kB
	 * in flight); the bytes cap bounds the memory the TLS write queue
	 * holds when batches are big. */
	c->uplink.max_in_flight = 8;
	c->uplink.max_bytes_in_flight = 4194304;
	c->uplink.aging_ms = 10000;
	c->uplink.outbox = strdup("outbox");
	return c->uplink.outbox == NULL ? -ENOMEM : 0;
}

/* ---- hosts and URLs ------------------------------------------------------ */

/* A DNS name in the form of RFC 1123 2.1: dot-separated labels of 1 to 63
 * letters, digits and '-', neither first nor last in a label. Returns NULL
 * or why not. */
static const char *dns_name_why(const char *h, size_t len)
{
	size_t i, label = 0;

	if (len > HOST_MAX_LEN)
		return "has a host name longer than 253 bytes";
	for (i = 0; i < len; i++) {
		char ch = h[i];

		if (ch == '.') {
			if (label == 0 || h[i - 1] == '-')
				return "has a host name with an empty label or a label "
				       "ending in '-'";
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-'))
			return "has a host name with a character other than a letter, "
			       "digit, '-' or '.'";
		if (ch == '-' && label == 0)
			return "has a host name with a label starting with '-'";
		if (++label > LABEL_MAX_LEN)
			return "has a host name with a label longer than 63 bytes";
	}
	if (label == 0 || h[len - 1] == '-')
		return "has a host name with an empty label or a label ending in '-'";
	return NULL;
}

/* The host of a URL (RFC 3986 3.2.2): "[v6]", a dotted IPv4 address, or a
 * DNS name. Copies it without brackets into dst (HOST_MAX_LEN + 1 bytes).
 * Returns NULL or why not. */
static const char *host_why(const char *h, size_t len, char *dst)
{
	char lit[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;
	const char *why;

	if (len == 0)
		return "has no host";
	if (h[0] == '[') {
		if (len < 3 || h[len - 1] != ']' || len - 2 >= sizeof(lit))
			return "has a '[' host that is not an IPv6 address in brackets";
		memcpy(lit, h + 1, len - 2);
		lit[len - 2] = '\0';
		if (inet_pton(AF_INET6, lit, &a6) != 1)
			return "has a host that is not a valid IPv6 address (zone ids "
			       "are not supported)";
		memcpy(dst, lit, len - 1);
		return NULL;
	}
	/* A name whose labels are all digits is an IPv4 address or nothing
	 * (RFC 1123 2.1 keeps the top label alphabetic). */
	if (strspn(h, "0123456789.") >= len) {
		if (len >= sizeof(lit))
			return "has a host that is not a valid IPv4 address";
		memcpy(lit, h, len);
		lit[len] = '\0';
		if (inet_pton(AF_INET, lit, &a4) != 1)
			return "has a host that is not a valid IPv4 address";
	} else if ((why = dns_name_why(h, len)) != NULL) {
		return why;
	}
	memcpy(dst, h, len);
	dst[len] = '\0';
	return NULL;
}

struct url {
	char host[HOST_MAX_LEN + 1];
	uint16_t port;
};

/* Parses "scheme://host[:port][/]" for one scheme (in any case, RFC 3986
 * 3.1). No user information, path, query or fragment: the uplink's paths
 * are fixed (/v1/batches), and a proxy password would be a credential in
 * a message. Returns 0, or -EINVAL with *why set. */
static int parse_url(const char *s, const char *scheme, uint16_t default_port,
		     struct url *u, const char **why)
{
	const char *sep = strstr(s, "://"), *auth, *end, *colon = NULL, *rest;
	size_t slen = strlen(scheme), i;
	unsigned long port = 0;

	memset(u, 0, sizeof(*u));
	if (sep == NULL) {
		*why = "is not a URL (no '://')";
		return -EINVAL;
	}
	if ((size_t)(sep - s) != slen || strncasecmp(s, scheme, slen) != 0) {
		*why = strcmp(scheme, "https") == 0 ?
		       (sep - s == 4 && strncasecmp(s, "http", 4) == 0 ?
			"uses http; only https is allowed (the uplink runs over TLS)" :
			"has a scheme other than https") :
		       "has a scheme other than http (the proxy is spoken to in "
		       "clear HTTP, then CONNECT)";
		return -EINVAL;
	}
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL) {
		*why = "has user information ('user@'), which is not supported";
		return -EINVAL;
	}
	if (auth[0] == '[') {
		const char *close = memchr(auth, ']', (size_t)(end - auth));

		if (close == NULL) {
			*why = "has a '[' without ']'";
			return -EINVAL;
		}
		if (close + 1 != end && close[1] != ':') {
			*why = "has text after ']' that is not ':port'";
			return -EINVAL;
		}
		colon = close + 1 != end ? close + 1 : NULL;
	} else {
		colon = memchr(auth, ':', (size_t)(end - auth));
		if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL) {
			*why = "has an IPv6 address without brackets (write [v6])";
			return -EINVAL;
		}
	}
	*why = host_why(auth, (size_t)((colon != NULL ? colon : end) - auth), u->host);
	if (*why != NULL)
		return -EINVAL;
	if (colon != NULL) {
		for (i = 1; colon + i < end; i++) {
			if (colon[i] < '0' || colon[i] > '9' || i > 5) {
				*why = "has a port that is not a number from 1 to 65535";
				return -EINVAL;
			}
			port = port * 10 + (unsigned long)(colon[i] - '0');
		}
		if (i == 1) {
			*why = "has an empty port";
			return -EINVAL;
		}
		if (port == 0 || port > 65535) {
			*why = "has a port outside 1 to 65535";
			return -EINVAL;
		}
	} else if (default_port == 0) {
		*why = "has no port";
		return -EINVAL;
	} else {
		port = default_port;
	}
	rest = end;
	if (rest[0] == '?' || rest[0] == '#' || (rest[0] == '/' && rest[1] != '\0')) {
		*why = rest[0] == '/' && strcspn(rest, "?#") > 1 ?
		       "has a path; only none or '/' is allowed" :
		       "has a query or fragment, which is not allowed";
		return -EINVAL;
	}
	u->port = (uint16_t)port;
	*why = NULL;
	return 0;
}

/* A URL for a message. User information may hold a password, so it is
 * replaced by three asterisks before the "@". Returns dst. */
static const char *url_show(char *dst, size_t dstlen, const char *s)
{
	char tmp[URL_MAX_LEN + 8];
	const char *sep = strstr(s, "://"), *at;
	size_t auth;

	if (sep == NULL)
		return config__show(dst, dstlen, s);
	auth = strcspn(sep + 3, "/?#");
	at = memchr(sep + 3, '@', auth);
	if (at == NULL)
		return config__show(dst, dstlen, s);
	/* The last '@' of the authority ends the user information. */
	while (memchr(at + 1, '@', auth - (size_t)(at + 1 - (sep + 3))) != NULL)
		at = memchr(at + 1, '@', auth - (size_t)(at + 1 - (sep + 3)));
	snprintf(tmp, sizeof(tmp), "%.*s://***%s", (int)(sep - s), s, at);
	return config__show(dst, dstlen, tmp);
}

/* ---- endpoints ----------------------------------------------------------- */

/* A null "endpoints:" or "rate_limit:" keeps the default (none), like any
 * other key left empty. */
static bool list_given(struct config__load *ld, const char *path, struct config__mark *m)
{
	yaml_node_t *n = config__find(&ld->doc, path, m);

	return n != NULL && n->type == YAML_SEQUENCE_NODE;
}

/* Checks endpoint i and copies it into *out (which the caller frees, also
 * after a failure). */
static int take_endpoint(struct config__load *ld, const struct config__raw_uplink_endpoint *r,
			 unsigned i, struct uplink_endpoint_conf *out)
{
	char path[64], text[CONFIG__SHOW_MAX];
	const char *why;
	struct url u;
	int rc;

	snprintf(path, sizeof(path), "uplink.endpoints[%u].url", i);
	if (parse_url(r->url, "https", 443, &u, &why) < 0)
		return config__fail_at(ld, path, "%s: '%s' %s (expected https://host[:port])",
				       path, url_show(text, sizeof(text), r->url), why);
	/* RFC 6066 3: a server name is a host name, never an address. */
	if (r->sni != NULL) {
		snprintf(path, sizeof(path), "uplink.endpoints[%u].sni", i);
		why = dns_name_why(r->sni, strlen(r->sni));
		if (why == NULL && strspn(r->sni, "0123456789.") == strlen(r->sni))
			why = "is an IPv4 address; a server name must be a host name "
			      "(RFC 6066 3)";
		if (why != NULL)
			return config__fail_at(ld, path, "%s: '%s' %s", path,
					       config__show(text, sizeof(text), r->sni), why);
	}
	out->port = u.port;
	if ((rc = config__dup_opt(r->url, &out->url)) < 0 ||
	    (rc = config__dup_opt(u.host, &out->host)) < 0 ||
	    (rc = config__dup_opt(r->sni, &out->sni)) < 0)
		return rc;
	return 0;
}

/* The same host and port twice would only repeat a failover step. Names
 * compare without case (RFC 4343); O(n^2) over at most ENDPOINTS_MAX. */
static int check_duplicate_endpoints(struct config__load *ld,
				     const struct uplink_endpoint_conf *e, unsigned n)
{
	struct config__mark first;
	char path[64], fpath[64];
	unsigned i, j;

	for (j = 1; j < n; j++) {
		for (i = 0; i < j; i++) {
			if (e[i].port != e[j].port || strcasecmp(e[i].host, e[j].host) != 0)
				continue;
			snprintf(path, sizeof(path), "uplink.endpoints[%u].url", j);
			snprintf(fpath, sizeof(fpath), "uplink.endpoints[%u]", i);
			config__find(&ld->doc, fpath, &first);
			return config__fail_at(ld, path, "%s: the same host and port as %s "
					       "(line %u)", path, fpath, first.line);
		}
	}
	return 0;
}

static int apply_endpoints(struct config__load *ld, struct ward_config *c,
			   const struct config__raw_uplink *r)
{
	struct uplink_endpoint_conf *es = NULL;
	struct config__mark m;
	unsigned i, count = r->n_endpoints;
	int rc = 0;

	if (!list_given(ld, "uplink.endpoints", &m))
		return 0;
	if (count == 0 && c->uplink.enabled)
		return config__fail_mark(ld, &m, "uplink.endpoints: the list is empty; the "
					 "uplink needs at least one SOC endpoint (or set "
					 "uplink.enabled: false)");
	if (count > 0) {
		es = calloc(count, sizeof(*es));
		if (es == NULL)
			return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		rc = take_endpoint(ld, &r->endpoints[i], i, &es[i]);
		if (rc < 0)
			goto out;
	}
	rc = check_duplicate_endpoints(ld, es, count);
	if (rc < 0)
		goto out;
	free_endpoints(c->uplink.endpoints, c->uplink.n_endpoints);
	c->uplink.endpoints = es;
	c->uplink.n_endpoints = count;
	es = NULL;
out:
	free_endpoints(es, count);
	return rc;
}

static int apply_proxy(struct config__load *ld, struct ward_config *c, const char *given)
{
	char text[CONFIG__SHOW_MAX], *host = NULL;
	const char *why;
	struct url u;
	int rc;

	if (given == NULL)
		return 0;
	if (parse_url(given, "http", 0, &u, &why) < 0)
		return config__fail_at(ld, "uplink.proxy", "uplink.proxy: '%s' %s (expected "
				       "http://host:port)",
				       url_show(text, sizeof(text), given), why);
	rc = config__dup_opt(u.host, &host);
	if (rc < 0)
		return rc;
	rc = config__set_str(ld, "uplink.proxy", given, &c->uplink.proxy, false);
	if (rc < 0) {
		free(host);
		return rc;
	}
	free(c->uplink.proxy_host);
	c->uplink.proxy_host = host;
	c->uplink.proxy_port = u.port;
	return 0;
}

/* ---- the rate limit ------------------------------------------------------ */

/* "HH:MM", 00:00 to 23:59, two digits each. Returns 0 with *min the minute
 * of the day, or -EINVAL. */
static int parse_hhmm(const char *s, uint16_t *min)
{
	unsigned h, m;

	if (strlen(s) != 5 || s[2] != ':' ||
	    strspn(s, "0123456789") != 2 || strspn(s + 3, "0123456789") != 2)
		return -EINVAL;
	h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
	if (h > 23 || m > 59)
		return -EINVAL;
	*min = (uint16_t)(h * 60 + m);
	return 0;
}

static int set_time(struct config__load *ld, const char *path, const char *given,
		    uint16_t *dst)
{
	char text[CONFIG__SHOW_MAX];

	if (parse_hhmm(given, dst) < 0)
		return config__fail_at(ld, path, "%s: '%s' is not a time of day (expected "
				       "HH:MM, 00:00 to 23:59)", path,
				       config__show(text, sizeof(text), given));
	return 0;
}

/* A rate is 0 (unlimited) or at least RATE_MIN: a rate of a few bytes a
 * second would hold one batch back for days, which is surely a slip. */
static int set_rate(struct config__load *ld, const char *path, const uint64_t *given,
		    uint64_t *dst)
{
	uint64_t v = *dst;
	int rc = config__set_u64(ld, path, given, &v);

	if (rc < 0)
		return rc;
	if (v != 0 && v < RATE_MIN)
		return config__fail_at(ld, path, "%s: %llu bytes per second is below the "
				       "minimum %u (0 means unlimited)", path,
				       (unsigned long long)v, RATE_MIN);
	*dst = v;
	return 0;
}

/* A window as one or two half-open ranges of minutes in [0, 1440). */
static unsigned window_ranges(const struct uplink_window_conf *w, uint16_t r[2][2])
{
	if (w->from_min < w->to_min) {
		r[0][0] = w->from_min;
		r[0][1] = w->to_min;
		return 1;
	}
	r[0][0] = w->from_min;
	r[0][1] = MINUTES_PER_DAY;
	r[1][0] = 0;
	r[1][1] = w->to_min;
	return r[1][1] > 0 ? 2 : 1;
}

static bool windows_overlap(const struct uplink_window_conf *a,
			    const struct uplink_window_conf *b)
{
	uint16_t ra[2][2], rb[2][2];
	unsigned na = window_ranges(a, ra), nb = window_ranges(b, rb), i, j;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			if (ra[i][0] < rb[j][1] && rb[j][0] < ra[i][1])
				return true;
	return false;
}

static int take_window(struct config__load *ld, const struct config__raw_uplink_window *r,
		       unsigned i, struct uplink_window_conf *out)
{
	char path[40], fpath[80];
	int rc;

	snprintf(path, sizeof(path), "uplink.rate_limit[%u]", i);
	snprintf(fpath, sizeof(fpath), "%s.from", path);
	if ((rc = set_time(ld, fpath, r->from, &out->from_min)) < 0)
		return rc;
	snprintf(fpath, sizeof(fpath), "%s.to", path);
	if ((rc = set_time(ld, fpath, r->to, &out->to_min)) < 0)
		return rc;
	/* Equal ends could mean an empty window or the whole day; the whole
	 * day is what default_bytes_per_second is for. */
	if (out->from_min == out->to_min)
		return config__fail_at(ld, fpath, "%s: the window starts and ends at %s; "
				       "for the whole day use uplink.default_bytes_per_second",
				       fpath, r->to);
	snprintf(fpath, sizeof(fpath), "%s.bytes_per_second", path);
	return set_rate(ld, fpath, r->bytes_per_second, &out->bytes_per_second);
}

/* Overlapping windows would leave the rate at a given time ambiguous.
 * O(n^2) over at most WINDOWS_MAX. */
static int check_overlaps(struct config__load *ld, const struct config__raw_uplink *r,
			  const struct uplink_window_conf *w, unsigned n)
{
	struct config__mark first;
	char path[64], fpath[64];
	unsigned i, j;

	for (j = 1; j < n; j++) {
		for (i = 0; i < j; i++) {
			if (!windows_overlap(&w[i], &w[j]))
				continue;
			snprintf(path, sizeof(path), "uplink.rate_limit[%u]", j);
			snprintf(fpath, sizeof(fpath), "uplink.rate_limit[%u]", i);
			config__find(&ld->doc, fpath, &first);
			return config__fail_at(ld, path, "%s: %s-%s overlaps %s (%s-%s, line %u)",
					       path, r->rate_limit[j].from, r->rate_limit[j].to,
					       fpath, r->rate_limit[i].from, r->rate_limit[i].to,
					       first.line);
		}
	}
	return 0;
}

static int apply_rate_limit(struct config__load *ld, struct ward_config *c,
			    const struct config__raw_uplink *r)
{
	struct uplink_window_conf *ws = NULL;
	struct config__mark m;
	unsigned i, count = r->n_rate_limit;
	int rc = 0;

	if (!list_given(ld, "uplink.rate_limit", &m))
		return 0;
	if (count > 0) {
		ws = calloc(count, sizeof(*ws));
		if (ws == NULL)
			return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		rc = take_window(ld, &r->rate_limit[i], i, &ws[i]);
		if (rc < 0)
			goto out;
	}
	rc = check_overlaps(ld, r, ws, count);
	if (rc < 0)
		goto out;
	free(c->uplink.rate_limit);
	c->uplink.rate_limit = ws;
	c->uplink.n_rate_limit = count;
	ws = NULL;
out:
	free(ws);
	return rc;
}

/* ---- lanes --------------------------------------------------------------- */

/* An explicit order of the lanes, for a site whose priorities differ from
 * the classes in the lanes' LANE files. A lane that is not listed is sent
 * after the listed ones, by class. An empty list means the classes alone,
 * as when the key is left out. */
static int apply_lanes(struct config__load *ld, struct ward_config *c,
		       const struct config__raw_uplink *r)
{
	struct config__mark m, first;
	char path[48], fpath[48], text[CONFIG__SHOW_MAX];
	char **v = NULL;
	unsigned i, j;
	int rc = 0;

	if (!list_given(ld, "uplink.lanes", &m))
		return 0;
	for (j = 0; j < r->n_lanes; j++) {
		snprintf(path, sizeof(path), "uplink.lanes[%u]", j);
		if (!spool_lane_name_valid(r->lanes[j]))
			return config__fail_at(ld, path, "%s: '%s' is not a lane name (1 to 32 "
					       "of a-z, 0-9, '_' and '-', not 'quarantine')",
					       path, config__show(text, sizeof(text), r->lanes[j]));
		for (i = 0; i < j; i++) {
			if (strcmp(r->lanes[i], r->lanes[j]) != 0)
				continue;
			snprintf(fpath, sizeof(fpath), "uplink.lanes[%u]", i);
			config__find(&ld->doc, fpath, &first);
			return config__fail_at(ld, path, "%s: '%s' is already %s (line %u)", path,
					       r->lanes[j], fpath, first.line);
		}
	}
	if (r->n_lanes > 0) {
		v = calloc(r->n_lanes, sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		for (i = 0; i < r->n_lanes; i++) {
			v[i] = strdup(r->lanes[i]);
			if (v[i] == NULL) {
				rc = -ENOMEM;
				goto out;
			}
		}
	}
	free_strings(c->uplink.lanes, c->uplink.n_lanes);
	c->uplink.lanes = v;
	c->uplink.n_lanes = r->n_lanes;
	v = NULL;
out:
	free_strings(v, r->n_lanes);
	return rc;
}

/* ---- the section --------------------------------------------------------- */

/* Once enabled, the uplink cannot run without its keys, certificates and
 * a SOC to send to. All missing keys are named at once, at the section. */
static int check_required(struct config__load *ld, const struct ward_config *c)
{
	const struct {
		const char *key;
		bool missing;
	} req[] = {
		{ "device_key", c->uplink.device_key == NULL },
		{ "soc_public_key", c->uplink.soc_public_key == NULL },
		{ "endpoints", c->uplink.n_endpoints == 0 },
		{ "ca", c->uplink.ca == NULL },
		{ "client_cert", c->uplink.client_cert == NULL },
		{ "client_key", c->uplink.client_key == NULL },
	};
	char missing[160];
	size_t i, used = 0;
	int n;

	if (!c->uplink.enabled)
		return 0;
	missing[0] = '\0';
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		if (!req[i].missing)
			continue;
		n = snprintf(missing + used, sizeof(missing) - used, "%s'%s'",
			     used ? ", " : "", req[i].key);
		if (n > 0 && (size_t)n < sizeof(missing) - used)
			used += (size_t)n;
	}
	if (used == 0)
		return 0;
	return config__fail_at(ld, "uplink", "uplink: enabled, but missing %s (required when "
			       "enabled: device_key, soc_public_key, endpoints, ca, "
			       "client_cert, client_key)", missing);
}

/* A number with its range checked here (the table in config_sections.c
 * has no rule for it). */
static int set_ranged(struct config__load *ld, const char *path, const uint64_t *given,
		      uint64_t min, uint64_t max, uint64_t *dst)
{
	uint64_t v = *dst;
	int rc = config__set_u64(ld, path, given, &v);

	if (rc < 0)
		return rc;
	if (v < min)
		return config__fail_at(ld, path, "%s: %llu is below the minimum %llu", path,
				       (unsigned long long)v, (unsigned long long)min);
	if (v > max)
		return config__fail_at(ld, path, "%s: %llu is above the maximum %llu", path,
				       (unsigned long long)v, (unsigned long long)max);
	*dst = v;
	return 0;
}

static int apply_pipelining(struct config__load *ld, struct ward_config *c,
			    const struct config__raw_uplink *r)
{
	uint64_t n = c->uplink.max_in_flight, a = c->uplink.aging_ms;
	int rc;

	if ((rc = set_ranged(ld, "uplink.max_in_flight", r->max_in_flight, 1, 64, &n)) < 0 ||
	    (rc = set_ranged(ld, "uplink.max_bytes_in_flight", r->max_bytes_in_flight, 65536,
			     1073741824, &c->uplink.max_bytes_in_flight)) < 0 ||
	    (rc = set_ranged(ld, "uplink.aging_ms", r->aging_ms, 100, 86400000, &a)) < 0)
		return rc;
	c->uplink.max_in_flight = (uint32_t)n;
	c->uplink.aging_ms = (uint32_t)a;
	return 0;
}

static int set_level(struct config__load *ld, const uint64_t *given, int *dst)
{
	uint32_t v = (uint32_t)*dst;
	int rc = config__set_u32(ld, "uplink.zstd_level", given, &v);

	if (rc == 0)
		*dst = (int)v;   /* 1..19 by its rule */
	return rc;
}

int config__uplink_apply(struct config__load *ld, struct ward_config *c,
			 const struct config__raw_uplink *r)
{
	int rc;

	if (r == NULL)
		return 0;
	if ((rc = config__set_bool(ld, "uplink.enabled", r->enabled, &c->uplink.enabled)) < 0 ||
	    (rc = config__set_str(ld, "uplink.device_key", r->device_key,
				  &c->uplink.device_key, false)) < 0 ||
	    (rc = config__set_str(ld, "uplink.soc_public_key", r->soc_public_key,
				  &c->uplink.soc_public_key, false)) < 0 ||
	    (rc = config__set_str(ld, "uplink.outbox", r->outbox, &c->uplink.outbox, false)) < 0 ||
	    (rc = config__set_u32(ld, "uplink.batch_max_bytes", r->batch_max_bytes,
				  &c->uplink.batch_max_bytes)) < 0 ||
	    (rc = set_level(ld, r->zstd_level, &c->uplink.zstd_level)) < 0 ||
	    (rc = config__set_u32(ld, "uplink.seal_interval_ms", r->seal_interval_ms,
				  &c->uplink.seal_interval_ms)) < 0 ||
	    (rc = apply_endpoints(ld, c, r)) < 0 ||
	    (rc = config__set_str(ld, "uplink.ca", r->ca, &c->uplink.ca, false)) < 0 ||
	    (rc = config__set_str(ld, "uplink.client_cert", r->client_cert,
				  &c->uplink.client_cert, false)) < 0 ||
	    (rc = config__set_str(ld, "uplink.client_key", r->client_key,
				  &c->uplink.client_key, false)) < 0 ||
	    (rc = apply_proxy(ld, c, r->proxy)) < 0 ||
	    (rc = config__set_str(ld, "uplink.proxy_credentials", r->proxy_credentials,
				  &c->uplink.proxy_credentials, false)) < 0 ||
	    (rc = config__set_u32(ld, "uplink.connect_timeout_ms", r->connect_timeout_ms,
				  &c->uplink.connect_timeout_ms)) < 0 ||
	    (rc = config__set_u32(ld, "uplink.handshake_timeout_ms", r->handshake_timeout_ms,
				  &c->uplink.handshake_timeout_ms)) < 0 ||
	    (rc = config__set_u32(ld, "uplink.response_timeout_ms", r->response_timeout_ms,
				  &c->uplink.response_timeout_ms)) < 0 ||
	    (rc = config__set_u32(ld, "uplink.backoff_min_ms", r->backoff_min_ms,
				  &c->uplink.backoff_min_ms)) < 0 ||
	    (rc = config__set_u32(ld, "uplink.backoff_max_ms", r->backoff_max_ms,
				  &c->uplink.backoff_max_ms)) < 0 ||
	    (rc = apply_rate_limit(ld, c, r)) < 0 ||
	    (rc = set_rate(ld, "uplink.default_bytes_per_second", r->default_bytes_per_second,
			   &c->uplink.default_bytes_per_second)) < 0 ||
	    (rc = apply_lanes(ld, c, r)) < 0 ||
	    (rc = apply_pipelining(ld, c, r)) < 0)
		return rc;
	if (c->uplink.proxy_credentials != NULL && c->uplink.proxy == NULL)
		return config__fail_at(ld, "uplink.proxy_credentials", "uplink.proxy_credentials: "
				       "set, but uplink.proxy is not: credentials for which proxy?");
	return check_required(ld, c);
}

/* The path to blame for a rule between two values: the first if the file
 * sets it, else the second. */
static const char *blame(struct config__load *ld, const char *a, const char *b)
{
	struct config__mark m;

	return config__find(&ld->doc, a, &m) != NULL ? a : b;
}

int config__uplink_check(struct config__load *ld, const struct ward_config *c)
{
	char text[CONFIG__SHOW_MAX];
	const char *p;

	if (c->uplink.backoff_min_ms > c->uplink.backoff_max_ms) {
		p = blame(ld, "uplink.backoff_min_ms", "uplink.backoff_max_ms");
		return config__fail_at(ld, p, "%s: uplink.backoff_min_ms (%u) must not be above "
				       "uplink.backoff_max_ms (%u)", p, c->uplink.backoff_min_ms,
				       c->uplink.backoff_max_ms);
	}
	/* The sealer deletes segments from the spool and the budget counts
	 * both trees; one directory for both would mix the two. Only the
	 * text is compared: the check must not touch the disk. */
	if (strcmp(c->uplink.outbox, c->spool.dir) == 0) {
		p = blame(ld, "uplink.outbox", "spool.dir");
		return config__fail_at(ld, p, "%s: '%s' is both spool.dir and uplink.outbox; "
				       "sealed batches need a directory of their own", p,
				       config__show(text, sizeof(text), c->uplink.outbox));
	}
	return 0;
}
