/*
 * log.h — line-oriented logging to stderr: "2026-11-29T10:00:00Z level msg".
 * The level threshold lives in the caller's struct (no global state): pass a
 * struct pl_log.  Never log secrets (tokens, passwords, message text).
 */
#ifndef PL_UTIL_LOG_H
#define PL_UTIL_LOG_H

enum pl_log_level { PL_LOG_DEBUG = 0, PL_LOG_INFO = 1, PL_LOG_WARN = 2, PL_LOG_ERROR = 3 };

struct pl_log {
	int level; /* messages below it are dropped */
};

void pl_log(const struct pl_log *log, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parses "debug|info|warn|error"; returns the level or -1. */
int pl_log_level_parse(const char *s);

#endif
