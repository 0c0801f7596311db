/* The API test environment: real redis-server, second-api and lighttpd, and an HTTP client.
 *
 * tc_env_start() starts, in a fresh temp dir: redis-server on a unix socket, second-api on a
 * FastCGI unix socket with a SQLite store file, and lighttpd (contrib/lighttpd/second.conf) on a
 * free 127.0.0.1 port routing /api/ to it. Every API test goes through lighttpd with libcurl,
 * never by calling handlers. A missing lighttpd or redis-server exits 77 (SKIP) with the
 * reason. tc_env_stop() stops all three (SIGTERM, then SIGKILL) and is safe to call twice;
 * the harness also stops them at exit. The environment also opens the same store, so tests can
 * check what was (or was not) written. */
#ifndef SECOND_TESTS_API_CLIENT_H
#define SECOND_TESTS_API_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "lib/store.h"
#include "tests/harness.h"

struct tc_env {
	struct harness_redis redis;
	char dir[HARNESS_PATH_MAX];
	char store_uri[HARNESS_PATH_MAX + 16];
	char api_sock[HARNESS_PATH_MAX];
	char sse_sock[HARNESS_PATH_MAX]; /* second-sse's, routed by lighttpd even when not run */
	char base_url[64];               /* "http://127.0.0.1:PORT" */
	int port;
	pid_t api_pid, lighttpd_pid, sse_pid;
	struct store *store; /* the same store, for assertions */
	/* "KEY=value" settings second-api also gets (NULL-terminated, may be NULL), e.g. its
	 * workerd; set before tc_api_restart. */
	const char *const *api_extra_env;
};

int tc_env_start(struct tc_env *env);
/* The same, with lighttpd serving the built platform UI ($top_srcdir/www/dist) at /; exits 77
 * (SKIP) when www/dist/index.html is missing. */
int tc_env_start_ui(struct tc_env *env);
/* Exits 77 (SKIP) with the reason when www/dist/index.html is missing. Call it from the
 * runner process (a ReportHook(PRE_ALL)): an exit in a test's worker is a crash, not a skip. */
void tc_require_ui(void);
void tc_env_stop(struct tc_env *env);
/* Stops and restarts second-api only (same socket and store). */
int tc_api_restart(struct tc_env *env);
/* Starts second-sse on env->sse_sock with the same store and Redis; extra_env (NULL-terminated
 * "KEY=value", may be NULL) adds its workerd settings. Stopped by tc_env_stop. */
int tc_sse_start(struct tc_env *env, const char *const *extra_env);
/* Stops second-sse and reports how it ended (a crash or sanitizer report fails the caller's
 * check through its exit status: 0 is a clean stop). */
int tc_sse_stop(struct tc_env *env);

struct tc_resp {
	long status;
	char *body; /* NUL-terminated */
	size_t len;
	json_t *json;  /* parsed body when it is JSON, else NULL */
	char *headers; /* raw response header block */
};

/* The value of a response header (case-insensitive name), copied into buf; NULL if absent. */
const char *tc_header(const struct tc_resp *r, const char *name, char *buf, size_t bufsz);
/* Any request. cookie is a session cookie value (sent as second_session=...) or NULL;
 * extra_headers is a NULL-terminated list of "Name: value" strings or NULL. */
int tc_call(struct tc_env *env, const char *cookie, const char *method, const char *path,
	    const char *content_type, const char *body, size_t len,
	    const char *const *extra_headers, struct tc_resp *out);
/* A JSON request (body may be NULL); out->json holds the parsed reply. */
int tc_json(struct tc_env *env, const char *cookie, const char *method, const char *path,
	    const char *json_body, struct tc_resp *out);
void tc_resp_free(struct tc_resp *r);

/* Signs in through POST /api/onboarding/identity and returns the session cookie value
 * (malloc'd). email NULL means the default local user. Asserts success. */
char *tc_login(struct tc_env *env, const char *display_name, const char *email);
/* POST /api/workspaces {"name": name}; returns the new workspace id (malloc'd). */
char *tc_workspace_new(struct tc_env *env, const char *cookie, const char *name);
/* Invites email with role into ws (as owner_cookie), signs that person in and accepts:
 * returns the new member's cookie (malloc'd). */
char *tc_member_add(struct tc_env *env, const char *owner_cookie, const char *ws, const char *email,
		    const char *role);
/* A snapshot of every collection (compact JSON, sorted), to prove a request changed nothing. */
char *tc_store_dump(struct tc_env *env);

#endif
