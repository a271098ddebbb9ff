/* config: the run-time configuration, one YAML file (docs/config.md).
 *
 * A load runs in four steps:
 *   1. libyaml parses the bytes into a document (config_locate.c). This
 *      catches syntax errors with their position and tells an empty file
 *      (the defaults) from a real one.
 *   2. libcyaml loads the same bytes against the schema (config_sections.c)
 *      into a raw struct in which every value is a pointer, NULL when the
 *      file does not set it. A schema failure is turned into
 *      "file:line:col: ..." by walking cyaml's backtrace through the libyaml
 *      document.
 *   3. Each value that is set is checked (strict number and boolean text,
 *      ranges, names, addresses) and copied over the defaults; errors are
 *      placed by walking the value's path in the same document.
 *   4. Checks across values (duplicate listeners, budget against segment
 *      size) run on the merged result.
 * This file holds the steps and the helpers every section uses; what each
 * section holds and checks is in config_sections.c, config_snmp.c and
 * config_uplink.c.
 * The result owns all of its strings; the raw struct and the document are
 * freed before returning, on success and on every error.
 */
#include "config.h"
#include "config_internal.h"

#include "buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONFIG_FILE_MAX CONFIG_FILE_MAX_BYTES

/* ---- names and addresses ------------------------------------------------- */

bool config__name_char_ok(char ch, bool first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return !first && (ch == '.' || ch == '_' || ch == '-');
}

/* device_id and user travel in batch headers, file names and log lines, so
 * they are kept to a safe alphabet: letters, digits, '.', '_', '-', not
 * starting with a punctuation mark. */
static bool name_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!config__name_char_ok(s[i], i == 0))
			return false;
	return true;
}

/* Numeric addresses only: a config check must not depend on DNS, and a
 * listener binds an address. */
int config__parse_address(const char *addr, struct sockaddr_storage *ss, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	const char *h, *port, *close, *colon;
	unsigned long p = 0;
	size_t hlen, i;
	int family;

	memset(ss, 0, sizeof(*ss));
	if (addr == NULL || addr[0] == '\0') {
		*why = "is empty (expected host:port or [v6]:port)";
		return -EINVAL;
	}
	if (addr[0] == '[') {
		close = strchr(addr, ']');
		if (close == NULL) {
			*why = "has a '[' without ']' (expected [v6]:port)";
			return -EINVAL;
		}
		if (close[1] != ':') {
			*why = close[1] == '\0' ? "has no port (expected [v6]:port)" :
			       "has text after ']' that is not ':port' (expected [v6]:port)";
			return -EINVAL;
		}
		h = addr + 1;
		hlen = (size_t)(close - h);
		port = close + 2;
		family = AF_INET6;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL) {
			*why = "has no port (expected host:port or [v6]:port)";
			return -EINVAL;
		}
		if (memchr(addr, ':', (size_t)(colon - addr)) != NULL) {
			*why = "looks like IPv6 without brackets (expected [v6]:port)";
			return -EINVAL;
		}
		h = addr;
		hlen = (size_t)(colon - addr);
		port = colon + 1;
		family = AF_INET;
	}
	if (hlen == 0) {
		*why = "has no host (0.0.0.0 or [::] listens on every address)";
		return -EINVAL;
	}
	if (port[0] == '\0') {
		*why = "has no port (expected host:port or [v6]:port)";
		return -EINVAL;
	}
	for (i = 0; port[i] != '\0'; i++) {
		if (port[i] < '0' || port[i] > '9' || i >= 5) {
			*why = "has a port that is not a number from 1 to 65535";
			return -EINVAL;
		}
		p = p * 10 + (unsigned long)(port[i] - '0');
	}
	if (p == 0 || p > 65535) {
		*why = "has a port outside 1 to 65535";
		return -EINVAL;
	}
	*why = family == AF_INET ?
		"is not a numeric IPv4 address (host names are not looked up)" :
		"is not a numeric IPv6 address";
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			goto fail;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto fail;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
	}
	*why = NULL;
	return 0;
fail:
	memset(ss, 0, sizeof(*ss));
	return -EINVAL;
}

int config_parse_address(const char *addr, struct sockaddr_storage *ss)
{
	struct sockaddr_storage scratch;
	const char *why;

	return config__parse_address(addr, ss != NULL ? ss : &scratch, &why);
}

bool config__same_socket(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	       memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
}

/* ---- error reports ------------------------------------------------------- */

static int vfail(struct config__load *ld, const struct config__mark *m, const char *fmt,
		 va_list ap)
{
	ld->err->line = m->line;
	ld->err->col = m->col;
	vsnprintf(ld->err->msg, sizeof(ld->err->msg), fmt, ap);
	return -EINVAL;
}

int config__fail_mark(struct config__load *ld, const struct config__mark *m,
		      const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(ld, m, fmt, ap);
	va_end(ap);
	return rc;
}

int config__fail_at(struct config__load *ld, const char *path, const char *fmt, ...)
{
	struct config__mark m;
	va_list ap;
	int rc;

	config__find(&ld->doc, path, &m);
	va_start(ap, fmt);
	rc = vfail(ld, &m, fmt, ap);
	va_end(ap);
	return rc;
}

/* Long text is cut on a UTF-8 character boundary. */
const char *config__show(char *dst, size_t dstlen, const char *s)
{
	size_t i = 0, o = 0;

	if (s == NULL)
		s = "";
	while (s[i] != '\0' && o + 4 < dstlen) {
		unsigned char ch = (unsigned char)s[i++];

		dst[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	if (s[i] != '\0') {
		if (((unsigned char)s[i] & 0xc0) == 0x80) {
			while (o > 0 && ((unsigned char)dst[o - 1] & 0xc0) == 0x80)
				o--;
			if (o > 0)
				o--;
		}
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}

static const char *where_in(const char *path, char *dst, size_t dstlen)
{
	if (path[0] == '\0')
		snprintf(dst, dstlen, "at the top level");
	else
		snprintf(dst, dstlen, "in %s", path);
	return dst;
}

static const cyaml_schema_field_t *field_named(const cyaml_schema_field_t *f, const char *key)
{
	for (; f != NULL && f->key != NULL; f++)
		if (strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

/* The schema of the value at `path`, or NULL. */
static const cyaml_schema_value_t *schema_at(const char *path)
{
	const cyaml_schema_value_t *v = &config__top_schema;
	const cyaml_schema_field_t *f;
	char key[64];
	unsigned index;
	bool is_index;
	int rc;

	while ((rc = config__path_next(&path, key, sizeof(key), &index, &is_index)) > 0) {
		if (is_index) {
			if (v->type != CYAML_SEQUENCE)
				return NULL;
			v = v->sequence.entry;
			continue;
		}
		if (v->type != CYAML_MAPPING)
			return NULL;
		f = field_named(v->mapping.fields, key);
		if (f == NULL)
			return NULL;
		v = &f->value;
	}
	return rc < 0 ? NULL : v;
}

/* Appends ", name" (or the first name) to dst, which holds *used bytes
 * of dstlen. A name that would not leave room for ", ..." is replaced by
 * it, and false is returned: the list is cut there. */
static bool join_one(char *dst, size_t dstlen, size_t *used, const char *name, bool last)
{
	static const char more[] = ", ...";
	size_t need = (*used ? 2 : 0) + strlen(name) + (last ? 0 : sizeof(more) - 1);

	if (*used + need + 1 > dstlen) {
		if (*used + sizeof(more) <= dstlen) {
			memcpy(dst + *used, more, sizeof(more));
			*used += sizeof(more) - 1;
		}
		return false;
	}
	*used += (size_t)snprintf(dst + *used, dstlen - *used, "%s%s", *used ? ", " : "", name);
	return true;
}

/* "a, b, c" from a mapping's keys (only the required ones with `required`)
 * or an enum's names; cut with ", ..." when dst is too small. */
static const char *join_names(const cyaml_schema_value_t *v, bool required,
			      char *dst, size_t dstlen)
{
	size_t used = 0, i;

	dst[0] = '\0';
	if (v == NULL)
		return dst;
	if (v->type == CYAML_MAPPING) {
		const cyaml_schema_field_t *f;

		for (f = v->mapping.fields; f->key != NULL; f++) {
			if (required && (f->value.flags & CYAML_FLAG_OPTIONAL))
				continue;
			if (!join_one(dst, dstlen, &used, f->key, f[1].key == NULL))
				break;
		}
	} else if (v->type == CYAML_ENUM) {
		for (i = 0; i < v->enumeration.count; i++)
			if (!join_one(dst, dstlen, &used, v->enumeration.strings[i].str,
				      i + 1 == v->enumeration.count))
				break;
	}
	return dst;
}

static void range_str(const struct config__num_rule *r, char *dst, size_t dstlen)
{
	if (r == NULL)
		snprintf(dst, dstlen, "a whole number");
	else if (r->max == UINT64_MAX)
		snprintf(dst, dstlen, "a whole number, at least %llu", (unsigned long long)r->min);
	else
		snprintf(dst, dstlen, "a whole number from %llu to %llu",
			 (unsigned long long)r->min, (unsigned long long)r->max);
}

/* What a value of schema v looks like, for "expected ..." */
static void expect_str(const cyaml_schema_value_t *v, const char *path, char *dst, size_t dstlen)
{
	char names[128];

	switch (v != NULL ? v->type : CYAML__TYPE_COUNT) {
	case CYAML_UINT:
		range_str(config__num_rule_for(path), dst, dstlen);
		break;
	case CYAML_BOOL:
		snprintf(dst, dstlen, "true or false");
		break;
	case CYAML_ENUM:
		snprintf(dst, dstlen, "one of %s", join_names(v, false, names, sizeof(names)));
		break;
	case CYAML_STRING:
		snprintf(dst, dstlen, "a text value");
		break;
	case CYAML_MAPPING:
		snprintf(dst, dstlen, "a mapping of keys (key: value)");
		break;
	case CYAML_SEQUENCE:
		snprintf(dst, dstlen, "a list");
		break;
	default:
		snprintf(dst, dstlen, "something else");
		break;
	}
}

static unsigned edit_distance(const char *a, const char *b)
{
	unsigned row[CONFIG__NAME_MAX_LEN + 1], diag, up, i, j;
	size_t la = strlen(a), lb = strlen(b);

	if (la > CONFIG__NAME_MAX_LEN || lb > CONFIG__NAME_MAX_LEN)
		return UINT_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

/* A known key within two edits of a misspelt one, for "did you mean". */
static const char *closest_key(const cyaml_schema_value_t *v, const char *key)
{
	const cyaml_schema_field_t *f;
	const char *best = NULL;
	unsigned d, best_d = 3;

	if (v == NULL || v->type != CYAML_MAPPING)
		return NULL;
	for (f = v->mapping.fields; f->key != NULL; f++) {
		d = edit_distance(key, f->key);
		if (d < best_d && d < strlen(key)) {
			best_d = d;
			best = f->key;
		}
	}
	return best;
}

static const char *after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* How the node that cyaml stopped at looks, for "found ..." */
static const char *found_str(const yaml_node_t *n, const char *event, char *dst, size_t dstlen)
{
	char text[CONFIG__SHOW_MAX];
	const char *s = config__scalar(n);

	if (s != NULL && s[0] == '\0')
		snprintf(dst, dstlen, "an empty value");
	else if (s != NULL)
		snprintf(dst, dstlen, "'%s'", config__show(text, sizeof(text), s));
	else if (event != NULL && strstr(event, "SEQUENCE") != NULL)
		snprintf(dst, dstlen, "a list");
	else if (event != NULL && strstr(event, "MAPPING") != NULL)
		snprintf(dst, dstlen, "a mapping");
	else
		snprintf(dst, dstlen, "something else");
	return dst;
}

static int unknown_key(struct config__load *ld, const char *path, const char *key)
{
	const cyaml_schema_value_t *v = schema_at(path);
	const char *hint = closest_key(v, key);
	char names[sizeof(ld->err->msg)], text[CONFIG__SHOW_MAX], in[160];
	struct config__mark m;
	size_t fixed, room = 32;

	config__show(text, sizeof(text), key);
	where_in(path, in, sizeof(in));
	/* The list of keys gets what the message has left, so that a long
	 * one (uplink has 19 keys) never pushes out the "did you mean". */
	fixed = strlen("unknown key '' (expected: )") + strlen(text) + 1 + strlen(in) +
		(hint ? strlen("; did you mean ''?") + strlen(hint) : 0);
	if (fixed + room < sizeof(ld->err->msg))
		room = sizeof(ld->err->msg) - fixed;
	config__find_key(&ld->doc, path, key, 0, &m);
	return config__fail_mark(ld, &m, "unknown key '%s' %s (expected: %s)%s%s%s",
				 text, in, join_names(v, false, names, room),
				 hint ? "; did you mean '" : "", hint ? hint : "",
				 hint ? "'?" : "");
}

/* Cuts the last component off a path: "a.b[2]" -> "a.b" -> "a" -> "". */
static void cut_last(char *path)
{
	char *dot = strrchr(path, '.'), *bracket = strrchr(path, '[');
	char *cut = dot > bracket ? dot : bracket;

	if (cut == NULL)
		cut = path;
	*cut = '\0';
}

static void cut_last_key(char *path, const char *key)
{
	size_t n = strlen(path), k = strlen(key);

	if (n >= k && strcmp(path + n - k, key) == 0 &&
	    (n == k || path[n - k - 1] == '.'))
		path[n == k ? 0 : n - k - 1] = '\0';
}

/* Shortens path until it names a value of schema type `type`. */
static void trim_to(char *path, enum cyaml_type type)
{
	const cyaml_schema_value_t *v;

	while (path[0] != '\0' && ((v = schema_at(path)) == NULL || v->type != type))
		cut_last(path);
}

/* Turns a libcyaml failure into a positioned message. The message texts
 * matched here are libcyaml 1.3.1's; an unknown one still yields the path
 * and position with cyaml's own words. */
static int cyaml_fail(struct config__load *ld, cyaml_err_t e, const struct config__cylog *log)
{
	const char *msg = log->msg, *arg;
	char path[128], text[CONFIG__SHOW_MAX], exp[160], found[80], in[160];
	const cyaml_schema_value_t *v;
	struct config__mark m, first;
	yaml_node_t *n;

	if (e == CYAML_ERR_OOM)
		return -ENOMEM;
	if (e == CYAML_ERR_ALIAS) {
		if (config__find_alias(ld->buf, ld->len, &m) < 0)
			m.line = m.col = 0;
		return config__fail_mark(ld, &m, "aliases (*name) are not supported in the config; "
					 "write the value out");
	}
	if (config__cylog_path(log, path, sizeof(path)) < 0)
		path[0] = '\0';
	/* Some messages concern a container while cyaml's innermost frame is
	 * inside it: the duplicate key itself, the field it saw last before
	 * finding one missing, the entry it was at when the list grew too
	 * long. */
	if ((arg = after(msg, "Mapping field already seen: ")) != NULL)
		cut_last_key(path, arg);
	else if (after(msg, "Missing required mapping field: ") != NULL)
		trim_to(path, CYAML_MAPPING);
	else if (after(msg, "Excessive entries") != NULL)
		trim_to(path, CYAML_SEQUENCE);
	n = config__find(&ld->doc, path, &m);
	v = schema_at(path);

	if ((arg = after(msg, "Unexpected key: ")) != NULL)
		return unknown_key(ld, path, arg);
	if ((arg = after(msg, "Mapping field already seen: ")) != NULL) {
		config__find_key(&ld->doc, path, arg, 0, &first);
		config__find_key(&ld->doc, path, arg, 1, &m);
		return config__fail_mark(ld, &m, "'%s' is set twice %s (first at line %u)",
					 config__show(text, sizeof(text), arg),
					 where_in(path, in, sizeof(in)), first.line);
	}
	if ((arg = after(msg, "Missing required mapping field: ")) != NULL)
		return config__fail_mark(ld, &m, "%s: missing '%s' (required: %s)", path,
					 config__show(text, sizeof(text), arg),
					 join_names(v, true, exp, sizeof(exp)));
	if ((arg = after(msg, "Expecting ")) != NULL) {
		found_str(n, strstr(arg, "got event: "), found, sizeof(found));
		if (path[0] == '\0')
			return config__fail_mark(ld, &m, "the file must be a mapping with "
						 "the sections %s; found %s",
						 join_names(v, false, exp, sizeof(exp)), found);
		expect_str(v, path, exp, sizeof(exp));
		return config__fail_mark(ld, &m, "%s: expected %s, found %s", path, exp, found);
	}
	if (after(msg, "Invalid ENUM value") || after(msg, "Invalid UINT value") ||
	    after(msg, "Invalid uint64_t value") || after(msg, "Invalid INT value")) {
		expect_str(v, path, exp, sizeof(exp));
		arg = config__scalar(n);
		if (arg == NULL)   /* the value is also the message's tail */
			arg = strrchr(msg, ':') ? strrchr(msg, ':') + 2 : "";
		return config__fail_mark(ld, &m, "%s: '%s' is not %s", path,
					 config__show(text, sizeof(text), arg), exp);
	}
	if (after(msg, "STRING length > ") && v != NULL && v->type == CYAML_STRING)
		return config__fail_mark(ld, &m, "%s: longer than %u bytes", path, v->string.max);
	if (after(msg, "STRING length < "))
		return config__fail_mark(ld, &m, "%s: must not be empty", path);
	if (after(msg, "Excessive entries") && v != NULL && v->type == CYAML_SEQUENCE)
		return config__fail_mark(ld, &m, "%s: more than %u entries", path, v->sequence.max);
	return config__fail_mark(ld, &m, "%s%s%s", path, path[0] ? ": " : "",
				 msg[0] ? config__show(found, sizeof(found), msg) :
				 cyaml_strerror(e));
}

/* ---- values -------------------------------------------------------------- */

/* Plain decimal digits only. cyaml 1.3.1 reads "1e3" as 1, "1_000" as 1
 * and "010" as 8, so the text is checked here rather than trusted. */
static int parse_decimal(const char *s, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -EINVAL;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* Returns 1 with *val set when the file sets `path`, 0 when it does not,
 * or -EINVAL. */
static int take_num(struct config__load *ld, const char *path, const uint64_t *given, uint64_t *val)
{
	const struct config__num_rule *r = config__num_rule_for(path);
	struct config__mark m;
	char text[CONFIG__SHOW_MAX], exp[96];
	const char *s;

	if (given == NULL)
		return 0;
	s = config__scalar(config__find(&ld->doc, path, &m));
	if (s == NULL)
		*val = *given;
	else if (parse_decimal(s, val) < 0) {
		range_str(r, exp, sizeof(exp));
		return config__fail_mark(ld, &m, "%s: '%s' is not a plain decimal number "
					 "(expected %s)", path,
					 config__show(text, sizeof(text), s), exp);
	}
	if (r != NULL && *val < r->min)
		return config__fail_mark(ld, &m, "%s: %llu is below the minimum %llu", path,
					 (unsigned long long)*val, (unsigned long long)r->min);
	if (r != NULL && *val > r->max)
		return config__fail_mark(ld, &m, "%s: %llu is above the maximum %llu", path,
					 (unsigned long long)*val, (unsigned long long)r->max);
	return 1;
}

int config__set_u64(struct config__load *ld, const char *path, const uint64_t *given, uint64_t *dst)
{
	uint64_t v;
	int rc = take_num(ld, path, given, &v);

	if (rc > 0)
		*dst = v;
	return rc < 0 ? rc : 0;
}

int config__set_u32(struct config__load *ld, const char *path, const uint64_t *given, uint32_t *dst)
{
	uint64_t v;
	int rc = take_num(ld, path, given, &v);

	if (rc > 0)
		*dst = (uint32_t)v;   /* every 32-bit rule's max fits */
	return rc < 0 ? rc : 0;
}

/* cyaml 1.3.1 reads any text but a few false words as true ("maybe" is
 * true), so the words are checked here. */
int config__set_bool(struct config__load *ld, const char *path, const bool *given, bool *dst)
{
	static const char *const words[] = { "true", "false", "yes", "no", "on", "off" };
	struct config__mark m;
	char text[CONFIG__SHOW_MAX];
	const char *s;
	size_t i;

	if (given == NULL)
		return 0;
	s = config__scalar(config__find(&ld->doc, path, &m));
	for (i = 0; s != NULL && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			break;
	if (s != NULL && i == sizeof(words) / sizeof(words[0]))
		return config__fail_mark(ld, &m, "%s: '%s' is not true or false", path,
					 config__show(text, sizeof(text), s));
	*dst = *given;
	return 0;
}

int config__set_str(struct config__load *ld, const char *path, const char *given, char **dst,
		    bool is_name)
{
	char text[CONFIG__SHOW_MAX];
	char *s;

	if (given == NULL)
		return 0;
	if (is_name && !name_ok(given))
		return config__fail_at(ld, path, "%s: '%s' may hold only letters, digits, '.', '_' "
				       "and '-', starting with a letter or digit", path,
				       config__show(text, sizeof(text), given));
	s = strdup(given);
	if (s == NULL)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

int config__dup_opt(const char *s, char **dst)
{
	*dst = NULL;
	if (s == NULL)
		return 0;
	*dst = strdup(s);
	return *dst == NULL ? -ENOMEM : 0;
}

/* ---- the API ------------------------------------------------------------- */

static void error_reset(struct config_error *err, const char *name)
{
	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", name != NULL ? name : "config");
}

int config_load_buf(const char *name, const uint8_t *buf, size_t len,
		    struct ward_config **out, struct config_error *err)
{
	struct config_error scratch;
	struct config__cylog cylog;
	struct ward_config *c = NULL;
	cyaml_data_t *data = NULL;
	struct config__load ld;
	cyaml_err_t ce;
	int rc;
	const cyaml_config_t cy = {
		.log_fn = config__cylog_fn,
		.log_ctx = &cylog,
		.mem_fn = cyaml_mem,
		.log_level = CYAML_LOG_ERROR,
		/* Aliases are never needed in a config, and cyaml expands them
		 * by replaying events, so a few nested ones could make it do
		 * exponential work on a hostile file. */
		.flags = CYAML_CFG_NO_ALIAS,
	};

	if (err == NULL)
		err = &scratch;
	error_reset(err, name);
	memset(&ld, 0, sizeof(ld));
	memset(&cylog, 0, sizeof(cylog));
	ld.err = err;
	ld.buf = buf;
	ld.len = len;
	if (out == NULL || (buf == NULL && len > 0)) {
		rc = -EINVAL;
		snprintf(err->msg, sizeof(err->msg), "no input");
		goto out;
	}
	*out = NULL;
	if (len > CONFIG_FILE_MAX) {
		rc = -EFBIG;
		snprintf(err->msg, sizeof(err->msg), "larger than %d bytes", CONFIG_FILE_MAX);
		goto out;
	}
	c = config_defaults();
	if (c == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = config__doc_load(&ld.doc, len > 0 ? buf : (const uint8_t *)"", len, err);
	if (rc < 0 || config__doc_empty(&ld.doc))
		goto out;
	ce = cyaml_load_data(buf, len, &cy, &config__top_schema, &data, NULL);
	if (ce != CYAML_OK) {
		rc = cyaml_fail(&ld, ce, &cylog);
		goto out;
	}
	/* NULL data is a mapping that sets nothing, e.g. "{}". */
	if (data != NULL) {
		rc = config__apply(&ld, c, data);
		if (rc < 0)
			goto out;
	}
out:
	if (rc == 0) {
		*out = c;
		c = NULL;
	}
	/* cyaml 1.3.1 frees a partial load itself and leaves data NULL on
	 * failure; whatever it did return is released with cyaml_free, the
	 * only call that knows its layout. */
	if (data != NULL)
		cyaml_free(&cy, &config__top_schema, data, 0);
	config__doc_free(&ld.doc);
	config_free(c);
	if (rc == -ENOMEM && err->msg[0] == '\0')
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	return rc;
}

/* Reads the whole file, refusing more than CONFIG_FILE_MAX bytes. */
static int read_all(int fd, struct buf *b, struct config_error *err)
{
	ssize_t n;
	int rc;

	for (;;) {
		rc = buf_reserve(b, 4096);
		if (rc < 0)
			return rc;
		n = read(fd, b->data + b->len, b->cap - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err->msg, sizeof(err->msg), "cannot read: %s", strerror(-rc));
			return rc;
		}
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		if (b->len > CONFIG_FILE_MAX) {
			snprintf(err->msg, sizeof(err->msg), "larger than %d bytes", CONFIG_FILE_MAX);
			return -EFBIG;
		}
	}
}

int config_load(const char *path, struct ward_config **out, struct config_error *err)
{
	struct config_error scratch;
	struct buf b = BUF_INIT;
	int fd = -1, rc;

	if (err == NULL)
		err = &scratch;
	error_reset(err, path);
	if (out == NULL || path == NULL) {
		snprintf(err->msg, sizeof(err->msg), "no file name");
		return -EINVAL;
	}
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*out = config_defaults();
		rc = *out != NULL ? 0 : -ENOMEM;
		goto out;
	}
	if (fd < 0) {
		rc = -errno;
		snprintf(err->msg, sizeof(err->msg), "cannot open: %s", strerror(-rc));
		goto out;
	}
	rc = read_all(fd, &b, err);
	if (rc < 0)
		goto out;
	rc = config_load_buf(path, b.data, b.len, out, err);
out:
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	if (rc == -ENOMEM && err->msg[0] == '\0')
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	return rc;
}

const char *config_error_str(const struct config_error *err, char *dst, size_t dstlen)
{
	if (dst == NULL || dstlen == 0)
		return dst;
	if (err == NULL)
		snprintf(dst, dstlen, "no error");
	else if (err->line > 0)
		snprintf(dst, dstlen, "%s:%u:%u: %s", err->file, err->line, err->col, err->msg);
	else
		snprintf(dst, dstlen, "%s: %s", err->file, err->msg);
	return dst;
}
