/* snmp_record: a notification as an NDJSON record
 * (docs/schema/snmp_trap.schema.json). */
#include "snmp_record.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "jsonw.h"

size_t snmp_addr_format(const struct sockaddr *sa, char *dst, uint16_t *port)
{
	*port = 0;
	dst[0] = '\0';
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		*port = ntohs(s4->sin_port);
		inet_ntop(AF_INET, &s4->sin_addr, dst, INET6_ADDRSTRLEN);
		return strlen(dst);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		*port = ntohs(s6->sin6_port);
		/* A dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d;
		 * analysts search for the IPv4 form. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, s6->sin6_addr.s6_addr + 12, dst, INET6_ADDRSTRLEN);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, dst, INET6_ADDRSTRLEN);
		return strlen(dst);
	}
	return 0;
}

static void put_hex(struct jsonw *w, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char chunk[256];

	jsonw_string_open(w);
	while (n > 0) {
		size_t k = n < sizeof(chunk) / 2 ? n : sizeof(chunk) / 2;

		for (size_t i = 0; i < k; i++) {
			chunk[2 * i] = digits[p[i] >> 4];
			chunk[2 * i + 1] = digits[p[i] & 15];
		}
		jsonw_string_append(w, chunk, 2 * k);
		p += k;
		n -= k;
	}
	jsonw_string_close(w);
}

static void put_oid(struct jsonw *w, const struct snmp_oid *o)
{
	char s[SNMP_OID_STR_MAX];

	jsonw_string_ascii(w, s, snmp_oid_format(o, s));
}

/* "name": the table's name for o, when it has one. */
static void put_oid_name(struct jsonw *w, const char *key, const struct snmp_oids *names,
			 const struct snmp_oid *o)
{
	char s[SNMP_OID_NAME_MAX + SNMP_OID_STR_MAX];
	size_t n;

	if (names == NULL || (n = snmp_oids_name(names, o, s)) == 0)
		return;
	jsonw_key(w, key);
	jsonw_string_ascii(w, s, n);
}

static bool has_controls(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') || p[i] == 0x7f)
			return true;
	return false;
}

static void put_octets(struct jsonw *w, const struct snmp_bytes *b, struct charset_conv *conv,
		       struct buf *scratch)
{
	const char *s = (const char *)b->p;

	jsonw_key(w, "value");
	if (!has_controls(b->p, b->n)) {
		if (jsonw_utf8_valid_len(s, b->n) == b->n) {
			jsonw_string_utf8(w, s, b->n);
			return;
		}
		buf_reset(scratch);
		if (conv != NULL && charset_to_utf8(conv, s, b->n, scratch) == CHARSET_GB18030) {
			/* GB18030 accepts most byte pairs, so short binary
			 * values decode by chance (DE AD BE EF is "蕲撅"): the
			 * raw bytes go along and stay authoritative. */
			jsonw_string_utf8(w, (const char *)scratch->data, scratch->len);
			jsonw_kv_ascii(w, "encoding", "gb18030");
			jsonw_key(w, "hex");
			put_hex(w, b->p, b->n);
			return;
		}
	}
	put_hex(w, b->p, b->n);
	jsonw_kv_ascii(w, "encoding", "hex");
}

static const char *type_name(uint8_t tag)
{
	switch (tag) {
	case SNMP_TAG_INTEGER: return "integer";
	case SNMP_TAG_OCTET_STRING: return "octet_string";
	case SNMP_TAG_NULL: return "null";
	case SNMP_TAG_OID: return "oid";
	case SNMP_TAG_IPADDRESS: return "ipaddress";
	case SNMP_TAG_COUNTER32: return "counter32";
	case SNMP_TAG_GAUGE32: return "gauge32";
	case SNMP_TAG_TIMETICKS: return "timeticks";
	case SNMP_TAG_OPAQUE: return "opaque";
	case SNMP_TAG_COUNTER64: return "counter64";
	case SNMP_TAG_NO_SUCH_OBJECT: return "noSuchObject";
	case SNMP_TAG_NO_SUCH_INSTANCE: return "noSuchInstance";
	default: return "endOfMibView";
	}
}

static void put_ipv4(struct jsonw *w, const uint8_t *a)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, a, s, sizeof(s));
	jsonw_string_ascii(w, s, strlen(s));
}

static void put_varbind(struct jsonw *w, const struct snmp_varbind *vb,
			const struct snmp_oids *names, struct charset_conv *conv,
			struct buf *scratch)
{
	jsonw_object_open(w);
	jsonw_key(w, "oid");
	put_oid(w, &vb->name);
	put_oid_name(w, "name", names, &vb->name);
	jsonw_kv_ascii(w, "type", type_name(vb->type));
	switch (vb->type) {
	case SNMP_TAG_INTEGER:
		jsonw_kv_int(w, "value", vb->i);
		break;
	case SNMP_TAG_OCTET_STRING:
		put_octets(w, &vb->raw, conv, scratch);
		break;
	case SNMP_TAG_OID:
		jsonw_key(w, "value");
		put_oid(w, &vb->oid);
		put_oid_name(w, "value_name", names, &vb->oid);
		break;
	case SNMP_TAG_IPADDRESS:
		jsonw_key(w, "value");
		put_ipv4(w, vb->raw.p);
		break;
	case SNMP_TAG_COUNTER32:
	case SNMP_TAG_GAUGE32:
	case SNMP_TAG_TIMETICKS:
		jsonw_kv_uint(w, "value", vb->u);
		break;
	case SNMP_TAG_COUNTER64:
		if (vb->u <= (1ULL << 53)) {
			jsonw_kv_uint(w, "value", vb->u);
		} else {
			char s[24], tmp[24];
			size_t n = 0;
			uint64_t v = vb->u;

			do {
				tmp[n++] = (char)('0' + v % 10);
				v /= 10;
			} while (v != 0);
			for (size_t i = 0; i < n; i++)
				s[i] = tmp[n - 1 - i];
			jsonw_key(w, "value");
			jsonw_string_ascii(w, s, n);
		}
		break;
	case SNMP_TAG_OPAQUE:
		jsonw_key(w, "value");
		put_hex(w, vb->raw.p, vb->raw.n);
		jsonw_kv_ascii(w, "encoding", "hex");
		break;
	default:        /* NULL and the three exceptions */
		jsonw_key(w, "value");
		jsonw_null(w);
		break;
	}
	jsonw_object_close(w);
}

static void put_peer(struct jsonw *w, const struct sockaddr *from)
{
	char ip[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN + 10];
	uint16_t port;
	size_t n = snmp_addr_format(from, ip, &port), k = 0;
	bool v6 = memchr(ip, ':', n) != NULL;

	if (n == 0)
		return;
	/* "ip:port" or "[ip6]:port", without printf: this runs per record */
	if (v6)
		s[k++] = '[';
	memcpy(s + k, ip, n);
	k += n;
	if (v6)
		s[k++] = ']';
	s[k++] = ':';
	k += snmp__put_dec(s + k, port);
	jsonw_key(w, "peer");
	jsonw_string_ascii(w, s, k);
	jsonw_key(w, "agent_addr");
	jsonw_string_ascii(w, ip, n);
}

static void put_v1(struct jsonw *w, const struct snmp_pdu *pdu, const struct snmp_oids *names)
{
	struct snmp_oid trap;

	jsonw_key(w, "enterprise");
	put_oid(w, &pdu->enterprise);
	put_oid_name(w, "enterprise_name", names, &pdu->enterprise);
	jsonw_key(w, "agent_addr_v1");
	put_ipv4(w, pdu->agent_addr);
	jsonw_kv_int(w, "generic_trap", pdu->generic_trap);
	jsonw_kv_int(w, "specific_trap", pdu->specific_trap);
	/* RFC 3584 3.1: generic traps 0..5 are snmpTraps.(generic + 1);
	 * enterpriseSpecific(6) is enterprise.0.specific-trap. A negative
	 * specific-trap has no OID form, so no trap_oid then. */
	if (pdu->generic_trap < 6) {
		memcpy(trap.arc, snmp_oid_snmptraps, 9 * sizeof(uint32_t));
		trap.arc[9] = (uint32_t)pdu->generic_trap + 1;
		trap.n = 10;
	} else if (pdu->specific_trap >= 0) {
		trap = pdu->enterprise;
		trap.arc[trap.n++] = 0;
		trap.arc[trap.n++] = (uint32_t)pdu->specific_trap;
	} else {
		trap.n = 0;
	}
	if (trap.n > 0) {
		jsonw_key(w, "trap_oid");
		put_oid(w, &trap);
		put_oid_name(w, "trap_name", names, &trap);
	}
}

static void put_v3(struct jsonw *w, const struct snmp_record_in *in)
{
	const struct snmp_msg *m = in->m;

	jsonw_kv_str(w, "user", (const char *)m->user.p, m->user.n);
	jsonw_kv_ascii(w, "security_level", in->security_level);
	jsonw_key(w, "engine_id");
	put_hex(w, m->engine_id.p, m->engine_id.n);
	jsonw_kv_int(w, "engine_boots", m->engine_boots);
	jsonw_kv_int(w, "engine_time", m->engine_time);
	jsonw_kv_int(w, "msg_id", m->msg_id);
	jsonw_key(w, "context_engine_id");
	put_hex(w, in->pdu->context_engine_id.p, in->pdu->context_engine_id.n);
	jsonw_kv_str(w, "context_name", (const char *)in->pdu->context_name.p,
		     in->pdu->context_name.n);
}

int snmp_record_write(struct buf *out, const struct snmp_record_in *in,
		      const struct snmp_oids *names, struct charset_conv *conv,
		      struct buf *scratch)
{
	const struct snmp_msg *m = in->m;
	const struct snmp_pdu *pdu = in->pdu;
	struct snmp_varbind vb;
	struct snmp_ber it;
	struct jsonw w;
	int64_t uptime = -1;
	int rc;

	jsonw_init(&w, out);
	jsonw_object_open(&w);
	jsonw_kv_ascii(&w, "type", "snmp_trap");
	jsonw_kv_time_us(&w, "ts", in->recv_us);
	put_peer(&w, in->from);
	jsonw_kv_ascii(&w, "version", m->version == SNMP_V1 ? "1" : m->version == SNMP_V2C ? "2c" : "3");
	jsonw_kv_ascii(&w, "pdu", pdu->type == SNMP_PDU_TRAP_V1 ? "trapv1" :
		       pdu->type == SNMP_PDU_INFORM ? "inform" : "trap");
	if (m->version == SNMP_V3) {
		put_v3(&w, in);
	} else {
		char idx[16] = "#";

		jsonw_key(&w, "community_match");
		if (in->community_idx < 0)
			jsonw_string_ascii(&w, "any", 3);
		else
			jsonw_string_ascii(&w, idx, 1 + snmp__put_dec(idx + 1, (uint32_t)in->community_idx + 1));
		if (in->record_community)
			jsonw_kv_str(&w, "community", (const char *)m->community.p, m->community.n);
	}
	if (pdu->type == SNMP_PDU_TRAP_V1) {
		put_v1(&w, pdu, names);
		uptime = pdu->time_stamp;
	} else {
		jsonw_kv_int(&w, "request_id", pdu->request_id);
		if (pdu->has_trap_oid) {
			jsonw_key(&w, "trap_oid");
			put_oid(&w, &pdu->trap_oid);
			put_oid_name(&w, "trap_name", names, &pdu->trap_oid);
		}
		if (pdu->has_uptime)
			uptime = pdu->uptime;
	}
	if (uptime >= 0) {
		jsonw_kv_int(&w, "uptime", uptime);
		jsonw_kv_int(&w, "uptime_s", uptime / 100);
	}
	jsonw_key(&w, "varbinds");
	jsonw_array_open(&w);
	snmp_vb_iter_init(&it, pdu, in->pdu_base, NULL);
	/* Validated by the decoder: a failure here would be a bug, and it
	 * only ends the list early. */
	while (snmp_vb_next(&it, &vb) > 0)
		put_varbind(&w, &vb, names, conv, scratch);
	jsonw_array_close(&w);
	jsonw_object_close(&w);
	rc = jsonw_finish(&w);
	return rc == 0 ? 0 : -ENOMEM;
}
