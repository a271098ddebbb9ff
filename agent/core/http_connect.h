/* http_connect: the HTTP CONNECT handshake with a forward proxy, sans I/O.
 *
 * Hospitals often let traffic out only through an HTTP proxy. The uplink
 * then opens TCP to the proxy, sends the request http_connect_request
 * writes (RFC 9110 section 9.3.6: CONNECT host:port), feeds whatever the
 * proxy answers to http_connect_feed until it says the tunnel is up, and
 * only then starts TLS to the SOC inside the tunnel. TLS runs end to end,
 * so the proxy sees the SOC's host and port but none of the traffic.
 *
 * This module does no I/O and allocates nothing: the caller owns the
 * sockets, the buffers and the struct, and there is nothing to free. The
 * proxy's answer is untrusted bytes: it is parsed with http-parser
 * (RFC 9112), bounded to HTTP_CONNECT_HEADER_MAX bytes, and every fault
 * is an error with its reason in words, never a guess:
 *
 *   -EPROTO        not an HTTP/1.x answer, or malformed (http-parser's
 *                  verdict), or 101 Switching Protocols
 *   -ECONNREFUSED  the proxy answered with a final status other than 2xx
 *                  (407: it wants credentials or refused the ones given;
 *                  403: policy; 502/504: it could not reach the SOC)
 *   -EMSGSIZE      the answer's header block passed HTTP_CONNECT_HEADER_MAX
 *
 * The outcome does not depend on how the stream is cut: the same bytes in
 * one piece or one byte at a time give the same result and consume the
 * same bytes (tests/fuzz/fuzz_http_connect.c checks this).
 */
#ifndef WARD_HTTP_CONNECT_H
#define WARD_HTTP_CONNECT_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

/* Bytes: the proxy's whole answer up to the tunnel, status lines and
 * fields of any 1xx interim answers included. Real proxies send a few
 * hundred; 8 KiB is also what many servers allow for a request head. */
#define HTTP_CONNECT_HEADER_MAX 8192u

struct http_connect {
	/* Results. status: the proxy's final HTTP status code (100..999) once
	 * the answer's head is complete, else 0. why: after an error, what
	 * went wrong in words, NUL-terminated, e.g. "proxy refused CONNECT:
	 * 407 Proxy Authentication Required"; "" otherwise. */
	int status;
	char why[160];

	/* Private. */
	http_parser parser;
	size_t head_bytes;      /* bytes of the answer consumed so far */
	int error;              /* sticky: 0 or the first error */
	int state;              /* HTTP_CONNECT__* in http_connect.c */
	char reason[64];        /* the final answer's reason phrase, printable */
	size_t reason_len;
};

/* Writes the CONNECT request for `host`:`port` into `dst` (RFC 9110
 * section 9.3.6, message syntax RFC 9112 sections 3 and 3.2.3):
 *
 *   CONNECT host:port HTTP/1.1\r\n
 *   Host: host:port\r\n
 *   [Proxy-Authorization: Basic base64(user:pass)\r\n]   (RFC 7617 section 2)
 *   \r\n
 *
 * `host` is a DNS name or IPv4 literal (letters, digits, '-', '.', '_',
 * '~'), or an IPv6 literal, with or without its brackets; an IPv6 literal
 * is written in brackets (RFC 3986 section 3.2.2). `port` is 1..65535.
 * `basic_auth` is "user:pass" in UTF-8 (the user-id holds no ':'), or NULL
 * for no Proxy-Authorization field; it is a credential, so it is written
 * only into `dst`. Nothing is kept of either string.
 *
 * `cap` is the size of `dst` in bytes; the request is followed by a NUL,
 * which `cap` must leave room for. Returns the request's length in bytes
 * (without the NUL); -ENOSPC when it does not fit (`dst` then holds no
 * partial request, only "" when cap > 0); -EINVAL when `host` is empty or
 * holds a byte outside the sets above (CR, LF, space, '/', '@', ...),
 * `port` is 0, or `basic_auth` has no ':' or holds a control character
 * (RFC 7617 section 2 forbids them). */
int http_connect_request(char *dst, size_t cap, const char *host, uint16_t port,
			 const char *basic_auth);

/* Sets up `hc` to read the answer to one CONNECT request: status 0, why
 * "", nothing consumed. Call it again to reuse `hc` for a new connection. */
void http_connect_init(struct http_connect *hc);

/* Feeds `len` bytes that the proxy sent after the request. Returns:
 *
 *   0   more bytes are needed; all `len` were consumed (*used = len).
 *   1   the tunnel is established: the head of a 2xx answer is complete
 *       (RFC 9110 section 9.3.6; any Content-Length or Transfer-Encoding
 *       in it is ignored, as that section says). *used is the bytes of
 *       `data` up to and including the head's final LF; the rest already
 *       belongs to TLS and must be handed to it. Interim 1xx answers
 *       before it are skipped (RFC 9110 section 15.2). Later calls return
 *       1 again and consume nothing.
 *   <0  -EPROTO, -ECONNREFUSED or -EMSGSIZE (see the top of this file),
 *       with hc->why set, and hc->status set when the head of the proxy's
 *       final answer was complete (0 otherwise). *used is 0: the connection is to be closed.
 *       The error sticks: later calls return it again.
 *
 * `used` must not be NULL. `len` may be 0. */
int http_connect_feed(struct http_connect *hc, const uint8_t *data, size_t len, size_t *used);

#endif
