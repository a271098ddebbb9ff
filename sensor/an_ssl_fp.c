/* an_ssl_fp: the TLS analyzer's name tables and its client and server
 * fingerprints (an_ssl.h).
 *
 * JA3 and JA3S follow github.com/salesforce/ja3 (README, "How it
 * works"); JA4 follows FoxIO's technical_details/JA4.md (BSD-3-Clause).
 * Only JA4 for the TLS client is implemented: the other JA4+ methods
 * (JA4S, JA4H, JA4X, ...) are under another licence and are left out on
 * purpose (issue 5).
 *
 * The hashes are fed piece by piece through mbedtls's generic md API
 * (identical in mbedtls 2.28 and 3.6), so no fingerprint string is ever
 * built in memory: a ClientHello of 64 KiB costs no more than its sort.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>

#include "an_ssl.h"

struct name16 {
	uint16_t id;
	const char *name;
};

/* Sorted by id, for bsearch. IANA "TLS Cipher Suites" names, which are
 * also Zeek's cipher_desc strings. */
static const struct name16 ciphers[] = {
	{ 0x0000, "TLS_NULL_WITH_NULL_NULL" },
	{ 0x0001, "TLS_RSA_WITH_NULL_MD5" },
	{ 0x0002, "TLS_RSA_WITH_NULL_SHA" },
	{ 0x0004, "TLS_RSA_WITH_RC4_128_MD5" },
	{ 0x0005, "TLS_RSA_WITH_RC4_128_SHA" },
	{ 0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA" },
	{ 0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA" },
	{ 0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA" },
	{ 0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA" },
	{ 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA" },
	{ 0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA" },
	{ 0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA" },
	{ 0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256" },
	{ 0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256" },
	{ 0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA" },
	{ 0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA" },
	{ 0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256" },
	{ 0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256" },
	{ 0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA" },
	{ 0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA" },
	{ 0x008c, "TLS_PSK_WITH_AES_128_CBC_SHA" },
	{ 0x008d, "TLS_PSK_WITH_AES_256_CBC_SHA" },
	{ 0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256" },
	{ 0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384" },
	{ 0x00a8, "TLS_PSK_WITH_AES_128_GCM_SHA256" },
	{ 0x00a9, "TLS_PSK_WITH_AES_256_GCM_SHA384" },
	{ 0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV" },
	{ 0x1301, "TLS_AES_128_GCM_SHA256" },
	{ 0x1302, "TLS_AES_256_GCM_SHA384" },
	{ 0x1303, "TLS_CHACHA20_POLY1305_SHA256" },
	{ 0x1304, "TLS_AES_128_CCM_SHA256" },
	{ 0x1305, "TLS_AES_128_CCM_8_SHA256" },
	{ 0x5600, "TLS_FALLBACK_SCSV" },
	{ 0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA" },
	{ 0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" },
	{ 0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" },
	{ 0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA" },
	{ 0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA" },
	{ 0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" },
	{ 0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" },
	{ 0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" },
	{ 0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" },
	{ 0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" },
	{ 0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
	{ 0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
	{ 0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
	{ 0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
	{ 0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
	{ 0xc035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA" },
	{ 0xc036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA" },
	{ 0xc09c, "TLS_RSA_WITH_AES_128_CCM" },
	{ 0xc09d, "TLS_RSA_WITH_AES_256_CCM" },
	{ 0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM" },
	{ 0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM" },
	{ 0xc0a0, "TLS_RSA_WITH_AES_128_CCM_8" },
	{ 0xc0a1, "TLS_RSA_WITH_AES_256_CCM_8" },
	{ 0xc0a2, "TLS_DHE_RSA_WITH_AES_128_CCM_8" },
	{ 0xc0a3, "TLS_DHE_RSA_WITH_AES_256_CCM_8" },
	{ 0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM" },
	{ 0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM" },
	{ 0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8" },
	{ 0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8" },
	{ 0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xccab, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xccac, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xccad, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256" },
	{ 0xd001, "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256" },
	{ 0xd002, "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384" },
};

/* Zeek's ec_curves strings (base/protocols/ssl/consts.zeek), sorted. */
static const struct name16 curves[] = {
	{ 19, "secp192r1" }, { 21, "secp224r1" }, { 22, "secp256k1" }, { 23, "secp256r1" },
	{ 24, "secp384r1" }, { 25, "secp521r1" }, { 26, "brainpoolP256r1" },
	{ 27, "brainpoolP384r1" }, { 28, "brainpoolP512r1" }, { 29, "x25519" }, { 30, "x448" },
	{ 31, "brainpoolP256r1tls13" }, { 32, "brainpoolP384r1tls13" },
	{ 33, "brainpoolP512r1tls13" }, { 256, "ffdhe2048" }, { 257, "ffdhe3072" },
	{ 258, "ffdhe4096" }, { 259, "ffdhe6144" }, { 260, "ffdhe8192" }, { 512, "MLKEM512" },
	{ 513, "MLKEM768" }, { 514, "MLKEM1024" }, { 4587, "SecP256r1MLKEM768" },
	{ 4588, "X25519MLKEM768" }, { 4589, "SecP384r1MLKEM1024" },
	{ 25497, "X25519Kyber768Draft00" }, { 25498, "SecP256r1Kyber768Draft00" },
};

/* Zeek's alert_descriptions (RFC 8446 6 and earlier), sorted. */
static const struct name16 alerts[] = {
	{ 0, "close_notify" }, { 10, "unexpected_message" }, { 20, "bad_record_mac" },
	{ 21, "decryption_failed" }, { 22, "record_overflow" }, { 30, "decompression_failure" },
	{ 40, "handshake_failure" }, { 41, "no_certificate" }, { 42, "bad_certificate" },
	{ 43, "unsupported_certificate" }, { 44, "certificate_revoked" },
	{ 45, "certificate_expired" }, { 46, "certificate_unknown" }, { 47, "illegal_parameter" },
	{ 48, "unknown_ca" }, { 49, "access_denied" }, { 50, "decode_error" },
	{ 51, "decrypt_error" }, { 60, "export_restriction" }, { 70, "protocol_version" },
	{ 71, "insufficient_security" }, { 80, "internal_error" },
	{ 86, "inappropriate_fallback" }, { 90, "user_canceled" }, { 100, "no_renegotiation" },
	{ 110, "unsupported_extension" }, { 111, "certificate_unobtainable" },
	{ 112, "unrecognized_name" }, { 113, "bad_certificate_status_response" },
	{ 114, "bad_certificate_hash_value" }, { 115, "unknown_psk_identity" },
	{ 116, "certificate_required" }, { 120, "no_application_protocol" },
};

static int name16_cmp(const void *k, const void *e)
{
	uint16_t a = *(const uint16_t *)k, b = ((const struct name16 *)e)->id;

	return a < b ? -1 : a > b;
}

static const char *lookup(const struct name16 *t, size_t n, uint16_t id)
{
	const struct name16 *e = bsearch(&id, t, n, sizeof(*t), name16_cmp);

	return e ? e->name : NULL;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

const char *an_ssl__cipher_name(uint16_t id)
{
	return lookup(ciphers, N(ciphers), id);
}

const char *an_ssl__curve_name(uint16_t id)
{
	return lookup(curves, N(curves), id);
}

const char *an_ssl__alert_name(uint8_t desc, char tmp[16])
{
	const char *n = lookup(alerts, N(alerts), desc);

	if (n)
		return n;
	snprintf(tmp, 16, "unknown-%u", desc);
	return tmp;
}

const char *an_ssl__version_name(uint16_t v, char tmp[16])
{
	switch (v) {
	case 0x0002: return "SSLv2";
	case 0x0300: return "SSLv3";
	case 0x0301: return "TLSv10";
	case 0x0302: return "TLSv11";
	case 0x0303: return "TLSv12";
	case 0x0304: return "TLSv13";
	}
	/* TLS 1.3 drafts were 0x7fNN; Zeek names them so. */
	if (v / 0xff == 0x7f)
		snprintf(tmp, 16, "TLSv13-draft%u", (unsigned)(v % 0x7f));
	else
		snprintf(tmp, 16, "unknown-%u", (unsigned)v);
	return tmp;
}

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- hashing helpers ------------------------------------------------ */

struct hasher {
	mbedtls_md_context_t md;
	int err;
	bool first;          /* no separator before the next value */
};

static int hasher_start(struct hasher *h, mbedtls_md_type_t type)
{
	const mbedtls_md_info_t *info = mbedtls_md_info_from_type(type);

	mbedtls_md_init(&h->md);
	h->err = 0;
	h->first = true;
	if (info == NULL || mbedtls_md_setup(&h->md, info, 0) != 0 || mbedtls_md_starts(&h->md) != 0)
		h->err = -EIO;
	return h->err;
}

static void hasher_put(struct hasher *h, const void *p, size_t n)
{
	if (h->err == 0 && n > 0 && mbedtls_md_update(&h->md, p, n) != 0)
		h->err = -EIO;
}

/* One list value in decimal, '-' before all but the first. */
static void hasher_dec(struct hasher *h, unsigned v)
{
	char b[8];
	int n = snprintf(b, sizeof(b), "%s%u", h->first ? "" : "-", v);

	h->first = false;
	hasher_put(h, b, (size_t)n);
}

/* One list value as 4 lowercase hex digits, ',' before all but the first. */
static void hasher_hex4(struct hasher *h, uint16_t v)
{
	static const char hx[] = "0123456789abcdef";
	char b[5];
	size_t n = 0;

	if (!h->first)
		b[n++] = ',';
	h->first = false;
	b[n++] = hx[v >> 12];
	b[n++] = hx[(v >> 8) & 15];
	b[n++] = hx[(v >> 4) & 15];
	b[n++] = hx[v & 15];
	hasher_put(h, b, n);
}

/* A field separator of JA3: ','; the next value starts a new list. */
static void hasher_sep(struct hasher *h, char c)
{
	hasher_put(h, &c, 1);
	h->first = true;
}

static void hex_out(const uint8_t *d, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Finishes into `hexlen` lowercase hex characters and a NUL. */
static int hasher_finish(struct hasher *h, char *out, size_t hexlen)
{
	uint8_t d[64];

	if (h->err == 0 && mbedtls_md_finish(&h->md, d) != 0)
		h->err = -EIO;
	mbedtls_md_free(&h->md);
	if (h->err != 0) {
		out[0] = '\0';
		return h->err;
	}
	hex_out(d, hexlen / 2, out);
	return 0;
}

int an_ssl__sha256_hex(const uint8_t *p, size_t len, char out[65])
{
	struct hasher h;

	hasher_start(&h, MBEDTLS_MD_SHA256);
	hasher_put(&h, p, len);
	return hasher_finish(&h, out, 64);
}

/* ---- JA3 / JA3S ------------------------------------------------------ */

/* The extension types in order, GREASE left out. */
static void ja3_exts(struct hasher *h, const uint8_t *e, size_t len)
{
	size_t off = 0;

	while (off + 4 <= len) {
		uint16_t type = be16(e + off), elen = be16(e + off + 2);

		if (!an_ssl__grease(type))
			hasher_dec(h, type);
		off += 4u + elen;
	}
}

static void ja3_list16(struct hasher *h, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 2 <= len; i += 2)
		if (!an_ssl__grease(be16(p + i)))
			hasher_dec(h, be16(p + i));
}

int an_ssl__ja3(const struct an_ssl_hello *hl, char out[33])
{
	struct hasher h;
	size_t i;

	hasher_start(&h, MBEDTLS_MD_MD5);
	hasher_dec(&h, hl->version);
	hasher_sep(&h, ',');
	ja3_list16(&h, hl->ciphers, hl->ciphers_len);
	hasher_sep(&h, ',');
	ja3_exts(&h, hl->exts, hl->exts_len);
	hasher_sep(&h, ',');
	ja3_list16(&h, hl->groups, hl->groups_len);
	hasher_sep(&h, ',');
	for (i = 0; i < hl->point_formats_len; i++)
		hasher_dec(&h, hl->point_formats[i]);
	return hasher_finish(&h, out, 32);
}

int an_ssl__ja3s(const struct an_ssl_hello *hl, char out[33])
{
	struct hasher h;

	hasher_start(&h, MBEDTLS_MD_MD5);
	hasher_dec(&h, hl->version);
	hasher_sep(&h, ',');
	hasher_dec(&h, hl->cipher);
	hasher_sep(&h, ',');
	ja3_exts(&h, hl->exts, hl->exts_len);
	return hasher_finish(&h, out, 32);
}

/* ---- JA4 ------------------------------------------------------------- */

static int u16_cmp(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return x < y ? -1 : x > y;
}

static const char *ja4_version(uint16_t v)
{
	switch (v) {
	case 0x0304: return "13";
	case 0x0303: return "12";
	case 0x0302: return "11";
	case 0x0301: return "10";
	case 0x0300: return "s3";
	case 0x0002: return "s2";
	case 0xfeff: return "d1";
	case 0xfefd: return "d2";
	case 0xfefc: return "d3";
	}
	return "00";
}

static bool alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

void an_ssl__ja4_alpn(const uint8_t *p, size_t len, bool present, char out[3])
{
	static const char hx[] = "0123456789abcdef";

	if (!present || p == NULL || len == 0) {
		memcpy(out, "00", 3);
		return;
	}
	/* A non-alphanumeric first or last byte: the first and last
	 * characters of the value's hex form instead. */
	if (!alnum(p[0]) || !alnum(p[len - 1])) {
		out[0] = hx[p[0] >> 4];
		out[1] = hx[p[len - 1] & 15];
	} else {
		out[0] = (char)p[0];
		out[1] = (char)p[len - 1];
	}
	out[2] = '\0';
}

static unsigned cap99(size_t n)
{
	return n > 99 ? 99 : (unsigned)n;
}

int an_ssl__ja4(const struct an_ssl_hello *hl, uint16_t *scratch, char out[37])
{
	struct hasher h;
	size_t i, n, n_ext = 0, off;
	bool sni = false;
	char alpn[3], a[11];
	int rc;

	/* Extensions: all non-GREASE counted (SNI and ALPN included); the
	 * hashed list leaves SNI and ALPN out. */
	n = 0;
	for (off = 0; off + 4 <= hl->exts_len; off += 4u + be16(hl->exts + off + 2)) {
		uint16_t t = be16(hl->exts + off);

		if (an_ssl__grease(t))
			continue;
		n_ext++;
		if (t == SSL_EXT_SERVER_NAME)
			sni = true;
		else if (t != SSL_EXT_ALPN)
			scratch[n++] = t;
	}

	an_ssl__ja4_alpn(hl->alpn, hl->alpn_len, hl->has_alpn, alpn);
	{
		size_t nc = 0;

		for (i = 0; i + 2 <= hl->ciphers_len; i += 2)
			nc += !an_ssl__grease(be16(hl->ciphers + i));
		snprintf(a, sizeof(a), "t%s%c%02u%02u%s",
			 ja4_version(hl->max_version ? hl->max_version : hl->version), sni ? 'd' : 'i',
			 cap99(nc), cap99(n_ext), alpn);
	}
	memcpy(out, a, 10);
	out[10] = '_';

	/* c first, while scratch holds the extensions. */
	if (n == 0) {
		memcpy(out + 24, "000000000000", 13);
	} else {
		char hex[65];

		qsort(scratch, n, sizeof(*scratch), u16_cmp);
		hasher_start(&h, MBEDTLS_MD_SHA256);
		for (i = 0; i < n; i++)
			hasher_hex4(&h, scratch[i]);
		h.first = true;
		for (i = 0; i + 2 <= hl->sig_algs_len; i += 2) {
			uint16_t v = be16(hl->sig_algs + i);

			if (an_ssl__grease(v))
				continue;
			if (h.first)
				hasher_put(&h, "_", 1);
			hasher_hex4(&h, v);
		}
		rc = hasher_finish(&h, hex, 64);
		if (rc != 0)
			return rc;
		memcpy(out + 24, hex, 12);
		out[36] = '\0';
	}
	out[23] = '_';

	n = 0;
	for (i = 0; i + 2 <= hl->ciphers_len; i += 2)
		if (!an_ssl__grease(be16(hl->ciphers + i)))
			scratch[n++] = be16(hl->ciphers + i);
	if (n == 0) {
		memcpy(out + 11, "000000000000", 12);
	} else {
		char hex[65];

		qsort(scratch, n, sizeof(*scratch), u16_cmp);
		hasher_start(&h, MBEDTLS_MD_SHA256);
		for (i = 0; i < n; i++)
			hasher_hex4(&h, scratch[i]);
		rc = hasher_finish(&h, hex, 64);
		if (rc != 0)
			return rc;
		memcpy(out + 11, hex, 12);
	}
	return 0;
}
