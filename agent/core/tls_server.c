#include "tls_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/oid.h>

#include "tls_internal.h"

/* What only the server has: the optional CA for client certificates. The
 * policy, RNG and own certificate are in tls__conf (tls_common.c). */
struct tls_server_ctx {
	struct tls__conf tc;
	mbedtls_x509_crt ca;
	int have_ca;
};

struct tls_session {
	struct tls__session core;
	char peer_cn[128];
};

static int ctx_load(struct tls_server_ctx *c, const char *cert, const char *key,
		    const char *client_ca, char *err, size_t errlen)
{
	int rc;

	rc = tls__conf_load_own(&c->tc, cert, key, err, errlen);
	if (rc < 0 || client_ca == NULL)
		return rc;
	rc = tls__load_crt(&c->ca, "client CA", client_ca, err, errlen);
	if (rc < 0)
		return rc;
	c->have_ca = 1;
	return 0;
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
	mbedtls_x509_crt_init(&c->ca);
	rc = tls__conf_init(&c->tc, "ward-tls", err, errlen);
	if (rc < 0)
		goto out;
	rc = ctx_load(c, cert, key, client_ca, err, errlen);
	if (rc < 0)
		goto out;
	rc = tls__conf_setup(&c->tc, MBEDTLS_SSL_IS_SERVER, cert, key, err, errlen);
	if (rc < 0)
		goto out;
	if (c->have_ca) {
		mbedtls_ssl_conf_ca_chain(&c->tc.conf, &c->ca, NULL);
		mbedtls_ssl_conf_authmode(&c->tc.conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	} else {
		mbedtls_ssl_conf_authmode(&c->tc.conf, MBEDTLS_SSL_VERIFY_NONE);
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
	tls__conf_free(&c->tc);
	mbedtls_x509_crt_free(&c->ca);
	free(c);
}

/* A refused client certificate is the common field problem (a sender
 * with a certificate from another CA, or an expired one): name it rather
 * than mbedtls's generic alert text. */
static int server_fail(struct tls__session *core, int rc)
{
	int err = tls__session_refused(core, "client ", "the client CA");

	if (err < 0)
		return err;
	if (rc == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE) {
		snprintf(core->error, sizeof(core->error), "client presented no certificate");
		return -EPROTO;
	}
	return tls__session_fail(core, "client", rc);
}

int tls_session_create(struct tls_session **out, struct tls_server_ctx *ctx,
		       tls_send_fn send, void *send_arg)
{
	struct tls_session *s;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	if (tls__session_init(&s->core, &ctx->tc.conf, send, send_arg, server_fail) < 0) {
		tls_session_destroy(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void tls_session_destroy(struct tls_session *s)
{
	if (s == NULL)
		return;
	tls__session_free(&s->core);
	free(s);
}

int tls_session_feed(struct tls_session *s, const uint8_t *data, size_t len)
{
	return tls__session_feed(&s->core, data, len);
}

static void session_note_peer(struct tls_session *s)
{
	const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&s->core.ssl);
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

int tls_session_read(struct tls_session *s, uint8_t *out, size_t cap)
{
	int was_established = s->core.established;
	int rc = tls__session_read(&s->core, out, cap);

	/* The handshake completed in this call: note the client's name
	 * before the caller sees any of its data. */
	if (!was_established && s->core.established)
		session_note_peer(s);
	return rc;
}

int tls_session_write(struct tls_session *s, const uint8_t *data, size_t len)
{
	return tls__session_write(&s->core, data, len);
}

void tls_session_close_notify(struct tls_session *s)
{
	tls__session_close_notify(&s->core);
}

int tls_session_established(const struct tls_session *s)
{
	return s->core.established;
}

const char *tls_session_peer_cn(const struct tls_session *s)
{
	return s->peer_cn[0] ? s->peer_cn : NULL;
}

const char *tls_session_version(const struct tls_session *s)
{
	return tls__session_version(&s->core);
}

const char *tls_session_error(const struct tls_session *s)
{
	return tls__session_error(&s->core);
}
