/* snmp_pdu: SNMP message and PDU decoding, on top of snmp_ber.
 *
 * Decoding allocates nothing: the structs below hold slices of the
 * datagram (struct snmp_bytes), valid while the datagram is.
 *
 *   - v1:  Message ::= SEQUENCE { version 0, community, Trap-PDU }
 *          (RFC 1157 4, the Trap-PDU of 4.1.6);
 *   - v2c: Message ::= SEQUENCE { version 1, community, PDU }
 *          (RFC 1901, PDUs of RFC 3416 3); SNMPv2-Trap-PDU or
 *          InformRequest-PDU;
 *   - v3:  SNMPv3Message (RFC 3412 6) with msgGlobalData and the
 *          UsmSecurityParameters of RFC 3414 2.4 decoded; msgData is left
 *          as a plaintext ScopedPDU slice or an encryptedPDU slice for the
 *          engine to authenticate and decrypt, then snmp_scoped_pdu_decode.
 *
 * Errors (all mapped to enum snmp_reject by the engine):
 *   -EBADMSG          malformed BER or an ASN.1 constraint broken (an
 *                     INTEGER out of its range, msgFlags not one octet...);
 *   -EPROTONOSUPPORT  well-formed message with an unknown version;
 *   -EOPNOTSUPP       a PDU that is not a notification for this version
 *                     (get, set, response, report, a v1 Trap in v2c...);
 *   -EPROTO           RFC 3412 7.2 step 5 (snmpInvalidMsgs): privacy
 *                     without authentication, or msgData in the wrong form;
 *   -ESOCKTNOSUPPORT  msgSecurityModel is not USM (3) (snmpUnknownSecurityModels).
 * The diag sink gets a reason for -EBADMSG.
 */
#ifndef WARD_SNMP_PDU_H
#define WARD_SNMP_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "snmp_ber.h"

enum { SNMP_V1 = 0, SNMP_V2C = 1, SNMP_V3 = 3 };

/* msgFlags bits (RFC 3412 6.4). */
#define SNMP_FLAG_AUTH 0x01
#define SNMP_FLAG_PRIV 0x02
#define SNMP_FLAG_REPORTABLE 0x04

#define SNMP_USM_MAX_ENGINE_ID 32   /* RFC 3411 SnmpEngineID: 5..32 */
#define SNMP_USM_MAX_USER 32        /* RFC 3414 2.4: msgUserName SIZE(0..32) */

struct snmp_bytes {
	const uint8_t *p;
	size_t n;
};

/* One PDU: the fields of whichever type it is. */
struct snmp_pdu {
	uint8_t type;                   /* SNMP_PDU_* tag */
	int64_t request_id;             /* v2 PDUs */
	int64_t error_status, error_index;
	/* v1 Trap-PDU */
	struct snmp_oid enterprise;
	uint8_t agent_addr[4];
	int64_t generic_trap, specific_trap;
	uint32_t time_stamp;
	/* v2 notifications: the first two varbinds when they are
	 * sysUpTime.0 (TimeTicks) and snmpTrapOID.0 (OID), RFC 3416 4.2.6 */
	bool has_uptime, has_trap_oid;
	uint32_t uptime;
	struct snmp_oid trap_oid;
	/* VarBindList: content (for iterating) and whole TLV (for echoing) */
	struct snmp_bytes vbl, vbl_tlv;
	size_t vbl_off;                 /* offset of vbl.p in its base */
	unsigned n_varbinds;
	/* ScopedPDU (v3) */
	struct snmp_bytes context_engine_id, context_name;
};

struct snmp_msg {
	int version;                    /* SNMP_V1, SNMP_V2C, SNMP_V3 */
	struct snmp_bytes community;    /* v1, v2c */
	/* v3 msgGlobalData */
	int64_t msg_id, msg_max_size;
	uint8_t msg_flags;
	int64_t security_model;
	/* v3 UsmSecurityParameters */
	struct snmp_bytes engine_id, user, auth_params, priv_params;
	int64_t engine_boots, engine_time;
	size_t auth_params_off;         /* offset of auth_params.p in the datagram */
	/* v3 msgData: exactly one is set (p != NULL) */
	struct snmp_bytes scoped;       /* the ScopedPDU TLV, plaintext */
	struct snmp_bytes encrypted;    /* encryptedPDU content */
};

/* Decodes a whole datagram of `len` bytes: for v1/v2c the message and its
 * PDU (into *pdu, varbinds validated); for v3 the header and USM
 * parameters only (*pdu untouched). See the errors above. */
int snmp_msg_decode(const uint8_t *pkt, size_t len, struct snmp_msg *m, struct snmp_pdu *pdu,
		    struct snmp_ber_diag *d);

/* Decodes a ScopedPDU (RFC 3412 6.8) at the start of `len` bytes: its
 * contextEngineID, contextName and PDU (a v2 notification; anything else
 * is -EOPNOTSUPP). Up to `max_pad` bytes may follow it (the block padding
 * of a decrypted PDU, RFC 3414 8.1.1.2). -EBADMSG, -EOPNOTSUPP. */
int snmp_scoped_pdu_decode(const uint8_t *p, size_t len, size_t max_pad, struct snmp_pdu *pdu,
			   struct snmp_ber_diag *d);

/* One decoded varbind (RFC 3416 3: VarBind ::= SEQUENCE { name, value }). */
struct snmp_varbind {
	struct snmp_oid name;
	uint8_t type;                   /* SNMP_TAG_* of the value */
	struct snmp_bytes raw;          /* the value's content octets */
	int64_t i;                      /* INTEGER */
	uint64_t u;                     /* Counter32, Gauge32, TimeTicks, Counter64 */
	struct snmp_oid oid;            /* OBJECT IDENTIFIER */
};

/* Iterates the varbinds of pdu->vbl: init, then next until it returns 0.
 * next: 1 with *vb filled, 0 at the end, -EBADMSG. Values are checked per
 * type: NULL and the exceptions (noSuchObject...) empty, IpAddress 4
 * octets, integers and OIDs as in snmp_ber. */
void snmp_vb_iter_init(struct snmp_ber *it, const struct snmp_pdu *pdu, const uint8_t *base,
		       struct snmp_ber_diag *d);
int snmp_vb_next(struct snmp_ber *it, struct snmp_varbind *vb);

/* Reads just the request-id of whatever PDU a plaintext ScopedPDU holds
 * (any type), for the Report answering it. 0 or -EBADMSG. */
int snmp_scoped_request_id(const uint8_t *p, size_t len, int64_t *request_id);

/* ---- encoding (what the receiver sends back) --------------------------------
 * Each writes one datagram into out (reset first). 0, -ENOMEM, or
 * -EMSGSIZE when it would exceed the 65507-byte UDP payload. */

#define SNMP_MAX_DATAGRAM 65507
/* Our msgMaxSize (RFC 3412 6.2): the largest UDP payload over IPv4. */
#define SNMP_MSG_MAX_SIZE SNMP_MAX_DATAGRAM

/* v2c: Message { 1, community, Response-PDU { request-id, 0, 0, varbinds } }
 * (RFC 3416 4.2.7: the Response to an InformRequest echoes its request-id
 * and variable-bindings; vbl_tlv is the request's whole VarBindList). */
int snmp_encode_v2c_response(struct buf *out, const struct snmp_bytes *community,
			     int64_t request_id, const struct snmp_bytes *vbl_tlv);

/* A ScopedPDU { contextEngineID, contextName, PDU { request-id, 0, 0,
 * vbl_tlv } } (RFC 3412 6.8) of type pdu_type (Response or Report). */
int snmp_encode_scoped(struct buf *out, const struct snmp_bytes *context_engine_id,
		       const struct snmp_bytes *context_name, uint8_t pdu_type,
		       int64_t request_id, const struct snmp_bytes *vbl_tlv);

/* What goes around a ScopedPDU in an SNMPv3Message (RFC 3412 6, RFC 3414
 * 2.4). With SNMP_FLAG_AUTH the msgAuthenticationParameters are mac_len
 * zero octets whose offset is returned in *mac_off for signing; with
 * SNMP_FLAG_PRIV `data` is the encryptedPDU content, else the ScopedPDU
 * TLV. */
struct snmp_v3_out {
	int64_t msg_id;
	uint8_t flags;
	struct snmp_bytes engine_id, user, priv_params, data;
	uint32_t boots, time;
	size_t mac_len;
};
int snmp_encode_v3(struct buf *out, const struct snmp_v3_out *o, size_t *mac_off);

/* Well-known OIDs the decoder and the engine use. */
extern const uint32_t snmp_oid_sysuptime0[9];       /* 1.3.6.1.2.1.1.3.0 */
extern const uint32_t snmp_oid_snmptrapoid0[11];    /* 1.3.6.1.6.3.1.1.4.1.0 */
extern const uint32_t snmp_oid_snmptraps[10];       /* 1.3.6.1.6.3.1.1.5 */

#endif
