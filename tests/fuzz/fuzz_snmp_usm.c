/* libFuzzer target: the whole engine (snmp_engine_process) with users at
 * every security level, so the USM paths are reached: authentication,
 * timeliness, replay, decryption, ScopedPDU decoding, records, Responses
 * and Reports.
 *
 * A mutated v3 message almost never carries a valid digest, which would
 * stop it at the HMAC check. So, for seven inputs in eight, the harness
 * acts as the sender would: if the message names a configured user, it
 * re-signs it with that user's key localised to the message's engine ID.
 * Mutations of the encrypted PDU, the salt, boots and time then reach
 * decryption and everything after it; the eighth input keeps its digest
 * and exercises the rejects. Production code is not changed for fuzzing.
 *
 * Checks beyond ASan/UBSan: the reject is in range; a record exists
 * exactly when nothing was rejected and is a JSON object; a response, when
 * there is one, is a message our own decoder reads. */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "snmp/snmp.h"
#include "snmp/snmp_pdu.h"
#include "snmp/snmp_usm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t OURS[] = { 0x80, 0x00, 0xed, 0x57, 0x03, 0x77, 0x61, 0x72, 0x64, 0x00, 0x01 };
static const uint8_t SENDER[] = { 0x80, 0x00, 0x1f, 0x88, 0x80, 0xaa, 0xbb, 0xcc, 0xdd, 0x01 };

#define N_AUTH 6
#define N_PRIV 5
static const char *const AUTHS[N_AUTH] = { "MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512" };
static const char *const PRIVS[N_PRIV] = { "none", "DES", "AES", "AES-192", "AES-256" };

/* The users of tests/unit/test_snmp_samples.h (so the seeds decode),
 * bob of the inform sample, and one user bound to the samples' engine. */
static struct snmp_user users[N_AUTH * N_PRIV + 2];
static char names[N_AUTH * N_PRIV][32], apw[N_AUTH * N_PRIV][32], ppw[N_AUTH * N_PRIV][32];
static uint8_t ku[N_AUTH * N_PRIV + 2][64];
static unsigned n_users;
static struct snmp_engine *engine;
static struct snmp_rx rx;
static uint64_t now_ms;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return now_ms;
}

static void setup(void)
{
	static const char *const comm[] = { "public", "s3cret" };
	struct snmp_engine_opts o = {
		.engine_id = OURS, .engine_id_len = sizeof(OURS), .boots = 0,
		.communities = comm, .n_communities = 2, .accept_any_user = true,
		.mono_ms = fake_clock,
	};
	char err[256];

	for (int a = 0; a < N_AUTH; a++) {
		for (int p = 0; p < N_PRIV; p++) {
			struct snmp_user *u = &users[n_users];

			snprintf(names[n_users], 32, "u_%s_%s", AUTHS[a], PRIVS[p]);
			snprintf(apw[n_users], 32, "auth-%s-pass", AUTHS[a]);
			snprintf(ppw[n_users], 32, "priv-%s-pass", PRIVS[p]);
			u->name = names[n_users];
			u->auth_password = apw[n_users];
			u->priv_password = ppw[n_users];
			if (snmp_auth_parse(AUTHS[a], &u->auth) < 0 || snmp_priv_parse(PRIVS[p], &u->priv) < 0)
				abort();
			n_users++;
		}
	}
	users[n_users++] = (struct snmp_user){ .name = "bob", .auth = SNMP_AUTH_SHA256,
					       .auth_password = "authpass123", .priv = SNMP_PRIV_AES256,
					       .priv_password = "privpass123" };
	users[n_users++] = (struct snmp_user){ .name = "bound", .auth = SNMP_AUTH_SHA1,
					       .auth_password = "boundpass1", .priv = SNMP_PRIV_DES,
					       .priv_password = "boundpass2", .engine_id = SENDER,
					       .engine_id_len = sizeof(SENDER) };
	for (unsigned i = 0; i < n_users; i++)
		if (snmp_usm_password_to_key(users[i].auth, users[i].auth_password,
					     strlen(users[i].auth_password), ku[i]) < 0)
			abort();
	o.users = users;
	o.n_users = n_users;
	if (snmp_engine_create(&engine, &o, err, sizeof(err)) < 0)
		abort();
	snmp_rx_init(&rx);
}

/* Re-signs msg in place as its (configured) user would. */
static void resign(uint8_t *msg, size_t len)
{
	struct snmp_ber_diag d = { 0 };
	struct snmp_msg m;
	struct snmp_pdu pdu;
	struct snmp_usm_keys k;

	if (snmp_msg_decode(msg, len, &m, &pdu, &d) != 0 || m.version != SNMP_V3 ||
	    !(m.msg_flags & SNMP_FLAG_AUTH))
		return;
	for (unsigned i = 0; i < n_users; i++) {
		const struct snmp_user *u = &users[i];

		if (strlen(u->name) != m.user.n || memcmp(u->name, m.user.p, m.user.n) != 0 ||
		    u->auth == SNMP_AUTH_NONE || m.auth_params.n != snmp_usm_mac_len(u->auth))
			continue;
		if (snmp_usm_keys_setup(&k, u->auth, SNMP_PRIV_NONE, ku[i], NULL, m.engine_id.p,
					m.engine_id.n) < 0)
			return;
		memset(msg + m.auth_params_off, 0, m.auth_params.n);
		if (snmp_usm_auth_sign(&k, msg, len, m.auth_params_off) < 0)
			abort();
		snmp_usm_keys_release(&k);
		return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65536];
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(40162) };
	struct snmp_ber_diag d = { 0 };
	struct snmp_msg m;
	struct snmp_pdu pdu;
	json_error_t err;
	json_t *j;

	if (engine == NULL)
		setup();
	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	if ((size & 7) != 0)
		resign(buf, size);
	/* Time moves on now and then, so the windows are exercised. */
	now_ms += size & 0x3ff;
	from.sin_addr.s_addr = htonl(0xc0000200 | (uint32_t)(size & 0xff));
	if (snmp_engine_process(engine, buf, size, (struct sockaddr *)&from, 1795268400000000LL, &rx) < 0)
		abort();
	if ((unsigned)rx.reject >= SNMP_REJ__COUNT || (rx.reject == SNMP_OK) != (rx.record.len > 0))
		abort();
	if (rx.record.len > 0) {
		j = json_loadb((const char *)rx.record.data, rx.record.len, JSON_ALLOW_NUL, &err);
		if (j == NULL || !json_is_object(j))
			abort();
		json_decref(j);
	}
	if (rx.response.len > 0) {
		int rc = snmp_msg_decode(rx.response.data, rx.response.len, &m, &pdu, &d);

		/* v2c Responses are not notifications: -EOPNOTSUPP */
		if (rc != 0 && rc != -EOPNOTSUPP)
			abort();
	}
	return 0;
}
