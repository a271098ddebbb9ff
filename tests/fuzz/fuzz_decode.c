/* libFuzzer target: the packet decoder and fragment reassembly (decode.c,
 * frag.c).
 *
 * Input: one byte that picks the link type, then records of
 *   length (2 bytes, big-endian) | control (1 byte) | `length` frame bytes
 * decoded in order by one decoder, so fragments of one datagram can meet.
 * The control byte's low nibble adds 64-byte units to the wire length (a
 * snap length cut), its high nibble advances capture time by seconds (the
 * reassembly timeout is 5 s and the memory cap 64 KiB, so both are hit).
 *
 * Beyond ASan/UBSan's checks it reads every payload byte handed out,
 * asserts that an unfragmented packet's payload lies inside its frame,
 * that captured bytes never exceed wire bytes, and that the counters add
 * up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[] = {
	DECODE_DLT_EN10MB, DECODE_DLT_LINUX_SLL, DECODE_DLT_LINUX_SLL2, DECODE_DLT_RAW,
	DECODE_DLT_RAW_FILE, DECODE_DLT_IPV4, DECODE_DLT_IPV6, DECODE_DLT_NULL,
	DECODE_DLT_LOOP,
};

static volatile uint8_t sink;

static void check(const struct pkt *p, const uint8_t *frame, uint32_t caplen)
{
	uint8_t x = 0;
	uint32_t i;

	if (p->ip_version != 4 && p->ip_version != 6)
		abort();
	if (p->payload_len > p->payload_wire_len)
		abort();
	if (p->tunnel > PKT_TUNNEL_ERSPAN3)
		abort();
	if (p->payload_len > 0 && p->payload == NULL)
		abort();
	if (!p->fragmented && p->payload_len > 0 &&
	    (p->payload < frame || p->payload + p->payload_len > frame + caplen))
		abort();
	for (i = 0; i < p->payload_len; i++)
		x ^= p->payload[i];
	sink = x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decode_config cfg = { .frag_mem_max = 64 << 10, .frag_timeout_ms = 5000 };
	uint64_t ts = 1700000000000000ull, ok = 0, held = 0, rejected = 0, frames = 0;
	const struct decode_stats *st;
	struct decoder *d;
	struct pkt p;
	int linktype, i;

	if (size < 1)
		return 0;
	if (decoder_create(&d, &cfg) != 0)
		abort();
	linktype = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
	data++;
	size--;
	while (size >= 3) {
		size_t len = (size_t)data[0] << 8 | data[1];
		uint8_t ctl = data[2];
		uint8_t *frame;
		int rc;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		/* A copy of exactly `len` bytes, so ASan sees reads past it. */
		frame = malloc(len ? len : 1);
		if (frame == NULL)
			abort();
		memcpy(frame, data, len);
		ts += (uint64_t)(ctl >> 4) * 1000000;
		rc = decoder_decode(d, linktype, frame, (uint32_t)len,
				    (uint32_t)len + (ctl & 0x0f) * 64u, ts, &p);
		frames++;
		switch (rc) {
		case DECODE_OK:
			ok++;
			check(&p, frame, (uint32_t)len);
			break;
		case DECODE_HELD:
			held++;
			break;
		case DECODE_REJECTED:
			rejected++;
			break;
		default:
			abort();
		}
		free(frame);
		data += len;
		size -= len;
	}
	st = decoder_stats(d);
	if (st->frames != frames || st->decoded != ok || st->reassembled > st->fragments)
		abort();
	/* Each rejected frame counted one reason; the reassembly reasons are
	 * also counted for other frames' datagrams, so they only bound. */
	{
		uint64_t sum = 0;

		for (i = 0; i < DECODE_R_MAX; i++)
			sum += st->rejects[i];
		if (sum < rejected)
			abort();
		if (held > st->fragments)
			abort();
	}
	decoder_destroy(d);
	return 0;
}
