/* CRC-32C (Castagnoli), reflected polynomial 0x82F63B78.
 *
 * Two implementations compute the same function:
 *  - the SSE4.2 crc32 instruction, 8 bytes per step, chosen at run time
 *    when the CPU has it (every x86-64 server since 2008);
 *  - slicing-by-8: eight 256-entry tables so that each 8-byte step is eight
 *    independent lookups instead of 64 dependent shifts.
 *
 * Both work on the inverted register and invert on the way out, so that
 * crc32c(crc32c(0, a), b) == crc32c(0, a || b): callers may extend a CRC
 * over a frame written in pieces.
 */
#include "crc32c.h"
#include "spool_internal.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define CRC32C_HAVE_X86 1
#else
#define CRC32C_HAVE_X86 0
#endif

#define CRC32C_POLY 0x82F63B78u

static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_table_once = PTHREAD_ONCE_INIT;

static void crc32c_table_init(void)
{
	uint32_t c;
	unsigned i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc32c_table[0][i] = c;
	}
	/* Table k gives the CRC of byte i followed by k zero bytes, which is
	 * what lets one step fold eight bytes at once. */
	for (i = 0; i < 256; i++) {
		c = crc32c_table[0][i];
		for (k = 1; k < 8; k++) {
			c = (c >> 8) ^ crc32c_table[0][c & 0xff];
			crc32c_table[k][i] = c;
		}
	}
}

static inline uint64_t crc32c_load_le64(const uint8_t *p)
{
	/* Byte by byte so it is right on big-endian boards too; compilers
	 * turn this into one load on little-endian ones. */
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

uint32_t crc32c__sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = ~crc;
	uint64_t v;

	pthread_once(&crc32c_table_once, crc32c_table_init);
	while (len >= 8) {
		v = crc32c_load_le64(p) ^ c;
		c = crc32c_table[7][v & 0xff] ^
		    crc32c_table[6][(v >> 8) & 0xff] ^
		    crc32c_table[5][(v >> 16) & 0xff] ^
		    crc32c_table[4][(v >> 24) & 0xff] ^
		    crc32c_table[3][(v >> 32) & 0xff] ^
		    crc32c_table[2][(v >> 40) & 0xff] ^
		    crc32c_table[1][(v >> 48) & 0xff] ^
		    crc32c_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = (c >> 8) ^ crc32c_table[0][(c ^ *p++) & 0xff];
	return ~c;
}

#if CRC32C_HAVE_X86
__attribute__((target("sse4.2")))
static uint32_t crc32c_x86(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = ~crc;
	uint64_t v;

	/* Align so the 8-byte loads below never straddle a cache line. */
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
#if defined(__x86_64__)
	while (len >= 8) {
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
		p += 8;
		len -= 8;
	}
#else
	(void)v;
#endif
	while (len > 0) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	return ~(uint32_t)c;
}
#endif

int crc32c__hw_available(void)
{
#if CRC32C_HAVE_X86
	return __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
	return 0;
#endif
}

uint32_t crc32c__hw(uint32_t crc, const void *buf, size_t len)
{
#if CRC32C_HAVE_X86
	if (crc32c__hw_available())
		return crc32c_x86(crc, buf, len);
#endif
	return crc32c__sw(crc, buf, len);
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	/* __builtin_cpu_supports reads a word libgcc fills in before main,
	 * so checking on every call costs a load and a branch. */
	return crc32c__hw(crc, buf, len);
}
