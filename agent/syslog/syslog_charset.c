/* syslog_charset: UTF-8 check and GB18030 decoding with iconv(3).
 *
 * Chinese network devices (Huawei USG's default, H3C, Sangfor) send GBK.
 * GB18030 is a superset of GBK and glibc's iconv decodes it, so one
 * converter covers both. The check for UTF-8 comes first because it is
 * the common case and costs one pass with no copy.
 */
#include "syslog_charset.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>

#include "jsonw.h"

struct charset_conv {
	iconv_t cd;
};

struct charset_conv *charset_conv_create(void)
{
	struct charset_conv *c = malloc(sizeof *c);

	if (c == NULL)
		return NULL;
	c->cd = iconv_open("UTF-8", "GB18030");
	if (c->cd == (iconv_t)-1) {
		free(c);
		return NULL;
	}
	return c;
}

void charset_conv_destroy(struct charset_conv *c)
{
	if (c == NULL)
		return;
	iconv_close(c->cd);
	free(c);
}

bool utf8_valid(const char *s, size_t len)
{
	return jsonw_utf8_valid_len(s, len) == len;
}

/* Decodes into out; false (out restored) when the bytes are not GB18030
 * or memory runs out. */
static bool decode_gb18030(struct charset_conv *c, const char *s, size_t len, struct buf *out)
{
	size_t start = out->len;
	/* iconv's prototype takes char **, but it does not write the input. */
	char *in = (char *)s;
	size_t inleft = len;
	/* A GB18030 character of 1, 2 or 4 bytes becomes 1, 2-3 or 3-4
	 * bytes of UTF-8, so 1.5 * len + 4 is enough in one pass; the loop
	 * below still copes with E2BIG. */
	size_t want = len + len / 2 + 4;

	iconv(c->cd, NULL, NULL, NULL, NULL);   /* reset shift state */
	for (;;) {
		if (buf_reserve(out, want) < 0)
			goto fail;
		char *o = (char *)out->data + out->len;
		size_t oleft = out->cap - out->len;
		size_t rc = iconv(c->cd, &in, &inleft, &o, &oleft);

		out->len = (size_t)((uint8_t *)o - out->data);
		if (rc != (size_t)-1)
			break;
		if (errno != E2BIG)
			goto fail;   /* EILSEQ, or EINVAL for a cut-off sequence */
		want = inleft * 2 + 16;
	}
	return true;
fail:
	out->len = start;
	return false;
}

enum charset_result charset_to_utf8(struct charset_conv *c, const char *s, size_t len,
				    struct buf *out)
{
	if (utf8_valid(s, len))
		return CHARSET_UTF8;
	if (c == NULL || !decode_gb18030(c, s, len, out))
		return CHARSET_UNDECODABLE;
	return CHARSET_GB18030;
}

const char *charset_result_name(enum charset_result r)
{
	switch (r) {
	case CHARSET_UTF8: return "utf-8";
	case CHARSET_GB18030: return "gb18030";
	default: return "unknown";
	}
}
