/* edr_record: see edr_record.h. */
#include "edr_record.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "jsonw.h"

const char *edr_input_name(enum edr_input in)
{
	switch (in) {
	case EDR_INPUT_LUMBERJACK: return "lumberjack";
	case EDR_INPUT_HEC: return "hec";
	case EDR_INPUT_HEC_RAW: return "hec_raw";
	}
	return "?";
}

static const char *auth_name(enum edr_auth a)
{
	switch (a) {
	case EDR_AUTH_NONE: return "none";
	case EDR_AUTH_TOKEN: return "token";
	case EDR_AUTH_CLIENT_CERT: return "client_cert";
	}
	return "?";
}

/* ---- time ------------------------------------------------------------------ */

static int digits(const char **p, int n, int *v)
{
	int x = 0;

	while (n-- > 0) {
		if (**p < '0' || **p > '9')
			return -EINVAL;
		x = x * 10 + (*(*p)++ - '0');
	}
	*v = x;
	return 0;
}

int edr_parse_time(const char *s, int64_t *us)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 1000000, t;
	const char *p = s;

	*us = 0;
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
	    digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
	    digits(&p, 2, &sec) < 0)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > time_days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 60)
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) < 0)
			return -EINVAL;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -EINVAL;
	}
	/* Sysmon's UtcTime has no zone: it is UTC by its name. */
	if (*p != '\0')
		return -EINVAL;
	t = time_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (sec > 59 ? 59 : sec);
	t -= sign * (oh * 3600 + om * 60);
	*us = t * 1000000 + frac;
	return 0;
}

/* ---- the parsed event ------------------------------------------------------------
 *
 * yajl calls back for each value; the parser keeps them as a flat array of
 * nodes in document order, each container's `end` the index after its last
 * descendant, so a lookup walks an object's members and skips their
 * subtrees. A string or number is kept as where its text is: in the
 * event's text when it needs no decoding (yajl then hands out a pointer
 * into it), else decoded into the parser's byte buffer; the few values the
 * record reads are made NUL-terminated C strings when first read. Values
 * deeper than DOC_DEPTH are checked by the parse but not kept: no field
 * the record reads is that deep (a HEC envelope's
 * event.message.winlog.event_data.Image is at depth 5). */

#define DOC_DEPTH 6
#define ECS_MAX 48
/* yajl's own allocations for one parse (its handle, lexer, state stack,
 * string decoding buffer: about 5 KiB for an event) come from this arena,
 * emptied at each parse; past it, from malloc. */
#define ARENA_BYTES (16 * 1024)

enum jtype { J_NULL = 0, J_FALSE, J_TRUE, J_NUM, J_STR, J_OBJ, J_ARR };

struct jnode {
	uint32_t end;            /* containers: index after the last descendant */
	uint32_t key, key_len;   /* member of an object: where its name is */
	uint32_t val, val_len;   /* J_STR, J_NUM: where the value is */
	uint8_t type;
	uint8_t has_key;
	uint8_t key_in_text;     /* key is an offset in the text, else in bytes */
	uint8_t val_in_text;     /* the same for val; in bytes it is NUL-terminated */
};

struct ecs_field {
	const char *path;        /* one of ours, dotted: "process.parent.pid" */
	const char *s;           /* NULL: an integer */
	size_t len;
	int64_t i;
};

struct edr_parser {
	struct jnode *n;
	size_t count, cap;
	const char *text;               /* the text being parsed ... */
	size_t text_len;                /* ... and its length */
	struct buf bytes;
	int dotted;                     /* some member name holds a '.' */
	uint32_t open[DOC_DEPTH + 1];   /* node of each open container */
	int depth;                      /* of the next value; 0 = the root */
	uint32_t key, key_len;          /* the pending member name */
	int has_key, key_in_text;
	int done;                       /* the root value is complete */
	int err;                        /* -ENOMEM during the parse */
	struct ecs_field ecs[ECS_MAX];
	int n_ecs;
	size_t arena_used;
	_Alignas(16) uint8_t arena[ARENA_BYTES];
};

/* ---- yajl's allocator: a bump arena ------------------------------------------ */

/* Each block has its size in the 16 bytes before it. */
struct block_head {
	size_t size;
	size_t pad;
};

static int in_arena(const struct edr_parser *p, const void *ptr)
{
	uintptr_t a = (uintptr_t)ptr, b = (uintptr_t)p->arena;

	return a >= b && a < b + ARENA_BYTES;
}

static void *arena_malloc(void *c, size_t n)
{
	struct edr_parser *p = c;
	size_t need = sizeof(struct block_head) + ((n + 15) & ~(size_t)15);
	struct block_head *h;

	if (n > ARENA_BYTES || need > ARENA_BYTES - p->arena_used)
		return malloc(n);
	h = (struct block_head *)(void *)(p->arena + p->arena_used);
	h->size = n;
	p->arena_used += need;
	return h + 1;
}

static void arena_free(void *c, void *ptr)
{
	if (!in_arena(c, ptr))
		free(ptr);
}

static void *arena_realloc(void *c, void *ptr, size_t n)
{
	struct edr_parser *p = c;
	void *q;
	size_t old;

	if (ptr == NULL)
		return arena_malloc(c, n);
	if (!in_arena(p, ptr))
		return realloc(ptr, n);
	old = ((struct block_head *)ptr - 1)->size;
	if (n <= old)
		return ptr;
	q = arena_malloc(c, n);
	if (q != NULL)
		memcpy(q, ptr, old);
	return q;
}

static struct edr_parser *ctx(void *c)
{
	return c;
}

static int save_bytes(struct edr_parser *p, const void *s, size_t len, uint32_t *off)
{
	if (len > UINT32_MAX - p->bytes.len - 1 || buf_reserve(&p->bytes, len + 1) < 0) {
		p->err = -ENOMEM;
		return -1;
	}
	*off = (uint32_t)p->bytes.len;
	memcpy(p->bytes.data + p->bytes.len, s, len);
	p->bytes.data[p->bytes.len + len] = '\0';
	p->bytes.len += len + 1;
	return 0;
}

/* Where s[0..len) is: an offset in the text when it lies there (*in_text
 * set), else a copy in bytes. 0 or -1 (out of memory). */
static int locate(struct edr_parser *p, const void *s, size_t len, uint32_t *off, uint8_t *in_text)
{
	uintptr_t a = (uintptr_t)s, t = (uintptr_t)p->text;

	if (a >= t && a - t <= p->text_len && len <= p->text_len - (a - t) && a - t <= UINT32_MAX) {
		*off = (uint32_t)(a - t);
		*in_text = 1;
		return 0;
	}
	*in_text = 0;
	return save_bytes(p, s, len, off);
}

static const char *at(const struct edr_parser *p, uint32_t off, int in_text)
{
	return in_text ? p->text + off : (const char *)p->bytes.data + off;
}

/* A value at the current depth: kept when shallow enough. Returns 0 to go
 * on, -1 to stop the parse (out of memory, or a second value after the
 * first: with yajl_allow_trailing_garbage set, yajl stops after one). */
static int add(struct edr_parser *p, enum jtype t, const void *s, size_t len)
{
	struct jnode *nd;
	int kept = p->depth <= DOC_DEPTH;

	if (kept) {
		if (p->count == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 128;
			struct jnode *n = realloc(p->n, cap * sizeof(*n));

			if (n == NULL) {
				p->err = -ENOMEM;
				return -1;
			}
			p->n = n;
			p->cap = cap;
		}
		nd = &p->n[p->count];
		memset(nd, 0, sizeof(*nd));
		nd->type = (uint8_t)t;
		nd->end = (uint32_t)p->count + 1;
		if (p->has_key) {
			nd->has_key = 1;
			nd->key = p->key;
			nd->key_len = p->key_len;
			nd->key_in_text = (uint8_t)p->key_in_text;
		}
		if ((t == J_STR || t == J_NUM) && locate(p, s, len, &nd->val, &nd->val_in_text) < 0)
			return -1;
		nd->val_len = (uint32_t)len;
		if (t == J_OBJ || t == J_ARR)
			p->open[p->depth] = (uint32_t)p->count;
		p->count++;
	}
	p->has_key = 0;
	if (t == J_OBJ || t == J_ARR)
		p->depth++;
	else if (p->depth == 0)
		p->done = 1;
	return 0;
}

static int on_null(void *c) { return add(ctx(c), J_NULL, NULL, 0) == 0; }
static int on_bool(void *c, int b) { return add(ctx(c), b ? J_TRUE : J_FALSE, NULL, 0) == 0; }
static int on_number(void *c, const char *s, size_t len)
{
	return add(ctx(c), J_NUM, s, len) == 0;
}
static int on_string(void *c, const unsigned char *s, size_t len)
{
	return add(ctx(c), J_STR, s, len) == 0;
}
static int on_start_map(void *c) { return add(ctx(c), J_OBJ, NULL, 0) == 0; }
static int on_start_array(void *c) { return add(ctx(c), J_ARR, NULL, 0) == 0; }

static int on_key(void *c, const unsigned char *s, size_t len)
{
	struct edr_parser *p = ctx(c);
	uint8_t in_text;

	if (p->depth > DOC_DEPTH)
		return 1;

	if (locate(p, s, len, &p->key, &in_text) < 0)
		return 0;
	/* Names are looked for with dots only in the event's own object (at
	 * depth 3 at most: a HEC envelope's event.message). */
	if (!p->dotted && p->depth <= 3 && memchr(s, '.', len) != NULL)
		p->dotted = 1;
	p->key_len = (uint32_t)len;
	p->key_in_text = in_text;
	p->has_key = 1;
	return 1;
}

static int on_end(void *c)
{
	struct edr_parser *p = ctx(c);

	p->depth--;
	if (p->depth <= DOC_DEPTH)
		p->n[p->open[p->depth]].end = (uint32_t)p->count;
	if (p->depth == 0)
		p->done = 1;
	return 1;
}

static const yajl_callbacks parse_cbs = {
	.yajl_null = on_null,
	.yajl_boolean = on_bool,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_key,
	.yajl_end_map = on_end,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end,
};

int edr_parser_create(struct edr_parser **out)
{
	struct edr_parser *p = calloc(1, sizeof(*p));

	*out = p;
	if (p == NULL)
		return -ENOMEM;
	buf_init(&p->bytes);
	return 0;
}

void edr_parser_destroy(struct edr_parser *p)
{
	if (p == NULL)
		return;
	free(p->n);
	buf_free(&p->bytes);
	free(p);
}

/* Parses one value from text. 0 with *used set, -EBADMSG, or -ENOMEM. */
static int parse(struct edr_parser *p, const char *text, size_t len, int prefix, size_t *used)
{
	yajl_alloc_funcs afuncs = { arena_malloc, arena_realloc, arena_free, p };
	yajl_handle h;
	yajl_status st;
	int rc = 0;

	p->count = 0;
	p->text = text;
	p->text_len = len;
	p->dotted = 0;
	p->depth = 0;
	p->has_key = 0;
	p->done = 0;
	p->err = 0;
	p->n_ecs = 0;
	buf_reset(&p->bytes);
	p->arena_used = 0;
	h = yajl_alloc(&parse_cbs, &afuncs, p);
	if (h == NULL)
		return -ENOMEM;
	/* The text's UTF-8 is checked below, more strictly than yajl does
	 * (no overlongs, no surrogates). */
	yajl_config(h, yajl_dont_validate_strings, 1);
	/* yajl stops after the value, and what follows is checked here: yajl
	 * 2.1 takes a value followed by an unterminated string ("1\"x") as
	 * whole, its lexer waiting for the string's end. */
	yajl_config(h, yajl_allow_trailing_garbage, 1);
	st = yajl_parse(h, (const unsigned char *)text, len);
	*used = yajl_get_bytes_consumed(h);
	/* A number at the end of the text is only known to be complete at
	 * the end. */
	if (st == yajl_status_ok && !p->done) {
		st = yajl_complete_parse(h);
		*used = len;
	}
	if (st == yajl_status_ok && !prefix && *used <= len) {
		size_t i;

		for (i = *used; i < len && strchr(" \t\r\n", text[i]) != NULL && text[i] != '\0'; i++)
			;
		if (i < len)
			st = yajl_status_error;
		*used = len;
	}
	yajl_free(h);
	if (p->err != 0)
		rc = p->err;
	else if (st != yajl_status_ok || !p->done || *used > len ||
		 jsonw_utf8_valid_len(text, *used) != *used)
		rc = -EBADMSG;
	/* Room for every value read later (cstr) to be copied out without
	 * moving the buffer: pointers into it are held until the record is
	 * written. */
	else if (buf_reserve(&p->bytes, *used + p->count + 1) < 0)
		rc = -ENOMEM;
	return rc;
}

static const struct jnode *root(struct edr_parser *p)
{
	return p->count > 0 ? &p->n[0] : NULL;
}

static int is_obj(const struct jnode *v)
{
	return v != NULL && v->type == J_OBJ;
}

static size_t obj_size(struct edr_parser *p, const struct jnode *o)
{
	size_t i, k = 0;

	for (i = (size_t)(o - p->n) + 1; i < o->end; i = p->n[i].end)
		k++;
	return k;
}

/* The member `key` (n bytes) of o; the last one when a name repeats, as a
 * parser that builds a map would keep it. */
static const struct jnode *get_n(struct edr_parser *p, const struct jnode *o,
				 const char *key, size_t n)
{
	const struct jnode *found = NULL;
	size_t i;

	if (!is_obj(o))
		return NULL;
	for (i = (size_t)(o - p->n) + 1; i < o->end; i = p->n[i].end) {
		const struct jnode *c = &p->n[i];
		const char *k;

		if (c->key_len != n)
			continue;
		k = at(p, c->key, c->key_in_text);
		/* The first byte tells most names apart without a call. */
		if (n == 0 || (k[0] == key[0] && memcmp(k, key, n) == 0))
			found = c;
	}
	return found;
}

static const struct jnode *get(struct edr_parser *p, const struct jnode *o,
			       const char *key)
{
	return get_n(p, o, key, strlen(key));
}

/* The value at a dotted path, also when a shipper flattened it:
 * {"host":{"name":x}} and {"host.name":x} both answer "host.name". */
static const struct jnode *get_path(struct edr_parser *p, const struct jnode *o,
				    const char *path)
{
	const struct jnode *v;
	const char *dot;

	while (is_obj(o)) {
		/* Flattened names are rare: looked for only when the event has
		 * a name with a dot in it. */
		if (p->dotted && (v = get(p, o, path)) != NULL)
			return v;
		if (!p->dotted && strchr(path, '.') == NULL)
			return get(p, o, path);
		dot = strchr(path, '.');
		if (dot == NULL)
			return NULL;
		o = get_n(p, o, path, (size_t)(dot - path));
		path = dot + 1;
	}
	return NULL;
}

/* The value of a string or number as a C string, copied out of the text
 * the first time (an embedded NUL, from "\u0000", ends it early). NULL
 * when out of memory. */
static const char *cstr(struct edr_parser *p, const struct jnode *v)
{
	struct jnode *m = &p->n[v - p->n];
	uint32_t off;

	if (m->val_in_text) {
		if (save_bytes(p, p->text + m->val, m->val_len, &off) < 0)
			return NULL;
		m->val = off;
		m->val_in_text = 0;
	}
	return (const char *)p->bytes.data + m->val;
}

static const char *str_of(struct edr_parser *p, const struct jnode *v)
{
	return v != NULL && v->type == J_STR && v->val_len > 0 ? cstr(p, v) : NULL;
}

static const char *get_str(struct edr_parser *p, const struct jnode *o, const char *path)
{
	return str_of(p, get_path(p, o, path));
}

/* An integer written as a JSON integer or as decimal or "0x" hex text
 * (4624's ProcessId is "0x1f4"). */
static int get_int(struct edr_parser *p, const struct jnode *o, const char *path,
		   int64_t *out)
{
	const struct jnode *v = get_path(p, o, path);
	const char *s;
	char *end;
	long long x;
	int base = 10;

	if (v == NULL || (v->type != J_NUM && v->type != J_STR) || (s = cstr(p, v)) == NULL)
		return -EINVAL;
	if (v->type == J_NUM) {
		/* Only an integer literal: no fraction, no exponent. */
		if (strpbrk(s, ".eE") != NULL)
			return -EINVAL;
	} else {
		if (*s == '\0' || *s == '-' || *s == ' ')
			return -EINVAL;
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
			base = 16;
	}
	errno = 0;
	x = strtoll(s, &end, base);
	if (errno != 0 || *end != '\0' || end == s)
		return -EINVAL;
	*out = x;
	return 0;
}

/* ---- the ECS fields ------------------------------------------------------------- */

/* ecs.<path> = the string s[0..len), or the integer i when s is NULL.
 * The code below sets each path once at most, so none is looked for. */
static void put_n(struct edr_parser *p, const char *path, const char *s, size_t len, int64_t i)
{
	struct ecs_field *f;

	if (p->n_ecs == ECS_MAX)
		return;
	f = &p->ecs[p->n_ecs++];
	f->path = path;
	f->s = s;
	f->len = len;
	f->i = i;
}

static void put_str(struct edr_parser *p, const char *path, const char *s)
{
	if (s != NULL)
		put_n(p, path, s, strlen(s), 0);
}

static void put_int(struct edr_parser *p, const char *path, const struct jnode *data,
		    const char *field)
{
	int64_t x;

	if (get_int(p, data, field, &x) == 0)
		put_n(p, path, NULL, 0, x);
}

/* The file name part of a Windows or POSIX path. */
static void put_basename(struct edr_parser *p, const char *path, const char *file)
{
	const char *b, *s;

	if (file == NULL)
		return;
	b = file;
	for (s = file; *s != '\0'; s++)
		if (*s == '\\' || *s == '/')
			b = s + 1;
	if (*b != '\0')
		put_str(p, path, b);
}

/* "DOMAIN\user" as Sysmon writes User. */
static void put_user(struct edr_parser *p, const char *user)
{
	const char *bs;

	if (user == NULL)
		return;
	bs = strchr(user, '\\');
	if (bs == NULL) {
		put_str(p, "user.name", user);
		return;
	}
	put_str(p, "user.name", bs + 1);
	put_n(p, "user.domain", user, (size_t)(bs - user), 0);
}

/* The process fields Sysmon events share (Image, ProcessId, ProcessGuid). */
static void sysmon_process(struct edr_parser *p, const struct jnode *d)
{
	const char *image = get_str(p, d, "Image");

	put_str(p, "process.executable", image);
	put_basename(p, "process.name", image);
	put_int(p, "process.pid", d, "ProcessId");
	put_str(p, "process.entity_id", get_str(p, d, "ProcessGuid"));
	put_user(p, get_str(p, d, "User"));
}

/* Sysmon's event schema (Microsoft Sysinternals, "Sysmon" events): 1
 * ProcessCreate, 3 NetworkConnect, 11 FileCreate, 22 DNSEvent. */
static void sysmon(struct edr_parser *p, int64_t id, const struct jnode *d)
{
	const char *parent, *target;

	sysmon_process(p, d);
	switch (id) {
	case 1:
		put_str(p, "event.category", "process");
		put_str(p, "event.type", "start");
		put_str(p, "process.command_line", get_str(p, d, "CommandLine"));
		put_str(p, "process.working_directory", get_str(p, d, "CurrentDirectory"));
		parent = get_str(p, d, "ParentImage");
		put_str(p, "process.parent.executable", parent);
		put_basename(p, "process.parent.name", parent);
		put_int(p, "process.parent.pid", d, "ParentProcessId");
		put_str(p, "process.parent.entity_id", get_str(p, d, "ParentProcessGuid"));
		put_str(p, "process.parent.command_line", get_str(p, d, "ParentCommandLine"));
		break;
	case 3:
		put_str(p, "event.category", "network");
		put_str(p, "network.transport", get_str(p, d, "Protocol"));
		put_str(p, "source.ip", get_str(p, d, "SourceIp"));
		put_int(p, "source.port", d, "SourcePort");
		put_str(p, "source.domain", get_str(p, d, "SourceHostname"));
		put_str(p, "destination.ip", get_str(p, d, "DestinationIp"));
		put_int(p, "destination.port", d, "DestinationPort");
		put_str(p, "destination.domain", get_str(p, d, "DestinationHostname"));
		break;
	case 11:
		target = get_str(p, d, "TargetFilename");
		put_str(p, "event.category", "file");
		put_str(p, "event.type", "creation");
		put_str(p, "file.path", target);
		put_basename(p, "file.name", target);
		break;
	case 22:
		put_str(p, "event.category", "network");
		put_str(p, "dns.question.name", get_str(p, d, "QueryName"));
		put_int(p, "dns.response_code_value", d, "QueryStatus");
		put_str(p, "dns.answers_text", get_str(p, d, "QueryResults"));
		break;
	}
}

/* Logon types of 4624/4625 as Microsoft documents them and Winlogbeat
 * names them in winlog.logon.type. */
static const char *logon_type_name(int64_t t)
{
	switch (t) {
	case 2: return "Interactive";
	case 3: return "Network";
	case 4: return "Batch";
	case 5: return "Service";
	case 7: return "Unlock";
	case 8: return "NetworkCleartext";
	case 9: return "NewCredentials";
	case 10: return "RemoteInteractive";
	case 11: return "CachedInteractive";
	}
	return NULL;
}

/* A value that is there and not "-", which stands for "none" in these
 * events. */
static const char *given(const char *s)
{
	return s != NULL && strcmp(s, "-") != 0 ? s : NULL;
}

/* Windows Security 4624 (an account was successfully logged on) and 4625
 * (an account failed to log on): the target account, the logon type, the
 * source address and the logon process. */
static void security_logon(struct edr_parser *p, int64_t id, const struct jnode *d)
{
	const char *proc = given(get_str(p, d, "ProcessName"));
	int64_t lt;

	put_str(p, "event.category", "authentication");
	put_str(p, "event.outcome", id == 4624 ? "success" : "failure");
	put_str(p, "user.name", get_str(p, d, "TargetUserName"));
	put_str(p, "user.domain", get_str(p, d, "TargetDomainName"));
	put_str(p, "user.id", get_str(p, d, "TargetUserSid"));
	if (get_int(p, d, "LogonType", &lt) == 0) {
		put_n(p, "winlog.logon.type_value", NULL, 0, lt);
		put_str(p, "winlog.logon.type", logon_type_name(lt));
	}
	put_str(p, "winlog.logon.id", get_str(p, d, "TargetLogonId"));
	put_str(p, "source.ip", given(get_str(p, d, "IpAddress")));
	put_int(p, "source.port", d, "IpPort");
	put_str(p, "source.domain", given(get_str(p, d, "WorkstationName")));
	put_str(p, "process.executable", proc);
	put_basename(p, "process.name", proc);
	put_int(p, "process.pid", d, "ProcessId");
	if (id == 4625) {
		put_str(p, "winlog.logon.failure.status", get_str(p, d, "Status"));
		put_str(p, "winlog.logon.failure.sub_status", get_str(p, d, "SubStatus"));
		put_str(p, "winlog.logon.failure.reason", get_str(p, d, "FailureReason"));
	}
}

/* A Windows event in either shape: its id, provider and data object. */
static int windows_event(struct edr_parser *p, const struct jnode *ev, int64_t *id,
			 const char **provider, const struct jnode **data)
{
	const struct jnode *winlog = get(p, ev, "winlog"), *ed;

	if (is_obj(winlog)) {
		if (get_int(p, winlog, "event_id", id) < 0)
			return -ENOENT;
		*provider = get_str(p, winlog, "provider_name");
		*data = get(p, winlog, "event_data");
		if (*provider == NULL)
			*provider = get_str(p, winlog, "channel");
		return is_obj(*data) ? 0 : -ENOENT;
	}
	if (get_int(p, ev, "EventID", id) < 0)
		return -ENOENT;
	*provider = get_str(p, ev, "ProviderName");
	if (*provider == NULL)
		*provider = get_str(p, ev, "SourceName");
	if (*provider == NULL)
		*provider = get_str(p, ev, "Channel");
	ed = get(p, ev, "EventData");
	*data = is_obj(ed) ? ed : ev;
	return 0;
}

/* event.code as text: the id is one of the few below, so it fits. */
static const char *id_text(int64_t id)
{
	switch (id) {
	case 1: return "1";
	case 3: return "3";
	case 11: return "11";
	case 22: return "22";
	case 4624: return "4624";
	case 4625: return "4625";
	}
	return NULL;
}

static void normalise(struct edr_parser *p, const struct jnode *ev)
{
	const struct jnode *data = NULL;
	const char *provider = NULL;
	int64_t id;

	if (!is_obj(ev) || windows_event(p, ev, &id, &provider, &data) < 0 || provider == NULL)
		return;
	if (strstr(provider, "Sysmon") != NULL && (id == 1 || id == 3 || id == 11 || id == 22)) {
		put_str(p, "event.code", id_text(id));
		put_str(p, "event.provider", "Microsoft-Windows-Sysmon");
		sysmon(p, id, data);
	} else if ((strcmp(provider, "Microsoft-Windows-Security-Auditing") == 0 ||
		    strcmp(provider, "Security") == 0) && (id == 4624 || id == 4625)) {
		put_str(p, "event.code", id_text(id));
		put_str(p, "event.provider", "Microsoft-Windows-Security-Auditing");
		security_logon(p, id, data);
	}
}

/* Writes the ECS fields whose path starts with prefix (plen bytes), as
 * nested objects: the fields of one object are written together, in the
 * order the first of them was set. */
static void write_ecs(struct jsonw *w, struct edr_parser *p, const char *prefix,
		      size_t plen, uint64_t *done)
{
	int k;

	for (k = 0; k < p->n_ecs; k++) {
		const struct ecs_field *f = &p->ecs[k];
		const char *rest, *dot;

		if ((*done >> k & 1) ||
		    (plen > 0 && (f->path[0] != prefix[0] || strncmp(f->path, prefix, plen) != 0)))
			continue;
		rest = f->path + plen;
		dot = strchr(rest, '.');
		if (dot == NULL) {
			*done |= 1ULL << k;
			jsonw_key_ascii(w, rest, strlen(rest));
			if (f->s != NULL)
				jsonw_string(w, f->s, f->len);
			else
				jsonw_int(w, f->i);
			continue;
		}
		jsonw_key_ascii(w, rest, (size_t)(dot - rest));
		jsonw_object_open(w);
		write_ecs(w, p, f->path, (size_t)(dot - f->path) + 1, done);
		jsonw_object_close(w);
	}
}

/* ---- the record ----------------------------------------------------------------- */

/* A number at least 0 and before year 10000, as HEC's "time" must be. */
static int epoch_s(const char *s, int64_t *us)
{
	char *end;
	double x = strtod(s, &end);

	if (end == s || *end != '\0' || !(x > 0 && x < 253402300800.0))
		return -EINVAL;
	*us = (int64_t)(x * 1e6);
	return 0;
}

/* The event's own time: the HEC envelope's "time" (epoch seconds, a
 * number or decimal text), Beats' "@timestamp", or Sysmon's UtcTime. */
static int event_time(struct edr_parser *p, const struct edr_meta *m,
		      const struct jnode *env, const struct jnode *ev, int64_t *us)
{
	const struct jnode *t = m->input == EDR_INPUT_HEC ? get(p, env, "time") : NULL;
	const char *s;

	if (t != NULL && (t->type == J_NUM || t->type == J_STR) && (s = cstr(p, t)) != NULL &&
	    epoch_s(s, us) == 0)
		return 0;
	if ((s = get_str(p, ev, "@timestamp")) != NULL && edr_parse_time(s, us) == 0)
		return 0;
	if ((s = get_str(p, get_path(p, ev, "winlog.event_data"), "UtcTime")) != NULL &&
	    edr_parse_time(s, us) == 0)
		return 0;
	if ((s = get_str(p, ev, "UtcTime")) != NULL && edr_parse_time(s, us) == 0)
		return 0;
	return -ENOENT;
}

static const char *host_name(struct edr_parser *p, const struct edr_meta *m,
			     const struct jnode *env, const struct jnode *ev)
{
	static const char *const paths[] = { "host.name", "agent.hostname", "winlog.computer_name",
					     "Hostname", "Computer" };
	const char *s;
	size_t i;

	if (m->input == EDR_INPUT_HEC && (s = get_str(p, env, "host")) != NULL)
		return s;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if ((s = get_str(p, ev, paths[i])) != NULL)
			return s;
	return NULL;
}

/* The record's members before "original". p holds the parsed event, or
 * is NULL for a line of text. */
static void write_head(struct jsonw *w, struct edr_parser *p, const struct edr_meta *m)
{
	const struct jnode *env = NULL, *ev = NULL, *msg;
	const char *host = m->input == EDR_INPUT_HEC_RAW ? m->host : NULL;
	uint64_t done = 0;
	int64_t t;

	if (p != NULL) {
		env = ev = root(p);
		/* The event proper: a HEC envelope carries it in "event". */
		if (m->input == EDR_INPUT_HEC && get(p, env, "event") != NULL)
			ev = get(p, env, "event");
		/* Logging libraries (splunk-logging's default formatter) wrap
		 * the payload once more: {"message": {...}, "severity": "info"}. */
		msg = get(p, ev, "message");
		if (is_obj(msg) && (obj_size(p, ev) == 1 ||
				    (obj_size(p, ev) == 2 && get(p, ev, "severity") != NULL)))
			ev = msg;
		if (m->input != EDR_INPUT_HEC_RAW)
			host = host_name(p, m, env, ev);
	}
	jsonw_object_open(w);
	jsonw_kv_ascii(w, "type", "edr");
	jsonw_kv_time_us(w, "ts", m->recv_us);
	if (m->peer != NULL)
		jsonw_kv_cstr(w, "peer", m->peer);
	jsonw_kv_ascii(w, "input", edr_input_name(m->input));
	jsonw_key(w, "auth");
	jsonw_object_open(w);
	jsonw_kv_ascii(w, "method", auth_name(m->auth));
	if (m->group != NULL)
		jsonw_kv_cstr(w, "group", m->group);
	if (m->cn != NULL)
		jsonw_kv_cstr(w, "cn", m->cn);
	jsonw_object_close(w);
	if (p != NULL && event_time(p, m, env, ev, &t) == 0)
		jsonw_kv_time_us(w, "event_time", t);
	if (host != NULL)
		jsonw_kv_cstr(w, "host_name", host);
	if (m->input == EDR_INPUT_HEC_RAW) {
		if (m->source != NULL)
			jsonw_kv_cstr(w, "source", m->source);
		if (m->sourcetype != NULL)
			jsonw_kv_cstr(w, "sourcetype", m->sourcetype);
	}
	if (p != NULL) {
		normalise(p, ev);
		put_str(p, "host.name", host);
		if (p->n_ecs > 0) {
			jsonw_key(w, "ecs");
			jsonw_object_open(w);
			write_ecs(w, p, "", 0, &done);
			jsonw_object_close(w);
		}
	} else if (host != NULL) {
		jsonw_key(w, "ecs");
		jsonw_object_open(w);
		jsonw_key(w, "host");
		jsonw_object_open(w);
		jsonw_kv_cstr(w, "name", host);
		jsonw_object_close(w);
		jsonw_object_close(w);
	}
	jsonw_key(w, "original");
}

/* Splunk's JSON event protocol: "event" is required and not blank. A
 * member named twice makes the envelope ambiguous (which "event"?): it is
 * refused. Duplicates deeper in the event are kept as sent, in the
 * original. */
static int check_envelope(struct edr_parser *p)
{
	const struct jnode *env = root(p), *ev;
	size_t i, k;

	if (!is_obj(env))
		return -EBADMSG;
	for (i = 1; i < env->end; i = p->n[i].end)
		for (k = 1; k < i; k = p->n[k].end)
			if (p->n[i].key_len == p->n[k].key_len &&
			    memcmp(at(p, p->n[i].key, p->n[i].key_in_text),
				   at(p, p->n[k].key, p->n[k].key_in_text), p->n[i].key_len) == 0)
				return -EBADMSG;
	ev = get(p, env, "event");
	if (ev == NULL)
		return -ENOENT;
	if (ev->type == J_NULL || (ev->type == J_STR && ev->val_len == 0))
		return -ENODATA;
	return 0;
}

int edr_record_encode_json(struct edr_parser *p, const struct edr_meta *m, const char *text,
			   size_t len, unsigned flags, size_t *used, struct buf *out)
{
	size_t start = out->len, n = 0;
	struct jsonw w;
	uint8_t *d;
	int rc;

	rc = parse(p, text, len, (flags & EDR_TEXT_PREFIX) != 0, &n);
	if (used != NULL)
		*used = n;
	if (rc == 0 && (flags & EDR_TEXT_ENVELOPE))
		rc = check_envelope(p);
	if (rc < 0)
		return rc;
	jsonw_init(&w, out);
	write_head(&w, p, m);
	rc = jsonw_finish(&w) == -ENOMEM ? -ENOMEM : 0;
	if (rc == 0 && buf_reserve(out, n + 1) < 0)
		rc = -ENOMEM;
	if (rc < 0) {
		out->len = start;
		return rc;
	}
	/* The original as sent. Raw CR and LF can only be white space in
	 * well-formed JSON (a string holds them escaped): as spaces they keep
	 * the record on one NDJSON line and mean the same. */
	d = out->data + out->len;
	memcpy(d, text, n);
	for (uint8_t *q = d; (q = memchr(q, '\n', (size_t)(d + n - q))) != NULL;)
		*q++ = ' ';
	for (uint8_t *q = d; (q = memchr(q, '\r', (size_t)(d + n - q))) != NULL;)
		*q++ = ' ';
	d[n] = '}';
	out->len += n + 1;
	return 0;
}

int edr_record_encode_string(const struct edr_meta *m, const char *s, size_t len,
			     struct buf *out)
{
	size_t start = out->len;
	struct jsonw w;
	int rc;

	/* No event to read: the record's head from the metadata alone. */
	jsonw_init(&w, out);
	write_head(&w, NULL, m);
	jsonw_string(&w, s, len);
	jsonw_object_close(&w);
	rc = jsonw_finish(&w);
	if (rc < 0)
		out->len = start;
	return rc < 0 ? -ENOMEM : 0;
}

/* ---- from jansson values ------------------------------------------------------- */

static int encode_to(const struct edr_meta *m, json_t *event, const char *raw, size_t raw_len,
		     struct buf *out)
{
	struct edr_parser *p = NULL;
	char *text = NULL;
	int rc;

	if (m->input == EDR_INPUT_HEC_RAW && json_is_string(event))
		return edr_record_encode_string(m, json_string_value(event),
						json_string_length(event), out);
	rc = edr_parser_create(&p);
	if (rc < 0)
		return rc;
	if (raw != NULL)
		rc = edr_record_encode_json(p, m, raw, raw_len, 0, NULL, out);
	/* jansson's text of the value always parses; a text that jansson
	 * took may not (a NUL escaped in a string, say): printed again, it
	 * does. */
	if (raw == NULL || rc == -EBADMSG) {
		text = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
		rc = text == NULL ? -ENOMEM :
		     edr_record_encode_json(p, m, text, strlen(text), 0, NULL, out);
	}
	free(text);
	edr_parser_destroy(p);
	return rc == -ENOMEM ? -ENOMEM : rc < 0 ? -EINVAL : 0;
}

static int encode_str(const struct edr_meta *m, json_t *event, const char *raw, size_t raw_len,
		      char **out, size_t *len)
{
	struct buf b = BUF_INIT;
	int rc;

	*out = NULL;
	*len = 0;
	rc = encode_to(m, event, raw, raw_len, &b);
	if (rc == 0)
		rc = buf_append_byte(&b, '\0');
	if (rc < 0) {
		buf_free(&b);
		return rc == -ENOMEM ? -ENOMEM : rc;
	}
	*out = (char *)b.data;
	*len = b.len - 1;
	return 0;
}

int edr_record_encode_text(const struct edr_meta *m, json_t *event, const char *raw,
			   size_t raw_len, char **out, size_t *len)
{
	return encode_str(m, event, raw, raw_len, out, len);
}

int edr_record_encode(const struct edr_meta *m, json_t *event, char **out, size_t *len)
{
	return encode_str(m, event, NULL, 0, out, len);
}

json_t *edr_record_build(const struct edr_meta *m, json_t *event)
{
	json_error_t e;
	json_t *rec;
	char *text;
	size_t len;

	if (edr_record_encode(m, event, &text, &len) < 0)
		return NULL;
	rec = json_loadb(text, len, JSON_ALLOW_NUL, &e);
	free(text);
	return rec;
}
