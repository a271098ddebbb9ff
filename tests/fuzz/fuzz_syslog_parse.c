/* libFuzzer target: syslog_parse and syslog_record_encode on arbitrary
 * bytes. Beyond ASan/UBSan's checks it asserts that every slice the parser
 * returns lies inside the input, that a valid SD iterates without error,
 * and that every record is valid JSON (read back with jansson). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "syslog/syslog_prot.h"
#include "syslog/syslog_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2026-11-21T13:40:00Z */
#define RECV 1795268400000000LL

static void check_slice(struct syslog_slice s, const char *buf, size_t len)
{
	if (s.p == NULL || s.n == 0)
		return;
	if (s.p < buf || s.n > len || s.p - buf > (ptrdiff_t)(len - s.n))
		abort();
}

static void check_msg(const struct syslog_msg *m, const char *buf, size_t len)
{
	check_slice(m->timestamp, buf, len);
	check_slice(m->hostname, buf, len);
	check_slice(m->app_name, buf, len);
	check_slice(m->procid, buf, len);
	check_slice(m->msgid, buf, len);
	check_slice(m->sd, buf, len);
	check_slice(m->msg, buf, len);
	check_slice(m->cisco_seq, buf, len);
	if (m->pri < 0 || m->pri > 191 || (m->status != SYSLOG_PARSE_OK) != (m->error != NULL))
		abort();
	if (m->sd_valid) {
		struct syslog_sd_iter it;
		struct syslog_sd_param prm;
		struct syslog_slice id;
		int rc;

		syslog_sd_iter_init(&it, m->sd);
		while ((rc = syslog_sd_next_element(&it, &id)) > 0) {
			check_slice(id, buf, len);
			while ((rc = syslog_sd_next_param(&it, &prm)) > 0) {
				check_slice(prm.name, buf, len);
				check_slice(prm.value, buf, len);
			}
			if (rc < 0)
				abort();
		}
		if (rc < 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct charset_conv *conv;
	static struct buf scratch, out;
	static bool ready;
	const char *buf = (const char *)data;
	struct syslog_msg m;
	json_error_t err;
	json_t *j;

	if (!ready) {
		conv = charset_conv_create();
		buf_init(&scratch);
		buf_init(&out);
		ready = true;
	}
	syslog_parse(buf, size, RECV, &m);
	check_msg(&m, buf, size);
	/* Extreme receive times must not overflow the year inference. */
	syslog_parse(buf, size, (size & 1) ? INT64_MAX : INT64_MIN, &m);
	check_msg(&m, buf, size);

	struct syslog_record_in in = { buf, size, (size & 2) != 0, RECV, "192.0.2.7:51514",
				       "tcp", (size & 4) ? "client" : NULL };
	buf_reset(&out);
	if (syslog_record_encode(&in, (size & 8) ? NULL : conv, &scratch, &out, NULL) != 0)
		abort();
	j = json_loadb((const char *)out.data, out.len, JSON_ALLOW_NUL, &err);
	if (j == NULL || !json_is_object(j) || !json_is_string(json_object_get(j, "msg")))
		abort();
	json_decref(j);
	return 0;
}
