/* files (files.c, files_magic.c): the MIME sniffing table, the hashes
 * (RFC 1321, RFC 3174 and FIPS 180-4 test vectors), a file fed in pieces,
 * gaps and the depth cut (no hashes), the overflow mark, the declared
 * type as a fallback, fuids (format, no repeats), the memory charge and
 * the cap. Files are opened on a session of a do-nothing analyzer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "analyzer.h"
#include "files.h"

#define T0 1700000000000000ull

static const struct analyzer an_null = {
	.name = "null",
	.transports = AN_T_TCP,
};

struct t {
	struct an_ctx *c;
	struct an_session *s;
	json_t *last;                /* the last record */
	size_t n;
	char *all;                   /* every record, concatenated */
	size_t all_len;
};

static void on_record(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	struct t *t = ctx;

	assert_int_equal(cls, SPOOL_P2);
	json_decref(t->last);
	t->last = json_loadb(json, len, 0, NULL);
	assert_non_null(t->last);
	t->n++;
	t->all = realloc(t->all, t->all_len + len + 2);
	assert_non_null(t->all);
	memcpy(t->all + t->all_len, json, len);
	t->all_len += len;
	t->all[t->all_len++] = '\n';
	t->all[t->all_len] = '\0';
}

static void t_open_cfg(struct t *t, struct an_config *cfg)
{
	struct conn id;

	memset(t, 0, sizeof(*t));
	memset(&id, 0, sizeof(id));
	strcpy(id.uid, "CFilesTest");
	id.ip_version = 6;
	id.proto = IPPROTO_TCP;
	inet_pton(AF_INET6, "2001:db8::1", id.orig_h);
	inet_pton(AF_INET6, "2001:db8::2", id.resp_h);
	id.orig_p = 50000;
	id.resp_p = 25;
	id.ts_us = T0;
	id.local_orig = true;
	strcpy(id.community_id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	assert_int_equal(an_ctx_create(&t->c, cfg, NULL, on_record, t), 0);
	t->s = an_test_session(t->c, &id, &an_null);
	assert_non_null(t->s);
}

static void t_open(struct t *t)
{
	struct an_config cfg;

	an_config_defaults(&cfg);
	t_open_cfg(t, &cfg);
}

static void t_close(struct t *t)
{
	an_test_end(t->s, T0 + 10000000);
	an_ctx_destroy(t->c);
	json_decref(t->last);
	free(t->all);
}

static const char *str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

static int64_t num(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	assert_non_null(v);
	return json_integer_value(v);
}

/* ---- sniffing -------------------------------------------------------- */

static const char *sniff(const void *d, size_t len, const char *hint)
{
	return an_file_sniff(d, len, hint);
}

#define S(lit) lit, sizeof(lit) - 1

static void test_magic(void **state)
{
	uint8_t dicom[200], bmp[20];

	(void)state;
	assert_string_equal(sniff(S("%PDF-1.7\n%\xe2\xe3\xcf\xd3"), NULL), "application/pdf");
	assert_string_equal(sniff(S("PK\x03\x04\x14\x00\x06\x00"), NULL), "application/zip");
	assert_string_equal(sniff(S("PK\x05\x06\0\0\0\0"), NULL), "application/zip");
	assert_string_equal(sniff(S("\x1f\x8b\x08\x00\x00\x00"), NULL), "application/x-gzip");
	assert_string_equal(sniff(S("\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), NULL), "image/png");
	assert_string_equal(sniff(S("\xff\xd8\xff\xe0\0\x10JFIF"), NULL), "image/jpeg");
	assert_string_equal(sniff(S("GIF89a\x01\0\x01\0"), NULL), "image/gif");
	assert_string_equal(sniff(S("GIF87a\x01\0\x01\0"), NULL), "image/gif");
	assert_string_equal(sniff(S("II*\0\x08\0\0\0"), NULL), "image/tiff");
	assert_string_equal(sniff(S("MM\0*\0\0\0\x08"), NULL), "image/tiff");
	assert_string_equal(sniff(S("MZ\x90\0\x03\0\0\0"), NULL), "application/x-dosexec");
	assert_string_equal(sniff(S("\x7f" "ELF\x02\x01\x01"), NULL), "application/x-executable");
	assert_string_equal(sniff(S("Rar!\x1a\x07\x01\0"), NULL), "application/x-rar");
	assert_string_equal(sniff(S("7z\xbc\xaf\x27\x1c\0\x04"), NULL), "application/x-7z-compressed");
	assert_string_equal(sniff(S("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0"), NULL),
			    "application/x-ole-storage");
	assert_string_equal(sniff(S("{\\rtf1\\ansi"), NULL), "text/rtf");
	assert_string_equal(sniff(S("<?xml version=\"1.0\"?><a/>"), NULL), "application/xml");
	assert_string_equal(sniff(S("\xef\xbb\xbf  <?xml version=\"1.0\"?>"), NULL), "application/xml");
	assert_string_equal(sniff(S("\n  <!DOCTYPE html><html>"), NULL), "text/html");
	assert_string_equal(sniff(S("<HTML><BODY>hi"), NULL), "text/html");
	assert_string_equal(sniff(S("{\"a\": [1, 2]}"), NULL), "application/json");
	assert_string_equal(sniff(S("[1,2,3]"), "application/octet-stream"), "application/json");
	assert_string_equal(sniff(S("Hello, world.\r\n"), NULL), "text/plain");
	assert_string_equal(sniff(S("Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln\n"), NULL), "text/plain");
	/* A declared text subtype is kept for text. */
	assert_string_equal(sniff(S("body { color: red }\n"), "text/css"), "text/css");
	assert_string_equal(sniff(S("a,b\n1,2\n"), "application/vnd.ms-excel"), "text/plain");
	/* Binary without a magic: the hint, or nothing. */
	assert_string_equal(sniff(S("\x00\x01\x02\x03\xfe"), "application/x-thing"),
			    "application/x-thing");
	assert_null(sniff(S("\x00\x01\x02\x03\xfe"), NULL));
	assert_null(sniff(S("\x00\x01\x02\x03\xfe"), ""));
	assert_null(sniff(S("Bad \xc3 UTF-8 \xff"), NULL));
	assert_null(sniff("", 0, NULL));
	assert_string_equal(sniff("", 0, "image/png"), "image/png");
	/* Short magics need their context: "BM" text is not a bitmap. */
	assert_string_equal(sniff(S("BMW drivers\n"), NULL), "text/plain");
	memset(bmp, 0, sizeof(bmp));
	memcpy(bmp, "BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00", 14);
	assert_string_equal(sniff(bmp, sizeof(bmp), NULL), "image/bmp");
	/* DICOM: "DICM" after a 128-byte preamble (PS3.10 section 7.1). */
	memset(dicom, 0, sizeof(dicom));
	memcpy(dicom + 128, "DICM\x02\x00\x00\x00UL", 10);
	assert_string_equal(sniff(dicom, sizeof(dicom), NULL), "application/dicom");
	assert_null(sniff(dicom, 131, NULL));        /* cut before the magic */
	/* Truncated magics do not match. */
	assert_string_equal(sniff(S("%PDF"), NULL), "text/plain");
	assert_string_equal(sniff(S("\x89PN"), "image/png"), "image/png");
}

/* Text cut in the middle of a UTF-8 sequence by the sniffing window is
 * still text. */
static void test_magic_utf8_cut(void **state)
{
	uint8_t d[AN_FILE_SNIFF_BYTES];
	size_t i;

	(void)state;
	for (i = 0; i + 2 <= sizeof(d); i += 2)
		memcpy(d + i, "\xc3\xa9", 2);   /* é */
	d[sizeof(d) - 1] = 0xc3;
	assert_string_equal(sniff(d, sizeof(d), NULL), "text/plain");
	assert_null(sniff(d, 7, NULL));        /* a short file ending mid-sequence is not */
}

/* ---- files ----------------------------------------------------------- */

/* sensor.analyzers.file_hashes: false: the record without hashes. */
static void test_no_hashes(void **state)
{
	struct an_config cfg;
	struct an_file *f;
	struct t t;

	(void)state;
	an_config_defaults(&cfg);
	cfg.file_hashes = false;
	t_open_cfg(&t, &cfg);
	f = an_file_open(t.s, "HTTP", false, 1, NULL, NULL, 5, T0);
	assert_non_null(f);
	an_file_data(f, (const uint8_t *)"%PDF-", 5);
	an_file_close(f, false, T0 + 1000);
	assert_int_equal(t.n, 1);
	assert_string_equal(str(t.last, "mime_type"), "application/pdf");
	assert_int_equal(num(t.last, "seen_bytes"), 5);
	assert_int_equal(json_array_size(json_object_get(t.last, "analyzers")), 0);
	assert_null(json_object_get(t.last, "md5"));
	assert_null(json_object_get(t.last, "sha1"));
	assert_null(json_object_get(t.last, "sha256"));
	t_close(&t);
}

static void test_hashes(void **state)
{
	static const char msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	struct an_file *f;
	struct t t;
	size_t i;

	(void)state;
	t_open(&t);
	f = an_file_open(t.s, "SMTP", true, 2, "report.txt", "text/plain", UINT64_MAX, T0);
	assert_non_null(f);
	assert_int_equal(an_file_fuid(f)[0], 'F');
	assert_string_equal(an_file_mime(f), "text/plain");   /* the hint, before any byte */
	for (i = 0; i < sizeof(msg) - 1; i += 5)   /* in pieces */
		an_file_data(f, (const uint8_t *)msg + i, sizeof(msg) - 1 - i < 5 ? sizeof(msg) - 1 - i : 5);
	assert_string_equal(an_file_mime(f), "text/plain");
	an_file_close(f, false, T0 + 1500000);
	assert_int_equal(t.n, 1);
	assert_string_equal(str(t.last, "type"), "files");
	assert_string_equal(str(t.last, "uid"), "CFilesTest");
	assert_string_equal(str(t.last, "id.orig_h"), "2001:db8::1");
	assert_string_equal(str(t.last, "source"), "SMTP");
	assert_int_equal(num(t.last, "depth"), 2);
	assert_string_equal(str(t.last, "filename"), "report.txt");
	assert_true(json_is_true(json_object_get(t.last, "is_orig")));
	assert_true(json_is_true(json_object_get(t.last, "local_orig")));
	assert_int_equal(num(t.last, "seen_bytes"), 56);
	assert_null(json_object_get(t.last, "total_bytes"));
	assert_true(json_real_value(json_object_get(t.last, "duration")) > 1.49 &&
		    json_real_value(json_object_get(t.last, "duration")) < 1.51);
	assert_string_equal(str(t.last, "md5"), "8215ef0796a20bcaaae116d3876c664a");
	assert_string_equal(str(t.last, "sha1"), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	assert_string_equal(str(t.last, "sha256"),
			    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	assert_int_equal(json_array_size(json_object_get(t.last, "analyzers")), 3);
	t_close(&t);
}

static void test_empty(void **state)
{
	struct an_file *f;
	struct t t;

	(void)state;
	t_open(&t);
	f = an_file_open(t.s, "HTTP", false, 1, NULL, NULL, 0, T0);
	an_file_close(f, false, T0);
	assert_string_equal(str(t.last, "md5"), "d41d8cd98f00b204e9800998ecf8427e");
	assert_string_equal(str(t.last, "sha256"),
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(num(t.last, "total_bytes"), 0);
	assert_null(json_object_get(t.last, "mime_type"));
	assert_null(json_object_get(t.last, "filename"));
	assert_false(json_is_true(json_object_get(t.last, "local_orig")));   /* the server sent it */
	t_close(&t);
}

static void test_gap(void **state)
{
	struct an_file *f;
	struct t t;

	(void)state;
	t_open(&t);
	f = an_file_open(t.s, "HTTP", false, 1, NULL, "application/pdf", 1000, T0);
	an_file_data(f, (const uint8_t *)"\x00\x01\x02", 3);
	an_file_gap(f, 500);
	an_file_data(f, (const uint8_t *)"%PDF-", 5);    /* after the gap: not the start */
	assert_string_equal(an_file_mime(f), "application/pdf");   /* the hint */
	an_file_close(f, true, T0 + 1);
	assert_int_equal(num(t.last, "missing_bytes"), 500);
	assert_int_equal(num(t.last, "seen_bytes"), 8);
	assert_int_equal(num(t.last, "total_bytes"), 1000);
	assert_true(json_is_true(json_object_get(t.last, "timedout")));
	assert_null(json_object_get(t.last, "md5"));
	assert_null(json_object_get(t.last, "sha1"));
	assert_null(json_object_get(t.last, "sha256"));
	assert_string_equal(str(t.last, "mime_type"), "application/pdf");
	/* A gap at the start: no sniffing, the hint. */
	f = an_file_open(t.s, "HTTP", false, 1, NULL, "image/png", UINT64_MAX, T0);
	an_file_gap(f, 8);
	an_file_data(f, (const uint8_t *)"%PDF-", 5);
	an_file_close(f, false, T0 + 1);
	assert_string_equal(str(t.last, "mime_type"), "image/png");
	t_close(&t);
}

static void test_depth_and_overflow(void **state)
{
	struct an_config cfg;
	struct an_file *f;
	uint8_t buf[4096];
	struct t t;

	(void)state;
	an_config_defaults(&cfg);
	cfg.file_depth_bytes = 10000;
	t_open_cfg(&t, &cfg);
	memset(buf, 'A', sizeof(buf));
	f = an_file_open(t.s, "HTTP", false, 1, NULL, NULL, UINT64_MAX, T0);
	an_file_data(f, buf, sizeof(buf));
	an_file_data(f, buf, sizeof(buf));
	an_file_data(f, buf, sizeof(buf));
	an_file_close(f, false, T0);
	assert_int_equal(num(t.last, "seen_bytes"), 3 * 4096);
	assert_int_equal(num(t.last, "overflow_bytes"), 3 * 4096 - 10000);
	assert_null(json_object_get(t.last, "sha256"));
	/* At the depth exactly: whole. */
	f = an_file_open(t.s, "HTTP", false, 1, NULL, NULL, UINT64_MAX, T0);
	an_file_data(f, buf, 4096);
	an_file_data(f, buf, 4096);
	an_file_data(f, buf, 10000 - 8192);
	an_file_close(f, false, T0);
	assert_int_equal(num(t.last, "overflow_bytes"), 0);
	assert_non_null(str(t.last, "sha256"));
	/* The analyzer's own cut. */
	f = an_file_open(t.s, "HTTP", false, 1, NULL, NULL, UINT64_MAX, T0);
	an_file_data(f, buf, 10);
	an_file_overflow(f, 77);
	an_file_close(f, false, T0);
	assert_int_equal(num(t.last, "overflow_bytes"), 77);
	assert_int_equal(num(t.last, "seen_bytes"), 10);
	assert_null(json_object_get(t.last, "sha256"));
	t_close(&t);
}

static void test_fuids(void **state)
{
	static char seen[1000][24];
	struct an_file *f;
	struct t t;
	size_t i, j;

	(void)state;
	t_open(&t);
	for (i = 0; i < 1000; i++) {
		const char *id;

		f = an_file_open(t.s, "POP3", false, (uint32_t)i, NULL, NULL, UINT64_MAX, T0);
		assert_non_null(f);
		id = an_file_fuid(f);
		assert_int_equal(id[0], 'F');
		assert_true(strlen(id) >= 2 && strlen(id) <= 23);
		for (j = 1; id[j] != '\0'; j++)
			assert_non_null(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", id[j]));
		strcpy(seen[i], id);
		an_file_close(f, false, T0);
		assert_string_equal(str(t.last, "fuid"), seen[i]);
	}
	for (i = 0; i < 1000; i++)
		for (j = i + 1; j < 1000; j++)
			assert_string_not_equal(seen[i], seen[j]);
	t_close(&t);
}

static void on_weird(void *arg, const char *name, uint64_t n)
{
	if (strcmp(name, "file_no_memory") == 0)
		*(uint64_t *)arg += n;
}

static void test_memory(void **state)
{
	struct an_config cfg;
	struct an_file *f, *files[16];
	uint64_t before, nw = 0;
	size_t n, opened;
	struct t t;

	(void)state;
	t_open(&t);
	before = an_ctx_stats(t.c)->mem_bytes;
	f = an_file_open(t.s, "HTTP", false, 1, "a-long-file-name.bin", NULL, UINT64_MAX, T0);
	assert_true(an_ctx_stats(t.c)->mem_bytes > before);
	an_file_close(f, false, T0);
	assert_int_equal(an_ctx_stats(t.c)->mem_bytes, before);
	an_file_close(NULL, false, T0);     /* NULL-safe, as the callers go on without a file */
	an_file_data(NULL, (const uint8_t *)"x", 1);
	an_file_gap(NULL, 1);
	an_file_overflow(NULL, 1);
	assert_null(an_file_mime(NULL));
	assert_string_equal(an_file_fuid(NULL), "");
	t_close(&t);

	/* The cap: no file, a weird, the caller goes on. */
	an_config_defaults(&cfg);
	cfg.mem_max = 4096;
	t_open_cfg(&t, &cfg);
	for (n = 0; n < 16; n++) {
		files[n] = an_file_open(t.s, "HTTP", false, 1, NULL, NULL, UINT64_MAX, T0);
		if (files[n] == NULL)
			break;
	}
	assert_true(n > 0 && n < 16);
	assert_true(an_ctx_stats(t.c)->mem_bytes <= 4096);
	an_weirds(t.c, on_weird, &nw);
	assert_int_equal(nw, 1);
	an_file_data(files[n], (const uint8_t *)"x", 1);   /* NULL: nothing */
	opened = n;
	while (n-- > 0)
		an_file_close(files[n], false, T0);
	assert_int_equal(t.n, opened);        /* one record per file that opened */
	t_close(&t);
}

/* Filenames are untrusted bytes: any of them gives valid JSON. */
static void test_filename_bytes(void **state)
{
	struct an_file *f;
	char name[400];
	struct t t;

	(void)state;
	t_open(&t);
	memset(name, 0, sizeof(name));
	memcpy(name, "evil\"\\\x01\xff\xfe.exe", 13);
	memset(name + 13, 'n', 380);
	f = an_file_open(t.s, "HTTP", true, 1, name, NULL, UINT64_MAX, T0);
	an_file_data(f, (const uint8_t *)"MZ\x90\0", 4);
	an_file_close(f, false, T0);
	assert_non_null(t.last);      /* parsed */
	assert_string_equal(str(t.last, "mime_type"), "application/x-dosexec");
	assert_true(strlen(str(t.last, "filename")) <= 255 * 3);
	assert_int_equal(strncmp(str(t.last, "filename"), "evil\"\\\x01", 7), 0);
	t_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_magic),
		cmocka_unit_test(test_magic_utf8_cut),
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_no_hashes),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_depth_and_overflow),
		cmocka_unit_test(test_fuids),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_filename_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
