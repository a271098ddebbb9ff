/* Unit tests for agent/syslog/syslog_prot.c: RFC 5424 section 6.5 and
 * RFC 3164 section 5.4 examples, the deviations real devices show, vendor
 * samples, and one test per malformed input the parser flags. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "syslog/syslog_charset.h"
#include "syslog/syslog_prot.h"
#include "syslog_samples.h"

#define BOM "\xef\xbb\xbf"
/* 2026-11-21T13:40:00Z, the receive time of most tests. */
#define RECV 1795268400000000LL

static void slice_eq(struct syslog_slice s, const char *want, const char *file, int line)
{
	if (want == NULL ? s.p == NULL
			 : s.p != NULL && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0)
		return;
	print_error("got %s%.*s%s, want %s%s%s\n", s.p ? "'" : "", s.p ? (int)s.n : 4,
		    s.p ? s.p : "NULL", s.p ? "'" : "", want ? "'" : "", want ? want : "NULL",
		    want ? "'" : "");
	_fail(file, line);
}
#define SLICE_EQ(s, want) slice_eq((s), (want), __FILE__, __LINE__)

static void parse(const char *s, struct syslog_msg *m)
{
	syslog_parse(s, strlen(s), RECV, m);
}

/* ---- RFC 5424 section 6.5 ----------------------------------------------------- */

static void test_5424_example1(void **state)
{
	struct syslog_msg m;

	(void)state;
	parse("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - " BOM
	      "'su root' failed for lonvick on /dev/pts/8", &m);
	assert_int_equal(m.format, SYSLOG_FMT_RFC5424);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_null(m.error);
	assert_int_equal(m.pri, 34);
	assert_int_equal(m.facility, 4);
	assert_int_equal(m.severity, 2);
	assert_int_equal(m.version, 1);
	assert_true(m.ts_valid && m.ts_has_zone && m.ts_has_year);
	assert_int_equal(m.ts_us, 1065910455003000LL);
	SLICE_EQ(m.timestamp, "2003-10-11T22:14:15.003Z");
	SLICE_EQ(m.hostname, "mymachine.example.com");
	SLICE_EQ(m.app_name, "su");
	SLICE_EQ(m.procid, NULL);
	SLICE_EQ(m.msgid, "ID47");
	SLICE_EQ(m.sd, NULL);
	assert_true(m.msg_bom);
	SLICE_EQ(m.msg, "'su root' failed for lonvick on /dev/pts/8");
}

static void test_5424_example2(void **state)
{
	struct syslog_msg m;

	(void)state;
	parse("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
	      "%% It's time to make the do-nuts.", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_int_equal(m.facility, 20);
	assert_int_equal(m.severity, 5);
	assert_int_equal(m.ts_us, 1061727255000003LL);
	SLICE_EQ(m.hostname, "192.0.2.1");
	SLICE_EQ(m.app_name, "myproc");
	SLICE_EQ(m.procid, "8710");
	SLICE_EQ(m.msgid, NULL);
	assert_false(m.msg_bom);
	SLICE_EQ(m.msg, "%% It's time to make the do-nuts.");
}

static void test_5424_example3(void **state)
{
	static const char *const want[][2] = {
		{ "iut", "3" }, { "eventSource", "Application" }, { "eventID", "1011" },
	};
	struct syslog_sd_param prm;
	struct syslog_sd_iter it;
	struct syslog_slice id;
	struct syslog_msg m;

	(void)state;
	parse("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
	      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] " BOM
	      "An application event log entry...", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_true(m.sd_valid);
	SLICE_EQ(m.sd, "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]");
	SLICE_EQ(m.msg, "An application event log entry...");
	assert_true(m.msg_bom);

	syslog_sd_iter_init(&it, m.sd);
	assert_int_equal(syslog_sd_next_element(&it, &id), 1);
	SLICE_EQ(id, "exampleSDID@32473");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(syslog_sd_next_param(&it, &prm), 1);
		SLICE_EQ(prm.name, want[i][0]);
		SLICE_EQ(prm.value, want[i][1]);
	}
	assert_int_equal(syslog_sd_next_param(&it, &prm), 0);
	assert_int_equal(syslog_sd_next_element(&it, &id), 0);
}

static void test_5424_example4(void **state)
{
	struct syslog_sd_iter it;
	struct syslog_slice id;
	struct syslog_msg m;

	(void)state;
	parse("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
	      "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
	      "[examplePriority@32473 class=\"high\"]", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_true(m.sd_valid);
	SLICE_EQ(m.msg, NULL);   /* no MSG at all */
	syslog_sd_iter_init(&it, m.sd);
	/* next_element skips the params of the first element unread. */
	assert_int_equal(syslog_sd_next_element(&it, &id), 1);
	assert_int_equal(syslog_sd_next_element(&it, &id), 1);
	SLICE_EQ(id, "examplePriority@32473");
	assert_int_equal(syslog_sd_next_element(&it, &id), 0);
}

static void test_5424_all_nil(void **state)
{
	struct syslog_msg m;

	(void)state;
	parse("<13>1 - - - - - -", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_false(m.ts_valid);
	SLICE_EQ(m.timestamp, NULL);
	SLICE_EQ(m.hostname, NULL);
	SLICE_EQ(m.sd, NULL);
	SLICE_EQ(m.msg, NULL);
	parse("<13>1 - - - - - - ", &m);
	SLICE_EQ(m.msg, "");
}

/* Escapes in PARAM-VALUE stay escaped in the slice; a backslash before
 * another character is literal; ']' inside quotes is unambiguous. */
static void test_sd_escapes(void **state)
{
	struct syslog_sd_param prm;
	struct syslog_sd_iter it;
	struct syslog_slice id;
	struct syslog_msg m;

	(void)state;
	parse("<13>1 - h a p m [x@1 a=\"q\\\"b\\\\s\\]e\" b=\"c:\\d\" c=\"]\" d=\"\"] msg", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_true(m.sd_valid);
	SLICE_EQ(m.msg, "msg");
	syslog_sd_iter_init(&it, m.sd);
	assert_int_equal(syslog_sd_next_element(&it, &id), 1);
	assert_int_equal(syslog_sd_next_param(&it, &prm), 1);
	SLICE_EQ(prm.value, "q\\\"b\\\\s\\]e");
	assert_int_equal(syslog_sd_next_param(&it, &prm), 1);
	SLICE_EQ(prm.value, "c:\\d");
	assert_int_equal(syslog_sd_next_param(&it, &prm), 1);
	SLICE_EQ(prm.value, "]");
	assert_int_equal(syslog_sd_next_param(&it, &prm), 1);
	SLICE_EQ(prm.name, "d");
	SLICE_EQ(prm.value, "");
	assert_int_equal(syslog_sd_next_param(&it, &prm), 0);
}

static void test_sd_iter_nil_and_bad(void **state)
{
	struct syslog_slice nil = { NULL, 0 }, bad = { "x", 1 }, id;
	struct syslog_sd_param prm;
	struct syslog_sd_iter it;

	(void)state;
	syslog_sd_iter_init(&it, nil);
	assert_int_equal(syslog_sd_next_element(&it, &id), 0);
	assert_int_equal(syslog_sd_next_param(&it, &prm), 0);
	syslog_sd_iter_init(&it, bad);
	assert_int_equal(syslog_sd_next_element(&it, &id), -EINVAL);
}

/* TIME-SECFRAC longer than RFC 5424's six digits: accepted, cut to µs. */
static void test_5424_long_fraction(void **state)
{
	struct syslog_msg m;

	(void)state;
	parse("<13>1 2026-01-01T00:00:00.123456789Z h a - - - x", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_int_equal(m.ts_us, 1767225600123456LL);
}

/* ---- RFC 3164 section 5.4 ----------------------------------------------------- */

static void test_3164_example1(void **state)
{
	struct syslog_msg m;

	(void)state;
	/* Received in 2003, the year that makes sense of "Oct 11". */
	syslog_parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
		     76, 1065916800000000LL, &m);
	assert_int_equal(m.format, SYSLOG_FMT_RFC3164);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_int_equal(m.pri, 34);
	assert_true(m.ts_valid);
	assert_false(m.ts_has_zone);
	assert_false(m.ts_has_year);
	assert_int_equal(m.ts_us, 1065910455000000LL);
	SLICE_EQ(m.timestamp, "Oct 11 22:14:15");
	SLICE_EQ(m.hostname, "mymachine");
	SLICE_EQ(m.app_name, "su");
	SLICE_EQ(m.procid, NULL);
	SLICE_EQ(m.msg, "'su root' failed for lonvick on /dev/pts/8");
}

static void test_3164_example2(void **state)
{
	struct syslog_msg m;

	(void)state;
	/* As the device sent it: no PRI, no header. */
	parse("Use the BFG!", &m);
	assert_int_equal(m.format, SYSLOG_FMT_UNKNOWN);
	assert_int_equal(m.status, SYSLOG_PARSE_NO_HEADER);
	assert_false(m.pri_present);
	assert_int_equal(m.pri, 13);
	assert_int_equal(m.facility, 1);
	assert_int_equal(m.severity, 5);
	SLICE_EQ(m.msg, "Use the BFG!");
	/* As the RFC's relay forwards it. */
	parse("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_true(m.pri_present);
	SLICE_EQ(m.timestamp, "Feb  5 17:32:18");
	SLICE_EQ(m.hostname, "10.0.0.99");
	SLICE_EQ(m.app_name, NULL);   /* "Use" is followed by SP: not a TAG */
	SLICE_EQ(m.msg, "Use the BFG!");
}

/* The RFC notes this message's fields do not follow its own rules; ward
 * reads "CST 1987" as a zone abbreviation and a year. */
static void test_3164_example3(void **state)
{
	struct syslog_msg m;

	(void)state;
	parse("<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the "
	      "do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, "
	      "Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	SLICE_EQ(m.timestamp, "Aug 24 05:34:00 CST 1987");
	assert_true(m.ts_has_year);
	assert_false(m.ts_has_zone);   /* CST's offset is ambiguous */
	assert_int_equal(m.ts_us, 556781640000000LL);
	SLICE_EQ(m.hostname, "mymachine");
	SLICE_EQ(m.app_name, "myproc");
	SLICE_EQ(m.procid, "10");
	assert_true(m.msg.n > 0 && memcmp(m.msg.p, "%% It's time", 12) == 0);
}

static void test_3164_example4(void **state)
{
	struct syslog_msg m;

	(void)state;
	/* A year-first timestamp is no RFC 3164 TIMESTAMP: all is CONTENT. */
	parse("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: "
	      "That's All Folks!", &m);
	assert_int_equal(m.format, SYSLOG_FMT_RFC3164);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_int_equal(m.pri, 0);
	assert_false(m.ts_valid);
	SLICE_EQ(m.hostname, NULL);
	SLICE_EQ(m.msg, "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 "
		 "sched[0]: That's All Folks!");
	/* The relayed form the RFC shows. */
	parse("<0>Oct 22 10:52:12 scapegoat 1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org "
	      "10.1.2.3 sched[0]: That's All Folks!", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	SLICE_EQ(m.hostname, "scapegoat");
	SLICE_EQ(m.app_name, NULL);
	assert_true(m.msg.n > 4 && memcmp(m.msg.p, "1990 Oct", 8) == 0);
}

/* ---- RFC 3164 deviations ---------------------------------------------------- */

static void test_3164_year_inference(void **state)
{
	struct syslog_msg m;
	const char *s = "<13>Dec 31 23:59:59 h t: x";
	const char *jan = "<13>Jan  1 00:00:01 h t: x";

	(void)state;
	/* Sent just before midnight on new year's eve, received just after. */
	syslog_parse(s, strlen(s), 1798761601000000LL, &m);
	assert_int_equal(m.ts_us, 1798761599000000LL);
	/* Sent by a clock slightly ahead, received before midnight. */
	syslog_parse(jan, strlen(jan), 1798761599000000LL, &m);
	assert_int_equal(m.ts_us, 1798761601000000LL);
	/* Feb 29 takes the nearest leap year in reach. */
	syslog_parse("<13>Feb 29 12:00:00 h t: x", 26, 1827619200000000LL, &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_int_equal(m.ts_us, 1835438400000000LL);
}

static void test_3164_no_pri(void **state)
{
	struct syslog_msg m;

	(void)state;
	parse("Oct 11 22:14:15 host tag: msg", &m);
	assert_int_equal(m.format, SYSLOG_FMT_RFC3164);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_false(m.pri_present);
	assert_int_equal(m.pri, 13);
	SLICE_EQ(m.hostname, "host");
	SLICE_EQ(m.app_name, "tag");
	SLICE_EQ(m.msg, "msg");
}

static void test_3164_no_hostname(void **state)
{
	struct syslog_msg m;

	(void)state;
	parse("<13>Oct 11 22:14:15 tag: msg here", &m);
	SLICE_EQ(m.hostname, NULL);
	SLICE_EQ(m.app_name, "tag");
	SLICE_EQ(m.msg, "msg here");
	parse("<13>Oct 11 22:14:15 cron[99]: job", &m);
	SLICE_EQ(m.hostname, NULL);
	SLICE_EQ(m.app_name, "cron");
	SLICE_EQ(m.procid, "99");
	SLICE_EQ(m.msg, "job");
	/* A lone last token is content, not a hostname. */
	parse("<13>Oct 11 22:14:15 hello", &m);
	SLICE_EQ(m.hostname, NULL);
	SLICE_EQ(m.msg, "hello");
	parse("<13>Oct 11 22:14:15", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	SLICE_EQ(m.msg, "");
}

static void test_3164_timestamp_variants(void **state)
{
	struct syslog_msg m;

	(void)state;
	parse("<13>Oct 11 2026 22:14:15 h t: x", &m);
	assert_true(m.ts_has_year);
	assert_int_equal(m.ts_us, 1791756855000000LL);
	SLICE_EQ(m.hostname, "h");

	parse("<13>Oct 11 22:14:15.123 h t: x", &m);
	assert_int_equal(m.ts_us, 1791756855123000LL);
	SLICE_EQ(m.timestamp, "Oct 11 22:14:15.123");

	parse("<13>Oct 11 22:14:15 2026 h t: x", &m);   /* H3C: year after time */
	assert_int_equal(m.ts_us, 1791756855000000LL);
	SLICE_EQ(m.hostname, "h");

	parse("<13>Oct 11 2026 22:14:15 UTC h t: x", &m);
	assert_true(m.ts_has_zone);
	SLICE_EQ(m.timestamp, "Oct 11 2026 22:14:15 UTC");
	SLICE_EQ(m.hostname, "h");

	parse("<13>Oct 11 2026 22:14:15+08:00 h t: x", &m);   /* Huawei */
	assert_true(m.ts_has_zone);
	assert_int_equal(m.ts_us, 1791728055000000LL);

	parse("<13>Oct 11 2026 22:14:15 +08:00 h t: x", &m);
	assert_true(m.ts_has_zone);
	assert_int_equal(m.ts_us, 1791728055000000LL);

	parse("<13>2026-10-11T22:14:15+08:00 h t: x", &m);
	assert_true(m.ts_has_zone);
	assert_int_equal(m.ts_us, 1791728055000000LL);
	SLICE_EQ(m.hostname, "h");

	parse("<13>2026-10-11 22:14:15 h t: x", &m);   /* Huawei's default */
	assert_false(m.ts_has_zone);
	assert_int_equal(m.ts_us, 1791756855000000LL);
	SLICE_EQ(m.timestamp, "2026-10-11 22:14:15");

	parse("<13>2026-10-11T22:14:15.123+0800 h t: x", &m);
	assert_int_equal(m.ts_us, 1791728055123000LL);

	parse("<13>Oct 11 2026 22:14:15 UTC+08:00 h t: x", &m);
	assert_true(m.ts_has_zone);
	assert_int_equal(m.ts_us, 1791728055000000LL);
	SLICE_EQ(m.hostname, "h");

	/* Something offset-like that does not end the field is not taken,
	 * and changes nothing. */
	parse("<13>Oct 11 2026 22:14:15 +99:99x t: x", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_false(m.ts_has_zone);
	assert_int_equal(m.ts_us, 1791756855000000LL);
	SLICE_EQ(m.hostname, "+99:99x");
	/* A zone offset out of range is a bad timestamp. */
	parse("<13>Oct 11 2026 22:14:15+25:00 h t: x", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_PARTIAL);

	/* An uppercase hostname right after the time is not a zone. */
	parse("<13>Oct 11 2026 22:14:15 CORE sshd: x", &m);
	SLICE_EQ(m.hostname, "CORE");
	assert_false(m.ts_has_zone);
	parse("<13>Oct 11 2026 22:14:15 CRON: job", &m);
	SLICE_EQ(m.app_name, "CRON");
}

static void test_3164_cisco(void **state)
{
	struct syslog_msg m;

	(void)state;
	parse("<189>123: *Mar  1 18:46:11.123 UTC: %SYS-5-CONFIG_I: Configured from console by "
	      "vty0 (10.0.0.1)", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	SLICE_EQ(m.cisco_seq, "123");
	SLICE_EQ(m.timestamp, "Mar  1 18:46:11.123 UTC");
	assert_true(m.ts_has_zone);
	SLICE_EQ(m.hostname, NULL);
	SLICE_EQ(m.app_name, NULL);
	SLICE_EQ(m.msg, "%SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.1)");

	parse("<187>45: .Nov 21 13:39:06.456 CST: %LINK-3-UPDOWN: down", &m);
	SLICE_EQ(m.timestamp, "Nov 21 13:39:06.456 CST");
	assert_false(m.ts_has_zone);
	assert_int_equal(m.ts_us, 1795268346456000LL);
	SLICE_EQ(m.msg, "%LINK-3-UPDOWN: down");
}

static void test_3164_tags(void **state)
{
	struct syslog_msg m;

	(void)state;
	parse("<13>Oct 11 22:14:15 h sshd[812]: x", &m);
	SLICE_EQ(m.app_name, "sshd");
	SLICE_EQ(m.procid, "812");
	SLICE_EQ(m.msg, "x");
	parse("<13>Oct 11 22:14:15 h app[1] no colon", &m);
	SLICE_EQ(m.app_name, "app");
	SLICE_EQ(m.msg, "no colon");
	parse("<13>Oct 11 22:14:15 h /usr/sbin/cron[7]: x", &m);
	SLICE_EQ(m.app_name, "/usr/sbin/cron");
	/* Not TAGs: '%', an empty PID, a SP before ':', too long. */
	parse("<13>Oct 11 22:14:15 h %ASA-6-302013: x", &m);
	SLICE_EQ(m.app_name, NULL);
	parse("<13>Oct 11 22:14:15 h app[]: x", &m);
	SLICE_EQ(m.app_name, NULL);
	SLICE_EQ(m.msg, "app[]: x");
	parse("<13>Oct 11 22:14:15 h app x: y", &m);
	SLICE_EQ(m.app_name, NULL);
	parse("<13>Oct 11 22:14:15 h "
	      "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij: x", &m);
	SLICE_EQ(m.app_name, NULL);
	/* With a PRI but no timestamp a TAG may still lead the content. */
	parse("<13>sshd[1]: x", &m);
	SLICE_EQ(m.app_name, "sshd");
	SLICE_EQ(m.msg, "x");
}

/* ---- vendor samples ------------------------------------------------------------ */

static void test_vendor_samples(void **state)
{
	struct charset_conv *conv = charset_conv_create();
	struct buf utf8 = BUF_INIT;

	(void)state;
	assert_non_null(conv);
	for (size_t i = 0; i < SYSLOG_SAMPLES_COUNT; i++) {
		const struct syslog_sample *s = &syslog_samples[i];
		const char *text = s->line;
		size_t len = strlen(s->line);
		struct syslog_msg m;

		buf_reset(&utf8);
		if (s->gbk) {
			assert_int_equal(charset_to_utf8(conv, text, len, &utf8), CHARSET_GB18030);
			text = (const char *)utf8.data;
			len = utf8.len;
		} else {
			assert_true(utf8_valid(text, len));
		}
		syslog_parse(text, len, RECV, &m);
		if (m.status != SYSLOG_PARSE_OK)
			print_error("sample %zu (%s): %s\n", i, s->vendor, m.error);
		assert_int_equal(m.status, SYSLOG_PARSE_OK);
		assert_true(m.pri_present);
		assert_int_not_equal(m.format, SYSLOG_FMT_UNKNOWN);
		SLICE_EQ(m.hostname, s->hostname);
		SLICE_EQ(m.app_name, s->app_name);
		assert_true(m.msg.p != NULL && m.msg.n > 0);
		/* FortiGate sends no syslog timestamp; everyone else does. */
		assert_true(m.ts_valid == (strcmp(s->vendor, "fortigate") != 0));
	}
	buf_free(&utf8);
	charset_conv_destroy(conv);
}

static void test_vendor_details(void **state)
{
	struct syslog_msg m;

	(void)state;
	/* Huawei with an offset. */
	parse(syslog_samples[3].line, &m);
	assert_true(m.ts_has_zone);
	assert_int_equal(m.ts_us, 1795239551000000LL);
	assert_true(memcmp(m.msg.p, "%%01IFNET/3/LINK_DOWN(l):", 25) == 0);
	/* ASA with a device-id: the " : " separator is not in msg. */
	parse(syslog_samples[12].line, &m);
	assert_true(memcmp(m.msg.p, "%ASA-6-302013: Built", 20) == 0);
	/* ASA without a hostname. */
	parse(syslog_samples[14].line, &m);
	SLICE_EQ(m.timestamp, "Nov 21 2026 13:39:04");
	assert_true(memcmp(m.msg.p, "%ASA-3-710003:", 14) == 0);
	/* FortiGate: everything after the PRI is CONTENT. */
	parse(syslog_samples[17].line, &m);
	assert_true(memcmp(m.msg.p, "date=2026-11-21 time=13:39:02 devname=", 38) == 0);
	/* Snare: the TAB-separated record stays whole in msg. */
	parse(syslog_samples[25].line, &m);
	assert_true(memcmp(m.msg.p, "MSWinEventLog\t1\tSecurity\t", 25) == 0);
	/* NXLog RFC 5424 with two SD-ELEMENTs. */
	parse(syslog_samples[28].line, &m);
	assert_int_equal(m.format, SYSLOG_FMT_RFC5424);
	assert_true(m.sd_valid);
	SLICE_EQ(m.procid, "636");
	SLICE_EQ(m.msg, "A user account was locked out. Account Name: doctor12");
	/* rsyslog-forwarded sshd with microseconds and an offset. */
	parse(syslog_samples[22].line, &m);
	assert_int_equal(m.ts_us, 1795239544512345LL);
}

/* ---- malformed input: one test per rejected or flagged case -------------------- */

static void expect(const char *s, size_t len, enum syslog_format fmt,
		   enum syslog_parse_status st, const char *err_part, const char *msg)
{
	struct syslog_msg m;

	syslog_parse(s, len, RECV, &m);
	assert_int_equal(m.format, fmt);
	assert_int_equal(m.status, st);
	if (err_part == NULL) {
		assert_null(m.error);
	} else {
		assert_non_null(m.error);
		if (strstr(m.error, err_part) == NULL)
			print_error("error '%s' lacks '%s'\n", m.error, err_part);
		assert_non_null(strstr(m.error, err_part));
	}
	if (msg != NULL)
		SLICE_EQ(m.msg, msg);
}
#define EXPECT(s, fmt, st, err, msg) expect((s), strlen(s), (fmt), (st), (err), (msg))

static void test_bad_pri(void **state)
{
	(void)state;
	EXPECT("<999>Oct 11 22:14:15 h t: x", SYSLOG_FMT_UNKNOWN, SYSLOG_PARSE_NO_HEADER,
	       "above 191", "<999>Oct 11 22:14:15 h t: x");
	EXPECT("<192>x", SYSLOG_FMT_UNKNOWN, SYSLOG_PARSE_NO_HEADER, "above 191", "<192>x");
	EXPECT("<abc>x", SYSLOG_FMT_UNKNOWN, SYSLOG_PARSE_NO_HEADER, "not a number", "<abc>x");
	EXPECT("<12a>x", SYSLOG_FMT_UNKNOWN, SYSLOG_PARSE_NO_HEADER, "not a number", NULL);
	EXPECT("<>x", SYSLOG_FMT_UNKNOWN, SYSLOG_PARSE_NO_HEADER, "empty", "<>x");
	EXPECT("<0013>x", SYSLOG_FMT_UNKNOWN, SYSLOG_PARSE_NO_HEADER, "longer than 3", NULL);
	EXPECT("<13", SYSLOG_FMT_UNKNOWN, SYSLOG_PARSE_NO_HEADER, "not closed", "<13");
	EXPECT("<", SYSLOG_FMT_UNKNOWN, SYSLOG_PARSE_NO_HEADER, "not closed", "<");
	/* The edges that are fine. */
	EXPECT("<191>x", SYSLOG_FMT_RFC3164, SYSLOG_PARSE_OK, NULL, "x");
	EXPECT("<0>x", SYSLOG_FMT_RFC3164, SYSLOG_PARSE_OK, NULL, "x");
	EXPECT("<013>x", SYSLOG_FMT_RFC3164, SYSLOG_PARSE_OK, NULL, "x");
}

static void test_empty(void **state)
{
	struct syslog_msg m;

	(void)state;
	EXPECT("", SYSLOG_FMT_UNKNOWN, SYSLOG_PARSE_NO_HEADER, "empty message", "");
	EXPECT("\r\n", SYSLOG_FMT_UNKNOWN, SYSLOG_PARSE_NO_HEADER, "empty message", "");
	expect("\0\0", 2, SYSLOG_FMT_UNKNOWN, SYSLOG_PARSE_NO_HEADER, "empty message", "");
	syslog_parse(NULL, 0, RECV, &m);
	assert_int_equal(m.status, SYSLOG_PARSE_NO_HEADER);
	EXPECT("<13>", SYSLOG_FMT_RFC3164, SYSLOG_PARSE_PARTIAL, "nothing after PRI", "");
	EXPECT("<13>\n", SYSLOG_FMT_RFC3164, SYSLOG_PARSE_PARTIAL, "nothing after PRI", "");
}

static void test_no_header(void **state)
{
	(void)state;
	EXPECT("sshd[1]: no PRI, no timestamp", SYSLOG_FMT_UNKNOWN, SYSLOG_PARSE_NO_HEADER,
	       "no PRI", "sshd[1]: no PRI, no timestamp");
}

static void test_5424_bad_timestamp(void **state)
{
	struct syslog_msg m;

	(void)state;
	EXPECT("<13>1 2026-13-01T00:00:00Z h a p m - x", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "TIMESTAMP", "2026-13-01T00:00:00Z h a p m - x");
	parse("<13>1 2026-13-01T00:00:00Z h a p m - x", &m);
	SLICE_EQ(m.timestamp, "2026-13-01T00:00:00Z");
	assert_false(m.ts_valid);
	/* TIME-OFFSET is mandatory; leap seconds are forbidden; 'T' only. */
	EXPECT("<13>1 2026-01-01T00:00:00 h a p m - x", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "TIMESTAMP", NULL);
	EXPECT("<13>1 2026-12-31T23:59:60Z h a p m - x", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "TIMESTAMP", NULL);
	EXPECT("<13>1 2026-01-01 00:00:00Z h a p m - x", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "TIMESTAMP", NULL);
	EXPECT("<13>1 2026-02-29T00:00:00Z h a p m - x", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "TIMESTAMP", NULL);
	EXPECT("<13>1 2026-01-01T00:00:00+24:00 h a p m - x", SYSLOG_FMT_RFC5424,
	       SYSLOG_PARSE_PARTIAL, "TIMESTAMP", NULL);
	EXPECT("<13>1 2026-01-01T00:00:00.Z h a p m - x", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "TIMESTAMP", NULL);
	EXPECT("<13>1 2026-01-01T00:00:00Zjunk h a p m - x", SYSLOG_FMT_RFC5424,
	       SYSLOG_PARSE_PARTIAL, "TIMESTAMP", NULL);
}

static void test_5424_bad_sd(void **state)
{
	struct syslog_msg m;

	(void)state;
	EXPECT("<13>1 - h a p m [id a=\"b", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "not terminated", "[id a=\"b");
	EXPECT("<13>1 - h a p m [id a=\"b\"", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "not terminated", NULL);
	EXPECT("<13>1 - h a p m [id", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL, "not terminated",
	       NULL);
	EXPECT("<13>1 - h a p m [id a=\"x\\\"] msg", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "not terminated", NULL);
	EXPECT("<13>1 - h a p m [id a=b] msg", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "malformed", "[id a=b] msg");
	EXPECT("<13>1 - h a p m [id  a=\"b\"] msg", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "malformed", NULL);
	EXPECT("<13>1 - h a p m [] msg", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL, "malformed",
	       NULL);
	EXPECT("<13>1 - h a p m [abcdefghijabcdefghijabcdefghijabc] msg", SYSLOG_FMT_RFC5424,
	       SYSLOG_PARSE_PARTIAL, "malformed", NULL);
	EXPECT("<13>1 - h a p m x msg", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "neither '-' nor '['", "x msg");
	EXPECT("<13>1 - h a p m [a]x", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "no SP after STRUCTURED-DATA", "x");
	/* A repeated SD-ID: kept, but not expanded. */
	parse("<13>1 - h a p m [a x=\"1\"][a x=\"2\"] msg", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_PARTIAL);
	assert_non_null(strstr(m.error, "SD-ID"));
	assert_false(m.sd_valid);
	SLICE_EQ(m.sd, "[a x=\"1\"][a x=\"2\"]");
	SLICE_EQ(m.msg, "msg");
	/* A repeated PARAM-NAME is allowed (RFC 5424 6.3.3). */
	parse("<13>1 - h a p m [a x=\"1\" x=\"2\"] msg", &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_true(m.sd_valid);
}

/* Past ward's expansion bounds the SD is kept but not expanded; that is
 * not the sender's fault, so the status stays ok. */
static void test_5424_sd_bounds(void **state)
{
	char s[4096];
	size_t n;
	struct syslog_msg m;

	(void)state;
	n = (size_t)snprintf(s, sizeof s, "<13>1 - h a p m ");
	for (int i = 0; i <= SYSLOG_SD_MAX_ELEMENTS; i++)
		n += (size_t)snprintf(s + n, sizeof s - n, "[e%d]", i);
	n += (size_t)snprintf(s + n, sizeof s - n, " msg");
	syslog_parse(s, n, RECV, &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_false(m.sd_valid);
	SLICE_EQ(m.msg, "msg");

	n = (size_t)snprintf(s, sizeof s, "<13>1 - h a p m [e");
	for (int i = 0; i <= SYSLOG_SD_MAX_PARAMS; i++)
		n += (size_t)snprintf(s + n, sizeof s - n, " p=\"%d\"", i);
	n += (size_t)snprintf(s + n, sizeof s - n, "] msg");
	syslog_parse(s, n, RECV, &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_false(m.sd_valid);
}

static void test_5424_bad_fields(void **state)
{
	static const char nul_host[] = "<13>1 - h\0st a p m - x";
	char s[600];
	struct syslog_msg m;

	(void)state;
	EXPECT("<13>2 - h a p m - x", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL, "VERSION", "x");
	EXPECT("<13>1 - h a", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL, "ends inside the header",
	       NULL);
	EXPECT("<13>1 - h a p m", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "ends inside the header", NULL);
	EXPECT("<13>1 -", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL, "ends inside the header", NULL);
	EXPECT("<13>1 - h  p m - x", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL, "empty header field",
	       NULL);
	/* Over-long and non-PRINTUSASCII fields are kept as written. */
	memset(s, 0, sizeof s);
	strcpy(s, "<13>1 - ");
	memset(s + 8, 'h', 256);
	strcpy(s + 8 + 256, " a p m - x");
	parse(s, &m);
	assert_int_equal(m.status, SYSLOG_PARSE_PARTIAL);
	assert_non_null(strstr(m.error, "HOSTNAME is longer"));
	assert_int_equal(m.hostname.n, 256);
	SLICE_EQ(m.msg, "x");
	EXPECT("<13>1 - h a p abcdefghijabcdefghijabcdefghijabc - x", SYSLOG_FMT_RFC5424,
	       SYSLOG_PARSE_PARTIAL, "MSGID is longer", "x");
	expect(nul_host, sizeof nul_host - 1, SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "HOSTNAME has a byte outside PRINTUSASCII", "x");
	EXPECT("<13>1 - h\xc3\xa9 a p m - x", SYSLOG_FMT_RFC5424, SYSLOG_PARSE_PARTIAL,
	       "HOSTNAME has a byte outside", "x");
}

static void test_3164_bad_timestamp(void **state)
{
	struct syslog_msg m;

	(void)state;
	EXPECT("<13>Oct 32 22:14:15 h t: x", SYSLOG_FMT_RFC3164, SYSLOG_PARSE_PARTIAL, "TIMESTAMP",
	       "Oct 32 22:14:15 h t: x");
	EXPECT("<13>Oct 11 25:14:15 h t: x", SYSLOG_FMT_RFC3164, SYSLOG_PARSE_PARTIAL, "TIMESTAMP",
	       NULL);
	EXPECT("<13>Feb 30 2026 10:00:00 h t: x", SYSLOG_FMT_RFC3164, SYSLOG_PARSE_PARTIAL,
	       "TIMESTAMP", NULL);
	EXPECT("<13>2026-02-30 10:00:00 h t: x", SYSLOG_FMT_RFC3164, SYSLOG_PARSE_PARTIAL,
	       "TIMESTAMP", NULL);
	EXPECT("<13>Oct  0 22:14:15 h t: x", SYSLOG_FMT_RFC3164, SYSLOG_PARSE_PARTIAL, "TIMESTAMP",
	       NULL);
	parse("<13>Oct 32 22:14:15 h t: x", &m);
	SLICE_EQ(m.timestamp, "Oct 32 22:14:15");
	assert_false(m.ts_valid);
	/* Not a timestamp's shape at all: plain CONTENT, which is fine. */
	EXPECT("<13>Oct 11 hello", SYSLOG_FMT_RFC3164, SYSLOG_PARSE_OK, NULL, "Oct 11 hello");
	EXPECT("<13>Oct 11 22:14:15x", SYSLOG_FMT_RFC3164, SYSLOG_PARSE_OK, NULL,
	       "Oct 11 22:14:15x");
}

/* NUL bytes and lone CRs are content; only trailing LF/CR/NUL is framing. */
static void test_nul_and_cr(void **state)
{
	static const char nul[] = "<13>Oct 11 22:14:15 h t: a\0b\r\n";
	static const char cr[] = "<13>Oct 11 22:14:15 h t: a\rb\r";
	struct syslog_msg m;

	(void)state;
	syslog_parse(nul, sizeof nul - 1, RECV, &m);
	assert_int_equal(m.status, SYSLOG_PARSE_OK);
	assert_int_equal(m.msg.n, 3);
	assert_memory_equal(m.msg.p, "a\0b", 3);
	syslog_parse(cr, sizeof cr - 1, RECV, &m);
	SLICE_EQ(m.msg, "a\rb");
}

/* Every prefix of every sample, in a buffer of exactly that size, so that
 * ASan catches a read past the end wherever the message is cut. */
static void test_all_prefixes(void **state)
{
	(void)state;
	for (size_t i = 0; i < SYSLOG_SAMPLES_COUNT; i++) {
		size_t len = strlen(syslog_samples[i].line);
		for (size_t n = 0; n <= len; n++) {
			char *p = malloc(n ? n : 1);
			struct syslog_msg m;

			assert_non_null(p);
			memcpy(p, syslog_samples[i].line, n);
			syslog_parse(p, n, RECV, &m);
			assert_true(m.msg.p == NULL || (m.msg.p >= p && m.msg.p + m.msg.n <= p + n) ||
				    m.msg.n == 0);
			free(p);
		}
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(syslog_facility_name(0), "kern");
	assert_string_equal(syslog_facility_name(4), "auth");
	assert_string_equal(syslog_facility_name(23), "local7");
	assert_string_equal(syslog_facility_name(24), "unknown");
	assert_string_equal(syslog_facility_name(-1), "unknown");
	assert_string_equal(syslog_severity_name(0), "emerg");
	assert_string_equal(syslog_severity_name(7), "debug");
	assert_string_equal(syslog_severity_name(8), "unknown");
	assert_string_equal(syslog_format_name(SYSLOG_FMT_RFC5424), "rfc5424");
	assert_string_equal(syslog_format_name(SYSLOG_FMT_UNKNOWN), "unknown");
	assert_string_equal(syslog_parse_status_name(SYSLOG_PARSE_PARTIAL), "partial");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_5424_example1),
		cmocka_unit_test(test_5424_example2),
		cmocka_unit_test(test_5424_example3),
		cmocka_unit_test(test_5424_example4),
		cmocka_unit_test(test_5424_all_nil),
		cmocka_unit_test(test_sd_escapes),
		cmocka_unit_test(test_sd_iter_nil_and_bad),
		cmocka_unit_test(test_5424_long_fraction),
		cmocka_unit_test(test_3164_example1),
		cmocka_unit_test(test_3164_example2),
		cmocka_unit_test(test_3164_example3),
		cmocka_unit_test(test_3164_example4),
		cmocka_unit_test(test_3164_year_inference),
		cmocka_unit_test(test_3164_no_pri),
		cmocka_unit_test(test_3164_no_hostname),
		cmocka_unit_test(test_3164_timestamp_variants),
		cmocka_unit_test(test_3164_cisco),
		cmocka_unit_test(test_3164_tags),
		cmocka_unit_test(test_vendor_samples),
		cmocka_unit_test(test_vendor_details),
		cmocka_unit_test(test_bad_pri),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_no_header),
		cmocka_unit_test(test_5424_bad_timestamp),
		cmocka_unit_test(test_5424_bad_sd),
		cmocka_unit_test(test_5424_sd_bounds),
		cmocka_unit_test(test_5424_bad_fields),
		cmocka_unit_test(test_3164_bad_timestamp),
		cmocka_unit_test(test_nul_and_cr),
		cmocka_unit_test(test_all_prefixes),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
