/* an_ssl_x509: certificates seen in TLS <= 1.2 handshakes, parsed with
 * mbedtls's X.509 parser and written as Zeek's x509.log records
 * (X509::Info, Zeek 6 layout; an_ssl.h).
 *
 * mbedtls 3.x made several certificate fields private, so this file reads
 * only what is public in both 2.28 and 3.6 (raw, version, serial, sig_oid,
 * subject, issuer, valid_from/to, pk_raw, pk, subject_alt_names) and goes
 * through MBEDTLS_PRIVATE() for the basic constraints, which have no
 * accessor in either. The public key's algorithm, curve and exponent are
 * read from the SubjectPublicKeyInfo DER (pk_raw) with mbedtls's ASN.1
 * reader rather than from the pk context, whose EC internals differ
 * between the two versions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "an_ssl.h"
#include "buf.h"
#include "jsonw.h"

#ifndef MBEDTLS_PRIVATE
#define MBEDTLS_PRIVATE(m) m     /* mbedtls 2.x: every field is public */
#endif

/* A DN string longer than this is cut (a certificate can carry a large
 * one; the records stay bounded). */
#define DN_MAX 1024
/* SAN entries written per list. */
#define SAN_MAX 64

struct oid_name {
	const char *der;     /* OID content octets */
	size_t len;
	const char *name;
};

#define OID(s, n) { s, sizeof(s) - 1, n }

/* OpenSSL's long names, which Zeek writes (certificate.sig_alg). */
static const struct oid_name sig_algs[] = {
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x04", "md5WithRSAEncryption"),
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x05", "sha1WithRSAEncryption"),
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a", "rsassaPss"),
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b", "sha256WithRSAEncryption"),
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c", "sha384WithRSAEncryption"),
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d", "sha512WithRSAEncryption"),
	OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0e", "sha224WithRSAEncryption"),
	OID("\x2a\x86\x48\xce\x3d\x04\x01", "ecdsa-with-SHA1"),
	OID("\x2a\x86\x48\xce\x3d\x04\x03\x01", "ecdsa-with-SHA224"),
	OID("\x2a\x86\x48\xce\x3d\x04\x03\x02", "ecdsa-with-SHA256"),
	OID("\x2a\x86\x48\xce\x3d\x04\x03\x03", "ecdsa-with-SHA384"),
	OID("\x2a\x86\x48\xce\x3d\x04\x03\x04", "ecdsa-with-SHA512"),
	OID("\x2a\x86\x48\xce\x38\x04\x03", "dsaWithSHA1"),
	OID("\x60\x86\x48\x01\x65\x03\x04\x03\x02", "dsa_with_SHA256"),
	OID("\x2b\x65\x70", "ED25519"),
	OID("\x2b\x65\x71", "ED448"),
};

/* certificate.key_alg (OpenSSL long name) and key_type (Zeek's). */
static const struct {
	struct oid_name oid;
	const char *type;
} key_algs[] = {
	{ OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", "rsaEncryption"), "rsa" },
	{ OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a", "rsassaPss"), "rsa" },
	{ OID("\x2a\x86\x48\xce\x3d\x02\x01", "id-ecPublicKey"), "ecdsa" },
	{ OID("\x2a\x86\x48\xce\x38\x04\x01", "dsaEncryption"), "dsa" },
	{ OID("\x2b\x65\x70", "ED25519"), NULL },
	{ OID("\x2b\x65\x71", "ED448"), NULL },
};

/* Named curves by OpenSSL short name, as Zeek's certificate.curve. */
static const struct oid_name ec_curves[] = {
	OID("\x2a\x86\x48\xce\x3d\x03\x01\x07", "prime256v1"),
	OID("\x2a\x86\x48\xce\x3d\x03\x01\x01", "prime192v1"),
	OID("\x2b\x81\x04\x00\x21", "secp224r1"),
	OID("\x2b\x81\x04\x00\x22", "secp384r1"),
	OID("\x2b\x81\x04\x00\x23", "secp521r1"),
	OID("\x2b\x81\x04\x00\x0a", "secp256k1"),
	OID("\x2b\x24\x03\x03\x02\x08\x01\x01\x07", "brainpoolP256r1"),
	OID("\x2b\x24\x03\x03\x02\x08\x01\x01\x0b", "brainpoolP384r1"),
	OID("\x2b\x24\x03\x03\x02\x08\x01\x01\x0d", "brainpoolP512r1"),
};

static const char *oid_lookup(const struct oid_name *t, size_t n, const mbedtls_asn1_buf *oid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (oid->len == t[i].len && memcmp(oid->p, t[i].der, t[i].len) == 0)
			return t[i].name;
	return NULL;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* An OID by its table name, or in dotted form. */
static void kv_oid(struct jsonw *w, const char *key, const char *name, const mbedtls_asn1_buf *oid)
{
	char dotted[128];
	int n;

	if (name) {
		jsonw_kv_ascii(w, key, name);
		return;
	}
	n = mbedtls_oid_get_numeric_string(dotted, sizeof(dotted), oid);
	if (n > 0)
		jsonw_kv_str(w, key, dotted, (size_t)n);
}

/* ---- distinguished names --------------------------------------------- */

/* One attribute value, escaped as RFC 4514 2.4 asks: the specials with a
 * backslash, control bytes as \XX. Other bytes are kept (the JSON writer
 * turns ill-formed UTF-8 into U+FFFD). */
static void dn_value(struct buf *b, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "\\%02X", c);
			continue;
		}
		if (strchr(",+\"\\<>;", c) != NULL || (i == 0 && (c == '#' || c == ' ')) ||
		    (i == len - 1 && c == ' '))
			buf_append_byte(b, '\\');
		buf_append_byte(b, c);
	}
}

static void dn_attr(struct buf *b, const mbedtls_x509_name *n)
{
	const char *sn = NULL;
	char dotted[128];

	if (mbedtls_oid_get_attr_short_name(&n->oid, &sn) == 0 && sn != NULL) {
		buf_append_str(b, sn);
	} else if (mbedtls_oid_get_numeric_string(dotted, sizeof(dotted), &n->oid) > 0) {
		buf_append_str(b, dotted);
	} else {
		buf_append_str(b, "?");
	}
	buf_append_byte(b, '=');
	dn_value(b, n->val.p, n->val.len);
}

/* The DN as OpenSSL's RFC 2253 form, which Zeek logs: the RDNs from the
 * last to the first, joined by ',', the attributes of a multi-valued RDN
 * joined by '+'. Cut at DN_MAX bytes. */
static int dn_format(const mbedtls_x509_name *first, struct buf *out)
{
	const mbedtls_x509_name *rdn[64], *n;
	size_t count = 0, i;

	/* Each RDN starts at a node whose predecessor is not merged into it. */
	for (n = first; n != NULL && count < N(rdn); ) {
		if (n->oid.p == NULL)
			break;
		rdn[count++] = n;
		while (n != NULL && n->MBEDTLS_PRIVATE(next_merged))
			n = n->next;
		if (n != NULL)
			n = n->next;
	}
	buf_reset(out);
	for (i = count; i-- > 0; ) {
		if (i != count - 1)
			buf_append_byte(out, ',');
		for (n = rdn[i]; n != NULL; n = n->next) {
			if (n != rdn[i])
				buf_append_byte(out, '+');
			dn_attr(out, n);
			if (!n->MBEDTLS_PRIVATE(next_merged))
				break;
		}
		if (out->len > DN_MAX)
			break;
	}
	if (out->len > DN_MAX)
		out->len = DN_MAX;
	return buf_append_byte(out, '\0');
}

/* ---- times, serial, key ---------------------------------------------- */

static int64_t x509_time_us(const mbedtls_x509_time *t)
{
	int64_t days = time_days_from_civil(t->year, t->mon, t->day);

	return ((days * 86400) + t->hour * 3600 + t->min * 60 + t->sec) * 1000000;
}

/* Zeek writes the serial as OpenSSL's i2a_ASN1_INTEGER does: uppercase
 * hex of the magnitude, without DER's leading zero octets. */
static void kv_serial(struct jsonw *w, const mbedtls_x509_buf *s)
{
	static const char hx[] = "0123456789ABCDEF";
	char out[2 * 32 + 1];
	size_t i = 0, n = 0;

	while (i + 1 < s->len && s->p[i] == 0)
		i++;
	for (; i < s->len && n + 2 < sizeof(out); i++) {
		out[n++] = hx[s->p[i] >> 4];
		out[n++] = hx[s->p[i] & 15];
	}
	jsonw_kv_str(w, "certificate.serial", out, n);
}

struct key_info {
	const char *alg, *type, *curve;
	mbedtls_asn1_buf alg_oid;
	char exponent[24];
};

/* SubjectPublicKeyInfo (RFC 5280 4.1.2.7): the algorithm OID, its
 * parameters (a named curve for EC), and for RSA the exponent from
 * RSAPublicKey (RFC 8017 A.1.1). */
static void key_parse(const mbedtls_x509_buf *spki, struct key_info *k)
{
	unsigned char *p = spki->p, *end = spki->p + spki->len;
	mbedtls_asn1_buf params;
	size_t len, i;

	memset(k, 0, sizeof(*k));
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return;
	end = p + len;
	memset(&params, 0, sizeof(params));
	if (mbedtls_asn1_get_alg(&p, end, &k->alg_oid, &params))
		return;
	for (i = 0; i < N(key_algs); i++)
		if (k->alg_oid.len == key_algs[i].oid.len &&
		    memcmp(k->alg_oid.p, key_algs[i].oid.der, key_algs[i].oid.len) == 0) {
			k->alg = key_algs[i].oid.name;
			k->type = key_algs[i].type;
		}
	if (k->type && strcmp(k->type, "ecdsa") == 0 && params.tag == MBEDTLS_ASN1_OID)
		k->curve = oid_lookup(ec_curves, N(ec_curves), &params);
	if (k->type && strcmp(k->type, "rsa") == 0 &&
	    mbedtls_asn1_get_bitstring_null(&p, end, &len) == 0 &&
	    mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) == 0 &&
	    mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_INTEGER) == 0) {
		p += len;  /* the modulus */
		if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_INTEGER) == 0) {
			uint64_t e = 0;

			while (len > 0 && *p == 0) {
				p++;
				len--;
			}
			if (len <= 8) {
				for (i = 0; i < len; i++)
					e = e << 8 | p[i];
				snprintf(k->exponent, sizeof(k->exponent), "%llu",
					 (unsigned long long)e);
			}
		}
	}
}

/* ---- SAN and host names ---------------------------------------------- */

/* RFC 6125 6.4.3: a '*' only as the whole leftmost label, matching one
 * non-empty label; ASCII case-insensitive. */
static bool host_match(const uint8_t *pat, size_t plen, const char *host, size_t hlen)
{
	/* A trailing dot (absolute name) is not part of the comparison. */
	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--;
	if (plen > 0 && pat[plen - 1] == '.')
		plen--;
	if (plen == 0 || hlen == 0)
		return false;
	if (plen >= 2 && pat[0] == '*' && pat[1] == '.') {
		const char *dot = memchr(host, '.', hlen);
		size_t rest;

		if (dot == NULL || dot == host)
			return false;
		rest = hlen - (size_t)(dot - host);
		return rest == plen - 1 && strncasecmp(dot, (const char *)pat + 1, rest) == 0;
	}
	return plen == hlen && strncasecmp((const char *)pat, host, hlen) == 0;
}

static void san_list(struct jsonw *w, const char *key, const mbedtls_x509_sequence *san,
		     unsigned char tag)
{
	const mbedtls_x509_sequence *e;
	unsigned n = 0;
	bool open = false;

	for (e = san; e != NULL && n < SAN_MAX; e = e->next) {
		if (e->buf.p == NULL || e->buf.tag != tag)
			continue;
		if (!open) {
			jsonw_key(w, key);
			jsonw_array_open(w);
			open = true;
		}
		n++;
		if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7)) {
			char ip[INET6_ADDRSTRLEN];

			if ((e->buf.len == 4 && inet_ntop(AF_INET, e->buf.p, ip, sizeof(ip))) ||
			    (e->buf.len == 16 && inet_ntop(AF_INET6, e->buf.p, ip, sizeof(ip))))
				jsonw_string_ascii(w, ip, strlen(ip));
			else
				jsonw_string(w, "", 0);
		} else {
			jsonw_string(w, (const char *)e->buf.p, e->buf.len);
		}
	}
	if (open)
		jsonw_array_close(w);
}

static int sni_match(const mbedtls_x509_crt *crt, const char *sni, size_t sni_len)
{
	const mbedtls_x509_sequence *e;
	const mbedtls_x509_name *n;
	bool any_dns = false;

	for (e = &crt->subject_alt_names; e != NULL; e = e->next) {
		if (e->buf.p == NULL || e->buf.tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2))
			continue;
		any_dns = true;
		if (host_match(e->buf.p, e->buf.len, sni, sni_len))
			return 1;
	}
	if (any_dns)
		return 0;
	/* No DNS names: the subject's common names (RFC 6125 6.4.4). */
	for (n = &crt->subject; n != NULL; n = n->next)
		if (n->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 &&
		    host_match(n->val.p, n->val.len, sni, sni_len))
			return 1;
	return 0;
}

static char *dup_an(struct an_session *s, const struct buf *b, size_t *size)
{
	char *p = an_alloc(s, b->len);

	if (p == NULL)
		return NULL;
	memcpy(p, b->data, b->len);
	*size = b->len;
	return p;
}

/* ---- the record ------------------------------------------------------ */

int an_ssl__x509(struct an_session *s, const uint8_t *der, size_t len, const char *fp,
		 unsigned index, bool client, const char *sni, size_t sni_len,
		 struct an_ssl_leaf *leaf, uint64_t ts_us)
{
	mbedtls_x509_crt crt;
	struct buf subj = BUF_INIT, iss = BUF_INIT;
	struct key_info key;
	struct jsonw *w;
	int rc = 0;

	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, der, len) != 0) {
		an_weird(s, "x509_parse_error");
		rc = -EINVAL;
		goto out;
	}
	if (dn_format(&crt.subject, &subj) != 0 || dn_format(&crt.issuer, &iss) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	key_parse(&crt.pk_raw, &key);

	w = an_record_begin(s, "x509", ts_us);
	if (w == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	jsonw_kv_ascii(w, "fingerprint", fp);
	jsonw_kv_int(w, "certificate.version", crt.version);
	kv_serial(w, &crt.serial);
	jsonw_kv_str(w, "certificate.subject", (const char *)subj.data, subj.len - 1);
	jsonw_kv_str(w, "certificate.issuer", (const char *)iss.data, iss.len - 1);
	jsonw_kv_time_us(w, "certificate.not_valid_before", x509_time_us(&crt.valid_from));
	jsonw_kv_time_us(w, "certificate.not_valid_after", x509_time_us(&crt.valid_to));
	if (key.alg_oid.p)
		kv_oid(w, "certificate.key_alg", key.alg, &key.alg_oid);
	kv_oid(w, "certificate.sig_alg", oid_lookup(sig_algs, N(sig_algs), &crt.sig_oid),
	       &crt.sig_oid);
	if (key.type)
		jsonw_kv_ascii(w, "certificate.key_type", key.type);
	if (mbedtls_pk_get_bitlen(&crt.pk) > 0)
		jsonw_kv_uint(w, "certificate.key_length", mbedtls_pk_get_bitlen(&crt.pk));
	if (key.exponent[0])
		jsonw_kv_ascii(w, "certificate.exponent", key.exponent);
	if (key.curve)
		jsonw_kv_ascii(w, "certificate.curve", key.curve);
	san_list(w, "san.dns", &crt.subject_alt_names, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2);
	san_list(w, "san.uri", &crt.subject_alt_names, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6);
	san_list(w, "san.email", &crt.subject_alt_names, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 1);
	san_list(w, "san.ip", &crt.subject_alt_names, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7);
	if (crt.MBEDTLS_PRIVATE(ext_types) & MBEDTLS_X509_EXT_BASIC_CONSTRAINTS) {
		jsonw_kv_bool(w, "basic_constraints.ca", crt.MBEDTLS_PRIVATE(ca_istrue) != 0);
		/* mbedtls keeps pathLenConstraint + 1, 0 when absent. */
		if (crt.MBEDTLS_PRIVATE(max_pathlen) > 0)
			jsonw_kv_int(w, "basic_constraints.path_len",
				     crt.MBEDTLS_PRIVATE(max_pathlen) - 1);
	}
	jsonw_kv_bool(w, "host_cert", index == 0);
	jsonw_kv_bool(w, "client_cert", client);
	an_record_end(s, SPOOL_P2);

	if (index == 0 && leaf != NULL) {
		an_ssl__leaf_free(s, leaf);
		leaf->subject = dup_an(s, &subj, &leaf->subject_size);
		leaf->issuer = dup_an(s, &iss, &leaf->issuer_size);
		leaf->sni_match = sni ? sni_match(&crt, sni, sni_len) : -1;
	}
out:
	buf_free(&subj);
	buf_free(&iss);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

void an_ssl__leaf_free(struct an_session *s, struct an_ssl_leaf *leaf)
{
	if (leaf->subject)
		an_free(s, leaf->subject, leaf->subject_size);
	if (leaf->issuer)
		an_free(s, leaf->issuer, leaf->issuer_size);
	leaf->subject = leaf->issuer = NULL;
	leaf->subject_size = leaf->issuer_size = 0;
	leaf->sni_match = -1;
}
