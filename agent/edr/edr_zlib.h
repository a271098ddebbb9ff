/* edr_zlib: bounded inflation into a growing buffer, for HEC's gzip
 * bodies (RFC 1952) and Lumberjack's compressed frames (RFC 1950).
 */
#ifndef WARD_EDR_ZLIB_H
#define WARD_EDR_ZLIB_H

#include <stddef.h>
#include <zlib.h>

#include "buf.h"

/* Runs inflate() once on `z` (initialised by the caller, next_in set),
 * writing at the end of `out`, and appends what it produced to out->len.
 * It lets the output grow to one byte past `cap` bytes, so that a caller
 * comparing out->len with `cap` tells a stream that is too large, and
 * grows `out` by at most 16 KiB a call beyond what it has (the buffer
 * doubles, so a caller that reuses `out` pays O(log n) reallocations once).
 * Returns inflate()'s code (Z_OK, Z_STREAM_END, Z_BUF_ERROR, or an error
 * the caller maps), or -ENOMEM when `out` cannot grow. */
int edr_inflate_step(z_stream *z, struct buf *out, size_t cap);

#endif
