/* Logging: one line per event, UTC time, level, call site, request id.
 *
 * Under systemd (JOURNAL_STREAM matches our stderr) lines go to journald with structured
 * fields (PRIORITY, CODE_FILE, CODE_LINE, CODE_FUNC, REQUEST_ID); otherwise to stderr as
 *   2026-11-23T04:17:00.123Z info lib/store.c:42 store_open [req=abc] message
 * The formatted message has CR, LF, TAB and other control bytes escaped (\r \n \t \xNN), so
 * request data can never forge a line. Never pass secrets, cookies, prompts or bodies. */
#ifndef SECOND_LOG_H
#define SECOND_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_ERROR,
};

enum log_target {
	LOG_TARGET_AUTO, /* journald when under systemd, else stderr */
	LOG_TARGET_STDERR,
	LOG_TARGET_JOURNALD,
};

/* `ident` names the program (SYSLOG_IDENTIFIER). Safe to call again to change settings. */
void log_init(const char *ident, enum log_level min, enum log_target target);
int log_level_parse(const char *s, enum log_level *out);
int log_target_parse(const char *s, enum log_target *out);
const char *log_level_name(enum log_level l);

void log_at(enum log_level l, const char *file, int line, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The calling thread's request id (copied, at most LOG_REQUEST_ID_MAX - 1 bytes, escaped);
 * NULL clears it. */
void log_set_request_id(const char *id);
const char *log_request_id(void);

/* Escapes control bytes of src into dst (always NUL-terminated); returns strlen(dst). */
size_t log_escape(char *dst, size_t dstsz, const char *src);

#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_info(...) log_at(LOG_LEVEL_INFO, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_notice(...) log_at(LOG_LEVEL_NOTICE, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_warning(...) log_at(LOG_LEVEL_WARNING, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_error(...) log_at(LOG_LEVEL_ERROR, __FILE__, __LINE__, __func__, __VA_ARGS__)

#endif
