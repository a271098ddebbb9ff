/* snmp_record: one received notification as an NDJSON record
 * (docs/schema/snmp_trap.schema.json), written with jsonw.
 *
 * Value rendering (the schema's "varbinds" items):
 *   - OCTET STRING: text when the bytes hold no control characters other
 *     than tab, CR and LF and are valid UTF-8; else when they decode as
 *     GB18030 (the superset of GBK that Chinese devices send), with
 *     "encoding": "gb18030"; else lowercase hex with "encoding": "hex".
 *     Control bytes (NUL, ESC...) mark binary data (MAC addresses,
 *     DateAndTime) that would otherwise pass as "text";
 *   - Opaque: hex, "encoding": "hex" (its content is BER the receiver
 *     cannot interpret without the MIB);
 *   - Counter64: a JSON number up to 2^53 (the largest integer every JSON
 *     reader holds exactly), a decimal string above;
 *   - OIDs: dotted decimal, with "value_name" when the names table knows a
 *     prefix.
 */
#ifndef WARD_SNMP_RECORD_H
#define WARD_SNMP_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"
#include "snmp_oids.h"
#include "snmp_pdu.h"
#include "syslog/syslog_charset.h"

struct snmp_record_in {
	int64_t recv_us;                /* receive time, µs since the epoch */
	const struct sockaddr *from;    /* the datagram's source */
	const struct snmp_msg *m;
	const struct snmp_pdu *pdu;
	const uint8_t *pdu_base;        /* buffer the pdu's offsets refer to */
	/* v1/v2c: index of the matched community, -1 when accepted as any */
	int community_idx;
	bool record_community;
	/* v3 */
	const char *security_level;     /* "noAuthNoPriv", ... */
};

/* Appends the record to out (its previous content is kept). names may be
 * NULL; conv may be NULL (no GB18030); scratch is a work buffer the caller
 * keeps between calls. 0 or -ENOMEM (out then holds a partial record). */
int snmp_record_write(struct buf *out, const struct snmp_record_in *in,
		      const struct snmp_oids *names, struct charset_conv *conv,
		      struct buf *scratch);

/* Writes the address of sa as text ("192.0.2.1", "2001:db8::1"; an
 * IPv4-mapped IPv6 address as plain IPv4) into dst (room for 46 bytes)
 * and its port into *port. Returns the length, 0 for another family. */
size_t snmp_addr_format(const struct sockaddr *sa, char *dst, uint16_t *port);

#endif
