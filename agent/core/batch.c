/* batch: sealing and opening ward's batches. See batch.h and
 * docs/protocol.md for the format. */
#include "batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/gcm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <zstd.h>

#include "mbedtls_compat.h"

#if !defined(MBEDTLS_ECDSA_DETERMINISTIC)
#error "ward's batch signatures are RFC 6979 deterministic: mbedtls needs MBEDTLS_ECDSA_DETERMINISTIC"
#endif

/* Header layout (docs/protocol.md, "Header"). */
enum {
	OFF_MAGIC = 0, OFF_VERSION = 8, OFF_HDR_SIZE = 10, OFF_CODEC = 12,
	OFF_WRAP = 13, OFF_RSV1 = 14, OFF_DEVICE = 16, OFF_LANE = 48,
	OFF_FIRST = 80, OFF_LAST = 88, OFF_RECORDS = 96, OFF_BODY_LEN = 100,
	OFF_CREATED = 104, OFF_CT_LEN = 112, OFF_RSV2 = 116, OFF_KEY_ID = 120,
	OFF_PREV = 152, OFF_EPH = 184, OFF_NONCE = 249, OFF_TAG = 261,
};
_Static_assert(OFF_TAG == BATCH_AAD_SIZE, "tag follows the AAD");
_Static_assert(OFF_TAG + BATCH_TAG_SIZE == BATCH_HDR_SIZE, "header size");

/* HKDF info = this label || the 261 AAD bytes; salt is empty. */
static const char hkdf_label[] = "ward batch v1 body key";

struct batch_key {
	mbedtls_pk_context pk;
	bool has_private;
	uint8_t pub[BATCH_PUB_SIZE];
	uint8_t id[BATCH_KEY_ID_SIZE];
};

struct rng {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

/* ---- small helpers --------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}
static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p) { return get16(p) | ((uint32_t)get16(p + 2) << 16); }
static uint64_t get64(const uint8_t *p) { return get32(p) | ((uint64_t)get32(p + 4) << 32); }

static int sha256(const uint8_t *in, size_t len, uint8_t out[32])
{
	return mbcompat_sha256(in, len, out, 0);
}

void batch_sha256(const uint8_t *in, size_t len, uint8_t out[BATCH_HASH_SIZE])
{
	if (sha256(in, len, out) != 0)
		memset(out, 0, BATCH_HASH_SIZE);  /* SHA-256 in software cannot fail */
}

static int rng_init(struct rng *r)
{
	static const char pers[] = "ward-batch";

	mbedtls_entropy_init(&r->entropy);
	mbedtls_ctr_drbg_init(&r->drbg);
	/* pk may route through PSA in 3.x; initialising twice is a no-op. */
	if (mbcompat_psa_init() < 0)
		return -EIO;
	if (mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
				  (const unsigned char *)pers, sizeof(pers) - 1) != 0)
		return -EIO;
	return 0;
}

static void rng_free(struct rng *r)
{
	mbedtls_ctr_drbg_free(&r->drbg);
	mbedtls_entropy_free(&r->entropy);
}

static mbedtls_ecp_keypair *key_ec(const struct batch_key *k)
{
	return mbedtls_pk_ec(k->pk);
}

/* A device id: 1..32 of [A-Za-z0-9._-]; a lane: 1..32 of [a-z0-9_-]. */
static bool name_ok(const char *s, size_t len, bool lane)
{
	size_t i;

	if (len == 0 || len > BATCH_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '-';

		if (!lane)
			ok = ok || (c >= 'A' && c <= 'Z') || c == '.';
		if (!ok)
			return false;
	}
	return true;
}

/* Decodes a NUL-padded name field; false when empty, a bad byte, or a
 * non-NUL byte after the first NUL. */
static bool name_decode(const uint8_t *f, char *dst, bool lane)
{
	size_t len = 0, i;

	while (len < BATCH_NAME_MAX && f[len] != 0)
		len++;
	for (i = len; i < BATCH_NAME_MAX; i++)
		if (f[i] != 0)
			return false;
	memcpy(dst, f, len);
	dst[len] = '\0';
	return name_ok(dst, len, lane);
}

static size_t count_lines(const uint8_t *p, size_t len)
{
	size_t n = 0;
	const uint8_t *end = p + len, *q;

	while (p < end && (q = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p = q + 1;
	}
	return n;
}

/* ---- keys ------------------------------------------------------------------ */

/* Checks the key is P-256 and fills its public point encoding and id. */
static int key_finish(struct batch_key *k)
{
	mbedtls_ecp_keypair *ec;
	size_t olen = 0;

	if (mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_ECKEY)
		return -EINVAL;
	ec = key_ec(k);
	if (ec->MBEDTLS_PRIVATE(grp).id != MBEDTLS_ECP_DP_SECP256R1)
		return -EINVAL;
	if (mbedtls_ecp_point_write_binary(&ec->MBEDTLS_PRIVATE(grp), &ec->MBEDTLS_PRIVATE(Q),
					   MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, k->pub,
					   sizeof(k->pub)) != 0 || olen != BATCH_PUB_SIZE)
		return -EINVAL;
	k->has_private = mbedtls_mpi_cmp_int(&ec->MBEDTLS_PRIVATE(d), 0) != 0;
	if (sha256(k->pub, sizeof(k->pub), k->id) != 0)
		return -EIO;
	return 0;
}

static struct batch_key *key_alloc(void)
{
	struct batch_key *k = calloc(1, sizeof(*k));

	if (k != NULL)
		mbedtls_pk_init(&k->pk);
	return k;
}

void batch_key_destroy(struct batch_key *k)
{
	if (k == NULL)
		return;
	mbedtls_pk_free(&k->pk);   /* zeroizes the scalar */
	free(k);
}

int batch_key_parse(struct batch_key **out, const uint8_t *data, size_t len)
{
	struct batch_key *k = NULL;
	struct rng r;
	int rc;

	*out = NULL;
	rc = rng_init(&r);
	if (rc < 0)
		goto out;
	k = key_alloc();
	if (k == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = mbcompat_pk_parse_key(&k->pk, data, len, mbedtls_ctr_drbg_random, &r.drbg);
	if (rc != 0) {
		mbedtls_pk_free(&k->pk);
		mbedtls_pk_init(&k->pk);
		rc = mbedtls_pk_parse_public_key(&k->pk, data, len);
	}
	if (rc != 0) {
		rc = -EINVAL;
		goto out;
	}
	rc = key_finish(k);
out:
	rng_free(&r);
	if (rc < 0)
		batch_key_destroy(k);
	else
		*out = k;
	return rc;
}

int batch_key_load(struct batch_key **out, const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0;
	long sz;
	FILE *f;
	int rc = 0;

	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL)
		return -errno;
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		rc = -EIO;
		goto out;
	}
	if (sz > 64 * 1024) {     /* a P-256 key is a few hundred bytes */
		rc = -EINVAL;
		goto out;
	}
	data = malloc((size_t)sz + 1);
	if (data == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	len = fread(data, 1, (size_t)sz, f);
	if (len != (size_t)sz) {
		rc = -EIO;
		goto out;
	}
	/* PEM is parsed only with its NUL counted in the length. */
	data[len] = '\0';
	if (strstr((const char *)data, "-----BEGIN") != NULL)
		len++;
	rc = batch_key_parse(out, data, len);
out:
	if (data != NULL) {
		mbedtls_platform_zeroize(data, (size_t)sz + 1);
		free(data);
	}
	fclose(f);
	return rc;
}

/* Sets up k as a P-256 key pair: with scalar d when given, else random. */
static int key_make(struct batch_key **out, const uint8_t *d)
{
	struct batch_key *k = NULL;
	mbedtls_ecp_keypair *ec;
	struct rng r;
	int rc;

	*out = NULL;
	rc = rng_init(&r);
	if (rc < 0)
		goto out;
	k = key_alloc();
	if (k == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	ec = key_ec(k);
	if (d == NULL) {
		rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, ec, mbedtls_ctr_drbg_random,
					 &r.drbg) != 0 ? -EIO : 0;
	} else if (mbedtls_ecp_group_load(&ec->MBEDTLS_PRIVATE(grp), MBEDTLS_ECP_DP_SECP256R1) != 0 ||
		   mbedtls_mpi_read_binary(&ec->MBEDTLS_PRIVATE(d), d, 32) != 0 ||
		   mbedtls_ecp_check_privkey(&ec->MBEDTLS_PRIVATE(grp), &ec->MBEDTLS_PRIVATE(d)) != 0) {
		rc = -EINVAL;
	} else {
		rc = mbedtls_ecp_mul(&ec->MBEDTLS_PRIVATE(grp), &ec->MBEDTLS_PRIVATE(Q),
				     &ec->MBEDTLS_PRIVATE(d), &ec->MBEDTLS_PRIVATE(grp).G,
				     mbedtls_ctr_drbg_random, &r.drbg) != 0 ? -EIO : 0;
	}
	if (rc == 0)
		rc = key_finish(k);
out:
	rng_free(&r);
	if (rc < 0)
		batch_key_destroy(k);
	else
		*out = k;
	return rc;
}

int batch_key_generate(struct batch_key **out)
{
	return key_make(out, NULL);
}

int batch_key_from_scalar(struct batch_key **out, const uint8_t d[32])
{
	return key_make(out, d);
}

int batch_key_write_pem(const struct batch_key *k, struct buf *out)
{
	unsigned char pem[1024];
	int rc;

	/* mbedtls_pk_write_* take a non-const context in 2.28. */
	if (k->has_private)
		rc = mbedtls_pk_write_key_pem((mbedtls_pk_context *)&k->pk, pem, sizeof(pem));
	else
		rc = mbedtls_pk_write_pubkey_pem((mbedtls_pk_context *)&k->pk, pem, sizeof(pem));
	if (rc != 0) {
		rc = -EINVAL;
		goto out;
	}
	rc = buf_append(out, pem, strlen((const char *)pem));
out:
	mbedtls_platform_zeroize(pem, sizeof(pem));
	return rc;
}

bool batch_key_has_private(const struct batch_key *k)
{
	return k->has_private;
}

const uint8_t *batch_key_id(const struct batch_key *k)
{
	return k->id;
}

struct mbedtls_pk_context *batch_key_pk(struct batch_key *k)
{
	return &k->pk;
}

/* ---- the body key ------------------------------------------------------------ */

/* key = HKDF-SHA256(salt = "", IKM = ECDH x-coordinate, info = label ||
 * aad). `d` is our scalar, `Q` the peer's point, both on `grp`. */
static int body_key(const mbedtls_ecp_group *grp, const mbedtls_mpi *d,
		    const mbedtls_ecp_point *Q, const uint8_t aad[BATCH_AAD_SIZE],
		    struct rng *r, uint8_t key[32])
{
	uint8_t z[32], info[sizeof(hkdf_label) - 1 + BATCH_AAD_SIZE];
	mbedtls_ecp_group g;
	mbedtls_mpi zm;
	int rc = -EIO;

	mbedtls_mpi_init(&zm);
	mbedtls_ecp_group_init(&g);
	/* compute_shared takes a non-const group in 2.28. */
	if (mbedtls_ecp_group_copy(&g, grp) != 0 ||
	    mbedtls_ecdh_compute_shared(&g, &zm, Q, d, mbedtls_ctr_drbg_random, &r->drbg) != 0 ||
	    mbedtls_mpi_write_binary(&zm, z, sizeof(z)) != 0)
		goto out;
	memcpy(info, hkdf_label, sizeof(hkdf_label) - 1);
	memcpy(info + sizeof(hkdf_label) - 1, aad, BATCH_AAD_SIZE);
	if (mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), NULL, 0, z, sizeof(z),
			 info, sizeof(info), key, 32) != 0)
		goto out;
	rc = 0;
out:
	mbedtls_platform_zeroize(z, sizeof(z));
	mbedtls_mpi_free(&zm);
	mbedtls_ecp_group_free(&g);
	return rc;
}

/* ---- seal -------------------------------------------------------------------- */

static int hdr_check_seal(const struct batch_hdr *h, const uint8_t *body, size_t body_len)
{
	if (!name_ok(h->device, strnlen(h->device, sizeof(h->device)), false) ||
	    !name_ok(h->lane, strnlen(h->lane, sizeof(h->lane)), true))
		return -EINVAL;
	if (h->first_seq == 0 || h->last_seq < h->first_seq || h->records == 0 ||
	    h->records - 1 > h->last_seq - h->first_seq)
		return -EINVAL;
	if (body_len > BATCH_BODY_MAX)
		return -EMSGSIZE;
	if (body_len < 2ull * h->records || body[body_len - 1] != '\n' ||
	    count_lines(body, body_len) != h->records)
		return -EINVAL;
	return 0;
}

/* Writes the header fields known before encryption (all but the tag). */
static void hdr_encode(uint8_t *p, const struct batch_hdr *h)
{
	memset(p, 0, BATCH_HDR_SIZE);
	memcpy(p + OFF_MAGIC, BATCH_MAGIC, 8);
	put16(p + OFF_VERSION, BATCH_VERSION);
	put16(p + OFF_HDR_SIZE, BATCH_HDR_SIZE);
	p[OFF_CODEC] = BATCH_CODEC_ZSTD;
	p[OFF_WRAP] = BATCH_WRAP_P256_HKDF_GCM;
	memcpy(p + OFF_DEVICE, h->device, strnlen(h->device, BATCH_NAME_MAX));
	memcpy(p + OFF_LANE, h->lane, strnlen(h->lane, BATCH_NAME_MAX));
	put64(p + OFF_FIRST, h->first_seq);
	put64(p + OFF_LAST, h->last_seq);
	put32(p + OFF_RECORDS, h->records);
	put32(p + OFF_BODY_LEN, h->body_len);
	put64(p + OFF_CREATED, (uint64_t)h->created_us);
	put32(p + OFF_CT_LEN, h->ct_len);
	memcpy(p + OFF_KEY_ID, h->key_id, BATCH_KEY_ID_SIZE);
	memcpy(p + OFF_PREV, h->prev_hash, BATCH_HASH_SIZE);
	memcpy(p + OFF_EPH, h->eph_pub, BATCH_PUB_SIZE);
	memcpy(p + OFF_NONCE, h->nonce, BATCH_NONCE_SIZE);
}

/* A fresh (or, for test vectors, given) ephemeral key pair on `grp`. */
static int eph_make(mbedtls_ecp_group *grp, mbedtls_mpi *d, mbedtls_ecp_point *Q,
		    const uint8_t *scalar, struct rng *r, uint8_t pub[BATCH_PUB_SIZE])
{
	size_t olen = 0;

	if (mbedtls_ecp_group_load(grp, MBEDTLS_ECP_DP_SECP256R1) != 0)
		return -EIO;
	if (scalar == NULL) {
		if (mbedtls_ecp_gen_keypair(grp, d, Q, mbedtls_ctr_drbg_random, &r->drbg) != 0)
			return -EIO;
	} else {
		if (mbedtls_mpi_read_binary(d, scalar, 32) != 0 ||
		    mbedtls_ecp_check_privkey(grp, d) != 0)
			return -EINVAL;
		if (mbedtls_ecp_mul(grp, Q, d, &grp->G, mbedtls_ctr_drbg_random, &r->drbg) != 0)
			return -EIO;
	}
	if (mbedtls_ecp_point_write_binary(grp, Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
					   pub, BATCH_PUB_SIZE) != 0 || olen != BATCH_PUB_SIZE)
		return -EIO;
	return 0;
}

/* Signs SHA-256(msg) with the device key (RFC 6979 deterministic ECDSA,
 * DER) into sig. */
static int sign(const struct batch_key *dev, const uint8_t *msg, size_t len,
		struct rng *r, uint8_t *sig, size_t *sig_len)
{
	uint8_t hash[32];
	size_t cap = MBEDTLS_PK_SIGNATURE_MAX_SIZE;

	if (sha256(msg, len, hash) != 0)
		return -EIO;
	if (mbcompat_pk_sign((mbedtls_pk_context *)&dev->pk, MBEDTLS_MD_SHA256, hash, sizeof(hash),
			     sig, cap, sig_len, mbedtls_ctr_drbg_random, &r->drbg) != 0)
		return -EIO;
	if (*sig_len < BATCH_SIG_MIN || *sig_len > BATCH_SIG_MAX)
		return -EIO;
	return 0;
}

/* Picks the ephemeral key and nonce into *h, writes the header to p and
 * the ciphertext of the zlen bytes at z after it, and the tag into the
 * header (docs/protocol.md, "Crypto"). p holds BATCH_HDR_SIZE + zlen; z
 * may be p + BATCH_HDR_SIZE itself (encrypted in place). */
static int seal_encrypt(struct batch_hdr *h, uint8_t *p, const uint8_t *z, size_t zlen,
			const struct batch_key *soc, const struct batch_seal_opts *o,
			struct rng *r)
{
	mbedtls_ecp_group grp;
	mbedtls_mpi d;
	mbedtls_ecp_point Q;
	mbedtls_gcm_context gcm;
	uint8_t key[32];
	int rc;

	mbedtls_ecp_group_init(&grp);
	mbedtls_mpi_init(&d);
	mbedtls_ecp_point_init(&Q);
	mbedtls_gcm_init(&gcm);
	rc = eph_make(&grp, &d, &Q, o->test_eph_scalar, r, h->eph_pub);
	if (rc < 0)
		goto out;
	if (o->test_nonce != NULL)
		memcpy(h->nonce, o->test_nonce, BATCH_NONCE_SIZE);
	else if (mbedtls_ctr_drbg_random(&r->drbg, h->nonce, BATCH_NONCE_SIZE) != 0) {
		rc = -EIO;
		goto out;
	}
	hdr_encode(p, h);
	rc = body_key(&grp, &d, &key_ec(soc)->MBEDTLS_PRIVATE(Q), p, r, key);
	if (rc < 0)
		goto out;
	if (mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 256) != 0 ||
	    mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, zlen, h->nonce, BATCH_NONCE_SIZE,
				      p, BATCH_AAD_SIZE, z, p + BATCH_HDR_SIZE,
				      BATCH_TAG_SIZE, p + OFF_TAG) != 0)
		rc = -EIO;
out:
	mbedtls_platform_zeroize(key, sizeof(key));
	mbedtls_gcm_free(&gcm);
	mbedtls_ecp_point_free(&Q);
	mbedtls_mpi_free(&d);   /* zeroizes the ephemeral scalar */
	mbedtls_ecp_group_free(&grp);
	return rc;
}

/* One zstd frame (RFC 8878) of the body at `level`, with long-distance
 * matching on. A syslog batch repeats whole lines' worth of structure
 * (the same host, app and key=value layout) megabytes apart, further than
 * level 3's 2 MiB window with its short hash chains finds them; with
 * long-distance matching the window spans the whole batch (up to 2^27
 * bytes, which is also the decoder's windowLogMax in batch_open, so a
 * larger batch still decodes) and a 4 MiB batch of the bench's syslog
 * records shrinks by about a sixth (27.1 to 22.4 bytes a record) for
 * about a quarter more compression time. 0 with the frame's length in
 * *zlen, -ENOMEM, or -EIO when zstd fails. */
static int compress_body(void *dst, size_t cap, const void *body,
			 size_t body_len, int level, void *reuse, size_t *zlen)
{
	ZSTD_CCtx *cctx = reuse != NULL ? reuse : ZSTD_createCCtx();
	size_t n;

	if (cctx == NULL)
		return -ENOMEM;
	n = ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
	if (!ZSTD_isError(n))
		n = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(n))
		n = ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1);
	if (!ZSTD_isError(n))
		n = ZSTD_compress2(cctx, dst, cap, body, body_len);
	if (reuse == NULL)
		ZSTD_freeCCtx(cctx);
	if (ZSTD_isError(n))
		return -EIO;
	*zlen = n;
	return 0;
}

int batch_compress(struct buf *z, const void *body, size_t body_len, int level,
		   void *zstd_cctx)
{
	size_t cap = ZSTD_compressBound(body_len), zlen;
	int rc;

	level = level == 0 ? BATCH_ZSTD_LEVEL_DEFAULT : level;
	if (level < 1 || level > 19)
		return -EINVAL;
	rc = buf_reserve(z, cap);
	if (rc < 0)
		return rc;
	rc = compress_body(z->data + z->len, cap, body, body_len, level, zstd_cctx, &zlen);
	if (rc == 0)
		z->len += zlen;
	return rc;
}

int batch_seal(struct buf *out, const struct batch_hdr *hin, const void *body,
	       size_t body_len, const struct batch_key *device,
	       const struct batch_key *soc, const struct batch_seal_opts *o)
{
	static const struct batch_seal_opts defaults = { 0, NULL, NULL, 0, NULL, NULL };
	struct batch_hdr h;
	struct rng r;
	uint8_t sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	uint8_t *p;
	size_t zcap, zlen, sig_len = 0, old_len = out->len;
	int level, rc;

	if (o == NULL)
		o = &defaults;
	rc = rng_init(&r);
	if (rc < 0)
		goto out;
	level = o->zstd_level == 0 ? BATCH_ZSTD_LEVEL_DEFAULT : o->zstd_level;
	if (level < 1 || level > 19 || device == NULL || soc == NULL || !device->has_private) {
		rc = -EINVAL;
		goto out;
	}
	rc = hdr_check_seal(hin, body, body_len);
	if (rc < 0)
		goto out;

	/* The body is compressed straight into its place in `out` and
	 * encrypted there (AES-GCM works in place): no copy, no scratch. */
	zcap = o->precompressed != NULL ? o->precompressed->len : ZSTD_compressBound(body_len);
	rc = buf_reserve(out, BATCH_HDR_SIZE + zcap + 2 + BATCH_SIG_MAX);
	if (rc < 0)
		goto out;
	p = out->data + old_len;
	if (o->precompressed != NULL) {
		zlen = o->precompressed->len;
		if (zlen == 0) {
			rc = -EINVAL;
			goto out;
		}
		memcpy(p + BATCH_HDR_SIZE, o->precompressed->data, zlen);
	} else {
		rc = compress_body(p + BATCH_HDR_SIZE, zcap, body, body_len, level, o->zstd_cctx,
				   &zlen);
		if (rc < 0)
			goto out;
	}

	h = *hin;
	h.body_len = o->test_declared_body_len != 0 ? o->test_declared_body_len :
		(uint32_t)body_len;
	h.ct_len = (uint32_t)zlen;
	memcpy(h.key_id, soc->id, BATCH_KEY_ID_SIZE);
	rc = seal_encrypt(&h, p, p + BATCH_HDR_SIZE, zlen, soc, o, &r);
	if (rc < 0)
		goto out;
	rc = sign(device, p, BATCH_HDR_SIZE + zlen, &r, sig, &sig_len);
	if (rc < 0)
		goto out;
	put16(p + BATCH_HDR_SIZE + zlen, (uint16_t)sig_len);
	memcpy(p + BATCH_HDR_SIZE + zlen + 2, sig, sig_len);
	out->len = old_len + BATCH_HDR_SIZE + zlen + 2 + sig_len;
out:
	if (rc < 0)
		out->len = old_len;
	rng_free(&r);
	return rc;
}

/* ---- parse and open ------------------------------------------------------------ */

static int eph_check(const uint8_t pub[BATCH_PUB_SIZE])
{
	mbedtls_ecp_group grp;
	mbedtls_ecp_point Q;
	int rc = BATCH_E_EPH_KEY;

	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&Q);
	if (pub[0] != 0x04 || mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
	    mbedtls_ecp_point_read_binary(&grp, &Q, pub, BATCH_PUB_SIZE) != 0 ||
	    mbedtls_ecp_check_pubkey(&grp, &Q) != 0)
		goto out;
	rc = 0;
out:
	mbedtls_ecp_point_free(&Q);
	mbedtls_ecp_group_free(&grp);
	return rc;
}

static int hdr_decode(const uint8_t *p, size_t len, struct batch_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len < BATCH_HDR_SIZE)
		return BATCH_E_TRUNCATED;
	if (memcmp(p + OFF_MAGIC, BATCH_MAGIC, 8) != 0)
		return BATCH_E_MAGIC;
	h->version = get16(p + OFF_VERSION);
	if (h->version != BATCH_VERSION)
		return BATCH_E_VERSION;
	if (get16(p + OFF_HDR_SIZE) != BATCH_HDR_SIZE)
		return BATCH_E_HDR_SIZE;
	h->codec = p[OFF_CODEC];
	if (h->codec != BATCH_CODEC_ZSTD)
		return BATCH_E_CODEC;
	h->wrap = p[OFF_WRAP];
	if (h->wrap != BATCH_WRAP_P256_HKDF_GCM)
		return BATCH_E_WRAP;
	if (get16(p + OFF_RSV1) != 0 || get32(p + OFF_RSV2) != 0)
		return BATCH_E_RESERVED;
	if (!name_decode(p + OFF_DEVICE, h->device, false))
		return BATCH_E_DEVICE;
	if (!name_decode(p + OFF_LANE, h->lane, true))
		return BATCH_E_LANE;
	h->first_seq = get64(p + OFF_FIRST);
	h->last_seq = get64(p + OFF_LAST);
	if (h->first_seq == 0 || h->last_seq < h->first_seq)
		return BATCH_E_SEQ;
	h->records = get32(p + OFF_RECORDS);
	if (h->records == 0 || h->records - 1 > h->last_seq - h->first_seq)
		return BATCH_E_RECORDS;
	h->body_len = get32(p + OFF_BODY_LEN);
	/* Each record is at least "x\n". */
	if (h->body_len > BATCH_BODY_MAX || h->body_len < 2ull * h->records)
		return BATCH_E_BODY_SIZE;
	h->created_us = (int64_t)get64(p + OFF_CREATED);
	h->ct_len = get32(p + OFF_CT_LEN);
	if (h->ct_len == 0 || h->ct_len > ZSTD_COMPRESSBOUND(h->body_len))
		return BATCH_E_CT_SIZE;
	memcpy(h->key_id, p + OFF_KEY_ID, BATCH_KEY_ID_SIZE);
	memcpy(h->prev_hash, p + OFF_PREV, BATCH_HASH_SIZE);
	memcpy(h->eph_pub, p + OFF_EPH, BATCH_PUB_SIZE);
	memcpy(h->nonce, p + OFF_NONCE, BATCH_NONCE_SIZE);
	memcpy(h->tag, p + OFF_TAG, BATCH_TAG_SIZE);
	return eph_check(h->eph_pub);
}

int batch_parse_header(const uint8_t *in, size_t len, struct batch_hdr *h)
{
	int rc = hdr_decode(in, len, h);

	if (rc < 0)
		memset(h, 0, sizeof(*h));
	return rc;
}

int batch_hash(const uint8_t *in, size_t len, uint8_t out[BATCH_HASH_SIZE])
{
	struct batch_hdr h;
	int rc = hdr_decode(in, len, &h);

	if (rc == 0 && len - BATCH_HDR_SIZE < h.ct_len)
		rc = BATCH_E_TRUNCATED;
	if (rc < 0) {
		memset(out, 0, BATCH_HASH_SIZE);
		return rc;
	}
	batch_sha256(in, (size_t)BATCH_HDR_SIZE + h.ct_len, out);
	return 0;
}

/* Checks the signature framing and the device signature. */
static int sig_verify(const uint8_t *in, size_t len, const struct batch_hdr *h,
		      const struct batch_key *device)
{
	size_t signed_len = (size_t)BATCH_HDR_SIZE + h->ct_len;
	size_t sig_len;
	uint8_t hash[32];

	if (len < signed_len + 2)
		return BATCH_E_TRUNCATED;
	sig_len = get16(in + signed_len);
	if (sig_len < BATCH_SIG_MIN || sig_len > BATCH_SIG_MAX)
		return BATCH_E_SIG_SIZE;
	if (len != signed_len + 2 + sig_len)
		return len < signed_len + 2 + sig_len ? BATCH_E_TRUNCATED : BATCH_E_LENGTH;
	if (sha256(in, signed_len, hash) != 0)
		return -EIO;
	if (mbedtls_pk_verify((mbedtls_pk_context *)&device->pk, MBEDTLS_MD_SHA256, hash,
			      sizeof(hash), in + signed_len + 2, sig_len) != 0)
		return BATCH_E_SIGNATURE;
	return 0;
}

/* Decrypts the ciphertext into `z` (h->ct_len bytes). */
static int body_decrypt(const uint8_t *in, const struct batch_hdr *h,
			const struct batch_key *soc, uint8_t *z)
{
	struct rng r;           /* ECDH blinding; seeded only for batches that
	                         * passed the signature, so garbage costs none */
	mbedtls_ecp_group grp;
	mbedtls_ecp_point E;
	mbedtls_gcm_context gcm;
	const mbedtls_ecp_keypair *ec = key_ec(soc);
	uint8_t key[32];
	int rc = -EIO;

	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&E);
	mbedtls_gcm_init(&gcm);
	rc = rng_init(&r);
	if (rc < 0)
		goto out;
	rc = -EIO;
	if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) != 0 ||
	    mbedtls_ecp_point_read_binary(&grp, &E, h->eph_pub, BATCH_PUB_SIZE) != 0)
		goto out;
	rc = body_key(&grp, &ec->MBEDTLS_PRIVATE(d), &E, in, &r, key);
	if (rc < 0)
		goto out;
	if (mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 256) != 0) {
		rc = -EIO;
		goto out;
	}
	rc = mbedtls_gcm_auth_decrypt(&gcm, h->ct_len, h->nonce, BATCH_NONCE_SIZE, in,
				      BATCH_AAD_SIZE, h->tag, BATCH_TAG_SIZE,
				      in + BATCH_HDR_SIZE, z) != 0 ? BATCH_E_DECRYPT : 0;
out:
	mbedtls_platform_zeroize(key, sizeof(key));
	mbedtls_gcm_free(&gcm);
	mbedtls_ecp_point_free(&E);
	mbedtls_ecp_group_free(&grp);
	rng_free(&r);
	return rc;
}

/* Decompresses into dst, which holds exactly h->body_len bytes: a frame
 * that would grow beyond it fails inside zstd before writing past it, so
 * a decompression bomb costs at most body_len bytes. */
static int body_decompress(const uint8_t *z, const struct batch_hdr *h, uint8_t *dst)
{
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	size_t n;
	int rc;

	if (dctx == NULL)
		return -ENOMEM;
	/* Bound the window too (128 MiB is zstd's default; ours are smaller). */
	ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 27);
	n = ZSTD_decompressDCtx(dctx, dst, h->body_len, z, h->ct_len);
	if (ZSTD_isError(n))
		rc = BATCH_E_DECOMPRESS;
	else if (n != h->body_len)
		rc = BATCH_E_BODY_LEN;
	else if (dst[n - 1] != '\n' || count_lines(dst, n) != h->records)
		rc = BATCH_E_NDJSON;
	else
		rc = 0;
	ZSTD_freeDCtx(dctx);
	return rc;
}

int batch_open(const uint8_t *in, size_t len, const struct batch_key *device,
	       const struct batch_key *soc, size_t max_body,
	       struct batch_hdr *hout, struct buf *body)
{
	struct batch_hdr h;
	uint8_t *z = NULL;
	size_t old_len = body->len;
	int rc;

	memset(&h, 0, sizeof(h));
	if (device == NULL || soc == NULL || !soc->has_private) {
		rc = -EINVAL;
		goto out;
	}
	if (max_body == 0 || max_body > BATCH_BODY_MAX)
		max_body = BATCH_BODY_MAX;
	rc = hdr_decode(in, len, &h);
	if (rc < 0)
		goto out;
	rc = sig_verify(in, len, &h, device);
	if (rc < 0)
		goto out;
	if (memcmp(h.key_id, soc->id, BATCH_KEY_ID_SIZE) != 0) {
		rc = BATCH_E_KEY_ID;
		goto out;
	}
	if (h.body_len > max_body) {
		rc = BATCH_E_TOO_BIG;
		goto out;
	}
	z = malloc(h.ct_len);
	if (z == NULL || buf_reserve(body, h.body_len) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	rc = body_decrypt(in, &h, soc, z);
	if (rc < 0)
		goto out;
	rc = body_decompress(z, &h, body->data + old_len);
	if (rc < 0)
		goto out;
	body->len = old_len + h.body_len;
out:
	if (rc < 0) {
		body->len = old_len;
		memset(&h, 0, sizeof(h));
	}
	if (hout != NULL)
		*hout = h;
	free(z);
	return rc;
}

const char *batch_strerror(int rc)
{
	switch (rc) {
	case 0: return "ok";
	case BATCH_E_TRUNCATED: return "batch truncated";
	case BATCH_E_MAGIC: return "not a ward batch (bad magic)";
	case BATCH_E_VERSION: return "unsupported batch format version";
	case BATCH_E_HDR_SIZE: return "bad header size";
	case BATCH_E_CODEC: return "unknown codec";
	case BATCH_E_WRAP: return "unknown key wrapping scheme";
	case BATCH_E_RESERVED: return "reserved header field not zero";
	case BATCH_E_DEVICE: return "bad device id";
	case BATCH_E_LANE: return "bad lane name";
	case BATCH_E_SEQ: return "bad sequence range";
	case BATCH_E_RECORDS: return "record count does not fit the sequence range";
	case BATCH_E_BODY_SIZE: return "bad body length";
	case BATCH_E_CT_SIZE: return "bad ciphertext length";
	case BATCH_E_EPH_KEY: return "ephemeral key is not a P-256 point";
	case BATCH_E_LENGTH: return "trailing bytes after the signature";
	case BATCH_E_SIG_SIZE: return "bad signature length";
	case BATCH_E_SIGNATURE: return "device signature does not verify";
	case BATCH_E_KEY_ID: return "sealed to another SOC key";
	case BATCH_E_TOO_BIG: return "body larger than allowed";
	case BATCH_E_DECRYPT: return "decryption failed (GCM tag)";
	case BATCH_E_DECOMPRESS: return "decompression failed or body larger than declared";
	case BATCH_E_BODY_LEN: return "body shorter than declared";
	case BATCH_E_NDJSON: return "NDJSON lines do not match the record count";
	default: return rc < 0 && rc > -4096 ? strerror(-rc) : "unknown error";
	}
}
