/* Unit tests for agent/snmp/snmp_usm.c.
 *
 * Known answers: RFC 3414 A.3.1 and A.3.2 (password "maplesyrup", engine
 * ID 000000000000000000000002) for MD5 and SHA-1. For the SHA-2 family
 * (RFC 7860 has no vectors), the Blumenthal key extension, the HMACs and
 * the ciphers, the expected values come from an independent path, Python's
 * hashlib, hmac and cryptography, with this generator:
 *
 *   H = {'md5': md5, 'sha': sha1, 'sha224': sha224, ...}        # hashlib
 *   p2k(h, pw)  = H[h]((pw * (2**20 // len(pw) + 2))[:2**20])  # RFC 3414 A.2
 *   loc(h, ku, e) = H[h](ku + e + ku)
 *   ext(h, k, n): while len(k) < n: k += H[h](k); return k[:n] # Blumenthal
 *   mac(h, n)   = hmac(loc(h, p2k(h, 'maplesyrup'), E), m, H[h])[:n] where m =
 *                 bytes(range(64)) with n zeros at offset 10
 *   DES:  key = kul[:8], iv = kul[8:16] ^ salt, CBC over the text zero-padded
 *   AES:  key = ext(h, kul, n), iv = boots(5) || time(1000) || salt, CFB128
 *   with salt 0001020304050607 and the text "0123456789abcdefghijklmnopqrstuvwxyz!".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "snmp/snmp_usm.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const uint8_t E[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };
static const uint8_t SALT[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
static const char TEXT[] = "0123456789abcdefghijklmnopqrstuvwxyz!";

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (; s[0] && s[1]; s += 2) {
		unsigned v;

		sscanf(s, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void assert_hex(const uint8_t *p, size_t n, const char *hex)
{
	uint8_t want[256];

	assert_int_equal(unhex(hex, want), n);
	assert_memory_equal(p, want, n);
}

static const struct {
	enum snmp_auth a;
	const char *ku, *kul, *mac;
} vec[] = {
	/* RFC 3414 A.3.1 */
	{ SNMP_AUTH_MD5, "9faf3283884e92834ebc9847d8edd963", "526f5eed9fcce26f8964c2930787d82b",
	  "95f6323b77812092d2cbdb35" },
	/* RFC 3414 A.3.2 */
	{ SNMP_AUTH_SHA1, "9fb5cc0381497b3793528939ff788d5d79145211",
	  "6695febc9288e36282235fc7151f128497b38f3f", "c49b3cec1ed67e940714862e" },
	{ SNMP_AUTH_SHA224, "282a5867ee9aac639ad59df9572c7d3ac0fbc13a905b6df07dbbf00b",
	  "0bd8827c6e29f8065e08e09237f177e410f69b90e1782be682075674",
	  "44a680fbaeb35aaadf727c46e16176e0" },
	{ SNMP_AUTH_SHA256, "ab51014d1e077f6017df2b12bee5f5aa72993177e9bb569c4dff5a4ca0b4afac",
	  "8982e0e549e866db361a6b625d84cccc11162d453ee8ce3a6445c2d6776f0f8b",
	  "9e8c4a12c81e029a6a790c0a2cc00696eb3a90876642d93a" },
	{ SNMP_AUTH_SHA384,
	  "e06eccdf2c68a06ed034723c9c26e0db3b669e1e2efed49150b55377a2e98f383c86fb836857444654b287c93f51ff64",
	  "3b298f16164a11184279d5432bf169e2d2a48307de02b3d3f7e2b4f36eb6f0455a53689a3937eea07319a633d2ccba78",
	  "57be360b62fe3d318c6efab8a92686e13b4b88e8be1af425ff1040b0b836c696" },
	{ SNMP_AUTH_SHA512,
	  "7e4396de5aadc77be853819b98c9406265b3a9c37cc3176569847a4e4f6fba63dd3a73d04924d31a63f95a601f9385af6be4ed1b37f87d040f7c6ed6f8d38a91",
	  "22a5a36cedfcc085807a128d7bc6c2382167ad6c0dbc5fdff856740f3d84c099ad1ea87a8db096714d9788bd544047c9021e4229ce27e4c0a69250adfcffbb0b",
	  "fba53673dc4be8cb6f44eba97f706fcc899f032ea7c4e9c7eaee039093f9815fe920e4a3481e3260f09c06e53fe8d2b9" },
};

static void test_lengths(void **state)
{
	(void)state;
	assert_int_equal(snmp_usm_mac_len(SNMP_AUTH_MD5), 12);
	assert_int_equal(snmp_usm_mac_len(SNMP_AUTH_SHA1), 12);
	assert_int_equal(snmp_usm_mac_len(SNMP_AUTH_SHA224), 16);
	assert_int_equal(snmp_usm_mac_len(SNMP_AUTH_SHA256), 24);
	assert_int_equal(snmp_usm_mac_len(SNMP_AUTH_SHA384), 32);
	assert_int_equal(snmp_usm_mac_len(SNMP_AUTH_SHA512), 48);
	assert_int_equal(snmp_usm_mac_len(SNMP_AUTH_NONE), 0);
	assert_int_equal(snmp_usm_key_len(SNMP_AUTH_SHA224), 28);
	assert_int_equal(snmp_usm_priv_key_len(SNMP_PRIV_AES192), 24);
}

/* RFC 3414 A.3 and its SHA-2 generalisation. */
static void test_password_to_key(void **state)
{
	uint8_t ku[64], kul[64];

	(void)state;
	for (size_t i = 0; i < LEN(vec); i++) {
		size_t n = snmp_usm_key_len(vec[i].a);

		assert_int_equal(snmp_usm_password_to_key(vec[i].a, "maplesyrup", 10, ku), 0);
		assert_hex(ku, n, vec[i].ku);
		assert_int_equal(snmp_usm_localize(vec[i].a, ku, E, sizeof(E), kul), 0);
		assert_hex(kul, n, vec[i].kul);
	}
	assert_int_equal(snmp_usm_password_to_key(SNMP_AUTH_NONE, "maplesyrup", 10, ku), -EINVAL);
	assert_int_equal(snmp_usm_password_to_key(SNMP_AUTH_MD5, "", 0, ku), -EINVAL);
}

/* The key a chunk boundary would break: passwords whose length does not
 * divide the chunk, including one longer than 64 bytes. */
static void test_password_lengths(void **state)
{
	static const char *const pw[] = { "abcdefgh", "abcdefghi", "a-password-of-more-than-sixty-"
					  "four-characters-to-cross-a-block-boundary!!" };
	uint8_t a[64], b[64];

	(void)state;
	for (size_t i = 0; i < LEN(pw); i++) {
		/* Against a plain one-byte-at-a-time expansion. */
		mbedtls_md_context_t ctx;
		size_t len = strlen(pw[i]);

		assert_int_equal(snmp_usm_password_to_key(SNMP_AUTH_SHA256, pw[i], len, a), 0);
		mbedtls_md_init(&ctx);
		assert_int_equal(mbedtls_md_setup(&ctx, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 0), 0);
		assert_int_equal(mbedtls_md_starts(&ctx), 0);
		for (size_t k = 0; k < 1048576; k++)
			mbedtls_md_update(&ctx, (const uint8_t *)&pw[i][k % len], 1);
		mbedtls_md_finish(&ctx, b);
		mbedtls_md_free(&ctx);
		assert_memory_equal(a, b, 32);
	}
}

static void test_extend(void **state)
{
	static const struct {
		enum snmp_auth a;
		const char *want;
	} ext[] = {
		{ SNMP_AUTH_MD5, "526f5eed9fcce26f8964c2930787d82bfa24a92467426c2f4b09192be10dfaec" },
		{ SNMP_AUTH_SHA1, "6695febc9288e36282235fc7151f128497b38f3f505e07eb9af25568fa1f5dbe" },
		{ SNMP_AUTH_SHA224, "0bd8827c6e29f8065e08e09237f177e410f69b90e1782be682075674e82d9bf0" },
	};
	uint8_t ku[64], kul[64], out[128];

	(void)state;
	for (size_t i = 0; i < LEN(ext); i++) {
		assert_int_equal(snmp_usm_password_to_key(ext[i].a, "maplesyrup", 10, ku), 0);
		assert_int_equal(snmp_usm_localize(ext[i].a, ku, E, sizeof(E), kul), 0);
		assert_int_equal(snmp_usm_extend_key(ext[i].a, kul, 32, out), 0);
		assert_hex(out, 32, ext[i].want);
		/* in place, as the engine does */
		assert_int_equal(snmp_usm_extend_key(ext[i].a, kul, 32, kul), 0);
		assert_hex(kul, 32, ext[i].want);
	}
}

static void setup_keys(struct snmp_usm_keys *k, enum snmp_auth a, enum snmp_priv p)
{
	uint8_t ku[64], pku[64];

	assert_int_equal(snmp_usm_password_to_key(a, "maplesyrup", 10, ku), 0);
	assert_int_equal(snmp_usm_password_to_key(a, "maplesyrup", 10, pku), 0);
	assert_int_equal(snmp_usm_keys_setup(k, a, p, ku, pku, E, sizeof(E)), 0);
}

static void test_hmac(void **state)
{
	uint8_t msg[64], copy[64];

	(void)state;
	for (size_t i = 0; i < LEN(vec); i++) {
		struct snmp_usm_keys k;
		size_t ml = snmp_usm_mac_len(vec[i].a);

		setup_keys(&k, vec[i].a, SNMP_PRIV_NONE);
		for (int b = 0; b < 64; b++)
			msg[b] = (uint8_t)b;
		memset(msg + 10, 0, ml);
		assert_int_equal(snmp_usm_auth_sign(&k, msg, sizeof(msg), 10), 0);
		assert_hex(msg + 10, ml, vec[i].mac);
		/* the rest of the message is untouched */
		assert_int_equal(msg[9], 9);
		assert_int_equal(msg[10 + ml], 10 + ml);
		assert_int_equal(snmp_usm_auth_check(&k, msg, sizeof(msg), 10, ml), 0);
		/* twice: the keyed context is reused */
		assert_int_equal(snmp_usm_auth_check(&k, msg, sizeof(msg), 10, ml), 0);
		/* any change in the message or the digest */
		memcpy(copy, msg, sizeof(msg));
		copy[63] ^= 1;
		assert_int_equal(snmp_usm_auth_check(&k, copy, sizeof(copy), 10, ml), -EBADMSG);
		memcpy(copy, msg, sizeof(msg));
		copy[10 + ml - 1] ^= 0x80;
		assert_int_equal(snmp_usm_auth_check(&k, copy, sizeof(copy), 10, ml), -EBADMSG);
		/* a digest of the wrong length, or past the end */
		assert_int_equal(snmp_usm_auth_check(&k, msg, sizeof(msg), 10, ml - 1), -EBADMSG);
		assert_int_equal(snmp_usm_auth_check(&k, msg, sizeof(msg), 64 - ml + 1, ml), -EBADMSG);
		snmp_usm_keys_release(&k);
	}
}

static void test_ciphers(void **state)
{
	static const struct {
		enum snmp_auth a;
		enum snmp_priv p;
		const char *want;
	} c[] = {
		{ SNMP_AUTH_SHA1, SNMP_PRIV_DES,
		  "fda005b00d4610c224f5f12856e6087421dd3de56a07369c475bc1528cccdc3a9cf543a5209a8c37" },
		{ SNMP_AUTH_MD5, SNMP_PRIV_AES128,
		  "7b8b90d9f21bda262a281433e8154703cef91310877f5939ecc6e867715617c7f3baeddfec" },
		{ SNMP_AUTH_MD5, SNMP_PRIV_AES192,
		  "37e55c9795d74987fc5fb1e4da023590fbf1010ee6ce220bcda178ec05bf67ee8d489765f0" },
		{ SNMP_AUTH_SHA1, SNMP_PRIV_AES256,
		  "125c925d403320ca7ba9c419d824231e0d4ad936fef889318d8e9c38bd050856004e7d6e1f" },
		{ SNMP_AUTH_SHA256, SNMP_PRIV_AES256,
		  "7e31b8d2d49705bd98903e669ce2a80e9524e3a185373e1c42850981be2acb08ddb579b893" },
	};
	uint8_t enc[64], dec[64];
	size_t n, tl = strlen(TEXT);

	(void)state;
	for (size_t i = 0; i < LEN(c); i++) {
		struct snmp_usm_keys k;

		setup_keys(&k, c[i].a, c[i].p);
		assert_int_equal(snmp_usm_encrypt(&k, 5, 1000, SALT, (const uint8_t *)TEXT, tl, enc, &n), 0);
		assert_int_equal(n, c[i].p == SNMP_PRIV_DES ? 40 : tl);
		assert_hex(enc, n, c[i].want);
		assert_int_equal(snmp_usm_decrypt(&k, 5, 1000, SALT, enc, n, dec), 0);
		assert_memory_equal(dec, TEXT, tl);
		if (c[i].p == SNMP_PRIV_DES) {
			/* zero padding, and a ciphertext of a broken length */
			assert_int_equal(dec[tl], 0);
			assert_int_equal(snmp_usm_decrypt(&k, 5, 1000, SALT, enc, n - 1, dec), -EBADMSG);
		} else {
			/* AES's IV holds boots and time: other values, other text */
			assert_int_equal(snmp_usm_decrypt(&k, 5, 1001, SALT, enc, n, dec), 0);
			assert_memory_not_equal(dec, TEXT, tl);
		}
		snmp_usm_keys_release(&k);
	}
}

static void test_keys_setup_rules(void **state)
{
	struct snmp_usm_keys k;
	uint8_t ku[64] = { 0 };

	(void)state;
	/* privacy needs authentication */
	assert_int_equal(snmp_usm_keys_setup(&k, SNMP_AUTH_NONE, SNMP_PRIV_DES, ku, ku, E, sizeof(E)),
			 -EINVAL);
	assert_int_equal(snmp_usm_keys_setup(&k, SNMP_AUTH_NONE, SNMP_PRIV_NONE, ku, ku, E, sizeof(E)), 0);
	assert_int_equal(snmp_usm_auth_check(&k, ku, sizeof(ku), 0, 12), -EBADMSG);
	snmp_usm_keys_release(&k);
	snmp_usm_keys_release(NULL);
}

/* ---- state tables --------------------------------------------------------- */

static void mac_of(uint32_t i, uint8_t *m)
{
	/* Digests are uniform: spread i over the bytes that pick a chain. */
	uint32_t h = i * 2654435761u;

	memset(m, 0x5a, 12);
	memcpy(m, &h, sizeof(h));
	memcpy(m + 4, &i, sizeof(i));
}

static void test_replay(void **state)
{
	struct snmp_usm_state *s;
	struct snmp_usm_replay_stats st;
	uint8_t mac[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, other[12];
	uint64_t seq = 99;

	(void)state;
	assert_int_equal(snmp_usm_state_create(&s, 0), 0);
	assert_false(snmp_usm_replay_find(s, mac, sizeof(mac), 1000, &seq));
	assert_int_equal(seq, 0);
	snmp_usm_replay_add(s, mac, sizeof(mac), 1000, 151000);
	assert_true(snmp_usm_replay_find(s, mac, sizeof(mac), 2000, &seq));
	assert_int_equal(seq, 0);               /* not told where its record went */
	snmp_usm_replay_set_seq(s, mac, sizeof(mac), 2000, 42);
	assert_true(snmp_usm_replay_find(s, mac, sizeof(mac), 150999, &seq));
	assert_int_equal(seq, 42);
	/* forgotten once out of its window (the time check covers older ones) */
	assert_false(snmp_usm_replay_find(s, mac, sizeof(mac), 151000, &seq));
	memcpy(other, mac, sizeof(mac));
	other[11] ^= 1;
	assert_false(snmp_usm_replay_find(s, other, sizeof(other), 2000, &seq));
	/* seq 0 forgets at once: a record the spool refused */
	snmp_usm_replay_add(s, other, sizeof(other), 2000, 300000);
	assert_true(snmp_usm_replay_find(s, other, sizeof(other), 2000, &seq));
	snmp_usm_replay_set_seq(s, other, sizeof(other), 2000, 0);
	assert_false(snmp_usm_replay_find(s, other, sizeof(other), 2000, &seq));
	snmp_usm_replay_stats(s, &st);
	assert_int_equal(st.slots, SNMP_USM_REPLAY_DEFAULT);
	assert_int_equal(st.used, 1);           /* mac, expired but not yet overwritten */
	assert_int_equal(st.bytes, (uint64_t)SNMP_USM_REPLAY_DEFAULT * SNMP_USM_REPLAY_SLOT_BYTES);
	assert_int_equal(st.evicted_live, 0);
	snmp_usm_state_destroy(s);
	snmp_usm_state_destroy(NULL);
	assert_int_equal(snmp_usm_state_create(&s, SNMP_USM_REPLAY_MIN - 1), -EINVAL);
	assert_int_equal(snmp_usm_state_create(&s, SNMP_USM_REPLAY_MAX + 1), -EINVAL);
	assert_null(s);
}

/* The cache is a ring: full, it drops the oldest digest, counting it when
 * it was still inside its window, and keeps every newer one. */
static void test_replay_ring(void **state)
{
	struct snmp_usm_state *s;
	struct snmp_usm_replay_stats st;
	uint8_t m[12];
	uint64_t seq;

	(void)state;
	assert_int_equal(snmp_usm_state_create(&s, 20), 0);
	for (uint32_t i = 0; i < 20; i++) {
		mac_of(i, m);
		/* the first five expire at 10 s, the others at 200 s */
		snmp_usm_replay_add(s, m, sizeof(m), 1000, i < 5 ? 10000 : 200000);
	}
	for (uint32_t i = 0; i < 20; i++) {
		mac_of(i, m);
		assert_true(snmp_usm_replay_find(s, m, sizeof(m), 5000, &seq));
	}
	/* at 20 s: 7 more take the slots of 0..6; 0..4 had expired */
	for (uint32_t i = 20; i < 27; i++) {
		mac_of(i, m);
		snmp_usm_replay_add(s, m, sizeof(m), 20000, 200000);
	}
	snmp_usm_replay_stats(s, &st);
	assert_int_equal(st.evicted_live, 2);
	assert_int_equal(st.used, 20);
	for (uint32_t i = 0; i < 27; i++) {
		mac_of(i, m);
		assert_int_equal(snmp_usm_replay_find(s, m, sizeof(m), 20000, &seq), i >= 7);
	}
	/* a forgotten slot is a hole the ring fills in turn */
	mac_of(10, m);
	snmp_usm_replay_set_seq(s, m, sizeof(m), 20000, 0);
	snmp_usm_replay_stats(s, &st);
	assert_int_equal(st.used, 19);
	snmp_usm_state_destroy(s);
}

/* The default cache holds a whole time window of traps at 870 a second:
 * every copy inside the window is still caught at its end. */
static void test_replay_covers_window(void **state)
{
	const uint32_t n = SNMP_USM_REPLAY_DEFAULT;
	struct snmp_usm_state *s;
	struct snmp_usm_replay_stats st;
	uint8_t m[12];
	uint64_t seq, t = 0;

	(void)state;
	assert_int_equal(snmp_usm_state_create(&s, 0), 0);
	for (uint32_t i = 0; i < n; i++) {
		t = (uint64_t)i * 150000 / n;
		mac_of(i, m);
		assert_false(snmp_usm_replay_find(s, m, sizeof(m), t, &seq));
		snmp_usm_replay_add(s, m, sizeof(m), t, t + 152000);
	}
	for (uint32_t i = 0; i < n; i++) {
		mac_of(i, m);
		if (!snmp_usm_replay_find(s, m, sizeof(m), t, &seq))
			fail_msg("message %u of %u, %llu ms old, is no longer a replay", i, n,
				 (unsigned long long)(t - (uint64_t)i * 150000 / n));
	}
	snmp_usm_replay_stats(s, &st);
	assert_int_equal(st.evicted_live, 0);
	/* one more message than that: the oldest is dropped, counted */
	mac_of(n, m);
	snmp_usm_replay_add(s, m, sizeof(m), t, t + 152000);
	snmp_usm_replay_stats(s, &st);
	assert_int_equal(st.evicted_live, 1);
	snmp_usm_state_destroy(s);
}

static void test_remote_time(void **state)
{
	static const uint8_t eid[] = { 0x80, 0, 0x1f, 0x88, 1, 2, 3 };
	static const uint8_t eid2[] = { 0x80, 0, 0x1f, 0x88, 1, 2, 4 };
	struct snmp_usm_state *s;
	char why[96];

	(void)state;
	assert_int_equal(snmp_usm_state_create(&s, 0), 0);
	/* first contact sets the notion: boots 5, time 1000 at local 0 ms */
	assert_int_equal(snmp_usm_check_remote_time(s, eid, sizeof(eid), 5, 1000, 0, why, sizeof(why)), 0);
	/* within 150 s behind: accepted (UDP reorders) */
	assert_int_equal(snmp_usm_check_remote_time(s, eid, sizeof(eid), 5, 850, 0, why, sizeof(why)), 0);
	/* 151 s behind: stale */
	assert_int_equal(snmp_usm_check_remote_time(s, eid, sizeof(eid), 5, 849, 0, why, sizeof(why)), -ETIME);
	assert_non_null(strstr(why, "150 s"));
	/* an older boots: a replay from before the sender's reboot */
	assert_int_equal(snmp_usm_check_remote_time(s, eid, sizeof(eid), 4, 99999, 0, why, sizeof(why)), -ETIME);
	assert_non_null(strstr(why, "boots"));
	/* the notion runs with our clock: 200 s later, time 1000 is stale */
	assert_int_equal(snmp_usm_check_remote_time(s, eid, sizeof(eid), 5, 1000, 200000, why, sizeof(why)), -ETIME);
	assert_int_equal(snmp_usm_check_remote_time(s, eid, sizeof(eid), 5, 1060, 200000, why, sizeof(why)), 0);
	/* a reboot (higher boots) resets it */
	assert_int_equal(snmp_usm_check_remote_time(s, eid, sizeof(eid), 6, 3, 200000, why, sizeof(why)), 0);
	assert_int_equal(snmp_usm_check_remote_time(s, eid, sizeof(eid), 5, 1200, 200000, why, sizeof(why)), -ETIME);
	/* engines are independent */
	assert_int_equal(snmp_usm_check_remote_time(s, eid2, sizeof(eid2), 1, 1, 200000, why, sizeof(why)), 0);
	/* boots latched at 2^31-1: nothing is timely any more (RFC 3414 3.2 7b) */
	assert_int_equal(snmp_usm_check_remote_time(s, eid2, sizeof(eid2), INT32_MAX, 1, 200000, why, sizeof(why)), 0);
	assert_int_equal(snmp_usm_check_remote_time(s, eid2, sizeof(eid2), INT32_MAX, 2, 200000, why, sizeof(why)), -ETIME);
	snmp_usm_state_destroy(s);
}

static void test_key_cache(void **state)
{
	struct snmp_usm_state *s;
	struct snmp_usm_keys *a, *b, *c;
	uint8_t ku[64], eid[8] = { 0x80, 0, 0, 0, 0, 0, 0, 1 };

	(void)state;
	assert_int_equal(snmp_usm_password_to_key(SNMP_AUTH_SHA1, "maplesyrup", 10, ku), 0);
	assert_int_equal(snmp_usm_state_create(&s, 0), 0);
	assert_int_equal(snmp_usm_keys_cached(s, 0, eid, sizeof(eid), SNMP_AUTH_SHA1, SNMP_PRIV_AES128,
					      ku, ku, &a), 0);
	assert_int_equal(snmp_usm_keys_cached(s, 0, eid, sizeof(eid), SNMP_AUTH_SHA1, SNMP_PRIV_AES128,
					      ku, ku, &b), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(snmp_usm_keys_cached(s, 1, eid, sizeof(eid), SNMP_AUTH_SHA1, SNMP_PRIV_AES128,
					      ku, ku, &c), 0);
	assert_ptr_not_equal(a, c);
	/* thousands of engine IDs: bounded, evicted entries released (ASan
	 * reports a leak otherwise) */
	for (uint32_t i = 0; i < 5000; i++) {
		memcpy(eid + 4, &i, 4);
		assert_int_equal(snmp_usm_keys_cached(s, 2, eid, sizeof(eid), SNMP_AUTH_SHA1,
						      SNMP_PRIV_DES, ku, ku, &a), 0);
		assert_true(a->ready);
	}
	snmp_usm_state_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_password_to_key),
		cmocka_unit_test(test_password_lengths),
		cmocka_unit_test(test_extend),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_ciphers),
		cmocka_unit_test(test_keys_setup_rules),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_replay_ring),
		cmocka_unit_test(test_replay_covers_window),
		cmocka_unit_test(test_remote_time),
		cmocka_unit_test(test_key_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
