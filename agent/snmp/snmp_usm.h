/* snmp_usm: the User-based Security Model's cryptography (RFC 3414, RFC
 * 3826, RFC 7860), on mbedtls' generic md and cipher APIs (present in both
 * mbedtls 2.28 and 3.6).
 *
 * Keys:
 *   - password to key: RFC 3414 A.2 (1 MiB of the password repeated,
 *     hashed), generalised to the SHA-2 hashes as RFC 7860 9.3 does. It
 *     costs about 1 MiB of hashing (2-5 ms): done once per user at
 *     configuration time, never per packet;
 *   - localisation: Kul = H(Ku || engineID || Ku) (RFC 3414 2.6), one
 *     short hash; the localised key is as long as the digest;
 *   - privacy keys are derived with the user's authentication hash. A key
 *     shorter than the cipher needs (AES-192/256 after MD5, SHA-1 or
 *     SHA-224) is extended as draft-blumenthal-aes-usm-04 3.1.2.1 does:
 *     Kul = Kul || H(Kul), repeated. That is what net-snmp 5.9 does for
 *     its "AES-192" and "AES-256" (checked by decrypting its snmptrap
 *     output; its "AES-192-C"/"AES-256-C" use the Reeder extension,
 *     which ward does not implement).
 *
 * Authentication: HMAC over the whole message with msgAuthenticationParameters
 * zeroed (RFC 3414 6.3.2, 7.3.2; RFC 7860 4.2), truncated to 12 octets
 * (MD5, SHA-1), 16 (SHA-224), 24 (SHA-256), 32 (SHA-384), 48 (SHA-512).
 *
 * Privacy: CBC-DES (RFC 3414 8.1.1: key = first 8 octets of the localised
 * key, IV = last 8 of its first 16 XOR salt), CFB128-AES (RFC 3826 3.1:
 * IV = engine boots || engine time || salt, all big-endian).
 */
#ifndef WARD_SNMP_USM_H
#define WARD_SNMP_USM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/cipher.h>
#include <mbedtls/md.h>

#include "snmp/snmp.h"

#define SNMP_USM_MAX_KEY 64     /* SHA-512 digest */
#define SNMP_USM_MAX_MAC 48     /* HMAC-SHA-512 truncated (RFC 7860) */
#define SNMP_USM_SALT_LEN 8     /* msgPrivacyParameters, DES and AES */

/* Digest length in bytes: the length of Ku and Kul. 0 for NONE. */
size_t snmp_usm_key_len(enum snmp_auth a);
/* msgAuthenticationParameters length in bytes. 0 for NONE. */
size_t snmp_usm_mac_len(enum snmp_auth a);
/* Cipher key length in bytes (8, 16, 24, 32). 0 for NONE. */
size_t snmp_usm_priv_key_len(enum snmp_priv p);

/* RFC 3414 A.2: Ku from a password of `len` (> 0) bytes into ku
 * (snmp_usm_key_len bytes). 0, -EINVAL (NONE or empty), -ENOMEM. */
int snmp_usm_password_to_key(enum snmp_auth a, const char *pw, size_t len, uint8_t *ku);
/* RFC 3414 2.6: Kul = H(Ku || engine ID || Ku) into kul (snmp_usm_key_len
 * bytes). 0, -EINVAL, -ENOMEM. */
int snmp_usm_localize(enum snmp_auth a, const uint8_t *ku, const uint8_t *engine_id,
		      size_t engine_id_len, uint8_t *kul);
/* The privacy key material from a localised privacy key `kul`: extended
 * (Blumenthal, above) to at least `need` bytes into out (room for
 * SNMP_USM_MAX_KEY * 2). 0, -EINVAL, -ENOMEM. */
int snmp_usm_extend_key(enum snmp_auth a, const uint8_t *kul, size_t need, uint8_t *out);

/* Localised keys for one user at one authoritative engine, set up for
 * repeated use: the HMAC context is keyed once (its inner and outer pads
 * hashed), so checking a message costs the message's hashing only. */
struct snmp_usm_keys {
	enum snmp_auth auth;
	enum snmp_priv priv;
	bool ready;
	mbedtls_md_context_t hmac;
	mbedtls_cipher_context_t dec;   /* privacy, keyed for decryption */
	uint8_t priv_key[32];
	uint8_t des_pre_iv[8];
};

/* Sets up *k from the user's Ku values (auth_ku, priv_ku; priv_ku may be
 * NULL when priv is NONE) for engine ID `eid`. The struct must be zeroed
 * or released before. 0, -EINVAL, -ENOMEM. */
int snmp_usm_keys_setup(struct snmp_usm_keys *k, enum snmp_auth auth, enum snmp_priv priv,
			const uint8_t *auth_ku, const uint8_t *priv_ku, const uint8_t *eid,
			size_t eid_len);
/* Frees the contexts; the struct is zeroed. NULL-safe. */
void snmp_usm_keys_release(struct snmp_usm_keys *k);

/* Checks msgAuthenticationParameters: `mac_off` is its offset in the
 * `len`-byte message and `mac_len` its length. The HMAC runs over the
 * message as if those bytes were zero, without copying it, and compares in
 * constant time. 0, -EBADMSG (wrong digest or wrong length), -EIO. */
int snmp_usm_auth_check(struct snmp_usm_keys *k, const uint8_t *msg, size_t len, size_t mac_off,
			size_t mac_len);
/* Writes the HMAC of `len` bytes of msg (whose mac_len bytes at mac_off
 * are zero) into msg + mac_off. 0 or -EIO. */
int snmp_usm_auth_sign(struct snmp_usm_keys *k, uint8_t *msg, size_t len, size_t mac_off);

/* Decrypts an encryptedPDU of `len` bytes into out (room for len bytes).
 * salt is msgPrivacyParameters (8 bytes); boots and time are the message's
 * msgAuthoritativeEngineBoots/Time (used by AES). DES needs len a
 * multiple of 8. 0, -EBADMSG (a length DES cannot take), -EIO. */
int snmp_usm_decrypt(struct snmp_usm_keys *k, uint32_t boots, uint32_t time,
		     const uint8_t *salt, const uint8_t *in, size_t len, uint8_t *out);
/* Encrypts `len` bytes into out (room for len + 8: DES pads to a multiple
 * of 8 with zeros) and sets *out_len. salt is ours (8 bytes). 0, -ENOMEM,
 * -EIO. */
int snmp_usm_encrypt(struct snmp_usm_keys *k, uint32_t boots, uint32_t time,
		     const uint8_t *salt, const uint8_t *in, size_t len, uint8_t *out,
		     size_t *out_len);

/* ---- state ---------------------------------------------------------------
 * Tables an engine keeps between messages, with memory fixed at creation
 * whatever senders do:
 *   - localised keys per (user, engine ID) for users not bound to one
 *     engine ID: a set-associative cache (a hash picks a set of 4 ways,
 *     the least recently used way is replaced) of 1024 entries, about
 *     0.4 KiB each when used;
 *   - the clocks of remote authoritative engines (trap senders): the
 *     same kind of cache, 1024 engine IDs;
 *   - the replay cache: the digests (msgAuthenticationParameters) of the
 *     last `replay_slots` authenticated messages that made a record, each
 *     kept until its message falls out of the time window (below).
 *
 * What the replay cache covers. RFC 3414's time window lets a copy of an
 * authenticated message through for up to 150 s (a trap: its sender's
 * time may lag our notion of it by 150 s) or 300 s (an inform: its time
 * may be up to 150 s ahead of ours, then 150 s behind). The cache rejects
 * every exact copy for that whole span as long as it holds all messages
 * of the span: at the default 131072 slots, 5 MiB, that is a sustained
 * 870 authenticated traps a second (430 informs). Beyond that the oldest
 * digests are dropped early, a copy of one of them inside its window is
 * accepted as new, and each such drop is counted (evicted_live), so the
 * status shows when traffic outgrows the cache.
 */
#define SNMP_USM_REPLAY_DEFAULT 131072u       /* slots: 5 MiB */
#define SNMP_USM_REPLAY_MIN 16u
#define SNMP_USM_REPLAY_MAX 4194304u          /* 160 MiB */
#define SNMP_USM_REPLAY_KEY 16                /* digest bytes kept */
#define SNMP_USM_REPLAY_SLOT_BYTES 40         /* a slot, its link and its hash head */

struct snmp_usm_state;

/* replay_slots: the replay cache's size in messages; 0 = the default.
 * 0, -EINVAL (outside MIN..MAX), -ENOMEM. */
int snmp_usm_state_create(struct snmp_usm_state **out, uint32_t replay_slots);
void snmp_usm_state_destroy(struct snmp_usm_state *s);      /* NULL-safe */

/* Localised keys of user number `user` (the caller's index; auth/priv and
 * the Ku values are that user's) for engine ID `eid`, set up on a miss.
 * *out stays valid until the next call. 0, -ENOMEM, -EIO. */
int snmp_usm_keys_cached(struct snmp_usm_state *s, uint32_t user, const uint8_t *eid,
			 size_t eid_len, enum snmp_auth auth, enum snmp_priv priv,
			 const uint8_t *auth_ku, const uint8_t *priv_ku,
			 struct snmp_usm_keys **out);

/* RFC 3414 3.2 step 7b, timeliness when the sender is authoritative (a
 * trap): the local notion of engine `eid`'s boots and time, advanced by
 * the local clock (now_ms, monotonic milliseconds), must not be ahead of
 * the message's by more than 150 s or a reboot; a newer message updates
 * the notion. Call only for authenticated messages. 0, or -ETIME with
 * the reason in why. An engine not seen before (or evicted) is accepted
 * and learnt. */
int snmp_usm_check_remote_time(struct snmp_usm_state *s, const uint8_t *eid, size_t eid_len,
			       uint32_t boots, uint32_t time, uint64_t now_ms, char *why,
			       size_t whylen);

/* The replay cache. `mac` is a message's msgAuthenticationParameters
 * (>= 12 bytes; the first 16 are kept), now_ms the monotonic clock.
 *
 * find: true when the message was added and has not expired; *seq is
 * what snmp_usm_replay_set_seq() stored for it (0 if nothing yet).
 * add: remembers the message until expire_ms, when it leaves the time
 * window; the oldest slot is taken when the cache is full. O(1).
 * set_seq: stores seq (the spool seq of the message's record) with the
 * message; seq 0 forgets it, so that a copy counts as new. */
bool snmp_usm_replay_find(struct snmp_usm_state *s, const uint8_t *mac, size_t len,
			  uint64_t now_ms, uint64_t *seq);
void snmp_usm_replay_add(struct snmp_usm_state *s, const uint8_t *mac, size_t len,
			 uint64_t now_ms, uint64_t expire_ms);
void snmp_usm_replay_set_seq(struct snmp_usm_state *s, const uint8_t *mac, size_t len,
			     uint64_t now_ms, uint64_t seq);

struct snmp_usm_replay_stats {
	uint32_t slots;         /* capacity in messages */
	uint32_t used;          /* slots holding a digest (some may have expired) */
	uint64_t bytes;         /* memory of the cache, allocated at creation */
	uint64_t evicted_live;  /* digests dropped inside their window */
};
void snmp_usm_replay_stats(const struct snmp_usm_state *s, struct snmp_usm_replay_stats *st);

#endif
