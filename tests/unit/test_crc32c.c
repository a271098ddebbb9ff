/* CRC-32C: known vectors (the check value and RFC 3720 B.4), and the
 * hardware and software paths agreeing at every length and alignment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"
#include "spool_internal.h"

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static const crc_fn impls[] = { crc32c, crc32c__sw, crc32c__hw };

static void test_check_value(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		assert_int_equal(impls[i](0, "123456789", 9), 0xE3069283u);
		assert_int_equal(impls[i](0, "", 0), 0);
		assert_int_equal(impls[i](0, NULL, 0), 0);
	}
}

/* RFC 3720, appendix B.4: iSCSI's CRC32C examples. */
static void test_rfc3720_vectors(void **state)
{
	uint8_t buf[32];
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		memset(buf, 0, sizeof(buf));
		assert_int_equal(impls[i](0, buf, 32), 0x8A9136AAu);
		memset(buf, 0xff, sizeof(buf));
		assert_int_equal(impls[i](0, buf, 32), 0x62A8AB43u);
		for (k = 0; k < 32; k++)
			buf[k] = (uint8_t)k;
		assert_int_equal(impls[i](0, buf, 32), 0x46DD794Eu);
		for (k = 0; k < 32; k++)
			buf[k] = (uint8_t)(31 - k);
		assert_int_equal(impls[i](0, buf, 32), 0x113FDB5Cu);
	}
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* The SSE4.2 path aligns to 8 bytes first, so every start offset and
 * every tail length takes a different route through it. */
static void test_hw_matches_sw(void **state)
{
	static uint8_t buf[1100];
	size_t off, len;

	(void)state;
	fill(buf, sizeof(buf), 7);
	for (off = 0; off < 8; off++)
		for (len = 0; len <= 1024; len++)
			assert_int_equal(crc32c__hw(0, buf + off, len),
					 crc32c__sw(0, buf + off, len));
}

static void test_incremental(void **state)
{
	uint8_t buf[300];
	uint32_t whole;
	size_t cut, i;

	(void)state;
	fill(buf, sizeof(buf), 99);
	for (i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		whole = impls[i](0, buf, sizeof(buf));
		for (cut = 0; cut <= sizeof(buf); cut++)
			assert_int_equal(impls[i](impls[i](0, buf, cut), buf + cut,
						  sizeof(buf) - cut), whole);
	}
}

static void test_detects_single_bit_flips(void **state)
{
	uint8_t buf[64];
	uint32_t good;
	size_t bit;

	(void)state;
	fill(buf, sizeof(buf), 3);
	good = crc32c(0, buf, sizeof(buf));
	for (bit = 0; bit < sizeof(buf) * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_not_equal(crc32c(0, buf, sizeof(buf)), good);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_rfc3720_vectors),
		cmocka_unit_test(test_hw_matches_sw),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_detects_single_bit_flips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
