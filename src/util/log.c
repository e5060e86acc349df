/* log.c — timestamped log lines on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

static const char *level_name(int level)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	return level >= 0 && level <= 3 ? names[level] : "?";
}

void pl_log(const struct pl_log *log, int level, const char *fmt, ...)
{
	char stamp[32], line[1024];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;

	if (log && level < log->level)
		return;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s %s %s\n", stamp, level_name(level), line);
}

int pl_log_level_parse(const char *s)
{
	for (int i = 0; i <= 3; i++)
		if (strcmp(s, level_name(i)) == 0)
			return i;
	return -1;
}
