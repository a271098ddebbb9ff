/* snmp_engine: one datagram in, a record, a datagram to send back, or a
 * counted reject out (snmp.h). Message processing follows RFC 3412 7.2
 * and USM's incoming-message steps of RFC 3414 3.2; the cryptography is in
 * snmp_usm.c, the BER in snmp_ber.c and snmp_pdu.c, the record in
 * snmp_record.c.
 *
 * Replay protection for traps (the sender is authoritative). RFC 3414
 * 3.2 step 7b keeps, per remote engine ID, the latest boots and time seen
 * in an authenticated message and lets that notion of time run with the
 * local clock; a message whose boots is lower, or whose time is more than
 * 150 s behind the notion, is rejected (not-in-time-window). On top of
 * that the engine remembers the digests of recent authenticated messages
 * (snmp_usm_replay_find) and rejects an exact copy inside the window, which
 * RFC 3414 alone would accept; informs get the same (a retransmitted
 * inform is such a copy, see snmp.h). What this cannot do:
 *   - the state is in memory: after a restart (or an eviction from the
 *     bounded tables) the first authenticated message from an engine is
 *     trusted as its new notion, so an attacker holding old captures can
 *     replay them once, in time order, until the real sender speaks again;
 *   - a sender that does not persist snmpEngineBoots (RFC 3414 2.2.2
 *     requires it) goes back to boots 1 after a reboot and is rejected
 *     until its time passes the old notion; the reject detail says so;
 *   - two senders configured with one engine ID share one notion.
 *   - the replay cache holds a bounded number of digests (snmp_usm.h):
 *     above the rate it covers, a copy of a message whose digest was
 *     dropped early passes inside its window; status counts each drop;
 *   - a reconfiguration creates a new engine, with empty tables.
 * Records carry engine_boots and engine_time so the SOC can spot
 * regressions that the probe could not reject.
 */
#include "snmp/snmp.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "clock.h"
#include "snmp_ber.h"
#include "snmp_oids.h"
#include "snmp_pdu.h"
#include "snmp_record.h"
#include "snmp_usm.h"
#include "syslog/syslog_charset.h"

#define TIME_WINDOW_S 150       /* RFC 3414 3.2 step 7 */
/* How long a trap's copy stays timely after the original was accepted:
 * the notion of the sender's time is at least the original's time then,
 * and runs with our clock (whole seconds, so one more for rounding). */
#define TRAP_REPLAY_MS ((TIME_WINDOW_S + 2) * 1000u)

_Static_assert(sizeof(((struct snmp_rx *)0)->digest) == SNMP_USM_REPLAY_KEY,
	       "snmp_rx.digest holds what the replay cache keeps");

struct user_ent {
	char name[SNMP_USM_MAX_USER + 1];
	size_t name_len;
	enum snmp_auth auth;
	enum snmp_priv priv;
	uint8_t auth_ku[SNMP_USM_MAX_KEY], priv_ku[SNMP_USM_MAX_KEY];
	bool bound;                     /* to the sender engine ID below */
	uint8_t eid[SNMP_USM_MAX_ENGINE_ID];
	size_t eid_len;
	struct snmp_usm_keys bound_keys;        /* localised to eid */
	struct snmp_usm_keys our_keys;          /* localised to our engine ID */
};

struct snmp_engine {
	uint8_t eid[SNMP_USM_MAX_ENGINE_ID];
	size_t eid_len;
	uint32_t boots;
	uint64_t (*mono_ms)(void *arg);
	void *mono_arg;
	uint64_t start_ms;
	struct user_ent *users;
	unsigned n_users;
	struct snmp_bytes *communities; /* owned copies */
	unsigned n_communities;
	bool any_community, any_user, record_community;
	struct snmp_oids *names;
	struct charset_conv *conv;
	struct snmp_usm_state *usm;
	struct buf scratch;             /* the record writer's */
	struct buf plain;               /* a decrypted ScopedPDU */
	struct buf scoped, cipher;      /* a Response's ScopedPDU, encrypted */
	uint64_t salt;                  /* RFC 3826 3.1.2.1 / RFC 3414 8.1.1.1 */
	struct snmp_counters c;
};

/* One message being processed. */
struct job {
	struct snmp_engine *e;
	const uint8_t *pkt;
	size_t len;
	const struct sockaddr *from;
	int64_t now_us;
	uint64_t now_ms;
	struct snmp_rx *rx;
	struct snmp_msg m;
	struct snmp_pdu pdu;
	struct snmp_ber_diag diag;
	/* v3 */
	struct user_ent *user;          /* NULL: an unknown user accepted as any */
	struct snmp_usm_keys *keys;
	bool authoritative;
	uint8_t level;                  /* msgFlags & (AUTH | PRIV) */
};

static uint64_t mono_default(void *arg)
{
	(void)arg;
	return clock_mono_ms();
}

static uint32_t engine_time(const struct snmp_engine *e, uint64_t now_ms)
{
	uint64_t t = (now_ms - e->start_ms) / 1000;

	return t > INT32_MAX ? INT32_MAX : (uint32_t)t;
}

/* Untrusted bytes made printable for a detail line. */
static void sanitize(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 1 < cap; i++)
		dst[k++] = (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'') ? (char)p[i] : '?';
	dst[k] = '\0';
}

static void hex(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 3 <= cap; i++)
		k += (size_t)snprintf(dst + k, cap - k, "%02x", p[i]);
	dst[k] = '\0';
}

/* ---- rejects ---------------------------------------------------------- */

static enum snmp_reject decode_reject(struct job *j, int rc)
{
	char *d = j->rx->detail;
	size_t n = sizeof(j->rx->detail);

	switch (rc) {
	case -EPROTONOSUPPORT:
		snprintf(d, n, "unknown SNMP version");
		return SNMP_REJ_VERSION;
	case -EOPNOTSUPP:
		snprintf(d, n, "PDU is not a trap or inform for this version");
		return SNMP_REJ_PDU_TYPE;
	case -EPROTO:
		snprintf(d, n, "msgFlags 0x%02x do not match msgData", j->m.msg_flags);
		return SNMP_REJ_INVALID;
	case -ESOCKTNOSUPPORT:
		snprintf(d, n, "security model %lld is not USM", (long long)j->m.security_model);
		return SNMP_REJ_SECURITY_MODEL;
	default:
		snprintf(d, n, "malformed BER: %s at offset %zu",
			 j->diag.what ? j->diag.what : "bad encoding", j->diag.off);
		return SNMP_REJ_BER;
	}
}

/* usmStats counters (RFC 3414 5), usmStatsX.0 = 1.3.6.1.6.3.15.1.1.X.0. */
static uint32_t usm_stats_arc(enum snmp_reject r)
{
	switch (r) {
	case SNMP_REJ_UNSUPPORTED_SECLEVEL: return 1;
	case SNMP_REJ_NOT_IN_TIME_WINDOW: return 2;
	case SNMP_REJ_UNKNOWN_USER: return 3;
	case SNMP_REJ_UNKNOWN_ENGINE:
	case SNMP_REJ_DISCOVERY: return 4;
	case SNMP_REJ_WRONG_DIGEST: return 5;
	default: return 6;
	}
}

/* Answers a reportable message with a Report (RFC 3412 7.1 step 3, RFC
 * 3414 3.2): our engine ID, boots and time, the usmStats counter that
 * counted the failure. Unauthenticated, except for not-in-time-window,
 * which RFC 3414 3.2 step 7a sends at authNoPriv so the sender can trust
 * the time it learns. Returns r, or -ENOMEM. */
static int report(struct job *j, enum snmp_reject r, bool secured)
{
	struct snmp_engine *e = j->e;
	uint32_t arc = usm_stats_arc(r);
	uint32_t oid[11] = { 1, 3, 6, 1, 6, 3, 15, 1, 1, arc, 0 };
	uint64_t count = e->c.rejects[r] + 1;
	uint8_t vb[64];
	struct snmp_benc enc;
	struct snmp_bytes vbl, ours = { e->eid, e->eid_len }, empty = { NULL, 0 };
	struct snmp_v3_out o;
	int64_t request_id = 0;
	size_t mark, mac_off;
	int rc;

	if (!(j->m.msg_flags & SNMP_FLAG_REPORTABLE))
		return r;
	if (r == SNMP_REJ_UNKNOWN_ENGINE || r == SNMP_REJ_DISCOVERY)
		count = e->c.rejects[SNMP_REJ_UNKNOWN_ENGINE] + e->c.rejects[SNMP_REJ_DISCOVERY] + 1;
	snmp_benc_init(&enc, vb, sizeof(vb));
	mark = snmp_benc_mark(&enc);
	snmp_benc_uint(&enc, SNMP_TAG_COUNTER32, (uint32_t)count);
	snmp_benc_oid(&enc, oid, 11);
	snmp_benc_wrap(&enc, SNMP_TAG_SEQUENCE, mark);
	snmp_benc_wrap(&enc, SNMP_TAG_SEQUENCE, mark);
	if (snmp_benc_finish(&enc, &vbl.p, &vbl.n) < 0)
		return r;
	/* The request-id when it can be read (a plaintext PDU); the sender
	 * matches Reports by msgID anyway (RFC 3412 7.2 step 13). */
	if (j->m.scoped.p != NULL)
		(void)snmp_scoped_request_id(j->m.scoped.p, j->m.scoped.n, &request_id);
	rc = snmp_encode_scoped(&e->scoped, &ours, &empty, SNMP_PDU_REPORT, request_id, &vbl);
	if (rc < 0)
		return rc == -ENOMEM ? rc : (int)r;
	o = (struct snmp_v3_out){
		.msg_id = j->m.msg_id,
		.flags = secured ? SNMP_FLAG_AUTH : 0,
		.engine_id = ours,
		.user = j->m.user,
		.priv_params = empty,
		.data = { e->scoped.data, e->scoped.len },
		.boots = e->boots,
		.time = engine_time(e, j->now_ms),
		.mac_len = secured ? snmp_usm_mac_len(j->keys->auth) : 0,
	};
	rc = snmp_encode_v3(&j->rx->response, &o, &mac_off);
	if (rc == 0 && secured)
		rc = snmp_usm_auth_sign(j->keys, j->rx->response.data, j->rx->response.len, mac_off);
	if (rc < 0) {
		buf_reset(&j->rx->response);
		if (rc == -ENOMEM)
			return rc;
	}
	return r;
}

/* ---- records and responses -------------------------------------------- */

static const char *level_name(uint8_t level)
{
	return level == 0 ? "noAuthNoPriv" : level == SNMP_FLAG_AUTH ? "authNoPriv" : "authPriv";
}

static int write_record(struct job *j, const uint8_t *pdu_base, int community_idx)
{
	struct snmp_engine *e = j->e;
	struct snmp_record_in in = {
		.recv_us = j->now_us,
		.from = j->from,
		.m = &j->m,
		.pdu = &j->pdu,
		.pdu_base = pdu_base,
		.community_idx = community_idx,
		.record_community = e->record_community,
		.security_level = level_name(j->level),
	};

	return snmp_record_write(&j->rx->record, &in, e->names, e->conv, &e->scratch);
}

/* The Response to a v3 InformRequest, secured as the request was: same
 * user, same level, our engine ID, boots and time (RFC 3412 7.1, RFC 3414
 * 3.1). 0, or -ENOMEM; other failures leave no response. */
static int v3_response(struct job *j)
{
	struct snmp_engine *e = j->e;
	struct snmp_bytes ours = { e->eid, e->eid_len };
	uint32_t now = engine_time(e, j->now_ms);
	struct snmp_v3_out o;
	uint8_t salt[SNMP_USM_SALT_LEN];
	size_t mac_off;
	int rc;

	rc = snmp_encode_scoped(&e->scoped, &j->pdu.context_engine_id, &j->pdu.context_name,
				SNMP_PDU_RESPONSE, j->pdu.request_id, &j->pdu.vbl_tlv);
	o = (struct snmp_v3_out){
		.msg_id = j->m.msg_id, .flags = j->level, .engine_id = ours, .user = j->m.user,
		.data = { e->scoped.data, e->scoped.len }, .boots = e->boots, .time = now,
		.mac_len = j->keys ? snmp_usm_mac_len(j->keys->auth) : 0,
	};
	if (rc == 0 && (j->level & SNMP_FLAG_PRIV)) {
		uint64_t s = e->salt++;
		size_t n = 0;

		/* RFC 3414 8.1.1.1: DES salt = boots || a local counter;
		 * RFC 3826 3.1.2.1: AES salt = a 64-bit counter. */
		if (j->keys->priv == SNMP_PRIV_DES)
			s = (uint64_t)e->boots << 32 | (uint32_t)s;
		for (int i = 0; i < 8; i++)
			salt[i] = (uint8_t)(s >> (56 - 8 * i));
		rc = buf_reserve(&e->cipher, e->scoped.len + 8);
		if (rc == 0)
			rc = snmp_usm_encrypt(j->keys, e->boots, now, salt, e->scoped.data,
					      e->scoped.len, e->cipher.data, &n);
		o.priv_params = (struct snmp_bytes){ salt, sizeof(salt) };
		o.data = (struct snmp_bytes){ e->cipher.data, n };
	}
	if (rc == 0)
		rc = snmp_encode_v3(&j->rx->response, &o, &mac_off);
	if (rc == 0 && (j->level & SNMP_FLAG_AUTH))
		rc = snmp_usm_auth_sign(j->keys, j->rx->response.data, j->rx->response.len, mac_off);
	if (rc < 0)
		buf_reset(&j->rx->response);
	return rc == -ENOMEM ? rc : 0;
}

/* ---- v1 and v2c --------------------------------------------------------- */

/* The index of the configured community matching, -1 for none. Every
 * entry is compared in full, so the time taken does not tell how much of
 * a guess was right. */
static int match_community(const struct snmp_engine *e, const struct snmp_bytes *c)
{
	int found = -1;

	for (unsigned i = 0; i < e->n_communities; i++) {
		const struct snmp_bytes *k = &e->communities[i];
		uint8_t diff = k->n != c->n;

		for (size_t b = 0; b < k->n && b < c->n; b++)
			diff |= (uint8_t)(k->p[b] ^ c->p[b]);
		if (diff == 0 && found < 0)
			found = (int)i;
	}
	return found;
}

static int process_community(struct job *j)
{
	struct snmp_engine *e = j->e;
	int idx = match_community(e, &j->m.community);
	int rc;

	if (idx < 0 && !e->any_community) {
		snprintf(j->rx->detail, sizeof(j->rx->detail), "unknown community (%zu bytes)",
			 j->m.community.n);
		return SNMP_REJ_COMMUNITY;
	}
	rc = write_record(j, j->pkt, idx);
	if (rc < 0)
		return rc;
	if (j->pdu.type == SNMP_PDU_INFORM) {
		j->rx->inform = true;
		rc = snmp_encode_v2c_response(&j->rx->response, &j->m.community,
					      j->pdu.request_id, &j->pdu.vbl_tlv);
		if (rc < 0)
			buf_reset(&j->rx->response);
		if (rc == -ENOMEM)
			return rc;
	}
	return SNMP_OK;
}

/* ---- v3 ------------------------------------------------------------------ */

static uint8_t user_level(const struct user_ent *u)
{
	return (u->auth != SNMP_AUTH_NONE ? SNMP_FLAG_AUTH : 0) |
	       (u->priv != SNMP_PRIV_NONE ? SNMP_FLAG_PRIV : 0);
}

static bool eid_is(const struct snmp_bytes *b, const uint8_t *eid, size_t len)
{
	return b->n == len && memcmp(b->p, eid, len) == 0;
}

/* The configured user for msgUserName at this engine ID: one bound to
 * exactly this engine ID, else one bound to none; for a message to our
 * own engine ID (an inform) any user of that name, since its keys are
 * localised to our ID whatever it is bound to for traps. */
static enum snmp_reject find_user(struct job *j)
{
	struct snmp_engine *e = j->e;
	struct user_ent *named = NULL, *unbound = NULL;
	char name[SNMP_USM_MAX_USER + 1], id[2 * SNMP_USM_MAX_ENGINE_ID + 1];

	for (unsigned i = 0; i < e->n_users; i++) {
		struct user_ent *u = &e->users[i];

		if (u->name_len != j->m.user.n || memcmp(u->name, j->m.user.p, u->name_len) != 0)
			continue;
		if (u->bound && eid_is(&j->m.engine_id, u->eid, u->eid_len)) {
			j->user = u;
			return SNMP_OK;
		}
		if (named == NULL)
			named = u;
		if (!u->bound && unbound == NULL)
			unbound = u;
	}
	j->user = unbound ? unbound : j->authoritative ? named : NULL;
	if (j->user != NULL)
		return SNMP_OK;
	sanitize(name, sizeof(name), j->m.user.p, j->m.user.n);
	if (named != NULL) {
		hex(id, sizeof(id), j->m.engine_id.p, j->m.engine_id.n);
		snprintf(j->rx->detail, sizeof(j->rx->detail),
			 "user '%s' is not configured for engine ID %s", name, id);
		return SNMP_REJ_UNKNOWN_ENGINE;
	}
	if (e->any_user && j->level == 0)
		return SNMP_OK;         /* accepted as any, j->user NULL */
	snprintf(j->rx->detail, sizeof(j->rx->detail), "unknown user '%s'", name);
	return SNMP_REJ_UNKNOWN_USER;
}

static int select_keys(struct job *j)
{
	struct snmp_engine *e = j->e;
	struct user_ent *u = j->user;

	if (j->authoritative) {
		j->keys = &u->our_keys;
		return 0;
	}
	if (u->bound) {
		j->keys = &u->bound_keys;
		return 0;
	}
	return snmp_usm_keys_cached(e->usm, (uint32_t)(u - e->users), j->m.engine_id.p,
				    j->m.engine_id.n, u->auth, u->priv, u->auth_ku, u->priv_ku,
				    &j->keys);
}

/* RFC 3414 3.2 step 7. Returns SNMP_OK or a reject (reported). */
static int check_time(struct job *j)
{
	struct snmp_engine *e = j->e;
	char why[96];

	if (j->authoritative) {
		int64_t now = engine_time(e, j->now_ms);

		/* 7a: we are authoritative: boots must be ours, time within
		 * 150 s of ours either way. */
		if (e->boots == INT32_MAX || j->m.engine_boots != e->boots ||
		    j->m.engine_time > now + TIME_WINDOW_S || j->m.engine_time < now - TIME_WINDOW_S) {
			snprintf(j->rx->detail, sizeof(j->rx->detail),
				 "boots/time %lld/%lld outside ours %u/%lld +-150 s",
				 (long long)j->m.engine_boots, (long long)j->m.engine_time, e->boots,
				 (long long)now);
			return report(j, SNMP_REJ_NOT_IN_TIME_WINDOW, true);
		}
		return SNMP_OK;
	}
	if (snmp_usm_check_remote_time(e->usm, j->m.engine_id.p, j->m.engine_id.n,
				       (uint32_t)j->m.engine_boots, (uint32_t)j->m.engine_time,
				       j->now_ms, why, sizeof(why)) < 0) {
		snprintf(j->rx->detail, sizeof(j->rx->detail), "%s", why);
		return SNMP_REJ_NOT_IN_TIME_WINDOW;
	}
	return SNMP_OK;
}

/* RFC 3414 3.2 step 8, then the ScopedPDU. Sets *base, *p, *n to the
 * plaintext ScopedPDU. */
static int decrypt(struct job *j, const uint8_t **p, size_t *n, size_t *pad)
{
	struct snmp_engine *e = j->e;
	const struct snmp_bytes *c = &j->m.encrypted;
	struct snmp_ber top;
	struct snmp_tlv t;
	int rc;

	if (j->m.priv_params.n != SNMP_USM_SALT_LEN) {
		snprintf(j->rx->detail, sizeof(j->rx->detail), "msgPrivacyParameters of %zu bytes",
			 j->m.priv_params.n);
		return report(j, SNMP_REJ_DECRYPTION, false);
	}
	rc = buf_reserve(&e->plain, c->n + 1);
	if (rc < 0)
		return rc;
	rc = snmp_usm_decrypt(j->keys, (uint32_t)j->m.engine_boots, (uint32_t)j->m.engine_time,
			      j->m.priv_params.p, c->p, c->n, e->plain.data);
	/* A wrong privacy key still "decrypts", into noise: the ScopedPDU's
	 * own header is the first thing that can tell. */
	if (rc == 0) {
		*pad = j->keys->priv == SNMP_PRIV_DES ? 7 : 0;
		snmp_ber_init(&top, e->plain.data, c->n, NULL);
		if (snmp_ber_expect(&top, SNMP_TAG_SEQUENCE, &t) < 0 || top.end - top.pos > *pad)
			rc = -EBADMSG;
	}
	if (rc < 0) {
		snprintf(j->rx->detail, sizeof(j->rx->detail),
			 "encryptedPDU of %zu bytes does not decrypt to a ScopedPDU", c->n);
		return report(j, SNMP_REJ_DECRYPTION, false);
	}
	*p = e->plain.data;
	*n = c->n;
	return SNMP_OK;
}

/* Remembers an authenticated message that made a record until it leaves
 * the time window, so that a copy of it is a replay. */
static void remember(struct job *j)
{
	struct snmp_engine *e = j->e;
	const struct snmp_bytes *mac = &j->m.auth_params;
	uint64_t expire_ms = j->now_ms + TRAP_REPLAY_MS;

	/* RFC 3414 3.2 step 7a: timely while our time, in whole seconds
	 * since start_ms, is at most the message's time + 150 s. */
	if (j->authoritative)
		expire_ms = e->start_ms + ((uint64_t)j->m.engine_time + TIME_WINDOW_S + 1) * 1000;
	snmp_usm_replay_add(e->usm, mac->p, mac->n, j->now_ms, expire_ms);
	j->rx->digest_len = (uint8_t)(mac->n < SNMP_USM_REPLAY_KEY ? mac->n : SNMP_USM_REPLAY_KEY);
	memcpy(j->rx->digest, mac->p, j->rx->digest_len);
}

/* A copy of a message that made a record. Not recorded again; an inform
 * is answered again, since the sender's retransmission means it missed
 * the Response, but only once the first copy's record is stored: the
 * caller holds the Response until that seq is durable. */
static int replayed(struct job *j, uint64_t seq)
{
	int rc;

	if (j->pdu.type != SNMP_PDU_INFORM) {
		snprintf(j->rx->detail, sizeof(j->rx->detail), "replayed message (same digest)");
		return SNMP_REJ_REPLAY;
	}
	if (seq == 0) {
		snprintf(j->rx->detail, sizeof(j->rx->detail),
			 "replayed inform (same digest) whose record is not stored: not answered");
		return SNMP_REJ_REPLAY;
	}
	snprintf(j->rx->detail, sizeof(j->rx->detail),
		 "replayed inform (same digest): answered once record %llu is durable",
		 (unsigned long long)seq);
	j->rx->inform = true;
	j->rx->replay_seq = seq;
	rc = v3_response(j);
	return rc < 0 ? rc : SNMP_REJ_REPLAY;
}

static int process_v3(struct job *j)
{
	struct snmp_engine *e = j->e;
	const uint8_t *sp = j->m.scoped.p;
	size_t sn = j->m.scoped.n, pad = 0;
	uint64_t replay_seq = 0;
	bool replay = false;
	int rc;

	j->level = j->m.msg_flags & (SNMP_FLAG_AUTH | SNMP_FLAG_PRIV);
	if (j->m.engine_id.n == 0) {
		/* RFC 3414 4: discovery asks for our engine ID, boots, time. */
		snprintf(j->rx->detail, sizeof(j->rx->detail), "engine ID discovery");
		if (!(j->m.msg_flags & SNMP_FLAG_REPORTABLE))
			return SNMP_REJ_UNKNOWN_ENGINE;
		return report(j, SNMP_REJ_DISCOVERY, false);
	}
	if (j->m.engine_id.n < 5) {
		snprintf(j->rx->detail, sizeof(j->rx->detail), "engine ID of %zu bytes (5..32)",
			 j->m.engine_id.n);
		return report(j, SNMP_REJ_UNKNOWN_ENGINE, false);
	}
	j->authoritative = eid_is(&j->m.engine_id, e->eid, e->eid_len);
	rc = find_user(j);
	if (rc != SNMP_OK)
		return report(j, (enum snmp_reject)rc, false);
	if (j->user != NULL && user_level(j->user) != j->level) {
		char name[SNMP_USM_MAX_USER + 1];

		/* A user's configured level is the only one accepted: a
		 * lower one would let anyone speak for an authPriv user. */
		sanitize(name, sizeof(name), j->m.user.p, j->m.user.n);
		snprintf(j->rx->detail, sizeof(j->rx->detail), "user '%s' is %s, message is %s",
			 name, level_name(user_level(j->user)), level_name(j->level));
		return report(j, SNMP_REJ_UNSUPPORTED_SECLEVEL, false);
	}
	if (j->level & SNMP_FLAG_AUTH) {
		rc = select_keys(j);
		if (rc < 0)
			return rc;
		if (snmp_usm_auth_check(j->keys, j->pkt, j->len, j->m.auth_params_off,
					j->m.auth_params.n) < 0) {
			snprintf(j->rx->detail, sizeof(j->rx->detail),
				 "wrong digest (%zu-byte msgAuthenticationParameters)",
				 j->m.auth_params.n);
			return report(j, SNMP_REJ_WRONG_DIGEST, false);
		}
		rc = check_time(j);
		if (rc != SNMP_OK)
			return rc;
		replay = snmp_usm_replay_find(e->usm, j->m.auth_params.p, j->m.auth_params.n,
					      j->now_ms, &replay_seq);
	}
	if (j->level & SNMP_FLAG_PRIV) {
		rc = decrypt(j, &sp, &sn, &pad);
		if (rc != SNMP_OK)
			return rc;
	}
	rc = snmp_scoped_pdu_decode(sp, sn, pad, &j->pdu, &j->diag);
	if (rc < 0)
		return decode_reject(j, rc);
	if (j->pdu.type == SNMP_PDU_INFORM && !j->authoritative) {
		/* RFC 3412: the receiver of a confirmed-class PDU is the
		 * authoritative engine; this sender skipped discovery. */
		snprintf(j->rx->detail, sizeof(j->rx->detail), "inform not sent to our engine ID");
		return report(j, SNMP_REJ_UNKNOWN_ENGINE, false);
	}
	if (replay)
		return replayed(j, replay_seq);
	rc = write_record(j, sp, -1);
	if (rc < 0)
		return rc;
	if (j->pdu.type == SNMP_PDU_INFORM) {
		j->rx->inform = true;
		rc = v3_response(j);
		if (rc < 0)
			return rc;
	}
	/* Last, so that a message that failed on the way is not taken for
	 * a replay when it comes again. */
	if (j->level & SNMP_FLAG_AUTH)
		remember(j);
	return SNMP_OK;
}

/* ---- the API -------------------------------------------------------------- */

void snmp_rx_init(struct snmp_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	buf_init(&rx->record);
	buf_init(&rx->response);
}

void snmp_rx_free(struct snmp_rx *rx)
{
	if (rx == NULL)
		return;
	buf_free(&rx->record);
	buf_free(&rx->response);
}

int snmp_engine_process(struct snmp_engine *e, const uint8_t *pkt, size_t len,
			const struct sockaddr *from, int64_t now_us, struct snmp_rx *rx)
{
	struct job j;
	int rc;

	buf_reset(&rx->record);
	buf_reset(&rx->response);
	rx->reject = SNMP_OK;
	rx->inform = false;
	rx->detail[0] = '\0';
	rx->replay_seq = 0;
	rx->digest_len = 0;
	/* Whole: v1/v2c records read the level (noAuthNoPriv, 0), and a
	 * reject's detail the diagnostic offset. */
	j = (struct job){
		.e = e, .pkt = pkt, .len = len, .from = from, .now_us = now_us,
		.now_ms = e->mono_ms(e->mono_arg), .rx = rx,
	};
	e->c.packets++;
	rc = snmp_msg_decode(pkt, len, &j.m, &j.pdu, &j.diag);
	if (rc < 0)
		rc = decode_reject(&j, rc);
	else if (j.m.version == SNMP_V3)
		rc = process_v3(&j);
	else
		rc = process_community(&j);
	if (rc < 0) {
		buf_reset(&rx->record);
		buf_reset(&rx->response);
		return rc;
	}
	rx->reject = (enum snmp_reject)rc;
	if (rx->reject != SNMP_OK) {
		buf_reset(&rx->record);
		e->c.rejects[rx->reject]++;
	} else if (rx->inform) {
		e->c.informs++;
	} else {
		e->c.traps++;
	}
	return 0;
}

void snmp_engine_record_stored(struct snmp_engine *e, const struct snmp_rx *rx, uint64_t seq)
{
	if (rx->reject != SNMP_OK || rx->digest_len == 0)
		return;
	snmp_usm_replay_set_seq(e->usm, rx->digest, rx->digest_len, e->mono_ms(e->mono_arg), seq);
}

void snmp_engine_counters(const struct snmp_engine *e, struct snmp_counters *c)
{
	struct snmp_usm_replay_stats st;

	*c = e->c;
	snmp_usm_replay_stats(e->usm, &st);
	c->replay_slots = st.slots;
	c->replay_used = st.used;
	c->replay_bytes = st.bytes;
	c->replay_evicted_live = st.evicted_live;
}

const char *snmp_reject_name(enum snmp_reject r)
{
	static const char *const names[SNMP_REJ__COUNT] = {
		[SNMP_OK] = "ok",
		[SNMP_REJ_BER] = "ber",
		[SNMP_REJ_VERSION] = "version",
		[SNMP_REJ_PDU_TYPE] = "pdu_type",
		[SNMP_REJ_COMMUNITY] = "community",
		[SNMP_REJ_UNKNOWN_ENGINE] = "unknown_engine",
		[SNMP_REJ_UNKNOWN_USER] = "unknown_user",
		[SNMP_REJ_UNSUPPORTED_SECLEVEL] = "unsupported_seclevel",
		[SNMP_REJ_WRONG_DIGEST] = "wrong_digest",
		[SNMP_REJ_NOT_IN_TIME_WINDOW] = "not_in_time_window",
		[SNMP_REJ_DECRYPTION] = "decryption",
		[SNMP_REJ_DISCOVERY] = "discovery",
		[SNMP_REJ_INVALID] = "invalid",
		[SNMP_REJ_SECURITY_MODEL] = "security_model",
		[SNMP_REJ_REPLAY] = "replay",
	};

	return (unsigned)r < SNMP_REJ__COUNT && names[r] ? names[r] : "unknown";
}

static int parse_name(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (names[i] != NULL && strcasecmp(s, names[i]) == 0)
			return i;
	return -1;
}

int snmp_auth_parse(const char *s, enum snmp_auth *out)
{
	static const char *const names[] = {
		"none", "md5", "sha", "sha224", "sha256", "sha384", "sha512",
		NULL, NULL, "sha1", "sha-1", "sha-224", "sha-256", "sha-384", "sha-512",
	};
	static const enum snmp_auth val[] = {
		SNMP_AUTH_NONE, SNMP_AUTH_MD5, SNMP_AUTH_SHA1, SNMP_AUTH_SHA224, SNMP_AUTH_SHA256,
		SNMP_AUTH_SHA384, SNMP_AUTH_SHA512, 0, 0, SNMP_AUTH_SHA1, SNMP_AUTH_SHA1,
		SNMP_AUTH_SHA224, SNMP_AUTH_SHA256, SNMP_AUTH_SHA384, SNMP_AUTH_SHA512,
	};
	int i = s ? parse_name(s, names, (int)(sizeof(names) / sizeof(names[0]))) : -1;

	if (i < 0)
		return -EINVAL;
	*out = val[i];
	return 0;
}

int snmp_priv_parse(const char *s, enum snmp_priv *out)
{
	static const char *const names[] = {
		"none", "des", "aes", "aes192", "aes256", "aes128", "aes-128", "aes-192", "aes-256",
	};
	static const enum snmp_priv val[] = {
		SNMP_PRIV_NONE, SNMP_PRIV_DES, SNMP_PRIV_AES128, SNMP_PRIV_AES192, SNMP_PRIV_AES256,
		SNMP_PRIV_AES128, SNMP_PRIV_AES128, SNMP_PRIV_AES192, SNMP_PRIV_AES256,
	};
	int i = s ? parse_name(s, names, (int)(sizeof(names) / sizeof(names[0]))) : -1;

	if (i < 0)
		return -EINVAL;
	*out = val[i];
	return 0;
}

/* ---- creation ------------------------------------------------------------- */

static int add_user(struct snmp_engine *e, const struct snmp_user *su, char *err, size_t errlen)
{
	struct user_ent *u = &e->users[e->n_users];
	size_t nlen = su->name ? strlen(su->name) : 0;
	int rc;

	if (nlen == 0 || nlen > SNMP_USM_MAX_USER) {
		snprintf(err, errlen, "user name must be 1..32 bytes");
		return -EINVAL;
	}
	if ((unsigned)su->auth > SNMP_AUTH_SHA512 || (unsigned)su->priv > SNMP_PRIV_AES256) {
		snprintf(err, errlen, "user '%s': unknown protocol", su->name);
		return -EINVAL;
	}
	if (su->priv != SNMP_PRIV_NONE && su->auth == SNMP_AUTH_NONE) {
		snprintf(err, errlen, "user '%s': privacy needs authentication (authPriv)", su->name);
		return -EINVAL;
	}
	/* RFC 3414 11.2: passwords of at least 8 characters. */
	if ((su->auth != SNMP_AUTH_NONE &&
	     (su->auth_password == NULL || strlen(su->auth_password) < 8 ||
	      strlen(su->auth_password) > 256)) ||
	    (su->priv != SNMP_PRIV_NONE &&
	     (su->priv_password == NULL || strlen(su->priv_password) < 8 ||
	      strlen(su->priv_password) > 256))) {
		snprintf(err, errlen, "user '%s': passwords must be 8..256 characters", su->name);
		return -EINVAL;
	}
	if (su->engine_id != NULL && (su->engine_id_len < 5 || su->engine_id_len > 32)) {
		snprintf(err, errlen, "user '%s': engine ID must be 5..32 bytes", su->name);
		return -EINVAL;
	}
	for (unsigned i = 0; i < e->n_users; i++) {
		const struct user_ent *o = &e->users[i];

		if (o->name_len == nlen && memcmp(o->name, su->name, nlen) == 0 &&
		    o->bound == (su->engine_id != NULL) &&
		    (!o->bound || (o->eid_len == su->engine_id_len &&
				   memcmp(o->eid, su->engine_id, o->eid_len) == 0))) {
			snprintf(err, errlen, "user '%s' is defined twice for one engine ID", su->name);
			return -EINVAL;
		}
	}
	memset(u, 0, sizeof(*u));
	memcpy(u->name, su->name, nlen);
	u->name_len = nlen;
	u->auth = su->auth;
	u->priv = su->priv;
	if (su->engine_id != NULL) {
		u->bound = true;
		memcpy(u->eid, su->engine_id, su->engine_id_len);
		u->eid_len = su->engine_id_len;
	}
	e->n_users++;   /* from here on destroy releases its keys */
	if (u->auth == SNMP_AUTH_NONE)
		return 0;
	/* The costly part (RFC 3414 A.2, 1 MiB of hashing), once per user. */
	rc = snmp_usm_password_to_key(u->auth, su->auth_password, strlen(su->auth_password),
				      u->auth_ku);
	if (rc == 0 && u->priv != SNMP_PRIV_NONE)
		rc = snmp_usm_password_to_key(u->auth, su->priv_password,
					      strlen(su->priv_password), u->priv_ku);
	if (rc == 0)
		rc = snmp_usm_keys_setup(&u->our_keys, u->auth, u->priv, u->auth_ku, u->priv_ku,
					 e->eid, e->eid_len);
	if (rc == 0 && u->bound)
		rc = snmp_usm_keys_setup(&u->bound_keys, u->auth, u->priv, u->auth_ku, u->priv_ku,
					 u->eid, u->eid_len);
	if (rc < 0)
		snprintf(err, errlen, "user '%s': key setup: %s", su->name, strerror(-rc));
	return rc;
}

static int copy_communities(struct snmp_engine *e, const struct snmp_engine_opts *o)
{
	if (o->n_communities == 0)
		return 0;
	e->communities = calloc(o->n_communities, sizeof(*e->communities));
	if (e->communities == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < o->n_communities; i++) {
		const char *c = o->communities[i] ? o->communities[i] : "";
		size_t n = strlen(c);
		uint8_t *p = malloc(n + 1);

		if (p == NULL)
			return -ENOMEM;
		memcpy(p, c, n + 1);
		e->communities[i] = (struct snmp_bytes){ p, n };
		e->n_communities++;
	}
	return 0;
}

int snmp_engine_create(struct snmp_engine **out, const struct snmp_engine_opts *o,
		       char *err, size_t errlen)
{
	struct snmp_engine *e;
	int rc = 0;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (o->engine_id == NULL || o->engine_id_len < 5 || o->engine_id_len > 32) {
		snprintf(err, errlen, "engine ID must be 5..32 bytes");
		return -EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	memcpy(e->eid, o->engine_id, o->engine_id_len);
	e->eid_len = o->engine_id_len;
	e->boots = o->boots > INT32_MAX ? INT32_MAX : o->boots;
	e->mono_ms = o->mono_ms ? o->mono_ms : mono_default;
	e->mono_arg = o->mono_arg;
	e->start_ms = e->mono_ms(e->mono_arg);
	e->any_community = o->accept_any_community;
	e->any_user = o->accept_any_user;
	e->record_community = o->record_community;
	buf_init(&e->scratch);
	buf_init(&e->plain);
	buf_init(&e->scoped);
	buf_init(&e->cipher);
	/* The salt counter starts anywhere (RFC 3826 3.1.2.1), so salts
	 * do not repeat across restarts with the same boots. */
	if (getrandom(&e->salt, sizeof(e->salt), 0) != sizeof(e->salt))
		e->salt = (uint64_t)o->boots << 32 ^ e->start_ms;
	if (o->n_users > 0 && (e->users = calloc(o->n_users, sizeof(*e->users))) == NULL)
		rc = -ENOMEM;
	for (unsigned i = 0; rc == 0 && i < o->n_users; i++)
		rc = add_user(e, &o->users[i], err, errlen);
	if (rc == 0)
		rc = copy_communities(e, o);
	if (rc == 0) {
		rc = snmp_usm_state_create(&e->usm, o->replay_slots);
		if (rc == -EINVAL)
			snprintf(err, errlen, "replay cache of %u messages (%u..%u)", o->replay_slots,
				 SNMP_USM_REPLAY_MIN, SNMP_USM_REPLAY_MAX);
	}
	if (rc == 0)
		rc = snmp_oids_create(&e->names, o->oid_names_file, err, errlen);
	/* Without iconv's GB18030 only UTF-8 and hex remain: not fatal. */
	if (rc == 0)
		e->conv = charset_conv_create();
	if (rc < 0) {
		if (rc == -ENOMEM && (errlen == 0 || err[0] == '\0'))
			snprintf(err, errlen, "out of memory");
		snmp_engine_destroy(e);
		return rc;
	}
	*out = e;
	return 0;
}

void snmp_engine_destroy(struct snmp_engine *e)
{
	if (e == NULL)
		return;
	for (unsigned i = 0; i < e->n_users; i++) {
		snmp_usm_keys_release(&e->users[i].our_keys);
		snmp_usm_keys_release(&e->users[i].bound_keys);
	}
	if (e->users != NULL)
		memset(e->users, 0, e->n_users * sizeof(*e->users));   /* Ku values */
	free(e->users);
	for (unsigned i = 0; i < e->n_communities; i++)
		free((void *)e->communities[i].p);
	free(e->communities);
	snmp_usm_state_destroy(e->usm);
	snmp_oids_destroy(e->names);
	charset_conv_destroy(e->conv);
	buf_free(&e->scratch);
	buf_free(&e->plain);
	buf_free(&e->scoped);
	buf_free(&e->cipher);
	free(e);
}
