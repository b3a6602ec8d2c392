// SPDX-License-Identifier: MIT
/* Logging to syslog or stderr, see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *log_ident = "tock";
static int log_to_stderr = 1;
static int log_min_level = LOG_INFO;

void log_init(const char *ident, int to_stderr, int min_level)
{
	log_ident = ident;
	log_to_stderr = to_stderr;
	log_min_level = min_level;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static const char *level_name(int level)
{
	static const char *const names[] = {"emerg",   "alert",  "crit", "error",
	                                    "warning", "notice", "info", "debug"};
	return level >= 0 && level <= LOG_DEBUG ? names[level] : "?";
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_min_level)
		return;
	va_start(ap, fmt);
	if (log_to_stderr) {
		char stamp[32];
		struct timespec now;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s %s[%s]: ", stamp, log_ident, level_name(level));
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(level, fmt, ap);
	}
	va_end(ap);
}
