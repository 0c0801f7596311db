/* Unit tests of lib/log.c: escaping, the stderr line format, filtering, truncation, threads.
 *
 * The test includes log.c to reach its static helpers and settings. Output is captured by
 * pointing fd 2 at a temp file (or, for the thread test, a pipe drained by a reader thread)
 * and restoring it afterwards; Criterion runs each test in its own process, so settings
 * changed by one test never leak into another. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/log.c"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TIME_RE "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"
#define NTHREADS 8
#define LINES_PER_THREAD 300
#define PAD_PAIRS 1000

static char cap_path[512];
static int saved_stderr = -1;

static void capture_start(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(cap_path, sizeof(cap_path), "%s/second-test-log-XXXXXX",
		 dir && *dir ? dir : "/tmp");
	fd = mkstemp(cap_path);
	cr_assert_geq(fd, 0);
	saved_stderr = dup(STDERR_FILENO);
	cr_assert_geq(saved_stderr, 0);
	cr_assert_geq(dup2(fd, STDERR_FILENO), 0);
	close(fd);
}

/* Restores stderr and returns what was written, malloc'd. */
static char *capture_end(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
	f = fopen(cap_path, "r");
	cr_assert_not_null(f);
	buf = calloc(1, 1 << 20);
	cr_assert_not_null(buf);
	len = fread(buf, 1, (1 << 20) - 1, f);
	buf[len] = '\0';
	fclose(f);
	unlink(cap_path);
	return buf;
}

static bool matches(const char *pattern, const char *s)
{
	regex_t re;
	int rc;

	cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0, "%s", pattern);
	rc = regexec(&re, s, 0, NULL, 0);
	regfree(&re);
	return rc == 0;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int sample_line;

static void emit_sample(const char *text)
{
	sample_line = __LINE__ + 1;
	log_info("hello %s", text);
}

Test(log, escape_table)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"", ""},
		{"plain text", "plain text"},
		{"a\r\nb", "a\\r\\nb"},
		{"tab\there", "tab\\there"},
		{"\x01", "\\x01"},
		{"\x1b[31mred", "\\x1b[31mred"},
		{"\x1f", "\\x1f"},
		{"del\x7f", "del\\x7f"},
		{"back\\slash \\n", "back\\slash \\n"},
		{"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80",
		 "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"},
		{"high \x80\xfe\xff bytes", "high \x80\xfe\xff bytes"},
		{"forged\n2026-01-01T00:00:00.000Z error x",
		 "forged\\n2026-01-01T00:00:00.000Z error x"},
	};
	char out[256];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t n = log_escape(out, sizeof(out), cases[i].in);

		cr_expect_str_eq(out, cases[i].want, "case %zu", i);
		cr_expect_eq(n, strlen(out), "case %zu", i);
	}
}

Test(log, escape_bounds)
{
	static const struct {
		const char *in;
		size_t dstsz;
		const char *want;
	} cases[] = {
		{"abc", 1, ""},       {"abc", 3, "ab"},  {"abc", 4, "abc"},    {"\x01", 4, ""},
		{"\x01", 5, "\\x01"}, {"ab\n", 4, "ab"}, {"ab\n", 5, "ab\\n"}, {NULL, 8, ""},
	};
	char out[16];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t n = log_escape(out, cases[i].dstsz, cases[i].in);

		cr_expect_str_eq(out, cases[i].want, "case %zu", i);
		cr_expect_eq(n, strlen(cases[i].want), "case %zu", i);
	}
	out[0] = 'q';
	cr_expect_eq(log_escape(out, 0, "abc"), 0);
	cr_expect_eq(out[0], 'q');
}

Test(log, stderr_line_format)
{
	char pattern[512];
	char *out = NULL;
	int64_t ms = 0;

	/* Local time must not leak into the UTC stamp. */
	setenv("TZ", "America/New_York", 1);
	tzset();
	log_init("test", LOG_LEVEL_DEBUG, LOG_TARGET_STDERR);
	log_set_request_id("abc-123");
	capture_start();
	emit_sample("world");
	out = capture_end();
	snprintf(pattern, sizeof(pattern),
		 "^" TIME_RE " info tests/unit/test-log\\.c:%d emit_sample \\[req=abc-123\\] "
		 "hello world\n$",
		 sample_line);
	cr_expect(matches(pattern, out), "line: %s", out);
	out[TIME_ISO_LEN] = '\0';
	cr_assert_eq(time_parse_iso8601(out, &ms), 0, "%s", out);
	cr_expect(llabs(ms - time_now_ms()) < 5000, "stamp %s is not now in UTC", out);
	free(out);
}

Test(log, no_request_id_no_tag)
{
	char pattern[256];
	char *out = NULL;

	log_init("test", LOG_LEVEL_INFO, LOG_TARGET_STDERR);
	log_set_request_id("abc");
	log_set_request_id(NULL);
	cr_expect_null(log_request_id());
	capture_start();
	emit_sample("there");
	out = capture_end();
	snprintf(pattern, sizeof(pattern),
		 "^" TIME_RE " info tests/unit/test-log\\.c:%d emit_sample hello there\n$",
		 sample_line);
	cr_expect(matches(pattern, out), "line: %s", out);
	free(out);
}

Test(log, request_id_is_escaped_and_bounded)
{
	char longid[LOG_REQUEST_ID_MAX * 2];

	log_set_request_id("a\nb");
	cr_expect_str_eq(log_request_id(), "a\\nb");
	memset(longid, 'r', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	log_set_request_id(longid);
	cr_expect_eq(strlen(log_request_id()), LOG_REQUEST_ID_MAX - 1);
	log_set_request_id("");
	cr_expect_null(log_request_id());
}

static void *read_request_id(void *arg)
{
	*(const char **)arg = log_request_id();
	return NULL;
}

Test(log, request_id_is_per_thread)
{
	const char *seen = "unset";
	pthread_t t;

	log_set_request_id("main-thread");
	cr_assert_eq(pthread_create(&t, NULL, read_request_id, &seen), 0);
	pthread_join(t, NULL);
	cr_expect_null(seen);
	cr_expect_str_eq(log_request_id(), "main-thread");
}

Test(log, message_control_bytes_stay_on_one_line)
{
	char *out = NULL;

	log_init("test", LOG_LEVEL_INFO, LOG_TARGET_STDERR);
	capture_start();
	log_warning("user sent %s", "x\r\ny\tz\x1b");
	out = capture_end();
	cr_expect_eq(count_lines(out), 1, "%s", out);
	cr_expect(matches(" warning tests/unit/test-log\\.c:[0-9]+ [^ ]+ "
			  "user sent x\\\\r\\\\ny\\\\tz\\\\x1b\n$",
			  out),
		  "%s", out);
	free(out);
}

Test(log, level_filtering)
{
	static const struct {
		enum log_level min;
		size_t lines;
	} cases[] = {
		{LOG_LEVEL_DEBUG, 5},   {LOG_LEVEL_INFO, 4},  {LOG_LEVEL_NOTICE, 3},
		{LOG_LEVEL_WARNING, 2}, {LOG_LEVEL_ERROR, 1},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *out = NULL;

		log_init("test", cases[i].min, LOG_TARGET_STDERR);
		capture_start();
		log_debug("d");
		log_info("i");
		log_notice("n");
		log_warning("w");
		log_error("e");
		out = capture_end();
		cr_expect_eq(count_lines(out), cases[i].lines, "min %s: %s",
			     log_level_name(cases[i].min), out);
		cr_expect(strstr(out, " error ") != NULL, "%s", out);
		free(out);
	}
}

Test(log, out_of_range_level_logs_as_error)
{
	char *out = NULL;

	log_init("test", LOG_LEVEL_ERROR, LOG_TARGET_STDERR);
	capture_start();
	log_at((enum log_level)42, "lib/x.c", 7, "fn", "odd level");
	out = capture_end();
	cr_expect(matches("^" TIME_RE " error lib/x\\.c:7 fn odd level\n$", out), "%s", out);
	free(out);
}

Test(log, long_messages_are_truncated)
{
	char *big = malloc(LOG_LINE_MAX * 3), *out = NULL, *msg = NULL;
	size_t len;

	cr_assert_not_null(big);
	memset(big, 'a', LOG_LINE_MAX * 3 - 1);
	big[LOG_LINE_MAX * 3 - 1] = '\0';
	log_init("test", LOG_LEVEL_INFO, LOG_TARGET_STDERR);
	capture_start();
	log_info("%s", big);
	out = capture_end();
	cr_assert_eq(count_lines(out), 1);
	msg = strstr(out, " aaa");
	cr_assert_not_null(msg);
	msg++;
	len = strlen(msg);
	cr_expect_eq(len, LOG_LINE_MAX - 1 + 1, "message of %zu bytes", len); /* + newline */
	cr_expect_str_eq(msg + len - 4, "...\n");
	free(out);
	free(big);
}

__attribute__((format(printf, 2, 3))) static void format_into(char *msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format_message(msg, fmt, ap);
	va_end(ap);
}

Test(log, truncation_never_splits_utf8)
{
	char msg[LOG_LINE_MAX];

	/* Prefixes of 0..3 bytes move the cut across every byte of the 3-byte characters. */
	for (int shift = 0; shift < 4; shift++) {
		char *big = calloc(1, LOG_LINE_MAX * 2);
		size_t n = 0, cut;

		cr_assert_not_null(big);
		for (int i = 0; i < shift; i++)
			big[n++] = 'x';
		while (n + 3 < LOG_LINE_MAX * 2 - 1) {
			memcpy(big + n, "\xe2\x9c\x93", 3); /* a 3-byte check mark */
			n += 3;
		}
		format_into(msg, "%s", big);
		cut = strlen(msg) - 3;
		cr_expect_str_eq(msg + cut, "...");
		/* The byte before "..." ends a whole character. */
		cr_expect(cut == 0 || (unsigned char)msg[cut - 1] == 0x93 ||
				  (unsigned char)msg[cut - 1] == 'x',
			  "shift %d: byte 0x%02x before ...", shift, (unsigned char)msg[cut - 1]);
		cr_expect_leq(strlen(msg), LOG_LINE_MAX - 1);
		free(big);
	}
}

Test(log, escaped_long_message_stays_one_line)
{
	char *big = malloc(LOG_LINE_MAX + 1), *out = NULL;

	cr_assert_not_null(big);
	memset(big, '\n', LOG_LINE_MAX);
	big[LOG_LINE_MAX] = '\0';
	log_init("test", LOG_LEVEL_INFO, LOG_TARGET_STDERR);
	capture_start();
	log_info("%s", big);
	out = capture_end();
	cr_expect_eq(count_lines(out), 1);
	cr_expect(strstr(out, "\\n\\n...\n") != NULL);
	free(out);
	free(big);
}

Test(log, errno_is_preserved_and_m_works)
{
	char *out = NULL;

	log_init("test", LOG_LEVEL_INFO, LOG_TARGET_STDERR);
	capture_start();
	errno = ENOENT;
	log_error("open failed: %m");
	cr_expect_eq(errno, ENOENT);
	errno = EACCES;
	log_debug("filtered");
	cr_expect_eq(errno, EACCES);
	out = capture_end();
	cr_expect(strstr(out, "open failed: No such file or directory\n") != NULL, "%s", out);
	free(out);
}

struct reader {
	int fd;
	char *buf;
	size_t len, cap;
};

static void *drain(void *arg)
{
	struct reader *r = arg;

	for (;;) {
		ssize_t n;

		if (r->cap - r->len < 65536) {
			r->cap = r->cap * 2 + 65536;
			r->buf = realloc(r->buf, r->cap);
			if (r->buf == NULL)
				abort();
		}
		n = read(r->fd, r->buf + r->len, r->cap - r->len - 1);
		if (n <= 0)
			break;
		r->len += (size_t)n;
	}
	r->buf[r->len] = '\0';
	return NULL;
}

/* Pairs of "\x01" and the thread's letter: 2000 bytes raw, 5000 once escaped, so a line is
 * longer than PIPE_BUF and the kernel alone would not keep it whole. */
static void thread_pad(int id, char *raw, char *escaped)
{
	for (int i = 0; i < PAD_PAIRS; i++) {
		raw[2 * i] = '\x01';
		raw[2 * i + 1] = (char)('a' + id);
		memcpy(escaped + 5 * i, "\\x01", 4);
		escaped[5 * i + 4] = (char)('a' + id);
	}
	raw[2 * PAD_PAIRS] = '\0';
	escaped[5 * PAD_PAIRS] = '\0';
}

static void *log_many(void *arg)
{
	int id = (int)(intptr_t)arg;
	char raw[2 * PAD_PAIRS + 1], escaped[5 * PAD_PAIRS + 1];

	thread_pad(id, raw, escaped);
	for (int i = 0; i < LINES_PER_THREAD; i++)
		log_info("thread=%d line=%d %s", id, i, raw);
	return NULL;
}

Test(log, threads_write_whole_lines)
{
	static bool seen[NTHREADS][LINES_PER_THREAD];
	char raw[2 * PAD_PAIRS + 1], escaped[5 * PAD_PAIRS + 1];
	struct reader r = {.fd = -1};
	pthread_t writers[NTHREADS], reader;
	int p[2], saved;
	size_t lines = 0;
	char *save = NULL;

	log_init("test", LOG_LEVEL_INFO, LOG_TARGET_STDERR);
	cr_assert_eq(pipe(p), 0);
	r.fd = p[0];
	saved = dup(STDERR_FILENO);
	cr_assert_geq(dup2(p[1], STDERR_FILENO), 0);
	close(p[1]);
	cr_assert_eq(pthread_create(&reader, NULL, drain, &r), 0);
	for (int i = 0; i < NTHREADS; i++)
		cr_assert_eq(pthread_create(&writers[i], NULL, log_many, (void *)(intptr_t)i), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(writers[i], NULL);
	dup2(saved, STDERR_FILENO); /* closes the pipe's last write end: the reader sees EOF */
	close(saved);
	pthread_join(reader, NULL);
	close(p[0]);
	for (char *line = strtok_r(r.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int id = -1, n = -1, off = 0;
		const char *m = strstr(line, " thread=");

		cr_assert_not_null(m, "foreign line: %.80s", line);
		cr_assert_eq(sscanf(m, " thread=%d line=%d %n", &id, &n, &off), 2, "%.120s", m);
		cr_assert(id >= 0 && id < NTHREADS && n >= 0 && n < LINES_PER_THREAD);
		cr_assert(!seen[id][n], "line %d of thread %d twice", n, id);
		seen[id][n] = true;
		thread_pad(id, raw, escaped);
		cr_assert_str_eq(m + off, escaped, "torn or mixed line of thread %d", id);
		cr_assert(matches(
			"^" TIME_RE " info tests/unit/test-log\\.c:[0-9]+ log_many thread=", line));
		lines++;
	}
	cr_expect_eq(lines, NTHREADS * LINES_PER_THREAD);
	free(r.buf);
}

Test(log, level_and_target_names)
{
	static const struct {
		const char *name;
		int level;
	} levels_tab[] = {
		{"debug", LOG_LEVEL_DEBUG},
		{"info", LOG_LEVEL_INFO},
		{"notice", LOG_LEVEL_NOTICE},
		{"warning", LOG_LEVEL_WARNING},
		{"error", LOG_LEVEL_ERROR},
		{"INFO", -1},
		{"warn", -1},
		{"", -1},
		{"info ", -1},
		{"err", -1},
	};
	static const struct {
		const char *name;
		int target;
	} targets_tab[] = {
		{"auto", LOG_TARGET_AUTO},
		{"stderr", LOG_TARGET_STDERR},
		{"journald", LOG_TARGET_JOURNALD},
		{"journal", -1},
		{"syslog", -1},
		{"", -1},
	};

	for (size_t i = 0; i < ARRAY_LEN(levels_tab); i++) {
		enum log_level l = LOG_LEVEL_ERROR;
		int rc = log_level_parse(levels_tab[i].name, &l);

		cr_expect_eq(rc, levels_tab[i].level < 0 ? -1 : 0, "'%s'", levels_tab[i].name);
		if (rc == 0) {
			cr_expect_eq((int)l, levels_tab[i].level);
			cr_expect_str_eq(log_level_name(l), levels_tab[i].name);
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(targets_tab); i++) {
		enum log_target t = LOG_TARGET_STDERR;
		int rc = log_target_parse(targets_tab[i].name, &t);

		cr_expect_eq(rc, targets_tab[i].target < 0 ? -1 : 0, "'%s'", targets_tab[i].name);
		if (rc == 0)
			cr_expect_eq((int)t, targets_tab[i].target);
	}
	cr_expect_eq(log_level_parse(NULL, &(enum log_level){0}), -1);
	cr_expect_str_eq(log_level_name((enum log_level)99), "unknown");
}

Test(log, site_path_table)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"lib/log.c", "lib/log.c"},
		{"../lib/store.c", "lib/store.c"},
		{"../../work/main/lib/store.c", "lib/store.c"},
		{"/work/main/tests/unit/test-log.c", "tests/unit/test-log.c"},
		{"/home/u/lib/second/fcgi/api/routes.c", "fcgi/api/routes.c"},
		{"/src/workerd/runtimes/codex.c", "workerd/runtimes/codex.c"},
		{"/src/contrib/bench/store-bench.c", "contrib/bench/store-bench.c"},
		{"/x/mylib/a.c", "/x/mylib/a.c"},
		{"../../other/a.c", "other/a.c"},
		{"a.c", "a.c"},
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		cr_expect_str_eq(site_path(cases[i].in), cases[i].want);
}

Test(log, journal_stream_detection)
{
	static const char *const others[] = {"", "1:2", "abc", ":", "1:", "x1:2", "1:2x", "-1:2"};
	struct stat st;
	char v[64];

	cr_assert_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	cr_expect(stderr_is_journal(), "%s", v);
	for (size_t i = 0; i < ARRAY_LEN(others); i++) {
		setenv("JOURNAL_STREAM", others[i], 1);
		cr_expect_not(stderr_is_journal(), "'%s'", others[i]);
	}
	unsetenv("JOURNAL_STREAM");
	cr_expect_not(stderr_is_journal());
	log_init("test", LOG_LEVEL_INFO, LOG_TARGET_AUTO);
	cr_expect_eq(atomic_load(&out_target), LOG_TARGET_STDERR);
}

Test(log, journald_missing_falls_back_to_stderr)
{
	char *out = NULL;

	if (access(JOURNAL_SOCKET, F_OK) == 0)
		cr_skip_test("a journald is listening here; nothing would fall back");
	capture_start();
	log_init("test", LOG_LEVEL_INFO, LOG_TARGET_JOURNALD);
	log_notice("to the journal");
	out = capture_end();
	cr_expect_eq(count_lines(out), 2, "%s", out);
	cr_expect(matches(" warning lib/log\\.c:[0-9]+ log_init .*" JOURNAL_SOCKET, out), "%s",
		  out);
	cr_expect(matches("\n" TIME_RE " notice tests/unit/test-log\\.c:[0-9]+ [^ ]+ to the "
			  "journal\n$",
			  out),
		  "%s", out);
	free(out);
}
