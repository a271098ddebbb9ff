/* Unit tests for agent/snmp/snmp_oids.c: built-in names, longest-prefix
 * lookup with suffixes, and the names file (its errors as file:line). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "snmp/snmp_oids.h"

static const char *name_of(const struct snmp_oids *t, const char *dotted)
{
	static char out[SNMP_OID_NAME_MAX + SNMP_OID_STR_MAX];
	struct snmp_oid o;
	size_t n;

	assert_int_equal(snmp_oid_parse(dotted, strlen(dotted), &o), 0);
	n = snmp_oids_name(t, &o, out);
	out[n] = '\0';
	return out;
}

static void test_builtin(void **state)
{
	struct snmp_oids *t;
	char err[200];

	(void)state;
	assert_int_equal(snmp_oids_create(&t, NULL, err, sizeof(err)), 0);
	assert_string_equal(name_of(t, "1.3.6.1.2.1.1.3.0"), "sysUpTime.0");
	assert_string_equal(name_of(t, "1.3.6.1.6.3.1.1.4.1.0"), "snmpTrapOID.0");
	assert_string_equal(name_of(t, "1.3.6.1.6.3.1.1.4.3.0"), "snmpTrapEnterprise.0");
	assert_string_equal(name_of(t, "1.3.6.1.6.3.1.1.5.1"), "coldStart");
	assert_string_equal(name_of(t, "1.3.6.1.6.3.1.1.5.2"), "warmStart");
	assert_string_equal(name_of(t, "1.3.6.1.6.3.1.1.5.3"), "linkDown");
	assert_string_equal(name_of(t, "1.3.6.1.6.3.1.1.5.4"), "linkUp");
	assert_string_equal(name_of(t, "1.3.6.1.6.3.1.1.5.5"), "authenticationFailure");
	assert_string_equal(name_of(t, "1.3.6.1.2.1.2.2.1.2.3"), "ifDescr.3");
	assert_string_equal(name_of(t, "1.3.6.1.2.1.2.2.1.7.10"), "ifAdminStatus.10");
	assert_string_equal(name_of(t, "1.3.6.1.2.1.2.2.1.8.10"), "ifOperStatus.10");
	assert_string_equal(name_of(t, "1.3.6.1.2.1.2.2.1.1.1"), "ifIndex.1");
	assert_string_equal(name_of(t, "1.3.6.1.2.1.47.2.0.1"), "entConfigChange");
	assert_string_equal(name_of(t, "1.3.6.1.2.1.33.2.1"), "upsTrapOnBattery");
	assert_string_equal(name_of(t, "1.3.6.1.2.1.33.2.2"), "upsTrapTestCompleted");
	assert_string_equal(name_of(t, "1.3.6.1.2.1.33.2.3"), "upsTrapAlarmEntryAdded");
	assert_string_equal(name_of(t, "1.3.6.1.2.1.33.2.4"), "upsTrapAlarmEntryRemoved");
	/* A v1 UPS trap converted by RFC 3584 3.1, and the entity MIB's
	 * change time that entConfigChange carries. */
	assert_string_equal(name_of(t, "1.3.6.1.2.1.33.2.0.1"), "upsTrapOnBattery");
	assert_string_equal(name_of(t, "1.3.6.1.2.1.33.2.0.4"), "upsTrapAlarmEntryRemoved");
	assert_string_equal(name_of(t, "1.3.6.1.2.1.47.1.4.1.0"), "entLastChangeTime.0");
	assert_string_equal(name_of(t, "1.3.6.1.4.1.9.9.41.2.0.1"), "cisco.9.41.2.0.1");
	assert_string_equal(name_of(t, "1.3.6.1.4.1.2011.5.25"), "huawei.5.25");
	assert_string_equal(name_of(t, "1.3.6.1.4.1.25506.2"), "h3c.2");
	assert_string_equal(name_of(t, "1.3.6.1.4.1.28557.2.3"), "hillstone.2.3");
	assert_string_equal(name_of(t, "1.3.6.1.4.1.12356.101"), "fortinet.101");
	assert_string_equal(name_of(t, "1.3.6.1.4.1.35047.1"), "sangfor.1");
	assert_string_equal(name_of(t, "1.3.6.1.4.1.8072.4.0.1"), "nsNotifyStart");
	assert_string_equal(name_of(t, "1.3.6.1.4.1.99999.1"), "enterprises.99999.1");
	assert_string_equal(name_of(t, "1.3.6.1.6.3.15.1.1.4.0"), "usmStatsUnknownEngineIDs.0");
	/* no prefix is named */
	assert_string_equal(name_of(t, "1.2.840.10045"), "");
	assert_string_equal(name_of(t, "1.3.6.1"), "");
	snmp_oids_destroy(t);
	snmp_oids_destroy(NULL);
}

static char *write_file(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/ward-oids-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_file(void **state)
{
	struct snmp_oids *t;
	char err[200], *path;

	(void)state;
	path = write_file("# vendor names\n"
			  "\n"
			  "1.3.6.1.4.1.9.9.41.2.0.1  clogMessageGenerated   # syslog as a trap\n"
			  ".1.3.6.1.4.1.2011.5.25\thwDatacomm\r\n"
			  "1.3.6.1.6.3.1.1.5.3 IF-MIB::linkDown\n"
			  "   \t  \n"
			  "1.3.6.1.4.1.9.9.41.2.0 clogNotificationsPrefix");
	assert_int_equal(snmp_oids_create(&t, path, err, sizeof(err)), 0);
	assert_string_equal(name_of(t, "1.3.6.1.4.1.9.9.41.2.0.1"), "clogMessageGenerated");
	assert_string_equal(name_of(t, "1.3.6.1.4.1.9.9.41.2.0.7"), "clogNotificationsPrefix.7");
	assert_string_equal(name_of(t, "1.3.6.1.4.1.2011.5.25.219.2"), "hwDatacomm.219.2");
	/* the file overrides a built-in name */
	assert_string_equal(name_of(t, "1.3.6.1.6.3.1.1.5.3"), "IF-MIB::linkDown");
	assert_string_equal(name_of(t, "1.3.6.1.6.3.1.1.5.4"), "linkUp");
	snmp_oids_destroy(t);
	unlink(path);
}

static void test_file_errors(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *what;
	} bad[] = {
		{ "1.3.6.1.4.1.9 cisco\n1.3.6.1.4.1.9.x name\n", 2, "bad OID" },
		{ "1.3.6.1.4.1.9\n", 1, "expected 'OID name'" },
		{ "\n\n1.3.6.1.4.1.9 a b\n", 3, "expected 'OID name'" },
		{ "1.3.6.1.4.1.9 na\"me\n", 1, "bad name" },
		{ "5.3.6 name\n", 1, "bad OID" },
		{ "ciscoName 1.3.6.1.4.1.9\n", 1, "bad OID" },
	};
	struct snmp_oids *t;
	char err[200], want[128], *path;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		path = write_file(bad[i].text);
		assert_int_equal(snmp_oids_create(&t, path, err, sizeof(err)), -EINVAL);
		assert_null(t);
		snprintf(want, sizeof(want), "%s:%d: %s", path, bad[i].line, bad[i].what);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("got '%s', want '%s...'", err, want);
		unlink(path);
	}
	assert_int_equal(snmp_oids_create(&t, "/nonexistent/oids.txt", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/oids.txt: No such file or directory");
}

/* Many names: the table grows and lookups stay exact. */
static void test_many(void **state)
{
	struct snmp_oids *t;
	char err[200], *path;
	FILE *f;
	int fd;
	static char tmpl[] = "/tmp/ward-oids-many-XXXXXX";

	(void)state;
	fd = mkstemp(tmpl);
	path = tmpl;
	f = fdopen(fd, "w");
	for (int i = 0; i < 20000; i++)
		fprintf(f, "1.3.6.1.4.1.99.%d.%d n%d\n", i / 100, i % 100, i);
	fclose(f);
	assert_int_equal(snmp_oids_create(&t, path, err, sizeof(err)), 0);
	for (int i = 0; i < 20000; i += 997) {
		char oid[64], want[32];

		snprintf(oid, sizeof(oid), "1.3.6.1.4.1.99.%d.%d.5", i / 100, i % 100);
		snprintf(want, sizeof(want), "n%d.5", i);
		assert_string_equal(name_of(t, oid), want);
	}
	snmp_oids_destroy(t);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
