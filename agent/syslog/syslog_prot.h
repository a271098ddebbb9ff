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
 *   - TAG[PID]: CONTENT.
 * Timestamps without a year take the year that puts them closest to the
 * receive time; without a zone they are taken as UTC (the sender's zone is
 * unknowable) and the record says so.
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
	SYSLOG_PARSE_NO_HEADER,     /* nothing recognised; msg is everything */
};

struct syslog_msg {
	enum syslog_format format;
	enum syslog_parse_status status;
	const char *error;          /* static text naming what was malformed, or NULL */
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
	struct syslog_slice sd;         /* RFC 5424 STRUCTURED-DATA, raw, NULL if nil */
	bool sd_valid;                  /* sd parsed cleanly with syslog_sd_next */
	struct syslog_slice msg;        /* MSG / CONTENT; a leading UTF-8 BOM removed */
	bool msg_bom;                   /* RFC 5424 6.4: MSG began with a BOM */
	struct syslog_slice cisco_seq;  /* "123" from "<189>123: ..." */
};

/* Parses `len` bytes (without a trailing LF/CR/NUL, which the caller or
 * the framer strips). `recv_us` (µs since the epoch) resolves timestamps
 * that lack a year. Fills *m; fields point into buf. */
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
void syslog_sd_iter_init(struct syslog_sd_iter *it, struct syslog_slice sd);
/* Advances to the next SD-ELEMENT: returns 1 and its SD-ID in *id, 0 at the
 * end, -EINVAL when malformed. */
int syslog_sd_next_element(struct syslog_sd_iter *it, struct syslog_slice *id);
/* Next SD-PARAM of the current element: 1, 0 at the element's end, -EINVAL. */
int syslog_sd_next_param(struct syslog_sd_iter *it, struct syslog_sd_param *param);

/* "kern", "user", ... "local7" (RFC 5424 table 1); "unknown" out of range. */
const char *syslog_facility_name(int facility);
/* "emerg" ... "debug" (RFC 5424 table 2). */
const char *syslog_severity_name(int severity);

#endif
