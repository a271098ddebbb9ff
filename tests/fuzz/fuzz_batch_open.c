/* libFuzzer target for the sealed batch decoder (batch_parse_header and
 * batch_open), with the fixed device and SOC keys of docs/protocol.md's
 * test vector. The first input byte picks a mode:
 *
 *   0  the rest is a batch as received: parse and open it. Whatever it is,
 *      the outcome must be a code batch_strerror() knows, the body must be
 *      left alone on failure, and a batch that opens must parse.
 *   1  the rest is header || ciphertext; the harness signs it with the
 *      device key and frames it, so the fuzzer gets past the signature to
 *      the key id, HKDF, GCM, zstd and NDJSON checks.
 *   2  the rest is a body; it is made into NDJSON (one line per '\n',
 *      empty lines dropped), sealed and opened again: the round trip must
 *      give the same body and header fields back.
 *
 *   make VARIANT=fuzz build/fuzz/fuzz_batch_open
 *   build/fuzz/fuzz_batch_open -max_total_time=60 tests/fuzz/corpus/batch_open
 *
 * WARD_FUZZ_BATCH_SEEDS=DIR makes it write its seed batches to DIR at
 * start (how tests/fuzz/corpus/batch_open/ was made).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/pk.h>

#include "batch.h"
#include "buf.h"
#include "mbedtls_compat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct batch_key *dev, *soc;

static void write_seed(const char *dir, const char *name, uint8_t mode,
		       const uint8_t *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		abort();
	fputc(mode, f);
	fwrite(p, 1, len, f);
	fclose(f);
}

static void seeds(const char *dir)
{
	static const char *bodies[] = {
		"{\"a\":1}\n",
		"{\"seq\":1,\"msg\":\"<13>Nov 29 10:00:00 fw1 test: hello\"}\n"
		"{\"seq\":2,\"msg\":\"<13>Nov 29 10:00:01 fw1 test: world\"}\n",
	};
	struct batch_hdr h;
	struct buf b = BUF_INIT;
	char name[32];
	size_t i;

	for (i = 0; i < 2; i++) {
		memset(&h, 0, sizeof(h));
		strcpy(h.device, "ward-fuzz");
		strcpy(h.lane, "syslog");
		h.first_seq = 1;
		h.records = (uint32_t)(i + 1);
		h.last_seq = h.records;
		h.created_us = 1795996800000000;
		buf_reset(&b);
		if (batch_seal(&b, &h, bodies[i], strlen(bodies[i]), dev, soc, NULL) != 0)
			abort();
		snprintf(name, sizeof(name), "open-%zu", i);
		write_seed(dir, name, 0, b.data, b.len);
		/* Mode 1 takes the signed part only. */
		snprintf(name, sizeof(name), "resign-%zu", i);
		if (batch_parse_header(b.data, b.len, &h) != 0)
			abort();
		write_seed(dir, name, 1, b.data, BATCH_HDR_SIZE + h.ct_len);
		snprintf(name, sizeof(name), "body-%zu", i);
		write_seed(dir, name, 2, (const uint8_t *)bodies[i], strlen(bodies[i]));
	}
	buf_free(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t dev_d[32], soc_d[32];
	const char *dir = getenv("WARD_FUZZ_BATCH_SEEDS");
	unsigned i;

	for (i = 0; i < 32; i++) {
		dev_d[i] = (uint8_t)(0x01 + i);
		soc_d[i] = (uint8_t)(0x21 + i);
	}
	if (batch_key_from_scalar(&dev, dev_d) != 0 || batch_key_from_scalar(&soc, soc_d) != 0)
		abort();
	if (dir != NULL)
		seeds(dir);
	return 0;
}

static bool known(int rc)
{
	return rc == 0 || (rc <= BATCH_E_TRUNCATED && rc >= BATCH_E_NDJSON);
}

static int fuzz_rng(void *ctx, unsigned char *out, size_t len)
{
	(void)ctx;
	memset(out, 0x5a, len);   /* blinding only; signatures are RFC 6979 */
	return 0;
}

static void open_checked(const uint8_t *p, size_t len)
{
	struct buf body = BUF_INIT;
	struct batch_hdr h, ph;
	int rc, prc;

	/* A copy of exactly len bytes, so ASan sees any overread. */
	uint8_t *copy = malloc(len ? len : 1);

	if (copy == NULL)
		abort();
	memcpy(copy, p, len);
	prc = batch_parse_header(copy, len, &ph);
	rc = batch_open(copy, len, dev, soc, 1 << 20, &h, &body);
	if (!known(rc) || !known(prc))
		abort();
	if (rc == 0 && (prc != 0 || memcmp(&h, &ph, sizeof(h)) != 0 ||
			body.len != h.body_len))
		abort();
	if (rc != 0 && body.len != 0)
		abort();
	/* The chain hash is defined wherever the header and ciphertext are. */
	{
		uint8_t hh[BATCH_HASH_SIZE];

		if (rc == 0 && batch_hash(copy, len, hh) != 0)
			abort();
		if (prc != 0 && batch_hash(copy, len, hh) != prc)
			abort();
	}
	/* The header is checked first: a header the parser refuses is refused
	 * by open with the same code. */
	if (prc != 0 && rc != prc)
		abort();
	buf_free(&body);
	free(copy);
}

static void resign_and_open(const uint8_t *p, size_t len)
{
	uint8_t hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	struct buf b = BUF_INIT;
	size_t sig_len = 0;
	int rc;

	batch_sha256(p, len, hash);
	rc = mbcompat_pk_sign(batch_key_pk(dev), MBEDTLS_MD_SHA256, hash, 32, sig, sizeof(sig),
			      &sig_len, fuzz_rng, NULL);
	if (rc != 0 || buf_append(&b, p, len) != 0 || buf_append_byte(&b, (uint8_t)sig_len) != 0 ||
	    buf_append_byte(&b, 0) != 0 || buf_append(&b, sig, sig_len) != 0)
		abort();
	open_checked(b.data, b.len);
	buf_free(&b);
}

static void seal_and_open(const uint8_t *p, size_t len)
{
	struct buf body = BUF_INIT, b = BUF_INIT, out = BUF_INIT;
	struct batch_hdr h, oh;
	size_t i, start = 0;

	memset(&h, 0, sizeof(h));
	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != '\n')
			continue;
		if (i > start) {
			if (buf_append(&body, p + start, i - start) != 0 ||
			    buf_append_byte(&body, '\n') != 0)
				abort();
			h.records++;
		}
		start = i + 1;
	}
	if (h.records == 0)
		goto out;
	strcpy(h.device, "ward-fuzz");
	strcpy(h.lane, "fuzz");
	h.first_seq = 7;
	h.last_seq = 7 + h.records;
	h.created_us = -1;
	memset(h.prev_hash, 0xab, sizeof(h.prev_hash));
	if (batch_seal(&b, &h, body.data, body.len, dev, soc, NULL) != 0)
		abort();
	if (batch_open(b.data, b.len, dev, soc, 0, &oh, &out) != 0)
		abort();
	if (out.len != body.len || memcmp(out.data, body.data, body.len) != 0 ||
	    oh.records != h.records || oh.last_seq != h.last_seq || oh.created_us != -1 ||
	    memcmp(oh.prev_hash, h.prev_hash, sizeof(h.prev_hash)) != 0)
		abort();
out:
	buf_free(&body);
	buf_free(&b);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		open_checked(data + 1, size - 1);
		break;
	case 1:
		resign_and_open(data + 1, size - 1);
		break;
	default:
		if (size - 1 <= 65536)
			seal_and_open(data + 1, size - 1);
		break;
	}
	return 0;
}
