/* config_snmp: the snmp section of the configuration (docs/config.md), the
 * settings of the SNMP notification receiver (agent/snmp/): its UDP
 * listeners, its own engine ID, the accepted v1/v2c communities and the
 * SNMPv3 USM users.
 *
 * Community strings and USM passwords are credentials. No message quotes
 * one: a bad one is named by its path and position only.
 *
 * The names of the auth and priv protocols are this file's own table, not
 * the SNMP module's parser, so a config check does not depend on which
 * receivers are compiled in; only the enums come from snmp/snmp.h.
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
#define ENGINE_ID_MIN      5      /* RFC 3411 SnmpEngineID: SIZE(5..32) */
#define ENGINE_ID_MAX      32
#define ENGINE_ID_TEXT_MAX 128    /* longer hex is cut off by cyaml; up to
                                   * this, the message counts the bytes */
#define USER_NAME_MAX      32     /* RFC 3414 usmUserName: SIZE(1..32) */
#define PASSWORD_MIN       8      /* RFC 3414 11.2 */
#define PASSWORD_MAX       255
#define COMMUNITY_MAX      255
#define COMMUNITIES_MAX    64
#define USERS_MAX          64

_Static_assert(sizeof(((struct snmp_user_conf *)0)->engine_id) == ENGINE_ID_MAX,
	       "snmp_user_conf.engine_id holds the longest SnmpEngineID");
_Static_assert(sizeof(((struct ward_config *)0)->snmp.engine_id) == ENGINE_ID_MAX,
	       "snmp.engine_id holds the longest SnmpEngineID");

/* Short names for the schema tables below. */
#define OPT        CONFIG__OPT
#define ENUM_FLAGS CONFIG__ENUM_FLAGS

/* ---- the schema ---------------------------------------------------------- */

/* The first name of each value is the one messages use. The hyphenated
 * spellings are net-snmp's (snmptrap -a SHA-256 -x AES-192), so a user's
 * line can be copied from a device's or snmptrapd's configuration. */
static const cyaml_strval_t auth_names[] = {
	{ "none", SNMP_AUTH_NONE },
	{ "md5", SNMP_AUTH_MD5 },
	{ "sha", SNMP_AUTH_SHA1 },
	{ "sha1", SNMP_AUTH_SHA1 },
	{ "sha224", SNMP_AUTH_SHA224 },
	{ "sha256", SNMP_AUTH_SHA256 },
	{ "sha384", SNMP_AUTH_SHA384 },
	{ "sha512", SNMP_AUTH_SHA512 },
	{ "sha-224", SNMP_AUTH_SHA224 },
	{ "sha-256", SNMP_AUTH_SHA256 },
	{ "sha-384", SNMP_AUTH_SHA384 },
	{ "sha-512", SNMP_AUTH_SHA512 },
};

static const cyaml_strval_t priv_names[] = {
	{ "none", SNMP_PRIV_NONE },
	{ "des", SNMP_PRIV_DES },
	{ "aes", SNMP_PRIV_AES128 },
	{ "aes128", SNMP_PRIV_AES128 },
	{ "aes192", SNMP_PRIV_AES192 },
	{ "aes256", SNMP_PRIV_AES256 },
	{ "aes-128", SNMP_PRIV_AES128 },
	{ "aes-192", SNMP_PRIV_AES192 },
	{ "aes-256", SNMP_PRIV_AES256 },
};

static const cyaml_schema_field_t user_fields[] = {
	CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_DEFAULT, struct config__raw_snmp_user, name,
			       1, USER_NAME_MAX),
	CYAML_FIELD_ENUM_PTR("auth", OPT | ENUM_FLAGS, struct config__raw_snmp_user, auth,
			     auth_names, CYAML_ARRAY_LEN(auth_names)),
	CYAML_FIELD_STRING_PTR("auth_password", OPT, struct config__raw_snmp_user, auth_password,
			       0, PASSWORD_MAX),
	CYAML_FIELD_ENUM_PTR("priv", OPT | ENUM_FLAGS, struct config__raw_snmp_user, priv,
			     priv_names, CYAML_ARRAY_LEN(priv_names)),
	CYAML_FIELD_STRING_PTR("priv_password", OPT, struct config__raw_snmp_user, priv_password,
			       0, PASSWORD_MAX),
	CYAML_FIELD_STRING_PTR("engine_id", OPT, struct config__raw_snmp_user, engine_id,
			       0, ENGINE_ID_TEXT_MAX),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t user_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct config__raw_snmp_user, user_fields),
};

static const cyaml_schema_value_t address_schema = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, CONFIG__ADDRESS_MAX_LEN),
};

static const cyaml_schema_value_t community_schema = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 1, COMMUNITY_MAX),
};

const cyaml_schema_field_t config__snmp_fields[] = {
	CYAML_FIELD_BOOL_PTR("enabled", OPT, struct config__raw_snmp, enabled),
	CYAML_FIELD_SEQUENCE_COUNT("listeners", OPT, struct config__raw_snmp, listeners,
				   n_listeners, &address_schema, 0, CONFIG__LISTENERS_MAX),
	CYAML_FIELD_STRING_PTR("engine_id", OPT, struct config__raw_snmp, engine_id,
			       0, ENGINE_ID_TEXT_MAX),
	CYAML_FIELD_SEQUENCE_COUNT("communities", OPT, struct config__raw_snmp, communities,
				   n_communities, &community_schema, 0, COMMUNITIES_MAX),
	CYAML_FIELD_BOOL_PTR("accept_any_community", OPT, struct config__raw_snmp,
			     accept_any_community),
	CYAML_FIELD_BOOL_PTR("accept_any_user", OPT, struct config__raw_snmp, accept_any_user),
	CYAML_FIELD_BOOL_PTR("record_community", OPT, struct config__raw_snmp, record_community),
	CYAML_FIELD_UINT_PTR("udp_rcvbuf_bytes", OPT, struct config__raw_snmp, udp_rcvbuf_bytes),
	CYAML_FIELD_STRING_PTR("oid_names", OPT, struct config__raw_snmp, oid_names,
			       0, CONFIG__PATH_MAX_LEN),
	CYAML_FIELD_SEQUENCE_COUNT("users", OPT, struct config__raw_snmp, users, n_users,
				   &user_schema, 0, USERS_MAX),
	CYAML_FIELD_END
};

static const char *enum_name(const cyaml_strval_t *names, size_t n, int value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i].val == value)
			return names[i].str;
	return "?";
}

static const char *auth_name(enum snmp_auth a)
{
	return enum_name(auth_names, CYAML_ARRAY_LEN(auth_names), (int)a);
}

static const char *priv_name(enum snmp_priv p)
{
	return enum_name(priv_names, CYAML_ARRAY_LEN(priv_names), (int)p);
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

/* Wiping credentials before free is cheap. It does not make the process
 * free of them (the file's bytes, libyaml's and cyaml's copies come and
 * go during a load), but these copies live longest: until the next
 * reload. */
static void free_secret(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
	free(s);
}

static void free_communities(char **v, unsigned n)
{
	unsigned i;

	for (i = 0; v != NULL && i < n; i++)
		if (v[i] != NULL)
			explicit_bzero(v[i], strlen(v[i]));
	free_strings(v, n);
}

static void free_users(struct snmp_user_conf *u, unsigned n)
{
	unsigned i;

	if (u == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(u[i].name);
		free_secret(u[i].auth_password);
		free_secret(u[i].priv_password);
	}
	free(u);
}

void config__snmp_free(struct ward_config *c)
{
	free_strings(c->snmp.listeners, c->snmp.n_listeners);
	free_communities(c->snmp.communities, c->snmp.n_communities);
	free(c->snmp.oid_names);
	free_users(c->snmp.users, c->snmp.n_users);
	memset(&c->snmp, 0, sizeof(c->snmp));
}

/* A list of one copy of s in *v. 0 or -ENOMEM; either way *v and *n are
 * safe to free. */
static int list_of_one(char ***v, unsigned *n, const char *s)
{
	*v = calloc(1, sizeof(**v));
	if (*v == NULL)
		return -ENOMEM;
	*n = 1;
	(*v)[0] = strdup(s);
	return (*v)[0] == NULL ? -ENOMEM : 0;
}

int config__snmp_defaults(struct ward_config *c)
{
	int rc;

	memset(&c->snmp, 0, sizeof(c->snmp));
	c->snmp.enabled = true;
	c->snmp.udp_rcvbuf_bytes = 4194304;
	/* An unprivileged port on loopback, so the defaults run without root
	 * and expose nothing; the image config uses 162. */
	if ((rc = list_of_one(&c->snmp.listeners, &c->snmp.n_listeners, "127.0.0.1:10162")) < 0 ||
	    (rc = list_of_one(&c->snmp.communities, &c->snmp.n_communities, "public")) < 0)
		return rc;
	return 0;
}

/* ---- values -------------------------------------------------------------- */

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* An SnmpEngineID (RFC 3411 5) written in hex, with or without "0x":
 * 5 to 32 bytes, and neither all 00 nor all ff, which the RFC reserves.
 * `given` NULL leaves *dst alone. */
static int set_engine_id(struct config__load *ld, const char *path, const char *given,
			 uint8_t dst[ENGINE_ID_MAX], size_t *dst_len)
{
	static const char want[] = "an SnmpEngineID is 5 to 32 bytes, written as 10 to 64 hex "
				   "digits (RFC 3411)";
	uint8_t id[ENGINE_ID_MAX];
	char text[CONFIG__SHOW_MAX];
	const char *h;
	size_t n, i, zeros = 0, ones = 0;

	if (given == NULL)
		return 0;
	config__show(text, sizeof(text), given);
	h = given[0] == '0' && (given[1] == 'x' || given[1] == 'X') ? given + 2 : given;
	n = strlen(h);
	for (i = 0; i < n; i++)
		if (hex_digit(h[i]) < 0)
			return config__fail_at(ld, path, "%s: '%s' is not hex: character %zu is "
					       "not 0-9 or a-f", path, text,
					       (size_t)(h - given) + i + 1);
	if (n % 2 != 0)
		return config__fail_at(ld, path, "%s: '%s' has an odd number of hex digits (%zu); "
				       "each byte takes two", path, text, n);
	if (n / 2 < ENGINE_ID_MIN || n / 2 > ENGINE_ID_MAX)
		return config__fail_at(ld, path, "%s: '%s' is %zu bytes; %s", path, text, n / 2,
				       want);
	for (i = 0; i < n / 2; i++) {
		id[i] = (uint8_t)(hex_digit(h[2 * i]) << 4 | hex_digit(h[2 * i + 1]));
		zeros += id[i] == 0x00;
		ones += id[i] == 0xff;
	}
	if (zeros == n / 2 || ones == n / 2)
		return config__fail_at(ld, path, "%s: '%s' is all %s bytes, which RFC 3411 does "
				       "not allow in an SnmpEngineID", path, text,
				       zeros == n / 2 ? "00" : "ff");
	memcpy(dst, id, n / 2);
	*dst_len = n / 2;
	return 0;
}

/* ---- listeners and communities ------------------------------------------- */

/* A null "listeners:" or "communities:" keeps the defaults, like any
 * other key left empty; only a list (even an empty one) replaces them. */
static bool list_given(struct config__load *ld, const char *path, struct config__mark *m)
{
	yaml_node_t *n = config__find(&ld->doc, path, m);

	return n != NULL && n->type == YAML_SEQUENCE_NODE;
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
	for (i = 0; i < n; i++) {
		(*out)[i] = strdup(v[i]);
		if ((*out)[i] == NULL)
			return -ENOMEM;
	}
	return 0;
}

/* Every address parses, and no two name the same socket. O(n^2) over at
 * most CONFIG__LISTENERS_MAX entries. */
static int check_listeners(struct config__load *ld, char *const *ls, unsigned n)
{
	struct sockaddr_storage ss[CONFIG__LISTENERS_MAX];
	struct config__mark first;
	char path[64], fpath[64], text[CONFIG__SHOW_MAX];
	const char *why;
	unsigned i, j;

	for (j = 0; j < n; j++) {
		snprintf(path, sizeof(path), "snmp.listeners[%u]", j);
		if (config__parse_address(ls[j], &ss[j], &why) < 0)
			return config__fail_at(ld, path, "%s: '%s' %s", path,
					       config__show(text, sizeof(text), ls[j]), why);
		for (i = 0; i < j; i++) {
			if (!config__same_socket(&ss[i], &ss[j]))
				continue;
			snprintf(fpath, sizeof(fpath), "snmp.listeners[%u]", i);
			config__find(&ld->doc, fpath, &first);
			return config__fail_at(ld, path, "%s: duplicate listener: %s is already "
					       "%s (line %u)", path, ls[j], fpath, first.line);
		}
	}
	return 0;
}

static int apply_listeners(struct config__load *ld, struct ward_config *c,
			   const struct config__raw_snmp *r)
{
	struct config__mark m;
	char **ls = NULL;
	int rc;

	if (!list_given(ld, "snmp.listeners", &m))
		return 0;
	if (r->n_listeners == 0 && c->snmp.enabled)
		return config__fail_mark(ld, &m, "snmp.listeners: the list is empty; the SNMP "
					 "receiver needs at least one listener (or set "
					 "snmp.enabled: false)");
	rc = check_listeners(ld, r->listeners, r->n_listeners);
	if (rc < 0)
		return rc;
	rc = copy_strings(r->listeners, r->n_listeners, &ls);
	if (rc < 0)
		goto out;
	free_strings(c->snmp.listeners, c->snmp.n_listeners);
	c->snmp.listeners = ls;
	c->snmp.n_listeners = r->n_listeners;
	ls = NULL;
out:
	free_strings(ls, r->n_listeners);
	return rc;
}

/* An empty list is allowed: it accepts no v1/v2c community at all, for a
 * probe that takes SNMPv3 only. A community given twice is a slip, most
 * likely a different one was meant. Messages never quote a community. */
static int apply_communities(struct config__load *ld, struct ward_config *c,
			     const struct config__raw_snmp *r)
{
	struct config__mark m, first;
	char path[64], fpath[64];
	char **v = NULL;
	unsigned i, j;
	int rc;

	if (!list_given(ld, "snmp.communities", &m))
		return 0;
	for (j = 1; j < r->n_communities; j++) {
		for (i = 0; i < j; i++) {
			if (strcmp(r->communities[i], r->communities[j]) != 0)
				continue;
			snprintf(path, sizeof(path), "snmp.communities[%u]", j);
			snprintf(fpath, sizeof(fpath), "snmp.communities[%u]", i);
			config__find(&ld->doc, fpath, &first);
			return config__fail_at(ld, path, "%s: the same community as %s (line %u)",
					       path, fpath, first.line);
		}
	}
	rc = copy_strings(r->communities, r->n_communities, &v);
	if (rc < 0)
		goto out;
	free_communities(c->snmp.communities, c->snmp.n_communities);
	c->snmp.communities = v;
	c->snmp.n_communities = r->n_communities;
	v = NULL;
out:
	free_communities(v, r->n_communities);
	return rc;
}

/* ---- users --------------------------------------------------------------- */

/* A password must come with its protocol and the protocol with its
 * password, and be long enough. `what` is "auth" or "priv"; `proto` the
 * protocol's name, NULL for none. */
static int check_password(struct config__load *ld, const char *upath, const char *what,
			  const char *proto, const char *password)
{
	struct config__mark m;
	char key[32], path[96];

	snprintf(key, sizeof(key), "%s_password", what);
	snprintf(path, sizeof(path), "%s.%s", upath, key);
	if (proto != NULL && password == NULL)
		return config__fail_at(ld, upath, "%s: %s %s needs '%s'", upath, what, proto, key);
	if (proto == NULL && password != NULL) {
		config__find_key(&ld->doc, upath, key, 0, &m);
		return config__fail_mark(ld, &m, "%s: only a user with %s takes '%s'; this one "
					 "has %s none", path, what, key, what);
	}
	if (password != NULL && strlen(password) < PASSWORD_MIN)
		return config__fail_at(ld, path, "%s: shorter than %d characters; RFC 3414 11.2 "
				       "requires at least %d", path, PASSWORD_MIN, PASSWORD_MIN);
	return 0;
}

/* Checks user i and copies it into *out (which the caller frees, also
 * after a failure). */
static int take_user(struct config__load *ld, const struct config__raw_snmp_user *r,
		     unsigned i, struct snmp_user_conf *out)
{
	enum snmp_auth auth = r->auth != NULL ? *r->auth : SNMP_AUTH_NONE;
	enum snmp_priv priv = r->priv != NULL ? *r->priv : SNMP_PRIV_NONE;
	char path[64], epath[80];
	int rc;

	snprintf(path, sizeof(path), "snmp.users[%u]", i);
	snprintf(epath, sizeof(epath), "%s.priv", path);
	/* USM has noAuthNoPriv, authNoPriv and authPriv (RFC 3411 3.4.3);
	 * privacy keys are derived alongside the authentication key. */
	if (priv != SNMP_PRIV_NONE && auth == SNMP_AUTH_NONE)
		return config__fail_at(ld, epath, "%s: privacy (%s) needs authentication too; "
				       "set auth (SNMPv3 has no privacy without it)", epath,
				       priv_name(priv));
	rc = check_password(ld, path, "auth", auth != SNMP_AUTH_NONE ? auth_name(auth) : NULL,
			    r->auth_password);
	if (rc < 0)
		return rc;
	rc = check_password(ld, path, "priv", priv != SNMP_PRIV_NONE ? priv_name(priv) : NULL,
			    r->priv_password);
	if (rc < 0)
		return rc;
	snprintf(epath, sizeof(epath), "%s.engine_id", path);
	rc = set_engine_id(ld, epath, r->engine_id, out->engine_id, &out->engine_id_len);
	if (rc < 0)
		return rc;
	out->auth = auth;
	out->priv = priv;
	if ((rc = config__dup_opt(r->name, &out->name)) < 0 ||
	    (rc = config__dup_opt(r->auth_password, &out->auth_password)) < 0 ||
	    (rc = config__dup_opt(r->priv_password, &out->priv_password)) < 0)
		return rc;
	return 0;
}

/* User names are unique: a trap names its user, and the receiver must
 * know which keys to check it with. */
static int check_user_names(struct config__load *ld, const struct config__raw_snmp *r)
{
	struct config__mark first;
	char path[64], fpath[64], text[CONFIG__SHOW_MAX];
	unsigned i, j;

	for (j = 1; j < r->n_users; j++) {
		for (i = 0; i < j; i++) {
			if (strcmp(r->users[i].name, r->users[j].name) != 0)
				continue;
			snprintf(path, sizeof(path), "snmp.users[%u].name", j);
			snprintf(fpath, sizeof(fpath), "snmp.users[%u]", i);
			config__find(&ld->doc, fpath, &first);
			return config__fail_at(ld, path, "%s: duplicate user '%s': already %s "
					       "(line %u)", path,
					       config__show(text, sizeof(text), r->users[j].name),
					       fpath, first.line);
		}
	}
	return 0;
}

static int apply_users(struct config__load *ld, struct ward_config *c,
		       const struct config__raw_snmp *r)
{
	struct snmp_user_conf *us = NULL;
	struct config__mark m;
	unsigned i, count = r->n_users;
	int rc = 0;

	if (!list_given(ld, "snmp.users", &m))
		return 0;
	if (count > 0) {
		us = calloc(count, sizeof(*us));
		if (us == NULL)
			return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		rc = take_user(ld, &r->users[i], i, &us[i]);
		if (rc < 0)
			goto out;
	}
	rc = check_user_names(ld, r);
	if (rc < 0)
		goto out;
	free_users(c->snmp.users, c->snmp.n_users);
	c->snmp.users = us;
	c->snmp.n_users = count;
	us = NULL;
out:
	free_users(us, count);
	return rc;
}

/* ---- the section --------------------------------------------------------- */

int config__snmp_apply(struct config__load *ld, struct ward_config *c,
		       const struct config__raw_snmp *r)
{
	int rc;

	if (r == NULL)
		return 0;
	if ((rc = config__set_bool(ld, "snmp.enabled", r->enabled, &c->snmp.enabled)) < 0 ||
	    (rc = config__set_bool(ld, "snmp.accept_any_community", r->accept_any_community,
				   &c->snmp.accept_any_community)) < 0 ||
	    (rc = config__set_bool(ld, "snmp.accept_any_user", r->accept_any_user,
				   &c->snmp.accept_any_user)) < 0 ||
	    (rc = config__set_bool(ld, "snmp.record_community", r->record_community,
				   &c->snmp.record_community)) < 0 ||
	    (rc = config__set_u32(ld, "snmp.udp_rcvbuf_bytes", r->udp_rcvbuf_bytes,
				  &c->snmp.udp_rcvbuf_bytes)) < 0 ||
	    (rc = config__set_str(ld, "snmp.oid_names", r->oid_names,
				  &c->snmp.oid_names, false)) < 0 ||
	    (rc = set_engine_id(ld, "snmp.engine_id", r->engine_id, c->snmp.engine_id,
				&c->snmp.engine_id_len)) < 0 ||
	    (rc = apply_listeners(ld, c, r)) < 0 ||
	    (rc = apply_communities(ld, c, r)) < 0 ||
	    (rc = apply_users(ld, c, r)) < 0)
		return rc;
	return 0;
}

static bool is_wildcard(const struct sockaddr_storage *a)
{
	const struct sockaddr_in *a4 = (const void *)a;
	const struct sockaddr_in6 *a6 = (const void *)a;

	if (a->ss_family == AF_INET)
		return a4->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr);
}

/* Two UDP sockets take the same port when their addresses are the same,
 * or one is the wildcard of the other's family: the kernel would then
 * refuse the second bind, or with SO_REUSEADDR split the datagrams
 * between the receivers by destination address. */
static bool same_udp_port(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (config__same_socket(a, b))
		return true;
	if (a->ss_family != b->ss_family || (!is_wildcard(a) && !is_wildcard(b)))
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port;
	return a6->sin6_port == b6->sin6_port;
}

/* "line 4" when the file gives `path`, "the default" when it does not. */
static const char *origin(struct config__load *ld, const char *path, char *dst, size_t dstlen)
{
	struct config__mark m;

	if (config__find(&ld->doc, path, &m) == NULL)
		snprintf(dst, dstlen, "the default");
	else
		snprintf(dst, dstlen, "line %u", m.line);
	return dst;
}

/* Blames the snmp listener when the file lists them, else the syslog
 * one: the defaults of the two sections never clash, so the file gave at
 * least one of the pair. */
static int udp_clash(struct config__load *ld, const struct ward_config *c, unsigned s,
		     unsigned y)
{
	struct config__mark m;
	char spath[64], ypath[80], where[32];
	const char *saddr = c->snmp.listeners[s], *yaddr = c->syslog.listeners[y].address;

	snprintf(spath, sizeof(spath), "snmp.listeners[%u]", s);
	snprintf(ypath, sizeof(ypath), "syslog.listeners[%u].address", y);
	if (list_given(ld, "snmp.listeners", &m))
		return config__fail_at(ld, spath, "%s: %s takes the UDP port of "
				       "syslog.listeners[%u] (udp %s, %s); SNMP and syslog "
				       "cannot share one", spath, saddr, y, yaddr,
				       origin(ld, ypath, where, sizeof(where)));
	return config__fail_at(ld, ypath, "syslog.listeners[%u]: udp %s takes the UDP port of "
			       "%s (%s, %s); SNMP and syslog cannot share one", y, yaddr,
			       spath, saddr, origin(ld, spath, where, sizeof(where)));
}

int config__snmp_check(struct config__load *ld, const struct ward_config *c)
{
	struct sockaddr_storage s, y;
	const char *why;
	unsigned i, j;

	/* A receiver that is off binds nothing. */
	if (!c->snmp.enabled || !c->syslog.enabled)
		return 0;
	for (i = 0; i < c->snmp.n_listeners; i++) {
		config__parse_address(c->snmp.listeners[i], &s, &why);   /* checked already */
		for (j = 0; j < c->syslog.n_listeners; j++) {
			if (c->syslog.listeners[j].proto != LISTEN_UDP)
				continue;
			config__parse_address(c->syslog.listeners[j].address, &y, &why);
			if (same_udp_port(&s, &y))
				return udp_clash(ld, c, i, j);
		}
	}
	return 0;
}
