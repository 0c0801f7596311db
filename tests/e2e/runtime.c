/* End-to-end tests of one runtime adapter with its real CLI, through workerd.
 *
 * Built once per runtime (E2E_RUNTIME_CLAUDE, _CODEX, _OPENCODE) from this one source. Each
 * test starts the scripted model server and workerd in a temp dir and drives a turn over
 * workerd's internal API: streamed text and usage, the present_plan approval stop through
 * the broker, a file written into the workspace, a resumed session, cancel within the grace
 * period, the broker's refusals, and the environment a Bash call sees. Skips (77) when the
 * CLIs are not installed (`npm ci --prefix tests/e2e`, done by contrib/second-dev setup). */
#include <config.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "lib/jsonx.h"
#include "tests/wd-client.h"

#if defined(E2E_RUNTIME_CLAUDE)
#define RUNTIME "claude-code"
#define MODEL "claude-sonnet-4-5"
#define CONFIG_FILE "mcp.json"
#elif defined(E2E_RUNTIME_CODEX)
#define RUNTIME "codex-cli"
#define MODEL "gpt-5.5"
#define CONFIG_FILE "config.toml"
#elif defined(E2E_RUNTIME_OPENCODE)
#define RUNTIME "opencode"
#define MODEL "mock/m1"
#define CONFIG_FILE "opencode.json"
#else
#error "define E2E_RUNTIME_CLAUDE, E2E_RUNTIME_CODEX or E2E_RUNTIME_OPENCODE"
#endif

#define SCENARIO_TEXT "Hello from the scripted model. This reply streams in deltas."

static struct wd_env env;
static char extra[16][HARNESS_PATH_MAX + 128];

/* What each runtime needs to reach the scripted model. */
static void runtime_env(const char **list, size_t *n)
{
#if defined(E2E_RUNTIME_CLAUDE)
	snprintf(extra[0], sizeof(extra[0]), "ANTHROPIC_BASE_URL=%s", env.model_url);
	snprintf(extra[1], sizeof(extra[1]), "ANTHROPIC_API_KEY=test-model-key");
	snprintf(extra[2], sizeof(extra[2]), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1");
	for (size_t i = 0; i < 3; i++)
		list[(*n)++] = extra[i];
#elif defined(E2E_RUNTIME_CODEX)
	snprintf(extra[0], sizeof(extra[0]), "SECOND_WORKERD_CODEX_BASE_URL=%s/v1", env.model_url);
	snprintf(extra[1], sizeof(extra[1]), "OPENAI_API_KEY=test-model-key");
	for (size_t i = 0; i < 2; i++)
		list[(*n)++] = extra[i];
#else
	snprintf(extra[0], sizeof(extra[0]), "SECOND_WORKERD_OPENCODE_CONFIG_FILE=%s/opencode.json",
		 env.dir);
	FILE *f = fopen(extra[0] + strlen("SECOND_WORKERD_OPENCODE_CONFIG_FILE="), "w");
	cr_assert_not_null(f);
	fprintf(f,
		"{\"provider\":{\"mock\":{\"npm\":\"@ai-sdk/openai-compatible\",\"name\":\"Mock\","
		"\"options\":{\"baseURL\":\"%s/v1\",\"apiKey\":\"test-model-key\"},\"models\":{"
		"\"m1\":{\"name\":\"Mock 1\",\"tool_call\":true}}}}}\n",
		env.model_url);
	fclose(f);
	list[(*n)++] = extra[0];
#endif
}

static void start(const char *const *more)
{
	const char *list[32];
	size_t n = 0;
	wd_require_clis();
	wd_env_init(&env);
	cr_assert_eq(wd_model_start(&env), 0, "the model server did not start");
	runtime_env(list, &n);
	for (size_t i = 0; more && more[i]; i++)
		list[n++] = more[i];
	list[n] = NULL;
	cr_assert_eq(wd_start(&env, list), 0, "workerd did not start (log %s)", env.log);
}

static void setup(void)
{
	start(NULL);
}

static void teardown(void)
{
	wd_env_stop(&env);
}

static void turn(const char *app, const char *scenario, const char *extra_json, struct wd_stream *s)
{
	char *body = wd_turn_body(scenario, RUNTIME, MODEL, extra_json);
	cr_assert_eq(wd_turn(&env, app, body, s), 0, "the turn request failed");
	free(body);
	cr_assert_eq(s->status, 200);
}

TestSuite(runtime, .timeout = 240);

Test(runtime, text_streams_with_usage, .init = setup, .fini = teardown)
{
	struct wd_stream s;
	turn("app-text", "text", NULL, &s);
	cr_assert(s.done, "no [DONE]; error: %s\n%s", s.error ? s.error : "-", s.raw);
	cr_expect_null(s.error);
	char *text = wd_stream_text(&s);
	cr_expect_str_eq(text, SCENARIO_TEXT);
	free(text);
	cr_expect_geq(wd_stream_count(&s, "system", "init"), 1);
	cr_assert_eq(wd_stream_count(&s, "result", NULL), 1, "%s", s.raw);
	json_t *result = NULL;
	size_t i;
	json_t *ev;
	json_array_foreach (s.events, i, ev)
		if (strcmp(jsonx_str(ev, "type"), "result") == 0)
			result = ev;
	json_t *usage = json_object_get(json_object_get(result, "modelUsage"), MODEL);
	cr_assert_not_null(usage, "result without modelUsage for %s: %s", MODEL,
			   json_dumps(result, 0));
	cr_expect_eq(json_integer_value(json_object_get(usage, "inputTokens")), 120);
	cr_expect_eq(json_integer_value(json_object_get(usage, "outputTokens")), 14);
	wd_stream_free(&s);
}

/* The tool_result text of the first tool_use named `tool`, or NULL. */
static const char *tool_result(const struct wd_stream *s, const char *tool)
{
	const char *id = NULL;
	size_t i, k;
	json_t *ev, *part;
	json_array_foreach (s->events, i, ev) {
		json_t *content = json_object_get(json_object_get(ev, "message"), "content");
		json_array_foreach (content, k, part) {
			const char *type = jsonx_str(part, "type");
			if (!type)
				continue;
			if (!id && strcmp(type, "tool_use") == 0 && jsonx_str(part, "name") &&
			    strcmp(jsonx_str(part, "name"), tool) == 0)
				id = jsonx_str(part, "id");
			if (id && strcmp(type, "tool_result") == 0 &&
			    jsonx_str(part, "tool_use_id") &&
			    strcmp(jsonx_str(part, "tool_use_id"), id) == 0) {
				json_t *c = json_object_get(part, "content");
				if (json_is_string(c))
					return json_string_value(c);
				if (json_is_array(c))
					return jsonx_str(json_array_get(c, 0), "text");
				static __thread char buf[8192];
				char *d = json_dumps(c, JSON_COMPACT);
				snprintf(buf, sizeof(buf), "%s", d ? d : "");
				free(d);
				return buf;
			}
		}
	}
	return NULL;
}

Test(runtime, plan_stops_at_the_approval, .init = setup, .fini = teardown)
{
	struct wd_stream s;
	turn("app-plan", "plan", NULL, &s);
	cr_assert(s.done, "no [DONE]; error: %s", s.error ? s.error : "-");
	const char *res = tool_result(&s, "mcp__second__present_plan");
	cr_assert_not_null(res, "no present_plan result in %s", s.raw);
	cr_expect(strstr(res, "\"status\":\"presented\"") != NULL, "%s", res);
	cr_expect(strstr(res, "Team Tasks") != NULL, "%s", res);
	/* The turn ended at the approval: the model was never asked for its next step. */
	cr_expect_eq(wd_stream_count(&s, "result", NULL), 0, "%s", s.raw);
	cr_expect(strstr(s.raw, "The plan is ready for review.") == NULL);
	wd_stream_free(&s);
}

Test(runtime, write_creates_a_file_in_the_workspace, .init = setup, .fini = teardown)
{
	struct wd_stream s;
	char path[HARNESS_PATH_MAX + 64], buf[256] = {0};
	turn("app-write", "write", NULL, &s);
	cr_assert(s.done, "no [DONE]; error: %s", s.error ? s.error : "-");
	snprintf(path, sizeof(path), "%s/app-write/hello.txt", env.ws_dir);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s was not written: %s", path, s.raw);
	cr_expect_gt(fread(buf, 1, sizeof(buf) - 1, f), 0);
	fclose(f);
	cr_expect_str_eq(buf, "hello from the scripted model\n");
	/* The workspace was scaffolded from the template, and no empty sandbox placeholder
	 * replaced a file of it. */
	struct stat st;
	snprintf(path, sizeof(path), "%s/app-write/package.json", env.ws_dir);
	cr_expect(stat(path, &st) == 0 && st.st_size > 0, "no template package.json in %s", path);
	snprintf(path, sizeof(path), "%s/app-write/yarn.lock", env.ws_dir);
	cr_expect_neq(access(path, F_OK), 0, "an empty yarn.lock was left in the workspace");
	wd_stream_free(&s);
}

/* The body of the last recorded model request whose text holds `needle`. malloc'd. */
static char *recorded_with(const char *needle)
{
	DIR *d = opendir(env.record);
	char best[512] = "", *out = NULL;
	cr_assert_not_null(d);
	for (struct dirent *de; (de = readdir(d));) {
		char path[HARNESS_PATH_MAX + 300];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", env.record, de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		long n = ftell(f);
		rewind(f);
		char *text = calloc(1, (size_t)n + 1);
		cr_assert_not_null(text);
		cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
		fclose(f);
		if (strstr(text, needle) && strcmp(de->d_name, best) > 0) {
			snprintf(best, sizeof(best), "%s", de->d_name);
			free(out);
			out = text;
		} else {
			free(text);
		}
	}
	closedir(d);
	return out;
}

Test(runtime, second_turn_resumes_the_session, .init = setup, .fini = teardown)
{
	struct wd_stream s1, s2;
	struct tc_resp st;
	turn("app-resume", "text", NULL, &s1);
	cr_assert(s1.done, "first turn: %s", s1.error ? s1.error : s1.raw);
	cr_assert_eq(wd_call(&env, "GET", "/sessions/app-resume/status", NULL, NULL, &st), 0);
	json_t *state = json_object_get(st.json, "sessionState");
	cr_assert(json_is_object(state), "no session state: %s", st.body);
	cr_expect_str_eq(jsonx_str(state, "runtimeId"), RUNTIME);
	const char *sid = jsonx_str(state, "sessionId");
	cr_assert(sid && *sid);
	/* session-file gives the same state; Claude's carries the session's JSONL (W-8). */
	struct tc_resp sf;
	cr_assert_eq(wd_call(&env, "GET", "/sessions/app-resume/session-file", NULL, NULL, &sf), 0);
	json_t *fstate = json_object_get(sf.json, "sessionState");
	cr_expect_str_eq(jsonx_str(fstate, "sessionId"), sid, "%s", sf.body);
#if defined(E2E_RUNTIME_CLAUDE)
	const char *data = jsonx_str(fstate, "data");
	cr_assert(data && strstr(data, sid), "no JSONL in %s", sf.body);
	/* Another host: the session and Claude's file are gone; the JSONL in the state brings
	 * the conversation back (S-7). */
	struct tc_resp del;
	cr_assert_eq(wd_call(&env, "DELETE", "/sessions/app-resume", NULL, NULL, &del), 0);
	tc_resp_free(&del);
	char cmd[HARNESS_PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/.claude/projects'", env.home);
	cr_assert_eq(system(cmd), 0);
	state = fstate;
#endif
	char *sj = json_dumps(state, JSON_COMPACT), *extra_json = NULL;
	cr_assert(asprintf(&extra_json, "{\"sessionState\":%s}", sj) > 0);
	free(sj);
	turn("app-resume", "resume", extra_json, &s2);
	free(extra_json);
	tc_resp_free(&sf);
	cr_assert(s2.done, "second turn: %s", s2.error ? s2.error : s2.raw);
	char *text = wd_stream_text(&s2);
	cr_expect(strstr(s2.raw, "Continuing the") != NULL, "%s", text);
	free(text);
	/* The model saw the first turn's reply in the second turn's history. */
	char *req = recorded_with("[scenario:resume]");
	cr_assert_not_null(req);
	cr_expect(strstr(req, "Hello from the") != NULL, "the resumed request lacks history");
	free(req);
	tc_resp_free(&st);
	wd_stream_free(&s1);
	wd_stream_free(&s2);
}

struct bg_turn {
	struct wd_stream s;
	const char *app, *scenario;
	int64_t ended_ms;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *bg(void *arg)
{
	struct bg_turn *b = arg;
	char *body = wd_turn_body(b->scenario, RUNTIME, MODEL, NULL);
	wd_turn(&env, b->app, body, &b->s);
	b->ended_ms = now_ms();
	free(body);
	return NULL;
}

/* Whether the slow scenario's `sleep 30` runs in one of this test's workspaces. */
static bool sleeper_alive(void)
{
	return harness_proc_running_in("sleep 30", env.ws_dir);
}

/* The broker URL (…/mcp/<id>?server=second) from the runtime's private config file. */
static bool broker_url_of(const char *app, char *url, size_t urlsz)
{
	char path[HARNESS_PATH_MAX + 128], text[16384] = {0};
	snprintf(path, sizeof(path), "%s/%s/%s/%s", env.rt_dir, RUNTIME, app, CONFIG_FILE);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	char *u = strstr(text, "http://127.0.0.1:");
	if (!u)
		return false;
	size_t len = strcspn(u, "\"' \n");
	if (len >= urlsz)
		return false;
	memcpy(url, u, len);
	url[len] = '\0';
	return strstr(url, "/mcp/") != NULL;
}

static long broker_post(const char *url, const char *token, const char *body, char *reply,
			size_t replysz)
{
	FILE *mem = fmemopen(reply, replysz, "w");
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char auth[256];
	long status = 0;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	fclose(mem);
	return status;
}

Test(runtime, cancel_ends_the_process_and_broker_refuses_a_wrong_token, .init = setup,
     .fini = teardown)
{
	struct bg_turn b = {.app = "app-slow", .scenario = "slow"};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, bg, &b), 0);
	int64_t deadline = now_ms() + 60000;
	while (!sleeper_alive() && now_ms() < deadline)
		usleep(100000);
	cr_assert(sleeper_alive(), "the slow command never started");

	/* While the turn runs, its broker session exists: a wrong token is refused. */
	char url[512], reply[4096] = {0};
	cr_assert(broker_url_of("app-slow", url, sizeof(url)), "no broker URL in the config");
	long st = broker_post(url, "wrong-token",
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", reply,
			      sizeof(reply));
	cr_expect_eq(st, 200);
	cr_expect(strstr(reply, "invalid_tool_broker_token") != NULL, "%s", reply);

	/* A second message while the turn runs gets the busy error event, not a second turn. */
	struct wd_stream busy;
	turn("app-slow", "text", NULL, &busy);
	cr_expect(!busy.done);
	cr_expect(busy.error && strstr(busy.error, "already processing another message"), "%s",
		  busy.raw);
	wd_stream_free(&busy);

	struct tc_resp r;
	int64_t asked = now_ms();
	cr_assert_eq(wd_call(&env, "POST", "/sessions/app-slow/cancel", "{}", NULL, &r), 0);
	cr_expect(json_is_true(json_object_get(r.json, "cancelled")), "%s", r.body);
	tc_resp_free(&r);
	pthread_join(th, NULL);
	cr_expect_leq(b.ended_ms - asked, 2500, "the stream took %lld ms to end",
		      (long long)(b.ended_ms - asked));
	while (sleeper_alive() && now_ms() < asked + 2500)
		usleep(50000);
	cr_expect(!sleeper_alive(), "the runtime's command outlived the cancel");
	cr_expect_str_eq(b.s.error, "Agent run cancelled");
	cr_expect(!b.s.done);
	wd_stream_free(&b.s);
	/* The session is idle again and the broker session is gone. */
	cr_assert_eq(wd_call(&env, "GET", "/sessions/app-slow/status", NULL, NULL, &r), 0);
	cr_expect_str_eq(jsonx_str(r.json, "status"), "idle");
	tc_resp_free(&r);
	memset(reply, 0, sizeof(reply));
	broker_post(url, "wrong-token", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}",
		    reply, sizeof(reply));
	cr_expect(strstr(reply, "unknown_or_expired_tool_broker_session") != NULL, "%s", reply);
}

Test(runtime, a_tool_outside_the_allow_list_is_not_served, .init = setup, .fini = teardown)
{
	struct wd_stream s;
	turn("app-deny", "plan", "{\"allowedTools\":[\"Read\",\"Write\"]}", &s);
	cr_expect_null(
		tool_result(&s, "mcp__second__present_plan") &&
				strstr(tool_result(&s, "mcp__second__present_plan"), "presented")
			? "presented"
			: NULL,
		"present_plan ran although it is not allowed: %s", s.raw);
	cr_expect(strstr(s.raw, "\\\"status\\\":\\\"presented\\\"") == NULL, "%s", s.raw);
	wd_stream_free(&s);
}

static const char *const forbidden[] = {
	"INTERNAL_API_TOKEN",
	"MONGODB_URI",
	"REDIS_URL",
	"WORKOS_API_KEY",
	"WORKOS_COOKIE_PASSWORD",
	"TOOL_EXECUTE_URL",
	"WEB_URL",
	"WORKER_URL",
	"COOKIE",
	"AUTHORIZATION",
	NULL,
};

static void env_setup(void)
{
	static char kv[16][128];
	const char *list[16];
	size_t n = 0;
	for (size_t i = 0; forbidden[i]; i++) {
		snprintf(kv[i], sizeof(kv[i]), "%s=forbidden-marker-%zu", forbidden[i], i);
		list[n++] = kv[i];
	}
	list[n] = NULL;
	start(list);
}

Test(runtime, bash_sees_none_of_the_forbidden_keys, .init = env_setup, .fini = teardown)
{
	struct wd_stream s;
	turn("app-env", "env", NULL, &s);
	cr_assert(s.done, "error: %s\n%s", s.error ? s.error : "-", s.raw);
	cr_assert(strstr(s.raw, "PATH=") != NULL, "the environment was not printed: %s", s.raw);
	cr_expect(strstr(s.raw, "forbidden-marker") == NULL, "a forbidden key reached the runtime");
	cr_expect(strstr(s.raw, env.token) == NULL, "the internal token reached the runtime");
	for (size_t i = 0; forbidden[i]; i++) {
		char needle[64];
		snprintf(needle, sizeof(needle), "\\n%s=", forbidden[i]);
		cr_expect(strstr(s.raw, needle) == NULL, "%s is in the runtime environment",
			  forbidden[i]);
	}
	wd_stream_free(&s);
}

Test(runtime, metadata_names_the_app, .init = setup, .fini = teardown)
{
	struct tc_resp r;
	char body[512];
	snprintf(body, sizeof(body),
		 "{\"prompt\":\"[scenario:metadata] a task tracker for my team\",\"runtimeId\":"
		 "\"%s\",\"runtimeModel\":\"%s\",\"runtimeParams\":{}}",
		 RUNTIME, MODEL);
	cr_assert_eq(wd_call(&env, "POST", "/sessions/app-meta/metadata", body, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(jsonx_str(r.json, "name"), "Team Tasks");
	cr_expect_str_eq(jsonx_str(r.json, "description"),
			 "Track the team's open tasks and who owns each one.");
	tc_resp_free(&r);
	/* The throwaway workspace is gone. */
	DIR *d = opendir(env.ws_dir);
	cr_assert_not_null(d);
	for (struct dirent *de; (de = readdir(d));)
		cr_expect(strstr(de->d_name, "__metadata__") == NULL, "%s was left", de->d_name);
	closedir(d);
}

#if defined(E2E_RUNTIME_CLAUDE)
/* Whether a built script under dist/assets holds `needle`. */
static bool dist_has(const char *app, const char *needle)
{
	char dir[HARNESS_PATH_MAX + 64];
	snprintf(dir, sizeof(dir), "%s/%s/dist/assets", env.ws_dir, app);
	DIR *d = opendir(dir);
	bool found = false;
	for (struct dirent *de; d && !found && (de = readdir(d));) {
		char path[HARNESS_PATH_MAX + 400];
		if (!strstr(de->d_name, ".js"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "r");
		static char buf[1 << 20];
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = '\0';
		found = strstr(buf, needle) != NULL;
	}
	if (d)
		closedir(d);
	return found;
}

Test(runtime, done_building_builds_the_app, .init = setup, .fini = teardown)
{
	struct wd_stream s;
	turn("app-build", "build", NULL, &s);
	cr_assert(s.done, "error: %s\n%s", s.error ? s.error : "-", s.raw);
	const char *res = tool_result(&s, "mcp__second__done_building");
	cr_assert_not_null(res, "no done_building result: %s", s.raw);
	cr_expect(strstr(res, "\"status\":\"complete\"") != NULL, "%s", res);
	char path[HARNESS_PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/app-build/dist/index.html", env.ws_dir);
	cr_expect_eq(access(path, F_OK), 0, "dist/index.html was not built");
	cr_expect(dist_has("app-build", "Team Tasks board"), "the built app lacks its text");
	/* The files route returns the build with the sources. */
	struct tc_resp r;
	cr_assert_eq(wd_call(&env, "GET", "/sessions/app-build/files", NULL, NULL, &r), 0);
	json_t *files = json_object_get(r.json, "files");
	cr_expect_not_null(json_object_get(files, "src/App.tsx"));
	cr_expect_not_null(json_object_get(files, "dist/index.html"));
	cr_expect_null(json_object_get(files, "node_modules/react/package.json"));
	tc_resp_free(&r);
	wd_stream_free(&s);
}

Test(runtime, done_building_returns_the_compiler_error, .init = setup, .fini = teardown)
{
	struct wd_stream s;
	turn("app-broken", "build-error", NULL, &s);
	cr_assert(s.done, "error: %s\n%s", s.error ? s.error : "-", s.raw);
	const char *res = tool_result(&s, "mcp__second__done_building");
	cr_assert_not_null(res, "no done_building result: %s", s.raw);
	cr_expect(strstr(res, "Build failed") != NULL, "%s", res);
	cr_expect(strstr(res, "TS2322") != NULL, "no compiler message in: %s", res);
	wd_stream_free(&s);
}
#endif
