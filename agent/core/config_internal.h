/* config internals shared by config.c and config_locate.c. Not installed,
 * not for other modules.
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

#endif
