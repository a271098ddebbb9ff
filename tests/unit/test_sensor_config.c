/* The sensor section of the configuration: defaults (the sensor off), a
 * full section, IP prefixes, and each bad value named with
 * file:line:col. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static int load_str(const char *yaml, struct ward_config **c, struct config_error *err)
{
	return config_load_buf("ward.yaml", (const uint8_t *)yaml, strlen(yaml), c, err);
}

static struct ward_config *load_ok(const char *yaml)
{
	struct ward_config *c = NULL;
	struct config_error err;
	char s[600];

	if (load_str(yaml, &c, &err) != 0)
		fail_msg("expected success for:\n%s\ngot: %s", yaml,
			 config_error_str(&err, s, sizeof(s)));
	return c;
}

struct bad_case {
	const char *yaml;
	unsigned line, col;
	const char *needle;
};

static void expect_bad(const struct bad_case *bc)
{
	struct ward_config *c = NULL;
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
}

static void check_defaults(const struct ward_config *c)
{
	assert_int_equal(c->sensor.n_interfaces, 0);
	assert_null(c->sensor.interfaces);
	assert_int_equal(c->sensor.backend, SENSOR_BACKEND_AF_PACKET);
	assert_string_equal(sensor_backend_name(c->sensor.backend), "afpacket");
	assert_int_equal(c->sensor.workers, 1);
	assert_int_equal(c->sensor.snaplen, 65535);
	assert_true(c->sensor.promisc);
	assert_null(c->sensor.bpf);
	assert_int_equal(c->sensor.block_size, 1048576);
	assert_int_equal(c->sensor.block_count, 64);
	assert_true(c->sensor.flow_memory_bytes == 268435456);
	assert_int_equal(c->sensor.tcp_timeout_ms, 300000);
	assert_int_equal(c->sensor.udp_timeout_ms, 60000);
	assert_int_equal(c->sensor.icmp_timeout_ms, 60000);
	assert_int_equal(c->sensor.active_timeout_ms, 600000);
	assert_int_equal(c->sensor.stats_interval_ms, 10000);
	assert_int_equal(c->sensor.n_local_nets, 4);
	assert_string_equal(c->sensor.local_nets[0], "10.0.0.0/8");
	assert_string_equal(c->sensor.local_nets[3], "fc00::/7");
	assert_string_equal(c->sensor.user, "nobody");
}

static void test_defaults(void **state)
{
	struct ward_config *c = config_defaults();

	(void)state;
	assert_non_null(c);
	check_defaults(c);
	config_free(c);
	/* An empty section, or null lists, keep the defaults. */
	c = load_ok("sensor:\n");
	check_defaults(c);
	config_free(c);
	c = load_ok("sensor:\n  interfaces:\n  local_nets: ~\n");
	check_defaults(c);
	config_free(c);
}

static void test_full_section(void **state)
{
	struct ward_config *c = load_ok(
		"sensor:\n"
		"  interfaces: [eth1, span0.100]\n"
		"  backend: PCAP\n"
		"  workers: 4\n"
		"  snaplen: 1600\n"
		"  promisc: off\n"
		"  bpf: not port 22\n"
		"  block_size: 4194304\n"
		"  block_count: 128\n"
		"  flow_memory_bytes: 34359738368\n"
		"  tcp_timeout_ms: 3600000\n"
		"  udp_timeout_ms: 30000\n"
		"  icmp_timeout_ms: 10000\n"
		"  active_timeout_ms: 0\n"
		"  local_nets: [10.20.0.0/16, \"2001:db8::/32\", 192.0.2.7]\n"
		"  stats_interval_ms: 5000\n"
		"  user: ward\n");

	(void)state;
	assert_int_equal(c->sensor.n_interfaces, 2);
	assert_string_equal(c->sensor.interfaces[0], "eth1");
	assert_string_equal(c->sensor.interfaces[1], "span0.100");
	assert_int_equal(c->sensor.backend, SENSOR_BACKEND_PCAP);
	assert_int_equal(c->sensor.workers, 4);
	assert_int_equal(c->sensor.snaplen, 1600);
	assert_false(c->sensor.promisc);
	assert_string_equal(c->sensor.bpf, "not port 22");
	assert_int_equal(c->sensor.block_size, 4194304);
	assert_int_equal(c->sensor.block_count, 128);
	assert_true(c->sensor.flow_memory_bytes == 34359738368ULL);
	assert_int_equal(c->sensor.tcp_timeout_ms, 3600000);
	assert_int_equal(c->sensor.udp_timeout_ms, 30000);
	assert_int_equal(c->sensor.icmp_timeout_ms, 10000);
	assert_int_equal(c->sensor.active_timeout_ms, 0);
	assert_int_equal(c->sensor.n_local_nets, 3);
	assert_string_equal(c->sensor.local_nets[1], "2001:db8::/32");
	assert_int_equal(c->sensor.stats_interval_ms, 5000);
	assert_string_equal(c->sensor.user, "ward");
	config_free(c);
	/* An empty list turns local_nets off; an empty bpf is no filter. */
	c = load_ok("sensor:\n  local_nets: []\n  bpf: \"\"\n");
	assert_int_equal(c->sensor.n_local_nets, 0);
	assert_null(c->sensor.bpf);
	config_free(c);
}

static void test_prefix(void **state)
{
	uint8_t v, a[16], len;
	const char *why;

	(void)state;
	assert_int_equal(config_parse_prefix("10.1.2.3/8", &v, a, &len, &why), 0);
	assert_int_equal(v, 4);
	assert_int_equal(len, 8);
	assert_int_equal(a[0], 10);
	assert_int_equal(a[1], 0);   /* host bits cleared */
	assert_int_equal(config_parse_prefix("172.31.255.255/12", &v, a, &len, NULL), 0);
	assert_int_equal(a[1], 16);
	assert_int_equal(config_parse_prefix("192.0.2.7", &v, a, &len, NULL), 0);
	assert_int_equal(len, 32);
	assert_int_equal(a[3], 7);
	assert_int_equal(config_parse_prefix("fd12:3456::1/8", &v, a, &len, NULL), 0);
	assert_int_equal(v, 6);
	assert_int_equal(len, 8);
	assert_int_equal(a[0], 0xfd);
	assert_int_equal(a[1], 0);
	assert_int_equal(a[15], 0);
	assert_int_equal(config_parse_prefix("::/0", &v, a, &len, NULL), 0);
	assert_int_equal(len, 0);
	assert_int_equal(config_parse_prefix("10.0.0.0/33", &v, a, &len, &why), -EINVAL);
	assert_non_null(strstr(why, "0 to 32"));
	assert_int_equal(config_parse_prefix("::1/129", &v, a, &len, &why), -EINVAL);
	assert_int_equal(config_parse_prefix("10.0.0.0/", &v, a, &len, NULL), -EINVAL);
	assert_int_equal(config_parse_prefix("10.0.0.0/8x", &v, a, &len, NULL), -EINVAL);
	assert_int_equal(config_parse_prefix("host.example/8", &v, a, &len, NULL), -EINVAL);
	assert_int_equal(config_parse_prefix("/8", &v, a, &len, NULL), -EINVAL);
	assert_int_equal(config_parse_prefix("", &v, a, &len, NULL), -EINVAL);
}

static void test_analyzers(void **state)
{
	struct ward_config *c = load_ok("sensor: {}\n");

	(void)state;
	assert_true(c->sensor.analyzers.enabled);
	assert_int_equal(c->sensor.analyzers.memory_bytes, 64 * 1024 * 1024);
	assert_int_equal(c->sensor.analyzers.depth_bytes, 1048576);
	assert_int_equal(c->sensor.analyzers.max_sessions, 262144);
	assert_int_equal(c->sensor.analyzers.user_names, SENSOR_USER_MASK);
	assert_int_equal(c->sensor.analyzers.max_uri_bytes, 8192);
	assert_int_equal(c->sensor.analyzers.max_header_bytes, 8192);
	assert_int_equal(c->sensor.analyzers.file_depth_bytes, 0);
	assert_true(c->sensor.analyzers.file_hashes);
	config_free(c);
	c = load_ok("sensor:\n  analyzers:\n    enabled: false\n    memory_bytes: 8388608\n"
		    "    depth_bytes: 0\n    max_sessions: 1000\n    user_names: omit\n"
		    "    max_uri_bytes: 1024\n    max_header_bytes: 2048\n"
		    "    file_depth_bytes: 65536\n    file_hashes: false\n");
	assert_false(c->sensor.analyzers.enabled);
	assert_int_equal(c->sensor.analyzers.memory_bytes, 8388608);
	assert_int_equal(c->sensor.analyzers.depth_bytes, 0);
	assert_int_equal(c->sensor.analyzers.max_sessions, 1000);
	assert_int_equal(c->sensor.analyzers.user_names, SENSOR_USER_OMIT);
	assert_int_equal(c->sensor.analyzers.max_uri_bytes, 1024);
	assert_int_equal(c->sensor.analyzers.max_header_bytes, 2048);
	assert_int_equal(c->sensor.analyzers.file_depth_bytes, 65536);
	assert_false(c->sensor.analyzers.file_hashes);
	config_free(c);
}

static void test_bad_values(void **state)
{
	static const struct bad_case cases[] = {
		{ "sensor:\n  interfaces: [eth1, eth1]\n", 2, 22,
		  "sensor.interfaces[1]: 'eth1' is already sensor.interfaces[0]" },
		{ "sensor:\n  interfaces: [\"a b\"]\n", 2, 16, "is not an interface name" },
		{ "sensor:\n  interfaces: [eth0:1]\n", 2, 16, "is not an interface name" },
		{ "sensor:\n  interfaces: [abcdefghijklmnop]\n", 2, 16, "longer than 15 bytes" },
		{ "sensor:\n  backend: netmap\n", 2, 12, "sensor.backend: 'netmap'" },
		{ "sensor:\n  workers: 0\n", 2, 12, "below the minimum 1" },
		{ "sensor:\n  workers: 65\n", 2, 12, "above the maximum 64" },
		{ "sensor:\n  snaplen: 10\n", 2, 12, "sensor.snaplen" },
		{ "sensor:\n  block_size: 1000000\n", 2, 15, "not a power of two" },
		{ "sensor:\n  flow_memory_bytes: 1000\n", 2, 22, "below the minimum 1048576" },
		{ "sensor:\n  local_nets: [10.0.0.0/8, 10.0.0.0/40]\n", 2, 28,
		  "sensor.local_nets[1]: '10.0.0.0/40' has a prefix length" },
		{ "sensor:\n  local_nets: [intranet]\n", 2, 16,
		  "does not start with a numeric IPv4 or IPv6 address" },
		{ "sensor:\n  promisc: maybe\n", 2, 12, "is not true or false" },
		{ "sensor:\n  stats_interval_ms: 10\n", 2, 22, "below the minimum 1000" },
		{ "sensor:\n  user: \"-x\"\n", 2, 9, "may hold only letters" },
		{ "sensor:\n  interfaces: [a, b, c, d, e, f, g]\n", 2, 15, "more than 6 entries" },
		{ "sensor:\n  interface: eth1\n", 2, 3,
		  "unknown key 'interface' in sensor" },
		{ "sensor:\n  analyzers:\n    user_names: maybe\n", 3, 17,
		  "sensor.analyzers.user_names: 'maybe' is not one of mask, clear, omit" },
		{ "sensor:\n  analyzers:\n    memory_bytes: 12\n", 3, 19,
		  "below the minimum 4194304" },
		{ "sensor:\n  analyzers:\n    max_sessions: 0\n", 3, 19, "below the minimum 16" },
		{ "sensor:\n  analyzers:\n    max_uri_bytes: 99999\n", 3, 20,
		  "above the maximum 65536" },
		{ "sensor:\n  analyzers:\n    depth: 5\n", 3, 5,
		  "unknown key 'depth' in sensor.analyzers" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_bad(&cases[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_section),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_analyzers),
		cmocka_unit_test(test_bad_values),
	};

	return cmocka_run_group_tests_name("sensor_config", tests, NULL, NULL);
}
