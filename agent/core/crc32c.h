/* CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), as used by
 * iSCSI (RFC 3720 B.4) and ext4. Frames every spool record.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at
 * run time), else a slicing-by-8 table.
 */
#ifndef WARD_CRC32C_H
#define WARD_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends `crc` (0 to start) over `len` bytes. crc32c(0, "123456789", 9)
 * is 0xE3069283. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
