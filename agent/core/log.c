#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static const char *log_prog = "ward";
static enum log_level log_min = LOG_LVL_INFO;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void log_setup(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_min = level;
}

void log_set_level(enum log_level level)
{
	log_min = level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level > log_min)
		return;
	n = snprintf(line, sizeof(line), "%s[%ld]: %s: ", log_prog, (long)getpid(),
		     level_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One fprintf per line so lines from the agent and its children do
	 * not interleave mid-line on the shared stderr. */
	fprintf(stderr, "%s\n", line);
}
