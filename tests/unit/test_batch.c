/* Sealed batches: round trip, every tampered or truncated byte rejected
 * with the code of the first check it fails, wrong keys, decompression
 * bombs, the hash chain, key files, and docs/protocol.md's test vector. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mbedtls/pk.h>

#include "batch.h"
#include "buf.h"
#include "mbedtls_compat.h"

/* Fixed scalars of docs/protocol.md, "Test vector". */
static uint8_t dev_d[32], soc_d[32], eph_d[32], nonce[BATCH_NONCE_SIZE];

static const char records3[] =
	"{\"seq\":1,\"msg\":\"<13>Nov 29 10:00:00 fw1 test: hello\"}\n"
	"{\"seq\":2,\"msg\":\"<13>Nov 29 10:00:01 fw1 test: world\"}\n"
	"{\"seq\":3,\"msg\":\"<13>Nov 29 10:00:02 fw1 test: again\"}\n";

/* SHA-256 of the batch the vector seals, as docs/protocol.md states it. */
static const char vector_hash[] =
	"10274c5c3764ff28d6341f96f2c49fd533c01bd8ae250f3ba7cc02907e9950f9";
/* ... and its chain hash, SHA-256(header || ciphertext). */
static const char vector_chain_hash[] =
	"ac3e66b2c51b7862224df17889806a991692b77f2dd854464a910f65d7b86305";

struct keys {
	struct batch_key *dev, *soc;
};

static void vector_init(void)
{
	unsigned i;

	for (i = 0; i < 32; i++) {
		dev_d[i] = (uint8_t)(0x01 + i);
		soc_d[i] = (uint8_t)(0x21 + i);
		eph_d[i] = (uint8_t)(0x41 + i);
	}
	for (i = 0; i < BATCH_NONCE_SIZE; i++)
		nonce[i] = (uint8_t)i;
}

static int setup(void **state)
{
	static struct keys k;

	vector_init();
	if (batch_key_from_scalar(&k.dev, dev_d) != 0 || batch_key_from_scalar(&k.soc, soc_d) != 0)
		return -1;
	*state = &k;
	return 0;
}

static int teardown(void **state)
{
	struct keys *k = *state;

	batch_key_destroy(k->dev);
	batch_key_destroy(k->soc);
	return 0;
}

static void hdr_init(struct batch_hdr *h, uint64_t first, uint32_t n)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->device, "ward-test-0001");
	strcpy(h->lane, "syslog");
	h->first_seq = first;
	h->last_seq = first + n - 1;
	h->records = n;
	h->created_us = 1795996800000000;  /* 2026-11-30T00:00:00Z */
}

static void seal3(struct keys *k, struct buf *out, const struct batch_seal_opts *o)
{
	struct batch_hdr h;

	hdr_init(&h, 1, 3);
	assert_int_equal(batch_seal(out, &h, records3, strlen(records3), k->dev, k->soc, o), 0);
}

static void test_round_trip(void **state)
{
	struct keys *k = *state;
	struct buf b = BUF_INIT, body = BUF_INIT;
	struct batch_hdr h, p;

	seal3(k, &b, NULL);
	assert_true(b.len > BATCH_HDR_SIZE + 2 + BATCH_SIG_MIN);
	assert_int_equal(batch_open(b.data, b.len, k->dev, k->soc, 0, &h, &body), 0);
	assert_int_equal(body.len, strlen(records3));
	assert_memory_equal(body.data, records3, body.len);
	assert_string_equal(h.device, "ward-test-0001");
	assert_string_equal(h.lane, "syslog");
	assert_int_equal(h.first_seq, 1);
	assert_int_equal(h.last_seq, 3);
	assert_int_equal(h.records, 3);
	assert_int_equal(h.created_us, 1795996800000000);
	assert_int_equal(h.codec, BATCH_CODEC_ZSTD);
	assert_memory_equal(h.key_id, batch_key_id(k->soc), BATCH_KEY_ID_SIZE);

	/* The keyless parse agrees with the authenticated one. */
	assert_int_equal(batch_parse_header(b.data, BATCH_HDR_SIZE, &p), 0);
	assert_memory_equal(&p, &h, sizeof(p));

	/* Random ephemeral keys and nonces: sealing twice differs. */
	buf_reset(&body);
	seal3(k, &body, NULL);
	assert_true(body.len != b.len || memcmp(body.data, b.data, b.len) != 0);
	buf_free(&b);
	buf_free(&body);
}

/* Gaps are allowed (quarantined records), more records than seqs not. */
static void test_seal_rejects_bad_input(void **state)
{
	struct keys *k = *state;
	struct buf b = BUF_INIT;
	struct batch_hdr h;
	struct batch_seal_opts o = { 0 };

	hdr_init(&h, 1, 3);
	h.last_seq = 10;
	assert_int_equal(batch_seal(&b, &h, records3, strlen(records3), k->dev, k->soc, NULL), 0);
	buf_reset(&b);
	hdr_init(&h, 1, 3);
	h.last_seq = 2;
	assert_int_equal(batch_seal(&b, &h, records3, strlen(records3), k->dev, k->soc, NULL), -EINVAL);
	hdr_init(&h, 0, 3);
	assert_int_equal(batch_seal(&b, &h, records3, strlen(records3), k->dev, k->soc, NULL), -EINVAL);
	hdr_init(&h, 1, 2);   /* three lines, two records */
	assert_int_equal(batch_seal(&b, &h, records3, strlen(records3), k->dev, k->soc, NULL), -EINVAL);
	hdr_init(&h, 1, 3);   /* last line without newline */
	assert_int_equal(batch_seal(&b, &h, records3, strlen(records3) - 1, k->dev, k->soc, NULL), -EINVAL);
	hdr_init(&h, 1, 3);
	strcpy(h.lane, "Syslog");
	assert_int_equal(batch_seal(&b, &h, records3, strlen(records3), k->dev, k->soc, NULL), -EINVAL);
	hdr_init(&h, 1, 3);
	h.device[0] = '\0';
	assert_int_equal(batch_seal(&b, &h, records3, strlen(records3), k->dev, k->soc, NULL), -EINVAL);
	hdr_init(&h, 1, 3);
	o.zstd_level = 20;
	assert_int_equal(batch_seal(&b, &h, records3, strlen(records3), k->dev, k->soc, &o), -EINVAL);
	buf_free(&b);
}

/* Expected code for a batch whose header byte `off` was changed: the first
 * structural check it fails, else (the header being signed) the signature,
 * or a framing error when the ciphertext length moved. */
static void expect_header_reject(int rc, const uint8_t *t, size_t len, size_t off)
{
	struct batch_hdr h;
	int prc = batch_parse_header(t, len, &h);

	if (prc != 0)
		assert_int_equal(rc, prc);
	else if (off >= 112 && off < 116)
		assert_true(rc == BATCH_E_TRUNCATED || rc == BATCH_E_LENGTH ||
			    rc == BATCH_E_SIG_SIZE || rc == BATCH_E_SIGNATURE);
	else
		assert_int_equal(rc, BATCH_E_SIGNATURE);
}

static void test_tamper_every_byte(void **state)
{
	struct keys *k = *state;
	struct buf b = BUF_INIT, body = BUF_INIT;
	uint8_t *t;
	size_t i, sig_off;
	unsigned bit;
	int rc;

	seal3(k, &b, NULL);
	t = malloc(b.len);
	assert_non_null(t);
	{
		struct batch_hdr h;

		assert_int_equal(batch_parse_header(b.data, b.len, &h), 0);
		sig_off = BATCH_HDR_SIZE + h.ct_len;
	}
	for (i = 0; i < b.len; i++) {
		for (bit = 0; bit < 8; bit += 7) {   /* low and high bit */
			memcpy(t, b.data, b.len);
			t[i] ^= (uint8_t)(1u << bit);
			rc = batch_open(t, b.len, k->dev, k->soc, 0, NULL, &body);
			assert_int_equal(body.len, 0);
			if (i < BATCH_HDR_SIZE)
				expect_header_reject(rc, t, b.len, i);
			else if (i < sig_off)
				assert_int_equal(rc, BATCH_E_SIGNATURE);
			else if (i < sig_off + 2)
				assert_true(rc == BATCH_E_SIG_SIZE || rc == BATCH_E_TRUNCATED ||
					    rc == BATCH_E_LENGTH);
			else
				assert_int_equal(rc, BATCH_E_SIGNATURE);
		}
	}
	/* Named fields give their own codes. */
	{
		static const struct { size_t off; uint8_t x; int rc; } cases[] = {
			{ 0, 0x01, BATCH_E_MAGIC }, { 8, 0x02, BATCH_E_VERSION },
			{ 10, 0x01, BATCH_E_HDR_SIZE }, { 12, 0x03, BATCH_E_CODEC },
			{ 13, 0x02, BATCH_E_WRAP }, { 14, 0x01, BATCH_E_RESERVED },
			{ 116, 0x01, BATCH_E_RESERVED }, { 16, 0x80, BATCH_E_DEVICE },
			{ 47, 0x41, BATCH_E_DEVICE }, { 48, 0x20, BATCH_E_LANE },
			{ 80, 0x04, BATCH_E_SEQ }, { 96, 0x07, BATCH_E_RECORDS },
			{ 103, 0x80, BATCH_E_BODY_SIZE }, { 115, 0x40, BATCH_E_CT_SIZE },
			{ 184, 0x02, BATCH_E_EPH_KEY }, { 200, 0x01, BATCH_E_EPH_KEY },
			{ 130, 0x01, BATCH_E_SIGNATURE }, { 160, 0x01, BATCH_E_SIGNATURE },
			{ 250, 0x01, BATCH_E_SIGNATURE }, { 270, 0x01, BATCH_E_SIGNATURE },
		};
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			memcpy(t, b.data, b.len);
			t[cases[i].off] ^= cases[i].x;
			rc = batch_open(t, b.len, k->dev, k->soc, 0, NULL, &body);
			if (rc != cases[i].rc)
				fail_msg("offset %zu: got %d (%s), want %d", cases[i].off, rc,
					 batch_strerror(rc), cases[i].rc);
		}
	}
	free(t);
	buf_free(&b);
	buf_free(&body);
}

static void test_truncated_and_extended(void **state)
{
	struct keys *k = *state;
	struct buf b = BUF_INIT, body = BUF_INIT;
	struct batch_hdr h;
	size_t len;
	uint8_t *t;

	seal3(k, &b, NULL);
	for (len = 0; len < b.len; len++) {
		/* A copy of exactly len bytes, so ASan sees any overread. */
		t = malloc(len + 1);
		assert_non_null(t);
		memcpy(t, b.data, len);
		assert_int_equal(batch_open(t, len, k->dev, k->soc, 0, &h, &body), BATCH_E_TRUNCATED);
		assert_int_equal(body.len, 0);
		assert_int_equal(h.records, 0);
		assert_int_equal(batch_parse_header(t, len, &h),
				 len < BATCH_HDR_SIZE ? BATCH_E_TRUNCATED : 0);
		free(t);
	}
	assert_int_equal(buf_append_byte(&b, 0), 0);
	assert_int_equal(batch_open(b.data, b.len, k->dev, k->soc, 0, &h, &body), BATCH_E_LENGTH);
	buf_free(&b);
	buf_free(&body);
}

static void test_wrong_keys(void **state)
{
	struct keys *k = *state;
	struct buf b = BUF_INIT, body = BUF_INIT;
	struct batch_key *other = NULL;

	seal3(k, &b, NULL);
	assert_int_equal(batch_key_generate(&other), 0);
	assert_int_equal(batch_open(b.data, b.len, other, k->soc, 0, NULL, &body), BATCH_E_SIGNATURE);
	assert_int_equal(batch_open(b.data, b.len, k->dev, other, 0, NULL, &body), BATCH_E_KEY_ID);
	assert_int_equal(body.len, 0);
	batch_key_destroy(other);
	buf_free(&b);
	buf_free(&body);
}

/* Blinding for the test's own signatures (not secret here). */
static int test_rng(void *ctx, unsigned char *out, size_t len)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < len; i++)
		out[i] = (unsigned char)rand();
	return 0;
}

/* Re-signs the first `signed_len` bytes of `b` with the device key and
 * rebuilds the signature frame, as a device that went wrong (or a thief
 * with the device key) would. */
static void resign(struct keys *k, struct buf *b, size_t signed_len)
{
	uint8_t hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t sig_len = 0;

	batch_sha256(b->data, signed_len, hash);
	assert_int_equal(mbcompat_pk_sign(batch_key_pk(k->dev), MBEDTLS_MD_SHA256, hash, 32, sig,
					  sizeof(sig), &sig_len, test_rng, NULL), 0);
	b->len = signed_len;
	assert_int_equal(buf_append_byte(b, (uint8_t)sig_len), 0);
	assert_int_equal(buf_append_byte(b, 0), 0);
	assert_int_equal(buf_append(b, sig, sig_len), 0);
}

/* A batch signed by the right device and sealed to the right key id whose
 * ciphertext or tag was changed before signing: only GCM catches it. */
static void test_decrypt_fails_under_valid_signature(void **state)
{
	struct keys *k = *state;
	struct buf b = BUF_INIT, body = BUF_INIT;
	const size_t offs[] = { BATCH_HDR_SIZE, BATCH_HDR_SIZE + 5, 265 /* tag */ };
	struct batch_hdr h;
	size_t i;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		buf_reset(&b);
		seal3(k, &b, NULL);
		assert_int_equal(batch_parse_header(b.data, b.len, &h), 0);
		b.data[offs[i]] ^= 1;
		resign(k, &b, BATCH_HDR_SIZE + h.ct_len);
		assert_int_equal(batch_open(b.data, b.len, k->dev, k->soc, 0, NULL, &body),
				 BATCH_E_DECRYPT);
		assert_int_equal(body.len, 0);
	}
	buf_free(&b);
	buf_free(&body);
}

static void test_decompression_bounds(void **state)
{
	struct keys *k = *state;
	struct buf b = BUF_INIT, body = BUF_INIT, big = BUF_INIT;
	struct batch_seal_opts o = { 0 };
	struct batch_hdr h;
	uint32_t n = 0;

	/* 1 MiB of NDJSON that compresses to almost nothing. */
	while (big.len < (1u << 20)) {
		assert_int_equal(buf_append_str(&big, "{\"msg\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}\n"), 0);
		n++;
	}
	hdr_init(&h, 1, n);
	assert_int_equal(batch_seal(&b, &h, big.data, big.len, k->dev, k->soc, NULL), 0);
	assert_true(b.len < 16384);
	/* The caller's bound is checked before anything is decrypted. */
	assert_int_equal(batch_open(b.data, b.len, k->dev, k->soc, 4096, NULL, &body),
			 BATCH_E_TOO_BIG);
	assert_int_equal(batch_open(b.data, b.len, k->dev, k->soc, big.len, NULL, &body), 0);
	assert_int_equal(body.len, big.len);

	/* A bomb: the header declares 64 KiB, the frame holds 1 MiB. */
	buf_reset(&b);
	buf_reset(&body);
	o.test_declared_body_len = 65536;
	assert_int_equal(batch_seal(&b, &h, big.data, big.len, k->dev, k->soc, &o), 0);
	assert_int_equal(batch_open(b.data, b.len, k->dev, k->soc, 0, NULL, &body),
			 BATCH_E_DECOMPRESS);
	assert_int_equal(body.len, 0);

	/* Declared longer than it is. */
	buf_reset(&b);
	hdr_init(&h, 1, 3);
	o.test_declared_body_len = (uint32_t)strlen(records3) + 1;
	assert_int_equal(batch_seal(&b, &h, records3, strlen(records3), k->dev, k->soc, &o), 0);
	assert_int_equal(batch_open(b.data, b.len, k->dev, k->soc, 0, NULL, &body),
			 BATCH_E_BODY_LEN);

	/* Above the format's hard cap. */
	buf_reset(&b);
	o.test_declared_body_len = BATCH_BODY_MAX + 1;
	assert_int_equal(batch_seal(&b, &h, records3, strlen(records3), k->dev, k->soc, &o), 0);
	assert_int_equal(batch_open(b.data, b.len, k->dev, k->soc, 0, NULL, &body),
			 BATCH_E_BODY_SIZE);
	buf_free(&b);
	buf_free(&body);
	buf_free(&big);
}

static void test_hash_chain(void **state)
{
	struct keys *k = *state;
	struct buf b1 = BUF_INIT, b2 = BUF_INIT, body = BUF_INIT;
	struct batch_hdr h;
	uint8_t zero[BATCH_HASH_SIZE] = { 0 }, h1[BATCH_HASH_SIZE];

	hdr_init(&h, 1, 3);
	assert_int_equal(batch_seal(&b1, &h, records3, strlen(records3), k->dev, k->soc, NULL), 0);
	assert_int_equal(batch_hash(b1.data, b1.len, h1), 0);
	hdr_init(&h, 4, 3);
	memcpy(h.prev_hash, h1, sizeof(h1));
	assert_int_equal(batch_seal(&b2, &h, records3, strlen(records3), k->dev, k->soc, NULL), 0);

	assert_int_equal(batch_open(b1.data, b1.len, k->dev, k->soc, 0, &h, &body), 0);
	assert_memory_equal(h.prev_hash, zero, sizeof(zero));
	assert_int_equal(batch_open(b2.data, b2.len, k->dev, k->soc, 0, &h, &body), 0);
	assert_memory_equal(h.prev_hash, h1, sizeof(h1));
	assert_int_equal(h.first_seq, 4);
	/* The link covers the signed bytes: any change there breaks it ... */
	b1.data[BATCH_HDR_SIZE] ^= 1;
	assert_int_equal(batch_hash(b1.data, b1.len, h1), 0);
	assert_memory_not_equal(h.prev_hash, h1, sizeof(h1));
	b1.data[BATCH_HDR_SIZE] ^= 1;
	/* ... but not the signature's encoding, which is malleable. */
	b1.data[b1.len - 1] ^= 1;
	assert_int_equal(batch_hash(b1.data, b1.len, h1), 0);
	assert_memory_equal(h.prev_hash, h1, sizeof(h1));
	/* Needs the whole header and ciphertext. */
	assert_int_equal(batch_hash(b1.data, BATCH_HDR_SIZE + 1, h1), BATCH_E_TRUNCATED);
	assert_memory_equal(h1, zero, sizeof(zero));
	assert_int_equal(batch_hash(b1.data, 10, h1), BATCH_E_TRUNCATED);
	buf_free(&b1);
	buf_free(&b2);
	buf_free(&body);
}

static void test_key_files(void **state)
{
	struct keys *k = *state;
	struct buf pem = BUF_INIT, b = BUF_INIT, body = BUF_INIT;
	struct batch_key *priv = NULL, *pub = NULL;
	char dir[] = "/tmp/test_batch.XXXXXX", path[64], pubpath[64];
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/test-soc-key.pem", dir);
	snprintf(pubpath, sizeof(pubpath), "%s/test-soc-pub.pem", dir);
	assert_int_equal(batch_key_write_pem(k->soc, &pem), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(pem.data, 1, pem.len, f), pem.len);
	fclose(f);
	assert_int_equal(batch_key_load(&priv, path), 0);
	assert_true(batch_key_has_private(priv));
	assert_memory_equal(batch_key_id(priv), batch_key_id(k->soc), BATCH_KEY_ID_SIZE);

	/* The public half alone: enough to seal to, not to open. */
	batch_key_destroy(pub);
	{
		struct batch_key *tmp = NULL;
		unsigned char out[512];
		mbedtls_pk_context *pk = batch_key_pk(priv);

		assert_int_equal(mbedtls_pk_write_pubkey_pem(pk, out, sizeof(out)), 0);
		f = fopen(pubpath, "w");
		assert_non_null(f);
		fputs((const char *)out, f);
		fclose(f);
		assert_int_equal(batch_key_load(&tmp, pubpath), 0);
		pub = tmp;
	}
	assert_false(batch_key_has_private(pub));
	assert_memory_equal(batch_key_id(pub), batch_key_id(k->soc), BATCH_KEY_ID_SIZE);
	{
		struct batch_hdr h;

		hdr_init(&h, 1, 3);
		assert_int_equal(batch_seal(&b, &h, records3, strlen(records3), k->dev, pub, NULL), 0);
		assert_int_equal(batch_open(b.data, b.len, k->dev, pub, 0, NULL, &body), -EINVAL);
		assert_int_equal(batch_open(b.data, b.len, k->dev, priv, 0, NULL, &body), 0);
		assert_int_equal(batch_seal(&b, &h, records3, strlen(records3), pub, k->soc, NULL),
				 -EINVAL);
	}

	/* Not keys. */
	batch_key_destroy(pub);
	assert_int_equal(batch_key_load(&pub, "/nonexistent/key.pem"), -ENOENT);
	assert_null(pub);
	f = fopen(path, "w");
	fputs("-----BEGIN EC PRIVATE KEY-----\nnot base64\n-----END EC PRIVATE KEY-----\n", f);
	fclose(f);
	assert_int_equal(batch_key_load(&pub, path), -EINVAL);
	assert_int_equal(batch_key_parse(&pub, (const uint8_t *)"junk", 4), -EINVAL);
	{
		uint8_t zero[32] = { 0 }, big[32];

		memset(big, 0xff, sizeof(big));
		assert_int_equal(batch_key_from_scalar(&pub, zero), -EINVAL);
		assert_int_equal(batch_key_from_scalar(&pub, big), -EINVAL);
	}
	unlink(path);
	unlink(pubpath);
	rmdir(dir);
	batch_key_destroy(priv);
	batch_key_destroy(NULL);
	buf_free(&pem);
	buf_free(&b);
	buf_free(&body);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* docs/protocol.md, "Test vector": fixed keys, nonce and records seal to
 * one exact batch. */
static void test_vector(void **state)
{
	struct keys *k = *state;
	struct buf b = BUF_INIT, b2 = BUF_INIT, body = BUF_INIT;
	struct batch_seal_opts o = { 0 };
	uint8_t hash[BATCH_HASH_SIZE];
	char hx[2 * BATCH_HASH_SIZE + 1];

	o.test_eph_scalar = eph_d;
	o.test_nonce = nonce;
	seal3(k, &b, &o);
	seal3(k, &b2, &o);
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(b.data, b2.data, b.len);
	batch_sha256(b.data, b.len, hash);
	hex(hash, sizeof(hash), hx);
	if (getenv("BATCH_VECTOR_DUMP") != NULL) {
		size_t i;

		printf("len %zu sha256 %s\n", b.len, hx);
		for (i = 0; i < b.len; i++)
			printf("%02x%s", b.data[i], i % 32 == 31 ? "\n" : "");
		printf("\n");
		hex(batch_key_id(k->soc), 32, hx);
		printf("soc key id %s\n", hx);
		assert_int_equal(batch_hash(b.data, b.len, hash), 0);
		hex(hash, sizeof(hash), hx);
		printf("chain hash %s\n", hx);
		batch_sha256(b.data, b.len, hash);
		hex(hash, sizeof(hash), hx);
	}
	assert_string_equal(hx, vector_hash);
	assert_int_equal(batch_hash(b.data, b.len, hash), 0);
	hex(hash, sizeof(hash), hx);
	assert_string_equal(hx, vector_chain_hash);
	assert_int_equal(batch_open(b.data, b.len, k->dev, k->soc, 0, NULL, &body), 0);
	assert_memory_equal(body.data, records3, body.len);
	buf_free(&b);
	buf_free(&b2);
	buf_free(&body);
}

static void test_strerror(void **state)
{
	int c, d;

	(void)state;
	for (c = BATCH_E_TRUNCATED; c >= BATCH_E_NDJSON; c--) {
		assert_string_not_equal(batch_strerror(c), "unknown error");
		for (d = c - 1; d >= BATCH_E_NDJSON; d--)
			assert_string_not_equal(batch_strerror(c), batch_strerror(d));
	}
	assert_string_equal(batch_strerror(-ENOMEM), strerror(ENOMEM));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_seal_rejects_bad_input),
		cmocka_unit_test(test_tamper_every_byte),
		cmocka_unit_test(test_truncated_and_extended),
		cmocka_unit_test(test_wrong_keys),
		cmocka_unit_test(test_decrypt_fails_under_valid_signature),
		cmocka_unit_test(test_decompression_bounds),
		cmocka_unit_test(test_hash_chain),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
