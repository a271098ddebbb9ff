/* EDR records: metadata, event time, host name, and the ECS fields taken
 * from Sysmon 1, 3, 11, 22 and Security 4624, 4625 (samples written to
 * Microsoft's published schemas, test_edr_samples.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edr/edr_record.h"
#include "test_edr_samples.h"

/* 2024-05-01T08:20:00Z */
#define RECV_US 1714551600000000LL

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (v == NULL)
		fail_msg("sample does not parse: %s at %d", e.text, e.position);
	return v;
}

static json_t *build(const char *text, enum edr_input in)
{
	struct edr_meta m = {
		.recv_us = RECV_US, .peer = "192.0.2.7:50000", .input = in,
		.auth = EDR_AUTH_TOKEN, .group = "radiology",
	};
	json_t *ev = parse(text), *rec = edr_record_build(&m, ev);

	assert_non_null(rec);
	/* The record holds the original whole: the same value, unchanged. */
	assert_true(json_equal(json_object_get(rec, "original"), ev));
	json_decref(ev);
	return rec;
}

/* The string at dotted `path` under rec, or NULL. */
static const char *s_at(json_t *rec, const char *path)
{
	char buf[128], *save = NULL, *part;
	json_t *v = rec;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part != NULL; part = strtok_r(NULL, ".", &save))
		v = json_object_get(v, part);
	return json_string_value(v);
}

static json_int_t i_at(json_t *rec, const char *path)
{
	char buf[128], *save = NULL, *part;
	json_t *v = rec;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part != NULL; part = strtok_r(NULL, ".", &save))
		v = json_object_get(v, part);
	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

static void test_metadata(void **state)
{
	json_t *rec = build(SYSMON_1, EDR_INPUT_LUMBERJACK);

	(void)state;
	assert_string_equal(s_at(rec, "type"), "edr");
	assert_string_equal(s_at(rec, "ts"), "2024-05-01T08:20:00.000000Z");
	assert_string_equal(s_at(rec, "peer"), "192.0.2.7:50000");
	assert_string_equal(s_at(rec, "input"), "lumberjack");
	assert_string_equal(s_at(rec, "auth.method"), "token");
	assert_string_equal(s_at(rec, "auth.group"), "radiology");
	assert_string_equal(s_at(rec, "event_time"), "2024-05-01T08:15:30.123000Z");
	assert_string_equal(s_at(rec, "host_name"), "ws-rad-07.hosp.example");
	json_decref(rec);
}

static void test_sysmon_1(void **state)
{
	json_t *rec = build(SYSMON_1, EDR_INPUT_LUMBERJACK);

	(void)state;
	assert_string_equal(s_at(rec, "ecs.event.code"), "1");
	assert_string_equal(s_at(rec, "ecs.event.provider"), "Microsoft-Windows-Sysmon");
	assert_string_equal(s_at(rec, "ecs.event.category"), "process");
	assert_string_equal(s_at(rec, "ecs.process.executable"),
			    "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe");
	assert_string_equal(s_at(rec, "ecs.process.name"), "powershell.exe");
	assert_int_equal(i_at(rec, "ecs.process.pid"), 6120);
	assert_string_equal(s_at(rec, "ecs.process.command_line"),
			    "powershell.exe -nop -w hidden -enc SQBFAFgA");
	assert_string_equal(s_at(rec, "ecs.process.entity_id"),
			    "{5a1c1e2f-f2b2-6632-1a02-000000000e00}");
	assert_string_equal(s_at(rec, "ecs.process.parent.executable"), "C:\\Windows\\explorer.exe");
	assert_string_equal(s_at(rec, "ecs.process.parent.name"), "explorer.exe");
	assert_int_equal(i_at(rec, "ecs.process.parent.pid"), 4412);
	assert_string_equal(s_at(rec, "ecs.user.name"), "jdoe");
	assert_string_equal(s_at(rec, "ecs.user.domain"), "HOSP");
	assert_string_equal(s_at(rec, "ecs.host.name"), "ws-rad-07.hosp.example");
	json_decref(rec);
}

static void test_sysmon_3(void **state)
{
	json_t *rec = build(SYSMON_3, EDR_INPUT_LUMBERJACK);

	(void)state;
	assert_string_equal(s_at(rec, "ecs.event.code"), "3");
	assert_string_equal(s_at(rec, "ecs.network.transport"), "tcp");
	assert_string_equal(s_at(rec, "ecs.source.ip"), "10.20.30.41");
	assert_int_equal(i_at(rec, "ecs.source.port"), 50433);
	assert_string_equal(s_at(rec, "ecs.destination.ip"), "203.0.113.9");
	assert_int_equal(i_at(rec, "ecs.destination.port"), 443);
	assert_string_equal(s_at(rec, "ecs.process.name"), "powershell.exe");
	assert_string_equal(s_at(rec, "event_time"), "2024-05-01T08:15:31.500000Z");
	json_decref(rec);
}

static void test_sysmon_11(void **state)
{
	json_t *rec = build(SYSMON_11, EDR_INPUT_LUMBERJACK);

	(void)state;
	assert_string_equal(s_at(rec, "ecs.event.code"), "11");
	assert_string_equal(s_at(rec, "ecs.file.path"),
			    "C:\\Users\\jdoe\\AppData\\Local\\Temp\\upd.exe");
	assert_string_equal(s_at(rec, "ecs.file.name"), "upd.exe");
	assert_int_equal(i_at(rec, "ecs.process.pid"), 6120);
	json_decref(rec);
}

static void test_sysmon_22(void **state)
{
	json_t *rec = build(SYSMON_22, EDR_INPUT_LUMBERJACK);

	(void)state;
	assert_string_equal(s_at(rec, "ecs.event.code"), "22");
	assert_string_equal(s_at(rec, "ecs.dns.question.name"), "update.example.org");
	assert_int_equal(i_at(rec, "ecs.dns.response_code_value"), 0);
	assert_string_equal(s_at(rec, "ecs.user.name"), "jdoe");
	json_decref(rec);
}

static void test_security_4624(void **state)
{
	json_t *rec = build(SECURITY_4624, EDR_INPUT_LUMBERJACK);

	(void)state;
	assert_string_equal(s_at(rec, "ecs.event.code"), "4624");
	assert_string_equal(s_at(rec, "ecs.event.outcome"), "success");
	assert_string_equal(s_at(rec, "ecs.event.category"), "authentication");
	assert_string_equal(s_at(rec, "ecs.user.name"), "jdoe");
	assert_string_equal(s_at(rec, "ecs.user.domain"), "HOSP");
	assert_string_equal(s_at(rec, "ecs.user.id"), "S-1-5-21-3623811015-3361044348-30300820-1013");
	assert_string_equal(s_at(rec, "ecs.winlog.logon.type"), "Network");
	assert_int_equal(i_at(rec, "ecs.winlog.logon.type_value"), 3);
	assert_string_equal(s_at(rec, "ecs.source.ip"), "10.20.30.41");
	assert_int_equal(i_at(rec, "ecs.source.port"), 50512);
	assert_string_equal(s_at(rec, "ecs.source.domain"), "WS-RAD-07");
	/* ProcessName "-" means none. */
	assert_null(s_at(rec, "ecs.process.executable"));
	json_decref(rec);
}

static void test_security_4625(void **state)
{
	json_t *rec = build(SECURITY_4625, EDR_INPUT_LUMBERJACK);

	(void)state;
	assert_string_equal(s_at(rec, "ecs.event.code"), "4625");
	assert_string_equal(s_at(rec, "ecs.event.outcome"), "failure");
	assert_string_equal(s_at(rec, "ecs.user.name"), "administrator");
	assert_string_equal(s_at(rec, "ecs.winlog.logon.type"), "RemoteInteractive");
	assert_string_equal(s_at(rec, "ecs.winlog.logon.failure.status"), "0xc000006d");
	assert_string_equal(s_at(rec, "ecs.source.ip"), "198.51.100.23");
	assert_string_equal(s_at(rec, "ecs.process.executable"),
			    "C:\\Windows\\System32\\svchost.exe");
	assert_int_equal(i_at(rec, "ecs.process.pid"), 500);   /* "0x1f4" */
	json_decref(rec);
}

/* A HEC envelope: time and host come from it, the event inside is
 * normalised, the whole envelope is the original. */
static void test_hec_envelope(void **state)
{
	char text[8192];
	json_t *rec;

	(void)state;
	snprintf(text, sizeof(text), "{\"time\":1714550000.25,\"host\":\"edr-console\","
		 "\"sourcetype\":\"sysmon\",\"event\":%s}", SECURITY_4624);
	rec = build(text, EDR_INPUT_HEC);
	assert_string_equal(s_at(rec, "input"), "hec");
	assert_string_equal(s_at(rec, "event_time"), "2024-05-01T07:53:20.250000Z");
	assert_string_equal(s_at(rec, "host_name"), "edr-console");
	assert_string_equal(s_at(rec, "ecs.user.name"), "jdoe");
	assert_string_equal(s_at(rec, "original.host"), "edr-console");
	json_decref(rec);

	/* splunk-logging's wrapping of the payload. */
	snprintf(text, sizeof(text), "{\"time\":\"1714550000.250\",\"host\":\"ws1\","
		 "\"event\":{\"message\":%s,\"severity\":\"info\"}}", SYSMON_11);
	rec = build(text, EDR_INPUT_HEC);
	assert_string_equal(s_at(rec, "ecs.file.name"), "upd.exe");
	json_decref(rec);

	/* "time" as text, a string event: no ECS, still a record. */
	rec = build("{\"time\":\"1714550000\",\"event\":\"login ok\"}", EDR_INPUT_HEC);
	assert_string_equal(s_at(rec, "event_time"), "2024-05-01T07:53:20.000000Z");
	assert_null(json_object_get(rec, "ecs"));
	assert_null(json_object_get(rec, "host_name"));
	json_decref(rec);
}

/* The flat shape of NXLog-style forwarders. */
static void test_flat_windows_event(void **state)
{
	json_t *rec = build("{\"EventTime\":\"2024-05-01 10:00:00\",\"Hostname\":\"ws1\","
			    "\"EventID\":4625,\"SourceName\":\"Microsoft-Windows-Security-Auditing\","
			    "\"TargetUserName\":\"bob\",\"LogonType\":\"2\",\"IpAddress\":\"-\"}",
			    EDR_INPUT_HEC);

	(void)state;
	assert_string_equal(s_at(rec, "ecs.event.outcome"), "failure");
	assert_string_equal(s_at(rec, "ecs.user.name"), "bob");
	assert_string_equal(s_at(rec, "ecs.winlog.logon.type"), "Interactive");
	assert_null(s_at(rec, "ecs.source.ip"));
	assert_string_equal(s_at(rec, "host_name"), "ws1");
	json_decref(rec);
}

static void test_raw_and_other_events(void **state)
{
	struct edr_meta m = { .recv_us = RECV_US, .input = EDR_INPUT_HEC_RAW,
			      .auth = EDR_AUTH_CLIENT_CERT, .cn = "fwd-01", .host = "h1",
			      .sourcetype = "edr:raw" };
	json_t *ev = json_string("CEF:0|Vendor|EDR|1.0|100|Blocked|5|"), *rec;
	char *text;
	size_t len;

	(void)state;
	rec = edr_record_build(&m, ev);
	assert_string_equal(s_at(rec, "input"), "hec_raw");
	assert_string_equal(s_at(rec, "auth.method"), "client_cert");
	assert_string_equal(s_at(rec, "auth.cn"), "fwd-01");
	assert_null(json_object_get(json_object_get(rec, "auth"), "group"));
	assert_string_equal(s_at(rec, "host_name"), "h1");
	assert_string_equal(s_at(rec, "sourcetype"), "edr:raw");
	assert_null(json_object_get(rec, "peer"));
	json_decref(rec);
	assert_int_equal(edr_record_encode(&m, ev, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "\"original\":\"CEF:0|Vendor|EDR|1.0|100|Blocked|5|\""));
	free(text);
	json_decref(ev);

	/* Events that look Windows-ish but are not the ones known: no ECS
	 * event fields, and nothing breaks on odd types. */
	m.input = EDR_INPUT_LUMBERJACK;
	ev = parse("{\"winlog\":{\"event_id\":{\"x\":1},\"provider_name\":5,\"event_data\":[]}}");
	rec = edr_record_build(&m, ev);
	assert_null(json_object_get(rec, "ecs"));
	json_decref(rec);
	json_decref(ev);
	ev = parse("{\"winlog\":{\"event_id\":7,\"provider_name\":\"Microsoft-Windows-Sysmon\","
		   "\"event_data\":{\"Image\":\"x\"}},\"@timestamp\":\"garbage\"}");
	rec = edr_record_build(&m, ev);
	assert_null(json_object_get(rec, "ecs"));
	assert_null(json_object_get(rec, "event_time"));
	json_decref(rec);
	json_decref(ev);
}

/* The record made from the event's text equals the one printed from the
 * parsed event, line breaks in the text notwithstanding. */
static void test_encode_text(void **state)
{
	static const char *const texts[] = {
		SYSMON_1, SECURITY_4625, "{\n  \"a\": \"x\\ny\",\r\n  \"b\": [1, 2.5, null]\n}\n",
		"\"just a string\"", "[]",
	};
	struct edr_meta m = { .recv_us = RECV_US, .peer = "192.0.2.7:1", .input = EDR_INPUT_LUMBERJACK };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		json_error_t e;
		json_t *ev = json_loads(texts[i], JSON_DECODE_ANY, &e), *a, *b;
		char *ta, *tb;
		size_t la, lb;

		assert_non_null(ev);
		assert_int_equal(edr_record_encode(&m, ev, &ta, &la), 0);
		assert_int_equal(edr_record_encode_text(&m, ev, texts[i], strlen(texts[i]), &tb, &lb), 0);
		assert_int_equal(strlen(tb), lb);
		assert_null(strchr(tb, '\n'));
		a = json_loads(ta, 0, &e);
		b = json_loads(tb, 0, &e);
		assert_non_null(b);
		assert_true(json_equal(a, b));
		json_decref(a);
		json_decref(b);
		json_decref(ev);
		free(ta);
		free(tb);
	}
}

/* The relay's parser: what is one JSON value and what is not, the HEC
 * envelope checks, and the bytes a value takes in a body. */
static void test_encode_json(void **state)
{
	static const struct { const char *text; unsigned flags; int rc; size_t used; } cases[] = {
		{ "12", 0, 0, 2 },
		{ " {\"a\":[1,{\"b\":null}]}\r\n", 0, 0, 23 },
		{ "\"\\u0000\"", 0, 0, 8 },
		{ "99999999999999999999999", 0, 0, 23 },
		{ "2\"2024", 0, -EBADMSG, 0 },          /* yajl alone takes this */
		{ "{\"a\":1} \"x", 0, -EBADMSG, 0 },
		{ "{\"a\":1} {}", 0, -EBADMSG, 0 },
		{ "{\"a\":1", 0, -EBADMSG, 0 },
		{ "", 0, -EBADMSG, 0 },
		{ "{\"a\":\"\x01\"}", 0, -EBADMSG, 0 },   /* a raw control character */
		{ "{\"a\":\"\xc0\xaf\"}", 0, -EBADMSG, 0 }, /* an overlong '/' */
		{ "{\"a\":\"\xed\xa0\x80\"}", 0, -EBADMSG, 0 }, /* a surrogate */
		{ "{\"event\":1} {\"event\":2}", EDR_TEXT_PREFIX | EDR_TEXT_ENVELOPE, 0, 11 },
		{ "{\"event\":{\"a\":1,\"a\":2}}", EDR_TEXT_PREFIX | EDR_TEXT_ENVELOPE, 0, 23 },
		{ "{\"event\":1,\"event\":2}", EDR_TEXT_PREFIX | EDR_TEXT_ENVELOPE, -EBADMSG, 0 },
		{ "{\"host\":\"h\"}", EDR_TEXT_PREFIX | EDR_TEXT_ENVELOPE, -ENOENT, 0 },
		{ "{\"event\":\"\"}", EDR_TEXT_PREFIX | EDR_TEXT_ENVELOPE, -ENODATA, 0 },
		{ "[{\"event\":1}]", EDR_TEXT_PREFIX | EDR_TEXT_ENVELOPE, -EBADMSG, 0 },
	};
	struct edr_meta m = { .recv_us = RECV_US, .peer = "192.0.2.7:1", .input = EDR_INPUT_HEC };
	struct edr_parser *p;
	struct buf out = BUF_INIT;
	size_t i, used;

	(void)state;
	assert_int_equal(edr_parser_create(&p), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		buf_reset(&out);
		rc = edr_record_encode_json(p, &m, cases[i].text, strlen(cases[i].text),
					    cases[i].flags, &used, &out);
		if (rc != cases[i].rc)
			fail_msg("'%s': %d, expected %d", cases[i].text, rc, cases[i].rc);
		if (rc == 0 && used != cases[i].used)
			fail_msg("'%s': used %zu, expected %zu", cases[i].text, used, cases[i].used);
		if (rc < 0)
			assert_int_equal(out.len, 0);
		else
			assert_null(memchr(out.data, '\n', out.len));
	}
	/* Not JSON: kept as a string, ill-formed UTF-8 as U+FFFD. */
	buf_reset(&out);
	m.input = EDR_INPUT_LUMBERJACK;
	assert_int_equal(edr_record_encode_string(&m, "a\xff" "b", 3, &out), 0);
	assert_non_null(memmem(out.data, out.len, "\"original\":\"a\xef\xbf\xbd" "b\"}", 15));
	buf_free(&out);
	edr_parser_destroy(p);
}

static void test_parse_time(void **state)
{
	int64_t us;

	(void)state;
	assert_int_equal(edr_parse_time("2024-05-01T08:15:30.123Z", &us), 0);
	assert_int_equal(us, 1714551330123000LL);
	assert_int_equal(edr_parse_time("2024-05-01T16:15:30.123+08:00", &us), 0);
	assert_int_equal(us, 1714551330123000LL);
	assert_int_equal(edr_parse_time("2024-05-01 08:15:30.1234567", &us), 0);
	assert_int_equal(us, 1714551330123456LL);
	assert_int_equal(edr_parse_time("2024-05-01T03:15:30-0500", &us), 0);
	assert_int_equal(us, 1714551330000000LL);
	assert_int_equal(edr_parse_time("2024-02-30T00:00:00Z", &us), -EINVAL);
	assert_int_equal(edr_parse_time("2024-05-01T08:15Z", &us), -EINVAL);
	assert_int_equal(edr_parse_time("2024-05-01T08:15:30.Z", &us), -EINVAL);
	assert_int_equal(edr_parse_time("2024-05-01T08:15:30Zjunk", &us), -EINVAL);
	assert_int_equal(edr_parse_time("", &us), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_sysmon_1),
		cmocka_unit_test(test_sysmon_3),
		cmocka_unit_test(test_sysmon_11),
		cmocka_unit_test(test_sysmon_22),
		cmocka_unit_test(test_security_4624),
		cmocka_unit_test(test_security_4625),
		cmocka_unit_test(test_hec_envelope),
		cmocka_unit_test(test_flat_windows_event),
		cmocka_unit_test(test_raw_and_other_events),
		cmocka_unit_test(test_encode_text),
		cmocka_unit_test(test_encode_json),
		cmocka_unit_test(test_parse_time),
	};

	return cmocka_run_group_tests_name("edr_record", tests, NULL, NULL);
}
