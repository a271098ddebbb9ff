/* files: one "files" record per file seen in a session (files.h).
 *
 * A file keeps its first AN_FILE_SNIFF_BYTES for MIME sniffing and runs
 * MD5, SHA-1 and SHA-256 over its bytes as they come, so its memory does
 * not grow with its size. The hashes use mbedtls's generic MD API, which
 * is the same in mbedtls 2.28 and 3.6 (the per-algorithm *_ret names of
 * 2.28 are gone in 3.x).
 */
#include "files.h"

#include <errno.h>
#include <string.h>

#include <mbedtls/md.h>

#include "buf.h"
#include "jsonw.h"

#define FILE_NAME_MAX 255        /* bytes of a filename kept */
#define FILE_HINT_MAX 64         /* bytes of a declared type kept */
#define FILE_MD_COST 512         /* bytes mbedtls allocates for the 3 contexts */

enum { H_MD5, H_SHA1, H_SHA256, H_N };

struct an_file {
	struct an_session *s;
	uint64_t ts_us;              /* opened */
	const char *source;          /* static */
	bool is_orig;
	bool hashing;                /* every byte so far went to the hashes */
	bool md_ok;                  /* the contexts were set up */
	uint32_t depth;
	uint64_t seen, total, missing, overflow;
	uint32_t head_len;
	bool head_done;              /* a gap or the cap ended the head */
	uint8_t head[AN_FILE_SNIFF_BYTES];
	char hint[FILE_HINT_MAX];
	char fuid[24];
	char *filename;              /* an_alloc'd, or NULL */
	size_t filename_len;
	mbedtls_md_context_t md[H_N];
};

static const mbedtls_md_type_t md_types[H_N] = { MBEDTLS_MD_MD5, MBEDTLS_MD_SHA1,
						 MBEDTLS_MD_SHA256 };
static const char *const md_keys[H_N] = { "md5", "sha1", "sha256" };

/* splitmix64's finaliser: a bijection on 64 bits. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 'F' and 96 bits in base62, as flow.c's uids. The bits are a keyed
 * bijection of a per-thread file counter, keyed by the connection's uid:
 * as unpredictable as the uids (random unless flow_config.uid_seed is set, in
 * which case a replay gives the same fuids, as it gives the same uids),
 * and distinct within a thread since the counter never repeats. */
static void make_fuid(const char *uid, char *out)
{
	static _Thread_local uint64_t serial;
	static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint64_t k = 0xcbf29ce484222325ull, x, y;
	uint32_t limb[3];
	char tmp[24];
	size_t n = 0, i;

	for (i = 0; uid[i] != '\0'; i++)      /* FNV-1a of the uid */
		k = (k ^ (uint8_t)uid[i]) * 0x100000001b3ull;
	serial++;
	x = mix64(k ^ mix64(serial ^ 0x9e3779b97f4a7c15ull));
	y = mix64(x ^ mix64(k + 1));
	limb[0] = (uint32_t)(x >> 32);
	limb[1] = (uint32_t)x;
	limb[2] = (uint32_t)y;
	do {
		uint64_t r = 0;

		for (i = 0; i < 3; i++) {
			uint64_t cur = (r << 32) | limb[i];

			limb[i] = (uint32_t)(cur / 62);
			r = cur % 62;
		}
		tmp[n++] = b62[r];
	} while ((limb[0] | limb[1] | limb[2]) != 0 && n < 22);
	out[0] = 'F';
	for (i = 0; i < n; i++)
		out[1 + i] = tmp[n - 1 - i];
	out[1 + n] = '\0';
}

static void md_setup(struct an_file *f)
{
	int i;

	for (i = 0; i < H_N; i++)
		mbedtls_md_init(&f->md[i]);
	for (i = 0; i < H_N; i++) {
		const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md_types[i]);

		if (info == NULL || mbedtls_md_setup(&f->md[i], info, 0) != 0 ||
		    mbedtls_md_starts(&f->md[i]) != 0)
			return;
	}
	f->md_ok = true;
}

static void md_free(struct an_file *f)
{
	int i;

	for (i = 0; i < H_N; i++)
		mbedtls_md_free(&f->md[i]);
}

struct an_file *an_file_open(struct an_session *s, const char *source, bool is_orig,
			     uint32_t depth, const char *filename, const char *mime_hint,
			     uint64_t total_bytes, uint64_t ts_us)
{
	struct an_file *f;

	/* The MD contexts' own allocations are charged with the file. */
	f = an_alloc(s, sizeof(*f) + FILE_MD_COST);
	if (f == NULL) {
		an_weird(s, "file_no_memory");
		return NULL;
	}
	memset(f, 0, sizeof(*f));
	f->s = s;
	f->ts_us = ts_us;
	f->source = source;
	f->is_orig = is_orig;
	f->depth = depth;
	f->total = total_bytes;
	f->hashing = true;
	make_fuid(an_conn(s)->uid, f->fuid);
	if (mime_hint != NULL) {
		size_t n = strnlen(mime_hint, sizeof(f->hint) - 1);

		memcpy(f->hint, mime_hint, n);
		f->hint[n] = '\0';
	}
	if (filename != NULL && filename[0] != '\0') {
		size_t n = strnlen(filename, FILE_NAME_MAX);

		f->filename = an_alloc(s, n);
		if (f->filename != NULL) {
			memcpy(f->filename, filename, n);
			f->filename_len = n;
		}
	}
	/* Hashing is most of the analyzers' CPU on plain HTTP (about 5.4
	 * ns a byte for the three with mbedtls): a deployment may turn it
	 * off (sensor.analyzers.file_hashes). */
	if (an_session_config(s)->file_hashes)
		md_setup(f);
	else
		for (int i = 0; i < H_N; i++)
			mbedtls_md_init(&f->md[i]);
	return f;
}

const char *an_file_fuid(const struct an_file *f)
{
	return f != NULL ? f->fuid : "";
}

const char *an_file_mime(const struct an_file *f)
{
	if (f == NULL)
		return NULL;
	if (f->head_len == 0)
		return f->hint[0] != '\0' ? f->hint : NULL;
	return an_file_sniff(f->head, f->head_len, f->hint[0] != '\0' ? f->hint : NULL);
}

void an_file_data(struct an_file *f, const uint8_t *d, size_t len)
{
	const struct an_config *cfg;
	size_t take = len;
	int i;

	if (f == NULL || len == 0)
		return;
	if (!f->head_done && f->head_len < sizeof(f->head)) {
		size_t n = sizeof(f->head) - f->head_len;

		if (n > len)
			n = len;
		memcpy(f->head + f->head_len, d, n);
		f->head_len += (uint32_t)n;
	}
	cfg = an_session_config(f->s);
	if (f->hashing && cfg != NULL && cfg->file_depth_bytes > 0 &&
	    f->seen + len > cfg->file_depth_bytes) {
		take = f->seen >= cfg->file_depth_bytes ? 0 : (size_t)(cfg->file_depth_bytes - f->seen);
		f->overflow += len - take;
		f->hashing = false;
	} else if (!f->hashing) {
		take = 0;
	}
	if (take > 0 && f->md_ok)
		for (i = 0; i < H_N; i++)
			mbedtls_md_update(&f->md[i], d, take);
	f->seen += len;
}

void an_file_gap(struct an_file *f, uint64_t len)
{
	if (f == NULL)
		return;
	f->missing += len;
	f->hashing = false;
	f->head_done = true;    /* sniff what came before the gap only */
}

void an_file_overflow(struct an_file *f, uint64_t len)
{
	if (f == NULL)
		return;
	f->overflow += len;
	f->hashing = false;
}

/* Seconds with six decimals, exact (as conn_record.c's duration). */
static void seconds(struct jsonw *w, const char *key, uint64_t us)
{
	jsonw_key(w, key);
	jsonw_uint(w, us / 1000000);
	if (w->err == 0 && buf_printf(w->out, ".%06u", (unsigned)(us % 1000000)) < 0)
		w->err = -ENOMEM;
}

static void write_hashes(struct an_file *f, struct jsonw *w)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t out[MBEDTLS_MD_MAX_SIZE];
	char text[2 * MBEDTLS_MD_MAX_SIZE];
	int i;

	for (i = 0; i < H_N; i++) {
		size_t n = mbedtls_md_get_size(mbedtls_md_info_from_type(md_types[i])), j;

		if (n > sizeof(out) || mbedtls_md_finish(&f->md[i], out) != 0)
			continue;
		for (j = 0; j < n; j++) {
			text[2 * j] = hex[out[j] >> 4];
			text[2 * j + 1] = hex[out[j] & 15];
		}
		jsonw_key(w, md_keys[i]);
		jsonw_string_ascii(w, text, 2 * n);
	}
}

void an_file_close(struct an_file *f, bool timedout, uint64_t ts_us)
{
	const struct conn *c;
	const char *mime;
	struct jsonw *w;

	if (f == NULL)
		return;
	c = an_conn(f->s);
	mime = an_file_mime(f);
	w = an_record_begin(f->s, "files", f->ts_us);
	if (w != NULL) {
		jsonw_kv_cstr(w, "fuid", f->fuid);
		jsonw_kv_ascii(w, "source", f->source);
		jsonw_kv_uint(w, "depth", f->depth);
		jsonw_key(w, "analyzers");
		jsonw_array_open(w);
		if (f->md_ok) {
			jsonw_string_ascii(w, "MD5", 3);
			jsonw_string_ascii(w, "SHA1", 4);
			jsonw_string_ascii(w, "SHA256", 6);
		}
		jsonw_array_close(w);
		if (mime != NULL)
			jsonw_kv_cstr(w, "mime_type", mime);
		if (f->filename != NULL)
			jsonw_kv_str(w, "filename", f->filename, f->filename_len);
		seconds(w, "duration", ts_us > f->ts_us ? ts_us - f->ts_us : 0);
		/* Zeek: whether the sender of the file is local. */
		if (c != NULL)
			jsonw_kv_bool(w, "local_orig", f->is_orig ? c->local_orig : c->local_resp);
		jsonw_kv_bool(w, "is_orig", f->is_orig);
		jsonw_kv_uint(w, "seen_bytes", f->seen);
		if (f->total != UINT64_MAX)
			jsonw_kv_uint(w, "total_bytes", f->total);
		jsonw_kv_uint(w, "missing_bytes", f->missing);
		jsonw_kv_uint(w, "overflow_bytes", f->overflow);
		jsonw_kv_bool(w, "timedout", timedout);
		if (f->md_ok && f->hashing && f->missing == 0 && f->overflow == 0)
			write_hashes(f, w);
		an_record_end(f->s, SPOOL_P2);
	}
	md_free(f);
	if (f->filename != NULL)
		an_free(f->s, f->filename, f->filename_len);
	an_free(f->s, f, sizeof(*f) + FILE_MD_COST);
}
