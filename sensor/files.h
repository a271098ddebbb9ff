/* files: files seen in HTTP bodies and mail (SMTP attachments, POP3
 * retrieved messages), as Zeek's files.log (base/frameworks/files/
 * main.zeek, Files::Info).
 *
 * An analyzer opens a file when a body or attachment starts, gives it the
 * bytes in order (already de-chunked, decompressed and base64-decoded by
 * the analyzer: the file's own bytes), tells it of gaps, and closes it.
 * The file sniffs its MIME type from its first bytes (magic numbers, as
 * libmagic's most common entries and Zeek's signatures), hashes it with
 * mbedtls (MD5, SHA-1, SHA-256) and, when closed, writes one "files"
 * record (P2) with the session's uid, id.* and community_id:
 *   ts, fuid, uid, id.*, source ("HTTP", "SMTP", "POP3"), depth,
 *   analyzers (["MD5","SHA1","SHA256"]), mime_type, filename, duration,
 *   local_orig, is_orig, seen_bytes, total_bytes (when declared),
 *   missing_bytes, overflow_bytes, timedout, md5, sha1, sha256.
 * Hashes are written only for a file seen whole (missing_bytes 0, not cut
 * by file_depth_bytes, overflow_bytes 0), as Zeek does. The fuid is 'F' +
 * base62, like a uid: 96 bits from a bijection of a per-thread counter
 * keyed by the connection's uid (one analyzer context belongs to one
 * thread), so fuids do not repeat, are as unpredictable as the uids, and
 * repeat in a replay with a fixed flow_config.uid_seed as the uids do.
 *
 * Memory: the file's state (hash contexts, the first bytes kept for
 * sniffing, the filename) is charged to the session (an_alloc); mbedtls's
 * generic MD API allocates its three contexts with its own calloc, about
 * 0.5 KiB, which is counted in the charge. Ownership: an_file_open copies
 * `filename` (at most 255 bytes) and `mime_hint` (63); the caller keeps
 * its strings. Every function taking an an_file accepts NULL and then
 * does nothing, so a caller whose an_file_open failed needs no checks.
 */
#ifndef WARD_SENSOR_FILES_H
#define WARD_SENSOR_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer.h"

struct an_file;

/* Opens a file of session `s`. `source` is "HTTP", "SMTP" or "POP3";
 * is_orig: sent by the originator; depth: Zeek's depth (the HTTP
 * transaction number, or the MIME part number); filename and mime_hint
 * (a declared Content-Type, used when sniffing finds nothing) may be NULL;
 * total_bytes is the declared length or UINT64_MAX when unknown. Returns
 * NULL (counted as weird "file_no_memory") when the context's memory cap
 * is reached: the caller goes on without the file. */
struct an_file *an_file_open(struct an_session *s, const char *source, bool is_orig,
			     uint32_t depth, const char *filename, const char *mime_hint,
			     uint64_t total_bytes, uint64_t ts_us);
/* The file's id ("F..."), for the parent record's fuid lists. */
const char *an_file_fuid(const struct an_file *f);
/* The sniffed (or hinted) MIME type so far; NULL while unknown. */
const char *an_file_mime(const struct an_file *f);
/* Appends `len` bytes of the file's content. */
void an_file_data(struct an_file *f, const uint8_t *d, size_t len);
/* `len` bytes of the file were not seen (missing_bytes grows; no hashes). */
void an_file_gap(struct an_file *f, uint64_t len);
/* `len` bytes of the file went by but were not analyzed (the analyzer
 * stopped decoding them, e.g. at a decompression cap): overflow_bytes
 * grows, and the file gets no hashes. len 0 only marks the file cut. */
void an_file_overflow(struct an_file *f, uint64_t len);
/* Closes the file at ts_us and writes its record; `timedout`: closed by
 * the flow's end before the body did. Frees f. */
void an_file_close(struct an_file *f, bool timedout, uint64_t ts_us);

/* The MIME type of content starting with d[len] (the first bytes of a
 * file; AN_FILE_SNIFF_BYTES are enough), from a table of magic numbers
 * (files_magic.c: PDF, ZIP, gzip, PNG, JPEG, GIF, BMP, TIFF, DICOM, PE,
 * ELF, RAR, 7z, OLE2, RTF, XML, HTML, JSON, then text/plain for printable
 * UTF-8, or `hint` for text when it is a text/ type). When nothing
 * matches, `hint` (a declared Content-Type, may be NULL) is returned;
 * NULL when there is neither. A static string, or `hint` itself. */
#define AN_FILE_SNIFF_BYTES 256
const char *an_file_sniff(const uint8_t *d, size_t len, const char *hint);

#endif
