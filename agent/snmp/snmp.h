/* snmp: the SNMP notification receiver's protocol engine.
 *
 * One call, snmp_engine_process(), takes one received UDP datagram and
 * returns what to do with it: a record to spool (a trap or an inform), a
 * datagram to send back (the Response to an inform, or a Report for
 * engine discovery and USM errors), or a counted reject. It does no I/O:
 * the network layer (snmp_net.c) owns sockets, the spool and timing, so
 * that it can hold an inform's Response until the record is durable.
 *
 * Versions: SNMPv1 Trap-PDU (RFC 1157 4.1.6), SNMPv2c SNMPv2-Trap-PDU and
 * InformRequest-PDU (RFC 1901, RFC 3416), SNMPv3 with the User-based
 * Security Model (RFC 3412, RFC 3414): noAuthNoPriv, authNoPriv, authPriv;
 * HMAC-MD5-96 and HMAC-SHA-96 (RFC 3414), HMAC-SHA-2 (RFC 7860); CBC-DES
 * (RFC 3414 8), CFB128-AES-128 (RFC 3826) and AES-192/256 with the key
 * extension net-snmp uses for its "AES-192"/"AES-256"
 * (draft-blumenthal-aes-usm-04 3.1.2.1, verified against snmptrap; not
 * the Reeder extension of net-snmp's "AES-192-C"/"AES-256-C").
 *
 * Engine IDs: for traps the sender is authoritative, so each configured
 * user is bound to the sender's engine ID (configured, or any when not
 * given: the key is then localised per engine ID seen and cached). For
 * informs the probe is authoritative: discovery gets a Report with
 * usmStatsUnknownEngineIDs and the probe's engine ID, boots and time; the
 * time window (RFC 3414 3.2 step 7, 150 s) is enforced and answered with
 * an authenticated Report so senders resynchronise. For traps the engine
 * keeps each sender engine's latest boots/time (RFC 3414 3.2 step 7b).
 * For both it keeps the digests of recent authenticated messages,
 * rejecting exact replays inside the time window (snmp_usm.h says how
 * many it holds); snmp_engine.c explains what that protects and what it
 * cannot.
 *
 * Informs and their retransmissions. An inform's Response may go only
 * once its record is durable. A sender that hears nothing retransmits;
 * net-snmp resends the very same bytes, which the engine sees as a
 * replay: recorded once, answered again, but again only once the first
 * copy's record is durable. So the caller tells the engine where each
 * record went (snmp_engine_record_stored), and a replayed inform carries
 * that seq (rx->replay_seq) to wait for. A record the spool refused is
 * forgotten, so its retransmission is taken as new.
 *
 * A user's configured level is the only one accepted from that user: an
 * authPriv user's name in a noAuthNoPriv message is rejected
 * (unsupported security level), not taken at the lower level.
 *
 * Ownership: the caller owns the engine and every struct it passes in;
 * the engine copies what it keeps from the options.
 */
#ifndef WARD_SNMP_H
#define WARD_SNMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"

enum snmp_auth { SNMP_AUTH_NONE = 0, SNMP_AUTH_MD5, SNMP_AUTH_SHA1, SNMP_AUTH_SHA224,
		 SNMP_AUTH_SHA256, SNMP_AUTH_SHA384, SNMP_AUTH_SHA512 };
enum snmp_priv { SNMP_PRIV_NONE = 0, SNMP_PRIV_DES, SNMP_PRIV_AES128, SNMP_PRIV_AES192,
		 SNMP_PRIV_AES256 };

struct snmp_user {
	const char *name;             /* msgUserName */
	enum snmp_auth auth;
	const char *auth_password;    /* >= 8 characters (RFC 3414 11.2) */
	enum snmp_priv priv;
	const char *priv_password;
	const uint8_t *engine_id;     /* the sender's engine ID for traps; NULL = any */
	size_t engine_id_len;
};

struct snmp_engine_opts {
	const uint8_t *engine_id;     /* ours, authoritative for informs (5..32 bytes) */
	size_t engine_id_len;
	uint32_t boots;               /* snmpEngineBoots: persisted and incremented
	                               * by the caller at each start, and at each
	                               * re-creation: snmpEngineTime restarts from 0
	                               * with every engine (RFC 3414 2.2.2) */
	const struct snmp_user *users;
	unsigned n_users;
	const char *const *communities;   /* accepted v1/v2c communities */
	unsigned n_communities;
	bool accept_any_community;
	bool accept_any_user;         /* v3 noAuthNoPriv traps from unknown users */
	bool record_community;        /* put the community string in records
	                               * (default false: it is a credential) */
	const char *oid_names_file;   /* optional "OID name" lines; NULL = none */
	uint32_t replay_slots;        /* the replay cache, in messages (snmp_usm.h):
	                               * 16..4194304, 40 bytes each; 0 = 131072 */
	/* Monotonic clock in ms for snmpEngineTime and the time windows;
	 * NULL = CLOCK_MONOTONIC (clock_mono_ms). Tests set their own. */
	uint64_t (*mono_ms)(void *arg);
	void *mono_arg;
};

/* Why a datagram was not turned into a record. Counted per source. */
enum snmp_reject {
	SNMP_OK = 0,
	SNMP_REJ_BER,                 /* malformed BER/ASN.1 */
	SNMP_REJ_VERSION,             /* unknown msgVersion */
	SNMP_REJ_PDU_TYPE,            /* not a notification (get, set, response...) */
	SNMP_REJ_COMMUNITY,           /* unknown community */
	SNMP_REJ_UNKNOWN_ENGINE,      /* usmStatsUnknownEngineIDs */
	SNMP_REJ_UNKNOWN_USER,        /* usmStatsUnknownUserNames */
	SNMP_REJ_UNSUPPORTED_SECLEVEL,/* usmStatsUnsupportedSecLevels */
	SNMP_REJ_WRONG_DIGEST,        /* usmStatsWrongDigests */
	SNMP_REJ_NOT_IN_TIME_WINDOW,  /* usmStatsNotInTimeWindows */
	SNMP_REJ_DECRYPTION,          /* usmStatsDecryptionErrors */
	SNMP_REJ_DISCOVERY,           /* an engine discovery probe: answered, no record */
	SNMP_REJ_INVALID,             /* snmpInvalidMsgs (RFC 3412 7.2 step 5): privacy
	                               * without authentication, msgData in the wrong form */
	SNMP_REJ_SECURITY_MODEL,      /* snmpUnknownSecurityModels: not USM */
	SNMP_REJ_REPLAY,              /* an authenticated message seen before (inside
	                               * the time window); a replayed inform is
	                               * recorded once and answered again once the
	                               * first copy's record is durable */
	SNMP_REJ__COUNT
};

struct snmp_rx {
	enum snmp_reject reject;      /* SNMP_OK when a record was produced */
	bool inform;                  /* `response` answers an InformRequest: send it
	                               * only once a record is durable: with SNMP_OK
	                               * this one's (at the seq it is appended at),
	                               * with SNMP_REJ_REPLAY the first copy's, at
	                               * replay_seq. Any other non-empty response
	                               * (a Report) goes at once */
	uint64_t replay_seq;          /* SNMP_REJ_REPLAY of an inform: the seq the
	                               * first copy's record was stored at, as told by
	                               * snmp_engine_record_stored(). Without it (not
	                               * told, or refused) there is no response */
	struct buf record;            /* one JSON object, no newline (docs/schema/snmp_trap.schema.json) */
	struct buf response;          /* datagram to send to the sender, if len > 0 */
	char detail[160];             /* plain words for a reject, e.g. "unknown user 'bob'" */
	/* The engine's: the message's digest, for snmp_engine_record_stored. */
	uint8_t digest[16];
	uint8_t digest_len;
};

struct snmp_engine;

/* Creates an engine. Costs about 1 MiB of hashing per password (RFC 3414
 * A.2), done here once and never per packet. Errors, with a reason in err:
 * -EINVAL (engine ID not 5..32 bytes, bad user: name not 1..32 bytes,
 * password not 8..256 characters, privacy without authentication, the
 * same name twice for one engine ID; or a bad line in the OID names file,
 * as "file:line: what"), -errno of opening/reading that file, -ENOMEM. */
int snmp_engine_create(struct snmp_engine **out, const struct snmp_engine_opts *o,
		       char *err, size_t errlen);
/* NULL-safe. */
void snmp_engine_destroy(struct snmp_engine *e);

void snmp_rx_init(struct snmp_rx *rx);
void snmp_rx_free(struct snmp_rx *rx);

/* Processes one datagram of `len` bytes from `from`, received at `now_us`
 * (µs since the epoch; the engine keeps its own monotonic time for
 * snmpEngineTime). Resets and fills *rx. Returns 0 (see rx->reject),
 * -ENOMEM, or -EIO if the crypto library fails. Never fails on bad input:
 * that is a reject. Allocates nothing per message once its buffers (rx's
 * and the engine's) have grown to the largest message seen; a v3 user not
 * bound to an engine ID has its keys localised once per sender engine ID
 * and cached (1024 entries). Not thread-safe: one engine per thread. */
int snmp_engine_process(struct snmp_engine *e, const uint8_t *pkt, size_t len,
			const struct sockaddr *from, int64_t now_us, struct snmp_rx *rx);

/* Tells the engine what became of the record in *rx (from the last
 * snmp_engine_process with that rx, reject SNMP_OK): `seq` is the spool
 * seq it was appended at, or 0 when it was not kept (the spool refused
 * it). Kept, a retransmission of an authenticated message is a replay
 * whose Response waits for `seq`; refused, the message is forgotten and a
 * retransmission is taken as new. A caller that never calls this gets
 * replays recorded once and never answered. */
void snmp_engine_record_stored(struct snmp_engine *e, const struct snmp_rx *rx, uint64_t seq);

/* The usmStats counters and the rejects, since creation, and the replay
 * cache's figures (snmp_usm.h). */
struct snmp_counters {
	uint64_t packets;
	uint64_t traps, informs;
	uint64_t rejects[SNMP_REJ__COUNT];
	uint32_t replay_slots, replay_used;
	uint64_t replay_bytes;
	uint64_t replay_evicted_live;   /* digests dropped inside their window */
};
void snmp_engine_counters(const struct snmp_engine *e, struct snmp_counters *c);

/* "ber", "version", ... for status and logs. */
const char *snmp_reject_name(enum snmp_reject r);
/* Parses "md5", "sha", "sha224", ... / "des", "aes", "aes192", "aes256"
 * (case-insensitive; "none" too). 0 or -EINVAL. */
int snmp_auth_parse(const char *s, enum snmp_auth *out);
int snmp_priv_parse(const char *s, enum snmp_priv *out);

#endif
