#include "tls_internal.h"
#include "tls_server.h"

#include <uv.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/error.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#include <psa/crypto.h>
#endif

/* AEAD suites with forward secrecy only (RFC 7525 section 4.2). The TLS
 * 1.3 suites are all AEAD; they are listed for mbedtls 3.x. */
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

static int load_fail(char *err, size_t errlen, const char *what, const char *path, int rc)
{
	char why[128];

	mbedtls_strerror(rc, why, sizeof(why));
	snprintf(err, errlen, "cannot load %s %s: %s", what, path, why);
	return -EINVAL;
}

int tls__conf_init(struct tls__conf *c, const char *pers, char *err, size_t errlen)
{
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->cert);
	mbedtls_pk_init(&c->key);
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	if (psa_crypto_init() != PSA_SUCCESS) {
		snprintf(err, errlen, "PSA crypto failed to initialise");
		return -EIO;
	}
#endif
	if (mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
				  (const unsigned char *)pers, strlen(pers)) != 0) {
		snprintf(err, errlen, "random generator failed to seed");
		return -EIO;
	}
	return 0;
}

void tls__conf_free(struct tls__conf *c)
{
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->cert);
	mbedtls_pk_free(&c->key);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
}

int tls__load_crt(mbedtls_x509_crt *crt, const char *what, const char *path, char *err,
		  size_t errlen)
{
	int rc = mbedtls_x509_crt_parse_file(crt, path);

	return rc != 0 ? load_fail(err, errlen, what, path, rc) : 0;
}

int tls__conf_load_own(struct tls__conf *c, const char *cert, const char *key, char *err,
		       size_t errlen)
{
	int rc;

	rc = tls__load_crt(&c->cert, "certificate", cert, err, errlen);
	if (rc < 0)
		return rc;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	rc = mbedtls_pk_parse_keyfile(&c->key, key, NULL, mbedtls_ctr_drbg_random, &c->drbg);
#else
	rc = mbedtls_pk_parse_keyfile(&c->key, key, NULL);
#endif
	if (rc != 0)
		return load_fail(err, errlen, "key", key, rc);
	return 0;
}

int tls__conf_setup(struct tls__conf *c, int endpoint, const char *cert, const char *key,
		    char *err, size_t errlen)
{
	int rc;

	rc = mbedtls_ssl_config_defaults(&c->conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
					 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rc != 0)
		return load_fail(err, errlen, "TLS defaults", "", rc);
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	mbedtls_ssl_conf_min_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
	mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
#endif
	mbedtls_ssl_conf_ciphersuites(&c->conf, aead_suites);
	if (mbedtls_ssl_conf_own_cert(&c->conf, &c->cert, &c->key) != 0) {
		snprintf(err, errlen, "certificate %s does not match key %s", cert, key);
		return -EINVAL;
	}
	return 0;
}

static int bio_send(void *arg, const unsigned char *p, size_t len)
{
	struct tls__session *s = arg;

	if (s->send(s->send_arg, p, len) < 0)
		return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	return (int)len;
}

static int bio_recv(void *arg, unsigned char *p, size_t len)
{
	struct tls__session *s = arg;
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

int tls__session_init(struct tls__session *s, const mbedtls_ssl_config *conf,
		      tls__send_fn send, void *send_arg, tls__fail_fn fail)
{
	mbedtls_ssl_init(&s->ssl);
	buf_init(&s->in);
	s->send = send;
	s->send_arg = send_arg;
	s->fail = fail;
	if (mbedtls_ssl_setup(&s->ssl, conf) != 0)
		return -ENOMEM;
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
	return 0;
}

void tls__session_free(struct tls__session *s)
{
	mbedtls_ssl_free(&s->ssl);
	buf_free(&s->in);
}

int tls__session_feed(struct tls__session *s, const uint8_t *data, size_t len)
{
	/* Compact before growing so a slow reader does not creep upwards. */
	if (s->in_off > 0) {
		buf_consume(&s->in, s->in_off);
		s->in_off = 0;
	}
	return buf_append(&s->in, data, len);
}

int tls__session_read(struct tls__session *s, uint8_t *out, size_t cap)
{
	int rc;

	if (!s->established) {
		rc = mbedtls_ssl_handshake(&s->ssl);
		if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
			return 0;
		if (rc != 0)
			return s->fail(s, rc);
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
		return s->fail(s, rc);
	}
}

int tls__session_write(struct tls__session *s, const uint8_t *data, size_t len)
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
			return s->fail(s, rc);
		off += (size_t)rc;
	}
	return 0;
}

void tls__session_close_notify(struct tls__session *s)
{
	if (s->established)
		(void)mbedtls_ssl_close_notify(&s->ssl);
}

uint32_t tls__session_refused(const struct tls__session *s, char *info, size_t len)
{
	uint32_t flags = mbedtls_ssl_get_verify_result(&s->ssl);

	if (s->established || flags == 0 || flags == (uint32_t)-1)
		return 0;
	mbedtls_x509_crt_verify_info(info, len, "", flags);
	info[strcspn(info, "\n")] = '\0';
	return flags;
}

int tls__session_fail(struct tls__session *s, int rc)
{
	char why[128];

	mbedtls_strerror(rc, why, sizeof(why));
	snprintf(s->error, sizeof(s->error), "%s: %s",
		 s->established ? "TLS record error" : "TLS handshake failed", why);
	return -EPROTO;
}

const char *tls__session_version(const struct tls__session *s)
{
	return mbedtls_ssl_get_version(&s->ssl);
}

const char *tls__session_error(const struct tls__session *s)
{
	return s->error[0] ? s->error : "no error";
}

static void write_copy_done(uv_write_t *req, int status)
{
	(void)status;   /* a failed write surfaces as a read error or close */
	free(req);
}

int tls_uv_write_copy(uv_stream_t *stream, const uint8_t *data, size_t len)
{
	uv_write_t *req = malloc(sizeof(*req) + len);
	uv_buf_t b;

	if (req == NULL)
		return -ENOMEM;
	memcpy(req + 1, data, len);
	b = uv_buf_init((char *)(req + 1), (unsigned)len);
	if (uv_write(req, stream, &b, 1, write_copy_done) < 0) {
		free(req);
		return -EPIPE;
	}
	return 0;
}
