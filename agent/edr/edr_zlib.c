/* edr_zlib: see edr_zlib.h. */
#include <errno.h>
#include <stdint.h>

#include "edr_zlib.h"

int edr_inflate_step(z_stream *z, struct buf *out, size_t cap)
{
	size_t room, want = cap - out->len + 1;
	int zr;

	if (out->cap - out->len < 16384 && out->cap - out->len < want &&
	    buf_reserve(out, want < 16384 ? want : 16384) < 0)
		return -ENOMEM;
	room = out->cap - out->len;
	if (room > want)
		room = want;
	if (room > UINT32_MAX)
		room = UINT32_MAX;
	z->next_out = out->data + out->len;
	z->avail_out = (uInt)room;
	zr = inflate(z, Z_NO_FLUSH);
	out->len += room - z->avail_out;
	return zr;
}
