/* libFuzzer target: the HEC request side and body parser.
 *
 * Input: byte 0 picks the route and gzip flag, byte 1 seeds the split
 * sizes, the rest is fed twice: as an HTTP/1.1 byte stream through
 * edr_hec_http (in random pieces, answering each request so pipelined
 * ones go on), and as a request body through edr_hec_parse_body, whose
 * events are then turned into records. Checks: the parser never consumes
 * more than it was given, a complete request's body stays within
 * max_wire, a successful parse yields at least one event of the expected
 * JSON type, each event's text span parses to the same value, record
 * building (from the value and from the text) never fails on what the
 * parser took, and the relay's own path takes what this parser takes
 * (relay_path). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edr/edr_hec.h"
#include "edr/edr_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WIRE 65536

static void http_stream(const uint8_t *p, size_t n, uint32_t rng)
{
	struct edr_hec_http h;
	struct buf out = BUF_INIT;
	size_t off = 0;

	edr_hec_http_init(&h, MAX_WIRE);
	while (off < n && h.state != EDR_HEC_FAILED) {
		size_t take, used;
		const char *q;

		rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5;
		take = 1 + rng % 64;
		if (take > n - off)
			take = n - off;
		used = edr_hec_http_feed(&h, p + off, take);
		if (used > take)
			abort();
		off += used;
		if (h.state == EDR_HEC_REQUEST) {
			enum edr_hec_code code;

			if (h.body.len > MAX_WIRE)
				abort();
			(void)edr_hec_route(&h, &q);
			(void)edr_hec_token(h.auth, &code);
			buf_reset(&out);
			(void)edr_hec_format_answer(&out, EDR_HEC_SUCCESS, -1, 0, h.keep_alive);
			edr_hec_http_next(&h);
		} else if (used < take && h.state == EDR_HEC_READING) {
			abort();
		}
	}
	edr_hec_http_free(&h);
	buf_free(&out);
}

/* The relay's path (edr_hec_encode_body): every body jansson's parse
 * takes, it takes too, with as many records (it is more lenient with
 * names repeated inside an event, NUL escapes and large integers, which
 * it keeps as sent); each record is one line of JSON that parses again. */
static void relay_path(enum edr_hec_route route, const uint8_t *body, size_t len, int gzip,
		       const struct edr_hec_limits *lim, size_t want)
{
	static struct edr_parser *p, *check;
	struct edr_meta m = { .recv_us = 1, .peer = "192.0.2.1:1", .auth = EDR_AUTH_TOKEN,
			      .group = "g", .host = "h" };
	struct edr_hec_records r;
	struct edr_hec_result res;
	struct buf again = BUF_INIT;
	size_t i, start = 0;
	int rc;

	if (p == NULL && (edr_parser_create(&p) < 0 || edr_parser_create(&check) < 0))
		abort();
	m.input = route == EDR_HEC_ROUTE_RAW ? EDR_INPUT_HEC_RAW : EDR_INPUT_HEC;
	edr_hec_records_init(&r);
	rc = edr_hec_encode_body(p, &m, route, body, len, gzip, lim, &r, &res);
	if ((want > 0 && (rc != 0 || r.n != want)) || (rc == 0) != (res.code == EDR_HEC_SUCCESS))
		abort();
	for (i = 0; rc == 0 && i < r.n; i++) {
		const char *rec = (const char *)r.recs.data + start;
		size_t n = r.end[i] - start;

		buf_reset(&again);
		if (memchr(rec, '\n', n) != NULL ||
		    edr_record_encode_json(check, &m, rec, n, 0, NULL, &again) != 0)
			abort();
		start = r.end[i];
	}
	buf_free(&again);
	edr_hec_records_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct edr_hec_limits lim = { .max_body = 1 << 20, .max_event = 4096 };
	struct edr_meta m = { .recv_us = 1, .peer = "192.0.2.1:1", .auth = EDR_AUTH_TOKEN,
			      .group = "g" };
	struct edr_hec_result res;
	enum edr_hec_route route;
	struct edr_hec_text text = { 0 };
	json_t *events = NULL, *ev;
	char qv[64];
	size_t i;
	int gzip, rc;

	if (size < 2)
		return 0;
	route = data[0] & 1 ? EDR_HEC_ROUTE_RAW : EDR_HEC_ROUTE_EVENT;
	gzip = (data[0] >> 1) & 1;
	http_stream(data + 2, size - 2, data[1] | 1u);
	(void)edr_hec_query_param((const char *)"host=a%20b&x=1", "host", qv, sizeof(qv));
	rc = edr_hec_parse_body_text(route, data + 2, size - 2, gzip, &lim, &events, &res, &text);
	relay_path(route, data + 2, size - 2, gzip, &lim, rc == 0 ? json_array_size(events) : 0);
	if (rc == 0) {
		if (events == NULL || json_array_size(events) == 0 || res.code != EDR_HEC_SUCCESS)
			abort();
		m.input = route == EDR_HEC_ROUTE_RAW ? EDR_INPUT_HEC_RAW : EDR_INPUT_HEC;
		json_array_foreach(events, i, ev) {
			char *rec;
			size_t len;

			if (route == EDR_HEC_ROUTE_RAW ? !json_is_string(ev) : !json_is_object(ev))
				abort();
			if (edr_record_encode(&m, ev, &rec, &len) != 0)
				abort();
			free(rec);
			/* Each span is the text of its event, and the record made
			 * from it is one line. */
			if (text.n == json_array_size(events)) {
				json_error_t e;
				json_t *again = json_loadb((const char *)text.base + text.off[i],
							   text.len[i], 0, &e);

				if (again == NULL || !json_equal(again, ev))
					abort();
				json_decref(again);
				if (edr_record_encode_text(&m, ev, (const char *)text.base + text.off[i],
							   text.len[i], &rec, &len) != 0 ||
				    memchr(rec, '\n', len) != NULL)
					abort();
				free(rec);
			} else if (route == EDR_HEC_ROUTE_EVENT) {
				abort();
			}
		}
		json_decref(events);
	} else if (events != NULL || res.code == EDR_HEC_SUCCESS) {
		abort();
	}
	edr_hec_text_free(&text);
	return 0;
}
