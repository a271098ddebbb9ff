#include "tls_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h"

/* What only the client has: the pinned CA. The policy, RNG and the device
 * certificate are in tls__conf (tls_common.c). */
struct tls_client_ctx {
	struct tls__conf tc;
	mbedtls_x509_crt ca;
};

struct tls_client {
	struct tls__session core;
};

int tls_client_ctx_create(struct tls_client_ctx **out, const char *ca, const char *cert,
			  const char *key, char *err, size_t errlen)
{
	struct tls_client_ctx *c;
	int rc;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	mbedtls_x509_crt_init(&c->ca);
	rc = tls__conf_init(&c->tc, "ward-tls-client", err, errlen);
	if (rc < 0)
		goto out;
	rc = tls__load_crt(&c->ca, "CA", ca, err, errlen);
	if (rc < 0)
		goto out;
	rc = tls__conf_load_own(&c->tc, cert, key, err, errlen);
	if (rc < 0)
		goto out;
	rc = tls__conf_setup(&c->tc, MBEDTLS_SSL_IS_CLIENT, cert, key, err, errlen);
	if (rc < 0)
		goto out;
	/* Only the pinned CA: a public CA, or a middlebox's, is never trusted. */
	mbedtls_ssl_conf_ca_chain(&c->tc.conf, &c->ca, NULL);
	mbedtls_ssl_conf_authmode(&c->tc.conf, MBEDTLS_SSL_VERIFY_REQUIRED);
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
	tls__conf_free(&c->tc);
	mbedtls_x509_crt_free(&c->ca);
	free(c);
}

/* A refused server certificate is what a field engineer must fix (a wrong
 * CA pinned, a TLS-inspecting proxy, a wrong host name, an expired
 * certificate or a wrong clock): tls__session_refused names it, with the
 * issuer, dates or names, rather than mbedtls's alert text. */
static int client_fail(struct tls__session *core, int rc)
{
	int err = tls__session_refused(core, "server ", "the pinned CA");

	return err < 0 ? err : tls__session_fail(core, "server", rc);
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
	rc = tls__session_init(&s->core, &ctx->tc.conf, send, send_arg, client_fail);
	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	/* Sets SNI and the name the certificate must carry. */
	if (mbedtls_ssl_set_hostname(&s->core.ssl, host) != 0)
		goto out;
	snprintf(s->core.note.expected_host, sizeof(s->core.note.expected_host), "%s", host);
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
	tls__session_free(&s->core);
	free(s);
}

int tls_client_feed(struct tls_client *s, const uint8_t *data, size_t len)
{
	return tls__session_feed(&s->core, data, len);
}

int tls_client_read(struct tls_client *s, uint8_t *out, size_t cap)
{
	return tls__session_read(&s->core, out, cap);
}

int tls_client_write(struct tls_client *s, const uint8_t *data, size_t len)
{
	return tls__session_write(&s->core, data, len);
}

void tls_client_close_notify(struct tls_client *s)
{
	if (s != NULL)
		tls__session_close_notify(&s->core);
}

int tls_client_established(const struct tls_client *s)
{
	return s->core.established;
}

const char *tls_client_version(const struct tls_client *s)
{
	return tls__session_version(&s->core);
}

const char *tls_client_error(const struct tls_client *s)
{
	return tls__session_error(&s->core);
}
