/* syslog_prot: parses one syslog message (RFC 5424 and RFC 3164).
 *
 * The parser never allocates and never fails: every message yields a
 * struct syslog_msg whose fields point into the input, plus a parse status
 * saying how much of it was understood. The raw message is always kept by
 * the caller, so nothing a sender wrote is lost.
 *
 * RFC 5424 (section 6): PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP
 * PROCID SP MSGID SP STRUCTURED-DATA [SP MSG], with "-" as the nil value,
 * SD-ELEMENTs with SD-PARAMs whose values escape '"', '\' and ']'.
 *
 * RFC 3164 (section 4.1) and the deviations seen from real devices:
 *   - missing PRI ("Oct 11 22:14:15 host tag: msg" or bare text): PRI is
 *     taken as 13 (user.notice), RFC 3164 4.3.3;
 *   - missing hostname ("<13>Oct 11 22:14:15 tag: msg");
 *   - year in the timestamp ("Oct 11 2026 22:14:15", Cisco/Huawei style),
 *     milliseconds ("22:14:15.123"), a trailing time zone ("22:14:15 UTC",
 *     "+08:00") and ISO 8601 timestamps ("2026-10-11T22:14:15+08:00");
 *   - Cisco sequence numbers and leading '*' / '.' sync markers
 *     ("<189>123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: ...");
 *   - TAG[PID]: CONTENT;
 *   - ISO 8601 with a space for the 'T' ("2026-10-11 22:14:15", Huawei)
 *     and a year (1900 or later) after the time ("Oct 11 22:14:15 2026
 *     H3C ...", H3C);
 *   - a zone abbreviation before a colon (Cisco "22:14:15.123 CST: %...")
 *     or before a year (RFC 3164 5.4 example 3, "05:34:00 CST 1987"): kept
 *     in the raw timestamp, but its offset is unknown, so ts_has_zone is
 *     false; only "UTC", "GMT", "Z" and numeric offsets count as a zone;
 *   - Cisco ASA's "HOST : %ASA-..." (a lone colon after the hostname) and
 *     a colon straight after the timestamp when there is no hostname.
 * A TAG is 1-48 characters of [A-Za-z0-9_./-] ended by ':' or '[' (48, not
 * RFC 3164's 32: Windows channel names such as
 * "Microsoft-Windows-Security-Auditing" are longer); anything else, e.g.
 * "%ASA-6-302013:" or "MSWinEventLog<TAB>", stays at the start of msg.
 * A token after the timestamp is the hostname unless it ends with ':' or
 * holds '[' (then it is the TAG of a message without hostname) or it is
 * the last token (then it is msg).
 * Timestamps without a year take the year that puts them closest to the
 * receive time; without a zone they are taken as UTC (the sender's zone is
 * unknowable) and the record says so. A PRI with a message but no
 * timestamp (e.g. FortiGate's "<189>date=... time=... devname=...") is a
 * well-formed RFC 3164 message whose CONTENT is everything after the PRI
 * (RFC 3164 4.3.2).
 *
 * Leniencies in RFC 5424 parsing, each lossless: more than six digits of
 * TIME-SECFRAC are accepted and cut to microseconds; an over-long or
 * non-PRINTUSASCII header field is kept as written but makes the status
 * PARTIAL. Seconds of 60 are refused (RFC 5424 6.2.3.1 forbids leap
 * seconds; ward uses the same rule for RFC 3164).
 */
#ifndef WARD_SYSLOG_PROT_H
#define WARD_SYSLOG_PROT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct syslog_slice {
	const char *p;   /* NULL when absent (or nil "-" in RFC 5424) */
	size_t n;
};

enum syslog_format {
	SYSLOG_FMT_RFC5424 = 0,
	SYSLOG_FMT_RFC3164,
	SYSLOG_FMT_UNKNOWN,    /* no header recognised: the whole input is msg */
};

enum syslog_parse_status {
	SYSLOG_PARSE_OK = 0,        /* every field understood */
	SYSLOG_PARSE_PARTIAL,       /* a header recognised, some field malformed;
	                             * the rest was kept in msg */
	SYSLOG_PARSE_NO_HEADER,     /* nothing recognised (no PRI and no
	                             * timestamp, a malformed PRI, or an empty
	                             * message); msg is everything */
};

/* ward's bounds on expanding STRUCTURED-DATA into a record. A message with
 * more SD-ELEMENTs, or an element with more SD-PARAMs, is still kept whole
 * (sd points at it and the raw message is kept) but sd_valid is false; this
 * is a limit of ward, not an error of the sender, so it does not change
 * the parse status. */
#define SYSLOG_SD_MAX_ELEMENTS 64
#define SYSLOG_SD_MAX_PARAMS   64

struct syslog_msg {
	enum syslog_format format;
	enum syslog_parse_status status;
	const char *error;          /* static text naming what was malformed, or
	                             * NULL; plain ASCII without '"' or '\\' */
	bool pri_present;
	int pri;                    /* 0..191; 13 when absent */
	int facility, severity;     /* pri / 8, pri % 8 */
	int version;                /* RFC 5424 VERSION; 0 for RFC 3164 */
	struct syslog_slice timestamp;  /* as written */
	bool ts_valid;
	int64_t ts_us;              /* parsed time, µs since the epoch, UTC */
	bool ts_has_zone;           /* the timestamp carried an offset or Z/UTC */
	bool ts_has_year;
	struct syslog_slice hostname;
	struct syslog_slice app_name;   /* RFC 3164: the TAG */
	struct syslog_slice procid;     /* RFC 3164: the [PID] */
	struct syslog_slice msgid;
	struct syslog_slice sd;         /* RFC 5424 STRUCTURED-DATA, raw, NULL if nil
	                                 * or malformed (then it is part of msg) */
	bool sd_valid;                  /* sd parsed cleanly with syslog_sd_next_*,
	                                 * has no duplicate SD-ID and is within
	                                 * the SYSLOG_SD_MAX_* bounds */
	struct syslog_slice msg;        /* MSG / CONTENT; a leading UTF-8 BOM removed;
	                                 * NULL only for RFC 5424 without MSG */
	bool msg_bom;                   /* RFC 5424 6.4: MSG began with a BOM */
	struct syslog_slice cisco_seq;  /* "123" from "<189>123: ..." */
};

/* Parses `len` bytes. Trailing LF, CR and NUL bytes are framing, not
 * content: the framer strips them, and the parser ignores any left (UDP
 * senders often end a datagram with LF). `recv_us` (µs since the epoch)
 * resolves timestamps that lack a year. Fills *m; every slice points into
 * buf, which must outlive *m. Never reads outside buf[0..len), never
 * allocates, never fails: what it cannot understand goes to msg and is
 * described by status and error. O(len). */
void syslog_parse(const char *buf, size_t len, int64_t recv_us, struct syslog_msg *m);

/* Iterates RFC 5424 STRUCTURED-DATA (section 6.3). */
struct syslog_sd_param {
	struct syslog_slice name;
	struct syslog_slice value;  /* still escaped: \" \\ \] */
};
struct syslog_sd_iter {
	const char *p, *end;
	bool in_element;
};
/* The iterator reads only inside sd; it checks the grammar of section 6.3
 * (SD-NAME: 1-32 PRINTUSASCII except '=', SP, ']' and '"'; quoted
 * PARAM-VALUE where '\' escapes '"', '\' and ']' and is literal before
 * any other character). An unescaped ']' inside a value is accepted: the
 * quotes make it unambiguous. */
void syslog_sd_iter_init(struct syslog_sd_iter *it, struct syslog_slice sd);
/* Advances to the next SD-ELEMENT, skipping the unread SD-PARAMs of the
 * current one: returns 1 and its SD-ID in *id, 0 at the end of sd,
 * -EINVAL when malformed. */
int syslog_sd_next_element(struct syslog_sd_iter *it, struct syslog_slice *id);
/* Next SD-PARAM of the current element: 1, 0 at the element's end, -EINVAL. */
int syslog_sd_next_param(struct syslog_sd_iter *it, struct syslog_sd_param *param);
/* Where the iterator stands: after the SD it has consumed. */
static inline const char *syslog_sd_iter_pos(const struct syslog_sd_iter *it)
{
	return it->p;
}

/* "kern", "user", ... "local7" (RFC 5424 table 1); "unknown" out of range. */
const char *syslog_facility_name(int facility);
/* "emerg" ... "debug" (RFC 5424 table 2); "unknown" out of range. */
const char *syslog_severity_name(int severity);
/* "rfc5424", "rfc3164", "unknown". */
const char *syslog_format_name(enum syslog_format f);
/* "ok", "partial", "no_header". */
const char *syslog_parse_status_name(enum syslog_parse_status s);

#endif
