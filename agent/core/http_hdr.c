/* http_hdr: see http_hdr.h. */
#include <string.h>

#include "http_hdr.h"

void http_hdr_reset(struct http_hdr *h)
{
	h->field_len = h->value_len = 0;
	h->in_value = 0;
}

/* Keeps what fits; the length goes on counting, so the header is known
 * to be longer than kept. */
static void piece(char *dst, size_t cap, size_t *len, const char *at, size_t n)
{
	if (*len < cap) {
		size_t take = n < cap - *len ? n : cap - *len;

		memcpy(dst + *len, at, take);
	}
	*len = *len + n < *len ? (size_t)-1 : *len + n;
}

void http_hdr_finish(struct http_hdr *h, http_hdr_fn fn, void *arg)
{
	bool field_ok = h->field_len < sizeof(h->field);
	bool value_ok = h->value_len < sizeof(h->value);

	if (!h->in_value)
		return;
	h->field[field_ok ? h->field_len : sizeof(h->field) - 1] = '\0';
	h->value[value_ok ? h->value_len : sizeof(h->value) - 1] = '\0';
	fn(arg, h, field_ok, value_ok);
	http_hdr_reset(h);
}

void http_hdr_on_field(struct http_hdr *h, const char *at, size_t len, http_hdr_fn fn,
		       void *arg)
{
	http_hdr_finish(h, fn, arg);
	piece(h->field, sizeof(h->field), &h->field_len, at, len);
}

void http_hdr_on_value(struct http_hdr *h, const char *at, size_t len)
{
	h->in_value = 1;
	piece(h->value, sizeof(h->value), &h->value_len, at, len);
}
