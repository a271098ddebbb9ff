/* conn_record: a flow table's conn record (flow.h) as one JSON object.
 *
 * Field names and types are Zeek's conn.log (base/protocols/conn/main.zeek,
 * Conn::Info) as Zeek's JSON writer prints them: the id.* fields flat with
 * the dot ("id.orig_h"). Differences, as for every ward record
 * (docs/records.md): "type":"conn" comes first, "ts" is an RFC 3339 UTC
 * string with microseconds rather than epoch seconds, and two ward
 * booleans appear only when true: "interim" (written by the active
 * timeout; the flow goes on) and "evicted" (the table was full). The
 * schema is docs/schema/conn.schema.json.
 */
#ifndef WARD_SENSOR_CONN_RECORD_H
#define WARD_SENSOR_CONN_RECORD_H

#include "buf.h"
#include "flow.h"
#include "jsonw.h"

/* Appends the record for `c` to `out` (no newline; existing content is
 * kept). Addresses are written with inet_ntop (RFC 5952 for IPv6), proto
 * as "tcp", "udp", "icmp" (ICMPv6 too, as Zeek does) or
 * "unknown_transport", duration as seconds with six decimals, vlan and
 * inner_vlan only when non-zero, orig_bytes/resp_bytes only when known,
 * service only when set. 0 or -ENOMEM (out then holds a partial record
 * the caller must discard; truncate to the length it had). */
int conn_record_write(struct buf *out, const struct conn *c);

/* Writes the fields every network record shares, as keys of the open
 * object of `w`: "uid", "id.orig_h", "id.orig_p", "id.resp_h",
 * "id.resp_p" (Zeek's conn_id, flattened as its JSON writer does). */
void conn_record_id(struct jsonw *w, const struct conn *c);

/* Zeek's name of an IP protocol number in conn.log's proto field. */
const char *conn_proto_name(uint8_t proto);

#endif
