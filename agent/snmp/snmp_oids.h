/* snmp_oids: names for OIDs, so analysts without MIBs can read traps.
 *
 * A built-in table names the common notifications and objects (SNMPv2-MIB,
 * IF-MIB, ENTITY-MIB, UPS-MIB of RFC 1628, the RFC 3584 generic-trap
 * mappings, USM statistics, a few enterprise roots). An optional file adds
 * or overrides names, one "OID name" pair a line:
 *
 *     # comment (to the end of the line)
 *     1.3.6.1.4.1.9.9.41.2.0.1   clogMessageGenerated
 *     .1.3.6.1.4.1.2011.5.25     hwDatacomm
 *
 * Names are 1..127 bytes of letters, digits and "-_.:" (so
 * "IF-MIB::ifDescr" works). There is no MIB compiler.
 *
 * Lookup is by longest matching prefix: 1.3.6.1.2.1.2.2.1.2.3 gives
 * "ifDescr" with the suffix ".3". It costs one hash probe per arc of the
 * OID (prefix hashes are computed incrementally), so O(arcs).
 */
#ifndef WARD_SNMP_OIDS_H
#define WARD_SNMP_OIDS_H

#include <stddef.h>
#include <stdint.h>

#include "snmp_ber.h"

#define SNMP_OID_NAME_MAX 127

struct snmp_oids;

/* Builds the table: the built-in names, then `file` if not NULL.
 * Errors: -EINVAL with "file:line: what" in err (a bad line), -errno of
 * fopen/read with "file: reason", -ENOMEM. The table is immutable after
 * creation and may be shared by readers. */
int snmp_oids_create(struct snmp_oids **out, const char *file, char *err, size_t errlen);
void snmp_oids_destroy(struct snmp_oids *t);   /* NULL-safe */

/* The name of the longest prefix of o in the table, or NULL. *matched is
 * set to the number of arcs that prefix covers (the suffix is the rest).
 * The name stays valid while the table does. */
const char *snmp_oids_lookup(const struct snmp_oids *t, const struct snmp_oid *o,
			     uint32_t *matched);

/* Writes "name.suffix" (or just the name for an exact match) into dst,
 * room for SNMP_OID_NAME_MAX + SNMP_OID_STR_MAX bytes. Returns the length,
 * or 0 when no prefix has a name. */
size_t snmp_oids_name(const struct snmp_oids *t, const struct snmp_oid *o, char *dst);

#endif
