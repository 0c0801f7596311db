/* Logging: one escaped line per event, to journald under systemd or to stderr.
 *
 * Process-wide settings (minimum level, resolved target, identifier) are set by log_init; the
 * level and target are atomics read on every call, the identifier is guarded by the same
 * mutex that serialises output. The request id is thread-local, stored already escaped. A
 * call formats its message into a bounded buffer (LOG_LINE_MAX, "..." when cut), escapes
 * control bytes, then emits the whole line with one write(2) under the mutex, so lines from
 * concurrent threads never interleave, even past PIPE_BUF. errno is preserved, so callers may
 * log between a failing call and their use of errno. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Without this, sd_journal_send adds log.c as the call site next to the caller's. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "lib/limits.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#define LOG_IDENT_MAX 64 /* SYSLOG_IDENTIFIER; program names are short */
#define ESC_WIDEST 4     /* "\xNN": the longest escape of one byte */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static const struct {
	const char *name;
	int syslog_prio;
} levels[] = {
	[LOG_LEVEL_DEBUG] = {"debug", LOG_DEBUG},    [LOG_LEVEL_INFO] = {"info", LOG_INFO},
	[LOG_LEVEL_NOTICE] = {"notice", LOG_NOTICE}, [LOG_LEVEL_WARNING] = {"warning", LOG_WARNING},
	[LOG_LEVEL_ERROR] = {"error", LOG_ERR},
};

static const char *const target_names[] = {
	[LOG_TARGET_AUTO] = "auto",
	[LOG_TARGET_STDERR] = "stderr",
	[LOG_TARGET_JOURNALD] = "journald",
};

static atomic_int min_level = LOG_LEVEL_INFO;
static atomic_int out_target = LOG_TARGET_STDERR; /* never AUTO: resolved by log_init */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char ident[LOG_IDENT_MAX] = "second";
static _Thread_local char request_id[LOG_REQUEST_ID_MAX];

#define NLEVELS (sizeof(levels) / sizeof(levels[0]))

/* The systemd-documented check: JOURNAL_STREAM holds "DEV:INO" of the stream systemd gave us;
 * if stderr is still that stream, journald is listening on it. */
static bool stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	char *end = NULL;
	struct stat st;

	if (v == NULL || *v < '0' || *v > '9')
		return false;
	errno = 0;
	dev = strtoull(v, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		return false;
	ino = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *id, enum log_level min, enum log_target target)
{
	bool no_journal = false;

	if (target == LOG_TARGET_AUTO)
		target = stderr_is_journal() ? LOG_TARGET_JOURNALD : LOG_TARGET_STDERR;
	/* sd_journal_send reports success when the socket is missing, dropping every event. */
	if (target == LOG_TARGET_JOURNALD && access(JOURNAL_SOCKET, F_OK) != 0) {
		target = LOG_TARGET_STDERR;
		no_journal = true;
	}
	pthread_mutex_lock(&out_lock);
	snprintf(ident, sizeof(ident), "%s", id != NULL ? id : "second");
	pthread_mutex_unlock(&out_lock);
	atomic_store(&min_level, (int)min);
	atomic_store(&out_target, (int)target);
	if (no_journal)
		log_warning("journald requested but %s is missing: logging to stderr",
			    JOURNAL_SOCKET);
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; s != NULL && i < NLEVELS; i++) {
		if (strcmp(s, levels[i].name) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_target_parse(const char *s, enum log_target *out)
{
	for (size_t i = 0; s != NULL && i < sizeof(target_names) / sizeof(target_names[0]); i++) {
		if (strcmp(s, target_names[i]) == 0) {
			*out = (enum log_target)i;
			return 0;
		}
	}
	return -1;
}

const char *log_level_name(enum log_level l)
{
	return (unsigned)l < NLEVELS ? levels[l].name : "unknown";
}

/* Writes the escaped form of byte c into esc; returns its length. */
static size_t escape_byte(unsigned char c, char esc[ESC_WIDEST])
{
	static const char hexdigits[] = "0123456789abcdef";

	if (c == '\r' || c == '\n' || c == '\t') {
		esc[0] = '\\';
		esc[1] = c == '\r' ? 'r' : c == '\n' ? 'n' : 't';
		return 2;
	}
	if (c < 0x20 || c == 0x7f) {
		memcpy(esc, "\\x", 2);
		esc[2] = hexdigits[c >> 4];
		esc[3] = hexdigits[c & 0xf];
		return 4;
	}
	esc[0] = (char)c;
	return 1;
}

size_t log_escape(char *dst, size_t dstsz, const char *src)
{
	size_t o = 0;

	if (dstsz == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)(src ? src : ""); *p; p++) {
		char esc[ESC_WIDEST];
		size_t n = escape_byte(*p, esc);

		/* Stop before an escape that does not fit whole: a cut "\x0" would mislead. */
		if (o + n >= dstsz)
			break;
		memcpy(dst + o, esc, n);
		o += n;
	}
	dst[o] = '\0';
	return o;
}

void log_set_request_id(const char *id)
{
	if (id == NULL) {
		request_id[0] = '\0';
		return;
	}
	log_escape(request_id, sizeof(request_id), id);
}

const char *log_request_id(void)
{
	return request_id[0] != '\0' ? request_id : NULL;
}

/* __FILE__ relative to the source tree: from the last top-level directory of ours it names. */
static const char *site_path(const char *file)
{
	static const char *const roots[] = {"lib/", "fcgi/", "workerd/", "tests/", "contrib/"};
	const char *best = NULL;

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		for (const char *p = file; (p = strstr(p, roots[i])) != NULL; p++)
			if ((p == file || p[-1] == '/') && (best == NULL || p > best))
				best = p;
	if (best != NULL)
		return best;
	while (strncmp(file, "../", 3) == 0)
		file += 3;
	return file;
}

/* Formats into msg[LOG_LINE_MAX]; a cut message ends in "..." and never in half a UTF-8
 * character. */
static void format_message(char *msg, const char *fmt, va_list ap)
{
	int n = vsnprintf(msg, LOG_LINE_MAX, fmt, ap);
	size_t cut = LOG_LINE_MAX - 4;

	if (n < 0) {
		snprintf(msg, LOG_LINE_MAX, "(unformattable log message: %s)", fmt);
		return;
	}
	if ((size_t)n < LOG_LINE_MAX)
		return;
	for (int back = 0; back < 3 && ((unsigned char)msg[cut] & 0xc0) == 0x80; back++)
		cut--;
	memcpy(msg + cut, "...", 4);
}

static void write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		/* A failed log write has nowhere left to be reported. */
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void emit_stderr(enum log_level l, const char *file, int line, const char *func,
			const char *esc)
{
	char buf[LOG_PREFIX_MAX + LOG_LINE_MAX * ESC_WIDEST + 1];
	char ts[TIME_ISO_LEN + 1];
	const char *req = log_request_id();
	size_t len, msglen = strlen(esc);
	int n;

	time_now_iso8601(ts);
	n = snprintf(buf, LOG_PREFIX_MAX, "%s %s %s:%d %s %s%s%s", ts, log_level_name(l), file,
		     line, func, req ? "[req=" : "", req ? req : "", req ? "] " : "");
	len = n < 0 ? 0 : (size_t)n >= LOG_PREFIX_MAX ? LOG_PREFIX_MAX - 1 : (size_t)n;
	memcpy(buf + len, esc, msglen);
	len += msglen;
	buf[len++] = '\n';
	pthread_mutex_lock(&out_lock);
	write_all(buf, len);
	pthread_mutex_unlock(&out_lock);
}

/* Falls back to stderr when journald refuses the event, rather than dropping it. */
static void emit_journal(enum log_level l, const char *file, int line, const char *func,
			 const char *esc)
{
	const char *req = log_request_id();
	int r;

	pthread_mutex_lock(&out_lock);
	/* A NULL format ends the field list, so REQUEST_ID is left out when there is none. */
	r = sd_journal_send("MESSAGE=%s", esc, "PRIORITY=%d", levels[l].syslog_prio, "CODE_FILE=%s",
			    file, "CODE_LINE=%d", line, "CODE_FUNC=%s", func,
			    "SYSLOG_IDENTIFIER=%s", ident, req ? "REQUEST_ID=%s" : NULL, req, NULL);
	pthread_mutex_unlock(&out_lock);
	if (r < 0)
		emit_stderr(l, file, line, func, esc);
}

void log_at(enum log_level l, const char *file, int line, const char *func, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], esc[LOG_LINE_MAX * ESC_WIDEST];
	int saved = errno;
	va_list ap;

	/* An out-of-range level is a caller's bug; its event is still worth seeing. */
	if ((unsigned)l >= NLEVELS)
		l = LOG_LEVEL_ERROR;
	if ((int)l < atomic_load(&min_level))
		return;
	va_start(ap, fmt);
	format_message(msg, fmt, ap);
	va_end(ap);
	log_escape(esc, sizeof(esc), msg);
	file = site_path(file ? file : "?");
	func = func ? func : "?";
	if (atomic_load(&out_target) == LOG_TARGET_JOURNALD)
		emit_journal(l, file, line, func, esc);
	else
		emit_stderr(l, file, line, func, esc);
	errno = saved;
}
