/* config_locate: finding the file:line:col of a config error.
 *
 * libcyaml says what is wrong and along which path; libyaml's document API
 * knows where every node starts. This file holds the libyaml side (the
 * document, syntax errors, path walks) and the capture of cyaml's log.
 * Costs: the file is parsed twice (here and by cyaml) and a path walk is a
 * linear scan of each mapping on the way; config files are a few KiB and
 * are loaded at start and on reload, so neither matters.
 */
#include "config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mark_of(struct config__mark *m, const yaml_mark_t *ym)
{
	m->line = (unsigned)ym->line + 1;
	m->col = (unsigned)ym->column + 1;
}

static int doc_fail(struct config_error *err, unsigned line, unsigned col,
		    const char *msg)
{
	err->line = line;
	err->col = col;
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
	return -EINVAL;
}

/* Reader errors (bad UTF-8, control characters) carry a byte offset, not a
 * mark; count lines and characters up to it. */
static void offset_to_mark(const uint8_t *buf, size_t len, size_t off,
			   struct config__mark *m)
{
	size_t i;

	m->line = 1;
	m->col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			m->line++;
			m->col = 1;
		} else if ((buf[i] & 0xc0) != 0x80) {
			m->col++;   /* continuation bytes are part of one character */
		}
	}
}

static int parser_fail(const yaml_parser_t *p, const uint8_t *buf, size_t len,
		       struct config_error *err)
{
	struct config__mark m;
	char msg[sizeof(err->msg)];
	const char *problem = p->problem ? p->problem : "unknown problem";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return -ENOMEM;
	case YAML_READER_ERROR:
		offset_to_mark(buf, len, p->problem_offset, &m);
		snprintf(msg, sizeof(msg), "%s (the file must be UTF-8 text)", problem);
		return doc_fail(err, m.line, m.col, msg);
	default:
		mark_of(&m, &p->problem_mark);
		if (p->context != NULL)
			snprintf(msg, sizeof(msg), "YAML syntax error: %s (%s at line %u)",
				 problem, p->context, (unsigned)p->context_mark.line + 1);
		else
			snprintf(msg, sizeof(msg), "YAML syntax error: %s", problem);
		return doc_fail(err, m.line, m.col, msg);
	}
}

/* libcyaml cannot report these with a usable path, or mishandles them
 * (a sequence as a key is an internal error there; a NUL inside a quoted
 * string would silently cut a path short), so refuse them up front. Nodes
 * are numbered in the order they start, so the first hit is the first in
 * the file. */
static int check_nodes(struct config__doc *d, struct config_error *err)
{
	yaml_node_t *n;
	yaml_node_pair_t *pair;
	struct config__mark m;

	for (n = d->doc.nodes.start; n < d->doc.nodes.top; n++) {
		if (n->type == YAML_SCALAR_NODE &&
		    strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
			mark_of(&m, &n->start_mark);
			return doc_fail(err, m.line, m.col,
					"text contains a NUL character");
		}
		if (n->type != YAML_MAPPING_NODE)
			continue;
		for (pair = n->data.mapping.pairs.start;
		     pair < n->data.mapping.pairs.top; pair++) {
			yaml_node_t *k = yaml_document_get_node(&d->doc, pair->key);

			if (k == NULL || k->type == YAML_SCALAR_NODE)
				continue;
			mark_of(&m, &k->start_mark);
			return doc_fail(err, m.line, m.col,
					"a key must be a plain name, not a list or mapping");
		}
	}
	return 0;
}

int config__doc_load(struct config__doc *d, const uint8_t *buf, size_t len,
		     struct config_error *err)
{
	yaml_parser_t p;
	yaml_document_t extra;
	struct config__mark m;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, buf, len);
	if (!yaml_parser_load(&p, &d->doc)) {
		rc = parser_fail(&p, buf, len, err);
		goto out;
	}
	d->loaded = true;

	/* libcyaml silently ignores every document after the first; a second
	 * one in a config file is a mistake (two files pasted together). */
	if (!yaml_parser_load(&p, &extra)) {
		rc = parser_fail(&p, buf, len, err);
		goto out;
	}
	if (yaml_document_get_root_node(&extra) != NULL) {
		mark_of(&m, &extra.start_mark);
		yaml_document_delete(&extra);
		rc = doc_fail(err, m.line, m.col,
			      "a second YAML document starts here; a config file holds one");
		goto out;
	}
	yaml_document_delete(&extra);
	rc = check_nodes(d, err);
out:
	yaml_parser_delete(&p);
	return rc;
}

void config__doc_free(struct config__doc *d)
{
	if (d == NULL)
		return;
	if (d->loaded)
		yaml_document_delete(&d->doc);
	memset(d, 0, sizeof(*d));
}

bool config__doc_empty(const struct config__doc *d)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	yaml_node_t *root;
	size_t i;

	if (!d->loaded)
		return true;
	root = yaml_document_get_root_node((yaml_document_t *)&d->doc);
	if (root == NULL)
		return true;
	if (root->type != YAML_SCALAR_NODE ||
	    root->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp((const char *)root->data.scalar.value, nulls[i]) == 0)
			return true;
	return false;
}

const char *config__scalar(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

int config__path_next(const char **p, char *key, size_t keylen,
		      unsigned *index, bool *is_index)
{
	const char *s = *p;
	size_t n;

	if (*s == '\0')
		return 0;
	if (*s == '[') {
		unsigned long v = 0;

		s++;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (unsigned long)(*s++ - '0');
			if (v > 0xffffffUL)
				return -EINVAL;
		}
		if (*s++ != ']')
			return -EINVAL;
		*index = (unsigned)v;
		*is_index = true;
		*p = s;
		return 1;
	}
	if (*s == '.')
		s++;
	n = strcspn(s, ".[");
	if (n == 0 || n >= keylen)
		return -EINVAL;
	memcpy(key, s, n);
	key[n] = '\0';
	*is_index = false;
	*p = s + n;
	return 1;
}

static yaml_node_t *mapping_get(const struct config__doc *d, const yaml_node_t *map,
				const char *key, unsigned nth, bool want_key)
{
	yaml_document_t *doc = (yaml_document_t *)&d->doc;
	yaml_node_pair_t *pair;
	size_t klen = strlen(key);

	if (map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(doc, pair->key);

		if (k == NULL || k->type != YAML_SCALAR_NODE ||
		    k->data.scalar.length != klen ||
		    memcmp(k->data.scalar.value, key, klen) != 0)
			continue;
		if (nth-- > 0)
			continue;
		return want_key ? k : yaml_document_get_node(doc, pair->value);
	}
	return NULL;
}

yaml_node_t *config__find(const struct config__doc *d, const char *path,
			  struct config__mark *m)
{
	yaml_document_t *doc = (yaml_document_t *)&d->doc;
	yaml_node_t *n;
	char key[64];
	unsigned index;
	bool is_index;
	int rc;

	m->line = 0;
	m->col = 0;
	if (!d->loaded)
		return NULL;
	n = yaml_document_get_root_node(doc);
	if (n == NULL)
		return NULL;
	mark_of(m, &n->start_mark);
	while ((rc = config__path_next(&path, key, sizeof(key), &index, &is_index)) > 0) {
		if (is_index) {
			if (n->type != YAML_SEQUENCE_NODE ||
			    index >= (size_t)(n->data.sequence.items.top -
					      n->data.sequence.items.start))
				return NULL;
			n = yaml_document_get_node(doc, n->data.sequence.items.start[index]);
		} else {
			n = mapping_get(d, n, key, 0, false);
		}
		if (n == NULL)
			return NULL;
		mark_of(m, &n->start_mark);
	}
	return rc < 0 ? NULL : n;
}

yaml_node_t *config__find_key(const struct config__doc *d, const char *path,
			      const char *key, unsigned nth, struct config__mark *m)
{
	yaml_node_t *map, *k;

	map = config__find(d, path, m);
	if (map == NULL)
		return NULL;
	k = mapping_get(d, map, key, nth, true);
	if (k != NULL)
		mark_of(m, &k->start_mark);
	return k;
}

int config__find_alias(const uint8_t *buf, size_t len, struct config__mark *m)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = -ENOENT;
	bool done = false;

	if (!yaml_parser_initialize(&p))
		return -ENOENT;
	yaml_parser_set_input_string(&p, buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev))
			break;
		if (ev.type == YAML_ALIAS_EVENT) {
			mark_of(m, &ev.start_mark);
			rc = 0;
			done = true;
		}
		if (ev.type == YAML_STREAM_END_EVENT)
			done = true;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/* ---- libcyaml's log ------------------------------------------------------ */

static void add_frame(struct config__cylog *l, const char *s)
{
	static const char field[] = "mapping field '";
	static const char entry[] = "sequence entry '";
	const char *end;
	size_t n;

	if (l->n_frames == CONFIG__MAX_FRAMES) {
		l->frames_lost = true;
		return;
	}
	if (strncmp(s, field, sizeof(field) - 1) == 0) {
		s += sizeof(field) - 1;
		/* The name is followed by "' (line: ...)"; a schema key never
		 * holds a quote, so the last one ends it. */
		end = strrchr(s, '\'');
		n = end ? (size_t)(end - s) : strlen(s);
		if (n >= sizeof(l->frames[0].key)) {
			l->frames_lost = true;
			return;
		}
		memcpy(l->frames[l->n_frames].key, s, n);
		l->frames[l->n_frames].key[n] = '\0';
		l->frames[l->n_frames].kind = CONFIG__FRAME_KEY;
	} else if (strncmp(s, entry, sizeof(entry) - 1) == 0) {
		unsigned long v = strtoul(s + sizeof(entry) - 1, NULL, 10);

		/* cyaml counts entries from 1; paths count from 0. */
		l->frames[l->n_frames].index = v > 0 ? (unsigned)(v - 1) : 0;
		l->frames[l->n_frames].kind = CONFIG__FRAME_INDEX;
	} else if (strncmp(s, "mapping", 7) == 0) {
		l->frames[l->n_frames].kind = CONFIG__FRAME_MAPPING;
	} else {
		return;
	}
	l->n_frames++;
}

void config__cylog_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
	struct config__cylog *l = ctx;
	char line[512];
	const char *s = line;
	size_t n;

	if (level < CYAML_LOG_ERROR)
		return;
	vsnprintf(line, sizeof(line), fmt, args);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (strncmp(s, "  in ", 5) == 0) {
		add_frame(l, s + 5);
		return;
	}
	if (strncmp(s, "Load: ", 6) == 0)
		s += 6;
	if (strcmp(s, "Backtrace:") == 0 || l->msg[0] != '\0')
		return;
	/* A long message is cut; the fields it names come first. */
	n = strlen(s);
	if (n >= sizeof(l->msg))
		n = sizeof(l->msg) - 1;
	memcpy(l->msg, s, n);
	l->msg[n] = '\0';
}

int config__cylog_path(const struct config__cylog *l, char *dst, size_t dstlen)
{
	unsigned i;
	size_t used = 0;
	int n = 0;

	if (dstlen == 0)
		return -E2BIG;
	dst[0] = '\0';
	if (l->frames_lost)
		return -E2BIG;
	/* Frames come innermost first; a path reads outermost first. */
	for (i = l->n_frames; i > 0; i--) {
		const struct config__frame *f = &l->frames[i - 1];

		if (f->kind == CONFIG__FRAME_KEY)
			n = snprintf(dst + used, dstlen - used, "%s%s",
				     used ? "." : "", f->key);
		else if (f->kind == CONFIG__FRAME_INDEX)
			n = snprintf(dst + used, dstlen - used, "[%u]", f->index);
		else
			continue;
		if (n < 0 || (size_t)n >= dstlen - used) {
			dst[0] = '\0';
			return -E2BIG;
		}
		used += (size_t)n;
	}
	return 0;
}
