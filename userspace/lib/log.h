/* SPDX-License-Identifier: MIT */
/*
 * Logging for tock's daemons: syslog by default, stderr with -d. Never call these per packet
 * on the data path; count instead. LOG_RATELIMITED is for lines a remote peer can trigger.
 */
#ifndef TOCK_LOG_H
#define TOCK_LOG_H

#include <syslog.h>
#include <time.h>

/* Sets the program name, the destination (stderr when to_stderr) and the lowest level shown. */
void log_init(const char *ident, int to_stderr, int min_level);

/* Logs one line at a syslog level (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG). */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

/* At most one line per `interval` seconds from this call site. */
#define LOG_RATELIMITED(interval, level, ...)                                                      \
	do {                                                                                       \
		static time_t log_last_;                                                           \
		time_t log_now_ = time(NULL);                                                      \
		if (log_now_ - log_last_ >= (interval)) {                                          \
			log_last_ = log_now_;                                                      \
			log_msg(level, __VA_ARGS__);                                               \
		}                                                                                  \
	} while (0)

#endif
