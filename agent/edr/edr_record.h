/* edr_record: one received EDR event as one NDJSON record
 * (docs/schema/edr.schema.json, docs/records.md).
 *
 * The record keeps the event whole under "original" and adds what the
 * relay knows (receive time, sending peer, input, authenticated identity)
 * and what it can read from the event: the event time, the host name, and
 * for Sysmon events 1, 3, 11 and 22 and Windows Security events 4624 and
 * 4625 a small common set of fields under "ecs", named as the Elastic
 * Common Schema names them (process.*, user.*, file.*, source.*,
 * destination.*, dns.*, event.outcome, winlog.logon.type), so the SOC needs
 * no per-product parser.
 *
 * Windows events are recognised in two shapes: Winlogbeat's (winlog.*,
 * with the event's data in winlog.event_data, field names as Microsoft
 * publishes them) and the flat one of NXLog-style forwarders (EventID,
 * SourceName or ProviderName, and the data fields at the top level).
 */
#ifndef WARD_EDR_RECORD_H
#define WARD_EDR_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

enum edr_input {
	EDR_INPUT_LUMBERJACK = 0,   /* a Beats event (Lumberjack v2 JSON frame) */
	EDR_INPUT_HEC,              /* /services/collector/event: a HEC envelope
	                             * {"time","host","event",...} */
	EDR_INPUT_HEC_RAW,          /* /services/collector/raw: one line of text */
};

enum edr_auth {
	EDR_AUTH_NONE = 0,          /* plain input, no credential */
	EDR_AUTH_TOKEN,             /* HEC token of `group` */
	EDR_AUTH_CLIENT_CERT,       /* TLS client certificate `cn` */
};

/* What the relay knows of one event. Strings are borrowed. */
struct edr_meta {
	int64_t recv_us;            /* µs since the epoch */
	const char *peer;           /* "ip:port" / "[ip6]:port"; NULL = unknown */
	enum edr_input input;
	enum edr_auth auth;
	const char *group;          /* agent group; NULL when none matched */
	const char *cn;             /* client certificate subject CN, or NULL */
	/* HEC raw only: the request's ?host=, ?source=, ?sourcetype= */
	const char *host, *source, *sourcetype;
};

/* The input's name in records and status: "lumberjack", "hec" or
 * "hec_raw"; "?" for a value outside the enum. */
const char *edr_input_name(enum edr_input in);

/* ---- from the event's text (the relay's path) ----------------------------
 *
 * The relay reads each event once, with yajl's event-driven parser (a
 * Debian library; it builds no tree and allocates nothing per value):
 * the parse checks the whole text and keeps the values the record needs
 * (in `struct edr_parser`, reused from event to event), and the record is
 * written with jsonw, the original copied into it as sent. The text must
 * be well-formed JSON (RFC 8259) and well-formed UTF-8 (RFC 3629); raw CR
 * and LF in it (white space: JSON strings hold them escaped) become
 * spaces, so the record stays one NDJSON line.
 */
struct edr_parser;

/* A parser for edr_record_encode_json. 0 or -ENOMEM. */
int edr_parser_create(struct edr_parser **out);
/* NULL-safe. */
void edr_parser_destroy(struct edr_parser *p);

/* Flags of edr_record_encode_json. */
#define EDR_TEXT_PREFIX   1u  /* the text may go on after the value (a HEC
                               * body of concatenated events): *used says
                               * how many bytes the value took */
#define EDR_TEXT_ENVELOPE 2u  /* a HEC envelope: an object with a "event"
                               * member that is neither null nor "" */

/* Appends the record of the event whose JSON text is text[0..len) to out
 * (no newline); for EDR_INPUT_HEC the text is the envelope
 * {"time","host","event",...}. *used (NULL allowed) is set to the bytes
 * the value took, leading white space included. Returns 0; -EBADMSG when
 * the text is not one JSON value, or not UTF-8 (with EDR_TEXT_ENVELOPE:
 * or not an object); -ENOENT (EDR_TEXT_ENVELOPE) when "event" is missing,
 * -ENODATA when it is null or ""; -ENOMEM. out is left as it was on
 * error. */
int edr_record_encode_json(struct edr_parser *p, const struct edr_meta *m, const char *text,
			   size_t len, unsigned flags, size_t *used, struct buf *out);

/* Appends the record of an event that is a line of text (HEC raw, or a
 * Lumberjack payload that is not JSON): "original" is a JSON string of
 * it, ill-formed UTF-8 replaced by U+FFFD. 0 or -ENOMEM. */
int edr_record_encode_string(const struct edr_meta *m, const char *s, size_t len,
			     struct buf *out);

/* ---- from a parsed jansson value (tests, tools) ---------------------------
 * These print `event` as JSON text and take the path above, so that a
 * record is made one way only; they cost a print and a parse more. */

/* Builds the record of `event` (borrowed; for EDR_INPUT_HEC_RAW a JSON
 * string holding the line). Returns a new reference, or NULL on ENOMEM. */
json_t *edr_record_build(const struct edr_meta *m, json_t *event);

/* The record of `event` as compact JSON: *out is a malloc'd
 * NUL-terminated string of *len bytes (no newline) that the caller frees.
 * Returns 0 or -ENOMEM. */
int edr_record_encode(const struct edr_meta *m, json_t *event, char **out, size_t *len);

/* As edr_record_encode, with the original given as the JSON text `raw`
 * (raw_len bytes) that `event` was parsed from: it is copied into the
 * record as sent (see above). Returns 0 or -ENOMEM. */
int edr_record_encode_text(const struct edr_meta *m, json_t *event, const char *raw,
			   size_t raw_len, char **out, size_t *len);

/* Parses an RFC 3339 / ISO 8601 time ("2024-05-01T12:34:56.789Z",
 * "...+08:00", or Sysmon's "2024-05-01 12:34:56.789" taken as UTC) into
 * µs since the epoch. Fractions beyond µs are cut. 0 or -EINVAL. */
int edr_parse_time(const char *s, int64_t *us);

#endif
