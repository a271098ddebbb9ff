/* snmp_pdu: SNMP message and PDU decoding (RFC 1157, RFC 3416, RFC 3412,
 * RFC 3414 2.4). See snmp_pdu.h for the error codes. */
#include "snmp_pdu.h"

#include <errno.h>
#include <string.h>

const uint32_t snmp_oid_sysuptime0[9] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
const uint32_t snmp_oid_snmptrapoid0[11] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };
const uint32_t snmp_oid_snmptraps[10] = { 1, 3, 6, 1, 6, 3, 1, 1, 5 };

#define INT32_RANGE(v) ((v) >= INT32_MIN && (v) <= INT32_MAX)

/* Reads an INTEGER constrained to [lo, hi] (an ASN.1 range in the RFC's
 * module: breaking it is a parse error, snmpInASNParseErrs). */
static int get_int(struct snmp_ber *c, int64_t lo, int64_t hi, int64_t *v, const char *what)
{
	struct snmp_tlv t;
	int rc = snmp_ber_expect(c, SNMP_TAG_INTEGER, &t);

	if (rc == 0)
		rc = snmp_ber_int(c, &t, v);
	if (rc == 0 && (*v < lo || *v > hi))
		rc = snmp_ber_fail(c, t.off, what);
	return rc;
}

static int get_octets(struct snmp_ber *c, struct snmp_bytes *b, size_t *off)
{
	struct snmp_tlv t;
	int rc = snmp_ber_expect(c, SNMP_TAG_OCTET_STRING, &t);

	if (rc < 0)
		return rc;
	b->p = t.v;
	b->n = t.len;
	if (off != NULL)
		*off = t.off;
	return 0;
}

static bool is_pdu_tag(uint8_t tag)
{
	return tag >= SNMP_PDU_GET && tag <= SNMP_PDU_REPORT;
}

/* ---- varbinds ----------------------------------------------------------- */

void snmp_vb_iter_init(struct snmp_ber *it, const struct snmp_pdu *pdu, const uint8_t *base,
		       struct snmp_ber_diag *d)
{
	/* Depth: the VarBindList sits at most 4 levels down (v3 Message >
	 * ScopedPDU > PDU > VarBindList); each VarBind is one more. */
	snmp_ber_init_range(it, base, pdu->vbl_off, pdu->vbl.n, 4, d);
}

static int decode_value(struct snmp_ber *c, const struct snmp_tlv *t, struct snmp_varbind *vb)
{
	vb->type = t->tag;
	vb->raw.p = t->v;
	vb->raw.n = t->len;
	switch (t->tag) {
	case SNMP_TAG_INTEGER:
		return snmp_ber_int(c, t, &vb->i);
	case SNMP_TAG_OCTET_STRING:
	case SNMP_TAG_OPAQUE:
		return 0;
	case SNMP_TAG_NULL:
	case SNMP_TAG_NO_SUCH_OBJECT:
	case SNMP_TAG_NO_SUCH_INSTANCE:
	case SNMP_TAG_END_OF_MIB_VIEW:
		return t->len == 0 ? 0 : snmp_ber_fail(c, t->off, "NULL value with content");
	case SNMP_TAG_OID:
		return snmp_ber_oid(c, t, &vb->oid);
	case SNMP_TAG_IPADDRESS:
		return t->len == 4 ? 0 : snmp_ber_fail(c, t->off, "IpAddress not 4 octets");
	case SNMP_TAG_COUNTER32:
	case SNMP_TAG_GAUGE32:
	case SNMP_TAG_TIMETICKS:
		return snmp_ber_uint(c, t, UINT32_MAX, &vb->u);
	case SNMP_TAG_COUNTER64:
		return snmp_ber_uint(c, t, UINT64_MAX, &vb->u);
	default:
		return snmp_ber_fail(c, t->off > 1 ? t->off - 2 : 0, "unknown value type");
	}
}

int snmp_vb_next(struct snmp_ber *it, struct snmp_varbind *vb)
{
	struct snmp_ber in;
	struct snmp_tlv t;
	int rc;

	if (snmp_ber_at_end(it))
		return 0;
	rc = snmp_ber_expect(it, SNMP_TAG_SEQUENCE, &t);
	if (rc == 0)
		rc = snmp_ber_enter(it, &t, &in);
	if (rc == 0)
		rc = snmp_ber_expect(&in, SNMP_TAG_OID, &t);
	if (rc == 0)
		rc = snmp_ber_oid(&in, &t, &vb->name);
	if (rc == 0)
		rc = snmp_ber_next(&in, &t);
	if (rc == 0)
		rc = decode_value(&in, &t, vb);
	if (rc == 0)
		rc = snmp_ber_done(&in);
	return rc < 0 ? rc : 1;
}

/* Opens the VarBindList, then validates every varbind once, so that the
 * record writer's second walk cannot fail halfway through a record. */
static int decode_vbl(struct snmp_ber *c, struct snmp_pdu *pdu)
{
	struct snmp_varbind vb;
	struct snmp_ber it;
	struct snmp_tlv t;
	int rc;

	rc = snmp_ber_expect(c, SNMP_TAG_SEQUENCE, &t);
	if (rc == 0)
		rc = snmp_ber_enter(c, &t, &it);
	if (rc == 0)
		rc = snmp_ber_done(c);
	if (rc < 0)
		return rc;
	pdu->vbl.p = t.v;
	pdu->vbl.n = t.len;
	pdu->vbl_off = t.off;
	pdu->vbl_tlv.p = c->base + t.start;
	pdu->vbl_tlv.n = t.off + t.len - t.start;
	pdu->n_varbinds = 0;
	pdu->has_uptime = pdu->has_trap_oid = false;
	while ((rc = snmp_vb_next(&it, &vb)) > 0) {
		if (pdu->n_varbinds == 0 && vb.type == SNMP_TAG_TIMETICKS &&
		    snmp_oid_equal(&vb.name, snmp_oid_sysuptime0, 9)) {
			pdu->has_uptime = true;
			pdu->uptime = (uint32_t)vb.u;
		} else if (pdu->n_varbinds == 1 && vb.type == SNMP_TAG_OID &&
			   snmp_oid_equal(&vb.name, snmp_oid_snmptrapoid0, 11)) {
			pdu->has_trap_oid = true;
			pdu->trap_oid = vb.oid;
		}
		pdu->n_varbinds++;
	}
	return rc;
}

/* A v2 PDU body (RFC 3416 3): request-id, error-status, error-index,
 * variable-bindings. */
static int decode_v2_pdu(struct snmp_ber *c, const struct snmp_tlv *pt, struct snmp_pdu *pdu)
{
	struct snmp_ber in;
	int rc;

	pdu->type = pt->tag;
	rc = snmp_ber_enter(c, pt, &in);
	if (rc == 0)
		rc = get_int(&in, INT32_MIN, INT32_MAX, &pdu->request_id, "request-id out of range");
	if (rc == 0)
		rc = get_int(&in, 0, 18, &pdu->error_status, "error-status out of range");
	if (rc == 0)
		rc = get_int(&in, 0, INT32_MAX, &pdu->error_index, "error-index out of range");
	if (rc == 0)
		rc = decode_vbl(&in, pdu);
	return rc;
}

/* The v1 Trap-PDU (RFC 1157 4.1.6). */
static int decode_v1_trap(struct snmp_ber *c, const struct snmp_tlv *pt, struct snmp_pdu *pdu)
{
	struct snmp_ber in;
	struct snmp_tlv t;
	uint64_t ts = 0;
	int rc;

	pdu->type = pt->tag;
	rc = snmp_ber_enter(c, pt, &in);
	if (rc == 0)
		rc = snmp_ber_expect(&in, SNMP_TAG_OID, &t);
	if (rc == 0)
		rc = snmp_ber_oid(&in, &t, &pdu->enterprise);
	if (rc == 0)
		rc = snmp_ber_expect(&in, SNMP_TAG_IPADDRESS, &t);
	if (rc == 0 && t.len != 4)
		rc = snmp_ber_fail(&in, t.off, "agent-addr not 4 octets");
	if (rc == 0) {
		memcpy(pdu->agent_addr, t.v, 4);
		rc = get_int(&in, 0, 6, &pdu->generic_trap, "generic-trap not 0..6");
	}
	if (rc == 0)
		rc = get_int(&in, INT32_MIN, INT32_MAX, &pdu->specific_trap,
			     "specific-trap out of range");
	if (rc == 0)
		rc = snmp_ber_expect(&in, SNMP_TAG_TIMETICKS, &t);
	if (rc == 0)
		rc = snmp_ber_uint(&in, &t, UINT32_MAX, &ts);
	pdu->time_stamp = (uint32_t)ts;
	if (rc == 0)
		rc = decode_vbl(&in, pdu);
	return rc;
}

/* ---- messages ----------------------------------------------------------- */

/* v1 and v2c: community, then the PDU, which must end the message. */
static int decode_community_msg(struct snmp_ber *c, struct snmp_msg *m, struct snmp_pdu *pdu)
{
	uint8_t want = m->version == SNMP_V1 ? SNMP_PDU_TRAP_V1 : 0;
	struct snmp_tlv t;
	int rc;

	rc = get_octets(c, &m->community, NULL);
	if (rc == 0)
		rc = snmp_ber_next(c, &t);
	if (rc == 0)
		rc = snmp_ber_done(c);
	if (rc < 0)
		return rc;
	if (!is_pdu_tag(t.tag))
		return snmp_ber_fail(c, t.off, "not a PDU");
	if (want != 0) {
		if (t.tag != want)
			return -EOPNOTSUPP;
		return decode_v1_trap(c, &t, pdu);
	}
	if (t.tag != SNMP_PDU_TRAP_V2 && t.tag != SNMP_PDU_INFORM)
		return -EOPNOTSUPP;
	return decode_v2_pdu(c, &t, pdu);
}

/* UsmSecurityParameters (RFC 3414 2.4), inside msgSecurityParameters. */
static int decode_usm(const struct snmp_ber *msg, const struct snmp_tlv *sp, struct snmp_msg *m)
{
	struct snmp_ber os, c;
	struct snmp_tlv t;
	int rc;

	snmp_ber_init_range(&os, msg->base, sp->off, sp->len, msg->depth, msg->diag);
	rc = snmp_ber_expect(&os, SNMP_TAG_SEQUENCE, &t);
	if (rc == 0)
		rc = snmp_ber_done(&os);
	if (rc == 0)
		rc = snmp_ber_enter(&os, &t, &c);
	if (rc == 0)
		rc = get_octets(&c, &m->engine_id, NULL);
	if (rc == 0 && m->engine_id.n > SNMP_USM_MAX_ENGINE_ID)
		rc = snmp_ber_fail(&c, t.off, "msgAuthoritativeEngineID over 32 octets");
	if (rc == 0)
		rc = get_int(&c, 0, INT32_MAX, &m->engine_boots, "engine boots out of range");
	if (rc == 0)
		rc = get_int(&c, 0, INT32_MAX, &m->engine_time, "engine time out of range");
	if (rc == 0)
		rc = get_octets(&c, &m->user, NULL);
	if (rc == 0 && m->user.n > SNMP_USM_MAX_USER)
		rc = snmp_ber_fail(&c, t.off, "msgUserName over 32 octets");
	if (rc == 0)
		rc = get_octets(&c, &m->auth_params, &m->auth_params_off);
	if (rc == 0)
		rc = get_octets(&c, &m->priv_params, NULL);
	if (rc == 0)
		rc = snmp_ber_done(&c);
	return rc;
}

/* SNMPv3Message (RFC 3412 6) after msgVersion. */
static int decode_v3(struct snmp_ber *c, struct snmp_msg *m)
{
	struct snmp_tlv t, sp, data;
	struct snmp_ber g;
	int rc;

	rc = snmp_ber_expect(c, SNMP_TAG_SEQUENCE, &t);
	if (rc == 0)
		rc = snmp_ber_enter(c, &t, &g);
	if (rc == 0)
		rc = get_int(&g, 0, INT32_MAX, &m->msg_id, "msgID out of range");
	if (rc == 0)
		rc = get_int(&g, 484, INT32_MAX, &m->msg_max_size, "msgMaxSize out of range");
	if (rc == 0)
		rc = snmp_ber_expect(&g, SNMP_TAG_OCTET_STRING, &t);
	if (rc == 0 && t.len != 1)
		rc = snmp_ber_fail(&g, t.off, "msgFlags not one octet");
	if (rc == 0) {
		m->msg_flags = t.v[0];
		rc = get_int(&g, 1, INT32_MAX, &m->security_model, "msgSecurityModel out of range");
	}
	if (rc == 0)
		rc = snmp_ber_done(&g);
	if (rc == 0)
		rc = snmp_ber_expect(c, SNMP_TAG_OCTET_STRING, &sp);
	if (rc == 0)
		rc = snmp_ber_next(c, &data);
	if (rc == 0)
		rc = snmp_ber_done(c);
	if (rc < 0)
		return rc;
	if (data.tag == SNMP_TAG_SEQUENCE) {
		m->scoped.p = c->base + data.start;
		m->scoped.n = data.off + data.len - data.start;
	} else if (data.tag == SNMP_TAG_OCTET_STRING) {
		m->encrypted.p = data.v;
		m->encrypted.n = data.len;
	} else {
		return snmp_ber_fail(c, data.start, "msgData neither ScopedPDU nor encryptedPDU");
	}
	/* RFC 3412 7.2 step 4: the security model picks the parser of
	 * msgSecurityParameters, so check it first. */
	if (m->security_model != 3)
		return -ESOCKTNOSUPPORT;
	rc = decode_usm(c, &sp, m);
	if (rc < 0)
		return rc;
	/* RFC 3412 7.2 step 5d (invalid msgFlags), and msgData in the form
	 * the privacy flag announces. */
	if ((m->msg_flags & (SNMP_FLAG_AUTH | SNMP_FLAG_PRIV)) == SNMP_FLAG_PRIV)
		return -EPROTO;
	if ((m->msg_flags & SNMP_FLAG_PRIV) ? m->encrypted.p == NULL : m->scoped.p == NULL)
		return -EPROTO;
	return 0;
}

int snmp_msg_decode(const uint8_t *pkt, size_t len, struct snmp_msg *m, struct snmp_pdu *pdu,
		    struct snmp_ber_diag *d)
{
	struct snmp_ber top, c;
	struct snmp_tlv t;
	int64_t version;
	int rc;

	memset(m, 0, sizeof(*m));
	snmp_ber_init(&top, pkt, len, d);
	rc = snmp_ber_expect(&top, SNMP_TAG_SEQUENCE, &t);
	if (rc == 0)
		rc = snmp_ber_done(&top);
	if (rc == 0)
		rc = snmp_ber_enter(&top, &t, &c);
	if (rc == 0)
		rc = get_int(&c, INT32_MIN, INT32_MAX, &version, "msgVersion out of range");
	if (rc < 0)
		return rc;
	switch (version) {
	case SNMP_V1:
	case SNMP_V2C:
		m->version = (int)version;
		return decode_community_msg(&c, m, pdu);
	case SNMP_V3:
		m->version = SNMP_V3;
		return decode_v3(&c, m);
	default:
		return -EPROTONOSUPPORT;
	}
}

int snmp_scoped_pdu_decode(const uint8_t *p, size_t len, size_t max_pad, struct snmp_pdu *pdu,
			   struct snmp_ber_diag *d)
{
	struct snmp_ber top, c;
	struct snmp_tlv t;
	int rc;

	/* Depth 1: the ScopedPDU sits inside the v3 Message. */
	snmp_ber_init_range(&top, p, 0, len, 1, d);
	rc = snmp_ber_expect(&top, SNMP_TAG_SEQUENCE, &t);
	if (rc < 0)
		return rc;
	if (top.end - top.pos > max_pad)
		return snmp_ber_fail(&top, top.pos, "trailing bytes");
	rc = snmp_ber_enter(&top, &t, &c);
	if (rc == 0)
		rc = get_octets(&c, &pdu->context_engine_id, NULL);
	if (rc == 0)
		rc = get_octets(&c, &pdu->context_name, NULL);
	if (rc == 0)
		rc = snmp_ber_next(&c, &t);
	if (rc == 0)
		rc = snmp_ber_done(&c);
	if (rc < 0)
		return rc;
	if (!is_pdu_tag(t.tag))
		return snmp_ber_fail(&c, t.start, "not a PDU");
	if (t.tag != SNMP_PDU_TRAP_V2 && t.tag != SNMP_PDU_INFORM)
		return -EOPNOTSUPP;
	return decode_v2_pdu(&c, &t, pdu);
}

int snmp_scoped_request_id(const uint8_t *p, size_t len, int64_t *request_id)
{
	struct snmp_ber top, c, in;
	struct snmp_tlv t;
	int rc;

	snmp_ber_init_range(&top, p, 0, len, 1, NULL);
	rc = snmp_ber_expect(&top, SNMP_TAG_SEQUENCE, &t);
	if (rc == 0)
		rc = snmp_ber_enter(&top, &t, &c);
	if (rc == 0)
		rc = snmp_ber_expect(&c, SNMP_TAG_OCTET_STRING, &t);
	if (rc == 0)
		rc = snmp_ber_expect(&c, SNMP_TAG_OCTET_STRING, &t);
	if (rc == 0)
		rc = snmp_ber_next(&c, &t);
	if (rc == 0 && !is_pdu_tag(t.tag))
		rc = -EBADMSG;
	if (rc == 0)
		rc = snmp_ber_enter(&c, &t, &in);
	if (rc == 0)
		rc = get_int(&in, INT32_MIN, INT32_MAX, request_id, "request-id out of range");
	return rc;
}

/* ---- encoding ------------------------------------------------------------- */

/* Encodes backwards into out's storage (`room` bytes), then moves the
 * result to the front. */
static int benc_begin(struct buf *out, size_t room, struct snmp_benc *e)
{
	int rc;

	buf_reset(out);
	rc = buf_reserve(out, room);
	if (rc < 0)
		return rc;
	snmp_benc_init(e, out->data, room);
	return 0;
}

static int benc_end(struct buf *out, const struct snmp_benc *e)
{
	const uint8_t *p;
	size_t n;

	if (snmp_benc_finish(e, &p, &n) < 0)
		return -EMSGSIZE;       /* room was computed with margin */
	if (n > SNMP_MAX_DATAGRAM)
		return -EMSGSIZE;
	memmove(out->data, p, n);
	out->len = n;
	return 0;
}

/* The PDU { request-id, 0, 0, varbinds } shared by Response and Report. */
static void benc_pdu(struct snmp_benc *e, uint8_t type, int64_t request_id,
		     const struct snmp_bytes *vbl_tlv)
{
	size_t mark = snmp_benc_mark(e);

	snmp_benc_raw(e, vbl_tlv->p, vbl_tlv->n);
	snmp_benc_int(e, SNMP_TAG_INTEGER, 0);
	snmp_benc_int(e, SNMP_TAG_INTEGER, 0);
	snmp_benc_int(e, SNMP_TAG_INTEGER, request_id);
	snmp_benc_wrap(e, type, mark);
}

int snmp_encode_v2c_response(struct buf *out, const struct snmp_bytes *community,
			     int64_t request_id, const struct snmp_bytes *vbl_tlv)
{
	struct snmp_benc e;
	size_t mark;
	int rc;

	rc = benc_begin(out, vbl_tlv->n + community->n + 64, &e);
	if (rc < 0)
		return rc;
	mark = snmp_benc_mark(&e);
	benc_pdu(&e, SNMP_PDU_RESPONSE, request_id, vbl_tlv);
	snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, community->p, community->n);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, SNMP_V2C);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, mark);
	return benc_end(out, &e);
}

int snmp_encode_scoped(struct buf *out, const struct snmp_bytes *context_engine_id,
		       const struct snmp_bytes *context_name, uint8_t pdu_type,
		       int64_t request_id, const struct snmp_bytes *vbl_tlv)
{
	struct snmp_benc e;
	size_t mark;
	int rc;

	rc = benc_begin(out, vbl_tlv->n + context_engine_id->n + context_name->n + 64, &e);
	if (rc < 0)
		return rc;
	mark = snmp_benc_mark(&e);
	benc_pdu(&e, pdu_type, request_id, vbl_tlv);
	snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, context_name->p, context_name->n);
	snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, context_engine_id->p, context_engine_id->n);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, mark);
	return benc_end(out, &e);
}

int snmp_encode_v3(struct buf *out, const struct snmp_v3_out *o, size_t *mac_off)
{
	static const uint8_t zeros[64];
	struct snmp_benc e;
	size_t mark, sp, mac_at = 0;
	uint8_t flags = o->flags;
	int rc;

	*mac_off = 0;
	if (o->mac_len > sizeof(zeros))
		return -EINVAL;
	rc = benc_begin(out, o->data.n + o->engine_id.n + o->user.n + o->priv_params.n +
			o->mac_len + 96, &e);
	if (rc < 0)
		return rc;
	mark = snmp_benc_mark(&e);
	/* msgData */
	if (flags & SNMP_FLAG_PRIV)
		snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, o->data.p, o->data.n);
	else
		snmp_benc_raw(&e, o->data.p, o->data.n);
	/* msgSecurityParameters: OCTET STRING { UsmSecurityParameters } */
	sp = snmp_benc_mark(&e);
	snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, o->priv_params.p, o->priv_params.n);
	snmp_benc_raw(&e, zeros, (flags & SNMP_FLAG_AUTH) ? o->mac_len : 0);
	mac_at = snmp_benc_mark(&e);
	snmp_benc_hdr(&e, SNMP_TAG_OCTET_STRING, (flags & SNMP_FLAG_AUTH) ? o->mac_len : 0);
	snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, o->user.p, o->user.n);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, o->time);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, o->boots);
	snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, o->engine_id.p, o->engine_id.n);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, sp);
	snmp_benc_wrap(&e, SNMP_TAG_OCTET_STRING, sp);
	/* msgGlobalData */
	size_t g = snmp_benc_mark(&e);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, 3);            /* USM */
	snmp_benc_octets(&e, SNMP_TAG_OCTET_STRING, &flags, 1);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, SNMP_MSG_MAX_SIZE);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, o->msg_id);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, g);
	snmp_benc_int(&e, SNMP_TAG_INTEGER, SNMP_V3);
	snmp_benc_wrap(&e, SNMP_TAG_SEQUENCE, mark);
	rc = benc_end(out, &e);
	if (rc == 0 && (flags & SNMP_FLAG_AUTH))
		*mac_off = mac_at - e.pos;
	return rc;
}
