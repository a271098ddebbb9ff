/* analyzers: the analyzers compiled in, in probe order (analyzer.h).
 *
 * The order matters only when two probes could both say yes: the ones
 * with the strictest signatures come first (TLS's record header, then
 * DNS's header checks, then the line protocols by their first words).
 */
#include "analyzer.h"

const struct analyzer *const an_all[] = {
	&an_ssl, &an_dns, &an_http, &an_smtp, &an_pop3, &an_ftp, &an_telnet, NULL,
};
