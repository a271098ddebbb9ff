/* an_ftp: placeholder until its analyzer lands (issue 5): probes say no. */
#include "analyzer.h"

static enum an_probe_result probe(const struct an_probe_view *v)
{
	(void)v;
	return AN_PROBE_NO;
}

const struct analyzer an_ftp = {
	.name = "ftp",
	.transports = AN_T_TCP,
	.probe = probe,
};
