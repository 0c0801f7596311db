/* Integration tests of the FastCGI framework through lighttpd: routing errors, request ids,
 * input limits, path traversal, the access log, health and graceful stop.
 *
 * Every test starts its own environment (redis-server, second-api, lighttpd in a temp dir)
 * and talks HTTP to lighttpd with libcurl. The graceful-stop test also speaks FastCGI to
 * second-api's socket directly, so it can hold a request half-sent while SIGTERM arrives:
 * a request in flight must still get its reply, and the process must then exit 0. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/limits.h"
#include "tests/api-client.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define STOP_WAIT_MS 5000

static struct tc_env env;

static void setup(void)
{
	cr_assert_eq(tc_env_start(&env), 0, "the test environment did not start");
}

static void teardown(void)
{
	tc_env_stop(&env);
}

TestSuite(api_server, .init = setup, .fini = teardown, .timeout = 60);

/* The reply is a JSON error with this code, and carries the headers every API reply has. */
static void expect_json_error(const struct tc_resp *r, long status, const char *code)
{
	char buf[256];

	cr_expect_eq(r->status, status, "status %ld, body %s", r->status, r->body);
	cr_assert_not_null(r->json, "not JSON: %s", r->body);
	cr_expect_str_eq(json_string_value(json_object_get(r->json, "error")), code);
	cr_expect(json_is_string(json_object_get(r->json, "message")), "%s", r->body);
	cr_expect_str_eq(tc_header(r, "Content-Type", buf, sizeof(buf)),
			 "application/json; charset=utf-8");
	cr_expect_str_eq(tc_header(r, "Cache-Control", buf, sizeof(buf)), "no-store");
	cr_expect_str_eq(tc_header(r, "X-Content-Type-Options", buf, sizeof(buf)), "nosniff");
	cr_expect_not_null(tc_header(r, "X-Request-Id", buf, sizeof(buf)));
}

static bool hex24(const char *s)
{
	return s != NULL && strlen(s) == 24 && strspn(s, "0123456789abcdef") == 24;
}

Test(api_server, unknown_path_is_404_json)
{
	static const char *const paths[] = {"/api/nope", "/api/health/", "/api/workspaces/x/nope",
					    "/api/Health"};

	for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
		struct tc_resp r;

		cr_assert_eq(tc_json(&env, NULL, "GET", paths[i], NULL, &r), 0);
		expect_json_error(&r, 404, "not_found");
		tc_resp_free(&r);
	}
}

Test(api_server, wrong_method_is_405_with_allow)
{
	struct tc_resp r;
	char allow[128];

	cr_assert_eq(tc_json(&env, NULL, "DELETE", "/api/health", NULL, &r), 0);
	expect_json_error(&r, 405, "method_not_allowed");
	cr_expect_str_eq(tc_header(&r, "Allow", allow, sizeof(allow)), "GET");
	tc_resp_free(&r);
	cr_assert_eq(tc_json(&env, NULL, "PUT", "/api/workspaces", "{}", &r), 0);
	expect_json_error(&r, 405, "method_not_allowed");
	cr_expect_str_eq(tc_header(&r, "Allow", allow, sizeof(allow)), "GET, POST");
	tc_resp_free(&r);
}

Test(api_server, request_id_echoed_or_generated)
{
	static const char *const valid[] = {"X-Request-Id: abc-123_x.y", NULL};
	static const char *const invalid[] = {"X-Request-Id: has space!", NULL};
	static const char *const toolong[] = {
		"X-Request-Id: "
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		NULL};
	static const char *const inject[] = {"X-Request-Id: abc\r\nX-Evil: 1", NULL};
	struct tc_resp r;
	char id[128], id2[128];

	cr_assert_eq(tc_call(&env, NULL, "GET", "/api/health", NULL, NULL, 0, valid, &r), 0);
	cr_expect_str_eq(tc_header(&r, "X-Request-Id", id, sizeof(id)), "abc-123_x.y");
	tc_resp_free(&r);
	cr_assert_eq(tc_call(&env, NULL, "GET", "/api/nope", NULL, NULL, 0, NULL, &r), 0);
	cr_expect(hex24(tc_header(&r, "X-Request-Id", id, sizeof(id))), "generated: %s", id);
	tc_resp_free(&r);
	cr_assert_eq(tc_call(&env, NULL, "GET", "/api/health", NULL, NULL, 0, NULL, &r), 0);
	cr_expect(hex24(tc_header(&r, "X-Request-Id", id2, sizeof(id2))));
	cr_expect_str_neq(id, id2, "a new id per request");
	tc_resp_free(&r);
	cr_assert_eq(tc_call(&env, NULL, "GET", "/api/health", NULL, NULL, 0, invalid, &r), 0);
	cr_expect(hex24(tc_header(&r, "X-Request-Id", id, sizeof(id))), "replaced: %s", id);
	tc_resp_free(&r);
	cr_assert_eq(tc_call(&env, NULL, "GET", "/api/health", NULL, NULL, 0, toolong, &r), 0);
	cr_expect(hex24(tc_header(&r, "X-Request-Id", id, sizeof(id))), "replaced: %s", id);
	tc_resp_free(&r);
	/* Whatever the client or lighttpd makes of the CR/LF, no header is forged. */
	if (tc_call(&env, NULL, "GET", "/api/health", NULL, NULL, 0, inject, &r) == 0) {
		cr_expect_null(tc_header(&r, "X-Evil", id, sizeof(id)), "%s", r.headers);
		if (tc_header(&r, "X-Request-Id", id, sizeof(id)) != NULL)
			cr_expect(strcmp(id, "abc") == 0 || hex24(id), "%s", id);
	}
	tc_resp_free(&r);
}

Test(api_server, body_over_limit_is_413)
{
	size_t len = HTTP_MAX_BODY_BYTES + 1;
	char *body = malloc(len);
	struct tc_resp r;

	cr_assert_not_null(body);
	memset(body, ' ', len);
	body[0] = '{';
	body[len - 1] = '}';
	cr_assert_eq(tc_call(&env, NULL, "POST", "/api/onboarding/identity", "application/json",
			     body, len, NULL, &r),
		     0);
	expect_json_error(&r, 413, "payload_too_large");
	tc_resp_free(&r);
	/* Exactly at the limit the body is read and parsed. */
	cr_assert_eq(tc_call(&env, NULL, "POST", "/api/onboarding/identity", "application/json",
			     body, len - 1, NULL, &r),
		     0);
	cr_expect_neq(r.status, 413);
	tc_resp_free(&r);
	free(body);
}

Test(api_server, malformed_json_is_400)
{
	static const char *const bodies[] = {"{bad", "{\"a\":1}x", "[1,2]", "\"text\"",
					     "{\"a\":1,\"a\":2}"};

	for (size_t i = 0; i < ARRAY_LEN(bodies); i++) {
		struct tc_resp r;

		cr_assert_eq(tc_json(&env, NULL, "POST", "/api/onboarding/identity", bodies[i], &r),
			     0);
		expect_json_error(&r, 400, "invalid_json");
		tc_resp_free(&r);
	}
}

Test(api_server, wrong_content_type_is_415)
{
	static const char *const types[] = {"text/plain", "multipart/form-data; boundary=x",
					    "application/xml"};

	for (size_t i = 0; i < ARRAY_LEN(types); i++) {
		struct tc_resp r;

		cr_assert_eq(tc_call(&env, NULL, "POST", "/api/onboarding/identity", types[i], "{}",
				     2, NULL, &r),
			     0);
		expect_json_error(&r, 415, "unsupported_media_type");
		tc_resp_free(&r);
	}
}

/* lighttpd refuses some of these itself (400, HTML); whatever reaches second-api is a 404
 * JSON. Either way nothing is served and both servers keep running. */
Test(api_server, traversal_never_routes)
{
	static const char *const paths[] = {
		"/api/../etc/passwd",      "/api/%2e%2e/etc/passwd", "/api/%2E%2E/api/health",
		"/api/workspaces/a%2Fb",   "/api/workspaces/a%2fb",  "/api/workspaces/%2e%2e",
		"/api/workspaces/..%2F..", "/api//health",           "/api/health%00",
		"/api/workspaces/a%00b",   "/api/workspaces/a%zzb",  "/api/x/../health",
		"/api/./health",
	};
	struct tc_resp r;

	for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
		cr_assert_eq(tc_call(&env, NULL, "GET", paths[i], NULL, NULL, 0, NULL, &r), 0, "%s",
			     paths[i]);
		cr_expect(r.status >= 400 && r.status < 500, "%s: %ld", paths[i], r.status);
		if (r.json != NULL)
			cr_expect_str_eq(json_string_value(json_object_get(r.json, "error")),
					 "not_found", "%s", paths[i]);
		cr_expect_null(strstr(r.body, "root:"), "%s served a file", paths[i]);
		tc_resp_free(&r);
	}
	cr_assert_eq(tc_json(&env, NULL, "GET", "/api/health", NULL, &r), 0);
	cr_expect_eq(r.status, 200);
	tc_resp_free(&r);
	cr_expect_eq(waitpid(env.api_pid, NULL, WNOHANG), 0, "second-api is still running");
}

static bool log_scan(const char *needle1, const char *needle2, const char *needle3)
{
	char path[HARNESS_PATH_MAX + 16], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/api.log", env.dir);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle1) != NULL && (!needle2 || strstr(line, needle2)) &&
			(!needle3 || strstr(line, needle3));
	fclose(f);
	return found;
}

/* The access line is written as the reply leaves, so allow it a moment to land. */
static bool log_has(const char *needle1, const char *needle2, const char *needle3)
{
	struct timespec step = {.tv_nsec = 20 * 1000000L};

	for (int i = 0; i < 100; i++) {
		if (log_scan(needle1, needle2, needle3))
			return true;
		nanosleep(&step, NULL);
	}
	return false;
}

Test(api_server, access_log_line_per_request)
{
	static const char *const id1[] = {"X-Request-Id: log-check-1", NULL};
	static const char *const id2[] = {"X-Request-Id: log-check-2", NULL};
	struct tc_resp r;

	cr_assert_eq(tc_call(&env, NULL, "GET", "/api/nope?token=hunter2", NULL, NULL, 0, id1, &r),
		     0);
	tc_resp_free(&r);
	cr_assert_eq(tc_call(&env, "cookie-secret-value", "POST", "/api/onboarding/identity",
			     "application/json", "{\"displayName\":\"body-secret\"}", 29, id2, &r),
		     0);
	tc_resp_free(&r);
	cr_expect(log_has("[req=log-check-1]", "GET /api/nope status=404", "error=not_found"));
	cr_expect(log_has("[req=log-check-2]", "POST /api/onboarding/identity status=", NULL));
	cr_expect_not(log_scan("hunter2", NULL, NULL), "query values are never logged");
	cr_expect_not(log_scan("cookie-secret-value", NULL, NULL), "cookies are never logged");
	cr_expect_not(log_scan("body-secret", NULL, NULL), "bodies are never logged");
}

Test(api_server, health_ok_then_503_without_redis)
{
	struct tc_resp r;
	json_t *j;

	cr_assert_eq(tc_json(&env, NULL, "GET", "/api/health", NULL, &r), 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_assert_not_null(r.json);
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "status")), "ok");
	j = json_object_get(r.json, "store");
	cr_expect_str_eq(json_string_value(json_object_get(j, "status")), "ok");
	cr_expect_str_eq(json_string_value(json_object_get(j, "backend")), "sqlite");
	j = json_object_get(r.json, "redis");
	cr_expect_str_eq(json_string_value(json_object_get(j, "status")), "ok");
	tc_resp_free(&r);
	harness_redis_stop(&env.redis);
	cr_assert_eq(tc_json(&env, NULL, "GET", "/api/health", NULL, &r), 0);
	cr_expect_eq(r.status, 503, "%s", r.body);
	cr_assert_not_null(r.json);
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "status")), "error");
	j = json_object_get(r.json, "redis");
	cr_expect_str_eq(json_string_value(json_object_get(j, "status")), "error");
	j = json_object_get(r.json, "store");
	cr_expect_str_eq(json_string_value(json_object_get(j, "status")), "ok");
	cr_expect_null(strstr(r.body, env.redis.sock), "no socket path in a public reply");
	tc_resp_free(&r);
}

Test(api_server, static_files_and_headers)
{
	struct tc_resp r;
	char buf[256];

	cr_assert_eq(tc_call(&env, NULL, "GET", "/", NULL, NULL, 0, NULL, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_not_null(strstr(r.body, "<title>Second</title>"));
	cr_expect_null(tc_header(&r, "Server", buf, sizeof(buf)), "no server tag");
	tc_resp_free(&r);
	cr_assert_eq(tc_call(&env, NULL, "GET", "/assets/app.js", NULL, NULL, 0, NULL, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_not_null(strstr(tc_header(&r, "Content-Type", buf, sizeof(buf)), "javascript"));
	tc_resp_free(&r);
	cr_assert_eq(tc_call(&env, NULL, "GET", "/assets/", NULL, NULL, 0, NULL, &r), 0);
	cr_expect(r.status == 403 || r.status == 404, "no directory listing: %ld", r.status);
	cr_expect_null(strstr(r.body, "app.js"));
	tc_resp_free(&r);
	cr_assert_eq(tc_call(&env, NULL, "GET", "/api/health", NULL, NULL, 0, NULL, &r), 0);
	cr_expect_null(tc_header(&r, "Server", buf, sizeof(buf)));
	cr_expect_str_eq(tc_header(&r, "Cache-Control", buf, sizeof(buf)), "no-store");
	tc_resp_free(&r);
	/* HEAD runs the GET route; lighttpd drops the body. */
	cr_assert_eq(tc_call(&env, NULL, "HEAD", "/api/health", NULL, NULL, 0, NULL, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.len, 0);
	tc_resp_free(&r);
}

struct load {
	int ok;
};

static void *load_thread(void *arg)
{
	struct load *l = arg;

	for (int i = 0; i < 25; i++) {
		struct tc_resp r;

		if (tc_call(&env, NULL, "GET", i % 2 ? "/api/health" : "/api/nope", NULL, NULL, 0,
			    NULL, &r) == 0 &&
		    r.status == (i % 2 ? 200 : 404))
			l->ok++;
		tc_resp_free(&r);
	}
	return NULL;
}

Test(api_server, concurrent_requests)
{
	pthread_t t[16];
	struct load l[16] = {{0}};

	for (size_t i = 0; i < ARRAY_LEN(t); i++)
		cr_assert_eq(pthread_create(&t[i], NULL, load_thread, &l[i]), 0);
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(l[i].ok, 25, "thread %zu: %d of 25", i, l[i].ok);
	}
}

Test(api_server, restart_keeps_serving)
{
	struct tc_resp r;

	cr_assert_eq(tc_api_restart(&env), 0);
	cr_assert_eq(tc_json(&env, NULL, "GET", "/api/health", NULL, &r), 0);
	cr_expect_eq(r.status, 200, "%s", r.body);
	tc_resp_free(&r);
}

/* One FastCGI record: version 1, request id 1. */
static void fcgi_record(int fd, int type, const void *data, size_t len)
{
	unsigned char h[8] = {
		1, (unsigned char)type, 0, 1, (unsigned char)(len >> 8), (unsigned char)len, 0, 0};

	cr_assert_eq(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
	if (len > 0)
		cr_assert_eq(write(fd, data, len), (ssize_t)len);
}

/* Appends one FastCGI name-value pair (both under 128 bytes) to buf. */
static size_t fcgi_pair(unsigned char *buf, size_t at, const char *name, const char *value)
{
	size_t n = strlen(name), v = strlen(value);

	buf[at++] = (unsigned char)n;
	buf[at++] = (unsigned char)v;
	memcpy(buf + at, name, n);
	memcpy(buf + at + n, value, v);
	return at + n + v;
}

static int fcgi_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	return fd;
}

/* Waits up to STOP_WAIT_MS for pid; its wait status, or -1 if it is still running. */
static int wait_exit(pid_t pid)
{
	struct timespec step = {.tv_nsec = 20 * 1000000L};
	int status;

	for (int waited = 0; waited < STOP_WAIT_MS; waited += 20) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		nanosleep(&step, NULL);
	}
	return -1;
}

Test(api_server, sigterm_finishes_request_in_flight_then_exits_0)
{
	static const char body[] = "{\"displayName\":\"Slow Sender\",\"profileRole\":\"Engineer\"}";
	unsigned char begin[8] = {0, 1, 0, 0, 0, 0, 0, 0}, params[512];
	char len[16], reply[8192] = "";
	size_t n = 0, got = 0;
	struct tc_resp r;
	ssize_t k;
	int fd, status;

	cr_assert_eq(tc_json(&env, NULL, "GET", "/api/health", NULL, &r), 0);
	cr_expect_eq(r.status, 200, "a request just before the stop completes");
	tc_resp_free(&r);
	snprintf(len, sizeof(len), "%zu", strlen(body));
	n = fcgi_pair(params, n, "REQUEST_METHOD", "POST");
	n = fcgi_pair(params, n, "REQUEST_URI", "/api/onboarding/identity");
	n = fcgi_pair(params, n, "CONTENT_TYPE", "application/json");
	n = fcgi_pair(params, n, "CONTENT_LENGTH", len);
	fd = fcgi_connect(env.api_sock);
	fcgi_record(fd, 1, begin, sizeof(begin)); /* FCGI_BEGIN_REQUEST, responder */
	fcgi_record(fd, 4, params, n);            /* FCGI_PARAMS */
	fcgi_record(fd, 4, NULL, 0);
	fcgi_record(fd, 5, body, 10); /* FCGI_STDIN: the first bytes only */
	/* The worker is now blocked reading the body. */
	nanosleep(&(struct timespec){.tv_nsec = 200 * 1000000L}, NULL);
	cr_assert_eq(kill(env.api_pid, SIGTERM), 0);
	nanosleep(&(struct timespec){.tv_nsec = 200 * 1000000L}, NULL);
	cr_expect_eq(waitpid(env.api_pid, NULL, WNOHANG), 0, "it waits for the request");
	fcgi_record(fd, 5, body + 10, strlen(body) - 10);
	fcgi_record(fd, 5, NULL, 0);
	while (got < sizeof(reply) - 1 && (k = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0)
		got += (size_t)k;
	reply[got] = '\0';
	close(fd);
	cr_expect_not_null(memmem(reply, got, "Status: 200 OK", 14), "reply: %.*s", (int)got,
			   reply);
	status = wait_exit(env.api_pid);
	cr_assert_neq(status, -1, "second-api still runs %d ms after SIGTERM", STOP_WAIT_MS);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status %d", status);
	env.api_pid = 0;
	cr_expect_eq(access(env.api_sock, F_OK), -1, "the socket file is removed");
}
