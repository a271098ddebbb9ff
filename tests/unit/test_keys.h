/* The fixed P-256 key pairs of the sealer and budget unit tests: a device
 * key with scalar 1, 2, ..., 32 and an SOC key with 0x21, ..., 0x40. Test
 * fixtures only, never a real key. */
#ifndef WARD_TEST_KEYS_H
#define WARD_TEST_KEYS_H

#include <stdint.h>

#include "batch.h"

/* 0, or -1 when a key cannot be made. */
static inline int test_fixed_keys(struct batch_key **dev, struct batch_key **soc)
{
	uint8_t d[32];
	unsigned i;

	for (i = 0; i < 32; i++)
		d[i] = (uint8_t)(1 + i);
	if (batch_key_from_scalar(dev, d) != 0)
		return -1;
	for (i = 0; i < 32; i++)
		d[i] = (uint8_t)(0x21 + i);
	return batch_key_from_scalar(soc, d) != 0 ? -1 : 0;
}

#endif
