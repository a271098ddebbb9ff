/* tls_server: TLS for ward's listeners (syslog over TLS, RFC 5425), with
 * mbedtls, driven over any byte pipe.
 *
 * mbedtls does no I/O of its own here: the connection code hands it the
 * ciphertext it read (tls_session_feed) and gives it a send function for
 * the ciphertext it must write. That keeps the event loop (libuv) in
 * charge of every socket, and lets tests and fuzzers drive a session from
 * memory.
 *
 * Policy: TLS 1.2 at minimum, AEAD cipher suites only (AES-GCM,
 * ChaCha20-Poly1305) with ECDHE; with mbedtls 3.x, TLS 1.3 is offered too.
 * When a client CA is configured, clients must present a certificate that
 * chains to it (mutual TLS); its subject is then available for records.
 *
 * Ownership: the caller owns the ctx and each session, and destroys
 * sessions before the ctx they were created from.
 */
#ifndef WARD_TLS_SERVER_H
#define WARD_TLS_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct tls_server_ctx;
struct tls_session;

/* Loads the PEM certificate chain `cert`, the PEM private key `key` and,
 * if `client_ca` is not NULL, the CA bundle for client certificates.
 * On failure returns -EINVAL (or -ENOMEM) with a plain-words reason in
 * err[errlen], e.g. "cannot read key /etc/ward/tls.key: file not found". */
int tls_server_ctx_create(struct tls_server_ctx **out, const char *cert, const char *key,
			  const char *client_ca, char *err, size_t errlen);
/* NULL-safe. */
void tls_server_ctx_destroy(struct tls_server_ctx *ctx);

/* Writes `len` ciphertext bytes to the peer. Returns 0 or a negative
 * errno; must take the whole buffer (copy it if the write is queued). */
typedef int (*tls_send_fn)(void *arg, const uint8_t *data, size_t len);

struct uv_stream_s;
/* A body for a tls_send_fn on a libuv stream: copies the `len` bytes into
 * one allocation with the write request, queues it, and frees both when
 * the write completes, so the session keeps no write bookkeeping. Meant
 * for servers whose writes are small (handshakes, alerts, short answers).
 * Returns 0, -ENOMEM, or -EPIPE when libuv refuses the write. */
int tls_uv_write_copy(struct uv_stream_s *stream, const uint8_t *data, size_t len);

int tls_session_create(struct tls_session **out, struct tls_server_ctx *ctx,
		       tls_send_fn send, void *send_arg);
/* NULL-safe. */
void tls_session_destroy(struct tls_session *s);

/* Hands `len` ciphertext bytes read from the peer to the session. They are
 * buffered until tls_session_read consumes them. 0 or -ENOMEM. */
int tls_session_feed(struct tls_session *s, const uint8_t *data, size_t len);

/* Advances the handshake and decrypts. Returns the number of plaintext
 * bytes put in out[cap] (> 0); 0 when more ciphertext is needed;
 * -ECONNRESET when the peer closed the session (close_notify);
 * -EPROTO on any handshake or record failure, with the reason available
 * from tls_session_error(). Call until it returns <= 0 after each feed. */
int tls_session_read(struct tls_session *s, uint8_t *out, size_t cap);

/* Encrypts `len` plaintext bytes and hands the records to the session's
 * send function (tls_send_fn), split into records of at most 16 KiB as
 * TLS requires. Only after the handshake has completed. The send function
 * takes whole buffers, so this never writes partially: it returns 0 once
 * every byte went out, -ENOTCONN before the handshake, or -EPROTO when
 * mbedtls or the send function failed (reason in tls_session_error()). */
int tls_session_write(struct tls_session *s, const uint8_t *data, size_t len);

/* Sends close_notify. */
void tls_session_close_notify(struct tls_session *s);

/* 1 once the handshake has completed. */
int tls_session_established(const struct tls_session *s);
/* The client certificate's subject CN, or NULL when none was presented. */
const char *tls_session_peer_cn(const struct tls_session *s);
/* "TLSv1.2", "TLSv1.3" once established. */
const char *tls_session_version(const struct tls_session *s);
/* The last failure in plain words, at most 383 bytes ("client certificate
 * not trusted: issuer CN=x is not the client CA (subject CN=y)", "client
 * certificate expired on ...", "handshake failed: no shared cipher suite
 * (...)"); "no error" if none. */
const char *tls_session_error(const struct tls_session *s);

#endif
