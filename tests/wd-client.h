/* The workerd test environment: the scripted model server, workerd itself, and a client for
 * workerd's internal API over its unix socket.
 *
 * wd_model_start() runs tests/e2e/model-server.mjs with the scenarios of tests/e2e/scenarios
 * (or env->scenarios, with env->default_scenario for prompts without a marker) on a free
 * loopback port, recording every request in env->record. wd_start() runs workerd
 * with --listen on a unix socket in a temp dir, its broker on a free loopback port, its
 * workspaces, runtime dir and HOME in the same temp dir, and the agent CLIs installed by
 * `npm ci --prefix tests/e2e` on its runtime PATH. Tests that need the CLIs call
 * wd_require_clis(), which exits 77 (SKIP) with the reason when they are not installed. */
#ifndef SECOND_TESTS_WD_CLIENT_H
#define SECOND_TESTS_WD_CLIENT_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "tests/api-client.h"
#include "tests/harness.h"

struct wd_env {
	char dir[HARNESS_PATH_MAX];
	char sock[HARNESS_PATH_MAX + 16];
	char ws_dir[HARNESS_PATH_MAX + 16];
	char rt_dir[HARNESS_PATH_MAX + 16];
	char home[HARNESS_PATH_MAX + 16];
	char record[HARNESS_PATH_MAX + 16];
	char log[HARNESS_PATH_MAX + 16];
	char cli_bin[HARNESS_PATH_MAX + 32]; /* tests/e2e/node_modules/.bin */
	/* Set after wd_env_init, before wd_model_start; empty: tests/e2e/scenarios, no default. */
	char scenarios[HARNESS_PATH_MAX];
	char default_scenario[64];
	char model_url[64];
	char mcp_url[64];
	char token[64];
	pid_t model_pid, pid;
};

/* Exits 77 unless node and the three CLIs are installed in tests/e2e/node_modules. */
void wd_require_clis(void);
/* Fills the paths: a new temp dir with workspaces, runtime dir, HOME and the recordings. */
void wd_env_init(struct wd_env *env);
/* Starts the model server (after wd_env_init). */
int wd_model_start(struct wd_env *env);
/* Starts workerd under systemd-socket-activate, which listens on env->sock and on the
 * loopback `port` and passes both sockets; exits 77 when systemd-socket-activate is missing. */
int wd_start_activated(struct wd_env *env, int port, const char *const *extra_env);
/* Starts workerd; `extra_env` is a NULL-terminated list of "KEY=value" added to its
 * environment (may be NULL). Waits until /health answers. */
int wd_start(struct wd_env *env, const char *const *extra_env);
/* Stops workerd (SIGTERM) and returns its wait status. */
int wd_stop(struct wd_env *env);
void wd_env_stop(struct wd_env *env); /* workerd and the model server */

/* One call to the internal API with the env's token (or `token`, "" for none). */
int wd_call(struct wd_env *env, const char *method, const char *path, const char *json_body,
	    const char *token, struct tc_resp *out);

/* A turn's SSE reply, parsed: every data event in order ([DONE] excluded). */
struct wd_stream {
	long status;
	json_t *events;    /* array of JSON messages */
	bool done;         /* ended with data: [DONE] */
	const char *error; /* text of the error event, if one came (borrowed from events) */
	int keepalives;    /* ": keep-alive" comments seen */
	char *raw;
};
int wd_turn(struct wd_env *env, const char *app_id, const char *json_body, struct wd_stream *out);
void wd_stream_free(struct wd_stream *s);
/* The concatenated text of every text_delta in the stream. malloc'd. */
char *wd_stream_text(const struct wd_stream *s);
/* Number of events with this "type" (and "subtype" when not NULL). */
int wd_stream_count(const struct wd_stream *s, const char *type, const char *subtype);
/* A JSON text for a /messages body: prompt "[scenario:NAME] ...", the runtime and model,
 * and `extra` (a JSON object text, may be NULL) merged in. malloc'd. */
char *wd_turn_body(const char *scenario, const char *runtime, const char *model, const char *extra);

#endif
