/* files_magic: a file's MIME type from its first bytes (files.h,
 * an_file_sniff).
 *
 * The table holds the magic numbers of the types a hospital network
 * carries most (documents, archives, images, DICOM, executables), with
 * the names libmagic and Zeek's file signatures give them. It is checked
 * in order, so longer and more specific magics come before short ones
 * ("BM" and "MZ" are two bytes and would match much text). Text formats
 * (XML, HTML, JSON) are recognised after leading white space, then any
 * printable UTF-8 is text/plain.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "files.h"
#include "jsonw.h"

struct magic {
	uint16_t off;            /* bytes from the file's start */
	uint8_t len;
	const char *bytes;
	const char *mime;
};

static const struct magic magics[] = {
	{ 0, 5, "%PDF-", "application/pdf" },
	{ 0, 4, "PK\x03\x04", "application/zip" },  /* also OOXML, ODF, JAR */
	{ 0, 4, "PK\x05\x06", "application/zip" },  /* empty archive */
	{ 0, 4, "PK\x07\x08", "application/zip" },  /* spanned archive */
	{ 0, 2, "\x1f\x8b", "application/x-gzip" },
	{ 0, 8, "\x89PNG\r\n\x1a\n", "image/png" },
	{ 0, 3, "\xff\xd8\xff", "image/jpeg" },
	{ 0, 6, "GIF87a", "image/gif" },
	{ 0, 6, "GIF89a", "image/gif" },
	{ 0, 4, "II*\x00", "image/tiff" },
	{ 0, 4, "MM\x00*", "image/tiff" },
	/* DICOM Part 10: a 128-byte preamble, then "DICM". */
	{ 128, 4, "DICM", "application/dicom" },
	{ 0, 4, "\x7f" "ELF", "application/x-executable" },
	{ 0, 6, "Rar!\x1a\x07", "application/x-rar" },
	{ 0, 6, "7z\xbc\xaf\x27\x1c", "application/x-7z-compressed" },
	{ 0, 8, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage" },
	{ 0, 5, "{\\rtf", "text/rtf" },
	{ 0, 5, "<?xml", "application/xml" },
	{ 0, 2, "MZ", "application/x-dosexec" },
};

/* BMP's "BM" is short: its file header also has two reserved 16-bit
 * fields, zero, at offset 6. */
static bool is_bmp(const uint8_t *d, size_t len)
{
	return len >= 14 && d[0] == 'B' && d[1] == 'M' && (d[6] | d[7] | d[8] | d[9]) == 0;
}

/* HTML starts (after white space), compared without case. */
static const char *const html_starts[] = {
	"<!doctype html", "<html", "<head", "<body", "<title", "<script", "<!--", "<div", "<p>",
	"<meta", "<h1",
};

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

static bool has_prefix_nocase(const uint8_t *d, size_t len, const char *p)
{
	size_t n = strlen(p), i;

	if (len < n)
		return false;
	for (i = 0; i < n; i++) {
		uint8_t c = d[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)p[i])
			return false;
	}
	return true;
}

/* Printable UTF-8: no control bytes but white space, and well-formed but
 * for a sequence cut by the end of what was kept. */
static bool is_text(const uint8_t *d, size_t len)
{
	size_t i, valid;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		uint8_t c = d[i];

		if ((c < 0x20 && !is_space(c) && c != 0x1b) || c == 0x7f)
			return false;
	}
	valid = jsonw_utf8_valid_len((const char *)d, len);
	return valid == len || (len - valid < 4 && len >= AN_FILE_SNIFF_BYTES &&
				(d[valid] & 0xc0) == 0xc0);
}

static const char *sniff_text(const uint8_t *d, size_t len, const char *hint)
{
	size_t i;

	if (!is_text(d, len))
		return NULL;
	if (len >= 3 && memcmp(d, "\xef\xbb\xbf", 3) == 0) { /* UTF-8 byte order mark */
		d += 3;
		len -= 3;
	}
	while (len > 0 && is_space(d[0])) {
		d++;
		len--;
	}
	if (len >= 5 && memcmp(d, "<?xml", 5) == 0)
		return "application/xml";
	for (i = 0; i < sizeof(html_starts) / sizeof(html_starts[0]); i++)
		if (has_prefix_nocase(d, len, html_starts[i]))
			return "text/html";
	if (len > 0 && (d[0] == '{' || d[0] == '['))
		return "application/json";
	/* Zeek says text/plain for any text; a declared text/ subtype (CSS,
	 * CSV) is more precise and still true. */
	if (hint != NULL && strncmp(hint, "text/", 5) == 0)
		return hint;
	return "text/plain";
}

const char *an_file_sniff(const uint8_t *d, size_t len, const char *hint)
{
	const char *t;
	size_t i;

	if (hint != NULL && hint[0] == '\0')
		hint = NULL;
	if (len == 0)
		return hint;
	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		const struct magic *m = &magics[i];

		if (len < (size_t)m->off + m->len)
			continue;
		if (memcmp(d + m->off, m->bytes, m->len) == 0)
			return m->mime;
	}
	if (is_bmp(d, len))
		return "image/bmp";
	t = sniff_text(d, len, hint);
	return t != NULL ? t : hint;
}
