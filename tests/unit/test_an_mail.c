/* The mail, FTP and Telnet analyzers (an_smtp.c, an_pop3.c, an_ftp.c,
 * an_telnet.c, mime.c): whole sessions fed through the analyzer test API,
 * records collected from the sink and checked field by field (jansson),
 * and the secrets searched for in every byte of output: SMTP with EHLO,
 * AUTH PLAIN and LOGIN, two transactions, a multipart message with a
 * base64 attachment whose SHA-256 the files record must carry,
 * pipelining, BDAT, STARTTLS; POP3 USER/PASS, RETR, APOP, AUTH PLAIN,
 * STLS; FTP logins (named and anonymous); a Telnet login behind option
 * negotiation; every session replayed one byte at a time; malformed
 * input (overlong lines, bad base64, missing boundaries, gaps, binary
 * garbage); the probes. */
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
#include "buf.h"
#include "mbedtls_compat.h"
#include "mime.h"

#define T0 1700000000000000ull
#define MAX_RECS 128

struct sink {
	struct buf all;               /* every record, newline-separated */
	size_t n;
	char *recs[MAX_RECS];
	enum spool_class cls[MAX_RECS];
};

/* A small check of a record against docs/schema/<type>.schema.json (run
 * from the source tree, as tests/run.sh does): every field is in the
 * schema with its JSON type, const or enum, and the required ones are
 * there. Formats, patterns and oneOf schemas (notice) are left to
 * tests/tools/schema_check.py. */
static bool type_ok(const json_t *prop, const json_t *v)
{
	const char *t = json_string_value(json_object_get(prop, "type"));
	const json_t *c = json_object_get(prop, "const"), *e = json_object_get(prop, "enum"), *x;
	size_t i;

	if (c != NULL && !json_equal((json_t *)c, (json_t *)v))
		return false;
	if (e != NULL) {
		bool found = false;

		json_array_foreach(e, i, x)
			found |= json_equal(x, (json_t *)v);
		if (!found)
			return false;
	}
	if (t == NULL)
		return true;
	if (!strcmp(t, "string"))
		return json_is_string(v);
	if (!strcmp(t, "integer"))
		return json_is_integer(v);
	if (!strcmp(t, "number"))
		return json_is_number(v);
	if (!strcmp(t, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(t, "array")) {
		if (!json_is_array(v))
			return false;
		json_array_foreach(v, i, x)
			if (!type_ok(json_object_get(prop, "items"), x))
				return false;
		return true;
	}
	return json_is_object(v);
}

static void schema_check(const char *json, size_t len)
{
	static json_t *cache[8];
	static const char *names[8];
	json_error_t e;
	json_t *rec = json_loadb(json, len, JSON_ALLOW_NUL, &e), *schema = NULL, *v, *x;
	const char *type = json_string_value(json_object_get(rec, "type")), *key;
	size_t i;

	if (rec == NULL || type == NULL)
		fail_msg("not a record: %.*s", (int)len, json);
	for (i = 0; i < 8 && names[i] != NULL; i++)
		if (!strcmp(names[i], type))
			schema = cache[i];
	if (schema == NULL) {
		char path[128];

		snprintf(path, sizeof(path), "docs/schema/%s.schema.json", type);
		schema = json_load_file(path, 0, &e);
		if (schema == NULL)
			fail_msg("%s: %s", path, e.text);
		assert_true(i < 8);
		names[i] = strdup(type);
		cache[i] = schema;      /* kept for the process's life */
	}
	if (json_object_get(schema, "properties") == NULL) {
		json_decref(rec);       /* oneOf (notice): left to schema_check.py */
		return;
	}
	json_object_foreach(rec, key, v) {
		const json_t *prop = json_object_get(json_object_get(schema, "properties"), key);

		if (prop == NULL || !type_ok(prop, v))
			fail_msg("%s: field %s %s: %.*s", type, key,
				 prop ? "of the wrong type" : "not in the schema", (int)len, json);
	}
	json_array_foreach(json_object_get(schema, "required"), i, x)
		if (json_object_get(rec, json_string_value(x)) == NULL)
			fail_msg("%s: required field %s missing: %.*s", type, json_string_value(x),
				 (int)len, json);
	json_decref(rec);
}

static void on_record(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	struct sink *k = ctx;

	const char *dump = getenv("WARD_MAIL_RECORDS");

	/* For checking the records against docs/schema by hand:
	 * WARD_MAIL_RECORDS=file appends every record to it. */
	if (dump != NULL) {
		FILE *fp = fopen(dump, "a");

		if (fp != NULL) {
			fprintf(fp, "%.*s\n", (int)len, json);
			fclose(fp);
		}
	}
	schema_check(json, len);
	assert_int_equal(buf_append(&k->all, json, len), 0);
	assert_int_equal(buf_append_byte(&k->all, '\n'), 0);
	if (k->n < MAX_RECS) {
		k->recs[k->n] = strndup(json, len);
		k->cls[k->n] = cls;
		k->n++;
	}
}

struct fix {
	struct sink k;
	struct an_ctx *c;
	struct an_session *s;
	uint64_t ts;
	json_t *got[MAX_RECS];
};

static void fix_start(struct fix *f, const struct analyzer *a, enum an_user_mask mask)
{
	struct an_config cfg = {
		.enabled = true, .mem_max = 64 << 20, .depth_bytes = 1 << 20,
		.max_sessions = 1024, .user_mask = mask, .max_uri_bytes = 8192,
		.max_header_bytes = 8192, .file_hashes = true,
	};
	struct conn id = { .ts_us = T0, .ip_version = 4, .proto = 6, .orig_p = 40000,
			   .resp_p = 25 };

	memset(f, 0, sizeof(*f));
	strcpy(id.uid, "CmailTest000001");
	strcpy(id.community_id, "1:mailtestmailtestmailtestmai=");
	id.orig_h[0] = 10, id.orig_h[3] = 1;
	id.resp_h[0] = 10, id.resp_h[3] = 2;
	assert_int_equal(an_ctx_create(&f->c, &cfg, NULL, on_record, &f->k), 0);
	f->s = an_test_session(f->c, &id, a);
	assert_non_null(f->s);
	f->ts = T0;
}

static void fix_end(struct fix *f)
{
	an_test_end(f->s, f->ts += 1000);
	f->s = NULL;
}

static void fix_free(struct fix *f)
{
	size_t i;

	if (f->s != NULL)
		fix_end(f);
	an_ctx_destroy(f->c);
	for (i = 0; i < f->k.n; i++) {
		free(f->k.recs[i]);
		json_decref(f->got[i]);
	}
	buf_free(&f->k.all);
}

static void cli(struct fix *f, const char *text)
{
	an_test_data(f->s, true, (const uint8_t *)text, strlen(text), f->ts += 1000);
}

static void srv(struct fix *f, const char *text)
{
	an_test_data(f->s, false, (const uint8_t *)text, strlen(text), f->ts += 1000);
}

/* The n-th record (0-based) of a type, parsed, or NULL. */
static json_t *rec(struct fix *f, const char *type, size_t n)
{
	size_t i;

	for (i = 0; i < f->k.n; i++) {
		json_t *v;

		if (f->got[i] == NULL) {
			json_error_t e;

			f->got[i] = json_loads(f->k.recs[i], JSON_ALLOW_NUL, &e);
			if (f->got[i] == NULL)
				fail_msg("record %zu is not JSON: %s: %s", i, e.text, f->k.recs[i]);
		}
		v = json_object_get(f->got[i], "type");
		if (v != NULL && !strcmp(json_string_value(v), type) && n-- == 0)
			return f->got[i];
	}
	return NULL;
}

static size_t count(struct fix *f, const char *type)
{
	size_t n = 0;

	while (rec(f, type, n) != NULL)
		n++;
	return n;
}

static const char *str(json_t *r, const char *key)
{
	json_t *v = json_object_get(r, key);

	return v != NULL && json_is_string(v) ? json_string_value(v) : NULL;
}

static void assert_str(json_t *r, const char *key, const char *want)
{
	const char *got = str(r, key);

	if (got == NULL || strcmp(got, want) != 0)
		fail_msg("%s: want \"%s\", got %s%s%s", key, want, got ? "\"" : "",
			 got ? got : "(none)", got ? "\"" : "");
}

static void assert_absent(struct fix *f, const char *secret)
{
	if (f->k.all.len > 0 && memmem(f->k.all.data, f->k.all.len, secret, strlen(secret)) != NULL)
		fail_msg("\"%s\" appears in the output:\n%.*s", secret, (int)f->k.all.len,
			 (const char *)f->k.all.data);
}

static size_t arr_len(json_t *r, const char *key)
{
	json_t *v = json_object_get(r, key);

	return v != NULL && json_is_array(v) ? json_array_size(v) : 0;
}

static const char *arr_str(json_t *r, const char *key, size_t i)
{
	return json_string_value(json_array_get(json_object_get(r, key), i));
}

static void weird_cb(void *arg, const char *name, uint64_t n)
{
	const char **want = arg;

	if (*want != NULL && !strcmp(*want, name) && n > 0)
		*want = NULL;
}

static bool weird_seen(struct fix *f, const char *name)
{
	const char *w = name;

	an_weirds(f->c, weird_cb, &w);
	return w == NULL;
}

static void sha256_hex(const void *d, size_t len, char out[65])
{
	uint8_t h[32];
	int i;

	assert_int_equal(mbcompat_sha256(d, len, h, 0), 0);
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

/* The files record whose fuid is `fuid`, or NULL. */
static json_t *file_rec(struct fix *f, const char *fuid)
{
	json_t *r;
	size_t i;

	for (i = 0; (r = rec(f, "files", i)) != NULL; i++)
		if (str(r, "fuid") && !strcmp(str(r, "fuid"), fuid))
			return r;
	return NULL;
}

/* One of the parent record's files is `content`, by its SHA-256. */
static void assert_attachment(struct fix *f, json_t *parent, const char *content,
			      const char *filename)
{
	char want[65];
	size_t i;

	sha256_hex(content, strlen(content), want);
	for (i = 0; i < arr_len(parent, "fuids"); i++) {
		json_t *fr = file_rec(f, arr_str(parent, "fuids", i));

		if (fr != NULL && str(fr, "sha256") && !strcmp(str(fr, "sha256"), want)) {
			if (filename != NULL)
				assert_str(fr, "filename", filename);
			return;
		}
	}
	fail_msg("no file of the record has sha256 %s:\n%.*s", want, (int)f->k.all.len,
		 (const char *)f->k.all.data);
}

/* ---- SMTP ------------------------------------------------------------- */

#define ATTACH "%PDF-1.4 ward test attachment\nline two of the attachment\n"
/* base64 of ATTACH, cut at 40 columns */
#define ATTACH_B64 \
	"JVBERi0xLjQgd2FyZCB0ZXN0IGF0dGFjaG1lbnQK\r\n" \
	"bGluZSB0d28gb2YgdGhlIGF0dGFjaG1lbnQK\r\n"

static const char MSG1[] =
	"Received: from client.example ([10.0.0.1]) by mx.example; Tue, 1 Nov 2026 10:00:00 +0000\r\n"
	"Received: from inner.example ([192.0.2.7])\r\n"
	"\tby client.example; Tue, 1 Nov 2026 09:59:00 +0000\r\n"
	"Date: Tue, 1 Nov 2026 10:00:00 +0000\r\n"
	"From: Alice <alice@example.org>\r\n"
	"To: \"Doe, Bob\" <bob@example.org>, carol@example.org\r\n"
	"Cc: dave@example.org\r\n"
	"Reply-To: alice-reply@example.org\r\n"
	"Message-ID: <m1@example.org>\r\n"
	"In-Reply-To: <m0@example.org>\r\n"
	"Subject: =?UTF-8?Q?Quarterly_r=C3=A9port?=\r\n"
	"X-Originating-IP: [198.51.100.9]\r\n"
	"User-Agent: TestMailer/1.0\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed;\r\n"
	"\tboundary=\"outer-b\"\r\n"
	"\r\n"
	"preamble\r\n"
	"--outer-b\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Hello Bob,=\r\n"
	" see the r=C3=A9port.\r\n"
	"..a line that starts with a dot\r\n"
	"--outer-b\r\n"
	"Content-Type: application/pdf; name=\"ignored.pdf\"\r\n"
	"Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	ATTACH_B64
	"--outer-b--\r\n"
	"epilogue\r\n"
	".\r\n";

/* "\0alice\0S3cret-Pw!" */
#define PLAIN_B64 "AGFsaWNlAFMzY3JldC1QdyE="
#define SECRET "S3cret-Pw!"

static void smtp_session(struct fix *f)
{
	srv(f, "220 mx.example ESMTP ready\r\n");
	cli(f, "EHLO client.example\r\n");
	srv(f, "250-mx.example\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
	cli(f, "AUTH PLAIN " PLAIN_B64 "\r\n");
	srv(f, "235 2.7.0 Authentication successful\r\n");
	cli(f, "MAIL FROM:<alice@example.org> SIZE=1000\r\n");
	srv(f, "250 2.1.0 Ok\r\n");
	cli(f, "RCPT TO:<bob@example.org>\r\n");
	srv(f, "250 2.1.5 Ok\r\n");
	cli(f, "RCPT TO:<carol@example.org>\r\n");
	srv(f, "250 2.1.5 Ok\r\n");
	cli(f, "DATA\r\n");
	srv(f, "354 End data with <CR><LF>.<CR><LF>\r\n");
	cli(f, MSG1);
	srv(f, "250 2.0.0 Ok: queued as ABC123\r\n");
	cli(f, "MAIL FROM:<alice@example.org>\r\n");
	srv(f, "250 2.1.0 Ok\r\n");
	cli(f, "RCPT TO:<erin@example.org>\r\n");
	srv(f, "250 2.1.5 Ok\r\n");
	cli(f, "DATA\r\n");
	srv(f, "354 go ahead\r\n");
	cli(f, "From: alice@example.org\r\nSubject: second\r\n\r\nplain body\r\n.\r\n");
	srv(f, "250 2.0.0 Ok: queued as DEF456\r\n");
	cli(f, "QUIT\r\n");
	srv(f, "221 2.0.0 Bye\r\n");
}

static void test_smtp_full(void **state)
{
	struct fix f;
	json_t *r, *n;

	fix_start(&f, &an_smtp, AN_USER_MASK);
	smtp_session(&f);
	fix_end(&f);

	assert_int_equal(count(&f, "smtp"), 2);
	r = rec(&f, "smtp", 0);
	assert_int_equal(json_integer_value(json_object_get(r, "trans_depth")), 1);
	assert_str(r, "uid", "CmailTest000001");
	assert_str(r, "helo", "client.example");
	assert_str(r, "mailfrom", "alice@example.org");
	assert_int_equal(arr_len(r, "rcptto"), 2);
	assert_string_equal(arr_str(r, "rcptto", 0), "bob@example.org");
	assert_string_equal(arr_str(r, "rcptto", 1), "carol@example.org");
	assert_str(r, "date", "Tue, 1 Nov 2026 10:00:00 +0000");
	assert_str(r, "from", "Alice <alice@example.org>");
	assert_int_equal(arr_len(r, "to"), 2);
	assert_string_equal(arr_str(r, "to", 0), "\"Doe, Bob\" <bob@example.org>");
	assert_string_equal(arr_str(r, "to", 1), "carol@example.org");
	assert_int_equal(arr_len(r, "cc"), 1);
	assert_str(r, "reply_to", "alice-reply@example.org");
	assert_str(r, "msg_id", "<m1@example.org>");
	assert_str(r, "in_reply_to", "<m0@example.org>");
	assert_str(r, "subject", "Quarterly r\xc3\xa9port");
	assert_str(r, "x_originating_ip", "198.51.100.9");
	assert_str(r, "first_received",
		   "from client.example ([10.0.0.1]) by mx.example; Tue, 1 Nov 2026 10:00:00 +0000");
	assert_str(r, "second_received",
		   "from inner.example ([192.0.2.7])\tby client.example; Tue, 1 Nov 2026 09:59:00 +0000");
	assert_str(r, "last_reply", "250 2.0.0 Ok: queued as ABC123");
	assert_int_equal(arr_len(r, "path"), 4);
	assert_string_equal(arr_str(r, "path", 0), "10.0.0.2");
	assert_string_equal(arr_str(r, "path", 1), "10.0.0.1");
	assert_string_equal(arr_str(r, "path", 3), "192.0.2.7");
	assert_str(r, "user_agent", "TestMailer/1.0");
	assert_true(json_is_false(json_object_get(r, "tls")));
	{
		char want[65];
		static const char body[] = "Hello Bob, see the r\xc3\xa9port.\r\n.a line that starts with a dot";
		json_t *fr;

		assert_int_equal(arr_len(r, "fuids"), 2);
		fr = file_rec(&f, arr_str(r, "fuids", 0));
		assert_non_null(fr);
		sha256_hex(body, strlen(body), want);
		assert_str(fr, "sha256", want);
		assert_str(fr, "source", "SMTP");
		assert_true(json_is_true(json_object_get(fr, "is_orig")));
		assert_int_equal(json_integer_value(json_object_get(fr, "depth")), 1);
		fr = file_rec(&f, arr_str(r, "fuids", 1));
		assert_non_null(fr);
		assert_str(fr, "mime_type", "application/pdf");
	}
	assert_attachment(&f, r, ATTACH, "report.pdf");

	r = rec(&f, "smtp", 1);
	assert_int_equal(json_integer_value(json_object_get(r, "trans_depth")), 2);
	assert_str(r, "helo", "client.example");
	assert_int_equal(arr_len(r, "rcptto"), 1);
	assert_str(r, "subject", "second");
	assert_str(r, "last_reply", "250 2.0.0 Ok: queued as DEF456");
	assert_null(json_object_get(r, "cc"));

	assert_int_equal(count(&f, "notice"), 1);
	n = rec(&f, "notice", 0);
	assert_str(n, "user", "a***e");
	assert_absent(&f, SECRET);
	assert_absent(&f, PLAIN_B64);
	assert_absent(&f, "alice\"");     /* the clear name, only masked */
	fix_free(&f);
}

static void test_smtp_user_clear(void **state)
{
	struct fix f;

	fix_start(&f, &an_smtp, AN_USER_CLEAR);
	srv(&f, "220 mx\r\n");
	cli(&f, "EHLO c\r\n");
	srv(&f, "250 mx\r\n");
	cli(&f, "AUTH PLAIN\r\n");
	srv(&f, "334 \r\n");
	cli(&f, PLAIN_B64 "\r\n");
	srv(&f, "535 5.7.8 no\r\n");
	cli(&f, "QUIT\r\n");
	fix_end(&f);
	assert_int_equal(count(&f, "notice"), 1);
	assert_absent(&f, SECRET);
	assert_absent(&f, PLAIN_B64);
	fix_free(&f);
}

static void test_smtp_auth_login(void **state)
{
	struct fix f;

	fix_start(&f, &an_smtp, AN_USER_MASK);
	srv(&f, "220 mx\r\n");
	cli(&f, "EHLO c\r\n");
	srv(&f, "250 mx\r\n");
	cli(&f, "AUTH LOGIN\r\n");
	srv(&f, "334 VXNlcm5hbWU6\r\n");
	cli(&f, "am9obmRvZQ==\r\n");            /* johndoe */
	srv(&f, "334 UGFzc3dvcmQ6\r\n");
	cli(&f, "aHVudGVyMg==\r\n");            /* hunter2 */
	srv(&f, "235 ok\r\n");
	cli(&f, "MAIL FROM:<j@example.org>\r\n");
	srv(&f, "250 ok\r\n");
	cli(&f, "QUIT\r\n");
	srv(&f, "221 bye\r\n");
	fix_end(&f);
	assert_int_equal(count(&f, "notice"), 1);
	assert_str(rec(&f, "notice", 0), "user", "j***e");
	assert_absent(&f, "hunter2");
	assert_absent(&f, "aHVudGVyMg");
	assert_int_equal(count(&f, "smtp"), 1);
	assert_str(rec(&f, "smtp", 0), "mailfrom", "j@example.org");
	fix_free(&f);
}

static void test_smtp_starttls(void **state)
{
	struct fix f;
	json_t *r;

	fix_start(&f, &an_smtp, AN_USER_MASK);
	srv(&f, "220 mx ESMTP\r\n");
	cli(&f, "EHLO client\r\n");
	srv(&f, "250-mx\r\n250 STARTTLS\r\n");
	cli(&f, "STARTTLS\r\n");
	srv(&f, "220 2.0.0 Ready to start TLS\r\n\x16\x03\x01\x02\x00");
	cli(&f, "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1");
	cli(&f, "AUTH PLAIN " PLAIN_B64 "\r\n");   /* inside TLS: not parsed */
	fix_end(&f);
	assert_int_equal(count(&f, "smtp"), 1);
	r = rec(&f, "smtp", 0);
	assert_true(json_is_true(json_object_get(r, "tls")));
	assert_str(r, "helo", "client");
	assert_str(r, "last_reply", "220 2.0.0 Ready to start TLS");
	assert_int_equal(count(&f, "notice"), 0);
	fix_free(&f);
}

static void test_smtp_pipelining(void **state)
{
	struct fix f;
	json_t *r;

	fix_start(&f, &an_smtp, AN_USER_MASK);
	srv(&f, "220 mx\r\n");
	cli(&f, "EHLO c\r\n");
	srv(&f, "250-mx\r\n250 PIPELINING\r\n");
	cli(&f, "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@x>\r\nDATA\r\n");
	srv(&f, "250 ok\r\n250 ok\r\n550 no such user\r\n354 go\r\n");
	cli(&f, "Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<d@x>\r\nRCPT TO:<e@x>\r\nDATA\r\n");
	srv(&f, "250 queued 1\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	cli(&f, "Subject: q\r\n\r\nbody2\r\n.\r\nQUIT\r\n");
	srv(&f, "250 queued 2\r\n221 bye\r\n");
	fix_end(&f);
	assert_int_equal(count(&f, "smtp"), 2);
	r = rec(&f, "smtp", 0);
	assert_str(r, "mailfrom", "a@x");
	assert_int_equal(arr_len(r, "rcptto"), 2);
	assert_str(r, "subject", "p");
	r = rec(&f, "smtp", 1);
	assert_str(r, "mailfrom", "d@x");
	assert_str(r, "subject", "q");
	assert_str(r, "last_reply", "250 queued 2");
	fix_free(&f);
}

static void test_smtp_bdat(void **state)
{
	struct fix f;
	json_t *r;
	static const char c1[] = "Subject: chunked\r\nTo: z@x\r\n\r\nfirst ";
	static const char c2[] = "second\r\n";
	char line[64];

	fix_start(&f, &an_smtp, AN_USER_MASK);
	srv(&f, "220 mx\r\n");
	cli(&f, "EHLO c\r\n");
	srv(&f, "250-mx\r\n250 CHUNKING\r\n");
	cli(&f, "MAIL FROM:<a@x>\r\nRCPT TO:<z@x>\r\n");
	srv(&f, "250 ok\r\n250 ok\r\n");
	snprintf(line, sizeof(line), "BDAT %zu\r\n", strlen(c1));
	cli(&f, line);
	cli(&f, c1);
	srv(&f, "250 chunk ok\r\n");
	snprintf(line, sizeof(line), "BDAT %zu LAST\r\n", strlen(c2));
	cli(&f, line);
	cli(&f, c2);
	srv(&f, "250 message ok\r\n");
	cli(&f, "QUIT\r\n");
	fix_end(&f);
	assert_int_equal(count(&f, "smtp"), 1);
	r = rec(&f, "smtp", 0);
	assert_str(r, "subject", "chunked");
	assert_str(r, "last_reply", "250 message ok");
	assert_attachment(&f, r, "first second\r\n", NULL);
	fix_free(&f);
}

static bool same(json_t *a, json_t *b)
{
	return (a == NULL && b == NULL) || json_equal(a, b);
}

/* The SMTP session once whole, once one byte per call: same records. */
static void test_smtp_bytewise(void **state)
{
	struct fix whole, bytes;
	json_t *a, *b;
	const char *keys[] = { "helo", "mailfrom", "subject", "from", "last_reply", "msg_id",
			       "first_received", "second_received" };
	size_t i, k;

	fix_start(&whole, &an_smtp, AN_USER_MASK);
	smtp_session(&whole);
	fix_end(&whole);

	fix_start(&bytes, &an_smtp, AN_USER_MASK);
	{
		/* Replay through a one-byte wrapper of cli/srv. */
		struct step {
			bool orig;
			const char *t;
		} steps[] = {
			{ false, "220 mx.example ESMTP ready\r\n" },
			{ true, "EHLO client.example\r\n" },
			{ false, "250-mx.example\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n" },
			{ true, "AUTH PLAIN " PLAIN_B64 "\r\n" },
			{ false, "235 2.7.0 Authentication successful\r\n" },
			{ true, "MAIL FROM:<alice@example.org> SIZE=1000\r\n" },
			{ false, "250 2.1.0 Ok\r\n" },
			{ true, "RCPT TO:<bob@example.org>\r\n" },
			{ false, "250 2.1.5 Ok\r\n" },
			{ true, "RCPT TO:<carol@example.org>\r\n" },
			{ false, "250 2.1.5 Ok\r\n" },
			{ true, "DATA\r\n" },
			{ false, "354 End data with <CR><LF>.<CR><LF>\r\n" },
			{ true, MSG1 },
			{ false, "250 2.0.0 Ok: queued as ABC123\r\n" },
			{ true, "MAIL FROM:<alice@example.org>\r\n" },
			{ false, "250 2.1.0 Ok\r\n" },
			{ true, "RCPT TO:<erin@example.org>\r\n" },
			{ false, "250 2.1.5 Ok\r\n" },
			{ true, "DATA\r\n" },
			{ false, "354 go ahead\r\n" },
			{ true, "From: alice@example.org\r\nSubject: second\r\n\r\nplain body\r\n.\r\n" },
			{ false, "250 2.0.0 Ok: queued as DEF456\r\n" },
			{ true, "QUIT\r\n" },
			{ false, "221 2.0.0 Bye\r\n" },
		};

		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
			for (k = 0; steps[i].t[k] != '\0'; k++)
				an_test_data(bytes.s, steps[i].orig, (const uint8_t *)steps[i].t + k, 1,
					     bytes.ts += 10);
	}
	fix_end(&bytes);

	assert_int_equal(count(&bytes, "smtp"), 2);
	assert_int_equal(count(&bytes, "notice"), 1);
	assert_int_equal(count(&bytes, "files"), count(&whole, "files"));
	for (i = 0; i < 2; i++) {
		a = rec(&whole, "smtp", i);
		b = rec(&bytes, "smtp", i);
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const char *x = str(a, keys[k]), *y = str(b, keys[k]);

			if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
				fail_msg("%s differs: %s / %s", keys[k], x ? x : "-", y ? y : "-");
		}
		assert_true(same(json_object_get(a, "rcptto"), json_object_get(b, "rcptto")));
		assert_true(same(json_object_get(a, "to"), json_object_get(b, "to")));
		assert_int_equal(arr_len(a, "fuids"), arr_len(b, "fuids"));
	}
	for (i = 0; i < count(&whole, "files"); i++) {
		const char *x = str(rec(&whole, "files", i), "sha256");
		const char *y = str(rec(&bytes, "files", i), "sha256");

		assert_true((x == NULL) == (y == NULL));
		if (x != NULL)
			assert_string_equal(x, y);
	}
	assert_absent(&bytes, SECRET);
	fix_free(&whole);
	fix_free(&bytes);
}

static void test_smtp_malformed(void **state)
{
	struct fix f;
	char *big = malloc(20000);
	static const uint8_t garbage[] = { 0x00, 0xff, 0x80, '\r', '\n', 0xc3, 0x28, '\n', 0x01,
					   0x02, '.', '\r', '\n' };

	fix_start(&f, &an_smtp, AN_USER_MASK);
	srv(&f, "220 mx\r\n");
	/* An overlong command line. */
	memset(big, 'A', 19998);
	big[19998] = '\n';
	big[19999] = '\0';
	cli(&f, big);
	srv(&f, "500 too long\r\n");
	cli(&f, "EHLO c\r\n");
	srv(&f, "250 ok\r\n");
	cli(&f, "AUTH PLAIN !!!notbase64!!!\r\n");
	srv(&f, "501 bad\r\n");
	cli(&f, "MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nDATA\r\n");
	srv(&f, "250 ok\r\n250 ok\r\n354 go\r\n");
	/* Bad base64, a boundary never closed, an overlong body line. */
	cli(&f, "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\nQUJD*&^%RE\r\n--zz\r\n\r\n");
	big[19998] = '\r';
	cli(&f, big);
	cli(&f, "\n");
	an_test_data(f.s, true, garbage, sizeof(garbage) - 3, f.ts += 1000);
	cli(&f, "\r\n.\r\n");
	srv(&f, "250 queued\r\n");
	/* A gap inside a message: the file ends with missing bytes, and the
	 * next transaction is parsed. */
	cli(&f, "MAIL FROM:<c@x>\r\nRCPT TO:<d@x>\r\nDATA\r\n");
	srv(&f, "250 ok\r\n250 ok\r\n354 go\r\n");
	cli(&f, "Subject: gap\r\n\r\nbefore the ga");
	an_test_gap(f.s, true, 500);
	cli(&f, "p\r\nafter\r\n.\r\n");
	srv(&f, "250 queued\r\n");
	cli(&f, "MAIL FROM:<e@x>\r\nRCPT TO:<f@x>\r\nQUIT\r\n");
	srv(&f, "250 ok\r\n250 ok\r\n221 bye\r\n");
	/* Replies that are not replies. */
	srv(&f, "hello there\r\n999\r\n");
	fix_end(&f);
	free(big);

	assert_true(weird_seen(&f, "line_too_long"));
	assert_true(weird_seen(&f, "mime_bad_base64"));
	assert_true(weird_seen(&f, "mime_boundary_missing"));
	assert_true(weird_seen(&f, "smtp_bad_auth"));
	assert_true(weird_seen(&f, "smtp_bad_reply"));
	assert_int_equal(count(&f, "smtp"), 3);
	assert_str(rec(&f, "smtp", 1), "subject", "gap");
	assert_str(rec(&f, "smtp", 2), "mailfrom", "e@x");
	{
		json_t *r = rec(&f, "smtp", 1), *fr;

		assert_int_equal(arr_len(r, "fuids"), 1);
		fr = file_rec(&f, arr_str(r, "fuids", 0));
		assert_non_null(fr);
		assert_true(json_integer_value(json_object_get(fr, "missing_bytes")) == 500);
		assert_null(json_object_get(fr, "sha256"));
	}
	assert_int_equal(count(&f, "notice"), 0);
	fix_free(&f);
}

/* ---- MIME on its own --------------------------------------------------- */

struct parts {
	unsigned n, ended;
	char ctype[4][64], fname[4][64];
	struct buf data[4];
};

static void p_begin(void *ctx, const struct mime_part *p)
{
	struct parts *x = ctx;

	assert_true(x->n < 4);
	snprintf(x->ctype[x->n], 64, "%s", p->content_type);
	snprintf(x->fname[x->n], 64, "%s", p->filename ? p->filename : "");
	x->n++;
}

static void p_data(void *ctx, const uint8_t *d, size_t len)
{
	struct parts *x = ctx;

	assert_int_equal(buf_append(&x->data[x->n - 1], d, len), 0);
}

static void p_gap(void *ctx, uint64_t len)
{
}

static void p_end(void *ctx, bool complete)
{
	((struct parts *)ctx)->ended++;
}

static void test_mime_nested(void **state)
{
	static const struct mime_ops ops = { .part_begin = p_begin, .part_data = p_data,
					     .part_gap = p_gap, .part_end = p_end };
	static const char *lines[] = {
		"Content-Type: multipart/mixed; boundary=\"A\"", "", "--A",
		"Content-Type: multipart/alternative; boundary=B", "", "--B",
		"Content-Type: text/plain", "", "soft=", "break =3D ok", "--B",
		"Content-Type: text/html", "Content-Transfer-Encoding: quoted-printable", "",
		"<p>x</p>", "--B--", "--A",
		"Content-Type: application/octet-stream",
		"Content-Disposition: attachment; filename*=utf-8''na%C3%AFve.bin",
		"Content-Transfer-Encoding: base64", "", "AAEC", "/w==", "--A--", NULL,
	};
	struct parts x;
	struct fix f;
	struct mime *m;
	size_t i;

	memset(&x, 0, sizeof(x));
	fix_start(&f, &an_smtp, AN_USER_MASK);
	assert_int_equal(mime_create(&m, f.s, &ops, &x), 0);
	for (i = 0; lines[i] != NULL; i++)
		mime_line(m, (const uint8_t *)lines[i], strlen(lines[i]), true);
	mime_finish(m);
	assert_int_equal(x.n, 3);
	assert_int_equal(x.ended, 3);
	assert_string_equal(x.ctype[0], "text/plain");
	assert_int_equal(x.data[0].len, strlen("soft=\r\nbreak =3D ok"));
	assert_memory_equal(x.data[0].data, "soft=\r\nbreak =3D ok", x.data[0].len);
	assert_int_equal(x.data[1].len, 8);
	assert_string_equal(x.ctype[2], "application/octet-stream");
	assert_string_equal(x.fname[2], "na\xc3\xafve.bin");
	assert_int_equal(x.data[2].len, 4);
	assert_memory_equal(x.data[2].data, "\x00\x01\x02\xff", 4);
	for (i = 0; i < 4; i++)
		buf_free(&x.data[i]);
	fix_free(&f);
}

static void words(const char *in, char *out, size_t cap)
{
	mime_decode_words((const uint8_t *)in, strlen(in), out, cap);
}

static void test_mime_words(void **state)
{
	char out[64];

	words("=?utf-8?B?w6k=?= =?UTF-8?Q?t=C3=A9?= x", out, sizeof(out));
	assert_string_equal(out, "\xc3\xa9t\xc3\xa9 x");
	words("=?iso-8859-1?q?caf=E9?=", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9");
	words("=?koi8-r?B?w6k=?=", out, sizeof(out));
	assert_string_equal(out, "=?koi8-r?B?w6k=?=");
	words("=?utf-8?B?", out, 4);
	assert_string_equal(out, "=?u");
}

/* ---- POP3 ------------------------------------------------------------- */

#define POP_ATTACH "GIF89a pop3 attachment bytes\n"
static const char POP_MSG[] =
	"From: x@example.org\r\n"
	"Subject: pop\r\n"
	"Content-Type: multipart/mixed; boundary=PB\r\n"
	"\r\n"
	"--PB\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"..dot-stuffed line\r\n"
	"--PB\r\n"
	"Content-Type: image/gif\r\n"
	"Content-Disposition: attachment; filename=pic.gif\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"R0lGODlhIHBvcDMgYXR0YWNobWVudCBieXRlcwo=\r\n"
	"--PB--\r\n";

static void test_pop3_user_pass(void **state)
{
	struct fix f;
	json_t *r;
	char buf[2048];

	fix_start(&f, &an_pop3, AN_USER_MASK);
	srv(&f, "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n");
	cli(&f, "CAPA\r\n");
	srv(&f, "+OK Capability list follows\r\nUSER\r\nPIPELINING\r\n.\r\n");
	cli(&f, "USER alice\r\n");
	srv(&f, "+OK\r\n");
	cli(&f, "PASS Pop3-Secret\r\n");
	srv(&f, "+OK maildrop locked and ready\r\n");
	cli(&f, "STAT\r\n");
	srv(&f, "+OK 1 320\r\n");
	cli(&f, "RETR 1\r\n");
	snprintf(buf, sizeof(buf), "+OK 320 octets\r\n%s.\r\n", POP_MSG);
	srv(&f, buf);
	cli(&f, "DELE 1\r\nQUIT\r\n");
	srv(&f, "+OK deleted\r\n+OK bye\r\n");
	fix_end(&f);

	assert_int_equal(count(&f, "notice"), 1);
	r = rec(&f, "notice", 0);
	assert_str(r, "user", "a***e");
	assert_absent(&f, "Pop3-Secret");
	assert_absent(&f, "alice");
	assert_int_equal(count(&f, "pop3"), 7);
	r = rec(&f, "pop3", 0);
	assert_str(r, "command", "CAPA");
	assert_str(r, "status", "+OK");
	r = rec(&f, "pop3", 1);
	assert_str(r, "command", "USER");
	assert_str(r, "user", "a***e");
	assert_null(json_object_get(r, "arg"));
	r = rec(&f, "pop3", 2);
	assert_str(r, "command", "PASS");
	assert_null(json_object_get(r, "arg"));
	r = rec(&f, "pop3", 3);
	assert_str(r, "command", "STAT");
	assert_str(r, "msg", "1 320");
	r = rec(&f, "pop3", 4);
	assert_str(r, "command", "RETR");
	assert_str(r, "arg", "1");
	assert_int_equal(json_integer_value(json_object_get(r, "trans_depth")), 5);
	{
		char want[65];
		json_t *fr;
		/* The whole message, dot-unstuffed. */
		static const char *from = "..dot";
		const char *at = strstr(POP_MSG, from);
		char whole[1024];
		size_t pre = (size_t)(at - POP_MSG);

		memcpy(whole, POP_MSG, pre);
		strcpy(whole + pre, at + 1);
		assert_int_equal(arr_len(r, "fuids"), 3);
		fr = file_rec(&f, arr_str(r, "fuids", 0));
		assert_non_null(fr);
		sha256_hex(whole, strlen(whole), want);
		assert_str(fr, "sha256", want);
		assert_str(fr, "source", "POP3");
		assert_true(json_is_false(json_object_get(fr, "is_orig")));
	}
	assert_attachment(&f, r, POP_ATTACH, "pic.gif");
	r = rec(&f, "pop3", 6);
	assert_str(r, "command", "QUIT");
	assert_str(r, "msg", "bye");
	fix_free(&f);
}

/* The POP3 session one byte per call: the same records as whole. */
static void test_pop3_bytewise(void **state)
{
	struct fix f;
	char retr[2048];
	const char *steps[][2] = {
		{ "s", "+OK ready\r\n" }, { "c", "USER alice\r\n" }, { "s", "+OK\r\n" },
		{ "c", "PASS Pop3-Secret\r\n" }, { "s", "+OK\r\n" }, { "c", "RETR 1\r\n" },
		{ "s", retr }, { "c", "QUIT\r\n" }, { "s", "+OK bye\r\n" },
	};
	size_t i, k;

	snprintf(retr, sizeof(retr), "+OK\r\n%s.\r\n", POP_MSG);
	fix_start(&f, &an_pop3, AN_USER_MASK);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		for (k = 0; steps[i][1][k] != '\0'; k++)
			an_test_data(f.s, steps[i][0][0] == 'c', (const uint8_t *)steps[i][1] + k, 1,
				     f.ts += 10);
	fix_end(&f);
	assert_int_equal(count(&f, "notice"), 1);
	assert_int_equal(count(&f, "pop3"), 4);
	assert_str(rec(&f, "pop3", 2), "command", "RETR");
	assert_str(rec(&f, "pop3", 3), "msg", "bye");
	assert_attachment(&f, rec(&f, "pop3", 2), POP_ATTACH, "pic.gif");
	assert_absent(&f, "Pop3-Secret");
	fix_free(&f);
}

static void test_pop3_apop_auth_stls(void **state)
{
	struct fix f;

	fix_start(&f, &an_pop3, AN_USER_MASK);
	srv(&f, "+OK ready <1.2@x>\r\n");
	cli(&f, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
	srv(&f, "+OK mrose's maildrop has 2 messages\r\n");
	cli(&f, "LIST\r\n");
	srv(&f, "+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n");
	cli(&f, "QUIT\r\n");
	srv(&f, "+OK\r\n");
	fix_end(&f);
	assert_int_equal(count(&f, "notice"), 0);
	assert_int_equal(count(&f, "pop3"), 3);
	assert_str(rec(&f, "pop3", 0), "user", "m***e");
	assert_null(json_object_get(rec(&f, "pop3", 0), "arg"));
	assert_absent(&f, "c4c9334bac560ecc979e58001b3e22fb");
	assert_str(rec(&f, "pop3", 1), "msg", "2 messages");
	fix_free(&f);

	fix_start(&f, &an_pop3, AN_USER_MASK);
	srv(&f, "+OK ready\r\n");
	cli(&f, "AUTH PLAIN\r\n");
	srv(&f, "+ \r\n");
	cli(&f, PLAIN_B64 "\r\n");
	srv(&f, "+OK logged in\r\n");
	cli(&f, "STLS\r\n");
	srv(&f, "+OK begin TLS\r\n");
	cli(&f, "USER bob\r\nPASS inside-tls\r\n");
	fix_end(&f);
	assert_int_equal(count(&f, "notice"), 1);
	assert_str(rec(&f, "notice", 0), "mechanism", "AUTH PLAIN");
	assert_int_equal(count(&f, "pop3"), 2);
	assert_str(rec(&f, "pop3", 0), "arg", "PLAIN");
	assert_str(rec(&f, "pop3", 1), "command", "STLS");
	assert_absent(&f, SECRET);
	assert_absent(&f, "inside-tls");
	fix_free(&f);
}

static void test_pop3_malformed(void **state)
{
	struct fix f;

	fix_start(&f, &an_pop3, AN_USER_MASK);
	srv(&f, "+OK ready\r\n");
	cli(&f, "RETR 1\r\n");
	srv(&f, "+OK\r\nSubject: cut\r\n\r\nsome body\r\n");
	an_test_gap(f.s, false, 1000);
	srv(&f, "more\r\n.\r\n");
	cli(&f, "\x01\x02\xff garbage\r\nNOOP\r\n");
	srv(&f, "-ERR what\r\n+OK\r\nnonsense\r\n");
	cli(&f, "RETR 2\r\n");
	srv(&f, "+OK\r\nSubject: unfinished\r\n\r\nno end");
	fix_end(&f);
	assert_true(weird_seen(&f, "pop3_bad_command"));
	assert_true(weird_seen(&f, "pop3_content_gap"));
	assert_true(count(&f, "pop3") >= 2);
	assert_str(rec(&f, "pop3", 0), "command", "RETR");
	fix_free(&f);
}

/* ---- FTP -------------------------------------------------------------- */

static void test_ftp(void **state)
{
	struct fix f;
	json_t *r;

	fix_start(&f, &an_ftp, AN_USER_MASK);
	srv(&f, "220-Welcome\r\n220 FTP server ready\r\n");
	cli(&f, "USER bob.smith\r\n");
	srv(&f, "331 Password required\r\n");
	cli(&f, "PASS ftp-Secret\r\n");
	srv(&f, "230 Logged in\r\n");
	cli(&f, "PASV\r\n");
	srv(&f, "227 Entering Passive Mode (10,0,0,2,195,80)\r\n");
	cli(&f, "RETR report.txt\r\n");
	srv(&f, "150 Opening data connection\r\n226-Transfer\r\n more\r\n226 complete\r\n");
	cli(&f, "QUIT\r\n");
	srv(&f, "221 Goodbye\r\n");
	fix_end(&f);
	assert_int_equal(count(&f, "notice"), 1);
	assert_str(rec(&f, "notice", 0), "user", "b***h");
	assert_absent(&f, "ftp-Secret");
	assert_absent(&f, "bob.smith");
	assert_int_equal(count(&f, "ftp"), 2);
	r = rec(&f, "ftp", 0);
	assert_str(r, "command", "PASV");
	assert_int_equal(json_integer_value(json_object_get(r, "reply_code")), 227);
	r = rec(&f, "ftp", 1);
	assert_str(r, "command", "RETR");
	assert_str(r, "arg", "report.txt");
	assert_str(r, "user", "b***h");
	assert_int_equal(json_integer_value(json_object_get(r, "reply_code")), 226);
	assert_str(r, "reply_msg", "complete");
	fix_free(&f);

	fix_start(&f, &an_ftp, AN_USER_MASK);
	srv(&f, "220 ready\r\n");
	cli(&f, "USER anonymous\r\n");
	srv(&f, "331 send email\r\n");
	cli(&f, "PASS guest@example.org\r\n");
	srv(&f, "230 ok\r\n");
	cli(&f, "AUTH TLS\r\n");
	srv(&f, "234 go\r\n");
	cli(&f, "USER real\r\nPASS inside\r\n");
	fix_end(&f);
	assert_int_equal(count(&f, "notice"), 0);
	assert_absent(&f, "guest@example.org");
	fix_free(&f);
}

/* ---- Telnet ----------------------------------------------------------- */

static void tel(struct fix *f, bool orig, const void *d, size_t len)
{
	an_test_data(f->s, orig, d, len, f->ts += 1000);
}

static void test_telnet(void **state)
{
	static const uint8_t srv_neg[] = { 0xff, 0xfd, 0x18, 0xff, 0xfd, 0x20, 0xff, 0xfb, 0x01 };
	static const uint8_t cli_neg[] = { 0xff, 0xfb, 0x18, 0xff, 0xfa, 0x18, 0x00, 'x', 't',
					   'e', 'r', 'm', 0xff, 0xf0, 0xff, 0xfd, 0x01 };
	struct fix f;
	const char *typed = "alicf\x7f" "e\r\n";
	size_t i;

	fix_start(&f, &an_telnet, AN_USER_MASK);
	tel(&f, false, srv_neg, sizeof(srv_neg));
	tel(&f, true, cli_neg, sizeof(cli_neg));
	tel(&f, false, "\r\nDebian GNU/Linux 12\r\nhost Login: ", 34);
	for (i = 0; typed[i] != '\0'; i++) {
		tel(&f, true, typed + i, 1);
		if (typed[i] >= 'a')
			tel(&f, false, typed + i, 1);   /* the echo */
	}
	tel(&f, false, "\r\nPassword: ", 12);
	tel(&f, true, "tel\xff\xffnet-pw\r\0", 13);
	tel(&f, false, "\r\nLast login: today\r\n$ ", 23);
	tel(&f, true, "ls\r\n", 4);
	fix_end(&f);
	assert_int_equal(count(&f, "notice"), 1);
	assert_str(rec(&f, "notice", 0), "user", "a***e");
	assert_absent(&f, "net-pw");
	assert_absent(&f, "alice");
	fix_free(&f);
}

static void test_ftp_telnet_malformed(void **state)
{
	static const uint8_t split1[] = { 0xff }, split2[] = { 0xfd, 0x18, 0xff, 0xfa, 0x18 };
	struct fix f;
	char *big = malloc(10000);

	fix_start(&f, &an_ftp, AN_USER_MASK);
	srv(&f, "220 ready\r\n");
	cli(&f, "PASS nouser\r\n");          /* no USER: nobody to report */
	srv(&f, "503 login with USER first\r\nnot a reply\r\n");
	memset(big, 'U', 9998);
	big[9998] = '\n';
	big[9999] = '\0';
	cli(&f, big);
	cli(&f, "\x01\x02 junk\r\nUSER carol\r\n");
	an_test_gap(f.s, false, 100);
	srv(&f, "331 ok\r\n");
	cli(&f, "PASS c-secret\r\nSTOR x.bin\r\n");
	srv(&f, "230 ok\r\n150 go\r\n226 ok\r\n");
	fix_end(&f);
	free(big);
	assert_true(weird_seen(&f, "ftp_bad_reply"));
	assert_true(weird_seen(&f, "ftp_bad_command"));
	assert_true(weird_seen(&f, "line_too_long"));
	assert_int_equal(count(&f, "notice"), 1);
	assert_str(rec(&f, "notice", 0), "user", "c***l");
	assert_absent(&f, "c-secret");
	assert_absent(&f, "nouser");
	fix_free(&f);

	fix_start(&f, &an_telnet, AN_USER_MASK);
	tel(&f, false, split1, sizeof(split1));     /* IAC split from its command */
	tel(&f, false, split2, sizeof(split2));     /* SB never ended: all swallowed */
	tel(&f, false, "login: ", 7);
	tel(&f, true, "mallory\r\n", 9);
	tel(&f, false, "Password: ", 10);
	tel(&f, true, "x\r\n", 3);
	assert_int_equal(count(&f, "notice"), 0);
	an_test_gap(f.s, false, 10);                /* resets the dialogue */
	tel(&f, false, "\r\nlogin: ", 9);
	tel(&f, true, "trent\r\n", 7);
	an_test_gap(f.s, true, 10);
	tel(&f, false, "Password: ", 10);
	tel(&f, true, "y\r\n", 3);
	tel(&f, false, "\r\nPassword: ", 12);     /* a device's line password */
	tel(&f, true, "z-secret\r\n", 10);
	fix_end(&f);
	assert_true(weird_seen(&f, "telnet_content_gap"));
	assert_int_equal(count(&f, "notice"), 2);
	assert_null(json_object_get(rec(&f, "notice", 1), "user"));   /* no name asked */
	assert_absent(&f, "z-secret");
	fix_free(&f);
}

/* ---- probes ----------------------------------------------------------- */

static enum an_probe_result probe(const struct analyzer *a, const char *orig, const char *resp)
{
	struct an_probe_view v = {
		.orig = (const uint8_t *)orig, .orig_len = strlen(orig),
		.resp = (const uint8_t *)resp, .resp_len = strlen(resp),
		.proto = 6, .orig_p = 40000, .resp_p = 2525,
	};

	return a->probe(&v);
}

static void test_probes(void **state)
{
	assert_int_equal(probe(&an_smtp, "EHLO x\r\n", "220 mx ESMTP\r\n"), AN_PROBE_YES);
	assert_int_equal(probe(&an_smtp, "", "220 mx ESMTP\r\n"), AN_PROBE_MAYBE);
	assert_int_equal(probe(&an_smtp, "USER bob\r\n", "220 ftp\r\n"), AN_PROBE_NO);
	assert_int_equal(probe(&an_smtp, "", "+OK pop\r\n"), AN_PROBE_NO);
	assert_int_equal(probe(&an_smtp, "GET / HTTP/1.1\r\n", ""), AN_PROBE_NO);
	assert_int_equal(probe(&an_ftp, "USER bob\r\n", "220 ftp\r\n"), AN_PROBE_YES);
	assert_int_equal(probe(&an_ftp, "FEAT\r\n", "220 ftp\r\n"), AN_PROBE_YES);
	assert_int_equal(probe(&an_ftp, "", "220 ftp\r\n"), AN_PROBE_MAYBE);
	assert_int_equal(probe(&an_ftp, "EHLO x\r\n", "220 mx\r\n"), AN_PROBE_NO);
	assert_int_equal(probe(&an_ftp, "", "HTTP/1.1 200 OK\r\n"), AN_PROBE_NO);
	assert_int_equal(probe(&an_pop3, "", "+OK ready\r\n"), AN_PROBE_YES);
	assert_int_equal(probe(&an_pop3, "CAPA\r\n", ""), AN_PROBE_MAYBE);
	assert_int_equal(probe(&an_pop3, "", "220 x\r\n"), AN_PROBE_NO);
	assert_int_equal(probe(&an_pop3, "GET / HTTP/1.0\r\n", ""), AN_PROBE_NO);
	assert_int_equal(probe(&an_telnet, "", "\xff\xfd\x18"), AN_PROBE_YES);
	assert_int_equal(probe(&an_telnet, "\xff\xfb\x18", "login: "), AN_PROBE_YES);
	assert_int_equal(probe(&an_telnet, "", "220 x\r\n"), AN_PROBE_NO);
	assert_int_equal(probe(&an_telnet, "", ""), AN_PROBE_MAYBE);
	assert_int_equal(probe(&an_telnet, "\xff", ""), AN_PROBE_MAYBE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_full),
		cmocka_unit_test(test_smtp_user_clear),
		cmocka_unit_test(test_smtp_auth_login),
		cmocka_unit_test(test_smtp_starttls),
		cmocka_unit_test(test_smtp_pipelining),
		cmocka_unit_test(test_smtp_bdat),
		cmocka_unit_test(test_smtp_bytewise),
		cmocka_unit_test(test_smtp_malformed),
		cmocka_unit_test(test_mime_nested),
		cmocka_unit_test(test_mime_words),
		cmocka_unit_test(test_pop3_user_pass),
		cmocka_unit_test(test_pop3_bytewise),
		cmocka_unit_test(test_pop3_apop_auth_stls),
		cmocka_unit_test(test_pop3_malformed),
		cmocka_unit_test(test_ftp),
		cmocka_unit_test(test_telnet),
		cmocka_unit_test(test_ftp_telnet_malformed),
		cmocka_unit_test(test_probes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
