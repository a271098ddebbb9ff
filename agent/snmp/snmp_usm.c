/* snmp_usm: USM keys, HMAC and privacy (RFC 3414, RFC 3826, RFC 7860). */
#include "snmp_usm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mbedtls_md_info_t *md_info(enum snmp_auth a)
{
	switch (a) {
	case SNMP_AUTH_MD5: return mbedtls_md_info_from_type(MBEDTLS_MD_MD5);
	case SNMP_AUTH_SHA1: return mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
	case SNMP_AUTH_SHA224: return mbedtls_md_info_from_type(MBEDTLS_MD_SHA224);
	case SNMP_AUTH_SHA256: return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	case SNMP_AUTH_SHA384: return mbedtls_md_info_from_type(MBEDTLS_MD_SHA384);
	case SNMP_AUTH_SHA512: return mbedtls_md_info_from_type(MBEDTLS_MD_SHA512);
	default: return NULL;
	}
}

size_t snmp_usm_key_len(enum snmp_auth a)
{
	static const uint8_t len[] = { 0, 16, 20, 28, 32, 48, 64 };

	return (unsigned)a < sizeof(len) ? len[a] : 0;
}

size_t snmp_usm_mac_len(enum snmp_auth a)
{
	static const uint8_t len[] = { 0, 12, 12, 16, 24, 32, 48 };

	return (unsigned)a < sizeof(len) ? len[a] : 0;
}

size_t snmp_usm_priv_key_len(enum snmp_priv p)
{
	static const uint8_t len[] = { 0, 8, 16, 24, 32 };

	return (unsigned)p < sizeof(len) ? len[p] : 0;
}

static int md_err(int rc)
{
	return rc == MBEDTLS_ERR_MD_ALLOC_FAILED ? -ENOMEM : -EIO;
}

int snmp_usm_password_to_key(enum snmp_auth a, const char *pw, size_t len, uint8_t *ku)
{
	const mbedtls_md_info_t *info = md_info(a);
	mbedtls_md_context_t ctx;
	uint8_t chunk[4096 + 256];
	size_t clen, left = 1048576;
	int rc;

	if (info == NULL || len == 0 || len > 256)
		return -EINVAL;
	/* RFC 3414 A.2 hashes the first 1 MiB of the password repeated
	 * forever. A chunk that holds a whole number of copies starts at a
	 * copy boundary every time, so one buffer serves every update. */
	clen = (4096 / len + 1) * len;
	for (size_t i = 0; i < clen; i++)
		chunk[i] = (uint8_t)pw[i % len];
	mbedtls_md_init(&ctx);
	rc = mbedtls_md_setup(&ctx, info, 0);
	if (rc == 0)
		rc = mbedtls_md_starts(&ctx);
	while (rc == 0 && left > 0) {
		size_t n = left < clen ? left : clen;

		rc = mbedtls_md_update(&ctx, chunk, n);
		left -= n;
	}
	if (rc == 0)
		rc = mbedtls_md_finish(&ctx, ku);
	mbedtls_md_free(&ctx);
	return rc == 0 ? 0 : md_err(rc);
}

int snmp_usm_localize(enum snmp_auth a, const uint8_t *ku, const uint8_t *engine_id,
		      size_t engine_id_len, uint8_t *kul)
{
	const mbedtls_md_info_t *info = md_info(a);
	size_t klen = snmp_usm_key_len(a);
	mbedtls_md_context_t ctx;
	int rc;

	if (info == NULL)
		return -EINVAL;
	mbedtls_md_init(&ctx);
	rc = mbedtls_md_setup(&ctx, info, 0);
	if (rc == 0)
		rc = mbedtls_md_starts(&ctx);
	if (rc == 0)
		rc = mbedtls_md_update(&ctx, ku, klen);
	if (rc == 0)
		rc = mbedtls_md_update(&ctx, engine_id, engine_id_len);
	if (rc == 0)
		rc = mbedtls_md_update(&ctx, ku, klen);
	if (rc == 0)
		rc = mbedtls_md_finish(&ctx, kul);
	mbedtls_md_free(&ctx);
	return rc == 0 ? 0 : md_err(rc);
}

int snmp_usm_extend_key(enum snmp_auth a, const uint8_t *kul, size_t need, uint8_t *out)
{
	const mbedtls_md_info_t *info = md_info(a);
	size_t have = snmp_usm_key_len(a);
	int rc = 0;

	if (info == NULL || need > SNMP_USM_MAX_KEY)
		return -EINVAL;
	memmove(out, kul, have);
	/* draft-blumenthal-aes-usm-04 3.1.2.1: each step hashes the whole
	 * key so far, so Kul' = Kul || H(Kul) || H(Kul || H(Kul)) ... */
	while (rc == 0 && have < need) {
		rc = mbedtls_md(info, out, have, out + have);
		have += snmp_usm_key_len(a);
	}
	return rc == 0 ? 0 : md_err(rc);
}

static mbedtls_cipher_type_t cipher_type(enum snmp_priv p)
{
	switch (p) {
	case SNMP_PRIV_DES: return MBEDTLS_CIPHER_DES_CBC;
	case SNMP_PRIV_AES128: return MBEDTLS_CIPHER_AES_128_CFB128;
	case SNMP_PRIV_AES192: return MBEDTLS_CIPHER_AES_192_CFB128;
	case SNMP_PRIV_AES256: return MBEDTLS_CIPHER_AES_256_CFB128;
	default: return MBEDTLS_CIPHER_NONE;
	}
}

static int cipher_err(int rc)
{
	return rc == MBEDTLS_ERR_CIPHER_ALLOC_FAILED ? -ENOMEM : -EIO;
}

/* Sets up a cipher context with our key for one direction. */
static int cipher_open(mbedtls_cipher_context_t *ctx, const struct snmp_usm_keys *k,
		       mbedtls_operation_t op)
{
	const mbedtls_cipher_info_t *info = mbedtls_cipher_info_from_type(cipher_type(k->priv));
	int rc;

	if (info == NULL)
		return -EINVAL;
	rc = mbedtls_cipher_setup(ctx, info);
	if (rc == 0)
		rc = mbedtls_cipher_setkey(ctx, k->priv_key, (int)snmp_usm_priv_key_len(k->priv) * 8, op);
	if (rc == 0 && k->priv == SNMP_PRIV_DES)
		rc = mbedtls_cipher_set_padding_mode(ctx, MBEDTLS_PADDING_NONE);
	return rc == 0 ? 0 : cipher_err(rc);
}

int snmp_usm_keys_setup(struct snmp_usm_keys *k, enum snmp_auth auth, enum snmp_priv priv,
			const uint8_t *auth_ku, const uint8_t *priv_ku, const uint8_t *eid,
			size_t eid_len)
{
	uint8_t kul[SNMP_USM_MAX_KEY * 2];
	int rc = 0;

	memset(k, 0, sizeof(*k));
	mbedtls_md_init(&k->hmac);
	mbedtls_cipher_init(&k->dec);
	k->auth = auth;
	k->priv = priv;
	if (auth == SNMP_AUTH_NONE) {
		rc = priv == SNMP_PRIV_NONE ? 0 : -EINVAL;
		goto out;
	}
	rc = snmp_usm_localize(auth, auth_ku, eid, eid_len, kul);
	if (rc < 0)
		goto out;
	rc = mbedtls_md_setup(&k->hmac, md_info(auth), 1);
	if (rc == 0)
		rc = mbedtls_md_hmac_starts(&k->hmac, kul, snmp_usm_key_len(auth));
	if (rc != 0) {
		rc = md_err(rc);
		goto out;
	}
	if (priv == SNMP_PRIV_NONE)
		goto out;
	rc = snmp_usm_localize(auth, priv_ku, eid, eid_len, kul);
	if (rc == 0)
		rc = snmp_usm_extend_key(auth, kul, snmp_usm_priv_key_len(priv), kul);
	if (rc < 0)
		goto out;
	memcpy(k->priv_key, kul, snmp_usm_priv_key_len(priv));
	/* RFC 3414 8.1.1.1: the DES key is the first 8 octets of the
	 * 16-octet localised key, the pre-IV the last 8. */
	if (priv == SNMP_PRIV_DES)
		memcpy(k->des_pre_iv, kul + 8, 8);
	rc = cipher_open(&k->dec, k, MBEDTLS_DECRYPT);
out:
	memset(kul, 0, sizeof(kul));
	if (rc < 0)
		snmp_usm_keys_release(k);
	else
		k->ready = true;
	return rc;
}

void snmp_usm_keys_release(struct snmp_usm_keys *k)
{
	if (k == NULL)
		return;
	mbedtls_md_free(&k->hmac);
	mbedtls_cipher_free(&k->dec);
	memset(k, 0, sizeof(*k));
}

static int hmac_of(struct snmp_usm_keys *k, const uint8_t *msg, size_t len, size_t mac_off,
		   size_t mac_len, uint8_t *out)
{
	static const uint8_t zeros[SNMP_USM_MAX_MAC];
	int rc;

	rc = mbedtls_md_hmac_reset(&k->hmac);
	if (rc == 0)
		rc = mbedtls_md_hmac_update(&k->hmac, msg, mac_off);
	if (rc == 0)
		rc = mbedtls_md_hmac_update(&k->hmac, zeros, mac_len);
	if (rc == 0)
		rc = mbedtls_md_hmac_update(&k->hmac, msg + mac_off + mac_len,
					    len - mac_off - mac_len);
	if (rc == 0)
		rc = mbedtls_md_hmac_finish(&k->hmac, out);
	return rc == 0 ? 0 : -EIO;
}

int snmp_usm_auth_check(struct snmp_usm_keys *k, const uint8_t *msg, size_t len, size_t mac_off,
			size_t mac_len)
{
	uint8_t mac[SNMP_USM_MAX_KEY];
	uint8_t diff = 0;
	int rc;

	if (!k->ready || k->auth == SNMP_AUTH_NONE || mac_len != snmp_usm_mac_len(k->auth) ||
	    mac_off > len || len - mac_off < mac_len)
		return -EBADMSG;
	rc = hmac_of(k, msg, len, mac_off, mac_len, mac);
	if (rc < 0)
		return rc;
	/* Constant time: a timing oracle on the digest would let a forger
	 * guess it byte by byte. */
	for (size_t i = 0; i < mac_len; i++)
		diff |= (uint8_t)(mac[i] ^ msg[mac_off + i]);
	return diff == 0 ? 0 : -EBADMSG;
}

int snmp_usm_auth_sign(struct snmp_usm_keys *k, uint8_t *msg, size_t len, size_t mac_off)
{
	uint8_t mac[SNMP_USM_MAX_KEY];
	size_t mac_len = snmp_usm_mac_len(k->auth);
	int rc;

	if (!k->ready || mac_len == 0 || mac_off > len || len - mac_off < mac_len)
		return -EINVAL;
	rc = hmac_of(k, msg, len, mac_off, mac_len, mac);
	if (rc == 0)
		memcpy(msg + mac_off, mac, mac_len);
	return rc;
}

static void make_iv(const struct snmp_usm_keys *k, uint32_t boots, uint32_t time,
		    const uint8_t *salt, uint8_t *iv, size_t *iv_len)
{
	if (k->priv == SNMP_PRIV_DES) {
		for (int i = 0; i < 8; i++)
			iv[i] = (uint8_t)(k->des_pre_iv[i] ^ salt[i]);
		*iv_len = 8;
		return;
	}
	/* RFC 3826 3.1.2.1: boots and time as 32-bit big-endian integers. */
	for (int i = 0; i < 4; i++) {
		iv[i] = (uint8_t)(boots >> (24 - 8 * i));
		iv[4 + i] = (uint8_t)(time >> (24 - 8 * i));
	}
	memcpy(iv + 8, salt, 8);
	*iv_len = 16;
}

int snmp_usm_decrypt(struct snmp_usm_keys *k, uint32_t boots, uint32_t time,
		     const uint8_t *salt, const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t iv[16];
	size_t iv_len, olen = 0;
	int rc;

	if (!k->ready || k->priv == SNMP_PRIV_NONE)
		return -EINVAL;
	/* RFC 3414 8.3.2 step 2: a DES ciphertext that is not a whole
	 * number of blocks is a decryption error. */
	if (k->priv == SNMP_PRIV_DES && len % 8 != 0)
		return -EBADMSG;
	if (len == 0)
		return 0;
	make_iv(k, boots, time, salt, iv, &iv_len);
	rc = mbedtls_cipher_crypt(&k->dec, iv, iv_len, in, len, out, &olen);
	if (rc != 0 || olen != len)
		return -EIO;
	return 0;
}

int snmp_usm_encrypt(struct snmp_usm_keys *k, uint32_t boots, uint32_t time,
		     const uint8_t *salt, const uint8_t *in, size_t len, uint8_t *out,
		     size_t *out_len)
{
	mbedtls_cipher_context_t enc;
	uint8_t iv[16], last[8];
	size_t iv_len, olen = 0, whole = len;
	int rc;

	*out_len = 0;
	if (!k->ready || k->priv == SNMP_PRIV_NONE)
		return -EINVAL;
	mbedtls_cipher_init(&enc);
	rc = cipher_open(&enc, k, MBEDTLS_ENCRYPT);
	if (rc < 0)
		goto out;
	make_iv(k, boots, time, salt, iv, &iv_len);
	if (k->priv == SNMP_PRIV_DES && len % 8 != 0) {
		/* RFC 3414 8.1.1.2: pad to a whole block; the receiver
		 * ignores what follows the ScopedPDU. */
		whole = len - len % 8;
		memset(last, 0, sizeof(last));
		memcpy(last, in + whole, len - whole);
	}
	rc = mbedtls_cipher_set_iv(&enc, iv, iv_len);
	if (rc == 0)
		rc = mbedtls_cipher_reset(&enc);
	if (rc == 0 && whole > 0)
		rc = mbedtls_cipher_update(&enc, in, whole, out, &olen);
	if (rc == 0 && whole != len) {
		size_t n = 0;

		rc = mbedtls_cipher_update(&enc, last, 8, out + olen, &n);
		olen += n;
	}
	if (rc == 0) {
		size_t n = 0;

		rc = mbedtls_cipher_finish(&enc, out + olen, &n);
		olen += n;
	}
	if (rc != 0) {
		rc = cipher_err(rc);
		goto out;
	}
	*out_len = olen;
out:
	mbedtls_cipher_free(&enc);
	return rc;
}

/* ---- state -------------------------------------------------------------- */

#define WAYS 4
#define KEY_SETS 256
#define CLOCK_SETS 256
#define WINDOW_S 150    /* RFC 3414 3.2 step 7 */

struct key_slot {
	uint64_t used;          /* LRU stamp; 0 = empty */
	uint32_t user;
	uint8_t eid_len;
	uint8_t eid[32];
	struct snmp_usm_keys keys;
};

struct clock_slot {
	uint64_t used;
	uint8_t eid_len;
	uint8_t eid[32];
	uint32_t boots;         /* local notion of the engine's snmpEngineBoots */
	uint32_t time;          /* ... of its snmpEngineTime at at_ms */
	uint32_t latest;        /* latestReceivedEngineTime */
	uint64_t at_ms;
};

/* One remembered digest. With its chain link and at most one hash head
 * a slot costs SNMP_USM_REPLAY_SLOT_BYTES. */
struct replay_slot {
	uint8_t mac[SNMP_USM_REPLAY_KEY];
	uint64_t seq;           /* what the caller stored; 0 = not (yet) told */
	uint64_t expire_ms;     /* forgotten from then on; 0 = slot empty */
};
_Static_assert(sizeof(struct replay_slot) + 2 * sizeof(uint32_t) == SNMP_USM_REPLAY_SLOT_BYTES,
	       "SNMP_USM_REPLAY_SLOT_BYTES states the replay cache's cost per slot");

/* The replay cache is a ring in arrival order with a chained hash index.
 * Messages arrive in time order, so overwriting the ring's oldest slot
 * always drops the digest closest to leaving its time window: the cache
 * covers exactly the last `cap` authenticated messages. Links and heads
 * are slot index + 1, so zeroed memory is an empty cache and calloc's
 * pages are only touched as the cache fills. */
struct replay_cache {
	struct replay_slot *slot;
	uint32_t *next;         /* chain link of each slot; 0 ends a chain */
	uint32_t *head;         /* first slot of each hash chain; 0 = none */
	uint32_t cap, mask;     /* slots; hash heads - 1 (a power of two) */
	uint32_t pos;           /* the slot the next digest takes */
	uint32_t used;
	uint64_t evicted_live;
};

struct snmp_usm_state {
	uint64_t tick;
	struct key_slot keys[KEY_SETS * WAYS];
	struct clock_slot clocks[CLOCK_SETS * WAYS];
	struct replay_cache rp;
};

int snmp_usm_state_create(struct snmp_usm_state **out, uint32_t replay_slots)
{
	struct snmp_usm_state *s;
	struct replay_cache *rp;
	uint32_t heads = 1;
	int rc = 0;

	*out = NULL;
	if (replay_slots == 0)
		replay_slots = SNMP_USM_REPLAY_DEFAULT;
	if (replay_slots < SNMP_USM_REPLAY_MIN || replay_slots > SNMP_USM_REPLAY_MAX)
		return -EINVAL;
	/* About 0.5 MiB for the key and clock tables, zeroed: empty slots
	 * and released key contexts. */
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	rp = &s->rp;
	/* At most one head per slot, so a slot costs 40 bytes at most and a
	 * chain holds one or two slots on average. */
	while (heads * 2 <= replay_slots)
		heads <<= 1;
	rp->cap = replay_slots;
	rp->mask = heads - 1;
	rp->slot = calloc(replay_slots, sizeof(*rp->slot));
	rp->next = calloc(replay_slots, sizeof(*rp->next));
	rp->head = calloc(heads, sizeof(*rp->head));
	if (rp->slot == NULL || rp->next == NULL || rp->head == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	*out = s;
	s = NULL;
out:
	snmp_usm_state_destroy(s);
	return rc;
}

void snmp_usm_state_destroy(struct snmp_usm_state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < KEY_SETS * WAYS; i++)
		if (s->keys[i].used)
			snmp_usm_keys_release(&s->keys[i].keys);
	free(s->rp.slot);
	free(s->rp.next);
	free(s->rp.head);
	free(s);
}

/* FNV-1a: engine IDs come from the network, but a set only bounds the
 * damage of collisions to that set's four ways. */
static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

int snmp_usm_keys_cached(struct snmp_usm_state *s, uint32_t user, const uint8_t *eid,
			 size_t eid_len, enum snmp_auth auth, enum snmp_priv priv,
			 const uint8_t *auth_ku, const uint8_t *priv_ku,
			 struct snmp_usm_keys **out)
{
	uint32_t h = fnv(fnv(2166136261u, (const uint8_t *)&user, sizeof(user)), eid, eid_len);
	struct key_slot *set = &s->keys[(h % KEY_SETS) * WAYS], *victim = set;
	int rc;

	*out = NULL;
	if (eid_len > sizeof(set->eid))
		return -EINVAL;
	for (int w = 0; w < WAYS; w++) {
		struct key_slot *x = &set[w];

		if (x->used && x->user == user && x->eid_len == eid_len &&
		    memcmp(x->eid, eid, eid_len) == 0) {
			x->used = ++s->tick;
			*out = &x->keys;
			return 0;
		}
		if (x->used < victim->used)
			victim = x;
	}
	if (victim->used)
		snmp_usm_keys_release(&victim->keys);
	victim->used = 0;
	rc = snmp_usm_keys_setup(&victim->keys, auth, priv, auth_ku, priv_ku, eid, eid_len);
	if (rc < 0)
		return rc;
	victim->used = ++s->tick;
	victim->user = user;
	victim->eid_len = (uint8_t)eid_len;
	memcpy(victim->eid, eid, eid_len);
	*out = &victim->keys;
	return 0;
}

int snmp_usm_check_remote_time(struct snmp_usm_state *s, const uint8_t *eid, size_t eid_len,
			       uint32_t boots, uint32_t time, uint64_t now_ms, char *why,
			       size_t whylen)
{
	struct clock_slot *set = &s->clocks[(fnv(2166136261u, eid, eid_len) % CLOCK_SETS) * WAYS];
	struct clock_slot *c = NULL, *victim = set;
	uint64_t notion;

	if (eid_len > sizeof(set->eid))
		return -EINVAL;
	for (int w = 0; w < WAYS && c == NULL; w++) {
		struct clock_slot *x = &set[w];

		if (x->used && x->eid_len == eid_len && memcmp(x->eid, eid, eid_len) == 0)
			c = x;
		else if (x->used < victim->used)
			victim = x;
	}
	if (c == NULL) {
		/* First contact: nothing to compare with, so the message
		 * sets the notion (RFC 3414 3.2 step 7b learns the same way
		 * after discovery). */
		c = victim;
		memset(c, 0, sizeof(*c));
		c->eid_len = (uint8_t)eid_len;
		memcpy(c->eid, eid, eid_len);
		c->boots = boots;
		c->time = c->latest = time;
		c->at_ms = now_ms;
		c->used = ++s->tick;
		return 0;
	}
	c->used = ++s->tick;
	/* The notion of the remote engine's time runs with our clock. */
	notion = c->time + (now_ms - c->at_ms) / 1000;
	if (c->boots == INT32_MAX) {
		snprintf(why, whylen, "engine boots latched at 2147483647");
		return -ETIME;
	}
	if (boots < c->boots) {
		snprintf(why, whylen, "engine boots %u is older than %u already seen", boots, c->boots);
		return -ETIME;
	}
	if (boots == c->boots && (uint64_t)time + WINDOW_S < notion) {
		snprintf(why, whylen, "engine time %u is more than 150 s behind %llu", time,
			 (unsigned long long)notion);
		return -ETIME;
	}
	if (boots > c->boots || time > c->latest) {
		c->boots = boots;
		c->time = c->latest = time;
		c->at_ms = now_ms;
	}
	return 0;
}

/* The digest is an HMAC output over a message that passed its check, so
 * its bytes are already uniform: its first four pick the chain. */
static uint32_t *replay_chain(struct replay_cache *rp, const uint8_t *key)
{
	uint32_t h = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 |
		     (uint32_t)key[3] << 24;

	return &rp->head[h & rp->mask];
}

static void replay_key(uint8_t *key, const uint8_t *mac, size_t len)
{
	memset(key, 0, SNMP_USM_REPLAY_KEY);
	memcpy(key, mac, len < SNMP_USM_REPLAY_KEY ? len : SNMP_USM_REPLAY_KEY);
}

/* The live slot holding `key`, or NULL. O(1): a chain holds one or two
 * slots on average. */
static struct replay_slot *replay_lookup(struct replay_cache *rp, const uint8_t *key,
					 uint64_t now_ms)
{
	for (uint32_t i = *replay_chain(rp, key); i != 0; i = rp->next[i - 1]) {
		struct replay_slot *x = &rp->slot[i - 1];

		if (x->expire_ms > now_ms && memcmp(x->mac, key, SNMP_USM_REPLAY_KEY) == 0)
			return x;
	}
	return NULL;
}

/* Takes slot index `i` out of its chain and empties it. */
static void replay_unlink(struct replay_cache *rp, uint32_t i)
{
	uint32_t *pp = replay_chain(rp, rp->slot[i].mac);

	while (*pp != 0 && *pp != i + 1)
		pp = &rp->next[*pp - 1];
	if (*pp != 0)
		*pp = rp->next[i];
	rp->next[i] = 0;
	rp->slot[i].expire_ms = 0;
	rp->used--;
}

bool snmp_usm_replay_find(struct snmp_usm_state *s, const uint8_t *mac, size_t len,
			  uint64_t now_ms, uint64_t *seq)
{
	uint8_t key[SNMP_USM_REPLAY_KEY];
	struct replay_slot *x;

	replay_key(key, mac, len);
	x = replay_lookup(&s->rp, key, now_ms);
	*seq = x != NULL ? x->seq : 0;
	return x != NULL;
}

void snmp_usm_replay_add(struct snmp_usm_state *s, const uint8_t *mac, size_t len,
			 uint64_t now_ms, uint64_t expire_ms)
{
	struct replay_cache *rp = &s->rp;
	uint32_t i = rp->pos, *chain;
	struct replay_slot *x = &rp->slot[i];

	if (x->expire_ms != 0) {
		/* The cache is full: a replay of this one would now pass
		 * while still inside its window. Counted, so status shows
		 * when the traffic outgrows the cache. */
		if (x->expire_ms > now_ms)
			rp->evicted_live++;
		replay_unlink(rp, i);
	}
	replay_key(x->mac, mac, len);
	x->seq = 0;
	x->expire_ms = expire_ms > now_ms ? expire_ms : now_ms + 1;
	chain = replay_chain(rp, x->mac);
	rp->next[i] = *chain;
	*chain = i + 1;
	rp->used++;
	rp->pos = i + 1 < rp->cap ? i + 1 : 0;
}

void snmp_usm_replay_set_seq(struct snmp_usm_state *s, const uint8_t *mac, size_t len,
			     uint64_t now_ms, uint64_t seq)
{
	uint8_t key[SNMP_USM_REPLAY_KEY];
	struct replay_slot *x;

	replay_key(key, mac, len);
	x = replay_lookup(&s->rp, key, now_ms);
	if (x == NULL)
		return;
	if (seq != 0)
		x->seq = seq;
	else
		replay_unlink(&s->rp, (uint32_t)(x - s->rp.slot));
}

void snmp_usm_replay_stats(const struct snmp_usm_state *s, struct snmp_usm_replay_stats *st)
{
	st->slots = s->rp.cap;
	st->used = s->rp.used;
	st->bytes = (uint64_t)s->rp.cap * (sizeof(struct replay_slot) + sizeof(uint32_t)) +
		    ((uint64_t)s->rp.mask + 1) * sizeof(uint32_t);
	st->evicted_live = s->rp.evicted_live;
}
