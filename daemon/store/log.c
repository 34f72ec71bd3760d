/* log.c - see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void mpsd_log(const char *fmt, ...)
{
	char      line[1024];
	char      ts[32];
	time_t    now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one write per line: lines of several threads never interleave */
	fprintf(stderr, "%s mpstored: %s\n", ts, line);
}
