/* libFuzzer target: the SMTP analyzer (an_smtp.c, mime.c, mail_util.c), one
 * session from a script of chunks per direction and gaps: see
 * fuzz_an_mail.h for the input format and the checks. */
#include "fuzz_an_mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_an_stream(&an_smtp, data, size);
}
