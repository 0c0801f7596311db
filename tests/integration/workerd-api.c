/* Integration tests of workerd's HTTP API that need no agent CLI: the internal token check
 * (W-2), routing errors, bad input on every route, sessions without a turn, the files and
 * attachments routes, detect-provider, the broker's transport errors, socket activation
 * under systemd-socket-activate, and the dependency warm-up a new workspace starts. workerd runs for real on a unix socket in a temp dir. */
#include <config.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "lib/jsonx.h"
#include "lib/limits.h"
#include "tests/wd-client.h"

static struct wd_env env;

static void setup(void)
{
	wd_env_init(&env);
	cr_assert_eq(wd_start(&env, NULL), 0, "workerd did not start (log %s)", env.log);
}

static void teardown(void)
{
	wd_env_stop(&env);
}

TestSuite(workerd_api, .init = setup, .fini = teardown, .timeout = 60);

static void expect_error(const struct tc_resp *r, long status, const char *code)
{
	cr_expect_eq(r->status, status, "status %ld: %s", r->status, r->body);
	cr_assert_not_null(r->json, "not JSON: %s", r->body);
	cr_expect_str_eq(jsonx_str(r->json, "error"), code, "%s", r->body);
	cr_expect(json_is_string(json_object_get(r->json, "message")), "%s", r->body);
}

static void call(const char *method, const char *path, const char *body, const char *token,
		 struct tc_resp *r)
{
	cr_assert_eq(wd_call(&env, method, path, body, token, r), 0, "%s %s failed", method, path);
}

Test(workerd_api, health_is_public_and_lists_sessions)
{
	struct tc_resp r;
	call("GET", "/health", NULL, "", &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(jsonx_str(r.json, "status"), "ok");
	cr_expect(json_is_array(json_object_get(r.json, "sessions")));
	tc_resp_free(&r);
}

Test(workerd_api, internal_token_is_required)
{
	static const char *const paths[] = {"/sessions/app1/status", "/detect-provider",
					    "/sessions/app1/files", NULL};
	struct tc_resp r;
	for (size_t i = 0; paths[i]; i++) {
		call("GET", paths[i], NULL, "", &r);
		expect_error(&r, 401, "unauthorized");
		tc_resp_free(&r);
		call("GET", paths[i], NULL, "test-internal-token-012345678X", &r);
		expect_error(&r, 401, "unauthorized");
		tc_resp_free(&r);
		call("GET", paths[i], NULL, "test-internal-token-0123456789 ", &r);
		expect_error(&r, 401, "unauthorized");
		tc_resp_free(&r);
	}
	call("POST", "/sessions/app1/messages", "{}", "", &r);
	expect_error(&r, 401, "unauthorized");
	tc_resp_free(&r);
}

Test(workerd_api, routing_errors)
{
	struct tc_resp r;
	call("GET", "/nope", NULL, NULL, &r);
	expect_error(&r, 404, "not_found");
	tc_resp_free(&r);
	call("GET", "/sessions/app1/nope", NULL, NULL, &r);
	expect_error(&r, 404, "not_found");
	tc_resp_free(&r);
	call("GET", "/sessions/app1/messages", NULL, NULL, &r);
	expect_error(&r, 405, "method_not_allowed");
	tc_resp_free(&r);
	call("POST", "/health", "{}", NULL, &r);
	expect_error(&r, 405, "method_not_allowed");
	tc_resp_free(&r);
	static const char *const bad_ids[] = {"/sessions/../status", "/sessions/a%20b/status",
					      "/sessions/..", "/sessions/a%00b/status", NULL};
	for (size_t i = 0; bad_ids[i]; i++) {
		call("GET", bad_ids[i], NULL, NULL, &r);
		cr_expect(r.status == 400 || r.status == 404 || r.status == 405, "%s -> %ld",
			  bad_ids[i], r.status);
		cr_expect_not_null(r.json, "%s: %s", bad_ids[i], r.body);
		tc_resp_free(&r);
	}
}

Test(workerd_api, messages_refuses_bad_requests)
{
	static const struct {
		const char *body;
		long status;
		const char *code;
	} cases[] = {
		{"not json", 400, "invalid_json"},
		{"[1,2]", 400, "invalid_json"},
		{"{\"prompt\":\"hi\"}", 400, "invalid_runtime_settings"},
		{"{\"prompt\":\"hi\",\"runtimeId\":\"gpt-cli\",\"runtimeModel\":\"m\","
		 "\"runtimeParams\":{}}",
		 400, "invalid_runtime_settings"},
		{"{\"prompt\":\"hi\",\"runtimeId\":\"claude-code\",\"runtimeModel\":\"\","
		 "\"runtimeParams\":{}}",
		 400, "invalid_runtime_settings"},
		{"{\"prompt\":\"hi\",\"runtimeId\":\"claude-code\",\"runtimeModel\":\"m\","
		 "\"runtimeParams\":[]}",
		 400, "invalid_runtime_settings"},
		{"{\"prompt\":\"hi\",\"runtimeId\":\"claude-code\",\"runtimeModel\":\"m\","
		 "\"runtimeParams\":{\"effort\":3}}",
		 400, "invalid_runtime_settings"},
		{"{\"prompt\":\"\",\"runtimeId\":\"claude-code\",\"runtimeModel\":\"m\","
		 "\"runtimeParams\":{}}",
		 400, "invalid_request"},
		{"{\"prompt\":\"hi\",\"runtimeId\":\"claude-code\",\"runtimeModel\":\"m\","
		 "\"runtimeParams\":{},\"runtimeMode\":\"root\"}",
		 400, "invalid_request"},
		{"{\"prompt\":\"hi\",\"runtimeId\":\"claude-code\",\"runtimeModel\":\"m\","
		 "\"runtimeParams\":{},\"allowedTools\":\"Bash\"}",
		 400, "invalid_request"},
		{"{\"prompt\":\"hi\",\"runtimeId\":\"claude-code\",\"runtimeModel\":\"m\","
		 "\"runtimeParams\":{},\"workingDirectory\":\"/etc\"}",
		 400, "invalid_request"},
		{"{\"prompt\":\"hi\",\"runtimeId\":\"claude-code\",\"runtimeModel\":\"m\","
		 "\"runtimeParams\":{},\"sourceFiles\":{\"../evil\":\"x\"}}",
		 400, "invalid_source_files"},
	};
	struct tc_resp r;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		call("POST", "/sessions/app1/messages", cases[i].body, NULL, &r);
		expect_error(&r, cases[i].status, cases[i].code);
		tc_resp_free(&r);
	}
	/* Nothing escaped the workspaces directory. */
	char evil[HARNESS_PATH_MAX + 32];
	snprintf(evil, sizeof(evil), "%s/evil", env.ws_dir);
	cr_expect_neq(access(evil, F_OK), 0);
}

Test(workerd_api, metadata_refuses_bad_requests)
{
	struct tc_resp r;
	call("POST", "/sessions/app1/metadata",
	     "{\"prompt\":\"\",\"runtimeId\":\"claude-code\",\"runtimeModel\":\"m\","
	     "\"runtimeParams\":{}}",
	     NULL, &r);
	expect_error(&r, 400, "invalid_metadata_request");
	tc_resp_free(&r);
	call("POST", "/sessions/app1/metadata",
	     "{\"prompt\":\"x\",\"runtimeId\":\"nope\",\"runtimeModel\":\"m\","
	     "\"runtimeParams\":{}}",
	     NULL, &r);
	expect_error(&r, 400, "invalid_runtime_settings");
	tc_resp_free(&r);
	call("GET", "/sessions/app1/metadata", NULL, NULL, &r);
	expect_error(&r, 405, "method_not_allowed");
	tc_resp_free(&r);
}

Test(workerd_api, body_over_the_limit_is_413)
{
	size_t n = (size_t)WORKERD_BODY_MAX + 16;
	char *big = malloc(n + 1);
	cr_assert_not_null(big);
	memset(big, 'a', n);
	big[0] = '"';
	big[n - 1] = '"';
	big[n] = '\0';
	struct tc_resp r;
	call("POST", "/sessions/app1/messages", big, NULL, &r);
	expect_error(&r, 413, "body_too_large");
	tc_resp_free(&r);
	free(big);
}

Test(workerd_api, sessions_without_a_turn)
{
	struct tc_resp r;
	call("GET", "/sessions/app1/status", NULL, NULL, &r);
	cr_expect_eq(r.status, 200);
	cr_expect(json_is_false(json_object_get(r.json, "exists")), "%s", r.body);
	cr_expect(json_is_false(json_object_get(r.json, "workspaceExists")), "%s", r.body);
	cr_expect(json_is_true(json_object_get(r.json, "restoreNeeded")), "%s", r.body);
	tc_resp_free(&r);
	call("POST", "/sessions/app1/cancel", "{\"reason\":\"user_stopped\"}", NULL, &r);
	cr_expect_eq(r.status, 200);
	cr_expect(json_is_false(json_object_get(r.json, "cancelled")), "%s", r.body);
	cr_expect_str_eq(jsonx_str(r.json, "status"), "idle");
	tc_resp_free(&r);
	call("GET", "/sessions/app1/session-file", NULL, NULL, &r);
	cr_expect(json_is_null(json_object_get(r.json, "sessionState")), "%s", r.body);
	tc_resp_free(&r);
	call("DELETE", "/sessions/app1", NULL, NULL, &r);
	cr_expect_eq(r.status, 200);
	cr_expect(json_is_true(json_object_get(r.json, "ok")), "%s", r.body);
	tc_resp_free(&r);
}

static void write_file(const char *rel, const char *text, size_t len)
{
	char path[HARNESS_PATH_MAX + 128], dir[HARNESS_PATH_MAX + 128];
	snprintf(path, sizeof(path), "%s/app2/%s", env.ws_dir, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + strlen(env.ws_dir) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(dir, 0700);
			*p = '/';
		}
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

Test(workerd_api, files_lists_text_files_and_skips_secrets)
{
	struct tc_resp r;
	call("GET", "/sessions/app2/files", NULL, NULL, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(json_object_size(json_object_get(r.json, "files")), 0, "%s", r.body);
	tc_resp_free(&r);
	write_file("src/App.tsx", "export default 1;\n", 18);
	write_file("index.html", "<html></html>", 13);
	write_file(".env", "SECRET=1", 8);
	write_file(".env.local", "SECRET=2", 8);
	write_file("node_modules/x/index.js", "x", 1);
	write_file(".git/config", "x", 1);
	call("GET", "/sessions/app2/files", NULL, NULL, &r);
	json_t *files = json_object_get(r.json, "files");
	cr_expect_eq(json_object_size(files), 2, "%s", r.body);
	cr_expect_str_eq(jsonx_str(files, "src/App.tsx"), "export default 1;\n");
	cr_expect_not_null(json_object_get(files, "index.html"));
	cr_expect(strstr(r.body, "SECRET") == NULL, "%s", r.body);
	tc_resp_free(&r);
	call("GET", "/sessions/app2/status", NULL, NULL, &r);
	cr_expect(json_is_true(json_object_get(r.json, "workspaceHasFiles")), "%s", r.body);
	cr_expect(json_is_false(json_object_get(r.json, "restoreNeeded")), "%s", r.body);
	tc_resp_free(&r);
	write_file("logo.png", "\x89PNG\0\0", 6);
	call("GET", "/sessions/app2/files", NULL, NULL, &r);
	cr_expect_eq(r.status, 413, "%s", r.body);
	cr_expect(strstr(r.body, "binary") != NULL, "%s", r.body);
	tc_resp_free(&r);
}

/* POST /sessions/:app/files writes into a live workspace and leaves a missing one alone. */
Test(workerd_api, files_are_written_into_an_existing_workspace_only)
{
	struct tc_resp r;
	call("POST", "/sessions/app2/files", "{\"files\":{\"agents.json\":\"{}\"}}", NULL, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect(json_is_false(json_object_get(r.json, "written")), "%s", r.body);
	tc_resp_free(&r);
	call("GET", "/sessions/app2/status", NULL, NULL, &r);
	cr_expect(json_is_false(json_object_get(r.json, "workspaceExists")), "%s", r.body);
	tc_resp_free(&r);

	write_file("src/App.tsx", "export default 1;\n", 18);
	call("POST", "/sessions/app2/files",
	     "{\"files\":{\"agents.json\":\"{\\n  \\\"agents\\\": "
	     "[]\\n}\",\"src/new/x.ts\":\"x\"}}",
	     NULL, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	cr_expect(json_is_true(json_object_get(r.json, "written")), "%s", r.body);
	tc_resp_free(&r);
	call("GET", "/sessions/app2/files", NULL, NULL, &r);
	json_t *files = json_object_get(r.json, "files");
	cr_expect_str_eq(jsonx_str(files, "agents.json"), "{\n  \"agents\": []\n}", "%s", r.body);
	cr_expect_str_eq(jsonx_str(files, "src/new/x.ts"), "x", "%s", r.body);
	cr_expect_str_eq(jsonx_str(files, "src/App.tsx"), "export default 1;\n", "%s", r.body);
	tc_resp_free(&r);

	static const char *const bad[] = {
		"{}",
		"{\"files\":{}}",
		"{\"files\":[\"agents.json\"]}",
		"{\"files\":{\"../escape.txt\":\"x\"}}",
		"{\"files\":{\"/etc/x\":\"x\"}}",
		"{\"files\":{\"a.txt\":1}}",
		"[1]",
		"not json",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		call("POST", "/sessions/app2/files", bad[i], NULL, &r);
		cr_expect_eq(r.status, 400, "%s: %ld %s", bad[i], r.status, r.body);
		cr_expect_not_null(jsonx_str(r.json, "error"), "%s: %s", bad[i], r.body);
		tc_resp_free(&r);
	}
	char escaped[HARNESS_PATH_MAX + 64];
	snprintf(escaped, sizeof(escaped), "%s/escape.txt", env.ws_dir);
	cr_expect_neq(access(escaped, F_OK), 0, "a file was written outside the workspace");
	call("DELETE", "/sessions/app2/files", NULL, NULL, &r);
	cr_expect_eq(r.status, 405, "%s", r.body);
	tc_resp_free(&r);
}

Test(workerd_api, attachments_are_saved_checked_and_refused)
{
	struct tc_resp r;
	call("POST", "/sessions/app3/attachments",
	     "{\"files\":[{\"id\":\"a1\",\"name\":\"notes.txt\",\"path\":\"attachments/notes.txt\","
	     "\"dataBase64\":\"aGVsbG8=\",\"size\":5,\"contentType\":\"text/plain\"}]}",
	     NULL, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	json_t *a = json_array_get(json_object_get(r.json, "attachments"), 0);
	cr_expect_str_eq(jsonx_str(a, "path"), "attachments/notes.txt");
	cr_expect_eq(json_integer_value(json_object_get(a, "size")), 5);
	tc_resp_free(&r);
	call("POST", "/sessions/app3/attachments/check",
	     "{\"paths\":[\"attachments/notes.txt\",\"attachments/gone.txt\"]}", NULL, &r);
	json_t *missing = json_object_get(r.json, "missing");
	cr_expect_eq(json_array_size(missing), 1, "%s", r.body);
	cr_expect_str_eq(json_string_value(json_array_get(missing, 0)), "attachments/gone.txt");
	tc_resp_free(&r);
	static const struct {
		const char *body;
		long status;
		const char *code;
	} cases[] = {
		{"{}", 400, "missing_files"},
		{"{\"files\":[{\"id\":\"a\",\"name\":\"n\",\"path\":\"../"
		 "x\",\"dataBase64\":\"aGk=\","
		 "\"size\":2}]}",
		 400, "invalid_file_path"},
		{"{\"files\":[{\"id\":\"a\",\"name\":\"n\",\"path\":\"src/"
		 "x\",\"dataBase64\":\"aGk=\","
		 "\"size\":2}]}",
		 400, "invalid_file_path"},
		{"{\"files\":[{\"id\":\"a\",\"name\":\"n\",\"path\":\"attachments/x\","
		 "\"dataBase64\":\"aGk=\",\"size\":3}]}",
		 400, "invalid_file_size"},
		{"{\"files\":[{\"id\":\"a\",\"name\":\"n\",\"path\":\"attachments/x\","
		 "\"dataBase64\":\"!!!!\",\"size\":3}]}",
		 400, "invalid_file_data"},
		{"{\"files\":[{\"name\":\"n\",\"path\":\"attachments/x\",\"dataBase64\":\"aGk=\","
		 "\"size\":2}]}",
		 400, "invalid_file"},
		{"{\"files\":[{\"id\":\"a\",\"name\":\"n\",\"path\":\"attachments/x\","
		 "\"dataBase64\":\"aGk=\",\"size\":99999999}]}",
		 413, "file_too_large"},
		{"{\"paths\":\"x\"}", 400, "missing_paths"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = strstr(cases[i].body, "paths")
					   ? "/sessions/app3/attachments/check"
					   : "/sessions/app3/attachments";
		call("POST", path, cases[i].body, NULL, &r);
		expect_error(&r, cases[i].status, cases[i].code);
		tc_resp_free(&r);
	}
	/* Eleven files are one too many. */
	char body[8192] = "{\"files\":[";
	for (int i = 0; i < 11; i++)
		snprintf(body + strlen(body), sizeof(body) - strlen(body),
			 "%s{\"id\":\"f%d\",\"name\":\"n\",\"path\":\"attachments/f%d\","
			 "\"dataBase64\":\"aGk=\",\"size\":2}",
			 i ? "," : "", i, i);
	strcat(body, "]}");
	call("POST", "/sessions/app3/attachments", body, NULL, &r);
	expect_error(&r, 413, "too_many_files");
	tc_resp_free(&r);
}

Test(workerd_api, detect_provider_reports_booleans_and_versions)
{
	struct tc_resp r;
	call("GET", "/detect-provider", NULL, NULL, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	json_t *rt = json_object_get(r.json, "runtimes");
	static const char *const ids[] = {"claude-code", "codex-cli", "opencode", NULL};
	for (size_t i = 0; ids[i]; i++) {
		json_t *one = json_object_get(rt, ids[i]);
		cr_expect(json_is_boolean(json_object_get(one, "available")), "%s", r.body);
		cr_expect(json_is_object(json_object_get(one, "auth")), "%s", r.body);
	}
	cr_expect(strstr(r.body, env.token) == NULL);
	tc_resp_free(&r);
}

static long post_broker(const char *url, const char *method, const char *body, char *out,
			size_t outsz)
{
	FILE *mem = fmemopen(out, outsz, "w");
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	long status = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
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

Test(workerd_api, broker_transport_errors)
{
	char url[256], out[4096] = {0};
	snprintf(url, sizeof(url), "%s/mcp/00000000-0000-4000-8000-000000000000?server=second",
		 env.mcp_url);
	cr_expect_eq(post_broker(url, "POST", "not json", out, sizeof(out)), 400, "%s", out);
	cr_expect(strstr(out, "invalid_json_rpc_body") != NULL, "%s", out);
	memset(out, 0, sizeof(out));
	cr_expect_eq(post_broker(url, "POST",
				 "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}", out,
				 sizeof(out)),
		     200);
	cr_expect(strstr(out, "unknown_or_expired_tool_broker_session") != NULL, "%s", out);
	memset(out, 0, sizeof(out));
	cr_expect_eq(post_broker(url, "GET", NULL, out, sizeof(out)), 405, "%s", out);
	/* The broker listener serves nothing else, and the internal API is not on it. */
	snprintf(url, sizeof(url), "%s/sessions/app1/status", env.mcp_url);
	memset(out, 0, sizeof(out));
	cr_expect_eq(post_broker(url, "GET", NULL, out, sizeof(out)), 404, "%s", out);
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	close(fd);
	return ntohs(a.sin_port);
}

Test(workerd_api, socket_activation, .init = NULL, .fini = teardown)
{
	wd_env_init(&env);
	int port = free_port();
	cr_assert_eq(wd_start_activated(&env, port, NULL), 0, "workerd did not start (log %s)",
		     env.log);
	char want[64];
	snprintf(want, sizeof(want), "http://127.0.0.1:%d", port);
	cr_expect_str_eq(env.mcp_url, want);
	struct tc_resp r;
	call("GET", "/sessions/app1/status", NULL, NULL, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	tc_resp_free(&r);
	char url[256], out[2048] = {0};
	snprintf(url, sizeof(url), "%s/mcp/nope", env.mcp_url);
	cr_expect_eq(post_broker(url, "POST", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
				 out, sizeof(out)),
		     200);
	cr_expect(strstr(out, "unknown_or_expired_tool_broker_session") != NULL, "%s", out);
	/* SIGTERM stops it cleanly. */
	int st = wd_stop(&env);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
}

static bool log_has(const char *needle)
{
	FILE *f = fopen(env.log, "r");
	char line[4096];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* Whether a process of this user runs `sleep <arg>` (the warm-up's postinstall below). */
static bool sleeping(const char *arg)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "pgrep -u %d -x -f 'sleep %s' >/dev/null 2>&1", (int)getuid(),
		 arg);
	return system(cmd) == 0;
}

/* P-4: a workspace made from a snapshot starts the dependency warm-up; deleting the session
 * leaves it be, and SIGTERM stops workerd without waiting for it, killing it. The project's
 * postinstall sleeps, so the warm-up is still running when both happen; the turn itself fails
 * at once, the claude binary being set to one that does not exist. */
Test(workerd_api, scaffold_starts_the_warm_up_and_stop_kills_it, .init = NULL, .fini = teardown)
{
	if (system("command -v npm >/dev/null 2>&1") != 0 ||
	    system("command -v pgrep >/dev/null 2>&1") != 0)
		cr_skip_test("SKIP: npm and pgrep are required");
	static const char *const extra[] = {"SECOND_WORKERD_CLAUDE_PATH=/nonexistent/claude", NULL};
	wd_env_init(&env);
	cr_assert_eq(wd_start(&env, extra), 0, "workerd did not start (log %s)", env.log);
	json_t *src = json_pack("{s:s, s:s}", "package.json",
				"{\"name\":\"warm\",\"version\":\"1.0.0\",\"private\":true,"
				"\"scripts\":{\"postinstall\":\"sleep 617\"}}\n",
				"index.html", "<!doctype html><title>warm</title>\n");
	char *extra_body = NULL;
	json_t *x = json_pack("{s:o}", "sourceFiles", src);
	extra_body = json_dumps(x, JSON_COMPACT);
	json_decref(x);
	char *body = wd_turn_body("text", "claude-code", "claude-sonnet-4-5", extra_body);
	free(extra_body);
	struct wd_stream s;
	cr_assert_eq(wd_turn(&env, "appwarm", body, &s), 0);
	free(body);
	cr_expect_not_null(s.error, "the turn should fail without its CLI: %s", s.raw);
	wd_stream_free(&s);
	char want[HARNESS_PATH_MAX + 64];
	snprintf(want, sizeof(want), "warm-up of %s/appwarm started", env.ws_dir);
	cr_expect(log_has(want), "no warm-up started (log %s)", env.log);
	for (int i = 0; i < 200 && !sleeping("617"); i++)
		usleep(50000);
	cr_assert(sleeping("617"), "the warm-up's npm never ran the postinstall (log %s)", env.log);
	struct tc_resp r;
	call("DELETE", "/sessions/appwarm", NULL, NULL, &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	tc_resp_free(&r);
	call("GET", "/health", NULL, "", &r);
	cr_expect_eq(r.status, 200, "%s", r.body);
	tc_resp_free(&r);
	cr_expect(sleeping("617"), "deleting the session stopped the warm-up");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int st = wd_stop(&env);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L;
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
	cr_expect_lt(ms, BUILD_WARMUP_STOP_WAIT_MS + 2000, "stopping took %ld ms", ms);
	cr_expect(log_has("stopping 1 dependency warm-up(s)"), "log %s", env.log);
	for (int i = 0; i < 40 && sleeping("617"); i++)
		usleep(50000);
	cr_expect(!sleeping("617"), "the warm-up outlived workerd");
}
