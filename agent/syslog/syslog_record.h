/* syslog_record: encodes a received syslog message as a ward record.
 *
 * One JSON object (docs/schema/syslog.schema.json), e.g.
 *
 *   {"type":"syslog","ts":"2026-11-21T13:39:03.123456Z",
 *    "peer":"192.0.2.7:51514","transport":"tcp","format":"rfc3164",
 *    "parse":"ok","facility":"local4","severity":"warning","pri":164,
 *    "timestamp":"2026-11-21T13:39:02.000000Z","timestamp_raw":"Nov 21 13:39:02",
 *    "hostname":"fw01","app_name":"sshd","procid":"812",
 *    "msg":"Failed password for root from 203.0.113.9 port 22 ssh2",
 *    "charset":"utf-8","raw":"<164>Nov 21 13:39:02 fw01 sshd[812]: Failed ..."}
 *
 * `ts` is the receive time. `raw` always holds the message as received
 * (decoded to UTF-8; or `raw_b64` with the bytes when undecodable).
 */
#ifndef WARD_SYSLOG_RECORD_H
#define WARD_SYSLOG_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "syslog_charset.h"

struct syslog_record_in {
	const char *raw;            /* the message as received (no framing) */
	size_t raw_len;
	bool truncated;             /* cut at max_message_bytes */
	int64_t recv_us;            /* receive time, µs since the epoch */
	const char *peer;           /* "ip:port" or "[ip6]:port" */
	const char *transport;      /* "udp", "tcp", "tls" */
	const char *tls_peer_cn;    /* client certificate subject CN, or NULL */
};

struct syslog_record_out {
	enum charset_result charset;   /* how the text was decoded */
	int parse_status;              /* enum syslog_parse_status */
};

/* Parses the message (syslog_parse) and appends its record, one JSON
 * object without a trailing newline, to `out`. `conv` may be NULL (then
 * non-UTF-8 text is kept as base64). `scratch` is working space reused
 * across calls. Returns 0 or -ENOMEM (out then holds a partial record and
 * must be reset). */
int syslog_record_encode(const struct syslog_record_in *in, struct charset_conv *conv,
			 struct buf *scratch, struct buf *out, struct syslog_record_out *res);

#endif
