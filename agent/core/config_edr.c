/* config_edr: the edr section of the configuration (docs/config.md), the
 * settings of the EDR event relay (agent/edr/): its two inputs, Lumberjack
 * v2 and the HTTP Event Collector, the agent groups and the credentials
 * their shippers present, and the relay's limits.
 *
 * HEC tokens are credentials. No message quotes one: a bad one is named by
 * its path and position only.
 *
 * An input without a certificate speaks plain TCP. That is allowed on a
 * loopback address only (the compiled-in defaults, for a first run on one
 * machine); anywhere else the input must be TLS, because events carry user
 * names, command lines and the tokens themselves.
 */
#include "config.h"
#include "config_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Limits; docs/config.md states each of them. */
#define TOKEN_MAX      128
#define TOKENS_MAX     64
#define CN_MAX         64       /* X.520 ub-common-name */
#define CNS_MAX        256
#define GROUPS_MAX     64

#define OPT CONFIG__OPT

struct config__raw_edr_input {
	bool *enabled;
	char *address;
	char *cert;
	char *key;
	char *client_ca;
};

struct config__raw_edr_group {
	char *name;                   /* required */
	char **tokens;
	unsigned n_tokens;
	char **client_cns;
	unsigned n_client_cns;
};

/* ---- the schema ---------------------------------------------------------- */

static const cyaml_schema_field_t input_fields[] = {
	CYAML_FIELD_BOOL_PTR("enabled", OPT, struct config__raw_edr_input, enabled),
	CYAML_FIELD_STRING_PTR("address", OPT, struct config__raw_edr_input, address,
			       1, CONFIG__ADDRESS_MAX_LEN),
	CYAML_FIELD_STRING_PTR("cert", OPT, struct config__raw_edr_input, cert,
			       0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_STRING_PTR("key", OPT, struct config__raw_edr_input, key,
			       0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_STRING_PTR("client_ca", OPT, struct config__raw_edr_input, client_ca,
			       0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t token_schema = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, TOKEN_MAX),
};

static const cyaml_schema_value_t cn_schema = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, CN_MAX),
};

static const cyaml_schema_field_t group_fields[] = {
	CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_DEFAULT, struct config__raw_edr_group, name,
			       1, CONFIG__NAME_MAX_LEN),
	CYAML_FIELD_SEQUENCE_COUNT("tokens", OPT, struct config__raw_edr_group, tokens, n_tokens,
				   &token_schema, 0, TOKENS_MAX),
	CYAML_FIELD_SEQUENCE_COUNT("client_cns", OPT, struct config__raw_edr_group, client_cns,
				   n_client_cns, &cn_schema, 0, CNS_MAX),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t group_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct config__raw_edr_group, group_fields),
};

const cyaml_schema_field_t config__edr_fields[] = {
	CYAML_FIELD_BOOL_PTR("enabled", OPT, struct config__raw_edr, enabled),
	CYAML_FIELD_MAPPING_PTR("lumberjack", OPT, struct config__raw_edr, lumberjack,
				input_fields),
	CYAML_FIELD_MAPPING_PTR("hec", OPT, struct config__raw_edr, hec, input_fields),
	CYAML_FIELD_SEQUENCE_COUNT("groups", OPT, struct config__raw_edr, groups, n_groups,
				   &group_schema, 0, GROUPS_MAX),
	CYAML_FIELD_UINT_PTR("max_event_bytes", OPT, struct config__raw_edr, max_event_bytes),
	CYAML_FIELD_UINT_PTR("max_body_bytes", OPT, struct config__raw_edr, max_body_bytes),
	CYAML_FIELD_UINT_PTR("max_connections", OPT, struct config__raw_edr, max_connections),
	CYAML_FIELD_UINT_PTR("idle_timeout_ms", OPT, struct config__raw_edr, idle_timeout_ms),
	CYAML_FIELD_UINT_PTR("max_pending_bytes", OPT, struct config__raw_edr, max_pending_bytes),
	CYAML_FIELD_END
};

/* ---- defaults and ownership ---------------------------------------------- */

static void free_strings(char **v, unsigned n, bool secret)
{
	unsigned i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		/* Tokens live until the next reload; wipe them on the way out. */
		if (secret && v[i] != NULL)
			explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

static void free_input(struct edr_input_conf *in)
{
	free(in->address);
	free(in->cert);
	free(in->key);
	free(in->client_ca);
	memset(in, 0, sizeof(*in));
}

static void free_groups(struct edr_group_conf *g, unsigned n)
{
	unsigned i;

	if (g == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(g[i].name);
		free_strings(g[i].tokens, g[i].n_tokens, true);
		free_strings(g[i].client_cns, g[i].n_client_cns, false);
	}
	free(g);
}

void config__edr_free(struct ward_config *c)
{
	free_input(&c->edr.lumberjack);
	free_input(&c->edr.hec);
	free_groups(c->edr.groups, c->edr.n_groups);
	memset(&c->edr, 0, sizeof(c->edr));
}

int config__edr_defaults(struct ward_config *c)
{
	struct edr_group_conf *g;

	memset(&c->edr, 0, sizeof(c->edr));
	c->edr.enabled = true;
	c->edr.max_event_bytes = 65536;
	/* A body is held whole, decompressed and parsed (jansson's tree is
	 * several times the text): 4 MiB keeps one request well inside the
	 * receivers' memory, and batches of Beats and forwarders are
	 * smaller. */
	c->edr.max_body_bytes = 4194304;
	c->edr.max_connections = 1024;
	c->edr.idle_timeout_ms = 600000;
	c->edr.max_pending_bytes = 8388608;
	c->edr.lumberjack.enabled = true;
	c->edr.hec.enabled = true;
	/* Loopback and plain: the defaults run on one machine with no setup
	 * and expose nothing. The image config binds TLS listeners. */
	c->edr.lumberjack.address = strdup("127.0.0.1:5044");
	c->edr.hec.address = strdup("127.0.0.1:8088");
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return -ENOMEM;
	c->edr.groups = g;
	c->edr.n_groups = 1;
	g->name = strdup("dev");
	g->tokens = calloc(1, sizeof(*g->tokens));
	if (g->tokens == NULL)
		return -ENOMEM;
	g->n_tokens = 1;
	g->tokens[0] = strdup(EDR_DEV_TOKEN);
	if (c->edr.lumberjack.address == NULL || c->edr.hec.address == NULL || g->name == NULL ||
	    g->tokens[0] == NULL)
		return -ENOMEM;
	return 0;
}

/* ---- inputs -------------------------------------------------------------- */

static int set_input(struct config__load *ld, const char *name,
		     const struct config__raw_edr_input *r, struct edr_input_conf *in)
{
	char path[64], kpath[80], text[CONFIG__SHOW_MAX];
	struct sockaddr_storage ss;
	const char *why;
	int rc;

	if (r == NULL)
		return 0;
	snprintf(path, sizeof(path), "edr.%s", name);
	snprintf(kpath, sizeof(kpath), "%s.address", path);
	if (r->address != NULL && config__parse_address(r->address, &ss, &why) < 0)
		return config__fail_at(ld, kpath, "%s: '%s' %s", kpath,
				       config__show(text, sizeof(text), r->address), why);
	/* cert and key come together; a client CA without a server
	 * certificate would be ignored, which is the wrong failure. */
	if ((r->cert == NULL) != (r->key == NULL) || (r->client_ca != NULL && r->cert == NULL)) {
		const char *missing = r->cert == NULL ? "cert" : "key";

		return config__fail_at(ld, path, "%s: TLS needs both 'cert' and 'key'%s; '%s' "
				       "is missing", path, r->client_ca != NULL ?
				       " (client_ca checks clients of a TLS listener)" : "",
				       missing);
	}
	snprintf(kpath, sizeof(kpath), "%s.enabled", path);
	if ((rc = config__set_bool(ld, kpath, r->enabled, &in->enabled)) < 0)
		return rc;
	if (r->address != NULL) {
		free(in->address);
		if ((in->address = strdup(r->address)) == NULL)
			return -ENOMEM;
	}
	/* The TLS files are replaced as a set: a file that gives none makes
	 * the input plain again. */
	free(in->cert);
	free(in->key);
	free(in->client_ca);
	in->cert = in->key = in->client_ca = NULL;
	if ((rc = config__dup_opt(r->cert, &in->cert)) < 0 ||
	    (rc = config__dup_opt(r->key, &in->key)) < 0 ||
	    (rc = config__dup_opt(r->client_ca, &in->client_ca)) < 0)
		return rc;
	return 0;
}

/* ---- groups -------------------------------------------------------------- */

/* A token goes into an HTTP header after "Splunk ": printable ASCII
 * without spaces, so it survives any client and never splits a header. */
static bool token_ok(const char *t)
{
	for (; *t != '\0'; t++)
		if (*t < 0x21 || *t > 0x7e)
			return false;
	return true;
}

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

/* Whether string s (at gi, ki) appeared earlier in any group's list
 * `tokens` (true) or client_cns. Sets *fg, *fk to the first one. O(n^2)
 * over at most GROUPS_MAX * (TOKENS_MAX or CNS_MAX) strings. */
static bool seen_before(const struct config__raw_edr *r, bool tokens, unsigned gi, unsigned ki,
			unsigned *fg, unsigned *fk)
{
	const char *s = tokens ? r->groups[gi].tokens[ki] : r->groups[gi].client_cns[ki];
	unsigned g, k, n;

	for (g = 0; g <= gi; g++) {
		n = tokens ? r->groups[g].n_tokens : r->groups[g].n_client_cns;
		for (k = 0; k < n && (g < gi || k < ki); k++) {
			const char *t = tokens ? r->groups[g].tokens[k] : r->groups[g].client_cns[k];

			if (strcmp(s, t) == 0) {
				*fg = g;
				*fk = k;
				return true;
			}
		}
	}
	return false;
}

static int check_group(struct config__load *ld, const struct config__raw_edr *r, unsigned gi)
{
	const struct config__raw_edr_group *g = &r->groups[gi];
	struct config__mark first;
	char path[80], fpath[80], text[CONFIG__SHOW_MAX];
	unsigned i, fg, fk;

	for (i = 0; i < gi; i++) {
		if (strcmp(r->groups[i].name, g->name) != 0)
			continue;
		snprintf(path, sizeof(path), "edr.groups[%u].name", gi);
		snprintf(fpath, sizeof(fpath), "edr.groups[%u]", i);
		config__find(&ld->doc, fpath, &first);
		return config__fail_at(ld, path, "%s: duplicate group '%s': already %s (line %u)",
				       path, config__show(text, sizeof(text), g->name), fpath,
				       first.line);
	}
	for (i = 0; g->name[i] != '\0'; i++) {
		if (config__name_char_ok(g->name[i], i == 0))
			continue;
		snprintf(path, sizeof(path), "edr.groups[%u].name", gi);
		return config__fail_at(ld, path, "%s: '%s' may hold only letters, digits, '.', "
				       "'_' and '-', starting with a letter or digit", path,
				       config__show(text, sizeof(text), g->name));
	}
	for (i = 0; i < g->n_tokens; i++) {
		snprintf(path, sizeof(path), "edr.groups[%u].tokens[%u]", gi, i);
		if (!token_ok(g->tokens[i]))
			return config__fail_at(ld, path, "%s: a token may hold only printable "
					       "ASCII without spaces", path);
		if (seen_before(r, true, gi, i, &fg, &fk)) {
			snprintf(fpath, sizeof(fpath), "edr.groups[%u].tokens[%u]", fg, fk);
			config__find(&ld->doc, fpath, &first);
			return config__fail_at(ld, path, "%s: the same token as %s (line %u); a "
					       "token names one group", path, fpath, first.line);
		}
	}
	for (i = 0; i < g->n_client_cns; i++) {
		if (!seen_before(r, false, gi, i, &fg, &fk))
			continue;
		snprintf(path, sizeof(path), "edr.groups[%u].client_cns[%u]", gi, i);
		snprintf(fpath, sizeof(fpath), "edr.groups[%u].client_cns[%u]", fg, fk);
		config__find(&ld->doc, fpath, &first);
		return config__fail_at(ld, path, "%s: '%s' is already %s (line %u); a certificate "
				       "names one group", path,
				       config__show(text, sizeof(text), g->client_cns[i]), fpath,
				       first.line);
	}
	return 0;
}

static int apply_groups(struct config__load *ld, struct ward_config *c,
			const struct config__raw_edr *r)
{
	struct edr_group_conf *gs = NULL;
	struct config__mark m;
	yaml_node_t *n;
	unsigned i, count = r->n_groups;
	int rc = 0;

	/* A null "groups:" keeps the defaults; only a list replaces them. An
	 * empty list is allowed: HEC then accepts no token, and Lumberjack
	 * only what its client_ca admits. */
	n = config__find(&ld->doc, "edr.groups", &m);
	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		return 0;
	for (i = 0; i < count; i++)
		if ((rc = check_group(ld, r, i)) < 0)
			return rc;
	if (count > 0 && (gs = calloc(count, sizeof(*gs))) == NULL)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		gs[i].n_tokens = r->groups[i].n_tokens;
		gs[i].n_client_cns = r->groups[i].n_client_cns;
		if ((rc = config__dup_opt(r->groups[i].name, &gs[i].name)) < 0 ||
		    (rc = copy_strings(r->groups[i].tokens, r->groups[i].n_tokens,
				       &gs[i].tokens)) < 0 ||
		    (rc = copy_strings(r->groups[i].client_cns, r->groups[i].n_client_cns,
				       &gs[i].client_cns)) < 0)
			goto out;
	}
	free_groups(c->edr.groups, c->edr.n_groups);
	c->edr.groups = gs;
	c->edr.n_groups = count;
	gs = NULL;
out:
	free_groups(gs, count);
	return rc;
}

/* ---- the section --------------------------------------------------------- */

int config__edr_apply(struct config__load *ld, struct ward_config *c,
		      const struct config__raw_edr *r)
{
	int rc;

	if (r == NULL)
		return 0;
	if ((rc = config__set_bool(ld, "edr.enabled", r->enabled, &c->edr.enabled)) < 0 ||
	    (rc = config__set_u32(ld, "edr.max_event_bytes", r->max_event_bytes,
				  &c->edr.max_event_bytes)) < 0 ||
	    (rc = config__set_u32(ld, "edr.max_body_bytes", r->max_body_bytes,
				  &c->edr.max_body_bytes)) < 0 ||
	    (rc = config__set_u32(ld, "edr.max_connections", r->max_connections,
				  &c->edr.max_connections)) < 0 ||
	    (rc = config__set_u32(ld, "edr.idle_timeout_ms", r->idle_timeout_ms,
				  &c->edr.idle_timeout_ms)) < 0 ||
	    (rc = config__set_u32(ld, "edr.max_pending_bytes", r->max_pending_bytes,
				  &c->edr.max_pending_bytes)) < 0 ||
	    (rc = set_input(ld, "lumberjack", r->lumberjack, &c->edr.lumberjack)) < 0 ||
	    (rc = set_input(ld, "hec", r->hec, &c->edr.hec)) < 0 ||
	    (rc = apply_groups(ld, c, r)) < 0)
		return rc;
	return 0;
}

static bool is_loopback(const struct sockaddr_storage *a)
{
	const struct sockaddr_in *a4 = (const void *)a;
	const struct sockaddr_in6 *a6 = (const void *)a;

	if (a->ss_family == AF_INET)
		return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
}

static bool has_dev_token(const struct ward_config *c)
{
	unsigned g, t;

	for (g = 0; g < c->edr.n_groups; g++)
		for (t = 0; t < c->edr.groups[g].n_tokens; t++)
			if (strcmp(c->edr.groups[g].tokens[t], EDR_DEV_TOKEN) == 0)
				return true;
	return false;
}

/* The exposure rules of one input: off loopback it must be TLS, and HEC
 * must not accept the development token. */
static int check_exposure(struct config__load *ld, const struct ward_config *c,
			  const char *name, const struct edr_input_conf *in,
			  const struct sockaddr_storage *ss)
{
	char path[64];

	if (!in->enabled || is_loopback(ss))
		return 0;
	snprintf(path, sizeof(path), "edr.%s.address", name);
	if (in->cert == NULL)
		return config__fail_at(ld, path, "%s: %s is not a loopback address, so the "
				       "input needs TLS: set 'cert' and 'key'", path, in->address);
	if (strcmp(name, "hec") == 0 && has_dev_token(c))
		return config__fail_at(ld, path, "%s: %s is not a loopback address, and the "
				       "development token (README.md) is still accepted; give "
				       "edr.groups your own tokens", path, in->address);
	return 0;
}

int config__edr_check(struct config__load *ld, const struct ward_config *c)
{
	struct sockaddr_storage lj, hec, y;
	const char *why, *p;
	unsigned i;
	int rc;

	if (!c->edr.enabled)
		return 0;
	if (c->edr.max_body_bytes < c->edr.max_event_bytes ||
	    c->edr.max_pending_bytes < c->edr.max_event_bytes) {
		bool body = c->edr.max_body_bytes < c->edr.max_event_bytes;

		p = body ? "edr.max_body_bytes" : "edr.max_pending_bytes";
		return config__fail_at(ld, p, "%s (%u) must be at least edr.max_event_bytes (%u)",
				       p, body ? c->edr.max_body_bytes : c->edr.max_pending_bytes,
				       c->edr.max_event_bytes);
	}
	config__parse_address(c->edr.lumberjack.address, &lj, &why);   /* checked already */
	config__parse_address(c->edr.hec.address, &hec, &why);
	if ((rc = check_exposure(ld, c, "lumberjack", &c->edr.lumberjack, &lj)) < 0 ||
	    (rc = check_exposure(ld, c, "hec", &c->edr.hec, &hec)) < 0)
		return rc;
	if (c->edr.lumberjack.enabled && c->edr.hec.enabled && config__same_socket(&lj, &hec))
		return config__fail_at(ld, "edr.hec.address", "edr.hec.address: %s is also "
				       "edr.lumberjack.address; each input needs its own port",
				       c->edr.hec.address);
	for (i = 0; c->syslog.enabled && i < c->syslog.n_listeners; i++) {
		const struct edr_input_conf *in;

		if (c->syslog.listeners[i].proto == LISTEN_UDP)
			continue;
		config__parse_address(c->syslog.listeners[i].address, &y, &why);
		in = config__same_socket(&y, &lj) && c->edr.lumberjack.enabled ?
		     &c->edr.lumberjack : config__same_socket(&y, &hec) && c->edr.hec.enabled ?
		     &c->edr.hec : NULL;
		if (in == NULL)
			continue;
		p = in == &c->edr.hec ? "edr.hec.address" : "edr.lumberjack.address";
		return config__fail_at(ld, p, "%s: %s is also the TCP address of "
				       "syslog.listeners[%u]", p, in->address, i);
	}
	return 0;
}
