/* reasm_internal: the held block of reasm.c, for the fuzz target's and
 * unit test's structural checks. Nothing outside reasm.c changes it.
 */
#ifndef WARD_SENSOR_REASM_INTERNAL_H
#define WARD_SENSOR_REASM_INTERNAL_H

#include <stdint.h>

#include "reasm.h"

/* Held bytes, a copy. The list is linked forward from reasm_stream.held
 * to NULL; backward, the head's prev is the tail, so appending after the
 * last held byte (the usual case behind a hole) finds its place in O(1).
 * Blocks are sorted by seq, never overlap, and start after the stream's
 * `next`; each is charged sizeof(struct reasm_seg) + cap. */
struct reasm_seg {
	struct reasm_seg *next;
	struct reasm_seg *prev;
	uint32_t seq;                 /* of d[0] */
	uint32_t len;                 /* bytes in d */
	uint32_t cap;                 /* bytes allocated for d */
	uint32_t cut;                 /* bytes after d[len - 1] that the snap length cut */
	uint8_t d[];
};

#endif
