/* an_ssl: internals shared by the TLS analyzer's files (an_ssl.c: record
 * and handshake layers; an_ssl_fp.c: names and the JA3/JA3S/JA4
 * fingerprints; an_ssl_x509.c: certificates and x509 records). Not a
 * public interface: the analyzer itself is `an_ssl` in analyzer.h.
 */
#ifndef WARD_SENSOR_AN_SSL_H
#define WARD_SENSOR_AN_SSL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer.h"

/* TLS extension types (IANA "TLS ExtensionType Values"). */
#define SSL_EXT_SERVER_NAME          0x0000
#define SSL_EXT_SUPPORTED_GROUPS     0x000a
#define SSL_EXT_EC_POINT_FORMATS     0x000b
#define SSL_EXT_SIGNATURE_ALGORITHMS 0x000d
#define SSL_EXT_ALPN                 0x0010
#define SSL_EXT_SESSION_TICKET       0x0023
#define SSL_EXT_PRE_SHARED_KEY       0x0029
#define SSL_EXT_SUPPORTED_VERSIONS   0x002b
#define SSL_EXT_KEY_SHARE            0x0033

/* What the fingerprints need from a ClientHello or ServerHello. The
 * pointers borrow the handshake message, whose lengths the parser has
 * already checked; each list is the raw wire bytes of its vector's
 * contents (no length prefix). */
struct an_ssl_hello {
	uint16_t version;             /* legacy_version (RFC 8446 4.1.2) */
	const uint8_t *ciphers;       /* client: 2 bytes each */
	size_t ciphers_len;           /* bytes */
	uint16_t cipher;              /* server: the chosen suite */
	const uint8_t *exts;          /* the extensions block: type(2) len(2) data */
	size_t exts_len;              /* bytes; validated to hold whole extensions */
	const uint8_t *groups;        /* supported_groups list, 2 bytes each */
	size_t groups_len;
	const uint8_t *point_formats; /* ec_point_formats list, 1 byte each */
	size_t point_formats_len;
	const uint8_t *sig_algs;      /* signature_algorithms list, 2 bytes each */
	size_t sig_algs_len;
	const uint8_t *alpn;          /* first ALPN protocol name, or NULL */
	size_t alpn_len;
	bool has_alpn;
	uint16_t max_version;         /* highest non-GREASE supported_versions
				       * entry; 0 if the extension is absent */
};

/* True for the RFC 8701 GREASE values 0x0a0a, 0x1a1a, ... 0xfafa. */
static inline bool an_ssl__grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* IANA name of a cipher suite ("TLS_AES_128_GCM_SHA256"), NULL if not in
 * the table (the ~80 suites seen in practice). */
const char *an_ssl__cipher_name(uint16_t id);
/* IANA name of a supported group as Zeek writes it ("x25519",
 * "secp256r1"), NULL if unknown. */
const char *an_ssl__curve_name(uint16_t id);
/* Zeek's version string ("TLSv12", "SSLv3"); writes "unknown-%d" into
 * `tmp` (16 bytes) for others and returns it. */
const char *an_ssl__version_name(uint16_t v, char tmp[16]);
/* Zeek's alert description name ("handshake_failure"), or "unknown-%d" in tmp. */
const char *an_ssl__alert_name(uint8_t desc, char tmp[16]);

/* JA3 (Salesforce, github.com/salesforce/ja3): the MD5, as 32 lowercase
 * hex characters and a NUL, of
 *   SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats
 * in decimal, values joined with '-', GREASE values left out.
 * 0, or -EIO if the hash failed. */
int an_ssl__ja3(const struct an_ssl_hello *h, char out[33]);
/* JA3S: the MD5 of SSLVersion,Cipher,Extensions of a ServerHello. */
int an_ssl__ja3s(const struct an_ssl_hello *h, char out[33]);
/* JA4 of a TLS-over-TCP ClientHello (FoxIO JA4 spec, BSD-3-Clause; the
 * client fingerprint only), e.g. "t13d1516h2_8daaf6152771_e5627efa2ab1",
 * 36 characters and a NUL. `scratch` holds at least
 * max(ciphers_len, exts_len) / 2 entries (for sorting). 0 or -EIO. */
int an_ssl__ja4(const struct an_ssl_hello *h, uint16_t *scratch, char out[37]);
/* JA4's ALPN part: two characters for the first ALPN value (see JA4.md,
 * "ALPN Extension Value"). Exposed for the spec's examples in tests. */
void an_ssl__ja4_alpn(const uint8_t *p, size_t len, bool present, char out[3]);

/* What the ssl record keeps of a chain's leaf certificate. */
struct an_ssl_leaf {
	char *subject;                /* RFC 4514 string, an_alloc'd; NULL if none */
	size_t subject_size;
	char *issuer;
	size_t issuer_size;
	int sni_match;                /* -1 unknown, 0 no, 1 yes */
};

/* Parses one DER certificate with mbedtls and writes its x509 record
 * (Zeek's X509::Info) at ts_us. `fp` is its SHA-256 fingerprint (64 hex +
 * NUL). `index` is its place in the chain (0 = the end-host cert). For
 * index 0, `leaf` gets its subject and issuer, and whether `sni` (may be
 * NULL) matches its names (RFC 6125 6.4). Counts weird "x509_parse_error"
 * and writes nothing for a certificate mbedtls rejects. 0, -EINVAL for a
 * bad certificate, -ENOMEM. */
int an_ssl__x509(struct an_session *s, const uint8_t *der, size_t len, const char *fp,
		 unsigned index, bool client, const char *sni, size_t sni_len,
		 struct an_ssl_leaf *leaf, uint64_t ts_us);
void an_ssl__leaf_free(struct an_session *s, struct an_ssl_leaf *leaf);

/* Lowercase hex SHA-256 of `len` bytes into out (65 bytes). 0 or -EIO. */
int an_ssl__sha256_hex(const uint8_t *p, size_t len, char out[65]);

#endif
