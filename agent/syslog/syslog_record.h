/* syslog_record: encodes a received syslog message as a ward record.
 *
 * One JSON object (docs/schema/syslog.schema.json), e.g.
 *
 *   {"type":"syslog","ts":"2026-11-21T13:39:03.123456Z",
 *    "peer":"192.0.2.7:51514","transport":"tcp","format":"rfc3164",
 *    "parse":"ok","facility":"local4","severity":"warning","pri":164,
 *    "timestamp":"2026-11-21T13:39:02.000000Z","ts_zone":false,
 *    "timestamp_raw":"Nov 21 13:39:02","hostname":"fw01","app_name":"sshd","procid":"812",
 *    "msg":"Failed password for root from 203.0.113.9 port 22 ssh2",
 *    "charset":"utf-8","raw":"<164>Nov 21 13:39:02 fw01 sshd[812]: Failed ..."}
 *
 * `ts` is the receive time. `raw` always holds the message as received
 * (decoded to UTF-8; or `raw_b64` with the bytes when undecodable), less
 * trailing LF/CR/NUL framing bytes.
 *
 * Optional keys, present only when they carry information:
 *   peer, transport, tls_peer  from syslog_record_in (tls_peer: the client
 *                              certificate's CN);
 *   parse_error                why parse is not "ok" (syslog_msg.error);
 *   pri_present:false          no PRI: facility/severity are RFC 3164's
 *                              default user.notice;
 *   version                    RFC 5424 VERSION;
 *   timestamp                  the sender's time, RFC 3339 UTC, when valid;
 *   ts_zone:false              that time had no zone and was taken as UTC;
 *   timestamp_raw              the timestamp as written (also when invalid);
 *   hostname, app_name, procid, msgid, cisco_seq;
 *   sd                         RFC 5424 STRUCTURED-DATA as
 *                              {"SD-ID":{"PARAM-NAME":"value"}} with values
 *                              unescaped; a PARAM-NAME repeated within an
 *                              element (RFC 5424 6.3.3 allows it) maps to
 *                              an array of its values in order; omitted
 *                              when !sd_valid;
 *   sd_raw                     the STRUCTURED-DATA as written;
 *   msg_bom:true               MSG began with a UTF-8 BOM (removed from msg);
 *   truncated:true             cut at the framer's max_msg_bytes.
 *   json                       MSG parsed, when it is a JSON object (EDR
 *                              consoles forward events so); msg and raw
 *                              still hold the text.
 * msg is always present ("" when there is none).
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
 * object without a trailing newline, to `out`. When the bytes are not
 * UTF-8 they are decoded (GB18030, charset_to_utf8) before parsing, since
 * a GBK trail byte can equal '[', ']' or '\' and would mislead the
 * parser. `conv` may be NULL (then non-UTF-8 text is kept as base64 and
 * the fields carry U+FFFD). `scratch` is working space reused across calls
 * (the caller owns and frees it). `res` may be NULL. No allocation once
 * out and scratch have grown to the working size, except for a MSG that
 * is a JSON object (jansson parses and prints it). Returns 0 or -ENOMEM;
 * on error out is restored to its length before the call. */
int syslog_record_encode(const struct syslog_record_in *in, struct charset_conv *conv,
			 struct buf *scratch, struct buf *out, struct syslog_record_out *res);

#endif
