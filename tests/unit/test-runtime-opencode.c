/* Unit tests of the OpenCode adapter's pure parts (workerd/runtimes/opencode-map.c).
 *
 * The event normalization is driven by the tests/fixtures/runtime-opencode fixtures, the real
 * stdout of `opencode run --format json` 1.18.33 against the scripted model; each test feeds
 * one fixture and checks the R-1 messages that come out. The configuration, the provider
 * mirroring, the error redaction and the R-0 defaults get small tables of their own. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/jsonx.h"
#include "workerd/runtimes/opencode-map.h"
#include "workerd/runtimes/runtime.h"

#define MODEL "mock/m1"

static int collect(void *arg, json_t *msg)
{
	json_array_append_new(arg, msg);
	return 0;
}

static int refuse(void *arg, json_t *msg)
{
	(void)arg;
	json_decref(msg);
	return -1;
}

/* Feeds a fixture file line by line, then finishes the turn unless it failed or stopped
 * early on purpose (finish is still called: the adapter always calls it). */
static enum opencode_state feed_fixture(const char *name, json_t *out, char *session,
					size_t sessionsz)
{
	char path[2048];
	const char *src = getenv("top_srcdir");
	snprintf(path, sizeof(path), "%s/tests/fixtures/runtime-opencode/%s", src ? src : ".",
		 name);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	struct opencode_map *m = opencode_map_new(MODEL, collect, out);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (opencode_map_feed(m, line, (size_t)n) != OPENCODE_RUNNING)
			break;
	}
	free(line);
	fclose(f);
	enum opencode_state st = opencode_map_state(m);
	opencode_map_finish(m, st == OPENCODE_FAILED);
	if (session)
		snprintf(session, sessionsz, "%s",
			 opencode_map_session(m) ? opencode_map_session(m) : "");
	opencode_map_free(m);
	return st;
}

static int count(const json_t *msgs, const char *type, const char *subtype)
{
	int n = 0;
	size_t i;
	json_t *m;
	json_array_foreach (msgs, i, m) {
		const char *t = jsonx_str(m, "type"), *s = jsonx_str(m, "subtype");
		if (t && strcmp(t, type) == 0 && (!subtype || (s && strcmp(s, subtype) == 0)))
			n++;
	}
	return n;
}

static json_t *find(const json_t *msgs, const char *type)
{
	size_t i;
	json_t *m;
	json_array_foreach (msgs, i, m)
		if (strcmp(jsonx_str(m, "type"), type) == 0)
			return m;
	return NULL;
}

/* The concatenated text of every delta of `kind` (text_delta, thinking_delta). */
static void deltas(const json_t *msgs, const char *kind, char *buf, size_t bufsz)
{
	size_t i, used = 0;
	json_t *m;
	buf[0] = '\0';
	json_array_foreach (msgs, i, m) {
		json_t *d = json_object_get(json_object_get(m, "event"), "delta");
		const char *t = jsonx_str(d, "type");
		const char *text = jsonx_str(d,
					     strcmp(kind, "text_delta") == 0 ? "text" : "thinking");
		if (t && strcmp(t, kind) == 0 && text && used < bufsz)
			used += (size_t)snprintf(buf + used, bufsz - used, "%s", text);
	}
}

/* The first content part of `type` among assistant/user messages. */
static json_t *part(const json_t *msgs, const char *type, size_t nth)
{
	size_t i, k;
	json_t *m, *p;
	json_array_foreach (msgs, i, m) {
		json_t *content = json_object_get(json_object_get(m, "message"), "content");
		json_array_foreach (content, k, p)
			if (strcmp(jsonx_str(p, "type"), type) == 0 && nth-- == 0)
				return p;
	}
	return NULL;
}

static json_t *usage_of(const json_t *msgs)
{
	return json_object_get(json_object_get(find(msgs, "result"), "modelUsage"), MODEL);
}

Test(opencode_map, text_becomes_one_delta_and_one_result)
{
	json_t *out = json_array();
	char sid[256], text[512];
	cr_assert_eq(feed_fixture("text.jsonl", out, sid, sizeof(sid)), OPENCODE_RUNNING);
	cr_expect_str_eq(sid, "ses_df8e2372affeNn9pCBccrOYKE5");
	deltas(out, "text_delta", text, sizeof(text));
	cr_expect_str_eq(text, "Hello from the scripted model. This reply streams in deltas.");
	cr_expect_eq(count(out, "stream_event", NULL), 3);
	cr_expect_eq(count(out, "assistant", NULL), 1);
	cr_expect_str_eq(jsonx_str(part(out, "text", 0), "text"), text);
	/* The first message announces the session; the last repeats it. */
	json_t *init = json_array_get(out, 0);
	cr_expect_str_eq(jsonx_str(init, "subtype"), "init");
	json_t *ps = json_object_get(init, "providerSessionState");
	cr_expect_str_eq(jsonx_str(ps, "runtimeId"), "opencode");
	cr_expect_str_eq(jsonx_str(ps, "sessionId"), sid);
	cr_expect_str_eq(jsonx_str(ps, "format"), "opencode-session");
	cr_expect_eq(count(out, "system", "init"), 2);
	cr_assert_eq(count(out, "result", NULL), 1);
	json_t *res = find(out, "result");
	cr_expect_str_eq(jsonx_str(res, "subtype"), "success");
	cr_expect_eq(json_integer_value(json_object_get(res, "num_turns")), 1);
	cr_expect_str_eq(jsonx_str(res, "result"), text);
	json_t *u = usage_of(out);
	cr_assert_not_null(u);
	cr_expect_eq(json_integer_value(json_object_get(u, "inputTokens")), 120);
	cr_expect_eq(json_integer_value(json_object_get(u, "outputTokens")), 14);
	cr_expect_eq(json_integer_value(json_object_get(u, "cacheReadInputTokens")), 0);
	cr_expect_eq(json_integer_value(json_object_get(u, "cacheCreationInputTokens")), 0);
	cr_expect(json_is_number(json_object_get(u, "costUSD")));
	json_decref(out);
}

Test(opencode_map, a_tool_gives_tool_use_and_result_and_steps_are_summed)
{
	json_t *out = json_array();
	cr_assert_eq(feed_fixture("write.jsonl", out, NULL, 0), OPENCODE_RUNNING);
	json_t *use = part(out, "tool_use", 0), *res = part(out, "tool_result", 0);
	cr_assert_not_null(use);
	cr_assert_not_null(res);
	cr_expect_str_eq(jsonx_str(use, "name"), "Write");
	cr_expect_str_eq(jsonx_str(use, "id"), "call_a3a0779fe7db88256bd77eaf");
	cr_expect_str_eq(jsonx_str(json_object_get(use, "input"), "filePath"), "hello.txt");
	cr_expect_str_eq(jsonx_str(res, "tool_use_id"), jsonx_str(use, "id"));
	cr_expect_str_eq(jsonx_str(res, "content"), "Wrote file successfully.");
	/* Two steps, one result holding both (U-4). */
	cr_assert_eq(count(out, "result", NULL), 1);
	cr_expect_eq(json_integer_value(json_object_get(find(out, "result"), "num_turns")), 2);
	cr_expect_eq(json_integer_value(json_object_get(usage_of(out), "inputTokens")), 340);
	cr_expect_eq(json_integer_value(json_object_get(usage_of(out), "outputTokens")), 36);
	char text[256];
	deltas(out, "text_delta", text, sizeof(text));
	cr_expect_str_eq(text, "Writing the file.Wrote hello.txt.");
	/* Two text blocks at distinct indexes. */
	json_t *last = NULL;
	size_t i;
	json_t *m;
	json_array_foreach (out, i, m)
		if (strcmp(jsonx_str(m, "type"), "stream_event") == 0)
			last = m;
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(last, "event"), "index")),
		     1);
	json_decref(out);
}

Test(opencode_map, bash_is_canonical)
{
	json_t *out = json_array();
	cr_assert_eq(feed_fixture("env.jsonl", out, NULL, 0), OPENCODE_RUNNING);
	cr_expect_str_eq(jsonx_str(part(out, "tool_use", 0), "name"), "Bash");
	cr_expect(strstr(jsonx_str(part(out, "tool_result", 0), "content"), "PATH=") != NULL);
	cr_expect_eq(json_integer_value(json_object_get(usage_of(out), "inputTokens")), 540);
	json_decref(out);
}

Test(opencode_map, present_plan_is_an_approval_stop)
{
	json_t *out = json_array();
	cr_assert_eq(feed_fixture("plan.jsonl", out, NULL, 0), OPENCODE_STOPPED);
	json_t *use = part(out, "tool_use", 0);
	cr_assert_not_null(use);
	cr_expect_str_eq(jsonx_str(use, "name"), "mcp__second__present_plan");
	cr_expect_str_eq(jsonx_str(json_object_get(use, "input"), "title"), "Team Tasks");
	cr_expect(strstr(jsonx_str(part(out, "tool_result", 0), "content"), "presented") != NULL);
	/* Nothing after the stop: no later text, and no step had finished, so no result. */
	char *dump = json_dumps(out, 0);
	cr_expect(strstr(dump, "The plan is ready for review.") == NULL);
	free(dump);
	cr_expect_eq(count(out, "result", NULL), 0);
	json_decref(out);
}

Test(opencode_map, reasoning_becomes_thinking)
{
	json_t *out = json_array();
	char sid[256], thinking[256], text[256];
	cr_assert_eq(feed_fixture("resume.jsonl", out, sid, sizeof(sid)), OPENCODE_RUNNING);
	deltas(out, "thinking_delta", thinking, sizeof(thinking));
	deltas(out, "text_delta", text, sizeof(text));
	cr_expect_str_eq(thinking, "The user is continuing an earlier conversation.");
	cr_expect_str_eq(text, "Continuing the earlier conversation.");
	cr_expect_str_eq(jsonx_str(part(out, "thinking", 0), "thinking"), thinking);
	cr_expect_eq(json_integer_value(json_object_get(usage_of(out), "inputTokens")), 300);
	json_decref(out);
}

Test(opencode_map, other_lines)
{
	json_t *out = json_array();
	struct opencode_map *m = opencode_map_new(MODEL, collect, out);
	const char *plain = "Performing one time database migration...";
	cr_expect_eq(opencode_map_feed(m, plain, strlen(plain)), OPENCODE_RUNNING);
	cr_expect_eq(opencode_map_feed(m, "", 0), OPENCODE_RUNNING);
	const char *unknown = "{\"type\":\"step_start\",\"part\":{}}";
	cr_expect_eq(opencode_map_feed(m, unknown, strlen(unknown)), OPENCODE_RUNNING);
	const char bad[] = "caf\xc3";
	cr_expect_eq(opencode_map_feed(m, bad, sizeof(bad) - 1), OPENCODE_RUNNING);
	cr_assert_eq(json_array_size(out), 2);
	cr_expect_str_eq(jsonx_str(json_array_get(out, 0), "type"), "tool_use_summary");
	cr_expect_str_eq(jsonx_str(json_array_get(out, 0), "summary"), plain);
	cr_expect_str_eq(jsonx_str(json_array_get(out, 1), "summary"), "caf?");
	/* A tool that failed: a tool_result flagged as an error, no stop. */
	const char *failed =
		"{\"type\":\"tool_use\",\"sessionID\":\"ses_1\",\"part\":{\"type\":"
		"\"tool\",\"tool\":\"second_present_plan\",\"callID\":\"c1\","
		"\"state\":{\"status\":\"error\",\"input\":{},\"error\":\"bad input\"}}}";
	cr_expect_eq(opencode_map_feed(m, failed, strlen(failed)), OPENCODE_RUNNING);
	json_t *res = part(out, "tool_result", 0);
	cr_expect(json_is_true(json_object_get(res, "is_error")));
	cr_expect_str_eq(jsonx_str(res, "content"), "bad input");
	/* No step finished: finishing emits only the session again. */
	size_t before = json_array_size(out);
	opencode_map_finish(m, false);
	cr_expect_eq(json_array_size(out), before + 1);
	cr_expect_eq(count(out, "result", NULL), 0);
	opencode_map_free(m);
	json_decref(out);
}

Test(opencode_map, an_error_event_fails_the_turn_with_a_safe_message)
{
	json_t *out = json_array();
	struct opencode_map *m = opencode_map_new(MODEL, collect, out);
	const char *ev =
		"{\"type\":\"error\",\"timestamp\":1795416134327,\"sessionID\":\"ses_e\","
		"\"error\":{\"name\":\"APIError\",\"data\":{\"message\":\"bad request with key "
		"sk-abcdef1234567890abcdef\",\"statusCode\":400,\"isRetryable\":false}}}";
	cr_expect_eq(opencode_map_feed(m, ev, strlen(ev)), OPENCODE_FAILED);
	cr_expect_str_eq(opencode_map_error(m), "APIError (400): bad request with key [redacted]");
	const char *more = "{\"type\":\"text\",\"part\":{\"text\":\"late\"}}";
	cr_expect_eq(opencode_map_feed(m, more, strlen(more)), OPENCODE_FAILED);
	cr_expect_eq(count(out, "assistant", NULL), 0);
	opencode_map_free(m);
	json_decref(out);
}

Test(opencode_map, a_refused_emit_fails)
{
	struct opencode_map *m = opencode_map_new(MODEL, refuse, NULL);
	const char *ev = "{\"type\":\"text\",\"sessionID\":\"s\",\"part\":{\"text\":\"x\"}}";
	cr_expect_eq(opencode_map_feed(m, ev, strlen(ev)), OPENCODE_FAILED);
	opencode_map_free(m);
}

Test(opencode_safe_error, table)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{"\"plain failure\"", "plain failure"},
		{"{\"name\":\"ProviderAuthError\",\"data\":{\"message\":\"no key\"}}",
		 "ProviderAuthError: no key"},
		{"{\"message\":\"AKIAABCDEFGHIJKLMNOP leaked\"}", "[redacted] leaked"},
		{"{\"name\":\"UnknownError\",\"data\":{\"apiKey\":\"sk-secretsecret\",\"x\":1}}",
		 "UnknownError: {\"x\":1}"},
		{"{}", "{}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_error_t je;
		json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, &je);
		char buf[1024];
		cr_assert_not_null(v, "%s", cases[i].json);
		opencode_safe_error(v, buf, sizeof(buf));
		cr_expect_str_eq(buf, cases[i].want, "case %zu", i);
		json_decref(v);
	}
	char *big = malloc(5000);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	json_t *v = json_string(big);
	char buf[2048];
	opencode_safe_error(v, buf, sizeof(buf));
	cr_expect_eq(strlen(buf), OPENCODE_ERROR_MAX);
	json_decref(v);
	free(big);
}

Test(opencode_config, tools_and_namespaces_follow_the_allow_list)
{
	json_t *allowed = json_pack("[s, s, s]", "Read", "Write", "mcp__second__present_plan");
	json_t *provider = json_pack("{s:{s:s}}", "mock", "npm", "@ai-sdk/openai-compatible");
	struct opencode_config_in in = {
		.model = MODEL,
		.system_prompt = "Be brief.",
		.allowed_tools = allowed,
		.provider = provider,
		.mcp_url = {"http://h/mcp/1?server=second", "http://h/mcp/1?server=app_tools",
			    "http://h/mcp/1?server=app_data"},
		.token = "tok",
	};
	json_t *cfg = opencode_config_new(&in);
	cr_expect_str_eq(jsonx_str(cfg, "model"), MODEL);
	cr_expect_str_eq(jsonx_str(cfg, "$schema"), "https://opencode.ai/config.json");
	json_t *agent = json_object_get(json_object_get(cfg, "agent"), "second-builder");
	cr_expect_str_eq(jsonx_str(agent, "prompt"), "Be brief.");
	json_t *tools = json_object_get(agent, "tools");
	cr_expect(json_is_true(json_object_get(tools, "read")));
	cr_expect(json_is_true(json_object_get(tools, "write")));
	cr_expect(json_is_false(json_object_get(tools, "bash")));
	cr_expect(json_is_false(json_object_get(tools, "apply_patch")));
	cr_expect(json_is_true(json_object_get(tools, "second")));
	cr_expect(json_is_false(json_object_get(tools, "app_data")));
	json_t *mcp = json_object_get(cfg, "mcp");
	cr_expect_eq(json_object_size(mcp), 1);
	json_t *second = json_object_get(mcp, "second");
	cr_expect_str_eq(jsonx_str(second, "type"), "remote");
	cr_expect_str_eq(jsonx_str(second, "url"), "http://h/mcp/1?server=second");
	cr_expect_str_eq(jsonx_str(json_object_get(second, "headers"), "Authorization"),
			 "Bearer tok");
	json_t *perm = json_object_get(cfg, "permission");
	cr_expect_str_eq(jsonx_str(perm, "question"), "deny");
	cr_expect_str_eq(jsonx_str(perm, "external_directory"), "deny");
	cr_expect(json_equal(json_object_get(cfg, "provider"), provider));
	json_decref(cfg);

	in.allowed_tools = NULL;
	in.provider = NULL;
	cfg = opencode_config_new(&in);
	cr_expect_eq(json_object_size(json_object_get(cfg, "mcp")), 3);
	tools = json_object_get(json_object_get(json_object_get(cfg, "agent"), "second-builder"),
				"tools");
	cr_expect(json_is_true(json_object_get(tools, "bash")));
	cr_expect_null(json_object_get(cfg, "provider"));
	json_decref(cfg);
	json_decref(allowed);
	json_decref(provider);
}

Test(opencode_config, provider_mirroring_reads_jsonc_and_deep_merges)
{
	json_t *p = NULL;
	struct err e = {0};
	const char *global = "{\n// the global file\n\"provider\": {\"openai\": {\"options\": "
			     "{\"baseURL\": \"https://a/v1\", \"timeout\": 5,},},},\n"
			     "\"theme\": \"dark\", /* not mirrored */ }";
	const char *custom = "{\"provider\":{\"openai\":{\"options\":{\"apiKey\":"
			     "\"{env:MY_KEY}\",\"baseURL\":\"https://b/v1 // not a comment\"}}}}";
	cr_assert_eq(opencode_provider_merge(&p, global, strlen(global), &e), 0, "%s", e.msg);
	cr_assert_eq(opencode_provider_merge(&p, custom, strlen(custom), &e), 0, "%s", e.msg);
	cr_assert_eq(opencode_provider_merge(&p, "{}", 2, &e), 0);
	json_t *want = json_pack("{s:{s:{s:s, s:i, s:s}}}", "openai", "options", "baseURL",
				 "https://b/v1 // not a comment", "timeout", 5, "apiKey",
				 "{env:MY_KEY}");
	cr_expect(json_equal(p, want), "%s", json_dumps(p, 0));
	json_decref(want);
	cr_expect_eq(opencode_provider_merge(&p, "{\"provider\":", 12, &e), -1);

	json_t *names = json_array();
	opencode_env_refs(p, names);
	const char *extra = "[\"{env:MY_KEY} and {env:OTHER_1}\", \"{env:}\", \"{env:1X}\"]";
	json_t *more = json_loads(extra, 0, NULL);
	opencode_env_refs(more, names);
	cr_expect_eq(json_array_size(names), 2);
	cr_expect_str_eq(json_string_value(json_array_get(names, 0)), "MY_KEY");
	cr_expect_str_eq(json_string_value(json_array_get(names, 1)), "OTHER_1");
	json_decref(more);
	json_decref(names);
	json_decref(p);
}

Test(opencode_config, auth_keys_and_session_ids)
{
	cr_expect_str_eq(opencode_auth_keys("openai")[0], "OPENAI_API_KEY");
	cr_expect_str_eq(opencode_auth_keys("google")[1], "GEMINI_API_KEY");
	cr_expect_str_eq(opencode_auth_keys("amazon-bedrock")[0], "AWS_BEARER_TOKEN_BEDROCK");
	cr_expect_null(opencode_auth_keys("mock")[0]);
	cr_expect(opencode_session_id_valid("ses_df8e2372affeNn9pCBccrOYKE5"));
	cr_expect(!opencode_session_id_valid("--help"));
	cr_expect(!opencode_session_id_valid("ses 1"));
	cr_expect(!opencode_session_id_valid(""));
	cr_expect(!opencode_session_id_valid(NULL));
}

Test(opencode_normalize, defaults)
{
	const struct runtime *rt = runtime_find("opencode");
	cr_assert_not_null(rt);
	struct err e = {0};
	char *model = strdup("");
	json_t *params = json_pack("{s:s}", "variant", "  high \n");
	cr_assert_eq(rt->normalize(&model, params, &e), 0);
	cr_expect_str_eq(model, "openai/gpt-5.5");
	cr_expect_str_eq(jsonx_str(params, "variant"), "high");
	json_object_set_new(params, "variant", json_string("   "));
	cr_assert_eq(rt->normalize(&model, params, &e), 0);
	cr_expect_str_eq(jsonx_str(params, "variant"), "auto");
	json_object_del(params, "variant");
	free(model);
	model = strdup("anthropic/claude-sonnet-4-5");
	cr_assert_eq(rt->normalize(&model, params, &e), 0);
	cr_expect_str_eq(model, "anthropic/claude-sonnet-4-5");
	cr_expect_str_eq(jsonx_str(params, "variant"), "auto");
	free(model);
	json_decref(params);
}
