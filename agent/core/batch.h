/* batch: the sealed batch, ward's wire format to the SOC (v1).
 *
 * A sealed batch carries one lane's records, seq first_seq..last_seq, from
 * one device to the SOC (DESIGN.md, "Device <-> SOC contract"). It is what
 * the sealer writes to the outbox, what the uplink POSTs to /v1/batches
 * and what ward-soc opens. docs/protocol.md is the byte-by-byte spec, with
 * test vectors; in short (all integers little endian):
 *
 *   header   277 bytes: magic "WARDBAT1", version, sizes, codec, device id,
 *            lane, seqs, record count, body length, created time,
 *            ciphertext length, key id, previous batch hash, ephemeral
 *            P-256 public key, GCM nonce, GCM tag (last 16 bytes)
 *   ct       ciphertext: AES-256-GCM(zstd(NDJSON body)), the first 261
 *            header bytes (all but the tag) as additional data
 *   sig_len  2 bytes, then an ECDSA P-256 signature (DER, RFC 3279
 *            Ecdsa-Sig-Value) by the device key over SHA-256(header || ct)
 *
 * The header's prev hash is SHA-256(header || ct) of the lane's previous
 * batch (batch_hash()), so a deleted batch breaks the chain visibly.
 *
 * The body key is HKDF-SHA256 (RFC 5869) of the ECDH (SEC 1 section 3.3.1)
 * secret between a fresh ephemeral P-256 key and the SOC's public key, the
 * header bound into HKDF's info: a sealed batch can be opened only with
 * the SOC's private key, not even by the device that sealed it.
 *
 * Threading: functions keep no global state, but a key must not be used
 * by two threads at once (mbedtls caches precomputed points in the key's
 * group on first use).
 */
#ifndef WARD_BATCH_H
#define WARD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct mbedtls_pk_context;

#define BATCH_MAGIC "WARDBAT1"
#define BATCH_VERSION 1
#define BATCH_HDR_SIZE 277          /* fixed header, bytes */
#define BATCH_AAD_SIZE 261          /* header bytes before the tag: GCM AAD */
#define BATCH_HASH_SIZE 32          /* SHA-256 */
#define BATCH_KEY_ID_SIZE 32
#define BATCH_PUB_SIZE 65           /* uncompressed SEC 1 P-256 point */
#define BATCH_NONCE_SIZE 12
#define BATCH_TAG_SIZE 16
#define BATCH_SIG_MIN 8             /* DER ECDSA P-256 signature bounds */
#define BATCH_SIG_MAX 72
#define BATCH_NAME_MAX 32           /* device id and lane, bytes */
#define BATCH_BODY_MAX (64u << 20)  /* hard cap on the NDJSON body, bytes */
#define BATCH_CODEC_ZSTD 1
#define BATCH_WRAP_P256_HKDF_GCM 1
#define BATCH_ZSTD_LEVEL_DEFAULT 3

/* Reject codes of batch_parse_header() and batch_open(): each names the
 * first check a batch failed, so ward-soc can log why it was refused and
 * count it. batch_strerror() spells them out. Values lie below -4096, out
 * of the errno range; other failures are -errno (-ENOMEM, -EINVAL). */
enum batch_err {
	BATCH_E_TRUNCATED = -5001, /* shorter than the header or its framing */
	BATCH_E_MAGIC = -5002,     /* not "WARDBAT1" */
	BATCH_E_VERSION = -5003,   /* format version not 1 */
	BATCH_E_HDR_SIZE = -5004,  /* header size field not 277 */
	BATCH_E_CODEC = -5005,     /* codec not zstd */
	BATCH_E_WRAP = -5006,      /* key wrapping scheme unknown */
	BATCH_E_RESERVED = -5007,  /* a reserved field is not zero */
	BATCH_E_DEVICE = -5008,    /* device id empty, bad byte or padding */
	BATCH_E_LANE = -5009,      /* lane name not [a-z0-9_-]{1,32} */
	BATCH_E_SEQ = -5010,       /* first seq 0, or last < first */
	BATCH_E_RECORDS = -5011,   /* count 0 or above last - first + 1 */
	BATCH_E_BODY_SIZE = -5012, /* body length 0 or above BATCH_BODY_MAX */
	BATCH_E_CT_SIZE = -5013,   /* ciphertext length 0 or above zstd's bound */
	BATCH_E_EPH_KEY = -5014,   /* ephemeral key not a valid P-256 point */
	BATCH_E_LENGTH = -5015,    /* total length disagrees with the framing */
	BATCH_E_SIG_SIZE = -5016,  /* signature length outside 8..72 */
	BATCH_E_SIGNATURE = -5017, /* device signature does not verify */
	BATCH_E_KEY_ID = -5018,    /* sealed to another SOC key */
	BATCH_E_TOO_BIG = -5019,   /* body length above the caller's bound */
	BATCH_E_DECRYPT = -5020,   /* GCM authentication failed */
	BATCH_E_DECOMPRESS = -5021,/* zstd failed or the body exceeds its length */
	BATCH_E_BODY_LEN = -5022,  /* decompressed length differs from header */
	BATCH_E_NDJSON = -5023,    /* lines do not match the record count */
};

/* The header's fields, decoded. batch_seal() reads device, lane,
 * first_seq, last_seq, records, created_us and prev_hash and computes the
 * rest. */
struct batch_hdr {
	uint16_t version;
	uint8_t codec, wrap;
	char device[BATCH_NAME_MAX + 1];  /* NUL-terminated */
	char lane[BATCH_NAME_MAX + 1];    /* NUL-terminated */
	uint64_t first_seq, last_seq;     /* inclusive; gaps allowed */
	uint32_t records;                 /* NDJSON lines in the body */
	uint32_t body_len;                /* NDJSON bytes, uncompressed */
	int64_t created_us;               /* µs since the epoch */
	uint32_t ct_len;                  /* ciphertext bytes */
	uint8_t key_id[BATCH_KEY_ID_SIZE];     /* SHA-256 of the SOC public key */
	uint8_t prev_hash[BATCH_HASH_SIZE];    /* batch_hash() of the lane's
	                                        * previous batch; zeros for the
	                                        * first */
	uint8_t eph_pub[BATCH_PUB_SIZE];
	uint8_t nonce[BATCH_NONCE_SIZE];
	uint8_t tag[BATCH_TAG_SIZE];
};

/* ---- keys ---------------------------------------------------------------- */

/* A P-256 key pair, or a public key alone. */
struct batch_key;

/* Loads a P-256 key from a PEM or DER file: a private key (SEC 1 or
 * PKCS#8, unencrypted) or, failing that, a public key (SubjectPublicKeyInfo).
 * `*out` is set on success and NULL on failure; free with
 * batch_key_destroy(). Errors: -ENOENT/-EACCES (cannot read), -EINVAL (not
 * a key, or not a P-256 EC key), -ENOMEM. */
int batch_key_load(struct batch_key **out, const char *path);

/* As batch_key_load, from `len` bytes in memory (PEM must include its
 * terminating NUL in `len`, as mbedtls requires). */
int batch_key_parse(struct batch_key **out, const uint8_t *data, size_t len);

/* A fresh random key pair (tests, and the enrollment helper). -ENOMEM, or
 * -EIO when the RNG cannot be seeded. */
int batch_key_generate(struct batch_key **out);

/* The key pair whose private scalar is the 32-byte big-endian `d` (fixed
 * keys for test vectors and fuzz harnesses only). -EINVAL when d is not in
 * [1, n-1]. */
int batch_key_from_scalar(struct batch_key **out, const uint8_t d[32]);

/* Writes the key as PEM (private when it has one, else public) into `out`
 * (appended, NUL not included). 0, -ENOMEM or -EINVAL. */
int batch_key_write_pem(const struct batch_key *k, struct buf *out);

bool batch_key_has_private(const struct batch_key *k);
/* SHA-256 of the uncompressed public point: the batch header's key id. */
const uint8_t *batch_key_id(const struct batch_key *k);
/* The underlying mbedtls key (an MBEDTLS_PK_ECKEY on secp256r1), owned by
 * `k`: for callers that sign or verify other things with the same key. */
struct mbedtls_pk_context *batch_key_pk(struct batch_key *k);
/* NULL-safe; wipes the private scalar. */
void batch_key_destroy(struct batch_key *k);

/* ---- sealing and opening ------------------------------------------------- */

struct batch_seal_opts {
	int zstd_level;               /* 1..19; 0 = BATCH_ZSTD_LEVEL_DEFAULT */
	/* For test vectors ONLY (docs/protocol.md); NULL in production, where
	 * both come from a CTR_DRBG seeded by the system's entropy. Reusing an
	 * ephemeral key with a different body breaks confidentiality. */
	const uint8_t *test_eph_scalar;  /* 32 bytes, big endian */
	const uint8_t *test_nonce;       /* BATCH_NONCE_SIZE bytes */
	/* Tests ONLY: declare this body length in the header instead of the
	 * real one (0 = the real one), to build decompression bombs. */
	uint32_t test_declared_body_len;
	/* A ZSTD_CCtx * to compress with, kept by the caller across batches
	 * (its parameters are reset here each time); NULL: one is made and
	 * freed per call. A long-lived sealer passes one: a fresh context's
	 * tables are megabytes of new pages, and first touches of new pages
	 * are what sealing spent most of its time on (docs/performance.md,
	 * "Uplink"). */
	void *zstd_cctx;
	/* batch_compress() of this very body, done beforehand (by a sealer
	 * that compresses the next batch while it seals this one); NULL:
	 * batch_seal compresses. */
	const struct buf *precompressed;
};

/* Seals `body` (`body_len` bytes of NDJSON: h->records lines, each ending
 * in '\n') into a batch appended to `out`, taking device, lane, first_seq,
 * last_seq, records, created_us and prev_hash from `h`. `device` must hold
 * a private key; `soc` needs only the public one. `o` may be NULL.
 * Cost: one zstd pass, one ECDH, one key generation, one signature (about
 * 3 P-256 scalar multiplications) and one GCM pass.
 * Errors (out unchanged): -EINVAL (a field of h, the body's lines, a key,
 * or a level out of range), -EMSGSIZE (body above BATCH_BODY_MAX), -ENOMEM,
 * -EIO (RNG, compression or a crypto primitive failed). */
int batch_seal(struct buf *out, const struct batch_hdr *h, const void *body,
	       size_t body_len, const struct batch_key *device,
	       const struct batch_key *soc, const struct batch_seal_opts *o);

/* Compresses `body` (`body_len` bytes) exactly as batch_seal does, one
 * zstd frame (RFC 8878) at `level` (0 = BATCH_ZSTD_LEVEL_DEFAULT) with
 * long-distance matching, appended to `z`, with the ZSTD_CCtx *
 * `zstd_cctx` (NULL: one is made for the call). Safe on any thread with a
 * cctx of its own. Returns 0, -EINVAL (level), -ENOMEM or -EIO. */
int batch_compress(struct buf *z, const void *body, size_t body_len, int level,
		   void *zstd_cctx);

/* Parses and checks the header of the batch starting at `in` (`len` bytes
 * available, at least BATCH_HDR_SIZE) into *h without any key: for the
 * uplink (lane, seqs) and ward-soc (which keys to use). Checks magic,
 * version, sizes, codec, reserved fields, names, seq and count coherence
 * and the ephemeral point; `len` may end anywhere after the header. Does
 * not authenticate anything. Returns 0 or a BATCH_E_* code (h is zeroed
 * then). */
int batch_parse_header(const uint8_t *in, size_t len, struct batch_hdr *h);

/* Opens the batch `in` of exactly `len` bytes, strictly and in this order:
 * header (batch_parse_header), framing (ciphertext and signature fill the
 * rest exactly), the device signature with `device` (public key enough),
 * the key id against `soc` (private key required), body length against
 * `max_body` (bytes; 0 = BATCH_BODY_MAX), then decrypts, decompresses into
 * at most the header's body length, and checks the NDJSON line count. On
 * success the body is appended to `body` and *h filled (h may be NULL).
 * Returns 0, a BATCH_E_* code (body unchanged, h zeroed), -EINVAL (bad
 * arguments or keys), -ENOMEM or -EIO. */
int batch_open(const uint8_t *in, size_t len, const struct batch_key *device,
	       const struct batch_key *soc, size_t max_body,
	       struct batch_hdr *h, struct buf *body);

/* The batch's link in its lane's hash chain, the next batch's prev_hash:
 * SHA-256 over the signed bytes, header || ciphertext. The signature is
 * left out because ECDSA signatures are malleable ((r, n - s) verifies
 * too): re-encoding it must not break the chain. `in` holds `len` bytes
 * of a batch whose header and ciphertext are complete. Returns 0, or
 * BATCH_E_TRUNCATED / a header code from batch_parse_header() (out is
 * zeroed then). */
int batch_hash(const uint8_t *in, size_t len, uint8_t out[BATCH_HASH_SIZE]);

/* SHA-256 of `len` bytes (the test vector's whole-batch digest, and
 * helpers that sign). */
void batch_sha256(const uint8_t *in, size_t len, uint8_t out[BATCH_HASH_SIZE]);

/* A short English reason for a BATCH_E_* code, or strerror(-rc). */
const char *batch_strerror(int rc);

#endif
