/* The TLS analyzer (an_ssl.c, an_ssl_fp.c, an_ssl_x509.c): hand-built
 * TLS 1.2 and 1.3 handshakes (RFC 5246, RFC 8446) with real certificates
 * (test_an_ssl_certs.h), checked field by field against Zeek's ssl.log
 * and x509.log; the JA4 spec's published examples exactly; JA3 and JA3S
 * against MD5s of their string forms written out by hand from the
 * Salesforce spec (and the spec's own example); resumption by session id,
 * ticket and PSK; HelloRetryRequest; every split point of every flight;
 * malformed input; detection.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <mbedtls/md.h>

#include "an_ssl.h"
#include "analyzer.h"
#include "test_an_ssl_certs.h"

#define T0 1764400000000000ull
#define LEAF_FP "84e88c14dbfa62b038857abfc4f84b652ad8fc444cf9a249b62a2b2cc9dc5e9b"
#define CA_FP "bcced309a34e3e29024b7d9bfaf4ac344079234a342ab2bb4bc55cedbcbf8b1a"

/* ---- a byte builder -------------------------------------------------- */

struct bb {
	uint8_t d[1 << 18];
	size_t n;
};

static void u8(struct bb *b, unsigned v) { b->d[b->n++] = (uint8_t)v; }
static void u16(struct bb *b, unsigned v) { u8(b, v >> 8); u8(b, v); }
static void u24(struct bb *b, unsigned v) { u8(b, v >> 16); u16(b, v & 0xffff); }
static void bytes(struct bb *b, const void *p, size_t n) { memcpy(b->d + b->n, p, n); b->n += n; }
static void fill(struct bb *b, uint8_t c, size_t n) { memset(b->d + b->n, c, n); b->n += n; }
static size_t open_(struct bb *b, int w) { size_t at = b->n; b->n += (size_t)w; return at; }
static void close_(struct bb *b, size_t at, int w)
{
	size_t len = b->n - at - (size_t)w;
	int i;

	for (i = 0; i < w; i++)
		b->d[at + (size_t)i] = (uint8_t)(len >> (8 * (w - 1 - i)));
}

/* One extension: type, then the body the caller writes, closed by ext_end. */
static size_t ext(struct bb *b, unsigned type) { u16(b, type); return open_(b, 2); }
static void ext_end(struct bb *b, size_t at) { close_(b, at, 2); }

static void ext_u16_list(struct bb *b, unsigned type, int lenw, const unsigned *v, size_t n)
{
	size_t e = ext(b, type), l = open_(b, lenw);
	size_t i;

	for (i = 0; i < n; i++)
		u16(b, v[i]);
	close_(b, l, lenw);
	ext_end(b, e);
}

static void ext_sni(struct bb *b, const char *name)
{
	size_t e = ext(b, 0), l = open_(b, 2);

	u8(b, 0);
	u16(b, (unsigned)strlen(name));
	bytes(b, name, strlen(name));
	close_(b, l, 2);
	ext_end(b, e);
}

static void ext_alpn(struct bb *b, const char *const *names, size_t n)
{
	size_t e = ext(b, 0x10), l = open_(b, 2), i;

	for (i = 0; i < n; i++) {
		u8(b, (unsigned)strlen(names[i]));
		bytes(b, names[i], strlen(names[i]));
	}
	close_(b, l, 2);
	ext_end(b, e);
}

static void ext_empty(struct bb *b, unsigned type) { ext_end(b, ext(b, type)); }

/* Wraps the handshake messages in `msgs` into records of at most `frag`
 * bytes (RFC 8446 5.1 lets a message span records). */
static void records(struct bb *out, unsigned type, const struct bb *msgs, size_t frag)
{
	size_t off = 0;

	do {
		size_t n = msgs->n - off < frag ? msgs->n - off : frag;

		u8(out, type);
		u16(out, 0x0303);
		u16(out, (unsigned)n);
		bytes(out, msgs->d + off, n);
		off += n;
	} while (off < msgs->n);
}

static size_t hs_open(struct bb *b, unsigned type) { u8(b, type); return open_(b, 3); }
static void hs_close(struct bb *b, size_t at) { close_(b, at, 3); }

static void ccs(struct bb *b) { u8(b, 20); u16(b, 0x0303); u16(b, 1); u8(b, 1); }
static void encrypted(struct bb *b, unsigned type, size_t n)
{
	u8(b, type);
	u16(b, 0x0303);
	u16(b, (unsigned)n);
	fill(b, 0xe5, n);
}

/* ---- the sink and a session ------------------------------------------ */

struct sink {
	json_t *recs[64];
	size_t n;
	char raw[64][8192];
};

static void on_record(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	struct sink *k = ctx;
	json_error_t err;

	assert_int_equal(cls, SPOOL_P2);
	assert_true(k->n < 64);
	assert_true(len < sizeof(k->raw[0]));
	memcpy(k->raw[k->n], json, len);
	k->raw[k->n][len] = '\0';
	k->recs[k->n] = json_loadb(json, len, 0, &err);
	assert_non_null(k->recs[k->n]);
	if (getenv("AN_SSL_DUMP"))
		fprintf(stderr, "%s\n", k->raw[k->n]);
	k->n++;
}

static void sink_clear(struct sink *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		json_decref(k->recs[i]);
	k->n = 0;
}

struct weirds {
	char names[32][64];
	uint64_t counts[32];
	int n;
};

static void on_weird(void *arg, const char *name, uint64_t n)
{
	struct weirds *w = arg;

	if (w->n < 32) {
		snprintf(w->names[w->n], 64, "%s", name);
		w->counts[w->n++] = n;
	}
}

static uint64_t weird(struct an_ctx *c, const char *name)
{
	struct weirds w = { .n = 0 };
	int i;

	an_weirds(c, on_weird, &w);
	for (i = 0; i < w.n; i++)
		if (strcmp(w.names[i], name) == 0)
			return w.counts[i];
	return 0;
}

struct flight {
	bool is_orig;
	struct bb *b;
};

struct run {
	struct an_ctx *c;
	struct sink k;
};

static void run_open(struct run *r)
{
	struct an_config cfg;

	an_config_defaults(&cfg);
	memset(&r->k, 0, sizeof(r->k));
	assert_int_equal(an_ctx_create(&r->c, &cfg, NULL, on_record, &r->k), 0);
}

static void run_close(struct run *r)
{
	sink_clear(&r->k);
	an_ctx_destroy(r->c);
}

static struct an_session *session(struct run *r)
{
	struct conn id;
	struct an_session *s;

	memset(&id, 0, sizeof(id));
	snprintf(id.uid, sizeof(id.uid), "CTest123");
	snprintf(id.community_id, sizeof(id.community_id), "1:wCb3OG7yAFWelaUydu0D+125CLM=");
	id.ip_version = 4;
	id.proto = IPPROTO_TCP;
	id.orig_h[0] = 10, id.orig_h[3] = 1;
	id.resp_h[0] = 10, id.resp_h[3] = 2;
	id.orig_p = 40000;
	id.resp_p = 443;
	id.ts_us = T0;
	s = an_test_session(r->c, &id, &an_ssl);
	assert_non_null(s);
	return s;
}

/* Feeds the flights; flight `split` (if >= 0) in two pieces at `at`, or
 * byte by byte when at == SIZE_MAX. */
static void feed(struct run *r, const struct flight *f, size_t nf, int split, size_t at)
{
	struct an_session *s = session(r);
	size_t i, j;

	for (i = 0; i < nf; i++) {
		uint64_t ts = T0 + i * 1000;

		if ((int)i != split) {
			an_test_data(s, f[i].is_orig, f[i].b->d, f[i].b->n, ts);
		} else if (at == SIZE_MAX) {
			for (j = 0; j < f[i].b->n; j++)
				an_test_data(s, f[i].is_orig, f[i].b->d + j, 1, ts);
		} else {
			an_test_data(s, f[i].is_orig, f[i].b->d, at, ts);
			an_test_data(s, f[i].is_orig, f[i].b->d + at, f[i].b->n - at, ts);
		}
	}
	an_test_end(s, T0 + 10 * 1000000);
}

static json_t *find(struct sink *k, const char *type, int nth)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (strcmp(json_string_value(json_object_get(k->recs[i], "type")), type) == 0 &&
		    nth-- == 0)
			return k->recs[i];
	return NULL;
}

static void want_str(json_t *o, const char *key, const char *v)
{
	json_t *j = json_object_get(o, key);

	if (v == NULL) {
		if (j != NULL)
			fail_msg("%s: want absent, got %s", key, json_dumps(j, JSON_ENCODE_ANY));
		return;
	}
	if (!json_is_string(j))
		fail_msg("%s: want \"%s\", got none", key, v);
	assert_string_equal(json_string_value(j), v);
}

static void want_bool(json_t *o, const char *key, bool v)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_boolean(j))
		fail_msg("%s: want a boolean", key);
	assert_int_equal(json_is_true(j), v);
}

static void want_int(json_t *o, const char *key, long long v)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j))
		fail_msg("%s: want %lld, got none", key, v);
	assert_int_equal(json_integer_value(j), v);
}

/* A JSON array of strings equal to `v` (n entries). */
static void want_list(json_t *o, const char *key, const char *const *v, size_t n)
{
	json_t *a = json_object_get(o, key);
	size_t i;

	if (!json_is_array(a))
		fail_msg("%s: want an array", key);
	assert_int_equal(json_array_size(a), n);
	for (i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_array_get(a, i)), v[i]);
}

static void hash_hex(mbedtls_md_type_t t, const char *s, char *out, size_t hexlen)
{
	uint8_t d[64];
	size_t i;

	assert_int_equal(mbedtls_md(mbedtls_md_info_from_type(t), (const uint8_t *)s, strlen(s), d),
			 0);
	for (i = 0; i < hexlen / 2; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	out[hexlen] = '\0';
}

/* ---- handshakes ------------------------------------------------------ */

static const unsigned sigalgs_short[] = { 0x0403, 0x0804, 0x0401 };

/* TLS 1.2 ClientHello, with GREASE, SNI, ALPN, and `sid_len` bytes of
 * session id 0x44 and a session ticket of `ticket` bytes. */
static void tls12_client_hello(struct bb *m, size_t sid_len, size_t ticket)
{
	static const unsigned cs[] = { 0x0a0a, 0xc02b, 0xc02f, 0x009c, 0x00ff };
	static const unsigned groups[] = { 0x2a2a, 29, 23, 24 };
	static const char *const alpn[] = { "h2", "http/1.1" };
	size_t h = hs_open(m, 1), l, e;
	size_t i;

	u16(m, 0x0303);
	fill(m, 0x11, 32);
	u8(m, (unsigned)sid_len);
	fill(m, 0x44, sid_len);
	u16(m, sizeof(cs) / sizeof(cs[0]) * 2);
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		u16(m, cs[i]);
	u8(m, 1);
	u8(m, 0);
	l = open_(m, 2);
	ext_empty(m, 0x1a1a);
	ext_sni(m, "www.example.com");
	ext_u16_list(m, 10, 2, groups, 4);
	e = ext(m, 11);
	u8(m, 1);
	u8(m, 0);
	ext_end(m, e);
	ext_u16_list(m, 13, 2, sigalgs_short, 3);
	ext_alpn(m, alpn, 2);
	e = ext(m, 35);
	fill(m, 0x77, ticket);
	ext_end(m, e);
	ext_empty(m, 23);
	e = ext(m, 0xff01);
	u8(m, 0);
	ext_end(m, e);
	close_(m, l, 2);
	hs_close(m, h);
}

static void tls12_server_hello(struct bb *m, size_t sid_len, uint8_t sid_byte)
{
	static const char *const alpn[] = { "h2" };
	size_t h = hs_open(m, 2), l, e;

	u16(m, 0x0303);
	fill(m, 0x22, 32);
	u8(m, (unsigned)sid_len);
	fill(m, sid_byte, sid_len);
	u16(m, 0xc02b);
	u8(m, 0);
	l = open_(m, 2);
	e = ext(m, 0xff01);
	u8(m, 0);
	ext_end(m, e);
	e = ext(m, 11);
	u8(m, 1);
	u8(m, 0);
	ext_end(m, e);
	ext_alpn(m, alpn, 1);
	ext_empty(m, 35);
	ext_empty(m, 23);
	close_(m, l, 2);
	hs_close(m, h);
}

static void certificate_msg(struct bb *m, const uint8_t *const *der, const size_t *len, size_t n)
{
	size_t h = hs_open(m, 11), l = open_(m, 3), i;

	for (i = 0; i < n; i++) {
		u24(m, (unsigned)len[i]);
		bytes(m, der[i], len[i]);
	}
	close_(m, l, 3);
	hs_close(m, h);
}

static void chain(struct bb *m)
{
	const uint8_t *der[] = { cert_leaf_der, cert_ca_der };
	size_t len[] = { sizeof(cert_leaf_der), sizeof(cert_ca_der) };

	certificate_msg(m, der, len, 2);
}

/* The flights of a full TLS 1.2 ECDHE handshake; `frag` cuts the
 * server's first flight into records of that size. */
struct hs12 {
	struct bb c1, s1, c2, s2;
	struct flight f[4];
};

static void build_tls12(struct hs12 *h, size_t frag)
{
	struct bb *m = calloc(1, sizeof(*m));
	size_t x;

	memset(h, 0, sizeof(*h));
	tls12_client_hello(m, 0, 0);
	records(&h->c1, 22, m, 16384);

	m->n = 0;
	tls12_server_hello(m, 32, 0x33);
	chain(m);
	x = hs_open(m, 12);          /* ServerKeyExchange: named_curve secp256r1 */
	u8(m, 3);
	u16(m, 23);
	u8(m, 65);
	fill(m, 0x04, 65);
	u16(m, 0x0403);
	u16(m, 70);
	fill(m, 0x30, 70);
	hs_close(m, x);
	hs_close(m, hs_open(m, 14)); /* ServerHelloDone */
	records(&h->s1, 22, m, frag);

	m->n = 0;
	x = hs_open(m, 16);          /* ClientKeyExchange */
	u8(m, 65);
	fill(m, 0x04, 65);
	hs_close(m, x);
	records(&h->c2, 22, m, 16384);
	ccs(&h->c2);
	encrypted(&h->c2, 22, 40);   /* Finished */

	m->n = 0;
	x = hs_open(m, 4);           /* NewSessionTicket */
	u16(m, 0);
	u16(m, 0);
	u16(m, 16);
	fill(m, 0x55, 16);
	hs_close(m, x);
	records(&h->s2, 22, m, 16384);
	ccs(&h->s2);
	encrypted(&h->s2, 22, 40);
	free(m);

	h->f[0] = (struct flight){ true, &h->c1 };
	h->f[1] = (struct flight){ false, &h->s1 };
	h->f[2] = (struct flight){ true, &h->c2 };
	h->f[3] = (struct flight){ false, &h->s2 };
}

static void check_tls12(struct sink *k)
{
	static const char *const fps[] = { LEAF_FP, CA_FP };
	char ja3[33], ja3s[33], b[13], c[13], ja4[40];
	json_t *r;

	assert_int_equal(k->n, 3);
	r = find(k, "ssl", 0);
	assert_non_null(r);
	want_str(r, "uid", "CTest123");
	want_str(r, "ts", "2025-11-29T07:06:40.000000Z");
	want_str(r, "version", "TLSv12");
	want_str(r, "cipher", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
	want_str(r, "curve", "secp256r1");
	want_str(r, "server_name", "www.example.com");
	want_bool(r, "resumed", false);
	want_str(r, "next_protocol", "h2");
	want_bool(r, "established", true);
	want_str(r, "ssl_history", "CsxknGIti");
	want_list(r, "cert_chain_fps", fps, 2);
	want_str(r, "client_cert_chain_fps", NULL);
	want_str(r, "subject", "CN=www.example.com,O=Ward Test\\, Inc.,C=DE");
	want_str(r, "issuer", "CN=Ward Test CA,O=Ward Test,C=DE");
	want_bool(r, "sni_matches_cert", true);
	want_str(r, "last_alert", NULL);

	/* JA3: the string written out by hand from the hello above. */
	hash_hex(MBEDTLS_MD_MD5, "771,49195-49199-156-255,0-10-11-13-16-35-23-65281,29-23-24,0", ja3,
		 32);
	want_str(r, "ja3", ja3);
	hash_hex(MBEDTLS_MD_MD5, "771,49195,65281-11-16-35-23", ja3s, 32);
	want_str(r, "ja3s", ja3s);
	/* JA4: 4 ciphers, 8 extensions (GREASE out), no supported_versions. */
	hash_hex(MBEDTLS_MD_SHA256, "009c,00ff,c02b,c02f", b, 12);
	hash_hex(MBEDTLS_MD_SHA256, "000a,000b,000d,0017,0023,ff01_0403,0804,0401", c, 12);
	snprintf(ja4, sizeof(ja4), "t12d0408h2_%s_%s", b, c);
	want_str(r, "ja4", ja4);

	r = find(k, "x509", 0);
	assert_non_null(r);
	want_str(r, "uid", "CTest123");
	want_str(r, "fingerprint", LEAF_FP);
	want_int(r, "certificate.version", 3);
	want_str(r, "certificate.serial", "AB12CD");
	want_str(r, "certificate.subject", "CN=www.example.com,O=Ward Test\\, Inc.,C=DE");
	want_str(r, "certificate.issuer", "CN=Ward Test CA,O=Ward Test,C=DE");
	want_str(r, "certificate.not_valid_before", "2026-11-29T18:20:12.000000Z");
	want_str(r, "certificate.not_valid_after", "2029-03-03T18:20:12.000000Z");
	want_str(r, "certificate.key_alg", "id-ecPublicKey");
	want_str(r, "certificate.sig_alg", "sha256WithRSAEncryption");
	want_str(r, "certificate.key_type", "ecdsa");
	want_int(r, "certificate.key_length", 256);
	want_str(r, "certificate.curve", "prime256v1");
	want_str(r, "certificate.exponent", NULL);
	{
		static const char *const dns[] = { "www.example.com", "*.example.org" };
		static const char *const uri[] = { "https://example.com/" };
		static const char *const email[] = { "ops@example.com" };
		static const char *const ip[] = { "192.0.2.1" };

		want_list(r, "san.dns", dns, 2);
		want_list(r, "san.uri", uri, 1);
		want_list(r, "san.email", email, 1);
		want_list(r, "san.ip", ip, 1);
	}
	want_bool(r, "basic_constraints.ca", false);
	want_bool(r, "host_cert", true);
	want_bool(r, "client_cert", false);

	r = find(k, "x509", 1);
	assert_non_null(r);
	want_str(r, "fingerprint", CA_FP);
	want_str(r, "certificate.serial", "1001");
	want_str(r, "certificate.subject", "CN=Ward Test CA,O=Ward Test,C=DE");
	want_str(r, "certificate.not_valid_after", "2036-11-26T18:20:12.000000Z");
	want_str(r, "certificate.key_alg", "rsaEncryption");
	want_str(r, "certificate.key_type", "rsa");
	want_int(r, "certificate.key_length", 2048);
	want_str(r, "certificate.exponent", "65537");
	want_str(r, "certificate.curve", NULL);
	want_str(r, "san.dns", NULL);
	want_bool(r, "basic_constraints.ca", true);
	want_int(r, "basic_constraints.path_len", 1);
	want_bool(r, "host_cert", false);
	want_bool(r, "client_cert", false);
}

static void test_tls12(void **state)
{
	struct hs12 *h = calloc(1, sizeof(*h));
	struct run r;

	build_tls12(h, 16384);
	run_open(&r);
	feed(&r, h->f, 4, -1, 0);
	check_tls12(&r.k);
	assert_int_equal(an_ctx_stats(r.c)->mem_bytes, 0);
	run_close(&r);
	free(h);
}

/* Handshake messages spanning records: the server's flight cut into
 * records of 7 bytes, and of 1000. */
static void test_tls12_fragmented(void **state)
{
	static const size_t frags[] = { 7, 1000 };
	struct hs12 *h = calloc(1, sizeof(*h));
	size_t i;

	for (i = 0; i < 2; i++) {
		struct run r;

		build_tls12(h, frags[i]);
		run_open(&r);
		feed(&r, h->f, 4, -1, 0);
		check_tls12(&r.k);
		run_close(&r);
	}
	free(h);
}

/* Every flight cut at every byte, and fed one byte at a time: the same
 * records. */
static void test_tls12_every_split(void **state)
{
	struct hs12 *h = calloc(1, sizeof(*h));
	size_t fl, at;

	build_tls12(h, 16384);
	for (fl = 0; fl < 4; fl++) {
		for (at = 0; at <= h->f[fl].b->n; at++) {
			struct run r;

			run_open(&r);
			feed(&r, h->f, 4, (int)fl, at);
			check_tls12(&r.k);
			run_close(&r);
		}
		{
			struct run r;

			run_open(&r);
			feed(&r, h->f, 4, (int)fl, SIZE_MAX);
			check_tls12(&r.k);
			run_close(&r);
		}
	}
	free(h);
}

/* TLS 1.3 (RFC 8446): the version from supported_versions, the curve from
 * key_share, no certificates (they are encrypted), CCS not counted as
 * encryption; the echoed legacy session id is no resumption. */
static void tls13_client_hello(struct bb *m, const char *sni, bool psk, unsigned group)
{
	static const unsigned cs[] = { 0x1301, 0x1302, 0x1303 };
	static const unsigned groups[] = { 29, 23 };
	static const unsigned vers[] = { 0x0304, 0x0303 };
	static const char *const alpn[] = { "http/1.1" };
	size_t h = hs_open(m, 1), l, e, ks;
	size_t i;

	u16(m, 0x0303);
	fill(m, 0x11, 32);
	u8(m, 32);
	fill(m, 0x66, 32);
	u16(m, 6);
	for (i = 0; i < 3; i++)
		u16(m, cs[i]);
	u8(m, 1);
	u8(m, 0);
	l = open_(m, 2);
	ext_sni(m, sni);
	ext_u16_list(m, 10, 2, groups, 2);
	ext_u16_list(m, 13, 2, sigalgs_short, 3);
	ext_u16_list(m, 43, 1, vers, 2);
	e = ext(m, 51);
	ks = open_(m, 2);
	u16(m, group);
	u16(m, group == 29 ? 32 : 65);
	fill(m, 0x09, group == 29 ? 32 : 65);
	close_(m, ks, 2);
	ext_end(m, e);
	e = ext(m, 45);
	u8(m, 1);
	u8(m, 1);
	ext_end(m, e);
	ext_alpn(m, alpn, 1);
	if (psk) {                   /* pre_shared_key comes last */
		e = ext(m, 41);
		u16(m, 10);
		u16(m, 4);
		fill(m, 0x01, 4);
			u16(m, 0);
		u16(m, 0);
		u16(m, 33);
		u8(m, 32);
		fill(m, 0x02, 32);
		ext_end(m, e);
	}
	close_(m, l, 2);
	hs_close(m, h);
}

static void tls13_server_hello(struct bb *m, bool hrr, bool psk, unsigned group)
{
	static const uint8_t hrr_random[32] = {
		0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65,
		0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2,
		0xc8, 0xa8, 0x33, 0x9c,
	};
	size_t h = hs_open(m, 2), l, e;

	u16(m, 0x0303);
	if (hrr)
		bytes(m, hrr_random, 32);
	else
		fill(m, 0x22, 32);
	u8(m, 32);
	fill(m, 0x66, 32);
	u16(m, 0x1301);
	u8(m, 0);
	l = open_(m, 2);
	e = ext(m, 43);
	u16(m, 0x0304);
	ext_end(m, e);
	e = ext(m, 51);
	u16(m, group);
	if (!hrr) {
		u16(m, group == 29 ? 32 : 65);
		fill(m, 0x0a, group == 29 ? 32 : 65);
	}
	ext_end(m, e);
	if (psk) {
		e = ext(m, 41);
		u16(m, 0);
		ext_end(m, e);
	}
	close_(m, l, 2);
	hs_close(m, h);
}

static void test_tls13(void **state)
{
	static struct bb m, c1, s1, c2;
	struct flight f[3] = { { true, &c1 }, { false, &s1 }, { true, &c2 } };
	char ja3[33];
	struct run r;
	json_t *o;
	int psk;

	for (psk = 0; psk < 2; psk++) {
		m.n = c1.n = s1.n = c2.n = 0;
		tls13_client_hello(&m, "tls13.example", psk, 29);
		records(&c1, 22, &m, 16384);
		m.n = 0;
		tls13_server_hello(&m, false, psk, 29);
		records(&s1, 22, &m, 16384);
		ccs(&s1);
		encrypted(&s1, 23, 30);   /* EncryptedExtensions ... */
		encrypted(&s1, 23, 900);  /* Certificate, CertificateVerify, Finished */
		ccs(&c2);
		encrypted(&c2, 23, 53);   /* Finished */
		encrypted(&c2, 23, 200);  /* application data, after the detach */

		run_open(&r);
		feed(&r, f, 3, -1, 0);
		assert_int_equal(r.k.n, 1);
		o = find(&r.k, "ssl", 0);
		want_str(o, "version", "TLSv13");
		want_str(o, "cipher", "TLS_AES_128_GCM_SHA256");
		want_str(o, "curve", "x25519");
		want_str(o, "server_name", "tls13.example");
		want_bool(o, "resumed", psk != 0);
		want_str(o, "next_protocol", NULL);
		want_bool(o, "established", true);
		want_str(o, "ssl_history", "CsiI");
		want_str(o, "cert_chain_fps", NULL);
		want_str(o, "sni_matches_cert", NULL);
		hash_hex(MBEDTLS_MD_MD5,
			 psk ? "771,4865-4866-4867,0-10-13-43-51-45-16-41,29-23,"
			     : "771,4865-4866-4867,0-10-13-43-51-45-16,29-23,",
			 ja3, 32);
		want_str(o, "ja3", ja3);
		hash_hex(MBEDTLS_MD_MD5, psk ? "771,4865,43-51-41" : "771,4865,43-51", ja3, 32);
		want_str(o, "ja3s", ja3);
		assert_memory_equal(json_string_value(json_object_get(o, "ja4")),
				    psk ? "t13d0308h1_" : "t13d0307h1_", 11);
		run_close(&r);
	}
}

/* HelloRetryRequest (RFC 8446 4.1.4): 'j' in the history, the second
 * ClientHello parsed in plaintext after the client's CCS, the curve from
 * the final ServerHello, the fingerprints from the first hello. */
static void test_hello_retry(void **state)
{
	static struct bb m, c1, s1, c2, s2, c3;
	struct flight f[5] = { { true, &c1 }, { false, &s1 }, { true, &c2 }, { false, &s2 },
			       { true, &c3 } };
	struct run r;
	json_t *o;
	char ja4_first[40];

	tls13_client_hello(&m, "hrr.example", false, 29);
	records(&c1, 22, &m, 16384);
	m.n = 0;
	tls13_server_hello(&m, true, false, 23);
	records(&s1, 22, &m, 16384);
	ccs(&s1);
	ccs(&c2);
	m.n = 0;
	tls13_client_hello(&m, "other.example", false, 23);
	records(&c2, 22, &m, 16384);
	m.n = 0;
	tls13_server_hello(&m, false, false, 23);
	records(&s2, 22, &m, 16384);
	encrypted(&s2, 23, 500);
	encrypted(&c3, 23, 53);

	run_open(&r);
	feed(&r, f, 2, -1, 0);   /* only the first hello and the HRR */
	o = find(&r.k, "ssl", 0);
	snprintf(ja4_first, sizeof(ja4_first), "%s", json_string_value(json_object_get(o, "ja4")));
	want_str(o, "ssl_history", "Cji");
	want_bool(o, "established", false);
	run_close(&r);

	run_open(&r);
	feed(&r, f, 5, -1, 0);
	assert_int_equal(r.k.n, 1);
	o = find(&r.k, "ssl", 0);
	want_str(o, "version", "TLSv13");
	want_str(o, "curve", "secp256r1");
	want_str(o, "server_name", "hrr.example");
	want_str(o, "ssl_history", "CjiICs");
	want_bool(o, "established", true);
	want_str(o, "ja4", ja4_first);
	run_close(&r);
}

/* TLS 1.2 resumption (Zeek's rules): the server echoes the client's
 * session id; or the client offers a ticket with no session id and sends
 * ChangeCipherSpec without a ClientKeyExchange. */
static void test_resumed_tls12(void **state)
{
	static struct bb m, c1, s1, c2;
	struct flight f[3] = { { true, &c1 }, { false, &s1 }, { true, &c2 } };
	int mode;

	for (mode = 0; mode < 3; mode++) {
		struct run r;
		json_t *o;

		m.n = c1.n = s1.n = c2.n = 0;
		/* 0: id echoed; 1: ticket, empty id; 2: a new id (full handshake cut short) */
		tls12_client_hello(&m, mode == 0 ? 32 : mode == 2 ? 32 : 0, mode == 1 ? 100 : 0);
		records(&c1, 22, &m, 16384);
		m.n = 0;
		tls12_server_hello(&m, 32, mode == 0 ? 0x44 : 0x99);
		records(&s1, 22, &m, 16384);
		ccs(&s1);
		encrypted(&s1, 22, 40);
		ccs(&c2);
		encrypted(&c2, 22, 40);

		run_open(&r);
		feed(&r, f, 3, -1, 0);
		o = find(&r.k, "ssl", 0);
		want_bool(o, "resumed", mode != 2);
		want_bool(o, "established", true);
		want_str(o, "ssl_history", "CsiI");
		run_close(&r);
	}
}

/* ---- the fingerprint specs' own examples ----------------------------- */

/* FoxIO JA4.md, "Example": ciphers and extensions (in their original
 * order, with GREASE added), ALPN h2, TLS 1.3 in supported_versions. */
static void ja4_spec_hello(struct bb *m, bool with_sigalgs)
{
	static const unsigned cs[] = { 0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c,
				       0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
				       0x002f, 0x0035 };
	static const unsigned exts[] = { 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d,
					 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b,
					 0x000a, 0x0015 };
	static const unsigned sig[] = { 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806,
					0x0601 };
	static const unsigned vers[] = { 0x7a7a, 0x0304, 0x0303 };
	static const unsigned groups[] = { 0x3a3a, 29, 23, 24 };
	static const char *const alpn[] = { "h2", "http/1.1" };
	size_t h = hs_open(m, 1), l, e, i;

	u16(m, 0x0303);
	fill(m, 0x11, 32);
	u8(m, 0);
	u16(m, sizeof(cs) / sizeof(cs[0]) * 2);
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		u16(m, cs[i]);
	u8(m, 1);
	u8(m, 0);
	l = open_(m, 2);
	ext_empty(m, 0x0a0a);
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		switch (exts[i]) {
		case 0x0000: ext_sni(m, "example.com"); break;
		case 0x0010: ext_alpn(m, alpn, 2); break;
		case 0x000d: ext_u16_list(m, 13, 2, sig, with_sigalgs ? 8 : 0); break;
		case 0x002b: ext_u16_list(m, 43, 1, vers, 3); break;
		case 0x000a: ext_u16_list(m, 10, 2, groups, 4); break;
		case 0x0033:
			e = ext(m, 0x33);
			u16(m, 5);
			u16(m, 0x3a3a);
			u16(m, 1);
			u8(m, 0);
			ext_end(m, e);
			break;
		default: ext_empty(m, exts[i]); break;
		}
	}
	ext_empty(m, 0xfafa);
	close_(m, l, 2);
	hs_close(m, h);
}

static void test_ja4_spec(void **state)
{
	static struct bb m, c;
	struct flight f[1] = { { true, &c } };
	int sig;

	for (sig = 1; sig >= 0; sig--) {
		struct run r;

		m.n = c.n = 0;
		ja4_spec_hello(&m, sig);
		records(&c, 22, &m, 16384);
		run_open(&r);
		feed(&r, f, 1, -1, 0);
		want_str(find(&r.k, "ssl", 0), "ja4",
			 sig ? "t13d1516h2_8daaf6152771_e5627efa2ab1"
			     : "t13d1516h2_8daaf6152771_6d807ffa2a79");
		run_close(&r);
	}
}

/* JA4.md, "ALPN Extension Value": the spec's examples. */
static void test_ja4_alpn(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} v[] = {
		{ "h2", 2, "h2" }, { "http/1.1", 8, "h1" }, { "\xab", 1, "ab" },
		{ "\xab\xcd", 2, "ad" }, { "\x30\xab", 2, "3b" }, { "\x30\x31\xab\xcd", 4, "3d" },
		{ "\x30\xab\xcd\x31", 4, "01" }, { "x", 1, "xx" }, { "", 0, "00" },
	};
	char out[3];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		an_ssl__ja4_alpn((const uint8_t *)v[i].in, v[i].len, true, out);
		assert_string_equal(out, v[i].want);
	}
	an_ssl__ja4_alpn(NULL, 0, false, out);
	assert_string_equal(out, "00");
}

/* The Salesforce README's example JA3 string and its published MD5. */
static void test_ja3_spec(void **state)
{
	static const unsigned cs[] = { 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4 };
	static const unsigned groups[] = { 23, 24, 25 };
	static struct bb m, c;
	struct flight f[1] = { { true, &c } };
	char want[33];
	struct run r;
	size_t h, l, e, i;

	h = hs_open(&m, 1);
	u16(&m, 0x0301);
	fill(&m, 0x11, 32);
	u8(&m, 0);
	u16(&m, sizeof(cs) / sizeof(cs[0]) * 2);
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		u16(&m, cs[i]);
	u8(&m, 1);
	u8(&m, 0);
	l = open_(&m, 2);
	ext_sni(&m, "example.com");
	ext_u16_list(&m, 10, 2, groups, 3);
	e = ext(&m, 11);
	u8(&m, 1);
	u8(&m, 0);
	ext_end(&m, e);
	close_(&m, l, 2);
	hs_close(&m, h);
	records(&c, 22, &m, 16384);

	hash_hex(MBEDTLS_MD_MD5, "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0",
		 want, 32);
	assert_string_equal(want, "ada70206e40642a3e4461f35503241d5");
	run_open(&r);
	feed(&r, f, 1, -1, 0);
	want_str(find(&r.k, "ssl", 0), "ja3", want);
	/* JA4 of a TLS 1.0 hello with no ALPN and no signature algorithms. */
	assert_memory_equal(json_string_value(json_object_get(find(&r.k, "ssl", 0), "ja4")),
			    "t10d120300_", 11);
	run_close(&r);
}

/* ---- malformed input ------------------------------------------------- */

static void test_not_tls(void **state)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct run r;
	struct an_session *s;

	run_open(&r);
	s = session(&r);
	an_test_data(s, true, (const uint8_t *)http, sizeof(http) - 1, T0);
	an_test_end(s, T0);
	assert_int_equal(r.k.n, 0);
	assert_int_equal(weird(r.c, "SSL_bad_record_header"), 1);
	run_close(&r);
}

/* A hello whose extensions block claims more than is there, whose
 * cipher vector runs past the end, an extension that overflows the block. */
static void test_bad_hellos(void **state)
{
	static struct bb m, c;
	struct flight f[1] = { { true, &c } };
	struct run r;
	json_t *o;

	/* Last extension's length past the block: counted, the rest kept. */
	m.n = c.n = 0;
	tls12_client_hello(&m, 0, 0);
	m.d[m.n - 3] = 0x40;   /* renegotiation_info length 1 -> 0x4001 */
	records(&c, 22, &m, 16384);
	run_open(&r);
	feed(&r, f, 1, -1, 0);
	assert_int_equal(weird(r.c, "SSL_extension_overflow"), 1);
	o = find(&r.k, "ssl", 0);
	want_str(o, "server_name", "www.example.com");
	want_str(o, "ssl_history", "C");
	run_close(&r);

	/* Cipher suites vector past the end of the message. */
	m.n = c.n = 0;
	tls12_client_hello(&m, 0, 0);
	m.d[4 + 2 + 32 + 1] = 0xff;
	records(&c, 22, &m, 16384);
	run_open(&r);
	feed(&r, f, 1, -1, 0);
	assert_int_equal(weird(r.c, "SSL_malformed_client_hello"), 1);
	o = find(&r.k, "ssl", 0);
	want_str(o, "ja3", NULL);
	run_close(&r);

	/* A ServerHello cut short. */
	m.n = c.n = 0;
	u8(&m, 2);
	u24(&m, 10);
	fill(&m, 3, 10);
	records(&c, 22, &m, 16384);
	f[0].is_orig = false;
	run_open(&r);
	feed(&r, f, 1, -1, 0);
	assert_int_equal(weird(r.c, "SSL_malformed_server_hello"), 1);
	run_close(&r);
}

static void test_bad_certificates(void **state)
{
	static struct bb m, s1;
	struct flight f[1] = { { false, &s1 } };
	static const uint8_t junk[40] = { 0x30, 0x26, 0x02, 0x01 };
	const uint8_t *der[] = { junk, cert_ca_der };
	size_t len[] = { sizeof(junk), sizeof(cert_ca_der) };
	char fp[65];
	struct run r;
	json_t *o;

	/* Bogus DER first: counted, fingerprinted, no x509 record for it. */
	tls12_server_hello(&m, 0, 0);
	certificate_msg(&m, der, len, 2);
	records(&s1, 22, &m, 16384);
	run_open(&r);
	feed(&r, f, 1, -1, 0);
	assert_int_equal(weird(r.c, "x509_parse_error"), 1);
	assert_int_equal(an_ssl__sha256_hex(junk, sizeof(junk), fp), 0);
	{
		const char *fps[] = { fp, CA_FP };

		want_list(find(&r.k, "ssl", 0), "cert_chain_fps", fps, 2);
	}
	o = find(&r.k, "x509", 0);
	want_str(o, "fingerprint", CA_FP);
	assert_null(find(&r.k, "x509", 1));
	want_str(find(&r.k, "ssl", 0), "subject", NULL);
	run_close(&r);

	/* A certificate length past the list. */
	m.n = s1.n = 0;
	tls12_server_hello(&m, 0, 0);
	{
		size_t h = hs_open(&m, 11), l = open_(&m, 3);

		u24(&m, 5000);
		fill(&m, 0x30, 100);
		close_(&m, l, 3);
		hs_close(&m, h);
	}
	records(&s1, 22, &m, 16384);
	run_open(&r);
	feed(&r, f, 1, -1, 0);
	assert_int_equal(weird(r.c, "SSL_bad_certificate_list"), 1);
	assert_int_equal(r.k.n, 1);
	run_close(&r);
}

/* A message announced larger than the cap is skipped, not buffered;
 * records end mid-handshake; a gap stops the analysis. */
static void test_limits(void **state)
{
	static struct bb m, c;
	struct run r;
	struct an_session *s;
	size_t i;

	run_open(&r);
	s = session(&r);
	m.n = 0;
	u8(&m, 1);
	u24(&m, 200000);
	for (i = 0; i < 13; i++) {
		c.n = 0;
		records(&c, 22, &m, 16384);
		an_test_data(s, true, c.d, c.n, T0);
		m.n = 0;
		fill(&m, 0x41, 16000);
	}
	assert_int_equal(weird(r.c, "SSL_handshake_message_too_large"), 1);
	assert_true(an_ctx_stats(r.c)->mem_bytes < 4096);
	an_test_gap(s, true, 100);
	an_test_data(s, true, c.d, c.n, T0);
	an_test_end(s, T0);
	assert_int_equal(an_ctx_stats(r.c)->mem_bytes, 0);
	run_close(&r);

	/* Truncated: the hello's record ends the stream half way. */
	m.n = c.n = 0;
	tls12_client_hello(&m, 0, 0);
	records(&c, 22, &m, 16384);
	run_open(&r);
	s = session(&r);
	an_test_data(s, true, c.d, c.n / 2, T0);
	an_test_end(s, T0);
	assert_int_equal(r.k.n, 0);
	assert_int_equal(an_ctx_stats(r.c)->mem_bytes, 0);
	run_close(&r);

	/* An alert: last_alert, 'L'. */
	run_open(&r);
	s = session(&r);
	an_test_data(s, true, c.d, c.n, T0);
	{
		static const uint8_t alert[] = { 21, 3, 3, 0, 2, 2, 40 };

		an_test_data(s, false, alert, sizeof(alert), T0);
	}
	an_test_end(s, T0);
	want_str(find(&r.k, "ssl", 0), "last_alert", "handshake_failure");
	want_str(find(&r.k, "ssl", 0), "ssl_history", "Cl");
	want_bool(find(&r.k, "ssl", 0), "established", false);
	run_close(&r);
}

static void test_names(void **state)
{
	char tmp[16];

	assert_string_equal(an_ssl__version_name(0x0300, tmp), "SSLv3");
	assert_string_equal(an_ssl__version_name(0x0301, tmp), "TLSv10");
	assert_string_equal(an_ssl__version_name(0x0302, tmp), "TLSv11");
	assert_string_equal(an_ssl__version_name(0x0303, tmp), "TLSv12");
	assert_string_equal(an_ssl__version_name(0x0304, tmp), "TLSv13");
	assert_string_equal(an_ssl__version_name(0x7f1c, tmp), "TLSv13-draft28");
	assert_string_equal(an_ssl__version_name(0x0305, tmp), "unknown-773");
	assert_string_equal(an_ssl__cipher_name(0xc030), "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
	assert_string_equal(an_ssl__cipher_name(0x1303), "TLS_CHACHA20_POLY1305_SHA256");
	assert_null(an_ssl__cipher_name(0x1234));
	assert_string_equal(an_ssl__curve_name(29), "x25519");
	assert_string_equal(an_ssl__curve_name(23), "secp256r1");
	assert_true(an_ssl__grease(0x0a0a) && an_ssl__grease(0xfafa));
	assert_false(an_ssl__grease(0x0a1a) || an_ssl__grease(0x1301));
}

/* An unknown cipher suite: Zeek's "unknown-%d". */
static void test_unknown_cipher(void **state)
{
	static struct bb m, s1;
	struct flight f[1] = { { false, &s1 } };
	struct run r;

	tls12_server_hello(&m, 0, 0);
	m.d[4 + 2 + 32 + 1] = 0x12;
	m.d[4 + 2 + 32 + 2] = 0x34;
	records(&s1, 22, &m, 16384);
	run_open(&r);
	feed(&r, f, 1, -1, 0);
	want_str(find(&r.k, "ssl", 0), "cipher", "unknown-4660");
	run_close(&r);
}

static void test_probe(void **state)
{
	static struct bb m, c;
	struct an_probe_view v = { .proto = IPPROTO_TCP, .resp_p = 8443 };
	static const uint8_t http[] = "GET / HTTP/1.1\r\n";
	static const uint8_t ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";
	static const uint8_t v5[] = { 22, 3, 5, 0, 100, 1 };

	tls12_client_hello(&m, 0, 0);
	records(&c, 22, &m, 16384);
	v.orig = c.d;
	v.orig_len = c.n;
	assert_int_equal(an_ssl.probe(&v), AN_PROBE_YES);
	v.orig_len = 3;
	assert_int_equal(an_ssl.probe(&v), AN_PROBE_MAYBE);
	v.orig_len = 0;
	assert_int_equal(an_ssl.probe(&v), AN_PROBE_MAYBE);
	v.orig = http;
	v.orig_len = sizeof(http) - 1;
	assert_int_equal(an_ssl.probe(&v), AN_PROBE_NO);
	v.orig = v5;
	v.orig_len = sizeof(v5);
	assert_int_equal(an_ssl.probe(&v), AN_PROBE_NO);
	v.orig_len = 0;
	v.resp = ssh;
	v.resp_len = sizeof(ssh) - 1;
	assert_int_equal(an_ssl.probe(&v), AN_PROBE_NO);
	/* A ServerHello from the responder when the client's bytes were missed. */
	m.n = c.n = 0;
	tls12_server_hello(&m, 0, 0);
	records(&c, 22, &m, 16384);
	v.resp = c.d;
	v.resp_len = c.n;
	assert_int_equal(an_ssl.probe(&v), AN_PROBE_YES);
	/* ... but a ClientHello is not what a responder sends first. */
	c.d[5] = 1;
	assert_int_equal(an_ssl.probe(&v), AN_PROBE_NO);
	v.proto = IPPROTO_UDP;
	c.d[5] = 2;
	assert_int_equal(an_ssl.probe(&v), AN_PROBE_NO);
}

/* Real handshakes: openssl s_client against s_server on 127.0.0.1,
 * captured with tcpdump on lo (the fuzz corpus, in fuzz_an_ssl's chunk
 * format). JA3 and JA3S as tshark 4.0 computed them from the captures
 * (tls.handshake.ja3, tls.handshake.ja3s); the rest as openssl -msg
 * showed. Skipped when the corpus is not found (run from the tree). */
static void test_real_handshakes(void **state)
{
	static const struct {
		const char *file;
		int nth;                 /* ssl record of the file */
		const char *version, *cipher, *curve, *history, *ja3, *ja3s;
		bool resumed;
	} v[] = {
		{ "tls12_rsa", 0, "TLSv12", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "x25519", "CsxknGIti",
		  "8b108d7a0ee2968b8206f743685cfb9f", "4ef1b297bb817d8212165a86308bac5f", false },
		{ "tls12_ecdsa", 0, "TLSv12", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "x25519",
		  "CsxknGIti", "34af37fcfae76cfdc49fae5c5e384d00", "abade5a4a7f42baf54766e5d108283b6",
		  false },
		{ "tls12_dhe", 0, "TLSv12", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", NULL, "CsxknGIti",
		  "4cbb54047b078e0371c548c1f1eb9e05", "6083fd0ddad8c75177f2e05a0d16748f", false },
		{ "tls12_clientcert", 0, "TLSv12", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "x25519",
		  "CsxkrnXGYIti", "fbe7e189e37a07ee33706f86bc746344", "abade5a4a7f42baf54766e5d108283b6",
		  false },
		{ "tls12_resume", 1, "TLSv12", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", NULL, "CsiI",
		  "2c4428422b734ef16cdbf05bc5d82e08", "f14f2862ee2df5d0f63a88b60c8eee56", true },
		{ "tls12_ticket", 1, "TLSv12", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", NULL, "CsiI",
		  "871a754af286dfb70c1b53c6887c62e0", "f14f2862ee2df5d0f63a88b60c8eee56", true },
		{ "tls11", 0, "TLSv11", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "x25519", "CsxknGIti",
		  "1cc6e836247808b61d8e8dfbc48ad934", "19421187c5a923c7fc5cea82cf7f2602", false },
		{ "tls13", 0, "TLSv13", "TLS_AES_256_GCM_SHA384", "x25519", "CsiI",
		  "5a1edc7f170af1014fc65c994878e63c", "15af977ce25de452b96affa2addb1036", false },
		{ "tls13_hrr", 0, "TLSv13", "TLS_AES_256_GCM_SHA384", "secp256r1", "CjiICs",
		  "a766c0cb08b7143fcaf7ee210298ded8", "15af977ce25de452b96affa2addb1036", false },
		{ "tls13_psk", 1, "TLSv13", "TLS_AES_256_GCM_SHA384", "x25519", "CsiI",
		  "2fd756ca7f87535a1539ab4cbb4d63fd", "2253c82f03b621c5144709b393fde2c9", true },
	};
	const char *root = getenv("WARD_ROOT") ? getenv("WARD_ROOT") : ".";
	static uint8_t buf[1 << 16];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char path[512];
		const uint8_t *p = buf;
		struct an_session *s;
		struct run r;
		json_t *o;
		size_t n;
		FILE *f;

		snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/an_ssl/%s", root, v[i].file);
		f = fopen(path, "rb");
		if (f == NULL)
			skip();
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		run_open(&r);
		s = session(&r);
		while (n >= 3) {
			size_t len = (size_t)p[1] << 8 | p[2];

			assert_true(len <= n - 3);
			an_test_data(s, p[0] & 1, p + 3, len, T0);
			if (p[0] & 4) {
				an_test_end(s, T0);
				s = session(&r);
			}
			n -= 3 + len;
			p += 3 + len;
		}
		an_test_end(s, T0);
		o = find(&r.k, "ssl", v[i].nth);
		if (o == NULL)
			fail_msg("%s: no ssl record %d", v[i].file, v[i].nth);
		want_str(o, "version", v[i].version);
		want_str(o, "cipher", v[i].cipher);
		want_str(o, "curve", v[i].curve);
		want_str(o, "ssl_history", v[i].history);
		want_str(o, "ja3", v[i].ja3);
		want_str(o, "ja3s", v[i].ja3s);
		want_bool(o, "resumed", v[i].resumed);
		want_bool(o, "established", true);
		if (strcmp(v[i].file, "tls12_clientcert") == 0) {
			want_str(o, "client_subject", "CN=client");
			assert_int_equal(json_array_size(json_object_get(o, "client_cert_chain_fps")), 1);
			assert_non_null(find(&r.k, "x509", 1));
			want_bool(find(&r.k, "x509", 1), "client_cert", true);
		}
		run_close(&r);
	}
}

/* Every record of the handshakes above against docs/schema (draft
 * 2020-12, with formats), by python3-jsonschema as an independent
 * validator; skipped where it is not installed. */
static const char validator[] =
	"import json, sys, jsonschema\n"
	"root = sys.argv[1]\n"
	"v = {t: jsonschema.Draft202012Validator(json.load(open(f'{root}/docs/schema/{t}.schema.json')),"
	" format_checker=jsonschema.FormatChecker()) for t in ('ssl', 'x509')}\n"
	"n = bad = 0\n"
	"for line in open(sys.argv[2]):\n"
	"    r = json.loads(line); n += 1\n"
	"    for e in v[r['type']].iter_errors(r):\n"
	"        print(r['type'], e.message); bad += 1\n"
	"print(n, 'records', bad, 'errors')\n"
	"sys.exit(1 if bad or n < 5 else 0)\n";

static void test_schema(void **state)
{
	const char *root = getenv("WARD_ROOT") ? getenv("WARD_ROOT") : ".";
	char path[] = "/tmp/test_an_ssl.XXXXXX", py[] = "/tmp/test_an_ssl_py.XXXXXX", cmd[512];
	struct hs12 *h = calloc(1, sizeof(*h));
	static struct bb m, c1, s1, c2;
	struct flight f[3] = { { true, &c1 }, { false, &s1 }, { true, &c2 } };
	struct run r;
	FILE *out;
	size_t i;
	int fd, rc;

	snprintf(cmd, sizeof(cmd), "%s/docs/schema/ssl.schema.json", root);
	if (system("python3 -c 'import jsonschema' 2>/dev/null") != 0 || access(cmd, R_OK) != 0) {
		free(h);
		skip();
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	out = fdopen(fd, "w");
	build_tls12(h, 300);
	run_open(&r);
	feed(&r, h->f, 4, -1, 0);
	tls13_client_hello(&m, "tls13.example", true, 29);
	records(&c1, 22, &m, 16384);
	m.n = 0;
	tls13_server_hello(&m, false, true, 29);
	records(&s1, 22, &m, 16384);
	encrypted(&s1, 23, 100);
	encrypted(&c2, 23, 100);
	feed(&r, f, 3, -1, 0);
	{
		static const uint8_t alert[] = { 21, 3, 3, 0, 2, 2, 40 };
		struct an_session *s = session(&r);

		an_test_data(s, true, h->c1.d, h->c1.n, T0);
		an_test_data(s, false, alert, sizeof(alert), T0);
		an_test_end(s, T0);
	}
	for (i = 0; i < r.k.n; i++)
		fprintf(out, "%s\n", r.k.raw[i]);
	fclose(out);
	fd = mkstemp(py);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, validator, sizeof(validator) - 1), (ssize_t)sizeof(validator) - 1);
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 %s %s %s", py, root, path);
	rc = system(cmd);
	unlink(path);
	unlink(py);
	run_close(&r);
	free(h);
	assert_int_equal(rc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls12),
		cmocka_unit_test(test_tls12_fragmented),
		cmocka_unit_test(test_tls12_every_split),
		cmocka_unit_test(test_tls13),
		cmocka_unit_test(test_hello_retry),
		cmocka_unit_test(test_resumed_tls12),
		cmocka_unit_test(test_ja4_spec),
		cmocka_unit_test(test_ja4_alpn),
		cmocka_unit_test(test_ja3_spec),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_bad_hellos),
		cmocka_unit_test(test_bad_certificates),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_unknown_cipher),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_real_handshakes),
		cmocka_unit_test(test_schema),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
