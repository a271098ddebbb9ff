/* tls_internal: what tls_server and tls_client share, so the two sides
 * of ward's TLS keep one policy and one byte-pipe driver.
 *
 * Shared: the RNG and entropy setup, the policy (TLS 1.2 at minimum, AEAD
 * suites with ECDHE only), loading PEM files with errors in words, and a
 * session driven over a byte pipe (ciphertext fed in, a send function
 * for the ciphertext out) with its read, write and close_notify loops.
 * Each side keeps only what differs: which files it loads, how peers are
 * verified and how a refusal is worded.
 *
 * Not a public interface: only tls_server.c, tls_client.c and
 * tls_common.c include this header.
 */
#ifndef WARD_TLS_INTERNAL_H
#define WARD_TLS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "buf.h"
#include "mbedtls_compat.h"

/* The configuration both sides build: their own certificate and key, the
 * RNG, and the mbedtls config that sessions are set up from. The caller
 * owns the struct (embedded in its ctx). */
struct tls__conf {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

/* Initialises every member, PSA (mbedtls 3.x) and seeds the RNG with the
 * personalisation string `pers`. Call tls__conf_free afterwards even on
 * failure. 0, or -EIO with the reason in err[errlen]. */
int tls__conf_init(struct tls__conf *c, const char *pers, char *err, size_t errlen);
/* Frees what tls__conf_init and the loads set up; the struct itself stays
 * the caller's. */
void tls__conf_free(struct tls__conf *c);

/* Parses the PEM file `path` into `crt`; `what` names it in the error
 * ("cannot load client CA /etc/ward/ca.pem: ..."). 0 or -EINVAL. */
int tls__load_crt(mbedtls_x509_crt *crt, const char *what, const char *path, char *err,
		  size_t errlen);
/* Parses the PEM certificate chain `cert`, then the unencrypted PEM key
 * `key`, into c->cert and c->key. 0 or -EINVAL. */
int tls__conf_load_own(struct tls__conf *c, const char *cert, const char *key, char *err,
		       size_t errlen);

/* Applies the defaults for `endpoint` (MBEDTLS_SSL_IS_SERVER or _CLIENT),
 * the RNG, the policy (TLS 1.2 minimum, AEAD suites with forward secrecy)
 * and the own certificate loaded before (`cert` and `key` name its files
 * in the error). The caller then sets the CA and authmode. 0 or -EINVAL. */
int tls__conf_setup(struct tls__conf *c, int endpoint, const char *cert, const char *key,
		    char *err, size_t errlen);

/* The send function both public headers define (tls_send_fn,
 * tls_client_send_fn): takes the whole buffer or fails. */
typedef int (*tls__send_fn)(void *arg, const uint8_t *data, size_t len);

struct tls__session;

/* What the verify callback notes of the peer's chain while mbedtls checks
 * it, so that a refusal can name the certificate at fault. mbedtls keeps
 * only the merged flags; the chain is gone once the handshake failed.
 * Strings are truncated to fit, always NUL-terminated. */
struct tls__peer_note {
	/* Sized so the longest refusal fits the uplink's 256-byte last_error. */
	char leaf_subject[81];
	char leaf_names[97];        /* the leaf's DNS names (SAN, else CN), ", "-joined */
	char untrusted_issuer[81];  /* issuer no trusted CA vouched for */
	char dated_subject[81];     /* subject of the first certificate out of date */
	mbedtls_x509_time dated_from, dated_to;
	char expected_host[97];     /* the client's name for the server, for the wording */
};

/* Words the failure mbedtls reported as `rc` into s->error and returns
 * -EPROTO. Each side supplies one; tls__session_fail is the fallback. */
typedef int (*tls__fail_fn)(struct tls__session *s, int rc);

/* A session over a byte pipe. The caller embeds it first in its own
 * session struct. */
struct tls__session {
	mbedtls_ssl_context ssl;
	struct buf in;          /* ciphertext not yet consumed by mbedtls */
	size_t in_off;
	tls__send_fn send;
	void *send_arg;
	tls__fail_fn fail;
	int established;
	int got_data;           /* plaintext came in since the handshake */
	struct tls__peer_note note;
	char error[384];        /* holds the longest issuer, subject and reason */
};

/* Initialises `s` and sets it up from `conf` with the byte pipe. Call
 * tls__session_free afterwards even on failure. 0 or -ENOMEM. */
int tls__session_init(struct tls__session *s, const mbedtls_ssl_config *conf,
		      tls__send_fn send, void *send_arg, tls__fail_fn fail);
/* Frees the mbedtls state and the input buffer, not `s` itself. */
void tls__session_free(struct tls__session *s);

/* As tls_session_feed, tls_session_read, tls_session_write and
 * tls_session_close_notify in tls_server.h; failures go through s->fail. */
int tls__session_feed(struct tls__session *s, const uint8_t *data, size_t len);
int tls__session_read(struct tls__session *s, uint8_t *out, size_t cap);
int tls__session_write(struct tls__session *s, const uint8_t *data, size_t len);
void tls__session_close_notify(struct tls__session *s);

/* When the handshake failed because the peer's certificate was refused,
 * words why into s->error and returns -EPROTO; otherwise returns 0.
 * `whose` prefixes "certificate" ("server " on the client, "client " on a
 * server); `trusted` names the trust anchor ("the pinned CA"). Reasons,
 * most fundamental first: not trusted (with the issuer), expired or not
 * yet valid (with the date, UTC), hostname mismatch (with the names), key
 * usage, weak algorithm; other flags are listed after "; also". */
int tls__session_refused(struct tls__session *s, const char *whose, const char *trusted);
/* The generic wording for `rc`, used when the peer's certificate was not
 * what failed: a fatal alert from the peer by its meaning ("the server
 * refused the device certificate (unknown_ca alert)"), no shared version
 * or cipher suite, a peer that does not speak TLS; otherwise "TLS
 * handshake failed: ..." or "TLS record error: ..." with mbedtls's text.
 * `peer` is "server" or "client". Returns -EPROTO. */
int tls__session_fail(struct tls__session *s, const char *peer, int rc);

const char *tls__session_version(const struct tls__session *s);
const char *tls__session_error(const struct tls__session *s);

#endif
