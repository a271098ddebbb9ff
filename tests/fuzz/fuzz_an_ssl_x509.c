/* libFuzzer target: one DER certificate through the TLS analyzer's x509
 * code (an_ssl_x509.c): mbedtls's parser, then ward's own readers of
 * the DN, serial, SubjectPublicKeyInfo, SANs and the SNI match.
 *
 * Input: one byte, the length of an SNI name that follows it, then the
 * DER (copied to a buffer of exactly its size, so ASan sees reads past
 * it). The record, if any, must be one JSON object of type "x509"; the
 * leaf's strings must be given back (mem_bytes). The seed corpus
 * (tests/fuzz/corpus/an_ssl_x509/) holds the certificates of test_an_ssl
 * and of the an_ssl corpus.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "an_ssl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_record(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	(void)ctx;
	if (cls != SPOOL_P2 || len < 2 || json[0] != '{' || json[len - 1] != '}' ||
	    memmem(json, len, "\"type\":\"x509\"", 13) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char fp[] = "0000000000000000000000000000000000000000000000000000000000000000";
	struct an_ssl_leaf leaf = { .sni_match = -1 };
	struct an_config cfg;
	struct an_session *s;
	struct an_ctx *c;
	struct conn id;
	char sni[256];
	size_t sni_len;
	uint64_t base;
	uint8_t *der;

	if (size < 1)
		return 0;
	sni_len = data[0];
	if (sni_len > size - 1)
		sni_len = size - 1;
	memcpy(sni, data + 1, sni_len);
	data += 1 + sni_len;
	size -= 1 + sni_len;

	an_config_defaults(&cfg);
	if (an_ctx_create(&c, &cfg, NULL, on_record, NULL) != 0)
		abort();
	memset(&id, 0, sizeof(id));
	memcpy(id.uid, "CFuzz", 6);
	id.ip_version = 4;
	id.proto = IPPROTO_TCP;
	base = an_ctx_stats(c)->mem_bytes;
	s = an_test_session(c, &id, &an_ssl);
	if (s == NULL)
		abort();
	der = malloc(size ? size : 1);
	if (der == NULL)
		abort();
	memcpy(der, data, size);
	an_ssl__x509(s, der, size, fp, 0, false, sni_len ? sni : NULL, sni_len, &leaf,
		     1700000000000000ull);
	if (leaf.sni_match > 1)
		abort();
	an_ssl__leaf_free(s, &leaf);
	free(der);
	an_test_end(s, 1700000000000000ull);
	if (an_ctx_stats(c)->mem_bytes != base)
		abort();
	an_ctx_destroy(c);
	return 0;
}
