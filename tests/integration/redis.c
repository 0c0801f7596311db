/* Integration tests of lib/redis against a real redis-server on a unix socket in a temp dir.
 *
 * Every test gets its own server (suite init) and one `struct rds` to it, and both are gone at
 * the end of the test (suite fini, and the harness's atexit as a backstop). The "restart" suite
 * runs its server with AOF and fsync always, so data survives harness_redis_restart(). Timing
 * assertions only check orders of magnitude: a loaded two-core machine must not flake them. */
#include <config.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include "lib/redis.h"
#include "lib/timeutil.h"
#include "tests/harness.h"

#define TEST_TIMEOUT_S 120 /* a hung test fails instead of hanging make check */

static struct harness_redis srv;
static struct rds *r;

/* Runs in the runner process only: a missing redis-server skips the whole program (77). */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	struct harness_redis probe;

	(void)set;
	if (harness_redis_start(&probe, false) != 0) {
		fprintf(stderr, "redis-server is installed but did not start\n");
		exit(1);
	}
	harness_redis_stop(&probe);
}

static struct rds *open_url(const char *url, int command_timeout_ms)
{
	struct rds_opts o = {
		.url = url, .connect_timeout_ms = 2000, .command_timeout_ms = command_timeout_ms};
	struct rds *c = NULL;
	struct err e = {0};

	cr_assert_eq(rds_open(&o, &c, &e), 0, "rds_open %s: %s", url, e.msg);
	return c;
}

static void start(bool persistent)
{
	cr_assert_eq(harness_redis_start(&srv, persistent), 0);
	r = open_url(srv.url, 5000);
}

static void setup(void)
{
	start(false);
}

static void setup_persistent(void)
{
	start(true);
}

static void teardown(void)
{
	rds_close(r);
	r = NULL;
	harness_redis_stop(&srv);
}

TestSuite(url, .timeout = TEST_TIMEOUT_S);
TestSuite(redis, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT_S);
TestSuite(restart, .init = setup_persistent, .fini = teardown, .timeout = TEST_TIMEOUT_S);

static long long elapsed_ms(int64_t start_ms)
{
	return (long long)(time_mono_ms() - start_ms);
}

static void sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

/* A loopback port nobody listens on (bound, then released). */
static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, len), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* Copies tpl into out with every "PORT" replaced by port. */
static void with_port(char *out, size_t outsz, const char *tpl, int port)
{
	size_t o = 0;

	while (*tpl != '\0' && o + 8 < outsz) {
		if (strncmp(tpl, "PORT", 4) == 0) {
			o += (size_t)snprintf(out + o, outsz - o, "%d", port);
			tpl += 4;
		} else {
			out[o++] = *tpl++;
		}
	}
	out[o] = '\0';
}

static long long command_integer(redisReply *rep, struct err *e)
{
	long long v;

	cr_assert_not_null(rep, "%s", e->msg);
	cr_assert_eq(rep->type, REDIS_REPLY_INTEGER);
	v = rep->integer;
	freeReplyObject(rep);
	return v;
}

static void command_ok(redisReply *rep, struct err *e)
{
	cr_assert_not_null(rep, "%s", e->msg);
	cr_assert_neq(rep->type, REDIS_REPLY_ERROR);
	freeReplyObject(rep);
}

static void xadd_one(struct rds *c, const char *key, size_t maxlen, const char *value)
{
	struct rds_field f = {.name = "v", .value = (char *)value, .value_len = strlen(value)};
	char id[48];
	struct err e = {0};

	cr_assert_eq(rds_xadd(c, key, maxlen, &f, 1, id, sizeof(id), &e), 0, "%s", e.msg);
}

struct url_case {
	const char *url;
	enum err_code code;
};

Test(url, table)
{
	static const struct url_case cases[] = {
		{"redis://127.0.0.1:PORT", ERR_UNAVAILABLE},
		{"REDIS://127.0.0.1:PORT/", ERR_UNAVAILABLE},
		{"redis://:pw@127.0.0.1:PORT/3", ERR_UNAVAILABLE},
		{"redis://:p%40ss%3Aw%2Frd@127.0.0.1:PORT/15", ERR_UNAVAILABLE},
		{"redis://localhost:PORT", ERR_UNAVAILABLE},
		{"redis://[::1]:PORT", ERR_UNAVAILABLE},
		{"unix:///nonexistent/second/redis.sock", ERR_UNAVAILABLE},
		{"unix:///nonexistent/second/redis.sock?db=2", ERR_UNAVAILABLE},
		{"", ERR_INVALID},
		{"http://127.0.0.1:PORT", ERR_INVALID},
		{"rediss://127.0.0.1:PORT", ERR_INVALID},
		{"redis://", ERR_INVALID},
		{"redis://:PORT", ERR_INVALID},
		{"redis://:@127.0.0.1:PORT", ERR_INVALID},
		{"redis://user:pw@127.0.0.1:PORT", ERR_INVALID},
		{"redis://:%zz@127.0.0.1:PORT", ERR_INVALID},
		{"redis://:a%00b@127.0.0.1:PORT", ERR_INVALID},
		{"redis://127.0.0.1:0", ERR_INVALID},
		{"redis://127.0.0.1:65536", ERR_INVALID},
		{"redis://127.0.0.1:12x", ERR_INVALID},
		{"redis://127.0.0.1:", ERR_INVALID},
		{"redis://127.0.0.1:PORT/abc", ERR_INVALID},
		{"redis://127.0.0.1:PORT/1/2", ERR_INVALID},
		{"redis://127.0.0.1:PORT/-1", ERR_INVALID},
		{"redis://127.0.0.1:PORT?db=1", ERR_INVALID},
		{"redis://127.0.0.1:PORT#x", ERR_INVALID},
		{"redis://[::1:PORT", ERR_INVALID},
		{"redis://[::1]x", ERR_INVALID},
		{"redis://bad host:PORT", ERR_INVALID},
		{"redis://a:b:c", ERR_INVALID},
		{"unix://relative/path.sock", ERR_INVALID},
		{"unix:///", ERR_INVALID},
		{"unix:///tmp/x.sock?db=abc", ERR_INVALID},
		{"unix:///tmp/x.sock?db=", ERR_INVALID},
		{"unix:///tmp/x.sock?foo=1", ERR_INVALID},
	};
	int port = free_port();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char url[256];
		struct rds_opts o = {.url = url, .connect_timeout_ms = 2000};
		struct rds *c = NULL;
		struct err e = {0};

		with_port(url, sizeof(url), cases[i].url, port);
		cr_expect_eq(rds_open(&o, &c, &e), -1, "%s opened", url);
		cr_expect_null(c);
		cr_expect_eq(e.code, cases[i].code, "%s: got %s (%s), want %s", url,
			     err_code_name(e.code), e.msg, err_code_name(cases[i].code));
	}
}

Test(url, limits)
{
	char url[RDS_MAX_URL_BYTES + 64];
	struct rds_opts o = {.url = url};
	struct rds *c = NULL;
	struct err e = {0};

	snprintf(url, sizeof(url), "unix:///%0200d.sock", 0);
	cr_assert_eq(rds_open(&o, &c, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE, "%s", e.msg);
	memset(url, 'a', sizeof(url) - 1);
	url[sizeof(url) - 1] = '\0';
	memcpy(url, "redis://", 8);
	cr_assert_eq(rds_open(&o, &c, &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE, "%s", e.msg);
	o.url = NULL;
	cr_assert_eq(rds_open(&o, &c, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
}

Test(url, password_not_in_error)
{
	char url[128], where[64];
	struct rds_opts o = {.url = url, .connect_timeout_ms = 2000};
	struct rds *c = NULL;
	struct err e = {0};
	int port = free_port();

	with_port(url, sizeof(url), "redis://:Sup3rSecretPw@127.0.0.1:PORT/1", port);
	with_port(where, sizeof(where), "127.0.0.1:PORT", port);
	cr_assert_eq(rds_open(&o, &c, &e), -1);
	cr_expect_eq(e.code, ERR_UNAVAILABLE);
	cr_expect_null(strstr(e.msg, "Sup3rSecretPw"), "password leaked: %s", e.msg);
	cr_expect_not_null(strstr(e.msg, where), "error does not name the server: %s", e.msg);
}

Test(url, unreachable_fails_fast)
{
	static const char *const urls[] = {"unix:///nonexistent/second/redis.sock",
					   "redis://127.0.0.1:PORT"};
	int port = free_port();

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		char url[128];
		struct rds_opts o = {.url = url, .connect_timeout_ms = 5000};
		struct rds *c = NULL;
		struct err e = {0};
		int64_t t0 = time_mono_ms();

		with_port(url, sizeof(url), urls[i], port);
		cr_assert_eq(rds_open(&o, &c, &e), -1);
		cr_expect_eq(e.code, ERR_UNAVAILABLE, "%s: %s", url, e.msg);
		/* Refused at once: nowhere near the 5 s connect timeout. */
		cr_expect_lt(elapsed_ms(t0), 2500, "%s took %lld ms", url, elapsed_ms(t0));
	}
}

Test(redis, ping_and_db_in_url)
{
	char url[HARNESS_PATH_MAX + 32];
	struct err e = {0};
	struct rds *c = NULL;
	redisReply *rep = NULL;

	cr_assert_eq(rds_ping(r, &e), 0, "%s", e.msg);
	snprintf(url, sizeof(url), "%s?db=3", srv.url);
	c = open_url(url, 5000);
	command_ok(rds_command(c, &e, "SET where db3"), &e);
	rep = rds_command(r, &e, "GET where");
	cr_assert_not_null(rep);
	cr_expect_eq(rep->type, REDIS_REPLY_NIL, "db 0 sees a key written to db 3");
	freeReplyObject(rep);
	rep = rds_command(r, &e, "SELECT 3");
	command_ok(rep, &e);
	rep = rds_command(r, &e, "GET where");
	cr_assert_not_null(rep);
	cr_expect_str_eq(rep->str, "db3");
	freeReplyObject(rep);
	rds_close(c);
}

Test(redis, error_reply_and_commandv)
{
	const char *argv[] = {"SET", "k", "v\0w"};
	const size_t lens[] = {3, 1, 3};
	struct err e = {0};
	redisReply *rep = NULL;

	command_ok(rds_commandv(r, true, 3, argv, lens, &e), &e);
	rep = rds_command(r, &e, "STRLEN k");
	cr_expect_eq(command_integer(rep, &e), 3);
	rep = rds_command(r, &e, "LPUSH k x");
	cr_expect_null(rep);
	cr_expect_eq(e.code, ERR_IO);
	cr_expect_not_null(strstr(e.msg, "WRONGTYPE"), "%s", e.msg);
	cr_expect_eq(rds_ping(r, &e), 0, "the connection survives an error reply: %s", e.msg);
}

Test(redis, password_and_db_over_tcp)
{
	char url[256], where[64];
	struct err e = {0};
	struct rds *c = NULL;
	struct rds_opts o = {.url = url, .connect_timeout_ms = 2000};
	redisReply *rep = NULL;
	int port = free_port();

	/* The harness server listens on a socket only; open a loopback port with a password. */
	command_ok(rds_command(r, &e, "CONFIG SET port %d", port), &e);
	command_ok(rds_command(r, &e, "CONFIG SET requirepass %s", "p@ss:w/rd"), &e);
	with_port(url, sizeof(url), "redis://:p%40ss%3Aw%2Frd@127.0.0.1:PORT/2", port);
	c = open_url(url, 5000);
	rep = rds_command(c, &e, "CLIENT INFO");
	cr_assert_not_null(rep, "%s", e.msg);
	cr_expect_not_null(strstr(rep->str, " db=2 "), "%s", rep->str);
	freeReplyObject(rep);
	rds_close(c);

	c = NULL;
	with_port(url, sizeof(url), "redis://:WrongSecret42@127.0.0.1:PORT", port);
	with_port(where, sizeof(where), "127.0.0.1:PORT", port);
	cr_assert_eq(rds_open(&o, &c, &e), -1);
	cr_expect_eq(e.code, ERR_UNAVAILABLE);
	cr_expect_null(strstr(e.msg, "WrongSecret42"), "password leaked: %s", e.msg);
	cr_expect_not_null(strstr(e.msg, where), "%s", e.msg);
}

Test(redis, xadd_maxlen_trims)
{
	struct err e = {0};
	long long len;

	for (int i = 0; i < 10000; i++)
		xadd_one(r, "trim", 100, "x");
	len = command_integer(rds_command(r, &e, "XLEN trim"), &e);
	/* "~" trims whole macro nodes, so a little over 100 remains, far below 10,000. */
	cr_expect_geq(len, 100);
	cr_expect_lt(len, 1000, "XLEN %lld", len);
	for (int i = 0; i < 300; i++)
		xadd_one(r, "untrimmed", 0, "x");
	cr_expect_eq(command_integer(rds_command(r, &e, "XLEN untrimmed"), &e), 300);
}

Test(redis, xadd_checks_arguments)
{
	struct rds_field fields[RDS_MAX_STREAM_FIELDS + 1];
	char key[RDS_MAX_KEY_BYTES + 2];
	char id[48];
	struct err e = {0};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		fields[i] = (struct rds_field){.name = "f", .value = "v", .value_len = 1};
	cr_expect_eq(rds_xadd(r, "s", 0, fields, 0, id, sizeof(id), &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	cr_expect_eq(rds_xadd(r, "s", 0, fields, RDS_MAX_STREAM_FIELDS + 1, id, sizeof(id), &e),
		     -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	cr_expect_eq(rds_xadd(r, "s", 0, fields, RDS_MAX_STREAM_FIELDS, id, sizeof(id), &e), 0,
		     "%s", e.msg);
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	cr_expect_eq(rds_xadd(r, key, 0, fields, 1, id, sizeof(id), &e), -1);
	cr_expect_eq(e.code, ERR_TOO_LARGE);
	cr_expect_eq(rds_xadd(r, "", 0, fields, 1, id, sizeof(id), &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
}

Test(redis, xread_block_times_out)
{
	struct rds_entry *entries = NULL;
	size_t n = 99;
	struct err e = {0};
	int64_t t0 = time_mono_ms();

	cr_assert_eq(rds_xread(r, "empty", "0", 500, 10, &entries, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 0);
	cr_expect_null(entries);
	cr_expect_geq(elapsed_ms(t0), 400);
	cr_expect_lt(elapsed_ms(t0), 4000, "took %lld ms", elapsed_ms(t0));
	/* The connection is still in step after a blocking call that timed out. */
	cr_expect_eq(rds_ping(r, &e), 0, "%s", e.msg);
}

Test(redis, xread_block_longer_than_command_timeout)
{
	struct rds *c = open_url(srv.url, 300);
	struct rds_entry *entries = NULL;
	size_t n = 99;
	struct err e = {0};
	int64_t t0 = time_mono_ms();

	/* The wait is block_ms plus the command timeout, so blocking 1 s is no timeout. */
	cr_assert_eq(rds_xread(c, "empty", "$", 1000, 10, &entries, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 0);
	cr_expect_geq(elapsed_ms(t0), 900);
	rds_close(c);
}

Test(redis, server_down)
{
	const char *const channels[] = {"hints"};
	struct rds_opts o = {.url = srv.url};
	struct rds_sub *s = NULL;
	struct err e = {0};
	char *channel = NULL, *msg = NULL;
	size_t len = 0;

	cr_assert_eq(rds_subscribe(&o, channels, 1, &s, &e), 0, "%s", e.msg);
	harness_redis_stop(&srv);
	cr_expect_eq(rds_ping(r, &e), -1);
	cr_expect_eq(e.code, ERR_UNAVAILABLE, "%s", e.msg);
	cr_expect_eq(rds_sub_next(s, 300, &channel, &msg, &len, &e), -1);
	cr_expect_eq(e.code, ERR_UNAVAILABLE, "%s", e.msg);
	cr_expect_null(channel);
	rds_sub_close(s);
}

Test(redis, xread_nonblocking_and_dollar)
{
	struct rds_entry *entries = NULL;
	size_t n = 0;
	struct err e = {0};

	xadd_one(r, "nb", 0, "one");
	cr_assert_eq(rds_xread(r, "nb", "0", -1, 10, &entries, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 1);
	rds_entries_free(entries, n);
	cr_assert_eq(rds_xread(r, "nb", "$", 0, 10, &entries, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 0);
	cr_expect_eq(rds_xread(r, "nb", "12-x", -1, 10, &entries, &n, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
}

static void *add_later(void *arg)
{
	struct rds *c = open_url(arg, 5000);

	sleep_ms(300);
	xadd_one(c, "wake", 0, "hello");
	rds_close(c);
	return NULL;
}

Test(redis, xread_wakes_on_add)
{
	struct rds_entry *entries = NULL;
	size_t n = 0;
	struct err e = {0};
	char last[48];
	pthread_t t;
	int64_t t0;

	xadd_one(r, "wake", 0, "before");
	cr_assert_eq(rds_xread(r, "wake", "0", -1, 10, &entries, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(n, 1);
	snprintf(last, sizeof(last), "%s", entries[0].id);
	rds_entries_free(entries, n);
	t0 = time_mono_ms();
	cr_assert_eq(pthread_create(&t, NULL, add_later, srv.url), 0);
	cr_assert_eq(rds_xread(r, "wake", last, 20000, 10, &entries, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(n, 1);
	cr_expect_lt(elapsed_ms(t0), 15000, "woke after %lld ms", elapsed_ms(t0));
	cr_expect_str_eq(entries[0].fields[0].value, "hello");
	rds_entries_free(entries, n);
}

Test(redis, xrange_after_pages)
{
	char after[48] = "0";
	size_t total = 0, pages = 0;
	struct err e = {0};

	for (int i = 0; i < 25; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		xadd_one(r, "pages", 0, v);
	}
	for (;;) {
		struct rds_entry *entries = NULL;
		size_t n = 0;

		cr_assert_eq(rds_xrange_after(r, "pages", after, 10, &entries, &n, &e), 0, "%s",
			     e.msg);
		if (n == 0)
			break;
		cr_assert_leq(n, 10);
		for (size_t i = 0; i < n; i++) {
			char want[16];

			snprintf(want, sizeof(want), "%zu", total + i);
			cr_expect_str_eq(entries[i].fields[0].name, "v");
			cr_expect_str_eq(entries[i].fields[0].value, want);
		}
		cr_expect_neq(strcmp(entries[0].id, after), 0, "page repeats its cursor");
		snprintf(after, sizeof(after), "%s", entries[n - 1].id);
		total += n;
		pages++;
		rds_entries_free(entries, n);
	}
	cr_expect_eq(total, 25);
	cr_expect_eq(pages, 3);
}

Test(redis, binary_safe_values)
{
	static const char bin[] = {'a', '\0', 'b', '\0', (char)0xff, '\n'};
	struct rds_field f[2] = {
		{.name = "bin", .value = (char *)bin, .value_len = sizeof(bin)},
		{.name = "empty", .value = NULL, .value_len = 0},
	};
	struct rds_entry *entries = NULL;
	size_t n = 0;
	struct err e = {0};
	char id[48];

	cr_assert_eq(rds_xadd(r, "bin", 0, f, 2, id, sizeof(id), &e), 0, "%s", e.msg);
	cr_assert_eq(rds_xrange_after(r, "bin", "0", 10, &entries, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(entries[0].id, id);
	cr_assert_eq(entries[0].nfields, 2);
	cr_assert_eq(entries[0].fields[0].value_len, sizeof(bin));
	cr_expect_eq(memcmp(entries[0].fields[0].value, bin, sizeof(bin)), 0);
	cr_expect_eq(entries[0].fields[1].value_len, 0);
	cr_expect_str_eq(entries[0].fields[1].value, "");
	rds_entries_free(entries, n);
	cr_assert_eq(rds_xread(r, "bin", "0", -1, 10, &entries, &n, &e), 0, "%s", e.msg);
	cr_assert_eq(n, 1);
	cr_expect_eq(memcmp(entries[0].fields[0].value, bin, sizeof(bin)), 0);
	rds_entries_free(entries, n);
}

/* Waits for one message, up to timeout_ms; the caller frees the outputs. */
static int sub_wait(struct rds_sub *s, int timeout_ms, char **channel, char **msg, size_t *len)
{
	struct err e = {0};
	int rc = rds_sub_next(s, timeout_ms, channel, msg, len, &e);

	cr_assert_geq(rc, 0, "rds_sub_next: %s", e.msg);
	return rc;
}

Test(redis, pubsub_round_trip)
{
	const char *const channels[] = {"alpha", "beta"};
	struct rds_opts o = {.url = srv.url};
	struct rds_sub *s = NULL;
	struct err e = {0};
	char *channel = NULL, *msg = NULL;
	long long receivers = -1;
	size_t len = 0;
	int64_t t0;

	cr_assert_eq(rds_subscribe(&o, channels, 2, &s, &e), 0, "%s", e.msg);
	t0 = time_mono_ms();
	cr_expect_eq(sub_wait(s, 300, &channel, &msg, &len), 0);
	cr_expect_geq(elapsed_ms(t0), 250);
	cr_assert_eq(rds_publish(r, "beta", "x\0y", 3, &receivers, &e), 0, "%s", e.msg);
	cr_expect_eq(receivers, 1);
	cr_assert_eq(sub_wait(s, 5000, &channel, &msg, &len), 1);
	cr_expect_str_eq(channel, "beta");
	cr_expect_eq(len, 3);
	cr_expect_eq(memcmp(msg, "x\0y", 3), 0);
	free(channel);
	free(msg);
	cr_assert_eq(rds_publish(r, "gamma", "nobody", 6, &receivers, &e), 0, "%s", e.msg);
	cr_expect_eq(receivers, 0);
	cr_assert_eq(rds_publish(r, "alpha", "", 0, NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(sub_wait(s, 5000, &channel, &msg, &len), 1);
	cr_expect_str_eq(channel, "alpha");
	cr_expect_eq(len, 0);
	free(channel);
	free(msg);
	rds_sub_close(s);
}

/* Publishes until the subscriber hears it: it may still be resubscribing after a drop. */
static void expect_heard(struct rds_sub *s, const char *ch)
{
	int64_t t0 = time_mono_ms();
	struct err e = {0};

	while (elapsed_ms(t0) < 20000) {
		char *channel = NULL, *msg = NULL;
		size_t len = 0;
		int rc;

		cr_assert_eq(rds_publish(r, ch, "ping", 4, NULL, &e), 0, "%s", e.msg);
		rc = sub_wait(s, 250, &channel, &msg, &len);
		if (rc == 1) {
			cr_expect_str_eq(channel, ch);
			cr_expect_str_eq(msg, "ping");
			free(channel);
			free(msg);
			return;
		}
	}
	cr_assert_fail("the subscriber never heard %s again", ch);
}

Test(redis, subscriber_survives_kill)
{
	const char *const channels[] = {"hints"};
	struct rds_opts o = {.url = srv.url};
	struct rds_sub *s = NULL;
	struct err e = {0};

	cr_assert_eq(rds_subscribe(&o, channels, 1, &s, &e), 0, "%s", e.msg);
	expect_heard(s, "hints");
	cr_expect_eq(command_integer(rds_command(r, &e, "CLIENT KILL TYPE pubsub"), &e), 1);
	expect_heard(s, "hints");
	rds_sub_close(s);
}

Test(redis, lock_by_token)
{
	struct err e = {0};
	bool ok = false;
	int64_t t0;

	cr_assert_eq(rds_lock_acquire(r, "lock", "t1", 60000, &ok, &e), 0, "%s", e.msg);
	cr_expect(ok);
	cr_assert_eq(rds_lock_acquire(r, "lock", "t2", 60000, &ok, &e), 0, "%s", e.msg);
	cr_expect_not(ok, "a held lock was acquired twice");
	cr_assert_eq(rds_lock_release(r, "lock", "t2", &ok, &e), 0, "%s", e.msg);
	cr_expect_not(ok, "a wrong token released the lock");
	cr_assert_eq(rds_lock_release(r, "lock", "t1", &ok, &e), 0, "%s", e.msg);
	cr_expect(ok);
	cr_assert_eq(rds_lock_release(r, "lock", "t1", &ok, &e), 0, "%s", e.msg);
	cr_expect_not(ok, "released twice");
	cr_assert_eq(rds_lock_acquire(r, "lock", "t2", 60000, &ok, &e), 0, "%s", e.msg);
	cr_expect(ok);

	cr_assert_eq(rds_lock_acquire(r, "short", "t1", 100, &ok, &e), 0, "%s", e.msg);
	cr_expect(ok);
	t0 = time_mono_ms();
	do {
		sleep_ms(50);
		cr_assert_eq(rds_lock_acquire(r, "short", "t3", 60000, &ok, &e), 0, "%s", e.msg);
	} while (!ok && elapsed_ms(t0) < 10000);
	cr_expect(ok, "the expired lock was never freed");
	cr_expect_geq(elapsed_ms(t0), 50);
	cr_expect_eq(rds_lock_acquire(r, "short", "t3", 0, &ok, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
}

Test(redis, counter_window)
{
	struct err e = {0};
	long long v = 0, ttl;
	int64_t t0;

	for (long long i = 1; i <= 3; i++) {
		cr_assert_eq(rds_counter_incr(r, "rate", 1, &v, &e), 0, "%s", e.msg);
		cr_expect_eq(v, i);
	}
	ttl = command_integer(rds_command(r, &e, "PTTL rate"), &e);
	cr_expect(ttl > 0 && ttl <= 1000, "PTTL %lld", ttl);
	t0 = time_mono_ms();
	while (command_integer(rds_command(r, &e, "EXISTS rate"), &e) == 1 &&
	       elapsed_ms(t0) < 10000)
		sleep_ms(50);
	cr_assert_eq(rds_counter_incr(r, "rate", 1, &v, &e), 0, "%s", e.msg);
	cr_expect_eq(v, 1, "the window did not reset");
	/* A key left without a TTL gets one on the next increment. */
	command_ok(rds_command(r, &e, "SET stuck 5"), &e);
	cr_assert_eq(rds_counter_incr(r, "stuck", 60, &v, &e), 0, "%s", e.msg);
	cr_expect_eq(v, 6);
	ttl = command_integer(rds_command(r, &e, "TTL stuck"), &e);
	cr_expect(ttl > 0 && ttl <= 60, "TTL %lld", ttl);
}

Test(redis, expire_and_del)
{
	struct err e = {0};
	long long ttl;

	xadd_one(r, "run", 0, "chunk");
	cr_assert_eq(rds_expire(r, "run", 3600, &e), 0, "%s", e.msg);
	ttl = command_integer(rds_command(r, &e, "TTL run"), &e);
	cr_expect(ttl > 3500 && ttl <= 3600, "TTL %lld", ttl);
	cr_expect_eq(rds_expire(r, "run", 0, &e), -1);
	cr_expect_eq(e.code, ERR_INVALID);
	cr_assert_eq(rds_del(r, "run", &e), 0, "%s", e.msg);
	cr_expect_eq(command_integer(rds_command(r, &e, "EXISTS run"), &e), 0);
	cr_expect_eq(rds_del(r, "run", &e), 0, "deleting a missing key is not an error");
}

Test(redis, command_timeout)
{
	struct rds *slow = open_url(srv.url, 300);
	struct err e = {0};
	int64_t t0;

	cr_assert_eq(rds_ping(slow, &e), 0, "%s", e.msg);
	command_ok(rds_command(r, &e, "CLIENT PAUSE 3000 ALL"), &e);
	t0 = time_mono_ms();
	cr_expect_eq(rds_ping(slow, &e), -1);
	cr_expect_eq(e.code, ERR_TIMEOUT, "%s", e.msg);
	cr_expect_geq(elapsed_ms(t0), 250);
	cr_expect_lt(elapsed_ms(t0), 2500, "took %lld ms", elapsed_ms(t0));
	/* Once the pause is over the same handle reconnects and works. */
	sleep_ms(3000);
	t0 = time_mono_ms();
	while (rds_ping(slow, &e) != 0 && elapsed_ms(t0) < 10000)
		sleep_ms(100);
	cr_expect_eq(rds_ping(slow, &e), 0, "%s", e.msg);
	rds_close(slow);
}

static void set_big(const char *key, size_t len)
{
	char *v = malloc(len);
	const char *argv[] = {"SET", key, v};
	size_t lens[] = {3, strlen(key), len};
	struct err e = {0};

	cr_assert_not_null(v);
	memset(v, 'x', len);
	command_ok(rds_commandv(r, false, 3, argv, lens, &e), &e);
	free(v);
}

Test(redis, reply_byte_cap)
{
	struct err e = {0};
	redisReply *rep = NULL;

	set_big("exact", RDS_MAX_REPLY_BYTES);
	set_big("over", (size_t)RDS_MAX_REPLY_BYTES + 1);
	set_big("huge", (size_t)RDS_MAX_REPLY_WIRE_BYTES * 2);
	rep = rds_command(r, &e, "GET exact");
	cr_assert_not_null(rep, "%s", e.msg);
	cr_expect_eq(rep->len, RDS_MAX_REPLY_BYTES);
	freeReplyObject(rep);
	cr_expect_null(rds_command(r, &e, "GET over"));
	cr_expect_eq(e.code, ERR_TOO_LARGE, "%s", e.msg);
	cr_expect_eq(rds_ping(r, &e), 0, "%s", e.msg);
	cr_expect_null(rds_command(r, &e, "GET huge"));
	cr_expect_eq(e.code, ERR_TOO_LARGE, "%s", e.msg);
	cr_expect_eq(rds_ping(r, &e), 0, "%s", e.msg);
}

Test(redis, reply_element_cap)
{
	static const char fill[] = "for i=1,tonumber(ARGV[1]) do redis.call('rpush',KEYS[1],i) end "
				   "return redis.call('llen',KEYS[1])";
	struct err e = {0};
	redisReply *rep = NULL;

	rep = rds_command(r, &e, "EVAL %s 1 big %d", fill, RDS_MAX_REPLY_ELEMENTS + 1);
	cr_expect_eq(command_integer(rep, &e), RDS_MAX_REPLY_ELEMENTS + 1);
	rep = rds_command(r, &e, "LRANGE big 0 %d", RDS_MAX_REPLY_ELEMENTS - 1);
	cr_assert_not_null(rep, "%s", e.msg);
	cr_expect_eq(rep->elements, RDS_MAX_REPLY_ELEMENTS);
	freeReplyObject(rep);
	cr_expect_null(rds_command(r, &e, "LRANGE big 0 -1"));
	cr_expect_eq(e.code, ERR_TOO_LARGE, "%s", e.msg);
	cr_expect_eq(rds_ping(r, &e), 0, "%s", e.msg);
}

/* Listens on a free loopback port too and returns a redis:// URL to it. */
static void open_tcp(char *url, size_t urlsz)
{
	struct err e = {0};
	int port = free_port();

	command_ok(rds_command(r, &e, "CONFIG SET port %d", port), &e);
	with_port(url, urlsz, "redis://127.0.0.1:PORT", port);
}

Test(redis, idle_connection_killed)
{
	struct rds *tcp = NULL;
	struct err e = {0};
	char url[64];
	long long id;

	/* Over TCP a write to a closed peer still succeeds, so only the idle check saves XADD. */
	open_tcp(url, sizeof(url));
	tcp = open_url(url, 5000);
	id = command_integer(rds_command(tcp, &e, "CLIENT ID"), &e);
	cr_expect_eq(command_integer(rds_command(r, &e, "CLIENT KILL ID %lld", id), &e), 1);
	sleep_ms(100);
	/* XADD is never resent, so this passes only if the dead idle link is noticed first. */
	xadd_one(tcp, "after-kill", 0, "ok");
	cr_expect_eq(command_integer(rds_command(r, &e, "XLEN after-kill"), &e), 1);
	rds_close(tcp);
}

static size_t count_entries(const char *key)
{
	struct rds_entry *entries = NULL;
	size_t n = 0;
	struct err e = {0};

	cr_assert_eq(rds_xrange_after(r, key, "0", 1000, &entries, &n, &e), 0, "%s", e.msg);
	rds_entries_free(entries, n);
	return n;
}

Test(restart, reconnects_and_keeps_data)
{
	struct rds_entry *entries = NULL;
	size_t n = 0;
	struct err e = {0};

	for (int i = 0; i < 3; i++)
		xadd_one(r, "durable", 0, "before");
	cr_assert_eq(harness_redis_restart(&srv), 0);
	/* XADD is not retried, so the dead link must be noticed before sending. */
	xadd_one(r, "durable", 0, "after");
	cr_assert_eq(harness_redis_restart(&srv), 0);
	cr_assert_eq(rds_xread(r, "durable", "0", -1, 100, &entries, &n, &e), 0, "%s", e.msg);
	cr_expect_eq(n, 4);
	cr_expect_str_eq(entries[0].fields[0].value, "before");
	cr_expect_str_eq(entries[3].fields[0].value, "after");
	rds_entries_free(entries, n);
	cr_assert_eq(harness_redis_restart(&srv), 0);
	cr_expect_eq(rds_ping(r, &e), 0, "%s", e.msg);
	cr_expect_eq(count_entries("durable"), 4);
}

Test(restart, subscriber_survives)
{
	const char *const channels[] = {"events"};
	struct rds_opts o = {.url = srv.url};
	struct rds_sub *s = NULL;
	struct err e = {0};

	cr_assert_eq(rds_subscribe(&o, channels, 1, &s, &e), 0, "%s", e.msg);
	expect_heard(s, "events");
	cr_assert_eq(harness_redis_restart(&srv), 0);
	expect_heard(s, "events");
	rds_sub_close(s);
}
