/* Unit tests of workerd/runtimes/codex-map.c: the Codex app-server client driven from bytes.
 *
 * tests/fixtures/runtime-codex/NAME.jsonl is real `codex app-server` output of one turn and
 * NAME.requests.jsonl the requests that produced it. Each fixture is replayed: the client must
 * send exactly those requests and emit the R-1 messages the turn implies. Synthetic lines
 * cover what the captures lack: server requests (R-3.10, T-15), errors, a resume fallback. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lib/jsonx.h"
#include "workerd/runtimes/codex-map.h"

struct capture {
	json_t *sent;    /* the requests the client wrote, parsed */
	json_t *emitted; /* the R-1 messages */
};

static int cap_emit(void *arg, json_t *msg)
{
	struct capture *cp = arg;
	json_array_append_new(cp->emitted, msg);
	return 0;
}

static int cap_send(void *arg, const char *line, size_t len)
{
	struct capture *cp = arg;
	cr_assert(len > 0 && line[len - 1] == '\n', "a request without its newline");
	json_error_t je;
	json_t *v = json_loadb(line, len, 0, &je);
	cr_assert_not_null(v, "the client sent invalid JSON: %.*s", (int)len, line);
	cr_expect_null(json_object_get(v, "jsonrpc"), "R-3.6: no jsonrpc field is sent");
	json_array_append_new(cp->sent, v);
	return 0;
}

static json_t *load_lines(const char *name, const char *suffix)
{
	char path[1024];
	const char *top = getenv("top_srcdir");
	cr_assert_not_null(top, "top_srcdir is not set");
	snprintf(path, sizeof(path), "%s/tests/fixtures/runtime-codex/%s%s", top, name, suffix);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	json_t *lines = json_array();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n > 0)
			json_array_append_new(lines, json_stringn(line, (size_t)n));
	}
	free(line);
	fclose(f);
	return lines;
}

static struct codex_turn turn_of(const json_t *requests, const char **resume)
{
	struct codex_turn t = {0};
	size_t i;
	json_t *line;
	json_array_foreach (requests, i, line) {
		json_error_t je;
		json_t *r = json_loads(json_string_value(line), 0, &je);
		const char *m = jsonx_str(r, "method");
		json_t *p = json_object_get(r, "params");
		/* The strings live as long as `requests`: copy into static storage. */
		static char model[64], prompt[512], sys[512], effort[32], sandbox[64], tid[128];
		if (m && strcmp(m, "turn/start") == 0) {
			snprintf(model, sizeof(model), "%s", jsonx_str(p, "model"));
			snprintf(effort, sizeof(effort), "%s", jsonx_str(p, "effort"));
			snprintf(prompt, sizeof(prompt), "%s",
				 jsonx_str(json_array_get(json_object_get(p, "input"), 0), "text"));
		} else if (m && strncmp(m, "thread/", 7) == 0) {
			snprintf(sys, sizeof(sys), "%s", jsonx_str(p, "baseInstructions"));
			snprintf(sandbox, sizeof(sandbox), "%s", jsonx_str(p, "sandbox"));
			if (strcmp(m, "thread/resume") == 0) {
				snprintf(tid, sizeof(tid), "%s", jsonx_str(p, "threadId"));
				*resume = tid;
			}
		}
		t.model = model, t.prompt = prompt, t.system_prompt = sys, t.effort = effort;
		t.sandbox = sandbox;
		json_decref(r);
	}
	t.cwd = "/WORKSPACE";
	t.resume_thread = *resume;
	return t;
}

/* Replays a fixture; returns the final state. */
static enum codex_state replay(const char *name, struct capture *cp)
{
	json_t *out = load_lines(name, ".jsonl"), *req = load_lines(name, ".requests.jsonl");
	const char *resume = NULL;
	struct codex_turn t = turn_of(req, &resume);
	struct codex_io io = {.emit = cap_emit, .send = cap_send, .arg = cp};
	cp->sent = json_array();
	cp->emitted = json_array();
	struct codex_client *c = codex_client_new(&t, &io);
	enum codex_state st = codex_client_start(c);
	size_t i;
	json_t *line;
	json_array_foreach (out, i, line) {
		if (st != CODEX_RUNNING)
			break;
		st = codex_client_feed(c, json_string_value(line), json_string_length(line));
	}
	cr_expect_eq(json_array_size(cp->sent), json_array_size(req), "%s: %zu requests sent", name,
		     json_array_size(cp->sent));
	json_array_foreach (req, i, line) {
		json_error_t je;
		json_t *want = json_loads(json_string_value(line), 0, &je);
		json_t *got = json_array_get(cp->sent, i);
		char *g = got ? json_dumps(got, JSON_COMPACT) : NULL;
		cr_expect(json_equal(want, got), "%s: request %zu\nwant %s\ngot  %s", name, i,
			  json_string_value(line), g ? g : "(none)");
		free(g);
		json_decref(want);
	}
	codex_client_free(c);
	json_decref(out);
	json_decref(req);
	return st;
}

static void capture_free(struct capture *cp)
{
	json_decref(cp->sent);
	json_decref(cp->emitted);
}

static size_t count(const struct capture *cp, const char *type, const char *sub)
{
	size_t i, n = 0;
	json_t *m;
	json_array_foreach (cp->emitted, i, m) {
		const char *t = jsonx_str(m, "type");
		const char *s = jsonx_str(m, "subtype");
		if (!s)
			s = jsonx_str(json_object_get(m, "event"), "type");
		if (t && strcmp(t, type) == 0 && (!sub || (s && strcmp(s, sub) == 0)))
			n++;
	}
	return n;
}

/* Concatenated deltas of one kind ("text_delta" / "thinking_delta"); caller frees. */
static char *deltas(const struct capture *cp, const char *kind, const char *field)
{
	size_t i, len = 0;
	json_t *m;
	char *out = calloc(1, 1);
	json_array_foreach (cp->emitted, i, m) {
		json_t *d = json_object_get(json_object_get(m, "event"), "delta");
		const char *k = jsonx_str(d, "type"), *txt = jsonx_str(d, field);
		if (!k || strcmp(k, kind) != 0 || !txt)
			continue;
		out = realloc(out, len + strlen(txt) + 1);
		memcpy(out + len, txt, strlen(txt) + 1);
		len += strlen(txt);
	}
	return out;
}

static json_t *find(const struct capture *cp, const char *type)
{
	size_t i;
	json_t *m;
	json_array_foreach (cp->emitted, i, m) {
		if (strcmp(jsonx_str(m, "type"), type) == 0)
			return m;
	}
	return NULL;
}

/* The content part of the first tool_use named `name` (assistant message), or NULL. */
static json_t *tool_use_named(const struct capture *cp, const char *name)
{
	size_t i;
	json_t *m;
	json_array_foreach (cp->emitted, i, m) {
		json_t *part = json_array_get(
			json_object_get(json_object_get(m, "message"), "content"), 0);
		const char *t = jsonx_str(part, "type"), *n = jsonx_str(part, "name");
		if (t && strcmp(t, "tool_use") == 0 && n && strcmp(n, name) == 0)
			return part;
	}
	return NULL;
}

static json_t *tool_result_for(const struct capture *cp, const char *id)
{
	size_t i;
	json_t *m;
	json_array_foreach (cp->emitted, i, m) {
		json_t *part = json_array_get(
			json_object_get(json_object_get(m, "message"), "content"), 0);
		const char *t = jsonx_str(part, "type"), *u = jsonx_str(part, "tool_use_id");
		if (t && strcmp(t, "tool_result") == 0 && u && strcmp(u, id) == 0)
			return json_object_get(part, "content");
	}
	return NULL;
}

Test(codex_fixture, text_streams_and_reports_usage)
{
	struct capture cp;
	cr_assert_eq(replay("text", &cp), CODEX_DONE);
	char *text = deltas(&cp, "text_delta", "text");
	cr_expect_str_eq(text, "Hello from the scripted model. This reply streams in deltas.");
	free(text);
	cr_expect_eq(count(&cp, "stream_event", "content_block_start"), 1);
	cr_expect_eq(count(&cp, "stream_event", "content_block_stop"), 1);
	json_t *init = find(&cp, "system");
	cr_assert_not_null(init);
	json_t *pss = json_object_get(init, "providerSessionState");
	cr_expect_str_eq(jsonx_str(pss, "runtimeId"), "codex-cli");
	cr_expect_str_eq(jsonx_str(pss, "format"), "codex-cli-session");
	cr_expect_str_eq(jsonx_str(pss, "sessionId"), "01a2071a-9f7d-7cc3-b670-0b4cd1f97377");
	cr_expect_eq(count(&cp, "system", "init"), 1, "init once, though thread/started repeats");
	json_t *res = find(&cp, "result");
	cr_assert_not_null(res);
	json_t *u = json_object_get(json_object_get(res, "modelUsage"), "gpt-5.5");
	cr_expect_eq(json_integer_value(json_object_get(u, "inputTokens")), 120);
	cr_expect_eq(json_integer_value(json_object_get(u, "outputTokens")), 14);
	cr_expect_eq(json_integer_value(json_object_get(u, "cacheReadInputTokens")), 0);
	cr_expect_eq(json_integer_value(json_object_get(u, "cacheCreationInputTokens")), 0);
	double cost = (120 * 5.0 + 14 * 30.0) / 1e6;
	cr_expect_float_eq(json_real_value(json_object_get(res, "total_cost_usd")), cost, 1e-12);
	cr_expect_eq(json_integer_value(json_object_get(res, "num_turns")), 1);
	cr_expect_str_eq(jsonx_str(res, "result"),
			 "Hello from the scripted model. This reply streams in deltas.");
	capture_free(&cp);
}

Test(codex_fixture, plan_stops_after_the_tool_result)
{
	struct capture cp;
	cr_assert_eq(replay("plan", &cp), CODEX_STOPPED);
	json_t *use = tool_use_named(&cp, "mcp__second__present_plan");
	cr_assert_not_null(use);
	cr_expect_str_eq(jsonx_str(json_object_get(use, "input"), "title"), "Team Tasks");
	json_t *res = tool_result_for(&cp, jsonx_str(use, "id"));
	cr_assert(json_is_array(res), "the MCP content parts are passed on");
	cr_expect(strstr(jsonx_str(json_array_get(res, 0), "text"), "\"status\":\"presented\""));
	cr_expect_null(find(&cp, "result"), "no result after an approval stop");
	char *text = deltas(&cp, "text_delta", "text");
	cr_expect_str_eq(text, "Here is the plan.");
	free(text);
	/* The streamed tool call: start, the whole input as one delta, stop. */
	cr_expect_eq(count(&cp, "stream_event", "content_block_start"), 2);
	cr_expect_eq(count(&cp, "stream_event", "content_block_stop"), 2);
	capture_free(&cp);
}

Test(codex_fixture, write_is_a_write_tool)
{
	struct capture cp;
	cr_assert_eq(replay("write", &cp), CODEX_DONE);
	json_t *use = tool_use_named(&cp, "Write");
	cr_assert_not_null(use);
	json_t *in = json_object_get(use, "input");
	cr_expect_str_eq(jsonx_str(in, "file_path"), "/WORKSPACE/hello.txt");
	cr_expect_str_eq(jsonx_str(in, "content"), "hello from the scripted model\n");
	json_t *res = tool_result_for(&cp, jsonx_str(use, "id"));
	cr_assert_not_null(res);
	cr_expect_str_eq(jsonx_str(res, "status"), "completed");
	cr_expect_not_null(find(&cp, "result"));
	capture_free(&cp);
}

Test(codex_fixture, env_command_is_bash)
{
	struct capture cp;
	cr_assert_eq(replay("env", &cp), CODEX_DONE);
	json_t *use = tool_use_named(&cp, "Bash");
	cr_assert_not_null(use);
	cr_expect(strstr(jsonx_str(json_object_get(use, "input"), "command"), "env | sort"));
	json_t *res = tool_result_for(&cp, jsonx_str(use, "id"));
	cr_assert(json_is_string(res));
	cr_expect(strstr(json_string_value(res), "PATH=") != NULL);
	capture_free(&cp);
}

Test(codex_fixture, resume_keeps_the_thread)
{
	struct capture cp;
	cr_assert_eq(replay("resume", &cp), CODEX_DONE);
	cr_expect_eq(count(&cp, "system", "init"), 0, "a resumed thread is not announced again");
	char *thinking = deltas(&cp, "thinking_delta", "thinking");
	cr_expect_str_eq(thinking, "The user is continuing an earlier conversation.");
	free(thinking);
	char *text = deltas(&cp, "text_delta", "text");
	cr_expect_str_eq(text, "Continuing the earlier conversation.");
	free(text);
	/* The previous turn's usage, replayed on resume, is not this turn's. */
	json_t *u = json_object_get(json_object_get(find(&cp, "result"), "modelUsage"), "gpt-5.5");
	cr_expect_eq(json_integer_value(json_object_get(u, "inputTokens")), 300);
	cr_expect_eq(json_integer_value(json_object_get(u, "outputTokens")), 12);
	capture_free(&cp);
}

/* A client driven by hand-written lines. */
struct hand {
	struct capture cp;
	struct codex_client *c;
	struct codex_turn t;
};

static void hand_start(struct hand *h, const char *resume, const char *key, json_t *allowed)
{
	memset(h, 0, sizeof(*h));
	h->cp.sent = json_array();
	h->cp.emitted = json_array();
	h->t = (struct codex_turn){.model = "gpt-5.4",
				   .cwd = "/w",
				   .sandbox = "read-only",
				   .effort = "low",
				   .system_prompt = "S",
				   .prompt = "P",
				   .api_key = key,
				   .resume_thread = resume,
				   .allowed_tools = allowed};
	struct codex_io io = {.emit = cap_emit, .send = cap_send, .arg = &h->cp};
	h->c = codex_client_new(&h->t, &io);
	cr_assert_eq(codex_client_start(h->c), CODEX_RUNNING);
}

static enum codex_state feed(struct hand *h, const char *line)
{
	return codex_client_feed(h->c, line, strlen(line));
}

static const char *last_method(const struct hand *h)
{
	return jsonx_str(json_array_get(h->cp.sent, json_array_size(h->cp.sent) - 1), "method");
}

static json_t *last_sent(const struct hand *h)
{
	return json_array_get(h->cp.sent, json_array_size(h->cp.sent) - 1);
}

static void hand_free(struct hand *h)
{
	codex_client_free(h->c);
	capture_free(&h->cp);
}

/* Up to an active turn: initialize, thread/start, turn/start answered. */
static void hand_turn(struct hand *h, json_t *allowed)
{
	hand_start(h, NULL, NULL, allowed);
	feed(h, "{\"id\":1,\"result\":{}}");
	feed(h, "{\"id\":2,\"result\":{\"thread\":{\"id\":\"T1\"}}}");
	cr_assert_str_eq(last_method(h), "turn/start");
	feed(h, "{\"id\":3,\"result\":{\"turn\":{\"id\":\"U1\",\"items\":[]}}}");
}

Test(codex_client, api_key_login_comes_before_the_thread)
{
	struct hand h;
	hand_start(&h, NULL, "sk-test", NULL);
	feed(&h, "not json at all");
	feed(&h, "{\"id\":1,\"result\":{}}");
	cr_expect_str_eq(last_method(&h), "account/login/start");
	json_t *p = json_object_get(last_sent(&h), "params");
	cr_expect_str_eq(jsonx_str(p, "type"), "apiKey");
	cr_expect_str_eq(jsonx_str(p, "apiKey"), "sk-test");
	cr_expect_str_eq(jsonx_str(json_array_get(h.cp.sent, 1), "method"), "initialized");
	cr_assert_eq(feed(&h, "{\"id\":2,\"error\":{\"code\":-1,\"message\":\"bad key\"}}"),
		     CODEX_FAILED);
	cr_expect_str_eq(codex_client_error(h.c), "Codex app-server API key login failed: bad key");
	hand_free(&h);
}

Test(codex_client, a_missing_thread_starts_a_new_one)
{
	struct hand h;
	hand_start(&h, "OLD", NULL, NULL);
	feed(&h, "{\"id\":1,\"result\":{}}");
	cr_assert_str_eq(last_method(&h), "thread/resume");
	cr_expect_str_eq(jsonx_str(json_object_get(last_sent(&h), "params"), "threadId"), "OLD");
	feed(&h, "{\"id\":2,\"error\":{\"code\":-32600,\"message\":\"no rollout found for "
		 "thread id OLD\"}}");
	cr_assert_str_eq(last_method(&h), "thread/start");
	feed(&h, "{\"id\":3,\"result\":{\"thread\":{\"id\":\"NEW\"}}}");
	cr_expect_str_eq(last_method(&h), "turn/start");
	json_t *init = find(&h.cp, "system");
	cr_assert_not_null(init);
	cr_expect_str_eq(jsonx_str(init, "session_id"), "NEW");
	hand_free(&h);
}

Test(codex_client, other_resume_errors_fail)
{
	struct hand h;
	hand_start(&h, "OLD", NULL, NULL);
	feed(&h, "{\"id\":1,\"result\":{}}");
	cr_expect_eq(feed(&h, "{\"id\":2,\"error\":{\"message\":\"disk full\"}}"), CODEX_FAILED);
	cr_expect(strstr(codex_client_error(h.c), "disk full") != NULL);
	hand_free(&h);
}

Test(codex_client, missing_thread_messages)
{
	cr_expect(codex_is_missing_thread("no rollout found for thread id x"));
	cr_expect(codex_is_missing_thread("Thread abc not found"));
	cr_expect(codex_is_missing_thread("rollout file not found"));
	cr_expect(!codex_is_missing_thread("permission denied"));
	cr_expect(!codex_is_missing_thread(NULL));
}

Test(codex_client, requests_before_the_turn_are_refused)
{
	struct hand h;
	hand_start(&h, NULL, NULL, NULL);
	feed(&h, "{\"id\":77,\"method\":\"item/tool/requestUserInput\",\"params\":{}}");
	json_t *r = last_sent(&h);
	cr_expect_eq(json_integer_value(json_object_get(r, "id")), 77);
	cr_expect_str_eq(jsonx_str(json_object_get(r, "error"), "message"),
			 "No active Codex turn is available.");
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(r, "error"), "code")),
		     -32603);
	hand_free(&h);
}

Test(codex_client, server_requests_get_the_fixed_answers)
{
	static const struct {
		const char *method, *want; /* the result, or the error message */
	} cases[] = {
		{"item/commandExecution/requestApproval", "{\"decision\":\"decline\"}"},
		{"item/fileChange/requestApproval", "{\"decision\":\"decline\"}"},
		{"item/permissions/requestApproval", "{\"permissions\":{},\"scope\":\"turn\"}"},
		{"item/tool/requestUserInput", "{\"answers\":{}}"},
		{"item/tool/call",
		 "{\"contentItems\":[{\"type\":\"inputText\",\"text\":\"Second does not "
		 "execute client-side dynamic Codex tools.\"}],\"success\":false}"},
		{"something/new", "Unsupported Codex app-server request: something/new"},
	};
	struct hand h;
	hand_turn(&h, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[256];
		snprintf(line, sizeof(line), "{\"id\":\"r%zu\",\"method\":\"%s\",\"params\":{}}", i,
			 cases[i].method);
		feed(&h, line);
		json_t *r = last_sent(&h);
		char id[16];
		snprintf(id, sizeof(id), "r%zu", i);
		cr_expect_str_eq(jsonx_str(r, "id"), id);
		json_t *res = json_object_get(r, "result");
		if (res) {
			json_error_t je;
			json_t *want = json_loads(cases[i].want, 0, &je);
			cr_expect(json_equal(res, want), "%s", cases[i].method);
			json_decref(want);
		} else {
			cr_expect_str_eq(jsonx_str(json_object_get(r, "error"), "message"),
					 cases[i].want);
		}
	}
	hand_free(&h);
}

static const char *elicit(const char *params, const char *allowed_json, const char *pending)
{
	json_error_t je;
	json_t *p = json_loads(params, 0, &je);
	json_t *allowed = allowed_json ? json_loads(allowed_json, 0, &je) : NULL;
	json_t *pend = pending ? json_loads(pending, 0, &je) : NULL;
	cr_assert_not_null(p);
	json_t *r = codex_elicitation_reply(p, pend, allowed);
	static char action[32];
	snprintf(action, sizeof(action), "%s", jsonx_str(r, "action"));
	if (strcmp(action, "accept") == 0) {
		cr_expect(json_is_object(json_object_get(r, "content")));
	} else {
		cr_expect(json_is_null(json_object_get(r, "content")));
	}
	cr_expect(json_is_null(json_object_get(r, "_meta")));
	json_decref(r);
	json_decref(p);
	json_decref(allowed);
	json_decref(pend);
	return action;
}

Test(codex_client, elicitation_policy)
{
	const char *plan = "[\"mcp__second__present_plan\"]";
	cr_expect_str_eq(elicit("{\"serverName\":\"second\",\"_meta\":{\"codex_approval_kind\":"
				"\"mcp_tool_call\",\"tool_name\":\"present_plan\"}}",
				plan, NULL),
			 "accept");
	cr_expect_str_eq(elicit("{\"serverName\":\"second\",\"_meta\":{\"codex_approval_kind\":"
				"\"mcp_tool_call\",\"toolName\":\"present_plan\"}}",
				NULL, NULL),
			 "accept", "no list: every tool");
	cr_expect_str_eq(elicit("{\"serverName\":\"second\",\"_meta\":{\"codex_approval_kind\":"
				"\"mcp_tool_call\",\"tool\":{\"name\":\"done_building\"}}}",
				plan, NULL),
			 "decline", "not in the allow-list");
	cr_expect_str_eq(elicit("{\"serverName\":\"second\",\"message\":\"Allow tool "
				"\\\"present_plan\\\" to run?\",\"_meta\":{\"codex_approval_kind\":"
				"\"mcp_tool_call\"}}",
				plan, NULL),
			 "accept", "the name from the message");
	cr_expect_str_eq(elicit("{\"serverName\":\"second\",\"_meta\":{\"codex_approval_kind\":"
				"\"mcp_tool_call\"}}",
				plan, "{\"second\":\"present_plan\"}"),
			 "accept", "the name from the pending call");
	cr_expect_str_eq(elicit("{\"serverName\":\"second\",\"_meta\":{\"codex_approval_kind\":"
				"\"mcp_tool_call\"}}",
				plan, NULL),
			 "decline", "no name at all");
	cr_expect_str_eq(elicit("{\"serverName\":\"github\",\"_meta\":{\"codex_approval_kind\":"
				"\"mcp_tool_call\",\"tool_name\":\"present_plan\"}}",
				NULL, NULL),
			 "decline", "a server that is not ours");
	cr_expect_str_eq(elicit("{\"serverName\":\"second\",\"_meta\":{\"codex_approval_kind\":"
				"\"other\",\"tool_name\":\"present_plan\"}}",
				NULL, NULL),
			 "decline", "not an MCP tool approval");
}

Test(codex_client, elicitation_request_uses_the_pending_call)
{
	struct hand h;
	json_error_t je;
	json_t *allowed = json_loads("[\"mcp__app_data__read_app_data\"]", 0, &je);
	hand_turn(&h, allowed);
	feed(&h, "{\"method\":\"item/started\",\"params\":{\"turnId\":\"U1\",\"item\":{\"type\":"
		 "\"mcpToolCall\",\"id\":\"c1\",\"server\":\"app_data\",\"tool\":\"read_app_data\","
		 "\"arguments\":{\"collection\":\"x\"}}}}");
	feed(&h,
	     "{\"id\":9,\"method\":\"mcpServer/elicitation/request\",\"params\":{\"serverName\":"
	     "\"app_data\",\"_meta\":{\"codex_approval_kind\":\"mcp_tool_call\"}}}");
	cr_expect_str_eq(jsonx_str(json_object_get(last_sent(&h), "result"), "action"), "accept");
	cr_expect_not_null(tool_use_named(&h.cp, "mcp__app_data__read_app_data"));
	hand_free(&h);
	json_decref(allowed);
}

Test(codex_client, errors_and_stale_notifications)
{
	struct hand h;
	hand_turn(&h, NULL);
	/* Another turn's deltas are not this turn's. */
	feed(&h, "{\"method\":\"item/agentMessage/delta\",\"params\":{\"turnId\":\"OTHER\","
		 "\"itemId\":\"m\",\"delta\":\"x\"}}");
	cr_expect_eq(json_array_size(h.cp.emitted), 1, "only the system/init");
	feed(&h, "{\"method\":\"error\",\"params\":{\"turnId\":\"U1\",\"error\":{\"message\":"
		 "\"Reconnecting 1/5\"},\"willRetry\":true}}");
	cr_expect_str_eq(jsonx_str(find(&h.cp, "error"), "error"), "Reconnecting 1/5");
	cr_expect_eq(codex_client_state(h.c), CODEX_RUNNING);
	cr_expect_eq(feed(&h, "{\"method\":\"error\",\"params\":{\"turnId\":\"U1\",\"error\":{"
			      "\"message\":\"stream disconnected\"},\"willRetry\":false}}"),
		     CODEX_FAILED);
	cr_expect_str_eq(codex_client_error(h.c), "stream disconnected");
	hand_free(&h);
}

Test(codex_client, command_output_and_edits)
{
	struct hand h;
	hand_turn(&h, NULL);
	feed(&h, "{\"method\":\"item/started\",\"params\":{\"turnId\":\"U1\",\"item\":{\"type\":"
		 "\"commandExecution\",\"id\":\"c1\",\"command\":\"ls\",\"cwd\":\"/w\"}}}");
	feed(&h, "{\"method\":\"item/commandExecution/outputDelta\",\"params\":{\"turnId\":\"U1\","
		 "\"itemId\":\"c1\",\"delta\":\"a\\n\"}}");
	feed(&h, "{\"method\":\"item/commandExecution/outputDelta\",\"params\":{\"turnId\":\"U1\","
		 "\"itemId\":\"c1\",\"delta\":\"b\\n\"}}");
	json_t *last = json_array_get(h.cp.emitted, json_array_size(h.cp.emitted) - 1);
	cr_expect_str_eq(jsonx_str(last, "type"), "tool_output_delta");
	cr_expect_str_eq(jsonx_str(last, "toolName"), "Bash");
	cr_expect_str_eq(jsonx_str(last, "output"), "a\nb\n");
	cr_expect_str_eq(jsonx_str(last, "delta"), "b\n");
	feed(&h, "{\"method\":\"item/completed\",\"params\":{\"turnId\":\"U1\",\"item\":{\"type\":"
		 "\"commandExecution\",\"id\":\"c1\",\"status\":\"failed\",\"exitCode\":2,"
		 "\"aggregatedOutput\":null}}}");
	cr_expect_str_eq(json_string_value(tool_result_for(&h.cp, "c1")),
			 "Command failed with exit code 2.");
	feed(&h,
	     "{\"method\":\"item/started\",\"params\":{\"turnId\":\"U1\",\"item\":{\"type\":"
	     "\"fileChange\",\"id\":\"f1\",\"status\":\"inProgress\",\"changes\":[{\"path\":"
	     "\"/w/a.txt\",\"kind\":{\"type\":\"update\"},\"diff\":\"@@ -1 +1 @@\\n-old\\n+new\\n"
	     "\"}]}}}");
	json_t *use = tool_use_named(&h.cp, "Edit");
	cr_assert_not_null(use);
	json_t *in = json_object_get(use, "input");
	cr_expect_str_eq(jsonx_str(in, "file_path"), "/w/a.txt");
	cr_expect_str_eq(jsonx_str(in, "old_string"), "old\n");
	cr_expect_str_eq(jsonx_str(in, "new_string"), "new\n");
	feed(&h, "{\"method\":\"turn/completed\",\"params\":{\"threadId\":\"T1\",\"turn\":{\"id\":"
		 "\"OTHER\",\"status\":\"completed\"}}}");
	cr_expect_eq(codex_client_state(h.c), CODEX_RUNNING, "another turn's completion");
	cr_expect_eq(feed(&h, "{\"method\":\"turn/completed\",\"params\":{\"threadId\":\"T1\","
			      "\"turn\":{\"id\":\"U1\",\"status\":\"completed\",\"durationMs\":"
			      "1234}}}"),
		     CODEX_DONE);
	json_t *res = find(&h.cp, "result");
	cr_expect_eq(json_integer_value(json_object_get(res, "duration_ms")), 1234);
	cr_expect_not_null(json_object_get(json_object_get(res, "modelUsage"), "gpt-5.4"));
	hand_free(&h);
}

Test(codex_client, cost_table)
{
	cr_expect_float_eq(codex_cost_usd("gpt-5.5", 1000000, 0, 0), 5.0, 1e-9);
	cr_expect_float_eq(codex_cost_usd("openai/gpt-5.5", 1000000, 400000, 1000000),
			   0.6 * 5 + 0.4 * 0.5 + 30, 1e-9);
	cr_expect_float_eq(codex_cost_usd("gpt-5.4-codex", 0, 0, 1000000), 15.0, 1e-9);
	cr_expect_float_eq(codex_cost_usd("gpt-5.4-mini", 2000000, 0, 0), 1.5, 1e-9);
	cr_expect_float_eq(codex_cost_usd("gpt-5.4", 10, 20, 0), 20 * 0.25 / 1e6, 1e-12,
			   "more cached than input counts no fresh input");
	cr_expect_float_eq(codex_cost_usd("unknown-model", 1000, 0, 1000), 0.0, 1e-12);
}
