/* tls_client and tls_server driven against each other in memory: the
 * handshake and the version it reaches (TLS 1.3 with mbedtls 3.x, 1.2
 * with 2.28), data both ways, and every refusal in words: a server
 * certificate from another CA, expired, not yet valid or for another
 * host, a client certificate from another CA, a peer that sends a fatal
 * alert, offers only TLS 1.0 or does not speak TLS at all.
 *
 * The certificates are made at test time with mbedtls's certificate
 * writer (P-256, SHA-256) into a temporary directory, which is removed
 * afterwards: no key is committed, and the dates (2021 expiry, 2048 start)
 * need no clock tricks. Set WARD_EXPECT_TLS_VERSION (as
 * scripts/mbedtls3.sh does) to assert the negotiated version too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "mbedtls_compat.h"
#include "tls_client.h"
#include "tls_server.h"

#define FAR_PAST "20200101000000"
#define FAR_FUTURE "20491231235959"

static char dir[200];
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;

struct issuer {
	const char *name;       /* file stem */
	const char *subject;
	mbedtls_pk_context key;
};
static struct issuer ca = { "ca", "CN=ward test CA", { 0 } };
static struct issuer evil = { "evil-ca", "CN=ward test Evil CA", { 0 } };

static void path_of(char *out, size_t cap, const char *name, const char *ext)
{
	assert_true((size_t)snprintf(out, cap, "%s/%s.%s", dir, name, ext) < cap);
}

static void write_file(const char *name, const char *ext, const unsigned char *pem)
{
	char path[300];
	FILE *f;

	path_of(path, sizeof(path), name, ext);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs((const char *)pem, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void key_gen(mbedtls_pk_context *pk)
{
	mbedtls_pk_init(pk);
	assert_int_equal(mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk),
					     mbedtls_ctr_drbg_random, &drbg), 0);
}

/* Writes dir/name.pem, signed by `by` (itself when by->key is `key`), and
 * dir/name.key. Dates are YYYYMMDDhhmmss UTC. */
static void cert_make(const char *name, const char *subject, mbedtls_pk_context *key,
		      struct issuer *by, const char *from, const char *to, int is_ca)
{
	static uint8_t serial = 1;
	unsigned char pem[4096];
	mbedtls_x509write_cert w;

	mbedtls_x509write_crt_init(&w);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, key);
	mbedtls_x509write_crt_set_issuer_key(&w, &by->key);
	assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, subject), 0);
	assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, by->subject), 0);
	assert_int_equal(mbcompat_x509write_crt_set_serial(&w, serial++), 0);
	assert_int_equal(mbedtls_x509write_crt_set_validity(&w, from, to), 0);
	assert_int_equal(mbedtls_x509write_crt_set_basic_constraints(&w, is_ca, -1), 0);
	assert_int_equal(mbedtls_x509write_crt_pem(&w, pem, sizeof(pem), mbedtls_ctr_drbg_random,
						   &drbg), 0);
	mbedtls_x509write_crt_free(&w);
	write_file(name, "pem", pem);
	assert_int_equal(mbedtls_pk_write_key_pem(key, pem, sizeof(pem)), 0);
	write_file(name, "key", pem);
}

static void leaf_make(const char *name, const char *subject, struct issuer *by,
		      const char *from, const char *to)
{
	mbedtls_pk_context key;

	key_gen(&key);
	cert_make(name, subject, &key, by, from, to, 0);
	mbedtls_pk_free(&key);
}

static int group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char longname[300];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/ward-tls-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	if (mbcompat_psa_init() < 0 ||
	    mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
				  (const unsigned char *)"test_tls", 8) != 0)
		return -1;
	key_gen(&ca.key);
	key_gen(&evil.key);
	cert_make(ca.name, ca.subject, &ca.key, &ca, FAR_PAST, FAR_FUTURE, 1);
	cert_make(evil.name, evil.subject, &evil.key, &evil, FAR_PAST, FAR_FUTURE, 1);
	leaf_make("server", "CN=soc.example", &ca, FAR_PAST, FAR_FUTURE);
	leaf_make("server-evil", "CN=soc.example", &evil, FAR_PAST, FAR_FUTURE);
	leaf_make("server-ctl", "CN=soc\n\033[1m.example", &ca, FAR_PAST, FAR_FUTURE);
	leaf_make("server-expired", "CN=soc.example", &ca, FAR_PAST, "20210101000000");
	leaf_make("server-future", "CN=soc.example", &ca, "20480101000000", FAR_FUTURE);
	leaf_make("client", "CN=fw01.hospital.test", &ca, FAR_PAST, FAR_FUTURE);
	leaf_make("client-evil", "CN=intruder.example", &evil, FAR_PAST, FAR_FUTURE);
	leaf_make("client-expired", "CN=fw02.hospital.test", &ca, FAR_PAST, "20210101000000");
	/* An issuer name far longer than any wording should carry. */
	memset(longname, 'x', sizeof(longname));
	memcpy(longname, "CN=soc.example,O=", 17);
	longname[250] = '\0';
	evil.subject = longname;
	leaf_make("server-longname", longname, &evil, FAR_PAST, FAR_FUTURE);
	evil.subject = "CN=ward test Evil CA";
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_teardown(void **state)
{
	(void)state;
	mbedtls_pk_free(&ca.key);
	mbedtls_pk_free(&evil.key);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- a client and a server joined by memory ---------------------------- */

struct pair {
	struct tls_client_ctx *cctx;
	struct tls_server_ctx *sctx;
	struct tls_client *c;
	struct tls_session *s;
	int crc, src;           /* the last read result of each side */
};

static int to_server(void *arg, const uint8_t *data, size_t len)
{
	return tls_session_feed(((struct pair *)arg)->s, data, len);
}

static int to_client(void *arg, const uint8_t *data, size_t len)
{
	return tls_client_feed(((struct pair *)arg)->c, data, len);
}

/* A client trusting ca.pem with certificate `client`, asking for `host`,
 * and a server with certificate `server` trusting ca.pem for clients. */
static void pair_open(struct pair *p, const char *server, const char *client, const char *host)
{
	char capem[300], cpem[300], ckey[300], spem[300], skey[300], err[256];

	memset(p, 0, sizeof(*p));
	path_of(capem, sizeof(capem), "ca", "pem");
	path_of(cpem, sizeof(cpem), client, "pem");
	path_of(ckey, sizeof(ckey), client, "key");
	path_of(spem, sizeof(spem), server, "pem");
	path_of(skey, sizeof(skey), server, "key");
	if (tls_client_ctx_create(&p->cctx, capem, cpem, ckey, err, sizeof(err)) < 0 ||
	    tls_server_ctx_create(&p->sctx, spem, skey, capem, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(tls_client_create(&p->c, p->cctx, host, to_server, p), 0);
	assert_int_equal(tls_session_create(&p->s, p->sctx, to_client, p), 0);
}

/* Runs both sides until each is established or has failed. Each read
 * either moves the handshake on or waits for the other side, so a few
 * rounds suffice; a side that failed is not called again. */
static void pair_drive(struct pair *p)
{
	uint8_t buf[64];
	int i;

	for (i = 0; i < 16; i++) {
		if (p->crc >= 0)
			p->crc = tls_client_read(p->c, buf, sizeof(buf));
		if (p->src >= 0)
			p->src = tls_session_read(p->s, buf, sizeof(buf));
		assert_true(p->crc <= 0 && p->src <= 0);  /* nobody sent data yet */
	}
}

static void pair_close(struct pair *p)
{
	tls_client_destroy(p->c);
	tls_session_destroy(p->s);
	tls_client_ctx_destroy(p->cctx);
	tls_server_ctx_destroy(p->sctx);
}

static void assert_contains(const char *text, const char *part)
{
	if (strstr(text, part) == NULL)
		fail_msg("\"%s\"\n  does not contain \"%s\"", text, part);
}

/* ---- the handshake that works --------------------------------------------- */

static void test_handshake_version_and_data(void **state)
{
	const char *want = MBCOMPAT_TLS1_3 ? "TLSv1.3" : "TLSv1.2";
	const char *env = getenv("WARD_EXPECT_TLS_VERSION");
	struct pair p;
	uint8_t buf[64];

	(void)state;
	pair_open(&p, "server", "client", "soc.example");
	pair_drive(&p);
	if (p.crc < 0 || p.src < 0)
		fail_msg("client: %s; server: %s", tls_client_error(p.c), tls_session_error(p.s));
	assert_true(tls_client_established(p.c));
	assert_true(tls_session_established(p.s));
	print_message("mbedtls %s: client %s, server %s\n", MBEDTLS_VERSION_STRING,
		      tls_client_version(p.c), tls_session_version(p.s));
	assert_string_equal(tls_client_version(p.c), want);
	assert_string_equal(tls_session_version(p.s), want);
	if (env != NULL && env[0] != '\0')
		assert_string_equal(tls_client_version(p.c), env);
	assert_string_equal(tls_session_peer_cn(p.s), "fw01.hospital.test");
	assert_string_equal(tls_client_error(p.c), "no error");

	assert_int_equal(tls_client_write(p.c, (const uint8_t *)"ping", 4), 0);
	assert_int_equal(tls_session_read(p.s, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(tls_session_write(p.s, (const uint8_t *)"pong", 4), 0);
	assert_int_equal(tls_client_read(p.c, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "pong", 4);

	tls_client_close_notify(p.c);
	assert_int_equal(tls_session_read(p.s, buf, sizeof(buf)), -ECONNRESET);
	pair_close(&p);
}

/* ---- server certificates the client refuses -------------------------------- */

static void client_refuses(const char *server, const char *host, const char *words)
{
	struct pair p;

	pair_open(&p, server, "client", host);
	pair_drive(&p);
	assert_int_equal(p.crc, -EPROTO);
	assert_false(tls_client_established(p.c));
	assert_contains(tls_client_error(p.c), words);
	assert_true(strlen(tls_client_error(p.c)) < 256);  /* fits the uplink's status */
	pair_close(&p);
}

static void test_server_from_another_ca(void **state)
{
	(void)state;
	client_refuses("server-evil", "soc.example", "server certificate not trusted: "
		       "issuer CN=ward test Evil CA is not the pinned CA (subject CN=soc.example)");
}

static void test_server_expired(void **state)
{
	(void)state;
	client_refuses("server-expired", "soc.example", "server certificate expired on "
		       "2021-01-01 00:00:00 UTC (subject CN=soc.example)");
}

static void test_server_not_yet_valid(void **state)
{
	(void)state;
	client_refuses("server-future", "soc.example", "server certificate not valid before "
		       "2048-01-01 00:00:00 UTC (subject CN=soc.example): is this device's "
		       "clock right?");
}

static void test_server_for_another_host(void **state)
{
	(void)state;
	client_refuses("server", "soc2.example", "hostname mismatch: server certificate names "
		       "soc.example, not soc2.example");
}

/* Names come from the peer: no control character reaches the status. */
static void test_server_names_are_sanitised(void **state)
{
	(void)state;
	client_refuses("server-ctl", "soc.example", "hostname mismatch: server certificate names "
		       "soc??[1m.example, not soc.example");
}

/* Two faults: the main one is named, the other listed after it. */
static void test_server_two_faults(void **state)
{
	(void)state;
	client_refuses("server-evil", "soc2.example", "is not the pinned CA (subject "
		       "CN=soc.example); also names another host");
}

/* A 250-byte subject is cut with "..." rather than pushing the reason out. */
static void test_long_names_are_cut(void **state)
{
	struct pair p;
	const char *e;

	(void)state;
	pair_open(&p, "server-longname", "client", "soc.example");
	pair_drive(&p);
	e = tls_client_error(p.c);
	assert_contains(e, "server certificate not trusted: issuer CN=soc.example, O=xxx");
	assert_contains(e, "... is not the pinned CA (subject CN=soc.example, O=xxx");
	assert_true(strlen(e) < 256);
	pair_close(&p);
}

/* ---- client certificates the server refuses -------------------------------- */

static void server_refuses(const char *client, const char *words)
{
	struct pair p;

	pair_open(&p, "server", client, "soc.example");
	pair_drive(&p);
	assert_int_equal(p.src, -EPROTO);
	assert_false(tls_session_established(p.s));
	assert_contains(tls_session_error(p.s), words);
	/* TLS 1.2 fails the client's handshake; with TLS 1.3 the client has
	 * finished its side and fails on its first read. */
	assert_int_equal(p.crc, -EPROTO);
	assert_contains(tls_client_error(p.c), MBCOMPAT_TLS1_3 ?
			"the server ended the session right after the TLS 1.3 handshake, as it "
			"does when it refuses the device certificate" :
			"the server refused the device certificate: is it issued by the CA the "
			"SOC trusts? (");
	pair_close(&p);
}

static void test_client_from_another_ca(void **state)
{
	(void)state;
	server_refuses("client-evil", "client certificate not trusted: issuer CN=ward test "
		       "Evil CA is not the client CA (subject CN=intruder.example)");
}

static void test_client_expired(void **state)
{
	(void)state;
	server_refuses("client-expired", "client certificate expired on 2021-01-01 00:00:00 UTC "
		       "(subject CN=fw02.hospital.test)");
}

/* ---- peers that are not ward's server ------------------------------------- */

struct fake {
	struct tls_client_ctx *ctx;
	struct tls_client *c;
	size_t sent;            /* ciphertext bytes the client wrote */
};

static int count_sent(void *arg, const uint8_t *data, size_t len)
{
	(void)data;
	((struct fake *)arg)->sent += len;
	return 0;
}

/* Sends the ClientHello, answers it with `reply` and returns what the
 * client's next read returned; the words are in tls_client_error(). */
static int fake_reply(struct fake *f, const void *reply, size_t len)
{
	char capem[300], cpem[300], ckey[300], err[256];
	uint8_t buf[64];

	memset(f, 0, sizeof(*f));
	path_of(capem, sizeof(capem), "ca", "pem");
	path_of(cpem, sizeof(cpem), "client", "pem");
	path_of(ckey, sizeof(ckey), "client", "key");
	if (tls_client_ctx_create(&f->ctx, capem, cpem, ckey, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(tls_client_create(&f->c, f->ctx, "soc.example", count_sent, f), 0);
	assert_int_equal(tls_client_read(f->c, buf, sizeof(buf)), 0);
	assert_true(f->sent > 0);       /* the ClientHello */
	assert_int_equal(tls_client_feed(f->c, reply, len), 0);
	return tls_client_read(f->c, buf, sizeof(buf));
}

static void fake_close(struct fake *f)
{
	tls_client_destroy(f->c);
	tls_client_ctx_destroy(f->ctx);
}

/* A server with no suite in common answers the ClientHello with a fatal
 * handshake_failure alert (RFC 8446 section 6.2). */
static void test_alert_no_shared_suite(void **state)
{
	static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40 };
	struct fake f;

	(void)state;
	assert_int_equal(fake_reply(&f, alert, sizeof(alert)), -EPROTO);
	assert_contains(tls_client_error(f.c), "handshake failed: no shared cipher suite "
			"(the server sent handshake_failure: it offers TLS 1.0 only");
	fake_close(&f);
}

/* Debian's OpenSSL, told to speak TLS 1.0 only, answers so. */
static void test_alert_protocol_version(void **state)
{
	static const uint8_t alert[] = { 0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 70 };
	struct fake f;

	(void)state;
	assert_int_equal(fake_reply(&f, alert, sizeof(alert)), -EPROTO);
	assert_contains(tls_client_error(f.c), "handshake failed: no shared TLS version "
			"(the server sent protocol_version: it offers TLS 1.1 or older only?)");
	fake_close(&f);
}

static void test_alert_unknown_ca(void **state)
{
	static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 48 };
	struct fake f;

	(void)state;
	assert_int_equal(fake_reply(&f, alert, sizeof(alert)), -EPROTO);
	assert_contains(tls_client_error(f.c), "the server refused the device certificate: "
			"is it issued by the CA the SOC trusts? (unknown_ca alert)");
	fake_close(&f);
}

/* A TLS 1.0 server picks its own version in the ServerHello. */
static void test_server_hello_tls10(void **state)
{
	uint8_t hello[5 + 4 + 38] = {
		0x16, 0x03, 0x01, 0x00, 42,     /* handshake record, TLS 1.0 */
		0x02, 0x00, 0x00, 38,           /* ServerHello */
		0x03, 0x01,                     /* server_version TLS 1.0 */
	};
	struct fake f;

	(void)state;
	memset(hello + 11, 0x5a, 32);   /* random; then empty session id */
	hello[44] = 0x00;               /* TLS_RSA_WITH_AES_128_CBC_SHA */
	hello[45] = 0x2f;
	hello[46] = 0x00;               /* no compression */
	assert_int_equal(fake_reply(&f, hello, sizeof(hello)), -EPROTO);
	print_message("TLS 1.0 server: %s\n", tls_client_error(f.c));
	assert_contains(tls_client_error(f.c), "handshake failed: no shared TLS version "
			"(the server offers TLS 1.1 or older only?)");
	fake_close(&f);
}

static void test_peer_speaks_http(void **state)
{
	static const char http[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	struct fake f;

	(void)state;
	assert_int_equal(fake_reply(&f, http, sizeof(http) - 1), -EPROTO);
	assert_contains(tls_client_error(f.c), "handshake failed: the server does not speak "
			"TLS (plain HTTP, or a proxy in the way?)");
	fake_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_version_and_data),
		cmocka_unit_test(test_server_from_another_ca),
		cmocka_unit_test(test_server_expired),
		cmocka_unit_test(test_server_not_yet_valid),
		cmocka_unit_test(test_server_for_another_host),
		cmocka_unit_test(test_server_names_are_sanitised),
		cmocka_unit_test(test_server_two_faults),
		cmocka_unit_test(test_long_names_are_cut),
		cmocka_unit_test(test_client_from_another_ca),
		cmocka_unit_test(test_client_expired),
		cmocka_unit_test(test_alert_no_shared_suite),
		cmocka_unit_test(test_alert_protocol_version),
		cmocka_unit_test(test_alert_unknown_ca),
		cmocka_unit_test(test_server_hello_tls10),
		cmocka_unit_test(test_peer_speaks_http),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
