/* libFuzzer target: SNMP BER and message decoding (snmp_ber.c,
 * snmp_pdu.c) and the record writer (snmp_record.c).
 *
 * The input is decoded as a whole datagram and, separately, as a bare
 * ScopedPDU (what decryption yields). Beyond ASan/UBSan's checks it
 * asserts that every slice the decoder returns lies inside the input, that
 * the error codes are the documented ones, that a validated PDU iterates
 * without error to the counted number of varbinds, and that every record
 * is a JSON object (read back with jansson). */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "snmp/snmp_oids.h"
#include "snmp/snmp_pdu.h"
#include "snmp/snmp_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_slice(const struct snmp_bytes *b, const uint8_t *base, size_t len)
{
	if (b->p == NULL)
		return;
	if (b->p < base || b->n > len || (size_t)(b->p - base) > len - b->n)
		abort();
}

static bool documented(int rc)
{
	return rc == 0 || rc == -EBADMSG || rc == -EPROTONOSUPPORT || rc == -EOPNOTSUPP ||
	       rc == -EPROTO || rc == -ESOCKTNOSUPPORT;
}

/* Walks the varbinds of a validated PDU: none may fail now. */
static void walk(const struct snmp_pdu *pdu, const uint8_t *base, size_t len)
{
	struct snmp_varbind vb;
	struct snmp_ber it;
	unsigned n = 0;
	int rc;

	check_slice(&pdu->vbl, base, len);
	check_slice(&pdu->vbl_tlv, base, len);
	snmp_vb_iter_init(&it, pdu, base, NULL);
	while ((rc = snmp_vb_next(&it, &vb)) > 0) {
		check_slice(&vb.raw, base, len);
		if (vb.name.n < 2 || vb.name.n > SNMP_OID_MAX_ARCS)
			abort();
		n++;
	}
	if (rc != 0 || n != pdu->n_varbinds)
		abort();
}

static void record(const struct snmp_msg *m, const struct snmp_pdu *pdu, const uint8_t *base,
		   size_t n)
{
	static struct snmp_oids *names;
	static struct charset_conv *conv;
	static struct buf out, scratch;
	static bool ready;
	struct sockaddr_in6 from = { .sin6_family = AF_INET6, .sin6_port = htons(162) };
	struct snmp_record_in in = {
		.recv_us = 1795268400000000LL, .from = (struct sockaddr *)&from, .m = m, .pdu = pdu,
		.pdu_base = base, .community_idx = (int)(n % 3) - 1, .record_community = n & 1,
		.security_level = "authPriv",
	};
	json_error_t err;
	json_t *j;
	char e[128];

	if (!ready) {
		if (snmp_oids_create(&names, NULL, e, sizeof(e)) < 0)
			abort();
		conv = charset_conv_create();
		buf_init(&out);
		buf_init(&scratch);
		ready = true;
	}
	from.sin6_addr.s6_addr[15] = 1;
	buf_reset(&out);
	if (snmp_record_write(&out, &in, names, (n & 2) ? NULL : conv, &scratch) != 0)
		abort();
	j = json_loadb((const char *)out.data, out.len, JSON_ALLOW_NUL, &err);
	if (j == NULL || !json_is_object(j) || !json_is_array(json_object_get(j, "varbinds")))
		abort();
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snmp_ber_diag d = { 0 };
	struct snmp_msg m;
	struct snmp_pdu pdu;
	struct snmp_oid o;
	int64_t rid;
	int rc;

	memset(&pdu, 0, sizeof(pdu));
	rc = snmp_msg_decode(data, size, &m, &pdu, &d);
	if (!documented(rc) || (rc == -EBADMSG && d.what == NULL))
		abort();
	if (rc == 0) {
		check_slice(&m.community, data, size);
		check_slice(&m.engine_id, data, size);
		check_slice(&m.user, data, size);
		check_slice(&m.auth_params, data, size);
		check_slice(&m.priv_params, data, size);
		check_slice(&m.scoped, data, size);
		check_slice(&m.encrypted, data, size);
		if (m.auth_params.p != NULL && m.auth_params.p != data + m.auth_params_off)
			abort();
		if (m.version != SNMP_V3) {
			walk(&pdu, data, size);
			record(&m, &pdu, data, size);
		} else if (m.scoped.p != NULL) {
			rc = snmp_scoped_pdu_decode(m.scoped.p, m.scoped.n, 0, &pdu, &d);
			if (rc == 0) {
				walk(&pdu, m.scoped.p, m.scoped.n);
				record(&m, &pdu, m.scoped.p, m.scoped.n);
			}
		}
	}
	/* The input as a decrypted ScopedPDU with block padding. */
	memset(&pdu, 0, sizeof(pdu));
	rc = snmp_scoped_pdu_decode(data, size, 7, &pdu, &d);
	if (!documented(rc))
		abort();
	if (rc == 0) {
		check_slice(&pdu.context_engine_id, data, size);
		check_slice(&pdu.context_name, data, size);
		walk(&pdu, data, size);
	}
	(void)snmp_scoped_request_id(data, size, &rid);
	/* And as OID text, for the names file parser. */
	if (snmp_oid_parse((const char *)data, size, &o) == 0) {
		char s[SNMP_OID_STR_MAX];

		if (snmp_oid_format(&o, s) > size + 1 || o.n < 2)
			abort();
	}
	return 0;
}
