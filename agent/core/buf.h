/* buf: a growable byte buffer.
 *
 * The caller owns the struct (usually on the stack or inside another
 * struct); the buffer owns its heap storage. Appends never exit the
 * process: on allocation failure they return -ENOMEM and leave the
 * contents as they were.
 */
#ifndef WARD_BUF_H
#define WARD_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;     /* bytes in use */
	size_t cap;     /* bytes allocated */
};

#define BUF_INIT { NULL, 0, 0 }

void buf_init(struct buf *b);
/* Frees the storage; the struct may be reused after buf_init. NULL-safe. */
void buf_free(struct buf *b);
/* Ensures room for `extra` more bytes. 0 or -ENOMEM. */
int buf_reserve(struct buf *b, size_t extra);
/* Appends `len` bytes. 0 or -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_append_byte(struct buf *b, uint8_t c);
/* printf-style append. 0, -ENOMEM, or -EINVAL on a bad format. */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Drops the first `n` bytes (memmove; O(len - n)). */
void buf_consume(struct buf *b, size_t n);
static inline void buf_reset(struct buf *b) { b->len = 0; }

#endif
