#include "tls_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <psa/crypto.h>
#endif

#include "buf.h"

struct tls_client_ctx {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

struct tls_client {
	mbedtls_ssl_context ssl;
	struct buf in;          /* ciphertext not yet consumed by mbedtls */
	size_t in_off;
	tls_client_send_fn send;
	void *send_arg;
	int established;
	char peer_issuer[128];  /* issuer of the server's leaf certificate */
	char error[384];
};

/* AEAD suites with forward secrecy only (RFC 7525 section 4.2), as the
 * server side offers; the TLS 1.3 suites are all AEAD. */
static const int aead_suites[] = {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
	MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
	MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
	MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
#endif
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	0
};

static int ctx_fail(char *err, size_t errlen, const char *what, const char *path, int rc)
{
	char why[128];

	mbedtls_strerror(rc, why, sizeof(why));
	snprintf(err, errlen, "cannot load %s %s: %s", what, path, why);
	return -EINVAL;
}

static int ctx_load(struct tls_client_ctx *c, const char *ca, const char *cert,
		    const char *key, char *err, size_t errlen)
{
	int rc;

	rc = mbedtls_x509_crt_parse_file(&c->ca, ca);
	if (rc != 0)
		return ctx_fail(err, errlen, "CA", ca, rc);
	rc = mbedtls_x509_crt_parse_file(&c->cert, cert);
	if (rc != 0)
		return ctx_fail(err, errlen, "certificate", cert, rc);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	rc = mbedtls_pk_parse_keyfile(&c->key, key, NULL, mbedtls_ctr_drbg_random, &c->drbg);
#else
	rc = mbedtls_pk_parse_keyfile(&c->key, key, NULL);
#endif
	if (rc != 0)
		return ctx_fail(err, errlen, "key", key, rc);
	return 0;
}

int tls_client_ctx_create(struct tls_client_ctx **out, const char *ca, const char *cert,
			  const char *key, char *err, size_t errlen)
{
	struct tls_client_ctx *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_x509_crt_init(&c->cert);
	mbedtls_pk_init(&c->key);
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	if (psa_crypto_init() != PSA_SUCCESS) {
		snprintf(err, errlen, "PSA crypto failed to initialise");
		rc = -EIO;
		goto out;
	}
#endif
	rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
				   (const unsigned char *)"ward-tls-client", 15);
	if (rc != 0) {
		snprintf(err, errlen, "random generator failed to seed");
		rc = -EIO;
		goto out;
	}
	rc = ctx_load(c, ca, cert, key, err, errlen);
	if (rc < 0)
		goto out;
	rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
					 MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0) {
		rc = ctx_fail(err, errlen, "TLS defaults", "", rc);
		goto out;
	}
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	mbedtls_ssl_conf_min_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
	mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
#endif
	mbedtls_ssl_conf_ciphersuites(&c->conf, aead_suites);
	/* Only the pinned CA: a public CA, or a middlebox's, is never trusted. */
	mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	rc = mbedtls_ssl_conf_own_cert(&c->conf, &c->cert, &c->key);
	if (rc != 0) {
		snprintf(err, errlen, "certificate %s does not match key %s", cert, key);
		rc = -EINVAL;
		goto out;
	}
	*out = c;
	return 0;
out:
	tls_client_ctx_destroy(c);
	return rc;
}

void tls_client_ctx_destroy(struct tls_client_ctx *c)
{
	if (c == NULL)
		return;
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_x509_crt_free(&c->cert);
	mbedtls_pk_free(&c->key);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
	free(c);
}

static int bio_send(void *arg, const unsigned char *p, size_t len)
{
	struct tls_client *s = arg;

	if (s->send(s->send_arg, p, len) < 0)
		return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	return (int)len;
}

static int bio_recv(void *arg, unsigned char *p, size_t len)
{
	struct tls_client *s = arg;
	size_t avail = s->in.len - s->in_off;

	if (avail == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (len > avail)
		len = avail;
	memcpy(p, s->in.data + s->in_off, len);
	s->in_off += len;
	if (s->in_off == s->in.len) {
		s->in.len = 0;
		s->in_off = 0;
	}
	return (int)len;
}

/* Notes the leaf's issuer, so a refusal can say whose certificate it was;
 * the verdict itself stays mbedtls's. */
static int verify_note(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls_client *s = arg;

	(void)flags;
	if (depth == 0 && mbedtls_x509_dn_gets(s->peer_issuer, sizeof(s->peer_issuer),
					       &crt->issuer) < 0)
		s->peer_issuer[0] = '\0';
	return 0;
}

int tls_client_create(struct tls_client **out, struct tls_client_ctx *ctx, const char *host,
		      tls_client_send_fn send, void *send_arg)
{
	struct tls_client *s;
	int rc;

	*out = NULL;
	if (host == NULL || host[0] == '\0')
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	mbedtls_ssl_init(&s->ssl);
	buf_init(&s->in);
	s->send = send;
	s->send_arg = send_arg;
	rc = -ENOMEM;
	if (mbedtls_ssl_setup(&s->ssl, &ctx->conf) != 0)
		goto out;
	/* Sets SNI and the name the certificate must carry. */
	if (mbedtls_ssl_set_hostname(&s->ssl, host) != 0)
		goto out;
	mbedtls_ssl_set_verify(&s->ssl, verify_note, s);
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
	*out = s;
	return 0;
out:
	tls_client_destroy(s);
	return rc;
}

void tls_client_destroy(struct tls_client *s)
{
	if (s == NULL)
		return;
	mbedtls_ssl_free(&s->ssl);
	buf_free(&s->in);
	free(s);
}

int tls_client_feed(struct tls_client *s, const uint8_t *data, size_t len)
{
	if (s->in_off > 0) {
		buf_consume(&s->in, s->in_off);
		s->in_off = 0;
	}
	return buf_append(&s->in, data, len);
}

static int client_fail(struct tls_client *s, int rc)
{
	char why[128];
	uint32_t flags = mbedtls_ssl_get_verify_result(&s->ssl);

	/* A refused server certificate is what a field engineer must fix (a
	 * wrong CA pinned, a TLS-inspecting proxy, a wrong host name): name
	 * it, with the issuer, rather than mbedtls's alert text. */
	if (!s->established && flags != 0 && flags != (uint32_t)-1) {
		char info[160];
		const char *what = (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) ?
				   "server certificate not trusted" :
				   (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) ?
				   "server certificate names another host" :
				   "server certificate refused";

		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		info[strcspn(info, "\n")] = '\0';
		if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
			snprintf(s->error, sizeof(s->error),
				 "%.40s: issuer %s is not the pinned CA (%s)", what,
				 s->peer_issuer[0] ? s->peer_issuer : "?", info);
		/* (the error buffer holds the longest issuer and reason) */
		else
			snprintf(s->error, sizeof(s->error), "%s: %s", what, info);
		return -EPROTO;
	}
	mbedtls_strerror(rc, why, sizeof(why));
	snprintf(s->error, sizeof(s->error), "%s: %s",
		 s->established ? "TLS record error" : "TLS handshake failed", why);
	return -EPROTO;
}

int tls_client_read(struct tls_client *s, uint8_t *out, size_t cap)
{
	int rc;

	if (!s->established) {
		rc = mbedtls_ssl_handshake(&s->ssl);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			return 0;
		if (rc != 0)
			return client_fail(s, rc);
		s->established = 1;
	}
	for (;;) {
		rc = mbedtls_ssl_read(&s->ssl, out, cap);
		if (rc > 0)
			return rc;
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			return 0;
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
		/* TLS 1.3 servers send tickets after the handshake. */
		if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;
#endif
		if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
			return -ECONNRESET;
		return client_fail(s, rc);
	}
}

int tls_client_write(struct tls_client *s, const uint8_t *data, size_t len)
{
	size_t off = 0;
	int rc;

	if (!s->established)
		return -ENOTCONN;
	while (off < len) {
		rc = mbedtls_ssl_write(&s->ssl, data + off, len - off);
		/* bio_send takes every byte or fails: no WANT_WRITE here. */
		if (rc <= 0)
			return client_fail(s, rc);
		off += (size_t)rc;
	}
	return 0;
}

void tls_client_close_notify(struct tls_client *s)
{
	if (s != NULL && s->established)
		(void)mbedtls_ssl_close_notify(&s->ssl);
}

int tls_client_established(const struct tls_client *s)
{
	return s->established;
}

const char *tls_client_version(const struct tls_client *s)
{
	return mbedtls_ssl_get_version(&s->ssl);
}

const char *tls_client_error(const struct tls_client *s)
{
	return s->error[0] ? s->error : "no error";
}
