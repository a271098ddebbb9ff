#include "tls_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_MAJOR >= 3
#include <psa/crypto.h>
#endif

#include "buf.h"

struct tls_server_ctx {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert;
	mbedtls_x509_crt ca;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	int have_ca;
};

struct tls_session {
	mbedtls_ssl_context ssl;
	struct buf in;          /* ciphertext not yet consumed by mbedtls */
	size_t in_off;
	tls_send_fn send;
	void *send_arg;
	int established;
	char peer_cn[128];
	char error[192];
};

/* AEAD suites with forward secrecy only (RFC 7525 section 4.2). The TLS
 * 1.3 suites are all AEAD; they are listed for mbedtls 3.x. */
static const int aead_suites[] = {
#if MBEDTLS_VERSION_MAJOR >= 3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
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

static void tls_strerror(int rc, char *dst, size_t len)
{
	mbedtls_strerror(rc, dst, len);
}

static int ctx_fail(char *err, size_t errlen, const char *what, const char *path, int rc)
{
	char why[128];

	tls_strerror(rc, why, sizeof(why));
	snprintf(err, errlen, "cannot load %s %s: %s", what, path, why);
	return -EINVAL;
}

int tls_server_ctx_create(struct tls_server_ctx **out, const char *cert, const char *key,
			  const char *client_ca, char *err, size_t errlen)
{
	struct tls_server_ctx *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->cert);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_pk_init(&c->key);
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
#if MBEDTLS_VERSION_MAJOR >= 3
	if (psa_crypto_init() != PSA_SUCCESS) {
		snprintf(err, errlen, "PSA crypto failed to initialise");
		rc = -EIO;
		goto out;
	}
#endif
	rc = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
				   (const unsigned char *)"ward-tls", 8);
	if (rc != 0) {
		snprintf(err, errlen, "random generator failed to seed");
		rc = -EIO;
		goto out;
	}
	rc = mbedtls_x509_crt_parse_file(&c->cert, cert);
	if (rc != 0) {
		rc = ctx_fail(err, errlen, "certificate", cert, rc);
		goto out;
	}
#if MBEDTLS_VERSION_MAJOR >= 3
	rc = mbedtls_pk_parse_keyfile(&c->key, key, NULL, mbedtls_ctr_drbg_random, &c->drbg);
#else
	rc = mbedtls_pk_parse_keyfile(&c->key, key, NULL);
#endif
	if (rc != 0) {
		rc = ctx_fail(err, errlen, "key", key, rc);
		goto out;
	}
	if (client_ca != NULL) {
		rc = mbedtls_x509_crt_parse_file(&c->ca, client_ca);
		if (rc != 0) {
			rc = ctx_fail(err, errlen, "client CA", client_ca, rc);
			goto out;
		}
		c->have_ca = 1;
	}
	rc = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_SERVER,
					 MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0) {
		rc = ctx_fail(err, errlen, "TLS defaults", "", rc);
		goto out;
	}
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
#if MBEDTLS_VERSION_MAJOR >= 3
	mbedtls_ssl_conf_min_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
	mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
#endif
	mbedtls_ssl_conf_ciphersuites(&c->conf, aead_suites);
	rc = mbedtls_ssl_conf_own_cert(&c->conf, &c->cert, &c->key);
	if (rc != 0) {
		snprintf(err, errlen, "certificate %s does not match key %s", cert, key);
		rc = -EINVAL;
		goto out;
	}
	if (c->have_ca) {
		mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	} else {
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
	}
	*out = c;
	return 0;
out:
	tls_server_ctx_destroy(c);
	return rc;
}

void tls_server_ctx_destroy(struct tls_server_ctx *c)
{
	if (c == NULL)
		return;
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->cert);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_pk_free(&c->key);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
	free(c);
}

static int bio_send(void *arg, const unsigned char *p, size_t len)
{
	struct tls_session *s = arg;

	if (s->send(s->send_arg, p, len) < 0)
		return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	return (int)len;
}

static int bio_recv(void *arg, unsigned char *p, size_t len)
{
	struct tls_session *s = arg;
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

int tls_session_create(struct tls_session **out, struct tls_server_ctx *ctx,
		       tls_send_fn send, void *send_arg)
{
	struct tls_session *s;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	mbedtls_ssl_init(&s->ssl);
	buf_init(&s->in);
	s->send = send;
	s->send_arg = send_arg;
	if (mbedtls_ssl_setup(&s->ssl, &ctx->conf) != 0) {
		tls_session_destroy(s);
		return -ENOMEM;
	}
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
	*out = s;
	return 0;
}

void tls_session_destroy(struct tls_session *s)
{
	if (s == NULL)
		return;
	mbedtls_ssl_free(&s->ssl);
	buf_free(&s->in);
	free(s);
}

int tls_session_feed(struct tls_session *s, const uint8_t *data, size_t len)
{
	/* Compact before growing so a slow reader does not creep upwards. */
	if (s->in_off > 0) {
		buf_consume(&s->in, s->in_off);
		s->in_off = 0;
	}
	return buf_append(&s->in, data, len);
}

static void session_note_peer(struct tls_session *s)
{
	const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&s->ssl);
	const mbedtls_x509_name *n;

	if (peer == NULL)
		return;
	for (n = &peer->subject; n != NULL; n = n->next) {
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
			size_t len = n->val.len < sizeof(s->peer_cn) - 1 ?
				     n->val.len : sizeof(s->peer_cn) - 1;
			memcpy(s->peer_cn, n->val.p, len);
			s->peer_cn[len] = '\0';
			return;
		}
	}
}

static int session_fail(struct tls_session *s, int rc)
{
	char why[128];
	uint32_t flags = mbedtls_ssl_get_verify_result(&s->ssl);

	/* A failed verification is the common field problem (wrong CA on the
	 * sender); name it rather than mbedtls's generic alert text. */
	if (!s->established && flags != 0 && flags != (uint32_t)-1) {
		char info[160];

		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		info[strcspn(info, "\n")] = '\0';
		snprintf(s->error, sizeof(s->error), "client certificate not trusted: %s", info);
		return -EPROTO;
	}
	if (rc == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE) {
		snprintf(s->error, sizeof(s->error), "client presented no certificate");
		return -EPROTO;
	}
	tls_strerror(rc, why, sizeof(why));
	snprintf(s->error, sizeof(s->error), "%s: %s",
		 s->established ? "TLS record error" : "TLS handshake failed", why);
	return -EPROTO;
}

int tls_session_read(struct tls_session *s, uint8_t *out, size_t cap)
{
	int rc;

	if (!s->established) {
		rc = mbedtls_ssl_handshake(&s->ssl);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			return 0;
		if (rc != 0)
			return session_fail(s, rc);
		s->established = 1;
		session_note_peer(s);
	}
	for (;;) {
		rc = mbedtls_ssl_read(&s->ssl, out, cap);
		if (rc > 0)
			return rc;
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			return 0;
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
		if (rc == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			continue;
#endif
		if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
			return -ECONNRESET;
		return session_fail(s, rc);
	}
}

int tls_session_write(struct tls_session *s, const uint8_t *data, size_t len)
{
	size_t off = 0;
	int rc;

	if (!s->established)
		return -ENOTCONN;
	while (off < len) {
		rc = mbedtls_ssl_write(&s->ssl, data + off, len - off);
		/* bio_send takes every byte or fails, so WANT_WRITE cannot
		 * happen; anything short of progress is a failure. */
		if (rc <= 0)
			return session_fail(s, rc);
		off += (size_t)rc;
	}
	return 0;
}

void tls_session_close_notify(struct tls_session *s)
{
	if (s->established)
		(void)mbedtls_ssl_close_notify(&s->ssl);
}

int tls_session_established(const struct tls_session *s)
{
	return s->established;
}

const char *tls_session_peer_cn(const struct tls_session *s)
{
	return s->peer_cn[0] ? s->peer_cn : NULL;
}

const char *tls_session_version(const struct tls_session *s)
{
	return mbedtls_ssl_get_version(&s->ssl);
}

const char *tls_session_error(const struct tls_session *s)
{
	return s->error[0] ? s->error : "no error";
}
