/* syslog_record: a received syslog message as one NDJSON record
 * (docs/schema/syslog.schema.json).
 */
#include "syslog_record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonw.h"
#include "syslog_prot.h"

/* One record being written. Its text is well-formed UTF-8 whenever the
 * charset step recognised or decoded it (utf8_ok), and the parser cuts
 * fields only next to ASCII bytes, so every slice is well-formed too and
 * the writer need not check the bytes a second time. */
struct enc {
	struct jsonw w;
	bool utf8_ok;
};

static void put_str(struct enc *e, const char *s, size_t n)
{
	if (e->utf8_ok)
		jsonw_string_utf8(&e->w, s, n);
	else
		jsonw_string(&e->w, s, n);
}

static void kv_slice(struct enc *e, const char *key, struct syslog_slice s)
{
	if (s.p == NULL)
		return;
	jsonw_key(&e->w, key);
	put_str(e, s.p, s.n);
}

/* A PARAM-VALUE without its escapes (RFC 5424 6.3.3: '\' before '"', '\'
 * or ']'), written in pieces between them so nothing is copied. */
static void write_param_value(struct enc *e, struct syslog_slice v)
{
	const char *p = v.p, *end = v.p + v.n, *seg = p, *bs;
	void (*append)(struct jsonw *, const char *, size_t) =
		e->utf8_ok ? jsonw_string_append_utf8 : jsonw_string_append;

	jsonw_string_open(&e->w);
	while ((bs = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (end - bs >= 2 && (bs[1] == '"' || bs[1] == '\\' || bs[1] == ']')) {
			append(&e->w, seg, (size_t)(bs - seg));
			seg = bs + 1;   /* the escaped byte starts the next piece */
			p = bs + 2;
		} else {
			p = bs + 1;
		}
	}
	append(&e->w, seg, (size_t)(end - seg));
	jsonw_string_close(&e->w);
}

static bool same_name(const struct syslog_sd_param *a, const struct syslog_sd_param *b)
{
	return a->name.n == b->name.n && memcmp(a->name.p, b->name.p, a->name.n) == 0;
}

/* One SD-ELEMENT's params, n <= SYSLOG_SD_MAX_PARAMS. A repeated name
 * becomes an array, in the order written; the O(n^2) search is over at
 * most 64 names, typically 1-5. */
static void write_params(struct enc *e, const struct syslog_sd_param *ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t j, count = 0;

		for (j = 0; j < i && !same_name(&ps[j], &ps[i]); j++)
			;
		if (j < i)
			continue;   /* written with its first occurrence */
		for (j = i; j < n; j++)
			count += same_name(&ps[j], &ps[i]);
		/* SD-NAMEs are PRINTUSASCII but may hold '\': escape them. */
		jsonw_key_str(&e->w, ps[i].name.p, ps[i].name.n);
		if (count == 1) {
			write_param_value(e, ps[i].value);
			continue;
		}
		jsonw_array_open(&e->w);
		for (j = i; j < n; j++)
			if (same_name(&ps[j], &ps[i]))
				write_param_value(e, ps[j].value);
		jsonw_array_close(&e->w);
	}
}

static void write_sd(struct enc *e, struct syslog_slice sd)
{
	struct syslog_sd_param ps[SYSLOG_SD_MAX_PARAMS];
	struct syslog_sd_iter it;
	struct syslog_slice id;

	syslog_sd_iter_init(&it, sd);
	jsonw_key(&e->w, "sd");
	jsonw_object_open(&e->w);
	/* sd_valid promised the grammar and the bounds, so the iteration
	 * cannot fail; the bound on n is only a guard. */
	while (syslog_sd_next_element(&it, &id) > 0) {
		size_t n = 0;

		while (n < SYSLOG_SD_MAX_PARAMS && syslog_sd_next_param(&it, &ps[n]) > 0)
			n++;
		jsonw_key_str(&e->w, id.p, id.n);
		jsonw_object_open(&e->w);
		write_params(e, ps, n);
		jsonw_object_close(&e->w);
	}
	jsonw_object_close(&e->w);
}

static void write_header(struct enc *e, const struct syslog_msg *m)
{
	struct jsonw *w = &e->w;

	jsonw_kv_ascii(w, "format", syslog_format_name(m->format));
	jsonw_kv_ascii(w, "parse", syslog_parse_status_name(m->status));
	if (m->error != NULL)
		jsonw_kv_ascii(w, "parse_error", m->error);
	jsonw_kv_ascii(w, "facility", syslog_facility_name(m->facility));
	jsonw_kv_ascii(w, "severity", syslog_severity_name(m->severity));
	jsonw_kv_int(w, "pri", m->pri);
	if (!m->pri_present)
		jsonw_kv_bool(w, "pri_present", false);
	if (m->format == SYSLOG_FMT_RFC5424)
		jsonw_kv_int(w, "version", m->version);
	if (m->ts_valid) {
		jsonw_kv_time_us(w, "timestamp", m->ts_us);
		if (!m->ts_has_zone)
			jsonw_kv_bool(w, "ts_zone", false);
	}
	kv_slice(e, "timestamp_raw", m->timestamp);
	kv_slice(e, "hostname", m->hostname);
	kv_slice(e, "app_name", m->app_name);
	kv_slice(e, "procid", m->procid);
	kv_slice(e, "msgid", m->msgid);
	kv_slice(e, "cisco_seq", m->cisco_seq);
	if (m->sd.p != NULL) {
		if (m->sd_valid)
			write_sd(e, m->sd);
		kv_slice(e, "sd_raw", m->sd);
	}
}

/* A MSG that is a JSON object, as Chinese EDR consoles forward their
 * events, is also written parsed, under "json" (msg and raw keep the text).
 * Only a MSG that starts with '{' and ends with '}' (white space aside)
 * is tried, so other messages cost one byte test. jansson guarantees
 * well-formed output; the text goes into the record as is, after the key,
 * which is the value jsonw would have written. */
static void write_json_msg(struct enc *e, struct syslog_slice msg)
{
	const char *p = msg.p;
	size_t n = msg.n;
	json_error_t err;
	json_t *v;
	char *text;

	while (n > 0 && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	if (!e->utf8_ok || n < 2 || p[0] != '{' || p[n - 1] != '}')
		return;
	v = json_loadb(p, n, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(v)) {
		json_decref(v);
		return;
	}
	text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	if (text == NULL)
		return;
	jsonw_key(&e->w, "json");
	if (!e->w.err && buf_append_str(e->w.out, text) < 0)
		e->w.err = -ENOMEM;
	e->w.need_comma[e->w.depth] = true;
	free(text);
}

int syslog_record_encode(const struct syslog_record_in *in, struct charset_conv *conv,
			 struct buf *scratch, struct buf *out, struct syslog_record_out *res)
{
	const char *text = in->raw;
	size_t len = in->raw_len, start = out->len;
	enum charset_result cs;
	struct syslog_msg m;
	struct enc e;
	int rc;

	/* Framing bytes are not content; see syslog_parse. */
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == '\0'))
		len--;
	/* Decode before parsing: a GBK trail byte can equal '[', ']' or '\'
	 * and would otherwise mislead the parser. */
	buf_reset(scratch);
	cs = charset_to_utf8(conv, text, len, scratch);
	if (cs == CHARSET_GB18030) {
		text = (const char *)scratch->data;
		len = scratch->len;
	}
	syslog_parse(text, len, in->recv_us, &m);

	jsonw_init(&e.w, out);
	e.utf8_ok = cs != CHARSET_UNDECODABLE;
	jsonw_object_open(&e.w);
	jsonw_kv_ascii(&e.w, "type", "syslog");
	jsonw_kv_time_us(&e.w, "ts", in->recv_us);
	if (in->peer != NULL)
		jsonw_kv_cstr(&e.w, "peer", in->peer);
	if (in->transport != NULL)
		jsonw_kv_cstr(&e.w, "transport", in->transport);
	if (in->tls_peer_cn != NULL)
		jsonw_kv_cstr(&e.w, "tls_peer", in->tls_peer_cn);
	write_header(&e, &m);
	jsonw_key(&e.w, "msg");
	put_str(&e, m.msg.p != NULL ? m.msg.p : "", m.msg.n);
	if (m.msg_bom)
		jsonw_kv_bool(&e.w, "msg_bom", true);
	if (m.msg.p != NULL)
		write_json_msg(&e, m.msg);
	jsonw_kv_ascii(&e.w, "charset", charset_result_name(cs));
	if (in->truncated)
		jsonw_kv_bool(&e.w, "truncated", true);
	if (cs == CHARSET_UNDECODABLE) {
		jsonw_key(&e.w, "raw_b64");
		jsonw_base64(&e.w, (const uint8_t *)in->raw, len);
	} else {
		jsonw_key(&e.w, "raw");
		put_str(&e, text, len);
	}
	jsonw_object_close(&e.w);

	rc = jsonw_finish(&e.w);
	if (rc < 0) {
		out->len = start;
		return rc;
	}
	if (res != NULL) {
		res->charset = cs;
		res->parse_status = m.status;
	}
	return 0;
}
