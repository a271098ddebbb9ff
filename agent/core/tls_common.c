#include "tls_internal.h"
#include "tls_server.h"

#include <uv.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>

/* AEAD suites with forward secrecy only (RFC 7525 section 4.2). The TLS
 * 1.3 suites are all AEAD; they are listed for mbedtls 3.x. */
static const int aead_suites[] = {
#if MBCOMPAT_TLS1_3
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

static int verify_note(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags);

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
	/* TLS 1.3 in mbedtls 3.x runs on PSA; a no-op on 2.28. */
	if (mbcompat_psa_init() < 0) {
		snprintf(err, errlen, "PSA crypto failed to initialise");
		return -EIO;
	}
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
	rc = mbcompat_pk_parse_keyfile(&c->key, key, mbedtls_ctr_drbg_random, &c->drbg);
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
	mbcompat_ssl_conf_min_tls12(&c->conf);
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
	s->established = 0;
	s->got_data = 0;
	memset(&s->note, 0, sizeof(s->note));
	s->error[0] = '\0';
	s->send = send;
	s->send_arg = send_arg;
	s->fail = fail;
	if (mbedtls_ssl_setup(&s->ssl, conf) != 0)
		return -ENOMEM;
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
	mbedtls_ssl_set_verify(&s->ssl, verify_note, s);
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
		if (rc > 0) {
			s->got_data = 1;
			return rc;
		}
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

/* ---- why a handshake failed, in words ------------------------------------
 * Field engineers and SOC staff read these in `wardctl status`: they say
 * which certificate, which date or name, and what to check, and never run
 * past s->error (every append is bounded). */

static void add(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *out, size_t cap, const char *fmt, ...)
{
	size_t used = strnlen(out, cap);
	va_list ap;

	if (used + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(out + used, cap - used, fmt, ap);
	va_end(ap);
}

/* Copies `src` (names from the peer's certificate: untrusted) into
 * out[cap], control characters as '?', ending in "..." when it had to be
 * cut. */
static void copy_cut(char *out, size_t cap, const char *src)
{
	size_t len = strlen(src), i;

	if (len < cap) {
		memcpy(out, src, len + 1);
	} else {
		memcpy(out, src, cap - 4);
		memcpy(out + cap - 4, "...", 4);
		len = cap - 4;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
}

static void dn_copy(char *out, size_t cap, const mbedtls_x509_name *name)
{
	char dn[512];

	if (mbedtls_x509_dn_gets(dn, sizeof(dn), name) < 0)
		snprintf(dn, sizeof(dn), "(a name longer than %zu bytes)", sizeof(dn));
	copy_cut(out, cap, dn);
}

/* The names a certificate holds for hosts: its subjectAltName DNS names
 * and IPv4 addresses, or its CN when it has none (RFC 6125 section 6.4.4),
 * which is also what mbedtls matches the expected host against. */
static void names_copy(char *out, size_t cap, const mbedtls_x509_crt *crt)
{
	const mbedtls_x509_sequence *san;
	const mbedtls_x509_name *n;
	char all[512] = "";

	for (san = &crt->subject_alt_names; san != NULL && san->buf.p != NULL; san = san->next) {
		const unsigned char *p = san->buf.p;
		const char *sep = all[0] ? ", " : "";

		if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
			add(all, sizeof(all), "%s%.*s", sep, (int)san->buf.len, (const char *)p);
		else if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS) && san->buf.len == 4)
			add(all, sizeof(all), "%s%u.%u.%u.%u", sep, p[0], p[1], p[2], p[3]);
	}
	for (n = &crt->subject; all[0] == '\0' && n != NULL; n = n->next)
		if (n->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0)
			add(all, sizeof(all), "%.*s", (int)n->val.len, (const char *)n->val.p);
	copy_cut(out, cap, all[0] ? all : "no host name");
}

/* mbedtls calls this for each certificate of the peer's chain, the top
 * first and the leaf (depth 0) last, with that certificate's own flags;
 * the verdict stays mbedtls's. */
static int verify_note(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls__peer_note *n = &((struct tls__session *)arg)->note;

	if (depth == 0) {
		dn_copy(n->leaf_subject, sizeof(n->leaf_subject), &crt->subject);
		names_copy(n->leaf_names, sizeof(n->leaf_names), crt);
	}
	if ((*flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) && n->untrusted_issuer[0] == '\0')
		dn_copy(n->untrusted_issuer, sizeof(n->untrusted_issuer), &crt->issuer);
	if ((*flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) &&
	    n->dated_subject[0] == '\0') {
		dn_copy(n->dated_subject, sizeof(n->dated_subject), &crt->subject);
		n->dated_from = crt->valid_from;
		n->dated_to = crt->valid_to;
	}
	return 0;
}

static void add_time(char *out, size_t cap, const mbedtls_x509_time *t)
{
	add(out, cap, "%04d-%02d-%02d %02d:%02d:%02d UTC", t->year, t->mon, t->day, t->hour,
	    t->min, t->sec);
}

static const char *or_unknown(const char *s)
{
	return s[0] ? s : "(unknown)";
}

/* Short words for the flags the main reason did not cover. */
static void add_also(char *out, size_t cap, uint32_t rest)
{
	static const struct { uint32_t flag; const char *words; } also[] = {
		{ MBEDTLS_X509_BADCERT_NOT_TRUSTED, "not trusted" },
		{ MBEDTLS_X509_BADCERT_EXPIRED, "expired" },
		{ MBEDTLS_X509_BADCERT_FUTURE, "not yet valid" },
		{ MBEDTLS_X509_BADCERT_CN_MISMATCH, "names another host" },
		{ MBEDTLS_X509_BADCERT_REVOKED, "revoked" },
		{ MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
		  MBEDTLS_X509_BADCERT_NS_CERT_TYPE, "wrong key usage" },
		{ MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK |
		  MBEDTLS_X509_BADCERT_BAD_KEY, "weak algorithm or key" },
	};
	const char *sep = "; also ";
	size_t i;

	for (i = 0; i < sizeof(also) / sizeof(also[0]); i++) {
		if (rest & also[i].flag) {
			add(out, cap, "%s%s", sep, also[i].words);
			sep = ", ";
			rest &= ~also[i].flag;
		}
	}
	if (rest != 0)
		add(out, cap, "%sother problems (flags 0x%x)", sep, (unsigned)rest);
}

int tls__session_refused(struct tls__session *s, const char *whose, const char *trusted)
{
	uint32_t flags = mbedtls_ssl_get_verify_result(&s->ssl);
	const uint32_t key_usage = MBEDTLS_X509_BADCERT_KEY_USAGE |
		MBEDTLS_X509_BADCERT_EXT_KEY_USAGE | MBEDTLS_X509_BADCERT_NS_CERT_TYPE;
	const uint32_t weak = MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK |
		MBEDTLS_X509_BADCERT_BAD_KEY;
	const struct tls__peer_note *n = &s->note;
	char *e = s->error, info[160];
	const size_t cap = sizeof(s->error);
	uint32_t shown;

	if (s->established || flags == 0 || flags == (uint32_t)-1)
		return 0;
	e[0] = '\0';
	if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
		shown = MBEDTLS_X509_BADCERT_NOT_TRUSTED;
		add(e, cap, "%scertificate not trusted: issuer %s is not %s (subject %s)", whose,
		    or_unknown(n->untrusted_issuer), trusted, or_unknown(n->leaf_subject));
	} else if (flags & MBEDTLS_X509_BADCERT_EXPIRED) {
		shown = MBEDTLS_X509_BADCERT_EXPIRED;
		add(e, cap, "%scertificate expired on ", whose);
		add_time(e, cap, &n->dated_to);
		add(e, cap, " (subject %s)", or_unknown(n->dated_subject));
	} else if (flags & MBEDTLS_X509_BADCERT_FUTURE) {
		/* A probe whose clock went back to 1970 sees every certificate so. */
		shown = MBEDTLS_X509_BADCERT_FUTURE;
		add(e, cap, "%scertificate not valid before ", whose);
		add_time(e, cap, &n->dated_from);
		add(e, cap, " (subject %s): is this device's clock right?",
		    or_unknown(n->dated_subject));
	} else if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
		shown = MBEDTLS_X509_BADCERT_CN_MISMATCH;
		add(e, cap, "hostname mismatch: %scertificate names %s, not %s", whose,
		    or_unknown(n->leaf_names), or_unknown(n->expected_host));
	} else if (flags & key_usage) {
		shown = key_usage;
		add(e, cap, "%scertificate is not issued for this use (key usage) (subject %s)",
		    whose, or_unknown(n->leaf_subject));
	} else if (flags & weak) {
		shown = weak;
		add(e, cap, "%scertificate uses a hash, key type or key size not allowed "
		    "(subject %s)", whose, or_unknown(n->leaf_subject));
	} else {
		shown = flags;
		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		info[strcspn(info, "\n")] = '\0';
		add(e, cap, "%scertificate refused: %s (subject %s)", whose, info,
		    or_unknown(n->leaf_subject));
	}
	add_also(e, cap, flags & ~shown);
	return -EPROTO;
}

/* TLS alert names (RFC 8446 section 6 and RFC 5246 section 7.2). */
static const char *alert_name(int alert)
{
	switch (alert) {
	case MBEDTLS_SSL_ALERT_MSG_UNEXPECTED_MESSAGE: return "unexpected_message";
	case MBEDTLS_SSL_ALERT_MSG_BAD_RECORD_MAC: return "bad_record_mac";
	case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE: return "handshake_failure";
	case MBEDTLS_SSL_ALERT_MSG_BAD_CERT: return "bad_certificate";
	case MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT: return "unsupported_certificate";
	case MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED: return "certificate_revoked";
	case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED: return "certificate_expired";
	case MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN: return "certificate_unknown";
	case MBEDTLS_SSL_ALERT_MSG_ILLEGAL_PARAMETER: return "illegal_parameter";
	case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA: return "unknown_ca";
	case MBEDTLS_SSL_ALERT_MSG_ACCESS_DENIED: return "access_denied";
	case MBEDTLS_SSL_ALERT_MSG_DECODE_ERROR: return "decode_error";
	case MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR: return "decrypt_error";
	case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION: return "protocol_version";
	case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY: return "insufficient_security";
	case MBEDTLS_SSL_ALERT_MSG_INTERNAL_ERROR: return "internal_error";
	case MBEDTLS_SSL_ALERT_MSG_UNRECOGNIZED_NAME: return "unrecognized_name";
	case 109: return "missing_extension";
	case 116: return "certificate_required";
	default: return NULL;
	}
}

/* Our certificate as the peer sees it, with what to check. */
static const char *own_certificate(const char *peer)
{
	return strcmp(peer, "server") == 0 ?
	       "the device certificate: is it issued by the CA the SOC trusts?" :
	       "our certificate: does it trust our CA?";
}

/* The peer ended the handshake (or, with TLS 1.3, the first read after
 * it: a server checks the client's certificate after the client's last
 * flight) with a fatal alert; says what it usually means. */
static void alert_words(struct tls__session *s, const char *peer, int alert)
{
	const char *name = alert_name(alert);
	char num[16];

	if (name == NULL) {
		snprintf(num, sizeof(num), "alert %d", alert);
		name = num;
	}
	switch (alert) {
	case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
	case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY:
		add(s->error, sizeof(s->error), "handshake failed: no shared cipher suite "
		    "(the %s sent %s: it offers TLS 1.0 only, or no AEAD suite?)", peer, name);
		return;
	case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
		add(s->error, sizeof(s->error), "handshake failed: no shared TLS version "
		    "(the %s sent %s: it offers TLS 1.1 or older only?)", peer, name);
		return;
	case MBEDTLS_SSL_ALERT_MSG_BAD_CERT:
	case MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT:
	case MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED:
	case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED:
	case MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN:
	case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA:
	case MBEDTLS_SSL_ALERT_MSG_ACCESS_DENIED:
	case 116:
		add(s->error, sizeof(s->error), "the %s refused %s (%s alert)", peer,
		    own_certificate(peer), name);
		return;
	default:
		add(s->error, sizeof(s->error), "%s: the %s sent a fatal %s alert",
		    s->established ? "TLS record error" : "TLS handshake failed", peer, name);
	}
}

int tls__session_fail(struct tls__session *s, const char *peer, int rc)
{
	char why[128];
	int alert = -1;

	s->error[0] = '\0';
	if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
		alert = mbcompat_ssl_last_alert(&s->ssl);
	if (alert >= 0) {
		alert_words(s, peer, alert);
		return -EPROTO;
	}
	/* With TLS 1.3 a client finishes its handshake before the server has
	 * checked its certificate; mbedtls 3.6's server then sends its alert
	 * under the handshake keys, which the client cannot authenticate. So
	 * a bad record before any data after a 1.3 handshake is, in practice,
	 * the server refusing the device. */
	if (s->established && !s->got_data && rc == MBEDTLS_ERR_SSL_INVALID_MAC &&
	    strcmp(mbedtls_ssl_get_version(&s->ssl), "TLSv1.3") == 0)
		add(s->error, sizeof(s->error), "the %s ended the session right after the TLS 1.3 "
		    "handshake, as it does when it refuses %s", peer, own_certificate(peer));
	else if (!s->established && rc == MBCOMPAT_ERR_SSL_BAD_PROTOCOL_VERSION)
		add(s->error, sizeof(s->error), "handshake failed: no shared TLS version "
		    "(the %s offers TLS 1.1 or older only?)", peer);
	else if (!s->established && mbcompat_err_no_shared_suite(rc))
		add(s->error, sizeof(s->error), "handshake failed: no shared cipher suite "
		    "(the %s offers TLS 1.0 only, or no AEAD suite?)", peer);
	else if (!s->established && rc == MBEDTLS_ERR_SSL_INVALID_RECORD)
		add(s->error, sizeof(s->error), "handshake failed: the %s does not speak TLS "
		    "(plain HTTP, or a proxy in the way?)", peer);
	if (s->error[0] == '\0') {
		mbedtls_strerror(rc, why, sizeof(why));
		add(s->error, sizeof(s->error), "%s: %s",
		    s->established ? "TLS record error" : "TLS handshake failed", why);
	}
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
