/* Unit tests for the config loader (agent/core/config.c, config_locate.c).
 *
 * Error cases assert the exact line:col the message points at, because a
 * field engineer is sent to that spot. Messages are checked by a fragment
 * that carries their meaning, plus a few full strings for the format.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* ---- helpers ------------------------------------------------------------- */

static int load_str(const char *yaml, struct ward_config **c, struct config_error *err)
{
	return config_load_buf("ward.yaml", (const uint8_t *)yaml, strlen(yaml), c, err);
}

static struct ward_config *load_ok(const char *yaml)
{
	struct ward_config *c = NULL;
	struct config_error err;
	char s[600];
	int rc = load_str(yaml, &c, &err);

	if (rc != 0)
		fail_msg("expected success for:\n%s\ngot %d: %s", yaml, rc,
			 config_error_str(&err, s, sizeof(s)));
	assert_non_null(c);
	return c;
}

struct bad_case {
	const char *yaml;
	unsigned line, col;
	const char *needle;     /* a fragment of the message */
};

static void expect_bad(const struct bad_case *bc)
{
	struct ward_config *c = (struct ward_config *)&c;   /* must be reset */
	struct config_error err;
	char s[600];
	int rc = load_str(bc->yaml, &c, &err);

	config_error_str(&err, s, sizeof(s));
	if (rc == 0)
		config_free(c);
	if (rc != -EINVAL || err.line != bc->line || err.col != bc->col ||
	    strstr(err.msg, bc->needle) == NULL)
		fail_msg("for:\n%s\nexpected -EINVAL at %u:%u with \"%s\"\ngot %d: %s",
			 bc->yaml, bc->line, bc->col, bc->needle, rc, s);
	assert_null(c);
	assert_string_equal(err.file, "ward.yaml");
}

static void expect_bad_all(const struct bad_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		expect_bad(&cases[i]);
}

#define BAD(cases) expect_bad_all(cases, sizeof(cases) / sizeof(cases[0]))

static void expect_msg(const char *yaml, const char *full)
{
	struct ward_config *c = NULL;
	struct config_error err;
	char s[600];

	if (load_str(yaml, &c, &err) == 0) {
		config_free(c);
		fail_msg("accepted:\n%s", yaml);
	}
	assert_string_equal(config_error_str(&err, s, sizeof(s)), full);
}

static void assert_defaults(const struct ward_config *c)
{
	char host[HOST_NAME_MAX + 1] = "";

	assert_non_null(c->agent.device_id);
	assert_true(c->agent.device_id[0] != '\0');
	/* The host name, unless it holds characters device_id may not. */
	if (gethostname(host, sizeof(host) - 1) == 0 &&
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
		    strlen(host) && host[0] != '\0')
		assert_string_equal(c->agent.device_id, host);
	assert_string_equal(c->agent.user, "nobody");
	assert_string_equal(c->agent.state_dir, ".");
	assert_string_equal(c->agent.control_socket, "ward.sock");
	assert_int_equal(c->agent.log_level, LOG_LVL_INFO);
	assert_int_equal(c->agent.status_interval_ms, 60000);
	assert_string_equal(c->spool.dir, "spool");
	assert_int_equal(c->spool.segment_max_bytes, 4194304);
	assert_int_equal(c->spool.segment_max_age_ms, 1000);
	assert_int_equal(c->spool.fsync_interval_ms, 100);
	assert_int_equal(c->spool.budget_bytes, 1073741824);
	assert_int_equal(c->spool.budget_check_ms, 1000);
	assert_true(c->syslog.enabled);
	assert_int_equal(c->syslog.max_message_bytes, 65536);
	assert_int_equal(c->syslog.udp_rcvbuf_bytes, 4194304);
	assert_int_equal(c->syslog.max_connections, 1024);
	assert_int_equal(c->syslog.idle_timeout_ms, 600000);
	assert_int_equal(c->syslog.max_pending_bytes, 8388608);
	assert_int_equal(c->syslog.n_listeners, 2);
	assert_int_equal(c->syslog.listeners[0].proto, LISTEN_UDP);
	assert_string_equal(c->syslog.listeners[0].address, "127.0.0.1:5514");
	assert_null(c->syslog.listeners[0].cert);
	assert_null(c->syslog.listeners[0].key);
	assert_null(c->syslog.listeners[0].client_ca);
	assert_int_equal(c->syslog.listeners[1].proto, LISTEN_TCP);
	assert_string_equal(c->syslog.listeners[1].address, "127.0.0.1:5514");
	assert_true(c->snmp.enabled);
	assert_int_equal(c->snmp.n_listeners, 1);
	assert_string_equal(c->snmp.listeners[0], "127.0.0.1:10162");
	assert_int_equal(c->snmp.engine_id_len, 0);
	assert_int_equal(c->snmp.n_communities, 1);
	assert_string_equal(c->snmp.communities[0], "public");
	assert_false(c->snmp.accept_any_community);
	assert_false(c->snmp.accept_any_user);
	assert_false(c->snmp.record_community);
	assert_int_equal(c->snmp.udp_rcvbuf_bytes, 4194304);
	assert_null(c->snmp.oid_names);
	assert_int_equal(c->snmp.n_users, 0);
	assert_null(c->snmp.users);
	assert_false(c->uplink.enabled);
	assert_null(c->uplink.device_key);
	assert_null(c->uplink.soc_public_key);
	assert_string_equal(c->uplink.outbox, "outbox");
	assert_int_equal(c->uplink.batch_max_bytes, 4194304);
	assert_int_equal(c->uplink.zstd_level, 3);
	assert_int_equal(c->uplink.seal_interval_ms, 1000);
	assert_null(c->uplink.endpoints);
	assert_int_equal(c->uplink.n_endpoints, 0);
	assert_null(c->uplink.ca);
	assert_null(c->uplink.client_cert);
	assert_null(c->uplink.client_key);
	assert_null(c->uplink.proxy);
	assert_null(c->uplink.proxy_host);
	assert_int_equal(c->uplink.proxy_port, 0);
	assert_int_equal(c->uplink.connect_timeout_ms, 10000);
	assert_int_equal(c->uplink.handshake_timeout_ms, 10000);
	assert_int_equal(c->uplink.response_timeout_ms, 30000);
	assert_int_equal(c->uplink.backoff_min_ms, 1000);
	assert_int_equal(c->uplink.backoff_max_ms, 300000);
	assert_null(c->uplink.rate_limit);
	assert_int_equal(c->uplink.n_rate_limit, 0);
	assert_int_equal(c->uplink.default_bytes_per_second, 0);
	assert_null(c->uplink.lanes);
	assert_int_equal(c->uplink.n_lanes, 0);
	assert_int_equal(c->uplink.max_in_flight, 8);
	assert_int_equal(c->uplink.max_bytes_in_flight, 4194304);
	assert_int_equal(c->uplink.aging_ms, 10000);
	assert_int_equal(c->uplink.failback_ms, 300000);
}

/* A scratch directory for on-disk cases. */
static char tmpdir[PATH_MAX];

static int setup_tmp(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/ward-test-config.XXXXXX", base ? base : "/tmp");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static void tmp_path(char *dst, size_t n, const char *name)
{
	int len = snprintf(dst, n, "%s/%s", tmpdir, name);

	assert_true(len > 0 && (size_t)len < n);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static const char *const tmp_files[] = { "empty.yaml", "comments.yaml", "bad.yaml", "big.yaml" };

static int teardown_tmp(void **state)
{
	char path[PATH_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tmp_files) / sizeof(tmp_files[0]); i++) {
		tmp_path(path, sizeof(path), tmp_files[i]);
		unlink(path);
	}
	return rmdir(tmpdir);
}

/* ---- defaults ------------------------------------------------------------ */

static void test_defaults(void **state)
{
	struct ward_config *c = config_defaults();

	(void)state;
	assert_non_null(c);
	assert_defaults(c);
	config_free(c);
	config_free(NULL);
}

static void test_missing_file_gives_defaults(void **state)
{
	struct ward_config *c = NULL;
	struct config_error err;
	char path[PATH_MAX];

	(void)state;
	tmp_path(path, sizeof(path), "does-not-exist.yaml");
	assert_int_equal(config_load(path, &c, &err), 0);
	assert_defaults(c);
	config_free(c);
}

static void test_empty_inputs_give_defaults(void **state)
{
	static const char *const inputs[] = {
		"", "\n\n", "# only a comment\n", "# one\n  # two\n\n# three",
		"---\n", "---\n...\n", "~\n", "null", "{}", "agent:\nspool:\nsyslog:\n",
		"agent: ~\nspool: null\nsyslog: {}\n",
		"agent:\n  user:\n  log_level: ~\nspool:\n  segment_max_bytes:\n",
		"syslog:\n  listeners:\n",
		"snmp:\n", "snmp: ~\n", "snmp: {}\n",
		"snmp:\n  listeners:\n  communities:\n  users:\n  engine_id:\n  oid_names: ''\n",
		"uplink:\n", "uplink: ~\n", "uplink: {}\n", "uplink: {enabled: false}\n",
		"uplink:\n  enabled:\n  endpoints:\n  rate_limit:\n  proxy: ''\n  outbox:\n",
	};
	struct ward_config *c = NULL;
	struct config_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		c = load_ok(inputs[i]);
		assert_defaults(c);
		config_free(c);
	}
	assert_int_equal(config_load_buf("x", NULL, 0, &c, &err), 0);
	assert_defaults(c);
	config_free(c);
}

static void test_empty_and_comment_files_on_disk(void **state)
{
	struct ward_config *c = NULL;
	struct config_error err;
	char path[PATH_MAX];

	(void)state;
	tmp_path(path, sizeof(path), "empty.yaml");
	write_file(path, "", 0);
	assert_int_equal(config_load(path, &c, &err), 0);
	assert_defaults(c);
	config_free(c);

	tmp_path(path, sizeof(path), "comments.yaml");
	write_file(path, "# nothing here yet\n#agent:\n#  user: ward\n", 41);
	assert_int_equal(config_load(path, &c, &err), 0);
	assert_defaults(c);
	config_free(c);
}

static void test_example_file_equals_defaults(void **state)
{
	struct ward_config *c = NULL;
	struct config_error err;
	char path[PATH_MAX], s[600];
	const char *root = getenv("WARD_ROOT");
	const char *self = __FILE__, *tail = strstr(self, "tests/unit/test_config.c");

	(void)state;
	if (root != NULL)
		snprintf(path, sizeof(path), "%s/docs/examples/ward.yaml", root);
	else
		snprintf(path, sizeof(path), "%.*sdocs/examples/ward.yaml",
			 tail ? (int)(tail - self) : 0, self);
	if (access(path, R_OK) != 0)
		fail_msg("cannot find %s (run from the source tree or set WARD_ROOT)", path);
	if (config_load(path, &c, &err) != 0)
		fail_msg("%s", config_error_str(&err, s, sizeof(s)));
	assert_defaults(c);
	config_free(c);
}

/* ---- valid files --------------------------------------------------------- */

static const char full_yaml[] =
	"# every key, none at its default\n"
	"agent:\n"
	"  device_id: probe-07.icu\n"
	"  user: ward\n"
	"  state_dir: /var/lib/ward\n"
	"  control_socket: /run/ward/ctl.sock\n"
	"  log_level: debug\n"
	"  status_interval_ms: 15000\n"
	"spool:\n"
	"  dir: /var/spool/ward\n"
	"  segment_max_bytes: 65536\n"
	"  segment_max_age_ms: 3600000\n"
	"  fsync_interval_ms: 1\n"
	"  budget_bytes: 34359738368\n"
	"  budget_check_ms: 250\n"
	"syslog:\n"
	"  enabled: false\n"
	"  max_message_bytes: 480\n"
	"  udp_rcvbuf_bytes: 268435456\n"
	"  max_connections: 65536\n"
	"  idle_timeout_ms: 1000\n"
	"  max_pending_bytes: 1073741824\n"
	"  listeners:\n"
	"    - proto: udp\n"
	"      address: 0.0.0.0:514\n"
	"    - proto: TCP\n"
	"      address: \"[::]:601\"\n"
	"    - {proto: tls, address: '[2001:db8::1]:6514', cert: /etc/ward/s.crt,\n"
	"       key: /etc/ward/s.key, client_ca: /etc/ward/ca.crt}\n"
	"    - proto: tls\n"
	"      address: 10.1.2.3:6514\n"
	"      cert: s.crt\n"
	"      key: s.key\n";

static void test_full_file(void **state)
{
	struct ward_config *c = load_ok(full_yaml);
	const struct listener_conf *l = c->syslog.listeners;

	(void)state;
	assert_string_equal(c->agent.device_id, "probe-07.icu");
	assert_string_equal(c->agent.user, "ward");
	assert_string_equal(c->agent.state_dir, "/var/lib/ward");
	assert_string_equal(c->agent.control_socket, "/run/ward/ctl.sock");
	assert_int_equal(c->agent.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c->agent.status_interval_ms, 15000);
	assert_string_equal(c->spool.dir, "/var/spool/ward");
	assert_int_equal(c->spool.segment_max_bytes, 65536);
	assert_int_equal(c->spool.segment_max_age_ms, 3600000);
	assert_int_equal(c->spool.fsync_interval_ms, 1);
	assert_true(c->spool.budget_bytes == 34359738368ULL);
	assert_int_equal(c->spool.budget_check_ms, 250);
	assert_false(c->syslog.enabled);
	assert_int_equal(c->syslog.max_message_bytes, 480);
	assert_int_equal(c->syslog.udp_rcvbuf_bytes, 268435456);
	assert_int_equal(c->syslog.max_connections, 65536);
	assert_int_equal(c->syslog.idle_timeout_ms, 1000);
	assert_int_equal(c->syslog.max_pending_bytes, 1073741824);
	assert_int_equal(c->syslog.n_listeners, 4);
	assert_int_equal(l[0].proto, LISTEN_UDP);
	assert_string_equal(l[0].address, "0.0.0.0:514");
	assert_int_equal(l[1].proto, LISTEN_TCP);
	assert_string_equal(l[1].address, "[::]:601");
	assert_null(l[1].cert);
	assert_int_equal(l[2].proto, LISTEN_TLS);
	assert_string_equal(l[2].address, "[2001:db8::1]:6514");
	assert_string_equal(l[2].cert, "/etc/ward/s.crt");
	assert_string_equal(l[2].key, "/etc/ward/s.key");
	assert_string_equal(l[2].client_ca, "/etc/ward/ca.crt");
	assert_int_equal(l[3].proto, LISTEN_TLS);
	assert_string_equal(l[3].cert, "s.crt");
	assert_null(l[3].client_ca);
	config_free(c);
}

static void test_partial_file_keeps_other_defaults(void **state)
{
	struct ward_config *c = load_ok("spool:\n  segment_max_bytes: 1048576\n");

	(void)state;
	assert_int_equal(c->spool.segment_max_bytes, 1048576);
	assert_int_equal(c->spool.budget_bytes, 1073741824);
	assert_string_equal(c->agent.user, "nobody");
	assert_int_equal(c->syslog.n_listeners, 2);
	config_free(c);
}

static void test_listeners_replace_defaults(void **state)
{
	struct ward_config *c = load_ok("syslog:\n  listeners:\n"
					"    - {proto: udp, address: '0.0.0.0:514'}\n");

	(void)state;
	assert_int_equal(c->syslog.n_listeners, 1);
	assert_int_equal(c->syslog.listeners[0].proto, LISTEN_UDP);
	assert_string_equal(c->syslog.listeners[0].address, "0.0.0.0:514");
	config_free(c);
}

static void test_value_spellings(void **state)
{
	struct ward_config *c;

	(void)state;
	/* Quoted numbers, yes/no booleans, any case for enum names. */
	c = load_ok("agent: {status_interval_ms: \"5000\", log_level: WARNING}\n"
		    "syslog: {enabled: no}\n");
	assert_int_equal(c->agent.status_interval_ms, 5000);
	assert_int_equal(c->agent.log_level, LOG_LVL_WARN);
	assert_false(c->syslog.enabled);
	config_free(c);
	c = load_ok("syslog: {enabled: On}\nagent: {log_level: error}\n");
	assert_true(c->syslog.enabled);
	assert_int_equal(c->agent.log_level, LOG_LVL_ERROR);
	config_free(c);
	/* Same address, one UDP and one TCP socket: no clash. */
	c = load_ok("syslog: {listeners: [{proto: udp, address: '[::1]:514'},\n"
		    "                     {proto: tcp, address: '[::1]:514'}]}\n");
	assert_int_equal(c->syslog.n_listeners, 2);
	config_free(c);
	/* Anchors without aliases are harmless. */
	c = load_ok("agent: {user: &u ward}\n");
	assert_string_equal(c->agent.user, "ward");
	config_free(c);
}

/* ---- errors, by class ---------------------------------------------------- */

static void test_exact_messages(void **state)
{
	(void)state;
	expect_msg("syslog:\n"
		   "  enabled: true\n"
		   "  listner: []\n",
		   "ward.yaml:3:3: unknown key 'listner' in syslog (expected: enabled, "
		   "max_message_bytes, udp_rcvbuf_bytes, max_connections, idle_timeout_ms, "
		   "max_pending_bytes, listeners); did you mean 'listeners'?");
	expect_msg("spool:\n"
		   "  dir: spool\n"
		   "  segment_max_bytes: 10\n",
		   "ward.yaml:3:22: spool.segment_max_bytes: 10 is below the minimum 65536");
	expect_msg("syslog:\n"
		   "  listeners:\n"
		   "    - proto: udp\n"
		   "      address: 127.0.0.1:5514\n"
		   "    - proto: tcp\n"
		   "      address: 127.0.0.1\n",
		   "ward.yaml:6:16: syslog.listeners[1].address: '127.0.0.1' has no port "
		   "(expected host:port or [v6]:port)");
}

static void test_unknown_keys(void **state)
{
	static const struct bad_case cases[] = {
		{ "foo: 1\n", 1, 1,
		  "unknown key 'foo' at the top level (expected: agent, spool, syslog, snmp, "
		  "uplink, edr, sensor)" },
		{ "agent:\n  user: x\n  usr: y\n", 3, 3, "unknown key 'usr' in agent" },
		{ "agent:\n  usr: y\n", 2, 3, "did you mean 'user'?" },
		{ "spool: {dir: a, segment_max_byte: 65536}\n", 1, 17,
		  "unknown key 'segment_max_byte' in spool" },
		{ "syslog:\n  listeners:\n    - proto: udp\n      address: 1.2.3.4:5\n"
		  "      adress: x\n", 5, 7, "unknown key 'adress' in syslog.listeners[0]" },
		{ "Agent: {}\n", 1, 1, "unknown key 'Agent'" },
		{ "agent: {\"a\\nb\": 1}\n", 1, 9, "unknown key 'a?b'" },
	};

	(void)state;
	BAD(cases);
}

static void test_wrong_types(void **state)
{
	static const struct bad_case cases[] = {
		{ "- agent\n", 1, 1, "the file must be a mapping" },
		{ "just text\n", 1, 1, "the file must be a mapping" },
		{ "agent: 5\n", 1, 8, "agent: expected a mapping of keys (key: value), found '5'" },
		{ "agent:\n  - user\n", 2, 3, "agent: expected a mapping" },
		{ "agent:\n  user: [a, b]\n", 2, 9, "agent.user: expected a text value, found a list" },
		{ "spool:\n  segment_max_bytes: {a: 1}\n", 2, 22,
		  "spool.segment_max_bytes: expected a whole number from 65536 to 268435456, found a mapping" },
		{ "spool:\n  segment_max_bytes: 4M\n", 2, 22,
		  "'4M' is not a plain decimal number (expected a whole number from 65536" },
		{ "spool:\n  segment_max_bytes: 1e6\n", 2, 22, "'1e6' is not a plain decimal number" },
		{ "spool:\n  segment_max_bytes: 1_048_576\n", 2, 22, "is not a plain decimal number" },
		{ "spool:\n  segment_max_bytes: 0x100000\n", 2, 22, "is not a plain decimal number" },
		{ "spool:\n  segment_max_bytes: 01048576\n", 2, 22, "is not a plain decimal number" },
		{ "spool:\n  segment_max_bytes: -65536\n", 2, 22, "'-65536' is not a plain decimal" },
		{ "spool:\n  segment_max_bytes: 1048576.0\n", 2, 22, "is not a plain decimal number" },
		{ "spool:\n  budget_bytes: 99999999999999999999999\n", 2, 17,
		  "'99999999999999999999999' is not a whole number, at least 16777216" },
		{ "syslog:\n  enabled: maybe\n", 2, 12, "syslog.enabled: 'maybe' is not true or false" },
		{ "syslog:\n  enabled: [true]\n", 2, 12, "expected true or false, found a list" },
		{ "syslog:\n  listeners: {proto: udp}\n", 2, 14,
		  "syslog.listeners: expected a list, found a mapping" },
		{ "syslog:\n  listeners:\n    - udp\n", 3, 7,
		  "syslog.listeners[0]: expected a mapping of keys (key: value), found 'udp'" },
		{ "syslog:\n  listeners:\n    -\n", 3, 6, "found an empty value" },
	};

	(void)state;
	BAD(cases);
}

static void test_bad_enums(void **state)
{
	static const struct bad_case cases[] = {
		{ "agent:\n  log_level: loud\n", 2, 14,
		  "agent.log_level: 'loud' is not one of error, warning, info, debug" },
		{ "agent:\n  log_level: 3\n", 2, 14, "'3' is not one of error" },
		{ "agent:\n  log_level: warn\n", 2, 14, "'warn' is not one of" },
		{ "syslog:\n  listeners:\n    - proto: sctp\n      address: 1.2.3.4:5\n", 3, 14,
		  "syslog.listeners[0].proto: 'sctp' is not one of udp, tcp, tls" },
	};

	(void)state;
	BAD(cases);
}

static void test_out_of_range(void **state)
{
	static const struct bad_case cases[] = {
		{ "agent: {status_interval_ms: 999}\n", 1, 29, "999 is below the minimum 1000" },
		{ "agent: {status_interval_ms: 86400001}\n", 1, 29, "above the maximum 86400000" },
		{ "spool: {segment_max_bytes: 65535}\n", 1, 28, "below the minimum 65536" },
		{ "spool: {segment_max_bytes: 268435457}\n", 1, 28, "above the maximum 268435456" },
		{ "spool: {segment_max_age_ms: 9}\n", 1, 29, "below the minimum 10" },
		{ "spool: {segment_max_age_ms: 3600001}\n", 1, 29, "above the maximum 3600000" },
		{ "spool: {fsync_interval_ms: 0}\n", 1, 28, "below the minimum 1" },
		{ "spool: {fsync_interval_ms: 10001}\n", 1, 28, "above the maximum 10000" },
		{ "spool: {budget_bytes: 16777215}\n", 1, 23, "below the minimum 16777216" },
		{ "spool: {budget_check_ms: 60001}\n", 1, 26, "above the maximum 60000" },
		{ "syslog: {max_message_bytes: 479}\n", 1, 29, "below the minimum 480" },
		{ "syslog: {max_message_bytes: 16777217}\n", 1, 29, "above the maximum 16777216" },
		{ "syslog: {udp_rcvbuf_bytes: 4096}\n", 1, 28, "below the minimum 65536" },
		{ "syslog: {max_connections: 0}\n", 1, 27, "below the minimum 1" },
		{ "syslog: {max_connections: 4294967296}\n", 1, 27, "above the maximum 65536" },
		{ "syslog: {idle_timeout_ms: 999}\n", 1, 27, "below the minimum 1000" },
		{ "syslog: {max_pending_bytes: 1073741825}\n", 1, 29, "above the maximum 1073741824" },
		/* Rules between values blame the one the file sets. */
		{ "spool:\n  budget_bytes: 16777216\n  segment_max_bytes: 8388608\n", 2, 17,
		  "spool.budget_bytes: spool.budget_bytes (16777216) must be at least 4 times "
		  "spool.segment_max_bytes (8388608)" },
		{ "spool:\n  segment_max_bytes: 268435456\n  budget_bytes: 1000000000\n", 3, 17,
		  "must be at least 4 times" },
		{ "syslog:\n  max_message_bytes: 16777216\n", 2, 22,
		  "syslog.max_pending_bytes (8388608) must be at least syslog.max_message_bytes" },
		{ "syslog:\n  max_message_bytes: 100000\n  max_pending_bytes: 65536\n", 3, 22,
		  "syslog.max_pending_bytes: syslog.max_pending_bytes (65536) must be at least" },
	};

	(void)state;
	BAD(cases);
}

static void test_bad_strings(void **state)
{
	static const struct bad_case cases[] = {
		{ "agent:\n  device_id: 'probe 7'\n", 2, 14,
		  "agent.device_id: 'probe 7' may hold only letters, digits" },
		{ "agent:\n  device_id: ../etc\n", 2, 14, "may hold only letters" },
		{ "agent:\n  device_id: -probe\n", 2, 14, "starting with a letter or digit" },
		{ "agent:\n  device_id: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		  2, 14, "agent.device_id: longer than 64 bytes" },
		{ "agent:\n  user: 'root;'\n", 2, 9, "agent.user: 'root;' may hold only" },
		{ "agent:\n  control_socket: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
		  2, 19, "agent.control_socket: longer than 107 bytes" },
		{ "agent:\n  user: \"a\\0b\"\n", 2, 9, "contains a NUL character" },
	};

	(void)state;
	BAD(cases);
}

static void test_bad_addresses(void **state)
{
	static const struct bad_case cases[] = {
		{ "syslog:\n  listeners:\n    - {proto: udp, address: '127.0.0.1'}\n", 3, 29,
		  "syslog.listeners[0].address: '127.0.0.1' has no port (expected host:port or [v6]:port)" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: '127.0.0.1:'}\n", 3, 29,
		  "has no port" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: '127.0.0.1:0'}\n", 3, 29,
		  "has a port outside 1 to 65535" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: '127.0.0.1:65536'}\n", 3, 29,
		  "has a port outside 1 to 65535" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: '127.0.0.1:5x'}\n", 3, 29,
		  "has a port that is not a number" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: 'logs.example:514'}\n", 3, 29,
		  "is not a numeric IPv4 address (host names are not looked up)" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: '127.1:514'}\n", 3, 29,
		  "is not a numeric IPv4 address" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: '::1:514'}\n", 3, 29,
		  "looks like IPv6 without brackets" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: '[::1'}\n", 3, 29,
		  "has a '[' without ']'" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: '[::1]'}\n", 3, 29,
		  "has no port" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: '[::g]:514'}\n", 3, 29,
		  "is not a numeric IPv6 address" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: ':514'}\n", 3, 29,
		  "has no host" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: ''}\n", 3, 29,
		  "syslog.listeners[0].address: must not be empty" },
		{ "syslog:\n  listeners:\n    - proto: udp\n", 3, 7,
		  "syslog.listeners[0]: missing 'address' (required: proto, address)" },
		{ "syslog:\n  listeners:\n    - address: 1.2.3.4:5\n", 3, 7,
		  "syslog.listeners[0]: missing 'proto'" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: 1.2.3.4:5}\n    - {}\n", 4, 7,
		  "syslog.listeners[1]: missing 'proto'" },
	};

	(void)state;
	BAD(cases);
}

static void test_tls_needs_cert_and_key(void **state)
{
	static const struct bad_case cases[] = {
		{ "syslog:\n  listeners:\n    - proto: tls\n      address: 0.0.0.0:6514\n", 3, 7,
		  "syslog.listeners[0]: a tls listener needs 'cert' and 'key' (PEM file paths)" },
		{ "syslog:\n  listeners:\n    - proto: tls\n      address: 0.0.0.0:6514\n"
		  "      cert: a.crt\n", 3, 7, "a tls listener needs 'key'" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: 1.2.3.4:5}\n"
		  "    - proto: tls\n      address: 0.0.0.0:6514\n      key: a.key\n      cert:\n",
		  4, 7, "syslog.listeners[1]: a tls listener needs 'cert'" },
		/* A certificate on a plain listener is a mistyped proto. */
		{ "syslog:\n  listeners:\n    - proto: tcp\n      address: 0.0.0.0:6514\n"
		  "      cert: a.crt\n      key: a.key\n", 5, 7,
		  "syslog.listeners[0].cert: only tls listeners take 'cert'; this one is tcp" },
		{ "syslog:\n  listeners:\n    - proto: udp\n      address: 0.0.0.0:514\n"
		  "      client_ca: ca.crt\n", 5, 7, "only tls listeners take 'client_ca'" },
	};

	(void)state;
	BAD(cases);
}

static void test_duplicates(void **state)
{
	static const struct bad_case cases[] = {
		{ "syslog:\n  listeners:\n"
		  "    - {proto: tcp, address: '127.0.0.1:514'}\n"
		  "    - {proto: udp, address: '127.0.0.1:514'}\n"
		  "    - {proto: tcp, address: '127.0.0.1:514'}\n", 5, 29,
		  "syslog.listeners[2]: duplicate listener: tcp 127.0.0.1:514 is already "
		  "syslog.listeners[0] (line 3)" },
		/* The same IPv6 address written two ways. */
		{ "syslog:\n  listeners:\n"
		  "    - {proto: udp, address: '[::1]:514'}\n"
		  "    - {proto: udp, address: '[0:0::1]:514'}\n", 4, 29, "duplicate listener" },
		/* tcp and tls both take a TCP port. */
		{ "syslog:\n  listeners:\n"
		  "    - {proto: tcp, address: '0.0.0.0:6514'}\n"
		  "    - {proto: tls, address: '0.0.0.0:6514', cert: c, key: k}\n", 4, 29,
		  "syslog.listeners[1]: tls and syslog.listeners[0] (tcp, line 3) cannot share "
		  "the TCP address 0.0.0.0:6514" },
		/* A key given twice is a duplicate too. */
		{ "spool:\n  dir: a\n  segment_max_bytes: 65536\n  dir: b\n", 4, 3,
		  "'dir' is set twice in spool (first at line 2)" },
		{ "agent: {}\nspool: {}\nagent: {}\n", 3, 1, "'agent' is set twice at the top level" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: 1.2.3.4:5, proto: tcp}\n", 3, 40,
		  "'proto' is set twice in syslog.listeners[0]" },
	};

	(void)state;
	BAD(cases);
}

static void test_empty_listener_list(void **state)
{
	static const struct bad_case cases[] = {
		{ "syslog: {listeners: []}\n", 1, 21,
		  "syslog.listeners: the list is empty; syslog needs at least one listener "
		  "(or set syslog.enabled: false)" },
		{ "syslog:\n  enabled: true\n  listeners: []\n", 3, 14, "the list is empty" },
	};
	struct ward_config *c;

	(void)state;
	BAD(cases);
	/* With syslog off an empty list is fine, and means no listeners. */
	c = load_ok("syslog: {enabled: false, listeners: []}\n");
	assert_false(c->syslog.enabled);
	assert_int_equal(c->syslog.n_listeners, 0);
	assert_null(c->syslog.listeners);
	config_free(c);
}

/* 64 listeners fit; the 65th is refused at the list. */
static void test_listener_limit(void **state)
{
	struct ward_config *c = NULL;
	struct config_error err;
	char *yaml = malloc(65 * 64 + 32), *p = yaml;
	unsigned i;

	(void)state;
	assert_non_null(yaml);
	p += sprintf(p, "syslog:\n  listeners:\n");
	for (i = 0; i < 64; i++)
		p += sprintf(p, "    - {proto: udp, address: '10.0.0.%u:514'}\n", i);
	c = load_ok(yaml);
	assert_int_equal(c->syslog.n_listeners, 64);
	assert_string_equal(c->syslog.listeners[63].address, "10.0.0.63:514");
	config_free(c);
	sprintf(p, "    - {proto: udp, address: '10.0.0.64:514'}\n");
	assert_int_equal(load_str(yaml, &c, &err), -EINVAL);
	assert_null(c);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.col, 5);
	assert_string_equal(err.msg, "syslog.listeners: more than 64 entries");
	free(yaml);
}

static void test_syntax_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "agent: {user: x\n", 2, 1, "YAML syntax error: did not find expected ',' or '}'" },
		{ "agent:\n  user: x\n   state_dir: y\n", 3, 13, "YAML syntax error" },
		{ "agent:\n\tuser: x\n", 2, 1, "YAML syntax error" },
		{ "spool: [1, 2\n", 2, 1, "YAML syntax error" },
		{ "agent: {user: 'x}\n", 2, 1, "YAML syntax error" },
		{ "agent:\n  user: \x01\n", 2, 9, "control characters are not allowed" },
		{ "agent:\n  user: \xff\n", 2, 9, "(the file must be UTF-8 text)" },
		{ "agent: {}\n---\nspool: {}\n", 2, 1, "a second YAML document starts here" },
		{ "agent: {}\n...\n---\n", 3, 1, "a second YAML document" },
		{ "? [agent]\n: 1\n", 1, 3, "a key must be a plain name" },
		{ "agent: {user: *nobody}\n", 1, 15, "found undefined alias" },
		{ "agent: {user: &u ward}\nspool: {dir: *u}\n", 2, 14,
		  "aliases (*name) are not supported" },
	};

	(void)state;
	BAD(cases);
}

/* ---- the snmp section ---------------------------------------------------- */

static const char snmp_yaml[] =
	"snmp:\n"
	"  enabled: true\n"
	"  listeners: ['0.0.0.0:162', '[::]:162']\n"
	"  engine_id: 80001f880401020304\n"
	"  communities: [public, 's3cret community']\n"
	"  accept_any_community: yes\n"
	"  accept_any_user: On\n"
	"  record_community: true\n"
	"  udp_rcvbuf_bytes: 268435456\n"
	"  oid_names: /etc/ward/oids.txt\n"
	"  users:\n"
	"    - name: ops\n"
	"      auth: SHA256\n"
	"      auth_password: maplesyrup\n"
	"      priv: aes\n"
	"      priv_password: \"0123456789abcdef\"\n"
	"      engine_id: 0x800000090300AABBCCDDEEFF\n"
	"    - name: monitor\n"
	"      auth: sha1\n"
	"      auth_password: authpass1\n"
	"    - {name: legacy, auth: md5, auth_password: authpass2, priv: des,\n"
	"       priv_password: privpass2}\n"
	"    - {name: big, auth: sha512, auth_password: '12345678', priv: AES256,\n"
	"       priv_password: '87654321'}\n"
	"    - {name: mid, auth: sha384, auth_password: '12345678', priv: aes192,\n"
	"       priv_password: '87654321'}\n"
	"    - {name: small, auth: sha224, auth_password: '12345678', priv: aes128,\n"
	"       priv_password: '87654321'}\n"
	"    - {name: plain, auth: sha, auth_password: '12345678'}\n"
	"    - name: trapper\n"
	"      engine_id: 8000000001\n";

static void test_snmp_full_section(void **state)
{
	static const uint8_t ours[] = { 0x80, 0x00, 0x1f, 0x88, 0x04, 0x01, 0x02, 0x03, 0x04 };
	static const uint8_t ops_engine[] = { 0x80, 0x00, 0x00, 0x09, 0x03, 0x00,
					      0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	static const uint8_t trapper_engine[] = { 0x80, 0x00, 0x00, 0x00, 0x01 };
	static const struct {
		const char *name;
		enum snmp_auth auth;
		enum snmp_priv priv;
	} want[] = {
		{ "ops", SNMP_AUTH_SHA256, SNMP_PRIV_AES128 },
		{ "monitor", SNMP_AUTH_SHA1, SNMP_PRIV_NONE },
		{ "legacy", SNMP_AUTH_MD5, SNMP_PRIV_DES },
		{ "big", SNMP_AUTH_SHA512, SNMP_PRIV_AES256 },
		{ "mid", SNMP_AUTH_SHA384, SNMP_PRIV_AES192 },
		{ "small", SNMP_AUTH_SHA224, SNMP_PRIV_AES128 },
		{ "plain", SNMP_AUTH_SHA1, SNMP_PRIV_NONE },
		{ "trapper", SNMP_AUTH_NONE, SNMP_PRIV_NONE },
	};
	struct ward_config *c = load_ok(snmp_yaml);
	const struct snmp_user_conf *u = c->snmp.users;
	size_t i;

	(void)state;
	assert_true(c->snmp.enabled);
	assert_int_equal(c->snmp.n_listeners, 2);
	assert_string_equal(c->snmp.listeners[0], "0.0.0.0:162");
	assert_string_equal(c->snmp.listeners[1], "[::]:162");
	assert_int_equal(c->snmp.engine_id_len, sizeof(ours));
	assert_memory_equal(c->snmp.engine_id, ours, sizeof(ours));
	assert_int_equal(c->snmp.n_communities, 2);
	assert_string_equal(c->snmp.communities[0], "public");
	assert_string_equal(c->snmp.communities[1], "s3cret community");
	assert_true(c->snmp.accept_any_community);
	assert_true(c->snmp.accept_any_user);
	assert_true(c->snmp.record_community);
	assert_int_equal(c->snmp.udp_rcvbuf_bytes, 268435456);
	assert_string_equal(c->snmp.oid_names, "/etc/ward/oids.txt");
	assert_int_equal(c->snmp.n_users, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(u[i].name, want[i].name);
		assert_int_equal(u[i].auth, want[i].auth);
		assert_int_equal(u[i].priv, want[i].priv);
		/* A password is there exactly when its protocol is. */
		assert_true((u[i].auth_password != NULL) == (want[i].auth != SNMP_AUTH_NONE));
		assert_true((u[i].priv_password != NULL) == (want[i].priv != SNMP_PRIV_NONE));
	}
	assert_string_equal(u[0].auth_password, "maplesyrup");
	assert_string_equal(u[0].priv_password, "0123456789abcdef");
	assert_int_equal(u[0].engine_id_len, sizeof(ops_engine));
	assert_memory_equal(u[0].engine_id, ops_engine, sizeof(ops_engine));
	assert_string_equal(u[2].priv_password, "privpass2");
	assert_int_equal(u[1].engine_id_len, 0);
	/* An unquoted all-digit engine ID is still read as hex text. */
	assert_int_equal(u[7].engine_id_len, sizeof(trapper_engine));
	assert_memory_equal(u[7].engine_id, trapper_engine, sizeof(trapper_engine));
	/* The other sections keep their defaults. */
	assert_int_equal(c->syslog.n_listeners, 2);
	config_free(c);
}

static void test_snmp_spellings(void **state)
{
	struct ward_config *c;

	(void)state;
	/* Off, with no listeners; v3 only, with no communities. */
	c = load_ok("snmp: {enabled: false, listeners: [], communities: [], users: []}\n");
	assert_false(c->snmp.enabled);
	assert_int_equal(c->snmp.n_listeners, 0);
	assert_null(c->snmp.listeners);
	assert_int_equal(c->snmp.n_communities, 0);
	assert_null(c->snmp.communities);
	assert_int_equal(c->snmp.n_users, 0);
	config_free(c);
	/* Exactly 5 and 32 bytes; upper-case hex with 0X. */
	c = load_ok("snmp: {engine_id: 0X8000000001}\n");
	assert_int_equal(c->snmp.engine_id_len, 5);
	assert_int_equal(c->snmp.engine_id[4], 0x01);
	config_free(c);
	c = load_ok("snmp: {engine_id: '8000000000000000000000000000000000000000000000000000000"
		    "0000000ff'}\n");
	assert_int_equal(c->snmp.engine_id_len, 32);
	assert_int_equal(c->snmp.engine_id[31], 0xff);
	config_free(c);
	/* Explicit none, any case; an empty auth keeps the default none. */
	c = load_ok("snmp:\n  users:\n    - {name: a, auth: NONE, priv: None}\n"
		    "    - {name: b, auth: }\n");
	assert_int_equal(c->snmp.users[0].auth, SNMP_AUTH_NONE);
	assert_int_equal(c->snmp.users[0].priv, SNMP_PRIV_NONE);
	assert_int_equal(c->snmp.users[1].auth, SNMP_AUTH_NONE);
	assert_null(c->snmp.users[0].auth_password);
	config_free(c);
	/* The same user name in two cases is two users, as on the wire. */
	c = load_ok("snmp: {users: [{name: ops}, {name: OPS}]}\n");
	assert_int_equal(c->snmp.n_users, 2);
	config_free(c);
	/* No clash: syslog on TCP, or off, or SNMP off, on the same port. */
	c = load_ok("syslog: {listeners: [{proto: tcp, address: '127.0.0.1:10162'}]}\n");
	config_free(c);
	c = load_ok("syslog: {enabled: false,\n"
		    "         listeners: [{proto: udp, address: '127.0.0.1:10162'}]}\n");
	config_free(c);
	c = load_ok("syslog: {listeners: [{proto: udp, address: '127.0.0.1:10162'}]}\n"
		    "snmp: {enabled: false}\n");
	config_free(c);
	/* Other addresses, or another family's wildcard, are separate sockets. */
	c = load_ok("syslog: {listeners: [{proto: udp, address: '127.0.0.2:10162'},\n"
		    "                     {proto: udp, address: '[::]:10162'}]}\n");
	config_free(c);
	/* Two listeners for the receiver, IPv4 and IPv6 loopback. */
	c = load_ok("snmp:\n  listeners:\n    - 127.0.0.1:162\n    - '[::1]:162'\n");
	assert_int_equal(c->snmp.n_listeners, 2);
	assert_string_equal(c->snmp.listeners[1], "[::1]:162");
	config_free(c);
}

static void test_snmp_exact_messages(void **state)
{
	(void)state;
	expect_msg("snmp:\n"
		   "  engine_id: 80001f88\n",
		   "ward.yaml:2:14: snmp.engine_id: '80001f88' is 4 bytes; an SnmpEngineID is "
		   "5 to 32 bytes, written as 10 to 64 hex digits (RFC 3411)");
	expect_msg("snmp:\n"
		   "  users:\n"
		   "    - name: ops\n"
		   "      auth: sha-257\n",
		   "ward.yaml:4:13: snmp.users[0].auth: 'sha-257' is not one of none, md5, sha, "
		   "sha1, sha224, sha256, sha384, sha512, sha-224, sha-256, sha-384, sha-512");
	/* net-snmp's spellings are accepted. */
	{
		struct ward_config *c = NULL;
		struct config_error err;
		const char *y = "snmp:\n  users:\n    - {name: ops, auth: SHA-256, auth_password: abcdefgh,"
				" priv: AES-192, priv_password: abcdefgh}\n";

		assert_int_equal(config_load_buf("ward.yaml", (const uint8_t *)y, strlen(y), &c, &err), 0);
		assert_int_equal(c->snmp.users[0].auth, SNMP_AUTH_SHA256);
		assert_int_equal(c->snmp.users[0].priv, SNMP_PRIV_AES192);
		config_free(c);
	}
	expect_msg("syslog:\n"
		   "  listeners:\n"
		   "    - {proto: udp, address: '127.0.0.1:10162'}\n",
		   "ward.yaml:3:29: syslog.listeners[0]: udp 127.0.0.1:10162 takes the UDP port of "
		   "snmp.listeners[0] (127.0.0.1:10162, the default); SNMP and syslog cannot "
		   "share one");
}

static void test_snmp_bad_engine_ids(void **state)
{
	static const struct bad_case cases[] = {
		{ "snmp:\n  engine_id: 80001f88044\n", 2, 14,
		  "snmp.engine_id: '80001f88044' has an odd number of hex digits (11); each "
		  "byte takes two" },
		{ "snmp:\n  engine_id: 80001f8804zz\n", 2, 14,
		  "snmp.engine_id: '80001f8804zz' is not hex: character 11 is not 0-9 or a-f" },
		{ "snmp:\n  engine_id: 0x80001g8804\n", 2, 14, "character 8 is not 0-9 or a-f" },
		{ "snmp:\n  engine_id: '80 00 1f 88 04'\n", 2, 14, "character 3 is not" },
		{ "snmp:\n  engine_id: 80:00:1f:88:04\n", 2, 14, "is not hex" },
		{ "snmp:\n  engine_id: 0x\n", 2, 14, "'0x' is 0 bytes; an SnmpEngineID is 5 to 32" },
		{ "snmp:\n  engine_id: 8000000001\n  udp_rcvbuf_bytes: 1\n", 3, 21,
		  "snmp.udp_rcvbuf_bytes: 1 is below the minimum 65536" },
		{ "snmp:\n  engine_id: '80000000010000000000000000000000000000000000000000000000"
		  "0000000000'\n", 2, 14, "is 33 bytes; an SnmpEngineID is 5 to 32 bytes" },
		{ "snmp:\n  engine_id: '0000000000'\n", 2, 14,
		  "snmp.engine_id: '0000000000' is all 00 bytes, which RFC 3411 does not allow" },
		{ "snmp:\n  engine_id: FFffFFffFF\n", 2, 14, "is all ff bytes" },
		{ "snmp:\n  users:\n    - name: ops\n      engine_id: 8000\n", 4, 18,
		  "snmp.users[0].engine_id: '8000' is 2 bytes" },
		{ "snmp:\n  users:\n    - name: ops\n    - name: dev\n      engine_id: xyzxyzxyzx\n",
		  5, 18, "snmp.users[1].engine_id: 'xyzxyzxyzx' is not hex: character 1" },
		{ "snmp:\n  engine_id: [80, 00]\n", 2, 14,
		  "snmp.engine_id: expected a text value, found a list" },
	};

	(void)state;
	BAD(cases);
}

static void test_snmp_bad_users(void **state)
{
	static const struct bad_case cases[] = {
		/* Names of protocols: the message lists the accepted ones. */
		{ "snmp:\n  users:\n    - name: ops\n      auth: sha3\n", 4, 13,
		  "snmp.users[0].auth: 'sha3' is not one of none, md5, sha, sha1, sha224, sha256, "
		  "sha384, sha512" },
		{ "snmp:\n  users:\n    - name: ops\n      auth: md5\n      auth_password: abcdefgh\n"
		  "      priv: 3des\n", 6, 13,
		  "snmp.users[0].priv: '3des' is not one of none, des, aes, aes128, aes192, "
		  "aes256" },
		{ "snmp:\n  users:\n    - name: ops\n      auth: 1\n", 4, 13, "'1' is not one of" },
		/* Privacy needs authentication. */
		{ "snmp:\n  users:\n    - name: ops\n      priv: aes\n      priv_password: abcdefgh\n",
		  4, 13, "snmp.users[0].priv: privacy (aes) needs authentication too; set auth" },
		{ "snmp:\n  users:\n    - name: ops\n      auth: none\n      priv: des\n", 5, 13,
		  "privacy (des) needs authentication too" },
		/* A protocol needs its password, and a password its protocol. */
		{ "snmp:\n  users:\n    - name: ops\n      auth: sha256\n", 3, 7,
		  "snmp.users[0]: auth sha256 needs 'auth_password'" },
		{ "snmp:\n  users:\n    - name: ops\n      auth: sha\n      auth_password: abcdefgh\n"
		  "      priv: aes256\n", 3, 7, "snmp.users[0]: priv aes256 needs 'priv_password'" },
		{ "snmp:\n  users:\n    - name: ops\n      auth_password: abcdefgh\n", 4, 7,
		  "snmp.users[0].auth_password: only a user with auth takes 'auth_password'; "
		  "this one has auth none" },
		{ "snmp:\n  users:\n    - name: ops\n      auth: md5\n      auth_password: abcdefgh\n"
		  "      priv_password: abcdefgh\n", 6, 7,
		  "snmp.users[0].priv_password: only a user with priv takes 'priv_password'" },
		/* Short passwords (RFC 3414 11.2). */
		{ "snmp:\n  users:\n    - name: ops\n      auth: md5\n      auth_password: abcdefg\n",
		  5, 22, "snmp.users[0].auth_password: shorter than 8 characters; RFC 3414 11.2 "
		  "requires at least 8" },
		{ "snmp:\n  users:\n    - name: ops\n      auth: md5\n      auth_password: abcdefgh\n"
		  "      priv: des\n      priv_password: 'abc'\n", 7, 22,
		  "snmp.users[0].priv_password: shorter than 8 characters" },
		/* An empty password is no password, like any key left empty. */
		{ "snmp:\n  users:\n    - name: ops\n      auth: md5\n      auth_password: ''\n",
		  3, 7, "snmp.users[0]: auth md5 needs 'auth_password'" },
		/* Names: required, 1 to 32 bytes, unique. */
		{ "snmp:\n  users:\n    - auth: md5\n", 3, 7,
		  "snmp.users[0]: missing 'name' (required: name)" },
		{ "snmp:\n  users:\n    - name: ''\n", 3, 13,
		  "snmp.users[0].name: must not be empty" },
		{ "snmp:\n  users:\n    - name: abcdefghijklmnopqrstuvwxyz0123456\n", 3, 13,
		  "snmp.users[0].name: longer than 32 bytes" },
		{ "snmp:\n  users:\n    - name: ops\n    - name: dev\n    - name: ops\n", 5, 13,
		  "snmp.users[2].name: duplicate user 'ops': already snmp.users[0] (line 3)" },
		/* Shape. */
		{ "snmp:\n  users:\n    name: ops\n", 3, 5,
		  "snmp.users: expected a list, found a mapping" },
		{ "snmp:\n  users:\n    - name: ops\n      password: abcdefgh\n", 4, 7,
		  "unknown key 'password' in snmp.users[0] (expected: name, auth, auth_password, "
		  "priv, priv_password, engine_id)" },
	};

	(void)state;
	BAD(cases);
}

static void test_snmp_bad_listeners(void **state)
{
	static const struct bad_case cases[] = {
		{ "snmp: {listeners: []}\n", 1, 19,
		  "snmp.listeners: the list is empty; the SNMP receiver needs at least one "
		  "listener (or set snmp.enabled: false)" },
		{ "snmp:\n  enabled: true\n  listeners: []\n", 3, 14, "the list is empty" },
		{ "snmp:\n  listeners:\n    - 127.0.0.1\n", 3, 7,
		  "snmp.listeners[0]: '127.0.0.1' has no port (expected host:port or [v6]:port)" },
		{ "snmp:\n  listeners: ['[::1]:162', 'localhost:162']\n", 2, 28,
		  "snmp.listeners[1]: 'localhost:162' is not a numeric IPv4 address" },
		{ "snmp:\n  listeners:\n    - ''\n", 3, 7, "snmp.listeners[0]: must not be empty" },
		{ "snmp:\n  listeners:\n    - {address: 127.0.0.1:162}\n", 3, 7,
		  "snmp.listeners[0]: expected a text value, found a mapping" },
		/* Duplicates, also the same IPv6 address written two ways. */
		{ "snmp:\n  listeners:\n    - 127.0.0.1:162\n    - 0.0.0.0:162\n"
		  "    - 127.0.0.1:162\n", 5, 7,
		  "snmp.listeners[2]: duplicate listener: 127.0.0.1:162 is already "
		  "snmp.listeners[0] (line 3)" },
		{ "snmp:\n  listeners: ['[::1]:162', '[0::1]:162']\n", 2, 28, "duplicate listener" },
		/* A syslog UDP socket is not shared, whichever side the file sets. */
		{ "snmp:\n  listeners: ['127.0.0.1:5514']\n", 2, 15,
		  "snmp.listeners[0]: 127.0.0.1:5514 takes the UDP port of syslog.listeners[0] "
		  "(udp 127.0.0.1:5514, the default); SNMP and syslog cannot share one" },
		{ "syslog:\n  listeners:\n    - {proto: tcp, address: '0.0.0.0:514'}\n"
		  "    - {proto: udp, address: '0.0.0.0:162'}\n"
		  "snmp:\n  listeners: ['[::1]:162', '10.1.2.3:162']\n", 6, 28,
		  "snmp.listeners[1]: 10.1.2.3:162 takes the UDP port of syslog.listeners[1] "
		  "(udp 0.0.0.0:162, line 4)" },
		{ "syslog:\n  listeners:\n    - {proto: udp, address: '0.0.0.0:10162'}\n", 3, 29,
		  "syslog.listeners[0]: udp 0.0.0.0:10162 takes the UDP port of snmp.listeners[0] "
		  "(127.0.0.1:10162, the default)" },
		{ "snmp:\n  listeners: ['[::]:162']\nsyslog:\n  listeners:\n"
		  "    - {proto: udp, address: '[::1]:162'}\n", 2, 15,
		  "snmp.listeners[0]: [::]:162 takes the UDP port of syslog.listeners[0]" },
	};

	(void)state;
	BAD(cases);
}

static void test_snmp_bad_other_keys(void **state)
{
	static const struct bad_case cases[] = {
		{ "snmp:\n  listner: []\n", 2, 3,
		  "unknown key 'listner' in snmp (expected: enabled, listeners, engine_id, "
		  "communities, accept_any_community, accept_any_user, record_community, "
		  "udp_rcvbuf_bytes, oid_names, users); did you mean 'listeners'?" },
		{ "snmp:\n  communities: [public, private, public]\n", 2, 34,
		  "snmp.communities[2]: the same community as snmp.communities[0] (line 2)" },
		{ "snmp:\n  communities:\n    - ''\n", 3, 7,
		  "snmp.communities[0]: must not be empty" },
		{ "snmp:\n  communities: public\n", 2, 16,
		  "snmp.communities: expected a list, found 'public'" },
		{ "snmp:\n  accept_any_user: sometimes\n", 2, 20,
		  "snmp.accept_any_user: 'sometimes' is not true or false" },
		{ "snmp:\n  record_community: 1\n", 2, 21, "'1' is not true or false" },
		{ "snmp:\n  udp_rcvbuf_bytes: 268435457\n", 2, 21, "above the maximum 268435456" },
		{ "snmp:\n  enabled: true\n  enabled: false\n", 3, 3,
		  "'enabled' is set twice in snmp (first at line 2)" },
		{ "snmp: [enabled]\n", 1, 7,
		  "snmp: expected a mapping of keys (key: value), found a list" },
	};

	(void)state;
	BAD(cases);
}

/* Community strings and passwords are credentials: whatever is wrong with
 * an entry, the message names its place and never its text. */
static void test_snmp_no_secrets_in_messages(void **state)
{
	static const char *const cases[] = {
		"snmp:\n  users:\n    - {name: a, auth: md5, auth_password: Zq7}\n",
		"snmp:\n  users:\n    - {name: a, auth_password: Zq7-sekr1t-pass}\n",
		"snmp:\n  users:\n    - {name: a, priv_password: Zq7-sekr1t-pass}\n",
		"snmp:\n  users:\n    - {name: a, priv: aes, priv_password: Zq7-sekr1t-pass}\n",
		"snmp:\n  users:\n    - {name: a, auth: sha, auth_password: Zq7-sekr1t-pass,"
		" priv: des, priv_password: Zq7}\n",
		"snmp:\n  users:\n    - {name: a, auth: sha, auth_password: Zq7-sekr1t-pass,"
		" priv: des}\n",
		"snmp:\n  users:\n    - {name: a, auth: sha, auth_password: [Zq7-sekr1t-pass]}\n",
		"snmp:\n  users:\n    - {name: a, auth: sha, auth_password: {Zq7-sekr1t-pass: 1}}\n",
		"snmp:\n  users:\n    - {name: a, auth: sha, auth_password: Zq7-sekr1t-pass,"
		" auth_password: Zq7-sekr1t-pass}\n",
		"snmp:\n  communities: [Zq7-sekr1t-pass, Zq7-sekr1t-pass]\n",
		"snmp:\n  communities: [[Zq7-sekr1t-pass]]\n",
	};
	char longpw[400];
	struct ward_config *c;
	struct config_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = NULL;
		if (load_str(cases[i], &c, &err) != -EINVAL) {
			config_free(c);
			fail_msg("accepted:\n%s", cases[i]);
		}
		if (strstr(err.msg, "Zq7") != NULL)
			fail_msg("for:\n%s\nthe message shows a secret: %s", cases[i], err.msg);
		assert_true(err.line > 0);
	}
	/* Too long is a plain count, too. */
	snprintf(longpw, sizeof(longpw), "snmp:\n  communities: [Zq7%0300d]\n", 0);
	assert_int_equal(load_str(longpw, &c, &err), -EINVAL);
	assert_string_equal(err.msg, "snmp.communities[0]: longer than 255 bytes");
	snprintf(longpw, sizeof(longpw), "snmp: {users: [{name: a, auth: md5, "
		 "auth_password: Zq7%0300d}]}\n", 0);
	assert_int_equal(load_str(longpw, &c, &err), -EINVAL);
	assert_string_equal(err.msg, "snmp.users[0].auth_password: longer than 255 bytes");
}

/* 64 users fit; the 65th is refused at the list. Every user's strings are
 * freed on the way out (LeakSanitizer watches). */
static void test_snmp_user_limit(void **state)
{
	struct ward_config *c = NULL;
	struct config_error err;
	char *yaml = malloc(65 * 96 + 32), *p = yaml, *last = NULL;
	unsigned i;

	(void)state;
	assert_non_null(yaml);
	p += sprintf(p, "snmp:\n  users:\n");
	for (i = 0; i < 64; i++) {
		last = p;
		p += sprintf(p, "    - {name: u%u, auth: sha, auth_password: pw%06u,"
			     " priv: aes, priv_password: px%06u}\n", i, i, i);
	}
	c = load_ok(yaml);
	assert_int_equal(c->snmp.n_users, 64);
	assert_string_equal(c->snmp.users[63].name, "u63");
	assert_string_equal(c->snmp.users[63].priv_password, "px000063");
	config_free(c);
	sprintf(p, "    - {name: u64}\n");
	assert_int_equal(load_str(yaml, &c, &err), -EINVAL);
	assert_null(c);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.col, 5);
	assert_string_equal(err.msg, "snmp.users: more than 64 entries");
	/* A failure in the last user frees the ones taken before it. */
	sprintf(last, "    - {name: u0}\n");
	assert_int_equal(load_str(yaml, &c, &err), -EINVAL);
	assert_int_equal(err.line, 66);
	assert_string_equal(err.msg, "snmp.users[63].name: duplicate user 'u0': already "
			    "snmp.users[0] (line 3)");
	sprintf(last, "    - {name: u63, auth: sha, auth_password: short}\n");
	assert_int_equal(load_str(yaml, &c, &err), -EINVAL);
	assert_int_equal(err.line, 66);
	free(yaml);
}

/* ---- files and the rest of the API --------------------------------------- */

/* ---- the uplink section -------------------------------------------------- */

static void test_uplink_disabled_by_default(void **state)
{
	struct ward_config *c;

	(void)state;
	/* Disabled, nothing is required, but what is given is still checked
	 * and kept. */
	c = load_ok("uplink:\n  device_key: d.key\n  rate_limit: []\n  endpoints: []\n");
	assert_false(c->uplink.enabled);
	assert_string_equal(c->uplink.device_key, "d.key");
	assert_int_equal(c->uplink.n_endpoints, 0);
	assert_null(c->uplink.soc_public_key);
	config_free(c);
}

static const char uplink_yaml[] =
	"uplink:\n"
	"  enabled: true\n"
	"  device_key: /etc/ward/keys/device.key\n"
	"  soc_public_key: /etc/ward/keys/soc.pub\n"
	"  outbox: /var/spool/ward-outbox\n"
	"  batch_max_bytes: 67108864\n"
	"  zstd_level: 19\n"
	"  seal_interval_ms: 250\n"
	"  endpoints:\n"
	"    - url: https://soc1.example.net\n"
	"    - url: \"https://[2001:db8::1]:8443/\"\n"
	"      sni: soc2.example.net\n"
	"    - {url: \"HTTPS://10.0.0.5:9443\"}\n"
	"  ca: /etc/ward/soc-ca.pem\n"
	"  client_cert: /etc/ward/device.crt\n"
	"  client_key: /etc/ward/device.key\n"
	"  proxy: http://proxy.hospital.local:3128\n"
	"  connect_timeout_ms: 5000\n"
	"  handshake_timeout_ms: 7000\n"
	"  response_timeout_ms: 60000\n"
	"  backoff_min_ms: 2000\n"
	"  backoff_max_ms: 600000\n"
	"  rate_limit:\n"
	"    - {from: \"08:00\", to: \"18:00\", bytes_per_second: 250000}\n"
	"    - from: 22:00\n"
	"      to: 06:00\n"
	"      bytes_per_second: 0\n"
	"    - {from: \"18:00\", to: \"18:30\", bytes_per_second: 1024}\n"
	"  default_bytes_per_second: 2500000\n"
	"  lanes: [agent, syslog, snmp-traps]\n"
	"  max_in_flight: 64\n"
	"  max_bytes_in_flight: 1073741824\n"
	"  aging_ms: 100\n"
	"  failback_ms: 1000\n";

static void test_uplink_full_section(void **state)
{
	struct ward_config *c = load_ok(uplink_yaml);
	const struct uplink_endpoint_conf *e = c->uplink.endpoints;
	const struct uplink_window_conf *w = c->uplink.rate_limit;

	(void)state;
	assert_true(c->uplink.enabled);
	assert_string_equal(c->uplink.device_key, "/etc/ward/keys/device.key");
	assert_string_equal(c->uplink.soc_public_key, "/etc/ward/keys/soc.pub");
	assert_string_equal(c->uplink.outbox, "/var/spool/ward-outbox");
	assert_int_equal(c->uplink.batch_max_bytes, 67108864);
	assert_int_equal(c->uplink.zstd_level, 19);
	assert_int_equal(c->uplink.seal_interval_ms, 250);
	assert_int_equal(c->uplink.n_endpoints, 3);
	assert_string_equal(e[0].url, "https://soc1.example.net");
	assert_string_equal(e[0].host, "soc1.example.net");
	assert_int_equal(e[0].port, 443);
	assert_null(e[0].sni);
	assert_string_equal(e[1].host, "2001:db8::1");
	assert_int_equal(e[1].port, 8443);
	assert_string_equal(e[1].sni, "soc2.example.net");
	assert_string_equal(e[2].url, "HTTPS://10.0.0.5:9443");
	assert_string_equal(e[2].host, "10.0.0.5");
	assert_int_equal(e[2].port, 9443);
	assert_string_equal(c->uplink.ca, "/etc/ward/soc-ca.pem");
	assert_string_equal(c->uplink.client_cert, "/etc/ward/device.crt");
	assert_string_equal(c->uplink.client_key, "/etc/ward/device.key");
	assert_string_equal(c->uplink.proxy, "http://proxy.hospital.local:3128");
	assert_string_equal(c->uplink.proxy_host, "proxy.hospital.local");
	assert_int_equal(c->uplink.proxy_port, 3128);
	assert_int_equal(c->uplink.connect_timeout_ms, 5000);
	assert_int_equal(c->uplink.handshake_timeout_ms, 7000);
	assert_int_equal(c->uplink.response_timeout_ms, 60000);
	assert_int_equal(c->uplink.backoff_min_ms, 2000);
	assert_int_equal(c->uplink.backoff_max_ms, 600000);
	assert_int_equal(c->uplink.n_rate_limit, 3);
	assert_int_equal(w[0].from_min, 8 * 60);
	assert_int_equal(w[0].to_min, 18 * 60);
	assert_int_equal(w[0].bytes_per_second, 250000);
	assert_int_equal(w[1].from_min, 22 * 60);
	assert_int_equal(w[1].to_min, 6 * 60);
	assert_int_equal(w[1].bytes_per_second, 0);
	assert_int_equal(w[2].from_min, 18 * 60);
	assert_int_equal(w[2].to_min, 18 * 60 + 30);
	assert_int_equal(c->uplink.default_bytes_per_second, 2500000);
	assert_int_equal(c->uplink.n_lanes, 3);
	assert_string_equal(c->uplink.lanes[0], "agent");
	assert_string_equal(c->uplink.lanes[2], "snmp-traps");
	assert_int_equal(c->uplink.max_in_flight, 64);
	assert_int_equal(c->uplink.max_bytes_in_flight, 1073741824);
	assert_int_equal(c->uplink.aging_ms, 100);
	assert_int_equal(c->uplink.failback_ms, 1000);
	/* The rest of the file keeps its defaults. */
	assert_int_equal(c->syslog.n_listeners, 2);
	config_free(c);

	/* Windows that only touch, around midnight, do not overlap; "[::1]"
	 * and a bare "/" are fine, and the proxy may end in "/". */
	c = load_ok("uplink:\n"
		    "  endpoints: [{url: 'https://[::1]'}, {url: 'https://soc.example/'}]\n"
		    "  proxy: 'http://[fd00::3]:8080/'\n"
		    "  rate_limit:\n"
		    "    - {from: '22:00', to: '00:00', bytes_per_second: 1024}\n"
		    "    - {from: '00:00', to: '06:00', bytes_per_second: 2048}\n"
		    "    - {from: '06:00', to: '22:00', bytes_per_second: 4096}\n");
	assert_string_equal(c->uplink.endpoints[0].host, "::1");
	assert_int_equal(c->uplink.endpoints[0].port, 443);
	assert_string_equal(c->uplink.proxy_host, "fd00::3");
	assert_int_equal(c->uplink.proxy_port, 8080);
	assert_int_equal(c->uplink.rate_limit[0].to_min, 0);
	config_free(c);
}

static void test_uplink_exact_messages(void **state)
{
	(void)state;
	expect_msg("uplink:\n"
		   "  endpoints:\n"
		   "    - url: http://soc.example.net\n",
		   "ward.yaml:3:12: uplink.endpoints[0].url: 'http://soc.example.net' uses "
		   "http; only https is allowed (the uplink runs over TLS) (expected "
		   "https://host[:port])");
	expect_msg("uplink:\n"
		   "  enabled: yes\n"
		   "  endpoints: [{url: 'https://soc.example'}]\n",
		   "ward.yaml:2:3: uplink: enabled, but missing 'device_key', 'soc_public_key', "
		   "'ca', 'client_cert', 'client_key' (required when enabled: device_key, "
		   "soc_public_key, endpoints, ca, client_cert, client_key)");
	expect_msg("uplink:\n"
		   "  rate_limit:\n"
		   "    - {from: '08:00', to: '18:00', bytes_per_second: 250000}\n"
		   "    - {from: '17:00', to: '19:00', bytes_per_second: 250000}\n",
		   "ward.yaml:4:7: uplink.rate_limit[1]: 17:00-19:00 overlaps "
		   "uplink.rate_limit[0] (08:00-18:00, line 3)");
}

/* Each key required once enabled, left out in turn: the error names it, at
 * the section's position. */
static void test_uplink_required_keys(void **state)
{
	static const char *const lines[] = {
		"  device_key: d.key\n",
		"  soc_public_key: soc.pub\n",
		"  endpoints: [{url: \"https://soc.example\"}]\n",
		"  ca: ca.pem\n",
		"  client_cert: c.crt\n",
		"  client_key: c.key\n",
	};
	static const char *const keys[] = {
		"device_key", "soc_public_key", "endpoints", "ca", "client_cert", "client_key",
	};
	struct bad_case bc;
	struct ward_config *c;
	char yaml[512], needle[64];
	size_t skip, i;

	(void)state;
	for (skip = 0; skip <= 6; skip++) {
		snprintf(yaml, sizeof(yaml), "uplink:\n  enabled: true\n");
		for (i = 0; i < 6; i++)
			if (i != skip)
				strncat(yaml, lines[i], sizeof(yaml) - strlen(yaml) - 1);
		if (skip == 6) {        /* all there */
			c = load_ok(yaml);
			assert_true(c->uplink.enabled);
			config_free(c);
			continue;
		}
		snprintf(needle, sizeof(needle), "uplink: enabled, but missing '%s' (",
			 keys[skip]);
		bc = (struct bad_case){ yaml, 2, 3, needle };
		expect_bad(&bc);
	}
	/* enabled last, flow style: still the section's position. */
	bc = (struct bad_case){ "uplink: {ca: x, enabled: on}\n", 1, 9,
				"missing 'device_key', 'soc_public_key', 'endpoints', "
				"'client_cert', 'client_key' (" };
	expect_bad(&bc);
	/* Credentials without a proxy: blamed at the key. */
	bc = (struct bad_case){ "uplink:\n  proxy_credentials: /etc/ward/proxy.cred\n", 2, 22,
				"uplink.proxy_credentials: set, but uplink.proxy is not" };
	expect_bad(&bc);
	c = load_ok("uplink:\n  proxy: http://10.0.0.1:3128\n  proxy_credentials: p.cred\n");
	assert_string_equal(c->uplink.proxy_credentials, "p.cred");
	config_free(c);
	bc = (struct bad_case){ "uplink:\n  enabled: true\n  endpoints: []\n", 3, 14,
				"uplink.endpoints: the list is empty; the uplink needs at "
				"least one SOC endpoint" };
	expect_bad(&bc);
	bc = (struct bad_case){ "uplink:\n  enabled: true\n  endpoints:\n  ca: x\n", 2, 3,
				"missing 'device_key', 'soc_public_key', 'endpoints', "
				"'client_cert'" };
	expect_bad(&bc);
}

static void test_uplink_bad_urls(void **state)
{
	static const struct {
		const char *url, *why;
	} urls[] = {
		{ "http://soc.example", "uses http; only https is allowed (the uplink runs over TLS)" },
		{ "ftp://soc.example", "has a scheme other than https" },
		{ "soc.example:443", "is not a URL (no '://')" },
		{ "https://", "has no host" },
		{ "https://:443", "has no host" },
		{ "https:///", "has no host" },
		{ "https://soc.example:", "has an empty port" },
		{ "https://soc.example:0", "has a port outside 1 to 65535" },
		{ "https://soc.example:65536", "has a port outside 1 to 65535" },
		{ "https://soc.example:443443", "not a number from 1 to 65535" },
		{ "https://soc.example:4a3", "not a number from 1 to 65535" },
		{ "https://soc.example:-1", "not a number from 1 to 65535" },
		{ "https://soc.example/v1/batches", "has a path; only none or '/' is allowed" },
		{ "https://soc.example//", "has a path; only none or '/' is allowed" },
		{ "https://soc.example?x=1", "has a query or fragment" },
		{ "https://soc.example/#top", "has a query or fragment" },
		{ "https://user@soc.example", "has user information" },
		{ "https://2001:db8::1", "IPv6 address without brackets" },
		{ "https://[2001:db8::1", "has a '[' without ']'" },
		{ "https://[::1]443", "has text after ']' that is not ':port'" },
		{ "https://[soc.example]", "not a valid IPv6 address" },
		{ "https://[fe80::1%eth0]", "zone ids are not supported" },
		{ "https://[]", "not an IPv6 address in brackets" },
		{ "https://300.1.2.3", "not a valid IPv4 address" },
		{ "https://10.1.2", "not a valid IPv4 address" },
		{ "https://soc_1.example", "a character other than a letter" },
		{ "https://soc .example", "a character other than a letter" },
		{ "https://-soc.example", "a label starting with '-'" },
		{ "https://soc-.example", "a label ending in '-'" },
		{ "https://soc..example", "an empty label" },
		{ "https://soc.example.", "an empty label" },
		{ "https://a234567890123456789012345678901234567890123456789012345678901234.x",
		  "a label longer than 63 bytes" },
	};
	static const struct bad_case cases[] = {
		/* Positions: a later entry, flow style. */
		{ "uplink:\n  endpoints:\n    - url: https://a.example\n"
		  "    - {url: 'http://b.example'}\n", 4, 13,
		  "uplink.endpoints[1].url: 'http://b.example' uses http" },
		{ "uplink:\n  endpoints:\n    - {url: https://a.example:443}\n"
		  "    - url: https://A.Example/\n", 4, 12,
		  "uplink.endpoints[1].url: the same host and port as uplink.endpoints[0] "
		  "(line 3)" },
		{ "uplink:\n  endpoints:\n    - {url: ''}\n", 3, 13,
		  "uplink.endpoints[0].url: must not be empty" },
		{ "uplink:\n  endpoints:\n    - {sni: a.example}\n", 3, 7,
		  "uplink.endpoints[0]: missing 'url' (required: url)" },
		{ "uplink:\n  endpoints: https://soc.example\n", 2, 14,
		  "uplink.endpoints: expected a list, found 'https://soc.example'" },
		{ "uplink:\n  endpoints:\n    - https://soc.example\n", 3, 7,
		  "uplink.endpoints[0]: expected a mapping of keys" },
	};
	char yaml[256], needle[160];
	struct bad_case bc;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		snprintf(yaml, sizeof(yaml), "uplink:\n  endpoints:\n    - url: '%s'\n",
			 urls[i].url);
		/* User information is shown as "***" (see the proxy test), and
		 * long text is cut: compare the start only. */
		snprintf(needle, sizeof(needle), "uplink.endpoints[0].url: '%.30s",
			 strchr(urls[i].url, '@') ? "https://***@soc.example" : urls[i].url);
		bc = (struct bad_case){ yaml, 3, 12, needle };
		expect_bad(&bc);
		bc.needle = urls[i].why;
		expect_bad(&bc);
	}
	BAD(cases);
}

static void test_uplink_bad_proxy_and_sni(void **state)
{
	static const struct bad_case cases[] = {
		{ "uplink:\n  proxy: http://proxy.example\n", 2, 10,
		  "uplink.proxy: 'http://proxy.example' has no port (expected "
		  "http://host:port)" },
		{ "uplink:\n  proxy: https://proxy.example:3128\n", 2, 10,
		  "has a scheme other than http" },
		{ "uplink:\n  proxy: proxy.example:3128\n", 2, 10, "is not a URL" },
		{ "uplink:\n  proxy: http://proxy.example:3128/path\n", 2, 10, "has a path" },
		{ "uplink:\n  proxy: http://proxy.example:99999\n", 2, 10,
		  "has a port outside 1 to 65535" },
		{ "uplink:\n  endpoints:\n    - url: https://10.0.0.1\n      sni: 10.0.0.1\n",
		  4, 12, "uplink.endpoints[0].sni: '10.0.0.1' is an IPv4 address" },
		{ "uplink:\n  endpoints:\n    - url: https://10.0.0.1\n      sni: soc_1\n",
		  4, 12, "uplink.endpoints[0].sni: 'soc_1' has a host name with a character" },
		{ "uplink:\n  endpoints:\n    - url: https://10.0.0.1\n      sni: '::1'\n",
		  4, 12, "uplink.endpoints[0].sni: '::1' has a host name with a character" },
	};
	struct ward_config *c = NULL;
	struct config_error err;
	static const char yaml[] = "uplink:\n  proxy: http://ops:Hunter2@proxy.example\n";

	(void)state;
	BAD(cases);
	/* A password in the proxy URL is never echoed back. */
	assert_int_equal(load_str(yaml, &c, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 10);
	assert_non_null(strstr(err.msg, "'http://***@proxy.example' has user information"));
	assert_null(strstr(err.msg, "Hunter2"));
	assert_null(strstr(err.msg, "ops"));
}

static void test_uplink_bad_times(void **state)
{
	static const char *const times[] = {
		"8:00", "08:0", "24:00", "23:60", "12:5", "noon", "12-00", "12:00:00",
		" 12:00", "12:00 ", "+1:00", "\xef\xbc\x91\x32:00",
	};
	static const struct bad_case cases[] = {
		{ "uplink:\n  rate_limit:\n    - {from: '08:00', to: '8pm', "
		  "bytes_per_second: 2048}\n", 3, 27,
		  "uplink.rate_limit[0].to: '8pm' is not a time of day" },
		{ "uplink:\n  rate_limit:\n    - {from: '08:00', to: '08:00', "
		  "bytes_per_second: 2048}\n", 3, 27,
		  "uplink.rate_limit[0].to: the window starts and ends at 08:00; for the "
		  "whole day use uplink.default_bytes_per_second" },
		{ "uplink:\n  rate_limit:\n    - {from: '', to: '08:00', "
		  "bytes_per_second: 2048}\n", 3, 14,
		  "uplink.rate_limit[0].from: must not be empty" },
		{ "uplink:\n  rate_limit:\n    - {from: '08:00', bytes_per_second: 2048}\n",
		  3, 7, "uplink.rate_limit[0]: missing 'to' (required: from, to, "
		  "bytes_per_second)" },
		{ "uplink:\n  rate_limit:\n    - from: '01:00'\n      to: '02:00'\n"
		  "      bytes_per_second: 1023\n", 5, 25,
		  "uplink.rate_limit[0].bytes_per_second: 1023 bytes per second is below "
		  "the minimum 1024 (0 means unlimited)" },
		{ "uplink:\n  rate_limit:\n    - from: '01:00'\n      to: '02:00'\n"
		  "      bytes_per_second: 125000000001\n", 5, 25,
		  "uplink.rate_limit[0].bytes_per_second: 125000000001 is above the "
		  "maximum 125000000000" },
		{ "uplink:\n  rate_limit:\n    - from: '01:00'\n      to: '02:00'\n"
		  "      bytes_per_second: 2M\n", 5, 25,
		  "uplink.rate_limit[0].bytes_per_second: '2M' is not a plain decimal number "
		  "(expected a whole number from 0 to 125000000000)" },
	};
	char yaml[256], needle[160];
	struct bad_case bc;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		snprintf(yaml, sizeof(yaml), "uplink:\n  rate_limit:\n    - {from: '%s', "
			 "to: '18:00', bytes_per_second: 2048}\n", times[i]);
		snprintf(needle, sizeof(needle), "uplink.rate_limit[0].from: '");
		bc = (struct bad_case){ yaml, 3, 14, needle };
		expect_bad(&bc);
		bc.needle = "' is not a time of day (expected HH:MM, 00:00 to 23:59)";
		expect_bad(&bc);
	}
	BAD(cases);
}

/* Pipelining and aging: each bound, at its position. */
static void test_uplink_pipelining_bounds(void **state)
{
	static const struct bad_case cases[] = {
		{ "uplink:\n  max_in_flight: 0\n", 2, 18,
		  "uplink.max_in_flight: 0 is below the minimum 1" },
		{ "uplink:\n  max_in_flight: 65\n", 2, 18,
		  "uplink.max_in_flight: 65 is above the maximum 64" },
		{ "uplink:\n  max_in_flight: 4294967297\n", 2, 18,
		  "uplink.max_in_flight: 4294967297 is above the maximum 64" },
		{ "uplink:\n  max_in_flight: eight\n", 2, 18,
		  "uplink.max_in_flight: 'eight' is not a whole number" },
		{ "uplink:\n  max_bytes_in_flight: 65535\n", 2, 24,
		  "uplink.max_bytes_in_flight: 65535 is below the minimum 65536" },
		{ "uplink:\n  max_bytes_in_flight: 1073741825\n", 2, 24,
		  "uplink.max_bytes_in_flight: 1073741825 is above the maximum 1073741824" },
		{ "uplink:\n  aging_ms: 99\n", 2, 13,
		  "uplink.aging_ms: 99 is below the minimum 100" },
		{ "uplink:\n  aging_ms: 86400001\n", 2, 13,
		  "uplink.aging_ms: 86400001 is above the maximum 86400000" },
	};
	struct ward_config *c;

	(void)state;
	c = load_ok("uplink:\n  max_in_flight: 1\n  max_bytes_in_flight: 65536\n"
		    "  aging_ms: 86400000\n");
	assert_int_equal(c->uplink.max_in_flight, 1);
	assert_int_equal(c->uplink.max_bytes_in_flight, 65536);
	assert_int_equal(c->uplink.aging_ms, 86400000);
	config_free(c);
	BAD(cases);
}

static void test_uplink_overlapping_windows(void **state)
{
	static const struct bad_case cases[] = {
		{ "uplink:\n  rate_limit:\n"
		  "    - {from: '08:00', to: '18:00', bytes_per_second: 2048}\n"
		  "    - {from: '17:59', to: '19:00', bytes_per_second: 2048}\n", 4, 7,
		  "uplink.rate_limit[1]: 17:59-19:00 overlaps uplink.rate_limit[0] "
		  "(08:00-18:00, line 3)" },
		/* Both wrap midnight. */
		{ "uplink:\n  rate_limit:\n"
		  "    - {from: '22:00', to: '06:00', bytes_per_second: 2048}\n"
		  "    - {from: '08:00', to: '18:00', bytes_per_second: 2048}\n"
		  "    - from: '23:30'\n"
		  "      to: '00:30'\n"
		  "      bytes_per_second: 0\n", 5, 7,
		  "uplink.rate_limit[2]: 23:30-00:30 overlaps uplink.rate_limit[0] "
		  "(22:00-06:00, line 3)" },
		/* Only the part after midnight overlaps. */
		{ "uplink:\n  rate_limit:\n"
		  "    - {from: '22:00', to: '06:00', bytes_per_second: 2048}\n"
		  "    - {from: '05:00', to: '07:00', bytes_per_second: 2048}\n", 4, 7,
		  "overlaps uplink.rate_limit[0]" },
		/* One inside the other, and the same window twice. */
		{ "uplink:\n  rate_limit:\n"
		  "    - {from: '12:00', to: '12:30', bytes_per_second: 2048}\n"
		  "    - {from: '00:00', to: '23:59', bytes_per_second: 2048}\n", 4, 7,
		  "overlaps uplink.rate_limit[0]" },
		{ "uplink:\n  rate_limit:\n"
		  "    - {from: '01:00', to: '02:00', bytes_per_second: 2048}\n"
		  "    - {from: '03:00', to: '04:00', bytes_per_second: 2048}\n"
		  "    - {from: '03:00', to: '04:00', bytes_per_second: 4096}\n", 5, 7,
		  "uplink.rate_limit[2]: 03:00-04:00 overlaps uplink.rate_limit[1]" },
	};

	(void)state;
	BAD(cases);
}

static void test_uplink_relations(void **state)
{
	static const struct bad_case cases[] = {
		{ "uplink:\n  backoff_min_ms: 600000\n", 2, 19,
		  "uplink.backoff_min_ms: uplink.backoff_min_ms (600000) must not be above "
		  "uplink.backoff_max_ms (300000)" },
		{ "uplink:\n  backoff_max_ms: 4000\n  backoff_min_ms: 5000\n", 3, 19,
		  "uplink.backoff_min_ms (5000) must not be above uplink.backoff_max_ms "
		  "(4000)" },
		{ "spool: {dir: q}\nuplink: {outbox: q}\n", 2, 18,
		  "uplink.outbox: 'q' is both spool.dir and uplink.outbox" },
		{ "spool: {dir: outbox}\n", 1, 14,
		  "spool.dir: 'outbox' is both spool.dir and uplink.outbox" },
	};
	struct ward_config *c;

	(void)state;
	BAD(cases);
	c = load_ok("uplink: {backoff_min_ms: 4000, backoff_max_ms: 4000}\n");
	assert_int_equal(c->uplink.backoff_min_ms, 4000);
	assert_int_equal(c->uplink.backoff_max_ms, 4000);
	config_free(c);
}

static void test_uplink_bad_other_keys(void **state)
{
	static const struct bad_case cases[] = {
		{ "uplink:\n  enable: true\n", 2, 3,
		  "unknown key 'enable' in uplink (expected: enabled, device_key, " },
		{ "uplink:\n  enable: true\n", 2, 3, "...); did you mean 'enabled'?" },
		{ "uplink:\n  endpoints:\n    - {url: 'https://a.example', snii: a}\n", 3, 34,
		  "unknown key 'snii' in uplink.endpoints[0] (expected: url, sni); did you "
		  "mean 'sni'?" },
		{ "uplink:\n  rate_limit:\n    - {from: '01:00', to: '02:00', "
		  "bytes_per_sec: 1}\n", 3, 36,
		  "unknown key 'bytes_per_sec' in uplink.rate_limit[0]" },
		{ "uplink:\n  enabled: maybe\n", 2, 12,
		  "uplink.enabled: 'maybe' is not true or false" },
		{ "uplink:\n  failback_ms: 999\n", 2, 16,
		  "uplink.failback_ms: 999 is below the minimum 1000" },
		{ "uplink:\n  batch_max_bytes: 4095\n", 2, 20,
		  "uplink.batch_max_bytes: 4095 is below the minimum 4096" },
		{ "uplink:\n  batch_max_bytes: 67108865\n", 2, 20,
		  "uplink.batch_max_bytes: 67108865 is above the maximum 67108864" },
		{ "uplink:\n  zstd_level: 0\n", 2, 15, "uplink.zstd_level: 0 is below the minimum 1" },
		{ "uplink:\n  zstd_level: 20\n", 2, 15, "is above the maximum 19" },
		{ "uplink:\n  seal_interval_ms: 9\n", 2, 21, "below the minimum 10" },
		{ "uplink:\n  connect_timeout_ms: 99\n", 2, 23, "below the minimum 100" },
		{ "uplink:\n  handshake_timeout_ms: 600001\n", 2, 25, "above the maximum 600000" },
		{ "uplink:\n  response_timeout_ms: 999\n", 2, 24, "below the minimum 1000" },
		{ "uplink:\n  backoff_max_ms: 86400001\n", 2, 19, "above the maximum 86400000" },
		{ "uplink:\n  default_bytes_per_second: 100\n", 2, 29,
		  "uplink.default_bytes_per_second: 100 bytes per second is below the minimum "
		  "1024 (0 means unlimited)" },
		{ "uplink:\n  default_bytes_per_second: 0x400\n", 2, 29,
		  "'0x400' is not a plain decimal number" },
		{ "uplink:\n  endpoints:\n"
		  "    - {url: 'https://a1.example'}\n    - {url: 'https://a2.example'}\n"
		  "    - {url: 'https://a3.example'}\n    - {url: 'https://a4.example'}\n"
		  "    - {url: 'https://a5.example'}\n    - {url: 'https://a6.example'}\n"
		  "    - {url: 'https://a7.example'}\n    - {url: 'https://a8.example'}\n"
		  "    - {url: 'https://a9.example'}\n", 3, 5,
		  "uplink.endpoints: more than 8 entries" },
		{ "uplink: [enabled]\n", 1, 9,
		  "uplink: expected a mapping of keys (key: value), found a list" },
		{ "uplink:\n  ca: a\n  ca: b\n", 3, 3, "'ca' is set twice in uplink (first at line 2)" },
		{ "uplink:\n  lanes: [agent, Syslog]\n", 2, 18,
		  "uplink.lanes[1]: 'Syslog' is not a lane name (1 to 32 of a-z, 0-9, '_' and "
		  "'-', not 'quarantine')" },
		{ "uplink:\n  lanes:\n    - quarantine\n", 3, 7, "'quarantine' is not a lane name" },
		{ "uplink:\n  lanes:\n    - agent\n    - syslog\n    - agent\n", 5, 7,
		  "uplink.lanes[2]: 'agent' is already uplink.lanes[0] (line 3)" },
		{ "uplink:\n  lanes: ['']\n", 2, 11, "uplink.lanes[0]: must not be empty" },
	};

	(void)state;
	BAD(cases);
}

static void test_file_errors(void **state)
{
	struct ward_config *c = (struct ward_config *)&c;
	struct config_error err;
	char path[PATH_MAX], want[PATH_MAX + 300], got[PATH_MAX + 300], *big;
	size_t n = 1024 * 1024 + 1;

	(void)state;
	/* The error names the file as given. */
	tmp_path(path, sizeof(path), "bad.yaml");
	write_file(path, "agent:\n  usr: x\n", 16);
	assert_int_equal(config_load(path, &c, &err), -EINVAL);
	assert_null(c);
	assert_string_equal(err.file, path);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 3);

	/* A directory is not a config file. */
	c = (struct ward_config *)&c;
	assert_int_equal(config_load(tmpdir, &c, &err), -EISDIR);
	assert_null(c);
	assert_int_equal(err.line, 0);
	snprintf(want, sizeof(want), "%s: cannot read: %s", tmpdir, strerror(EISDIR));
	assert_string_equal(config_error_str(&err, got, sizeof(got)), want);

	/* Files over 1 MiB are refused before parsing. */
	big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	tmp_path(path, sizeof(path), "big.yaml");
	write_file(path, big, n);
	assert_int_equal(config_load(path, &c, &err), -EFBIG);
	assert_null(c);
	assert_int_equal(config_load_buf("big", (const uint8_t *)big, n, &c, &err), -EFBIG);
	assert_null(c);
	free(big);

	/* err may be NULL. */
	assert_int_equal(load_str("foo: 1\n", &c, NULL), -EINVAL);
	assert_int_equal(config_load_buf("x", NULL, 5, &c, NULL), -EINVAL);
}

static void test_error_str(void **state)
{
	struct config_error err = { .file = "ward.yaml", .line = 7, .col = 5, .msg = "bad" };
	char s[64];

	(void)state;
	assert_string_equal(config_error_str(&err, s, sizeof(s)), "ward.yaml:7:5: bad");
	err.line = err.col = 0;
	assert_string_equal(config_error_str(&err, s, sizeof(s)), "ward.yaml: bad");
	assert_string_equal(config_error_str(&err, s, 5), "ward");
	assert_ptr_equal(config_error_str(&err, s, 0), s);
}

static void test_parse_address(void **state)
{
	static const char *const bad[] = {
		NULL, "", "127.0.0.1", "127.0.0.1:", ":514", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:+5", "127.0.0.1:5 ", " 127.0.0.1:5", "localhost:514", "1.2.3:514",
		"1.2.3.4.5:514", "::1:514", "[::1]", "[::1]514", "[::1:514", "[]:514",
		"[fe80::1%eth0]:514", "[1.2.3.4]:514", "127.0.0.1:123456",
	};
	struct sockaddr_storage ss;
	const struct sockaddr_in *sin = (const void *)&ss;
	const struct sockaddr_in6 *sin6 = (const void *)&ss;
	size_t i;

	(void)state;
	assert_int_equal(config_parse_address("10.0.0.1:514", &ss), 0);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 514);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x0a000001);
	assert_int_equal(config_parse_address("0.0.0.0:65535", &ss), 0);
	assert_int_equal(ntohs(sin->sin_port), 65535);
	assert_int_equal(config_parse_address("[::1]:6514", &ss), 0);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 6514);
	assert_int_equal(sin6->sin6_addr.s6_addr[15], 1);
	assert_int_equal(config_parse_address("[::ffff:10.0.0.1]:1", &ss), 0);
	assert_int_equal(config_parse_address("[::]:514", NULL), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&ss, 0xa5, sizeof(ss));
		if (config_parse_address(bad[i], &ss) != -EINVAL)
			fail_msg("accepted '%s'", bad[i] ? bad[i] : "(null)");
		/* The out-parameter is reset on failure. */
		assert_int_equal(ss.ss_family, 0);
	}
}

static void test_proto_names(void **state)
{
	(void)state;
	assert_string_equal(listener_proto_name(LISTEN_UDP), "udp");
	assert_string_equal(listener_proto_name(LISTEN_TCP), "tcp");
	assert_string_equal(listener_proto_name(LISTEN_TLS), "tls");
	assert_string_equal(listener_proto_name((enum listener_proto)9), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_missing_file_gives_defaults),
		cmocka_unit_test(test_empty_inputs_give_defaults),
		cmocka_unit_test(test_empty_and_comment_files_on_disk),
		cmocka_unit_test(test_example_file_equals_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_partial_file_keeps_other_defaults),
		cmocka_unit_test(test_listeners_replace_defaults),
		cmocka_unit_test(test_value_spellings),
		cmocka_unit_test(test_exact_messages),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bad_enums),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_bad_strings),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_tls_needs_cert_and_key),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_empty_listener_list),
		cmocka_unit_test(test_listener_limit),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_snmp_full_section),
		cmocka_unit_test(test_snmp_spellings),
		cmocka_unit_test(test_snmp_exact_messages),
		cmocka_unit_test(test_snmp_bad_engine_ids),
		cmocka_unit_test(test_snmp_bad_users),
		cmocka_unit_test(test_snmp_bad_listeners),
		cmocka_unit_test(test_snmp_bad_other_keys),
		cmocka_unit_test(test_snmp_no_secrets_in_messages),
		cmocka_unit_test(test_snmp_user_limit),
		cmocka_unit_test(test_uplink_disabled_by_default),
		cmocka_unit_test(test_uplink_full_section),
		cmocka_unit_test(test_uplink_exact_messages),
		cmocka_unit_test(test_uplink_required_keys),
		cmocka_unit_test(test_uplink_bad_urls),
		cmocka_unit_test(test_uplink_bad_proxy_and_sni),
		cmocka_unit_test(test_uplink_bad_times),
		cmocka_unit_test(test_uplink_pipelining_bounds),
		cmocka_unit_test(test_uplink_overlapping_windows),
		cmocka_unit_test(test_uplink_relations),
		cmocka_unit_test(test_uplink_bad_other_keys),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_error_str),
		cmocka_unit_test(test_parse_address),
		cmocka_unit_test(test_proto_names),
	};

	return cmocka_run_group_tests_name("config", tests, setup_tmp, teardown_tmp);
}
