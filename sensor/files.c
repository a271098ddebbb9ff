/* files: placeholder until the files analyzer lands (issue 5). */
#include "files.h"

struct an_file *an_file_open(struct an_session *s, const char *source, bool is_orig,
			     uint32_t depth, const char *filename, const char *mime_hint,
			     uint64_t total_bytes, uint64_t ts_us)
{
	return NULL;
}

const char *an_file_fuid(const struct an_file *f)
{
	return "";
}

const char *an_file_mime(const struct an_file *f)
{
	return NULL;
}

void an_file_data(struct an_file *f, const uint8_t *d, size_t len)
{
}

void an_file_gap(struct an_file *f, uint64_t len)
{
}

void an_file_close(struct an_file *f, bool timedout, uint64_t ts_us)
{
}
