/* The edr section of the configuration: defaults, a full section, and
 * each bad value named with file:line:col, never quoting a token. */
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
	/* Tokens are credentials: no message quotes one. */
	assert_null(strstr(s, "s3cret"));
}

static void test_defaults(void **state)
{
	struct ward_config *c = config_defaults();

	(void)state;
	assert_non_null(c);
	assert_true(c->edr.enabled);
	assert_true(c->edr.lumberjack.enabled);
	assert_string_equal(c->edr.lumberjack.address, "127.0.0.1:5044");
	assert_null(c->edr.lumberjack.cert);
	assert_true(c->edr.hec.enabled);
	assert_string_equal(c->edr.hec.address, "127.0.0.1:8088");
	assert_null(c->edr.hec.cert);
	assert_int_equal(c->edr.n_groups, 1);
	assert_string_equal(c->edr.groups[0].name, "dev");
	assert_int_equal(c->edr.groups[0].n_tokens, 1);
	assert_string_equal(c->edr.groups[0].tokens[0], EDR_DEV_TOKEN);
	assert_int_equal(c->edr.max_event_bytes, 65536);
	assert_int_equal(c->edr.max_body_bytes, 4194304);
	assert_int_equal(c->edr.max_connections, 1024);
	assert_int_equal(c->edr.max_pending_bytes, 8388608);
	config_free(c);
	/* An empty section is the defaults too. */
	c = load_ok("edr:\n");
	assert_string_equal(c->edr.hec.address, "127.0.0.1:8088");
	assert_int_equal(c->edr.n_groups, 1);
	config_free(c);
}

static void test_full_section(void **state)
{
	struct ward_config *c;

	(void)state;
	c = load_ok("edr:\n"
		    "  lumberjack:\n"
		    "    address: 0.0.0.0:5044\n"
		    "    cert: /etc/ward/edr.crt\n"
		    "    key: /etc/ward/edr.key\n"
		    "    client_ca: /etc/ward/beats-ca.crt\n"
		    "  hec:\n"
		    "    address: '[::]:8088'\n"
		    "    cert: /etc/ward/edr.crt\n"
		    "    key: /etc/ward/edr.key\n"
		    "  groups:\n"
		    "    - name: radiology\n"
		    "      tokens: [s3cret-1, s3cret-2]\n"
		    "      client_cns: [ws-rad-07]\n"
		    "    - name: lab\n"
		    "      client_cns: [lab-01, lab-02]\n"
		    "  max_event_bytes: 131072\n"
		    "  max_body_bytes: 1048576\n"
		    "  max_connections: 200\n"
		    "  idle_timeout_ms: 30000\n"
		    "  max_pending_bytes: 1048576\n");
	assert_string_equal(c->edr.lumberjack.address, "0.0.0.0:5044");
	assert_string_equal(c->edr.lumberjack.client_ca, "/etc/ward/beats-ca.crt");
	assert_string_equal(c->edr.hec.address, "[::]:8088");
	assert_null(c->edr.hec.client_ca);
	assert_int_equal(c->edr.n_groups, 2);
	assert_int_equal(c->edr.groups[0].n_tokens, 2);
	assert_string_equal(c->edr.groups[0].tokens[1], "s3cret-2");
	assert_string_equal(c->edr.groups[1].client_cns[1], "lab-02");
	assert_int_equal(c->edr.groups[1].n_tokens, 0);
	assert_int_equal(c->edr.max_event_bytes, 131072);
	assert_int_equal(c->edr.max_connections, 200);
	config_free(c);
	/* Inputs off, groups empty. */
	c = load_ok("edr:\n  hec: {enabled: false}\n  groups: []\n");
	assert_false(c->edr.hec.enabled);
	assert_int_equal(c->edr.n_groups, 0);
	config_free(c);
	c = load_ok("edr: {enabled: false, hec: {address: 192.0.2.1:8088}}\n");
	assert_false(c->edr.enabled);
	config_free(c);
}

static void test_bad_values(void **state)
{
	static const struct bad_case cases[] = {
		{ "edr:\n  hec:\n    address: nowhere\n", 3, 14, "edr.hec.address: 'nowhere'" },
		{ "edr:\n  lumberjack:\n    address: 0.0.0.0:5044\n", 3, 14,
		  "not a loopback address, so the input needs TLS" },
		{ "edr:\n  hec:\n    address: 192.0.2.1:8088\n    cert: a.crt\n    key: a.key\n",
		  3, 14, "the development token" },
		{ "edr:\n  hec:\n    cert: a.crt\n", 3, 5, "TLS needs both 'cert' and 'key'" },
		{ "edr:\n  hec:\n    client_ca: ca.crt\n", 3, 5, "'cert' is missing" },
		{ "edr:\n  hec:\n    address: 127.0.0.1:5044\n", 3, 14,
		  "also edr.lumberjack.address" },
		{ "syslog:\n  listeners:\n    - {proto: tcp, address: 127.0.0.1:8088}\n", 1, 1,
		  "also the TCP address of syslog.listeners[0]" },
		{ "edr:\n  max_event_bytes: 100\n", 2, 20, "edr.max_event_bytes" },
		{ "edr:\n  max_event_bytes: 200000\n  max_body_bytes: 100000\n", 3, 19,
		  "must be at least edr.max_event_bytes" },
		{ "edr:\n  groups:\n    - name: a\n    - name: a\n", 4, 13, "duplicate group 'a'" },
		{ "edr:\n  groups:\n    - name: -a\n", 3, 13, "may hold only letters" },
		{ "edr:\n  groups:\n    - {name: a, tokens: [s3cret]}\n"
		  "    - {name: b, tokens: [x, s3cret]}\n", 4, 29,
		  "edr.groups[1].tokens[1]: the same token as edr.groups[0].tokens[0]" },
		{ "edr:\n  groups:\n    - {name: a, tokens: [\"s3cret x\"]}\n", 3, 26,
		  "printable ASCII without spaces" },
		{ "edr:\n  groups:\n    - {name: a, client_cns: [h1, h1]}\n", 3, 34,
		  "'h1' is already edr.groups[0].client_cns[0]" },
		{ "edr:\n  groups:\n    - tokens: [x]\n", 3, 7, "missing 'name'" },
		{ "edr:\n  hec:\n    adress: x\n", 3, 5, "unknown key 'adress' in edr.hec" },
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
		cmocka_unit_test(test_bad_values),
	};

	return cmocka_run_group_tests_name("edr_config", tests, NULL, NULL);
}
