/* tls_client: the uplink's TLS client (DESIGN.md, "Device <-> SOC
 * contract": mutual TLS, the SOC CA pinned), with mbedtls, driven over any
 * byte pipe.
 *
 * As with tls_server, mbedtls does no I/O here: the connection code feeds
 * the ciphertext it read (tls_client_feed) and gives a send function for
 * the ciphertext to write, so libuv owns the socket and tests can drive a
 * session from memory.
 *
 * Policy: TLS 1.2 at minimum, AEAD suites with ECDHE only (AES-GCM,
 * ChaCha20-Poly1305); with mbedtls 3.x TLS 1.3 is offered too. The server
 * certificate must chain to the pinned CA file (and nothing else: no
 * system trust store) and name the expected host (SNI and the certificate
 * check use the same name). The device presents its certificate and key.
 *
 * Ownership: the caller owns the ctx and each session, and destroys
 * sessions before the ctx they came from. Strings passed in are copied.
 */
#ifndef WARD_TLS_CLIENT_H
#define WARD_TLS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct tls_client_ctx;
struct tls_client;

/* Loads the pinned CA bundle `ca` (PEM), the device certificate chain
 * `cert` and its private key `key` (PEM, unencrypted). On failure returns
 * -EINVAL, -EIO (RNG) or -ENOMEM with a plain-words reason in err[errlen],
 * e.g. "cannot load CA /etc/ward/soc-ca.pem: ...". */
int tls_client_ctx_create(struct tls_client_ctx **out, const char *ca, const char *cert,
			  const char *key, char *err, size_t errlen);
/* NULL-safe. */
void tls_client_ctx_destroy(struct tls_client_ctx *ctx);

/* Writes `len` ciphertext bytes to the peer. Returns 0 or a negative
 * errno; must take the whole buffer (copy it if the write is queued). */
typedef int (*tls_client_send_fn)(void *arg, const uint8_t *data, size_t len);

/* A session to the server called `host` (a DNS name or an IP literal):
 * sent as SNI (RFC 6066 section 3) and checked against the certificate's
 * subjectAltName/CN. Errors: -EINVAL (host empty), -ENOMEM. */
int tls_client_create(struct tls_client **out, struct tls_client_ctx *ctx, const char *host,
		      tls_client_send_fn send, void *send_arg);
/* NULL-safe. */
void tls_client_destroy(struct tls_client *s);

/* Hands `len` ciphertext bytes read from the peer to the session.
 * 0 or -ENOMEM. */
int tls_client_feed(struct tls_client *s, const uint8_t *data, size_t len);

/* Advances the handshake (the first call sends the ClientHello) and then
 * decrypts. Returns the number of plaintext bytes put in out[cap] (> 0);
 * 0 when more ciphertext is needed (check tls_client_established() to
 * tell a finished handshake); -ECONNRESET when the peer closed
 * (close_notify); -EPROTO on a handshake or record failure, the reason in
 * words from tls_client_error(). Call until it returns <= 0 after each
 * feed. */
int tls_client_read(struct tls_client *s, uint8_t *out, size_t cap);

/* Encrypts `len` plaintext bytes and hands the records to the send
 * function. Only after the handshake. Returns 0 once every byte went out,
 * -ENOTCONN before the handshake, -EPROTO on failure. */
int tls_client_write(struct tls_client *s, const uint8_t *data, size_t len);

/* Sends close_notify (if established). */
void tls_client_close_notify(struct tls_client *s);

/* 1 once the handshake has completed. */
int tls_client_established(const struct tls_client *s);
/* "TLSv1.2", "TLSv1.3" once established. */
const char *tls_client_version(const struct tls_client *s);
/* The last failure in plain words, at most 383 bytes, e.g. "server
 * certificate not trusted: issuer CN=Evil CA is not the pinned CA (subject
 * CN=soc.example)", "server certificate expired on 2026-01-01 00:00:00 UTC
 * (subject CN=soc.example)", "hostname mismatch: server certificate names
 * soc.example, not soc2.example", "handshake failed: no shared cipher
 * suite (...)", "the server refused the device certificate: ... (unknown_ca
 * alert)"; "no error" if none. */
const char *tls_client_error(const struct tls_client *s);

#endif
