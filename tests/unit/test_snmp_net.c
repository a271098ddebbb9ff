/* Unit tests for agent/snmp/snmp_net.c: the receiver with real sockets, a
 * real spool lane and a libuv loop the test turns by hand, so that it
 * decides when records become durable.
 *
 *   - an inform's Response, and the Response to its retransmission, go
 *     only once the record is durable; a record the spool refused is
 *     never acknowledged, not even through a retransmission;
 *   - engine failures (-ENOMEM, -EIO) are counted in status;
 *   - snmpEngineBoots persists, rises, and never goes back, whatever
 *     happened to the state file;
 *   - a reconfiguration that fails leaves status and engine as they were.
 *
 * Engine failures are provoked by interposing mbedtls_md_setup(): the
 * executable's definition wins over libmbedcrypto's, and forwards to it
 * (dlsym RTLD_NEXT) unless a test asks for a failure. */
#include "test_snmp_util.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "config.h"
#include "snmp/snmp_net.h"
#include "spool.h"

/* ---- the mbedtls seam ----------------------------------------------------- */

static int md_setup_fails;      /* 0: pass through; else the mbedtls error */

int mbedtls_md_setup(mbedtls_md_context_t *ctx, const mbedtls_md_info_t *info, int hmac)
{
	static int (*real)(mbedtls_md_context_t *, const mbedtls_md_info_t *, int);

	if (md_setup_fails != 0)
		return md_setup_fails;
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "mbedtls_md_setup");
	assert_non_null(real);
	return real(ctx, info, hmac);
}

/* ---- a receiver in a scratch directory ------------------------------------ */

static const uint8_t THEIRS[] = { 0x80, 0, 0x1f, 0x88, 7, 7, 7, 7 };

struct rig {
	char dir[64];
	uv_loop_t loop;
	struct spool_lane *lane;
	struct snmp_server *srv;
	struct ward_config *cfg;
	int port;
	int cli4, cli6;                 /* the senders' sockets */
	struct sockaddr_in to4;
	struct sockaddr_in6 to6;
};

static struct rig R;
static bool have_v6;            /* a ::1 to listen on */

static bool v6_loopback(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static int free_udp_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* The configuration: our engine ID, bob (authPriv, informs) and carol
 * (authNoPriv, any sender engine: her keys are localised per sender, the
 * step the mbedtls seam breaks). `extra` goes into the snmp section. */
static struct ward_config *rig_config(const char *engine_id, const char *extra)
{
	struct ward_config *cfg = NULL;
	struct config_error err;
	char text[1024];
	char v6[32] = "";
	int n;

	if (have_v6)
		snprintf(v6, sizeof(v6), ", \"[::1]:%d\"", R.port);
	n = snprintf(text, sizeof(text),
		     "syslog:\n  enabled: false\n"
		     "snmp:\n"
		     "  listeners: [\"127.0.0.1:%d\"%s]\n"
		     "  engine_id: %s\n"
		     "  users:\n"
		     "    - { name: bob, auth: sha256, auth_password: authpass123, priv: aes256,"
		     " priv_password: privpass123 }\n"
		     "    - { name: carol, auth: sha, auth_password: carolpass1 }\n"
		     "%s",
		     R.port, v6, engine_id, extra);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	if (config_load_buf("test", (const uint8_t *)text, (size_t)n, &cfg, &err) != 0)
		fail_msg("config: %s (line %u)", err.msg, err.line);
	return cfg;
}

static void rig_configure(const char *engine_id, const char *extra, int want)
{
	config_free(R.cfg);
	R.cfg = rig_config(engine_id, extra);
	assert_int_equal(snmp_server_configure(R.srv, R.cfg), want);
}

static void rig_start(const char *name)
{
	struct spool_lane_opts lo = { .spool_dir = "spool", .name = "snmp", .cls = SPOOL_P1,
				      .hard_limit_bytes = 1 << 30 };
	md_setup_fails = 0;     /* a failed test may have left it set */
	memset(&R, 0, sizeof(R));
	snprintf(R.dir, sizeof(R.dir), "/tmp/ward-snmp-net-%s.XXXXXX", name);
	assert_non_null(mkdtemp(R.dir));
	assert_int_equal(chdir(R.dir), 0);
	R.port = free_udp_port();
	assert_int_equal(uv_loop_init(&R.loop), 0);
	assert_int_equal(spool_lane_open(&R.lane, &lo), 0);
	assert_int_equal(snmp_server_create(&R.srv, &R.loop, R.lane), 0);
	rig_configure("8000ed5703776172640001", "", 0);
	R.to4 = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)R.port),
				      .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	R.to6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)R.port),
				       .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	R.cli4 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	R.cli6 = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(R.cli4 >= 0);
}

static void stopped(void *arg)
{
	*(int *)arg = 1;
}

static void rig_stop(void)
{
	char cmd[128];
	int done = 0;

	snmp_server_stop(R.srv, stopped, &done);
	while (!done)
		uv_run(&R.loop, UV_RUN_ONCE);
	snmp_server_destroy(R.srv);
	spool_lane_close(R.lane);
	assert_int_equal(uv_loop_close(&R.loop), 0);
	config_free(R.cfg);
	close(R.cli4);
	if (R.cli6 >= 0)
		close(R.cli6);
	assert_int_equal(chdir("/"), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", R.dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- status and waiting ---------------------------------------------------- */

static json_int_t status_int(const char *obj, const char *key)
{
	json_t *st = snmp_server_status(R.srv), *o;
	json_int_t v;

	assert_non_null(st);
	o = json_object_get(st, obj);
	if (strcmp(key, "replay") == 0)
		o = json_object_get(o, "rejects");
	v = json_integer_value(json_object_get(o, key));
	json_decref(st);
	return v;
}

static json_int_t counter(const char *key)
{
	return status_int("counters", key);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Turns the loop until counter `key` reaches `want`: 5 s at most. */
static void pump_until(const char *key, json_int_t want)
{
	uint64_t deadline = now_ms() + 5000;

	while (counter(key) < want) {
		if (now_ms() > deadline)
			fail_msg("counter %s stayed at %lld, want %lld", key, (long long)counter(key),
				 (long long)want);
		uv_run(&R.loop, UV_RUN_NOWAIT);
		(void)poll(NULL, 0, 1);
	}
}

/* The next datagram to the sender's socket within wait_ms, or 0 bytes. */
static size_t answer(int fd, uint8_t *buf, size_t cap, int wait_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, wait_ms) <= 0)
		return 0;
	n = recv(fd, buf, cap, MSG_DONTWAIT);
	return n > 0 ? (size_t)n : 0;
}

static void no_answer(int fd)
{
	uint8_t buf[2048];

	assert_int_equal(answer(fd, buf, sizeof(buf), 0), 0);
}

static void expect_response(int fd)
{
	struct snmp_ber_diag d = { 0 };
	struct snmp_msg m;
	struct snmp_pdu pdu;
	uint8_t buf[2048];
	size_t n = answer(fd, buf, sizeof(buf), 2000);

	if (n == 0)
		fail_msg("no Response");
	assert_int_equal(snmp_msg_decode(buf, n, &m, &pdu, &d), 0);
	assert_int_equal(m.msg_id, 4242);
	assert_int_equal(m.msg_flags, SNMP_FLAG_AUTH | SNMP_FLAG_PRIV);
}

static size_t bob_inform(uint8_t *buf, uint32_t time)
{
	struct v3b b = { .a = SNMP_AUTH_SHA256, .p = SNMP_PRIV_AES256, .user = "bob",
			 .apw = "authpass123", .ppw = "privpass123", .eid = OURS,
			 .eid_len = sizeof(OURS), .salt_len = 8, .pdu = SNMP_PDU_INFORM,
			 .flags = SNMP_FLAG_AUTH | SNMP_FLAG_PRIV | SNMP_FLAG_REPORTABLE,
			 .boots = (uint32_t)status_int("engine", "boots"), .time = time };

	return build_v3(&b, buf);
}

static void send_to(int fd, const uint8_t *p, size_t n)
{
	const struct sockaddr *to = fd == R.cli4 ? (const struct sockaddr *)&R.to4 :
						   (const struct sockaddr *)&R.to6;
	socklen_t tl = fd == R.cli4 ? sizeof(R.to4) : sizeof(R.to6);

	assert_int_equal(sendto(fd, p, n, 0, to, tl), (ssize_t)n);
}

static void commit(void)
{
	assert_int_equal(spool_lane_commit(R.lane), 0);
	snmp_server_on_commit(R.srv);
}

/* ---- informs ---------------------------------------------------------------- */

static void test_inform_answered_once_durable(void **state)
{
	uint8_t msg[512];
	size_t n;

	(void)state;
	rig_start("durable");
	n = bob_inform(msg, 1);
	send_to(R.cli4, msg, n);
	pump_until("informs", 1);
	no_answer(R.cli4);
	/* net-snmp retransmits the same bytes: a replay, not answered
	 * before the first copy's record is durable either */
	send_to(R.cli4, msg, n);
	pump_until("replay", 1);
	no_answer(R.cli4);
	assert_int_equal(counter("informs_pending"), 2);
	commit();
	expect_response(R.cli4);
	expect_response(R.cli4);
	assert_int_equal(counter("informs_acknowledged"), 2);
	assert_int_equal(counter("informs_pending"), 0);
	/* once durable, a further copy is answered at once */
	send_to(R.cli4, msg, n);
	pump_until("replay", 2);
	expect_response(R.cli4);
	if (!have_v6) {
		print_message("no ::1 here: the IPv6 listener is not tested\n");
		rig_stop();
		return;
	}
	/* over IPv6 too (a listener of its own), for a new inform */
	n = bob_inform(msg, 2);
	send_to(R.cli6, msg, n);
	pump_until("informs", 2);
	no_answer(R.cli6);
	commit();
	expect_response(R.cli6);
	assert_int_equal(counter("informs"), 2);
	rig_stop();
}

static void test_refused_inform_never_acknowledged(void **state)
{
	struct spool_lane_stats st;
	uint8_t msg[512];
	size_t n;

	(void)state;
	rig_start("refused");
	n = bob_inform(msg, 3);
	/* the spool is over its hard limit: appends are refused */
	spool_lane_set_spool_usage(R.lane, (uint64_t)1 << 40);
	send_to(R.cli4, msg, n);
	pump_until("informs_unacknowledged", 1);
	commit();
	no_answer(R.cli4);
	/* the retransmission is no replay of a stored record: it is tried
	 * as new, refused again, and still not acknowledged */
	send_to(R.cli4, msg, n);
	pump_until("informs_unacknowledged", 2);
	commit();
	no_answer(R.cli4);
	assert_int_equal(counter("informs_acknowledged"), 0);
	/* room again: the next retransmission is recorded and answered */
	spool_lane_set_spool_usage(R.lane, 0);
	send_to(R.cli4, msg, n);
	pump_until("informs", 3);
	no_answer(R.cli4);
	commit();
	expect_response(R.cli4);
	spool_lane_get_stats(R.lane, &st);
	assert_int_equal(st.records_appended, 1);
	rig_stop();
}

/* ---- engine failures ----------------------------------------------------------- */

static void test_engine_failures_counted(void **state)
{
	struct v3b b = { .a = SNMP_AUTH_SHA1, .user = "carol", .apw = "carolpass1", .eid = THEIRS,
			 .eid_len = sizeof(THEIRS), .pdu = SNMP_PDU_TRAP_V2,
			 .flags = SNMP_FLAG_AUTH, .boots = 1, .time = 100 };
	uint8_t msg[512];
	size_t n;

	(void)state;
	rig_start("failures");
	n = build_v3(&b, msg);
	/* localising carol's key for this sender needs a hash context */
	md_setup_fails = MBEDTLS_ERR_MD_ALLOC_FAILED;
	send_to(R.cli4, msg, n);
	pump_until("dropped_nomem", 1);
	md_setup_fails = MBEDTLS_ERR_MD_BAD_INPUT_DATA;
	send_to(R.cli4, msg, n);
	pump_until("dropped_io", 1);
	md_setup_fails = 0;
	assert_int_equal(counter("traps"), 0);
	/* the receiver goes on: the same trap now gets through */
	send_to(R.cli4, msg, n);
	pump_until("traps", 1);
	assert_int_equal(counter("dropped_nomem"), 1);
	assert_int_equal(counter("dropped_io"), 1);
	rig_stop();
}

/* ---- engine boots and reconfiguration -------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_boots_never_go_back(void **state)
{
	const char *ours = "8000ed5703776172640001";
	json_int_t boots;

	(void)state;
	rig_start("boots");
	assert_int_equal(status_int("engine", "boots"), 1);
	rig_configure(ours, "", 0);
	assert_int_equal(status_int("engine", "boots"), 2);
	/* both copies hold it */
	assert_int_equal(access(SNMP_ENGINE_STATE_FILE, R_OK), 0);
	assert_int_equal(access(SNMP_ENGINE_STATE_FILE ".bak", R_OK), 0);
	/* a damaged main copy: the backup's 2, plus one for the value the
	 * damaged copy may have held, plus one */
	write_file(SNMP_ENGINE_STATE_FILE, "engine_id=8000ed5703776172640001\nboots=");
	rig_configure(ours, "", 0);
	assert_int_equal(status_int("engine", "boots"), 4);
	/* a damaged backup alone: the same */
	write_file(SNMP_ENGINE_STATE_FILE ".bak", "\x01\x02garbage\n");
	rig_configure(ours, "", 0);
	assert_int_equal(status_int("engine", "boots"), 6);
	/* a new engine ID does not start again from 1 */
	rig_configure("8000ed5703776172640002", "", 0);
	assert_int_equal(status_int("engine", "boots"), 7);
	/* no copy reads back: the seconds since 2020, above any count */
	write_file(SNMP_ENGINE_STATE_FILE, "boots=99999999999\n");
	write_file(SNMP_ENGINE_STATE_FILE ".bak", "engine_id=80\nboots=1\n");
	rig_configure(ours, "", 0);
	boots = status_int("engine", "boots");
	assert_true(boots > (json_int_t)(time(NULL) - 1577836800 - 60));
	assert_true(boots < 2147483647);
	/* and from there it rises by one */
	rig_configure(ours, "", 0);
	assert_int_equal(status_int("engine", "boots"), boots + 1);
	rig_stop();
}

static void test_failed_reconfigure_keeps_engine(void **state)
{
	json_t *st;
	uint8_t msg[512];
	size_t n;

	(void)state;
	rig_start("reconf");
	assert_int_equal(status_int("engine", "boots"), 1);
	/* a new engine ID with an OID names file that is not there: the
	 * engine cannot be created */
	rig_configure("8000ed5703776172640009", "  oid_names: /nonexistent/oids.txt\n", 0);
	st = snmp_server_status(R.srv);
	assert_string_equal(json_string_value(json_object_get(json_object_get(st, "engine"),
								"engine_id")),
			    "8000ed5703776172640001");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "engine"), "boots")),
			 1);
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(st, "engine"),
								   "error")),
			       "previous engine"));
	json_decref(st);
	/* and the engine status describes is the one answering */
	n = bob_inform(msg, 1);
	send_to(R.cli4, msg, n);
	pump_until("informs", 1);
	commit();
	expect_response(R.cli4);
	/* a good configuration again: the next boots (the failed engine
	 * never answered anyone, so 2 was not used) */
	rig_configure("8000ed5703776172640001", "", 0);
	assert_int_equal(status_int("engine", "boots"), 2);
	st = snmp_server_status(R.srv);
	assert_null(json_string_value(json_object_get(json_object_get(st, "engine"), "error")));
	json_decref(st);
	rig_stop();
}

/* The replay cache's figures are in status. */
static void test_status_replay_cache(void **state)
{
	(void)state;
	rig_start("status");
	assert_int_equal(status_int("replay_cache", "slots"), SNMP_USM_REPLAY_DEFAULT);
	assert_int_equal(status_int("replay_cache", "bytes"),
			 (json_int_t)SNMP_USM_REPLAY_DEFAULT * SNMP_USM_REPLAY_SLOT_BYTES);
	assert_int_equal(status_int("replay_cache", "evicted_live"), 0);
	rig_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inform_answered_once_durable),
		cmocka_unit_test(test_refused_inform_never_acknowledged),
		cmocka_unit_test(test_engine_failures_counted),
		cmocka_unit_test(test_boots_never_go_back),
		cmocka_unit_test(test_failed_reconfigure_keeps_engine),
		cmocka_unit_test(test_status_replay_cache),
	};

	have_v6 = v6_loopback();
	return cmocka_run_group_tests(tests, setup, teardown);
}
