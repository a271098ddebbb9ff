/* mbedtls_compat: the one place that knows ward builds against two mbedtls
 * lines, 2.28 (Debian 12: TLS 1.2) and 3.6 (Debian 13: TLS 1.2 and 1.3),
 * as DESIGN.md's "Device <-> SOC contract" requires. Code elsewhere calls
 * these wrappers instead of testing MBEDTLS_VERSION_NUMBER itself; `make
 * check-mbedtls3` builds and tests against 3.6.
 *
 * What changed between the two, and is hidden here:
 * - 3.x made most struct fields private: MBEDTLS_PRIVATE(field) names them
 *   there, and is defined to the plain name for 2.28.
 * - 3.x needs psa_crypto_init() before TLS 1.3 and before pk operations
 *   that may route through PSA.
 * - 3.x dropped the *_ret hash names, added an RNG to key parsing and a
 *   buffer size to pk_sign, and sets the TLS version floor with
 *   mbedtls_ssl_conf_min_tls_version.
 * - Some error codes were renamed or merged.
 *
 * Everything is static inline so each caller keeps type checking; there
 * is no state. Return values: 0 or a negative mbedtls code, unless said.
 */
#ifndef WARD_MBEDTLS_COMPAT_H
#define WARD_MBEDTLS_COMPAT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/version.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define MBCOMPAT_V3 1
#include <psa/crypto.h>
#else
#define MBCOMPAT_V3 0
#endif

/* 1 when this mbedtls can negotiate TLS 1.3 (3.x built with it, as
 * Debian's is); ward then offers 1.3 and prefers it. */
#if MBCOMPAT_V3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
#define MBCOMPAT_TLS1_3 1
#else
#define MBCOMPAT_TLS1_3 0
#endif

/* mbedtls 3 made most struct fields private; MBEDTLS_PRIVATE() names them
 * there, and 2.28 has no such macro. */
#ifndef MBEDTLS_PRIVATE
#define MBEDTLS_PRIVATE(m) m
#endif

/* The peer speaks no TLS version we accept (2.28's name for it had _HS_). */
#if MBCOMPAT_V3
#define MBCOMPAT_ERR_SSL_BAD_PROTOCOL_VERSION MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION
#else
#define MBCOMPAT_ERR_SSL_BAD_PROTOCOL_VERSION MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION
#endif

/* The server found no cipher suite (or group, or signature algorithm) in
 * common: 2.28 says NO_USABLE_CIPHERSUITE, 3.x a generic HANDSHAKE_FAILURE
 * (whose number 2.28 uses for a ticket error, hence the #if). */
static inline int mbcompat_err_no_shared_suite(int rc)
{
#if MBCOMPAT_V3
	return rc == MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE;
#else
	return rc == MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE;
#endif
}

/* Initialises PSA crypto on 3.x (a no-op when done already, and on 2.28).
 * 0 or -EIO. */
static inline int mbcompat_psa_init(void)
{
#if MBCOMPAT_V3
	return psa_crypto_init() == PSA_SUCCESS ? 0 : -EIO;
#else
	return 0;
#endif
}

/* SHA-256 of in[len] into out[32] (or SHA-224 when is224). */
static inline int mbcompat_sha256(const uint8_t *in, size_t len, uint8_t out[32], int is224)
{
#if MBCOMPAT_V3
	return mbedtls_sha256(in, len, out, is224);
#else
	return mbedtls_sha256_ret(in, len, out, is224);
#endif
}

/* Parses an unencrypted private key (PEM with its NUL, or DER) in
 * key[keylen]; 3.x uses the RNG for blinding. */
static inline int mbcompat_pk_parse_key(mbedtls_pk_context *pk, const uint8_t *key, size_t keylen,
					int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
#if MBCOMPAT_V3
	return mbedtls_pk_parse_key(pk, key, keylen, NULL, 0, f_rng, p_rng);
#else
	(void)f_rng;
	(void)p_rng;
	return mbedtls_pk_parse_key(pk, key, keylen, NULL, 0);
#endif
}

/* As mbcompat_pk_parse_key, from the file `path`. */
static inline int mbcompat_pk_parse_keyfile(mbedtls_pk_context *pk, const char *path,
					    int (*f_rng)(void *, unsigned char *, size_t),
					    void *p_rng)
{
#if MBCOMPAT_V3
	return mbedtls_pk_parse_keyfile(pk, path, NULL, f_rng, p_rng);
#else
	(void)f_rng;
	(void)p_rng;
	return mbedtls_pk_parse_keyfile(pk, path, NULL);
#endif
}

/* Signs hash[hash_len] into sig[sig_size] (bytes), the length in
 * *sig_len; 2.28 trusts sig_size to be MBEDTLS_PK_SIGNATURE_MAX_SIZE. */
static inline int mbcompat_pk_sign(mbedtls_pk_context *pk, mbedtls_md_type_t md,
				   const uint8_t *hash, size_t hash_len, uint8_t *sig,
				   size_t sig_size, size_t *sig_len,
				   int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
#if MBCOMPAT_V3
	return mbedtls_pk_sign(pk, md, hash, hash_len, sig, sig_size, sig_len, f_rng, p_rng);
#else
	(void)sig_size;
	return mbedtls_pk_sign(pk, md, hash, hash_len, sig, sig_len, f_rng, p_rng);
#endif
}

/* Refuses anything older than TLS 1.2 (RFC 8996). The ceiling stays
 * mbedtls's default: 1.3 where MBCOMPAT_TLS1_3, else 1.2. */
static inline void mbcompat_ssl_conf_min_tls12(mbedtls_ssl_config *conf)
{
#if MBCOMPAT_V3
	mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
#endif
}

/* The description byte of the alert record mbedtls last read (RFC 8446
 * section 6, e.g. 48 unknown_ca), or -1 when the last record read was no
 * alert. Meant right after MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE: neither
 * line has an accessor, so this reads the record buffer, which mbedtls
 * leaves in place after a fatal alert. */
static inline int mbcompat_ssl_last_alert(const mbedtls_ssl_context *ssl)
{
	const unsigned char *msg = ssl->MBEDTLS_PRIVATE(in_msg);

	if (msg == NULL || ssl->MBEDTLS_PRIVATE(in_msgtype) != MBEDTLS_SSL_MSG_ALERT ||
	    ssl->MBEDTLS_PRIVATE(in_msglen) < 2)
		return -1;
	return msg[1];
}

/* Sets a certificate's serial number (tests build certificates): 3.x
 * takes the bytes, 2.28 an MPI. */
static inline int mbcompat_x509write_crt_set_serial(mbedtls_x509write_cert *crt, uint8_t serial)
{
#if MBCOMPAT_V3
	return mbedtls_x509write_crt_set_serial_raw(crt, &serial, 1);
#else
	mbedtls_mpi n;
	int rc;

	mbedtls_mpi_init(&n);
	rc = mbedtls_mpi_lset(&n, serial);
	if (rc == 0)
		rc = mbedtls_x509write_crt_set_serial(crt, &n);
	mbedtls_mpi_free(&n);
	return rc;
#endif
}

#endif
